/*
 * 17-resumption.c — TLS session resumption (tls.session_tickets): a resumed
 * session is the endpoint of the certificate verified in its first
 * handshake; no ticket survives a TLS reload, so a certificate revoked by
 * the new CRL cannot come back by resuming; a session whose certificate has
 * expired since is refused and forgotten; without tickets nothing resumes.
 *
 * The clients share a TLS context with resumption (ccc_tls_new), as a
 * program that opens several sessions with one identity would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define TICKETS		"  session_tickets: 1h\n"

/* A TLS context for endpoint's certificate in dir, resuming sessions. */
static ccc_tls *
tls_for(const char *dir, const char *endpoint)
{
	char cert[600], key[600];
	struct ccc_options o;
	struct ccc_error err;
	ccc_tls *t = NULL;

	snprintf(cert, sizeof(cert), "%s/%s.pem", dir, endpoint);
	snprintf(key, sizeof(key), "%s/%s.key", dir, endpoint);
	memset(&o, 0, sizeof(o));
	o.cert = cert;
	o.key = key;
	o.ca = h_pki("ca.pem");
	ck_assert_msg(ccc_tls_new(&o, true, &t, &err) == 0, "ccc_tls_new: %s",
	    err.message);
	return t;
}

/* Connect with the shared context t; 0 and *out, or -1 and err. */
static int
connect_tls(const struct h_broker *b, ccc_tls *t, ccc_client **out,
    struct ccc_error *err)
{
	struct ccc_options o;

	memset(&o, 0, sizeof(o));
	o.server = b->server;
	o.tls = t;
	o.timeout_ms = H_WAIT_MS;
	o.client_name = "ccc-itest";
	*out = NULL;
	memset(err, 0, sizeof(*err));
	return ccc_connect(&o, out, err);
}

static ccc_client *
connect_ok(const struct h_broker *b, ccc_tls *t, const char *endpoint)
{
	struct ccc_error err;
	ccc_client *c;

	ck_assert_msg(connect_tls(b, t, &c, &err) == 0, "connect as %s: %s",
	    endpoint, err.message);
	ck_assert_str_eq(ccc_endpoint(c), endpoint);
	return c;
}

/* tr publishes in tr-gr/ipsala; gr, subscribed to it, receives it. */
static void
exchange(ccc_client *gr, ccc_client *tr)
{
	h_subscribe(gr, "alerts/customs/tr-gr/#");
	h_exchange(gr, tr, "customs", "tr-gr/ipsala");
}

/* session_open records of endpoint naming a certificate, in b. */
static int
opened(const struct h_broker *b, const char *endpoint)
{
	char subject[80];

	snprintf(subject, sizeof(subject), "CN=%s%%", endpoint);
	return h_audited(b, "session_open", NULL, subject, endpoint);
}

START_TEST(resumed_session_keeps_its_identity)
{
	struct h_broker *b;
	ccc_tls *trt, *grt;
	ccc_client *tr, *gr;

	h_tls_extra = TICKETS;
	b = h_broker_start(NULL);
	trt = tls_for(h_pki(""), "tr-police");
	grt = tls_for(h_pki(""), "gr-police");

	tr = connect_ok(b, trt, "tr-police");
	ck_assert(!ccc_resumed(tr));
	gr = connect_ok(b, grt, "gr-police");
	ck_assert(!ccc_resumed(gr));
	exchange(gr, tr);
	ccc_close(tr);
	ccc_close(gr);

	/* the same identities again: resumed, and the same endpoints */
	tr = connect_ok(b, trt, "tr-police");
	ck_assert(ccc_resumed(tr));
	gr = connect_ok(b, grt, "gr-police");
	ck_assert(ccc_resumed(gr));
	exchange(gr, tr);
	ccc_close(tr);
	ccc_close(gr);
	ccc_tls_free(trt);
	ccc_tls_free(grt);

	/* every session, resumed or not, is journalled with its certificate */
	h_broker_halt(b);
	ck_assert_int_eq(opened(b, "tr-police"), 2);
	ck_assert_int_eq(opened(b, "gr-police"), 2);
	h_broker_stop(b);
}
END_TEST

START_TEST(no_resumption_across_a_reload)
{
	char *pki = h_pki_clone();
	struct h_broker *b;
	struct ccc_error err;
	ccc_tls *custt, *trt;
	ccc_client *c;

	h_tls_pki = pki;
	h_tls_extra = TICKETS;
	b = h_broker_start(NULL);
	custt = tls_for(pki, "tr-customs");
	trt = tls_for(pki, "tr-police");
	ccc_close(connect_ok(b, custt, "tr-customs"));
	ccc_close(connect_ok(b, trt, "tr-police"));
	c = connect_ok(b, custt, "tr-customs");
	ck_assert(ccc_resumed(c));
	ccc_close(c);

	/* tr-customs is revoked; the reload makes new ticket keys */
	h_mkpki("revoke", pki, "tr-customs", NULL);
	h_broker_reload(b);
	ck_assert(h_log_wait(b, "TLS context reloaded", H_WAIT_MS));

	/* its ticket is not taken: a full handshake, which refuses it */
	ck_assert_int_eq(connect_tls(b, custt, &c, &err), -1);
	ck_assert_ptr_null(c);
	ck_assert_msg(err.code == CCC_ERR_TLS, "expected a TLS failure, got "
	    "%s: %s", ccc_error_name(err.code), err.message);
	ck_assert(h_log_wait(b, "certificate revoked (CN=tr-customs)",
	    H_WAIT_MS));
	/* nor anybody else's, made before the reload */
	c = connect_ok(b, trt, "tr-police");
	ck_assert(!ccc_resumed(c));
	ccc_close(c);
	/* a ticket made after it is */
	c = connect_ok(b, trt, "tr-police");
	ck_assert(ccc_resumed(c));
	ccc_close(c);
	ccc_tls_free(custt);
	ccc_tls_free(trt);
	h_broker_stop(b);
	h_pki_drop(pki);
}
END_TEST

START_TEST(no_resumption_past_the_certificate)
{
	char *pki = h_pki_clone(), until[32];
	time_t end = time(NULL) + 4;
	struct h_broker *b;
	struct ccc_error err;
	ccc_tls *t;
	ccc_client *c;

	/* a certificate of tr-customs good for four more seconds */
	strftime(until, sizeof(until), "%Y%m%d%H%M%SZ", gmtime(&end));
	h_mkpki("issue", pki, "tr-customs", "tr-customs.brief", "--not-after",
	    until, NULL);
	h_tls_pki = pki;
	h_tls_extra = TICKETS;
	b = h_broker_start(NULL);
	t = tls_for(pki, "tr-customs.brief");
	ccc_close(connect_ok(b, t, "tr-customs"));
	c = connect_ok(b, t, "tr-customs");
	ck_assert(ccc_resumed(c));
	ccc_close(c);

	/* expired: the session made while it was good is refused */
	while (time(NULL) <= end + 1)
		usleep(100 * 1000);
	ck_assert_int_eq(connect_tls(b, t, &c, &err), -1);
	ck_assert_ptr_null(c);
	ck_assert_msg(err.code == CCC__V1__ERROR_CODE__ERROR_CODE_UNKNOWN_ENDPOINT,
	    "expected UNKNOWN_ENDPOINT, got %s: %s", ccc_error_name(err.code),
	    err.message);
	ck_assert_msg(strstr(err.message, "no longer within its validity "
	    "period") != NULL, "%s", err.message);
	/* and forgotten: the next attempt is a full handshake, refused */
	ck_assert_int_eq(connect_tls(b, t, &c, &err), -1);
	ck_assert_msg(err.code == CCC_ERR_TLS, "expected a TLS failure, got "
	    "%s: %s", ccc_error_name(err.code), err.message);
	ck_assert(h_log_wait(b, "certificate has expired (CN=tr-customs)",
	    H_WAIT_MS));
	ccc_tls_free(t);
	h_broker_stop(b);
	h_pki_drop(pki);
}
END_TEST

START_TEST(no_resumption_without_tickets)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_tls *t = tls_for(h_pki(""), "tr-police");
	ccc_client *c;

	ccc_close(connect_ok(b, t, "tr-police"));
	c = connect_ok(b, t, "tr-police");
	ck_assert(!ccc_resumed(c));
	ccc_close(c);
	ccc_tls_free(t);
	h_broker_stop(b);
}
END_TEST

Suite *
resumption_suite(void)
{
	Suite *s = suite_create("17-resumption");
	TCase *tc = tcase_create("resumption");

	tcase_add_test(tc, resumed_session_keeps_its_identity);
	tcase_add_test(tc, no_resumption_across_a_reload);
	tcase_add_test(tc, no_resumption_past_the_certificate);
	tcase_add_test(tc, no_resumption_without_tickets);
	suite_add_tcase(s, tc);
	return s;
}
