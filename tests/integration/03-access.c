/*
 * 03-access.c — what the broker refuses without ending the session: access
 * rules (FORBIDDEN), invalid alerts, invalid patterns, unknown subscription
 * ids and the per-session limits. A refused alert must reach nobody, and the
 * session must keep working after every refusal.
 */
#include <string.h>

#include "harness.h"

/* Subscribe and expect the broker to refuse with code; msg is in its text. */
static void
subscribe_refused(ccc_client *c, const char *const *patterns, size_t n,
    Ccc__V1__ErrorCode code, const char *msg)
{
	struct ccc_error err;
	uint32_t id = 0;

	memset(&err, 0, sizeof(err));
	ck_assert_msg(ccc_subscribe(c, patterns, n, &id, &err) == -1,
	    "subscribe %s was accepted", patterns[0]);
	ck_assert_msg(err.code == (int)code, "subscribe %s: expected %s, got "
	    "%s: %s", patterns[0], ccc_error_name((int)code),
	    ccc_error_name(err.code), err.message);
	ck_assert(!err.fatal);
	if (msg != NULL)
		ck_assert_msg(strstr(err.message, msg) != NULL,
		    "\"%s\" does not contain \"%s\"", err.message, msg);
}

static void
subscribe_refused1(ccc_client *c, const char *pattern, Ccc__V1__ErrorCode code,
    const char *msg)
{
	subscribe_refused(c, &pattern, 1, code, msg);
}

/* Publish a and expect the broker's refusal with code; msg is in its text. */
static void
publish_refused(ccc_client *c, const Ccc__V1__Alert *a,
    Ccc__V1__ErrorCode code, const char *msg)
{
	Ccc__V1__Envelope *env = h_publish_refused(c, a);

	h_expect_error(env, code, false, msg);
	ccc_envelope_free(env);
}

/* The session still publishes, and sub (subscribed to alerts/#) gets it. */
static void
still_works(ccc_client *pub, ccc_client *sub, const char *section)
{
	Ccc__V1__Alert *a = h_alert("drugs", section, "medium", "h0",
	    "Cocaine in a shipping container");
	Ccc__V1__Envelope *ok = h_publish_ok(pub, a), *got;

	got = h_recv_deliver(sub);
	ck_assert_str_eq(got->deliver->alert->id, ok->publish_ok->id);
	ccc_envelope_free(got);
	ccc_envelope_free(ok);
	h_alert_free(a);
}

START_TEST(publish_outside_own_borders)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *gr = h_connect(b, "gr-police");
	ccc_client *tr = h_connect(b, "tr-police");
	Ccc__V1__Alert *a = h_alert("migrant_smuggling", "tr-bg/kapikule",
	    "high", "h1", "Not a Greek section");

	h_subscribe(tr, "alerts/#");
	publish_refused(gr, a, CCC__V1__ERROR_CODE__ERROR_CODE_FORBIDDEN,
	    "tr-bg/kapikule");
	h_recv_none(tr, H_QUIET_MS);		/* a refused alert reaches nobody */
	ck_assert(h_log_contains(b, "gr-police refused publish"));
	still_works(gr, tr, "tr-gr/ipsala");
	h_alert_free(a);
	ccc_close(gr);
	ccc_close(tr);
	h_broker_stop(b);
}
END_TEST

START_TEST(customs_subscribe_scope)
{
	static const char *const mixed[] = { "alerts/drugs/#", "alerts/#" };
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *bg = h_connect(b, "bg-customs");
	ccc_client *pub = h_connect(b, "bg-border-police");
	Ccc__V1__Alert *a;
	Ccc__V1__Envelope *ok, *got;
	uint32_t sid;

	subscribe_refused1(bg, "alerts/#",
	    CCC__V1__ERROR_CODE__ERROR_CODE_FORBIDDEN, NULL);
	subscribe_refused1(bg, "alerts/human_trafficking/#",
	    CCC__V1__ERROR_CODE__ERROR_CODE_FORBIDDEN, NULL);
	subscribe_refused1(bg, "alerts/+/tr-bg/kapikule",
	    CCC__V1__ERROR_CODE__ERROR_CODE_FORBIDDEN, NULL);
	/* all or nothing: one pattern too wide refuses the whole request */
	subscribe_refused(bg, mixed, 2,
	    CCC__V1__ERROR_CODE__ERROR_CODE_FORBIDDEN, NULL);
	/* bg-gr: no routing rule sends drugs alerts there to inboxes */
	a = h_alert("drugs", "bg-gr/kulata", "high", "h1", "Heroin");
	ok = h_publish_ok(pub, a);
	ck_assert_uint_eq(ok->publish_ok->recipients, 0);
	ccc_envelope_free(ok);
	h_recv_none(bg, H_QUIET_MS);

	sid = h_subscribe(bg, "alerts/drugs/#");
	h_subscribe(bg, "alerts/drugs/bg-gr/+");
	ok = h_publish_ok(pub, a);
	got = h_recv_deliver(bg);
	ck_assert_str_eq(got->deliver->alert->id, ok->publish_ok->id);
	ck_assert_uint_ge(got->deliver->n_subscription_ids, 1);
	ck_assert_uint_eq(got->deliver->subscription_ids[0], sid);
	ccc_envelope_free(got);
	ccc_envelope_free(ok);

	/* a category customs do not receive */
	a->category = CCC__V1__CATEGORY__CATEGORY_HUMAN_TRAFFICKING;
	ok = h_publish_ok(pub, a);
	ccc_envelope_free(ok);
	h_recv_none(bg, H_QUIET_MS);
	h_alert_free(a);
	ccc_close(bg);
	ccc_close(pub);
	h_broker_stop(b);
}
END_TEST

START_TEST(operator_may_not_publish_or_subscribe)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *op = h_connect(b, "ccc-operator");
	ccc_client *gr = h_connect(b, "gr-police");
	Ccc__V1__Alert *a = h_alert("other", "bg-gr/kulata", "low", "h0",
	    "Operator test");

	h_subscribe(gr, "alerts/#");
	publish_refused(op, a, CCC__V1__ERROR_CODE__ERROR_CODE_FORBIDDEN, NULL);
	subscribe_refused1(op, "alerts/#",
	    CCC__V1__ERROR_CODE__ERROR_CODE_FORBIDDEN, NULL);
	subscribe_refused1(op, "alerts/other/bg-gr/kulata",
	    CCC__V1__ERROR_CODE__ERROR_CODE_FORBIDDEN, NULL);
	h_recv_none(gr, H_QUIET_MS);
	h_alert_free(a);
	ccc_close(op);
	ccc_close(gr);
	h_broker_stop(b);
}
END_TEST

START_TEST(invalid_alerts)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *tr = h_connect(b, "tr-police");
	ccc_client *gr = h_connect(b, "gr-police");
	Ccc__V1__Alert *a;

	h_subscribe(gr, "alerts/#");

	a = h_alert("drugs", "tr-bg/kapikule", "high", "h1", NULL);
	publish_refused(tr, a, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_ALERT,
	    "summary");
	h_alert_free(a);

	a = h_alert("drugs", "tr-bg/nowhere", "high", "h1", "Unknown place");
	publish_refused(tr, a, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_ALERT,
	    "section");
	h_alert_free(a);

	a = h_alert("drugs", "tr-bg/kapikule", "high", "h1", "bad \xff\xfe text");
	publish_refused(tr, a, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_ALERT,
	    "summary");
	h_alert_free(a);

	a = h_alert("drugs", "tr-bg/kapikule", "high", "h1", "two\nlines");
	publish_refused(tr, a, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_ALERT,
	    "summary");
	h_alert_free(a);

	a = h_alert(NULL, "tr-bg/kapikule", "high", "h1", "No category");
	publish_refused(tr, a, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_ALERT,
	    "category");
	a->category = (Ccc__V1__Category)99;
	publish_refused(tr, a, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_ALERT,
	    "category");
	h_alert_free(a);

	a = h_alert("drugs", "tr-bg/kapikule", NULL, "h1", "No severity");
	publish_refused(tr, a, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_ALERT,
	    "severity");
	h_alert_free(a);

	a = h_alert("drugs", "tr-bg/kapikule", "high", "h1", "Bad id");
	h_set_str(&a->id, "not-a-uuid");
	publish_refused(tr, a, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_ALERT,
	    "id");
	h_alert_free(a);

	h_recv_none(gr, H_QUIET_MS);
	still_works(tr, gr, "tr-bg/kapikule");
	ccc_close(tr);
	ccc_close(gr);
	h_broker_stop(b);
}
END_TEST

START_TEST(invalid_patterns)
{
	static const char *const bad[] = {
		"alerts/#/tr-bg",		/* # not last */
		"alerts/Drugs/#",		/* upper case */
		"alerts/dr+gs/#",		/* + inside a level */
		"alerts//tr-bg",		/* empty level */
		"",
		"alerts/a/b/c/d/e/f/g/h",	/* 9 levels */
		"alerts/\xc3\x28",		/* invalid UTF-8 */
	};
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *gr = h_connect(b, "gr-police");

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		subscribe_refused1(gr, bad[i],
		    CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_PATTERN, "pattern 1");
	h_subscribe(gr, "alerts/#");
	ccc_close(gr);
	h_broker_stop(b);
}
END_TEST

START_TEST(unsubscribe_unknown_id)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *gr = h_connect(b, "gr-police");
	ccc_client *tr = h_connect(b, "tr-police");
	struct ccc_error err;
	uint32_t sid;

	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(ccc_unsubscribe(gr, 42, &err), -1);
	ck_assert_int_eq(err.code, CCC__V1__ERROR_CODE__ERROR_CODE_NOT_FOUND);
	ck_assert(!err.fatal);
	ck_assert_msg(strstr(err.message, "42") != NULL, "message: %s",
	    err.message);
	/* another session's subscription id is not ours either */
	sid = h_subscribe(tr, "alerts/#");
	ck_assert_int_eq(ccc_unsubscribe(gr, sid, &err), -1);
	ck_assert_int_eq(err.code, CCC__V1__ERROR_CODE__ERROR_CODE_NOT_FOUND);
	h_subscribe(gr, "alerts/+/tr-gr/#");	/* not what gr publishes next */
	still_works(gr, tr, "bg-gr/kulata");
	ccc_close(gr);
	ccc_close(tr);
	h_broker_stop(b);
}
END_TEST

START_TEST(limit_max_patterns)
{
	static const char *const three[] = { "alerts/drugs/#", "alerts/weapons/#",
	    "alerts/customs/#" };
	struct h_broker *b = h_broker_start("limits:\n  max_patterns: 2\n");
	ccc_client *gr = h_connect(b, "gr-police");

	subscribe_refused(gr, three, 3,
	    CCC__V1__ERROR_CODE__ERROR_CODE_LIMIT_EXCEEDED, "limit is 2");
	h_subscribe_n(gr, three, 2);
	ccc_close(gr);
	h_broker_stop(b);
}
END_TEST

START_TEST(limit_max_subscriptions)
{
	struct h_broker *b = h_broker_start("limits:\n  max_subscriptions: 2\n");
	ccc_client *gr = h_connect(b, "gr-police");
	ccc_client *other = h_connect(b, "gr-police");
	struct ccc_error err;
	uint32_t s1;

	s1 = h_subscribe(gr, "alerts/drugs/#");
	h_subscribe(gr, "alerts/weapons/#");
	subscribe_refused1(gr, "alerts/customs/#",
	    CCC__V1__ERROR_CODE__ERROR_CODE_LIMIT_EXCEEDED, "limit is 2");
	/* the limit is per session */
	h_subscribe(other, "alerts/customs/#");
	/* and a freed slot can be used again */
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(ccc_unsubscribe(gr, s1, &err), 0);
	h_subscribe(gr, "alerts/customs/#");
	ccc_close(gr);
	ccc_close(other);
	h_broker_stop(b);
}
END_TEST

Suite *
access_suite(void)
{
	Suite *s = suite_create("03-access");
	TCase *tc = tcase_create("refusals");

	tcase_add_test(tc, publish_outside_own_borders);
	tcase_add_test(tc, customs_subscribe_scope);
	tcase_add_test(tc, operator_may_not_publish_or_subscribe);
	tcase_add_test(tc, invalid_alerts);
	tcase_add_test(tc, invalid_patterns);
	tcase_add_test(tc, unsubscribe_unknown_id);
	tcase_add_test(tc, limit_max_patterns);
	tcase_add_test(tc, limit_max_subscriptions);
	tcase_set_timeout(tc, H_TEST_TIMEOUT);
	suite_add_tcase(s, tc);
	return s;
}
