/*
 * 21-exercise.c — exercise traffic (ccc bench): refused by a broker without
 * bench.allow; with it, published on exercise/ topics that subscriptions to
 * alerts/... never match, kept in the store only while a durable
 * subscription waits for it, and journalled once per publishing session
 * instead of once per alert, unless bench.journal asks for the records of
 * live traffic.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define EX_COUNT	"SELECT count(*) FROM alerts WHERE topic LIKE 'exercise/%'"

/* One integer from a query on b's store. */
static int64_t
ex_store(const struct h_broker *b, const char *sql)
{
	char data[300];

	snprintf(data, sizeof(data), "%s/data", b->dir);
	return h_store_value(data, sql);
}

/* An exercise alert of category on tr-bg/kapikule. */
static Ccc__V1__Alert *
ex_alert(const char *category)
{
	Ccc__V1__Alert *a = h_alert(category, "tr-bg/kapikule", "high", "h1",
	    "exercise: not a real alert");

	a->exercise = true;
	return a;
}

/* A gr-police session with the durable subscription "drill" to exercise/#. */
static ccc_client *
ex_drill(const struct h_broker *b)
{
	ccc_client *c = h_connect(b, "gr-police");
	const char *pattern = "exercise/#";
	struct ccc_error err;
	uint32_t id;

	ck_assert_int_eq(ccc_subscribe_durable(c, "drill", &pattern, 1, &id,
	    NULL, &err), 0);
	return c;
}

/* The next delivery to c must be alert id: acknowledge it, then close c. */
static void
ex_ack_close(ccc_client *c, const char *id)
{
	Ccc__V1__Envelope *e = h_recv_deliver(c);
	uint64_t tag = e->deliver->delivery_tag;
	struct ccc_error err;

	ck_assert_str_eq(e->deliver->alert->id, id);
	ccc_envelope_free(e);
	ck_assert_int_eq(ccc_send_ack(c, &tag, 1, &err), 0);
	ck_assert_int_eq(ccc_flush(c, &err), 0);
	ccc_close(c);
}

START_TEST(refused_without_bench_allow)
{
	struct h_broker *b = h_broker_start("bench:\n  allow: false\n");
	ccc_client *pub = h_connect(b, "tr-police");
	Ccc__V1__Alert *a = ex_alert("human_trafficking");
	Ccc__V1__Envelope *e;

	for (int i = 0; i < 2; i++) {
		e = h_publish_refused(pub, a);
		h_expect_error(e, CCC__V1__ERROR_CODE__ERROR_CODE_FORBIDDEN,
		    false, "bench.allow is false");
		ccc_envelope_free(e);
	}
	/* not fatal: the session goes on, live alerts pass */
	a->exercise = false;
	ccc_envelope_free(h_publish_ok(pub, a));
	h_alert_free(a);
	ccc_close(pub);
	h_broker_halt(b);
	ck_assert_int_eq(ex_store(b, EX_COUNT), 0);
	ck_assert_int_eq(ex_store(b, "SELECT count(*) FROM alerts"), 1);
	/* one record of the refusal per session, not one per alert */
	ck_assert_int_eq(h_audited(b, "publish_refused", "exercise alerts%",
	    NULL, "tr-police"), 1);
	h_broker_restart(b);
	h_broker_stop(b);
}
END_TEST

START_TEST(exercise_topics_apart)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *live = h_connect(b, "gr-police");
	ccc_client *ex = h_connect(b, "gr-police");
	ccc_client *customs = h_connect(b, "tr-customs");
	ccc_client *pub = h_connect(b, "tr-police");
	Ccc__V1__Alert *a = ex_alert("human_trafficking");
	Ccc__V1__Envelope *e;
	const char *pattern = "exercise/#";
	struct ccc_error err;
	uint32_t id;

	h_subscribe(live, "alerts/#");
	h_subscribe(ex, "exercise/#");
	/* the rights over exercise/X are those over alerts/X */
	h_subscribe(customs, "exercise/drugs/#");
	ck_assert_int_lt(ccc_subscribe(customs, &pattern, 1, &id, &err), 0);
	ck_assert_int_eq(err.code, CCC__V1__ERROR_CODE__ERROR_CODE_FORBIDDEN);

	e = h_publish_ok(pub, a);
	ck_assert_str_eq(e->publish_ok->topic,
	    "exercise/human_trafficking/tr-bg/kapikule");
	ccc_envelope_free(e);
	e = h_recv_deliver(ex);
	ck_assert(e->deliver->alert->exercise);
	ck_assert_str_eq(e->deliver->topic,
	    "exercise/human_trafficking/tr-bg/kapikule");
	ccc_envelope_free(e);
	h_recv_none(live, 300);
	h_recv_none(customs, 0);
	h_alert_free(a);
	ccc_close(live);
	ccc_close(ex);
	ccc_close(customs);
	ccc_close(pub);
	h_broker_stop(b);
}
END_TEST

START_TEST(removed_after_the_run)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *pub;
	Ccc__V1__Alert *a = ex_alert("drugs");
	Ccc__V1__Envelope *e;
	char ex_id[CCC_ID_LEN], sql[256];

	ccc_close(ex_drill(b));	/* offline: the alert waits in the store */
	pub = h_connect(b, "tr-police");
	e = h_publish_ok(pub, a);
	snprintf(ex_id, sizeof(ex_id), "%s", e->publish_ok->id);
	/* the durable subscription only: routing rules fill no inbox */
	ck_assert_uint_eq(e->publish_ok->recipients, 1);
	ccc_envelope_free(e);
	a->exercise = false;
	ccc_envelope_free(h_publish_ok(pub, a));	/* a live one stays */
	ccc_close(pub);
	h_broker_halt(b);
	ck_assert_int_eq(ex_store(b, EX_COUNT), 1);	/* still awaited */
	h_broker_restart(b);

	ex_ack_close(ex_drill(b), ex_id);
	h_broker_halt(b);

	ck_assert_int_eq(ex_store(b, EX_COUNT), 0);
	ck_assert_int_eq(ex_store(b, "SELECT count(*) FROM alerts"), 1);
	ck_assert_int_eq(ex_store(b, "SELECT count(*) FROM marks m WHERE "
	    "NOT EXISTS (SELECT 1 FROM alerts a WHERE a.seq = m.seq)"), 0);
	/* the journal: nothing of the exercise alert, one record of the run */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE alert = "
	    "'%s'", ex_id);
	ck_assert_int_eq(ex_store(b, sql), 0);
	ck_assert_int_eq(ex_store(b, "SELECT count(*) FROM audit WHERE "
	    "detail LIKE 'exercise/%' AND event <> 'subscribe'"), 0);
	ck_assert_int_eq(h_audited(b, "exercise", "published=1 % removed=0",
	    NULL, "tr-police"), 1);
	ck_assert_int_eq(ex_store(b, "SELECT count(*) FROM audit WHERE "
	    "event = 'exercise'"), 1);
	ck_assert_int_eq(h_audited(b, "publish", NULL, NULL, "tr-police"), 1);
	h_alert_free(a);
	h_broker_restart(b);
	h_broker_stop(b);
}
END_TEST

/*
 * An exercise alert still awaited when its run's sessions closed, then
 * settled without being sent (expired) by a fetch of the durable
 * subscription: removed at the close of that subscription's session, not
 * left in the store for good (a start after a clean stop does not look).
 */
START_TEST(settled_unsent_removed_at_close)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *pub, *sub;
	Ccc__V1__Alert *a = ex_alert("drugs");

	ccc_close(ex_drill(b));	/* offline: the alert waits in the store */
	pub = h_connect(b, "tr-police");
	a->expires_at = h_now_us() + 1000000;
	ccc_envelope_free(h_publish_ok(pub, a));
	ccc_close(pub);
	usleep(1500000);
	/* expired: dropped from the backlog, nothing sent */
	sub = ex_drill(b);
	ck_assert(h_log_wait(b, "1 expired alerts not delivered", H_WAIT_MS));
	h_recv_none(sub, H_QUIET_MS);
	ccc_close(sub);
	h_broker_halt(b);
	ck_assert_int_eq(ex_store(b, EX_COUNT), 0);
	h_broker_restart(b);
	h_broker_halt(b);
	ck_assert_int_eq(ex_store(b, EX_COUNT), 0);
	h_alert_free(a);
	h_broker_restart(b);
	h_broker_stop(b);
}
END_TEST

START_TEST(journalled_with_bench_journal)
{
	struct h_broker *b = h_broker_start("bench:\n  allow: true\n"
	    "  journal: true\n");
	ccc_client *sub = ex_drill(b);
	ccc_client *pub = h_connect(b, "tr-police");
	Ccc__V1__Alert *a = ex_alert("weapons");
	Ccc__V1__Envelope *e = h_publish_ok(pub, a);
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE alert = "
	    "'%s' AND event IN ('publish', 'deliver', 'ack')",
	    e->publish_ok->id);
	ex_ack_close(sub, e->publish_ok->id);
	ccc_envelope_free(e);
	ccc_close(pub);
	h_broker_halt(b);
	/* the records of a live alert: its publish, delivery and ack */
	ck_assert_int_eq(ex_store(b, sql), 3);
	/* removed when the publisher or, acknowledged, the subscriber closed */
	ck_assert_int_eq(h_audited(b, "exercise", "published=1 % removed=%",
	    NULL, "tr-police"), 1);
	ck_assert_int_eq(ex_store(b, EX_COUNT), 0);
	h_alert_free(a);
	h_broker_restart(b);
	h_broker_stop(b);
}
END_TEST

Suite *
exercise_suite(void)
{
	Suite *s = suite_create("21-exercise");
	TCase *tc = tcase_create("exercise");

	tcase_set_timeout(tc, H_TEST_TIMEOUT);
	tcase_add_test(tc, refused_without_bench_allow);
	tcase_add_test(tc, exercise_topics_apart);
	tcase_add_test(tc, removed_after_the_run);
	tcase_add_test(tc, journalled_with_bench_journal);
	tcase_add_test(tc, settled_unsent_removed_at_close);
	suite_add_tcase(s, tc);
	return s;
}
