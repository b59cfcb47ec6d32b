/*
 * 02-delivery.c — routing of published alerts: what a subscriber receives,
 * what the broker stamps on it, once-per-session delivery over overlapping
 * subscriptions, unsubscribing, fan-out, and the "+" and "#" wildcards.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define TOPIC_KAPIKULE	"alerts/migrant_smuggling/tr-bg/kapikule"

static Ccc__V1__Alert *
kapikule_alert(void)
{
	return h_alert("migrant_smuggling", "tr-bg/kapikule", "high", "h1",
	    "Lorry with 23 migrants hidden in the trailer");
}

/* A published time must be the broker's clock now, give or take. */
static void
assert_recent(int64_t us)
{
	int64_t now = h_now_us();

	ck_assert_msg(us > now - 30 * INT64_C(1000000) &&
	    us < now + 5 * INT64_C(1000000),
	    "published_at %lld is not near now (%lld)", (long long)us,
	    (long long)now);
}

/* Deliver d lists exactly the subscription ids want[0..n), in any order. */
static void
assert_sub_ids(const Ccc__V1__Deliver *d, const uint32_t *want, size_t n)
{
	ck_assert_msg(d->n_subscription_ids == n,
	    "deliver lists %zu subscription ids, expected %zu",
	    d->n_subscription_ids, n);
	for (size_t i = 0; i < n; i++) {
		size_t seen = 0;

		for (size_t k = 0; k < d->n_subscription_ids; k++)
			seen += d->subscription_ids[k] == want[i];
		ck_assert_msg(seen == 1, "subscription %u listed %zu times",
		    want[i], seen);
	}
}

START_TEST(delivered_once_with_stamps)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *gr = h_connect(b, "gr-police");
	ccc_client *tr = h_connect(b, "tr-police");
	Ccc__V1__Alert *a = kapikule_alert();
	Ccc__V1__Envelope *ok, *got;
	const Ccc__V1__Alert *da;
	uint32_t sid;

	sid = h_subscribe(gr, "alerts/+/tr-bg/#");
	ok = h_publish_ok(tr, a);
	ck_assert_msg(h_is_uuid7(ok->publish_ok->id), "alert id \"%s\" is not "
	    "a UUIDv7", ok->publish_ok->id);
	ck_assert_str_eq(ok->publish_ok->topic, TOPIC_KAPIKULE);
	ck_assert_uint_eq(ok->publish_ok->recipients, 1);
	assert_recent(ok->publish_ok->published_at);

	got = h_recv_deliver(gr);
	ck_assert_uint_eq(got->request_id, 0);
	ck_assert_str_eq(got->deliver->topic, TOPIC_KAPIKULE);
	assert_sub_ids(got->deliver, &sid, 1);
	ck_assert_uint_eq(got->deliver->delivery_tag, 0);
	da = got->deliver->alert;
	ck_assert_ptr_nonnull(da);
	ck_assert_str_eq(da->id, ok->publish_ok->id);
	ck_assert_str_eq(da->origin, "tr-police");
	ck_assert(da->published_at == ok->publish_ok->published_at);
	ck_assert_int_eq(da->category, CCC__V1__CATEGORY__CATEGORY_MIGRANT_SMUGGLING);
	ck_assert_int_eq(da->severity, CCC__V1__SEVERITY__SEVERITY_HIGH);
	ck_assert_int_eq(da->handling, CCC__V1__HANDLING__HANDLING_H1);
	ck_assert_str_eq(da->section, "tr-bg/kapikule");
	ck_assert_str_eq(da->summary, a->summary);
	ccc_envelope_free(got);
	ccc_envelope_free(ok);

	/* once: nothing more for the subscriber, nothing for the publisher */
	h_recv_none(gr, H_QUIET_MS);
	h_recv_none(tr, 50);
	h_alert_free(a);
	ccc_close(gr);
	ccc_close(tr);
	h_broker_stop(b);
}
END_TEST

START_TEST(broker_stamps_override_client)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *gr = h_connect(b, "gr-police");
	ccc_client *tr = h_connect(b, "tr-police");
	Ccc__V1__Alert *a = kapikule_alert();
	Ccc__V1__Envelope *got;
	char id[CCC_ID_LEN];
	struct ccc_error err;

	h_subscribe(gr, "alerts/#");
	h_set_str(&a->origin, "gr-police");		/* a forged origin */
	a->published_at = INT64_C(1000000);		/* and a forged time */
	memset(&err, 0, sizeof(err));
	ck_assert_msg(ccc_publish(tr, a, id, &err) == 0, "publish: %s",
	    err.message);
	got = h_recv_deliver(gr);
	ck_assert_str_eq(got->deliver->alert->id, id);
	ck_assert_str_eq(got->deliver->alert->origin, "tr-police");
	assert_recent(got->deliver->alert->published_at);
	ccc_envelope_free(got);
	h_alert_free(a);
	ccc_close(gr);
	ccc_close(tr);
	h_broker_stop(b);
}
END_TEST

START_TEST(client_chosen_id_is_kept)
{
	static const char mine[] = "01938f2a-7c41-7e3b-9a55-0123456789ab";
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *gr = h_connect(b, "gr-police");
	ccc_client *tr = h_connect(b, "tr-police");
	Ccc__V1__Alert *a = kapikule_alert();
	Ccc__V1__Envelope *ok, *got;

	h_subscribe(gr, "alerts/#");
	h_set_str(&a->id, mine);
	ok = h_publish_ok(tr, a);
	ck_assert_str_eq(ok->publish_ok->id, mine);
	got = h_recv_deliver(gr);
	ck_assert_str_eq(got->deliver->alert->id, mine);
	ccc_envelope_free(got);
	ccc_envelope_free(ok);
	h_alert_free(a);
	ccc_close(gr);
	ccc_close(tr);
	h_broker_stop(b);
}
END_TEST

START_TEST(non_matching_subscription_gets_nothing)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *gr = h_connect(b, "gr-police");
	ccc_client *tr = h_connect(b, "tr-police");
	Ccc__V1__Alert *a = kapikule_alert();
	Ccc__V1__Envelope *ok, *got;

	h_subscribe(gr, "alerts/+/tr-gr/#");
	ok = h_publish_ok(tr, a);
	ck_assert_uint_eq(ok->publish_ok->recipients, 0);
	ccc_envelope_free(ok);
	h_recv_none(gr, H_QUIET_MS);

	/* the subscription itself works */
	h_set_str(&a->section, "tr-gr/ipsala");
	ok = h_publish_ok(tr, a);
	ck_assert_uint_eq(ok->publish_ok->recipients, 1);
	got = h_recv_deliver(gr);
	ck_assert_str_eq(got->deliver->topic, "alerts/migrant_smuggling/tr-gr/ipsala");
	ck_assert_str_eq(got->deliver->alert->id, ok->publish_ok->id);
	ccc_envelope_free(got);
	ccc_envelope_free(ok);
	h_alert_free(a);
	ccc_close(gr);
	ccc_close(tr);
	h_broker_stop(b);
}
END_TEST

START_TEST(overlapping_subscriptions_one_deliver)
{
	static const char *const both[] = { "alerts/+/tr-bg/#",
	    "alerts/migrant_smuggling/#" };
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *gr = h_connect(b, "gr-police");
	ccc_client *tr = h_connect(b, "tr-police");
	Ccc__V1__Alert *a = kapikule_alert();
	Ccc__V1__Envelope *ok, *got;
	uint32_t ids[3];

	ids[0] = h_subscribe(gr, "alerts/+/tr-bg/#");
	ids[1] = h_subscribe(gr, TOPIC_KAPIKULE);
	ck_assert_uint_ne(ids[0], ids[1]);
	ok = h_publish_ok(tr, a);
	ck_assert_uint_eq(ok->publish_ok->recipients, 1);
	ccc_envelope_free(ok);
	got = h_recv_deliver(gr);
	assert_sub_ids(got->deliver, ids, 2);
	ccc_envelope_free(got);
	h_recv_none(gr, H_QUIET_MS);

	/* one subscription matching through two of its patterns: listed once */
	ids[2] = h_subscribe_n(gr, both, 2);
	ok = h_publish_ok(tr, a);
	ck_assert_uint_eq(ok->publish_ok->recipients, 1);
	ccc_envelope_free(ok);
	got = h_recv_deliver(gr);
	assert_sub_ids(got->deliver, ids, 3);
	ccc_envelope_free(got);
	h_recv_none(gr, H_QUIET_MS);
	h_alert_free(a);
	ccc_close(gr);
	ccc_close(tr);
	h_broker_stop(b);
}
END_TEST

START_TEST(unsubscribe_stops_deliveries)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *gr = h_connect(b, "gr-police");
	ccc_client *tr = h_connect(b, "tr-police");
	Ccc__V1__Alert *a = kapikule_alert();
	Ccc__V1__Envelope *ok, *got;
	struct ccc_error err;
	uint32_t s1, s2;

	s1 = h_subscribe(gr, "alerts/#");
	s2 = h_subscribe(gr, "alerts/+/tr-bg/kapikule");
	memset(&err, 0, sizeof(err));
	ck_assert_msg(ccc_unsubscribe(gr, s1, &err) == 0, "unsubscribe: %s",
	    err.message);
	ok = h_publish_ok(tr, a);
	ccc_envelope_free(ok);
	got = h_recv_deliver(gr);
	assert_sub_ids(got->deliver, &s2, 1);	/* the other one still works */
	ccc_envelope_free(got);

	ck_assert_msg(ccc_unsubscribe(gr, s2, &err) == 0, "unsubscribe: %s",
	    err.message);
	ok = h_publish_ok(tr, a);
	ck_assert_uint_eq(ok->publish_ok->recipients, 0);
	ccc_envelope_free(ok);
	h_recv_none(gr, H_QUIET_MS);

	/* an id is not reused: unsubscribing it again is refused */
	ck_assert_int_eq(ccc_unsubscribe(gr, s1, &err), -1);
	ck_assert_int_eq(err.code, CCC__V1__ERROR_CODE__ERROR_CODE_NOT_FOUND);
	h_alert_free(a);
	ccc_close(gr);
	ccc_close(tr);
	h_broker_stop(b);
}
END_TEST

START_TEST(three_subscribers_all_receive)
{
	static const char *const who[] = { "gr-police", "bg-border-police",
	    "tr-gendarmerie" };
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *sub[3], *tr = h_connect(b, "tr-police");
	Ccc__V1__Alert *a = kapikule_alert();
	Ccc__V1__Envelope *ok, *got;

	for (size_t i = 0; i < 3; i++) {
		sub[i] = h_connect(b, who[i]);
		h_subscribe(sub[i], i == 0 ? "alerts/+/tr-bg/#" : "alerts/#");
	}
	ok = h_publish_ok(tr, a);
	ck_assert_uint_eq(ok->publish_ok->recipients, 3);
	for (size_t i = 0; i < 3; i++) {
		got = h_recv_deliver(sub[i]);
		ck_assert_str_eq(got->deliver->alert->id, ok->publish_ok->id);
		ck_assert_str_eq(got->deliver->alert->origin, "tr-police");
		ccc_envelope_free(got);
		h_recv_none(sub[i], i == 0 ? H_QUIET_MS : 50);
		ccc_close(sub[i]);
	}
	ccc_envelope_free(ok);
	h_alert_free(a);
	ccc_close(tr);
	h_broker_stop(b);
}
END_TEST

START_TEST(publisher_receives_own_alert)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *tr = h_connect(b, "tr-police");
	Ccc__V1__Alert *a = kapikule_alert();
	Ccc__V1__Envelope *got;
	char id[CCC_ID_LEN];
	struct ccc_error err;

	h_subscribe(tr, "alerts/#");
	memset(&err, 0, sizeof(err));
	/* the Deliver may come before the PublishOk: the library keeps it */
	ck_assert_msg(ccc_publish(tr, a, id, &err) == 0, "publish: %s",
	    err.message);
	got = h_recv_deliver(tr);
	ck_assert_str_eq(got->deliver->alert->id, id);
	ccc_envelope_free(got);
	h_recv_none(tr, H_QUIET_MS);
	h_alert_free(a);
	ccc_close(tr);
	h_broker_stop(b);
}
END_TEST

/*
 * One subscription per pattern; one alert is published and the Deliver must
 * list exactly the subscriptions whose pattern matches its topic.
 */
START_TEST(wildcards)
{
	static const struct {
		const char	*pattern;
		bool		 kapikule;	/* matches migrant_smuggling/tr-bg/kapikule */
		bool		 ipsala;	/* matches drugs/tr-gr/ipsala */
	} cases[] = {
		{ "alerts/#",					true,  true },
		{ "alerts/migrant_smuggling/#",			true,  false },
		{ "alerts/+/tr-bg/#",				true,  false },
		{ "alerts/+/+/kapikule",			true,  false },
		{ "alerts/+/+/+",				true,  true },
		{ TOPIC_KAPIKULE,				true,  false },
		{ TOPIC_KAPIKULE "/#",				true,  false },
		{ "alerts/+/tr-bg",				false, false },
		{ "alerts/+",					false, false },
		{ "alerts/+/+/+/+",				false, false },
		{ "alerts/+/kapikule/#",			false, false },
		{ "alerts/drugs/#",				false, true },
		{ "alerts/+/tr-gr/ipsala",			false, true },
	};
	enum { N = sizeof(cases) / sizeof(cases[0]) };
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *gr = h_connect(b, "gr-police");
	ccc_client *tr = h_connect(b, "tr-police");
	Ccc__V1__Alert *a = kapikule_alert();
	Ccc__V1__Envelope *ok, *got;
	uint32_t ids[N], want[N];
	size_t n;

	for (size_t i = 0; i < N; i++)
		ids[i] = h_subscribe(gr, cases[i].pattern);

	ok = h_publish_ok(tr, a);
	ccc_envelope_free(ok);
	got = h_recv_deliver(gr);
	for (size_t i = n = 0; i < N; i++)
		if (cases[i].kapikule)
			want[n++] = ids[i];
	assert_sub_ids(got->deliver, want, n);
	ccc_envelope_free(got);

	a->category = CCC__V1__CATEGORY__CATEGORY_DRUGS;
	h_set_str(&a->section, "tr-gr/ipsala");
	ok = h_publish_ok(tr, a);
	ccc_envelope_free(ok);
	got = h_recv_deliver(gr);
	ck_assert_str_eq(got->deliver->topic, "alerts/drugs/tr-gr/ipsala");
	for (size_t i = n = 0; i < N; i++)
		if (cases[i].ipsala)
			want[n++] = ids[i];
	assert_sub_ids(got->deliver, want, n);
	ccc_envelope_free(got);
	h_recv_none(gr, H_QUIET_MS);
	h_alert_free(a);
	ccc_close(gr);
	ccc_close(tr);
	h_broker_stop(b);
}
END_TEST

START_TEST(closed_subscriber_is_forgotten)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *gr = h_connect(b, "gr-police");
	ccc_client *bg = h_connect(b, "bg-border-police");
	ccc_client *tr = h_connect(b, "tr-police");
	Ccc__V1__Alert *a = kapikule_alert();
	Ccc__V1__Envelope *ok, *got;

	h_subscribe(gr, "alerts/#");
	h_subscribe(bg, "alerts/#");
	ccc_close(gr);
	ck_assert(h_log_wait(b, "closing gr-police", H_WAIT_MS));
	ok = h_publish_ok(tr, a);
	ck_assert_uint_eq(ok->publish_ok->recipients, 1);
	ccc_envelope_free(ok);
	got = h_recv_deliver(bg);
	ccc_envelope_free(got);
	h_alert_free(a);
	ccc_close(bg);
	ccc_close(tr);
	h_broker_stop(b);
}
END_TEST

Suite *
delivery_suite(void)
{
	Suite *s = suite_create("02-delivery");
	TCase *tc = tcase_create("routing");

	tcase_add_test(tc, delivered_once_with_stamps);
	tcase_add_test(tc, broker_stamps_override_client);
	tcase_add_test(tc, client_chosen_id_is_kept);
	tcase_add_test(tc, non_matching_subscription_gets_nothing);
	tcase_add_test(tc, overlapping_subscriptions_one_deliver);
	tcase_add_test(tc, unsubscribe_stops_deliveries);
	tcase_add_test(tc, three_subscribers_all_receive);
	tcase_add_test(tc, publisher_receives_own_alert);
	tcase_add_test(tc, wildcards);
	tcase_add_test(tc, closed_subscriber_is_forgotten);
	tcase_set_timeout(tc, H_TEST_TIMEOUT);
	suite_add_tcase(s, tc);
	return s;
}
