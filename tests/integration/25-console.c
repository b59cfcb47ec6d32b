/*
 * 25-console.c — the console's HTTPS listener and JSON API, over TLS with
 * the test PKI: the security headers on every answer, authentication by the
 * client certificate (none, an unknown endpoint, a suspended one, a
 * certificate of another CA), GET /api/me, /api/sections, /api/history
 * with its filters and the access rules and disclosure policy applied,
 * CSRF on POST, 405, 413, oversized headers, garbage, the request rate,
 * the connection bound, the broker port while the console is busy, and a
 * reload closing the console's connections.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "harness.h"

#define CONSOLE_YAML	"console:\n  listen: 127.0.0.1:0\n"
#define CSP		"default-src 'none'; script-src 'self'; style-src 'self'; " \
			"img-src 'self'; connect-src 'self'; font-src 'self'; " \
			"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

static struct h_broker *
console_broker(const char *extra)
{
	char yaml[1024];

	snprintf(yaml, sizeof(yaml), "%s%s", CONSOLE_YAML, extra != NULL ?
	    extra : "");
	return h_broker_start(yaml);
}

/* The data_dir of broker b (static storage). */
static const char *
data_of(const struct h_broker *b)
{
	static char dir[320];

	snprintf(dir, sizeof(dir), "%s/data", b->dir);
	return dir;
}

/* GET path as endpoint; the reply (free(r.head)). */
static struct h_reply
get(int port, const char *endpoint, const char *path)
{
	return h_https_as(port, endpoint, "GET", path, NULL);
}

/* The body of r as JSON (asserts it parses). */
static json_t *
body_json(const struct h_reply *r)
{
	json_error_t e;
	json_t *j = json_loads(r->body, 0, &e);

	ck_assert_msg(j != NULL, "not JSON (%s): %.300s", e.text, r->body);
	return j;
}

/* Assert r is a JSON error with this status and code. */
static void
expect_error(struct h_reply r, int status, const char *code)
{
	json_t *j;

	ck_assert_msg(r.status == status, "status %d, not %d: %.300s",
	    r.status, status, r.body);
	j = body_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(j, "error")), code);
	ck_assert_ptr_nonnull(json_string_value(json_object_get(j,
	    "message")));
	json_decref(j);
	free(r.head);
}

/* Every security header, exactly. */
static void
expect_headers(const struct h_reply *r)
{
	char v[512];

	ck_assert_msg(h_header(r, "Content-Security-Policy", v, sizeof(v)) !=
	    NULL, "no CSP in %s", r->head);
	ck_assert_str_eq(v, CSP);
	ck_assert_ptr_nonnull(h_header(r, "Strict-Transport-Security", v,
	    sizeof(v)));
	ck_assert_str_eq(v, "max-age=31536000");
	ck_assert_ptr_nonnull(h_header(r, "X-Content-Type-Options", v,
	    sizeof(v)));
	ck_assert_str_eq(v, "nosniff");
	ck_assert_ptr_nonnull(h_header(r, "Referrer-Policy", v, sizeof(v)));
	ck_assert_str_eq(v, "no-referrer");
	ck_assert_ptr_nonnull(h_header(r, "X-Frame-Options", v, sizeof(v)));
	ck_assert_str_eq(v, "DENY");
	ck_assert_ptr_nonnull(h_header(r, "Cross-Origin-Opener-Policy", v,
	    sizeof(v)));
	ck_assert_str_eq(v, "same-origin");
	ck_assert_ptr_nonnull(h_header(r, "Cross-Origin-Resource-Policy", v,
	    sizeof(v)));
	ck_assert_str_eq(v, "same-origin");
	ck_assert_ptr_null(h_header(r, "Set-Cookie", v, sizeof(v)));
}

START_TEST(headers_everywhere)
{
	struct h_broker *b = console_broker(NULL);
	int port = h_console_port(b);
	struct h_reply r;
	char etag[128], hdr[200], v[128];

	r = get(port, "tr-police", "/");
	ck_assert_int_eq(r.status, 200);
	expect_headers(&r);
	ck_assert_ptr_nonnull(h_header(&r, "Content-Type", v, sizeof(v)));
	ck_assert_str_eq(v, "text/html; charset=utf-8");
	ck_assert_ptr_nonnull(h_header(&r, "Cache-Control", v, sizeof(v)));
	ck_assert_str_eq(v, "no-cache");
	ck_assert_ptr_nonnull(strstr(r.body, "<html"));
	ck_assert_ptr_nonnull(h_header(&r, "ETag", etag, sizeof(etag)));
	free(r.head);

	/* the same content: 304, headers and all */
	snprintf(hdr, sizeof(hdr), "If-None-Match: %s\r\n", etag);
	r = h_https_as(port, "tr-police", "GET", "/", hdr);
	ck_assert_int_eq(r.status, 304);
	expect_headers(&r);
	ck_assert_str_eq(r.body, "");
	free(r.head);

	/* HEAD: the length, no body */
	r = h_https_as(port, "tr-police", "HEAD", "/", NULL);
	ck_assert_int_eq(r.status, 200);
	expect_headers(&r);
	ck_assert_ptr_nonnull(h_header(&r, "Content-Length", v, sizeof(v)));
	ck_assert_int_gt(atoi(v), 0);
	ck_assert_str_eq(r.body, "");
	free(r.head);

	r = get(port, "tr-police", "/api/me");
	ck_assert_int_eq(r.status, 200);
	expect_headers(&r);
	ck_assert_ptr_nonnull(h_header(&r, "Cache-Control", v, sizeof(v)));
	ck_assert_str_eq(v, "no-store");
	ck_assert_ptr_nonnull(h_header(&r, "Content-Type", v, sizeof(v)));
	ck_assert_str_eq(v, "application/json");
	free(r.head);

	/* errors too; index.html is served at / only */
	r = get(port, "tr-police", "/assets/index.html");
	ck_assert_int_eq(r.status, 404);
	expect_headers(&r);
	expect_error(r, 404, "not_found");
	r = get(port, "tr-police", "/api/nothing");
	expect_headers(&r);
	expect_error(r, 404, "not_found");
	r = get(port, "tr-police", "/assets/../etc/passwd");
	expect_headers(&r);
	expect_error(r, 400, "bad_path");
	r = get(port, NULL, "/");
	expect_headers(&r);
	free(r.head);
	h_broker_stop(b);
}
END_TEST

START_TEST(certificate_needed)
{
	struct h_broker *b = console_broker(NULL);
	int port = h_console_port(b);
	struct h_reply r;
	char v[128];

	/* a browser without a certificate: a readable page */
	r = get(port, NULL, "/");
	ck_assert_int_eq(r.status, 403);
	ck_assert_ptr_nonnull(h_header(&r, "Content-Type", v, sizeof(v)));
	ck_assert_str_eq(v, "text/html; charset=utf-8");
	ck_assert_ptr_nonnull(strstr(r.body, "client certificate is needed"));
	ck_assert_ptr_nonnull(strstr(r.body, ".p12"));
	free(r.head);
	/* and JSON for the API */
	expect_error(get(port, NULL, "/api/me"), 403, "certificate_required");

	/* a certificate of an unregistered endpoint */
	r = h_https_as(port, "xx-unregistered", "GET", "/api/me", NULL);
	ck_assert_ptr_nonnull(strstr(r.body, "xx-unregistered"));
	expect_error(r, 403, "unknown_endpoint");
	/* a certificate the broker's CAs did not issue: no handshake */
	r = h_https(port, h_rogue("tr-police.pem"), h_rogue("tr-police.key"),
	    "GET /api/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	ck_assert_int_eq(r.status, 0);
	free(r.head);
	/* a certificate that is not a client certificate (a CA) */
	r = h_https(port, h_pki("tr-police.ca.pem"), h_pki("tr-police.ca.key"),
	    "GET /api/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	ck_assert_msg(r.status == 0 || r.status == 403, "status %d", r.status);
	free(r.head);

	/* a suspended endpoint, after a reload */
	h_registry_edit(b, "  - id: gr-police\n",
	    "  - id: gr-police\n    suspended: true\n");
	h_broker_reload(b);
	r = get(port, "gr-police", "/api/me");
	ck_assert_ptr_nonnull(strstr(r.body, "suspended"));
	expect_error(r, 403, "endpoint_suspended");
	/* the others still get in */
	r = get(port, "tr-police", "/api/me");
	ck_assert_int_eq(r.status, 200);
	free(r.head);
	h_broker_stop(b);
}
END_TEST

START_TEST(me)
{
	struct h_broker *b = console_broker(NULL);
	int port = h_console_port(b);
	struct h_reply r;
	char fp[65];
	json_t *j, *t;

	r = get(port, "tr-customs", "/api/me");
	ck_assert_int_eq(r.status, 200);
	j = body_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(j, "endpoint")),
	    "tr-customs");
	ck_assert_str_eq(json_string_value(json_object_get(j, "country")), "TR");
	ck_assert_str_eq(json_string_value(json_object_get(j, "kind")),
	    "customs");
	ck_assert_ptr_nonnull(json_string_value(json_object_get(j, "name")));
	t = json_object_get(j, "roles");
	ck_assert_int_eq(json_array_size(t), 2);
	ck_assert_str_eq(json_string_value(json_array_get(t, 0)), "publisher");
	ck_assert_str_eq(json_string_value(json_array_get(t, 1)), "subscriber");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j,
	    "subject")), "CN=tr-customs"));
	h_cert_sha256(h_pki("tr-customs.pem"), fp);
	ck_assert_str_eq(json_string_value(json_object_get(j, "fingerprint")),
	    fp);
	ck_assert_int_eq(strlen(json_string_value(json_object_get(j, "csrf"))),
	    64);
	t = json_object_get(j, "topics");
	ck_assert_int_eq(json_array_size(t), 4);
	ck_assert_str_eq(json_string_value(json_array_get(t, 0)),
	    "alerts/customs/#");
	ck_assert_str_eq(json_string_value(json_object_get(j, "broker")),
	    "cccd 0.1.0");
	json_decref(j);
	free(r.head);

	r = get(port, "ccc-operator", "/api/me");
	ck_assert_int_eq(r.status, 200);
	j = body_json(&r);
	ck_assert_int_eq(json_array_size(json_object_get(j, "topics")), 0);
	t = json_object_get(j, "roles");
	ck_assert_int_eq(json_array_size(t), 1);
	ck_assert_str_eq(json_string_value(json_array_get(t, 0)), "operator");
	ck_assert_ptr_null(json_object_get(j, "country"));
	json_decref(j);
	free(r.head);
	h_broker_stop(b);
}
END_TEST

START_TEST(sections)
{
	struct h_broker *b = console_broker(NULL);
	int port = h_console_port(b);
	struct h_reply r = get(port, "gr-police", "/api/sections");
	json_t *j, *s, *v, *kap = NULL;
	size_t i;

	ck_assert_int_eq(r.status, 200);
	j = body_json(&r);
	s = json_object_get(j, "sections");
	ck_assert_int_eq(json_array_size(s), 14);
	json_array_foreach(s, i, v) {
		if (strcmp(json_string_value(json_object_get(v, "id")),
		    "tr-bg/kapikule") == 0)
			kap = v;
	}
	ck_assert_ptr_nonnull(kap);
	ck_assert_str_eq(json_string_value(json_object_get(kap, "border")),
	    "tr-bg");
	ck_assert_ptr_nonnull(json_string_value(json_object_get(kap, "name")));
	ck_assert(json_is_real(json_object_get(kap, "lat")));
	ck_assert(json_real_value(json_object_get(kap, "lat")) > 41.0 &&
	    json_real_value(json_object_get(kap, "lat")) < 42.5);
	ck_assert(json_real_value(json_object_get(kap, "lon")) > 26.0 &&
	    json_real_value(json_object_get(kap, "lon")) < 27.0);
	s = json_object_get(j, "severities");
	ck_assert_int_eq(json_array_size(s), 4);
	ck_assert_str_eq(json_string_value(json_array_get(s, 0)), "low");
	ck_assert_str_eq(json_string_value(json_array_get(s, 3)), "critical");
	s = json_object_get(j, "handling");
	ck_assert_int_eq(json_array_size(s), 4);
	ck_assert_str_eq(json_string_value(json_array_get(s, 0)), "h0");
	s = json_object_get(j, "categories");
	ck_assert_int_ge(json_array_size(s), 9);
	ck_assert_str_eq(json_string_value(json_array_get(s, 0)),
	    "human_trafficking");
	json_decref(j);
	free(r.head);
	h_broker_stop(b);
}
END_TEST

/* Publish one alert as pub; its id (static storage, overwritten). */
static const char *
publish(ccc_client *pub, const char *category, const char *section,
    const char *handling, const char *summary, const char *recipient)
{
	static char id[64];
	Ccc__V1__Alert *a = h_alert(category, section, "high", handling,
	    summary);
	Ccc__V1__Envelope *env;

	if (recipient != NULL) {
		a->n_recipients = 1;
		a->recipients = calloc(1, sizeof(char *));
		ck_assert_ptr_nonnull(a->recipients);
		a->recipients[0] = strdup(recipient);
	}
	env = h_publish_ok(pub, a);
	snprintf(id, sizeof(id), "%s", env->publish_ok->id);
	ccc__v1__envelope__free_unpacked(env, NULL);
	h_alert_free(a);
	return id;
}

/* GET /api/history?query as endpoint: the summaries (a new array). */
static json_t *
history(int port, const char *endpoint, const char *query)
{
	char path[512];
	struct h_reply r;
	json_t *j, *a;

	snprintf(path, sizeof(path), "/api/history%s%s", query[0] ? "?" : "",
	    query);
	r = get(port, endpoint, path);
	ck_assert_msg(r.status == 200, "%s: %d %s", path, r.status, r.body);
	j = body_json(&r);
	ck_assert(json_is_boolean(json_object_get(j, "more")));
	ck_assert(json_is_integer(json_object_get(j, "next_after")));
	a = json_incref(json_object_get(j, "alerts"));
	json_decref(j);
	free(r.head);
	return a;
}

/* True when the summaries hold one with this summary text. */
static bool
holds(json_t *alerts, const char *summary)
{
	size_t i;
	json_t *s;

	json_array_foreach(alerts, i, s)
		if (strcmp(json_string_value(json_object_get(s, "summary")),
		    summary) == 0)
			return true;
	return false;
}

START_TEST(history_filters)
{
	struct h_broker *b = console_broker(NULL);
	int port = h_console_port(b);
	ccc_client *tr = h_connect(b, "tr-police");
	json_t *a, *s;
	char q[200];

	publish(tr, "drugs", "tr-bg/kapikule", "h1", "Heroin in a truck", NULL);
	publish(tr, "human_trafficking", "tr-gr/ipsala", "h1",
	    "Twelve people in a van", NULL);
	publish(tr, "customs", "tr-bg/hamzabeyli", "h0",
	    "Undeclared cigarettes", NULL);
	/* restricted (H2) to gr-police: drugs, which customs subscribe to */
	publish(tr, "drugs", "tr-gr/ipsala", "h2", "Restricted cocaine lead",
	    "gr-police");

	/* the police see all four, oldest first */
	a = history(port, "tr-police", "");
	ck_assert_int_eq(json_array_size(a), 4);
	s = json_array_get(a, 0);
	ck_assert_str_eq(json_string_value(json_object_get(s, "summary")),
	    "Heroin in a truck");
	ck_assert_str_eq(json_string_value(json_object_get(s, "category")),
	    "drugs");
	ck_assert_str_eq(json_string_value(json_object_get(s, "severity")),
	    "high");
	ck_assert_str_eq(json_string_value(json_object_get(s, "handling")),
	    "h1");
	ck_assert_str_eq(json_string_value(json_object_get(s, "origin")),
	    "tr-police");
	ck_assert_str_eq(json_string_value(json_object_get(s, "topic")),
	    "alerts/drugs/tr-bg/kapikule");
	ck_assert(h_is_uuid7(json_string_value(json_object_get(s, "id"))));
	ck_assert(json_is_integer(json_object_get(s, "seq")));
	ck_assert_ptr_nonnull(json_string_value(json_object_get(s,
	    "published_at")));
	ck_assert(json_is_false(json_object_get(s, "restricted")));
	/* nothing of the detail in a summary */
	ck_assert_ptr_null(json_object_get(s, "details"));
	ck_assert_ptr_null(json_object_get(s, "persons"));
	ck_assert(json_is_true(json_object_get(json_array_get(a, 3),
	    "restricted")));
	json_decref(a);

	/* customs: not human trafficking (no rule), not the restricted one */
	a = history(port, "tr-customs", "");
	ck_assert_int_eq(json_array_size(a), 2);
	ck_assert(holds(a, "Heroin in a truck"));
	ck_assert(holds(a, "Undeclared cigarettes"));
	json_decref(a);
	/* gr-police, in the audience, sees it */
	a = history(port, "gr-police", "category=drugs");
	ck_assert_int_eq(json_array_size(a), 2);
	ck_assert(holds(a, "Restricted cocaine lead"));
	json_decref(a);
	/* an operator subscribes to nothing: sees nothing */
	a = history(port, "ccc-operator", "");
	ck_assert_int_eq(json_array_size(a), 0);
	json_decref(a);

	/* filters */
	a = history(port, "tr-police", "section=tr-gr/ipsala");
	ck_assert_int_eq(json_array_size(a), 2);
	json_decref(a);
	a = history(port, "tr-police", "category=customs");
	ck_assert_int_eq(json_array_size(a), 1);
	ck_assert(holds(a, "Undeclared cigarettes"));
	json_decref(a);
	a = history(port, "tr-police", "q=HEROIN");
	ck_assert_int_eq(json_array_size(a), 1);
	json_decref(a);
	a = history(port, "tr-police", "q=twelve%20people&severity=high");
	ck_assert_int_eq(json_array_size(a), 1);
	json_decref(a);
	a = history(port, "tr-police", "severity=low");
	ck_assert_int_eq(json_array_size(a), 0);
	json_decref(a);
	/* time range: all of them lie within the last hour, none before */
	snprintf(q, sizeof(q), "from=%lld", (long long)(h_now_us() -
	    3600LL * 1000000));
	a = history(port, "tr-police", q);
	ck_assert_int_eq(json_array_size(a), 4);
	json_decref(a);
	snprintf(q, sizeof(q), "from=2020-01-01T00:00:00Z&to=%lld",
	    (long long)(h_now_us() - 3600LL * 1000000));
	a = history(port, "tr-police", q);
	ck_assert_int_eq(json_array_size(a), 0);
	json_decref(a);
	a = history(port, "tr-police", "from=2099-01-01T00:00:00Z");
	ck_assert_int_eq(json_array_size(a), 0);
	json_decref(a);
	/* paging: limit 1, then after */
	{
		struct h_reply r = get(port, "tr-police",
		    "/api/history?limit=1");
		json_t *j = body_json(&r);
		long long next = json_integer_value(json_object_get(j,
		    "next_after"));

		ck_assert(json_is_true(json_object_get(j, "more")));
		ck_assert_int_eq(json_array_size(json_object_get(j, "alerts")),
		    1);
		json_decref(j);
		free(r.head);
		snprintf(q, sizeof(q), "after=%lld", next);
		a = history(port, "tr-police", q);
		ck_assert_int_eq(json_array_size(a), 3);
		json_decref(a);
	}

	/* bad queries: 400 with the reason, the daemon stays */
	expect_error(get(port, "tr-police", "/api/history?limit=0"), 400,
	    "bad_query");
	expect_error(get(port, "tr-police", "/api/history?limit=201"), 400,
	    "bad_query");
	expect_error(get(port, "tr-police", "/api/history?from=yesterday"),
	    400, "bad_query");
	expect_error(get(port, "tr-police", "/api/history?category=cheese"),
	    400, "bad_query");
	expect_error(get(port, "tr-police", "/api/history?after=-1"), 400,
	    "bad_query");
	expect_error(get(port, "tr-police", "/api/history?colour=red"), 400,
	    "bad_query");
	a = history(port, "tr-police", "");
	ck_assert_int_eq(json_array_size(a), 4);
	json_decref(a);
	ccc_close(tr);
	/* each read journalled with the reader's certificate */
	h_broker_halt(b);
	ck_assert_int_ge(h_audited(b, "history_read", "console",
	    "%CN=tr-customs%", "tr-customs"), 1);
	ck_assert_int_ge(h_audited(b, "history_read", "console",
	    "%CN=tr-police%", "tr-police"), 10);
	h_broker_stop(b);
}
END_TEST

START_TEST(detail)
{
	struct h_broker *b = console_broker(NULL);
	int port = h_console_port(b);
	ccc_client *tr = h_connect(b, "tr-police");
	Ccc__V1__Alert *al = h_alert("drugs", "tr-bg/kapikule", "high", "h1",
	    "Heroin in a truck");
	Ccc__V1__Envelope *env;
	char drugs[64], traff[64], restr[64], path[128], fp[65], sql[300];
	struct h_reply r;
	json_t *j;

	h_set_str(&al->details, "Driver seen at the border at 04:10");
	env = h_publish_ok(tr, al);
	snprintf(drugs, sizeof(drugs), "%s", env->publish_ok->id);
	ccc__v1__envelope__free_unpacked(env, NULL);
	h_alert_free(al);
	snprintf(traff, sizeof(traff), "%s", publish(tr, "human_trafficking",
	    "tr-gr/ipsala", "h1", "Twelve people in a van", NULL));
	snprintf(restr, sizeof(restr), "%s", publish(tr, "drugs",
	    "tr-gr/ipsala", "h2", "Restricted cocaine lead", "gr-police"));

	/* the whole alert, with its seq and topic */
	snprintf(path, sizeof(path), "/api/alerts/%s", drugs);
	r = get(port, "tr-customs", path);
	ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
	j = body_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(j, "id")), drugs);
	ck_assert_str_eq(json_string_value(json_object_get(j, "details")),
	    "Driver seen at the border at 04:10");
	ck_assert_str_eq(json_string_value(json_object_get(j, "topic")),
	    "alerts/drugs/tr-bg/kapikule");
	ck_assert_str_eq(json_string_value(json_object_get(j, "category")),
	    "drugs");
	ck_assert(json_is_integer(json_object_get(j, "seq")));
	ck_assert_ptr_null(json_object_get(j, "expired"));
	json_decref(j);
	free(r.head);

	/* customs may not subscribe to human trafficking: as no alert */
	snprintf(path, sizeof(path), "/api/alerts/%s", traff);
	expect_error(get(port, "tr-customs", path), 404, "not_found");
	r = get(port, "tr-police", path);
	ck_assert_int_eq(r.status, 200);
	free(r.head);
	/* the restricted one: its audience only */
	snprintf(path, sizeof(path), "/api/alerts/%s", restr);
	expect_error(get(port, "tr-customs", path), 404, "not_found");
	r = get(port, "gr-police", path);
	ck_assert_int_eq(r.status, 200);
	free(r.head);
	/* no such alert; not an id */
	expect_error(get(port, "tr-police",
	    "/api/alerts/01a2532a-5ba5-7080-842a-000000000000"), 404,
	    "not_found");
	expect_error(get(port, "tr-police", "/api/alerts/nothing"), 404,
	    "not_found");
	ccc_close(tr);

	/* each detail read out is journalled as a consult by the certificate */
	h_broker_halt(b);
	h_cert_sha256(h_pki("tr-customs.pem"), fp);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE event = "
	    "'consult' AND endpoint = 'tr-customs' AND fingerprint = '%s' AND "
	    "alert = '%s' AND detail LIKE 'console%%alerts/drugs/tr-bg/"
	    "kapikule%%'", fp, drugs);
	ck_assert_int_eq(h_store_value(data_of(b), sql), 1);
	ck_assert_int_eq(h_audited(b, "consult", "console%", "%CN=gr-police%",
	    "gr-police"), 1);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE event = "
	    "'consult' AND alert = '01a2532a-5ba5-7080-842a-000000000000'");
	ck_assert_int_eq(h_store_value(data_of(b), sql), 0);
	h_broker_stop(b);
}
END_TEST

/* An expired alert is still a record: shown, and said to be expired. */
START_TEST(expired_shown)
{
	struct h_broker *b = console_broker(NULL);
	int port = h_console_port(b);
	ccc_client *tr = h_connect(b, "tr-police");
	Ccc__V1__Alert *al = h_alert("drugs", "tr-bg/kapikule", "high", "h1",
	    "Short-lived lead");
	Ccc__V1__Envelope *env;
	char path[128];
	struct h_reply r;
	json_t *a, *j;

	al->expires_at = h_now_us() + 1000000;
	env = h_publish_ok(tr, al);
	snprintf(path, sizeof(path), "/api/alerts/%s", env->publish_ok->id);
	ccc__v1__envelope__free_unpacked(env, NULL);
	h_alert_free(al);
	a = history(port, "tr-police", "");
	ck_assert_int_eq(json_array_size(a), 1);
	ck_assert_ptr_null(json_object_get(json_array_get(a, 0), "expired"));
	json_decref(a);
	h_sleep_ms(1200);
	a = history(port, "tr-police", "");
	ck_assert_int_eq(json_array_size(a), 1);
	ck_assert(json_is_true(json_object_get(json_array_get(a, 0),
	    "expired")));
	json_decref(a);
	r = get(port, "tr-police", path);
	ck_assert_int_eq(r.status, 200);
	j = body_json(&r);
	ck_assert(json_is_true(json_object_get(j, "expired")));
	json_decref(j);
	free(r.head);
	ccc_close(tr);
	h_broker_stop(b);
}
END_TEST

START_TEST(csrf_and_methods)
{
	struct h_broker *b = console_broker(NULL);
	int port = h_console_port(b);
	struct h_reply r;
	char token[80], hdr[400], v[64];
	json_t *j;

	r = get(port, "tr-police", "/api/me");
	j = body_json(&r);
	snprintf(token, sizeof(token), "%s",
	    json_string_value(json_object_get(j, "csrf")));
	json_decref(j);
	free(r.head);

	expect_error(h_https_as(port, "tr-police", "POST", "/api/me",
	    "Content-Length: 0\r\n"), 403, "csrf");
	expect_error(h_https_as(port, "tr-police", "POST", "/api/me",
	    "Content-Length: 0\r\nX-CSRF-Token: "
	    "00000000000000000000000000000000"
	    "00000000000000000000000000000000\r\n"), 403, "csrf");
	/* the token of another certificate is not this one's */
	r = get(port, "gr-police", "/api/me");
	j = body_json(&r);
	snprintf(hdr, sizeof(hdr), "Content-Length: 0\r\nX-CSRF-Token: %s\r\n",
	    json_string_value(json_object_get(j, "csrf")));
	json_decref(j);
	free(r.head);
	expect_error(h_https_as(port, "tr-police", "POST", "/api/me", hdr),
	    403, "csrf");
	/* the right token from another origin */
	snprintf(hdr, sizeof(hdr), "Content-Length: 0\r\nX-CSRF-Token: %s\r\n"
	    "Origin: https://evil.example\r\n", token);
	expect_error(h_https_as(port, "tr-police", "POST", "/api/me", hdr),
	    403, "csrf");
	/* the right token and origin pass the check: no POST route here */
	snprintf(hdr, sizeof(hdr), "Content-Length: 0\r\nX-CSRF-Token: %s\r\n"
	    "Origin: https://127.0.0.1:%d\r\n", token, port);
	expect_error(h_https_as(port, "tr-police", "POST", "/api/me", hdr),
	    405, "method");

	r = h_https_as(port, "tr-police", "DELETE", "/api/me", NULL);
	ck_assert_ptr_nonnull(h_header(&r, "Allow", v, sizeof(v)));
	ck_assert_str_eq(v, "GET, HEAD, POST");
	expect_error(r, 405, "method");
	expect_error(h_https_as(port, "tr-police", "PUT", "/", NULL), 405,
	    "method");
	h_broker_stop(b);
}
END_TEST

START_TEST(bounds_and_garbage)
{
	struct h_broker *b = console_broker(NULL);
	int port = h_console_port(b);
	const char *cert = h_pki("tr-police.pem"), *key = h_pki("tr-police.key");
	struct h_reply r;
	size_t big = 20000;
	char *req;

	/* a body above console.max_body (65536) */
	r = h_https(port, cert, key, "POST /api/me HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\nContent-Length: 100000\r\n\r\n");
	ck_assert_msg(r.status == 413, "status %d", r.status);
	free(r.head);
	/* headers above the bound */
	req = malloc(big + 200);
	ck_assert_ptr_nonnull(req);
	snprintf(req, big + 200, "GET /api/me HTTP/1.1\r\nHost: x\r\n"
	    "X-Filler: %0*d\r\nConnection: close\r\n\r\n", (int)big, 0);
	r = h_https(port, cert, key, req);
	ck_assert_msg(r.status >= 400 && r.status < 500, "status %d", r.status);
	free(r.head);
	free(req);
	/* garbage */
	r = h_https(port, cert, key, "\x01\x02 nonsense\r\n\r\n");
	ck_assert_msg(r.status == 400 || r.status == 0, "status %d", r.status);
	free(r.head);
	r = h_https(port, cert, key, "GET /api/me HTTP/9.9\r\n\r\n");
	ck_assert_msg(r.status == 400 || r.status == 0, "status %d", r.status);
	free(r.head);
	r = h_https(port, cert, key, "GET %2e%2e/x HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n");
	ck_assert_msg(r.status == 400, "status %d", r.status);
	free(r.head);
	/* plain HTTP on the TLS port: no answer, no harm */
	{
		struct h_raw *raw = h_raw_tcp_port(port);

		h_raw_send(raw, "GET / HTTP/1.1\r\n\r\n", 18);
		(void)h_raw_read_until(raw, NULL, 2000);
		h_raw_close(raw);
	}
	/* still serving */
	r = get(port, "tr-police", "/api/me");
	ck_assert_int_eq(r.status, 200);
	free(r.head);
	h_broker_stop(b);
}
END_TEST

START_TEST(rate)
{
	struct h_broker *b = console_broker("  request_rate: 1\n"
	    "  request_burst: 3\n");
	int port = h_console_port(b);
	struct h_reply r;
	char v[32];

	for (int i = 0; i < 3; i++) {
		r = get(port, "tr-police", "/api/me");
		ck_assert_int_eq(r.status, 200);
		free(r.head);
	}
	r = get(port, "tr-police", "/api/me");
	ck_assert_ptr_nonnull(h_header(&r, "Retry-After", v, sizeof(v)));
	ck_assert_int_ge(atoi(v), 1);
	expect_error(r, 429, "rate");
	/* per endpoint: another one is not held back */
	r = get(port, "gr-police", "/api/me");
	ck_assert_int_eq(r.status, 200);
	free(r.head);
	/* the bucket refills */
	h_sleep_ms(1100);
	r = get(port, "tr-police", "/api/me");
	ck_assert_int_eq(r.status, 200);
	free(r.head);
	h_broker_stop(b);
}
END_TEST

START_TEST(max_connections)
{
	struct h_broker *b = console_broker("  max_connections: 2\n");
	int port = h_console_port(b);
	const char *cert = h_pki("tr-police.pem"), *key = h_pki("tr-police.key");
	struct h_raw *one, *two, *three;
	struct h_reply r;

	one = h_https_open(port, cert, key);
	two = h_https_open(port, cert, key);
	ck_assert_ptr_nonnull(one);
	ck_assert_ptr_nonnull(two);
	ck_assert(h_log_wait(b, "console: 2 connections open", H_WAIT_MS));
	/* a third is not accepted: its handshake never completes */
	three = h_https_open(port, cert, key);
	ck_assert_ptr_null(three);
	/* the broker port is not affected */
	h_exchange_fresh(b);
	/* one closes: a new connection gets in */
	h_raw_close(one);
	r = get(port, "tr-police", "/api/me");
	ck_assert_int_eq(r.status, 200);
	free(r.head);
	h_raw_close(two);
	h_broker_stop(b);
}
END_TEST

START_TEST(hammered)
{
	struct h_broker *b = console_broker(NULL);
	int port = h_console_port(b);
	struct h_raw *raw[40];

	/* connections that never finish a handshake, and some garbage */
	for (size_t i = 0; i < 40; i++) {
		raw[i] = h_raw_tcp_port(port);
		if (i % 2 == 0)
			h_raw_send(raw[i], "\x16\x03\x01\x00\x05hello", 10);
	}
	for (int i = 0; i < 20; i++) {
		struct h_reply r = get(port, NULL, "/");

		ck_assert_int_eq(r.status, 403);
		free(r.head);
	}
	h_exchange_fresh(b);
	for (size_t i = 0; i < 40; i++)
		h_raw_close(raw[i]);
	h_broker_stop(b);
}
END_TEST

START_TEST(reload_closes)
{
	struct h_broker *b = console_broker(NULL);
	int port = h_console_port(b);
	struct h_raw *r = h_https_open(port, h_pki("tr-police.pem"),
	    h_pki("tr-police.key"));
	static const char req[] = "GET /api/me HTTP/1.1\r\nHost: x\r\n\r\n";
	int64_t t0;

	ck_assert_ptr_nonnull(r);
	/* keep-alive: the connection stays open after the answer */
	h_raw_send(r, req, sizeof(req) - 1);
	ck_assert(h_raw_read_until(r, "\"broker\"", H_WAIT_MS));
	ck_assert(!h_raw_read_until(r, NULL, 300));
	h_broker_reload(b);
	t0 = h_mono_ms();
	(void)h_raw_read_until(r, NULL, H_WAIT_MS);
	ck_assert_msg(h_mono_ms() - t0 < H_WAIT_MS - 500,
	    "the reload did not close the console connection");
	h_raw_close(r);
	ck_assert(h_log_contains(b, "console: reload: 1 idle connections "
	    "closed"));
	h_broker_stop(b);
}
END_TEST

/*
 * A certificate revoked by a reload: a connection made before it, idle
 * since its handshake, is refused at its first request (the certificate is
 * verified again against the new context); a new connection fails its
 * handshake; the other endpoints are served.
 */
START_TEST(revoked_on_reload)
{
	char *pki = h_pki_clone(), cert[600], key[600];
	struct h_broker *b;
	struct h_raw *early;
	struct h_reply r;
	static const char req[] = "GET /api/me HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n";
	int port;

	h_tls_pki = pki;
	b = console_broker(NULL);
	h_tls_pki = NULL;
	port = h_console_port(b);
	snprintf(cert, sizeof(cert), "%s/tr-customs.pem", pki);
	snprintf(key, sizeof(key), "%s/tr-customs.key", pki);
	early = h_https_open(port, cert, key);
	ck_assert_ptr_nonnull(early);
	r = h_https(port, cert, key, req);
	ck_assert_int_eq(r.status, 200);
	free(r.head);

	h_mkpki("revoke", pki, "tr-customs", NULL);
	h_broker_reload(b);
	h_raw_send(early, req, sizeof(req) - 1);
	ck_assert(h_raw_read_until(early, "certificate_revoked", H_WAIT_MS));
	ck_assert_ptr_nonnull(strstr(h_raw_text(early), "HTTP/1.1 403"));
	ck_assert_ptr_nonnull(strstr(h_raw_text(early), "certificate revoked"));
	h_raw_close(early);
	r = h_https(port, cert, key, req);
	ck_assert_msg(r.status == 0, "status %d", r.status);
	free(r.head);
	r = get(port, "tr-police", "/api/me");
	ck_assert_int_eq(r.status, 200);
	free(r.head);
	h_broker_stop(b);
	h_pki_drop(pki);
}
END_TEST

START_TEST(feed_not_built)
{
	struct h_broker *b = console_broker(NULL);
	int port = h_console_port(b);

	expect_error(get(port, "tr-police", "/api/feed?after=abc"), 400,
	    "bad_after");
	h_broker_stop(b);
}
END_TEST

START_TEST(off_by_default)
{
	struct h_broker *b = h_broker_start(NULL);

	ck_assert(!h_log_contains(b, "console: listening"));
	h_broker_stop(b);
}
END_TEST

/* cccd --check-config on a config with this console block: its output. */
static bool
check_config(const char *block, char *out, size_t len)
{
	char dir[] = "/tmp/ccc-console.XXXXXX", cfg[64], cmd[PATH_MAX + 128];
	char reg[PATH_MAX], src[PATH_MAX];
	size_t n;
	FILE *fp;
	int rc;

	ck_assert(mkdtemp(dir) != NULL);
	snprintf(src, sizeof(src), "%s/broker/etc/registry.yaml", h_srcdir());
	ck_assert(realpath(src, reg) != NULL);
	snprintf(cfg, sizeof(cfg), "%s/cccd.yaml", dir);
	ck_assert((fp = fopen(cfg, "w")) != NULL);
	fprintf(fp, "listen: 127.0.0.1:0\ntls:\n  cert: \"%s\"\n"
	    "  key: \"%s\"\n  ca: \"%s\"\nregistry: \"%s\"\n"
	    "data_dir: \"%s/data\"\nconsole:\n%s", h_pki("cccd.pem"),
	    h_pki("cccd.key"), h_pki("ca.pem"), reg, dir, block);
	ck_assert(fclose(fp) == 0);
	snprintf(cmd, sizeof(cmd), "%s/cccd --check-config %s 2>&1",
	    h_builddir(), cfg);
	ck_assert((fp = popen(cmd, "r")) != NULL);
	n = fread(out, 1, len - 1, fp);
	out[n] = '\0';
	rc = pclose(fp);
	unlink(cfg);
	rmdir(dir);
	return rc == 0;
}

START_TEST(config_checked)
{
	static const char *const bad[][2] = {
		{ "  listen: nowhere\n", "console.listen" },
		{ "  max_feedz: 3\n", "unknown key 'max_feedz' in console" },
		{ "  max_connections: 0\n", "console.max_connections" },
		{ "  request_rate: 100001\n", "console.request_rate" },
		{ "  max_body: 1023\n", "console.max_body" },
		{ "  hsts_max_age: 63072001\n", "console.hsts_max_age" },
		{ "  catch_up: -1\n", "console.catch_up" },
	};
	char out[2048];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(!check_config(bad[i][0], out, sizeof(out)),
		    "%s: accepted", bad[i][0]);
		ck_assert_msg(strstr(out, bad[i][1]) != NULL, "%s: %s",
		    bad[i][0], out);
		ck_assert_msg(strstr(out, "cccd.yaml:") != NULL, "%s: no line: "
		    "%s", bad[i][0], out);
	}
	ck_assert_msg(check_config("  listen: 127.0.0.1:8443\n  catch_up: 0\n",
	    out, sizeof(out)), "%s", out);
}
END_TEST

Suite *
console_suite(void)
{
	Suite *s = suite_create("console");
	TCase *tc = tcase_create("console");

	tcase_set_timeout(tc, H_TEST_TIMEOUT);
	tcase_add_test(tc, headers_everywhere);
	tcase_add_test(tc, certificate_needed);
	tcase_add_test(tc, me);
	tcase_add_test(tc, sections);
	tcase_add_test(tc, history_filters);
	tcase_add_test(tc, detail);
	tcase_add_test(tc, expired_shown);
	tcase_add_test(tc, csrf_and_methods);
	tcase_add_test(tc, bounds_and_garbage);
	tcase_add_test(tc, rate);
	tcase_add_test(tc, max_connections);
	tcase_add_test(tc, hammered);
	tcase_add_test(tc, reload_closes);
	tcase_add_test(tc, revoked_on_reload);
	tcase_add_test(tc, feed_not_built);
	tcase_add_test(tc, off_by_default);
	tcase_add_test(tc, config_checked);
	suite_add_tcase(s, tc);
	return s;
}
