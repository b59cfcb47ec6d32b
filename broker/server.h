/*
 * server.h — the broker instance: event loop, configuration, current
 * registry snapshot, TLS context, subscription tree, the list of sessions,
 * signals (SIGTERM/SIGINT: graceful shutdown; SIGHUP: registry and TLS
 * reload).
 */
#ifndef CCC_SERVER_H
#define CCC_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "config.h"
#include "registry.h"
#include "topic.h"

struct metrics;
struct metrics_counters;
struct server;
struct session;

/*
 * Build a server from a loaded config and registry; takes ownership of both.
 * Sets up TLS and binds the listener. Returns NULL with err set on failure
 * (in which case cfg and reg have been freed).
 */
struct server		*server_new(struct config *cfg, struct registry *reg,
			    char *err, size_t errlen);
/* Run the event loop until shutdown completes. Returns the exit status. */
int			 server_run(struct server *srv);
void			 server_free(struct server *srv);

struct event_base	*server_base(const struct server *srv);
const struct config	*server_config(const struct server *srv);
/*
 * Put reg (one reference, taken over) in force: sessions and durable
 * subscriptions it no longer allows are closed or revoked at once.
 */
void			 server_set_registry(struct server *srv, struct registry *reg);
/* The current registry snapshot (not referenced: take registry_ref to keep it). */
struct registry		*server_registry(const struct server *srv);
SSL_CTX			*server_ssl_ctx(const struct server *srv);
/*
 * Rebuild the TLS context from the files the config names (certificate,
 * key, CA bundles, CRLs) and use it for new connections; every open session
 * whose certificate no longer verifies against it (revoked, CA no longer
 * trusted, expired) is closed with CERTIFICATE_REVOKED and audited, and
 * every console feed is ended (its browser reconnects and is verified
 * against the new context). Returns
 * 0, or -1 with a message in err when anything fails to load (the current
 * context and every session are then untouched).
 */
int			 server_reload_tls(struct server *srv, char *err,
			    size_t errlen);
struct topic_tree	*server_topics(const struct server *srv);
bool			 server_stopping(const struct server *srv);
struct store		*server_store(const struct server *srv);
/* The counters modules increment in place (metrics.h); never NULL. */
struct metrics_counters	*server_counters(struct server *srv);
struct metrics		*server_metrics(const struct server *srv);

/* Session bookkeeping, called by session.c only. */
void			 server_attach(struct server *srv, struct session *s);
void			 server_detach(struct server *srv, struct session *s);
size_t			 server_nsessions(const struct server *srv);
/* Call fn(session, arg) for every session (fn must not free any). */
void			 server_each_session(struct server *srv,
			    void (*fn)(struct session *, void *), void *arg);
/*
 * The sessions of each endpoint (peers.h), called by session.c only: s
 * became READY; s is closing or freed (nothing when it was not listed).
 */
void			 server_session_ready(struct server *srv,
			    struct session *s);
void			 server_session_closed(struct server *srv,
			    struct session *s);
/*
 * Call fn(session, arg) for every READY session of endpoint, oldest first,
 * without looking at any other session. fn may close the session it is
 * given (a slow consumer), but no other.
 */
void			 server_each_session_of(struct server *srv,
			    const char *endpoint,
			    void (*fn)(struct session *, void *), void *arg);

#endif
