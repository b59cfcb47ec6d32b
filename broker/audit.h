/*
 * audit.h — the records of the audit journal, built in one place.
 *
 * Every record the broker asks the store to journal is built here from the
 * session that acts (its endpoint, certificate subject and fingerprint,
 * address) and what it did; the store appends records to the hash chain,
 * in the transaction of the act where there is one (store.h). Records the
 * store writes of its own accord (purge, store_loss) are built by the store.
 *
 * Events, and who raises them:
 *   session.c   handshake_refused, certificate_revoked, session_close,
 *               exercise (at the close of a session that used exercise/)
 *   handle.c    session_open, publish_refused, subscribe, subscribe_refused,
 *               route_blocked, receipts_read (with store_receipts), and the
 *               publish itself (publish, publish_duplicate, publish_conflict,
 *               publish_refused: written by the store with the alert)
 *               deliver (live: one record per recipient certificate,
 *               audit_live_deliveries())
 *   history.c   history_read (with store_history), deliver (replayed)
 *   console_feed.c  deliver (detail "console": live, one record per
 *               certificate, audit_feed_deliveries(); caught up, one per
 *               alert, audit_feed_caught_up()), history_read (with the
 *               catch-up's store_history)
 *   durable.c   deliver (durable: one record per batch sent,
 *               audit_durable_sent()), ack (one per Ack, with store_ack)
 *   admin.c     admin_refused, registry_* (with the store's registry
 *               operations), tls_reload, tls_reload_failed
 *   console_api.c  consult (a certificate read one alert's detail on the
 *               console: audit_consult(), with store_alert; LED Art. 25)
 */
#ifndef CCC_AUDIT_H
#define CCC_AUDIT_H

#include <stdbool.h>

#include "store.h"

struct feed;
struct feed_identity;
struct policy_target;
struct registry;
struct route_set;
struct server;
struct session;

/*
 * The record of event by s (NULL: the registry file, endpoint "file"), with
 * alert (an id, or NULL) and detail; its strings point into s and the
 * arguments, so it is valid while they are (the store copies what it
 * queues).
 */
struct audit_rec audit_of(const struct session *s, const char *event,
		    const char *alert, const char *detail);
/* Journal event by s (one store operation). */
void		 audit_session(struct session *s, const char *event,
		    const char *alert, const char *detail);
/*
 * Journal that s was sent the alert (id, origin, topic) outside durable
 * delivery: a history replay.
 */
void		 audit_delivered(struct session *s, const char *alert,
		    const char *origin, const char *topic);
/*
 * Journal the live deliveries of the alert publisher published (id, topic)
 * to the sessions of rs the caller sent it to (route_session.sent): one
 * "deliver" record per recipient certificate and transfer flag, whose peer
 * field lists the addresses of its sessions that got it, separated by
 * spaces (receipts count them as deliveries), all in one store operation
 * (store_audit_batch). Exercise traffic gets none (the
 * sessions' "exercise" records stand for it) unless bench.journal is set.
 */
void		 audit_live_deliveries(struct session *publisher,
		    const char *alert, const char *topic,
		    const struct route_set *rs);
/* The detail of the deliver records of console feeds. */
#define AUDIT_CONSOLE	"console"
/*
 * Journal the delivery of origin's alert (id) to feeds[0..n) (console
 * feeds it was sent to, live): folded as audit_live_deliveries() folds
 * sessions, one record per certificate and transfer flag naming the
 * browsers' addresses, detail AUDIT_CONSOLE; the transfer flag under the
 * current registry.
 */
void		 audit_feed_deliveries(struct server *srv, const char *alert,
		    const char *origin, struct feed *const *feeds, size_t n);
/*
 * Journal that a feed's catch-up sent id the alerts[0..n) (of origins[i]):
 * one "deliver" record each, detail AUDIT_CONSOLE, in one store operation.
 */
void		 audit_feed_caught_up(struct server *srv,
		    const struct feed_identity *id, const char *const *alerts,
		    const char *const *origins, size_t n);
/*
 * Journal that the first n rows of a fetch of the durable subscription
 * named dname were sent to s: one "deliver" record per transfer flag,
 * naming the alerts (store_audit_sent): a record per batch, not per alert.
 * Exercise alerts are left out (the session's "exercise" record stands for
 * them) unless bench.journal is set.
 */
void		 audit_durable_sent(struct session *s, const char *dname,
		    const struct store_row *rows, size_t n);
/*
 * The "consult" record of a console request: the certificate (endpoint,
 * subject, fingerprint: the registry id and tls_peer_details()) at peer
 * asked for the detail of the alert alert_id; detail "console", to which
 * store_alert() adds the alert's topic. Its strings point into the
 * arguments (valid while they are); none may be NULL but peer.
 */
struct audit_rec audit_consult(const char *endpoint, const char *subject,
		    const char *fingerprint, const char *peer,
		    const char *alert_id);
/* Journal (and log) that the access rules kept publisher's alert from t. */
void		 audit_route_blocked(struct session *publisher,
		    const char *alert, const struct policy_target *t);
/*
 * Is a delivery of origin's alert to recipient a transfer (acl.h: from a
 * Bulgarian or Greek endpoint to a Turkish one) under reg?
 */
bool		 audit_transfer(const struct registry *reg, const char *origin,
		    const char *recipient);

#endif
