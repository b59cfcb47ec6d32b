/*
 * store_offline.c — the SQLite store read by the offline commands, with
 * no broker running on it: cccd --verify-audit (store_verify_audit,
 * store_verify_head) and cccd --dead-letters (store_list_dead). Part of
 * the SQLite backend: they read the files of a store that is not open, so
 * no open store chooses a backend for them.
 *
 * Owns: what --verify-audit and --dead-letters report.
 * Must never: write the store (it is opened read-only); call a journal
 * intact that does not chain, or that a purge record does not account for.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_audit.h"
#include "store_wal.h"
#include "timeutil.h"

/* The receipts index as --verify-audit reads it: two kept statements. */
struct store_vspans {
	sqlite3_stmt	*look;		/* named alert id, record: stored? covered? */
	sqlite3_stmt	*spans;		/* a record's spans, with the ids at their ends */
	int64_t		 rows;		/* spans of the batch records seen */
};

/*
 * One end of a span of record seq, at position at: the alert stored there
 * (id, NULL when none is) must be one the record names; none stored is
 * possible only when an alert the record names was deleted since (some
 * named, fewer stored). 0, or -1 with report set.
 */
static int
store_verify_end(int64_t seq, const char *detail, int64_t at,
    const char *id, bool deleted, char *report, size_t len)
{
	if (id != NULL ? store_names_alert(detail, id) : deleted)
		return 0;
	if (id != NULL)
		snprintf(report, len, "audit journal broken at record %lld: a "
		    "span of the receipts index ends at position %lld, alert "
		    "%s, which the record does not name", (long long)seq,
		    (long long)at, id);
	else
		snprintf(report, len, "audit journal broken at record %lld: a "
		    "span of the receipts index ends at position %lld, beyond "
		    "the alerts the record names", (long long)seq,
		    (long long)at);
	return -1;
}

/*
 * The receipts index (audit_spans) against one batch record (alert "",
 * detail "subscription=NAME alerts=ID,ID,..."), exactly: every alert it
 * names that is still stored (an alert of the id, not published again
 * after the record: an id retention freed may name a new alert) lies in
 * one of its spans; each span is no
 * wider than STORE_SPAN, after the one before it, and ends at alerts the
 * record names (at a deleted one's position only once the record names an
 * alert no longer stored: store_verify_end()). Adds its spans to
 * v->rows; -1 with report set when one of these fails. A record of
 * another form has no spans here.
 */
static int
store_verify_spans(struct store_vspans *v, int64_t seq, const char *const
    text[AUDIT_NTEXT], char *report, size_t len)
{
	const char *ids, *p;
	size_t n = 0, named = 0, stored = 0;
	int64_t prev = INT64_MIN;
	int rc, result = 0;

	if (text[5][0] != '\0' || (strcmp(text[0], "deliver") != 0 &&
	    strcmp(text[0], "ack") != 0) ||
	    strncmp(text[6], "subscription=", 13) != 0 ||
	    (ids = strstr(text[6], " alerts=")) == NULL)
		return 0;
	for (p = ids + 8; *p != '\0'; p += n + (p[n] == ',')) {
		bool in, covered;

		n = strcspn(p, ",");
		sqlite3_bind_text(v->look, 1, p, (int)n, SQLITE_STATIC);
		sqlite3_bind_int64(v->look, 2, seq);
		rc = sqlite3_step(v->look);
		in = rc == SQLITE_ROW && sqlite3_column_int(v->look, 0) != 0;
		covered = rc == SQLITE_ROW && sqlite3_column_int(v->look, 1) != 0;
		sqlite3_reset(v->look);
		named++;
		stored += in;
		if (in && !covered) {
			snprintf(report, len, "audit journal broken at record "
			    "%lld: no span of the receipts index covers alert "
			    "%.*s that it names", (long long)seq, (int)n, p);
			return -1;
		}
	}
	sqlite3_bind_int64(v->spans, 1, seq);
	while (result == 0 && (rc = sqlite3_step(v->spans)) == SQLITE_ROW) {
		int64_t lo = sqlite3_column_int64(v->spans, 0);
		int64_t hi = sqlite3_column_int64(v->spans, 1);
		const char *id[2] = {
			(const char *)sqlite3_column_text(v->spans, 2),
			(const char *)sqlite3_column_text(v->spans, 3) };

		v->rows++;
		if (lo > hi || hi - lo > STORE_SPAN || lo <= prev) {
			snprintf(report, len, "audit journal broken at record "
			    "%lld: its span %lld-%lld of the receipts index is %s",
			    (long long)seq, (long long)lo, (long long)hi,
			    lo <= prev ? "not after the one before it" :
			    "wider than " STORE_SPAN_SQL " positions");
			result = -1;
		} else if (store_verify_end(seq, text[6], lo, id[0],
		    stored < named, report, len) < 0 ||
		    store_verify_end(seq, text[6], hi, id[1], stored < named,
		    report, len) < 0)
			result = -1;
		prev = hi;
	}
	if (result == 0 && rc != SQLITE_DONE) {
		snprintf(report, len, "cannot read the receipts index: %s",
		    sqlite3_errmsg(sqlite3_db_handle(v->spans)));
		result = -1;
	}
	sqlite3_reset(v->spans);
	return result;
}

/*
 * Every span of the index was one of a batch record's (v->rows of them
 * were): one of a record purged, or of a record of another form, or of
 * none, is not. 0, or 1 with report set; -1 when it cannot be read.
 */
static int
store_verify_orphans(sqlite3 *db, const struct store_vspans *v, char *report,
    size_t len)
{
	sqlite3_stmt *stmt;
	int64_t total = -1, rec = 0;

	if (sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM audit_spans), "
	    "(SELECT rec FROM audit_spans x WHERE NOT EXISTS (SELECT 1 FROM "
	    "audit a WHERE a.seq = x.rec AND a.alert = '' AND a.event IN "
	    "('deliver', 'ack') AND a.detail LIKE 'subscription=% alerts=%') "
	    "LIMIT 1)", -1, &stmt, NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW) {
		total = sqlite3_column_int64(stmt, 0);
		rec = sqlite3_column_int64(stmt, 1);
	}
	sqlite3_finalize(stmt);
	if (total < 0) {
		snprintf(report, len, "cannot read the receipts index: %s",
		    sqlite3_errmsg(db));
		return -1;
	}
	if (total == v->rows)
		return 0;
	snprintf(report, len, "audit journal broken: the receipts index has "
	    "%lld spans, the batch records %lld (a span of record %lld, which "
	    "is not a batch record in the journal)", (long long)total,
	    (long long)v->rows, (long long)rec);
	return 1;
}

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
	struct store_vspans v = { NULL, NULL, 0 };	/* when the store has it */
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
	/*
	 * A store from before batch records has no index (none to check);
	 * one from before spans (schema 13, 14) has its rows by alert, which
	 * the broker's next start converts: checked then.
	 */
	if (sqlite3_prepare_v2(db, "SELECT EXISTS (SELECT 1 FROM alerts WHERE "
	    "id = ?1) AND coalesce((SELECT max(seq) FROM audit WHERE alert = ?1 "
	    "AND event = 'publish'), 0) < ?2, EXISTS (SELECT 1 FROM alerts a "
	    "JOIN audit_spans x ON x.rec = ?2 AND a.seq BETWEEN x.lo AND x.hi "
	    "WHERE a.id = ?1)", -1, &v.look, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT x.lo, x.hi, (SELECT id FROM alerts "
	    "WHERE seq = x.lo), (SELECT id FROM alerts WHERE seq = x.hi) FROM "
	    "audit_spans x WHERE x.rec = ?1 ORDER BY x.lo", -1, &v.spans, NULL)
	    != SQLITE_OK) {
		sqlite3_finalize(v.look);
		v.look = NULL;
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
		    len) || (v.look != NULL && store_verify_spans(&v, seq, text,
		    report, len) < 0)) {
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
	/* and no span of the index is of a record that does not name alerts */
	if (v.look != NULL && (result = store_verify_orphans(db, &v, report,
	    len)) != 0)
		goto out;
	if (first > 1)
		snprintf(report, len, "audit journal intact: %lld records, from "
		    "record %lld (the ones before were purged by retention)",
		    (long long)n, (long long)first);
	else
		snprintf(report, len, "audit journal intact: %lld records",
		    (long long)n);
	result = 0;
out:
	sqlite3_finalize(v.look);
	sqlite3_finalize(v.spans);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	store_hasher_free(&hr);
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
	    "m.attempts, a.published_at FROM marks m INDEXED BY marks_dead JOIN "
	    "dsubs s ON s.id = m.dsub JOIN alerts a ON a.seq = m.seq WHERE "
	    "m.state = 2 ORDER BY s.endpoint, s.name, m.seq", -1, &stmt, NULL)
	    != SQLITE_OK) {
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
