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
/*
 * Put the console's security headers on req's answer (the content security
 * policy, HSTS, ...): for a handler that answers by itself (the feed's
 * evhttp_send_reply_start()). console_reply() and console_error() do it.
 */
void		 console_headers(struct evhttp_request *req);

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
