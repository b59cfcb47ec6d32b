/*
 * ccc.c — libccc: one mutual-TLS session with the broker, spoken in ccc.v1
 * frames, directly on OpenSSL and a non-blocking socket (no event library:
 * every wait is a poll(2) bounded by a deadline).
 *
 * Owns the client side of the session: connecting and verifying the broker,
 * the Hello/Welcome exchange, request ids, answering pings, the input buffer
 * and the ordered queue of envelopes that arrived while a blocking helper
 * waited for its own reply. It must never block past the caller's timeout
 * (except in getaddrinfo(3), which cannot be bounded), never let SIGPIPE
 * kill the process, and never send a frame larger than the broker accepts.
 *
 * SIGPIPE: writes to a socket the peer has closed raise SIGPIPE. Every
 * OpenSSL call that may write runs with SIGPIPE blocked in the calling
 * thread; a SIGPIPE it raised is taken out of the pending set before the
 * mask is restored. The process's SIGPIPE disposition is never changed.
 *
 * Output is buffered: ccc_send() encodes each frame after the ones not yet
 * written, and the buffer goes out in one SSL_write (TLS records of up to
 * 16 KiB) when it reaches CCC_FLUSH_AT bytes, before every wait for the
 * broker (blocking helpers, ccc_fill), at the start of ccc_receive(), in
 * ccc_flush() and in ccc_close(). Pongs are written at once. So a pipeline
 * of small requests costs one record per ~16 KiB rather than one per frame,
 * and no caller ever waits for a reply to a request still in the buffer.
 *
 * Once the session has failed (I/O or TLS error, EOF, fatal broker error)
 * the client is "dead": every call but ccc_close() and ccc_reconnect()
 * returns the stored error, after the queued envelopes have been handed out.
 *
 * Reconnecting (ccc.h) needs two records kept across sessions, both
 * updated in ccc_next() from the envelopes as they arrive: the
 * subscriptions (made on a Subscribe, confirmed by its SubscribeOk, dropped
 * by an UnsubscribeOk, a refusal or a revocation) and a ring of the last
 * CCC_SEEN deliveries (alert id, delivery tag, acknowledged or not), against
 * which repeats after a reconnect are dropped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "ccc.h"
#include "frame.h"
#include "names.h"
#include "timeutil.h"
#include "uuid.h"
#include "xmalloc.h"

#ifndef CCC_VERSION
#define CCC_VERSION		"0.0.0"
#endif

#define CCC_PROTOCOL_VERSION	1
#define CCC_DEFAULT_TIMEOUT_MS	10000
#define CCC_DEFAULT_PORT	"7443"
#define CCC_CLOSE_TIMEOUT_MS	1000	/* at most this long for close_notify */
#define CCC_READ_CHUNK		16384
#define CCC_FLUSH_AT		16384	/* buffered output written at this size */
#define CCC_BACKOFF_INITIAL_MS	500
#define CCC_BACKOFF_MAX_MS	30000

/* An envelope received while a blocking helper waited for another reply. */
struct ccc_queued {
	Ccc__V1__Envelope	*env;
	struct ccc_queued	*next;
};

/* A subscription to make again on reconnecting. */
struct ccc_sub {
	uint64_t		 request_id;	/* its Subscribe until the reply; 0 then */
	uint32_t		 id;		/* in the current session; 0: not confirmed */
	uint32_t		 serial;	/* names it in the seen ring; never reused */
	bool			 redo;		/* still to be made again (ccc_reconnect) */
	char			*name;		/* durable name; NULL: plain */
	char			**patterns;
	size_t			 npatterns;
	int64_t			 since;		/* plain: as first asked; 0: live only */
	int64_t			 made;		/* first confirmed, this host's clock; 0: not yet */
	int64_t			 last;		/* plain: published_at of the last alert delivered */
	struct ccc_sub		*next;
};

/* A delivery handed out, in the ring of the last CCC_SEEN. */
struct ccc_seen {
	char			 id[CCC_ID_LEN];	/* the alert's */
	uint64_t		 tag;		/* 0: a plain delivery */
	uint32_t		 serial;	/* durable: its subscription's */
	bool			 acked;		/* durable: the caller acknowledged it */
};

struct ccc_client {
	int			 fd;
	SSL_CTX			*ctx;
	SSL			*ssl;
	char			*host;		/* without brackets */
	char			*port;
	char			*peer;		/* "host:port" for messages */
	bool			 host_is_ip;
	int			 timeout_ms;	/* blocking waits and writes */
	char			*client_name;	/* for Hello, again on reconnecting */
	bool			 receipts;	/* Hello.receipts */
	bool			 names;		/* Hello.names */

	bool			 welcomed;	/* Hello/Welcome done */
	char			*endpoint;	/* from Welcome */
	Ccc__V1__Envelope	*welcome;	/* the last Welcome, for its names */
	uint32_t		 max_frame;	/* Envelope bytes the broker accepts */
	uint64_t		 next_id;	/* next request id */

	uint8_t			*in;		/* received bytes not yet decoded */
	size_t			 in_off;	/* first undecoded byte */
	size_t			 in_len;	/* end of received bytes */
	size_t			 in_cap;
	uint8_t			*out;		/* frames encoded, not yet written */
	size_t			 out_len;
	size_t			 out_cap;

	struct ccc_queued	*q_head;	/* envelopes for ccc_receive(), in order */
	struct ccc_queued	*q_tail;

	struct ccc_sub		*subs;		/* in the order they were made */
	uint32_t		 sub_serial;	/* the last serial given */
	struct ccc_seen		*seen;		/* CCC_SEEN entries, once one is needed */
	size_t			 seen_next;	/* the entry written next */

	bool			 dead;		/* session over: see dead_err */
	bool			 tls_broken;	/* no close_notify may be sent */
	struct ccc_error	 dead_err;
};

/* An OpenSSL operation run to completion by ccc_tls_op(). */
enum ccc_op {
	CCC_OP_HANDSHAKE,
	CCC_OP_READ,
	CCC_OP_WRITE,
	CCC_OP_SHUTDOWN,
};

/* SIGPIPE state around one OpenSSL call. */
struct ccc_sigpipe {
	sigset_t	old;		/* the thread's signal mask before */
	bool		was_pending;	/* a SIGPIPE was pending before: not ours */
};

static int	ccc_fail(struct ccc_error *err, int code, bool fatal,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int	ccc_fail_tls(struct ccc_error *err, bool transient,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int	ccc_vfail(struct ccc_error *err, int code, bool fatal,
		    bool transient, const char *fmt, va_list ap)
		    __attribute__((format(printf, 5, 0)));
static bool	ccc_track(ccc_client *, const Ccc__V1__Envelope *);
static void	ccc_disconnect(ccc_client *);
static int	ccc_subscribe_fill(Ccc__V1__Subscribe *, const char *, int64_t,
		    const char *const *, size_t, struct ccc_error *);

/* True when a failure with this code may pass: see ccc.h, struct ccc_error. */
static bool
ccc_code_transient(int code)
{
	switch (code) {
	case CCC_ERR_IO:
	case CCC_ERR_TIMEOUT:
	case CCC_ERR_CLOSED:
	case CCC__V1__ERROR_CODE__ERROR_CODE_SLOW_CONSUMER:
	case CCC__V1__ERROR_CODE__ERROR_CODE_IDLE_TIMEOUT:
	case CCC__V1__ERROR_CODE__ERROR_CODE_SHUTTING_DOWN:
	case CCC__V1__ERROR_CODE__ERROR_CODE_TOO_MANY_CONNECTIONS:
	case CCC__V1__ERROR_CODE__ERROR_CODE_INTERNAL:
	case CCC__V1__ERROR_CODE__ERROR_CODE_SUBSCRIPTION_IN_USE:
	case CCC__V1__ERROR_CODE__ERROR_CODE_STORE_UNAVAILABLE:
		return true;
	}
	return false;
}

/* Fill err and return -1. */
static int
ccc_vfail(struct ccc_error *err, int code, bool fatal, bool transient,
    const char *fmt, va_list ap)
{
	err->code = code;
	err->fatal = fatal;
	err->transient = transient;
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	return -1;
}

static int
ccc_fail(struct ccc_error *err, int code, bool fatal, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ccc_vfail(err, code, fatal, ccc_code_transient(code), fmt, ap);
	va_end(ap);
	return -1;
}

/* ccc_fail() of a fatal CCC_ERR_TLS that may pass or not. */
static int
ccc_fail_tls(struct ccc_error *err, bool transient, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ccc_vfail(err, CCC_ERR_TLS, true, transient, fmt, ap);
	va_end(ap);
	return -1;
}

/* The session is over: remember why (err is filled), return -1. */
static int
ccc_die(ccc_client *c, struct ccc_error *err)
{
	err->fatal = true;
	if (!c->dead) {
		c->dead = true;
		c->dead_err = *err;
	}
	return -1;
}

/* protobuf-c structures hold non-const pointers; packing only reads them. */
static void *
ccc_unconst(const void *p)
{
	return (void *)(uintptr_t)p;
}

/* ---- time and poll ------------------------------------------------------ */

/* Absolute monotonic deadline in microseconds for timeout_ms; -1: none. */
static int64_t
ccc_deadline(int timeout_ms)
{
	if (timeout_ms < 0)
		return -1;
	return time_mono_us() + (int64_t)timeout_ms * 1000;
}

/* Milliseconds left until deadline, for poll(2): -1 forever, 0 expired. */
static int
ccc_left_ms(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - time_mono_us();
	if (left <= 0)
		return 0;
	left = (left + 999) / 1000;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* Wait until fd is ready for events. 1 ready, 0 timed out, -1 errno set. */
static int
ccc_poll_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd;
	int r;

	for (;;) {
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, ccc_left_ms(deadline));
		if (r > 0)
			return 1;	/* errors and hang-ups: the next call says */
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* ---- SIGPIPE ------------------------------------------------------------ */

static void
ccc_sigpipe_block(struct ccc_sigpipe *sp)
{
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &sp->old);
	sigemptyset(&pending);
	sigpending(&pending);
	sp->was_pending = sigismember(&pending, SIGPIPE) == 1;
}

static void
ccc_sigpipe_restore(struct ccc_sigpipe *sp)
{
	sigset_t set, pending;
	struct timespec zero = { 0, 0 };
	int saved = errno;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigemptyset(&pending);
	sigpending(&pending);
	if (!sp->was_pending && sigismember(&pending, SIGPIPE) == 1)
		while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &sp->old, NULL);
	errno = saved;
}

/* ---- TLS ---------------------------------------------------------------- */

/* The first queued OpenSSL error as text, with its detail; clears the queue. */
static const char *
ccc_ssl_reason(char *buf, size_t len)
{
	const char *r, *data = NULL;
	int flags = 0;
	unsigned long e = ERR_peek_error_all(NULL, NULL, NULL, &data, &flags);

	if (e == 0)
		snprintf(buf, len, "unknown error");
	else if ((r = ERR_reason_error_string(e)) == NULL)
		snprintf(buf, len, "OpenSSL error %lx", e);
	else if ((flags & ERR_TXT_STRING) && data != NULL && data[0] != '\0')
		snprintf(buf, len, "%s (%s)", r, data);
	else
		snprintf(buf, len, "%s", r);
	ERR_clear_error();
	return buf;
}

/* Turn a failed OpenSSL call (SSL_get_error() == e) into err; returns -1. */
static int
ccc_tls_error(ccc_client *c, enum ccc_op op, int e, struct ccc_error *err)
{
	char why[256];
	unsigned long peek = ERR_peek_error();
	long vr;
	bool early = !c->welcomed;
	/*
	 * With TLS 1.3 our side of the handshake is over before the broker has
	 * checked our certificate: a refusal shows up on the first read.
	 */
	const char *hint = early && op != CCC_OP_HANDSHAKE ?
	    " (did the broker refuse the client certificate?)" : "";
	/*
	 * A close or reset without a TLS alert while our side of the
	 * handshake runs may pass: a broker stopping or shedding handshakes
	 * (docs/protocol.md section 4). Once our side is done the broker has
	 * our certificate, and a close or reset (which may come instead of
	 * its alert) is taken as its refusal.
	 */
	bool pass = op == CCC_OP_HANDSHAKE;

	if (e == SSL_ERROR_ZERO_RETURN) {
		ERR_clear_error();
		if (early)
			return ccc_fail_tls(err, pass,
			    "TLS handshake with %s failed: the broker closed "
			    "the session%s", c->peer, hint);
		return ccc_fail(err, CCC_ERR_CLOSED, true,
		    "the broker at %s closed the session", c->peer);
	}
	c->tls_broken = true;
	if ((e == SSL_ERROR_SYSCALL && errno == 0 && peek == 0) ||
	    (e == SSL_ERROR_SSL &&
	    ERR_GET_REASON(peek) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
		ERR_clear_error();
		if (early)
			return ccc_fail_tls(err, pass,
			    "TLS handshake with %s failed: the broker closed "
			    "the connection%s", c->peer, hint);
		return ccc_fail(err, CCC_ERR_CLOSED, true,
		    "the broker at %s closed the connection", c->peer);
	}
	if (e == SSL_ERROR_SYSCALL && peek == 0) {
		int saved = errno;

		if (early)
			return ccc_fail_tls(err, pass,
			    "TLS handshake with %s failed: %s%s", c->peer,
			    strerror(saved), hint);
		return ccc_fail(err, CCC_ERR_IO, true,
		    "connection to %s failed: %s", c->peer, strerror(saved));
	}
	ccc_ssl_reason(why, sizeof(why));
	vr = SSL_get_verify_result(c->ssl);
	if (vr != X509_V_OK) {
		size_t n = strlen(why);

		snprintf(why + n, sizeof(why) - n, " (%s)",
		    X509_verify_cert_error_string(vr));
	}
	if (early || op == CCC_OP_HANDSHAKE)
		return ccc_fail(err, CCC_ERR_TLS, true,
		    "TLS handshake with %s failed: %s", c->peer, why);
	return ccc_fail(err, CCC_ERR_TLS, true, "TLS error on the session "
	    "with %s: %s", c->peer, why);
}

/*
 * Run one OpenSSL operation until it completes, waiting for the socket as
 * OpenSSL asks (a read may need to write and a write to read), but not past
 * deadline. READ stores at most len bytes and sets *done to their number;
 * WRITE writes all len bytes. Returns 1 done, 0 timed out (err untouched),
 * -1 failed (err filled, the client is dead).
 */
static int
ccc_tls_op(ccc_client *c, enum ccc_op op, void *buf, size_t len,
    size_t *done, int64_t deadline, struct ccc_error *err)
{
	struct ccc_sigpipe sp;
	int r = 0, e, w, rc;

	ccc_sigpipe_block(&sp);
	for (;;) {
		ERR_clear_error();
		errno = 0;
		switch (op) {
		case CCC_OP_HANDSHAKE:
			r = SSL_connect(c->ssl) == 1;
			break;
		case CCC_OP_READ:
			r = SSL_read_ex(c->ssl, buf, len, done);
			break;
		case CCC_OP_WRITE:
			r = SSL_write_ex(c->ssl, buf, len, done);
			break;
		case CCC_OP_SHUTDOWN:
			r = SSL_shutdown(c->ssl) >= 0;
			break;
		}
		if (r) {
			rc = 1;
			break;
		}
		e = SSL_get_error(c->ssl, 0);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			w = ccc_poll_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN :
			    POLLOUT, deadline);
			if (w > 0)
				continue;
			if (w == 0) {
				rc = 0;
				break;
			}
			c->tls_broken = true;
			rc = ccc_fail(err, CCC_ERR_IO, true, "poll: %s",
			    strerror(errno));
			break;
		}
		rc = ccc_tls_error(c, op, e, err);
		break;
	}
	ccc_sigpipe_restore(&sp);
	if (rc < 0)
		ccc_die(c, err);
	return rc;
}

/* SSL_CTX_set_default_passwd_cb: never prompt; encrypted keys fail to load. */
static int
ccc_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

/* Check that path can be opened, for a clearer message than OpenSSL's. */
static int
ccc_readable(const char *path, const char *what, struct ccc_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return ccc_fail(err, CCC_ERR_TLS, true, "cannot read %s %s: %s",
		    what, path, strerror(errno));
	close(fd);
	return 0;
}

/* True when the queued OpenSSL errors say a key does not fit its certificate. */
static bool
ccc_key_mismatch(void)
{
	unsigned long e[2] = { ERR_peek_error(), ERR_peek_last_error() };

	for (int i = 0; i < 2; i++)
		if (ERR_GET_LIB(e[i]) == ERR_LIB_X509 &&
		    ERR_GET_REASON(e[i]) == X509_R_KEY_VALUES_MISMATCH)
			return true;
	return false;
}

/* True when the PEM file at path holds an encrypted key. */
static bool
ccc_pem_encrypted(const char *path)
{
	char line[256];
	bool found = false;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, "ENCRYPTED") != NULL;
	fclose(f);
	return found;
}

/*
 * The TLS sessions a shared context remembers for resumption: attached to
 * the SSL_CTX (ex_data), so that it lives as long as the last connection
 * that may hand it a new session.
 */
struct ccc_tls_sessions {
	pthread_mutex_t	 lock;
	SSL_SESSION	*last;		/* the newest the broker gave; NULL: none */
};

struct ccc_tls {
	SSL_CTX		*ctx;
	bool		 resume;
};

static int ccc_tls_idx = -1;
static pthread_once_t ccc_tls_once = PTHREAD_ONCE_INIT;

static void
ccc_tls_sessions_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	struct ccc_tls_sessions *ts = ptr;

	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (ts == NULL)
		return;
	SSL_SESSION_free(ts->last);
	pthread_mutex_destroy(&ts->lock);
	free(ts);
}

static void
ccc_tls_index(void)
{
	ccc_tls_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
	    ccc_tls_sessions_free);
}

/* SSL_CTX_sess_set_new_cb: keep the broker's newest session to offer. */
static int
ccc_tls_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct ccc_tls_sessions *ts = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl),
	    ccc_tls_idx);

	if (ts == NULL || !SSL_SESSION_is_resumable(sess))
		return 0;
	pthread_mutex_lock(&ts->lock);
	SSL_SESSION_free(ts->last);
	ts->last = sess;		/* the reference is ours now */
	pthread_mutex_unlock(&ts->lock);
	return 1;
}

/* Offer ctx's remembered session on ssl, if it has one. */
static void
ccc_tls_offer(SSL_CTX *ctx, SSL *ssl)
{
	struct ccc_tls_sessions *ts;

	if (ccc_tls_idx < 0 || (ts = SSL_CTX_get_ex_data(ctx, ccc_tls_idx)) == NULL)
		return;
	pthread_mutex_lock(&ts->lock);
	if (ts->last != NULL)
		(void)SSL_set_session(ssl, ts->last);
	pthread_mutex_unlock(&ts->lock);
}

/*
 * A TLS context: our certificate and key, the CA, peer verification. *out
 * is set, or NULL after an error.
 */
static int
ccc_tls_load(const struct ccc_options *o, SSL_CTX **out, struct ccc_error *err)
{
	SSL_CTX *ctx;
	char why[256];

	*out = NULL;
	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return ccc_fail(err, CCC_ERR_TLS, true,
		    "cannot create a TLS context: %s",
		    ccc_ssl_reason(why, sizeof(why)));
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_default_passwd_cb(ctx, ccc_no_passphrase);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);

	if (ccc_readable(o->cert, "certificate", err) < 0)
		goto fail;
	if (SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1) {
		ccc_fail(err, CCC_ERR_TLS, true,
		    "cannot read certificate %s: %s", o->cert,
		    ccc_ssl_reason(why, sizeof(why)));
		goto fail;
	}
	if (ccc_readable(o->key, "private key", err) < 0)
		goto fail;
	if (SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1) {
		if (ccc_key_mismatch())
			goto mismatch;
		if (ccc_pem_encrypted(o->key)) {
			ERR_clear_error();
			ccc_fail(err, CCC_ERR_TLS, true,
			    "cannot read private key %s: it is encrypted, and "
			    "a passphrase-protected key is not supported", o->key);
		} else
			ccc_fail(err, CCC_ERR_TLS, true,
			    "cannot read private key %s: %s", o->key,
			    ccc_ssl_reason(why, sizeof(why)));
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1)
		goto mismatch;
	if (ccc_readable(o->ca, "CA file", err) < 0)
		goto fail;
	if (SSL_CTX_load_verify_locations(ctx, o->ca, NULL) != 1) {
		ccc_fail(err, CCC_ERR_TLS, true,
		    "cannot read CA file %s: %s", o->ca,
		    ccc_ssl_reason(why, sizeof(why)));
		goto fail;
	}
	*out = ctx;
	return 0;
mismatch:
	ERR_clear_error();
	ccc_fail(err, CCC_ERR_TLS, true,
	    "private key %s does not match certificate %s", o->key, o->cert);
fail:
	SSL_CTX_free(ctx);
	return -1;
}

/* The connection's TLS context: the shared one, or one of its own. */
static int
ccc_tls_context(ccc_client *c, const struct ccc_options *o,
    struct ccc_error *err)
{
	if (o->tls == NULL)
		return ccc_tls_load(o, &c->ctx, err);
	if (SSL_CTX_up_ref(o->tls->ctx) != 1)
		return ccc_fail(err, CCC_ERR_TLS, true,
		    "cannot use the shared TLS context");
	c->ctx = o->tls->ctx;
	return 0;
}

int
ccc_tls_new(const struct ccc_options *opts, bool resume, ccc_tls **out,
    struct ccc_error *err)
{
	struct ccc_error dummy;
	struct ccc_tls_sessions *ts;
	ccc_tls *t;

	if (err == NULL)
		err = &dummy;
	if (out != NULL)
		*out = NULL;
	if (opts == NULL || out == NULL)
		return ccc_fail(err, CCC_ERR_USAGE, false,
		    "ccc_tls_new: no options or no result pointer");
	if (opts->cert == NULL || opts->key == NULL || opts->ca == NULL)
		return ccc_fail(err, CCC_ERR_USAGE, false, "no %s given",
		    opts->cert == NULL ? "client certificate" :
		    opts->key == NULL ? "private key" : "CA file");
	t = xcalloc(1, sizeof(*t));
	if (ccc_tls_load(opts, &t->ctx, err) < 0) {
		free(t);
		return -1;
	}
	t->resume = resume;
	if (resume) {
		pthread_once(&ccc_tls_once, ccc_tls_index);
		ts = xcalloc(1, sizeof(*ts));
		pthread_mutex_init(&ts->lock, NULL);
		if (ccc_tls_idx < 0 ||
		    SSL_CTX_set_ex_data(t->ctx, ccc_tls_idx, ts) != 1) {
			ccc_tls_sessions_free(NULL, ts, NULL, 0, 0, NULL);
			ccc_tls_free(t);
			return ccc_fail(err, CCC_ERR_TLS, true,
			    "cannot set up TLS session resumption");
		}
		SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_CLIENT |
		    SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(t->ctx, ccc_tls_new_session);
	}
	*out = t;
	return 0;
}

void
ccc_tls_free(ccc_tls *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);	/* connections hold their own references */
	free(t);
}

/* TLS handshake on the connected socket, verifying the broker's name or IP. */
static int
ccc_tls_start(ccc_client *c, int64_t deadline, struct ccc_error *err)
{
	char why[256];
	size_t none;
	int r;

	ERR_clear_error();
	if ((c->ssl = SSL_new(c->ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1)
		return ccc_fail(err, CCC_ERR_TLS, true, "cannot set up TLS: %s",
		    ccc_ssl_reason(why, sizeof(why)));
	ccc_tls_offer(c->ctx, c->ssl);
	if (c->host_is_ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl),
		    c->host) != 1)
			return ccc_fail(err, CCC_ERR_TLS, true,
			    "cannot verify the broker's address %s: %s",
			    c->host, ccc_ssl_reason(why, sizeof(why)));
	} else {
		SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set_tlsext_host_name(c->ssl, c->host) != 1 ||
		    SSL_set1_host(c->ssl, c->host) != 1)
			return ccc_fail(err, CCC_ERR_TLS, true,
			    "cannot verify the broker's name %s: %s",
			    c->host, ccc_ssl_reason(why, sizeof(why)));
	}
	r = ccc_tls_op(c, CCC_OP_HANDSHAKE, NULL, 0, &none, deadline, err);
	if (r == 0) {
		c->tls_broken = true;
		return ccc_fail(err, CCC_ERR_TIMEOUT, true,
		    "TLS handshake with %s failed: no answer within %d ms",
		    c->peer, c->timeout_ms);
	}
	return r < 0 ? -1 : 0;
}

/* ---- TCP ---------------------------------------------------------------- */

/*
 * Split "HOST:PORT", "[V6ADDR]:PORT" or "HOST" (default port) into c->host,
 * c->port and c->peer.
 */
static int
ccc_parse_server(ccc_client *c, const char *server, struct ccc_error *err)
{
	const char *colon, *host = server, *port = NULL, *end;
	struct in6_addr a6;
	struct in_addr a4;
	size_t hlen;
	char *p;
	long n;

	if (server[0] == '[') {
		if ((end = strchr(server, ']')) == NULL || end == server + 1)
			goto bad;
		host = server + 1;
		hlen = (size_t)(end - host);
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			goto bad;
	} else {
		colon = strchr(server, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			return ccc_fail(err, CCC_ERR_USAGE, false,
			    "server %s: write an IPv6 address as [ADDRESS]:PORT",
			    server);
		hlen = colon != NULL ? (size_t)(colon - server) : strlen(server);
		if (colon != NULL)
			port = colon + 1;
	}
	if (hlen == 0)
		goto bad;
	if (port != NULL) {
		errno = 0;
		n = strtol(port, &p, 10);
		if (*port < '0' || *port > '9' || *p != '\0' || errno != 0 ||
		    n < 1 || n > 65535)
			return ccc_fail(err, CCC_ERR_USAGE, false,
			    "server %s: invalid port \"%s\"", server, port);
	} else
		port = CCC_DEFAULT_PORT;
	c->host = xstrndup(host, hlen);
	c->port = xstrdup(port);
	c->host_is_ip = inet_pton(AF_INET, c->host, &a4) == 1 ||
	    inet_pton(AF_INET6, c->host, &a6) == 1;
	if (server[0] != '[' && strchr(c->host, ':') == NULL)
		c->peer = xasprintf("%s:%s", c->host, c->port);
	else
		c->peer = xasprintf("[%s]:%s", c->host, c->port);
	return 0;
bad:
	return ccc_fail(err, CCC_ERR_USAGE, false,
	    "invalid server \"%s\" (expected HOST:PORT or [ADDRESS]:PORT)",
	    server);
}

/* TCP connection to the first address of c->host that answers. */
static int
ccc_tcp_connect(ccc_client *c, int64_t deadline, struct ccc_error *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1, r, soerr, saved = 0, one = 1;
	socklen_t slen;
	bool timed_out = false;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((r = getaddrinfo(c->host, c->port, &hints, &res)) != 0)
		return ccc_fail(err, CCC_ERR_IO, true, "cannot resolve %s: %s",
		    c->host, r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			r = ccc_poll_fd(fd, POLLOUT, deadline);
			if (r == 0) {
				timed_out = true;
				close(fd);
				fd = -1;
				break;
			}
			slen = sizeof(soerr);
			if (r > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
			    &slen) == 0) {
				if (soerr == 0)
					break;
				errno = soerr;
			}
		}
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0 && timed_out)
		return ccc_fail(err, CCC_ERR_TIMEOUT, true,
		    "cannot connect to %s: no answer within %d ms", c->peer,
		    c->timeout_ms);
	if (fd < 0)
		return ccc_fail(err, CCC_ERR_IO, true, "cannot connect to %s: %s",
		    c->peer, strerror(saved));
	/* frames are small and latency matters more than packet count */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	return 0;
}

/* ---- frames ------------------------------------------------------------- */

/*
 * Write the buffered output, waiting for the socket until deadline. Returns
 * 0, or -1 with err filled and the client dead (a write cut short by the
 * deadline leaves part of a record out: the stream cannot be resumed).
 */
static int
ccc_flush_out(ccc_client *c, int64_t deadline, struct ccc_error *err)
{
	size_t n;
	int r;

	if (c->dead) {
		*err = c->dead_err;
		return -1;
	}
	if (c->out_len == 0)
		return 0;
	r = ccc_tls_op(c, CCC_OP_WRITE, c->out, c->out_len, &n, deadline, err);
	c->out_len = 0;
	if (r == 0) {
		c->tls_broken = true;
		ccc_fail(err, CCC_ERR_TIMEOUT, true, "sending to %s: the broker "
		    "did not read for %d ms", c->peer, c->timeout_ms);
		return ccc_die(c, err);
	}
	return r < 0 ? -1 : 0;
}

/*
 * Queue env as one frame after the buffered ones, giving it the next request
 * id (unless it answers a ping and has one already); write the buffer once
 * it holds CCC_FLUSH_AT bytes. Refuses frames over the broker's limit.
 */
static int
ccc_send(ccc_client *c, Ccc__V1__Envelope *env, bool new_id,
    struct ccc_error *err)
{
	size_t size, cap;

	if (c->dead) {
		*err = c->dead_err;
		return -1;
	}
	if (new_id)
		env->request_id = c->next_id++;
	size = frame_size(env);
	if (size - FRAME_HEADER_LEN > c->max_frame)
		return ccc_fail(err, CCC_ERR_USAGE, false,
		    "%s of %zu bytes exceeds the broker's maximum frame size of "
		    "%u bytes", frame_body_name(env->body_case),
		    size - FRAME_HEADER_LEN, c->max_frame);
	if (c->out_len + size > c->out_cap) {
		cap = c->out_cap > 0 ? c->out_cap : 2 * CCC_FLUSH_AT;
		while (cap < c->out_len + size)
			cap *= 2;
		c->out = xreallocarray(c->out, 1, cap);
		c->out_cap = cap;
	}
	c->out_len += frame_encode(env, c->out + c->out_len);
	if (c->out_len >= CCC_FLUSH_AT)
		return ccc_flush_out(c, ccc_deadline(c->timeout_ms), err);
	return 0;
}

/* Read more bytes into the input buffer. 1 got some, 0 timed out, -1 failed. */
static int
ccc_fill(ccc_client *c, int64_t deadline, struct ccc_error *err)
{
	size_t n;
	int r;

	/* the broker may be waiting for what we have not written yet */
	if (ccc_flush_out(c, ccc_deadline(c->timeout_ms), err) < 0)
		return -1;
	if (c->in_off > 0) {
		memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->in_off = 0;
	}
	if (c->in_cap - c->in_len < CCC_READ_CHUNK) {
		c->in_cap *= 2;
		c->in = xreallocarray(c->in, 1, c->in_cap);
	}
	r = ccc_tls_op(c, CCC_OP_READ, c->in + c->in_len, c->in_cap - c->in_len,
	    &n, deadline, err);
	if (r == 1)
		c->in_len += n;
	return r;
}

/* The broker's Error as err (its code, its text). */
static void
ccc_broker_error(const Ccc__V1__Error *e, struct ccc_error *err)
{
	err->code = e->code > 0 ? (int)e->code : CCC_ERR_PROTOCOL;
	err->fatal = e->fatal;
	err->transient = ccc_code_transient(err->code);
	snprintf(err->message, sizeof(err->message), "%s",
	    e->message != NULL && e->message[0] != '\0' ? e->message :
	    ccc_error_name(err->code));
}

/*
 * The next envelope from the wire (never from the queue). Pings are answered
 * and pongs dropped here. A fatal Error is returned, and leaves the client
 * dead with CCC_ERR_CLOSED. Returns 1 with *env, 0 on timeout, -1 failed.
 */
static int
ccc_next(ccc_client *c, int64_t deadline, Ccc__V1__Envelope **env,
    struct ccc_error *err)
{
	Ccc__V1__Envelope *e, pong = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Pong pong_body = CCC__V1__PONG__INIT;
	struct ccc_error closed;
	char why[128];
	size_t used;
	int r;

	for (;;) {
		if (c->dead) {
			*err = c->dead_err;
			return -1;
		}
		switch (frame_decode(c->in + c->in_off, c->in_len - c->in_off,
		    FRAME_MAX_LIMIT, &e, &used, why, sizeof(why))) {
		case FRAME_OK:
			c->in_off += used;
			if (e->body_case == CCC__V1__ENVELOPE__BODY_PING) {
				pong.request_id = e->request_id;
				pong.body_case = CCC__V1__ENVELOPE__BODY_PONG;
				pong.pong = &pong_body;
				frame_free(e);
				if (ccc_send(c, &pong, false, err) < 0 ||
				    ccc_flush_out(c, ccc_deadline(c->timeout_ms),
				    err) < 0)
					return -1;
				continue;
			}
			if (e->body_case == CCC__V1__ENVELOPE__BODY_PONG) {
				frame_free(e);
				continue;
			}
			if (e->body_case == CCC__V1__ENVELOPE__BODY_ERROR &&
			    e->error->fatal) {
				ccc_fail(&closed, CCC_ERR_CLOSED, true,
				    "the broker closed the session: %s: %s",
				    ccc_error_name((int)e->error->code),
				    e->error->message != NULL ?
				    e->error->message : "");
				closed.transient =
				    ccc_code_transient((int)e->error->code);
				ccc_die(c, &closed);
			}
			if (ccc_track(c, e)) {	/* a repeat: not handed out */
				frame_free(e);
				continue;
			}
			*env = e;
			return 1;
		case FRAME_NEED_MORE:
			break;
		case FRAME_TOO_LARGE:
		case FRAME_MALFORMED:
		case FRAME_OVER_BUDGET:
			ccc_fail(err, CCC_ERR_PROTOCOL, true,
			    "the broker at %s sent a bad frame: %s", c->peer, why);
			return ccc_die(c, err);
		}
		if ((r = ccc_fill(c, deadline, err)) <= 0)
			return r;
	}
}

static void
ccc_enqueue(ccc_client *c, Ccc__V1__Envelope *env)
{
	struct ccc_queued *q = xmalloc(sizeof(*q));

	q->env = env;
	q->next = NULL;
	if (c->q_tail != NULL)
		c->q_tail->next = q;
	else
		c->q_head = q;
	c->q_tail = q;
}

static Ccc__V1__Envelope *
ccc_dequeue(ccc_client *c)
{
	struct ccc_queued *q = c->q_head;
	Ccc__V1__Envelope *env;

	if (q == NULL)
		return NULL;
	if ((c->q_head = q->next) == NULL)
		c->q_tail = NULL;
	env = q->env;
	free(q);
	return env;
}

/* ---- subscriptions and repeats (Reconnecting in ccc.h) -------------------- */

/*
 * Record a subscription about to be requested with request_id (patterns
 * and name are copied); it counts once its SubscribeOk arrives.
 */
static void
ccc_sub_add(ccc_client *c, uint64_t request_id, const char *name,
    int64_t since, const char *const *patterns, size_t npatterns)
{
	struct ccc_sub *s = xcalloc(1, sizeof(*s)), **p;

	s->request_id = request_id;
	s->serial = ++c->sub_serial;
	s->name = name != NULL ? xstrdup(name) : NULL;
	s->patterns = xcalloc(npatterns > 0 ? npatterns : 1, sizeof(char *));
	for (size_t i = 0; i < npatterns; i++)
		s->patterns[i] = xstrdup(patterns[i]);
	s->npatterns = npatterns;
	s->since = since;
	for (p = &c->subs; *p != NULL; p = &(*p)->next)
		;
	*p = s;
}

static void
ccc_sub_remove(ccc_client *c, struct ccc_sub *s)
{
	struct ccc_sub **p;

	for (p = &c->subs; *p != NULL; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	for (size_t i = 0; i < s->npatterns; i++)
		free(s->patterns[i]);
	free(s->patterns);
	free(s->name);
	free(s);
}

/* The subscription with this id in the session (id != 0) or request id. */
static struct ccc_sub *
ccc_sub_find(ccc_client *c, uint32_t id, uint64_t request_id)
{
	struct ccc_sub *s;

	for (s = c->subs; s != NULL; s = s->next)
		if ((id != 0 && s->id == id) ||
		    (request_id != 0 && s->request_id == request_id))
			return s;
	return NULL;
}

/* A Subscribe that got no SubscribeOk: forget it, if it is still recorded. */
static void
ccc_sub_unasked(ccc_client *c, uint64_t request_id)
{
	struct ccc_sub *s = ccc_sub_find(c, 0, request_id);

	if (s != NULL && s->id == 0)
		ccc_sub_remove(c, s);
}

/* The ring entry of a delivery of alert id (plain, or on subscription serial). */
static struct ccc_seen *
ccc_seen_find(ccc_client *c, const char *id, bool durable, uint32_t serial)
{
	struct ccc_seen *e;

	if (c->seen == NULL)
		return NULL;
	for (size_t k = 0; k < CCC_SEEN; k++) {
		e = &c->seen[k];
		if ((e->tag != 0) == durable && e->serial == serial &&
		    strcmp(e->id, id) == 0)
			return e;
	}
	return NULL;
}

/* Mark the deliveries with these tags acknowledged (newest first). */
static void
ccc_seen_acked(ccc_client *c, const uint64_t *tags, size_t ntags)
{
	size_t k;

	if (c->seen == NULL)
		return;
	for (size_t i = 0; i < ntags; i++)
		for (size_t n = 1; n <= CCC_SEEN && tags[i] != 0; n++) {
			k = (c->seen_next + CCC_SEEN - n) % CCC_SEEN;
			if (c->seen[k].tag == tags[i]) {
				c->seen[k].acked = true;
				break;
			}
		}
}

/*
 * A delivery: note it, and say whether it repeats one handed out already
 * (a replayed alert, or a redelivery of one acknowledged, which is
 * acknowledged again). Only those two kinds are looked up: every other
 * delivery is new by the broker's word, and costs one copy into the ring.
 */
static bool
ccc_seen_deliver(ccc_client *c, const Ccc__V1__Deliver *d)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Ack ack = CCC__V1__ACK__INIT;
	const Ccc__V1__Alert *a = d->alert;
	struct ccc_error ignored;
	struct ccc_sub *s;
	struct ccc_seen *e = NULL;
	uint32_t serial = 0;
	bool durable = d->delivery_tag != 0;

	if (a == NULL || a->id == NULL || strlen(a->id) != CCC_ID_LEN - 1)
		return false;
	for (size_t i = 0; i < d->n_subscription_ids; i++)
		if ((s = ccc_sub_find(c, d->subscription_ids[i], 0)) != NULL) {
			s->last = a->published_at;
			if (durable)
				serial = s->serial;
		}
	if (durable ? d->redelivered > 0 : d->replayed)
		e = ccc_seen_find(c, a->id, durable, serial);
	if (e == NULL) {
		if (c->seen == NULL)
			c->seen = xcalloc(CCC_SEEN, sizeof(*c->seen));
		e = &c->seen[c->seen_next];
		c->seen_next = (c->seen_next + 1) % CCC_SEEN;
		memcpy(e->id, a->id, CCC_ID_LEN);
		e->tag = d->delivery_tag;
		e->serial = serial;
		e->acked = false;
		return false;
	}
	if (!durable)
		return true;
	if (!e->acked) {
		e->tag = d->delivery_tag;
		return false;
	}
	ack.n_delivery_tags = 1;
	ack.delivery_tags = ccc_unconst(&d->delivery_tag);
	env.body_case = CCC__V1__ENVELOPE__BODY_ACK;
	env.ack = &ack;
	(void)ccc_send(c, &env, true, &ignored);	/* a failure kills c */
	return true;
}

/*
 * Keep the records of subscriptions and deliveries up to date with env.
 * Returns true when env repeats a delivery and is not to be handed out.
 */
static bool
ccc_track(ccc_client *c, const Ccc__V1__Envelope *env)
{
	const Ccc__V1__Error *e;
	struct ccc_sub *s;

	switch (env->body_case) {
	case CCC__V1__ENVELOPE__BODY_SUBSCRIBE_OK:
		if ((s = ccc_sub_find(c, 0, env->request_id)) != NULL) {
			s->request_id = 0;
			s->id = env->subscribe_ok->subscription_id;
			if (s->made == 0)
				s->made = time_now_us();
		}
		break;
	case CCC__V1__ENVELOPE__BODY_UNSUBSCRIBE_OK:
		if ((s = ccc_sub_find(c, env->unsubscribe_ok->subscription_id,
		    0)) != NULL)
			ccc_sub_remove(c, s);
		break;
	case CCC__V1__ENVELOPE__BODY_ERROR:
		e = env->error;
		if (e->subscription_id != 0 &&
		    (s = ccc_sub_find(c, e->subscription_id, 0)) != NULL)
			ccc_sub_remove(c, s);	/* revoked */
		else if (env->request_id != 0 &&
		    (s = ccc_sub_find(c, 0, env->request_id)) != NULL) {
			/* refused; made again later if that may pass */
			if (s->made != 0 && ccc_code_transient((int)e->code))
				s->request_id = 0;
			else
				ccc_sub_remove(c, s);
		}
		break;
	case CCC__V1__ENVELOPE__BODY_DELIVER:
		return ccc_seen_deliver(c, env->deliver);
	default:
		break;
	}
	return false;
}

/*
 * Send req and wait until deadline for the reply carrying its request id,
 * which must be a want body or an Error. Everything else that arrives is
 * queued for ccc_receive(). On success *reply is the reply (caller frees).
 */
static int
ccc_request(ccc_client *c, Ccc__V1__Envelope *req,
    Ccc__V1__Envelope__BodyCase want, int64_t deadline,
    Ccc__V1__Envelope **reply, struct ccc_error *err)
{
	Ccc__V1__Envelope *e;
	const char *what = frame_body_name(req->body_case);
	uint64_t id;
	int r;

	*reply = NULL;
	if (ccc_send(c, req, true, err) < 0 ||
	    ccc_flush_out(c, deadline, err) < 0)
		return -1;
	id = req->request_id;
	for (;;) {
		if ((r = ccc_next(c, deadline, &e, err)) < 0)
			return -1;
		if (r == 0)
			return ccc_fail(err, CCC_ERR_TIMEOUT, false,
			    "no reply to %s from %s within %d ms", what, c->peer,
			    c->timeout_ms);
		if (e->body_case == CCC__V1__ENVELOPE__BODY_ERROR &&
		    e->error->fatal) {
			ccc_broker_error(e->error, err);
			frame_free(e);
			return -1;
		}
		if (e->request_id != id ||
		    e->body_case == CCC__V1__ENVELOPE__BODY_DELIVER) {
			ccc_enqueue(c, e);
			continue;
		}
		if (e->body_case == CCC__V1__ENVELOPE__BODY_ERROR) {
			ccc_broker_error(e->error, err);
			frame_free(e);
			return -1;
		}
		if (e->body_case != want) {
			ccc_fail(err, CCC_ERR_PROTOCOL, true, "the broker answered "
			    "%s with %s", what, frame_body_name(e->body_case));
			frame_free(e);
			return ccc_die(c, err);
		}
		*reply = e;
		return 0;
	}
}

/* Hello, then Welcome (or the broker's refusal). */
static int
ccc_hello(ccc_client *c, int64_t deadline, struct ccc_error *err)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT, *reply = NULL;
	Ccc__V1__Hello hello;
	const Ccc__V1__Welcome *w;
	char msg[sizeof(err->message)];
	int rc = -1;

	ccc__v1__hello__init(&hello);	/* the INIT macro casts away const */
	hello.protocol_version = CCC_PROTOCOL_VERSION;
	hello.client_name = c->client_name;
	hello.receipts = c->receipts;
	hello.names = c->names;
	env.body_case = CCC__V1__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	if (ccc_request(c, &env, CCC__V1__ENVELOPE__BODY_WELCOME, deadline,
	    &reply, err) < 0) {
		if (err->code > 0) {	/* a broker refusal */
			snprintf(msg, sizeof(msg), "broker refused: %.480s",
			    err->message);
			snprintf(err->message, sizeof(err->message), "%s", msg);
		} else if (err->code == CCC_ERR_TIMEOUT)
			snprintf(err->message, sizeof(err->message),
			    "no welcome from %s within %d ms", c->peer,
			    c->timeout_ms);
		err->fatal = true;
		goto out;
	}
	w = reply->welcome;
	if (w->protocol_version != CCC_PROTOCOL_VERSION) {
		ccc_fail(err, CCC_ERR_PROTOCOL, true, "the broker at %s speaks "
		    "protocol version %u, not %d", c->peer, w->protocol_version,
		    CCC_PROTOCOL_VERSION);
		goto out;
	}
	c->endpoint = xstrdup(w->endpoint != NULL ? w->endpoint : "");
	c->max_frame = w->max_frame_size != 0 ? w->max_frame_size :
	    FRAME_MAX_DEFAULT;
	c->welcomed = true;
	frame_free(c->welcome);
	c->welcome = reply;	/* kept for ccc_section_name() */
	reply = NULL;
	rc = 0;
out:
	frame_free(reply);
	return rc;
}

/*
 * Open the session: TCP, TLS, Hello/Welcome. A broker older than
 * Hello.names refuses the field it does not know (a fatal MALFORMED_FRAME);
 * then once more without asking for the names, which are only shown.
 */
static int
ccc_open(ccc_client *c, int64_t deadline, struct ccc_error *err)
{
	if (ccc_tcp_connect(c, deadline, err) < 0 ||
	    ccc_tls_start(c, deadline, err) < 0)
		return -1;
	if (ccc_hello(c, deadline, err) == 0)
		return 0;
	if (!c->names ||
	    err->code != CCC__V1__ERROR_CODE__ERROR_CODE_MALFORMED_FRAME)
		return -1;
	c->names = false;
	ccc_disconnect(c);
	c->in_off = c->in_len = c->out_len = 0;
	c->dead = c->tls_broken = false;
	return ccc_open(c, deadline, err);
}

/* ---- public API ---------------------------------------------------------- */

int
ccc_connect(const struct ccc_options *opts, ccc_client **out,
    struct ccc_error *err)
{
	struct ccc_error dummy;
	ccc_client *c = NULL;
	int64_t deadline;

	if (err == NULL)
		err = &dummy;
	if (out != NULL)
		*out = NULL;
	if (opts == NULL || out == NULL)
		return ccc_fail(err, CCC_ERR_USAGE, false,
		    "ccc_connect: no options or no result pointer");
	if (opts->tls == NULL &&
	    (opts->cert == NULL || opts->key == NULL || opts->ca == NULL))
		return ccc_fail(err, CCC_ERR_USAGE, false, "no %s given",
		    opts->cert == NULL ? "client certificate" :
		    opts->key == NULL ? "private key" : "CA file");
	if (opts->timeout_ms < 0)
		return ccc_fail(err, CCC_ERR_USAGE, false,
		    "negative timeout %d ms", opts->timeout_ms);

	c = xcalloc(1, sizeof(*c));
	c->fd = -1;
	c->next_id = 1;
	c->max_frame = FRAME_MAX_DEFAULT;
	c->in_cap = 2 * CCC_READ_CHUNK;
	c->in = xmalloc(c->in_cap);
	c->timeout_ms = opts->timeout_ms != 0 ? opts->timeout_ms :
	    CCC_DEFAULT_TIMEOUT_MS;
	c->client_name = xstrdup(opts->client_name != NULL ? opts->client_name :
	    "libccc/" CCC_VERSION);
	c->receipts = opts->receipts;
	c->names = opts->names;
	deadline = ccc_deadline(c->timeout_ms);
	if (ccc_parse_server(c, opts->server != NULL ? opts->server :
	    CCC_DEFAULT_SERVER, err) < 0)
		goto fail;
	/* the files first: a bad path should not wait for the network */
	if (ccc_tls_context(c, opts, err) < 0 || ccc_open(c, deadline, err) < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	ccc_close(c);
	return -1;
}

/*
 * End the TLS session and the connection (what the caller sent still goes
 * out, then a close_notify: both within a second at most), keeping the
 * client's options, queue and records for ccc_close() or a new session.
 */
static void
ccc_disconnect(ccc_client *c)
{
	struct ccc_error ignored;
	int64_t deadline;
	size_t none;

	deadline = ccc_deadline(c->timeout_ms < CCC_CLOSE_TIMEOUT_MS ?
	    c->timeout_ms : CCC_CLOSE_TIMEOUT_MS);
	if (c->ssl != NULL && !c->tls_broken && SSL_is_init_finished(c->ssl)) {
		if (!c->dead)
			(void)ccc_flush_out(c, deadline, &ignored);
		if (!c->tls_broken)
			(void)ccc_tls_op(c, CCC_OP_SHUTDOWN, NULL, 0, &none,
			    deadline, &ignored);
	}
	SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

void
ccc_close(ccc_client *c)
{
	Ccc__V1__Envelope *env;

	if (c == NULL)
		return;
	ccc_disconnect(c);
	while ((env = ccc_dequeue(c)) != NULL)
		frame_free(env);
	while (c->subs != NULL)
		ccc_sub_remove(c, c->subs);
	SSL_CTX_free(c->ctx);
	free(c->host);
	free(c->port);
	free(c->peer);
	free(c->endpoint);
	frame_free(c->welcome);
	free(c->in);
	free(c->out);
	free(c->client_name);
	free(c->seen);
	free(c);
}

/* Make again, in order, the subscriptions the last session held. */
static int
ccc_resubscribe(ccc_client *c, struct ccc_error *err)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT, *reply;
	Ccc__V1__Subscribe sub = CCC__V1__SUBSCRIBE__INIT;
	struct ccc_sub *s;

	for (s = c->subs; s != NULL; s = s->next)
		s->redo = true;
	for (;;) {
		/* from the head each time: a reply may remove a record */
		for (s = c->subs; s != NULL && !s->redo; s = s->next)
			;
		if (s == NULL)
			return 0;
		s->redo = false;
		if (ccc_subscribe_fill(&sub, s->name, s->name != NULL ? 0 :
		    s->last != 0 ? s->last : s->since != 0 ? s->since : s->made,
		    (const char *const *)s->patterns, s->npatterns, err) < 0)
			return -1;
		env.body_case = CCC__V1__ENVELOPE__BODY_SUBSCRIBE;
		env.subscribe = &sub;
		s->request_id = c->next_id;
		if (ccc_request(c, &env, CCC__V1__ENVELOPE__BODY_SUBSCRIBE_OK,
		    ccc_deadline(c->timeout_ms), &reply, err) < 0)
			return -1;
		frame_free(reply);
	}
}

int
ccc_reconnect(ccc_client *c, struct ccc_error *err)
{
	struct ccc_error dummy;
	struct ccc_sub *s, *next;
	int64_t deadline;

	if (err == NULL)
		err = &dummy;
	ccc_disconnect(c);
	c->in_off = c->in_len = c->out_len = 0;
	c->welcomed = c->dead = c->tls_broken = false;
	free(c->endpoint);
	c->endpoint = NULL;
	c->max_frame = FRAME_MAX_DEFAULT;
	for (s = c->subs; s != NULL; s = next) {
		next = s->next;
		s->id = 0;
		s->request_id = 0;
		if (s->made == 0)	/* never confirmed */
			ccc_sub_remove(c, s);
	}
	deadline = ccc_deadline(c->timeout_ms);
	if (ccc_open(c, deadline, err) < 0 || ccc_resubscribe(c, err) < 0)
		return ccc_die(c, err);
	return 0;
}

size_t
ccc_subscription_ids(const ccc_client *c, uint32_t *ids, size_t max)
{
	const struct ccc_sub *s;
	size_t n = 0;

	for (s = c->subs; s != NULL; s = s->next)
		if (s->made != 0) {
			if (n < max)
				ids[n] = s->id;
			n++;
		}
	return n;
}

int
ccc_backoff_next(struct ccc_backoff *b)
{
	int max = b->max_ms > 0 ? b->max_ms : CCC_BACKOFF_MAX_MS;
	int base = b->next_ms > 0 ? b->next_ms : b->initial_ms > 0 ?
	    b->initial_ms : CCC_BACKOFF_INITIAL_MS;
	uint32_t r;

	if (base > max)
		base = max;
	b->next_ms = base > max / 2 ? max : 2 * base;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (uint32_t)time_mono_us();
	return base - (int)(r % ((uint32_t)base / 2 + 1));
}

void
ccc_backoff_reset(struct ccc_backoff *b)
{
	b->next_ms = 0;
}

const char *
ccc_endpoint(const ccc_client *c)
{
	return c->endpoint != NULL ? c->endpoint : "";
}

const char *
ccc_section_name(const ccc_client *c, const char *id)
{
	const Ccc__V1__Welcome *w = c->welcome != NULL ? c->welcome->welcome :
	    NULL;

	for (size_t k = 0; w != NULL && id != NULL && k < w->n_section_names; k++)
		if (strcmp(w->section_names[k]->key, id) == 0)
			return w->section_names[k]->value;
	return NULL;
}

const char *
ccc_endpoint_name(const ccc_client *c, const char *id)
{
	const Ccc__V1__Welcome *w = c->welcome != NULL ? c->welcome->welcome :
	    NULL;

	for (size_t k = 0; w != NULL && id != NULL && k < w->n_endpoint_names;
	    k++)
		if (strcmp(w->endpoint_names[k]->key, id) == 0)
			return w->endpoint_names[k]->value;
	return NULL;
}

bool
ccc_resumed(const ccc_client *c)
{
	return c->ssl != NULL && SSL_session_reused(c->ssl) == 1;
}

uint32_t
ccc_max_frame_size(const ccc_client *c)
{
	return c->max_frame;
}

int
ccc_fd(const ccc_client *c)
{
	return c->fd;
}

bool
ccc_pending(const ccc_client *c)
{
	const uint8_t *p = c->in + c->in_off;
	size_t avail = c->in_len - c->in_off;
	uint32_t n;

	if (c->q_head != NULL || c->dead)
		return true;	/* a dead client answers at once, with its error */
	if (c->out_len > 0)
		return true;	/* ccc_receive() writes it */
	if (avail >= FRAME_HEADER_LEN) {
		n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3];
		if (n > FRAME_MAX_LIMIT || avail - FRAME_HEADER_LEN >= n)
			return true;
	}
	return c->ssl != NULL && SSL_has_pending(c->ssl);
}

/* Queue a request; *request_id (if not NULL) gets the id its reply will carry. */
static int
ccc_send_request(ccc_client *c, Ccc__V1__Envelope *env, uint64_t *request_id,
    struct ccc_error *err)
{
	if (ccc_send(c, env, true, err) < 0)
		return -1;
	if (request_id != NULL)
		*request_id = env->request_id;
	return 0;
}

int
ccc_send_publish(ccc_client *c, const Ccc__V1__Alert *alert,
    uint64_t *request_id, struct ccc_error *err)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Publish pub = CCC__V1__PUBLISH__INIT;
	struct ccc_error dummy;

	if (err == NULL)
		err = &dummy;
	if (alert == NULL || alert->base.descriptor != &ccc__v1__alert__descriptor)
		return ccc_fail(err, CCC_ERR_USAGE, false,
		    "publish: not a ccc.v1.Alert");
	pub.alert = ccc_unconst(alert);
	env.body_case = CCC__V1__ENVELOPE__BODY_PUBLISH;
	env.publish = &pub;
	return ccc_send_request(c, &env, request_id, err);
}

static int	ccc_subscribe_full(ccc_client *, const char *, int64_t,
		    const char *const *, size_t, uint32_t *, bool *,
		    struct ccc_error *);

/* Fill sub from the caller's patterns and durable name (NULL: plain). */
static int
ccc_subscribe_fill(Ccc__V1__Subscribe *sub, const char *durable_name,
    int64_t since, const char *const *patterns, size_t n_patterns,
    struct ccc_error *err)
{
	bool inbox = durable_name != NULL &&
	    strcmp(durable_name, CCC_INBOX) == 0;

	if (inbox && n_patterns > 0)
		return ccc_fail(err, CCC_ERR_USAGE, false, "subscribe: the "
		    "inbox takes no topic patterns");
	if (!inbox && (patterns == NULL || n_patterns == 0))
		return ccc_fail(err, CCC_ERR_USAGE, false,
		    "subscribe: no topic patterns");
	for (size_t i = 0; i < n_patterns; i++)
		if (patterns[i] == NULL)
			return ccc_fail(err, CCC_ERR_USAGE, false,
			    "subscribe: pattern %zu is NULL", i);
	if (durable_name != NULL && durable_name[0] == '\0')
		return ccc_fail(err, CCC_ERR_USAGE, false,
		    "subscribe: empty durable subscription name");
	sub->n_patterns = n_patterns;
	sub->patterns = ccc_unconst(patterns);
	if (durable_name != NULL)
		sub->durable_name = ccc_unconst(durable_name);
	sub->since = since;
	return 0;
}

int
ccc_send_subscribe(ccc_client *c, const char *const *patterns,
    size_t n_patterns, uint64_t *request_id, struct ccc_error *err)
{
	return ccc_send_subscribe_durable(c, NULL, patterns, n_patterns,
	    request_id, err);
}

int
ccc_send_subscribe_durable(ccc_client *c, const char *name,
    const char *const *patterns, size_t n_patterns, uint64_t *request_id,
    struct ccc_error *err)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Subscribe sub = CCC__V1__SUBSCRIBE__INIT;
	struct ccc_error dummy;
	uint64_t rid = c->next_id;	/* the id ccc_send() gives it */

	if (err == NULL)
		err = &dummy;
	if (ccc_subscribe_fill(&sub, name, 0, patterns, n_patterns, err) < 0)
		return -1;
	env.body_case = CCC__V1__ENVELOPE__BODY_SUBSCRIBE;
	env.subscribe = &sub;
	ccc_sub_add(c, rid, name, 0, patterns, n_patterns);
	if (ccc_send_request(c, &env, request_id, err) < 0) {
		ccc_sub_unasked(c, rid);
		return -1;
	}
	return 0;
}

int
ccc_send_unsubscribe(ccc_client *c, uint32_t subscription_id,
    uint64_t *request_id, struct ccc_error *err)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Unsubscribe unsub = CCC__V1__UNSUBSCRIBE__INIT;
	struct ccc_error dummy;

	if (err == NULL)
		err = &dummy;
	unsub.subscription_id = subscription_id;
	env.body_case = CCC__V1__ENVELOPE__BODY_UNSUBSCRIBE;
	env.unsubscribe = &unsub;
	return ccc_send_request(c, &env, request_id, err);
}

int
ccc_send_ack(ccc_client *c, const uint64_t *tags, size_t n_tags,
    struct ccc_error *err)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Ack ack = CCC__V1__ACK__INIT;
	struct ccc_error dummy;

	if (err == NULL)
		err = &dummy;
	if (n_tags == 0)
		return 0;
	if (tags == NULL)
		return ccc_fail(err, CCC_ERR_USAGE, false, "ack: no tags");
	ccc_seen_acked(c, tags, n_tags);
	ack.n_delivery_tags = n_tags;
	ack.delivery_tags = ccc_unconst(tags);
	env.body_case = CCC__V1__ENVELOPE__BODY_ACK;
	env.ack = &ack;
	return ccc_send(c, &env, true, err);
}

int
ccc_receive(ccc_client *c, int timeout_ms, Ccc__V1__Envelope **env,
    struct ccc_error *err)
{
	struct ccc_error dummy;

	if (err == NULL)
		err = &dummy;
	if (env == NULL)
		return ccc_fail(err, CCC_ERR_USAGE, false,
		    "ccc_receive: no result pointer");
	/* a failed write leaves c dead: queued envelopes still come first */
	(void)ccc_flush_out(c, ccc_deadline(c->timeout_ms), err);
	if ((*env = ccc_dequeue(c)) != NULL)
		return 1;
	return ccc_next(c, ccc_deadline(timeout_ms), env, err);
}

int
ccc_flush(ccc_client *c, struct ccc_error *err)
{
	struct ccc_error dummy;

	if (err == NULL)
		err = &dummy;
	return ccc_flush_out(c, ccc_deadline(c->timeout_ms), err);
}

void
ccc_envelope_free(Ccc__V1__Envelope *env)
{
	frame_free(env);
}

int
ccc_publish(ccc_client *c, const Ccc__V1__Alert *alert, char id[CCC_ID_LEN],
    struct ccc_error *err)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT, *reply;
	Ccc__V1__Publish pub = CCC__V1__PUBLISH__INIT;
	const char *got;
	struct ccc_error dummy;
	int rc = -1;

	if (err == NULL)
		err = &dummy;
	if (alert == NULL || alert->base.descriptor != &ccc__v1__alert__descriptor)
		return ccc_fail(err, CCC_ERR_USAGE, false,
		    "publish: not a ccc.v1.Alert");
	pub.alert = ccc_unconst(alert);
	env.body_case = CCC__V1__ENVELOPE__BODY_PUBLISH;
	env.publish = &pub;
	if (ccc_request(c, &env, CCC__V1__ENVELOPE__BODY_PUBLISH_OK,
	    ccc_deadline(c->timeout_ms), &reply, err) < 0)
		return -1;
	got = reply->publish_ok->id;
	if (got == NULL || !uuid_valid(got)) {
		ccc_fail(err, CCC_ERR_PROTOCOL, false, "the broker confirmed "
		    "the publish with an invalid alert id");
		goto out;
	}
	if (id != NULL)
		memcpy(id, got, CCC_ID_LEN);
	rc = 0;
out:
	frame_free(reply);
	return rc;
}

int
ccc_subscribe(ccc_client *c, const char *const *patterns, size_t n_patterns,
    uint32_t *subscription_id, struct ccc_error *err)
{
	return ccc_subscribe_durable(c, NULL, patterns, n_patterns,
	    subscription_id, NULL, err);
}

int
ccc_subscribe_durable(ccc_client *c, const char *name,
    const char *const *patterns, size_t n_patterns, uint32_t *subscription_id,
    bool *resumed, struct ccc_error *err)
{
	return ccc_subscribe_full(c, name, 0, patterns, n_patterns,
	    subscription_id, resumed, err);
}

int
ccc_subscribe_inbox(ccc_client *c, uint32_t *subscription_id, bool *resumed,
    struct ccc_error *err)
{
	return ccc_subscribe_full(c, CCC_INBOX, 0, NULL, 0, subscription_id,
	    resumed, err);
}

int
ccc_subscribe_since(ccc_client *c, int64_t since, const char *const *patterns,
    size_t n_patterns, uint32_t *subscription_id, struct ccc_error *err)
{
	return ccc_subscribe_full(c, NULL, since, patterns, n_patterns,
	    subscription_id, NULL, err);
}

/* Subscribe and wait for SubscribeOk. */
static int
ccc_subscribe_full(ccc_client *c, const char *name, int64_t since,
    const char *const *patterns, size_t n_patterns, uint32_t *subscription_id,
    bool *resumed, struct ccc_error *err)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT, *reply;
	Ccc__V1__Subscribe sub = CCC__V1__SUBSCRIBE__INIT;
	struct ccc_error dummy;
	uint64_t rid = c->next_id;	/* the id ccc_request() gives it */

	if (err == NULL)
		err = &dummy;
	if (ccc_subscribe_fill(&sub, name, since, patterns, n_patterns, err) < 0)
		return -1;
	env.body_case = CCC__V1__ENVELOPE__BODY_SUBSCRIBE;
	env.subscribe = &sub;
	ccc_sub_add(c, rid, name, since, patterns, n_patterns);
	if (ccc_request(c, &env, CCC__V1__ENVELOPE__BODY_SUBSCRIBE_OK,
	    ccc_deadline(c->timeout_ms), &reply, err) < 0) {
		ccc_sub_unasked(c, rid);
		return -1;
	}
	if (subscription_id != NULL)
		*subscription_id = reply->subscribe_ok->subscription_id;
	if (resumed != NULL)
		*resumed = reply->subscribe_ok->resumed;
	frame_free(reply);
	return 0;
}

int
ccc_receipts(ccc_client *c, const char *alert_id, Ccc__V1__Envelope **reply,
    struct ccc_error *err)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Receipts q = CCC__V1__RECEIPTS__INIT;
	struct ccc_error dummy;

	if (err == NULL)
		err = &dummy;
	*reply = NULL;
	if (alert_id == NULL)
		return ccc_fail(err, CCC_ERR_USAGE, false, "receipts: no alert id");
	q.alert_id = ccc_unconst(alert_id);
	env.body_case = CCC__V1__ENVELOPE__BODY_RECEIPTS;
	env.receipts = &q;
	return ccc_request(c, &env, CCC__V1__ENVELOPE__BODY_RECEIPTS_OK,
	    ccc_deadline(c->timeout_ms), reply, err);
}

int
ccc_admin(ccc_client *c, const Ccc__V1__AdminRequest *req,
    Ccc__V1__AdminReply **reply, struct ccc_error *err)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT, *got;
	struct ccc_error dummy;

	if (err == NULL)
		err = &dummy;
	if (reply == NULL)
		return ccc_fail(err, CCC_ERR_USAGE, false,
		    "admin: no result pointer");
	*reply = NULL;
	if (req == NULL ||
	    req->base.descriptor != &ccc__v1__admin_request__descriptor ||
	    req->op_case == CCC__V1__ADMIN_REQUEST__OP__NOT_SET)
		return ccc_fail(err, CCC_ERR_USAGE, false,
		    "admin: not a ccc.v1.AdminRequest with an operation");
	env.body_case = CCC__V1__ENVELOPE__BODY_ADMIN;
	env.admin = ccc_unconst(req);
	if (ccc_request(c, &env, CCC__V1__ENVELOPE__BODY_ADMIN_REPLY,
	    ccc_deadline(c->timeout_ms), &got, err) < 0)
		return -1;
	/* frame_decode() allocates with malloc: the reply may leave its envelope */
	*reply = got->admin_reply;
	got->admin_reply = NULL;
	got->body_case = CCC__V1__ENVELOPE__BODY__NOT_SET;
	frame_free(got);
	return 0;
}

int
ccc_unsubscribe(ccc_client *c, uint32_t subscription_id,
    struct ccc_error *err)
{
	return ccc_unsubscribe_forget(c, subscription_id, false, err);
}

int
ccc_unsubscribe_forget(ccc_client *c, uint32_t subscription_id, bool forget,
    struct ccc_error *err)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT, *reply;
	Ccc__V1__Unsubscribe unsub = CCC__V1__UNSUBSCRIBE__INIT;
	struct ccc_error dummy;

	if (err == NULL)
		err = &dummy;
	unsub.subscription_id = subscription_id;
	unsub.forget = forget;
	env.body_case = CCC__V1__ENVELOPE__BODY_UNSUBSCRIBE;
	env.unsubscribe = &unsub;
	if (ccc_request(c, &env, CCC__V1__ENVELOPE__BODY_UNSUBSCRIBE_OK,
	    ccc_deadline(c->timeout_ms), &reply, err) < 0)
		return -1;
	frame_free(reply);
	return 0;
}

const char *
ccc_error_name(int code)
{
	const char *name;

	switch (code) {
	case CCC_ERR_USAGE: return "usage";
	case CCC_ERR_IO: return "io";
	case CCC_ERR_TLS: return "tls";
	case CCC_ERR_TIMEOUT: return "timeout";
	case CCC_ERR_PROTOCOL: return "protocol";
	case CCC_ERR_CLOSED: return "closed";
	}
	if (code > 0 &&
	    (name = names_enum_short(&ccc__v1__error_code__descriptor, code)) != NULL)
		return name;
	return "unknown";
}
