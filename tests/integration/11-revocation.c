/*
 * 11-revocation.c — certificates that are no longer good: expired, not yet
 * valid, revoked on a CRL; revocation of a live session on SIGHUP; and
 * reloads of the TLS material that fail (the broker keeps what it had) or
 * renew the broker's own certificate. After each refusal the broker must go
 * on serving everyone else, and each refusal must be in the audit journal.
 *
 * Tests that revoke work on a private copy of the test PKI (h_pki_clone), so
 * that the shared one stays as it is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "harness.h"

/*
 * Sessions that live through a test subscribe to this section; those of
 * h_exchange_fresh() to another, so that neither sees the other's alerts.
 */
#define LONG_SECTION	"tr-gr/ipsala"
#define LONG_PATTERN	"alerts/+/tr-gr/#"

/* The long-lived sessions gr and tr still exchange alerts. */
static void
exchange_on(ccc_client *gr, ccc_client *tr)
{
	h_exchange(gr, tr, "wanted_person", LONG_SECTION);
}

/* Connecting with file's certificate and key (in dir) fails at TLS. */
static void
refused(const struct h_broker *b, const char *dir, const char *name)
{
	char cert[600], key[600];
	struct ccc_error err;
	struct h_raw *r;

	snprintf(cert, sizeof(cert), "%s/%s.pem", dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", dir, name);
	ck_assert_int_eq(h_connect_err(b, cert, key, &err), -1);
	ck_assert_msg(err.code == CCC_ERR_TLS, "%s: expected a TLS failure, "
	    "got %s: %s", name, ccc_error_name(err.code), err.message);
	ck_assert(err.fatal);

	/* the same over a raw connection: no frame, the connection ends */
	r = h_raw_tcp(b);
	if (h_raw_tls(r, cert, key) == 0)
		ck_assert_msg(h_raw_closed(r, H_WAIT_MS),
		    "the broker kept a session with %s", name);
	h_raw_close(r);
}

/* A copy of the test PKI whose CRL the next broker started checks against. */
static char *
pki_with_crl(void)
{
	char *pki = h_pki_clone();

	h_tls_pki = pki;
	return pki;
}

static void
spit(const char *dir, const char *file, const char *text)
{
	char path[600];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	ck_assert_msg((fp = fopen(path, "w")) != NULL, "cannot write %s", path);
	ck_assert(fputs(text, fp) != EOF);
	ck_assert(fclose(fp) == 0);
}

START_TEST(expired_certificate_refused)
{
	struct h_broker *b = h_broker_start(NULL);

	refused(b, h_pki(""), "bg-customs.expired");
	ck_assert(h_log_wait(b, "certificate has expired (CN=bg-customs)",
	    H_WAIT_MS));
	h_exchange_fresh(b);
	/* the real bg-customs certificate is fine */
	ccc_close(h_connect(b, "bg-customs"));
	h_broker_halt(b);
	ck_assert_int_eq(h_audited(b, "handshake_refused",
	    "%certificate has expired", "CN=bg-customs", ""), 2);
	h_broker_stop(b);
}
END_TEST

START_TEST(not_yet_valid_certificate_refused)
{
	struct h_broker *b = h_broker_start(NULL);

	refused(b, h_pki(""), "bg-customs.future");
	ck_assert(h_log_wait(b, "certificate is not yet valid (CN=bg-customs)",
	    H_WAIT_MS));
	h_exchange_fresh(b);
	h_broker_halt(b);
	ck_assert_int_eq(h_audited(b, "handshake_refused",
	    "%certificate is not yet valid", "CN=bg-customs", ""), 2);
	h_broker_stop(b);
}
END_TEST

START_TEST(revoked_certificate_refused)
{
	char *pki = pki_with_crl();
	struct h_broker *b;

	h_mkpki("revoke", pki, "tr-customs", "--reason", "keyCompromise", NULL);
	b = h_broker_start(NULL);
	refused(b, pki, "tr-customs");
	ck_assert(h_log_wait(b, "certificate revoked (CN=tr-customs)",
	    H_WAIT_MS));
	/* certificates the CRL does not list are checked and pass */
	h_exchange_fresh(b);
	h_broker_halt(b);
	ck_assert_int_eq(h_audited(b, "handshake_refused",
	    "%certificate verify failed: certificate revoked", "CN=tr-customs",
	    ""), 2);
	ck_assert_int_eq(h_audited(b, "session_open", NULL, NULL, "tr-customs"),
	    0);
	h_broker_stop(b);
	h_pki_drop(pki);
}
END_TEST

START_TEST(revoked_live_session_closed_on_reload)
{
	char *pki = pki_with_crl();
	struct h_broker *b = h_broker_start(NULL);
	struct h_raw *victim, *waiting;
	ccc_client *gr, *tr;
	int64_t t0;

	victim = h_raw_session(b, "tr-customs");
	waiting = h_raw_connect(b, "tr-customs");	/* no Hello yet */
	gr = h_connect(b, "gr-police");
	tr = h_connect(b, "tr-police");
	h_subscribe(gr, LONG_PATTERN);

	/* the CA revokes tr-customs and publishes its CRL; the operator reloads */
	h_mkpki("revoke", pki, "tr-customs", NULL);
	t0 = h_now_us();
	h_broker_reload(b);
	h_raw_expect_error(victim, CCC__V1__ERROR_CODE__ERROR_CODE_CERTIFICATE_REVOKED,
	    true, "the certificate of \"tr-customs\" is no longer accepted: "
	    "certificate revoked");
	h_raw_expect_error(waiting,
	    CCC__V1__ERROR_CODE__ERROR_CODE_CERTIFICATE_REVOKED, true,
	    "certificate revoked");
	ck_assert_msg(h_now_us() - t0 < 2000000, "the revoked sessions were "
	    "closed %lld ms after SIGHUP", (long long)(h_now_us() - t0) / 1000);
	h_raw_close(victim);
	h_raw_close(waiting);
	ck_assert(h_log_contains(b, "TLS context reloaded: 1 CA bundles, 1 CRL "
	    "files; 2 of 4 sessions closed"));

	/* the other sessions stay up and keep working */
	exchange_on(gr, tr);
	/* a new connection with the revoked certificate is refused */
	refused(b, pki, "tr-customs");
	h_exchange_fresh(b);
	ccc_close(gr);
	ccc_close(tr);
	h_broker_halt(b);
	ck_assert_int_eq(h_audited(b, "certificate_revoked", "certificate revoked",
	    "CN=tr-customs", "tr-customs"), 2);
	ck_assert_int_eq(h_audited(b, "session_close", "%certificate revoked",
	    "CN=tr-customs", "tr-customs"), 1);
	ck_assert_int_eq(h_audited(b, "handshake_refused", "%certificate revoked",
	    "CN=tr-customs", ""), 2);
	h_broker_stop(b);
	h_pki_drop(pki);
}
END_TEST

START_TEST(broken_crl_keeps_tls_context)
{
	char *pki = pki_with_crl(), *text, forger[500], path[600];
	struct h_broker *b;
	ccc_client *gr, *tr;

	h_mkpki("revoke", pki, "tr-customs", NULL);
	b = h_broker_start(NULL);
	gr = h_connect(b, "gr-police");
	tr = h_connect(b, "tr-police");
	h_subscribe(gr, LONG_PATTERN);
	refused(b, pki, "tr-customs");

	/* a CRL file that does not parse: nothing changes */
	spit(pki, "crl.pem", "-----BEGIN X509 CRL-----\nbm90IGEgQ1JM\n"
	    "-----END X509 CRL-----\n");
	h_broker_reload(b);
	ck_assert(h_log_contains(b, "SIGHUP: TLS context not reloaded, keeping "
	    "the current one: cannot load CRL file"));
	ck_assert(!h_log_contains(b, "TLS context reloaded"));
	exchange_on(gr, tr);
	h_exchange_fresh(b);
	/* the old context, CRL and all, still refuses the revoked certificate */
	refused(b, pki, "tr-customs");

	/* no CRL at all in the file */
	spit(pki, "crl.pem", "not a CRL\n");
	h_broker_reload(b);
	ck_assert(h_log_contains(b, "TLS context not reloaded, keeping the "
	    "current one: no CRL in "));

	/* a CRL in the CA's name that its key did not sign */
	snprintf(forger, sizeof(forger), "%s/forger", pki);
	spit(pki, "none.txt", "");
	snprintf(path, sizeof(path), "%s/none.txt", pki);
	h_mkpki(forger, path, "--ca-name", "ccc demo CA", NULL);
	snprintf(path, sizeof(path), "%s/crl.pem", forger);
	text = h_slurp(path);
	ck_assert_ptr_nonnull(text);
	spit(pki, "crl.pem", text);
	free(text);
	h_broker_reload(b);
	ck_assert(h_log_contains(b, "TLS context not reloaded, keeping the "
	    "current one: CRL "));
	ck_assert(h_log_contains(b, "its signature does not verify with the key "
	    "of \"CN=ccc demo CA\""));
	ck_assert(!h_log_contains(b, "TLS context reloaded"));
	refused(b, pki, "tr-customs");
	exchange_on(gr, tr);

	/* a good CRL again: reloaded */
	h_mkpki("crl", pki, NULL);
	h_broker_reload(b);
	ck_assert(h_log_contains(b, "TLS context reloaded"));
	refused(b, pki, "tr-customs");
	exchange_on(gr, tr);
	ccc_close(gr);
	ccc_close(tr);
	h_broker_stop(b);
	h_pki_drop(pki);
}
END_TEST

START_TEST(stale_crl_still_enforced)
{
	char *pki = pki_with_crl();
	struct h_broker *b;

	h_mkpki("revoke", pki, "tr-customs", NULL);
	h_mkpki("crl", pki, "--last-update", "20000101000000Z", "--next-update",
	    "20000102000000Z", NULL);
	b = h_broker_start(NULL);
	ck_assert(h_log_contains(b, "is out of date (its next update was due "
	    "2000-01-02T00:00:00Z); it is enforced all the same"));
	refused(b, pki, "tr-customs");
	ck_assert(h_log_wait(b, "certificate revoked (CN=tr-customs)",
	    H_WAIT_MS));
	h_exchange_fresh(b);
	ck_assert(h_log_contains(b, "was checked against a CRL of \"CN=ccc demo "
	    "CA\" that is out of date"));
	h_broker_stop(b);
	h_pki_drop(pki);
}
END_TEST

START_TEST(ca_without_crl_refused)
{
	char *pki = pki_with_crl(), path[600], *ours, *rogue, *both, *text;
	struct h_broker *b;
	size_t n;

	/* trust the rogue CA as well, but give only the test CA's CRL */
	snprintf(path, sizeof(path), "%s/ca.pem", pki);
	ours = h_slurp(path);
	rogue = h_slurp(h_rogue("ca.pem"));
	ck_assert(ours != NULL && rogue != NULL);
	n = strlen(ours) + strlen(rogue) + 1;
	both = malloc(n);
	ck_assert_ptr_nonnull(both);
	snprintf(both, n, "%s%s", ours, rogue);
	spit(pki, "ca.pem", both);
	free(both);
	free(ours);
	free(rogue);

	b = h_broker_start(NULL);
	ck_assert(h_log_contains(b, "no CRL of the trusted CA \"CN=rogue CA\""));
	ck_assert(!h_log_contains(b, "no CRL of the trusted CA \"CN=ccc demo"));
	refused(b, h_rogue(""), "tr-police");
	ck_assert(h_log_wait(b, "unable to get certificate CRL", H_WAIT_MS));
	h_exchange_fresh(b);

	/* trust the test CA alone again, its CRL and the rogue one listed */
	text = h_slurp(h_pki("ca.pem"));
	ck_assert_ptr_nonnull(text);
	spit(pki, "ca.pem", text);
	free(text);
	snprintf(path, sizeof(path), "%s/crl.pem", pki);
	ours = h_slurp(path);
	rogue = h_slurp(h_rogue("crl.pem"));
	ck_assert(ours != NULL && rogue != NULL);
	n = strlen(ours) + strlen(rogue) + 1;
	both = malloc(n);
	ck_assert_ptr_nonnull(both);
	snprintf(both, n, "%s%s", rogue, ours);
	spit(pki, "crl.pem", both);
	free(both);
	free(ours);
	free(rogue);
	h_broker_reload(b);
	ck_assert(h_log_contains(b, "TLS context reloaded"));
	ck_assert(h_log_contains(b, "is from \"CN=rogue CA\", which is not a CA "
	    "in tls.ca; ignored"));
	refused(b, h_rogue(""), "tr-police");
	ck_assert(h_log_wait(b, "unable to get local issuer certificate",
	    H_WAIT_MS));
	h_exchange_fresh(b);
	h_broker_stop(b);
	h_pki_drop(pki);
}
END_TEST

START_TEST(broker_certificate_renewed_on_reload)
{
	char *pki = pki_with_crl(), old[600], cur[600], key[600], *text;
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *gr, *tr;
	struct h_raw *r;

	snprintf(cur, sizeof(cur), "%s/cccd.pem", pki);
	snprintf(old, sizeof(old), "%s/cccd.old.pem", pki);
	snprintf(key, sizeof(key), "%s/cccd.key", pki);
	gr = h_connect(b, "gr-police");
	tr = h_connect(b, "tr-police");
	h_subscribe(gr, LONG_PATTERN);
	r = h_raw_connect(b, "gr-police");
	ck_assert(h_raw_broker_cert_is(r, cur));
	h_raw_close(r);

	/* a new broker certificate (same key), installed and reloaded */
	ck_assert(rename(cur, old) == 0);
	spit(pki, "none.txt", "");
	snprintf(cur, sizeof(cur), "%s/none.txt", pki);
	h_mkpki(pki, cur, NULL);
	snprintf(cur, sizeof(cur), "%s/cccd.pem", pki);
	h_broker_reload(b);
	ck_assert(h_log_contains(b, "TLS context reloaded"));
	r = h_raw_connect(b, "gr-police");
	ck_assert(h_raw_broker_cert_is(r, cur));
	ck_assert(!h_raw_broker_cert_is(r, old));
	h_raw_close(r);
	/* sessions from before keep going on their own TLS session */
	exchange_on(gr, tr);

	/* a key that does not match: the renewed context stays */
	text = h_slurp(h_pki("gr-police.key"));
	ck_assert_ptr_nonnull(text);
	spit(pki, "cccd.key", text);
	free(text);
	h_broker_reload(b);
	ck_assert(h_log_contains(b, "SIGHUP: TLS context not reloaded, keeping "
	    "the current one: cannot load private key"));
	ck_assert(h_log_contains(b, "key values mismatch"));
	r = h_raw_connect(b, "gr-police");
	ck_assert(h_raw_broker_cert_is(r, cur));
	h_raw_close(r);
	exchange_on(gr, tr);
	ccc_close(gr);
	ccc_close(tr);
	h_broker_stop(b);
	h_pki_drop(pki);
}
END_TEST

Suite *
revocation_suite(void)
{
	Suite *s = suite_create("11-revocation");
	TCase *tc = tcase_create("revocation");

	tcase_add_test(tc, expired_certificate_refused);
	tcase_add_test(tc, not_yet_valid_certificate_refused);
	tcase_add_test(tc, revoked_certificate_refused);
	tcase_add_test(tc, revoked_live_session_closed_on_reload);
	tcase_add_test(tc, broken_crl_keeps_tls_context);
	tcase_add_test(tc, stale_crl_still_enforced);
	tcase_add_test(tc, ca_without_crl_refused);
	tcase_add_test(tc, broker_certificate_renewed_on_reload);
	tcase_set_timeout(tc, H_TEST_TIMEOUT);
	suite_add_tcase(s, tc);
	return s;
}
