/*
 * 04-certs.c — mutual TLS and identity: certificates the broker must refuse
 * (another CA, no certificate, an endpoint it does not know), and the
 * client's own checks. After each refusal a legitimate client must still
 * connect and exchange an alert.
 */
#include <string.h>

#include "harness.h"

/* gr-police subscribes, tr-police publishes, the alert arrives. */
static void
exchange_alert(const struct h_broker *b)
{
	ccc_client *gr = h_connect(b, "gr-police");
	ccc_client *tr = h_connect(b, "tr-police");
	Ccc__V1__Alert *a = h_alert("wanted_person", "tr-bg/kapikule",
	    "critical", "h1", "Wanted person seen at the crossing");
	Ccc__V1__Envelope *ok, *got;

	h_subscribe(gr, "alerts/+/tr-bg/#");
	ok = h_publish_ok(tr, a);
	got = h_recv_deliver(gr);
	ck_assert_str_eq(got->deliver->alert->id, ok->publish_ok->id);
	ck_assert_str_eq(got->deliver->alert->origin, "tr-police");
	ccc_envelope_free(got);
	ccc_envelope_free(ok);
	h_alert_free(a);
	ccc_close(gr);
	ccc_close(tr);
}

START_TEST(rogue_ca_refused)
{
	struct h_broker *b = h_broker_start(NULL);
	struct ccc_error err;
	struct h_raw *r;

	/* a "tr-police" certificate from a CA the broker does not trust */
	ck_assert_int_eq(h_connect_err(b, h_rogue("tr-police.pem"),
	    h_rogue("tr-police.key"), &err), -1);
	ck_assert_msg(err.code == CCC_ERR_TLS, "expected a TLS failure, got "
	    "%s: %s", ccc_error_name(err.code), err.message);
	ck_assert(err.fatal);
	ck_assert(h_log_wait(b, "TLS handshake with", H_WAIT_MS));
	ck_assert(h_log_contains(b, "failed"));
	ck_assert(!h_log_contains(b, "tr-police connected"));

	/* the same over a raw connection: no frame, the connection ends */
	r = h_raw_tcp(b);
	if (h_raw_tls(r, h_rogue("tr-police.pem"), h_rogue("tr-police.key")) == 0)
		ck_assert_msg(h_raw_closed(r, H_WAIT_MS),
		    "the broker kept a session with an untrusted certificate");
	h_raw_close(r);

	exchange_alert(b);
	h_broker_stop(b);
}
END_TEST

START_TEST(unregistered_endpoint)
{
	struct h_broker *b = h_broker_start(NULL);
	struct ccc_error err;
	struct h_raw *r;

	ck_assert_int_eq(h_connect_err(b, h_pki("xx-unregistered.pem"),
	    h_pki("xx-unregistered.key"), &err), -1);
	ck_assert_msg(err.code == CCC__V1__ERROR_CODE__ERROR_CODE_UNKNOWN_ENDPOINT,
	    "expected unknown_endpoint, got %s: %s", ccc_error_name(err.code),
	    err.message);
	ck_assert(err.fatal);
	ck_assert_msg(strstr(err.message, "xx-unregistered") != NULL,
	    "message does not name the endpoint: %s", err.message);

	/* the refusal comes right after the handshake, before any Hello */
	r = h_raw_connect(b, "xx-unregistered");
	h_raw_expect_error(r, CCC__V1__ERROR_CODE__ERROR_CODE_UNKNOWN_ENDPOINT,
	    true, "xx-unregistered");
	h_raw_close(r);

	exchange_alert(b);
	h_broker_stop(b);
}
END_TEST

START_TEST(no_client_certificate)
{
	struct h_broker *b = h_broker_start(NULL);
	struct h_raw *r = h_raw_tcp(b);

	/* with TLS 1.3 the client finishes first and learns on reading */
	if (h_raw_tls(r, NULL, NULL) == 0)
		ck_assert_msg(h_raw_closed(r, H_WAIT_MS),
		    "the broker kept a session without a client certificate");
	h_raw_close(r);
	ck_assert(h_log_wait(b, "TLS handshake with", H_WAIT_MS));
	exchange_alert(b);
	h_broker_stop(b);
}
END_TEST

START_TEST(client_checks_broker_certificate)
{
	struct h_broker *b = h_broker_start(NULL);
	struct ccc_options o;
	struct ccc_error err;
	ccc_client *c = NULL;

	/* the client trusts only the rogue CA: the broker's certificate fails */
	memset(&o, 0, sizeof(o));
	o.server = b->server;
	o.cert = h_pki("gr-police.pem");
	o.key = h_pki("gr-police.key");
	o.ca = h_rogue("ca.pem");
	o.timeout_ms = H_WAIT_MS;
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(ccc_connect(&o, &c, &err), -1);
	ck_assert_ptr_null(c);
	ck_assert_msg(err.code == CCC_ERR_TLS, "expected tls, got %s: %s",
	    ccc_error_name(err.code), err.message);
	exchange_alert(b);
	h_broker_stop(b);
}
END_TEST

START_TEST(key_does_not_match_certificate)
{
	struct h_broker *b = h_broker_start(NULL);
	struct ccc_error err;

	ck_assert_int_eq(h_connect_err(b, h_pki("tr-police.pem"),
	    h_pki("gr-police.key"), &err), -1);
	ck_assert_msg(err.code == CCC_ERR_TLS, "expected tls, got %s: %s",
	    ccc_error_name(err.code), err.message);
	exchange_alert(b);
	h_broker_stop(b);
}
END_TEST

START_TEST(not_tls_at_all)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	struct h_broker *b = h_broker_start(NULL);
	struct h_raw *r = h_raw_tcp(b);

	h_raw_send(r, http, sizeof(http) - 1);
	ck_assert_msg(h_raw_closed(r, H_WAIT_MS),
	    "the broker kept a connection that does not speak TLS");
	h_raw_close(r);
	ck_assert(h_log_wait(b, "TLS handshake with", H_WAIT_MS));
	exchange_alert(b);
	h_broker_stop(b);
}
END_TEST

Suite *
certs_suite(void)
{
	Suite *s = suite_create("04-certs");
	TCase *tc = tcase_create("mutual-tls");

	tcase_add_test(tc, rogue_ca_refused);
	tcase_add_test(tc, unregistered_endpoint);
	tcase_add_test(tc, no_client_certificate);
	tcase_add_test(tc, client_checks_broker_certificate);
	tcase_add_test(tc, key_does_not_match_certificate);
	tcase_add_test(tc, not_tls_at_all);
	tcase_set_timeout(tc, H_TEST_TIMEOUT);
	suite_add_tcase(s, tc);
	return s;
}
