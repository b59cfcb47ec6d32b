/*
 * store_backend.h — what the store's core (store.c) asks of a backend:
 * the model of OpenSMTPD's queue_backend, a struct of functions chosen at
 * open. There is one backend, SQLite in WAL mode (store_sqlite.c); another
 * (PostgreSQL, for several nodes) is one more file that fills in this
 * struct, with nothing to change in the core or outside the store.
 *
 * The core owns the queue, the writer and syncer threads, group commit
 * and the fallback to one savepoint per operation, the completion on the
 * loop and the store's health. The backend owns its connection and files,
 * runs operations inside the transactions the core opens, makes committed
 * transactions durable when asked (sync), and does the start-up reads.
 * Each function says on which thread it runs; the backend's state b is
 * touched by one thread at a time (the writer's functions and the
 * syncer's touch disjoint parts of it, except what mark and take_mark
 * hand over under the core's lock).
 *
 * The offline commands (store_verify_audit, store_verify_head,
 * store_list_dead in store.h) read the files of a store that is not open
 * and are not here: they are the SQLite backend's own functions
 * (store_offline.c), since no open store exists to choose a backend from.
 * A vtable would add nothing to them until a second backend needs a
 * choice made from the configuration.
 *
 * Owns: the boundary between the core and a backend.
 * Must never: let the core see a backend's connection, SQL or files.
 */
#ifndef CCC_STORE_BACKEND_H
#define CCC_STORE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct store_op;

/* Start-up: what a backend's open is told, and tells. */
struct store_start {
	bool	 accept_loss;	/* in: --accept-store-loss */
	bool	 check_always;	/* in: store.check_at_start is always */
	bool	 closed_clean;	/* out: the last run closed the store cleanly */
	bool	 check_later;	/* out: not checked yet: check() is to run, on
				   a thread of its own, once the broker serves */
};

struct store_backend {
	const char	*name;
	/*
	 * Start-up: open (creating if needed) the store in data_dir, apply its
	 * schema migrations, and check its integrity before serving unless
	 * the last run closed it cleanly after a check that passed (and
	 * start->check_always is false, and no migration is due): then
	 * start->check_later asks the core to run check(). where gets what
	 * messages call it. A store that lost committed transactions is
	 * refused unless start->accept_loss, and then lost says what was lost
	 * ("": nothing), for the core to record. NULL with err set ("store
	 * WHERE: why") on failure.
	 */
	void	*(*open)(const char *data_dir, struct store_start *start,
		    char *where, size_t wherelen, char *lost, size_t lostlen,
		    char *err, size_t errlen);
	/*
	 * Close b. lost: its files are not at their paths any more, or are
	 * damaged: leave them as they are (no checkpoint into them). clean:
	 * every sync of the run succeeded and the files are its own, so the
	 * next open may trust them (with lost, never); the backend records no
	 * clean close either after damage or an I/O error it met itself (in a
	 * statement or a commit), or a checkpoint that failed.
	 */
	void	 (*close)(void *b, bool lost, bool clean);
	/*
	 * Checker thread, while the writer and the syncer run: the integrity
	 * check open() left for later, on a connection of its own that only
	 * reads. 0 it passed; 1 the store is damaged (why says how); -1 it
	 * could not run or was stopped (why says why).
	 */
	int	 (*check)(void *b, char *why, size_t whylen);
	/* Any thread: make a check under way give up soon (close). */
	void	 (*check_stop)(void *b);

	/*
	 * Writer thread. One transaction at a time: begin, run_op for each
	 * operation, commit or rollback. Within it, savepoint, then release
	 * (after rollback_to when the operation failed), undoes one operation
	 * alone. begin, savepoint and commit return -1 with why set; a commit
	 * that fails leaves the transaction rolled back. rollback and
	 * rollback_to also undo what the operations appended to the audit
	 * chain, and are harmless without a transaction.
	 */
	int	 (*begin)(void *b, char *why, size_t whylen);
	int	 (*commit)(void *b, char *why, size_t whylen);
	void	 (*rollback)(void *b);
	int	 (*savepoint)(void *b, char *why, size_t whylen);
	void	 (*release)(void *b);
	void	 (*rollback_to)(void *b);
	/*
	 * After run_op, begin, savepoint or commit failed: the damage the
	 * store met in this run (SQLite: SQLITE_CORRUPT, SQLITE_NOTADB, their
	 * extended codes included), in the backend's words ("a damaged page
	 * (SQLite's message)"), or NULL when it met none. The backend keeps
	 * the words until close, and its close records no clean close after
	 * it. The core then stores nothing more (store.c, refusal).
	 */
	const char *(*damage)(void *b);
	/* Is the transaction still open (an error may have rolled it back)? */
	bool	 (*active)(void *b);
	/* A count that grows with every change stored: did a batch write? */
	uint64_t (*changes)(void *b);
	/*
	 * Carry out op (its kind and its member of op->u), setting op->res;
	 * -1 with op->error set when it failed.
	 */
	int	 (*run_op)(void *b, struct store_op *op);
	/*
	 * Writer, with the core's lock held, after each commit: note how far
	 * the next sync will make the store durable. Syncer, with the lock
	 * held, as it takes the committed batches: take_mark takes that note
	 * for its sync.
	 */
	void	 (*mark)(void *b);
	void	 (*take_mark)(void *b);

	/*
	 * Syncer thread: make everything committed up to the mark taken
	 * durable (wrote: the batches changed the store) and record how far
	 * that is. -1 with errno and *what set when it failed.
	 */
	int	 (*sync)(void *b, bool wrote, const char **what);
	/*
	 * Syncer, after each round and when tick_us has passed: periodic work.
	 * Returns true, with lost set, when the store's files are no longer
	 * the ones it opened (lost NULL: that was found already).
	 */
	bool	 (*tick)(void *b, bool last, char *lost, size_t lostlen);
	/* How long the syncer may wait for work before tick is due. */
	int64_t	 (*tick_us)(void *b);

	/*
	 * Start-up, before any operation is queued (the writer is idle): the
	 * synchronous reads of store.h's functions of the same names.
	 */
	int	 (*load_dsubs)(void *b, struct store_dsub **out, size_t *n,
		    char *err, size_t errlen);
	uint64_t (*last_seq)(void *b);
	int64_t	 (*retention_time)(void *b);
	int	 (*registry_newest)(void *b, uint64_t *rev, char **doc,
		    char **file_digest, bool *by_file, char *err, size_t errlen);
};

extern const struct store_backend store_sqlite_backend;

#endif
