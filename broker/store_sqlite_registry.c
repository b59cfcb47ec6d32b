/*
 * store_sqlite_registry.c — the SQLite backend's registry operations:
 * revisions (each commit of the registry, with its document and who
 * approved it) and proposals (four-eyes: pending, approved, rejected,
 * stale), for store.h's store_registry_* operations.
 *
 * Owns: the revisions and proposals tables' statements.
 * Must never: commit or propose against a base that is not the newest
 * revision (the caller gets STORE_STALE); decide a proposal that is not
 * pending; change a revision once written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_op.h"
#include "store_sqlite.h"
#include "timeutil.h"
#include "xmalloc.h"

/* The newest revision number into res.newest; 0 when there is none. */
static int
store_reg_newest(struct store_sqlite *st, struct store_op *op)
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

int
store_do_reg_commit(struct store_sqlite *st, struct store_op *op)
{
	struct store_op_regchange *in = &op->u.reg;
	sqlite3_stmt *stmt;
	int rc;

	if (store_reg_newest(st, op) < 0)
		return -1;
	if (op->res.newest != in->base) {
		op->res.status = STORE_STALE;
		return 0;
	}
	op->res.id = in->base + 1;
	if (store_run(st, op, "INSERT INTO revisions (rev, created_at, author, "
	    "approved_by, source, comment, changes, document, file_digest) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", "iittttttt",
	    (int64_t)op->res.id, time_now_us(), in->text[RC_AUTHOR],
	    in->text[RC_APPROVED_BY], in->text[RC_SOURCE], in->text[RC_COMMENT],
	    in->text[RC_CHANGES], in->text[RC_DOCUMENT], in->text[RC_FILE_DIGEST]) < 0)
		return -1;
	if (in->proposal != 0 && store_run(st, op, "UPDATE proposals SET "
	    "state = 'approved', decided_by = ?1, decided_at = ?2 WHERE id = ?3",
	    "tii", in->text[RC_APPROVED_BY], time_now_us(),
	    (int64_t)in->proposal) < 0)
		return -1;
	/* proposals made against an older revision can never be approved */
	if (store_run(st, op, "UPDATE proposals SET state = 'stale', "
	    "decided_at = ?1 WHERE state = 'pending' AND base < ?2", "ii",
	    time_now_us(), (int64_t)op->res.id) < 0)
		return -1;
	op->res.ids = xcalloc(in->ninboxes ? in->ninboxes : 1, sizeof(uint64_t));
	for (size_t i = 0; i < in->ninboxes; i++) {
		if (store_run(st, op, "INSERT OR IGNORE INTO dsubs (endpoint, "
		    "name, patterns, created_at) VALUES (?1, 'inbox', '', ?2)",
		    "ti", in->inboxes[i], time_now_us()) < 0 ||
		    (stmt = store_stmt(st, "SELECT id FROM dsubs WHERE endpoint "
		    "= ?1 AND name = 'inbox'")) == NULL)
			return store_fail(st, op);
		sqlite3_bind_text(stmt, 1, in->inboxes[i], -1, SQLITE_STATIC);
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

int
store_do_reg_propose(struct store_sqlite *st, struct store_op *op)
{
	struct store_op_regchange *in = &op->u.reg;

	if (store_reg_newest(st, op) < 0)
		return -1;
	if (op->res.newest != in->base) {
		op->res.status = STORE_STALE;
		return 0;
	}
	if (store_run(st, op, "INSERT INTO proposals (base, created_at, "
	    "proposer, comment, changes, reasons, document, state) VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending')", "iitttt" "t",
	    (int64_t)in->base, time_now_us(), in->text[RC_AUTHOR],
	    in->text[RC_COMMENT], in->text[RC_CHANGES], in->text[RC_REASONS],
	    in->text[RC_DOCUMENT]) < 0)
		return -1;
	op->res.id = (uint64_t)sqlite3_last_insert_rowid(st->db);
	op->res.status = STORE_OK;
	return store_write_audit(st, op, NULL, NULL);
}

int
store_do_reg_decide(struct store_sqlite *st, struct store_op *op)
{
	struct store_op_decide *in = &op->u.decide;

	if (store_run(st, op, "UPDATE proposals SET state = ?1, decided_by = "
	    "?2, decided_at = ?3 WHERE id = ?4 AND state = 'pending'", "ttii",
	    in->state, in->by, time_now_us(), (int64_t)in->proposal) < 0)
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

int
store_do_reg_list(struct store_sqlite *st, struct store_op *op)
{
	struct store_op_reglist *in = &op->u.list;
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
	    (stmt = store_stmt(st, sql[in->proposals])) == NULL)
		return store_fail(st, op);
	sqlite3_bind_int64(stmt, 1, (int64_t)in->id);
	sqlite3_bind_int64(stmt, 2, (int64_t)in->limit);
	sqlite3_bind_int(stmt, 3, in->with_doc);
	if (in->proposals)
		sqlite3_bind_int(stmt, 4, in->all);
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

int
store_sqlite_registry_newest(void *b, uint64_t *rev, char **doc,
    char **file_digest, bool *by_file, char *err, size_t errlen)
{
	struct store_sqlite *st = b;
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
