/*
 * session.h — one client connection and its state machine.
 *
 *   HANDSHAKE --TLS ok, identity registered--> HELLO --Hello--> READY
 *        \                                        \               \
 *         `----------- any failure, limit, shutdown -----------> CLOSING --> freed
 *
 * sess_set_state() is the only place that changes state. A session is never
 * freed inside one of its own callbacks: sess_close() stops reading, drops
 * its subscriptions at once, lets queued output drain (bounded by a timer)
 * and then frees the session from a fresh event-loop callback.
 *
 * struct session is shared by session.c (I/O, timers, lifetime), handle.c
 * (message handlers) and route.c (deliveries); explain.c, peers.c, audit.c,
 * durable.c, history.c, admin.c and metrics.c read it (docs/architecture.md
 * says what each reads) and change nothing in it but what their own
 * functions own.
 */
#ifndef CCC_SESSION_H
#define CCC_SESSION_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "ccc/v1/envelope.pb-c.h"
#include "registry.h"

struct server;

enum sess_state {
	SESS_HANDSHAKE,		/* TLS handshake under way */
	SESS_HELLO,		/* identity known, waiting for Hello */
	SESS_READY,		/* may publish and subscribe */
	SESS_CLOSING,		/* flushing queued output; reads nothing */
};

struct durable;
struct evbuffer;
struct feed;
struct listener_slot;
struct quota;
struct replay;

/*
 * One Subscribe request: an id and the patterns it put in the topic tree.
 * A plain subscription belongs to its session and dies with it; a durable one
 * belongs to durable.c, stays in the tree while detached (sess NULL), and is
 * attached to at most one session at a time. A console feed's
 * (console_feed.h) belongs to the feed: sess and durable NULL, id 0, in the
 * tree exactly while the feed is open.
 */
struct subscription {
	struct session		*sess;		/* attached session, or NULL */
	uint32_t		 id;		/* unique within the attached session, from 1 */
	char			**patterns;
	size_t			 npatterns;
	struct durable		*durable;	/* NULL for a plain subscription */
	struct replay		*replay;	/* history replay under way, or NULL */
	struct feed		*feed;		/* a console feed's; NULL otherwise */
};

struct session {
	TAILQ_ENTRY(session)	 entry;		/* server's list of sessions */
	TAILQ_ENTRY(session)	 peer_entry;	/* its endpoint's sessions (peers.c) */
	bool			 peer_listed;	/* on that list: READY, not closing */
	struct server		*srv;
	uint64_t		 serial;	/* for logs: "session 42" */
	char			 peer[64];	/* "HOST:PORT" of the peer */
	enum sess_state		 state;
	bool			 over_limit;	/* accepted past max_connections: refuse after TLS */
	struct bufferevent	*bev;		/* TLS bufferevent; owns the socket and SSL */
	struct event		*timer;		/* handshake, idle/ping or closing deadline */
	struct event		*reaper;	/* frees the session from a clean stack */
	struct listener_slot	*preauth;	/* counted by the listener as a handshake; HANDSHAKE only */
	struct quota		*quota;		/* its endpoint's session count and publish rate; never NULL in HELLO and READY */

	/* identity, set when the handshake completes */
	char			 endpoint[64];	/* certificate CN = registry endpoint id */
	char			 subject[256];	/* certificate subject, for the audit journal */
	char			 fingerprint[65]; /* SHA-256 of the certificate, hex */
	struct registry		*reg;		/* snapshot the endpoint pointer belongs to (referenced) */
	const struct endpoint	*ep;

	/* liveness */
	int64_t			 last_rx_us;	/* monotonic time of the last frame received */
	bool			 ping_sent;	/* a Ping is outstanding */
	bool			 want_receipts;	/* Hello.receipts: push acknowledgements of our alerts */
	uint64_t		 ping_rid;	/* request id of our pings */

	/* subscriptions */
	struct subscription	**subs;
	size_t			 nsubs;
	uint32_t		 next_sub_id;

	/* counters for the close log line */
	uint64_t		 frames_in, published, delivered;

	/* exercise traffic (ccc bench): its alerts are removed at close */
	uint64_t		 exercise;		/* exercise alerts published */
	bool			 exercise_rx;		/* durable exercise deliveries sent,
						   or alerts of its durable subscriptions
						   settled unsent */
	bool			 exercise_refused;	/* the refusal is journalled */
	int			 close_reason;	/* enum metrics_close, counted by sess_close() */

	/* store operations that will call back with this session */
	unsigned		 holds;
	bool			 reap_wanted;	/* free once holds drops to 0 */

	/* output: bytes still free in the last chain of the output buffer */
	size_t			 out_room;
};

/*
 * Start a session on an accepted socket. It takes over the socket and slot
 * (the listener's count of it as a handshake, released when the handshake
 * ends), also when it fails.
 */
void	sess_new(struct server *srv, int fd, const struct sockaddr *sa,
	    int salen, bool over_limit, struct listener_slot *slot);
#ifdef CCC_FUZZ
/*
 * Fuzzing only (the fuzz build alone defines CCC_FUZZ): a session on a plain
 * connected socket whose peer is taken to be endpoint, without TLS.
 */
void	sess_new_plain(struct server *srv, int fd, const char *endpoint);
#endif
/*
 * Queue env for the peer. Returns 0, or -1 when the session is closing or the
 * frame would push its output past limits.max_output_buffer (the session is
 * then closed as a slow consumer).
 */
int	sess_send(struct session *s, const Ccc__V1__Envelope *env);
/*
 * Queue a Deliver of an already-encoded alert (see frame_encode_deliver);
 * same bound and result as sess_send().
 */
int	sess_send_deliver(struct session *s, const Ccc__V1__Deliver *d,
	    const uint8_t *alert, size_t alert_len);
/*
 * Queue a Deliver frame encoded already (frame_encode_deliver) for one
 * session and copied for others; same bound and result as sess_send().
 */
int	sess_send_frame(struct session *s, const uint8_t *frame, size_t len);
/* Move the frames in buf to s's output (no bound: history_hold bounded them). */
void	sess_send_buffer(struct session *s, struct evbuffer *buf);
/*
 * A store operation will call back with s: keep it allocated until
 * sess_release(). sess_release() may free s; do not touch it afterwards.
 */
void	sess_hold(struct session *s);
void	sess_release(struct session *s);
/* Queue an Error frame; fatal ones also close the session. */
void	sess_error(struct session *s, uint64_t request_id, Ccc__V1__ErrorCode code,
	    bool fatal, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Begin closing: reason goes to the log. Safe to call more than once. */
void	sess_close(struct session *s, const char *reason);
/*
 * Free s now. Only for the reaper event and for server_free() after the loop
 * has stopped; everything else calls sess_close().
 */
void	sess_free(struct session *s);
void	sess_set_state(struct session *s, enum sess_state state);
/* Hello accepted: READY, and the idle/ping timer starts. */
void	sess_ready(struct session *s);
/* Adopt a new registry snapshot (SIGHUP): re-check identity and every subscription. */
void	sess_registry_changed(struct session *s, struct registry *reg);
/*
 * The TLS context was reloaded (ctx is the new one): re-verify the peer's
 * certificate against it; when that fails (revoked, CA no longer trusted,
 * expired) audit it and close s with CERTIFICATE_REVOKED. Returns true when
 * s is being closed. Sessions still in their handshake are checked when it
 * completes.
 */
bool	sess_tls_changed(struct session *s, SSL_CTX *ctx);
/*
 * Find, add and drop plain subscriptions; adding and dropping update the
 * topic tree. sess_sub_attach/detach only link a (durable) subscription to
 * the session. sess_sub_end() ends any subscription's life in the session:
 * drops a plain one, detaches a durable one.
 */
struct subscription *sess_sub_find(struct session *s, uint32_t id);
struct subscription *sess_sub_add(struct session *s, char **patterns, size_t n);
void	sess_sub_drop(struct session *s, struct subscription *sub);
void	sess_sub_attach(struct session *s, struct subscription *sub);
void	sess_sub_detach(struct session *s, struct subscription *sub);
void	sess_sub_end(struct session *s, struct subscription *sub);

#endif
