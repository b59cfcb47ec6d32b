/*
 * console.h — the console: a web page and its JSON API served by cccd on
 * an HTTPS listener of its own (console.listen), for the duty officers.
 *
 * Authentication is the browser's client certificate, verified as on the
 * broker port (the broker's TLS context: CA bundles, CRLs, the identity
 * rules of tls.c); the endpoint it names in the current registry decides
 * what the page may show. console.c owns the listener, identity, bounds,
 * security headers, CSRF and dispatch; console_api.c the JSON endpoints;
 * console_feed.c the live feed (Server-Sent Events). docs/security.md, "The
 * console listener", says what is checked where.
 */
#ifndef CCC_CONSOLE_H
#define CCC_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ccc/v1/alert.pb-c.h"

struct console;
struct endpoint;
struct evhttp_request;
struct registry;
struct server;

/*
 * Who sent a request: the verified certificate and the endpoint it names.
 * Filled by console.c for each request before a handler runs; valid for the
 * handler's call only (a handler that keeps it, e.g. an open feed, copies it
 * and takes its own registry_ref()).
 */
struct console_who {
	char			 endpoint[64];	/* certificate CN = registry endpoint id */
	char			 subject[256];	/* certificate subject, RFC 2253 */
	char			 fingerprint[65]; /* hex SHA-256 of the certificate (DER) */
	char			 peer[64];	/* "ADDRESS:PORT" of the browser */
	char			 csrf[65];	/* the CSRF token of this certificate (hex) */
	struct registry		*reg;		/* the registry snapshot the endpoint was
						   looked up in (referenced for the call) */
	const struct endpoint	*ep;		/* that endpoint, in reg; never suspended */
};

/*
 * The console's files (broker/console/), embedded at build time by
 * broker/console/embed.sh into the generated console_assets.c: index.html
 * is served at "/", every other file X at "/assets/X".
 */
struct console_asset {
	const char		*path;		/* under broker/console/: "app.js", "i18n/el.json" */
	const char		*type;		/* Content-Type */
	const unsigned char	*data;
	size_t			 len;
};
extern const struct console_asset console_assets[];
extern const size_t console_nassets;

/*
 * Start the console of srv when console.listen is set: the listener is
 * bound now and logs "console: listening on https://HOST:PORT". Returns 0
 * with *out NULL when console.listen is "", 0 with *out set, or -1 with err
 * set when it cannot be bound.
 */
int		 console_new(struct server *srv, struct console **out, char *err,
		    size_t errlen);
/* Close every connection and the listener; NULL is fine. */
void		 console_free(struct console *c);
/*
 * A reload (SIGHUP) happened: close every open console connection (their
 * certificates may be revoked, their endpoints changed); browsers reconnect
 * and are checked again. NULL is fine.
 */
void		 console_reload(struct console *c);
/* The bound "HOST:PORT", or NULL without a listener. */
const char	*console_address(const struct console *c);

/*
 * Answer req with status and a JSON error {"error":code,"message":message}
 * (with the console's headers). For handlers of console_api.c and
 * console_feed.c.
 */
void		 console_error(struct evhttp_request *req, int status,
		    const char *code, const char *message);
/*
 * Answer req with status and body (len bytes of content type type) and the
 * console's headers; cache is the Cache-Control value (NULL:
 * "no-store").
 */
void		 console_reply(struct evhttp_request *req, int status,
		    const char *type, const void *body, size_t len,
		    const char *cache);
/* Answer req with status and the JSON j (the reference is taken over). */
void		 console_json(struct evhttp_request *req, int status, json_t *j);
/*
 * Put the console's security headers (the content security policy, HSTS,
 * ...) on req's answer. The dispatch does it before any handler runs, so
 * every answer of a handler carries them, a streamed one too.
 */
void		 console_headers(struct evhttp_request *req);
/*
 * Call fn(arg) when req's connection is freed (the browser left, a
 * timeout, a reload, shutdown), for a handler that keeps req open (the live
 * feed). One per connection; console_on_close(req, NULL, NULL) when req
 * is answered and the handler lets go of it (a reload may then close the
 * connection as an idle one).
 */
void		 console_on_close(struct evhttp_request *req,
		    void (*fn)(void *), void *arg);

/* ---- the JSON API (console_api.c) ---------------------------------------- */

/* GET /api/me: a new object (endpoint, name, roles, csrf, topics, ...). */
json_t		*console_api_me(struct server *srv, const struct console_who *who);
/* GET /api/sections: sections, categories, severities, handling codes. */
json_t		*console_api_sections(const struct registry *reg);
/* GET /api/history?query: answers req later (the store's writer thread). */
void		 console_api_history(struct server *srv,
		    struct evhttp_request *req, const struct console_who *who,
		    const char *query);
/* GET /api/alerts/ID: answers req later. */
void		 console_api_alert(struct server *srv, struct evhttp_request *req,
		    const struct console_who *who, const char *id);
/*
 * The summary of a stored alert as the feed and the history show it: seq,
 * id, topic, origin, published_at, category, severity, section, summary,
 * handling, tlp, grading, restricted, and expired when it expired before
 * now (us); fields left out when unset. A new object, or NULL when a
 * string is not UTF-8.
 */
json_t		*console_summary(const Ccc__V1__Alert *a, uint64_t seq,
		    const char *topic, int64_t now);
/*
 * May the endpoint of who see the stored alert a on topic: one of its
 * subscribe rules covers topic (acl.h) and the disclosure policy lets it
 * reach the endpoint (policy_stored_may_reach)?
 */
bool		 console_may_see(const struct console_who *who,
		    const Ccc__V1__Alert *a, const char *topic);

/* The filters of GET /api/history, as console_history_query() reads them. */
struct console_history_q {
	int64_t		 from, to;	/* published_at within [from, to] (us) */
	char		 section[64];	/* "" any */
	int		 category;	/* Ccc__V1__Category; 0 any */
	int		 severity;	/* Ccc__V1__Severity; 0 any */
	char		 q[256];	/* "" any: a substring of the summary */
	uint64_t	 after;		/* seq after which to read */
	unsigned	 limit;		/* 1..200 */
};
/*
 * Read the query string of GET /api/history at time now (us) into h: 0,
 * or -1 with a message for the browser in why. Pure (no sockets).
 */
int		 console_history_query(const char *query, int64_t now,
		    struct console_history_q *h, char *why, size_t whylen);

/*
 * Pure parsing, without sockets (tests/fuzz/fuzz_console.c).
 *
 * console_time: an instant as RFC 3339 ("2026-03-01T10:00:00Z", fraction
 * and offset allowed) or as microseconds since the epoch (digits only) into
 * *us. 0, or -1 when s is neither.
 */
int		 console_time(const char *s, int64_t *us);
/*
 * console_uint: a decimal number 0..max, digits only, no sign or space.
 * 0, or -1.
 */
int		 console_uint(const char *s, uint64_t max, uint64_t *out);
/*
 * console_path_ok: the path of a request (before any '?') is plain:
 * starts with '/', printable ASCII, no "//", no "." or ".." segment, no
 * '%' (nothing the console serves needs escapes), at most 512 bytes.
 */
bool		 console_path_ok(const char *path, size_t len);

#endif
