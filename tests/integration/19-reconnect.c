/*
 * 19-reconnect.c — libccc across a restart of the broker: which failures
 * are transient, ccc_reconnect() making the subscriptions again (a durable
 * one resumed, a plain one replaying what was published meanwhile, nothing
 * handed out twice), and the back-off's delays. The command line across a
 * restart is 19-reconnect-cli.sh.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"

/* tr-police publishes a drugs alert at Kapıkule; returns its id (static). */
static const char *
publish(const struct h_broker *b, const char *summary)
{
	static char id[CCC_ID_LEN];
	ccc_client *pub = h_connect(b, "tr-police");
	Ccc__V1__Alert *a = h_alert("drugs", "tr-bg/kapikule", "high", "h1",
	    summary);
	Ccc__V1__Envelope *ok = h_publish_ok(pub, a);

	snprintf(id, sizeof(id), "%s", ok->publish_ok->id);
	ccc_envelope_free(ok);
	h_alert_free(a);
	ccc_close(pub);
	return id;
}

/* The next envelope must deliver alert id; returns its delivery tag. */
static uint64_t
expect_alert(ccc_client *c, const char *id)
{
	Ccc__V1__Envelope *e = h_recv_deliver(c);
	uint64_t tag = e->deliver->delivery_tag;

	ck_assert_str_eq(e->deliver->alert->id, id);
	ccc_envelope_free(e);
	return tag;
}

/* Halt the broker and start it again on the same port and data. */
static void
restart(struct h_broker *b)
{
	h_broker_halt(b);
	h_broker_restart(b);
}

START_TEST(reconnect_transient)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *c = h_connect(b, "gr-police");
	Ccc__V1__Envelope *e = NULL;
	struct ccc_error err;

	/* refusals that stay */
	ck_assert_int_eq(h_connect_err(b, h_rogue("tr-police.pem"),
	    h_rogue("tr-police.key"), &err), -1);
	ck_assert_msg(!err.transient, "a refused certificate: %s", err.message);
	ck_assert_int_eq(h_connect_err(b, h_pki("xx-unregistered.pem"),
	    h_pki("xx-unregistered.key"), &err), -1);
	ck_assert_int_eq(err.code, CCC__V1__ERROR_CODE__ERROR_CODE_UNKNOWN_ENDPOINT);
	ck_assert(!err.transient);

	/* the broker stopping: its fatal Error, then a transient failure */
	h_broker_pin_port(b);
	h_broker_halt(b);
	ck_assert_int_eq(ccc_receive(c, H_WAIT_MS, &e, &err), 1);
	h_expect_error(e, CCC__V1__ERROR_CODE__ERROR_CODE_SHUTTING_DOWN, true,
	    NULL);
	ccc_envelope_free(e);
	ck_assert_int_eq(ccc_receive(c, H_WAIT_MS, &e, &err), -1);
	ck_assert_int_eq(err.code, CCC_ERR_CLOSED);
	ck_assert_msg(err.transient, "shutting down: %s", err.message);

	/* no broker at all: transient, and so is a reconnect that fails */
	ck_assert_int_eq(ccc_reconnect(c, &err), -1);
	ck_assert_int_eq(err.code, CCC_ERR_IO);
	ck_assert(err.transient && err.fatal);
	h_broker_restart(b);
	ck_assert_msg(ccc_reconnect(c, &err) == 0, "%s", err.message);
	ck_assert_str_eq(ccc_endpoint(c), "gr-police");
	ccc_close(c);
	h_broker_stop(b);
}
END_TEST

START_TEST(reconnect_durable)
{
	struct h_broker *b = h_broker_start(NULL);
	const char *pats[] = { "alerts/+/tr-bg/#" };
	ccc_client *c = h_connect(b, "gr-police");
	struct ccc_error err;
	uint32_t id1, ids[4];
	uint64_t tag;
	char a[CCC_ID_LEN], bb[CCC_ID_LEN];

	h_broker_pin_port(b);
	ck_assert(ccc_subscribe_durable(c, "desk", pats, 1, &id1, NULL,
	    &err) == 0);
	snprintf(a, sizeof(a), "%s", publish(b, "acknowledged, ack lost"));
	tag = expect_alert(c, a);
	/* acknowledged, but the ack stays in the buffer: lost with the broker */
	ck_assert_int_eq(ccc_send_ack(c, &tag, 1, &err), 0);
	restart(b);
	snprintf(bb, sizeof(bb), "%s", publish(b, "published while away"));

	ck_assert_msg(ccc_reconnect(c, &err) == 0, "%s", err.message);
	ck_assert_uint_eq(ccc_subscription_ids(c, ids, 4), 1);
	/* a comes again (redelivered) but is not handed out: b is next */
	tag = expect_alert(c, bb);
	ck_assert_int_eq(ccc_send_ack(c, &tag, 1, &err), 0);
	h_recv_none(c, H_QUIET_MS);
	ccc_close(c);

	/* the library acknowledged a again: nothing is left for "desk" */
	ck_assert(h_log_wait(b, "detached durable subscription \"desk\"",
	    H_WAIT_MS));
	c = h_connect(b, "gr-police");
	ck_assert(ccc_subscribe_durable(c, "desk", pats, 1, &id1, NULL,
	    &err) == 0);
	h_recv_none(c, H_QUIET_MS);
	ccc_close(c);
	h_broker_stop(b);
}
END_TEST

START_TEST(reconnect_plain)
{
	struct h_broker *b = h_broker_start(NULL);
	const char *pats[] = { "alerts/drugs/#" };
	ccc_client *c = h_connect(b, "gr-police");
	struct ccc_error err;
	uint32_t id;
	char a[CCC_ID_LEN], bb[CCC_ID_LEN], cc[CCC_ID_LEN];

	h_broker_pin_port(b);
	ck_assert(ccc_subscribe(c, pats, 1, &id, &err) == 0);
	snprintf(a, sizeof(a), "%s", publish(b, "before"));
	expect_alert(c, a);
	restart(b);
	snprintf(bb, sizeof(bb), "%s", publish(b, "while away, 1"));
	snprintf(cc, sizeof(cc), "%s", publish(b, "while away, 2"));

	ck_assert_msg(ccc_reconnect(c, &err) == 0, "%s", err.message);
	/* replayed from a's time: a itself is dropped, then b and c */
	expect_alert(c, bb);
	expect_alert(c, cc);
	h_recv_none(c, H_QUIET_MS);
	snprintf(a, sizeof(a), "%s", publish(b, "after"));
	expect_alert(c, a);
	ccc_close(c);
	h_broker_stop(b);
}
END_TEST

START_TEST(reconnect_backoff)
{
	struct ccc_backoff bo;
	int d, base = 500;

	memset(&bo, 0, sizeof(bo));
	for (int i = 0; i < 12; i++) {
		d = ccc_backoff_next(&bo);
		ck_assert_msg(d >= base / 2 && d <= base, "delay %d: %d ms, not "
		    "within [%d, %d]", i, d, base / 2, base);
		base = base * 2 > 30000 ? 30000 : base * 2;
	}
	ck_assert_int_eq(base, 30000);
	ccc_backoff_reset(&bo);
	d = ccc_backoff_next(&bo);
	ck_assert(d >= 250 && d <= 500);

	memset(&bo, 0, sizeof(bo));
	bo.initial_ms = 40;
	bo.max_ms = 100;
	ck_assert(ccc_backoff_next(&bo) <= 40);
	ck_assert(ccc_backoff_next(&bo) <= 80);
	d = ccc_backoff_next(&bo);
	ck_assert(d >= 50 && d <= 100);
}
END_TEST

Suite *
reconnect_suite(void)
{
	Suite *s = suite_create("19-reconnect");
	TCase *tc = tcase_create("reconnect");

	tcase_set_timeout(tc, H_TEST_TIMEOUT);
	tcase_add_test(tc, reconnect_transient);
	tcase_add_test(tc, reconnect_durable);
	tcase_add_test(tc, reconnect_plain);
	tcase_add_test(tc, reconnect_backoff);
	suite_add_tcase(s, tc);
	return s;
}
