/*
 * metrics.h — what the broker counts about itself, and how it tells: a
 * Prometheus text exposition on GET /metrics, a health check on GET /healthz
 * (both on an HTTP listener of their own, metrics.listen), and one JSON
 * status object for the admin protocol.
 *
 * Counters are plain fields of struct metrics_counters, owned by the server
 * (server_counters()) and incremented in place by the modules that see the
 * events; the loop is single-threaded, so an increment is all they cost.
 * Gauges are computed when asked, from the sessions, the durable
 * subscriptions and the registry; what only the store knows (durable
 * backlogs, dead letters, file sizes) is counted by the store's writer
 * thread every metrics.refresh and cached, so a scrape never waits for the
 * store. A one-second timer keeps a minute of counter samples for rates.
 */
#ifndef CCC_METRICS_H
#define CCC_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct server;
struct metrics;

#define METRICS_NCODES	32	/* wire error codes counted (Ccc__V1__ErrorCode) */

/* Why sessions ended (sessions_closed). */
enum metrics_close {
	METRICS_CLOSE_OTHER,		/* none of the below */
	METRICS_CLOSE_PEER,		/* the peer closed the connection */
	METRICS_CLOSE_NETWORK,		/* socket or TLS error after the handshake */
	METRICS_CLOSE_HANDSHAKE,	/* TLS handshake failed or timed out */
	METRICS_CLOSE_REFUSED,		/* unknown or suspended endpoint, connection limit */
	METRICS_CLOSE_PROTOCOL,		/* malformed or oversized frame, protocol error, no hello */
	METRICS_CLOSE_SLOW,		/* slow consumer */
	METRICS_CLOSE_IDLE,		/* idle timeout */
	METRICS_CLOSE_SHUTDOWN,		/* the broker shut down */
	METRICS_CLOSE_N
};

/* Monotonic counters since start-up. Loop thread only. */
struct metrics_counters {
	uint64_t	publish_accepted;	/* stored, then routed */
	uint64_t	publish_duplicates;	/* same id and content again: confirmed, not routed */
	uint64_t	publish_refused[METRICS_NCODES];	/* by wire error code */
	uint64_t	deliveries_plain;	/* live Deliver frames for plain subscriptions */
	uint64_t	deliveries_durable;	/* Deliver frames of durable subscriptions, redeliveries included */
	uint64_t	deliveries_replayed;	/* Deliver frames of history replays */
	uint64_t	redeliveries;		/* durable deliveries sent again */
	uint64_t	dead_lettered;		/* durable deliveries moved to the dead-letter list */
	uint64_t	expired;		/* durable deliveries dropped: the alert expired */
	uint64_t	connections_accepted;	/* TCP connections that became sessions */
	uint64_t	connections_dropped;	/* closed unanswered past the connection limit */
	uint64_t	handshakes_over_limit;	/* closed at accept: limits.max_handshakes */
	uint64_t	handshakes_over_address; /* closed at accept: limits.max_handshakes_per_address */
	uint64_t	handshakes_evicted;	/* handshakes closed for a less busy source */
	uint64_t	handshakes_refused;	/* TLS failure, or identity refused after TLS */
	uint64_t	sessions_closed[METRICS_CLOSE_N];	/* by enum metrics_close */
	uint64_t	frames_in, frames_out;	/* protocol frames received, queued for sending */
	uint64_t	bytes_in, bytes_out;	/* their bytes (before TLS) */
};

/*
 * Set up the metrics of srv: timers (rates, backlog counts) and, when
 * metrics.listen is set, the HTTP listener, whose address is logged as
 * "metrics: serving http://ADDRESS/metrics". NULL with err set when the
 * listener cannot be bound.
 */
struct metrics	*metrics_new(struct server *srv, char *err, size_t errlen);
void		 metrics_free(struct metrics *m);
/* The bound HTTP address "HOST:PORT", or NULL when there is no listener. */
const char	*metrics_address(const struct metrics *m);

/* The reason a fatal error with this wire code ends a session. */
enum metrics_close metrics_close_reason(int code);
/* Count a publish refused with this wire code. */
void		 metrics_refused(struct metrics_counters *c, int code);

/*
 * The broker's health: NULL when it serves (the loop answers, the store's
 * last write succeeded and its writer thread hands work back), else a
 * one-line reason written into buf.
 */
const char	*metrics_health(struct server *srv, char *buf, size_t len);

/*
 * The broker's status as a new JSON object (the caller owns the reference),
 * for the admin protocol. Its keys:
 *
 *   version              "0.1.0"
 *   started_at           RFC 3339 time of start-up
 *   uptime_seconds       integer
 *   healthy, health      true and "ok", or false and the reason (as /healthz)
 *   registry_endpoints   endpoints in the current registry
 *   sessions             { handshake, hello, ready, closing, total }
 *   subscriptions        { plain, durable_attached, durable_detached }
 *   totals               the counters: { publish_accepted,
 *                        publish_duplicates, publish_refused: { CODE: n },
 *                        deliveries_plain, deliveries_durable,
 *                        deliveries_replayed, redeliveries, dead_lettered,
 *                        expired, connections_accepted,
 *                        connections_dropped, connections_refused:
 *                        { max_handshakes, max_handshakes_per_address },
 *                        handshakes_evicted, handshakes_refused,
 *                        sessions_closed: { REASON: n }, frames_in,
 *                        frames_out, bytes_in, bytes_out }; CODE is the
 *                        short name of the wire error code ("forbidden"),
 *                        REASON one of peer_closed, network_error,
 *                        handshake, refused, protocol_error, slow_consumer,
 *                        idle_timeout, shutdown, other (only those not 0)
 *   rates                per second: { publish_10s, publish_60s,
 *                        deliver_10s, deliver_60s } (deliver: plain and
 *                        durable Deliver frames)
 *   store                { db_bytes, wal_bytes, inbox_depth, dead_letters,
 *                        counted_seconds_ago (null before the first count),
 *                        pending_operations, check (the integrity check:
 *                        passed, running, failed, not_run), write_ok, error
 *                        (when not write_ok) }
 *   endpoints            { ENDPOINT: { connections, subscriptions:
 *                        { plain, durable_attached, durable_detached },
 *                        inbox_depth, dead_letters } } for every endpoint
 *                        seen since start-up (sessions, durable
 *                        subscriptions, the store)
 *
 * inbox_depth is the durable deliveries not acknowledged yet (waiting or in
 * flight), dead_letters those in the dead-letter list, both as of the last
 * count (store.counted_seconds_ago).
 */
json_t *metrics_status_json(struct server *srv);

#endif
