/*
 * store_sqlite_journal.c — the SQLite backend's audit journal: appending
 * hash-chained records (store_audit.c hashes them) at the chain's end,
 * which it reads at open; batch records naming many alerts with their
 * receipts index (spans of positions, audit_spans); receipts read back
 * through it.
 *
 * Owns: the audit and audit_spans tables' statements, the chain's end in
 * the writer (struct store_sqlite's chain).
 * Must never: append a record out of the chain's order; let a batch
 * record's alerts go unindexed; count for receipts a record that does not
 * name the alert.
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

/* The hash the next audit record chains to: the last record's, or zeros. */
int
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

/* Append one audit record with these text fields to the chain. */
int
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

int
store_write_audit_more(struct store_sqlite *st, struct store_op *op,
    const struct store_op *r, const char *more)
{
	const char *text[AUDIT_NTEXT];
	char *detail;
	int rc;

	if (!r->audit.present)
		return 0;
	for (int i = 0; i < AUDIT_NTEXT; i++)
		text[i] = r->audit.text[i];
	detail = xasprintf("%s%s", r->audit.text[6] ? r->audit.text[6] : "",
	    more);
	text[6] = detail;
	rc = store_append_audit(st, op, text, r->audit.transfer);
	free(detail);
	return rc;
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
int
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
int
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

int
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
