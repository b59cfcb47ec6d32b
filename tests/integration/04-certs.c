/*
 * 04-certs.c — mutual TLS and identity: certificates the broker must refuse
 * (another CA, no certificate, an endpoint it does not know, and the identity
 * rules of docs/certificates.md: a SAN naming another endpoint, a NUL byte
 * in the CN, two CNs, no clientAuth, a CA certificate, a CA the endpoint is
 * not pinned to), and the client's own checks. After each refusal a
 * legitimate client must still connect and exchange an alert, sessions
 * that were open must go on, and each refusal is in the log and the audit
 * journal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

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

	h_exchange_fresh(b);
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

	h_exchange_fresh(b);
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
	h_exchange_fresh(b);
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
	h_exchange_fresh(b);
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
	h_exchange_fresh(b);
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
	h_exchange_fresh(b);
	h_broker_stop(b);
}
END_TEST

/* The identity rules: each of these is refused. */
static const struct {
	const char	*name;		/* certificate of the test PKI */
	bool		 at_tls;	/* refused in the handshake, by OpenSSL */
	const char	*why;		/* in the client's error, the log and the audit */
} refusals[] = {
	{ "tr-police.san-bg", false, "its subjectAltName "
	    "URI:urn:ccc:endpoint:bg-customs names another endpoint than its "
	    "CN \"tr-police\"" },
	{ "tr-police.dns-bg", false, "its subjectAltName DNS:bg-customs names "
	    "another endpoint than its CN \"tr-police\"" },
	{ "tr-police.nul", false, "its CN contains a NUL byte" },
	{ "tr-police.two-cn", false, "its subject has more than one CN" },
	{ "tr-police.no-eku", false, "it has no extendedKeyUsage clientAuth" },
	{ "tr-police.ca", false, "it is a CA certificate" },
	{ "tr-police.plus", false, "its CN is not an endpoint id" },
	{ "tr-police.hash", false, "its CN is not an endpoint id" },
	{ "tr-police.slash", false, "its CN is not an endpoint id" },
	{ "tr-police.upper", false, "its CN is not an endpoint id" },
	{ "tr-police.server-eku", true, "unsuitable certificate purpose" },
	{ "ca", true, "unsuitable certificate purpose" },
};

START_TEST(identity_refused)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *gr = h_connect(b, "gr-police"), *tr = h_connect(b, "tr-police");
	char cert[400], key[400], like[400];
	struct ccc_error err;
	struct h_raw *r;

	h_subscribe(gr, "alerts/+/tr-gr/#");
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		size_t seen = h_log_count(b, refusals[i].why);
		int waited = 0;

		snprintf(cert, sizeof(cert), "%s", h_pki(refusals[i].name));
		strcat(cert, ".pem");
		snprintf(key, sizeof(key), "%s", h_pki(refusals[i].name));
		strcat(key, ".key");
		ck_assert_int_eq(h_connect_err(b, cert, key, &err), -1);
		ck_assert(err.fatal);
		if (refusals[i].at_tls) {
			ck_assert_msg(err.code == CCC_ERR_TLS, "%s: expected a "
			    "TLS failure, got %s: %s", refusals[i].name,
			    ccc_error_name(err.code), err.message);
			/* a new line: the CA's own, not the one before */
			while (h_log_count(b, refusals[i].why) == seen &&
			    waited < H_WAIT_MS) {
				usleep(20 * 1000);
				waited += 20;
			}
			ck_assert_msg(h_log_count(b, refusals[i].why) > seen,
			    "%s: no log line \"%s\"", refusals[i].name,
			    refusals[i].why);
			continue;
		}
		ck_assert_msg(err.code ==
		    CCC__V1__ERROR_CODE__ERROR_CODE_UNKNOWN_ENDPOINT &&
		    strstr(err.message, refusals[i].why) != NULL,
		    "%s: expected unknown_endpoint \"%s\", got %s: %s",
		    refusals[i].name, refusals[i].why, ccc_error_name(err.code),
		    err.message);
		snprintf(like, sizeof(like), "refused: %s", refusals[i].why);
		ck_assert_msg(h_log_wait(b, like, H_WAIT_MS), "no log line "
		    "\"%s\"", like);
	}
	/* the refusal comes right after the handshake, before any Hello */
	r = h_raw_connect(b, "tr-police.nul");
	h_raw_expect_error(r, CCC__V1__ERROR_CODE__ERROR_CODE_UNKNOWN_ENDPOINT,
	    true, "NUL byte");
	h_raw_close(r);
	ck_assert(!h_log_contains(b, "authenticated as bg-customs"));

	/* nobody else noticed */
	h_exchange(gr, tr, "drugs", "tr-gr/ipsala");
	h_exchange_fresh(b);
	ccc_close(gr);
	ccc_close(tr);
	h_broker_halt(b);
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		snprintf(like, sizeof(like), "%%%s%%", refusals[i].why);
		ck_assert_msg(h_audited(b, "handshake_refused", like, "CN=%",
		    "") >= 1, "%s: no audit record \"%s\"", refusals[i].name,
		    like);
	}
	ck_assert_int_eq(h_audited(b, "handshake_refused",
	    "client certificate refused: its CN contains a NUL byte",
	    "CN=tr-police%", ""), 2);
	ck_assert_int_eq(h_audited(b, "session_open", NULL, NULL, "bg-customs"),
	    0);
	h_broker_stop(b);
}
END_TEST

/* A SAN that agrees with the CN, names only hosts, or is absent: accepted. */
START_TEST(identity_accepted)
{
	static const char *const names[] = { "tr-police.san-host",
	    "tr-police.no-san" };
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *gr = h_connect(b, "gr-police");
	char cert[400], key[400];

	h_subscribe(gr, "alerts/+/tr-gr/#");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct ccc_error err;
		ccc_client *tr = NULL;

		snprintf(cert, sizeof(cert), "%s.pem", h_pki(names[i]));
		snprintf(key, sizeof(key), "%s.key", h_pki(names[i]));
		ck_assert_msg(h_connect_with(b, cert, key, &tr, &err) == 0,
		    "%s: %s", names[i], err.message);
		h_exchange(gr, tr, "drugs", "tr-gr/ipsala");
		ccc_close(tr);
	}
	ccc_close(gr);
	h_broker_stop(b);
}
END_TEST

/*
 * Two trusted CAs both issue CN=tr-police: both are tr-police until the
 * registry pins tr-police to one of them ("ca"); then the other's
 * certificate is refused, and its open session closed on the reload.
 */
START_TEST(two_cas_and_pin)
{
	struct h_broker *b;
	ccc_client *gr, *tr, *rogue;
	struct ccc_options o;
	struct ccc_error err;
	char fp[65], line[200];
	Ccc__V1__Envelope *env;

	h_tls_extra_ca = h_rogue("ca.pem");
	b = h_broker_start(NULL);
	h_tls_extra_ca = NULL;
	gr = h_connect(b, "gr-police");
	tr = h_connect(b, "tr-police");
	h_subscribe(gr, "alerts/+/tr-gr/#");
	memset(&o, 0, sizeof(o));
	o.server = b->server;
	o.cert = h_rogue("tr-police.pem");
	o.key = h_rogue("tr-police.key");
	o.ca = h_pki("ca.pem");
	o.timeout_ms = H_WAIT_MS;
	/* without a pin, the identity is the CN whichever CA issued it */
	ck_assert_msg(ccc_connect(&o, &rogue, &err) == 0, "%s", err.message);
	h_exchange(gr, rogue, "drugs", "tr-gr/ipsala");

	/* pin tr-police to the test CA (colon form, as openssl prints it) */
	h_cert_sha256(h_pki("ca.pem"), fp);
	snprintf(line, sizeof(line), "  - id: tr-police\n    ca: \"%.2s", fp);
	for (int i = 2; i < 64; i += 2)
		snprintf(line + strlen(line), sizeof(line) - strlen(line),
		    ":%.2s", fp + i);
	strcat(line, "\"\n");
	h_registry_edit(b, "  - id: tr-police\n", line);
	h_broker_reload(b);

	/* the rogue CA's session is closed, the test CA's goes on */
	env = h_recv(rogue, H_WAIT_MS);
	h_expect_error(env, CCC__V1__ERROR_CODE__ERROR_CODE_CERTIFICATE_REVOKED,
	    true, "is not a CA the endpoint is pinned to");
	ccc_envelope_free(env);
	ccc_close(rogue);
	h_exchange(gr, tr, "drugs", "tr-gr/ipsala");
	ck_assert(h_log_wait(b, "no longer accepted after a registry change",
	    H_WAIT_MS));

	/* and its certificate is refused from now on */
	ck_assert_int_eq(h_connect_err(b, h_rogue("tr-police.pem"),
	    h_rogue("tr-police.key"), &err), -1);
	ck_assert_msg(err.code == CCC__V1__ERROR_CODE__ERROR_CODE_UNKNOWN_ENDPOINT &&
	    strstr(err.message, "its issuer \"CN=rogue CA\" is not a CA the "
	    "endpoint is pinned to") != NULL, "got %s: %s",
	    ccc_error_name(err.code), err.message);
	ck_assert(h_log_wait(b, "refused for endpoint tr-police: its issuer",
	    H_WAIT_MS));
	h_exchange_fresh(b);
	ccc_close(gr);
	ccc_close(tr);
	h_broker_halt(b);
	ck_assert_int_eq(h_audited(b, "certificate_revoked",
	    "%is not a CA the endpoint is pinned to%", "CN=tr-police",
	    "tr-police"), 1);
	ck_assert_int_eq(h_audited(b, "handshake_refused",
	    "%is not a CA the endpoint is pinned to%", "CN=tr-police",
	    "tr-police"), 1);
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
	tcase_add_test(tc, identity_refused);
	tcase_add_test(tc, identity_accepted);
	tcase_add_test(tc, two_cas_and_pin);
	tcase_set_timeout(tc, H_TEST_TIMEOUT);
	suite_add_tcase(s, tc);
	return s;
}
