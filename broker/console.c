/*
 * console.c — the console's HTTPS listener: connections, identity, bounds,
 * security headers, CSRF and the dispatch of requests to their handlers.
 *
 * Owns: the evhttp listener on console.listen, one struct console_conn per
 * accepted connection (tied to its SSL object, freed with it), the
 * connection count, the per-endpoint request buckets, the CSRF key (random,
 * made at start-up, never written anywhere) and the ETags of the embedded
 * files. Every request, on every connection, is authenticated anew: the
 * client certificate the TLS handshake verified (the broker's context: CA
 * bundles, CRLs, tls.c's identity rules; a context reloaded since the
 * handshake verifies it again) names a registry endpoint of the current
 * snapshot, neither unknown nor suspended nor outside its CA pin.
 *
 * Bounds: console.max_connections connections (at the bound the listener
 * stops accepting until one closes: the kernel's backlog holds the rest,
 * and nothing of theirs is read); CONSOLE_TIMEOUT seconds of silence on a
 * connection, the TLS handshake included; CONSOLE_HEADERS bytes of request
 * line and headers; console.max_body bytes of body (libevent answers 413);
 * console.request_rate requests a second per endpoint with a burst of
 * console.request_burst (429 and Retry-After past it).
 *
 * Must never: answer anything but the 403 page before the endpoint is
 * known; keep a request pointer past the answer; set a cookie; free a
 * connection whose request a handler still holds (a reload closes only the
 * idle ones and asks the busy ones to close after their answer).
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "console.h"
#include "console_feed.h"
#include "log.h"
#include "registry.h"
#include "server.h"
#include "timeutil.h"
#include "tls.h"
#include "xmalloc.h"

#define CONSOLE_TIMEOUT		30	/* seconds of silence on a connection */
#define CONSOLE_HEADERS		16384	/* bytes of request line and headers */
#define CONSOLE_PATH_MAX	512	/* bytes of a request path */
#define CONSOLE_BUCKETS		4096	/* endpoints with a rate bucket at most */
#define CONSOLE_ETAG		36	/* "\"" 32 hex digits "\"" and a NUL */
#define CONSOLE_SID_CTX		"ccc-console"	/* TLS session id context */


struct console;

/* One accepted connection; lives as long as its SSL object. */
struct console_conn {
	struct console			*c;	/* NULL once the console is freed */
	struct evhttp_connection	*evcon;	/* from its first request; NULL
						   once evhttp freed it */
	bool				 busy;	/* a request of it waits for its answer */
	bool				 close_after; /* a reload: close after that answer */
	void				(*on_close)(void *); /* console_on_close() */
	void				*on_close_arg;
	TAILQ_ENTRY(console_conn)	 entry;
};

/* Requests an endpoint may still make (a token bucket). */
struct console_bucket {
	char		 endpoint[64];
	double		 tokens;
	int64_t		 at;		/* monotonic us of the last refill */
};

struct console {
	struct server			*srv;
	struct evhttp			*http;
	struct evconnlistener		*lev;	/* the bound socket's listener */
	char				 address[80];	/* "HOST:PORT" */
	TAILQ_HEAD(, console_conn)	 conns;
	size_t				 nconns;
	bool				 paused; /* at max_connections: not accepting */
	unsigned char			 csrf_key[32];
	char				(*etags)[CONSOLE_ETAG]; /* by asset */
	struct console_bucket		*buckets;
	size_t				 nbuckets, capbuckets;
};

/* A request handler: who is authenticated; rest is the path after the prefix. */
typedef void console_handler(struct console *c, struct evhttp_request *req,
	    const struct console_who *who, const char *rest, const char *query);

static console_handler console_asset_route, console_me_route,
	    console_sections_route, console_history_route,
	    console_alert_route, console_feed_route;

/* The route table: first match wins. */
static const struct console_route {
	unsigned		 methods;	/* EVHTTP_REQ_* bits */
	const char		*path;
	bool			 prefix;	/* path is a prefix ("/assets/") */
	bool			 csrf;		/* changes state: X-CSRF-Token needed */
	console_handler		*handler;
} console_routes[] = {
	{ EVHTTP_REQ_GET | EVHTTP_REQ_HEAD, "/", false, false,
	    console_asset_route },
	{ EVHTTP_REQ_GET | EVHTTP_REQ_HEAD, "/assets/", true, false,
	    console_asset_route },
	{ EVHTTP_REQ_GET, "/api/me", false, false, console_me_route },
	{ EVHTTP_REQ_GET, "/api/sections", false, false,
	    console_sections_route },
	{ EVHTTP_REQ_GET, "/api/history", false, false,
	    console_history_route },
	{ EVHTTP_REQ_GET, "/api/alerts/", true, false, console_alert_route },
	{ EVHTTP_REQ_GET, "/api/feed", false, false, console_feed_route },
};
#define CONSOLE_NROUTES	(sizeof(console_routes) / sizeof(console_routes[0]))

static void	console_evcon_closed(struct evhttp_connection *, void *);

static int console_conn_idx = -1;	/* SSL ex_data slot of the console_conn */

/* ---- pure parsing ------------------------------------------------------- */

int
console_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0' || strlen(s) > 20)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int
console_time(const char *s, int64_t *us)
{
	uint64_t v;

	if (s != NULL && s[0] >= '0' && s[0] <= '9' &&
	    strspn(s, "0123456789") == strlen(s)) {
		if (console_uint(s, INT64_MAX, &v) < 0)
			return -1;
		*us = (int64_t)v;
		return 0;
	}
	return s != NULL && time_parse_rfc3339(s, us) ? 0 : -1;
}

bool
console_path_ok(const char *path, size_t len)
{
	if (len == 0 || len > CONSOLE_PATH_MAX || path[0] != '/')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)path[i];

		if (ch <= 0x20 || ch >= 0x7f || ch == '%' || ch == '\\')
			return false;
		if (ch == '/' && i + 1 < len && path[i + 1] == '/')
			return false;
		/* a "." or ".." segment */
		if (ch == '.' && path[i - 1] == '/' && (i + 1 == len ||
		    path[i + 1] == '/' || (path[i + 1] == '.' &&
		    (i + 2 == len || path[i + 2] == '/'))))
			return false;
	}
	return true;
}

/* ---- answers ------------------------------------------------------------ */

/* The connection record of req's connection, or NULL (closed since). */
static struct console_conn *
console_conn_of(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	SSL *ssl;

	if (evcon == NULL || (bev = evhttp_connection_get_bufferevent(evcon)) ==
	    NULL || (ssl = bufferevent_openssl_get_ssl(bev)) == NULL)
		return NULL;
	return SSL_get_ex_data(ssl, console_conn_idx);
}

void
console_headers(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct console_conn *cc = console_conn_of(req);
	char hsts[64];

	snprintf(hsts, sizeof(hsts), "max-age=%u", cc != NULL && cc->c != NULL ?
	    server_config(cc->c->srv)->console_hsts_max_age : 0);
	evhttp_add_header(h, "Content-Security-Policy", "default-src 'none'; "
	    "script-src 'self'; style-src 'self'; img-src 'self'; "
	    "connect-src 'self'; font-src 'self'; base-uri 'none'; "
	    "form-action 'self'; frame-ancestors 'none'");
	evhttp_add_header(h, "Strict-Transport-Security", hsts);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Cross-Origin-Opener-Policy", "same-origin");
	evhttp_add_header(h, "Cross-Origin-Resource-Policy", "same-origin");
}

void
console_reply(struct evhttp_request *req, int status, const char *type,
    const void *body, size_t len, const char *cache)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct console_conn *cc = console_conn_of(req);
	struct evbuffer *buf = evbuffer_new();
	char n[32];

	if (buf == NULL)
		fatal("console: out of memory");
	if (type != NULL)
		evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", cache != NULL ? cache :
	    "no-store");
	if (cc != NULL) {
		cc->busy = false;
		if (cc->close_after)
			evhttp_add_header(h, "Connection", "close");
	}
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		/* libevent 2.1 would send the body of a HEAD reply */
		snprintf(n, sizeof(n), "%zu", len);
		evhttp_add_header(h, "Content-Length", n);
	} else if (len > 0)
		evbuffer_add(buf, body, len);
	evhttp_send_reply(req, status, NULL, buf);
	evbuffer_free(buf);
}

void
console_error(struct evhttp_request *req, int status, const char *code,
    const char *message)
{
	json_t *j = json_pack("{s:s, s:s}", "error", code, "message", message);

	console_json(req, status, j);
}

void
console_json(struct evhttp_request *req, int status, json_t *j)
{
	char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (text == NULL) {
		static const char oom[] = "{\"error\":\"internal\",\"message\":"
		    "\"the answer could not be encoded\"}";

		console_reply(req, 500, "application/json", oom,
		    sizeof(oom) - 1, NULL);
		return;
	}
	console_reply(req, status, "application/json", text, strlen(text),
	    NULL);
	free(text);
}

/* The 403 of a browser without an accepted certificate: a page, or JSON. */
static void
console_forbidden(struct evhttp_request *req, bool api, const char *code,
    const char *message)
{
	struct evbuffer *page;
	char *html;
	size_t len;

	if (api) {
		console_error(req, 403, code, message);
		return;
	}
	if ((page = evbuffer_new()) == NULL)
		fatal("console: out of memory");
	/* message comes from the broker, but may quote a certificate's CN */
	evbuffer_add_printf(page, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><title>Certificate needed</title></head>"
	    "<body><h1>A client certificate is needed</h1><p>");
	for (const char *p = message; *p != '\0'; p++) {
		if (*p == '<')
			evbuffer_add_printf(page, "&lt;");
		else if (*p == '>')
			evbuffer_add_printf(page, "&gt;");
		else if (*p == '&')
			evbuffer_add_printf(page, "&amp;");
		else if (*p == '"')
			evbuffer_add_printf(page, "&quot;");
		else
			evbuffer_add(page, p, 1);
	}
	evbuffer_add_printf(page, "</p><p>The console admits the browser of a "
	    "registered endpoint only, by the endpoint's client certificate: "
	    "import the endpoint's certificate and key (the .p12 file your "
	    "administrator gave you) into the browser's certificate store, "
	    "then open this page again. docs/console.md says how.</p>"
	    "</body></html>\n");
	len = evbuffer_get_length(page);
	html = xmalloc(len);
	evbuffer_remove(page, html, len);
	evbuffer_free(page);
	console_reply(req, 403, "text/html; charset=utf-8", html, len, NULL);
	free(html);
}

/* ---- identity, rate, CSRF -------------------------------------------------- */

/* The CSRF token of a certificate: hex HMAC-SHA256 of its fingerprint. */
static void
console_csrf(const struct console *c, const char *fingerprint,
    char token[65])
{
	unsigned char mac[32];
	unsigned int maclen = sizeof(mac);

	if (HMAC(EVP_sha256(), c->csrf_key, sizeof(c->csrf_key),
	    (const unsigned char *)fingerprint, strlen(fingerprint), mac,
	    &maclen) == NULL || maclen != sizeof(mac))
		fatal("console: HMAC-SHA256 failed");
	for (size_t i = 0; i < sizeof(mac); i++)
		snprintf(token + 2 * i, 3, "%02x", mac[i]);
}

/*
 * Authenticate req: fill who (who->reg referenced) and return 0, or answer
 * 403 with the reason and return -1.
 */
static int
console_identify(struct console *c, struct evhttp_request *req, bool api,
    struct console_who *who)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct registry *reg = server_registry(c->srv);
	struct bufferevent *bev;
	const struct endpoint *ep;
	char why[256], msg[400];
	char *addr = NULL;
	ev_uint16_t port = 0;
	SSL *ssl;

	memset(who, 0, sizeof(*who));
	if (evcon == NULL || (bev = evhttp_connection_get_bufferevent(evcon)) ==
	    NULL || (ssl = bufferevent_openssl_get_ssl(bev)) == NULL)
		return -1;	/* closed meanwhile: no answer to give */
	evhttp_connection_get_peer(evcon, &addr, &port);
	snprintf(who->peer, sizeof(who->peer), "%s:%u", addr != NULL ? addr :
	    "?", port);
	if (SSL_get0_peer_certificate(ssl) == NULL) {
		console_forbidden(req, api, "certificate_required", "This "
		    "browser presented no client certificate.");
		return -1;
	}
	tls_peer_details(ssl, who->subject, sizeof(who->subject),
	    who->fingerprint, sizeof(who->fingerprint));
	if (tls_peer_identity(ssl, who->endpoint, sizeof(who->endpoint), why,
	    sizeof(why)) < 0) {
		log_warn("console: client certificate of %s refused: %s (%s)",
		    who->peer, why, who->subject);
		snprintf(msg, sizeof(msg), "The client certificate is refused: "
		    "%s.", why);
		console_forbidden(req, api, "certificate_refused", msg);
		return -1;
	}
	/* the TLS material was reloaded since the handshake: check again */
	if (SSL_get_SSL_CTX(ssl) != server_ssl_ctx(c->srv) &&
	    tls_reverify(server_ssl_ctx(c->srv), ssl, why, sizeof(why)) < 0) {
		snprintf(msg, sizeof(msg), "The client certificate is no "
		    "longer accepted: %s.", why);
		console_forbidden(req, api, "certificate_revoked", msg);
		return -1;
	}
	if ((ep = registry_endpoint(reg, who->endpoint)) == NULL) {
		snprintf(msg, sizeof(msg), "Endpoint \"%s\" is not registered "
		    "with this broker.", who->endpoint);
		console_forbidden(req, api, "unknown_endpoint", msg);
		return -1;
	}
	if (ep->suspended) {
		snprintf(msg, sizeof(msg), "Endpoint \"%s\" is suspended.",
		    who->endpoint);
		console_forbidden(req, api, "endpoint_suspended", msg);
		return -1;
	}
	if (ep->n_ca > 0 && tls_peer_issued_by(ssl, ep->ca, ep->n_ca, why,
	    sizeof(why)) < 0) {
		snprintf(msg, sizeof(msg), "The client certificate is refused "
		    "for endpoint \"%s\": %s.", who->endpoint, why);
		console_forbidden(req, api, "certificate_refused", msg);
		return -1;
	}
	who->reg = registry_ref(reg);
	who->ep = ep;
	console_csrf(c, who->fingerprint, who->csrf);
	return 0;
}

/*
 * Take one request from endpoint's bucket: 0, or -1 with the seconds to
 * wait in *retry.
 */
static int
console_rate(struct console *c, const char *endpoint, unsigned *retry)
{
	const struct config *cfg = server_config(c->srv);
	int64_t now = time_mono_us();
	struct console_bucket *b = NULL;
	double wait;

	for (size_t i = 0; i < c->nbuckets && b == NULL; i++)
		if (strcmp(c->buckets[i].endpoint, endpoint) == 0)
			b = &c->buckets[i];
	if (b == NULL) {
		/* more endpoints than ever registered at once: start afresh */
		if (c->nbuckets == CONSOLE_BUCKETS)
			c->nbuckets = 0;
		c->buckets = xgrow(c->buckets, &c->capbuckets, c->nbuckets + 1,
		    sizeof(*c->buckets));
		b = &c->buckets[c->nbuckets++];
		snprintf(b->endpoint, sizeof(b->endpoint), "%s", endpoint);
		b->tokens = cfg->console_request_burst;
		b->at = now;
	}
	b->tokens += (double)(now - b->at) / 1e6 * cfg->console_request_rate;
	if (b->tokens > cfg->console_request_burst)
		b->tokens = cfg->console_request_burst;
	b->at = now;
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		return 0;
	}
	wait = (1.0 - b->tokens) / cfg->console_request_rate;
	*retry = (unsigned)wait + 1;
	return -1;
}

/* A state-changing request: its CSRF token and Origin. */
static bool
console_csrf_ok(struct evhttp_request *req, const struct console_who *who)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *token = evhttp_find_header(h, "X-CSRF-Token");
	const char *origin = evhttp_find_header(h, "Origin");
	const char *host = evhttp_find_header(h, "Host");

	if (token == NULL || strlen(token) != 64 ||
	    CRYPTO_memcmp(token, who->csrf, 64) != 0)
		return false;
	if (origin != NULL && (host == NULL ||
	    strncmp(origin, "https://", 8) != 0 || strcmp(origin + 8, host) != 0))
		return false;
	return true;
}

/* ---- dispatch ------------------------------------------------------------ */

static const char *
console_method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:		return "GET";
	case EVHTTP_REQ_HEAD:		return "HEAD";
	case EVHTTP_REQ_POST:		return "POST";
	case EVHTTP_REQ_PUT:		return "PUT";
	case EVHTTP_REQ_DELETE:		return "DELETE";
	case EVHTTP_REQ_OPTIONS:	return "OPTIONS";
	case EVHTTP_REQ_TRACE:		return "TRACE";
	case EVHTTP_REQ_CONNECT:	return "CONNECT";
	case EVHTTP_REQ_PATCH:		return "PATCH";
	}
	return "?";
}

static void
console_request(struct evhttp_request *req, void *arg)
{
	struct console *c = arg;
	struct console_conn *cc = console_conn_of(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const char *uri = evhttp_request_get_uri(req), *q;
	const struct console_route *rt = NULL;
	struct console_who who;
	char path[CONSOLE_PATH_MAX + 1], msg[CONSOLE_PATH_MAX + 200];
	char retry[16];
	size_t plen;
	unsigned wait;
	bool api, path_known = false;

	if (cc != NULL) {
		/* its first request: watch the connection's end */
		if (cc->evcon == NULL) {
			cc->evcon = evhttp_request_get_connection(req);
			evhttp_connection_set_closecb(cc->evcon,
			    console_evcon_closed, cc);
		}
		cc->busy = true;
	}
	console_headers(req);
	q = uri != NULL ? strchr(uri, '?') : NULL;
	plen = uri == NULL ? 0 : q != NULL ? (size_t)(q - uri) : strlen(uri);
	api = uri != NULL && strncmp(uri, "/api/", 5) == 0;
	if (uri == NULL || !console_path_ok(uri, plen)) {
		console_error(req, 400, "bad_path", "The request's path is not "
		    "one the console serves: plain ASCII, no escapes, no dot "
		    "segments, at most 512 bytes.");
		return;
	}
	memcpy(path, uri, plen);
	path[plen] = '\0';
	if (console_identify(c, req, api, &who) < 0)
		return;
	if (console_rate(c, who.endpoint, &wait) < 0) {
		snprintf(retry, sizeof(retry), "%u", wait);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Retry-After", retry);
		snprintf(msg, sizeof(msg), "More than %u requests a second "
		    "from endpoint %s; try again in %u s.",
		    server_config(c->srv)->console_request_rate, who.endpoint,
		    wait);
		console_error(req, 429, "rate", msg);
		goto out;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD &&
	    cmd != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD, POST");
		snprintf(msg, sizeof(msg), "The console does not take %s "
		    "requests.", console_method_name(cmd));
		console_error(req, 405, "method", msg);
		goto out;
	}
	/* GET and HEAD never change anything; every POST is checked */
	if (cmd == EVHTTP_REQ_POST && !console_csrf_ok(req, &who)) {
		console_error(req, 403, "csrf", "A state-changing request needs "
		    "the X-CSRF-Token of GET /api/me and, when it names one, an "
		    "Origin of this console.");
		goto out;
	}
	for (size_t i = 0; i < CONSOLE_NROUTES && rt == NULL; i++) {
		const struct console_route *r = &console_routes[i];
		size_t n = strlen(r->path);

		if (r->prefix ? strncmp(path, r->path, n) != 0 ||
		    path[n] == '\0' : strcmp(path, r->path) != 0)
			continue;
		path_known = true;
		if ((r->methods & cmd) != 0)
			rt = r;
	}
	if (rt == NULL && path_known) {
		snprintf(msg, sizeof(msg), "%s is not taken on %s.",
		    console_method_name(cmd), path);
		console_error(req, 405, "method", msg);
		goto out;
	}
	if (rt == NULL) {
		console_error(req, 404, "not_found", "There is nothing at this "
		    "path.");
		goto out;
	}
	if (rt->csrf && !console_csrf_ok(req, &who)) {
		console_error(req, 403, "csrf", "A state-changing request needs "
		    "the X-CSRF-Token of GET /api/me.");
		goto out;
	}
	rt->handler(c, req, &who, rt->prefix ? path + strlen(rt->path) : "",
	    q != NULL ? q + 1 : "");
out:
	registry_unref(who.reg);
}

/* ---- routes ----------------------------------------------------------------- */

static void
console_asset_route(struct console *c, struct evhttp_request *req,
    const struct console_who *who, const char *rest, const char *query)
{
	const char *name = rest[0] == '\0' ? "index.html" : rest;
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	const char *inm;

	(void)who;
	(void)query;
	for (size_t i = 0; i < console_nassets; i++) {
		if (strcmp(console_assets[i].path, name) != 0 ||
		    (rest[0] != '\0' && strcmp(name, "index.html") == 0))
			continue;
		evhttp_add_header(h, "ETag", c->etags[i]);
		inm = evhttp_find_header(evhttp_request_get_input_headers(req),
		    "If-None-Match");
		if (inm != NULL && strstr(inm, c->etags[i]) != NULL) {
			console_reply(req, 304, NULL, NULL, 0, "no-cache");
			return;
		}
		console_reply(req, 200, console_assets[i].type,
		    console_assets[i].data, console_assets[i].len, "no-cache");
		return;
	}
	console_error(req, 404, "not_found", "There is no such file.");
}

static void
console_me_route(struct console *c, struct evhttp_request *req,
    const struct console_who *who, const char *rest, const char *query)
{
	(void)rest;
	(void)query;
	console_json(req, 200, console_api_me(c->srv, who));
}

static void
console_sections_route(struct console *c, struct evhttp_request *req,
    const struct console_who *who, const char *rest, const char *query)
{
	(void)c;
	(void)rest;
	(void)query;
	console_json(req, 200, console_api_sections(who->reg));
}

static void
console_history_route(struct console *c, struct evhttp_request *req,
    const struct console_who *who, const char *rest, const char *query)
{
	(void)rest;
	console_api_history(c->srv, req, who, query);
}

static void
console_alert_route(struct console *c, struct evhttp_request *req,
    const struct console_who *who, const char *rest, const char *query)
{
	(void)query;
	console_api_alert(c->srv, req, who, rest);
}

static void
console_feed_route(struct console *c, struct evhttp_request *req,
    const struct console_who *who, const char *rest, const char *query)
{
	struct evkeyvalq args;
	const char *last = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Last-Event-ID");
	const char *after = NULL;
	uint64_t seq = 0;
	bool has = false;

	(void)rest;
	TAILQ_INIT(&args);
	if (evhttp_parse_query_str(query, &args) != 0) {
		console_error(req, 400, "bad_query", "The query string cannot "
		    "be read.");
		return;
	}
	after = last != NULL ? last : evhttp_find_header(&args, "after");
	if (after != NULL && console_uint(after, INT64_MAX, &seq) < 0) {
		evhttp_clear_headers(&args);
		console_error(req, 400, "bad_after", "Last-Event-ID and after "
		    "take the seq of the last alert seen (digits).");
		return;
	}
	has = after != NULL;
	evhttp_clear_headers(&args);
	feed_open(c->srv, req, who, seq, has);
}

/* ---- connections ----------------------------------------------------------- */

void
console_on_close(struct evhttp_request *req, void (*fn)(void *), void *arg)
{
	struct console_conn *cc = console_conn_of(req);

	if (cc != NULL) {
		cc->on_close = fn;
		cc->on_close_arg = arg;
		if (fn == NULL)
			cc->busy = false;	/* the handler answered and let go */
	}
}

/* evhttp frees cc's connection (the peer left, a timeout, a reload). */
static void
console_evcon_closed(struct evhttp_connection *evcon, void *arg)
{
	struct console_conn *cc = arg;
	void (*fn)(void *) = cc->on_close;

	(void)evcon;
	cc->evcon = NULL;
	cc->on_close = NULL;
	if (fn != NULL)
		fn(cc->on_close_arg);
}

/* The SSL object of a connection is freed: so is its record. */
static void
console_conn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	struct console_conn *cc = ptr;
	struct console *c;
	const struct config *cfg;

	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (cc == NULL)
		return;
	if ((c = cc->c) != NULL) {
		cfg = server_config(c->srv);
		TAILQ_REMOVE(&c->conns, cc, entry);
		c->nconns--;
		if (c->paused && c->nconns < cfg->console_max_connections) {
			c->paused = false;
			evconnlistener_enable(c->lev);
		}
	}
	free(cc);
}

/* evhttp accepted a connection: its TLS bufferevent. */
static struct bufferevent *
console_bev(struct event_base *base, void *arg)
{
	struct console *c = arg;
	const struct config *cfg = server_config(c->srv);
	struct console_conn *cc;
	struct bufferevent *bev;
	SSL *ssl;

	/*
	 * evhttp takes a NULL as "no TLS": never return one. Out of memory
	 * here is fatal, as everywhere else (xmalloc).
	 */
	if ((ssl = SSL_new(server_ssl_ctx(c->srv))) == NULL)
		fatal("console: SSL_new failed");
	/* a browser without a certificate gets the 403 page, not an alert */
	SSL_set_verify(ssl, SSL_VERIFY_PEER, SSL_get_verify_callback(ssl));
	/*
	 * no tickets; and sessions of their own, so that none made here
	 * (perhaps without a certificate) is resumed on the broker port, or
	 * the other way round
	 */
	SSL_set_options(ssl, SSL_OP_NO_TICKET);
	SSL_set_num_tickets(ssl, 0);
	if (SSL_set_session_id_context(ssl, (const unsigned char *)
	    CONSOLE_SID_CTX, sizeof(CONSOLE_SID_CTX) - 1) != 1)
		fatal("console: SSL_set_session_id_context failed");
	cc = xcalloc(1, sizeof(*cc));
	cc->c = c;
	if (SSL_set_ex_data(ssl, console_conn_idx, cc) != 1)
		fatal("console: SSL_set_ex_data failed");
	TAILQ_INSERT_TAIL(&c->conns, cc, entry);
	if (++c->nconns >= cfg->console_max_connections && !c->paused) {
		c->paused = true;
		evconnlistener_disable(c->lev);
		log_warn("console: %zu connections open, the limit "
		    "(console.max_connections): not accepting until one "
		    "closes", c->nconns);
	}
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		fatal("console: cannot make a TLS bufferevent");
	return bev;
}

/* ---- life ------------------------------------------------------------------ */

static int
console_listen(struct console *c, const struct config *cfg, char *err,
    size_t errlen)
{
	struct evhttp_bound_socket *bound;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char host[INET6_ADDRSTRLEN + 2] = "?", serv[8] = "?";
	bool v6 = strchr(cfg->console_host, ':') != NULL;

	evhttp_set_max_headers_size(c->http, CONSOLE_HEADERS);
	evhttp_set_max_body_size(c->http, cfg->console_max_body);
	evhttp_set_timeout(c->http, CONSOLE_TIMEOUT);
	/* every method reaches console_request, which answers 405 itself */
	evhttp_set_allowed_methods(c->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	evhttp_set_bevcb(c->http, console_bev, c);
	evhttp_set_gencb(c->http, console_request, c);
	if ((bound = evhttp_bind_socket_with_handle(c->http, cfg->console_host,
	    cfg->console_port)) == NULL) {
		snprintf(err, errlen, "console.listen: cannot listen on "
		    "%s%s%s:%u (another address, or \"\" to turn it off)",
		    v6 ? "[" : "", cfg->console_host, v6 ? "]" : "",
		    cfg->console_port);
		return -1;
	}
	c->lev = evhttp_bound_socket_get_listener(bound);
	memset(&ss, 0, sizeof(ss));
	if (getsockname(evhttp_bound_socket_get_fd(bound),
	    (struct sockaddr *)&ss, &sslen) != 0 || getnameinfo(
	    (struct sockaddr *)&ss, sslen, host, sizeof(host), serv,
	    sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(host, sizeof(host), "?");
	snprintf(c->address, sizeof(c->address), "%s%s%s:%s",
	    ss.ss_family == AF_INET6 ? "[" : "", host,
	    ss.ss_family == AF_INET6 ? "]" : "", serv);
	return 0;
}

int
console_new(struct server *srv, struct console **out, char *err,
    size_t errlen)
{
	const struct config *cfg = server_config(srv);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	struct console *c;

	*out = NULL;
	if (cfg->console_host == NULL)
		return 0;
	if (console_conn_idx == -1 && (console_conn_idx =
	    SSL_get_ex_new_index(0, NULL, NULL, NULL, console_conn_free)) == -1) {
		snprintf(err, errlen, "console: no SSL ex_data slot");
		return -1;
	}
	c = xcalloc(1, sizeof(*c));
	c->srv = srv;
	TAILQ_INIT(&c->conns);
	if (RAND_bytes(c->csrf_key, sizeof(c->csrf_key)) != 1) {
		snprintf(err, errlen, "console: no random bytes for the CSRF key");
		console_free(c);
		return -1;
	}
	c->etags = xcalloc(console_nassets + 1, sizeof(*c->etags));
	for (size_t i = 0; i < console_nassets; i++) {
		if (EVP_Digest(console_assets[i].data, console_assets[i].len,
		    md, &mdlen, EVP_sha256(), NULL) != 1)
			fatal("console: SHA-256 failed");
		c->etags[i][0] = '"';
		for (size_t k = 0; k < 16; k++)
			snprintf(&c->etags[i][1 + 2 * k], 3, "%02x", md[k]);
		c->etags[i][33] = '"';
		c->etags[i][34] = '\0';
	}
	if ((c->http = evhttp_new(server_base(srv))) == NULL) {
		snprintf(err, errlen, "console: cannot create the HTTPS listener");
		console_free(c);
		return -1;
	}
	if (console_listen(c, cfg, err, errlen) < 0) {
		console_free(c);
		return -1;
	}
	log_info("console: listening on https://%s", c->address);
	*out = c;
	return 0;
}

void
console_reload(struct console *c)
{
	struct console_conn *cc, *next;
	size_t closed = 0, later = 0;

	if (c == NULL)
		return;
	for (cc = TAILQ_FIRST(&c->conns); cc != NULL; cc = next) {
		next = TAILQ_NEXT(cc, entry);
		if (cc->evcon == NULL)
			continue;	/* no request yet: each is checked anew */
		if (cc->busy) {
			cc->close_after = true;
			later++;
			continue;
		}
		evhttp_connection_free(cc->evcon);	/* calls the closecb */
		closed++;
	}
	log_info("console: reload: %zu idle connections closed, %zu closing "
	    "after their answer", closed, later);
}

const char *
console_address(const struct console *c)
{
	return c != NULL ? c->address : NULL;
}

void
console_free(struct console *c)
{
	struct console_conn *cc;

	if (c == NULL)
		return;
	/* their SSL objects may be freed later, by libevent's finalizers */
	while ((cc = TAILQ_FIRST(&c->conns)) != NULL) {
		TAILQ_REMOVE(&c->conns, cc, entry);
		cc->c = NULL;
	}
	if (c->http != NULL)
		evhttp_free(c->http);
	free(c->etags);
	free(c->buckets);
	free(c);
}
