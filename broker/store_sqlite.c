/*
 * store_sqlite.c — the durable store on SQLite (WAL).
 *
 * One writer thread owns the database connection. The event loop queues
 * operations; the writer takes everything queued, runs it in one
 * transaction (each operation inside its own savepoint only after a
 * failure, so one failure does not undo the others) and commits, which
 * writes the transaction to the WAL without syncing it (synchronous=NORMAL).
 * It hands the batch back to the loop as committed (publish operations'
 * committed callbacks: live plain deliveries) and on to the syncer thread,
 * then takes the next batch. The syncer calls fdatasync(2) on the WAL once
 * for every batch committed since its last sync, and only then hands them
 * to the loop as done (the callbacks proper: confirmations). While the
 * syncer syncs, the writer commits the next batch: that is the group commit,
 * and what synchronous=FULL gives with the sync taken off the writer's path.
 * At open (migrations) and in checkpoints SQLite syncs as usual.
 *
 * After each sync the syncer records the newest synced audit record and
 * how far the WAL was synced (its salts and frame count, noted by the
 * writer after each commit in its WAL hook, which also checkpoints as
 * SQLite's default hook does) in ccc.db-head, outside the database, and
 * once a second it checks that the store's files are still the ones at
 * their paths; when one was removed or replaced, nothing more is stored.
 * At open, the write-ahead log is read before SQLite recovers it (a
 * damaged frame among those synced would make SQLite drop every
 * transaction after it), and the journal must reach the record in
 * ccc.db-head.
 *
 * Must never: run a callback (other than a committed callback) before its
 * transaction is synced; run a committed callback before the commit; let
 * the loop thread touch the connection after start-up; lose an operation
 * silently (a failed one reports STORE_FAILED); store an alert under an id
 * another alert has (stores of older brokers that did: store_migrations[]);
 * purge an alert (exercise alerts included) that a durable subscription
 * has not had acknowledged;
 * open a store that lost committed transactions unless told to
 * (store_accept_loss); store into files no longer at their paths.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "timeutil.h"
#include "xmalloc.h"

#define STORE_FILE	"ccc.db"
#define STORE_HEAD	"-head"		/* suffix: the anchored end of the audit chain */
#define STORE_CHECK_US	(1000 * INT64_C(1000))	/* syncer: files checked this often */
#define STORE_HEAD_SYNC_US (200 * INT64_C(1000))	/* syncer: head synced at most this often */
#define STORE_LOST	"the store's files were removed or replaced while cccd " \
			"runs; nothing is stored until it is restarted"
#define STORE_NSTMTS	64	/* distinct SQL statements the writer runs */
#define STORE_CHECKPOINT_FRAMES	1000	/* SQLite's wal_autocheckpoint default */
#define STORE_COLLISIONS_NAMED	32	/* colliding alert ids logged one by one at open */
/* An exercise alert (topic under exercise/), as the alerts_exercise index has it. */
#define STORE_EXERCISE	"topic >= 'exercise/' AND topic < 'exercise0'"

enum store_kind { OP_PUBLISH, OP_SUBSCRIBE, OP_FORGET, OP_FETCH, OP_ACK,
    OP_AUDIT, OP_RECEIPTS, OP_HISTORY, OP_PURGE, OP_REG_COMMIT, OP_REG_PROPOSE,
    OP_REG_DECIDE, OP_REG_LIST, OP_COUNTS, OP_EXERCISE };

/* Text fields of struct store_regchange, in order. */
enum { RC_AUTHOR, RC_APPROVED_BY, RC_SOURCE, RC_COMMENT, RC_CHANGES,
    RC_REASONS, RC_DOCUMENT, RC_FILE_DIGEST, RC_NTEXT };

#define AUDIT_NTEXT	7	/* text fields of struct audit_rec, in order */

/* An owned copy of an audit record. */
struct audit_copy {
	bool	 present;
	char	*text[AUDIT_NTEXT];	/* event endpoint subject fingerprint peer alert detail */
	bool	 transfer;
};

struct store_op {
	struct store_op		*next;		/* queue, then syncer, then done list */
	struct store_op		*cnext;		/* committed list */
	enum store_kind		 kind;
	store_cb		*committed_cb;	/* publish: after the commit, before the sync */
	store_cb		*cb;
	void			*arg;
	bool			 wrote;		/* its transaction changed the database */
	struct store_result	 cres;		/* the result for committed_cb */
	/* inputs (owned copies) */
	char			*id, *origin, *topic, *endpoint, *name, *patterns;
	int64_t			 published_at, expires_at;
	int			 severity;
	uint8_t			 digest[32];
	uint8_t			*body;
	size_t			 body_len;
	uint64_t		*u64;		/* publish: dsubs; ack: tags */
	size_t			 nu64;
	uint64_t		 dsub_id;
	uint64_t		 after_seq, upto_seq;	/* history */
	size_t			 limit;
	uint32_t		 max_attempts;
	int64_t			 retain_expect;	/* purge: the time the broker expects */
	uint32_t		 retain_alerts, retain_audit;	/* purge: seconds */
	struct audit_copy	 audit;
	struct audit_copy	*audits;	/* audit: the records, in order */
	size_t			 naudits;
	char			*rc[RC_NTEXT];	/* registry change text */
	char			**list;		/* publish: refs; registry commit: inboxes */
	size_t			 nlist;
	bool			 flag;		/* publish: restricted; list: proposals */
	bool			 exercise;	/* publish: no audit record */
	bool			 all, with_doc;	/* registry list */
	/* result */
	struct store_result	 res;
	char			 error[256];
	void			**blobs;	/* fetch: copies of topics and bodies */
	size_t			 nblobs;
};

struct store {
	sqlite3			*db;
	char			 path[512];
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;
	struct store_op		*queue, *queue_tail;	/* waiting for the thread */
	struct store_op		*committed, *committed_tail; /* committed, for the loop */
	struct store_op		*unsynced, *unsynced_tail;  /* committed, for the syncer */
	struct store_op		*done, *done_tail;	/* synced, waiting for the loop */
	bool			 stopping;
	bool			 journal_exercise;	/* store_journal_exercise() */
	pthread_t		 syncer;
	pthread_cond_t		 sync_wake;
	bool			 sync_stopping;
	int			 walfd;		/* the WAL, for the syncer's fdatasync */
	uint64_t		 syncs;		/* syncer: fdatasync calls */
	int			 headfd;	/* ccc.db-head: the anchored chain end */
	struct store_walpos {				/* a place in the WAL */
		uint8_t		 salts[8];	/* salt-1, salt-2 of its header: the log's generation */
		int64_t		 frames;	/* frames of that generation, from the first */
	}			 wal;		/* writer thread: at its last commit */
	struct store_walpos	 sync_wal;	/* lock: the same, for the syncer */
	struct store_anchor {				/* syncer: what ccc.db-head says */
		int64_t		 seq;		/* last synced audit record (0: none) */
		uint8_t		 hash[32];
		bool		 has_wal;	/* wal holds (not a head of version 1) */
		struct store_walpos wal;	/* the log as far as it was synced */
	}			 anchor;
	uint64_t		 head_writes;	/* syncer: slots written since start-up
						   (alternates them; the newer one's count) */
	bool			 head_dirty;	/* syncer: written, not synced yet */
	int64_t			 head_synced_us, checked_us;	/* syncer */
	struct store_ident {				/* the files as opened */
		dev_t		 dev;
		ino_t		 ino;
	}			 ident[3];	/* ccc.db, -wal, -head */
	bool			 lost;		/* atomic: the files are not ours any more */
	char			 lost_why[640];	/* set once, before lost */
	bool			 lost_logged;	/* loop */
	bool			 closed;	/* the thread is gone: new operations are dropped */
	int			 efd;
	struct event		*ev;
	uint64_t		 batches, ops;		/* for the log at close */
	size_t			 pending;	/* loop: queued, not called back yet */
	int64_t			 progress_us;	/* loop: last batch back, or queue start */
	bool			 write_failed;	/* loop: the last writing operation failed */
	char			 write_error[256];
	struct {					/* writer thread: prepared statements */
		const char	*sql;
		sqlite3_stmt	*stmt;
	}			 stmts[STORE_NSTMTS];
	size_t			 nstmts;
	struct store_chain {				/* writer thread: end of the audit chain */
		uint8_t		 hash[32];	/* of the last record (zeros: none) */
		int64_t		 next;		/* sequence number of the next record */
	}			 chain;
	struct store_chain	 sync_chain;	/* lock: the chain's end at the last commit */
	struct store_hasher {				/* writer thread: audit record hashes */
		EVP_MD_CTX	*ctx;
		EVP_MD		*md;
		uint8_t		*buf;		/* one record's hashed bytes */
		size_t		 cap;
	}			 hasher;
};

/*
 * Transaction control, run as kept statements (parsing them for every
 * operation cost as much as the operation). store_stmt() keys its cache by
 * the address of the SQL text, hence these arrays.
 */
static const char STORE_BEGIN[] = "BEGIN IMMEDIATE";
static const char STORE_COMMIT[] = "COMMIT";
static const char STORE_ROLLBACK[] = "ROLLBACK";
static const char STORE_SAVEPOINT[] = "SAVEPOINT op";
static const char STORE_RELEASE[] = "RELEASE op";
static const char STORE_ROLLBACK_TO[] = "ROLLBACK TO op";

/* Schema migrations: entry i brings user_version from i to i + 1. */
static const char *const store_migrations[] = {
	/* 1: alerts, durable subscriptions, deliveries */
	("CREATE TABLE alerts ("
	"  seq INTEGER PRIMARY KEY,"
	"  id TEXT NOT NULL,"
	"  origin TEXT NOT NULL,"
	"  topic TEXT NOT NULL,"
	"  published_at INTEGER NOT NULL,"
	"  digest BLOB NOT NULL,"
	"  body BLOB NOT NULL,"
	"  UNIQUE (origin, id));"
	"CREATE TABLE dsubs ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"	/* never reused */
	"  endpoint TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  patterns TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  UNIQUE (endpoint, name));"
	"CREATE TABLE deliveries ("
	"  tag INTEGER PRIMARY KEY AUTOINCREMENT,"	/* never reused */
	"  dsub INTEGER NOT NULL,"
	"  alert INTEGER NOT NULL,"
	"  state INTEGER NOT NULL DEFAULT 0,"	/* 0 open, 1 acked, 2 dead */
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  delivered_at INTEGER,"
	"  acked_at INTEGER);"
	"CREATE INDEX deliveries_open ON deliveries (dsub, tag) WHERE state = 0;"
	"CREATE INDEX deliveries_dsub ON deliveries (dsub);"),
	/* 2: the audit journal, hash-chained */
	("CREATE TABLE audit ("
	"  seq INTEGER PRIMARY KEY,"
	"  at INTEGER NOT NULL,"
	"  event TEXT NOT NULL,"
	"  endpoint TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  fingerprint TEXT NOT NULL,"
	"  peer TEXT NOT NULL,"
	"  alert TEXT NOT NULL,"
	"  detail TEXT NOT NULL,"
	"  transfer INTEGER NOT NULL,"
	"  prev BLOB NOT NULL,"
	"  hash BLOB NOT NULL);"),
	/* 3: receipts look the audit journal up by alert */
	("CREATE INDEX audit_alert ON audit (alert);"),
	/*
	 * 4: priority and expiry travel with each delivery, so that a fetch
	 * reads a backlog in priority order straight off an index; state 3 =
	 * dropped because the alert expired
	 */
	("ALTER TABLE deliveries ADD COLUMN severity INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE deliveries ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;"
	"DROP INDEX deliveries_open;"
	"CREATE INDEX deliveries_open ON deliveries (dsub, severity DESC, tag) "
	"  WHERE state = 0;"),
	/* 5: history reads find their start by time; purges find deliveries */
	("CREATE INDEX alerts_time ON alerts (published_at);"
	"CREATE INDEX deliveries_alert ON deliveries (alert);"),
	/*
	 * 6: registry revisions and proposals (four-eyes); alerts recipients
	 * may not re-disseminate
	 */
	("CREATE TABLE revisions ("
	"  rev INTEGER PRIMARY KEY,"
	"  created_at INTEGER NOT NULL,"
	"  author TEXT NOT NULL,"
	"  approved_by TEXT NOT NULL,"
	"  source TEXT NOT NULL,"
	"  comment TEXT NOT NULL,"
	"  changes TEXT NOT NULL,"
	"  document TEXT NOT NULL,"
	"  file_digest TEXT NOT NULL);"
	"CREATE TABLE proposals ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  base INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  proposer TEXT NOT NULL,"
	"  comment TEXT NOT NULL,"
	"  changes TEXT NOT NULL,"
	"  reasons TEXT NOT NULL,"
	"  document TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  decided_by TEXT NOT NULL DEFAULT '',"
	"  decided_at INTEGER);"
	"ALTER TABLE alerts ADD COLUMN restricted INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX alerts_restricted ON alerts (id) WHERE restricted = 1;"),
	/* 7: metrics count the dead letters per subscription without a scan */
	("CREATE INDEX deliveries_dead ON deliveries (dsub) WHERE state = 2;"),
	/*
	 * 8: pending proposals overtaken by a newer revision are stale (later
	 * commits mark them so as they overtake them)
	 */
	("UPDATE proposals SET state = 'stale' WHERE state = 'pending' AND "
	"base < (SELECT coalesce(max(rev), 0) FROM revisions);"),
	/*
	 * 9: an alert id names one alert, whatever its origin. A store written
	 * before may hold an id under several origins: the first alert of
	 * each such id keeps collision 0, the later ones get their seq. New
	 * alerts have collision 0, so the unique index refuses an id already
	 * taken. Such ids are listed for good in alert_id_collisions (the
	 * journal cannot tell their alerts apart: no receipts for them) and
	 * reported at open (store_report_collisions()).
	 */
	("ALTER TABLE alerts ADD COLUMN collision INTEGER NOT NULL DEFAULT 0;"
	"UPDATE alerts SET collision = seq WHERE seq NOT IN "
	"  (SELECT min(seq) FROM alerts GROUP BY id);"
	"CREATE UNIQUE INDEX alerts_id ON alerts (id, collision);"
	"CREATE INDEX alerts_collided ON alerts (id) WHERE collision <> 0;"
	"CREATE TABLE alert_id_collisions (id TEXT PRIMARY KEY) WITHOUT ROWID;"
	"INSERT INTO alert_id_collisions "
	"  SELECT DISTINCT id FROM alerts WHERE collision <> 0;"),
	/*
	 * 10: the time the last retention run expected: the expected time at the
	 * next start-up, which records written on a wrong clock do not move
	 */
	("CREATE TABLE retention_clock ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  at INTEGER NOT NULL);"),
	/*
	 * 11: exercise alerts (ccc bench, topics under exercise/) are found
	 * for their removal without a scan of the live ones
	 */
	("CREATE INDEX alerts_exercise ON alerts (seq) WHERE " STORE_EXERCISE ";"),
};
#define STORE_VERSION	((int)(sizeof(store_migrations) / sizeof(store_migrations[0])))

static void	store_done_cb(evutil_socket_t, short, void *);
static void	*store_main(void *);
static void	*store_syncer(void *);
static int	store_hasher_init(struct store_hasher *);
static uint8_t	*store_put_be(uint8_t *, uint64_t, int);
static struct store_op *store_op_new(enum store_kind, store_cb *, void *);
static void	store_op_free(struct store_op *);
static void	store_audit_copy(struct audit_copy *, const struct audit_rec *);
static void	store_batch(struct store *, struct store_op *);
static void	store_hasher_free(struct store_hasher *);

static int
store_exec(struct store *st, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* One integer from a one-row query (PRAGMA user_version). */
static int
store_int(struct store *st, const char *sql, int64_t *out)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* Apply the migrations the file lacks, each in its own transaction. */
static int
store_migrate(struct store *st, char *err, size_t errlen)
{
	char why[256];
	int64_t v;
	int version;

	if (store_int(st, "PRAGMA user_version", &v) < 0) {
		snprintf(err, errlen, "cannot read the schema version: %s",
		    sqlite3_errmsg(st->db));
		return -1;
	}
	version = (int)v;
	if (version > STORE_VERSION) {
		snprintf(err, errlen, "schema version %d is newer than this cccd "
		    "understands (%d); use a newer cccd", version, STORE_VERSION);
		return -1;
	}
	for (; version < STORE_VERSION; version++) {
		char sql[64];

		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version + 1);
		if (store_exec(st, "BEGIN IMMEDIATE", why, sizeof(why)) < 0 ||
		    store_exec(st, store_migrations[version], why, sizeof(why)) < 0 ||
		    store_exec(st, sql, why, sizeof(why)) < 0 ||
		    store_exec(st, "COMMIT", why, sizeof(why)) < 0) {
			store_exec(st, "ROLLBACK", sql, sizeof(sql));
			snprintf(err, errlen, "migration to schema version %d "
			    "failed: %s", version + 1, why);
			return -1;
		}
		log_info("store: schema migrated to version %d", version + 1);
	}
	return 0;
}

/* Switch to WAL and check that it took (it does not on some file systems). */
static int
store_wal(struct store *st, char *err, size_t errlen)
{
	sqlite3_stmt *stmt;
	const char *mode;
	int rc = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &stmt,
	    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(st->db));
		return -1;
	}
	if (sqlite3_step(stmt) == SQLITE_ROW &&
	    (mode = (const char *)sqlite3_column_text(stmt, 0)) != NULL) {
		if (strcmp(mode, "wal") == 0)
			rc = 0;
		else
			snprintf(err, errlen, "cannot use write-ahead logging "
			    "(journal mode stays \"%s\")", mode);
	} else
		snprintf(err, errlen, "%s", sqlite3_errmsg(st->db));
	sqlite3_finalize(stmt);
	return rc;
}

/* PRAGMA quick_check: "ok", or the first problem found. */
static int
store_verify(struct store *st, char *err, size_t errlen)
{
	sqlite3_stmt *stmt;
	const char *res;
	int rc = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA quick_check(1)", -1, &stmt,
	    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "integrity check failed to run: %s",
		    sqlite3_errmsg(st->db));
		return -1;
	}
	if (sqlite3_step(stmt) == SQLITE_ROW &&
	    (res = (const char *)sqlite3_column_text(stmt, 0)) != NULL) {
		if (strcmp(res, "ok") == 0)
			rc = 0;
		else
			snprintf(err, errlen, "integrity check failed: %s", res);
	} else
		snprintf(err, errlen, "integrity check failed: %s",
		    sqlite3_errmsg(st->db));
	sqlite3_finalize(stmt);
	return rc;
}

/* The hash the next audit record chains to: the last record's, or zeros. */
static int
store_chain_end(struct store *st, char *err, size_t errlen)
{
	sqlite3_stmt *stmt;
	int rc;

	memset(st->chain.hash, 0, sizeof(st->chain.hash));
	st->chain.next = 1;
	if (sqlite3_prepare_v2(st->db, "SELECT hash, seq FROM audit ORDER BY seq "
	    "DESC LIMIT 1", -1, &stmt, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(st->db));
		return -1;
	}
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW &&
	    sqlite3_column_bytes(stmt, 0) == 32) {
		memcpy(st->chain.hash, sqlite3_column_blob(stmt, 0), 32);
		st->chain.next = sqlite3_column_int64(stmt, 1) + 1;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

/*
 * Warn about the alert ids a store from before ids were unique gave to
 * alerts of several origins (store_migrations[]): each id, up to
 * STORE_COLLISIONS_NAMED of them, and how many there are.
 */
static int
store_report_collisions(struct store *st, char *err, size_t errlen)
{
	sqlite3_stmt *stmt;
	int64_t n = 0;
	int rc;

	if (sqlite3_prepare_v2(st->db, "SELECT c.id, count(a.seq) FROM "
	    "alert_id_collisions c LEFT JOIN alerts a ON a.id = c.id "
	    "GROUP BY c.id ORDER BY c.id", -1, &stmt, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(st->db));
		return -1;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		if (n++ < STORE_COLLISIONS_NAMED)
			log_warn("store: alert id %s was given to alerts of "
			    "several origins (%d of them still stored)",
			    sqlite3_column_text(stmt, 0),
			    sqlite3_column_int(stmt, 1));
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(st->db));
		return -1;
	}
	if (n > 0)
		log_warn("store: %lld alert ids (%s) were given to alerts of "
		    "several origins before ids were unique across origins; "
		    "receipts for them are refused", (long long)n,
		    n > STORE_COLLISIONS_NAMED ? "the first ones named above" :
		    "named above");
	return 0;
}

/*
 * Writer, after each commit (sqlite3_wal_hook): note the log's salts and
 * how many frames it holds, which the syncer anchors in ccc.db-head once
 * it synced them (before st->walfd is open: frames 0, nothing anchored).
 * The two agree: only this thread writes, and a checkpoint restarts the
 * log (new salts) only at the start of its next write transaction. Then
 * checkpoint as SQLite's own hook, which this one replaces, would.
 */
static int
store_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store *st = arg;
	uint8_t hdr[24];

	st->wal.frames = 0;
	if (st->walfd >= 0 && pread(st->walfd, hdr, sizeof(hdr), 0) ==
	    (ssize_t)sizeof(hdr)) {
		memcpy(st->wal.salts, hdr + 16, 8);
		st->wal.frames = frames;
	}
	if (frames >= STORE_CHECKPOINT_FRAMES)
		sqlite3_wal_checkpoint(db, name);
	return SQLITE_OK;
}

/*
 * The WAL of the database at path, opened for fdatasync(2) only; SQLite
 * keeps the same file for as long as a connection is open. Returns the
 * descriptor, or -1 with why set.
 */
static int
store_wal_open(const char *path, char *why, size_t whylen)
{
	char wal[600];
	int fd;

	snprintf(wal, sizeof(wal), "%s-wal", path);
	if ((fd = open(wal, O_RDONLY | O_CLOEXEC)) < 0)
		snprintf(why, whylen, "cannot open the write-ahead log %.300s: "
		    "%s", wal, strerror(errno));
	return fd;
}

/* ---- the files: write-ahead log scan, head anchor, identity ------------- */

static bool	store_accept_loss_flag;	/* --accept-store-loss */

void
store_accept_loss(bool accept)
{
	store_accept_loss_flag = accept;
}

static uint32_t
store_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static uint32_t
store_get_le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[1] << 8 | p[0];
}

/* SQLite's WAL checksum of n bytes (n a multiple of 8), continuing s. */
static void
store_wal_sum(bool be, const uint8_t *p, size_t n, uint32_t s[2])
{
	for (size_t i = 0; i + 8 <= n; i += 8) {
		s[0] += (be ? store_get_be32(p + i) : store_get_le32(p + i)) + s[1];
		s[1] += (be ? store_get_be32(p + i + 4) :
		    store_get_le32(p + i + 4)) + s[0];
	}
}

/*
 * Is frame f (24-byte header, then the page) a frame of the log whose
 * header is hdr, with a checksum that matches when the sum starts at s?
 * s ends as the frame's computed checksum.
 */
static bool
store_wal_frame_ok(const uint8_t *hdr, const uint8_t *f, size_t pgsz,
    bool be, uint32_t s[2])
{
	if (memcmp(f + 8, hdr + 16, 8) != 0 || store_get_be32(f) == 0)
		return false;
	store_wal_sum(be, f, 8, s);
	store_wal_sum(be, f + 24, pgsz, s);
	return s[0] == store_get_be32(f + 16) && s[1] == store_get_be32(f + 20);
}

/* What store_wal_scan read in a write-ahead log. */
struct store_walscan {
	uint8_t		 salts[8];	/* salt-1, salt-2 of its header */
	bool		 hdr_ok;	/* the header's checksum holds */
	int64_t		 frames;	/* whole frames in the file */
	int64_t		 bad;		/* first frame failing its checksum, or -1 */
	int64_t		 later;		/* commit frames after it that check */
};

/*
 * Read the write-ahead log open on fd (format: sqlite.org/fileformat2.html
 * #walformat) into w. SQLite keeps the frames up to the
 * last commit frame before the first frame that fails its checksum (or
 * has other salts: a frame of an older generation of the log, left behind
 * when a checkpoint restarted it), and drops the rest without a word.
 *
 * The checksum is cumulative: each frame's sum starts from the one stored
 * in the frame before, so after a damaged frame the running sum is wrong
 * for every frame after it. But each frame also stores its own sum, so a
 * frame after the damage is checked by starting from the sum stored in the
 * frame before it: a frame with the log's salts whose checksum matches
 * that way was written by SQLite after the damaged one, in the same
 * generation; w->later counts those that are commit frames. A damaged log
 * header (SQLite then ignores the whole log) counts as damage at frame 0.
 * Returns false when there is no log header (SQLite ignores the file).
 */
static bool
store_wal_read(int fd, struct store_walscan *w)
{
	uint8_t hdr[32], *f;
	uint32_t s[2] = { 0, 0 }, t[2];
	size_t pgsz, fsz;
	bool be;

	if (pread(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) ||
	    (store_get_be32(hdr) & ~1U) != 0x377f0682)
		return false;
	be = hdr[3] & 1;
	pgsz = store_get_be32(hdr + 8);
	if (pgsz == 1)
		pgsz = 65536;
	if (pgsz < 512 || pgsz > 65536 || (pgsz & (pgsz - 1)) != 0)
		return false;
	memcpy(w->salts, hdr + 16, 8);
	store_wal_sum(be, hdr, 24, s);
	w->hdr_ok = s[0] == store_get_be32(hdr + 24) && s[1] ==
	    store_get_be32(hdr + 28);
	w->bad = w->hdr_ok ? -1 : 0;
	w->later = 0;
	fsz = 24 + pgsz;
	f = xmalloc(fsz);
	t[0] = store_get_be32(hdr + 24);
	t[1] = store_get_be32(hdr + 28);
	for (w->frames = 0; pread(fd, f, fsz, 32 + w->frames * (off_t)fsz) ==
	    (ssize_t)fsz; w->frames++) {
		if (w->bad < 0 && !store_wal_frame_ok(hdr, f, pgsz, be, s))
			w->bad = w->frames;
		else if (w->bad >= 0 && store_wal_frame_ok(hdr, f, pgsz, be, t) &&
		    store_get_be32(f + 4) != 0)
			w->later++;
		t[0] = store_get_be32(f + 16);
		t[1] = store_get_be32(f + 20);
	}
	free(f);
	return true;
}

/* "frame N of M" or "its header": where w's damage is. */
static const char *
store_wal_where(const struct store_walscan *w, char *buf, size_t len)
{
	if (!w->hdr_ok)
		return "its header";
	snprintf(buf, len, "frame %lld of %lld", (long long)w->bad + 1,
	    (long long)w->frames);
	return buf;
}

/*
 * The exact rule, with ccc.db-head saying that synced->frames frames of
 * the log with synced->salts were synced: a frame of the synced part that fails its checksum, or is
 * missing, is damage on disk, and every transaction after it would be
 * lost; refused (-1, why set). Damage past the synced part is the tail of
 * a power failure (the kernel may write unsynced pages out of order),
 * none of it confirmed: SQLite drops it, and the broker starts. A log of
 * other salts was restarted after the last anchored sync: none of it was
 * synced yet (an anchored record lost with it is missing from the journal,
 * which store_head_reached finds).
 */
static int
store_wal_exact(const char *wal, const struct store_walscan *w,
    const struct store_walpos *synced, char *why, size_t whylen)
{
	char where[64];

	if (memcmp(w->salts, synced->salts, 8) != 0)
		return 0;
	if (w->bad < 0 && w->frames < synced->frames) {
		snprintf(why, whylen, "the write-ahead log %.200s is damaged: it "
		    "ends after frame %lld, but %lld frames of it were synced "
		    "(" STORE_FILE STORE_HEAD ")", wal, (long long)w->frames,
		    (long long)synced->frames);
		return -1;
	}
	if (w->bad >= 0 && w->bad < synced->frames) {
		snprintf(why, whylen, "the write-ahead log %.200s is damaged: %s "
		    "fails its checksum, but %lld frames of it were synced "
		    "(" STORE_FILE STORE_HEAD "); SQLite would drop every "
		    "transaction after it", wal, store_wal_where(w, where,
		    sizeof(where)), (long long)synced->frames);
		return -1;
	}
	if (w->later > 0)
		log_warn("store: the write-ahead log %s ends in frames written "
		    "after its last sync, out of order or damaged: %s fails its "
		    "checksum after the %lld synced, and %lld commit frames "
		    "follow it; SQLite drops them, none was confirmed", wal,
		    store_wal_where(w, where, sizeof(where)),
		    (long long)synced->frames, (long long)w->later);
	return 0;
}

/*
 * Check the write-ahead log of the database at path before SQLite
 * recovers it, against a, what ccc.db-head says was synced (NULL: no
 * head). With a's place in the log, the exact rule (store_wal_exact).
 * Without it (no head, or one of version 1), a commit frame of the log's
 * generation that checks after a damaged frame is taken for damage on
 * disk: a crash of the broker cannot leave valid frames after an invalid
 * one (the log is written in order, and the kernel keeps what was
 * written), but a power failure can, for the transactions not synced yet,
 * and then --accept-store-loss starts the broker with what precedes them.
 * Returns 0 (nothing found, or no log), -1 with why set on damage.
 */
static int
store_wal_scan(const char *path, const struct store_anchor *a, char *why,
    size_t whylen)
{
	struct store_walscan w;
	char wal[600], where[64];
	int fd, rc = 0;

	snprintf(wal, sizeof(wal), "%s-wal", path);
	if ((fd = open(wal, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;	/* none; anything else SQLite reports */
	if (!store_wal_read(fd, &w))
		rc = 0;		/* no log header: SQLite ignores the file */
	else if (a != NULL && a->has_wal)
		rc = store_wal_exact(wal, &w, &a->wal, why, whylen);
	else if (w.later > 0) {
		snprintf(why, whylen, "the write-ahead log %.300s is damaged: %s "
		    "fails its checksum and %lld committed transactions follow "
		    "it, which SQLite would drop", wal, store_wal_where(&w,
		    where, sizeof(where)), (long long)w.later);
		rc = -1;
	}
	close(fd);
	return rc;
}

#define STORE_HEAD_MAGIC	"cccHEAD2"	/* its last byte: the version */
#define STORE_HEAD_MAGIC1	"cccHEAD1"
#define STORE_HEAD_SLOT		88
#define STORE_HEAD_SLOT1	64		/* version 1 */

/*
 * ccc.db-head holds two slots, written in turn, so that a torn write
 * leaves the other one whole. A slot (version 2) is the magic, the count
 * of slot writes since start-up (the newer slot has the higher count),
 * the sequence number of the last synced audit record and its hash, the
 * WAL's salts and how many frames of that log were synced, then the first
 * 16 bytes of the SHA-256 of those 72 bytes; numbers are big-endian.
 * Version 1 had 64-byte slots: the magic, the sequence number (the newer
 * slot has the higher one), the hash and 16 bytes of the SHA-256 of those
 * 48; it is still read, and says nothing of the log.
 */
static void
store_head_encode(const struct store_anchor *a, uint64_t writes,
    uint8_t *slot)
{
	uint8_t md[32];

	memcpy(slot, STORE_HEAD_MAGIC, 8);
	store_put_be(slot + 8, writes, 8);
	store_put_be(slot + 16, (uint64_t)a->seq, 8);
	memcpy(slot + 24, a->hash, 32);
	memcpy(slot + 56, a->wal.salts, 8);
	store_put_be(slot + 64, (uint64_t)a->wal.frames, 8);
	EVP_Digest(slot, 72, md, NULL, EVP_sha256(), NULL);
	memcpy(slot + 72, md, 16);
}

static uint64_t
store_get_be64(const uint8_t *p)
{
	return (uint64_t)store_get_be32(p) << 32 | store_get_be32(p + 4);
}

/* Decode a slot of version v into *a; *order: the newer, the higher. */
static bool
store_head_decode(const uint8_t *slot, int v, struct store_anchor *a,
    uint64_t *order)
{
	size_t len = v == 1 ? 48 : 72;
	const uint8_t *p = slot + (v == 1 ? 8 : 16);
	uint8_t md[32];

	if (memcmp(slot, v == 1 ? STORE_HEAD_MAGIC1 : STORE_HEAD_MAGIC, 8) !=
	    0 || !EVP_Digest(slot, len, md, NULL, EVP_sha256(), NULL) ||
	    memcmp(md, slot + len, 16) != 0)
		return false;
	a->seq = (int64_t)store_get_be64(p);
	memcpy(a->hash, p + 8, 32);
	*order = v == 1 ? (uint64_t)a->seq : store_get_be64(slot + 8);
	a->has_wal = v != 1;
	memset(&a->wal, 0, sizeof(a->wal));
	if (a->has_wal) {
		memcpy(a->wal.salts, slot + 56, 8);
		a->wal.frames = (int64_t)store_get_be64(slot + 64);
	}
	return true;
}

/*
 * What the head file at path anchors: 1 with *a set (the newer slot), 0
 * when there is no file or it is empty, -1 with why set when it cannot be
 * read or neither slot is whole.
 */
static int
store_head_read(const char *path, struct store_anchor *a, char *why,
    size_t whylen)
{
	uint8_t buf[2 * STORE_HEAD_SLOT];
	struct store_anchor s;
	uint64_t order, newest = 0;
	ssize_t n, size;
	int fd, found = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, whylen, "cannot read %.300s: %s", path,
		    strerror(errno));
		return -1;
	}
	n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	if (n == 0)
		return 0;
	for (int v = 2; v > 0 && found == 0; v--) {
		size = v == 1 ? STORE_HEAD_SLOT1 : STORE_HEAD_SLOT;
		for (int k = 0; k < 2; k++)
			if ((k + 1) * size <= n &&
			    store_head_decode(buf + k * size, v, &s, &order) &&
			    (found == 0 || order > newest)) {
				*a = s;
				newest = order;
				found = 1;
			}
	}
	if (found == 0)
		snprintf(why, whylen, "%.300s is damaged: it no longer says "
		    "which audit record was synced last", path);
	return found == 0 ? -1 : 1;
}

/*
 * Does the audit chain in db reach the anchored record a: is there a
 * record a->seq with a->hash (or, when retention purged it, later ones)?
 * 0 yes; -1 with why set saying what is missing.
 */
static int
store_head_reached(sqlite3 *db, const struct store_anchor *a, char *why,
    size_t whylen)
{
	sqlite3_stmt *stmt;
	int64_t last;
	int result = -1;

	if (a->seq == 0)
		return 0;
	if (sqlite3_prepare_v2(db, "SELECT (SELECT max(seq) FROM audit), "
	    "(SELECT hash FROM audit WHERE seq = ?1)", -1, &stmt, NULL) !=
	    SQLITE_OK) {
		snprintf(why, whylen, "cannot read the audit journal: %s",
		    sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_bind_int64(stmt, 1, a->seq);
	if (sqlite3_step(stmt) != SQLITE_ROW)
		snprintf(why, whylen, "cannot read the audit journal: %s",
		    sqlite3_errmsg(db));
	else if ((last = sqlite3_column_int64(stmt, 0)) < a->seq)
		snprintf(why, whylen, "its newest records are missing: the audit "
		    "journal ends at record %lld, but record %lld was synced "
		    "(" STORE_FILE STORE_HEAD ")", (long long)last,
		    (long long)a->seq);
	else if (sqlite3_column_type(stmt, 1) != SQLITE_NULL &&
	    (sqlite3_column_bytes(stmt, 1) != 32 ||
	    memcmp(sqlite3_column_blob(stmt, 1), a->hash, 32) != 0))
		snprintf(why, whylen, "audit record %lld is not the one synced "
		    "(" STORE_FILE STORE_HEAD "): the store is another one, or "
		    "an older copy", (long long)a->seq);
	else
		result = 0;
	sqlite3_finalize(stmt);
	return result;
}

/* Anchor a in both slots of ccc.db-head and sync it (start-up). */
static int
store_head_reset(struct store *st, const struct store_anchor *a)
{
	uint8_t buf[2 * STORE_HEAD_SLOT];

	st->head_writes = 0;
	store_head_encode(a, st->head_writes++, buf);
	memcpy(buf + STORE_HEAD_SLOT, buf, STORE_HEAD_SLOT);
	if (pwrite(st->headfd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf) ||
	    fdatasync(st->headfd) < 0)
		return -1;
	st->anchor = *a;
	return 0;
}

/*
 * Start-up, with the database open and its chain's end read: check it
 * against ccc.db-head, then anchor that end there. A loss is refused
 * unless accepted (--accept-store-loss); lost then says what was
 * accepted. 0; -2 with why set for a loss refused; -1 with why set.
 */
static int
store_head_open(struct store *st, char *lost, size_t lostlen, char *why,
    size_t whylen)
{
	struct store_anchor a;
	char path[600], what[400];
	int found;

	snprintf(path, sizeof(path), "%s%s", st->path, STORE_HEAD);
	if ((found = store_head_read(path, &a, what, sizeof(what))) > 0 &&
	    store_head_reached(st->db, &a, what, sizeof(what)) < 0)
		found = -1;
	if (found < 0 && !store_accept_loss_flag) {
		snprintf(why, whylen, "%s", what);
		return -2;
	}
	if (found < 0)
		snprintf(lost + strlen(lost), lostlen - strlen(lost), "%s%s",
		    lost[0] != '\0' ? "; " : "", what);
	else if (found == 0 && st->chain.next > 1)
		log_warn("store: %s does not exist: whether the newest records "
		    "are all in the store cannot be checked at this start",
		    path);
	if ((st->headfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		snprintf(why, whylen, "cannot open %.300s: %s", path,
		    strerror(errno));
		return -1;
	}
	a.seq = st->chain.next - 1;
	memcpy(a.hash, st->chain.hash, 32);
	a.has_wal = true;
	memset(&a.wal, 0, sizeof(a.wal));	/* none of the log known synced */
	if (store_head_reset(st, &a) < 0) {
		snprintf(why, whylen, "cannot write %.300s: %s", path,
		    strerror(errno));
		return -1;
	}
	st->sync_chain = st->chain;
	st->sync_wal = st->wal;
	return 0;
}

/*
 * Syncer: anchor c, the chain's end of what was just synced, and w, how
 * far the log was, in the next slot of ccc.db-head. The file is synced
 * later (store_syncer_tick): an anchor behind the store is safe, and one
 * ahead of it cannot happen.
 */
static int
store_head_write(struct store *st, const struct store_chain *c,
    const struct store_walpos *w)
{
	uint8_t slot[STORE_HEAD_SLOT];
	struct store_anchor a;

	a.seq = c->next - 1;
	memcpy(a.hash, c->hash, 32);
	a.has_wal = true;
	a.wal = *w;
	store_head_encode(&a, st->head_writes, slot);
	if (pwrite(st->headfd, slot, sizeof(slot), (off_t)(st->head_writes++ &
	    1) * STORE_HEAD_SLOT) != (ssize_t)sizeof(slot))
		return -1;
	st->anchor = a;
	st->head_dirty = true;
	return 0;
}

static const char *const store_suffixes[3] = { "", "-wal", STORE_HEAD };

/* Note which files ccc.db, its WAL and ccc.db-head are (start-up). */
static int
store_files_note(struct store *st, char *why, size_t whylen)
{
	struct stat sb[3];

	if (stat(st->path, &sb[0]) < 0 || fstat(st->walfd, &sb[1]) < 0 ||
	    fstat(st->headfd, &sb[2]) < 0) {
		snprintf(why, whylen, "stat: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < 3; i++) {
		st->ident[i].dev = sb[i].st_dev;
		st->ident[i].ino = sb[i].st_ino;
	}
	return 0;
}

/*
 * Is each of the store's files still the file at its path? false, or true
 * with why set: one was removed or replaced (renamed over) while cccd
 * runs, so what it writes from now on would be lost at the next start.
 */
static bool
store_files_moved(struct store *st, char *why, size_t whylen)
{
	struct stat sb;
	char p[600];
	bool gone;

	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", st->path, store_suffixes[i]);
		if (!(gone = stat(p, &sb) < 0) && sb.st_dev == st->ident[i].dev &&
		    sb.st_ino == st->ident[i].ino)
			continue;
		snprintf(why, whylen, "%.300s was %s while cccd runs: what it "
		    "stored is in files no longer there, so from now on it "
		    "stores nothing and refuses every publish; stop cccd, put "
		    "the store back (see \"The store\" in docs/operations.md) "
		    "and start it again", p, gone ? "removed" :
		    "replaced by another file");
		return true;
	}
	return false;
}

static bool
store_lost(const struct store *st)
{
	return __atomic_load_n(&st->lost, __ATOMIC_ACQUIRE);
}

/*
 * Start-up with --accept-store-loss: say what was lost, in the log and as
 * the journal's first record after the loss, written and synced here
 * (the threads are not running yet). 0, or -1 with why set.
 */
static int
store_loss_accepted(struct store *st, const char *lost, char *why,
    size_t whylen)
{
	struct audit_rec rec = { .event = "store_loss", .detail = lost };
	struct store_op *op = store_op_new(OP_AUDIT, NULL, NULL);
	int rc = 0;

	log_error("store %s: accepted the loss (--accept-store-loss): %s",
	    st->path, lost);
	store_audit_copy(&op->audit, &rec);
	store_batch(st, op);
	if (op->res.status == STORE_FAILED || fdatasync(st->walfd) < 0) {
		snprintf(why, whylen, "cannot record the loss in the audit "
		    "journal: %s", op->res.status == STORE_FAILED ? op->error :
		    strerror(errno));
		rc = -1;
	}
	store_op_free(op);
	return rc;
}

struct store *
store_open(struct event_base *base, const char *data_dir, char *err,
    size_t errlen)
{
	struct store *st = xcalloc(1, sizeof(*st));
	struct store_anchor a;
	pthread_condattr_t ca;
	char why[512], lost[512] = "", head[600];
	int rc;

	snprintf(st->path, sizeof(st->path), "%s/%s", data_dir, STORE_FILE);
	st->efd = -1;
	st->walfd = -1;
	st->headfd = -1;
	/* a head that cannot be read: store_head_open says so */
	snprintf(head, sizeof(head), "%s%s", st->path, STORE_HEAD);
	rc = store_head_read(head, &a, why, sizeof(why));
	if (store_wal_scan(st->path, rc > 0 ? &a : NULL, lost, sizeof(lost)) < 0 &&
	    !store_accept_loss_flag) {
		snprintf(why, sizeof(why), "%s", lost);
		goto fail_loss;
	}
	if (sqlite3_open_v2(st->path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(why, sizeof(why), "%s", st->db ? sqlite3_errmsg(st->db) :
		    "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 5000);
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_wal_hook(st->db, store_wal_hook, st);
	if (store_wal(st, why, sizeof(why)) < 0 ||
	    store_exec(st, "PRAGMA synchronous = FULL", why, sizeof(why)) < 0 ||
	    /* statement and savepoint journals in memory, not in temp files */
	    store_exec(st, "PRAGMA temp_store = MEMORY", why, sizeof(why)) < 0)
		goto fail;
	if (store_verify(st, why, sizeof(why)) < 0 ||
	    store_migrate(st, why, sizeof(why)) < 0 ||
	    store_chain_end(st, why, sizeof(why)) < 0 ||
	    store_report_collisions(st, why, sizeof(why)) < 0)
		goto fail;
	/* from now on the syncer syncs each commit (see the top of this file) */
	if (store_exec(st, "PRAGMA synchronous = NORMAL", why, sizeof(why)) < 0)
		goto fail;
	if ((st->walfd = store_wal_open(st->path, why, sizeof(why))) < 0)
		goto fail;
	if ((rc = store_head_open(st, lost, sizeof(lost), why, sizeof(why))) == -2)
		goto fail_loss;
	if (rc < 0 || store_files_note(st, why, sizeof(why)) < 0)
		goto fail;
	if (store_hasher_init(&st->hasher) < 0) {
		snprintf(why, sizeof(why), "cannot compute SHA-256");
		goto fail;
	}
	if (lost[0] != '\0' && store_loss_accepted(st, lost, why,
	    sizeof(why)) < 0)
		goto fail;
	if ((st->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		snprintf(why, sizeof(why), "eventfd: %s", strerror(errno));
		goto fail;
	}
	st->ev = event_new(base, st->efd, EV_READ | EV_PERSIST, store_done_cb, st);
	event_add(st->ev, NULL);
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->wake, NULL);
	/* the syncer wakes up on a clock that setting the time does not move */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->sync_wake, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&st->syncer, NULL, store_syncer, st) != 0) {
		snprintf(why, sizeof(why), "cannot start the syncer thread");
		goto fail_threads;
	}
	if (pthread_create(&st->thread, NULL, store_main, st) != 0) {
		snprintf(why, sizeof(why), "cannot start the writer thread");
		pthread_mutex_lock(&st->lock);
		st->sync_stopping = true;
		pthread_cond_signal(&st->sync_wake);
		pthread_mutex_unlock(&st->lock);
		pthread_join(st->syncer, NULL);
		goto fail_threads;
	}
	return st;
fail_threads:
	event_free(st->ev);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->wake);
	pthread_cond_destroy(&st->sync_wake);
	goto fail;
fail_loss:
	snprintf(why + strlen(why), sizeof(why) - strlen(why), "; restore the "
	    "store from a backup, or start once with --accept-store-loss to go "
	    "on without what is missing (see \"The store\" in "
	    "docs/operations.md)");
fail:
	snprintf(err, errlen, "store %s: %s", st->path, why);
	if (st->walfd >= 0)
		close(st->walfd);
	if (st->headfd >= 0)
		close(st->headfd);
	if (st->efd >= 0)
		close(st->efd);
	for (size_t i = 0; i < st->nstmts; i++)
		sqlite3_finalize(st->stmts[i].stmt);
	sqlite3_close(st->db);
	store_hasher_free(&st->hasher);
	free(st);
	return NULL;
}

static void
store_op_free(struct store_op *op)
{
	for (int i = 0; i < AUDIT_NTEXT; i++)
		free(op->audit.text[i]);
	for (size_t k = 0; k < op->naudits; k++)
		for (int i = 0; i < AUDIT_NTEXT; i++)
			free(op->audits[k].text[i]);
	free(op->audits);
	free(op->id);
	free(op->origin);
	free(op->topic);
	free(op->endpoint);
	free(op->name);
	free(op->patterns);
	free(op->body);
	free(op->u64);
	free(op->res.rows);
	free(op->res.receipts);
	free(op->res.ids);
	free(op->res.regrecs);
	for (int i = 0; i < RC_NTEXT; i++)
		free(op->rc[i]);
	for (size_t i = 0; i < op->nlist; i++)
		free(op->list[i]);
	free(op->list);
	free(op->res.backlogs);
	for (size_t i = 0; i < op->nblobs; i++)
		free(op->blobs[i]);
	free(op->blobs);
	free(op);
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	pthread_mutex_lock(&st->lock);
	st->stopping = true;
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->lock);
	pthread_join(st->thread, NULL);
	/* the writer handed everything to the syncer, which syncs it last */
	pthread_mutex_lock(&st->lock);
	st->sync_stopping = true;
	pthread_cond_signal(&st->sync_wake);
	pthread_mutex_unlock(&st->lock);
	pthread_join(st->syncer, NULL);
	/*
	 * The threads finished everything queued; run the callbacks still
	 * waiting (their work is done). What they queue now is dropped.
	 */
	st->closed = true;
	store_done_cb(st->efd, EV_READ, st);
	log_info("store: closed after %llu operations in %llu transactions "
	    "and %llu syncs", (unsigned long long)st->ops,
	    (unsigned long long)st->batches, (unsigned long long)st->syncs);
	event_free(st->ev);
	close(st->efd);
	close(st->walfd);
	close(st->headfd);
	for (size_t i = 0; i < st->nstmts; i++)
		sqlite3_finalize(st->stmts[i].stmt);
	/*
	 * Files not at their paths: a checkpoint at close would copy the log
	 * into a file no longer there and then remove the log at the path.
	 */
	if (store_lost(st))
		sqlite3_db_config(st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1,
		    NULL);
	sqlite3_close(st->db);
	store_hasher_free(&st->hasher);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->wake);
	pthread_cond_destroy(&st->sync_wake);
	free(st);
}

/* Append the chain first..last (linked by next) to *head / *tail. */
static void
store_append(struct store_op **head, struct store_op **tail,
    struct store_op *first, struct store_op *last)
{
	if (*tail != NULL)
		(*tail)->next = first;
	else
		*head = first;
	*tail = last;
}

static void
store_enqueue(struct store *st, struct store_op *op)
{
	if (st->closed) {
		store_op_free(op);
		return;
	}
	if (st->pending++ == 0)
		st->progress_us = time_mono_us();
	pthread_mutex_lock(&st->lock);
	store_append(&st->queue, &st->queue_tail, op, op);
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->lock);
}

static struct store_op *
store_op_new(enum store_kind kind, store_cb *cb, void *arg)
{
	struct store_op *op = xcalloc(1, sizeof(*op));

	op->kind = kind;
	op->cb = cb;
	op->arg = arg;
	return op;
}

static void
store_audit_copy(struct audit_copy *c, const struct audit_rec *r)
{
	const char *text[AUDIT_NTEXT] = { r->event, r->endpoint, r->subject,
	    r->fingerprint, r->peer, r->alert, r->detail };

	c->present = true;
	for (int i = 0; i < AUDIT_NTEXT; i++)
		c->text[i] = xstrdup(text[i] ? text[i] : "");
	c->transfer = r->transfer;
}

static void
store_list_copy(struct store_op *op, char *const *v, size_t n)
{
	op->list = xcalloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		op->list[i] = xstrdup(v[i]);
	op->nlist = n;
}

void
store_audit(struct store *st, const struct audit_rec *rec)
{
	struct store_op *op = store_op_new(OP_AUDIT, NULL, NULL);

	store_audit_copy(&op->audit, rec);
	store_enqueue(st, op);
}

void
store_audit_batch(struct store *st, const struct audit_rec *v, size_t n)
{
	struct store_op *op;

	if (n == 0)
		return;
	op = store_op_new(OP_AUDIT, NULL, NULL);
	op->audits = xcalloc(n, sizeof(*op->audits));
	for (size_t i = 0; i < n; i++)
		store_audit_copy(&op->audits[i], &v[i]);
	op->naudits = n;
	store_enqueue(st, op);
}

/* Do a and b name the same recipient certificate, with the same transfer? */
static bool
store_same_recipient(const struct store_recipient *a,
    const struct store_recipient *b)
{
	return a->transfer == b->transfer &&
	    strcmp(a->endpoint, b->endpoint) == 0 &&
	    strcmp(a->fingerprint ? a->fingerprint : "",
	    b->fingerprint ? b->fingerprint : "") == 0 &&
	    strcmp(a->subject ? a->subject : "", b->subject ? b->subject : "") == 0;
}

void
store_audit_deliveries(struct store *st, const char *alert, const char *detail,
    const struct store_recipient *v, size_t n)
{
	struct store_op *op;
	size_t *group, *first, *plen, ng = 0;

	if (n == 0)
		return;
	/* group the sessions by certificate: one record each */
	group = xcalloc(n, sizeof(*group));
	first = xcalloc(n, sizeof(*first));
	plen = xcalloc(n, sizeof(*plen));
	for (size_t i = 0; i < n; i++) {
		size_t g;

		for (g = 0; g < ng; g++)
			if (store_same_recipient(&v[first[g]], &v[i]))
				break;
		if (g == ng)
			first[ng++] = i;
		group[i] = g;
		plen[g] += strlen(v[i].peer ? v[i].peer : "") + 1;
	}
	op = store_op_new(OP_AUDIT, NULL, NULL);
	op->audits = xcalloc(ng, sizeof(*op->audits));
	op->naudits = ng;
	for (size_t g = 0; g < ng; g++) {
		const struct store_recipient *r = &v[first[g]];
		struct audit_rec ar = {
			.event = "deliver", .endpoint = r->endpoint,
			.subject = r->subject, .fingerprint = r->fingerprint,
			.peer = "", .alert = alert, .detail = detail,
			.transfer = r->transfer,
		};

		store_audit_copy(&op->audits[g], &ar);
		free(op->audits[g].text[4]);
		op->audits[g].text[4] = xcalloc(1, plen[g]);
		plen[g] = 0;	/* from here on: bytes written */
	}
	for (size_t i = 0; i < n; i++) {
		const char *peer = v[i].peer ? v[i].peer : "";
		char *peers = op->audits[group[i]].text[4];
		size_t len = strlen(peer), *off = &plen[group[i]];

		if (*off > 0)
			peers[(*off)++] = ' ';
		memcpy(peers + *off, peer, len + 1);
		*off += len;
	}
	free(group);
	free(first);
	free(plen);
	store_enqueue(st, op);
}

void
store_counts(struct store *st, store_cb *cb, void *arg)
{
	store_enqueue(st, store_op_new(OP_COUNTS, cb, arg));
}

void
store_health(const struct store *st, struct store_health *h)
{
	h->write_ok = !st->write_failed && !store_lost(st);
	h->files_lost = store_lost(st);
	h->error = store_lost(st) ? STORE_LOST : st->write_failed ?
	    st->write_error : NULL;
	h->pending = st->pending;
	h->waiting_us = st->pending > 0 ? time_mono_us() - st->progress_us : 0;
}

void
store_purge(struct store *st, int64_t now, int64_t expect,
    uint32_t retain_alerts, uint32_t retain_audit, size_t batch, store_cb *cb,
    void *arg)
{
	struct store_op *op = store_op_new(OP_PURGE, cb, arg);
	struct audit_rec ar = { .event = "purge", .detail = "" };
	int64_t sec = 1000000;

	op->published_at = retain_alerts ? now - retain_alerts * sec : 0;
	op->expires_at = retain_audit ? now - retain_audit * sec : 0;
	op->retain_expect = expect;
	op->retain_alerts = retain_alerts;
	op->retain_audit = retain_audit;
	op->limit = batch;
	store_audit_copy(&op->audit, &ar);
	store_enqueue(st, op);
}

void
store_journal_exercise(struct store *st, bool per_alert)
{
	st->journal_exercise = per_alert;
}

void
store_exercise_purge(struct store *st, const struct audit_rec *audit,
    store_cb *cb, void *arg)
{
	struct store_op *op = store_op_new(OP_EXERCISE, cb, arg);

	if (audit != NULL)
		store_audit_copy(&op->audit, audit);
	store_enqueue(st, op);
}

void
store_history(struct store *st, int64_t since, uint64_t after_seq,
    uint64_t upto_seq, size_t limit, const struct audit_rec *audit,
    store_cb *cb, void *arg)
{
	struct store_op *op = store_op_new(OP_HISTORY, cb, arg);

	op->published_at = since;
	op->after_seq = after_seq;
	op->upto_seq = upto_seq;
	op->limit = limit;
	store_audit_copy(&op->audit, audit);
	store_enqueue(st, op);
}

void
store_receipts(struct store *st, const char *origin, const char *alert_id,
    const struct audit_rec *audit, store_cb *cb, void *arg)
{
	struct store_op *op = store_op_new(OP_RECEIPTS, cb, arg);

	op->origin = xstrdup(origin);
	op->id = xstrdup(alert_id);
	store_audit_copy(&op->audit, audit);
	store_enqueue(st, op);
}

void
store_publish(struct store *st, const struct store_publish *p,
    store_cb *committed, store_cb *cb, void *arg)
{
	struct store_op *op = store_op_new(OP_PUBLISH, cb, arg);

	op->committed_cb = committed;
	op->id = xstrdup(p->id);
	op->origin = xstrdup(p->origin);
	op->topic = xstrdup(p->topic);
	op->published_at = p->published_at;
	op->expires_at = p->expires_at;
	op->severity = p->severity;
	memcpy(op->digest, p->digest, sizeof(op->digest));
	op->body = xmalloc(p->body_len);
	memcpy(op->body, p->body, p->body_len);
	op->body_len = p->body_len;
	if (p->ndsubs > 0) {
		op->u64 = xcalloc(p->ndsubs, sizeof(uint64_t));
		memcpy(op->u64, p->dsubs, p->ndsubs * sizeof(uint64_t));
		op->nu64 = p->ndsubs;
	}
	op->flag = p->restricted;
	op->exercise = p->exercise;
	store_list_copy(op, p->refs, p->nrefs);
	store_audit_copy(&op->audit, &p->audit);
	store_enqueue(st, op);
}

void
store_subscribe(struct store *st, const char *endpoint, const char *name,
    char *const *patterns, size_t npatterns, store_cb *cb, void *arg)
{
	struct store_op *op = store_op_new(OP_SUBSCRIBE, cb, arg);
	size_t len = 1;

	op->endpoint = xstrdup(endpoint);
	op->name = xstrdup(name);
	for (size_t i = 0; i < npatterns; i++)
		len += strlen(patterns[i]) + 1;
	op->patterns = xcalloc(1, len);
	for (size_t i = 0; i < npatterns; i++) {
		if (i > 0)
			strcat(op->patterns, "\n");
		strcat(op->patterns, patterns[i]);
	}
	store_enqueue(st, op);
}

void
store_forget(struct store *st, uint64_t dsub_id, store_cb *cb, void *arg)
{
	struct store_op *op = store_op_new(OP_FORGET, cb, arg);

	op->dsub_id = dsub_id;
	store_enqueue(st, op);
}

static int
store_tag_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void
store_fetch(struct store *st, uint64_t dsub_id, const uint64_t *exclude,
    size_t nexclude, size_t limit, uint32_t max_attempts, store_cb *cb,
    void *arg)
{
	struct store_op *op = store_op_new(OP_FETCH, cb, arg);

	op->dsub_id = dsub_id;
	if (nexclude > 0) {	/* sorted, for bsearch on the writer thread */
		op->u64 = xcalloc(nexclude, sizeof(uint64_t));
		memcpy(op->u64, exclude, nexclude * sizeof(uint64_t));
		op->nu64 = nexclude;
		qsort(op->u64, nexclude, sizeof(uint64_t), store_tag_cmp);
	}
	op->limit = limit;
	op->max_attempts = max_attempts;
	store_enqueue(st, op);
}

void
store_ack(struct store *st, uint64_t dsub_id, const uint64_t *tags,
    size_t ntags, const struct audit_rec *audit, store_cb *cb, void *arg)
{
	struct store_op *op = store_op_new(OP_ACK, cb, arg);

	store_audit_copy(&op->audit, audit);
	op->dsub_id = dsub_id;
	op->u64 = xcalloc(ntags, sizeof(uint64_t));
	memcpy(op->u64, tags, ntags * sizeof(uint64_t));
	op->nu64 = ntags;
	store_enqueue(st, op);
}

/* ---- writer thread ------------------------------------------------------ */

/* ---- registry revisions ------------------------------------------------- */

static struct store_op *
store_regop(enum store_kind kind, const struct store_regchange *c,
    store_cb *cb, void *arg)
{
	struct store_op *op = store_op_new(kind, cb, arg);
	const char *text[RC_NTEXT] = { c->author, c->approved_by, c->source,
	    c->comment, c->changes, c->reasons, c->document, c->file_digest };

	for (int i = 0; i < RC_NTEXT; i++)
		op->rc[i] = xstrdup(text[i] ? text[i] : "");
	op->dsub_id = c->base;
	op->after_seq = c->proposal;
	store_list_copy(op, c->inboxes, c->ninboxes);
	store_audit_copy(&op->audit, &c->audit);
	return op;
}

void
store_registry_commit(struct store *st, const struct store_regchange *c,
    store_cb *cb, void *arg)
{
	store_enqueue(st, store_regop(OP_REG_COMMIT, c, cb, arg));
}

void
store_registry_propose(struct store *st, const struct store_regchange *c,
    store_cb *cb, void *arg)
{
	store_enqueue(st, store_regop(OP_REG_PROPOSE, c, cb, arg));
}

void
store_registry_decide(struct store *st, uint64_t proposal, const char *state,
    const char *by, const struct audit_rec *audit, store_cb *cb, void *arg)
{
	struct store_op *op = store_op_new(OP_REG_DECIDE, cb, arg);

	op->dsub_id = proposal;
	op->name = xstrdup(state);
	op->endpoint = xstrdup(by);
	store_audit_copy(&op->audit, audit);
	store_enqueue(st, op);
}

void
store_registry_list(struct store *st, bool proposals, uint64_t id,
    size_t limit, bool all, bool with_document, store_cb *cb, void *arg)
{
	struct store_op *op = store_op_new(OP_REG_LIST, cb, arg);

	op->flag = proposals;
	op->dsub_id = id;
	op->limit = limit;
	op->all = all;
	op->with_doc = with_document;
	store_enqueue(st, op);
}

/*
 * The prepared statement for sql, ready to bind: statements are compiled
 * once and kept (compiling took most of the writer's time otherwise). sql
 * must be a string literal: the cache is keyed by its address. Writer
 * thread only; release with sqlite3_reset().
 */
static sqlite3_stmt *
store_stmt(struct store *st, const char *sql)
{
	sqlite3_stmt *stmt;

	for (size_t i = 0; i < st->nstmts; i++)
		if (st->stmts[i].sql == sql) {
			sqlite3_reset(st->stmts[i].stmt);
			sqlite3_clear_bindings(st->stmts[i].stmt);
			return st->stmts[i].stmt;
		}
	if (st->nstmts == STORE_NSTMTS)
		fatal("store: more than %d distinct statements", STORE_NSTMTS);
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt,
	    NULL) != SQLITE_OK)
		return NULL;
	st->stmts[st->nstmts].sql = sql;
	st->stmts[st->nstmts++].stmt = stmt;
	return stmt;
}

/* Record SQLite's last error as op's and return -1. */
static int
store_fail(struct store *st, struct store_op *op)
{
	snprintf(op->error, sizeof(op->error), "%s", sqlite3_errmsg(st->db));
	return -1;
}

/* Prepare, bind and step a statement with no result rows. */
static int
store_run(struct store *st, struct store_op *op, const char *sql,
    const char *fmt, ...)
{
	sqlite3_stmt *stmt;
	va_list ap;
	int rc, i = 1;

	if ((stmt = store_stmt(st, sql)) == NULL)
		goto fail;
	va_start(ap, fmt);
	for (const char *f = fmt; *f; f++, i++) {
		if (*f == 't')
			sqlite3_bind_text(stmt, i, va_arg(ap, const char *), -1,
			    SQLITE_STATIC);
		else if (*f == 'i')
			sqlite3_bind_int64(stmt, i, va_arg(ap, int64_t));
	}
	va_end(ap);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		store_fail(st, op);	/* before finalize resets the message */
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
fail:
	return store_fail(st, op);
}

static int
store_hasher_init(struct store_hasher *h)
{
	memset(h, 0, sizeof(*h));
	if ((h->ctx = EVP_MD_CTX_new()) == NULL ||
	    (h->md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL) {
		EVP_MD_CTX_free(h->ctx);
		h->ctx = NULL;
		return -1;
	}
	return 0;
}

static void
store_hasher_free(struct store_hasher *h)
{
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
	free(h->buf);
	memset(h, 0, sizeof(*h));
}

static uint8_t *
store_put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		*p++ = (uint8_t)(v >> (8 * (n - 1 - i)));
	return p;
}

/*
 * The hash of one audit record: SHA-256 over the previous record's hash, the
 * sequence number and time (8 bytes big-endian each), every text field as a
 * 4-byte big-endian length and its bytes, and the transfer flag (1 byte).
 * The bytes are laid out in h's buffer and hashed at once, with the digest
 * fetched once (an implicit fetch per record cost more than the hash).
 */
static void
store_audit_hash(struct store_hasher *h, const uint8_t prev[32], int64_t seq,
    int64_t at, const char *const text[AUDIT_NTEXT], int transfer,
    uint8_t out[32])
{
	size_t len[AUDIT_NTEXT], need = 32 + 16 + 1;
	unsigned int mdlen = 32;
	uint8_t *p;

	for (int i = 0; i < AUDIT_NTEXT; i++)
		need += 4 + (len[i] = strlen(text[i]));
	if (need > h->cap) {
		h->cap = need + 1024;
		h->buf = xreallocarray(h->buf, h->cap, 1);
	}
	p = h->buf;
	memcpy(p, prev, 32);
	p = store_put_be(p + 32, (uint64_t)seq, 8);
	p = store_put_be(p, (uint64_t)at, 8);
	for (int i = 0; i < AUDIT_NTEXT; i++) {
		p = store_put_be(p, (uint32_t)len[i], 4);
		memcpy(p, text[i], len[i]);
		p += len[i];
	}
	*p++ = (uint8_t)(transfer != 0);
	if (EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1 ||
	    EVP_DigestUpdate(h->ctx, h->buf, (size_t)(p - h->buf)) != 1 ||
	    EVP_DigestFinal_ex(h->ctx, out, &mdlen) != 1)
		fatal("store: SHA-256 failed");
}

/* Append one audit record with these text fields to the chain. */
static int
store_append_audit(struct store *st, struct store_op *op,
    const char *const text[AUDIT_NTEXT], bool transfer)
{
	sqlite3_stmt *stmt;
	uint8_t hash[32];
	int64_t seq, at = time_now_us();
	int rc;

	seq = st->chain.next;
	store_audit_hash(&st->hasher, st->chain.hash, seq, at, text, transfer,
	    hash);
	if ((stmt = store_stmt(st, "INSERT INTO audit (seq, at, event, "
	    "endpoint, subject, fingerprint, peer, alert, detail, transfer, prev, "
	    "hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)")) == NULL)
		goto fail;
	sqlite3_bind_int64(stmt, 1, seq);
	sqlite3_bind_int64(stmt, 2, at);
	for (int i = 0; i < AUDIT_NTEXT; i++)
		sqlite3_bind_text(stmt, 3 + i, text[i], -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 10, transfer);
	sqlite3_bind_blob(stmt, 11, st->chain.hash, 32, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 12, hash, 32, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		goto fail;
	memcpy(st->chain.hash, hash, 32);
	st->chain.next++;
	return 0;
fail:
	return store_fail(st, op);
}

/* Append op's audit record, with event and alert overridden when not NULL. */
static int
store_write_audit(struct store *st, struct store_op *op, const char *event,
    const char *alert)
{
	const char *text[AUDIT_NTEXT];

	for (int i = 0; i < AUDIT_NTEXT; i++)
		text[i] = op->audit.text[i];
	if (event != NULL)
		text[0] = event;
	if (alert != NULL)
		text[5] = alert;
	return store_append_audit(st, op, text, op->audit.transfer);
}

/* An audit operation: its records, in order, all or none. */
static int
store_do_audit(struct store *st, struct store_op *op)
{
	if (op->naudits == 0)
		return store_write_audit(st, op, NULL, NULL);
	for (size_t i = 0; i < op->naudits; i++)
		if (store_append_audit(st, op,
		    (const char *const *)op->audits[i].text,
		    op->audits[i].transfer) < 0)
			return -1;
	return 0;
}

/*
 * Publish op refused: its reference ref names origin's restricted alert.
 * The client is told that it is restricted, not whose it is (it may not be
 * in the alert's audience); the log and the audit record (its detail) name
 * the origin too.
 */
static void
store_publish_restricted(struct store_op *op, const char *ref,
    const char *origin)
{
	char detail[400];

	snprintf(op->error, sizeof(op->error), "alert %s is restricted: it may "
	    "not be disseminated further without its originator's permission",
	    ref);
	snprintf(detail, sizeof(detail), "alert %s of %s is restricted", ref,
	    origin);
	free(op->audit.text[6]);
	op->audit.text[6] = xstrdup(detail);
	op->res.status = STORE_RESTRICTED;
	op->res.error = op->error;
	op->res.detail = op->audit.text[6];
}

/*
 * The id is stored already: a duplicate, a conflict, or another origin's.
 * The alert it names is its first one (collision 0), or, when a store from
 * before ids were unique lost that one to retention, the earliest left.
 */
static int
store_publish_again(struct store *st, struct store_op *op)
{
	sqlite3_stmt *stmt;
	const void *d;

	if ((stmt = store_stmt(st, "SELECT digest, published_at, origin = ?1 "
	    "FROM alerts WHERE id = ?2 ORDER BY collision LIMIT 1")) == NULL)
		return store_fail(st, op);
	sqlite3_bind_text(stmt, 1, op->origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, op->id, -1, SQLITE_STATIC);
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		store_fail(st, op);
		sqlite3_reset(stmt);
		return -1;
	}
	d = sqlite3_column_blob(stmt, 0);
	if (sqlite3_column_int(stmt, 2) == 0)
		op->res.status = STORE_ID_TAKEN;
	else if (sqlite3_column_bytes(stmt, 0) == 32 && d != NULL &&
	    memcmp(d, op->digest, 32) == 0) {
		op->res.status = STORE_DUPLICATE;
		op->res.published_at = sqlite3_column_int64(stmt, 1);
	} else
		op->res.status = STORE_CONFLICT;
	sqlite3_reset(stmt);
	return store_write_audit(st, op, op->res.status == STORE_DUPLICATE ?
	    "publish_duplicate" : "publish_conflict", NULL);
}

/*
 * One pending delivery of the alert seq for each durable subscription of
 * op that still exists, in one statement (the ids as a JSON array): a
 * statement per subscription cost its own AUTOINCREMENT bookkeeping.
 */
static int
store_publish_deliveries(struct store *st, struct store_op *op, int64_t seq)
{
	size_t cap = op->nu64 * 21 + 3, off = 0;
	char *ids = xmalloc(cap);
	int rc;

	ids[off++] = '[';
	for (size_t i = 0; i < op->nu64; i++)
		off += (size_t)snprintf(ids + off, cap - off, "%s%llu",
		    i > 0 ? "," : "", (unsigned long long)op->u64[i]);
	ids[off++] = ']';
	ids[off] = '\0';
	rc = store_run(st, op, "INSERT INTO deliveries (dsub, alert, severity, "
	    "expires_at) SELECT id, ?2, ?3, ?4 FROM dsubs WHERE id IN "
	    "(SELECT value FROM json_each(?1)) ORDER BY id", "tiii", ids, seq,
	    (int64_t)op->severity, op->expires_at);
	free(ids);
	return rc;
}

/*
 * The alert is inserted first (OR IGNORE: the unique index on id tells an
 * id seen before, which is rare, without a lookup for every new one), then
 * its references are checked for re-disseminating a restricted alert,
 * which takes the row out again.
 */
static int
store_do_publish(struct store *st, struct store_op *op)
{
	sqlite3_stmt *stmt;
	int64_t seq;
	int rc;

	if ((stmt = store_stmt(st, "INSERT OR IGNORE INTO alerts (id, origin, "
	    "topic, published_at, digest, body, restricted) VALUES (?1, ?2, ?3, "
	    "?4, ?5, ?6, ?7)")) == NULL)
		goto fail;
	sqlite3_bind_int(stmt, 7, op->flag);
	sqlite3_bind_text(stmt, 1, op->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, op->origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, op->topic, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, op->published_at);
	sqlite3_bind_blob(stmt, 5, op->digest, 32, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 6, op->body, (int)op->body_len, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE)
		store_fail(st, op);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return -1;
	if (sqlite3_changes(st->db) == 0)
		return store_publish_again(st, op);
	seq = sqlite3_last_insert_rowid(st->db);
	/* each reference: another origin's restricted alert? */
	for (size_t i = 0; i < op->nlist; i++) {
		const char *ref = op->list[i];

		if ((stmt = store_stmt(st, "SELECT origin FROM alerts WHERE "
		    "id = ?1 AND restricted = 1 AND origin <> ?2 LIMIT 1")) == NULL)
			goto fail;
		sqlite3_bind_text(stmt, 1, ref, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 2, op->origin, -1, SQLITE_STATIC);
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW) {
			store_publish_restricted(op, ref,
			    (const char *)sqlite3_column_text(stmt, 0));
			sqlite3_reset(stmt);
			if (store_run(st, op, "DELETE FROM alerts WHERE seq = ?1",
			    "i", seq) < 0)
				return -1;
			return store_write_audit(st, op, "publish_refused", NULL);
		}
		sqlite3_reset(stmt);
		if (rc != SQLITE_DONE)
			goto fail;
	}
	op->res.seq = (uint64_t)seq;
	if (op->nu64 > 0 && store_publish_deliveries(st, op, seq) < 0)
		return -1;
	op->res.status = STORE_OK;
	op->res.published_at = op->published_at;
	if (op->exercise && !st->journal_exercise)
		return 0;
	return store_write_audit(st, op, "publish", NULL);
fail:
	return store_fail(st, op);
}

static int
store_do_subscribe(struct store *st, struct store_op *op)
{
	sqlite3_stmt *stmt;
	int rc;

	if (store_run(st, op, "INSERT OR IGNORE INTO dsubs (endpoint, name, "
	    "patterns, created_at) VALUES (?1, ?2, ?3, ?4)", "ttti", op->endpoint,
	    op->name, op->patterns, time_now_us()) < 0)
		return -1;
	if ((stmt = store_stmt(st, "SELECT id FROM dsubs WHERE endpoint = ?1 "
	    "AND name = ?2")) == NULL)
		goto fail;
	sqlite3_bind_text(stmt, 1, op->endpoint, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, op->name, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		op->res.dsub_id = (uint64_t)sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW)
		goto fail;
	return 0;
fail:
	return store_fail(st, op);
}

/* Set state on the tags of one fetch (dead letters, expired). */
static int
store_mark(struct store *st, struct store_op *op, const uint64_t *tags,
    size_t n, int state)
{
	for (size_t i = 0; i < n; i++)
		if (store_run(st, op, "UPDATE deliveries SET state = ?1 WHERE "
		    "tag = ?2 AND state = 0", "ii", (int64_t)state,
		    (int64_t)tags[i]) < 0)
			return -1;
	return 0;
}

/*
 * Read the subscription's open deliveries in priority order (severity, then
 * tag) straight off the deliveries_open index, skipping those in flight;
 * those past max_attempts go to the dead letters, those of expired alerts
 * are dropped, until limit deliverable ones are found. Its cost is the rows
 * read, not the size of the backlog.
 */
static int
store_do_fetch(struct store *st, struct store_op *op)
{
	sqlite3_stmt *stmt;
	size_t cap = op->limit ? op->limit : 1, ndead = 0, nexp = 0;
	uint64_t *dead = xcalloc(cap, sizeof(uint64_t));
	uint64_t *expired = xcalloc(cap, sizeof(uint64_t));
	int64_t now = time_now_us();
	int rc = SQLITE_DONE;

	if ((stmt = store_stmt(st, "SELECT d.tag, d.attempts, d.expires_at, "
	    "a.topic, a.body, a.id, a.origin FROM deliveries d JOIN alerts a "
	    "ON a.seq = d.alert WHERE d.dsub = ?1 AND d.state = 0 "
	    "ORDER BY d.severity DESC, d.tag")) == NULL)
		goto fail;
	sqlite3_bind_int64(stmt, 1, (int64_t)op->dsub_id);
	op->res.rows = xcalloc(cap, sizeof(struct store_row));
	op->blobs = xcalloc(4 * cap, sizeof(void *));
	while (op->res.nrows < op->limit &&
	    (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		uint64_t tag = (uint64_t)sqlite3_column_int64(stmt, 0);
		uint32_t attempts = (uint32_t)sqlite3_column_int64(stmt, 1);
		int64_t expires = sqlite3_column_int64(stmt, 2);
		struct store_row *r;
		size_t blen;
		uint8_t *body;

		if (op->nu64 > 0 && bsearch(&tag, op->u64, op->nu64,
		    sizeof(uint64_t), store_tag_cmp) != NULL)
			continue;	/* in flight */
		if (attempts >= op->max_attempts) {
			if (ndead < cap)
				dead[ndead++] = tag;
			continue;
		}
		if (expires != 0 && expires <= now) {
			if (nexp < cap)
				expired[nexp++] = tag;
			continue;
		}
		r = &op->res.rows[op->res.nrows++];
		blen = (size_t)sqlite3_column_bytes(stmt, 4);
		body = xmalloc(blen ? blen : 1);
		r->tag = tag;
		r->attempts = attempts;
		r->topic = op->blobs[op->nblobs++] =
		    xstrdup((const char *)sqlite3_column_text(stmt, 3));
		memcpy(body, sqlite3_column_blob(stmt, 4), blen);
		r->body = op->blobs[op->nblobs++] = body;
		r->body_len = blen;
		r->alert_id = op->blobs[op->nblobs++] =
		    xstrdup((const char *)sqlite3_column_text(stmt, 5));
		r->origin = op->blobs[op->nblobs++] =
		    xstrdup((const char *)sqlite3_column_text(stmt, 6));
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		goto fail;
	if (store_mark(st, op, dead, ndead, 2) < 0 ||
	    store_mark(st, op, expired, nexp, 3) < 0)
		goto out;
	op->res.dead = ndead;
	op->res.expired = nexp;
	for (size_t i = 0; i < op->res.nrows; i++)
		if (store_run(st, op, "UPDATE deliveries SET attempts = attempts "
		    "+ 1, delivered_at = ?1 WHERE tag = ?2", "ii", now,
		    (int64_t)op->res.rows[i].tag) < 0)
			goto out;
	free(dead);
	free(expired);
	return 0;
fail:
	store_fail(st, op);
out:
	free(dead);
	free(expired);
	return -1;
}

static void
store_hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static int
store_do_purge(struct store *st, struct store_op *op)
{
	int64_t nalerts = 0, naudit = 0, through = 0;
	char hex[65] = "", detail[400];
	sqlite3_stmt *stmt;
	int rc;

	if (store_run(st, op, "INSERT OR REPLACE INTO retention_clock (id, at) "
	    "VALUES (1, ?1)", "i", op->retain_expect) < 0)
		return -1;
	/* an alert a durable subscription has not had acknowledged stays */
	if (op->published_at != 0) {
		if (store_run(st, op, "DELETE FROM deliveries WHERE alert IN "
		    "(SELECT seq FROM alerts a WHERE published_at < ?1 AND NOT "
		    "EXISTS (SELECT 1 FROM deliveries d WHERE d.alert = a.seq AND "
		    "d.state = 0) ORDER BY seq LIMIT ?2)", "ii", op->published_at,
		    (int64_t)op->limit) < 0 ||
		    store_run(st, op, "DELETE FROM alerts WHERE seq IN (SELECT seq "
		    "FROM alerts a WHERE published_at < ?1 AND NOT EXISTS (SELECT "
		    "1 FROM deliveries d WHERE d.alert = a.seq AND d.state = 0) "
		    "ORDER BY seq LIMIT ?2)", "ii", op->published_at,
		    (int64_t)op->limit) < 0)
			return -1;
		nalerts = sqlite3_changes(st->db);
		/*
		 * An id a store from before gave to alerts of several origins
		 * stays taken while one of them is stored: the earliest left
		 * takes the place of the first (read off the small partial
		 * index, not the whole table).
		 */
		if (store_run(st, op, "UPDATE alerts SET collision = 0 WHERE "
		    "seq IN (SELECT min(seq) FROM alerts INDEXED BY "
		    "alerts_collided WHERE collision <> 0 GROUP BY id) AND NOT "
		    "EXISTS (SELECT 1 FROM alerts o WHERE o.id = alerts.id AND "
		    "o.collision = 0)", "") < 0)
			return -1;
	}
	if (op->expires_at != 0) {
		/* the last record removed: its hash anchors what remains */
		if ((stmt = store_stmt(st, "SELECT seq, hash FROM audit WHERE "
		    "at < ?1 ORDER BY seq LIMIT ?2")) == NULL)
			return store_fail(st, op);
		sqlite3_bind_int64(stmt, 1, op->expires_at);
		sqlite3_bind_int64(stmt, 2, (int64_t)op->limit);
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			through = sqlite3_column_int64(stmt, 0);
			if (sqlite3_column_bytes(stmt, 1) == 32)
				store_hex(sqlite3_column_blob(stmt, 1), 32, hex);
		}
		sqlite3_reset(stmt);
		if (rc != SQLITE_DONE)
			return store_fail(st, op);
		if (through > 0) {
			if (store_run(st, op, "DELETE FROM audit WHERE seq <= ?1",
			    "i", through) < 0)
				return -1;
			naudit = sqlite3_changes(st->db);
		}
	}
	op->res.purged = (size_t)(nalerts + naudit);
	op->res.more = (size_t)nalerts == op->limit ||
	    (size_t)naudit == op->limit;
	op->res.status = STORE_OK;
	if (op->res.purged == 0)
		return 0;
	snprintf(detail, sizeof(detail), "alerts=%lld audit=%lld "
	    "audit_through=%lld hash=%s alerts_before=%lld audit_before=%lld "
	    "retention_alerts=%u retention_audit=%u ", (long long)nalerts,
	    (long long)naudit, (long long)through, hex,
	    (long long)op->published_at, (long long)op->expires_at,
	    op->retain_alerts, op->retain_audit);
	free(op->audit.text[6]);
	op->audit.text[6] = xstrdup(detail);
	return store_write_audit(st, op, NULL, NULL);
}

/*
 * Remove the exercise alerts no durable subscription still has open, with
 * their deliveries; then write op's record, if any, with " removed=N".
 */
static int
store_do_exercise(struct store *st, struct store_op *op)
{
	char *detail;
	int64_t n;

	if (store_run(st, op, "DELETE FROM deliveries WHERE alert IN (SELECT "
	    "seq FROM alerts a WHERE " STORE_EXERCISE " AND NOT EXISTS (SELECT "
	    "1 FROM deliveries d WHERE d.alert = a.seq AND d.state = 0))",
	    "") < 0 ||
	    store_run(st, op, "DELETE FROM alerts WHERE seq IN (SELECT seq FROM "
	    "alerts a WHERE " STORE_EXERCISE " AND NOT EXISTS (SELECT 1 FROM "
	    "deliveries d WHERE d.alert = a.seq AND d.state = 0))", "") < 0)
		return -1;
	n = sqlite3_changes(st->db);
	op->res.purged = (size_t)n;
	op->res.status = STORE_OK;
	if (!op->audit.present)
		return 0;
	detail = xasprintf("%s removed=%lld", op->audit.text[6], (long long)n);
	free(op->audit.text[6]);
	op->audit.text[6] = detail;
	return store_write_audit(st, op, NULL, NULL);
}

static int
store_do_history(struct store *st, struct store_op *op)
{
	sqlite3_stmt *stmt;
	size_t cap = op->limit ? op->limit : 1;
	int64_t first = 0;
	int rc;

	/* where the history starts, by time; then a range of seq */
	if ((stmt = store_stmt(st, "SELECT min(seq) FROM alerts WHERE "
	    "published_at >= ?1")) == NULL)
		goto fail;
	sqlite3_bind_int64(stmt, 1, op->published_at);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		first = sqlite3_column_type(stmt, 0) == SQLITE_NULL ? INT64_MAX :
		    sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW)
		goto fail;
	if ((stmt = store_stmt(st, "SELECT seq, topic, body, id, origin "
	    "FROM alerts WHERE seq >= ?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq "
	    "LIMIT ?4")) == NULL)
		goto fail;
	sqlite3_bind_int64(stmt, 1, first);
	sqlite3_bind_int64(stmt, 2, (int64_t)op->after_seq);
	sqlite3_bind_int64(stmt, 3, (int64_t)op->upto_seq);
	sqlite3_bind_int64(stmt, 4, (int64_t)op->limit);
	op->res.rows = xcalloc(cap, sizeof(struct store_row));
	op->blobs = xcalloc(4 * cap, sizeof(void *));
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && op->res.nrows < cap) {
		struct store_row *r = &op->res.rows[op->res.nrows++];
		size_t blen = (size_t)sqlite3_column_bytes(stmt, 2);
		uint8_t *body = xmalloc(blen ? blen : 1);

		r->tag = (uint64_t)sqlite3_column_int64(stmt, 0);
		r->topic = op->blobs[op->nblobs++] =
		    xstrdup((const char *)sqlite3_column_text(stmt, 1));
		memcpy(body, sqlite3_column_blob(stmt, 2), blen);
		r->body = op->blobs[op->nblobs++] = body;
		r->body_len = blen;
		r->alert_id = op->blobs[op->nblobs++] =
		    xstrdup((const char *)sqlite3_column_text(stmt, 3));
		r->origin = op->blobs[op->nblobs++] =
		    xstrdup((const char *)sqlite3_column_text(stmt, 4));
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		goto fail;
	op->res.status = STORE_OK;
	/* one journal record per page read */
	return op->res.nrows > 0 ? store_write_audit(st, op, "history_read",
	    op->res.rows[0].alert_id) : 0;
fail:
	return store_fail(st, op);
}

static int
store_do_receipts(struct store *st, struct store_op *op)
{
	sqlite3_stmt *stmt;
	size_t cap = 16;
	bool mine = false, collided = false;
	int rc;

	/* origin's alert? an id a store from before gave to several origins? */
	if ((stmt = store_stmt(st, "SELECT EXISTS (SELECT 1 FROM alerts WHERE "
	    "origin = ?1 AND id = ?2), EXISTS (SELECT 1 FROM "
	    "alert_id_collisions WHERE id = ?2)")) == NULL)
		goto fail;
	sqlite3_bind_text(stmt, 1, op->origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, op->id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		mine = sqlite3_column_int(stmt, 0) != 0;
		collided = sqlite3_column_int(stmt, 1) != 0;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW)
		goto fail;
	if (!mine || collided) {
		op->res.status = mine ? STORE_ID_TAKEN : STORE_NOT_FOUND;
		return 0;
	}
	if ((stmt = store_stmt(st, "SELECT endpoint, "
	    "min(CASE WHEN event = 'deliver' THEN at END), "
	    "min(CASE WHEN event = 'ack' THEN at END), "
	    "sum(CASE WHEN event = 'deliver' THEN length(peer) - "
	    "length(replace(peer, ' ', '')) + 1 ELSE 0 END), max(transfer) "
	    "FROM audit "
	    "WHERE alert = ?1 AND event IN ('deliver', 'ack') "
	    /* not those of an alert of this id that retention deleted */
	    "AND seq > (SELECT coalesce(max(seq), 0) FROM audit WHERE "
	    "alert = ?1 AND event = 'publish' AND endpoint = ?2) "
	    "GROUP BY endpoint ORDER BY 2")) == NULL)
		goto fail;
	sqlite3_bind_text(stmt, 1, op->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, op->origin, -1, SQLITE_STATIC);
	op->res.receipts = xcalloc(cap, sizeof(*op->res.receipts));
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct store_receipt *r;

		if (op->res.nreceipts == cap) {
			cap *= 2;
			op->res.receipts = xreallocarray(op->res.receipts, cap,
			    sizeof(*op->res.receipts));
		}
		r = &op->res.receipts[op->res.nreceipts++];
		op->blobs = xreallocarray(op->blobs, op->nblobs + 1, sizeof(void *));
		r->endpoint = op->blobs[op->nblobs++] =
		    xstrdup((const char *)sqlite3_column_text(stmt, 0));
		r->delivered_at = sqlite3_column_int64(stmt, 1);
		r->acked_at = sqlite3_column_int64(stmt, 2);
		r->deliveries = (uint32_t)sqlite3_column_int64(stmt, 3);
		r->transfer = sqlite3_column_int(stmt, 4) != 0;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		goto fail;
	op->res.status = STORE_OK;
	return store_write_audit(st, op, "receipts_read", op->id);
fail:
	return store_fail(st, op);
}

static int
store_do_ack(struct store *st, struct store_op *op)
{
	sqlite3_stmt *stmt;
	char alert[64], origin[64];
	int64_t now = time_now_us();
	bool exercise;
	int rc;

	op->res.receipts = xcalloc(op->nu64 ? op->nu64 : 1,
	    sizeof(*op->res.receipts));
	op->blobs = xcalloc(2 * (op->nu64 ? op->nu64 : 1), sizeof(void *));
	for (size_t i = 0; i < op->nu64; i++) {
		struct store_receipt *r;

		if (store_run(st, op, "UPDATE deliveries SET state = 1, acked_at = ?1 "
		    "WHERE tag = ?2 AND dsub = ?3 AND state = 0", "iii", now,
		    (int64_t)op->u64[i], (int64_t)op->dsub_id) < 0)
			return -1;
		if (sqlite3_changes(st->db) == 0)
			continue;	/* not ours, or acknowledged before */
		if ((stmt = store_stmt(st, "SELECT a.id, a.origin, "
		    STORE_EXERCISE " FROM deliveries d JOIN alerts a ON "
		    "a.seq = d.alert WHERE d.tag = ?1")) == NULL)
			goto fail;
		sqlite3_bind_int64(stmt, 1, (int64_t)op->u64[i]);
		alert[0] = origin[0] = '\0';
		exercise = false;
		if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			snprintf(alert, sizeof(alert), "%s",
			    (const char *)sqlite3_column_text(stmt, 0));
			snprintf(origin, sizeof(origin), "%s",
			    (const char *)sqlite3_column_text(stmt, 1));
			exercise = sqlite3_column_int(stmt, 2) != 0;
		}
		sqlite3_reset(stmt);
		if (rc != SQLITE_ROW)
			goto fail;
		/* exercise traffic: one record per session, none per alert */
		if ((!exercise || st->journal_exercise) &&
		    store_write_audit(st, op, NULL, alert) < 0)
			return -1;
		r = &op->res.receipts[op->res.nreceipts++];
		r->alert_id = op->blobs[op->nblobs++] = xstrdup(alert);
		r->origin = op->blobs[op->nblobs++] = xstrdup(origin);
		r->endpoint = op->audit.text[1];
		r->acked_at = now;
	}
	return 0;
fail:
	return store_fail(st, op);
}

/* The newest revision number into res.newest; 0 when there is none. */
static int
store_reg_newest(struct store *st, struct store_op *op)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = store_stmt(st, "SELECT coalesce(max(rev), 0) FROM "
	    "revisions")) == NULL)
		return store_fail(st, op);
	rc = sqlite3_step(stmt);
	op->res.newest = rc == SQLITE_ROW ?
	    (uint64_t)sqlite3_column_int64(stmt, 0) : 0;
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW ? 0 : store_fail(st, op);
}

static int
store_do_reg_commit(struct store *st, struct store_op *op)
{
	sqlite3_stmt *stmt;
	int rc;

	if (store_reg_newest(st, op) < 0)
		return -1;
	if (op->res.newest != op->dsub_id) {
		op->res.status = STORE_STALE;
		return 0;
	}
	op->res.id = op->dsub_id + 1;
	if (store_run(st, op, "INSERT INTO revisions (rev, created_at, author, "
	    "approved_by, source, comment, changes, document, file_digest) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", "iittttttt",
	    (int64_t)op->res.id, time_now_us(), op->rc[RC_AUTHOR],
	    op->rc[RC_APPROVED_BY], op->rc[RC_SOURCE], op->rc[RC_COMMENT],
	    op->rc[RC_CHANGES], op->rc[RC_DOCUMENT], op->rc[RC_FILE_DIGEST]) < 0)
		return -1;
	if (op->after_seq != 0 && store_run(st, op, "UPDATE proposals SET "
	    "state = 'approved', decided_by = ?1, decided_at = ?2 WHERE id = ?3",
	    "tii", op->rc[RC_APPROVED_BY], time_now_us(),
	    (int64_t)op->after_seq) < 0)
		return -1;
	/* proposals made against an older revision can never be approved */
	if (store_run(st, op, "UPDATE proposals SET state = 'stale', "
	    "decided_at = ?1 WHERE state = 'pending' AND base < ?2", "ii",
	    time_now_us(), (int64_t)op->res.id) < 0)
		return -1;
	op->res.ids = xcalloc(op->nlist ? op->nlist : 1, sizeof(uint64_t));
	for (size_t i = 0; i < op->nlist; i++) {
		if (store_run(st, op, "INSERT OR IGNORE INTO dsubs (endpoint, "
		    "name, patterns, created_at) VALUES (?1, 'inbox', '', ?2)",
		    "ti", op->list[i], time_now_us()) < 0 ||
		    (stmt = store_stmt(st, "SELECT id FROM dsubs WHERE endpoint "
		    "= ?1 AND name = 'inbox'")) == NULL)
			return store_fail(st, op);
		sqlite3_bind_text(stmt, 1, op->list[i], -1, SQLITE_STATIC);
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW)
			op->res.ids[i] = (uint64_t)sqlite3_column_int64(stmt, 0);
		sqlite3_reset(stmt);
		if (rc != SQLITE_ROW)
			return store_fail(st, op);
	}
	op->res.status = STORE_OK;
	op->res.newest = op->res.id;
	return store_write_audit(st, op, NULL, NULL);
}

static int
store_do_reg_propose(struct store *st, struct store_op *op)
{
	if (store_reg_newest(st, op) < 0)
		return -1;
	if (op->res.newest != op->dsub_id) {
		op->res.status = STORE_STALE;
		return 0;
	}
	if (store_run(st, op, "INSERT INTO proposals (base, created_at, "
	    "proposer, comment, changes, reasons, document, state) VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending')", "iitttt" "t",
	    (int64_t)op->dsub_id, time_now_us(), op->rc[RC_AUTHOR],
	    op->rc[RC_COMMENT], op->rc[RC_CHANGES], op->rc[RC_REASONS],
	    op->rc[RC_DOCUMENT]) < 0)
		return -1;
	op->res.id = (uint64_t)sqlite3_last_insert_rowid(st->db);
	op->res.status = STORE_OK;
	return store_write_audit(st, op, NULL, NULL);
}

static int
store_do_reg_decide(struct store *st, struct store_op *op)
{
	if (store_run(st, op, "UPDATE proposals SET state = ?1, decided_by = "
	    "?2, decided_at = ?3 WHERE id = ?4 AND state = 'pending'", "ttii",
	    op->name, op->endpoint, time_now_us(), (int64_t)op->dsub_id) < 0)
		return -1;
	if (sqlite3_changes(st->db) == 0) {
		op->res.status = STORE_NOT_FOUND;
		return 0;
	}
	op->res.status = STORE_OK;
	return store_write_audit(st, op, NULL, NULL);
}

/* A copy of column i of stmt kept with op until its callback has run. */
static const char *
store_col(struct store_op *op, sqlite3_stmt *stmt, int i)
{
	const unsigned char *t = sqlite3_column_text(stmt, i);

	op->blobs = xreallocarray(op->blobs, op->nblobs + 1, sizeof(void *));
	return op->blobs[op->nblobs++] = xstrdup(t ? (const char *)t : "");
}

static int
store_do_reg_list(struct store *st, struct store_op *op)
{
	static const char *const sql[2] = {
		"SELECT rev, 0, created_at, author, approved_by, source, "
		  "comment, changes, '', '', CASE WHEN ?3 THEN document ELSE '' "
		  "END, file_digest FROM revisions WHERE ?1 = 0 OR rev = ?1 "
		  "ORDER BY rev DESC LIMIT ?2",
		  "SELECT id, base, created_at, proposer, decided_by, '', "
		  "comment, changes, reasons, state, CASE WHEN ?3 THEN document "
		  "ELSE '' END, '' FROM proposals WHERE (?1 = 0 AND (?4 OR state "
		  "= 'pending')) OR id = ?1 ORDER BY id DESC LIMIT ?2",
	};
	sqlite3_stmt *stmt;
	size_t cap = 16;
	int rc;

	if (store_reg_newest(st, op) < 0 ||
	    (stmt = store_stmt(st, sql[op->flag])) == NULL)
		return store_fail(st, op);
	sqlite3_bind_int64(stmt, 1, (int64_t)op->dsub_id);
	sqlite3_bind_int64(stmt, 2, (int64_t)op->limit);
	sqlite3_bind_int(stmt, 3, op->with_doc);
	if (op->flag)
		sqlite3_bind_int(stmt, 4, op->all);
	op->res.regrecs = xcalloc(cap, sizeof(*op->res.regrecs));
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct store_regrec *r;

		if (op->res.nregrecs == cap) {
			cap *= 2;
			op->res.regrecs = xreallocarray(op->res.regrecs, cap,
			    sizeof(*op->res.regrecs));
		}
		r = &op->res.regrecs[op->res.nregrecs++];
		r->id = (uint64_t)sqlite3_column_int64(stmt, 0);
		r->base = (uint64_t)sqlite3_column_int64(stmt, 1);
		r->created_at = sqlite3_column_int64(stmt, 2);
		r->author = store_col(op, stmt, 3);
		r->approved_by = store_col(op, stmt, 4);
		r->source = store_col(op, stmt, 5);
		r->comment = store_col(op, stmt, 6);
		r->changes = store_col(op, stmt, 7);
		r->reasons = store_col(op, stmt, 8);
		r->state = store_col(op, stmt, 9);
		r->document = store_col(op, stmt, 10);
		r->file_digest = store_col(op, stmt, 11);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return store_fail(st, op);
	op->res.status = STORE_OK;
	return 0;
}


/*
 * Per endpoint, its open and dead-lettered deliveries: each count reads a
 * partial index (deliveries_open, deliveries_dead) for one subscription.
 * Then the file sizes; the WAL may not exist.
 */
static int
store_do_counts(struct store *st, struct store_op *op)
{
	sqlite3_stmt *stmt;
	struct store_backlog *b;
	struct stat sb;
	char wal[sizeof(st->path) + 8];
	size_t cap = 0;
	int rc;

	if ((stmt = store_stmt(st, "SELECT s.endpoint, sum((SELECT count(*) "
	    "FROM deliveries d INDEXED BY deliveries_open WHERE d.dsub = s.id "
	    "AND d.state = 0)), sum((SELECT count(*) FROM deliveries d "
	    "INDEXED BY deliveries_dead WHERE d.dsub = s.id AND d.state = 2)) "
	    "FROM dsubs s GROUP BY s.endpoint ORDER BY s.endpoint")) == NULL)
		return store_fail(st, op);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (op->res.nbacklogs == cap) {
			cap = cap ? cap * 2 : 16;
			op->res.backlogs = xreallocarray(op->res.backlogs, cap,
			    sizeof(*op->res.backlogs));
			op->blobs = xreallocarray(op->blobs, cap, sizeof(void *));
		}
		b = &op->res.backlogs[op->res.nbacklogs++];
		b->endpoint = op->blobs[op->nblobs++] =
		    xstrdup((const char *)sqlite3_column_text(stmt, 0));
		b->open = (uint64_t)sqlite3_column_int64(stmt, 1);
		b->dead = (uint64_t)sqlite3_column_int64(stmt, 2);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return store_fail(st, op);
	if (stat(st->path, &sb) == 0)
		op->res.db_bytes = (uint64_t)sb.st_size;
	snprintf(wal, sizeof(wal), "%s-wal", st->path);
	if (stat(wal, &sb) == 0)
		op->res.wal_bytes = (uint64_t)sb.st_size;
	op->res.status = STORE_OK;
	return 0;
}

static int
store_do(struct store *st, struct store_op *op)
{
	switch (op->kind) {
	case OP_PUBLISH:
		return store_do_publish(st, op);
	case OP_SUBSCRIBE:
		return store_do_subscribe(st, op);
	case OP_FORGET:
		return store_run(st, op, "DELETE FROM deliveries WHERE dsub = ?1",
		    "i", (int64_t)op->dsub_id) < 0 ? -1 :
		    store_run(st, op, "DELETE FROM dsubs WHERE id = ?1", "i",
		    (int64_t)op->dsub_id);
	case OP_FETCH:
		return store_do_fetch(st, op);
	case OP_ACK:
		return store_do_ack(st, op);
	case OP_AUDIT:
		return store_do_audit(st, op);
	case OP_RECEIPTS:
		return store_do_receipts(st, op);
	case OP_HISTORY:
		return store_do_history(st, op);
	case OP_PURGE:
		return store_do_purge(st, op);
	case OP_REG_COMMIT:
		return store_do_reg_commit(st, op);
	case OP_REG_PROPOSE:
		return store_do_reg_propose(st, op);
	case OP_REG_DECIDE:
		return store_do_reg_decide(st, op);
	case OP_REG_LIST:
		return store_do_reg_list(st, op);
	case OP_COUNTS:
		return store_do_counts(st, op);
	case OP_EXERCISE:
		return store_do_exercise(st, op);
	}
	return -1;
}

/* Run one transaction-control statement (kept prepared); -1 with why set. */
static int
store_ctl(struct store *st, const char *sql, char *why, size_t whylen)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = store_stmt(st, sql)) == NULL) {
		snprintf(why, whylen, "%s", sqlite3_errmsg(st->db));
		return -1;
	}
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE)
		snprintf(why, whylen, "%s", sqlite3_errmsg(st->db));
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Forget what a run of op produced, so that it can run again. */
static void
store_op_clear(struct store_op *op)
{
	free(op->res.rows);
	free(op->res.receipts);
	free(op->res.ids);
	free(op->res.regrecs);
	free(op->res.backlogs);
	for (size_t i = 0; i < op->nblobs; i++)
		free(op->blobs[i]);
	free(op->blobs);
	op->blobs = NULL;
	op->nblobs = 0;
	memset(&op->res, 0, sizeof(op->res));
	op->error[0] = '\0';
}

/*
 * Run the batch in the open transaction without savepoints. A savepoint
 * makes SQLite copy every page its operation changes into a sub-journal,
 * which for a publish cost more than the publish. Returns 0 when every
 * operation succeeded, -1 at the first that failed (the transaction must
 * then be rolled back).
 */
static int
store_batch_fast(struct store *st, struct store_op *batch)
{
	for (struct store_op *op = batch; op != NULL; op = op->next)
		if (store_do(st, op) < 0 || sqlite3_get_autocommit(st->db))
			return -1;
	return 0;
}

/*
 * Run the batch in the open transaction with one savepoint per operation,
 * so that an operation that fails fails alone. Returns whether the
 * transaction is still open (why set when not).
 */
static bool
store_batch_safe(struct store *st, struct store_op *batch, char *why,
    size_t whylen)
{
	struct store_chain op_chain;
	char scratch[256];
	struct store_op *op;

	for (op = batch; op != NULL; op = op->next) {
		op_chain = st->chain;
		if (store_ctl(st, STORE_SAVEPOINT, why, whylen) < 0 ||
		    store_do(st, op) < 0) {
			op->res.status = STORE_FAILED;
			store_ctl(st, STORE_ROLLBACK_TO, scratch, sizeof(scratch));
			st->chain = op_chain;
		}
		store_ctl(st, STORE_RELEASE, scratch, sizeof(scratch));
		/*
		 * Some errors (disk full, I/O) make SQLite roll back the whole
		 * transaction; then nothing of this batch is kept, and running
		 * the rest outside a transaction would keep what we report lost.
		 */
		if (sqlite3_get_autocommit(st->db)) {
			snprintf(why, whylen, "%s", op->error[0] ?
			    op->error : "the transaction was rolled back");
			return false;
		}
	}
	return true;
}

/*
 * Run one batch in one transaction; every op ends OK or FAILED. The batch
 * runs without savepoints first; when an operation fails, the transaction
 * is rolled back and the batch runs again with a savepoint per operation.
 */
static void
store_batch(struct store *st, struct store_op *batch)
{
	struct store_chain batch_chain = st->chain;
	char why[256] = "", scratch[256];
	struct store_op *op;
	bool committed;

	/* a rolled-back audit record must not stay in the chain */
	if (store_lost(st)) {
		snprintf(why, sizeof(why), "%s", STORE_LOST);
		committed = false;
	} else
		committed = store_ctl(st, STORE_BEGIN, why, sizeof(why)) == 0;
	if (committed && store_batch_fast(st, batch) < 0) {
		store_ctl(st, STORE_ROLLBACK, scratch, sizeof(scratch));
		st->chain = batch_chain;
		for (op = batch; op != NULL; op = op->next)
			store_op_clear(op);
		committed = store_ctl(st, STORE_BEGIN, why, sizeof(why)) == 0 &&
		    store_batch_safe(st, batch, why, sizeof(why));
	}
	if (committed && store_ctl(st, STORE_COMMIT, why, sizeof(why)) < 0) {
		store_ctl(st, STORE_ROLLBACK, scratch, sizeof(scratch));
		committed = false;
	}
	if (!committed)
		st->chain = batch_chain;
	for (op = batch; op != NULL; op = op->next) {
		if (!committed) {
			op->res.status = STORE_FAILED;
			if (op->error[0] == '\0')
				snprintf(op->error, sizeof(op->error), "%s", why);
		}
		if (op->res.status == STORE_FAILED)
			op->res.error = op->error;
		st->ops++;
	}
	st->batches++;
}

/* Wake the loop: committed or done operations are waiting for it. */
static void
store_wake_loop(struct store *st)
{
	uint64_t one = 1;

	if (write(st->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_error("store: eventfd write: %s", strerror(errno));
}

/*
 * The writer: one batch after the other, each committed (not synced) and
 * passed to the loop as committed and to the syncer, in that order — so an
 * operation is on the committed list before it can reach the done list.
 */
static void *
store_main(void *arg)
{
	struct store *st = arg;
	struct store_op *batch, *last, *op;
	sqlite3_int64 changes;
	bool wrote;

	for (;;) {
		pthread_mutex_lock(&st->lock);
		while (st->queue == NULL && !st->stopping)
			pthread_cond_wait(&st->wake, &st->lock);
		batch = st->queue;
		st->queue = st->queue_tail = NULL;
		pthread_mutex_unlock(&st->lock);
		if (batch == NULL)
			break;		/* stopping and nothing left */
		changes = sqlite3_total_changes64(st->db);
		store_batch(st, batch);
		wrote = sqlite3_total_changes64(st->db) != changes;
		for (op = batch; ; op = op->next) {
			op->wrote = wrote;
			op->cres = op->res;
			op->cnext = op->next;
			if (op->next == NULL)
				break;
		}
		last = op;
		pthread_mutex_lock(&st->lock);
		if (st->committed_tail != NULL)
			st->committed_tail->cnext = batch;
		else
			st->committed = batch;
		st->committed_tail = last;
		store_append(&st->unsynced, &st->unsynced_tail, batch, last);
		st->sync_chain = st->chain;
		st->sync_wal = st->wal;
		pthread_cond_signal(&st->sync_wake);
		pthread_mutex_unlock(&st->lock);
		store_wake_loop(st);
	}
	return NULL;
}

/* Syncer: wait, with the lock held, to be woken or for the next tick. */
static void
store_syncer_wait(struct store *st)
{
	struct timespec ts;
	int64_t us = st->head_dirty ? STORE_HEAD_SYNC_US : STORE_CHECK_US;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(us / 1000000);
	ts.tv_nsec += (long)(us % 1000000) * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&st->sync_wake, &st->lock, &ts);
}

/*
 * Syncer, after each round and at least every STORE_CHECK_US: sync
 * ccc.db-head when it was written STORE_HEAD_SYNC_US ago or more, and
 * check that the store's files are still the files at their paths; when
 * one is not, nothing more is stored (store_batch) and the loop is woken
 * to say so.
 */
static void
store_syncer_tick(struct store *st, bool last)
{
	int64_t now = time_mono_us();

	if (st->head_dirty && (last || now - st->head_synced_us >=
	    STORE_HEAD_SYNC_US)) {
		if (fdatasync(st->headfd) < 0)
			log_error("store: cannot sync %s%s: %s", st->path,
			    STORE_HEAD, strerror(errno));
		st->head_dirty = false;
		st->head_synced_us = now;
	}
	if (!store_lost(st) && now - st->checked_us >= STORE_CHECK_US) {
		st->checked_us = now;
		if (store_files_moved(st, st->lost_why, sizeof(st->lost_why))) {
			__atomic_store_n(&st->lost, true, __ATOMIC_RELEASE);
			store_wake_loop(st);
		}
	}
}

/*
 * The syncer: everything committed since the last sync, synced with one
 * fdatasync(2) of the WAL (when any of it wrote), the end of the audit
 * chain it holds anchored in ccc.db-head, then passed to the loop as done.
 * A failed sync or anchor fails the operations that wrote: nothing says
 * their transaction is on disk, or nothing could tell later that it is
 * gone.
 */
static void *
store_syncer(void *arg)
{
	struct store *st = arg;
	struct store_op *list, *last, *op;
	struct store_chain chain;
	struct store_walpos wal;
	const char *what = "";
	bool wrote, stopping;
	int rc, e = 0;

	for (;;) {
		pthread_mutex_lock(&st->lock);
		if (st->unsynced == NULL && !st->sync_stopping)
			store_syncer_wait(st);
		list = st->unsynced;
		last = st->unsynced_tail;
		chain = st->sync_chain;
		wal = st->sync_wal;
		stopping = st->sync_stopping;
		st->unsynced = st->unsynced_tail = NULL;
		pthread_mutex_unlock(&st->lock);
		if (list == NULL && stopping)
			break;		/* stopping and nothing left */
		for (op = list, wrote = false; op != NULL; op = op->next)
			wrote = wrote || op->wrote;
		rc = 0;
		if (wrote) {
			what = "cannot sync the store to disk";
			rc = fdatasync(st->walfd);
			e = errno;
			st->syncs++;
		}
		if (!wrote)
			wal = st->anchor.wal;	/* what was synced, still */
		if (rc == 0 && (chain.next - 1 != st->anchor.seq ||
		    wal.frames != st->anchor.wal.frames ||
		    memcmp(wal.salts, st->anchor.wal.salts, 8) != 0)) {
			what = "cannot record the end of the audit journal in "
			    STORE_FILE STORE_HEAD;
			rc = store_head_write(st, &chain, &wal);
			e = errno;
		}
		for (op = list; rc < 0 && op != NULL; op = op->next)
			if (op->wrote && op->res.status != STORE_FAILED) {
				op->res.status = STORE_FAILED;
				snprintf(op->error, sizeof(op->error), "%s: %s",
				    what, strerror(e));
				op->res.error = op->error;
			}
		if (list != NULL) {
			pthread_mutex_lock(&st->lock);
			store_append(&st->done, &st->done_tail, list, last);
			pthread_mutex_unlock(&st->lock);
			store_wake_loop(st);
		}
		store_syncer_tick(st, false);
	}
	store_syncer_tick(st, true);
	return NULL;
}

/* ---- back on the loop ----------------------------------------------------- */

static void
store_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store *st = arg;
	struct store_op *op, *next, *committed, *cnext;
	uint64_t n;

	(void)what;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_error("store: eventfd read: %s", strerror(errno));
	pthread_mutex_lock(&st->lock);
	committed = st->committed;
	st->committed = st->committed_tail = NULL;
	op = st->done;
	st->done = st->done_tail = NULL;
	pthread_mutex_unlock(&st->lock);
	if (!st->lost_logged && store_lost(st)) {
		st->lost_logged = true;
		log_error("store: %s", st->lost_why);
	}
	/*
	 * Committed first: an operation reaches the done list only after the
	 * committed one, so its committed callback runs before its callback
	 * (which frees it), and committed callbacks run in commit order.
	 */
	for (; committed != NULL; committed = cnext) {
		cnext = committed->cnext;
		if (committed->committed_cb != NULL &&
		    committed->cres.status == STORE_OK)
			committed->committed_cb(committed->arg, &committed->cres);
	}
	for (; op != NULL; op = next) {
		next = op->next;
		st->pending--;
		if (op->kind != OP_COUNTS) {	/* the others all write */
			st->write_failed = op->res.status == STORE_FAILED;
			if (st->write_failed)
				snprintf(st->write_error, sizeof(st->write_error),
				    "%s", op->error);
		}
		if (op->res.status == STORE_FAILED)
			log_error("store: %s failed: %s", op->kind == OP_PUBLISH ?
			    "publish" : op->kind == OP_ACK ? "ack" :
			    op->kind == OP_AUDIT ? "audit record" : "operation",
			    op->error);
		if (op->cb != NULL)
			op->cb(op->arg, &op->res);
		store_op_free(op);
	}
	st->progress_us = time_mono_us();
}

/* ---- start-up ----------------------------------------------------------- */

int
store_load_dsubs(struct store *st, struct store_dsub **out, size_t *n,
    char *err, size_t errlen)
{
	sqlite3_stmt *stmt;
	struct store_dsub *v = NULL;
	size_t cnt = 0;
	int rc;

	/*
	 * Contract: called before any operation is queued, so the writer thread
	 * is idle and the connection is ours for the moment.
	 */
	if (sqlite3_prepare_v2(st->db, "SELECT id, endpoint, name, patterns FROM "
	    "dsubs ORDER BY id", -1, &stmt, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "store %s: %s", st->path,
		    sqlite3_errmsg(st->db));
		return -1;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct store_dsub *d;
		char *pats, *save = NULL, *tok;

		v = xreallocarray(v, cnt + 1, sizeof(*v));
		d = &v[cnt++];
		memset(d, 0, sizeof(*d));
		d->id = (uint64_t)sqlite3_column_int64(stmt, 0);
		d->endpoint = xstrdup((const char *)sqlite3_column_text(stmt, 1));
		d->name = xstrdup((const char *)sqlite3_column_text(stmt, 2));
		pats = xstrdup((const char *)sqlite3_column_text(stmt, 3));
		for (tok = strtok_r(pats, "\n", &save); tok != NULL;
		    tok = strtok_r(NULL, "\n", &save)) {
			d->patterns = xreallocarray(d->patterns, d->npatterns + 1,
			    sizeof(char *));
			d->patterns[d->npatterns++] = xstrdup(tok);
		}
		free(pats);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "store %s: %s", st->path,
		    sqlite3_errmsg(st->db));
		store_free_dsubs(v, cnt);
		return -1;
	}
	*out = v;
	*n = cnt;
	return 0;
}

uint64_t
store_last_seq(struct store *st)
{
	int64_t seq = 0;

	/* called before any operation is queued: the connection is ours */
	if (store_int(st, "SELECT coalesce(max(seq), 0) FROM alerts", &seq) < 0)
		return 0;
	return (uint64_t)seq;
}

int64_t
store_retention_time(struct store *st)
{
	int64_t at = 0;

	/* called before any operation is queued: the connection is ours */
	if (store_int(st, "SELECT coalesce((SELECT at FROM retention_clock), "
	    "max(coalesce((SELECT max(published_at) FROM alerts), 0), "
	    "coalesce((SELECT max(at) FROM audit), 0)))", &at) < 0)
		return 0;
	return at;
}

void
store_free_dsubs(struct store_dsub *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].endpoint);
		free(v[i].name);
		for (size_t k = 0; k < v[i].npatterns; k++)
			free(v[i].patterns[k]);
		free(v[i].patterns);
	}
	free(v);
}

/* ---- offline verification ---------------------------------------------- */

/* Does a purge record say it removed the records through seq, ending in hash? */
static bool
store_purged_through(sqlite3 *db, int64_t seq, const uint8_t hash[32])
{
	sqlite3_stmt *stmt;
	char want[128], hex[65];
	bool found = false;

	store_hex(hash, 32, hex);
	snprintf(want, sizeof(want), " audit_through=%lld hash=%s ",
	    (long long)seq, hex);
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM audit WHERE event = 'purge' "
	    "AND instr(detail, ?1) > 0", -1, &stmt, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(stmt, 1, want, -1, SQLITE_STATIC);
	found = sqlite3_step(stmt) == SQLITE_ROW;
	sqlite3_finalize(stmt);
	return found;
}

/* The integer after name in a purge record's detail, or -1 when absent. */
static int64_t
store_purge_field(const char *detail, const char *name)
{
	char key[40];
	const char *p;
	long long v;

	snprintf(key, sizeof(key), " %s=", name);
	if ((p = strstr(detail, key)) == NULL ||
	    sscanf(p + strlen(key), "%lld", &v) != 1 || v < 0)
		return -1;
	return v;
}

/*
 * Does the purge record of time at fit the retention it states: are its
 * cut-offs no later than its own time less that retention? *asof is set to
 * the time it purged as of (a cut-off plus its retention; 0 for a record
 * without them, written before purges recorded them, which is taken as it
 * is). why says what does not fit.
 */
static bool
store_purge_fits(int64_t at, const char *detail, int64_t *asof, char *why,
    size_t len)
{
	static const char *const kind[2] = { "alerts", "audit" };
	char key[40], when[40];
	int64_t before, keep;

	*asof = 0;
	for (int i = 0; i < 2; i++) {
		snprintf(key, sizeof(key), "%s_before", kind[i]);
		before = store_purge_field(detail, key);
		snprintf(key, sizeof(key), "retention_%s", kind[i]);
		keep = store_purge_field(detail, key);
		if (before <= 0 || keep < 0)
			continue;
		if (before + keep * 1000000 > *asof)
			*asof = before + keep * 1000000;
		if (before + keep * 1000000 > at) {
			snprintf(why, len, "its %s cut-off %s is later than its own "
			    "time less its retention of %lld s", kind[i],
			    time_format_rfc3339(before, when, sizeof(when)),
			    (long long)keep);
			return false;
		}
	}
	return true;
}

/* The latest purge seen by store_verify_audit, and the bound it allows. */
struct store_purge_seen {
	int64_t	 slack;		/* retention.max_clock_jump, microseconds */
	int64_t	 seq;		/* the purge that purged as of the latest time */
	int64_t	 asof;		/* that time (0: none yet) */
};

/*
 * Does record seq (time at, event, detail) fit the purges before it, and,
 * when it is a purge, its own retention? False with report set when not.
 */
static bool
store_verify_purge(struct store_purge_seen *ps, int64_t seq, int64_t at,
    const char *event, const char *detail, char *report, size_t len)
{
	char why[200], t1[40], t2[40];
	int64_t asof;

	/* a purge as of well after a later record ran on a wrong clock */
	if (ps->asof != 0 && at < ps->asof - ps->slack) {
		snprintf(report, len, "audit journal: purge record %lld does not "
		    "fit its retention: it purged as of %s, but record %lld after "
		    "it is dated %s, more than retention.max_clock_jump earlier "
		    "(the purge ran on a clock ahead of the journal)",
		    (long long)ps->seq,
		    time_format_rfc3339(ps->asof, t1, sizeof(t1)),
		    (long long)seq, time_format_rfc3339(at, t2, sizeof(t2)));
		return false;
	}
	if (strcmp(event, "purge") != 0)
		return true;
	if (!store_purge_fits(at, detail, &asof, why, sizeof(why))) {
		snprintf(report, len, "audit journal: purge record %lld does not "
		    "fit its retention: %s", (long long)seq, why);
		return false;
	}
	if (asof > ps->asof) {
		ps->seq = seq;
		ps->asof = asof;
	}
	return true;
}

int
store_verify_audit(const char *data_dir, uint32_t max_jump, char *report,
    size_t len)
{
	char path[512];
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	struct store_hasher hr;
	uint8_t prev[32], hash[32];
	int64_t expect = 1, n = 0, first = 1;
	struct store_purge_seen ps = { (int64_t)max_jump * 1000000, 0, 0 };
	int rc, result = -1;

	if (store_hasher_init(&hr) < 0) {
		snprintf(report, len, "cannot compute SHA-256");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", data_dir, STORE_FILE);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT seq, at, event, endpoint, subject, "
	    "fingerprint, peer, alert, detail, transfer, prev, hash FROM audit "
	    "ORDER BY seq", -1, &stmt, NULL) != SQLITE_OK) {
		snprintf(report, len, "cannot read the audit journal in %s: %s",
		    path, db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	memset(prev, 0, sizeof(prev));
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *text[AUDIT_NTEXT];
		int64_t seq = sqlite3_column_int64(stmt, 0);
		int64_t at = sqlite3_column_int64(stmt, 1);

		for (int i = 0; i < AUDIT_NTEXT; i++) {
			text[i] = (const char *)sqlite3_column_text(stmt, 2 + i);
			if (text[i] == NULL)
				text[i] = "";
		}
		if (n == 0 && seq > 1 && sqlite3_column_bytes(stmt, 10) == 32) {
			/* records before were purged: a purge record must say so */
			memcpy(prev, sqlite3_column_blob(stmt, 10), 32);
			if (!store_purged_through(db, seq - 1, prev)) {
				snprintf(report, len, "audit journal broken: it starts "
				    "at record %lld and no purge record accounts for "
				    "the ones before", (long long)seq);
				result = 1;
				goto out;
			}
			first = seq;
			expect = seq;
		}
		if (seq != expect) {
			snprintf(report, len, "audit journal broken at record %lld: "
			    "record %lld is missing", (long long)seq,
			    (long long)expect);
			result = 1;
			goto out;
		}
		if (sqlite3_column_bytes(stmt, 10) != 32 ||
		    memcmp(sqlite3_column_blob(stmt, 10), prev, 32) != 0) {
			snprintf(report, len, "audit journal broken at record %lld: "
			    "it does not chain to the record before it",
			    (long long)seq);
			result = 1;
			goto out;
		}
		store_audit_hash(&hr, prev, seq, at, text,
		    sqlite3_column_int(stmt, 9), hash);
		if (sqlite3_column_bytes(stmt, 11) != 32 ||
		    memcmp(sqlite3_column_blob(stmt, 11), hash, 32) != 0) {
			snprintf(report, len, "audit journal broken at record %lld: "
			    "its content does not match its hash (%s by %s)",
			    (long long)seq, text[0], text[1]);
			result = 1;
			goto out;
		}
		if (!store_verify_purge(&ps, seq, at, text[0], text[6], report,
		    len)) {
			result = 1;
			goto out;
		}
		memcpy(prev, hash, 32);
		expect++;
		n++;
	}
	if (rc != SQLITE_DONE) {
		snprintf(report, len, "cannot read the audit journal in %s: %s",
		    path, sqlite3_errmsg(db));
		goto out;
	}
	if (first > 1)
		snprintf(report, len, "audit journal intact: %lld records, from "
		    "record %lld (the ones before were purged by retention)",
		    (long long)n, (long long)first);
	else
		snprintf(report, len, "audit journal intact: %lld records",
		    (long long)n);
	result = 0;
out:
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	store_hasher_free(&hr);
	return result;
}

int
store_verify_head(const char *data_dir, char *report, size_t len)
{
	char path[512], head[600], why[512];
	struct store_anchor a;
	sqlite3 *db = NULL;
	int found, result = 1;

	snprintf(path, sizeof(path), "%s/%s", data_dir, STORE_FILE);
	snprintf(head, sizeof(head), "%s%s", path, STORE_HEAD);
	if ((found = store_head_read(head, &a, why, sizeof(why))) < 0) {
		snprintf(report, len, "audit journal unverifiable: %s", why);
		return 1;
	}
	if (store_wal_scan(path, found > 0 ? &a : NULL, why, sizeof(why)) < 0) {
		snprintf(report, len, "audit journal incomplete: %s", why);
		return 1;
	}
	if (found == 0) {
		snprintf(report, len, "no %s: whether the newest records are all "
		    "there cannot be checked", head);
		return 0;
	}
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(report, len, "cannot read the audit journal in %s: %s",
		    path, db ? sqlite3_errmsg(db) : "out of memory");
		result = -1;
	} else if (store_head_reached(db, &a, why, sizeof(why)) < 0)
		snprintf(report, len, "audit journal incomplete: %s", why);
	else {
		snprintf(report, len, "it reaches record %lld, the last one "
		    "synced (%s)", (long long)a.seq, head);
		result = 0;
	}
	sqlite3_close(db);
	return result;
}

long
store_list_dead(const char *data_dir, FILE *fp, char *err, size_t len)
{
	char path[512], when[40];
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	long n = -1;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", data_dir, STORE_FILE);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT s.endpoint, s.name, a.id, a.topic, "
	    "d.attempts, a.published_at FROM deliveries d JOIN dsubs s ON s.id = "
	    "d.dsub JOIN alerts a ON a.seq = d.alert WHERE d.state = 2 "
	    "ORDER BY s.endpoint, s.name, d.tag", -1, &stmt, NULL) != SQLITE_OK) {
		snprintf(err, len, "cannot read the store %s: %s", path,
		    db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	n = 0;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		fprintf(fp, "%s %s %s %s attempts=%lld published=%s\n",
		    (const char *)sqlite3_column_text(stmt, 0),
		    (const char *)sqlite3_column_text(stmt, 1),
		    (const char *)sqlite3_column_text(stmt, 2),
		    (const char *)sqlite3_column_text(stmt, 3),
		    (long long)sqlite3_column_int64(stmt, 4),
		    time_format_rfc3339(sqlite3_column_int64(stmt, 5), when,
		    sizeof(when)));
		n++;
	}
	if (rc != SQLITE_DONE) {
		snprintf(err, len, "cannot read the store %s: %s", path,
		    sqlite3_errmsg(db));
		n = -1;
	}
out:
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return n;
}

/* ---- registry at start-up ----------------------------------------------- */

int
store_registry_newest(struct store *st, uint64_t *rev, char **doc,
    char **file_digest, bool *by_file, char *err, size_t errlen)
{
	sqlite3_stmt *stmt;
	int rc;

	/* Contract: before any operation is queued (see store_load_dsubs). */
	*rev = 0;
	*doc = *file_digest = NULL;
	*by_file = false;
	if (sqlite3_prepare_v2(st->db, "SELECT rev, document, (SELECT "
	    "file_digest FROM revisions WHERE source = 'file' ORDER BY rev DESC "
	    "LIMIT 1), source = 'file' FROM revisions ORDER BY rev DESC LIMIT 1",
	    -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const unsigned char *fd = sqlite3_column_text(stmt, 2);

		*rev = (uint64_t)sqlite3_column_int64(stmt, 0);
		*doc = xstrdup((const char *)sqlite3_column_text(stmt, 1));
		*file_digest = xstrdup(fd ? (const char *)fd : "");
		*by_file = sqlite3_column_int(stmt, 3) != 0;
	}
	sqlite3_finalize(stmt);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return 0;
fail:
	snprintf(err, errlen, "store %s: %s", st->path, sqlite3_errmsg(st->db));
	return -1;
}

int
store_registry_commit_now(struct store *st, const struct store_regchange *c,
    char *err, size_t errlen)
{
	struct store_op *op = store_regop(OP_REG_COMMIT, c, NULL, NULL);
	int rc = 0;

	/* Contract: the writer thread is idle (start-up), so run it here. */
	store_batch(st, op);
	if (op->res.status != STORE_OK) {
		snprintf(err, errlen, "store %s: cannot record the registry: %s",
		    st->path, op->res.status == STORE_STALE ?
		    "a newer revision exists" : op->error);
		rc = -1;
	}
	store_op_free(op);
	return rc;
}
