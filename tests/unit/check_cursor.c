/*
 * check_cursor.c — unit tests for durable delivery from the alert log
 * with cursors (store_sqlite_cursor.c through store.h): a real store in a
 * temporary directory with its own event loop, its operations run to
 * their callbacks one at a time. Alerts for two durable subscriptions at
 * several severities are fetched most severe first with their positions
 * as tags; acknowledgements out of order leave marks above the floor and
 * move it once the gap closes; the cursor survives a close and reopen,
 * and what was sent and not acknowledged comes again as redelivered;
 * dead letters after max attempts; expiry; the pending counts metrics
 * read; retention keeps what a subscription has not settled; sent
 * reserved ahead: a fetch within the reservation completes at its commit,
 * and an open after a crash takes the reservation as sent; receipts read
 * the batch records through the spans of the receipts index, exactly, and
 * a batch wider than a span's bound is cut.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "suites.h"
#include "timeutil.h"

#define SEC	INT64_C(1000000)
#define NONE	((const uint64_t[STORE_SEVERITIES]){ 0 })
#define T_RESERVE	100	/* positions a fetch reserves ahead */

/* One store under test: its directory, loop, and the last result seen. */
struct t_store {
	char		 dir[64];
	struct event_base *base;
	struct store	*st;
	bool		 called;
	/* a copy of what the callback got (results live only during it) */
	enum store_status status;
	uint64_t	 dsub_id, seq;
	uint64_t	 tags[64];
	uint32_t	 attempts[64];
	size_t		 nrows, dead, expired, nreceipts, purged;
	uint64_t	 next[STORE_SEVERITIES];
	bool		 at_commit;	/* fetch: called back at the commit */
	uint64_t	 open[4], deadcount[4];	/* counts: by endpoint, in name order */
	size_t		 nbacklogs;
	struct {				/* the first receipts, copied */
		char		 endpoint[32];
		int64_t		 delivered_at, acked_at;
		uint32_t	 deliveries;
	}		 rcpt[4];
	char		 id[40];	/* the id of the alert t_publish published last */
	bool		 expect_failure;	/* t_publish: the status is the test's */
};

/*
 * fdatasync(2) as this test binary has it (the store's syncer and SQLite
 * call it): the kernel's, or EIO for the next t_sync_failures calls.
 */
static int t_sync_failures;

int
fdatasync(int fd)
{
	if (__atomic_load_n(&t_sync_failures, __ATOMIC_ACQUIRE) > 0) {
		__atomic_fetch_sub(&t_sync_failures, 1, __ATOMIC_ACQ_REL);
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fdatasync, fd);
}

static void
t_cb(void *arg, const struct store_result *res)
{
	struct t_store *t = arg;

	t->called = true;
	t->status = res->status;
	t->dsub_id = res->dsub_id;
	t->seq = res->seq;
	t->nrows = res->nrows;
	for (size_t i = 0; i < res->nrows && i < 64; i++) {
		t->tags[i] = res->rows[i].tag;
		t->attempts[i] = res->rows[i].attempts;
	}
	t->dead = res->dead;
	t->expired = res->expired;
	t->nreceipts = res->nreceipts;
	t->purged = res->purged;
	memcpy(t->next, res->next, sizeof(t->next));
	t->at_commit = res->at_commit;
	t->nbacklogs = res->nbacklogs;
	for (size_t i = 0; i < res->nbacklogs && i < 4; i++) {
		t->open[i] = res->backlogs[i].open;
		t->deadcount[i] = res->backlogs[i].dead;
	}
	for (size_t i = 0; i < res->nreceipts && i < 4; i++) {
		const struct store_receipt *r = &res->receipts[i];

		snprintf(t->rcpt[i].endpoint, sizeof(t->rcpt[i].endpoint), "%s",
		    r->endpoint ? r->endpoint : "");
		t->rcpt[i].delivered_at = r->delivered_at;
		t->rcpt[i].acked_at = r->acked_at;
		t->rcpt[i].deliveries = r->deliveries;
	}
}

/* Run the loop until the operation just queued has called back. */
static void
t_wait(struct t_store *t)
{
	while (!t->called)
		event_base_loop(t->base, EVLOOP_ONCE);
	t->called = false;
}

static void
t_open(struct t_store *t)
{
	char err[512];

	t->base = event_base_new();
	ck_assert_ptr_nonnull(t->base);
	t->st = store_open(t->base, t->dir, err, sizeof(err));
	ck_assert_msg(t->st != NULL, "%s", err);
}

static void
t_close(struct t_store *t)
{
	store_close(t->st);
	event_base_free(t->base);
}

static void
t_start(struct t_store *t)
{
	memset(t, 0, sizeof(*t));
	log_set_level(LL_WARN);	/* migrations and closes say nothing useful here */
	snprintf(t->dir, sizeof(t->dir), "/tmp/check_cursor.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t->dir));
	t_open(t);
}

static void
t_end(struct t_store *t)
{
	char cmd[128];

	t_close(t);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	ck_assert_int_eq(system(cmd), 0);
}

static uint64_t
t_subscribe(struct t_store *t, const char *endpoint, const char *name)
{
	char *pat[] = { (char *)"alerts/#" };

	store_subscribe(t->st, endpoint, name, pat, 1, t_cb, t);
	t_wait(t);
	ck_assert_int_eq(t->status, STORE_OK);
	return t->dsub_id;
}

/* A fresh store with two subscriptions, a of bg-police and b of gr-police. */
static void
t_start_two(struct t_store *t, uint64_t *a, uint64_t *b)
{
	t_start(t);
	*a = t_subscribe(t, "bg-police", "a");
	*b = t_subscribe(t, "gr-police", "b");
}

/*
 * Publish alert id (NULL: a new one, its id into t->id) of severity sev
 * for the n subscriptions of ids; its seq.
 */
static uint64_t
t_publish_id(struct t_store *t, const char *id, int sev, int64_t expires,
    const uint64_t *ids, size_t n)
{
	static int k;
	struct store_publish p;

	if (id == NULL)
		snprintf(t->id, sizeof(t->id), "0190aaaa-0000-7000-8000-%012d",
		    ++k);
	else
		snprintf(t->id, sizeof(t->id), "%s", id);
	memset(&p, 0, sizeof(p));
	p.id = t->id;
	p.origin = "tr-police";
	p.topic = "alerts/drugs/tr-gr";
	p.published_at = time_now_us();
	p.expires_at = expires;
	p.severity = sev;
	p.body = (const uint8_t *)"body";
	p.body_len = 4;
	p.dsubs = ids;
	p.ndsubs = n;
	p.audit.event = "publish";
	p.audit.endpoint = "tr-police";
	p.audit.alert = t->id;	/* as the broker journals a publish */
	store_publish(t->st, &p, NULL, t_cb, t);
	t_wait(t);
	if (t->expect_failure)
		return 0;
	ck_assert_int_eq(t->status, STORE_OK);
	return t->seq;
}

/* Publish a new alert of severity sev for the n subscriptions of ids. */
static uint64_t
t_publish(struct t_store *t, int sev, int64_t expires, const uint64_t *ids,
    size_t n)
{
	return t_publish_id(t, NULL, sev, expires, ids, n);
}

static void
t_fetch(struct t_store *t, uint64_t dsub, const uint64_t *exclude, size_t nx,
    size_t limit, uint32_t max, const uint64_t start[STORE_SEVERITIES])
{
	store_fetch(t->st, dsub, exclude, nx, limit, 0, max, start, T_RESERVE,
	    t_cb, t);
	t_wait(t);
	ck_assert_int_eq(t->status, STORE_OK);
}

static size_t
t_ack(struct t_store *t, uint64_t dsub, const uint64_t *tags, size_t n)
{
	struct audit_rec ar = { .event = "ack", .endpoint = "bg-police",
	    .detail = "sub" };

	store_ack(t->st, dsub, tags, n, &ar, t_cb, t);
	t_wait(t);
	ck_assert_int_eq(t->status, STORE_OK);
	return t->nreceipts;
}

/* One integer from the store's file, read beside the open store (WAL). */
static int64_t
t_value(struct t_store *t, const char *sql)
{
	char path[128];
	sqlite3 *db;
	sqlite3_stmt *stmt;
	int64_t v = -1;

	snprintf(path, sizeof(path), "%s/ccc.db", t->dir);
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return v;
}

/* Change the file of a closed store: the state a crash leaves. */
static void
t_exec(struct t_store *t, const char *sql)
{
	char path[128];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/ccc.db", t->dir);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

static int64_t
t_cursor(struct t_store *t, uint64_t dsub, int sev, const char *col)
{
	char sql[160];

	snprintf(sql, sizeof(sql), "SELECT %s FROM cursors WHERE dsub = %llu "
	    "AND severity = %d", col, (unsigned long long)dsub, sev);
	return t_value(t, sql);
}

/*
 * Two subscriptions, alerts at three severities: most severe first,
 * publishing order within one, tags the positions; each subscription
 * only its own; first deliveries write no mark, only sent.
 */
START_TEST(fetch_by_severity_then_position)
{
	struct t_store t;
	uint64_t a, b, both[2], seq[6];

	t_start_two(&t, &a, &b);
	both[0] = b;	/* unsorted on purpose: the store sorts */
	both[1] = a;
	seq[0] = t_publish(&t, 1, 0, both, 2);
	seq[1] = t_publish(&t, 3, 0, &a, 1);
	seq[2] = t_publish(&t, 1, 0, &b, 1);
	seq[3] = t_publish(&t, 4, 0, both, 2);
	seq[4] = t_publish(&t, 3, 0, both, 2);
	seq[5] = t_publish(&t, 2, 0, &a, 1);
	ck_assert_int_eq(t_cursor(&t, a, 3, "pending"), 2);
	ck_assert_int_eq(t_cursor(&t, b, 1, "pending"), 2);

	t_fetch(&t, a, NULL, 0, 10, 5, NONE);
	ck_assert_uint_eq(t.nrows, 5);
	ck_assert_uint_eq(t.tags[0], seq[3]);
	ck_assert_uint_eq(t.tags[1], seq[1]);
	ck_assert_uint_eq(t.tags[2], seq[4]);
	ck_assert_uint_eq(t.tags[3], seq[5]);
	ck_assert_uint_eq(t.tags[4], seq[0]);
	for (size_t i = 0; i < t.nrows; i++)
		ck_assert_uint_eq(t.attempts[i], 0);
	ck_assert_uint_eq(t.next[3], seq[4]);
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM marks"), 0);
	ck_assert_int_eq(t_cursor(&t, a, 3, "sent"), (int64_t)seq[4]);

	t_fetch(&t, b, NULL, 0, 2, 5, NONE);	/* the window: two */
	ck_assert_uint_eq(t.nrows, 2);
	ck_assert_uint_eq(t.tags[0], seq[3]);
	ck_assert_uint_eq(t.tags[1], seq[4]);
	/* going on after where it stopped, the ones in flight excluded */
	t_fetch(&t, b, t.tags, 2, 10, 5, t.next);
	ck_assert_uint_eq(t.nrows, 2);
	ck_assert_uint_eq(t.tags[0], seq[0]);
	ck_assert_uint_eq(t.tags[1], seq[2]);
	/* nothing new: nothing read again */
	t_fetch(&t, b, NULL, 0, 10, 5, t.next);
	ck_assert_uint_eq(t.nrows, 0);
	t_end(&t);
}
END_TEST

/*
 * Acknowledgements out of order: an acked mark above the floor, the
 * floor unmoved; the gap acknowledged: the floor passes both and the mark
 * goes. Acks of a position not sent, or another subscription's, or twice,
 * settle nothing. Pending follows exactly.
 */
START_TEST(ack_out_of_order_moves_the_floor)
{
	struct t_store t;
	uint64_t a, b, seq[4], tag;

	t_start_two(&t, &a, &b);
	for (int i = 0; i < 4; i++)
		seq[i] = t_publish(&t, 3, 0, &a, 1);
	(void)t_publish(&t, 3, 0, &b, 1);
	t_fetch(&t, a, NULL, 0, 3, 5, NONE);	/* the first three sent */
	ck_assert_uint_eq(t.nrows, 3);

	ck_assert_uint_eq(t_ack(&t, a, &seq[3], 1), 0);	/* never sent */
	ck_assert_uint_eq(t_ack(&t, b, &seq[1], 1), 0);	/* not b's */
	ck_assert_uint_eq(t_ack(&t, a, &seq[1], 1), 1);
	ck_assert_uint_eq(t_ack(&t, a, &seq[1], 1), 0);	/* twice */
	ck_assert_int_eq(t_cursor(&t, a, 3, "floor"), 0);
	ck_assert_int_eq(t_cursor(&t, a, 3, "pending"), 3);
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM marks WHERE "
	    "state = 1"), 1);
	tag = seq[0];
	ck_assert_uint_eq(t_ack(&t, a, &tag, 1), 1);
	ck_assert_int_eq(t_cursor(&t, a, 3, "floor"), (int64_t)seq[1]);
	ck_assert_int_eq(t_cursor(&t, a, 3, "pending"), 2);
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM marks"), 0);
	/* one ack record per Ack batch: the single-alert form here */
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM audit WHERE "
	    "event = 'ack'"), 2);
	t_end(&t);
}
END_TEST

/*
 * Close and reopen: the floor and the marks persist; a fetch from the
 * floor sends again what was sent and not acknowledged, redelivered
 * once, and not what was acknowledged; the next time it is counted twice.
 * A batch ack writes one record naming both alerts, with its index row.
 */
START_TEST(cursor_persists_and_redelivers)
{
	struct t_store t;
	uint64_t a, seq[4], two[2];

	t_start(&t);
	a = t_subscribe(&t, "bg-police", "a");
	for (int i = 0; i < 4; i++)
		seq[i] = t_publish(&t, 2, 0, &a, 1);
	t_fetch(&t, a, NULL, 0, 10, 5, NONE);
	ck_assert_uint_eq(t.nrows, 4);
	ck_assert_uint_eq(t_ack(&t, a, &seq[2], 1), 1);
	t_close(&t);
	t_open(&t);
	t_fetch(&t, a, NULL, 0, 10, 5, NONE);
	ck_assert_uint_eq(t.nrows, 3);
	ck_assert_uint_eq(t.tags[0], seq[0]);
	ck_assert_uint_eq(t.tags[1], seq[1]);
	ck_assert_uint_eq(t.tags[2], seq[3]);
	for (size_t i = 0; i < 3; i++)
		ck_assert_uint_eq(t.attempts[i], 1);
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM marks WHERE "
	    "state = 0 AND attempts = 2"), 3);
	two[0] = seq[1];
	two[1] = seq[0];
	ck_assert_uint_eq(t_ack(&t, a, two, 2), 2);
	ck_assert_int_eq(t_cursor(&t, a, 2, "floor"), (int64_t)seq[2]);
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM audit WHERE "
	    "event = 'ack' AND alert = '' AND detail LIKE 'subscription=sub "
	    "alerts=%,%'"), 1);
	/* the receipts index: one span for the two nearby positions */
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM audit_spans"), 1);
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM audit_spans WHERE "
	    "lo = (SELECT min(seq) FROM alerts) AND hi = (SELECT min(seq) + 1 "
	    "FROM alerts)"), 1);
	t_close(&t);
	t_open(&t);
	t_fetch(&t, a, NULL, 0, 10, 5, NONE);
	ck_assert_uint_eq(t.nrows, 1);
	ck_assert_uint_eq(t.tags[0], seq[3]);
	ck_assert_uint_eq(t.attempts[0], 2);
	t_end(&t);
}
END_TEST

/*
 * After max attempts an alert goes to the dead letters (kept, counted),
 * an expired one is dropped; both settle, so the floor moves past them;
 * store_counts gives pending and dead per endpoint without a scan.
 */
START_TEST(dead_letters_expiry_and_counts)
{
	struct t_store t;
	uint64_t a, b, seq[3];

	t_start_two(&t, &a, &b);
	seq[0] = t_publish(&t, 3, 0, &a, 1);
	seq[1] = t_publish(&t, 3, time_now_us() - SEC, &a, 1);	/* expired */
	seq[2] = t_publish(&t, 1, 0, &b, 1);
	t_fetch(&t, a, NULL, 0, 10, 2, NONE);
	ck_assert_uint_eq(t.nrows, 1);
	ck_assert_uint_eq(t.expired, 1);
	t_fetch(&t, a, NULL, 0, 10, 2, NONE);
	ck_assert_uint_eq(t.nrows, 1);
	ck_assert_uint_eq(t.attempts[0], 1);
	t_fetch(&t, a, NULL, 0, 10, 2, NONE);
	ck_assert_uint_eq(t.nrows, 0);
	ck_assert_uint_eq(t.dead, 1);
	ck_assert_int_eq(t_cursor(&t, a, 3, "pending"), 0);
	ck_assert_int_eq(t_cursor(&t, a, 3, "floor"), (int64_t)seq[1]);
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM marks WHERE "
	    "state = 2 AND attempts = 2"), 1);
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM marks WHERE "
	    "state <> 2"), 0);
	store_counts(t.st, t_cb, &t);
	t_wait(&t);
	ck_assert_uint_eq(t.nbacklogs, 2);
	ck_assert_uint_eq(t.open[0], 0);	/* bg-police */
	ck_assert_uint_eq(t.deadcount[0], 1);
	ck_assert_uint_eq(t.open[1], 1);	/* gr-police */
	ck_assert_uint_eq(t.deadcount[1], 0);
	(void)seq[2];
	t_end(&t);
}
END_TEST

/*
 * Retention keeps an alert a subscription has not settled, whatever its
 * age, and deletes the settled ones with their marks.
 */
START_TEST(retention_keeps_unsettled)
{
	struct t_store t;
	uint64_t a, b, both[2], seq[3];

	t_start_two(&t, &a, &b);
	both[0] = a;
	both[1] = b;
	seq[0] = t_publish(&t, 3, 0, both, 2);
	seq[1] = t_publish(&t, 3, 0, &a, 1);
	seq[2] = t_publish(&t, 3, 0, &a, 1);
	(void)t_publish(&t, 3, 0, NULL, 0);	/* nobody's */
	t_fetch(&t, a, NULL, 0, 10, 5, NONE);
	ck_assert_uint_eq(t_ack(&t, a, &seq[2], 1), 1);	/* a mark */
	ck_assert_uint_eq(t_ack(&t, a, &seq[0], 1), 1);	/* b still has it */
	store_purge(t.st, time_now_us() + 3600 * SEC, time_now_us(), 60, 0,
	    100, 0, t_cb, &t);
	t_wait(&t);
	ck_assert_int_eq(t.status, STORE_OK);
	ck_assert_uint_eq(t.purged, 2);	/* seq[2] and nobody's */
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM alerts"), 2);
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM marks"), 0);
	(void)seq[1];
	t_end(&t);
}
END_TEST

/*
 * A window's worth of expired alerts: the fetch settles them and stops,
 * sending nothing, with where it stopped; the next one goes on from there
 * and finds the rest.
 */
START_TEST(fetch_stops_after_a_window_of_settled)
{
	struct t_store t;
	uint64_t a, b, seq[4];

	t_start_two(&t, &a, &b);
	for (int i = 0; i < 3; i++)
		seq[i] = t_publish(&t, 2, time_now_us() - SEC, &a, 1);
	seq[3] = t_publish(&t, 2, 0, &a, 1);
	t_fetch(&t, a, NULL, 0, 2, 5, NONE);
	ck_assert_uint_eq(t.nrows, 0);
	ck_assert_uint_eq(t.expired, 2);
	ck_assert_uint_eq(t.next[2], seq[1]);
	t_fetch(&t, a, NULL, 0, 2, 5, t.next);
	ck_assert_uint_eq(t.nrows, 1);
	ck_assert_uint_eq(t.tags[0], seq[3]);
	ck_assert_uint_eq(t.expired, 1);
	ck_assert_int_eq(t_cursor(&t, a, 2, "floor"), (int64_t)seq[2]);
	ck_assert_int_eq(t_cursor(&t, a, 2, "pending"), 1);
	(void)b;
	t_end(&t);
}
END_TEST

/*
 * One Ack mixing every kind of tag, settled by one statement: unknown
 * positions, another subscription's alert, one never sent, one settled
 * before, a late one (sent again after a restart, the first delivery's
 * ack arriving now) and fresh ones at two severities. Only the late and
 * fresh ones settle: one receipt each, the floors pass them, pending
 * drops by exactly them, their marks go, and one ack record names them.
 * The same Ack again settles nothing and writes no record.
 */
START_TEST(ack_mixes_unknown_settled_late_and_fresh)
{
	struct t_store t;
	uint64_t a, b, seq[8], mixed[8];

	t_start_two(&t, &a, &b);
	for (int i = 0; i < 5; i++)
		seq[i] = t_publish(&t, 3, 0, &a, 1);
	seq[5] = t_publish(&t, 1, 0, &a, 1);
	seq[6] = t_publish(&t, 3, 0, &b, 1);
	t_fetch(&t, a, NULL, 0, 10, 5, NONE);
	ck_assert_uint_eq(t.nrows, 6);
	ck_assert_uint_eq(t_ack(&t, a, &seq[1], 1), 1);
	t_close(&t);
	t_open(&t);
	t_fetch(&t, a, NULL, 0, 5, 5, NONE);	/* 0, 2, 3, 4 and 5 again */
	ck_assert_uint_eq(t.nrows, 5);
	ck_assert_uint_eq(t.tags[0], seq[0]);
	ck_assert_uint_eq(t.attempts[0], 1);
	ck_assert_uint_eq(t.tags[4], seq[5]);
	seq[7] = t_publish(&t, 3, 0, &a, 1);	/* never sent */
	ck_assert_int_eq(t_cursor(&t, a, 3, "pending"), 5);

	mixed[0] = seq[5];	/* fresh, severity 1 */
	mixed[1] = 999999;	/* unknown */
	mixed[2] = seq[7];	/* never sent */
	mixed[3] = seq[6];	/* b's */
	mixed[4] = seq[1];	/* settled before */
	mixed[5] = seq[0];	/* late */
	mixed[6] = seq[2];	/* fresh */
	mixed[7] = seq[2];	/* twice in one Ack: settled once */
	ck_assert_uint_eq(t_ack(&t, a, mixed, 8), 3);
	ck_assert_int_eq(t_cursor(&t, a, 3, "floor"), (int64_t)seq[2]);
	ck_assert_int_eq(t_cursor(&t, a, 3, "pending"), 3);
	ck_assert_int_eq(t_cursor(&t, a, 1, "floor"), (int64_t)seq[5]);
	ck_assert_int_eq(t_cursor(&t, a, 1, "pending"), 0);
	ck_assert_int_eq(t_cursor(&t, b, 3, "pending"), 1);
	/* left: the redelivery counts of 3 and 4, nothing acked above a floor */
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM marks"), 2);
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM marks WHERE "
	    "state = 0 AND attempts = 2"), 2);
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM audit WHERE "
	    "event = 'ack'"), 2);
	/* its three alerts (two severities) in one span of the index */
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM audit_spans"), 1);
	ck_assert_int_eq(t_value(&t, "SELECT hi - lo FROM audit_spans"),
	    (int64_t)(seq[5] - seq[0]));

	ck_assert_uint_eq(t_ack(&t, a, mixed, 8), 0);
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM audit WHERE "
	    "event = 'ack'"), 2);
	ck_assert_int_eq(t_cursor(&t, a, 3, "pending"), 3);
	t_end(&t);
}
END_TEST

/*
 * A fetch bounded in bytes: it stops before the alert whose body would
 * pass the bound, where the next fetch goes on; the first alert is
 * returned whatever its size, so that a fetch always makes progress.
 */
START_TEST(fetch_bounded_in_bytes)
{
	struct t_store t;
	uint64_t a, b, seq[3];

	t_start_two(&t, &a, &b);
	for (int i = 0; i < 3; i++)
		seq[i] = t_publish(&t, 2, 0, &a, 1);	/* 4-byte bodies */
	store_fetch(t.st, a, NULL, 0, 10, 9, 5, NONE, T_RESERVE, t_cb, &t);
	t_wait(&t);
	ck_assert_int_eq(t.status, STORE_OK);
	ck_assert_uint_eq(t.nrows, 2);
	ck_assert_uint_eq(t.next[2], seq[1]);
	ck_assert_int_eq(t_cursor(&t, a, 2, "sent"), (int64_t)seq[1]);
	store_fetch(t.st, a, t.tags, 2, 10, 1, 5, t.next, T_RESERVE, t_cb,
	    &t);
	t_wait(&t);
	ck_assert_uint_eq(t.nrows, 1);
	ck_assert_uint_eq(t.tags[0], seq[2]);
	(void)b;
	t_end(&t);
}
END_TEST

/* A fetch from the floor reserving r positions ahead (5 attempts). */
static void
t_fetch_reserving(struct t_store *t, uint64_t dsub, size_t limit, uint64_t r)
{
	store_fetch(t->st, dsub, NULL, 0, limit, 0, 5, NONE, r, t_cb, t);
	t_wait(t);
	ck_assert_int_eq(t->status, STORE_OK);
}

/*
 * sent reserved ahead: a fetch that sends a position past the reservation
 * raises it that many positions past what it sent, and completes after
 * the sync; a fetch within it (every raise synced) completes at its
 * commit, writing sent and leaving the reservation as it is.
 */
START_TEST(fetch_within_the_reservation_completes_at_commit)
{
	struct t_store t;
	uint64_t a, seq[7];

	t_start(&t);
	a = t_subscribe(&t, "bg-police", "a");
	for (int i = 0; i < 3; i++)
		seq[i] = t_publish(&t, 2, 0, &a, 1);
	t_fetch_reserving(&t, a, 10, 3);
	ck_assert_uint_eq(t.nrows, 3);
	ck_assert(!t.at_commit);
	ck_assert_int_eq(t_cursor(&t, a, 2, "sent"), (int64_t)seq[2]);
	ck_assert_int_eq(t_cursor(&t, a, 2, "reserved"), (int64_t)seq[2] + 3);
	ck_assert_uint_eq(t_ack(&t, a, seq, 3), 3);

	/* two positions within the reservation */
	for (int i = 3; i < 5; i++)
		seq[i] = t_publish(&t, 2, 0, &a, 1);
	ck_assert_uint_eq(seq[4], seq[2] + 2);
	t_fetch_reserving(&t, a, 10, 3);
	ck_assert_uint_eq(t.nrows, 2);
	ck_assert_uint_eq(t.tags[1], seq[4]);
	ck_assert(t.at_commit);
	ck_assert_int_eq(t_cursor(&t, a, 2, "sent"), (int64_t)seq[4]);
	ck_assert_int_eq(t_cursor(&t, a, 2, "reserved"), (int64_t)seq[2] + 3);
	ck_assert_uint_eq(t_ack(&t, a, &seq[3], 2), 2);

	/* the second of these passes it: raised again, after the sync */
	for (int i = 5; i < 7; i++)
		seq[i] = t_publish(&t, 2, 0, &a, 1);
	ck_assert_uint_eq(seq[6], seq[2] + 4);
	t_fetch_reserving(&t, a, 10, 3);
	ck_assert_uint_eq(t.nrows, 2);
	ck_assert(!t.at_commit);
	ck_assert_int_eq(t_cursor(&t, a, 2, "sent"), (int64_t)seq[6]);
	ck_assert_int_eq(t_cursor(&t, a, 2, "reserved"), (int64_t)seq[6] + 3);
	t_end(&t);
}
END_TEST

/*
 * Once a sync failed, what the kernel kept of the commits before it is
 * unknown: for the rest of the run no fetch completes at its commit, not
 * even within a reservation synced before.
 */
START_TEST(no_fetch_at_commit_after_a_failed_sync)
{
	struct t_store t;
	uint64_t a, seq[3];

	t_start(&t);
	a = t_subscribe(&t, "bg-police", "a");
	seq[0] = t_publish(&t, 2, 0, &a, 1);
	t_fetch_reserving(&t, a, 10, 100);
	ck_assert(!t.at_commit);
	ck_assert_uint_eq(t_ack(&t, a, seq, 1), 1);
	/* within the reservation: at the commit */
	seq[1] = t_publish(&t, 2, 0, &a, 1);
	t_fetch_reserving(&t, a, 10, 100);
	ck_assert_uint_eq(t.nrows, 1);
	ck_assert(t.at_commit);
	ck_assert_uint_eq(t_ack(&t, a, &seq[1], 1), 1);
	/* a publish whose sync fails, then one whose sync succeeds */
	t.expect_failure = true;
	__atomic_store_n(&t_sync_failures, 1, __ATOMIC_RELEASE);
	(void)t_publish(&t, 2, 0, &a, 1);
	ck_assert_int_eq(t.status, STORE_FAILED);
	t.expect_failure = false;
	seq[2] = t_publish(&t, 2, 0, &a, 1);
	/* still within the reservation, but no longer at the commit */
	t_fetch_reserving(&t, a, 10, 100);
	ck_assert_uint_ge(t.nrows, 1);
	ck_assert_uint_eq(t.tags[t.nrows - 1], seq[2]);
	ck_assert(!t.at_commit);
	t_end(&t);
}
END_TEST

/*
 * A clean close brings the reservation down to sent: after a restart
 * nothing more is flagged. After a crash (the reservation left ahead of
 * sent) the open takes the reservation as sent, down to the last position
 * of the log: the reserved positions not sent come flagged redelivered,
 * as one attempt, but are sent before they can go to the dead letters
 * (max attempts 1 here); an alert published after the restart is not
 * flagged.
 */
START_TEST(open_takes_the_reservation_as_sent)
{
	struct t_store t;
	uint64_t a, seq[6];
	char sql[160];

	t_start(&t);
	a = t_subscribe(&t, "bg-police", "a");
	for (int i = 0; i < 5; i++)
		seq[i] = t_publish(&t, 2, 0, &a, 1);
	t_fetch_reserving(&t, a, 2, 100);
	ck_assert_uint_eq(t.nrows, 2);
	ck_assert_int_eq(t_cursor(&t, a, 2, "reserved"), (int64_t)seq[1] + 100);
	t_close(&t);
	ck_assert_int_eq(t_cursor(&t, a, 2, "reserved"), (int64_t)seq[1]);
	t_open(&t);
	ck_assert_int_eq(t_cursor(&t, a, 2, "sent"), (int64_t)seq[1]);
	t_close(&t);

	/* what a crash leaves: the reservation ahead of sent */
	snprintf(sql, sizeof(sql), "UPDATE cursors SET reserved = %llu",
	    (unsigned long long)seq[1] + 100);
	t_exec(&t, sql);
	t_open(&t);
	ck_assert_int_eq(t_cursor(&t, a, 2, "sent"), (int64_t)seq[4]);
	ck_assert_int_eq(t_cursor(&t, a, 2, "assumed_lo"), (int64_t)seq[1]);
	ck_assert_int_eq(t_cursor(&t, a, 2, "assumed_hi"), (int64_t)seq[4]);
	seq[5] = t_publish(&t, 2, 0, &a, 1);
	t_fetch(&t, a, NULL, 0, 10, 1, NONE);
	ck_assert_uint_eq(t.dead, 2);		/* seq[0], seq[1]: sent once */
	ck_assert_uint_eq(t.nrows, 4);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_uint_eq(t.tags[i], seq[2 + i]);
		ck_assert_uint_eq(t.attempts[i], 1);
	}
	ck_assert_uint_eq(t.tags[3], seq[5]);
	ck_assert_uint_eq(t.attempts[3], 0);
	/* each sent once now: dead letters at the next fetch */
	t_fetch(&t, a, NULL, 0, 10, 1, NONE);
	ck_assert_uint_eq(t.nrows, 0);
	ck_assert_uint_eq(t.dead, 4);
	t_end(&t);
}
END_TEST

/*
 * The "deliver" record of a fetch's batch, as durable.c journals it:
 * endpoint's, naming the n alerts ids at positions seqs, in that order.
 */
static void
t_sent(struct t_store *t, const char *endpoint, const char *name,
    const char *const *ids, const uint64_t *seqs, size_t n)
{
	struct audit_rec ar = { .event = "deliver", .endpoint = endpoint,
	    .peer = "127.0.0.1:1", .detail = name };

	store_audit_sent(t->st, &ar, ids, seqs, n, "alerts/drugs/tr-gr");
}

/* The receipts of alert id (tr-police's): how many, the first ones copied. */
static size_t
t_receipts(struct t_store *t, const char *id)
{
	struct audit_rec ar = { .event = "receipts_read",
	    .endpoint = "tr-police" };

	store_receipts(t->st, "tr-police", id, &ar, t_cb, t);
	t_wait(t);
	ck_assert_int_eq(t->status, STORE_OK);
	return t->nreceipts;
}

/* Receipt i of the last t_receipts: endpoint's, delivered, acked or not. */
static void
t_receipt_is(struct t_store *t, size_t i, const char *endpoint, bool acked)
{
	ck_assert_str_eq(t->rcpt[i].endpoint, endpoint);
	ck_assert_uint_eq(t->rcpt[i].deliveries, 1);
	ck_assert_int_gt(t->rcpt[i].delivered_at, 0);
	if (acked)
		ck_assert_int_ge(t->rcpt[i].acked_at, t->rcpt[i].delivered_at);
	else
		ck_assert_int_eq(t->rcpt[i].acked_at, 0);
}

/*
 * Receipts read the batch records through spans of positions, exactly:
 * a's batches name its first and third alerts, one span each covering
 * b's alert between them, which they do not name; receipts of b's alert
 * count only b's delivery, not a's records, and a's alerts a's.
 */
START_TEST(receipts_exact_with_spans)
{
	struct t_store t;
	uint64_t a, b, seq[3];
	char ids[3][40];
	const char *mine[2] = { ids[0], ids[2] }, *theirs[1] = { ids[1] };

	t_start_two(&t, &a, &b);
	for (int i = 0; i < 3; i++) {
		seq[i] = t_publish(&t, 3, 0, i == 1 ? &b : &a, 1);
		snprintf(ids[i], sizeof(ids[i]), "%s", t.id);
	}
	t_fetch(&t, a, NULL, 0, 10, 5, NONE);
	ck_assert_uint_eq(t.nrows, 2);
	t_sent(&t, "bg-police", "a", mine, (uint64_t[]){ seq[0], seq[2] }, 2);
	ck_assert_uint_eq(t_ack(&t, a, (uint64_t[]){ seq[0], seq[2] }, 2), 2);
	t_fetch(&t, b, NULL, 0, 10, 5, NONE);
	ck_assert_uint_eq(t.nrows, 1);
	t_sent(&t, "gr-police", "b", theirs, &seq[1], 1);
	/* one span per batch record, over b's alert too */
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM audit_spans"), 2);
	ck_assert_int_eq(t_value(&t, "SELECT count(DISTINCT lo || '-' || hi) "
	    "FROM audit_spans"), 1);
	ck_assert_int_eq(t_value(&t, "SELECT min(lo) FROM audit_spans"),
	    (int64_t)seq[0]);
	ck_assert_int_eq(t_value(&t, "SELECT max(hi) FROM audit_spans"),
	    (int64_t)seq[2]);

	ck_assert_uint_eq(t_receipts(&t, ids[1]), 1);
	t_receipt_is(&t, 0, "gr-police", false);
	for (int i = 0; i < 3; i += 2) {
		ck_assert_uint_eq(t_receipts(&t, ids[i]), 1);
		t_receipt_is(&t, 0, "bg-police", true);
	}
	t_end(&t);
}
END_TEST

/* Give the next alert published position seq: with t's store closed. */
static void
t_next_seq(struct t_store *t, uint64_t seq)
{
	char path[128], sql[128];
	sqlite3 *db;

	t_close(t);
	snprintf(path, sizeof(path), "%s/ccc.db", t->dir);
	snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO alert_seq_floor "
	    "(id, seq) VALUES (1, %llu)", (unsigned long long)seq - 1);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	t_open(t);
}

/*
 * A batch wider than the bound is cut into spans no wider than it: of
 * positions x0, x0 + 4096 (the bound: the same span) and x0 + 8193, two
 * rows per record; receipts find each alert, at either end of a span.
 * The fetch gives the most severe first (x2): the store sorts them.
 */
START_TEST(wide_batch_split_into_spans)
{
	struct t_store t;
	uint64_t a, seq[3];
	char ids[3][40];
	const char *named[3];
	uint64_t order[3];

	t_start(&t);
	a = t_subscribe(&t, "bg-police", "a");
	for (int i = 0; i < 3; i++) {
		if (i > 0)
			t_next_seq(&t, seq[0] + (i == 1 ? 4096 : 8193));
		seq[i] = t_publish(&t, i == 2 ? 4 : 3, 0, &a, 1);
		snprintf(ids[i], sizeof(ids[i]), "%s", t.id);
	}
	ck_assert_uint_eq(seq[1] - seq[0], 4096);
	ck_assert_uint_eq(seq[2] - seq[0], 8193);
	t_fetch(&t, a, NULL, 0, 10, 5, NONE);
	ck_assert_uint_eq(t.nrows, 3);
	ck_assert_uint_eq(t.tags[0], seq[2]);
	for (int i = 0; i < 3; i++) {
		order[i] = t.tags[i];
		named[i] = ids[order[i] == seq[2] ? 2 : order[i] == seq[1]];
	}
	t_sent(&t, "bg-police", "a", named, order, 3);
	ck_assert_uint_eq(t_ack(&t, a, order, 3), 3);
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM audit_spans"), 4);
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM audit_spans WHERE "
	    "hi - lo = 4096"), 2);
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM audit_spans WHERE "
	    "lo = hi AND lo = (SELECT max(seq) FROM alerts)"), 2);
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(t_receipts(&t, ids[i]), 1);
		t_receipt_is(&t, 0, "bg-police", true);
	}
	t_end(&t);
}
END_TEST

/* Publish an exercise alert for the n subscriptions of ids; its seq. */
static uint64_t
t_publish_exercise(struct t_store *t, const uint64_t *ids, size_t n)
{
	static int k;
	struct store_publish p;

	snprintf(t->id, sizeof(t->id), "0190eeee-0000-7000-8000-%012d", ++k);
	memset(&p, 0, sizeof(p));
	p.id = t->id;
	p.origin = "tr-police";
	p.topic = "exercise/drugs/tr-gr/kapikule";
	p.published_at = time_now_us();
	p.severity = 3;
	p.body = (const uint8_t *)"body";
	p.body_len = 4;
	p.dsubs = ids;
	p.ndsubs = n;
	p.exercise = true;
	store_publish(t->st, &p, NULL, t_cb, t);
	t_wait(t);
	ck_assert_int_eq(t->status, STORE_OK);
	return t->seq;
}

#define T_EX_STEP	100	/* exercise alerts a step of their removal looks at */
#define T_EX_FREE	250	/* exercise alerts no subscription waits for */

/*
 * A store with subscription *a, T_EX_FREE exercise alerts nobody waits
 * for between two a waits for (the first and the last), and one alert
 * not of exercise; steps of T_EX_STEP exercise alerts. Reopened.
 */
static void
t_start_exercise(struct t_store *t, uint64_t *a)
{
	char sql[512];

	t_start(t);
	*a = t_subscribe(t, "bg-police", "a");
	(void)t_publish_exercise(t, a, 1);
	t_close(t);
	snprintf(sql, sizeof(sql), "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
	    "SELECT i + 1 FROM n WHERE i < %d) INSERT INTO alerts (id, origin, "
	    "topic, published_at, digest, body, severity) SELECT 'free-' || i, "
	    "'tr-police', 'exercise/drugs/tr-gr/kapikule', 1, x'00', x'00', 3 "
	    "FROM n", T_EX_FREE);
	t_exec(t, sql);
	t_open(t);
	(void)t_publish_exercise(t, a, 1);
	(void)t_publish(t, 3, 0, NULL, 0);
	store_exercise_step(t->st, T_EX_STEP);
}

/* The transactions (or operations) the store ran since open. */
static uint64_t
t_transactions(struct t_store *t, bool ops)
{
	struct store_health h;

	store_health(t->st, &h);
	return ops ? h.operations : h.transactions;
}

/*
 * Hold the store's writer: a write transaction of the test's own, so that
 * the writer's next transaction waits (its busy timeout) until t_release.
 * Operations queued meanwhile are all there when it goes on.
 */
static sqlite3 *
t_hold(struct t_store *t)
{
	char path[128];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/ccc.db", t->dir);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	    SQLITE_OK);
	return db;
}

static void
t_release(sqlite3 *db)
{
	ck_assert_int_eq(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
}

/* A request to remove exercise alerts, called back once. */
struct t_ex {
	int	 calls;		/* its callback ran */
	int	 order;		/* when, among the callbacks counted by t_order */
	size_t	 purged;
	enum store_status status;
};
static int t_order;

static void
t_ex_cb(void *arg, const struct store_result *res)
{
	struct t_ex *e = arg;

	e->calls++;
	e->order = ++t_order;
	e->purged = res->purged;
	e->status = res->status;
}

static void
t_ex_purge(struct t_store *t, const char *endpoint, struct t_ex *e)
{
	struct audit_rec r = { .event = "exercise", .endpoint = endpoint,
	    .detail = "published=1 under exercise/" };

	store_exercise_purge(t->st, &r, t_ex_cb, e);
}

/* The detail of endpoint's "exercise" record ("" when none, "2" for two). */
static void
t_ex_detail(struct t_store *t, const char *endpoint, char *out, size_t len)
{
	char path[128], sql[160];
	sqlite3 *db;
	sqlite3_stmt *stmt;
	int n = 0;

	snprintf(path, sizeof(path), "%s/ccc.db", t->dir);
	snprintf(sql, sizeof(sql), "SELECT detail FROM audit WHERE event = "
	    "'exercise' AND endpoint = '%s'", endpoint);
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
	snprintf(out, len, "%s", "");
	while (sqlite3_step(stmt) == SQLITE_ROW)
		if (n++ == 0)
			snprintf(out, len, "%s", sqlite3_column_text(stmt, 0));
	if (n > 1)
		snprintf(out, len, "%d", n);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
}

/*
 * The removal of exercise alerts goes in steps of a bounded number of
 * them, each in its own transaction: an operation queued after it
 * completes before it ends; the alerts a subscription waits for stay; its
 * callback runs once with the total, and the journal has its record once,
 * with the total; a removal asked later finds nothing more.
 */
START_TEST(exercise_removal_in_steps)
{
	struct t_store t;
	struct t_ex e1 = { 0 }, e2 = { 0 }, ec = { 0 };
	sqlite3 *hold;
	uint64_t a, tx;
	char detail[256];

	t_start_exercise(&t, &a);
	t_order = 0;
	tx = t_transactions(&t, false);
	hold = t_hold(&t);
	t_ex_purge(&t, "bg-police", &e1);
	store_counts(t.st, t_ex_cb, &ec);
	t_release(hold);
	while (ec.calls == 0)
		event_base_loop(t.base, EVLOOP_ONCE);
	ck_assert_int_eq(ec.status, STORE_OK);
	t_ex_purge(&t, "gr-police", &e2);
	while (e1.calls == 0 || e2.calls == 0)
		event_base_loop(t.base, EVLOOP_ONCE);
	/* the counts ran between its steps: done before it */
	ck_assert_int_lt(ec.order, e1.order);
	ck_assert_int_eq(e1.status, STORE_OK);
	ck_assert_uint_eq(e1.purged, T_EX_FREE);
	ck_assert_int_eq(e2.status, STORE_OK);
	ck_assert_uint_eq(e2.purged, 0);
	ck_assert_int_lt(e1.order, e2.order);
	/* 252 exercise alerts, 100 a step: 3 steps, 3 transactions at least */
	ck_assert_uint_ge(t_transactions(&t, false) - tx, 3);
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM alerts WHERE topic "
	    "LIKE 'exercise/%'"), 2);
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM alerts"), 3);
	t_ex_detail(&t, "bg-police", detail, sizeof(detail));
	ck_assert_str_eq(detail, "published=1 under exercise/ removed=250");
	t_ex_detail(&t, "gr-police", detail, sizeof(detail));
	ck_assert_str_eq(detail, "published=1 under exercise/ removed=0");
	ck_assert_int_eq(e1.calls, 1);
	ck_assert_int_eq(e2.calls, 1);
	t_end(&t);
}
END_TEST

/*
 * Removals asked at once do not each look at every exercise alert: one
 * runs, the others are served together by the next; each is called back
 * once and has its record once, with what the removal that served it
 * removed.
 */
START_TEST(exercise_removals_coalesce)
{
	struct t_store t;
	struct t_ex e[4] = { { 0 } };
	const char *who[4] = { "bg-police", "gr-police", "tr-police",
	    "bg-customs" };
	sqlite3 *hold;
	uint64_t a, tx;
	char detail[256], want[128];

	t_start_exercise(&t, &a);
	t_order = 0;
	tx = t_transactions(&t, true);
	/*
	 * The first request taken by the writer alone (it waits on the hold)
	 * or, were it slower than that, with the others: either way the other
	 * three are served together
	 */
	hold = t_hold(&t);
	t_ex_purge(&t, who[0], &e[0]);
	usleep(100 * 1000);
	for (int i = 1; i < 4; i++)
		t_ex_purge(&t, who[i], &e[i]);
	t_release(hold);
	while (e[0].calls == 0 || e[1].calls == 0 || e[2].calls == 0 ||
	    e[3].calls == 0)
		event_base_loop(t.base, EVLOOP_ONCE);
	/* 3 steps for the first, one for the others (2 alerts left): not 4 × 3 */
	ck_assert_uint_ge(t_transactions(&t, true) - tx, 3);
	ck_assert_uint_le(t_transactions(&t, true) - tx, 4);
	ck_assert_uint_eq(e[0].purged, T_EX_FREE);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(e[i].calls, 1);
		ck_assert_int_eq(e[i].status, STORE_OK);
		ck_assert_uint_eq(e[i].purged, i == 0 ? T_EX_FREE : e[1].purged);
		snprintf(want, sizeof(want), "published=1 under exercise/ "
		    "removed=%zu", e[i].purged);
		t_ex_detail(&t, who[i], detail, sizeof(detail));
		ck_assert_str_eq(detail, want);
	}
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM alerts WHERE topic "
	    "LIKE 'exercise/%'"), 2);
	t_end(&t);
}
END_TEST

/* cccd --verify-audit on t's store: 0 intact, with the report. */
static int
t_verify(struct t_store *t, char *report, size_t len)
{
	return store_verify_audit(t->dir, 86400, report, len);
}

/* Retention at time now: alerts, or the journal, older than a second. */
static void
t_purge(struct t_store *t, int64_t now, bool journal)
{
	store_purge(t->st, now, now, journal ? 0 : 1, journal ? 1 : 0, 100, 0,
	    t_cb, t);
	t_wait(t);
	ck_assert_int_eq(t->status, STORE_OK);
	ck_assert_uint_gt(t->purged, 0);
}

/*
 * Span rows go with their records, not with their alerts: retention of
 * alerts leaves them (inert: a position is never given again), and the
 * journal still verifies with spans over alerts no longer stored, also
 * once an id they name is given to a new alert; retention of the journal
 * takes them with the records they belong to.
 */
START_TEST(spans_go_with_their_records)
{
	struct t_store t;
	uint64_t a, seq[3];
	char ids[3][40], report[512];
	const char *named[3] = { ids[0], ids[1], ids[2] };
	int64_t now;

	t_start(&t);
	a = t_subscribe(&t, "bg-police", "a");
	for (int i = 0; i < 3; i++) {
		seq[i] = t_publish(&t, 3, 0, &a, 1);
		snprintf(ids[i], sizeof(ids[i]), "%s", t.id);
	}
	t_fetch(&t, a, NULL, 0, 10, 5, NONE);
	t_sent(&t, "bg-police", "a", named, seq, 3);
	ck_assert_uint_eq(t_ack(&t, a, seq, 3), 3);
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM audit_spans"), 2);
	usleep(1100 * 1000);
	now = time_now_us();
	t_purge(&t, now, false);
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM alerts"), 0);
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM audit_spans"), 2);
	ck_assert_msg(t_verify(&t, report, sizeof(report)) == 0, "%s", report);
	(void)t_publish_id(&t, ids[1], 3, 0, NULL, 0);
	ck_assert_msg(t_verify(&t, report, sizeof(report)) == 0, "%s", report);
	t_purge(&t, now, true);
	ck_assert_int_eq(t_value(&t, "SELECT count(*) FROM audit_spans"), 0);
	ck_assert_msg(t_verify(&t, report, sizeof(report)) == 0, "%s", report);
	t_end(&t);
}
END_TEST

Suite *
cursor_suite(void)
{
	Suite *s = suite_create("cursor");
	TCase *tc = tcase_create("cursor");

	tcase_add_test(tc, fetch_by_severity_then_position);
	tcase_add_test(tc, ack_out_of_order_moves_the_floor);
	tcase_add_test(tc, cursor_persists_and_redelivers);
	tcase_add_test(tc, dead_letters_expiry_and_counts);
	tcase_add_test(tc, retention_keeps_unsettled);
	tcase_add_test(tc, fetch_stops_after_a_window_of_settled);
	tcase_add_test(tc, ack_mixes_unknown_settled_late_and_fresh);
	tcase_add_test(tc, fetch_bounded_in_bytes);
	tcase_add_test(tc, fetch_within_the_reservation_completes_at_commit);
	tcase_add_test(tc, open_takes_the_reservation_as_sent);
	tcase_add_test(tc, no_fetch_at_commit_after_a_failed_sync);
	tcase_add_test(tc, receipts_exact_with_spans);
	tcase_add_test(tc, wide_batch_split_into_spans);
	tcase_add_test(tc, spans_go_with_their_records);
	tcase_add_test(tc, exercise_removal_in_steps);
	tcase_add_test(tc, exercise_removals_coalesce);
	suite_add_tcase(s, tc);
	return s;
}
