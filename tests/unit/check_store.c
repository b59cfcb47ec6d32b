/*
 * check_store.c — the store (store.h) as a module: the real core and the
 * real SQLite backend on a store in a temporary directory, with an
 * event_base of the test's own that is run until the callbacks arrive
 * (every wait bounded by CS_WAIT_US). What store.h promises:
 *
 *   - group commit: operations queued together share transactions
 *     (store_health's counters);
 *   - an operation that fails fails alone: the others of its transaction
 *     are kept, nothing of it is (its audit records included, so the chain
 *     still verifies); when the transaction itself is lost, all fail and
 *     nothing is kept;
 *   - an alert's seq is given once, whatever fails, is deleted or restarts;
 *   - callbacks run in queue order, a publish's committed callback before
 *     its callback and only for STORE_OK, and results are read inside the
 *     callback;
 *   - the audit chain: store_verify_audit() passes on what the store wrote
 *     and names the record whose byte was flipped; a purge keeps it
 *     verifiable, and the journal's start must be accounted for by one;
 *   - one alert by id (store_alert): found whatever its origin, with its
 *     consult record in the chain; not found (no record) for an unknown
 *     id or an exercise alert, refused for an id several origins share;
 *     a read whose record fails hands out no row.
 *
 * Failures are real SQLite errors: the test adds a trigger to the store's
 * schema (with the store closed) that aborts the statement of one chosen
 * operation, RAISE(ABORT) — what a failing statement does — or rolls back
 * the whole transaction, RAISE(ROLLBACK). Nothing in cccd knows of it.
 * A transaction is held open from a second connection of the test to keep
 * the writer waiting while operations pile up, so that the batch they form
 * does not depend on timing. Durable subscriptions, fetches and acks are
 * tested by the integration suites, not here.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "suites.h"
#include "timeutil.h"

#define CS_WAIT_US	(10 * INT64_C(1000000))	/* bound on callbacks arriving */
#define CS_MAX_CALLS	1024	/* callbacks one test records */
#define CS_ORIGIN	"tr-police"

/* One callback as it ran: which operation, which kind of callback, what it got. */
struct cs_call {
	int			 op;		/* the operation's number, in queue order */
	bool			 committed;	/* the committed callback, not the callback */
	enum store_status	 status;
	uint64_t		 seq;
	int64_t			 published_at;
	uint64_t		 id;		/* registry: the revision */
	size_t			 nrows;
	uint64_t		 tag;		/* rows[0]'s */
	char			 where[192];	/* rows[0]'s "origin topic", copied */
	char			 error[256];	/* res->error, copied in the callback */
	char			 text[256];	/* what the result pointed to, copied */
};

/* A store under test and what its callbacks recorded. */
struct cs {
	char			 dir[64];
	struct event_base	*base;
	struct event		*tick;		/* keeps the loop waking up */
	struct store		*st;
	struct cs_call		 calls[CS_MAX_CALLS];
	size_t			 ncalls;
	size_t			 ndone;		/* callbacks (not committed ones) run */
	int			 args[CS_MAX_CALLS];	/* the arg of operation i: &args[i] */
};

static struct cs cs;

static void
cs_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static void
cs_open(void)
{
	char err[600];

	cs.st = store_open(cs.base, cs.dir, err, sizeof(err));
	ck_assert_msg(cs.st != NULL, "store_open: %s", err);
}

static void
cs_close(void)
{
	store_close(cs.st);
	cs.st = NULL;
}

static void
cs_setup(void)
{
	struct timeval tv = { 0, 20000 };

	memset(&cs, 0, sizeof(cs));
	for (int i = 0; i < CS_MAX_CALLS; i++)
		cs.args[i] = i;
	snprintf(cs.dir, sizeof(cs.dir), "/tmp/ccc-store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(cs.dir));
	log_set_level(LL_WARN);
	cs.base = event_base_new();
	ck_assert_ptr_nonnull(cs.base);
	cs.tick = event_new(cs.base, -1, EV_PERSIST, cs_tick, NULL);
	event_add(cs.tick, &tv);
	cs_open();
}

static void
cs_teardown(void)
{
	static const char *const files[] = { "ccc.db", "ccc.db-wal",
	    "ccc.db-shm", "ccc.db-head" };
	char path[128];

	if (cs.st != NULL)
		cs_close();
	event_free(cs.tick);
	event_base_free(cs.base);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", cs.dir, files[i]);
		unlink(path);
	}
	rmdir(cs.dir);
}

/* ---- callbacks --------------------------------------------------------- */

static void
cs_record(void *arg, const struct store_result *res, bool committed)
{
	struct cs_call *c;

	ck_assert_uint_lt(cs.ncalls, CS_MAX_CALLS);
	c = &cs.calls[cs.ncalls++];
	c->op = *(int *)arg;
	c->committed = committed;
	c->status = res->status;
	c->seq = res->seq;
	c->published_at = res->published_at;
	c->id = res->id;
	if (res->error != NULL)
		snprintf(c->error, sizeof(c->error), "%s", res->error);
	/* results live only as long as the callback: read them now */
	c->nrows = res->nrows;
	if (res->nrows > 0) {
		snprintf(c->text, sizeof(c->text), "%s %.*s",
		    res->rows[0].alert_id, (int)res->rows[0].body_len,
		    (const char *)res->rows[0].body);
		c->tag = res->rows[0].tag;
		snprintf(c->where, sizeof(c->where), "%s %s",
		    res->rows[0].origin, res->rows[0].topic);
	} else if (res->nregrecs > 0)
		snprintf(c->text, sizeof(c->text), "%s %s",
		    res->regrecs[0].author, res->regrecs[0].comment);
	if (!committed)
		cs.ndone++;
}

static void
cs_done(void *arg, const struct store_result *res)
{
	cs_record(arg, res, false);
}

static void
cs_committed(void *arg, const struct store_result *res)
{
	cs_record(arg, res, true);
}

/* Run the loop until n callbacks (not committed ones) have run in all. */
static void
cs_wait(size_t n)
{
	int64_t deadline = time_mono_us() + CS_WAIT_US;

	while (cs.ndone < n && time_mono_us() < deadline)
		event_base_loop(cs.base, EVLOOP_ONCE);
	ck_assert_msg(cs.ndone >= n, "%zu of %zu store callbacks within %lld s",
	    cs.ndone, n, (long long)(CS_WAIT_US / 1000000));
}

/* The callback (not the committed one) of operation op. */
static const struct cs_call *
cs_result(int op)
{
	for (size_t i = 0; i < cs.ncalls; i++)
		if (cs.calls[i].op == op && !cs.calls[i].committed)
			return &cs.calls[i];
	ck_abort_msg("operation %d was not called back", op);
	return NULL;
}

/* ---- operations -------------------------------------------------------- */

/*
 * Queue the publish of alert id on topic, with body "body of ID" and a
 * digest made from variant (another variant: other content), as operation
 * op; committed callbacks too when committed.
 */
static void
cs_publish_as(int op, const char *origin, const char *id, const char *topic,
    int variant, bool committed)
{
	char body[128];
	struct store_publish p = {
		.id = id, .origin = origin, .topic = topic,
		.published_at = time_now_us(), .severity = 3,
		.body = (const uint8_t *)body,
		.audit = { .event = "publish", .endpoint = origin,
		    .alert = id, .detail = topic },
	};

	snprintf(body, sizeof(body), "body of %s", id);
	p.body_len = strlen(body);
	for (size_t i = 0; i < sizeof(p.digest); i++)
		p.digest[i] = (uint8_t)(id[i % strlen(id)] + variant);
	store_publish(cs.st, &p, committed ? cs_committed : NULL, cs_done,
	    &cs.args[op]);
}

static void
cs_publish(int op, const char *id, const char *topic)
{
	cs_publish_as(op, CS_ORIGIN, id, topic, 0, true);
}

/* An audit record with this event and detail, about alert. */
static struct audit_rec
cs_rec(const char *event, const char *alert, const char *detail)
{
	struct audit_rec r = { .event = event, .endpoint = "gr-police",
	    .subject = "CN=gr-police", .fingerprint = "ab12",
	    .peer = "127.0.0.1:4000", .alert = alert, .detail = detail };

	return r;
}

/* ---- the store's files, from the test's own connection ----------------- */

static sqlite3 *
cs_db(void)
{
	char path[128];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/ccc.db", cs.dir);
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
	    SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static void
cs_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK,
	    "%s: %s", sql, msg ? msg : sqlite3_errmsg(db));
}

/* Run sql on the store's file (the store closed, or it waits for it). */
static void
cs_sql(const char *sql)
{
	sqlite3 *db = cs_db();

	cs_exec(db, sql);
	sqlite3_close(db);
}

/* One integer from a one-row query on the store's file. */
static int64_t
cs_value(const char *sql)
{
	sqlite3 *db = cs_db();
	sqlite3_stmt *stmt;
	int64_t v;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(stmt), SQLITE_ROW);
	v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return v;
}

/*
 * Hold the store's write lock from another connection: the writer then
 * waits in its BEGIN with the batch it took, and whatever is queued
 * meanwhile forms its next batch. cs_release() lets it go on.
 */
static sqlite3 *
cs_hold(void)
{
	sqlite3 *db = cs_db();

	cs_exec(db, "BEGIN IMMEDIATE");
	return db;
}

static void
cs_release(sqlite3 *db)
{
	cs_exec(db, "ROLLBACK");
	sqlite3_close(db);
}

/* Give the writer time to take what is queued and wait for the lock. */
static void
cs_let_writer_take(void)
{
	usleep(100 * 1000);
}

/* The store, closed, gets this trigger; then it is opened again. */
static void
cs_add_fault(const char *trigger)
{
	cs_close();
	cs_sql(trigger);
	cs_open();
}

/* store_verify_audit on the closed store: its result, its report in report. */
static int
cs_verify(char *report, size_t len)
{
	return store_verify_audit(cs.dir, 60, report, len);
}

static void
cs_verify_intact(void)
{
	char report[512];

	ck_assert_msg(cs_verify(report, sizeof(report)) == 0, "%s", report);
	ck_assert_ptr_nonnull(strstr(report, "audit journal intact"));
}

/* ---- group commit ------------------------------------------------------- */

#define CS_GROUP	200	/* publishes queued together */

START_TEST(group_commit_shares_transactions)
{
	struct store_health h0, h1, h2;
	char id[32];
	sqlite3 *hold;

	/* queued back to back: the writer takes what piled up while it worked */
	store_health(cs.st, &h0);
	for (int i = 0; i < CS_GROUP; i++) {
		snprintf(id, sizeof(id), "group-%d", i);
		cs_publish(i, id, "alerts/drugs/tr-bg");
	}
	cs_wait(CS_GROUP);
	store_health(cs.st, &h1);
	ck_assert_uint_eq(h1.operations - h0.operations, CS_GROUP);
	ck_assert_uint_lt(h1.transactions - h0.transactions, CS_GROUP);
	ck_assert_uint_le(h1.syncs - h0.syncs, h1.transactions - h0.transactions);
	ck_assert_uint_eq(h1.pending, 0);
	fprintf(stderr, "group commit: %d publishes queued together in %llu "
	    "transactions and %llu syncs\n", CS_GROUP,
	    (unsigned long long)(h1.transactions - h0.transactions),
	    (unsigned long long)(h1.syncs - h0.syncs));

	/*
	 * While the writer waits (here: for a lock), everything queued forms
	 * one transaction: one to wait in, one for all the rest.
	 */
	hold = cs_hold();
	cs_publish(CS_GROUP, "group-first", "alerts/drugs/tr-bg");
	cs_let_writer_take();
	for (int i = 1; i < CS_GROUP; i++) {
		snprintf(id, sizeof(id), "group-held-%d", i);
		cs_publish(CS_GROUP + i, id, "alerts/drugs/tr-bg");
	}
	store_health(cs.st, &h2);
	ck_assert_uint_eq(h2.pending, CS_GROUP);
	cs_release(hold);
	cs_wait(2 * CS_GROUP);
	store_health(cs.st, &h2);
	ck_assert_uint_eq(h2.operations - h1.operations, CS_GROUP);
	ck_assert_uint_le(h2.transactions - h1.transactions, 2);
	ck_assert_uint_le(h2.syncs - h1.syncs, 2);
	for (int i = 0; i < 2 * CS_GROUP; i++)
		ck_assert_int_eq(cs_result(i)->status, STORE_OK);
	cs_close();
	ck_assert_int_eq(cs_value("SELECT count(*) FROM alerts"), 2 * CS_GROUP);
	cs_verify_intact();
}
END_TEST

/* ---- a failing operation fails alone ------------------------------------ */

/* A statement that fails: one alert's insert, or one audit record's. */
#define CS_FAULT_PUBLISH "CREATE TRIGGER test_fault_alert BEFORE INSERT ON " \
	"alerts WHEN NEW.topic = 'alerts/fault/tr-bg' BEGIN SELECT " \
	"RAISE(ABORT, 'test fault: alert refused'); END;"
#define CS_FAULT_AUDIT "CREATE TRIGGER test_fault_audit BEFORE INSERT ON " \
	"audit WHEN NEW.detail = 'fault' BEGIN SELECT RAISE(ABORT, " \
	"'test fault: record refused'); END;"

START_TEST(failing_operation_fails_alone)
{
	struct audit_rec two[3] = { cs_rec("note", "", "kept"),
	    cs_rec("note", "", "also kept"), cs_rec("note", "", "kept too") };
	struct audit_rec three[3] = { cs_rec("note", "", "first of three"),
	    cs_rec("note", "", "fault"), cs_rec("note", "", "third of three") };
	struct audit_rec one = cs_rec("note", "", "after the failures");
	struct store_health h0, h1;
	sqlite3 *hold;

	cs_add_fault(CS_FAULT_PUBLISH CS_FAULT_AUDIT);
	store_health(cs.st, &h0);
	hold = cs_hold();
	cs_publish(0, "before", "alerts/drugs/tr-bg");
	cs_let_writer_take();
	/* one batch: a publish and a batch of records fail among the others */
	cs_publish(1, "kept-1", "alerts/drugs/tr-bg");
	cs_publish(2, "refused", "alerts/fault/tr-bg");
	store_audit_batch(cs.st, two, 3);
	store_audit_batch(cs.st, three, 3);	/* fails at its second record */
	cs_publish(3, "kept-2", "alerts/weapons/tr-bg");
	store_audit(cs.st, &one);
	cs_release(hold);
	cs_wait(4);
	store_health(cs.st, &h1);
	ck_assert_uint_eq(h1.operations - h0.operations, 7);
	ck_assert_uint_le(h1.transactions - h0.transactions, 2);

	ck_assert_int_eq(cs_result(0)->status, STORE_OK);
	ck_assert_int_eq(cs_result(1)->status, STORE_OK);
	ck_assert_int_eq(cs_result(2)->status, STORE_FAILED);
	ck_assert_ptr_nonnull(strstr(cs_result(2)->error,
	    "test fault: alert refused"));
	ck_assert_int_eq(cs_result(3)->status, STORE_OK);
	ck_assert_uint_gt(cs_result(3)->seq, cs_result(1)->seq);
	/* no committed callback for the failed one; the others got theirs */
	for (size_t i = 0; i < cs.ncalls; i++)
		ck_assert(!(cs.calls[i].committed && cs.calls[i].op == 2));
	/* the health says the last write succeeded (the record after them) */
	ck_assert(h1.write_ok);
	cs_close();

	ck_assert_int_eq(cs_value("SELECT count(*) FROM alerts"), 3);
	ck_assert_int_eq(cs_value("SELECT count(*) FROM alerts WHERE id = "
	    "'refused'"), 0);
	ck_assert_int_eq(cs_value("SELECT count(*) FROM audit WHERE alert = "
	    "'refused'"), 0);
	ck_assert_int_eq(cs_value("SELECT count(*) FROM audit WHERE event = "
	    "'publish' AND alert IN ('before', 'kept-1', 'kept-2')"), 3);
	/* the records of the batch that failed: none, not even its first */
	ck_assert_int_eq(cs_value("SELECT count(*) FROM audit WHERE detail LIKE "
	    "'%of three'"), 0);
	ck_assert_int_eq(cs_value("SELECT count(*) FROM audit WHERE detail IN "
	    "('kept', 'also kept', 'kept too', 'after the failures')"), 4);
	/* the chain closed over what was rolled back: it still verifies */
	cs_verify_intact();
}
END_TEST

START_TEST(lost_transaction_fails_every_operation)
{
	struct audit_rec r = cs_rec("note", "", "in the lost transaction");
	sqlite3 *hold;
	bool first_kept;

	cs_add_fault("CREATE TRIGGER test_fault_all BEFORE INSERT ON alerts "
	    "WHEN NEW.topic = 'alerts/fault/tr-bg' BEGIN SELECT "
	    "RAISE(ROLLBACK, 'test fault: transaction lost'); END;");
	hold = cs_hold();
	cs_publish(0, "before", "alerts/drugs/tr-bg");
	cs_let_writer_take();
	cs_publish(1, "lost-1", "alerts/drugs/tr-bg");
	store_audit(cs.st, &r);
	cs_publish(2, "lost-2", "alerts/fault/tr-bg");
	cs_publish(3, "lost-3", "alerts/weapons/tr-bg");
	cs_release(hold);
	cs_wait(4);
	/* the first is in a transaction of its own, unless the writer was late */
	first_kept = cs_result(0)->status == STORE_OK;
	for (int i = first_kept ? 1 : 0; i <= 3; i++) {
		ck_assert_int_eq(cs_result(i)->status, STORE_FAILED);
		ck_assert_str_ne(cs_result(i)->error, "");
	}
	for (size_t i = 0; i < cs.ncalls; i++)
		ck_assert(!cs.calls[i].committed || (cs.calls[i].op == 0 &&
		    first_kept));
	/* then the store goes on */
	cs_publish(4, "after", "alerts/drugs/tr-bg");
	cs_wait(5);
	ck_assert_int_eq(cs_result(4)->status, STORE_OK);
	cs_close();
	ck_assert_int_eq(cs_value("SELECT count(*) FROM alerts"), 1 + first_kept);
	ck_assert_int_eq(cs_value("SELECT count(*) FROM alerts WHERE id LIKE "
	    "'lost-%'"), 0);
	ck_assert_int_eq(cs_value("SELECT count(*) FROM audit WHERE alert LIKE "
	    "'lost-%' OR detail = 'in the lost transaction'"), 0);
	cs_verify_intact();
}
END_TEST

/* ---- callbacks ----------------------------------------------------------- */

START_TEST(callbacks_in_queue_order_with_their_results)
{
	struct audit_rec note = cs_rec("note", "", "between the publishes");
	struct store_regchange rc = { .base = 0, .author = "operator-a",
	    .approved_by = "", .source = "admin", .comment = "first revision",
	    .changes = "+ endpoint tr-police", .document = "endpoints: []\n",
	    .audit = cs_rec("registry_change", "", "rev 1") };
	struct audit_rec hist = cs_rec("history", "", "alerts/#");
	const struct cs_call *c;
	int last = -1, last_committed = -1;

	cs_publish(0, "order-1", "alerts/drugs/tr-bg");
	store_registry_commit(cs.st, &rc, cs_done, &cs.args[1]);
	cs_publish(2, "order-2", "alerts/drugs/tr-bg");
	store_audit(cs.st, &note);
	/* the same alert again, other content, another origin's id */
	cs_publish_as(3, CS_ORIGIN, "order-1", "alerts/drugs/tr-bg", 0, true);
	cs_publish_as(4, CS_ORIGIN, "order-1", "alerts/drugs/tr-bg", 1, true);
	cs_publish_as(5, "bg-customs", "order-2", "alerts/drugs/tr-bg", 0, true);
	store_registry_list(cs.st, false, 0, 10, false, false, cs_done,
	    &cs.args[6]);
	store_history(cs.st, 0, 0, INT64_MAX, 10, &hist, cs_done, &cs.args[7]);
	store_receipts(cs.st, CS_ORIGIN, "no-such-alert", &hist, cs_done,
	    &cs.args[8]);
	store_counts(cs.st, cs_done, &cs.args[9]);
	cs_publish(10, "order-3", "alerts/weapons/tr-bg");
	cs_wait(11);	/* operations 0-10: the note has no callback */

	/* callbacks in queue order, and committed ones in commit order */
	for (size_t i = 0; i < cs.ncalls; i++) {
		c = &cs.calls[i];
		if (c->committed) {
			ck_assert_int_eq(c->status, STORE_OK);
			ck_assert_int_gt(c->op, last_committed);
			last_committed = c->op;
			continue;
		}
		ck_assert_int_gt(c->op, last);
		last = c->op;
	}
	/*
	 * Committed callbacks: once each, for the publishes stored only, each
	 * before its operation's callback.
	 */
	for (int op = 0; op <= 10; op++) {
		size_t n = 0, at = 0, done = 0;

		for (size_t i = 0; i < cs.ncalls; i++) {
			if (cs.calls[i].op != op)
				continue;
			if (cs.calls[i].committed) {
				n++;
				at = i;
			} else
				done = i;
		}
		ck_assert_uint_eq(n, op == 0 || op == 2 || op == 10);
		if (n > 0)
			ck_assert_uint_lt(at, done);
	}

	/* the results, as read inside the callbacks */
	ck_assert_int_eq(cs_result(0)->status, STORE_OK);
	ck_assert_uint_gt(cs_result(0)->seq, 0);
	ck_assert_uint_eq(cs_result(2)->seq, cs_result(0)->seq + 1);
	ck_assert_uint_eq(cs_result(10)->seq, cs_result(2)->seq + 1);
	ck_assert_int_eq(cs_result(1)->status, STORE_OK);
	ck_assert_uint_eq(cs_result(1)->id, 1);
	ck_assert_int_eq(cs_result(3)->status, STORE_DUPLICATE);
	ck_assert_int_eq(cs_result(3)->published_at, cs_result(0)->published_at);
	ck_assert_int_eq(cs_result(4)->status, STORE_CONFLICT);
	ck_assert_int_eq(cs_result(5)->status, STORE_ID_TAKEN);
	ck_assert_int_eq(cs_result(6)->status, STORE_OK);
	ck_assert_str_eq(cs_result(6)->text, "operator-a first revision");
	ck_assert_int_eq(cs_result(7)->status, STORE_OK);
	ck_assert_str_eq(cs_result(7)->text, "order-1 body of order-1");
	ck_assert_int_eq(cs_result(8)->status, STORE_NOT_FOUND);
	ck_assert_int_eq(cs_result(9)->status, STORE_OK);
	cs_close();
	cs_verify_intact();
}
END_TEST

/* ---- alert seqs ------------------------------------------------------------ */

/* The highest alert seq stored, read with the store closed. */
static int64_t
cs_max_seq(void)
{
	return cs_value("SELECT coalesce(max(seq), 0) FROM alerts");
}

/*
 * An alert's seq is given once: not again to the operation after one
 * that failed alone or a transaction that was lost (their seqs are given
 * back: nothing committed had them), nor after retention deleted the
 * highest ones, nor after a restart on a store whose alerts are all gone.
 * A seq written into the store behind the broker is stepped over.
 */
START_TEST(alert_seq_never_reused)
{
	struct store_health h0, h1;
	sqlite3 *hold;
	uint64_t top;
	int64_t now;

	cs_add_fault(CS_FAULT_PUBLISH "CREATE TRIGGER test_fault_all BEFORE "
	    "INSERT ON alerts WHEN NEW.topic = 'alerts/lost/tr-bg' BEGIN "
	    "SELECT RAISE(ROLLBACK, 'test fault: transaction lost'); END;");
	/* an operation failing alone, in a batch run again with savepoints */
	store_health(cs.st, &h0);
	hold = cs_hold();
	cs_publish(0, "seq-before", "alerts/drugs/tr-bg");
	cs_let_writer_take();
	cs_publish(1, "seq-kept-1", "alerts/drugs/tr-bg");
	cs_publish(2, "seq-refused", "alerts/fault/tr-bg");
	cs_publish(3, "seq-kept-2", "alerts/drugs/tr-bg");
	cs_release(hold);
	cs_wait(4);
	store_health(cs.st, &h1);
	ck_assert_uint_le(h1.transactions - h0.transactions, 2);
	ck_assert_int_eq(cs_result(2)->status, STORE_FAILED);
	ck_assert_uint_eq(cs_result(1)->seq, cs_result(0)->seq + 1);
	ck_assert_uint_eq(cs_result(3)->seq, cs_result(1)->seq + 1);
	/* a transaction lost whole: none of its seqs was committed */
	hold = cs_hold();
	cs_publish(4, "seq-wait", "alerts/drugs/tr-bg");
	cs_let_writer_take();
	cs_publish(5, "seq-lost-1", "alerts/drugs/tr-bg");
	cs_publish(6, "seq-lost-2", "alerts/lost/tr-bg");
	cs_release(hold);
	cs_wait(7);
	ck_assert_int_eq(cs_result(5)->status, STORE_FAILED);
	ck_assert_int_eq(cs_result(6)->status, STORE_FAILED);
	cs_publish(7, "seq-after-lost", "alerts/drugs/tr-bg");
	cs_wait(8);
	top = cs_result(4)->status == STORE_OK ? cs_result(4)->seq :
	    cs_result(3)->seq;
	ck_assert_uint_eq(cs_result(7)->seq, top + 1);
	top = cs_result(7)->seq;
	cs_close();
	ck_assert_int_eq(cs_max_seq(), (int64_t)top);

	/* retention deletes every alert: the next seq is still past them */
	cs_open();
	usleep(1100 * 1000);
	now = time_now_us();
	store_purge(cs.st, now, now, 1, 0, 1000, 0, cs_done, &cs.args[8]);
	cs_wait(9);
	ck_assert_int_eq(cs_result(8)->status, STORE_OK);
	cs_close();
	ck_assert_int_eq(cs_value("SELECT count(*) FROM alerts"), 0);
	/* a restart on a store without alerts: the same */
	cs_open();
	cs_publish(9, "seq-after-restart", "alerts/drugs/tr-bg");
	cs_wait(10);
	ck_assert_int_eq(cs_result(9)->status, STORE_OK);
	ck_assert_uint_eq(cs_result(9)->seq, top + 1);
	top = cs_result(9)->seq;

	/* a seq stored behind the broker's back is stepped over, not lost */
	cs_sql("INSERT INTO alerts (seq, id, origin, topic, published_at, "
	    "digest, body) SELECT seq + 1, 'seq-behind', origin, topic, "
	    "published_at, digest, body FROM alerts WHERE id = "
	    "'seq-after-restart'");
	cs_publish(10, "seq-stepped-over", "alerts/drugs/tr-bg");
	cs_wait(11);
	ck_assert_int_eq(cs_result(10)->status, STORE_OK);
	ck_assert_uint_eq(cs_result(10)->seq, top + 2);
	cs_close();
	ck_assert_int_eq(cs_max_seq(), (int64_t)top + 2);
	cs_verify_intact();
}
END_TEST

/*
 * A publish refused for naming another origin's restricted alert had its
 * row and seq for a moment: after a restart that seq is not given again.
 */
START_TEST(refused_publish_keeps_its_seq)
{
	char ref[] = "seq-restricted";
	char *const refs[1] = { ref };
	struct store_publish p = {
		.id = "seq-restricted", .origin = "gr-police",
		.topic = "alerts/drugs/tr-bg", .published_at = time_now_us(),
		.severity = 3, .body = (const uint8_t *)"restricted",
		.body_len = 10, .restricted = true,
		.audit = { .event = "publish", .endpoint = "gr-police",
		    .alert = "seq-restricted", .detail = "alerts/drugs/tr-bg" },
	};
	uint64_t refused;

	store_publish(cs.st, &p, NULL, cs_done, &cs.args[0]);
	cs_wait(1);
	ck_assert_int_eq(cs_result(0)->status, STORE_OK);
	/* another origin's publish naming it: refused, its row deleted */
	p.id = p.audit.alert = "seq-refers";
	p.origin = p.audit.endpoint = CS_ORIGIN;
	p.restricted = false;
	p.refs = refs;
	p.nrefs = 1;
	store_publish(cs.st, &p, NULL, cs_done, &cs.args[1]);
	cs_wait(2);
	ck_assert_int_eq(cs_result(1)->status, STORE_RESTRICTED);
	refused = cs_result(0)->seq + 1;
	ck_assert_int_eq(cs_max_seq(), (int64_t)cs_result(0)->seq);
	cs_close();
	cs_open();
	cs_publish(2, "seq-after-refused", "alerts/drugs/tr-bg");
	cs_wait(3);
	ck_assert_int_eq(cs_result(2)->status, STORE_OK);
	ck_assert_uint_eq(cs_result(2)->seq, refused + 1);
	cs_close();
	cs_verify_intact();
}
END_TEST

/* ---- the audit chain ------------------------------------------------------ */

/* Write a few records of every kind the store writes; close the store. */
static void
cs_write_journal(void)
{
	struct audit_rec batch[2] = { cs_rec("deliver", "chain-1", "alerts/x"),
	    cs_rec("ack", "chain-1", "acknowledged") };
	struct audit_rec r = cs_rec("session_open", "", "tls1.3");
	/* a fan-out's records: one per recipient certificate */
	struct audit_rec to[2] = {
		{ .event = "deliver", .endpoint = "gr-police",
		  .subject = "CN=gr-police", .fingerprint = "ab12",
		  .peer = "127.0.0.1:1 127.0.0.1:3", .alert = "chain-1",
		  .detail = "alerts/drugs/tr-bg" },
		{ .event = "deliver", .endpoint = "tr-police",
		  .subject = "CN=tr-police", .fingerprint = "cd34",
		  .peer = "127.0.0.1:2", .alert = "chain-1",
		  .detail = "alerts/drugs/tr-bg", .transfer = true },
	};

	store_audit(cs.st, &r);
	cs_publish(0, "chain-1", "alerts/drugs/tr-bg");
	store_audit_batch(cs.st, batch, 2);
	store_audit_batch(cs.st, to, 2);
	cs_publish(1, "chain-2", "alerts/drugs/tr-bg");
	store_audit(cs.st, &r);
	cs_wait(2);
	cs_close();
}

/*
 * Flip one bit of the first byte of a column of record seq, in place, and
 * return the number of rows changed: of a blob or a text, or of the
 * decimal form of an integer.
 */
static int
cs_flip(sqlite3 *db, const char *column, int64_t seq)
{
	char sql[160];
	sqlite3_stmt *stmt;
	uint8_t buf[512];
	int len, type, n;

	snprintf(sql, sizeof(sql), "SELECT %s FROM audit WHERE seq = ?1", column);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
	sqlite3_bind_int64(stmt, 1, seq);
	ck_assert_int_eq(sqlite3_step(stmt), SQLITE_ROW);
	type = sqlite3_column_type(stmt, 0);
	len = sqlite3_column_bytes(stmt, 0);
	ck_assert_int_gt(len, 0);
	ck_assert_int_le(len, (int)sizeof(buf));
	memcpy(buf, sqlite3_column_blob(stmt, 0), (size_t)len);
	sqlite3_finalize(stmt);
	buf[0] ^= 0x02;		/* 'a' (0x61) becomes 'c' (0x63) */
	snprintf(sql, sizeof(sql), "UPDATE audit SET %s = ?1 WHERE seq = ?2",
	    column);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
	if (type == SQLITE_BLOB)
		sqlite3_bind_blob(stmt, 1, buf, len, SQLITE_TRANSIENT);
	else
		sqlite3_bind_text(stmt, 1, (const char *)buf, len,
		    SQLITE_TRANSIENT);
	sqlite3_bind_int64(stmt, 2, seq);
	ck_assert_int_eq(sqlite3_step(stmt), SQLITE_DONE);
	sqlite3_finalize(stmt);
	n = sqlite3_changes(db);
	return n;
}

/* Which field of record 4 gets a flipped bit, and what the report must say. */
static const struct {
	const char	*column;
	const char	*report;	/* in store_verify_audit's report */
} cs_damages[] = {
	{ "event",	"broken at record 4: its content does not match its hash" },
	{ "endpoint",	"broken at record 4: its content does not match its hash" },
	{ "detail",	"broken at record 4: its content does not match its hash" },
	{ "at",		"broken at record 4: its content does not match its hash" },
	{ "transfer",	"broken at record 4: its content does not match its hash" },
	{ "prev",	"broken at record 4: it does not chain to the record before it" },
	{ "hash",	"broken at record 4: its content does not match its hash" },
};

START_TEST(audit_chain_verifies_and_names_a_flipped_byte)
{
	char report[512];
	sqlite3 *db;

	cs_write_journal();
	cs_verify_intact();
	ck_assert_int_eq(cs_value("SELECT count(*) FROM audit"), 8);
	ck_assert_int_eq(cs_value("SELECT count(*) FROM audit WHERE seq = 4 AND "
	    "event = 'ack' AND detail = 'acknowledged'"), 1);
	for (size_t i = 0; i < sizeof(cs_damages) / sizeof(cs_damages[0]); i++) {
		const char *col = cs_damages[i].column;

		db = cs_db();
		ck_assert_int_eq(cs_flip(db, col, 4), 1);
		ck_assert_int_eq(cs_verify(report, sizeof(report)), 1);
		ck_assert_msg(strstr(report, cs_damages[i].report) != NULL,
		    "%s flipped: %s", col, report);
		/* the same bit flipped back: intact again */
		ck_assert_int_eq(cs_flip(db, col, 4), 1);
		sqlite3_close(db);
		cs_verify_intact();
	}
	/* a record taken out is named */
	cs_sql("DELETE FROM audit WHERE seq = 6");
	ck_assert_int_eq(cs_verify(report, sizeof(report)), 1);
	ck_assert_msg(strstr(report, "broken at record 7: record 6 is missing")
	    != NULL, "%s", report);
	/* one put in its place that does not chain */
	cs_sql("INSERT INTO audit SELECT 6, at, event, endpoint, subject, "
	    "fingerprint, peer, alert, detail, transfer, prev, hash FROM audit "
	    "WHERE seq = 5");
	ck_assert_int_eq(cs_verify(report, sizeof(report)), 1);
	ck_assert_msg(strstr(report, "broken at record 6: it does not chain")
	    != NULL, "%s", report);
}
END_TEST

/* ---- retention ------------------------------------------------------------ */

START_TEST(purge_keeps_the_chain_verifiable)
{
	struct audit_rec r = cs_rec("note", "", "old enough");
	struct audit_rec late = cs_rec("note", "", "after the purge");
	char report[512];
	int64_t now, nold, first;

	cs_publish(0, "old-1", "alerts/drugs/tr-bg");
	cs_publish(1, "old-2", "alerts/drugs/tr-bg");
	for (int i = 0; i < 5; i++)
		store_audit(cs.st, &r);
	cs_wait(2);
	cs_close();
	nold = cs_value("SELECT count(*) FROM audit");
	ck_assert_int_eq(nold, 7);
	cs_open();
	/* a retention of one second: all of them are older after that */
	usleep(1100 * 1000);
	now = time_now_us();
	store_purge(cs.st, now, now, 1, 1, 1000, 0, cs_done, &cs.args[2]);
	store_audit(cs.st, &late);
	cs_wait(3);
	ck_assert_int_eq(cs_result(2)->status, STORE_OK);
	cs_close();
	ck_assert_int_eq(cs_value("SELECT count(*) FROM alerts"), 0);
	first = cs_value("SELECT min(seq) FROM audit");
	ck_assert_int_eq(first, nold + 1);
	ck_assert_int_eq(cs_value("SELECT count(*) FROM audit"), 2);
	/* the purge record says what it removed, through which record */
	ck_assert_int_eq(cs_value("SELECT count(*) FROM audit WHERE event = "
	    "'purge' AND detail LIKE 'alerts=2 audit=7 audit_through=7 %'"), 1);
	ck_assert_int_eq(cs_verify(report, sizeof(report)), 0);
	ck_assert_msg(strstr(report, "from record 8 (the ones before were "
	    "purged by retention)") != NULL, "%s", report);

	/* its hash is the link to what is gone: a changed byte is named */
	cs_sql("UPDATE audit SET detail = replace(detail, 'audit_through=7 ', "
	    "'audit_through=6 ') WHERE event = 'purge'");
	ck_assert_int_eq(cs_verify(report, sizeof(report)), 1);
	ck_assert_msg(strstr(report, "it starts at record 8 and no purge record "
	    "accounts for the ones before") != NULL, "%s", report);
	cs_sql("UPDATE audit SET detail = replace(detail, 'audit_through=6 ', "
	    "'audit_through=7 ') WHERE event = 'purge'");
	cs_verify_intact();
	/* records removed without a purge that says so are reported */
	cs_sql("DELETE FROM audit WHERE seq = 8");
	ck_assert_int_eq(cs_verify(report, sizeof(report)), 1);
	ck_assert_msg(strstr(report, "it starts at record 9 and no purge record "
	    "accounts for the ones before") != NULL, "%s", report);
}
END_TEST

/* ---- one alert by id (the console's detail) --------------------------- */

#define CS_TOPIC	"alerts/drugs/tr-bg/kapikule"

/* Consult records of alert written with the test certificate's fields. */
static int64_t
cs_consults(const char *alert, const char *detail)
{
	char sql[512];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE event = "
	    "'consult' AND endpoint = 'gr-police' AND subject = 'CN=gr-police' "
	    "AND fingerprint = 'ab12' AND peer = '127.0.0.1:4000' AND alert = "
	    "'%s' AND detail = '%s' AND transfer = 0", alert, detail);
	return cs_value(sql);
}

/*
 * Read alert id as the test certificate (the record audit_consult()
 * builds) as operation op; its callback, after checking that it has its
 * row exactly when status is STORE_OK.
 */
static const struct cs_call *
cs_read_alert(int op, const char *id, enum store_status status)
{
	struct audit_rec rec = cs_rec("consult", id, "console");
	const struct cs_call *c;

	store_alert(cs.st, id, &rec, cs_done, &cs.args[op]);
	cs_wait(cs.ndone + 1);
	c = cs_result(op);
	ck_assert_msg(c->status == status, "%s: status %d, expected %d", id,
	    c->status, status);
	ck_assert_uint_eq(c->nrows, status == STORE_OK ? 1 : 0);
	return c;
}

/*
 * store_alert: the alert whatever its origin, with its consult record in
 * the chain; nothing, and no record, for an unknown id, an exercise alert
 * or an id a store from before gave to several origins.
 */
START_TEST(alert_by_id_with_its_consult_record)
{
	const struct cs_call *c;

	cs_publish(0, "a-1", CS_TOPIC);
	cs_publish_as(1, "gr-customs", "a-2", "alerts/customs/tr-gr/ipsala", 0,
	    false);
	cs_publish(2, "ex-1", "exercise/drugs/tr-bg/kapikule");
	cs_publish(3, "dup-1", CS_TOPIC);
	cs_wait(4);

	c = cs_read_alert(4, "a-1", STORE_OK);
	ck_assert_uint_eq(c->tag, cs_result(0)->seq);
	ck_assert_str_eq(c->text, "a-1 body of a-1");
	ck_assert_str_eq(c->where, CS_ORIGIN " " CS_TOPIC);
	c = cs_read_alert(5, "a-2", STORE_OK);
	ck_assert_uint_eq(c->tag, cs_result(1)->seq);
	ck_assert_str_eq(c->where, "gr-customs alerts/customs/tr-gr/ipsala");
	cs_read_alert(6, "no-such", STORE_NOT_FOUND);
	cs_read_alert(7, "ex-1", STORE_NOT_FOUND);

	/* a record for each alert read, none for what was not found */
	ck_assert_int_eq(cs_consults("a-1", "console topic=" CS_TOPIC), 1);
	ck_assert_int_eq(cs_consults("a-2",
	    "console topic=alerts/customs/tr-gr/ipsala"), 1);
	ck_assert_int_eq(cs_value("SELECT count(*) FROM audit WHERE event = "
	    "'consult'"), 2);

	/* an id a store from before ids were unique gave to several origins */
	cs_close();
	cs_sql("INSERT INTO alert_id_collisions VALUES ('dup-1')");
	cs_open();
	cs_read_alert(8, "dup-1", STORE_ID_TAKEN);
	ck_assert_int_eq(cs_value("SELECT count(*) FROM audit WHERE event = "
	    "'consult'"), 2);

	/* the records are in the chain; the alerts are as they were */
	cs_close();
	cs_verify_intact();
	ck_assert_int_eq(cs_value("SELECT count(*) FROM alerts"), 4);
}
END_TEST

/* A consult whose record fails hands out nothing and keeps nothing. */
START_TEST(failed_alert_read_keeps_no_record)
{
	cs_publish(0, "a-1", CS_TOPIC);
	cs_wait(1);
	cs_add_fault("CREATE TRIGGER no_consult BEFORE INSERT ON audit WHEN "
	    "NEW.event = 'consult' BEGIN SELECT RAISE(ABORT, 'disk I/O "
	    "error'); END");
	cs_read_alert(1, "a-1", STORE_FAILED);
	ck_assert_int_eq(cs_value("SELECT count(*) FROM audit WHERE event = "
	    "'consult'"), 0);
	cs_close();
	cs_sql("DROP TRIGGER no_consult");
	cs_verify_intact();
}
END_TEST

Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");

	tcase_add_checked_fixture(tc, cs_setup, cs_teardown);
	tcase_add_test(tc, group_commit_shares_transactions);
	tcase_add_test(tc, failing_operation_fails_alone);
	tcase_add_test(tc, lost_transaction_fails_every_operation);
	tcase_add_test(tc, callbacks_in_queue_order_with_their_results);
	tcase_add_test(tc, alert_seq_never_reused);
	tcase_add_test(tc, refused_publish_keeps_its_seq);
	tcase_add_test(tc, audit_chain_verifies_and_names_a_flipped_byte);
	tcase_add_test(tc, purge_keeps_the_chain_verifiable);
	tcase_add_test(tc, alert_by_id_with_its_consult_record);
	tcase_add_test(tc, failed_alert_read_keeps_no_record);
	suite_add_tcase(s, tc);
	return s;
}
