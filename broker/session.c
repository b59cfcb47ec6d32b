/*
 * session.c — one client connection: TLS bufferevent I/O, framing, the
 * state machine, timers, subscriptions and lifetime.
 *
 * Owns: the bufferevent (and through it the socket and the SSL object), the
 * session's timers, its subscriptions and their entries in the topic tree.
 * Invariants:
 *   - input is bounded: every whole frame is handled as soon as it arrives, so
 *     the input buffer holds at most one partial frame plus one read, and a
 *     length prefix over the limit is refused before anything is allocated
 *     (no read watermark: with a socket-based OpenSSL bufferevent it would
 *     strand decrypted bytes inside OpenSSL until the peer sent more);
 *   - output is bounded: a frame that would push queued output past
 *     limits.max_output_buffer closes the session as a slow consumer — this
 *     also covers a client that sends requests but never reads the replies;
 *   - a peer's fault closes that session only; nothing here calls fatal();
 *   - a session is freed only by sess_reap(), from its own event, never
 *     inside a bufferevent callback that still uses it;
 *   - at close, the exercise alerts it published or took (or its durable
 *     subscriptions settled unsent) are removed from the store once no
 *     durable subscription waits for them.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "acl.h"
#include "audit.h"
#include "durable.h"
#include "frame.h"
#include "handle.h"
#include "history.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "quota.h"
#include "server.h"
#include "session.h"
#include "store.h"
#include "timeutil.h"
#include "tls.h"
#include "xmalloc.h"

#define SESS_CLOSE_GRACE	5	/* seconds to flush output when closing, at least */
#define SESS_OUT_CHUNK		(16384 - 256)	/* output chain: one TLS record's
						   plaintext, less libevent's header */

static uint64_t sess_serial;

static void	sess_read_cb(struct bufferevent *, void *);
static void	sess_write_cb(struct bufferevent *, void *);
static void	sess_event_cb(struct bufferevent *, short, void *);
static void	sess_timer_cb(evutil_socket_t, short, void *);
static void	sess_reap_cb(evutil_socket_t, short, void *);

static const char *
sess_state_name(enum sess_state st)
{
	static const char *const names[] = { "handshake", "hello", "ready",
	    "closing" };

	return names[st];
}

static void
sess_arm_timer_us(struct session *s, int64_t us)
{
	struct timeval tv;

	if (us < 1000)
		us = 1000;
	tv.tv_sec = (time_t)(us / 1000000);
	tv.tv_usec = (suseconds_t)(us % 1000000);
	evtimer_add(s->timer, &tv);
}

static void
sess_arm_timer(struct session *s, int64_t seconds)
{
	sess_arm_timer_us(s, seconds * 1000000);
}

void
sess_new(struct server *srv, int fd, const struct sockaddr *sa, int salen,
    bool over_limit, struct listener_slot *slot)
{
	const struct config *cfg = server_config(srv);
	struct event_base *base = server_base(srv);
	char host[INET6_ADDRSTRLEN] = "?";
	struct session *s;
	SSL *ssl;
	int port = 0, one = 1;

	s = xcalloc(1, sizeof(*s));
	s->srv = srv;
	s->serial = ++sess_serial;
	s->over_limit = over_limit;
	s->state = SESS_HANDSHAKE;
	s->last_rx_us = time_mono_us();
	if (sa->sa_family == AF_INET && (size_t)salen >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6 &&
	    (size_t)salen >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	snprintf(s->peer, sizeof(s->peer), "%s:%d", host, port);
	/* frames are small and latency matters: no Nagle delay */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	if ((ssl = SSL_new(server_ssl_ctx(srv))) == NULL) {
		log_error("session %llu: SSL_new failed; dropping %s",
		    (unsigned long long)s->serial, s->peer);
		evutil_closesocket(fd);
		listener_slot_release(slot);
		free(s);
		return;
	}
	s->bev = bufferevent_openssl_socket_new(base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (s->bev == NULL) {
		log_error("session %llu: cannot create TLS bufferevent; dropping %s",
		    (unsigned long long)s->serial, s->peer);
		/* libevent has already freed ssl (BEV_OPT_CLOSE_ON_FREE) */
		evutil_closesocket(fd);
		listener_slot_release(slot);
		free(s);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	bufferevent_setcb(s->bev, sess_read_cb, sess_write_cb, sess_event_cb, s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	s->timer = evtimer_new(base, sess_timer_cb, s);
	s->reaper = event_new(base, -1, 0, sess_reap_cb, s);
	s->preauth = slot;
	listener_slot_bind(slot, s);
	sess_arm_timer(s, cfg->handshake_timeout);
	server_attach(srv, s);
	server_counters(srv)->connections_accepted++;
	log_debug("session %llu: connection from %s", (unsigned long long)s->serial,
	    s->peer);
}

void
sess_set_state(struct session *s, enum sess_state state)
{
	log_debug("session %llu: %s -> %s", (unsigned long long)s->serial,
	    sess_state_name(s->state), sess_state_name(state));
	if (s->state == SESS_HANDSHAKE) {	/* authenticated, or closing */
		listener_slot_release(s->preauth);
		s->preauth = NULL;
	}
	if (state == SESS_CLOSING) {
		quota_session_end(s->quota);
		s->quota = NULL;
	}
	s->state = state;
}

/*
 * Reserve n contiguous bytes at the end of s's output, to be committed with
 * sess_commit(). bufferevent_openssl writes each chain of the output buffer
 * with one SSL_write — one TLS record and one write(2) per chain — so frames
 * are packed into chains of a full record: when the chain in use cannot take
 * the frame (s->out_room), a new one of SESS_OUT_CHUNK bytes is asked for,
 * rather than one just large enough (about a frame per record, as libevent
 * would size it). Only session.c appends to the output, and it keeps
 * out_room; the writes drain from the front and free the chains once empty.
 */
static int
sess_reserve(struct session *s, struct evbuffer *out, size_t n,
    struct evbuffer_iovec *v)
{
	size_t want = n;

	if (s->out_room < n || evbuffer_get_length(out) == 0)
		want = n > SESS_OUT_CHUNK ? n : SESS_OUT_CHUNK;
	if (evbuffer_reserve_space(out, (ev_ssize_t)want, v, 1) < 1) {
		s->out_room = 0;
		return -1;
	}
	s->out_room = v->iov_len;	/* all the chain has free */
	return 0;
}

static void
sess_commit(struct session *s, struct evbuffer *out, struct evbuffer_iovec *v,
    size_t len)
{
	v->iov_len = len;
	s->out_room -= len;
	evbuffer_commit_space(out, v, 1);
	server_counters(s->srv)->frames_out++;
	server_counters(s->srv)->bytes_out += len;
}

/*
 * Room for n more bytes of output in s, or NULL: closing, or over the output
 * bound (then the session is closed as a slow consumer).
 */
static struct evbuffer *
sess_room(struct session *s, size_t n, struct evbuffer_iovec *v)
{
	struct evbuffer *out;
	size_t queued;

	if (s->state == SESS_CLOSING)
		return NULL;
	out = bufferevent_get_output(s->bev);
	queued = evbuffer_get_length(out);
	if (queued + n > server_config(s->srv)->max_output_buffer) {
		log_warn("session %llu: %s is a slow consumer (%zu bytes queued)",
		    (unsigned long long)s->serial, s->endpoint, queued);
		sess_error(s, 0, CCC__V1__ERROR_CODE__ERROR_CODE_SLOW_CONSUMER, true,
		    "slow consumer: more than %u bytes of output queued; "
		    "the session is closed", server_config(s->srv)->max_output_buffer);
		return NULL;
	}
	if (sess_reserve(s, out, n, v) < 0)
		return NULL;
	return out;
}

int
sess_send(struct session *s, const Ccc__V1__Envelope *env)
{
	struct evbuffer *out;
	struct evbuffer_iovec v;

	if ((out = sess_room(s, frame_size(env), &v)) == NULL)
		return -1;
	sess_commit(s, out, &v, frame_encode(env, v.iov_base));
	return 0;
}

int
sess_send_deliver(struct session *s, const Ccc__V1__Deliver *d,
    const uint8_t *alert, size_t alert_len)
{
	struct evbuffer *out;
	struct evbuffer_iovec v;

	if ((out = sess_room(s, frame_deliver_size(d, alert_len), &v)) == NULL)
		return -1;
	sess_commit(s, out, &v, frame_encode_deliver(d, alert, alert_len,
	    v.iov_base));
	s->delivered++;
	return 0;
}

int
sess_send_frame(struct session *s, const uint8_t *frame, size_t len)
{
	struct evbuffer *out;
	struct evbuffer_iovec v;

	if ((out = sess_room(s, len, &v)) == NULL)
		return -1;
	memcpy(v.iov_base, frame, len);
	sess_commit(s, out, &v, len);
	s->delivered++;
	return 0;
}

void
sess_send_buffer(struct session *s, struct evbuffer *buf)
{
	if (s->state != SESS_CLOSING) {
		evbuffer_add_buffer(bufferevent_get_output(s->bev), buf);
		s->out_room = 0;	/* the last chain is buf's now */
	}
}

void
sess_hold(struct session *s)
{
	s->holds++;
}

void
sess_release(struct session *s)
{
	if (--s->holds == 0 && s->reap_wanted)
		sess_free(s);
}

void
sess_error(struct session *s, uint64_t request_id, Ccc__V1__ErrorCode code,
    bool fatal, const char *fmt, ...)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Error err = CCC__V1__ERROR__INIT;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->state == SESS_CLOSING)
		return;
	err.code = code;
	err.message = msg;
	err.fatal = fatal;
	env.request_id = request_id;
	env.body_case = CCC__V1__ENVELOPE__BODY_ERROR;
	env.error = &err;
	if (fatal) {
		/* an error frame always fits: bypass the output bound */
		struct evbuffer *out = bufferevent_get_output(s->bev);
		struct evbuffer_iovec v;

		if (sess_reserve(s, out, frame_size(&env), &v) == 0)
			sess_commit(s, out, &v, frame_encode(&env, v.iov_base));
		s->close_reason = metrics_close_reason(code);
		sess_close(s, msg);
	} else
		sess_send(s, &env);
}

/* Queue the session for freeing from a clean stack. */
static void
sess_reap(struct session *s)
{
	event_active(s->reaper, EV_TIMEOUT, 0);
}

/*
 * The session published or took exercise alerts, or its durable
 * subscriptions settled alerts unsent (exercise ones among them, maybe):
 * remove those no durable subscription still waits for. A publishing session's one journal record
 * stands for all its exercise alerts, which get none of their own.
 */
static void
sess_exercise_end(struct session *s)
{
	struct audit_rec r;
	char detail[128];

	if (s->exercise == 0 && !s->exercise_rx)
		return;
	snprintf(detail, sizeof(detail), "published=%llu under exercise/",
	    (unsigned long long)s->exercise);
	r = audit_of(s, "exercise", NULL, detail);
	store_exercise_purge(server_store(s->srv), s->exercise > 0 ? &r : NULL,
	    NULL, NULL);
}

void
sess_close(struct session *s, const char *reason)
{
	if (s->state == SESS_CLOSING)
		return;
	log_info("session %llu: closing %s%s%s: %s (frames in %llu, published "
	    "%llu, delivered %llu)", (unsigned long long)s->serial,
	    s->endpoint[0] ? s->endpoint : "", s->endpoint[0] ? " from " : "",
	    s->peer, reason, (unsigned long long)s->frames_in,
	    (unsigned long long)s->published, (unsigned long long)s->delivered);
	sess_exercise_end(s);
	if (s->state == SESS_READY)
		audit_session(s, "session_close", NULL, reason);
	if (s->close_reason == METRICS_CLOSE_OTHER && server_stopping(s->srv))
		s->close_reason = METRICS_CLOSE_SHUTDOWN;
	server_counters(s->srv)->sessions_closed[s->close_reason]++;
	server_session_closed(s->srv, s);
	while (s->nsubs > 0)
		sess_sub_end(s, s->subs[s->nsubs - 1]);
	sess_set_state(s, SESS_CLOSING);
	bufferevent_disable(s->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		sess_reap(s);
	else	/* on shutdown, flush for as long as timeouts.shutdown allows */
		sess_arm_timer(s, server_stopping(s->srv) &&
		    server_config(s->srv)->shutdown_timeout > SESS_CLOSE_GRACE ?
		    server_config(s->srv)->shutdown_timeout : SESS_CLOSE_GRACE);
}

static void
sess_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	if (s->holds > 0)
		s->reap_wanted = true;	/* sess_release() frees it */
	else
		sess_free(s);
}

void
sess_free(struct session *s)
{
	SSL *ssl;

	while (s->nsubs > 0)
		sess_sub_end(s, s->subs[s->nsubs - 1]);
	ssl = bufferevent_openssl_get_ssl(s->bev);
	if (ssl != NULL && SSL_is_init_finished(ssl))
		SSL_shutdown(ssl);	/* best effort close_notify; never blocks */
	ERR_clear_error();
	bufferevent_free(s->bev);
	event_free(s->timer);
	event_free(s->reaper);
	if (s->reg != NULL)
		registry_unref(s->reg);
	listener_slot_release(s->preauth);
	quota_session_end(s->quota);
	free(s->subs);
	server_session_closed(s->srv, s);
	server_detach(s->srv, s);
	free(s);
}

/* Refuse a session after its handshake: audit, tell the peer, close. */
static void __attribute__((format(printf, 3, 4)))
sess_refuse(struct session *s, Ccc__V1__ErrorCode code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	server_counters(s->srv)->handshakes_refused++;
	audit_session(s, "handshake_refused", NULL, msg);
	sess_error(s, 0, code, true, "%s", msg);
}

/* Handshake done: establish the endpoint identity, or refuse the session. */
static void
sess_connected(struct session *s)
{
	const struct config *cfg = server_config(s->srv);
	struct registry *reg = server_registry(s->srv);
	const struct endpoint *ep;
	SSL *ssl = bufferevent_openssl_get_ssl(s->bev);
	char why[256];

	tls_peer_details(ssl, s->subject, sizeof(s->subject), s->fingerprint,
	    sizeof(s->fingerprint));
	if (tls_peer_identity(ssl, s->endpoint, sizeof(s->endpoint), why,
	    sizeof(why)) < 0) {
		s->endpoint[0] = '\0';
		log_warn("session %llu: client certificate of %s refused: %s "
		    "(%s)", (unsigned long long)s->serial, s->peer, why,
		    s->subject);
		sess_refuse(s, CCC__V1__ERROR_CODE__ERROR_CODE_UNKNOWN_ENDPOINT,
		    "client certificate refused: %s", why);
		return;
	}
	/* the TLS material was reloaded during the handshake: check again */
	if (SSL_get_SSL_CTX(ssl) != server_ssl_ctx(s->srv) &&
	    tls_reverify(server_ssl_ctx(s->srv), ssl, why, sizeof(why)) < 0) {
		sess_refuse(s, CCC__V1__ERROR_CODE__ERROR_CODE_CERTIFICATE_REVOKED,
		    "the certificate is no longer accepted: %s", why);
		return;
	}
	if ((ep = registry_endpoint(reg, s->endpoint)) == NULL) {
		sess_refuse(s, CCC__V1__ERROR_CODE__ERROR_CODE_UNKNOWN_ENDPOINT,
		    "endpoint \"%s\" is not registered with this broker",
		    s->endpoint);
		return;
	}
	if (ep->suspended) {
		sess_refuse(s, CCC__V1__ERROR_CODE__ERROR_CODE_ENDPOINT_SUSPENDED,
		    "endpoint \"%s\" is suspended", s->endpoint);
		return;
	}
	if (ep->n_ca > 0 && tls_peer_issued_by(ssl, ep->ca, ep->n_ca, why,
	    sizeof(why)) < 0) {
		log_warn("session %llu: client certificate of %s refused for "
		    "endpoint %s: %s (%s)", (unsigned long long)s->serial,
		    s->peer, s->endpoint, why, s->subject);
		sess_refuse(s, CCC__V1__ERROR_CODE__ERROR_CODE_UNKNOWN_ENDPOINT,
		    "client certificate refused for endpoint \"%s\": %s",
		    s->endpoint, why);
		return;
	}
	if (s->over_limit) {
		sess_refuse(s, CCC__V1__ERROR_CODE__ERROR_CODE_TOO_MANY_CONNECTIONS,
		    "the broker has reached its limit of %u connections; try "
		    "again later", cfg->max_connections);
		return;
	}
	if ((s->quota = quota_session_begin(s->endpoint,
	    cfg->max_connections_per_endpoint)) == NULL) {
		sess_refuse(s, CCC__V1__ERROR_CODE__ERROR_CODE_TOO_MANY_CONNECTIONS,
		    "endpoint \"%s\" already has %u sessions open, its limit "
		    "(limits.max_connections_per_endpoint); close one or try "
		    "again later", s->endpoint,
		    cfg->max_connections_per_endpoint);
		return;
	}
	s->reg = registry_ref(reg);
	s->ep = ep;
	log_debug("session %llu: %s authenticated as %s (%s)",
	    (unsigned long long)s->serial, s->peer, s->endpoint,
	    SSL_get_version(ssl));
	sess_set_state(s, SESS_HELLO);
}

static void
sess_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;
	char buf[256];
	unsigned long e;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (s->state == SESS_HANDSHAKE)
			sess_connected(s);
		return;
	}
	if (s->state == SESS_CLOSING) {
		sess_reap(s);	/* the peer went away while we flushed */
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		e = bufferevent_get_openssl_error(s->bev);
		if (e != 0)
			ERR_error_string_n(e, buf, sizeof(buf));
		else
			snprintf(buf, sizeof(buf), "%s",
			    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		ERR_clear_error();
		s->close_reason = METRICS_CLOSE_NETWORK;
		if (s->state == SESS_HANDSHAKE) {
			SSL *ssl = bufferevent_openssl_get_ssl(s->bev);
			char why[128], detail[400];

			/* a refused certificate: say why, and record which */
			if (ssl != NULL &&
			    tls_verify_failure(ssl, why, sizeof(why)) != NULL) {
				tls_peer_details(ssl, s->subject,
				    sizeof(s->subject), s->fingerprint,
				    sizeof(s->fingerprint));
				snprintf(detail, sizeof(detail), "%s: %s", buf, why);
			} else
				snprintf(detail, sizeof(detail), "%s", buf);
			log_warn("session %llu: TLS handshake with %s failed: %s%s%s%s",
			    (unsigned long long)s->serial, s->peer, detail,
			    s->subject[0] ? " (" : "", s->subject,
			    s->subject[0] ? ")" : "");
			audit_session(s, "handshake_refused", NULL, detail);
			server_counters(s->srv)->handshakes_refused++;
			s->close_reason = METRICS_CLOSE_HANDSHAKE;
		}
		sess_close(s, s->state == SESS_HANDSHAKE ? "handshake failed" : buf);
	} else if (what & BEV_EVENT_EOF) {
		s->close_reason = METRICS_CLOSE_PEER;
		sess_close(s, "peer closed the connection");
	} else
		return;
	/*
	 * After EOF or an error the TLS bufferevent neither reads nor writes
	 * again: queued output can never drain, so free the session now
	 * rather than after the closing grace.
	 */
	sess_reap(s);
}

/*
 * Give back the TLS record buffers of an idle session. libevent reads until
 * SSL_read would block, and that last read leaves OpenSSL holding a read
 * buffer of a full record (about 17 KiB) although nothing is in it;
 * SSL_MODE_RELEASE_BUFFERS frees it only after a record was read out. Once
 * every frame has been handled, the buffers are freed (SSL_free_buffers()
 * keeps them when a partial record is in them); the next read allocates
 * one again.
 */
static void
sess_release_buffers(struct session *s)
{
	SSL *ssl;

	if (evbuffer_get_length(bufferevent_get_input(s->bev)) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(s->bev)) == 0 &&
	    (ssl = bufferevent_openssl_get_ssl(s->bev)) != NULL)
		(void)SSL_free_buffers(ssl);
}

/* Decode and dispatch every whole frame in the input buffer. */
static void
sess_read_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	const struct config *cfg = server_config(s->srv);
	struct evbuffer *in = bufferevent_get_input(bev);
	Ccc__V1__Envelope *env;
	Ccc__V1__Envelope__BodyCase body;
	enum frame_status st;
	size_t len, consumed, want;
	uint64_t rid;
	uint8_t *data;
	char why[160];

	while (s->state != SESS_CLOSING && s->state != SESS_HANDSHAKE &&
	    (len = evbuffer_get_length(in)) >= FRAME_HEADER_LEN) {
		data = evbuffer_pullup(in, FRAME_HEADER_LEN);
		want = FRAME_HEADER_LEN + ((size_t)data[0] << 24 |
		    (size_t)data[1] << 16 | (size_t)data[2] << 8 | data[3]);
		if (want - FRAME_HEADER_LEN <= cfg->max_frame_size) {
			if (len < want)
				break;
			data = evbuffer_pullup(in, (ev_ssize_t)want);
		}
		st = frame_decode(data, len < want ? len : want,
		    cfg->max_frame_size, &env, &consumed, why, sizeof(why));
		if (st == FRAME_TOO_LARGE) {
			evbuffer_drain(in, len);
			sess_error(s, 0,
			    CCC__V1__ERROR_CODE__ERROR_CODE_FRAME_TOO_LARGE, true,
			    "%s", why);
			break;
		}
		if (st == FRAME_NEED_MORE)	/* cannot happen: want bytes are there */
			break;
		if (st == FRAME_OVER_BUDGET)
			frame_head(data, consumed, &rid, &body);
		evbuffer_drain(in, consumed);
		s->frames_in++;
		server_counters(s->srv)->frames_in++;
		server_counters(s->srv)->bytes_in += consumed;
		s->last_rx_us = time_mono_us();
		s->ping_sent = false;	/* any traffic proves liveness */
		if (st == FRAME_MALFORMED) {
			sess_error(s, 0,
			    CCC__V1__ERROR_CODE__ERROR_CODE_MALFORMED_FRAME, true,
			    "%s", why);
			break;
		}
		if (st == FRAME_OVER_BUDGET) {
			handle_over_budget(s, rid, body, why);
			continue;
		}
		handle_frame(s, env);
		frame_free(env);
	}
	sess_release_buffers(s);
}

static void
sess_write_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	/*
	 * Called when output drained to the low watermark (0). A deferred
	 * callback may run after more output was queued: reap only when empty.
	 */
	if (s->state == SESS_CLOSING &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		sess_reap(s);
}

static void
sess_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	const struct config *cfg = server_config(s->srv);
	int64_t idle;

	(void)fd;
	(void)what;
	switch (s->state) {
	case SESS_HANDSHAKE:
	case SESS_HELLO:
		log_warn("session %llu: %s did not complete the %s within %u s",
		    (unsigned long long)s->serial, s->peer,
		    s->state == SESS_HANDSHAKE ? "TLS handshake" : "hello",
		    cfg->handshake_timeout);
		if (s->state == SESS_HANDSHAKE) {
			s->close_reason = METRICS_CLOSE_HANDSHAKE;
			sess_close(s, "handshake timeout");
		} else
			sess_error(s, 0, CCC__V1__ERROR_CODE__ERROR_CODE_PROTOCOL,
			    true, "no hello within %u seconds",
			    cfg->handshake_timeout);
		break;
	case SESS_READY:
		/* in microseconds: whole seconds would round the first check down */
		idle = time_mono_us() - s->last_rx_us;
		if (idle >= (int64_t)cfg->idle_timeout * 1000000 && s->ping_sent) {
			sess_error(s, 0,
			    CCC__V1__ERROR_CODE__ERROR_CODE_IDLE_TIMEOUT, true,
			    "nothing received for %lld seconds",
			    (long long)(idle / 1000000));
			break;
		}
		if (idle >= (int64_t)cfg->ping_interval * 1000000 && !s->ping_sent) {
			Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
			Ccc__V1__Ping ping = CCC__V1__PING__INIT;

			env.request_id = ++s->ping_rid;
			env.body_case = CCC__V1__ENVELOPE__BODY_PING;
			env.ping = &ping;
			s->ping_sent = true;
			if (sess_send(s, &env) < 0)
				break;
		}
		/* next: the ping deadline, or (ping sent) the idle deadline */
		sess_arm_timer_us(s, (int64_t)(s->ping_sent ? cfg->idle_timeout :
		    cfg->ping_interval) * 1000000 - idle);
		break;
	case SESS_CLOSING:
		sess_reap(s);	/* output did not drain in time */
		break;
	}
}

/* Called by handle.c when Hello is accepted: the session becomes READY. */
void
sess_ready(struct session *s)
{
	sess_set_state(s, SESS_READY);
	server_session_ready(s->srv, s);
	sess_arm_timer(s, server_config(s->srv)->ping_interval);
}

struct subscription *
sess_sub_find(struct session *s, uint32_t id)
{
	for (size_t i = 0; i < s->nsubs; i++)
		if (s->subs[i]->id == id)
			return s->subs[i];
	return NULL;
}

struct subscription *
sess_sub_add(struct session *s, char **patterns, size_t n)
{
	struct subscription *sub = xcalloc(1, sizeof(*sub));

	sub->patterns = patterns;
	sub->npatterns = n;
	for (size_t i = 0; i < n; i++)
		topic_tree_add(server_topics(s->srv), patterns[i], sub);
	sess_sub_attach(s, sub);
	return sub;
}

void
sess_sub_attach(struct session *s, struct subscription *sub)
{
	sub->sess = s;
	sub->id = ++s->next_sub_id;
	s->subs = xreallocarray(s->subs, s->nsubs + 1, sizeof(*s->subs));
	s->subs[s->nsubs++] = sub;
}

void
sess_sub_detach(struct session *s, struct subscription *sub)
{
	for (size_t i = 0; i < s->nsubs; i++) {
		if (s->subs[i] != sub)
			continue;
		memmove(s->subs + i, s->subs + i + 1,
		    (s->nsubs - i - 1) * sizeof(*s->subs));
		s->nsubs--;
		break;
	}
	sub->sess = NULL;
	sub->id = 0;
}

void
sess_sub_end(struct session *s, struct subscription *sub)
{
	if (sub->durable != NULL)
		durable_detach(sub->durable);
	else
		sess_sub_drop(s, sub);
}

void
sess_sub_drop(struct session *s, struct subscription *sub)
{
	history_cancel(sub);
	sess_sub_detach(s, sub);
	for (size_t i = 0; i < sub->npatterns; i++) {
		topic_tree_remove(server_topics(s->srv), sub->patterns[i], sub);
		free(sub->patterns[i]);
	}
	free(sub->patterns);
	free(sub);
}

bool
sess_tls_changed(struct session *s, SSL_CTX *ctx)
{
	char why[256];

	if (s->state != SESS_HELLO && s->state != SESS_READY)
		return false;
#ifdef CCC_FUZZ
	if (bufferevent_openssl_get_ssl(s->bev) == NULL)
		return false;	/* sess_new_plain(): no certificate */
#endif
	if (tls_reverify(ctx, bufferevent_openssl_get_ssl(s->bev), why,
	    sizeof(why)) == 0)
		return false;
	log_warn("session %llu: the certificate of %s from %s is no longer "
	    "accepted: %s", (unsigned long long)s->serial, s->endpoint, s->peer,
	    why);
	audit_session(s, "certificate_revoked", NULL, why);
	sess_error(s, 0, CCC__V1__ERROR_CODE__ERROR_CODE_CERTIFICATE_REVOKED,
	    true, "the certificate of \"%s\" is no longer accepted: %s",
	    s->endpoint, why);
	return true;
}

void
sess_registry_changed(struct session *s, struct registry *reg)
{
	const struct endpoint *ep;
	char why[512];

	if (s->state != SESS_HELLO && s->state != SESS_READY)
		return;
	if ((ep = registry_endpoint(reg, s->endpoint)) == NULL) {
		sess_error(s, 0, CCC__V1__ERROR_CODE__ERROR_CODE_UNKNOWN_ENDPOINT,
		    true, "endpoint \"%s\" was removed from the registry",
		    s->endpoint);
		return;
	}
	if (ep->suspended) {
		sess_error(s, 0, CCC__V1__ERROR_CODE__ERROR_CODE_ENDPOINT_SUSPENDED,
		    true, "endpoint \"%s\" has been suspended", s->endpoint);
		return;
	}
	if (ep->n_ca > 0 && tls_peer_issued_by(bufferevent_openssl_get_ssl(
	    s->bev), ep->ca, ep->n_ca, why, sizeof(why)) < 0) {
		log_warn("session %llu: the certificate of %s from %s is no "
		    "longer accepted after a registry change: %s",
		    (unsigned long long)s->serial, s->endpoint, s->peer, why);
		audit_session(s, "certificate_revoked", NULL, why);
		sess_error(s, 0, CCC__V1__ERROR_CODE__ERROR_CODE_CERTIFICATE_REVOKED,
		    true, "the certificate of \"%s\" is no longer accepted: %s",
		    s->endpoint, why);
		return;
	}
	registry_unref(s->reg);
	s->reg = registry_ref(reg);
	s->ep = ep;
	/* a rule that was revoked must stop applying now */
	for (size_t i = 0; i < s->nsubs;) {
		struct subscription *sub = s->subs[i];
		bool ok = true;

		for (size_t k = 0; k < sub->npatterns && ok; k++)
			ok = acl_may_subscribe(reg, ep, sub->patterns[k], why,
			    sizeof(why));
		if (ok) {
			i++;
			continue;
		}
		log_info("session %llu: %s: subscription %u revoked: %s",
		    (unsigned long long)s->serial, s->endpoint, sub->id, why);
		{
			Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
			Ccc__V1__Error err = CCC__V1__ERROR__INIT;
			char msg[600];

			snprintf(msg, sizeof(msg), "subscription %u revoked after "
			    "a registry change: %s", sub->id, why);
			err.code = CCC__V1__ERROR_CODE__ERROR_CODE_FORBIDDEN;
			err.message = msg;
			err.subscription_id = sub->id;
			env.body_case = CCC__V1__ENVELOPE__BODY_ERROR;
			env.error = &err;
			sess_sub_end(s, sub);
			if (sess_send(s, &env) < 0)
				return;
		}
	}
}

#ifdef CCC_FUZZ
/*
 * Fuzzing only: the fuzz build alone defines CCC_FUZZ, so cccd has no such
 * function. A session on a connected plain socket (fd, which it then owns)
 * whose peer is taken to be endpoint, as if a TLS handshake had proved it;
 * the registry checks that follow a real handshake still apply. It starts
 * in HELLO, like a session whose handshake has just completed.
 */
void
sess_new_plain(struct server *srv, int fd, const char *endpoint)
{
	struct event_base *base = server_base(srv);
	struct registry *reg = server_registry(srv);
	struct session *s;

	s = xcalloc(1, sizeof(*s));
	s->srv = srv;
	s->serial = ++sess_serial;
	s->state = SESS_HANDSHAKE;
	s->last_rx_us = time_mono_us();
	snprintf(s->peer, sizeof(s->peer), "plain:%d", fd);
	snprintf(s->endpoint, sizeof(s->endpoint), "%s", endpoint);
	snprintf(s->subject, sizeof(s->subject), "CN=%s", endpoint);
	if ((s->bev = bufferevent_socket_new(base, fd,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)) == NULL) {
		evutil_closesocket(fd);
		free(s);
		return;
	}
	bufferevent_setcb(s->bev, sess_read_cb, sess_write_cb, sess_event_cb, s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	s->timer = evtimer_new(base, sess_timer_cb, s);
	s->reaper = event_new(base, -1, 0, sess_reap_cb, s);
	sess_arm_timer(s, server_config(srv)->handshake_timeout);
	server_attach(srv, s);
	server_counters(srv)->connections_accepted++;
	if (registry_endpoint(reg, s->endpoint) == NULL)
		sess_refuse(s, CCC__V1__ERROR_CODE__ERROR_CODE_UNKNOWN_ENDPOINT,
		    "endpoint \"%s\" is not registered with this broker",
		    s->endpoint);
	else if (registry_endpoint(reg, s->endpoint)->suspended)
		sess_refuse(s, CCC__V1__ERROR_CODE__ERROR_CODE_ENDPOINT_SUSPENDED,
		    "endpoint \"%s\" is suspended", s->endpoint);
	else if ((s->quota = quota_session_begin(s->endpoint,
	    server_config(srv)->max_connections_per_endpoint)) == NULL)
		sess_refuse(s, CCC__V1__ERROR_CODE__ERROR_CODE_TOO_MANY_CONNECTIONS,
		    "endpoint \"%s\" has too many sessions", s->endpoint);
	else {
		s->reg = registry_ref(reg);
		s->ep = registry_endpoint(reg, s->endpoint);
		sess_set_state(s, SESS_HELLO);
	}
}
#endif
