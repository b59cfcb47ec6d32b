/*
 * store_sqlite_cursor.c — the SQLite backend's durable delivery: durable
 * subscriptions and their cursors over the alert log (per severity: the
 * floor every position at or below which is settled, the highest position
 * sent, the reservation of sent synced ahead of it, the positions pending)
 * and marks (positions above the floor acknowledged out of order,
 * delivered more than once, dead-lettered or expired); a fetch reads the
 * log by severity from where the last one stopped, an Ack settles its
 * positions in one statement, the counts metrics read.
 *
 * Owns: the dsubs, cursors and marks tables' statements; the reservation
 * of sent at open (store_reserved_open).
 * Must never: send a position past the synced part of the log or past a
 * synced reservation without the caller waiting for the sync; settle a
 * position the subscription was not sent or not among its recipients;
 * dead-letter a position an open took as sent before it is sent once.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_audit.h"
#include "store_backend.h"
#include "store_op.h"
#include "store_sqlite.h"
#include "timeutil.h"
#include "xmalloc.h"

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
int
store_reserved_open(struct store_sqlite *st, char *why, size_t whylen)
{
	char sql[512];
	int n;

	/* the last position the log gave: store_seq_read(), before */
	snprintf(sql, sizeof(sql), "WITH l (seq) AS (SELECT %lld) UPDATE "
	    "cursors SET assumed_lo = CASE WHEN assumed_hi > max(assumed_lo, "
	    "floor) THEN min(assumed_lo, sent) ELSE sent END, assumed_hi = "
	    "max(assumed_hi, min(reserved, l.seq)), sent = min(reserved, l.seq) "
	    "FROM l WHERE min(reserved, l.seq) > sent",
	    (long long)st->alert_seq);
	if (store_exec(st, sql, why, whylen) < 0)
		return -1;
	if ((n = sqlite3_changes(st->db)) > 0)
		log_warn("store: the broker stopped without closing the store: "
		    "%d durable cursors take their reserved positions as sent; "
		    "those not sent yet come flagged redelivered, as one "
		    "delivery attempt (never dead-lettered unsent)", n);
	return 0;
}

int
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
int
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
	    __atomic_load_n(&st->synced_commits, __ATOMIC_ACQUIRE) &&
	    !__atomic_load_n(&st->sync_failed, __ATOMIC_ACQUIRE);
	op->res.status = STORE_OK;
	return 0;
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

int
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
int
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
int
store_do_forget(struct store_sqlite *st, struct store_op *op)
{
	int64_t id = (int64_t)op->u.forget.dsub_id;

	if (store_run(st, op, "DELETE FROM cursors WHERE dsub = ?1", "i", id) < 0 ||
	    store_run(st, op, "DELETE FROM marks WHERE dsub = ?1", "i", id) < 0)
		return -1;
	return store_run(st, op, "DELETE FROM dsubs WHERE id = ?1", "i", id);
}

int
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
