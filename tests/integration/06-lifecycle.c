/*
 * 06-lifecycle.c — the broker over time: graceful shutdown, registry
 * reloads on SIGHUP (broken file, suspension, revoked rules, new
 * endpoints), handshake, hello and idle timeouts, the connection limit, and
 * a data_dir whose parents do not exist yet.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "harness.h"

/* Publish one alert from pub; sub (if not NULL) must receive it. */
static void
publish_reaches(ccc_client *pub, ccc_client *sub, const char *section)
{
	Ccc__V1__Alert *a = h_alert("weapons", section, "high", "h1",
	    "Rifles in a camper van");
	Ccc__V1__Envelope *ok = h_publish_ok(pub, a), *got;

	if (sub != NULL) {
		got = h_recv_deliver(sub);
		ck_assert_str_eq(got->deliver->alert->id, ok->publish_ok->id);
		ccc_envelope_free(got);
	}
	ccc_envelope_free(ok);
	h_alert_free(a);
}

/* After a fatal error the library reports the session closed. */
static void
assert_closed(ccc_client *c)
{
	Ccc__V1__Envelope *env = NULL;
	struct ccc_error err;

	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(ccc_receive(c, H_WAIT_MS, &env, &err), -1);
	ck_assert_int_eq(err.code, CCC_ERR_CLOSED);
	ck_assert(err.fatal);
}

START_TEST(sigterm_tells_sessions)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *gr = h_connect(b, "gr-police");
	struct h_raw *r = h_raw_session(b, "tr-police");
	Ccc__V1__Envelope *env;

	h_subscribe(gr, "alerts/#");
	h_broker_term(b);
	env = h_recv(gr, H_WAIT_MS);
	h_expect_error(env, CCC__V1__ERROR_CODE__ERROR_CODE_SHUTTING_DOWN, true,
	    NULL);
	ck_assert_uint_eq(env->request_id, 0);
	ccc_envelope_free(env);
	assert_closed(gr);
	h_raw_expect_error(r, CCC__V1__ERROR_CODE__ERROR_CODE_SHUTTING_DOWN,
	    true, NULL);
	h_raw_close(r);
	ck_assert(h_broker_wait_exit(b, H_WAIT_MS));
	ck_assert(h_log_contains(b, "SIGTERM"));
	ccc_close(gr);
	h_broker_stop(b);	/* asserts exit status 0 */
}
END_TEST

START_TEST(sighup_broken_registry_keeps_old)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *gr = h_connect(b, "gr-police");
	ccc_client *tr = h_connect(b, "tr-police");
	ccc_client *late;

	h_subscribe(gr, "alerts/#");
	h_registry_write(b, "version: 1\nsections: [ this is not\n");
	h_broker_reload(b);
	ck_assert_msg(h_log_contains(b, "keeping the current one"),
	    "no log line about keeping the old registry");
	publish_reaches(tr, gr, "tr-bg/kapikule");

	/* a well-formed file that names an unknown section in a rule */
	h_registry_write(b, "version: 1\nsections:\n  - id: tr-bg/kapikule\n"
	    "    name: K\nendpoints: []\naccess_rules:\n  - id: x\n"
	    "    action: publish\n    endpoints: [\"*\"]\n"
	    "    categories: [\"*\"]\n    sections: [tr-gr/nowhere]\n");
	h_broker_reload(b);
	ck_assert_uint_eq(h_log_count(b, "keeping the current one"), 2);

	/* the old registry still admits and authorises */
	late = h_connect(b, "bg-border-police");
	h_subscribe(late, "alerts/+/tr-bg/#");
	publish_reaches(tr, gr, "tr-bg/derekoy");
	ccc_close(late);
	ccc_close(gr);
	ccc_close(tr);
	h_broker_stop(b);
}
END_TEST

START_TEST(sighup_suspends_endpoint)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *gr = h_connect(b, "gr-police");
	ccc_client *tr = h_connect(b, "tr-police");
	ccc_client *bg = h_connect(b, "bg-border-police");
	Ccc__V1__Envelope *env;
	struct ccc_error err;

	h_subscribe(gr, "alerts/#");
	h_subscribe(bg, "alerts/#");
	h_registry_edit(b, "  - id: gr-police\n",
	    "  - id: gr-police\n    suspended: true\n");
	h_broker_reload(b);
	ck_assert(h_log_contains(b, "reloaded"));

	env = h_recv(gr, H_WAIT_MS);
	h_expect_error(env, CCC__V1__ERROR_CODE__ERROR_CODE_ENDPOINT_SUSPENDED,
	    true, "gr-police");
	ccc_envelope_free(env);
	assert_closed(gr);
	ccc_close(gr);

	ck_assert_int_eq(h_connect_err(b, h_pki("gr-police.pem"),
	    h_pki("gr-police.key"), &err), -1);
	ck_assert_msg(err.code ==
	    CCC__V1__ERROR_CODE__ERROR_CODE_ENDPOINT_SUSPENDED,
	    "expected endpoint_suspended, got %s: %s",
	    ccc_error_name(err.code), err.message);

	/* everyone else goes on */
	publish_reaches(tr, bg, "tr-gr/evros");
	ccc_close(tr);
	ccc_close(bg);
	h_broker_stop(b);
}
END_TEST

START_TEST(sighup_revokes_subscription)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *gr = h_connect(b, "gr-police");
	ccc_client *tr = h_connect(b, "tr-police");
	ccc_client *bg = h_connect(b, "bg-border-police");
	Ccc__V1__Envelope *env;
	uint32_t sid;

	sid = h_subscribe(gr, "alerts/#");
	h_subscribe(bg, "alerts/#");
	publish_reaches(tr, gr, "tr-bg/kapikule");
	env = h_recv_deliver(bg);
	ccc_envelope_free(env);

	/* gr-police leaves the police subscribe rule */
	h_registry_edit(b,
	    "endpoints: [tr-police, tr-gendarmerie, bg-border-police, gr-police]",
	    "endpoints: [tr-police, tr-gendarmerie, bg-border-police]");
	h_broker_reload(b);
	ck_assert(h_log_contains(b, "reloaded"));

	env = h_recv(gr, H_WAIT_MS);
	h_expect_error(env, CCC__V1__ERROR_CODE__ERROR_CODE_FORBIDDEN, false,
	    "revoked");
	ck_assert_uint_eq(env->error->subscription_id, sid);
	ccc_envelope_free(env);

	/* nothing more on it; the session itself goes on */
	publish_reaches(tr, bg, "tr-bg/kapikule");
	h_recv_none(gr, H_QUIET_MS);
	publish_reaches(gr, bg, "bg-gr/kulata");
	{
		struct ccc_error err;
		const char *p = "alerts/#";
		uint32_t id;

		memset(&err, 0, sizeof(err));
		ck_assert_int_eq(ccc_subscribe(gr, &p, 1, &id, &err), -1);
		ck_assert_int_eq(err.code,
		    CCC__V1__ERROR_CODE__ERROR_CODE_FORBIDDEN);
	}
	ccc_close(gr);
	ccc_close(tr);
	ccc_close(bg);
	h_broker_stop(b);
}
END_TEST

START_TEST(sighup_admits_new_endpoint)
{
	struct h_broker *b = h_broker_start(NULL);
	struct ccc_error err;
	ccc_client *c;

	ck_assert_int_eq(h_connect_err(b, h_pki("xx-unregistered.pem"),
	    h_pki("xx-unregistered.key"), &err), -1);
	h_registry_edit(b, "\nendpoints:\n", "\nendpoints:\n"
	    "  - id: xx-unregistered\n    country: GR\n    kind: police\n"
	    "    name: \"Test endpoint\"\n    roles: [subscriber]\n");
	h_broker_reload(b);
	ck_assert(h_log_contains(b, "reloaded"));
	c = h_connect(b, "xx-unregistered");
	ccc_close(c);
	h_broker_stop(b);
}
END_TEST

START_TEST(handshake_timeout)
{
	struct h_broker *b = h_broker_start("timeouts:\n  handshake: 1\n");
	struct h_raw *r = h_raw_tcp(b);
	int64_t t0 = h_mono_ms(), took;

	/* plain TCP, never a ClientHello */
	ck_assert_msg(h_raw_closed(r, 4000),
	    "the broker kept a connection that never started TLS");
	took = h_mono_ms() - t0;
	ck_assert_msg(took >= 700, "closed after %lld ms, before the timeout",
	    (long long)took);
	h_raw_close(r);
	ck_assert(h_log_wait(b, "did not complete the TLS handshake", H_WAIT_MS));
	h_broker_stop(b);
}
END_TEST

START_TEST(hello_timeout)
{
	struct h_broker *b = h_broker_start("timeouts:\n  handshake: 1\n");
	struct h_raw *r = h_raw_connect(b, "tr-police");
	Ccc__V1__Envelope *env = NULL;

	/* TLS done, no Hello */
	ck_assert_int_eq(h_raw_recv(r, 4000, &env), 1);
	h_expect_error(env, CCC__V1__ERROR_CODE__ERROR_CODE_PROTOCOL, true,
	    "no hello");
	frame_free(env);
	ck_assert(h_raw_closed(r, H_WAIT_MS));
	h_raw_close(r);
	h_broker_stop(b);
}
END_TEST

/* A raw session never answers: it must get a Ping, then IDLE_TIMEOUT. */
static void
expect_ping_then_idle_timeout(struct h_raw *r)
{
	Ccc__V1__Envelope *env = NULL;

	ck_assert_int_eq(h_raw_recv(r, 3000, &env), 1);
	ck_assert_msg(env->body_case == CCC__V1__ENVELOPE__BODY_PING,
	    "expected ping, got %s%s%s", frame_body_name(env->body_case),
	    env->body_case == CCC__V1__ENVELOPE__BODY_ERROR ? ": " : "",
	    env->body_case == CCC__V1__ENVELOPE__BODY_ERROR ?
	    env->error->message : "");
	frame_free(env);
	ck_assert_int_eq(h_raw_recv(r, 3000, &env), 1);
	h_expect_error(env, CCC__V1__ERROR_CODE__ERROR_CODE_IDLE_TIMEOUT, true,
	    NULL);
	frame_free(env);
	ck_assert(h_raw_closed(r, H_WAIT_MS));
}

START_TEST(idle_timeout)
{
	struct h_broker *b = h_broker_start("timeouts:\n  ping_interval: 1\n"
	    "  idle: 2\n");
	ccc_client *live = h_connect(b, "gr-police");
	struct h_raw *r1, *r2;

	/* the library answers pings by itself while it waits: still alive */
	h_recv_none(live, 2500);
	h_subscribe(live, "alerts/#");
	ccc_close(live);

	/* two sessions that never answer, the second opened right after the first */
	r1 = h_raw_session(b, "tr-police");
	r2 = h_raw_session(b, "bg-customs");
	expect_ping_then_idle_timeout(r1);
	expect_ping_then_idle_timeout(r2);
	h_raw_close(r1);
	h_raw_close(r2);
	h_broker_stop(b);
}
END_TEST

START_TEST(connection_limit)
{
	struct h_broker *b = h_broker_start("limits:\n  max_connections: 2\n");
	ccc_client *c1 = h_connect(b, "gr-police");
	ccc_client *c2 = h_connect(b, "tr-police");
	struct ccc_error err;
	int64_t deadline;
	int rc;

	ck_assert_int_eq(h_connect_err(b, h_pki("bg-customs.pem"),
	    h_pki("bg-customs.key"), &err), -1);
	ck_assert_msg(err.code ==
	    CCC__V1__ERROR_CODE__ERROR_CODE_TOO_MANY_CONNECTIONS,
	    "expected too_many_connections, got %s: %s",
	    ccc_error_name(err.code), err.message);
	ck_assert(err.fatal);
	ck_assert_msg(strstr(err.message, "2") != NULL, "message: %s",
	    err.message);

	/* the sessions in place are not disturbed */
	h_subscribe(c1, "alerts/#");
	publish_reaches(c2, c1, "tr-bg/kapikule");

	/* a closed session frees its place (once the broker has noticed) */
	ccc_close(c2);
	deadline = h_mono_ms() + H_WAIT_MS;
	do {
		rc = h_connect_err(b, h_pki("bg-customs.pem"),
		    h_pki("bg-customs.key"), &err);
	} while (rc != 0 && h_mono_ms() < deadline);
	ck_assert_msg(rc == 0, "no place after a session closed: %s",
	    err.message);
	ccc_close(c1);
	h_broker_stop(b);
}
END_TEST

/* A data_dir whose parents do not exist: created as install -d would. */
START_TEST(data_dir_parents_created)
{
	char root[400], data[440], path[480];
	const char *levels[] = { "", "/a", "/a/b", "/a/b/c" };
	struct h_broker *b;
	struct stat st;
	mode_t mask = umask(0);

	umask(mask);
	snprintf(root, sizeof(root), "%s", h_pki("ca.pem"));
	*strrchr(root, '/') = '\0';	/* the PKI directory ... */
	*strrchr(root, '/') = '\0';	/* ... in the run's tree */
	snprintf(data, sizeof(data), "%s/parents.%d", root, (int)getpid());
	snprintf(path, sizeof(path), "%s/a/b/c", data);
	h_data_dir = path;
	b = h_broker_start(NULL);
	h_data_dir = NULL;
	h_exchange_fresh(b);
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		mode_t want = (i == 3 ? 0700 : 0755) & ~mask;

		snprintf(path, sizeof(path), "%s%s", data, levels[i]);
		ck_assert_msg(stat(path, &st) == 0 && S_ISDIR(st.st_mode),
		    "%s: not created", path);
		ck_assert_msg((st.st_mode & 07777) == want, "%s: mode %o, "
		    "expected %o", path, (unsigned)(st.st_mode & 07777),
		    (unsigned)want);
	}
	snprintf(path, sizeof(path), "%s/a/b/c/ccc.db", data);
	ck_assert_msg(stat(path, &st) == 0, "no store in the data_dir");
	h_broker_stop(b);
}
END_TEST

Suite *
lifecycle_suite(void)
{
	Suite *s = suite_create("06-lifecycle");
	TCase *sig = tcase_create("signals");
	TCase *tmo = tcase_create("timeouts");

	tcase_add_test(sig, sigterm_tells_sessions);
	tcase_add_test(sig, sighup_broken_registry_keeps_old);
	tcase_add_test(sig, sighup_suspends_endpoint);
	tcase_add_test(sig, sighup_revokes_subscription);
	tcase_add_test(sig, sighup_admits_new_endpoint);
	tcase_add_test(sig, data_dir_parents_created);
	tcase_set_timeout(sig, H_TEST_TIMEOUT);
	suite_add_tcase(s, sig);
	tcase_add_test(tmo, handshake_timeout);
	tcase_add_test(tmo, hello_timeout);
	tcase_add_test(tmo, idle_timeout);
	tcase_add_test(tmo, connection_limit);
	tcase_set_timeout(tmo, H_TEST_TIMEOUT);
	suite_add_tcase(s, tmo);
	return s;
}
