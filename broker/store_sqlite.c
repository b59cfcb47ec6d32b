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
 * ccc.db-head (read and anchored by store_wal.c), the audit chain's end
 * (hashed by store_audit.c) and the last alert seq given (kept by the
 * writer, not looked up per insert), the alerts, cursors and journal
 * operations. The schema and its migrations are in store_sqlite_schema.c,
 * the registry's operations in store_sqlite_registry.c, the offline
 * readers in store_offline.c.
 * Must never: give an alert seq twice; store an alert under an id
 * another alert has (stores of older brokers that did:
 * store_migrations[]); purge an alert (an exercise one included) that a
 * durable subscription has not had acknowledged; open a store that lost
 * committed transactions unless told to (accept_loss); anchor in
 * ccc.db-head more than was synced; let a rolled-back audit record stay
 * in the chain; record a clean close for a run that did not end cleanly
 * (a failed sync, files lost, damage found) or serve a store unchecked
 * after one.
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

/* The hash the next audit record chains to: the last record's, or zeros. */
static int
store_chain_end(struct store_sqlite *st, char *err, size_t errlen)
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
 * The highest alert seq ever given: past every alert stored and every one
 * deleted (alert_seq_floor, kept by store_seq_keep() before deletes).
 */
static int
store_seq_read(struct store_sqlite *st, char *err, size_t errlen)
{
	if (store_int(st, "SELECT max(coalesce((SELECT max(seq) FROM alerts), "
	    "0), coalesce((SELECT seq FROM alert_seq_floor), 0))",
	    &st->alert_seq) < 0) {
		snprintf(err, errlen, "cannot read the last alert seq: %s",
		    sqlite3_errmsg(st->db));
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
 * checkpoint as SQLite's own hook, which this one replaces, would.
 */
static int
store_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store_sqlite *st = arg;
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

/* ---- open and close ------------------------------------------------------ */

/*
 * Start-up, after the migrations (synchronous=FULL: the commit is synced):
 * each cursor's sent becomes its reservation, down to the last position
 * the log has given (no position after it was ever sent). After a clean
 * close they are equal; after a crash the reserved positions that were
 * not sent are taken as sent once: their next delivery is flagged
 * redelivered and counts one attempt, and the range (assumed_lo,
 * assumed_hi] keeps them from the dead letters until they are sent (with
 * a range of an earlier crash still above the floor: the two and what
 * lies between).
 * 0, or -1 with why set.
 */
static int
store_reserved_open(struct store_sqlite *st, char *why, size_t whylen)
{
	int n;

	if (store_exec(st, "UPDATE cursors SET assumed_lo = CASE WHEN "
	    "assumed_hi > max(assumed_lo, floor) THEN min(assumed_lo, sent) "
	    "ELSE sent END, "
	    "assumed_hi = max(assumed_hi, min(reserved, l.seq)), "
	    "sent = min(reserved, l.seq) "
	    "FROM (SELECT max(coalesce((SELECT max(seq) FROM alerts), 0), "
	    "coalesce((SELECT seq FROM alert_seq_floor), 0)) AS seq) AS l "
	    "WHERE min(reserved, l.seq) > sent", why, whylen) < 0)
		return -1;
	if ((n = sqlite3_changes(st->db)) > 0)
		log_warn("store: the broker stopped without closing the store: "
		    "%d durable cursors take their reserved positions as sent; "
		    "those not sent yet come flagged redelivered, as one "
		    "delivery attempt (never dead-lettered unsent)", n);
	return 0;
}

/*
 * Start-up, with the WAL open: sync it (a broker that crashed may have
 * left commits unsynced), and take everything in the store as synced.
 */
static int
store_synced_open(struct store_sqlite *st, char *why, size_t whylen)
{
	int64_t seq = 0;

	if (fdatasync(st->walfd) < 0) {
		snprintf(why, whylen, "cannot sync the write-ahead log: %s",
		    strerror(errno));
		return -1;
	}
	if (store_int(st, "SELECT coalesce(max(seq), 0) FROM alerts", &seq) < 0) {
		snprintf(why, whylen, "%s", sqlite3_errmsg(st->db));
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
 * checkpoint), with whether the integrity check passed in this run: the
 * next open then serves at once (store_check_first).
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
	if (st->opened && clean && !lost && store_head_mark(head, st->head.fd,
	    &st->head.anchor, STORE_HEAD_CLOSED | (st->checked ?
	    STORE_HEAD_CHECKED : 0), why, sizeof(why)) < 0)
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

/* Record SQLite's last error as op's and return -1. */
int
store_fail(struct store_sqlite *st, struct store_op *op)
{
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

/* Append one audit record with these text fields to the chain. */
static int
store_append_audit(struct store_sqlite *st, struct store_op *op,
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
int
store_write_audit(struct store_sqlite *st, struct store_op *op, const char *event,
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

static int
store_pos_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The receipts index rows of batch record rec naming the positions
 * seqs[0..n): sorted (a fetch's batch goes by severity first), cut into
 * the fewest spans of width at most STORE_SPAN, one row each: one row
 * for a batch of nearby positions, whatever its size.
 */
static int
store_write_spans(struct store_sqlite *st, struct store_op *op, int64_t rec,
    const uint64_t *seqs, size_t n)
{
	bool sorted = true;
	size_t j;

	st->spanpos = xgrow(st->spanpos, &st->spancap, n, sizeof(uint64_t));
	for (size_t i = 0; i < n; i++) {
		st->spanpos[i] = seqs[i];
		sorted = sorted && (i == 0 || seqs[i - 1] <= seqs[i]);
	}
	if (!sorted)
		qsort(st->spanpos, n, sizeof(uint64_t), store_pos_cmp);
	for (size_t i = 0; i < n; i = j) {
		j = store_span_end(st->spanpos, n, i);
		if (store_run(st, op, "INSERT INTO audit_spans (lo, hi, rec) "
		    "VALUES (?1, ?2, ?3)", "iii", (int64_t)st->spanpos[i],
		    (int64_t)st->spanpos[j - 1], rec) < 0)
			return -1;
	}
	return 0;
}

/*
 * Append op's audit record naming the alerts ids[0..n) (none: nothing),
 * whose seqs are seqs[0..n): for one, the single-alert form (alert the id,
 * detail single); for several, the batch form (alert "", detail
 * "subscription=NAME alerts=ID,ID,...", NAME op's detail, which the
 * record's hash covers) and its receipts index rows, spans of the seqs
 * (store_write_spans). The rows are not chained: cccd --verify-audit
 * checks them against the details.
 */
static int
store_write_named(struct store_sqlite *st, struct store_op *op,
    char *const *ids, const uint64_t *seqs, size_t n, const char *single)
{
	const char *text[AUDIT_NTEXT];
	int64_t rec = st->chain.next;
	const char *name = op->audit.text[6] ? op->audit.text[6] : "";
	size_t len, off;
	char *detail;
	int rc;

	if (n == 0)
		return 0;
	for (int i = 0; i < AUDIT_NTEXT; i++)
		text[i] = op->audit.text[i];
	if (n == 1) {
		text[5] = ids[0];
		text[6] = single;
		return store_append_audit(st, op, text, op->audit.transfer);
	}
	len = strlen(name) + 32;
	for (size_t i = 0; i < n; i++)
		len += strlen(ids[i]) + 1;
	detail = xmalloc(len);
	off = (size_t)snprintf(detail, len, "subscription=%s alerts=", name);
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(detail + off, len - off, "%s%s",
		    i > 0 ? "," : "", ids[i]);
	text[5] = "";
	text[6] = detail;
	rc = store_append_audit(st, op, text, op->audit.transfer);
	free(detail);
	return rc == 0 ? store_write_spans(st, op, rec, seqs, n) : rc;
}

/* An audit operation: its records, in order, all or none. */
static int
store_do_audit(struct store_sqlite *st, struct store_op *op)
{
	if (op->u.audit.nalerts > 0)
		return store_write_named(st, op, op->u.audit.alerts,
		    op->u.audit.seqs, op->u.audit.nalerts,
		    op->u.audit.single_detail);
	if (op->u.audit.nrecs == 0)
		return store_write_audit(st, op, NULL, NULL);
	for (size_t i = 0; i < op->u.audit.nrecs; i++)
		if (store_append_audit(st, op,
		    (const char *const *)op->u.audit.recs[i].text,
		    op->u.audit.recs[i].transfer) < 0)
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
 * The alert was not inserted under seq: its id is stored already (a
 * duplicate, a conflict, or another origin's). The alert it names is its
 * first one (collision 0), or, when a store from before ids were unique
 * lost that one to retention, the earliest left. 0 with op's result and
 * record; 1 when no alert has the id, so the seq was taken (which a store
 * that only this broker writes never has: op's error says so); -1 on an
 * error.
 */
static int
store_publish_again(struct store_sqlite *st, struct store_op *op, int64_t seq)
{
	sqlite3_stmt *stmt;
	const void *d;
	int rc;

	if ((stmt = store_stmt(st, "SELECT digest, published_at, origin = ?1 "
	    "FROM alerts WHERE id = ?2 ORDER BY collision LIMIT 1")) == NULL)
		return store_fail(st, op);
	sqlite3_bind_text(stmt, 1, op->u.publish.origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, op->u.publish.id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(stmt)) != SQLITE_ROW) {
		if (rc == SQLITE_DONE)	/* not the id: the seq */
			snprintf(op->error, sizeof(op->error), "alert seq %lld "
			    "is stored already", (long long)seq);
		else
			store_fail(st, op);
		sqlite3_reset(stmt);
		return rc == SQLITE_DONE ? 1 : -1;
	}
	d = sqlite3_column_blob(stmt, 0);
	if (sqlite3_column_int(stmt, 2) == 0)
		op->res.status = STORE_ID_TAKEN;
	else if (sqlite3_column_bytes(stmt, 0) == 32 && d != NULL &&
	    memcmp(d, op->u.publish.digest, 32) == 0) {
		op->res.status = STORE_DUPLICATE;
		op->res.published_at = sqlite3_column_int64(stmt, 1);
	} else
		op->res.status = STORE_CONFLICT;
	sqlite3_reset(stmt);
	return store_write_audit(st, op, op->res.status == STORE_DUPLICATE ?
	    "publish_duplicate" : "publish_conflict", NULL);
}

/*
 * ids[0..n) as text, joined by commas between open and close: '[' and ']'
 * give a JSON array for json_each() ("[3,7,12]"), ',' and ',' the form an
 * alert row's rcpt keeps (",3,7,12,", membership one instr()). The
 * caller's to free; one allocation, bounded by n.
 */
static char *
store_ids_text(const uint64_t *ids, size_t n, char open, char close)
{
	size_t cap = n * 21 + 3, off = 0;
	char *j = xmalloc(cap);

	j[off++] = open;
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(j + off, cap - off, "%s%llu",
		    i > 0 ? "," : "", (unsigned long long)ids[i]);
	j[off++] = close;
	j[off] = '\0';
	return j;
}

/*
 * The recipients of a publish, from op's durable subscriptions (sorted
 * here, duplicates dropped): rcpt as the alert row keeps them (",3,7,",
 * NULL for none) and the same ids as a JSON array for json_each(). Both
 * are the caller's to free.
 */
static void
store_publish_rcpt(struct store_op_publish *in, char **rcpt, char **json)
{
	size_t n = 0;

	*rcpt = *json = NULL;
	if (in->ndsubs == 0)
		return;
	qsort(in->dsubs, in->ndsubs, sizeof(uint64_t), store_tag_cmp);
	for (size_t i = 0; i < in->ndsubs; i++)
		if (n == 0 || in->dsubs[n - 1] != in->dsubs[i])
			in->dsubs[n++] = in->dsubs[i];
	in->ndsubs = n;
	*rcpt = store_ids_text(in->dsubs, n, ',', ',');
	*json = store_ids_text(in->dsubs, n, '[', ']');
}

/*
 * Insert op's alert under seq with its recipients rcpt (NULL: none), OR
 * IGNORE: 1 inserted, 0 not (its id or its seq is stored already), -1 on
 * an error (op's error set).
 */
static int
store_insert_alert(struct store_sqlite *st, struct store_op *op, int64_t seq,
    const char *rcpt)
{
	struct store_op_publish *in = &op->u.publish;
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = store_stmt(st, "INSERT OR IGNORE INTO alerts (seq, id, "
	    "origin, topic, published_at, digest, body, restricted, severity, "
	    "expires_at, rcpt) VALUES (?11, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
	    "?10)")) == NULL)
		return store_fail(st, op);
	sqlite3_bind_int64(stmt, 11, seq);
	sqlite3_bind_int(stmt, 7, in->restricted);
	sqlite3_bind_int(stmt, 8, in->severity);
	sqlite3_bind_int64(stmt, 9, in->expires_at);
	if (rcpt != NULL)
		sqlite3_bind_text(stmt, 10, rcpt, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, 10);
	sqlite3_bind_text(stmt, 1, in->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, in->origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, in->topic, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, in->published_at);
	sqlite3_bind_blob(stmt, 5, in->digest, 32, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 6, in->body, (int)in->body_len, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE)
		store_fail(st, op);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return -1;
	return sqlite3_changes(st->db) > 0;
}

/*
 * The alert is inserted first under the next seq, kept in memory
 * (st->alert_seq: no lookup of the highest seq per insert), OR IGNORE:
 * the unique index on id tells an id seen before, which is rare, without
 * a lookup for every new one; then its references are checked for
 * re-disseminating a restricted alert, which takes the row out again.
 */
static int
store_do_publish(struct store_sqlite *st, struct store_op *op)
{
	struct store_op_publish *in = &op->u.publish;
	sqlite3_stmt *stmt;
	char *rcpt = NULL, *json = NULL;
	int64_t seq;
	int rc;

	store_publish_rcpt(in, &rcpt, &json);
	for (bool again = false;; again = true) {
		/* the seq: past every alert stored, and every one deleted */
		seq = st->alert_seq + 1;
		if ((rc = store_insert_alert(st, op, seq, rcpt)) != 0)
			break;
		/*
		 * Not inserted: its id is stored (0: a duplicate and the
		 * like) or else its seq (1, never in a store that only this
		 * broker writes): then once more, past the highest stored.
		 */
		if ((rc = store_publish_again(st, op, seq)) != 1 || again ||
		    store_seq_read(st, op->error, sizeof(op->error)) < 0) {
			free(rcpt);
			free(json);
			return rc == 0 ? 0 : -1;
		}
		log_warn("store: alert seq %lld was in the store although this "
		    "broker never gave it (was the store written by another "
		    "program?); going on after seq %lld", (long long)seq,
		    (long long)st->alert_seq);
	}
	free(rcpt);
	if (rc < 0)
		goto out;
	st->alert_seq = seq;	/* given, even if the row goes again below */
	/* each reference: another origin's restricted alert? */
	for (size_t i = 0; i < in->nrefs; i++) {
		const char *ref = in->refs[i];

		if ((stmt = store_stmt(st, "SELECT origin FROM alerts WHERE "
		    "id = ?1 AND restricted = 1 AND origin <> ?2 LIMIT 1")) == NULL)
			goto fail;
		sqlite3_bind_text(stmt, 1, ref, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 2, in->origin, -1, SQLITE_STATIC);
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW) {
			store_publish_restricted(op, ref,
			    (const char *)sqlite3_column_text(stmt, 0));
			sqlite3_reset(stmt);
			free(json);
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
	/*
	 * One more pending alert on each recipient's cursor, in one statement
	 * (a subscription forgotten meanwhile has none: its id in rcpt is
	 * inert, ids are never reused). No row per delivery.
	 */
	if (json != NULL && store_run(st, op, "INSERT INTO cursors (dsub, "
	    "severity, pending) SELECT id, ?2, 1 FROM dsubs WHERE id IN (SELECT "
	    "value FROM json_each(?1)) ON CONFLICT (dsub, severity) DO UPDATE "
	    "SET pending = pending + 1", "ti", json, (int64_t)in->severity) < 0)
		goto out;
	free(json);
	json = NULL;
	op->res.status = STORE_OK;
	op->res.published_at = in->published_at;
	if (in->exercise && !in->journal_exercise)
		return 0;
	return store_write_audit(st, op, "publish", NULL);
fail:
	store_fail(st, op);
out:
	free(json);
	return -1;
}

static int
store_do_subscribe(struct store_sqlite *st, struct store_op *op)
{
	struct store_op_subscribe *in = &op->u.subscribe;
	sqlite3_stmt *stmt;
	int rc;

	if (store_run(st, op, "INSERT OR IGNORE INTO dsubs (endpoint, name, "
	    "patterns, created_at) VALUES (?1, ?2, ?3, ?4)", "ttti",
	    in->endpoint, in->name, in->patterns, time_now_us()) < 0)
		return -1;
	if ((stmt = store_stmt(st, "SELECT id FROM dsubs WHERE endpoint = ?1 "
	    "AND name = ?2")) == NULL)
		goto fail;
	sqlite3_bind_text(stmt, 1, in->endpoint, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, in->name, -1, SQLITE_STATIC);
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

/* ---- cursors: a durable subscription's place in the log ----------------- */

/* The states of a mark (marks.state). */
enum store_mark_state {
	STORE_MARK_ATTEMPTS,	/* not settled: only its delivery count is odd */
	STORE_MARK_ACKED,	/* acknowledged above the floor */
	STORE_MARK_DEAD,	/* in the dead-letter list (kept below the floor) */
	STORE_MARK_EXPIRED,	/* dropped as expired above the floor */
};

/* A durable subscription's cursor for one severity (the cursors table). */
struct store_cursor {
	bool		 found;		/* the subscription has a row for it */
	int64_t		 floor;		/* every position at or below it is settled */
	int64_t		 sent;		/* the highest position ever sent */
	int64_t		 pending;	/* positions above the floor not settled */
	int64_t		 reserved;	/* at or above sent, synced before a fetch
					   completes at its commit (store_fetch) */
	int64_t		 assumed_lo;	/* (assumed_lo, assumed_hi]: positions an */
	int64_t		 assumed_hi;	/* open after a crash took as sent from
					   the reservation, maybe never sent */
};

/* A position a fetch or an ack settles. */
struct store_settled {
	int64_t		 seq;
	int		 state;		/* enum store_mark_state, not ATTEMPTS */
	int64_t		 attempts;	/* deliveries so far */
};

/*
 * A subscription's positions of one severity after a place in the log, in
 * order, with their mark (-1: none): the alerts_rcpt index entries it is
 * a recipient of (",ID," in rcpt), joined to its marks. The index covers
 * everything read here, so another subscription's alert costs an entry.
 */
static const char STORE_LOG_SCAN[] = "SELECT a.seq, a.expires_at, "
    "coalesce(m.state, -1), coalesce(m.attempts, 0) FROM alerts a INDEXED BY "
    "alerts_rcpt LEFT JOIN marks m ON m.dsub = ?1 AND m.seq = a.seq WHERE "
    "a.rcpt IS NOT NULL AND a.severity = ?2 AND a.seq > ?3 AND "
    "instr(a.rcpt, ?4) > 0 ORDER BY a.seq";

/*
 * The same for a fetch, with what it sends, up to the last position synced
 * (?5): the table row is read only for the positions the index entry lets
 * through (SQLite defers the seek), in one statement rather than one more
 * per alert sent.
 */
static const char STORE_FETCH_SCAN[] = "SELECT a.seq, a.expires_at, "
    "coalesce(m.state, -1), coalesce(m.attempts, 0), a.topic, a.body, a.id, "
    "a.origin FROM alerts a INDEXED BY alerts_rcpt LEFT JOIN marks m ON "
    "m.dsub = ?1 AND m.seq = a.seq WHERE a.rcpt IS NOT NULL AND a.severity "
    "= ?2 AND a.seq > ?3 AND a.seq <= ?5 AND instr(a.rcpt, ?4) > 0 ORDER BY "
    "a.seq";

/* What rcpt holds when dsub is among an alert's recipients. */
static void
store_rcpt_pattern(uint64_t dsub, char *buf, size_t len)
{
	snprintf(buf, len, ",%llu,", (unsigned long long)dsub);
}

static int
store_cursor_get(struct store_sqlite *st, struct store_op *op, uint64_t dsub,
    int sev, struct store_cursor *c)
{
	sqlite3_stmt *stmt;
	int rc;

	memset(c, 0, sizeof(*c));
	if ((stmt = store_stmt(st, "SELECT floor, sent, pending, reserved, "
	    "assumed_lo, assumed_hi FROM cursors WHERE dsub = ?1 AND severity "
	    "= ?2")) == NULL)
		return store_fail(st, op);
	sqlite3_bind_int64(stmt, 1, (int64_t)dsub);
	sqlite3_bind_int(stmt, 2, sev);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		c->found = true;
		c->floor = sqlite3_column_int64(stmt, 0);
		c->sent = sqlite3_column_int64(stmt, 1);
		c->pending = sqlite3_column_int64(stmt, 2);
		c->reserved = sqlite3_column_int64(stmt, 3);
		c->assumed_lo = sqlite3_column_int64(stmt, 4);
		c->assumed_hi = sqlite3_column_int64(stmt, 5);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		store_fail(st, op);
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int
store_settled_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = ((const struct store_settled *)b)->seq;

	return x < y ? -1 : x > y;
}

/*
 * Settle v[0..n): positions of dsub at severity sev above c's floor, not
 * settled before, ascending. The floor moves over every settled position
 * from where it is (their marks go with it, dead letters excepted); the
 * positions it does not reach get a mark; pending drops by n. The cost is
 * the positions the floor passes, not the backlog: once nothing is left
 * pending, the floor goes straight to the last settled position.
 */
static int
store_settle(struct store_sqlite *st, struct store_op *op, uint64_t dsub,
    int sev, const struct store_cursor *c, const struct store_settled *v,
    size_t n)
{
	sqlite3_stmt *stmt;
	int64_t floor = c->floor;
	char pat[32];
	int rc;

	if (n == 0)
		return 0;
	if (c->pending <= (int64_t)n) {
		/* nothing left unsettled: every position is at or below the last settled one */
		if (v[n - 1].seq > floor)
			floor = v[n - 1].seq;
		if ((stmt = store_stmt(st, "SELECT max(seq) FROM marks WHERE "
		    "dsub = ?1 AND severity = ?2 AND state > 0")) == NULL)
			return store_fail(st, op);
		sqlite3_bind_int64(stmt, 1, (int64_t)dsub);
		sqlite3_bind_int(stmt, 2, sev);
		if ((rc = sqlite3_step(stmt)) == SQLITE_ROW &&
		    sqlite3_column_int64(stmt, 0) > floor)
			floor = sqlite3_column_int64(stmt, 0);
	} else {
		if ((stmt = store_stmt(st, STORE_LOG_SCAN)) == NULL)
			return store_fail(st, op);
		store_rcpt_pattern(dsub, pat, sizeof(pat));
		sqlite3_bind_int64(stmt, 1, (int64_t)dsub);
		sqlite3_bind_int(stmt, 2, sev);
		sqlite3_bind_int64(stmt, 3, floor);
		sqlite3_bind_text(stmt, 4, pat, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			int64_t seq = sqlite3_column_int64(stmt, 0);

			if (sqlite3_column_int(stmt, 2) <= STORE_MARK_ATTEMPTS &&
			    bsearch(&seq, v, n, sizeof(*v), store_settled_cmp) ==
			    NULL)
				break;	/* the first position still unsettled */
			floor = seq;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		store_fail(st, op);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	if (floor > c->floor && store_run(st, op, "DELETE FROM marks WHERE "
	    "dsub = ?1 AND seq > ?2 AND seq <= ?3 AND severity = ?4 AND "
	    "state <> 2", "iiii", (int64_t)dsub, c->floor, floor,
	    (int64_t)sev) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((v[i].state == STORE_MARK_DEAD || v[i].seq > floor) &&
		    store_run(st, op, "INSERT OR REPLACE INTO marks (dsub, seq, "
		    "severity, state, attempts) VALUES (?1, ?2, ?3, ?4, ?5)",
		    "iiiii", (int64_t)dsub, v[i].seq, (int64_t)sev,
		    (int64_t)v[i].state, v[i].attempts) < 0)
			return -1;
	return store_run(st, op, "UPDATE cursors SET floor = ?3, pending = "
	    "max(pending - ?4, 0) WHERE dsub = ?1 AND severity = ?2", "iiii",
	    (int64_t)dsub, (int64_t)sev, floor, (int64_t)n);
}

/*
 * Fill r from the columns topic, body, id, origin of stmt's row, from
 * column col on: copies in one block (the body, then the three strings),
 * kept in op's blobs until its callback has run.
 */
static void
store_row_fill(struct store_op *op, sqlite3_stmt *stmt, int col,
    struct store_row *r)
{
	static const int str[3] = { 0, 2, 3 };	/* topic, id, origin */
	const char **dst[3] = { &r->topic, &r->alert_id, &r->origin };
	const char *text[3];
	size_t blen = (size_t)sqlite3_column_bytes(stmt, col + 1), len[3];
	size_t size = blen;
	char *block, *p;

	r->body_len = blen;
	for (int i = 0; i < 3; i++) {
		text[i] = (const char *)sqlite3_column_text(stmt, col + str[i]);
		len[i] = (size_t)sqlite3_column_bytes(stmt, col + str[i]);
		size += len[i] + 1;
	}
	block = op->blobs[op->nblobs++] = xmalloc(size);
	if (blen > 0)
		memcpy(block, sqlite3_column_blob(stmt, col + 1), blen);
	r->body = (uint8_t *)block;
	p = block + blen;
	for (int i = 0; i < 3; i++) {
		memcpy(p, text[i] ? text[i] : "", len[i]);
		p[len[i]] = '\0';
		*dst[i] = p;
		p += len[i] + 1;
	}
}

/*
 * One severity of a fetch: the subscription's positions after its floor
 * (or after in->start[sev], below which the caller looked already), those
 * settled and those in flight skipped, until the result holds in->limit
 * rows. A position's deliveries so far are its mark's count, or 1 at or
 * below sent and 0 above it (first deliveries write nothing but sent);
 * those delivered max_attempts times go to the dead letters (not one an
 * open took as sent, without a mark: it is sent first), expired ones
 * are dropped. From the floor, pending says how many unsettled positions
 * there are: the scan stops after the last. *bytes counts the bodies of
 * the rows taken; the row that would take it past in->max_bytes is left
 * for the next fetch (res.next stays before it) and *full set. Positions
 * after upto (not synced yet) are left for a later fetch. The cursor's
 * sent moves to the highest position taken; when that passes its
 * reservation, the reservation goes in->reserve past it and *raised is set.
 */
static int
store_fetch_severity(struct store_sqlite *st, struct store_op *op, int sev,
    int64_t now, int64_t upto, struct store_settled *done, bool *marked,
    size_t *bytes, bool *full, bool *raised)
{
	struct store_op_fetch *in = &op->u.fetch;
	struct store_cursor c;
	sqlite3_stmt *stmt;
	size_t first = op->res.nrows, ndone = 0, ndead = 0;
	int64_t from, unsettled = 0, sent, reserved;
	char pat[32];
	int rc = SQLITE_DONE;

	op->res.next[sev] = in->start[sev];
	if (store_cursor_get(st, op, in->dsub_id, sev, &c) < 0)
		return -1;
	if (!c.found || c.pending <= 0)
		return 0;
	from = (int64_t)in->start[sev] > c.floor ? (int64_t)in->start[sev] :
	    c.floor;
	if ((stmt = store_stmt(st, STORE_FETCH_SCAN)) == NULL)
		return store_fail(st, op);
	store_rcpt_pattern(in->dsub_id, pat, sizeof(pat));
	sqlite3_bind_int64(stmt, 1, (int64_t)in->dsub_id);
	sqlite3_bind_int(stmt, 2, sev);
	sqlite3_bind_int64(stmt, 3, from);
	sqlite3_bind_text(stmt, 4, pat, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, upto);
	op->res.next[sev] = (uint64_t)from;
	while (op->res.nrows < in->limit &&
	    (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		int64_t seq = sqlite3_column_int64(stmt, 0);
		int64_t expires = sqlite3_column_int64(stmt, 1);
		int state = sqlite3_column_int(stmt, 2);
		int64_t prior;
		uint64_t before = op->res.next[sev];
		bool dead;

		op->res.next[sev] = (uint64_t)seq;
		if (state > STORE_MARK_ATTEMPTS)
			continue;	/* settled */
		unsettled++;
		if (in->nexclude == 0 || bsearch(&seq, in->exclude,
		    in->nexclude, sizeof(uint64_t), store_tag_cmp) == NULL) {
			prior = state == STORE_MARK_ATTEMPTS ?
			    sqlite3_column_int64(stmt, 3) : seq <= c.sent;
			/* one an open took as sent is sent before it is dead */
			dead = prior >= (int64_t)in->max_attempts &&
			    (state == STORE_MARK_ATTEMPTS || seq <= c.assumed_lo ||
			    seq > c.assumed_hi);
			if (dead || (expires != 0 && expires <= now)) {
				done[ndone].seq = seq;
				done[ndone].attempts = prior;
				done[ndone].state = dead ? STORE_MARK_DEAD :
				    STORE_MARK_EXPIRED;
				ndead += done[ndone++].state == STORE_MARK_DEAD;
			} else if (in->max_bytes != 0 && op->res.nrows > 0 &&
			    *bytes + (size_t)sqlite3_column_bytes(stmt, 5) >
			    in->max_bytes) {
				op->res.next[sev] = before;	/* sent by the next fetch */
				*full = true;
				break;
			} else {
				struct store_row *r = &op->res.rows[op->res.nrows];

				*bytes += (size_t)sqlite3_column_bytes(stmt, 5);
				marked[op->res.nrows++] =
				    state == STORE_MARK_ATTEMPTS || prior > 0;
				r->tag = (uint64_t)seq;
				r->attempts = (uint32_t)prior;
				store_row_fill(op, stmt, 4, r);
			}
		}
		if (from == c.floor && unsettled >= c.pending)
			break;		/* no unsettled position after this one */
		if (ndone == in->limit)
			break;		/* settle these first: the next fetch goes on */
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		store_fail(st, op);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	sent = c.sent;
	for (size_t i = first; i < op->res.nrows; i++) {
		struct store_row *r = &op->res.rows[i];

		if ((int64_t)r->tag > sent)
			sent = (int64_t)r->tag;
		if (marked[i] && store_run(st, op, "INSERT OR REPLACE INTO marks "
		    "(dsub, seq, severity, state, attempts) VALUES (?1, ?2, ?3, "
		    "0, ?4)", "iiii", (int64_t)in->dsub_id, (int64_t)r->tag,
		    (int64_t)sev, (int64_t)r->attempts + 1) < 0)
			return -1;
	}
	reserved = c.reserved;
	if (sent > reserved) {
		reserved = sent + (int64_t)in->reserve;
		*raised = true;
	}
	if (sent > c.sent && store_run(st, op, "UPDATE cursors SET sent = ?3, "
	    "reserved = ?4 WHERE dsub = ?1 AND severity = ?2", "iiii",
	    (int64_t)in->dsub_id, (int64_t)sev, sent, reserved) < 0)
		return -1;
	if (store_settle(st, op, in->dsub_id, sev, &c, done, ndone) < 0)
		return -1;
	op->res.dead += ndead;
	op->res.expired += ndone - ndead;
	return 0;
}

/*
 * A fetch: the severities from the most severe down (store_fetch), over
 * what is synced of the log. It completes at its commit when it raised no
 * reservation and every raise before it is synced: then whatever it
 * sends lies at or below a reservation on disk.
 */
static int
store_do_fetch(struct store_sqlite *st, struct store_op *op)
{
	struct store_op_fetch *in = &op->u.fetch;
	size_t cap = in->limit ? in->limit : 1;
	struct store_settled *done = xcalloc(cap, sizeof(*done));
	bool *marked = xcalloc(cap, sizeof(*marked));
	int64_t now = time_now_us();
	int64_t upto = __atomic_load_n(&st->synced_seq, __ATOMIC_ACQUIRE);
	size_t bytes = 0;
	bool full = false, raised = false;
	int rc = 0;

	op->res.rows = xcalloc(cap, sizeof(struct store_row));
	op->blobs = xcalloc(cap, sizeof(void *));
	for (int sev = STORE_SEVERITIES - 1; sev >= 0 && rc == 0; sev--)
		if (op->res.nrows < in->limit && !full)
			rc = store_fetch_severity(st, op, sev, now, upto, done,
			    marked, &bytes, &full, &raised);
		else
			op->res.next[sev] = in->start[sev];
	free(done);
	free(marked);
	if (rc < 0)
		return rc;
	if (raised)
		st->raise_commit = st->commits + 1;	/* this transaction's */
	op->res.at_commit = !raised && st->raise_commit <=
	    __atomic_load_n(&st->synced_commits, __ATOMIC_ACQUIRE);
	op->res.status = STORE_OK;
	return 0;
}

/*
 * Before alerts are deleted: keep the highest seq given in alert_seq_floor,
 * so that it is never given again after a restart (store_seq_read()).
 */
static int
store_seq_keep(struct store_sqlite *st, struct store_op *op)
{
	return store_run(st, op, "INSERT OR REPLACE INTO alert_seq_floor (id, "
	    "seq) SELECT 1, ?1 WHERE ?1 > coalesce((SELECT seq FROM "
	    "alert_seq_floor), 0)", "i", st->alert_seq);
}

/*
 * Delete the alerts picked into purge_seqs (STORE_HELD tested once, when
 * they were picked) with their marks, each found by its seq; empties
 * purge_seqs. The alerts deleted, or -1. The receipts index rows that
 * cover them stay with their records (store_do_purge).
 */
static int64_t
store_delete_picked(struct store_sqlite *st, struct store_op *op)
{
	int64_t n;

	if (store_run(st, op, "DELETE FROM marks WHERE seq IN (SELECT seq FROM "
	    "purge_seqs)", "") < 0 ||
	    store_run(st, op, "DELETE FROM alerts WHERE seq IN (SELECT seq FROM "
	    "purge_seqs)", "") < 0)
		return -1;
	n = sqlite3_changes(st->db);
	return store_run(st, op, "DELETE FROM purge_seqs", "") < 0 ? -1 : n;
}

static int
store_do_purge(struct store_sqlite *st, struct store_op *op)
{
	struct store_op_purge *in = &op->u.purge;
	int64_t nalerts = 0, naudit = 0, through = 0, window = 0, upto = 0;
	char hex[65] = "", detail[400];
	sqlite3_stmt *stmt;
	int rc;

	if (store_run(st, op, "INSERT OR REPLACE INTO retention_clock (id, at) "
	    "VALUES (1, ?1)", "i", in->expect) < 0)
		return -1;
	/*
	 * The batch: the next limit alerts old enough after the run's cursor
	 * (in->after_seq), so that those kept below are not read again by
	 * every batch; of them, an alert a durable subscription has not had
	 * acknowledged stays.
	 */
	if (in->alerts_before != 0) {
		if ((stmt = store_stmt(st, "SELECT count(*), max(seq) FROM (SELECT "
		    "seq FROM alerts WHERE published_at < ?1 AND seq > ?2 ORDER BY "
		    "seq LIMIT ?3)")) == NULL)
			return store_fail(st, op);
		sqlite3_bind_int64(stmt, 1, in->alerts_before);
		sqlite3_bind_int64(stmt, 2, (int64_t)in->after_seq);
		sqlite3_bind_int64(stmt, 3, (int64_t)in->limit);
		if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			window = sqlite3_column_int64(stmt, 0);
			upto = sqlite3_column_int64(stmt, 1);
		}
		sqlite3_reset(stmt);
		if (rc != SQLITE_ROW)
			return store_fail(st, op);
		op->res.seq = (uint64_t)upto;
	}
	if (window > 0) {
		if (store_seq_keep(st, op) < 0 ||
		    store_run(st, op, "INSERT INTO purge_seqs SELECT seq FROM "
		    "alerts a WHERE seq > ?2 AND seq <= ?3 AND published_at < ?1 "
		    "AND NOT " STORE_HELD("a"), "iii", in->alerts_before,
		    (int64_t)in->after_seq, upto) < 0 ||
		    (nalerts = store_delete_picked(st, op)) < 0)
			return -1;
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
	if (in->audit_before != 0) {
		/*
		 * The oldest records, up to the first one not old enough (the
		 * journal goes from its start: reading at most limit records,
		 * not the whole journal while none is old enough); the last
		 * one removed anchors what remains with its hash.
		 */
		if ((stmt = store_stmt(st, "SELECT seq, hash, at FROM audit "
		    "ORDER BY seq LIMIT ?1")) == NULL)
			return store_fail(st, op);
		sqlite3_bind_int64(stmt, 1, (int64_t)in->limit);
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW &&
		    sqlite3_column_int64(stmt, 2) < in->audit_before) {
			through = sqlite3_column_int64(stmt, 0);
			if (sqlite3_column_bytes(stmt, 1) == 32)
				store_hex(sqlite3_column_blob(stmt, 1), 32, hex);
		}
		sqlite3_reset(stmt);
		if (rc != SQLITE_DONE && rc != SQLITE_ROW)
			return store_fail(st, op);
		if (through > 0) {
			if (store_run(st, op, "DELETE FROM audit WHERE seq <= ?1",
			    "i", through) < 0)
				return -1;
			naudit = sqlite3_changes(st->db);
			/* and the receipts index rows of these records */
			if (store_run(st, op, "DELETE FROM audit_spans WHERE "
			    "rec <= ?1", "i", through) < 0)
				return -1;
		}
	}
	op->res.purged = (size_t)(nalerts + naudit);
	op->res.more = (size_t)window == in->limit ||
	    (size_t)naudit == in->limit;
	op->res.status = STORE_OK;
	if (op->res.purged == 0)
		return 0;
	snprintf(detail, sizeof(detail), "alerts=%lld audit=%lld "
	    "audit_through=%lld hash=%s alerts_before=%lld audit_before=%lld "
	    "retention_alerts=%u retention_audit=%u ", (long long)nalerts,
	    (long long)naudit, (long long)through, hex,
	    (long long)in->alerts_before, (long long)in->audit_before,
	    in->retain_alerts, in->retain_audit);
	free(op->audit.text[6]);
	op->audit.text[6] = xstrdup(detail);
	return store_write_audit(st, op, NULL, NULL);
}

/*
 * Remove the exercise alerts no durable subscription still has unsettled,
 * with their marks; then write op's record, if any, with " removed=N".
 */
static int
store_do_exercise(struct store_sqlite *st, struct store_op *op)
{
	char *detail, *cut;
	int64_t n;

	if (store_seq_keep(st, op) < 0 ||
	    store_run(st, op, "INSERT INTO purge_seqs SELECT seq FROM alerts a "
	    "WHERE " STORE_EXERCISE " AND NOT " STORE_HELD("a"), "") < 0 ||
	    (n = store_delete_picked(st, op)) < 0)
		return -1;
	op->res.purged = (size_t)n;
	op->res.status = STORE_OK;
	if (!op->audit.present)
		return 0;
	/* a batch run again with savepoints must not append it twice */
	if (op->audit.text[6] != NULL &&
	    (cut = strstr(op->audit.text[6], " removed=")) != NULL)
		*cut = '\0';
	detail = xasprintf("%s removed=%lld", op->audit.text[6] ?
	    op->audit.text[6] : "", (long long)n);
	free(op->audit.text[6]);
	op->audit.text[6] = detail;
	return store_write_audit(st, op, NULL, NULL);
}

static int
store_do_history(struct store_sqlite *st, struct store_op *op)
{
	struct store_op_history *in = &op->u.history;
	sqlite3_stmt *stmt;
	size_t cap = in->limit ? in->limit : 1;
	int64_t first = 0;
	int rc;

	/* where the history starts, by time; then a range of seq */
	if ((stmt = store_stmt(st, "SELECT min(seq) FROM alerts WHERE "
	    "published_at >= ?1")) == NULL)
		goto fail;
	sqlite3_bind_int64(stmt, 1, in->since);
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
	sqlite3_bind_int64(stmt, 2, (int64_t)in->after_seq);
	sqlite3_bind_int64(stmt, 3, (int64_t)in->upto_seq);
	sqlite3_bind_int64(stmt, 4, (int64_t)in->limit);
	op->res.rows = xcalloc(cap, sizeof(struct store_row));
	op->blobs = xcalloc(cap, sizeof(void *));
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && op->res.nrows < cap) {
		struct store_row *r = &op->res.rows[op->res.nrows++];

		r->tag = (uint64_t)sqlite3_column_int64(stmt, 0);
		store_row_fill(op, stmt, 1, r);
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
store_do_receipts(struct store_sqlite *st, struct store_op *op)
{
	sqlite3_stmt *stmt;
	size_t cap = 16;
	bool mine = false, collided = false;
	int64_t from_seq = 0, from_at = INT64_MIN, alert_seq = 0;
	int rc;

	/*
	 * origin's alert? an id a store from before gave to several origins?
	 * Its own publish record: the journal records of this alert follow it.
	 */
	if ((stmt = store_stmt(st, "SELECT (SELECT published_at FROM alerts "
	    "WHERE origin = ?1 AND id = ?2), EXISTS (SELECT 1 FROM "
	    "alert_id_collisions WHERE id = ?2), (SELECT max(seq) FROM audit "
	    "WHERE alert = ?2 AND event = 'publish' AND endpoint = ?1), (SELECT "
	    "seq FROM alerts WHERE origin = ?1 AND id = ?2)")) == NULL)
		goto fail;
	sqlite3_bind_text(stmt, 1, op->u.receipts.origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, op->u.receipts.id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		mine = sqlite3_column_type(stmt, 0) != SQLITE_NULL;
		collided = sqlite3_column_int(stmt, 1) != 0;
		alert_seq = sqlite3_column_int64(stmt, 3);
		/*
		 * none (an exercise alert, or the record purged): those from
		 * its publishing time on
		 */
		if (sqlite3_column_type(stmt, 2) != SQLITE_NULL)
			from_seq = sqlite3_column_int64(stmt, 2);
		else
			from_at = sqlite3_column_int64(stmt, 0);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW)
		goto fail;
	if (!mine || collided) {
		op->res.status = mine ? STORE_ID_TAKEN : STORE_NOT_FOUND;
		return 0;
	}
	/*
	 * The records naming the alert: single-alert ones by their alert
	 * field, batch ones (durable deliveries and acks) through the spans
	 * of audit_spans that hold its position, of which only those whose
	 * detail names it (store_names_alert()) count: a span covers the
	 * positions between its record's alerts too. A batch record is one
	 * delivery to its one session.
	 */
	if ((stmt = store_stmt(st, "SELECT endpoint, "
	    "min(CASE WHEN event = 'deliver' THEN at END), "
	    "min(CASE WHEN event = 'ack' THEN at END), "
	    "sum(CASE WHEN event = 'deliver' THEN length(peer) - "
	    "length(replace(peer, ' ', '')) + 1 ELSE 0 END), max(transfer) "
	    "FROM audit "
	    "WHERE seq IN (SELECT seq FROM audit WHERE alert = ?1 UNION ALL "
	    "SELECT rec FROM audit_spans WHERE lo BETWEEN ?4 - " STORE_SPAN_SQL
	    " AND ?4 AND hi >= ?4) "
	    "AND (alert = ?1 OR (alert = '' AND detail LIKE 'subscription=%' "
	    "AND instr(detail, ' alerts=') > 0 AND instr(',' || substr(detail, "
	    "instr(detail, ' alerts=') + 8) || ',', ',' || ?1 || ',') > 0)) "
	    "AND event IN ('deliver', 'ack') "
	    /* not those of an alert of this id that retention deleted */
	    "AND seq > ?2 AND at >= ?3 "
	    "GROUP BY endpoint ORDER BY 2")) == NULL)
		goto fail;
	sqlite3_bind_text(stmt, 1, op->u.receipts.id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, from_seq);
	sqlite3_bind_int64(stmt, 3, from_at);
	sqlite3_bind_int64(stmt, 4, alert_seq);
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
	return store_write_audit(st, op, "receipts_read", op->u.receipts.id);
fail:
	return store_fail(st, op);
}

/*
 * The tags of an Ack this subscription has unsettled, in one statement:
 * the alerts by seq (json_each over the tags, sorted and without
 * duplicates by store_ack), each with its cursor, in seq order. A tag
 * passes when the alert names the subscription among its recipients, lies
 * above the floor and at or below sent (it was delivered), and no mark
 * settled it; unknown tags, settled ones and other subscriptions' alerts
 * give no row.
 */
static const char STORE_ACK_PICK[] = "SELECT a.seq, a.severity, a.id, "
    "a.origin, " STORE_EXERCISE " FROM alerts a JOIN cursors c ON c.dsub = "
    "?1 AND c.severity = a.severity WHERE a.seq IN (SELECT value FROM "
    "json_each(?3)) AND a.seq > c.floor AND a.seq <= c.sent AND "
    "instr(coalesce(a.rcpt, ''), ?2) > 0 AND NOT EXISTS (SELECT 1 FROM "
    "marks m WHERE m.dsub = ?1 AND m.seq = a.seq AND m.state > 0) "
    "ORDER BY a.seq";

static int
store_do_ack(struct store_sqlite *st, struct store_op *op)
{
	struct store_op_ack *in = &op->u.ack;
	size_t n = in->ntags ? in->ntags : 1, nids = 0, nv = 0;
	struct store_settled *v = xcalloc(n, sizeof(*v));
	struct store_settled *w = xcalloc(n, sizeof(*w));
	int *sev = xcalloc(n, sizeof(*sev));
	char **ids = xcalloc(n, sizeof(*ids));
	uint64_t *seqs = xcalloc(n, sizeof(*seqs));
	char *json = store_ids_text(in->tags, in->ntags, '[', ']');
	int64_t now = time_now_us();
	sqlite3_stmt *stmt = NULL;
	char pat[32];
	int rc = 0;

	op->res.receipts = xcalloc(n, sizeof(*op->res.receipts));
	op->blobs = xcalloc(2 * n, sizeof(void *));
	store_rcpt_pattern(in->dsub_id, pat, sizeof(pat));
	if (in->ntags > 0 && (stmt = store_stmt(st, STORE_ACK_PICK)) == NULL)
		rc = store_fail(st, op);
	if (stmt != NULL) {
		sqlite3_bind_int64(stmt, 1, (int64_t)in->dsub_id);
		sqlite3_bind_text(stmt, 2, pat, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 3, json, -1, SQLITE_STATIC);
		while (nv < n && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			struct store_receipt *r;
			bool exercise;

			v[nv].seq = sqlite3_column_int64(stmt, 0);
			v[nv].state = STORE_MARK_ACKED;
			sev[nv] = sqlite3_column_int(stmt, 1);
			r = &op->res.receipts[op->res.nreceipts++];
			r->alert_id = op->blobs[op->nblobs++] =
			    xstrdup((const char *)sqlite3_column_text(stmt, 2));
			r->origin = op->blobs[op->nblobs++] =
			    xstrdup((const char *)sqlite3_column_text(stmt, 3));
			r->endpoint = op->audit.text[1];
			r->acked_at = now;
			exercise = sqlite3_column_int(stmt, 4) != 0;
			/* exercise traffic: one record per session, none per alert */
			if (!exercise || in->journal_exercise) {
				seqs[nids] = (uint64_t)v[nv].seq;
				ids[nids++] = (char *)(uintptr_t)r->alert_id;
			}
			nv++;
		}
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			store_fail(st, op);
		sqlite3_reset(stmt);
		rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
	}
	/* each severity's positions, still ascending, settled together */
	for (int s = 0; s < STORE_SEVERITIES && rc == 0; s++) {
		struct store_cursor c;
		size_t k = 0;

		for (size_t i = 0; i < nv; i++)
			if (sev[i] == s)
				w[k++] = v[i];
		if (k == 0)
			continue;
		if (store_cursor_get(st, op, in->dsub_id, s, &c) < 0 ||
		    store_settle(st, op, in->dsub_id, s, &c, w, k) < 0)
			rc = -1;
	}
	if (rc == 0)
		rc = store_write_named(st, op, ids, seqs, nids,
		    op->audit.text[6]);
	free(json);
	free(seqs);
	free(v);
	free(w);
	free(sev);
	free(ids);
	return rc;
}

/*
 * Per endpoint, its alerts not settled (the cursors' pending counts) and
 * its dead letters (the marks_dead partial index), per subscription: no
 * scan of the log. Then the file sizes; the WAL may not exist.
 */
static int
store_do_counts(struct store_sqlite *st, struct store_op *op)
{
	sqlite3_stmt *stmt;
	struct store_backlog *b;
	struct stat sb;
	char wal[sizeof(st->path) + 8];
	size_t cap = 0;
	int rc;

	if ((stmt = store_stmt(st, "SELECT s.endpoint, sum((SELECT "
	    "coalesce(sum(c.pending), 0) FROM cursors c WHERE c.dsub = s.id)), "
	    "sum((SELECT count(*) FROM marks m INDEXED BY marks_dead WHERE "
	    "m.dsub = s.id AND m.state = 2)) FROM dsubs s GROUP BY s.endpoint "
	    "ORDER BY s.endpoint")) == NULL)
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

/*
 * Forget a durable subscription: its cursors and marks (its dead letters
 * too) go with it. Alerts keep its id among their recipients, inert: ids
 * are never reused, and nothing holds an alert for a subscription without
 * a cursor.
 */
static int
store_do_forget(struct store_sqlite *st, struct store_op *op)
{
	int64_t id = (int64_t)op->u.forget.dsub_id;

	if (store_run(st, op, "DELETE FROM cursors WHERE dsub = ?1", "i", id) < 0 ||
	    store_run(st, op, "DELETE FROM marks WHERE dsub = ?1", "i", id) < 0)
		return -1;
	return store_run(st, op, "DELETE FROM dsubs WHERE id = ?1", "i", id);
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
	if (rc != SQLITE_DONE)
		snprintf(why, whylen, "%s", sqlite3_errmsg(st->db));
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
		if (fdatasync(st->walfd) < 0)
			return -1;
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

static int
store_sqlite_load_dsubs(void *b, struct store_dsub **out, size_t *n,
    char *err, size_t errlen)
{
	struct store_sqlite *st = b;
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
