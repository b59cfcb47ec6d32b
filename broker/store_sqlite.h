/*
 * store_sqlite.h — inside the store's SQLite backend: its state and the
 * helpers its files share. store_sqlite.c has the connection, the
 * transactions, the files, the integrity check and the dispatch of
 * operations; store_sqlite_schema.c the migrations; store_sqlite_alerts.c
 * the alert log (publish, retention, history, one alert by id); store_sqlite_cursor.c
 * durable delivery (cursors, fetch, ack); store_sqlite_journal.c the audit
 * journal and receipts; store_sqlite_registry.c the registry's revisions
 * and proposals. Nothing outside the backend includes this: the store
 * core sees struct store_backend only.
 */
#ifndef CCC_STORE_SQLITE_H
#define CCC_STORE_SQLITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store_audit.h"
#include "store_wal.h"

struct store_dsub;
struct store_op;
struct store_row;

#define STORE_NSTMTS	128	/* distinct SQL statements the writer runs (about 55) */
/*
 * The alert a is unsettled for a durable subscription: a recipient (rcpt)
 * whose cursor for its severity still has pending positions and a floor
 * below it, without a mark that settled it. Retention never deletes such
 * an alert. Read off cursors_floor: the cursors of the alert's severity
 * whose floor is below it, no scan of the log.
 */
#define STORE_HELD(a)	"EXISTS (SELECT 1 FROM cursors c WHERE " a ".rcpt IS " \
	"NOT NULL AND c.severity = " a ".severity AND c.pending > 0 AND " \
	a ".seq > c.floor AND instr(" a ".rcpt, ',' || c.dsub || ',') > 0 AND " \
	"NOT EXISTS (SELECT 1 FROM marks m WHERE m.dsub = c.dsub AND m.seq = " \
	a ".seq AND m.state > 0))"
/* An exercise alert (topic under exercise/), as the alerts_exercise index has it. */
#define STORE_EXERCISE	"topic >= 'exercise/' AND topic < 'exercise0'"

/* The backend's state (the void *b of struct store_backend). */
struct store_sqlite {
	sqlite3			*db;		/* writer thread, after start-up */
	char			 path[512];
	bool			 accept_loss;	/* start-up: --accept-store-loss */
	bool			 opened;	/* open succeeded: a close may be
						   clean, and brings the
						   reservations down to sent */
	bool			 checked;	/* the integrity check passed (before
						   serving, or the checker's: read at
						   close, after it was joined) */
	bool			 check_stop;	/* atomic: a check under way gives up */
	bool			 damage_seen;	/* writer: SQLite found the database
						   damaged in an operation of this run
						   (read at close: not a clean one) */
	char			 damage_what[160];	/* writer: what it met
						   (damage_seen), for the core's
						   refusal (store_backend damage) */
	bool			 io_failed;	/* writer: a statement or a commit
						   failed with an I/O error in this run
						   (read at close: not a clean one) */
	bool			 ckpt_failed;	/* writer: a checkpoint failed in this
						   run (read at close: not a clean one) */
	int			 walfd;		/* the WAL, for the syncer's fdatasync */
	struct store_head	 head;		/* syncer: ccc.db-head, the anchored chain end */
	struct store_walpos	 wal;		/* writer thread: the WAL at its last commit */
	struct store_walpos	 sync_wal;	/* lock: the same, for the syncer */
	struct store_walpos	 take_wal;	/* syncer: sync_wal as it took it */
	int64_t			 checked_us;	/* syncer: files last checked */
	struct store_ident	 ident[3];	/* ccc.db, -wal, -head as opened */
	struct {					/* writer thread: prepared statements */
		const char	*sql;
		sqlite3_stmt	*stmt;
	}			 stmts[STORE_NSTMTS];
	size_t			 nstmts;
	struct store_chain {				/* writer thread: end of the audit chain */
		uint8_t		 hash[32];	/* of the last record (zeros: none) */
		int64_t		 next;		/* sequence number of the next record */
	}			 chain;
	struct store_chain	 batch_chain;	/* writer: chain at begin (rollback) */
	struct store_chain	 op_chain;	/* writer: chain at savepoint (rollback_to) */
	/*
	 * Writer thread: the highest alert seq given, stored or deleted since
	 * (read at open from the alerts and alert_seq_floor); the next
	 * publish takes alert_seq + 1. Saved at begin and at each savepoint
	 * like the chain, so that a rolled-back insert gives its seq back and
	 * nothing committed ever had it.
	 */
	int64_t			 alert_seq;
	int64_t			 batch_alert_seq;	/* at begin (rollback) */
	int64_t			 op_alert_seq;	/* at savepoint (rollback_to) */
	struct store_chain	 sync_chain;	/* lock: the chain's end at the last commit */
	struct store_chain	 take_chain;	/* syncer: sync_chain as it took it */
	struct store_hasher	 hasher;	/* writer thread: audit record hashes */
	uint64_t		*spanpos;	/* writer thread: a batch record's
						   positions, sorted (kept grown) */
	size_t			 spancap;
	/*
	 * What is synced, for fetches that complete at their commit
	 * (store_do_fetch): commits counted, the log's last position
	 * at each, noted for the syncer like the chain's end (mark,
	 * take_mark) and published by a sync that succeeded.
	 */
	uint64_t		 commits;	/* writer: transactions committed */
	uint64_t		 raise_commit;	/* writer: the commit that raised a
						   reservation last (commits + 1
						   while its transaction runs) */
	int64_t			 commit_seq;	/* writer: the log's last position
						   at the last commit */
	uint64_t		 sync_commits;	/* lock: commits at the last commit */
	int64_t			 sync_seq;	/* lock: commit_seq, likewise */
	uint64_t		 take_commits;	/* syncer: sync_commits as it took it */
	int64_t			 take_seq;	/* syncer: sync_seq as it took it */
	uint64_t		 synced_commits; /* atomic: commits synced */
	int64_t			 synced_seq;	/* atomic: the last position synced */
	bool			 resync;	/* syncer: a sync failed; the next
						   one syncs whatever it has */
	bool			 sync_failed;	/* atomic: a sync failed in this run:
						   what the kernel kept of the
						   commits before is unknown, so no
						   fetch completes at its commit */
};

/* Run sql (no result rows) outside the statement cache; -1 with err set. */
int	 store_exec(struct store_sqlite *st, const char *sql, char *err,
	    size_t errlen);
/* One integer from a one-row query (PRAGMA user_version). */
int	 store_int(struct store_sqlite *st, const char *sql, int64_t *out);
/* The schema version of this cccd: the number of migrations. */
int	 store_version(void);
/* Bring the schema to this cccd's version (store_sqlite_schema.c). */
int	 store_migrate(struct store_sqlite *st, char *err, size_t errlen);
/*
 * The kept statement of sql, reset and unbound; sql must be a string that
 * stays at its address (a literal): the cache is keyed by it. NULL when it
 * does not prepare.
 */
sqlite3_stmt *store_stmt(struct store_sqlite *st, const char *sql);
/*
 * Record SQLite's last error as op's and return -1; damage it reports
 * (SQLITE_CORRUPT, SQLITE_NOTADB, extended codes included) is noted for
 * the core (store_backend damage: the store refuses everything from then
 * on) and makes the run's close not a clean one, as an I/O error does.
 */
int	 store_fail(struct store_sqlite *st, struct store_op *op);
/*
 * Run the kept statement of sql with the arguments fmt lists ('t' a
 * string, 'i' an int64_t), bound in order; 0, or -1 with op's error set.
 */
int	 store_run(struct store_sqlite *st, struct store_op *op, const char *sql,
	    const char *fmt, ...);

/* The audit journal (store_sqlite_journal.c). */
/* At open: the chain's end, where the next record goes; -1 with err set. */
int	 store_chain_end(struct store_sqlite *st, char *err, size_t errlen);
/* Append one record with these text fields to the chain. */
int	 store_append_audit(struct store_sqlite *st, struct store_op *op,
	    const char *const text[AUDIT_NTEXT], bool transfer);
/* Append op's audit record, with event and alert overridden when not NULL. */
int	 store_write_audit(struct store_sqlite *st, struct store_op *op,
	    const char *event, const char *alert);
/*
 * Append r's audit record (op's own, or that of a request op serves), if
 * it has one, with more appended to its detail, in op's transaction.
 */
int	 store_write_audit_more(struct store_sqlite *st, struct store_op *op,
	    const struct store_op *r, const char *more);
/*
 * Append op's record naming the alerts ids[0..n) at positions seqs[0..n):
 * the single-alert form (detail single) for one, the batch form with its
 * receipts index spans for several; nothing for none.
 */
int	 store_write_named(struct store_sqlite *st, struct store_op *op,
	    char *const *ids, const uint64_t *seqs, size_t n,
	    const char *single);
int	 store_do_audit(struct store_sqlite *st, struct store_op *op);
int	 store_do_receipts(struct store_sqlite *st, struct store_op *op);

/* The alert log (store_sqlite_alerts.c). */
/*
 * At open, and when a seq was found taken: the highest alert seq ever
 * given into st->alert_seq; -1 with err set.
 */
int	 store_seq_read(struct store_sqlite *st, char *err, size_t errlen);
int	 store_do_publish(struct store_sqlite *st, struct store_op *op);
int	 store_do_purge(struct store_sqlite *st, struct store_op *op);
int	 store_do_exercise(struct store_sqlite *st, struct store_op *op);
int	 store_do_history(struct store_sqlite *st, struct store_op *op);
int	 store_do_alert(struct store_sqlite *st, struct store_op *op);
/*
 * ids[0..n) as text between open and close, comma-separated (a JSON array
 * with '[' and ']', an rcpt with ','): allocated, the caller frees it.
 */
char	*store_ids_text(const uint64_t *ids, size_t n, char open, char close);
/*
 * Fill r from the columns topic, body, id, origin of stmt's row, from
 * column col on: one block kept in op's blobs until its callback has run.
 */
void	 store_row_fill(struct store_op *op, sqlite3_stmt *stmt, int col,
	    struct store_row *r);

/* Durable delivery: subscriptions, cursors, marks (store_sqlite_cursor.c). */
/* At open: each cursor's sent taken from its reservation; -1 with why set. */
int	 store_reserved_open(struct store_sqlite *st, char *why, size_t whylen);
int	 store_do_subscribe(struct store_sqlite *st, struct store_op *op);
int	 store_do_fetch(struct store_sqlite *st, struct store_op *op);
int	 store_do_ack(struct store_sqlite *st, struct store_op *op);
int	 store_do_counts(struct store_sqlite *st, struct store_op *op);
int	 store_do_forget(struct store_sqlite *st, struct store_op *op);
/* The backend's load_dsubs (struct store_backend). */
int	 store_sqlite_load_dsubs(void *b, struct store_dsub **out, size_t *n,
	    char *err, size_t errlen);

/* The registry's operations (store_sqlite_registry.c). */
int	 store_do_reg_commit(struct store_sqlite *st, struct store_op *op);
int	 store_do_reg_propose(struct store_sqlite *st, struct store_op *op);
int	 store_do_reg_decide(struct store_sqlite *st, struct store_op *op);
int	 store_do_reg_list(struct store_sqlite *st, struct store_op *op);
/* The backend's registry_newest (struct store_backend). */
int	 store_sqlite_registry_newest(void *b, uint64_t *rev, char **doc,
	    char **file_digest, bool *by_file, char *err, size_t errlen);

#endif
