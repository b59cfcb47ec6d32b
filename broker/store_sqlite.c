/*
 * store_sqlite.c — the store's backend on SQLite (WAL): struct
 * store_backend for the core in store.c, which owns the queue and the
 * threads.
 *
 * Each operation the writer thread runs is one or a few kept statements
 * in the transaction the core opens; a commit writes the transaction to
 * the WAL without syncing it (synchronous=NORMAL), and the syncer's sync
 * calls fdatasync(2) on the WAL once for every batch committed since the
 * last one, which is what synchronous=FULL gives with the sync taken off
 * the writer's path. At open (migrations) and in checkpoints SQLite syncs
 * as usual. A fetch does not wait for that sync when its cursor's
 * reservation, synced before, covers what it sends (store_do_fetch): each
 * sync says how far the commits and the log are synced for it.
 *
 * After each sync the syncer records the newest synced audit record and
 * how far the WAL was synced (its salts and frame count, noted by the
 * writer after each commit in its WAL hook, which also checkpoints as
 * SQLite's default hook does) in ccc.db-head, outside the database, and
 * once a second it checks that the store's files are still the ones at
 * their paths (tick). At open, the write-ahead log is read before SQLite
 * recovers it (a damaged frame among those synced would make SQLite drop
 * every transaction after it), and the journal must reach the record in
 * ccc.db-head. ccc.db-head also says how the last run left the store: the
 * integrity check (quick_check, which reads the whole store) runs before
 * serving unless that run closed it cleanly after a check that passed;
 * then the core's checker thread runs it (check) on a read-only
 * connection of its own while the writer writes. The state is cleared at
 * open before anything is written and set at a clean close.
 *
 * Owns: the statements, the connection and the files ccc.db, its WAL and
 * ccc.db-head (read and anchored by store_wal.c), transactions with the
 * writer's state they save and restore (the audit chain's end, the last
 * alert seq given), the integrity check, the dispatch of operations. The
 * operations are in store_sqlite_alerts.c (publish, retention, history,
 * one alert by id), store_sqlite_cursor.c (durable delivery),
 * store_sqlite_journal.c (the audit journal, receipts) and
 * store_sqlite_registry.c; the schema in
 * store_sqlite_schema.c; the offline readers in store_offline.c.
 * Must never: open a store that lost committed transactions unless told
 * to (accept_loss); anchor in ccc.db-head more than was synced; let a
 * rolled-back audit record or alert seq stay given; record a clean close
 * for a run that did not end cleanly (a failed sync, files lost, damage
 * found by the check or met by an operation, an I/O error met by the
 * writer, a failed checkpoint) or serve a store unchecked after one.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_audit.h"
#include "store_backend.h"
#include "store_op.h"
#include "store_sqlite.h"
#include "store_wal.h"
#include "timeutil.h"
#include "xmalloc.h"

#define STORE_CHECK_US	(1000 * INT64_C(1000))	/* syncer: files checked this often */
#define STORE_CHECKPOINT_FRAMES	1000	/* SQLite's wal_autocheckpoint default */
#define STORE_COLLISIONS_NAMED	32	/* colliding alert ids logged one by one at open */
#define STORE_CHECK_STEPS	10000	/* checker: VM steps between looks at check_stop */

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

static void	store_sqlite_close(void *, bool, bool);

int
store_exec(struct store_sqlite *st, const char *sql, char *err, size_t errlen)
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
int
store_int(struct store_sqlite *st, const char *sql, int64_t *out)
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

/* Switch to WAL and check that it took (it does not on some file systems). */
static int
store_wal(struct store_sqlite *st, char *err, size_t errlen)
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

/*
 * PRAGMA quick_check on db: SQLite reads every page of the database, checks
 * each b-tree's structure, and that every record is well-formed and every
 * NOT NULL, CHECK and UNIQUE constraint holds (not that each index lists
 * its rows: that is integrity_check, which costs several times more).
 * 0 "ok"; 1 damage found (err says the first problem); -1 it could not
 * run, or was interrupted (err says why).
 */
static int
store_verify(sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt *stmt;
	const char *res;
	int rc;

	if ((rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &stmt,
	    NULL)) == SQLITE_OK) {
		if ((rc = sqlite3_step(stmt)) == SQLITE_ROW &&
		    (res = (const char *)sqlite3_column_text(stmt, 0)) != NULL) {
			rc = strcmp(res, "ok") == 0 ? 0 : 1;
			if (rc == 1)	/* on one line */
				snprintf(err, errlen, "integrity check failed: %s",
				    res);
			for (char *p = err; rc == 1 && *p != '\0'; p++)
				if (*p == '\n')
					*p = ' ';
			sqlite3_finalize(stmt);
			return rc;
		}
		sqlite3_finalize(stmt);
	}
	snprintf(err, errlen, "integrity check failed%s: %s",
	    (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB ? "" :
	    " to run", sqlite3_errmsg(db));
	return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB ?
	    1 : -1;
}

/*
 * Warn about the alert ids a store from before ids were unique gave to
 * alerts of several origins (store_migrations[]): each id, up to
 * STORE_COLLISIONS_NAMED of them, and how many there are.
 */
static int
store_report_collisions(struct store_sqlite *st, char *err, size_t errlen)
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
 * checkpoint as SQLite's own hook, which this one replaces, would. A
 * checkpoint that fails (not one another connection's checkpoint kept
 * from running: SQLITE_BUSY) may have written part of the log into
 * ccc.db: the run does not end with a clean close (logged once), so the
 * next start checks the store before serving. The log keeps every frame
 * meanwhile, and the next checkpoint copies them again.
 */
static int
store_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store_sqlite *st = arg;
	uint8_t hdr[24];
	int rc;

	st->wal.frames = 0;
	if (st->walfd >= 0 && pread(st->walfd, hdr, sizeof(hdr), 0) ==
	    (ssize_t)sizeof(hdr)) {
		memcpy(st->wal.salts, hdr + 16, 8);
		st->wal.frames = frames;
	}
	if (frames >= STORE_CHECKPOINT_FRAMES &&
	    (rc = sqlite3_wal_checkpoint(db, name)) != SQLITE_OK &&
	    (rc & 0xff) != SQLITE_BUSY && !st->ckpt_failed) {
		st->ckpt_failed = true;
		log_warn("store %s: a checkpoint of the write-ahead log failed: "
		    "%s; the next start checks the store before serving",
		    st->path, sqlite3_errmsg(db));
	}
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

/* ---- open and close ------------------------------------------------------ */

/*
 * Start-up, with the WAL open: sync it (a broker that crashed may have
 * left commits unsynced), and take everything in the store as synced.
 */
static int
store_synced_open(struct store_sqlite *st, char *why, size_t whylen)
{
	int64_t seq = st->alert_seq;	/* store_seq_read(), before */

	if (fdatasync(st->walfd) < 0) {
		snprintf(why, whylen, "cannot sync the write-ahead log: %s",
		    strerror(errno));
		return -1;
	}
	st->commit_seq = st->sync_seq = st->take_seq = seq;
	__atomic_store_n(&st->synced_seq, seq, __ATOMIC_RELEASE);
	return 0;
}

/*
 * Start-up, with the database open and its chain's end read: check it
 * against ccc.db-head, then anchor that end there. A loss is refused
 * unless accepted (--accept-store-loss); lost then says what was
 * accepted. 0; -2 with why set for a loss refused; -1 with why set.
 */
static int
store_head_open(struct store_sqlite *st, char *lost, size_t lostlen, char *why,
    size_t whylen)
{
	struct store_anchor a;
	char path[600], what[400];
	int found;

	snprintf(path, sizeof(path), "%s%s", st->path, STORE_HEAD);
	if ((found = store_head_read(path, &a, what, sizeof(what))) > 0 &&
	    store_head_reached(st->db, &a, what, sizeof(what)) < 0)
		found = -1;
	if (found < 0 && !st->accept_loss) {
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
	if ((st->head.fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		snprintf(why, whylen, "cannot open %.300s: %s", path,
		    strerror(errno));
		return -1;
	}
	a.seq = st->chain.next - 1;
	memcpy(a.hash, st->chain.hash, 32);
	a.has_wal = true;
	memset(&a.wal, 0, sizeof(a.wal));	/* none of the log known synced */
	if (store_head_reset(&st->head, &a) < 0) {
		snprintf(why, whylen, "cannot write %.300s: %s", path,
		    strerror(errno));
		return -1;
	}
	st->sync_chain = st->chain;
	st->sync_wal = st->wal;
	return 0;
}

/*
 * Start-up: must the store be checked before it is served? Not when the
 * last run closed it cleanly after its check passed (state, from
 * ccc.db-head), unless store.check_at_start is always or a migration is
 * due (a migration must not write into a damaged file). Says why in the
 * log either way.
 */
static bool
store_check_first(struct store_sqlite *st, const struct store_start *start,
    unsigned state)
{
	int64_t version = -1;

	if (start->check_always) {
		log_info("store: checking %s before serving (store.check_at_start "
		    "is always)", st->path);
		return true;
	}
	if (state != (STORE_HEAD_CLOSED | STORE_HEAD_CHECKED)) {
		log_info("store: %s was not closed cleanly after a check that "
		    "passed (a crash, a kill, a power failure, a failed sync, a "
		    "stop before its check ended, or a new store): checking it "
		    "before serving", st->path);
		return true;
	}
	if (store_int(st, "PRAGMA user_version", &version) < 0 ||
	    version < store_version()) {
		log_info("store: %s is to be migrated: checking it before "
		    "serving", st->path);
		return true;
	}
	log_info("store: %s was closed cleanly after a check that passed: "
	    "serving at once, checking it again in the background", st->path);
	return false;
}

/* Start-up: the integrity check before serving, timed in the log. */
static int
store_check_now(struct store_sqlite *st, char *why, size_t whylen)
{
	int64_t t0 = time_mono_us();

	if (store_verify(st->db, why, whylen) != 0)
		return -1;
	st->checked = true;
	log_info("store: integrity check of %s passed in %lld ms", st->path,
	    (long long)((time_mono_us() - t0) / 1000));
	return 0;
}

/*
 * The backend's open (struct store_backend): the write-ahead log read
 * before SQLite recovers it, the last run's state in ccc.db-head cleared,
 * the database opened, checked (or left to check() when the last run
 * closed it cleanly after a check: store_check_first) and migrated, the
 * end of its audit chain read and checked against ccc.db-head, and the
 * files noted.
 */
static void *
store_sqlite_open(const char *data_dir, struct store_start *start,
    char *where, size_t wherelen, char *lost, size_t lostlen, char *err,
    size_t errlen)
{
	struct store_sqlite *st = xcalloc(1, sizeof(*st));
	struct store_anchor a;
	char why[512], head[600];
	unsigned state = 0;
	int rc;

	snprintf(st->path, sizeof(st->path), "%s/%s", data_dir, STORE_FILE);
	snprintf(where, wherelen, "%s", st->path);
	st->accept_loss = start->accept_loss;
	st->walfd = -1;
	st->head.fd = -1;
	/* a head that cannot be read: store_head_open says so */
	snprintf(head, sizeof(head), "%s%s", st->path, STORE_HEAD);
	rc = store_head_read(head, &a, why, sizeof(why));
	if (store_wal_scan(st->path, rc > 0 ? &a : NULL, lost, lostlen) < 0 &&
	    !st->accept_loss) {
		snprintf(why, sizeof(why), "%s", lost);
		goto fail_loss;
	}
	/* from here on a crash must not pass for a clean close */
	if (rc > 0 && (state = a.state) != 0 && store_head_mark(head, -1, &a,
	    0, why, sizeof(why)) < 0)
		goto fail;
	start->closed_clean = (state & STORE_HEAD_CLOSED) != 0;
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
	start->check_later = !store_check_first(st, start, state);
	if ((!start->check_later && store_check_now(st, why, sizeof(why)) < 0) ||
	    store_migrate(st, why, sizeof(why)) < 0 ||
	    /* what a purge deletes, picked once (store_delete_picked) */
	    store_exec(st, "CREATE TEMP TABLE purge_seqs (seq INTEGER PRIMARY "
	    "KEY)", why, sizeof(why)) < 0 ||
	    store_chain_end(st, why, sizeof(why)) < 0 ||
	    store_seq_read(st, why, sizeof(why)) < 0 ||
	    store_report_collisions(st, why, sizeof(why)) < 0 ||
	    store_reserved_open(st, why, sizeof(why)) < 0)
		goto fail;
	/* from now on the syncer syncs each commit (see the top of this file) */
	if (store_exec(st, "PRAGMA synchronous = NORMAL", why, sizeof(why)) < 0)
		goto fail;
	if ((st->walfd = store_wal_open(st->path, why, sizeof(why))) < 0 ||
	    store_synced_open(st, why, sizeof(why)) < 0)
		goto fail;
	if ((rc = store_head_open(st, lost, lostlen, why, sizeof(why))) == -2)
		goto fail_loss;
	if (rc < 0 || store_files_note(st->path, st->walfd, st->head.fd,
	    st->ident, why, sizeof(why)) < 0)
		goto fail;
	if (store_hasher_init(&st->hasher) < 0) {
		snprintf(why, sizeof(why), "cannot compute SHA-256");
		goto fail;
	}
	st->opened = true;
	return st;
fail_loss:
	snprintf(why + strlen(why), sizeof(why) - strlen(why), "; restore the "
	    "store from a backup, or start once with --accept-store-loss to go "
	    "on without what is missing (see \"The store\" in "
	    "docs/operations.md)");
fail:
	snprintf(err, errlen, "store %s: %s", st->path, why);
	store_sqlite_close(st, false, false);
	return NULL;
}

/*
 * The backend's close: lost, its files are not at their paths any more or
 * are damaged (left as they are); clean, the run ends cleanly, which
 * ccc.db-head records once SQLite has closed the database (with its last
 * checkpoint), with whether the integrity check passed in this run, unless
 * the writer met damage (damage_seen) or an I/O error (io_failed), or a
 * checkpoint failed (ckpt_failed): the next open then serves at once
 * (store_check_first).
 */
static void
store_sqlite_close(void *b, bool lost, bool clean)
{
	struct store_sqlite *st = b;
	char head[600], why[700];

	/*
	 * Nothing is sent past sent any more: a clean close leaves nothing
	 * reserved ahead, and the next start flags nothing more (at worst,
	 * when this fails, the reserved positions count as sent once).
	 */
	if (st->opened && !lost && store_exec(st, "UPDATE cursors SET "
	    "reserved = sent WHERE reserved <> sent", why, sizeof(why)) < 0)
		log_warn("store: cannot release the durable cursors' "
		    "reserved positions: %s; after the next start those not "
		    "sent come flagged redelivered", why);
	if (st->walfd >= 0)
		close(st->walfd);
	for (size_t i = 0; i < st->nstmts; i++)
		sqlite3_finalize(st->stmts[i].stmt);
	/*
	 * Files not at their paths: a checkpoint at close would copy the log
	 * into a file no longer there and then remove the log at the path.
	 * Damaged ones: nothing more is written into them.
	 */
	if (lost)
		sqlite3_db_config(st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1,
		    NULL);
	if (sqlite3_close(st->db) != SQLITE_OK) {
		log_error("store %s: cannot close the database: %s", st->path,
		    sqlite3_errmsg(st->db));
		clean = false;
	}
	snprintf(head, sizeof(head), "%s%s", st->path, STORE_HEAD);
	if (st->opened && clean && !lost && !st->damage_seen &&
	    !st->io_failed && !st->ckpt_failed && store_head_mark(head, st->head.fd, &st->head.anchor,
	    STORE_HEAD_CLOSED | (st->checked ? STORE_HEAD_CHECKED : 0), why,
	    sizeof(why)) < 0)
		log_error("store %s: cannot record the clean close: %s",
		    st->path, why);
	if (st->head.fd >= 0)
		close(st->head.fd);
	store_hasher_free(&st->hasher);
	free(st->spanpos);
	free(st);
}

/* Checker: give up when asked (store_sqlite_check_stop). */
static int
store_check_progress(void *arg)
{
	struct store_sqlite *st = arg;

	return __atomic_load_n(&st->check_stop, __ATOMIC_ACQUIRE);
}

/*
 * The backend's check, on the core's checker thread while the writer
 * writes: the integrity check open() left for later, on a connection of
 * its own that only reads (WAL: it reads the snapshot at its start, and
 * neither blocks the writer nor is blocked by it; checkpoints cannot
 * move past that snapshot until it ends, so the log grows meanwhile).
 */
static int
store_sqlite_check(void *b, char *why, size_t whylen)
{
	struct store_sqlite *st = b;
	sqlite3 *db = NULL;
	int rc;

	if (sqlite3_open_v2(st->path, &db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(why, whylen, "integrity check failed to run: %s",
		    db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return -1;
	}
	sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	sqlite3_busy_timeout(db, 5000);
	sqlite3_progress_handler(db, STORE_CHECK_STEPS, store_check_progress,
	    st);
	if ((rc = store_verify(db, why, whylen)) == 0)
		st->checked = true;
	else if (rc < 0 && store_check_progress(st))
		snprintf(why, whylen, "integrity check stopped: cccd is "
		    "stopping");
	sqlite3_close(db);
	return rc;
}

static void
store_sqlite_check_stop(void *b)
{
	struct store_sqlite *st = b;

	__atomic_store_n(&st->check_stop, true, __ATOMIC_RELEASE);
}

/* ---- writer thread: statements, audit records, operations --------------- */

/*
 * The prepared statement for sql, ready to bind: statements are compiled
 * once and kept (compiling took most of the writer's time otherwise). sql
 * must be a string literal: the cache is keyed by its address. Writer
 * thread only; release with sqlite3_reset().
 */
sqlite3_stmt *
store_stmt(struct store_sqlite *st, const char *sql)
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

/*
 * Writer, after an error of SQLite, so that the close does not record the
 * run as clean and the next start checks the store before serving: damage
 * it says it met (SQLITE_CORRUPT, SQLITE_NOTADB and their extended codes)
 * is noted with SQLite's words, the first one only, for the core
 * (store_sqlite_damage), which refuses everything from then on and says
 * so; an I/O error (SQLITE_IOERR and its extended codes: not
 * SQLITE_FULL, a full disk, which recovers) is noted and logged once.
 */
static void
store_error_note(struct store_sqlite *st)
{
	int rc = sqlite3_errcode(st->db) & 0xff;

	if ((rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) && !st->damage_seen) {
		st->damage_seen = true;
		snprintf(st->damage_what, sizeof(st->damage_what), "%s (%.64s)",
		    rc == SQLITE_NOTADB ? "a damaged database header" :
		    "a damaged page", sqlite3_errmsg(st->db));
	} else if (rc == SQLITE_IOERR && !st->io_failed) {
		st->io_failed = true;
		log_warn("store %s: SQLite met an I/O error: %s; the next start "
		    "checks the store before serving", st->path,
		    sqlite3_errmsg(st->db));
	}
}

/* The backend's damage (struct store_backend). */
static const char *
store_sqlite_damage(void *b)
{
	struct store_sqlite *st = b;

	return st->damage_seen ? st->damage_what : NULL;
}

/* Record SQLite's last error as op's and return -1. */
int
store_fail(struct store_sqlite *st, struct store_op *op)
{
	store_error_note(st);
	snprintf(op->error, sizeof(op->error), "%s", sqlite3_errmsg(st->db));
	return -1;
}

/* Prepare, bind and step a statement with no result rows. */
int
store_run(struct store_sqlite *st, struct store_op *op, const char *sql,
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

/* The backend's run_op: op's kind says what to do. */
static int
store_sqlite_run_op(void *b, struct store_op *op)
{
	struct store_sqlite *st = b;

	switch (op->kind) {
	case OP_PUBLISH:
		return store_do_publish(st, op);
	case OP_SUBSCRIBE:
		return store_do_subscribe(st, op);
	case OP_FORGET:
		return store_do_forget(st, op);
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
	case OP_ALERT:
		return store_do_alert(st, op);
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
store_ctl(struct store_sqlite *st, const char *sql, char *why, size_t whylen)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = store_stmt(st, sql)) == NULL) {
		snprintf(why, whylen, "%s", sqlite3_errmsg(st->db));
		return -1;
	}
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE) {
		store_error_note(st);
		snprintf(why, whylen, "%s", sqlite3_errmsg(st->db));
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * The backend's transactions (struct store_backend): kept statements, and
 * the audit chain's end and the last alert seq saved at begin and at each
 * savepoint, so that what a rollback undoes leaves them as well.
 */
static int
store_sqlite_begin(void *b, char *why, size_t whylen)
{
	struct store_sqlite *st = b;

	st->batch_chain = st->chain;
	st->batch_alert_seq = st->alert_seq;
	return store_ctl(st, STORE_BEGIN, why, whylen);
}

/*
 * Commit, noting the log's last position and counting the commit: once
 * a sync covers it, fetches read up to that position (store_do_fetch).
 */
static int
store_sqlite_commit(void *b, char *why, size_t whylen)
{
	struct store_sqlite *st = b;
	char scratch[256];
	/* the highest seq given: stored by now, or deleted (no lookup) */
	int64_t seq = st->alert_seq > st->commit_seq ? st->alert_seq :
	    st->commit_seq;

	if (store_ctl(st, STORE_COMMIT, why, whylen) == 0) {
		st->commits++;
		st->commit_seq = seq;
		return 0;
	}
	store_ctl(st, STORE_ROLLBACK, scratch, sizeof(scratch));
	return -1;
}

static void
store_sqlite_rollback(void *b)
{
	struct store_sqlite *st = b;
	char scratch[256];

	if (!sqlite3_get_autocommit(st->db))
		store_ctl(st, STORE_ROLLBACK, scratch, sizeof(scratch));
	st->chain = st->batch_chain;
	st->alert_seq = st->batch_alert_seq;
}

static int
store_sqlite_savepoint(void *b, char *why, size_t whylen)
{
	struct store_sqlite *st = b;

	st->op_chain = st->chain;
	st->op_alert_seq = st->alert_seq;
	return store_ctl(st, STORE_SAVEPOINT, why, whylen);
}

static void
store_sqlite_release(void *b)
{
	struct store_sqlite *st = b;
	char scratch[256];

	store_ctl(st, STORE_RELEASE, scratch, sizeof(scratch));
}

static void
store_sqlite_rollback_to(void *b)
{
	struct store_sqlite *st = b;
	char scratch[256];

	store_ctl(st, STORE_ROLLBACK_TO, scratch, sizeof(scratch));
	st->chain = st->op_chain;
	st->alert_seq = st->op_alert_seq;
}

static bool
store_sqlite_active(void *b)
{
	struct store_sqlite *st = b;

	return !sqlite3_get_autocommit(st->db);
}

static uint64_t
store_sqlite_changes(void *b)
{
	struct store_sqlite *st = b;

	return (uint64_t)sqlite3_total_changes64(st->db);
}

/* Writer, lock held: the chain's end and the log's place at this commit. */
static void
store_sqlite_mark(void *b)
{
	struct store_sqlite *st = b;

	st->sync_chain = st->chain;
	st->sync_wal = st->wal;
	st->sync_commits = st->commits;
	st->sync_seq = st->commit_seq;
}

/* Syncer, lock held: what the sync about to run covers. */
static void
store_sqlite_take_mark(void *b)
{
	struct store_sqlite *st = b;

	st->take_chain = st->sync_chain;
	st->take_wal = st->sync_wal;
	st->take_commits = st->sync_commits;
	st->take_seq = st->sync_seq;
}

/*
 * The backend's sync: one fdatasync(2) of the WAL when the batches wrote
 * (or a sync before failed), then the end of the audit chain they hold
 * and how far the log was synced anchored in ccc.db-head, when either
 * moved. Once all that succeeded, the commits taken are synced for the
 * fetches (store_do_fetch).
 */
static int
store_sqlite_sync(void *b, bool wrote, const char **what)
{
	struct store_sqlite *st = b;
	const struct store_anchor *now = &st->head.anchor;
	struct store_anchor a;

	if (wrote || st->resync) {
		*what = "cannot sync the store to disk";
		st->resync = true;
		if (fdatasync(st->walfd) < 0) {
			__atomic_store_n(&st->sync_failed, true,
			    __ATOMIC_RELEASE);
			return -1;
		}
		st->resync = false;
	}
	a.seq = st->take_chain.next - 1;
	memcpy(a.hash, st->take_chain.hash, 32);
	a.has_wal = true;
	a.wal = wrote ? st->take_wal : now->wal;	/* unwritten: as synced */
	if (a.seq != now->seq || a.wal.frames != now->wal.frames ||
	    memcmp(a.wal.salts, now->wal.salts, 8) != 0) {
		*what = "cannot record the end of the audit journal in "
		    STORE_FILE STORE_HEAD;
		if (store_head_write(&st->head, &a) < 0)
			return -1;
	}
	__atomic_store_n(&st->synced_seq, st->take_seq, __ATOMIC_RELEASE);
	__atomic_store_n(&st->synced_commits, st->take_commits,
	    __ATOMIC_RELEASE);
	return 0;
}

/*
 * The backend's tick, after each round of the syncer and at least every
 * STORE_CHECK_US: sync ccc.db-head when it was written STORE_HEAD_SYNC_US
 * ago or more, and (lost not NULL) check that the store's files are still
 * the files at their paths.
 */
static bool
store_sqlite_tick(void *b, bool last, char *lost, size_t lostlen)
{
	struct store_sqlite *st = b;
	int64_t now = time_mono_us();

	store_head_sync(&st->head, st->path, last);
	if (lost != NULL && now - st->checked_us >= STORE_CHECK_US) {
		st->checked_us = now;
		return store_files_moved(st->path, st->ident, lost, lostlen);
	}
	return false;
}

static int64_t
store_sqlite_tick_us(void *b)
{
	struct store_sqlite *st = b;

	return st->head.dirty ? STORE_HEAD_SYNC_US : STORE_CHECK_US;
}

/* ---- start-up ----------------------------------------------------------- */

static uint64_t
store_sqlite_last_seq(void *b)
{
	struct store_sqlite *st = b;
	int64_t seq = 0;

	/* called before any operation is queued: the connection is ours */
	if (store_int(st, "SELECT coalesce(max(seq), 0) FROM alerts", &seq) < 0)
		return 0;
	return (uint64_t)seq;
}

static int64_t
store_sqlite_retention_time(void *b)
{
	struct store_sqlite *st = b;
	int64_t at = 0;

	/* called before any operation is queued: the connection is ours */
	/*
	 * Without a retention run yet: the newest alert's time (an index) or
	 * the newest record's (the last row): O(1), where max(at) read the
	 * whole journal. After a clock set back, the newest record may be
	 * older than another: retention then holds back more, never less.
	 */
	if (store_int(st, "SELECT coalesce((SELECT at FROM retention_clock), "
	    "max(coalesce((SELECT max(published_at) FROM alerts), 0), "
	    "coalesce((SELECT at FROM audit ORDER BY seq DESC LIMIT 1), 0)))",
	    &at) < 0)
		return 0;
	return at;
}

const struct store_backend store_sqlite_backend = {
	.name = "sqlite",
	.open = store_sqlite_open,
	.close = store_sqlite_close,
	.check = store_sqlite_check,
	.check_stop = store_sqlite_check_stop,
	.begin = store_sqlite_begin,
	.commit = store_sqlite_commit,
	.rollback = store_sqlite_rollback,
	.savepoint = store_sqlite_savepoint,
	.release = store_sqlite_release,
	.rollback_to = store_sqlite_rollback_to,
	.damage = store_sqlite_damage,
	.active = store_sqlite_active,
	.changes = store_sqlite_changes,
	.run_op = store_sqlite_run_op,
	.mark = store_sqlite_mark,
	.take_mark = store_sqlite_take_mark,
	.sync = store_sqlite_sync,
	.tick = store_sqlite_tick,
	.tick_us = store_sqlite_tick_us,
	.load_dsubs = store_sqlite_load_dsubs,
	.last_seq = store_sqlite_last_seq,
	.retention_time = store_sqlite_retention_time,
	.registry_newest = store_sqlite_registry_newest,
};
