/*
 * ccc.h — libccc, the client library for the ccc alert broker.
 *
 * Agency software links libccc (libccc.so.0, or libccc.a) to publish alerts
 * to the broker and to receive the alerts its subscriptions match, over
 * mutual TLS. Alerts are the protobuf-c structures generated from
 * proto/ccc/v1/alert.proto (Ccc__V1__Alert); the wire protocol is
 * described in docs/protocol.md.
 *
 * Model
 *   One ccc_client is one TLS session with the broker. Requests (publish,
 *   subscribe, unsubscribe) can be sent without waiting for their replies —
 *   each gets a request id — and every reply and every pushed delivery is
 *   read with ccc_receive(). The blocking helpers ccc_publish(),
 *   ccc_subscribe() and ccc_unsubscribe() send one request and wait for its
 *   reply; envelopes that arrive meanwhile (deliveries, other replies) are
 *   kept in order and returned by later ccc_receive() calls.
 *   The library answers the broker's pings by itself.
 *
 * Reconnecting
 *   A session is not restarted behind the caller's back. When one fails with
 *   err.transient set (the connection was lost or timed out, the broker is
 *   stopping, overloaded or could not store), ccc_reconnect() replaces it by
 *   a new session to the same broker with the same options and makes again
 *   the subscriptions the old one held (those confirmed by a SubscribeOk and
 *   not ended): durable subscriptions and the inbox are resumed by name, and
 *   the broker sends their unacknowledged alerts again; plain ones are made
 *   again with since (docs/protocol.md section 5a) set to the publishing time
 *   of the last alert delivered on them — or, before any, to their own since
 *   or, without one, to the time they were first confirmed by this host's
 *   clock — so that what was published while the client was away is
 *   replayed. Alerts already handed out are not handed out again: a replayed
 *   one is dropped, and so is a durable redelivery of an alert whose delivery
 *   was acknowledged with ccc_send_ack() (the library acknowledges it again).
 *   The memory for this is the last CCC_SEEN deliveries. The subscriptions
 *   have new ids in the new session (ccc_subscription_ids()). Requests still
 *   unanswered when the session failed are not sent again (a publish is
 *   published again with the same alert id, and is then confirmed as a
 *   duplicate if it was kept); a ReceiptsOk push for an acknowledgement made
 *   while disconnected is not sent (ccc_receipts() shows it). Between
 *   attempts the caller waits ccc_backoff_next() milliseconds: at most
 *   0.5 s at first, doubling up to 30 s, each drawn at random between half
 *   and all of that; ccc_backoff_reset() starts again after a good session.
 *
 * Buffering
 *   Requests are not written one by one: the ccc_send_* calls encode them
 *   into an output buffer, which is written (several frames per TLS record)
 *   when it holds 16 KiB, before every wait for the broker, at the start of
 *   every ccc_receive(), by ccc_flush() and by ccc_close(). Code that only
 *   uses the blocking helpers or ccc_receive() never notices. Code that
 *   waits on ccc_fd() itself must call ccc_receive() or ccc_flush() first
 *   whenever ccc_pending() is true (as it is while output is buffered), or
 *   the broker may never see the requests it is waiting for the answers to.
 *   A write that fails surfaces at the flush, not at the ccc_send_* call.
 *
 * Identity
 *   The broker takes the endpoint identity from the client certificate, never
 *   from anything the client sends; ccc_endpoint() tells which identity the
 *   broker recognised. The client verifies the broker's certificate against
 *   the CA file and the host name (or IP address) of the server option.
 *
 * Threads
 *   A ccc_client must be used by one thread at a time. Distinct clients are
 *   independent. A ccc_tls (below) may be shared by clients in any threads.
 *
 * Errors
 *   Functions that can fail return -1 and fill a struct ccc_error (when the
 *   caller passes one). code is a broker error (a Ccc__V1__ErrorCode, > 0)
 *   when the broker refused the request, or one of the CCC_ERR_* values
 *   (< 0) for local failures. After a fatal error (err.fatal) the client is
 *   unusable except for ccc_close().
 *
 * Building
 *   pkg-config (package libccc-dev) names the flags; linked statically,
 *   the library needs libprotobuf-c, OpenSSL and pthreads besides:
 *     cc -o example example.c $(pkg-config --cflags --libs libccc)
 *     cc -o example example.c $(pkg-config --cflags --libs-only-L libccc) \
 *         -l:libccc.a $(pkg-config --libs libprotobuf-c openssl) -lpthread
 *   libccc exports only the ccc_* functions below and the generated
 *   ccc__v1__* code of the two protobuf headers.
 *
 * Example (docs/client.md has the same program; the tests compile it)
 *   It connects, subscribes to the alerts on the Turkish-Bulgarian border,
 *   publishes one and prints the deliveries of the next 5 seconds:
 *     ./example 127.0.0.1:7443 tr-police.pem tr-police.key ca.pem
 * ---- example.c ----
 * #include <stdio.h>
 *
 * #include <ccc.h>
 *
 * int
 * main(int argc, char **argv)
 * {
 * 	const char *patterns[] = { "alerts/+/tr-bg/#" };
 * 	struct ccc_options opts = { 0 };
 * 	Ccc__V1__Alert alert = CCC__V1__ALERT__INIT;
 * 	Ccc__V1__Envelope *env;
 * 	struct ccc_error err;
 * 	ccc_client *c;
 * 	char id[CCC_ID_LEN];
 * 	uint32_t sub;
 * 	int n;
 *
 * 	if (argc != 5) {
 * 		fprintf(stderr, "usage: example HOST:PORT CERT KEY CA\n");
 * 		return 2;
 * 	}
 * 	opts.server = argv[1];
 * 	opts.cert = argv[2];
 * 	opts.key = argv[3];
 * 	opts.ca = argv[4];
 * 	if (ccc_connect(&opts, &c, &err) < 0) {
 * 		fprintf(stderr, "connect: %s: %s\n", ccc_error_name(err.code),
 * 		    err.message);
 * 		return 1;
 * 	}
 * 	printf("connected as %s\n", ccc_endpoint(c));
 * 	if (ccc_subscribe(c, patterns, 1, &sub, &err) < 0)
 * 		goto fail;
 *
 * 	alert.category = CCC__V1__CATEGORY__CATEGORY_DRUGS;
 * 	alert.severity = CCC__V1__SEVERITY__SEVERITY_HIGH;
 * 	alert.handling = CCC__V1__HANDLING__HANDLING_H1;
 * 	alert.section = "tr-bg/kapikule";
 * 	alert.summary = "Cannabis found in a lorry's spare tyre";
 * 	if (ccc_publish(c, &alert, id, &err) < 0)
 * 		goto fail;
 * 	printf("published %s\n", id);
 *
 * 	while ((n = ccc_receive(c, 5000, &env, &err)) == 1) {
 * 		if (env->body_case == CCC__V1__ENVELOPE__BODY_DELIVER)
 * 			printf("received %s on %s\n",
 * 			    env->deliver->alert->id, env->deliver->topic);
 * 		ccc_envelope_free(env);
 * 	}
 * 	if (n < 0)
 * 		goto fail;
 * 	ccc_close(c);
 * 	return 0;
 * fail:
 * 	fprintf(stderr, "%s: %s\n", ccc_error_name(err.code), err.message);
 * 	ccc_close(c);
 * 	return 1;
 * }
 * ---- end of example.c ----
 */
#ifndef CCC_H
#define CCC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ccc/v1/alert.pb-c.h"
#include "ccc/v1/envelope.pb-c.h"

/* What libccc exports (it is built with -fvisibility=hidden). */
#define CCC_API	__attribute__((visibility("default")))

#define CCC_DEFAULT_SERVER	"127.0.0.1:7443"
#define CCC_ID_LEN		37	/* an alert id with its NUL */
#define CCC_INBOX		"inbox"	/* the durable subscription that is the inbox */
#define CCC_SEEN		256	/* deliveries remembered against repeats (Reconnecting) */

/* Local error codes (struct ccc_error.code < 0). */
enum ccc_local_error {
	CCC_ERR_USAGE		= -1,	/* bad argument or option */
	CCC_ERR_IO		= -2,	/* socket error, connection refused or reset */
	CCC_ERR_TLS		= -3,	/* TLS setup or handshake failed, bad cert/key/CA file */
	CCC_ERR_TIMEOUT		= -4,	/* no answer within the timeout */
	CCC_ERR_PROTOCOL	= -5,	/* the broker sent something this library does not understand */
	CCC_ERR_CLOSED		= -6,	/* the broker closed the session */
};

struct ccc_error {
	int	code;		/* Ccc__V1__ErrorCode (> 0) or enum ccc_local_error (< 0) */
	bool	fatal;		/* the session is over */
	bool	transient;	/* a new session may succeed (see Reconnecting): the
				   connection was lost, reset or timed out, or the
				   broker was stopping (SHUTTING_DOWN), overloaded
				   (TOO_MANY_CONNECTIONS, SLOW_CONSUMER, IDLE_TIMEOUT),
				   faulty (INTERNAL), its store unavailable
				   (STORE_UNAVAILABLE) or a durable subscription still
				   attached to the lost session (SUBSCRIPTION_IN_USE);
				   false for refusals that stay (a TLS alert such as
				   a refused certificate, or a close or reset once
				   our side of the handshake is done, which is how
				   a refusal may arrive instead; UNKNOWN_ENDPOINT,
				   ENDPOINT_SUSPENDED, CERTIFICATE_REVOKED, FORBIDDEN,
				   bad requests and usage errors) */
	char	message[512];	/* human-readable; the broker's own text for broker errors */
};

struct ccc_options {
	const char	*server;	/* "HOST:PORT"; NULL means CCC_DEFAULT_SERVER */
	const char	*cert;		/* client certificate (PEM), required unless tls */
	const char	*key;		/* its private key (PEM), required unless tls */
	const char	*ca;		/* CA bundle that signed the broker's certificate,
					   required unless tls */
	int		 timeout_ms;	/* connect, handshake and each blocking wait; 0 means 10000 */
	const char	*client_name;	/* sent in Hello for the broker's log; NULL means "libccc/VERSION" */
	bool		 receipts;	/* have the broker push a ReceiptsOk (request_id 0) each
					   time a recipient acknowledges an alert this endpoint published */
	struct ccc_tls	*tls;		/* NULL, or a TLS context from ccc_tls_new() to use
					   instead of reading cert, key and ca again */
	bool		 names;		/* ask for the registry's display names of the
					   sections and endpoints (ccc_section_name()) */
};

typedef struct ccc_client ccc_client;
typedef struct ccc_tls ccc_tls;

/*
 * A TLS context: the certificate, key and CA file of opts read once, for
 * many connections to share (struct ccc_options.tls) — a program that opens
 * many sessions with one identity then pays for reading and checking the
 * files once, not per connection. With resume, connections made with it
 * offer the broker the TLS session it last gave one of them, and a broker
 * that accepts it skips the certificate exchange and signatures (the
 * identity is that of the certificate verified in the first handshake).
 * Returns 0 and *out, or -1 with err set. Free it with ccc_tls_free() once
 * no ccc_connect() uses it any more; connections made with it keep what they
 * need.
 */
CCC_API int		 ccc_tls_new(const struct ccc_options *opts, bool resume,
		    ccc_tls **out, struct ccc_error *err);
CCC_API void		 ccc_tls_free(ccc_tls *t);

/*
 * Connect, complete the TLS handshake and the Hello/Welcome exchange. On
 * success returns 0 and *out is a new client the caller must ccc_close().
 * The option strings are copied. On failure returns -1, *out is NULL and err
 * says why (an unknown or suspended endpoint is a broker error, fatal).
 */
CCC_API int		 ccc_connect(const struct ccc_options *opts, ccc_client **out,
		    struct ccc_error *err);
/*
 * Write what is still buffered, close the session (a TLS close_notify is
 * sent; both within a second at most) and free the client. NULL is fine.
 */
CCC_API void		 ccc_close(ccc_client *c);
/* Endpoint identity the broker recognised from the certificate; owned by c. */
CCC_API const char	*ccc_endpoint(const ccc_client *c);
/* True when the TLS handshake resumed a session (see ccc_tls_new()). */
CCC_API bool		 ccc_resumed(const ccc_client *c);
/*
 * The registry's display name of section id or endpoint id, as the broker
 * sent it in Welcome when the session (the last one, after ccc_reconnect())
 * began; NULL without options.names, for an unknown id or one without a
 * name. Valid until the next ccc_reconnect() or ccc_close().
 */
CCC_API const char	*ccc_section_name(const ccc_client *c, const char *id);
CCC_API const char	*ccc_endpoint_name(const ccc_client *c, const char *id);
/* Maximum frame size the broker announced, in bytes. */
CCC_API uint32_t	 ccc_max_frame_size(const ccc_client *c);
/*
 * The socket, for poll(2) integration: when it is readable, or when
 * ccc_pending() is true, ccc_receive() with timeout 0 makes progress.
 */
CCC_API int		 ccc_fd(const ccc_client *c);
/*
 * True when ccc_receive() has work that needs no wait for the socket: a
 * received envelope is buffered, the session is over (the error is waiting),
 * or sent requests are still in the output buffer (ccc_receive() writes
 * them, then returns 0 if nothing has arrived).
 */
CCC_API bool		 ccc_pending(const ccc_client *c);

/*
 * Send requests without waiting for the reply: each is queued in the output
 * buffer (see Buffering), which is written once it holds 16 KiB.
 * *request_id (if not NULL) receives the id the reply will carry. The alert
 * and patterns are only read; the caller keeps ownership. Broker-stamped
 * fields of the alert (origin, published_at) are ignored by the broker.
 * Returns 0, or -1 when the request is refused locally (too large for the
 * broker's max_frame_size: not fatal) or a write of the buffer failed.
 */
CCC_API int		 ccc_send_publish(ccc_client *c, const Ccc__V1__Alert *alert,
		    uint64_t *request_id, struct ccc_error *err);
CCC_API int		 ccc_send_subscribe(ccc_client *c, const char *const *patterns,
		    size_t n_patterns, uint64_t *request_id, struct ccc_error *err);
/*
 * The same for a durable subscription of this endpoint named name: created on
 * first use, resumed later (with the same patterns), kept by the broker
 * across disconnects and restarts. Its deliveries carry a delivery tag, to be
 * acknowledged with ccc_send_ack() once processed; unacknowledged ones come
 * again (Deliver.redelivered counts how often).
 */
CCC_API int		 ccc_send_subscribe_durable(ccc_client *c, const char *name,
		    const char *const *patterns, size_t n_patterns,
		    uint64_t *request_id, struct ccc_error *err);
CCC_API int		 ccc_send_unsubscribe(ccc_client *c, uint32_t subscription_id,
		    uint64_t *request_id, struct ccc_error *err);
/* Acknowledge deliveries by delivery tag (durable subscriptions). */
CCC_API int		 ccc_send_ack(ccc_client *c, const uint64_t *tags, size_t n_tags,
		    struct ccc_error *err);
/*
 * Write everything buffered by the ccc_send_* calls now, waiting for the
 * socket at most the client's timeout. Returns 0 (also when nothing was
 * buffered), or -1 when the write failed (fatal: the session is over).
 */
CCC_API int		 ccc_flush(ccc_client *c, struct ccc_error *err);

/*
 * Wait up to timeout_ms (-1: forever, 0: do not block) for the next envelope
 * from the broker: a reply (PublishOk, SubscribeOk, UnsubscribeOk, Error with
 * request_id) or a push (Deliver, Error with request_id 0). Buffered requests
 * are written first (a write may wait up to the client's timeout, whatever
 * timeout_ms says). Returns 1 and sets
 * *env, which the caller frees with ccc_envelope_free(); 0 on timeout; -1 when
 * the session failed or was closed (err says why; a fatal Error from the
 * broker is first returned as an envelope, then -1 with CCC_ERR_CLOSED).
 */
CCC_API int		 ccc_receive(ccc_client *c, int timeout_ms,
		    Ccc__V1__Envelope **env, struct ccc_error *err);
CCC_API void		 ccc_envelope_free(Ccc__V1__Envelope *env);

/*
 * Blocking helpers: send one request and wait for its reply.
 * ccc_publish: on success the confirmed alert id is copied to id (may be NULL).
 *   An alert id names one alert in the whole centre. Publishing again under
 *   an id this endpoint published the same content under is confirmed as a
 *   duplicate (PublishOk.duplicate), also when the broker had assigned that
 *   id; other content, or an id of another endpoint's alert, is refused
 *   with CCC__V1__ERROR_CODE__ERROR_CODE_ALERT_ID_CONFLICT. An alert sent
 *   with an empty id gets a new id each time: if you may retry a publish
 *   whose confirmation was lost, choose the id yourself.
 * ccc_subscribe: on success *subscription_id is set.
 * A refusal by the broker returns -1 with err->code the broker's error code
 * and err->message its text.
 */
CCC_API int		 ccc_publish(ccc_client *c, const Ccc__V1__Alert *alert,
		    char id[CCC_ID_LEN], struct ccc_error *err);
CCC_API int		 ccc_subscribe(ccc_client *c, const char *const *patterns,
		    size_t n_patterns, uint32_t *subscription_id,
		    struct ccc_error *err);
CCC_API int		 ccc_unsubscribe(ccc_client *c, uint32_t subscription_id,
		    struct ccc_error *err);
/*
 * Durable subscriptions: subscribe (name must not be NULL; *resumed, if not
 * NULL, tells whether it existed), and unsubscribe, with forget deleting it
 * and its undelivered alerts instead of only detaching it.
 *
 * The durable subscription named CCC_INBOX is the endpoint's inbox: the
 * broker fills it with the alerts routing rules send the endpoint and those
 * that name it as a recipient. It takes no patterns (n_patterns must be 0,
 * patterns may be NULL) and cannot be forgotten. ccc_subscribe_inbox() is
 * ccc_subscribe_durable(c, CCC_INBOX, NULL, 0, ...).
 */
CCC_API int		 ccc_subscribe_durable(ccc_client *c, const char *name,
		    const char *const *patterns, size_t n_patterns,
		    uint32_t *subscription_id, bool *resumed,
		    struct ccc_error *err);
CCC_API int		 ccc_subscribe_inbox(ccc_client *c, uint32_t *subscription_id,
		    bool *resumed, struct ccc_error *err);
CCC_API int		 ccc_unsubscribe_forget(ccc_client *c, uint32_t subscription_id,
		    bool forget, struct ccc_error *err);
/*
 * A plain subscription that first replays the stored alerts published since
 * (microseconds since the epoch) matching the patterns, in order, and then
 * continues live with no gap or duplicate at the seam. Replayed deliveries
 * have Deliver.replayed set.
 */
CCC_API int		 ccc_subscribe_since(ccc_client *c, int64_t since,
		    const char *const *patterns, size_t n_patterns,
		    uint32_t *subscription_id, struct ccc_error *err);

/*
 * Receipts of an alert this endpoint published: who received it, when, and
 * when they acknowledged it. On success *reply is the ReceiptsOk envelope,
 * which the caller frees with ccc_envelope_free(). Refused with NOT_FOUND
 * for another endpoint's alert, and with ALERT_ID_CONFLICT for an id that a
 * store from before ids were unique gave to alerts of several endpoints.
 */
CCC_API int		 ccc_receipts(ccc_client *c, const char *alert_id,
		    Ccc__V1__Envelope **reply, struct ccc_error *err);

/*
 * Administration (operator endpoints only; docs/protocol.md section 8a): send
 * req (only read; exactly one member of its op oneof set) and wait for the
 * broker's AdminReply. On success returns 0 and *reply is the reply, which
 * the caller frees with ccc__v1__admin_reply__free_unpacked(*reply, NULL).
 * A refusal (FORBIDDEN for a non-operator or a self-approval,
 * STALE_REVISION, INVALID_CHANGE with the validator's message, NOT_FOUND,
 * INVALID_REQUEST) returns -1 with err->code the broker's error code and
 * err->message its text; *reply is then NULL. A request too large for the
 * broker's max_frame_size is refused locally (CCC_ERR_USAGE, not fatal).
 */
CCC_API int		 ccc_admin(ccc_client *c, const Ccc__V1__AdminRequest *req,
		    Ccc__V1__AdminReply **reply, struct ccc_error *err);

/*
 * Replace the failed session of c by a new one (see Reconnecting): connect
 * to the same broker with the same options (the TLS context is kept), say
 * Hello, and make every subscription of the old session again, waiting for
 * each reply (the client's timeout bounds each step). Deliveries that
 * arrive meanwhile are kept for ccc_receive(), after those still queued
 * from the old session. Works on a live session too (it is closed first).
 * Returns 0, or -1 with err set and c dead as before: err.transient says
 * whether another attempt may succeed (a subscription the broker refuses
 * now, FORBIDDEN after a change of the access rules for instance, is not
 * transient; it is dropped from those made again).
 */
CCC_API int		 ccc_reconnect(ccc_client *c, struct ccc_error *err);
/*
 * The ids, in the current session, of the subscriptions ccc_reconnect()
 * would make again, in the order they were first made (0 for one not made
 * again yet, after a failed ccc_reconnect()): at most max of them are
 * stored in ids; returns how many there are.
 */
CCC_API size_t		 ccc_subscription_ids(const ccc_client *c, uint32_t *ids,
		    size_t max);

/* Delays between reconnection attempts. Zero it before the first use. */
struct ccc_backoff {
	int	initial_ms;	/* first delay; 0 means 500 */
	int	max_ms;		/* largest delay; 0 means 30000 */
	int	next_ms;	/* the delay before jitter; 0: initial_ms */
};

/*
 * The next delay in milliseconds: a random value between half and all of
 * the current delay, which then doubles up to max_ms.
 */
CCC_API int		 ccc_backoff_next(struct ccc_backoff *b);
/* Start again from initial_ms (after a good connection). */
CCC_API void		 ccc_backoff_reset(struct ccc_backoff *b);

/* Short name of a broker error code ("forbidden") or local error ("timeout"). */
CCC_API const char	*ccc_error_name(int code);

#endif
