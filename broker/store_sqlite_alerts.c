/*
 * store_sqlite_alerts.c — the SQLite backend's alert log: a publish (its
 * row at the next seq, its durable recipients, the refusal of references
 * to another origin's restricted alert, the retry of an id stored before),
 * retention and the removal of exercise alerts (never an alert a durable
 * subscription has not settled), history replays, one alert by its id
 * (the console's detail, with its consult record), and the reading of an
 * alert row for a fetch or a replay.
 *
 * Owns: the alerts table's statements and alert_seq_floor.
 * Must never: give a seq twice (store_seq_keep before deletes); store an
 * alert under an id another alert has; delete an alert a durable
 * subscription has not settled; hand out an alert by id without its
 * consult record.
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
 * The highest alert seq ever given: past every alert stored and every one
 * deleted (alert_seq_floor, kept by store_seq_keep() before deletes).
 */
int
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
static int	store_seq_keep(struct store_sqlite *, struct store_op *);

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
char *
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
int
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
			/* its seq stays given: kept, as before any delete */
			if (store_seq_keep(st, op) < 0 ||
			    store_run(st, op, "DELETE FROM alerts WHERE seq = ?1",
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

/*
 * Fill r from the columns topic, body, id, origin of stmt's row, from
 * column col on: copies in one block (the body, then the three strings),
 * kept in op's blobs until its callback has run.
 */
void
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

/*
 * The window of a step of retention or of the removal of exercise alerts:
 * sql counts (*window) the alerts it picks after after_seq (?1), up to
 * limit (?2) of them, with the cut-off cut (?3, when sql has one), and
 * gives the last one (*upto).
 */
static int
store_window(struct store_sqlite *st, struct store_op *op, const char *sql,
    uint64_t after_seq, size_t limit, int64_t cut, int64_t *window,
    int64_t *upto)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = store_stmt(st, sql)) == NULL)
		return store_fail(st, op);
	sqlite3_bind_int64(stmt, 1, (int64_t)after_seq);
	sqlite3_bind_int64(stmt, 2, (int64_t)limit);
	sqlite3_bind_int64(stmt, 3, cut);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		*window = sqlite3_column_int64(stmt, 0);
		*upto = sqlite3_column_int64(stmt, 1);
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW ? 0 : store_fail(st, op);
}

int
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
		if (store_window(st, op, "SELECT count(*), max(seq) FROM (SELECT "
		    "seq FROM alerts WHERE published_at < ?3 AND seq > ?1 ORDER BY "
		    "seq LIMIT ?2)", in->after_seq, in->limit, in->alerts_before,
		    &window, &upto) < 0)
			return -1;
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
 * The "exercise" record of request r (the removal's own op, or one joined
 * to it), its detail with " removed=N" appended; built apart, so that a
 * batch run again with savepoints writes it the same.
 */
static int
store_exercise_record(struct store_sqlite *st, struct store_op *op,
    const struct store_op *r, size_t removed)
{
	char more[32];

	snprintf(more, sizeof(more), " removed=%zu", removed);
	return store_write_audit_more(st, op, r, more);
}

/*
 * One step of a removal of exercise alerts: of the next in->limit
 * exercise alerts after in->after_seq (read off the alerts_exercise
 * index), remove those no durable subscription still has unsettled, with
 * their marks. The removal ends at the highest seq given when its first
 * step ran (in->last_seq): exercise alerts published while it runs wait
 * for the next one, so that a run of publishes cannot keep it going. res.seq is the last one looked at, res.purged what the
 * removal deleted so far, res.more that the step was full (another one
 * follows from res.seq). The last step writes the record of each request
 * the removal serves.
 */
int
store_do_exercise(struct store_sqlite *st, struct store_op *op)
{
	struct store_op_exercise *in = &op->u.exercise;
	int64_t window = 0, upto = 0, n = 0;

	if (in->last_seq == 0)
		in->last_seq = (uint64_t)st->alert_seq;
	if (store_window(st, op, "SELECT count(*), max(seq) FROM (SELECT seq "
	    "FROM alerts WHERE " STORE_EXERCISE " AND seq > ?1 AND seq <= ?3 "
	    "ORDER BY seq LIMIT ?2)", in->after_seq, in->limit,
	    (int64_t)in->last_seq, &window, &upto) < 0)
		return -1;
	if (window > 0 && (store_seq_keep(st, op) < 0 ||
	    store_run(st, op, "INSERT INTO purge_seqs SELECT seq FROM alerts a "
	    "WHERE " STORE_EXERCISE " AND seq > ?1 AND seq <= ?2 AND NOT "
	    STORE_HELD("a"), "ii", (int64_t)in->after_seq, upto) < 0 ||
	    (n = store_delete_picked(st, op)) < 0))
		return -1;
	op->res.seq = (uint64_t)upto;
	op->res.more = window > 0 && (size_t)window == in->limit &&
	    (uint64_t)upto < in->last_seq;
	op->res.purged = in->removed + (size_t)n;
	op->res.status = STORE_OK;
	if (op->res.more)
		return 0;
	if (store_exercise_record(st, op, op, op->res.purged) < 0)
		return -1;
	for (const struct store_op *r = in->joined; r != NULL; r = r->next)
		if (store_exercise_record(st, op, r, op->res.purged) < 0)
			return -1;
	return 0;
}

/*
 * One alert by id (store_alert): the alert of collision 0 off the
 * alerts_id index; an id a store from before gave to several origins is
 * refused, as receipts are. Exercise alerts are not shown: they are load,
 * not alerts. The consult record only when the alert is found.
 */
int
store_do_alert(struct store_sqlite *st, struct store_op *op)
{
	sqlite3_stmt *stmt;
	char *more;
	int rc;

	if ((stmt = store_stmt(st, "SELECT seq, topic, body, id, origin, "
	    STORE_EXERCISE ", EXISTS (SELECT 1 FROM alert_id_collisions WHERE "
	    "id = ?1) FROM alerts WHERE id = ?1 ORDER BY collision LIMIT 1")) ==
	    NULL)
		goto fail;
	sqlite3_bind_text(stmt, 1, op->u.alert.id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (sqlite3_column_int(stmt, 6) != 0)
			op->res.status = STORE_ID_TAKEN;
		else if (sqlite3_column_int(stmt, 5) != 0)
			op->res.status = STORE_NOT_FOUND;
		else {
			op->res.rows = xcalloc(1, sizeof(struct store_row));
			op->blobs = xcalloc(1, sizeof(void *));
			op->res.rows[0].tag = (uint64_t)sqlite3_column_int64(stmt,
			    0);
			store_row_fill(op, stmt, 1, &op->res.rows[0]);
			op->res.nrows = 1;
			op->res.status = STORE_OK;
		}
	} else
		op->res.status = STORE_NOT_FOUND;
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto fail;
	if (op->res.status != STORE_OK)
		return 0;
	more = xasprintf(" topic=%s", op->res.rows[0].topic);
	rc = store_write_audit_more(st, op, op, more);
	free(more);
	return rc;
fail:
	return store_fail(st, op);
}

int
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
