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

/*
 * The receipts index (audit_alerts) against one batch record (alert "",
 * detail "subscription=NAME alerts=ID,ID,..."): every alert it names that
 * is still stored must have its row (retention takes an alert's rows with
 * it). Adds those to *named; -1 with report set when one is missing. A
 * record of another form names none here.
 */
static int
store_verify_named(sqlite3_stmt *look, int64_t seq, const char *const
    text[AUDIT_NTEXT], int64_t *named, char *report, size_t len)
{
	const char *ids, *p;
	size_t n = 0;

	if (text[5][0] != '\0' || (strcmp(text[0], "deliver") != 0 &&
	    strcmp(text[0], "ack") != 0) ||
	    strncmp(text[6], "subscription=", 13) != 0 ||
	    (ids = strstr(text[6], " alerts=")) == NULL)
		return 0;
	for (p = ids + 8; *p != '\0'; p += n + (p[n] == ',')) {
		int rc;

		bool stored, listed;

		n = strcspn(p, ",");
		sqlite3_bind_text(look, 1, p, (int)n, SQLITE_STATIC);
		sqlite3_bind_int64(look, 2, seq);
		rc = sqlite3_step(look);
		stored = rc == SQLITE_ROW && sqlite3_column_int(look, 0) != 0;
		listed = rc == SQLITE_ROW && sqlite3_column_int(look, 1) != 0;
		sqlite3_reset(look);
		if (stored && !listed) {
			snprintf(report, len, "audit journal broken at record "
			    "%lld: the receipts index does not list alert %.*s "
			    "that it names", (long long)seq, (int)n, p);
			return -1;
		}
		*named += stored;
	}
	return 0;
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
	sqlite3_stmt *look = NULL;	/* the receipts index, when the store has it */
	int64_t named = 0, indexed = 0;
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
	/* a store from before batch records has no index (none to check) */
	if (sqlite3_prepare_v2(db, "SELECT EXISTS (SELECT 1 FROM alerts WHERE "
	    "id = ?1), EXISTS (SELECT 1 FROM alerts a JOIN audit_alerts x ON "
	    "x.seq = a.seq WHERE a.id = ?1 AND x.rec = ?2)", -1, &look, NULL)
	    != SQLITE_OK)
		look = NULL;
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
		    len) || (look != NULL && store_verify_named(look, seq, text,
		    &named, report, len) < 0)) {
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
	/* and no row of the index names a record that does not name it */
	if (look != NULL) {
		sqlite3_finalize(look);
		/*
		 * Rows of records purged by retention wait for their alert;
		 * rows of an alert deleted name nothing (a seq is never given
		 * again): neither is counted.
		 */
		if (sqlite3_prepare_v2(db, "SELECT count(*) FROM audit_alerts x "
		    "WHERE EXISTS (SELECT 1 FROM audit WHERE seq = x.rec) AND "
		    "EXISTS (SELECT 1 FROM alerts WHERE seq = x.seq)", -1,
		    &look, NULL) != SQLITE_OK || sqlite3_step(look) !=
		    SQLITE_ROW) {
			snprintf(report, len, "cannot read the receipts index in "
			    "%s: %s", path, sqlite3_errmsg(db));
			goto out;
		}
		if ((indexed = sqlite3_column_int64(look, 0)) != named) {
			snprintf(report, len, "audit journal broken: the receipts "
			    "index has %lld rows, the records name %lld stored alerts",
			    (long long)indexed, (long long)named);
			result = 1;
			goto out;
		}
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
	sqlite3_finalize(look);
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
