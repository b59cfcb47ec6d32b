/*
 * metrics.c — the broker's counters, gauges, rates and health, served as
 * Prometheus text (GET /metrics), a health check (GET /healthz) and a JSON
 * status object (metrics_status_json, for the admin protocol).
 *
 * Owns: the HTTP listener (libevent's evhttp, on metrics.listen), two timers
 * (a one-second tick that samples the counters into a ring, for rates; a
 * metrics.refresh timer that asks the store to count the durable backlogs),
 * the cached result of the last count, and the names of the endpoints seen
 * since start-up (so that an endpoint's series stay, at 0, once it leaves).
 * The counters themselves are the server's (server_counters()).
 *
 * Everything here runs on the loop thread and must never block it: a scrape
 * reads the sessions, the durable subscriptions and the cached count, never
 * the store; at most one count is under way at a time, so a stalled writer
 * thread does not pile counts up. Sessions are only read here, never
 * changed.
 *
 * libevent 2.1's evhttp has no connection limit: connections are bounded
 * by the timeout, the header size and a body size of 0, and by the listener
 * being on loopback unless metrics.allow_remote says otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "ccc/v1/envelope.pb-c.h"
#include "durable.h"
#include "log.h"
#include "metrics.h"
#include "names.h"
#include "registry.h"
#include "server.h"
#include "session.h"
#include "store.h"
#include "timeutil.h"
#include "xmalloc.h"

#define METRICS_RING		61	/* samples, one a second: a minute back and now */
#define METRICS_STALL_US	(30 * INT64_C(1000000))	/* writer silent with work waiting: unhealthy */
#define METRICS_HTTP_TIMEOUT	10	/* seconds an HTTP connection may stay */
#define METRICS_HTTP_HEADERS	8192	/* bytes of request line and headers */
#define METRICS_SEC		1000000.0

/* Counter values at one moment, for rates. */
struct metrics_sample {
	int64_t		 at;		/* monotonic, microseconds */
	uint64_t	 published;
	uint64_t	 delivered;	/* plain and durable Deliver frames */
};

/* One endpoint's durable backlog, as last counted by the store. */
struct metrics_backlog {
	char		*endpoint;
	uint64_t	 open, dead;
};

struct metrics {
	struct server		*srv;
	struct evhttp		*http;		/* NULL: no listener */
	char			 address[80];	/* bound "HOST:PORT" */
	struct event		*tick;		/* samples the counters, every second */
	struct event		*refresh;	/* counts the backlogs, every metrics.refresh */
	int64_t			 started_mono, started_wall;
	struct metrics_sample	 ring[METRICS_RING];
	size_t			 nsamples;	/* valid samples, up to METRICS_RING */
	size_t			 next;		/* where the next sample goes */
	bool			 counting;	/* a store_counts is under way */
	bool			 counted;	/* a count came back at least once */
	int64_t			 counted_at;	/* monotonic time of the last count */
	struct metrics_backlog	*backlogs;	/* by endpoint, in name order */
	size_t			 nbacklogs;
	uint64_t		 db_bytes, wal_bytes;
	char			**known;	/* endpoints seen, in name order */
	size_t			 nknown;
};

/* Per-endpoint gauges of one snapshot; parallel to metrics.known. */
struct metrics_ep {
	uint64_t	 sessions;
	uint64_t	 plain, dattached, ddetached;
	uint64_t	 open, dead;
};

/* Everything a scrape or a status reports, computed at once. */
struct metrics_snap {
	const struct metrics_counters *c;
	int64_t		 now;		/* monotonic */
	uint64_t	 states[4];	/* sessions by enum sess_state */
	uint64_t	 plain, dattached, ddetached;
	uint64_t	 open, dead;
	struct metrics_ep *eps;		/* m->nknown of them */
	double		 rates[4];	/* publish 10 s, 60 s; deliver 10 s, 60 s */
	const char	*health;	/* NULL: healthy */
	char		 healthbuf[320];
	struct store_health store;
};

static const char *const metrics_state_names[] = { "handshake", "hello",
    "ready", "closing" };

/* enum store_check, as /metrics and the JSON status name it */
#define METRICS_NCHECK	4
static const char *const metrics_check_names[METRICS_NCHECK] = {
	[STORE_CHECK_PASSED] = "passed",
	[STORE_CHECK_RUNNING] = "running",
	[STORE_CHECK_FAILED] = "failed",
	[STORE_CHECK_NOT_RUN] = "not_run",
};

static const char *const metrics_close_names[METRICS_CLOSE_N] = {
	[METRICS_CLOSE_OTHER] = "other",
	[METRICS_CLOSE_PEER] = "peer_closed",
	[METRICS_CLOSE_NETWORK] = "network_error",
	[METRICS_CLOSE_HANDSHAKE] = "handshake",
	[METRICS_CLOSE_REFUSED] = "refused",
	[METRICS_CLOSE_PROTOCOL] = "protocol_error",
	[METRICS_CLOSE_SLOW] = "slow_consumer",
	[METRICS_CLOSE_IDLE] = "idle_timeout",
	[METRICS_CLOSE_SHUTDOWN] = "shutdown",
};

/* Publish refusals reported even while 0, so that their series exist. */
static const int metrics_publish_codes[] = {
	CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_ALERT,
	CCC__V1__ERROR_CODE__ERROR_CODE_FORBIDDEN,
	CCC__V1__ERROR_CODE__ERROR_CODE_ALERT_ID_CONFLICT,
	CCC__V1__ERROR_CODE__ERROR_CODE_STORE_UNAVAILABLE,
	CCC__V1__ERROR_CODE__ERROR_CODE_RATE_LIMITED,
};

static void	metrics_counted(void *, const struct store_result *);

/* ---- counting ----------------------------------------------------------- */

enum metrics_close
metrics_close_reason(int code)
{
	switch (code) {
	case CCC__V1__ERROR_CODE__ERROR_CODE_MALFORMED_FRAME:
	case CCC__V1__ERROR_CODE__ERROR_CODE_FRAME_TOO_LARGE:
	case CCC__V1__ERROR_CODE__ERROR_CODE_PROTOCOL:
	case CCC__V1__ERROR_CODE__ERROR_CODE_UNSUPPORTED_VERSION:
		return METRICS_CLOSE_PROTOCOL;
	case CCC__V1__ERROR_CODE__ERROR_CODE_UNKNOWN_ENDPOINT:
	case CCC__V1__ERROR_CODE__ERROR_CODE_ENDPOINT_SUSPENDED:
	case CCC__V1__ERROR_CODE__ERROR_CODE_TOO_MANY_CONNECTIONS:
		return METRICS_CLOSE_REFUSED;
	case CCC__V1__ERROR_CODE__ERROR_CODE_SLOW_CONSUMER:
		return METRICS_CLOSE_SLOW;
	case CCC__V1__ERROR_CODE__ERROR_CODE_IDLE_TIMEOUT:
		return METRICS_CLOSE_IDLE;
	case CCC__V1__ERROR_CODE__ERROR_CODE_SHUTTING_DOWN:
		return METRICS_CLOSE_SHUTDOWN;
	default:
		return METRICS_CLOSE_OTHER;
	}
}

void
metrics_refused(struct metrics_counters *c, int code)
{
	c->publish_refused[code > 0 && code < METRICS_NCODES ? code : 0]++;
}

/* The short name of a wire error code: "forbidden", or "code_N". */
static const char *
metrics_code_name(int code, char *buf, size_t len)
{
	const char *name = names_enum_short(&ccc__v1__error_code__descriptor,
	    code);

	if (name != NULL)
		return name;
	snprintf(buf, len, "code_%d", code);
	return buf;
}

/* ---- rates -------------------------------------------------------------- */

static void
metrics_sample_now(struct metrics *m)
{
	const struct metrics_counters *c = server_counters(m->srv);
	struct metrics_sample *s = &m->ring[m->next];

	s->at = time_mono_us();
	s->published = c->publish_accepted;
	s->delivered = c->deliveries_plain + c->deliveries_durable;
	m->next = (m->next + 1) % METRICS_RING;
	if (m->nsamples < METRICS_RING)
		m->nsamples++;
}

static void
metrics_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	metrics_sample_now(arg);
}

/*
 * Per second over about the last window seconds: from the oldest sample no
 * older than that to the counters now. 0 before a second has passed.
 */
static double
metrics_rate(const struct metrics *m, int64_t now, int window, bool deliver)
{
	const struct metrics_counters *c = server_counters(m->srv);
	const struct metrics_sample *s, *from = NULL;
	uint64_t cur = deliver ? c->deliveries_plain + c->deliveries_durable :
	    c->publish_accepted;
	int64_t limit = (int64_t)window * 1000000 + 500000;

	for (size_t i = 1; i <= m->nsamples; i++) {
		s = &m->ring[(m->next + METRICS_RING - i) % METRICS_RING];
		if (now - s->at > limit)
			break;
		from = s;
	}
	if (from == NULL || now - from->at < 1000000)
		return 0.0;
	return (double)(cur - (deliver ? from->delivered : from->published)) /
	    ((double)(now - from->at) / METRICS_SEC);
}

/* ---- the store's counts ------------------------------------------------- */

static void
metrics_refresh_cb(evutil_socket_t fd, short what, void *arg)
{
	struct metrics *m = arg;

	(void)fd;
	(void)what;
	if (m->counting || server_stopping(m->srv))
		return;
	m->counting = true;
	store_counts(server_store(m->srv), metrics_counted, m);
}

static void
metrics_free_backlogs(struct metrics *m)
{
	for (size_t i = 0; i < m->nbacklogs; i++)
		free(m->backlogs[i].endpoint);
	free(m->backlogs);
	m->backlogs = NULL;
	m->nbacklogs = 0;
}

/* The store counted: keep the result for scrapes (a failure keeps the last). */
static void
metrics_counted(void *arg, const struct store_result *res)
{
	struct metrics *m = arg;

	m->counting = false;
	if (res->status != STORE_OK)
		return;
	metrics_free_backlogs(m);
	if (res->nbacklogs > 0)
		m->backlogs = xcalloc(res->nbacklogs, sizeof(*m->backlogs));
	for (size_t i = 0; i < res->nbacklogs; i++) {
		m->backlogs[i].endpoint = xstrdup(res->backlogs[i].endpoint);
		m->backlogs[i].open = res->backlogs[i].open;
		m->backlogs[i].dead = res->backlogs[i].dead;
	}
	m->nbacklogs = res->nbacklogs;
	m->db_bytes = res->db_bytes;
	m->wal_bytes = res->wal_bytes;
	m->counted = true;
	m->counted_at = time_mono_us();
}

/* ---- snapshots ---------------------------------------------------------- */

static int
metrics_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Index of endpoint in m->known, or -1. */
static ssize_t
metrics_find(const struct metrics *m, const char *endpoint)
{
	char *const *p;

	if (m->nknown == 0)
		return -1;
	p = bsearch(&endpoint, m->known, m->nknown, sizeof(*m->known),
	    metrics_name_cmp);
	return p == NULL ? -1 : p - m->known;
}

/* Remember endpoint (kept in name order). */
static void
metrics_know(struct metrics *m, const char *endpoint)
{
	size_t i;

	if (metrics_find(m, endpoint) >= 0)
		return;
	for (i = m->nknown; i > 0 && strcmp(m->known[i - 1], endpoint) > 0; i--)
		;
	m->known = xreallocarray(m->known, m->nknown + 1, sizeof(*m->known));
	memmove(m->known + i + 1, m->known + i,
	    (m->nknown - i) * sizeof(*m->known));
	m->known[i] = xstrdup(endpoint);
	m->nknown++;
}

static void
metrics_know_session(struct session *s, void *arg)
{
	if (s->ep != NULL)
		metrics_know(arg, s->endpoint);
}

static void
metrics_know_durable(const char *endpoint, bool attached, void *arg)
{
	(void)attached;
	metrics_know(arg, endpoint);
}

/* A snapshot being filled, with the metrics it reads. */
struct metrics_fill {
	struct metrics		*m;
	struct metrics_snap	*snap;
};

static void
metrics_snap_session(struct session *s, void *arg)
{
	struct metrics_fill *f = arg;
	struct metrics_ep *ep = NULL;
	ssize_t i;

	f->snap->states[s->state]++;
	if (s->state == SESS_CLOSING || s->ep == NULL)
		return;
	if ((i = metrics_find(f->m, s->endpoint)) >= 0)
		ep = &f->snap->eps[i];
	if (ep != NULL)
		ep->sessions++;
	for (size_t k = 0; k < s->nsubs; k++) {
		if (s->subs[k]->durable != NULL)
			continue;	/* counted with the durable ones */
		f->snap->plain++;
		if (ep != NULL)
			ep->plain++;
	}
}

static void
metrics_snap_durable(const char *endpoint, bool attached, void *arg)
{
	struct metrics_fill *f = arg;
	ssize_t i = metrics_find(f->m, endpoint);

	if (attached)
		f->snap->dattached++;
	else
		f->snap->ddetached++;
	if (i < 0)
		return;
	if (attached)
		f->snap->eps[i].dattached++;
	else
		f->snap->eps[i].ddetached++;
}

/* Fill snap; free it with metrics_snap_done(). */
static void
metrics_snap(struct metrics *m, struct metrics_snap *snap)
{
	struct metrics_fill f = { m, snap };
	ssize_t k;

	memset(snap, 0, sizeof(*snap));
	snap->c = server_counters(m->srv);
	snap->now = time_mono_us();
	server_each_session(m->srv, metrics_know_session, m);
	durable_each(metrics_know_durable, m);
	for (size_t i = 0; i < m->nbacklogs; i++)
		metrics_know(m, m->backlogs[i].endpoint);
	snap->eps = xcalloc(m->nknown ? m->nknown : 1, sizeof(*snap->eps));
	server_each_session(m->srv, metrics_snap_session, &f);
	durable_each(metrics_snap_durable, &f);
	for (size_t i = 0; i < m->nbacklogs; i++) {
		snap->open += m->backlogs[i].open;
		snap->dead += m->backlogs[i].dead;
		if ((k = metrics_find(m, m->backlogs[i].endpoint)) >= 0) {
			snap->eps[k].open = m->backlogs[i].open;
			snap->eps[k].dead = m->backlogs[i].dead;
		}
	}
	snap->rates[0] = metrics_rate(m, snap->now, 10, false);
	snap->rates[1] = metrics_rate(m, snap->now, 60, false);
	snap->rates[2] = metrics_rate(m, snap->now, 10, true);
	snap->rates[3] = metrics_rate(m, snap->now, 60, true);
	snap->health = metrics_health(m->srv, snap->healthbuf,
	    sizeof(snap->healthbuf));
	store_health(server_store(m->srv), &snap->store);
}

static void
metrics_snap_done(struct metrics_snap *snap)
{
	free(snap->eps);
}

const char *
metrics_health(struct server *srv, char *buf, size_t len)
{
	struct store_health h;

	if (server_stopping(srv)) {
		snprintf(buf, len, "shutting down");
		return buf;
	}
	store_health(server_store(srv), &h);
	if (h.files_lost || h.damaged)
		snprintf(buf, len, "store: %s", h.error);
	else if (!h.write_ok)
		snprintf(buf, len, "store: the last write failed: %s", h.error);
	else if (h.pending > 0 && h.waiting_us > METRICS_STALL_US)
		snprintf(buf, len, "store: the writer thread has finished "
		    "nothing for %lld s (%zu operations waiting)",
		    (long long)(h.waiting_us / 1000000), h.pending);
	else
		return NULL;
	for (char *p = buf; *p != '\0'; p++)	/* one line */
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return buf;
}

/* ---- Prometheus text format 0.0.4 --------------------------------------- */

static void
metrics_family(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* A label value, escaped: backslash, double quote and newline. */
static void
metrics_escape(struct evbuffer *b, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\')
			evbuffer_add(b, "\\\\", 2);
		else if (*v == '"')
			evbuffer_add(b, "\\\"", 2);
		else if (*v == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, v, 1);
	}
}

/* "name{k1="v1",k2="v2"} " with k1 and k2 optional (NULL). */
static void
metrics_name(struct evbuffer *b, const char *name, const char *k1,
    const char *v1, const char *k2, const char *v2)
{
	evbuffer_add_printf(b, "%s", name);
	if (k1 != NULL) {
		evbuffer_add_printf(b, "{%s=\"", k1);
		metrics_escape(b, v1);
		if (k2 != NULL) {
			evbuffer_add_printf(b, "\",%s=\"", k2);
			metrics_escape(b, v2);
		}
		evbuffer_add(b, "\"}", 2);
	}
	evbuffer_add(b, " ", 1);
}

static void
metrics_u(struct evbuffer *b, const char *name, const char *k1,
    const char *v1, const char *k2, const char *v2, uint64_t v)
{
	metrics_name(b, name, k1, v1, k2, v2);
	evbuffer_add_printf(b, "%" PRIu64 "\n", v);
}

static void
metrics_f(struct evbuffer *b, const char *name, const char *k1,
    const char *v1, double v)
{
	metrics_name(b, name, k1, v1, NULL, NULL);
	evbuffer_add_printf(b, "%.3f\n", v);
}

/* A family with one sample and no labels. */
static void
metrics_one(struct evbuffer *b, const char *name, const char *type,
    const char *help, uint64_t v)
{
	metrics_family(b, name, type, help);
	metrics_u(b, name, NULL, NULL, NULL, NULL, v);
}

static void
metrics_prometheus_counters(struct evbuffer *b, const struct metrics_snap *s)
{
	const struct metrics_counters *c = s->c;
	char buf[32];
	bool always;

	metrics_one(b, "ccc_publish_accepted_total", "counter",
	    "Publishes stored and routed.", c->publish_accepted);
	metrics_one(b, "ccc_publish_duplicates_total", "counter",
	    "Publishes of an alert stored before with the same content: "
	    "confirmed again, not routed again.", c->publish_duplicates);
	metrics_family(b, "ccc_publish_refused_total", "counter",
	    "Publishes refused, by wire error code.");
	for (int code = 0; code < METRICS_NCODES; code++) {
		always = false;
		for (size_t i = 0; i < sizeof(metrics_publish_codes) /
		    sizeof(metrics_publish_codes[0]); i++)
			always |= metrics_publish_codes[i] == code;
		if (always || c->publish_refused[code] > 0)
			metrics_u(b, "ccc_publish_refused_total", "code",
			    metrics_code_name(code, buf, sizeof(buf)), NULL,
			    NULL, c->publish_refused[code]);
	}
	metrics_family(b, "ccc_deliveries_total", "counter",
	    "Deliver frames queued: live to plain subscriptions, durable "
	    "(redeliveries included) and history replays.");
	metrics_u(b, "ccc_deliveries_total", "kind", "plain", NULL, NULL,
	    c->deliveries_plain);
	metrics_u(b, "ccc_deliveries_total", "kind", "durable", NULL, NULL,
	    c->deliveries_durable);
	metrics_u(b, "ccc_deliveries_total", "kind", "replay", NULL, NULL,
	    c->deliveries_replayed);
	metrics_one(b, "ccc_redeliveries_total", "counter",
	    "Durable deliveries sent again (reconnect or acknowledgement "
	    "timeout).", c->redeliveries);
	metrics_one(b, "ccc_dead_lettered_total", "counter",
	    "Durable deliveries moved to the dead-letter list.",
	    c->dead_lettered);
	metrics_one(b, "ccc_expired_total", "counter",
	    "Durable deliveries dropped because their alert expired.",
	    c->expired);
	metrics_one(b, "ccc_connections_accepted_total", "counter",
	    "TCP connections accepted as sessions.", c->connections_accepted);
	metrics_one(b, "ccc_connections_dropped_total", "counter",
	    "Connections closed unanswered past the connection limit.",
	    c->connections_dropped);
	metrics_family(b, "ccc_connections_refused_total", "counter",
	    "Connections closed at accept, before TLS, by the limit on "
	    "handshakes under way that they met.");
	metrics_u(b, "ccc_connections_refused_total", "limit",
	    "max_handshakes", NULL, NULL, c->handshakes_over_limit);
	metrics_u(b, "ccc_connections_refused_total", "limit",
	    "max_handshakes_per_address", NULL, NULL,
	    c->handshakes_over_address);
	metrics_one(b, "ccc_handshakes_evicted_total", "counter",
	    "Handshakes of the busiest addresses closed to make room for a "
	    "connection from a less busy one.", c->handshakes_evicted);
	metrics_one(b, "ccc_handshakes_refused_total", "counter",
	    "Handshakes refused: TLS failures and identities refused after "
	    "TLS.", c->handshakes_refused);
	metrics_family(b, "ccc_sessions_closed_total", "counter",
	    "Sessions ended, by reason.");
	for (int r = 0; r < METRICS_CLOSE_N; r++)
		metrics_u(b, "ccc_sessions_closed_total", "reason",
		    metrics_close_names[r], NULL, NULL, c->sessions_closed[r]);
	metrics_one(b, "ccc_frames_received_total", "counter",
	    "Protocol frames received.", c->frames_in);
	metrics_one(b, "ccc_frames_sent_total", "counter",
	    "Protocol frames queued for sending.", c->frames_out);
	metrics_one(b, "ccc_frame_bytes_received_total", "counter",
	    "Bytes of the frames received (before TLS).", c->bytes_in);
	metrics_one(b, "ccc_frame_bytes_sent_total", "counter",
	    "Bytes of the frames queued for sending (before TLS).",
	    c->bytes_out);
}

static void
metrics_prometheus_gauges(struct metrics *m, struct evbuffer *b,
    const struct metrics_snap *s)
{
	static const char *const kinds[] = { "plain", "durable_attached",
	    "durable_detached" };
	uint64_t v[3];
	int64_t wall;

	metrics_family(b, "ccc_sessions", "gauge",
	    "Sessions open, by state.");
	for (int i = 0; i < 4; i++)
		metrics_u(b, "ccc_sessions", "state", metrics_state_names[i],
		    NULL, NULL, s->states[i]);
	metrics_family(b, "ccc_subscriptions", "gauge",
	    "Subscriptions: plain, durable with a session, durable without.");
	v[0] = s->plain;
	v[1] = s->dattached;
	v[2] = s->ddetached;
	for (int i = 0; i < 3; i++)
		metrics_u(b, "ccc_subscriptions", "kind", kinds[i], NULL, NULL,
		    v[i]);
	metrics_family(b, "ccc_endpoint_sessions", "gauge",
	    "Sessions of each endpoint past the handshake.");
	for (size_t i = 0; i < m->nknown; i++)
		metrics_u(b, "ccc_endpoint_sessions", "endpoint", m->known[i],
		    NULL, NULL, s->eps[i].sessions);
	metrics_family(b, "ccc_endpoint_subscriptions", "gauge",
	    "Subscriptions of each endpoint, by kind.");
	for (size_t i = 0; i < m->nknown; i++) {
		v[0] = s->eps[i].plain;
		v[1] = s->eps[i].dattached;
		v[2] = s->eps[i].ddetached;
		for (int k = 0; k < 3; k++)
			metrics_u(b, "ccc_endpoint_subscriptions", "endpoint",
			    m->known[i], "kind", kinds[k], v[k]);
	}
	metrics_family(b, "ccc_endpoint_inbox_depth", "gauge",
	    "Durable deliveries to each endpoint not acknowledged yet "
	    "(waiting or in flight), as of the last store count.");
	for (size_t i = 0; i < m->nknown; i++)
		metrics_u(b, "ccc_endpoint_inbox_depth", "endpoint",
		    m->known[i], NULL, NULL, s->eps[i].open);
	metrics_family(b, "ccc_endpoint_dead_letters", "gauge",
	    "Durable deliveries to each endpoint in the dead-letter list, as "
	    "of the last store count.");
	for (size_t i = 0; i < m->nknown; i++)
		metrics_u(b, "ccc_endpoint_dead_letters", "endpoint",
		    m->known[i], NULL, NULL, s->eps[i].dead);
	metrics_family(b, "ccc_store_bytes", "gauge",
	    "Size of the store's files, as of the last store count.");
	metrics_u(b, "ccc_store_bytes", "file", "db", NULL, NULL, m->db_bytes);
	metrics_u(b, "ccc_store_bytes", "file", "wal", NULL, NULL,
	    m->wal_bytes);
	metrics_family(b, "ccc_store_count_age_seconds", "gauge",
	    "Seconds since the store last counted backlogs and sizes "
	    "(-1: not yet).");
	metrics_f(b, "ccc_store_count_age_seconds", NULL, NULL, m->counted ?
	    (double)(s->now - m->counted_at) / METRICS_SEC : -1.0);
	metrics_one(b, "ccc_store_pending_operations", "gauge",
	    "Store operations queued and not finished.", s->store.pending);
	metrics_one(b, "ccc_store_operations_total", "counter",
	    "Store operations carried out, failed ones included.",
	    s->store.operations);
	metrics_one(b, "ccc_store_transactions_total", "counter",
	    "Store transactions the operations ran in (group commit: many "
	    "operations share one).", s->store.transactions);
	metrics_one(b, "ccc_store_syncs_total", "counter",
	    "Syncs of the store to disk, each for every transaction committed "
	    "since the one before.", s->store.syncs);
	metrics_family(b, "ccc_store_check", "gauge",
	    "The store's integrity check in this run: 1 for its state "
	    "(passed, running in the background, failed: nothing is stored, "
	    "not_run: checked before serving at the next start).");
	for (int i = 0; i < METRICS_NCHECK; i++)
		metrics_u(b, "ccc_store_check", "state", metrics_check_names[i],
		    NULL, NULL, (int)s->store.check == i);
	metrics_one(b, "ccc_healthy", "gauge",
	    "1 when /healthz answers ok, else 0.", s->health == NULL);
	metrics_family(b, "ccc_publish_rate", "gauge",
	    "Publishes accepted per second over the window.");
	metrics_f(b, "ccc_publish_rate", "window", "10s", s->rates[0]);
	metrics_f(b, "ccc_publish_rate", "window", "60s", s->rates[1]);
	metrics_family(b, "ccc_delivery_rate", "gauge",
	    "Deliver frames (plain and durable) per second over the window.");
	metrics_f(b, "ccc_delivery_rate", "window", "10s", s->rates[2]);
	metrics_f(b, "ccc_delivery_rate", "window", "60s", s->rates[3]);
	metrics_family(b, "ccc_uptime_seconds", "gauge",
	    "Seconds since start-up.");
	metrics_f(b, "ccc_uptime_seconds", NULL, NULL,
	    (double)(s->now - m->started_mono) / METRICS_SEC);
	wall = m->started_wall / 1000000;
	metrics_one(b, "ccc_start_time_seconds", "gauge",
	    "Start-up time, seconds since the Unix epoch.", (uint64_t)wall);
	metrics_one(b, "ccc_registry_endpoints", "gauge",
	    "Endpoints in the current registry.",
	    registry_nendpoints(server_registry(m->srv)));
	metrics_family(b, "ccc_build_info", "gauge",
	    "The broker's version, as a label.");
	metrics_u(b, "ccc_build_info", "version", CCC_VERSION, NULL, NULL, 1);
}

/* ---- JSON status -------------------------------------------------------- */

static void
metrics_json_u(json_t *o, const char *key, uint64_t v)
{
	json_object_set_new(o, key, json_integer((json_int_t)v));
}

static json_t *
metrics_json_subs(uint64_t plain, uint64_t attached, uint64_t detached)
{
	json_t *o = json_object();

	metrics_json_u(o, "plain", plain);
	metrics_json_u(o, "durable_attached", attached);
	metrics_json_u(o, "durable_detached", detached);
	return o;
}

static json_t *
metrics_json_totals(const struct metrics_counters *c)
{
	json_t *o = json_object(), *refused = json_object(),
	    *closed = json_object(), *ataccept = json_object();
	char buf[32];

	metrics_json_u(o, "publish_accepted", c->publish_accepted);
	metrics_json_u(o, "publish_duplicates", c->publish_duplicates);
	for (int code = 0; code < METRICS_NCODES; code++)
		if (c->publish_refused[code] > 0)
			metrics_json_u(refused, metrics_code_name(code, buf,
			    sizeof(buf)), c->publish_refused[code]);
	json_object_set_new(o, "publish_refused", refused);
	metrics_json_u(o, "deliveries_plain", c->deliveries_plain);
	metrics_json_u(o, "deliveries_durable", c->deliveries_durable);
	metrics_json_u(o, "deliveries_replayed", c->deliveries_replayed);
	metrics_json_u(o, "redeliveries", c->redeliveries);
	metrics_json_u(o, "dead_lettered", c->dead_lettered);
	metrics_json_u(o, "expired", c->expired);
	metrics_json_u(o, "connections_accepted", c->connections_accepted);
	metrics_json_u(o, "connections_dropped", c->connections_dropped);
	metrics_json_u(ataccept, "max_handshakes", c->handshakes_over_limit);
	metrics_json_u(ataccept, "max_handshakes_per_address",
	    c->handshakes_over_address);
	json_object_set_new(o, "connections_refused", ataccept);
	metrics_json_u(o, "handshakes_evicted", c->handshakes_evicted);
	metrics_json_u(o, "handshakes_refused", c->handshakes_refused);
	for (int r = 0; r < METRICS_CLOSE_N; r++)
		if (c->sessions_closed[r] > 0)
			metrics_json_u(closed, metrics_close_names[r],
			    c->sessions_closed[r]);
	json_object_set_new(o, "sessions_closed", closed);
	metrics_json_u(o, "frames_in", c->frames_in);
	metrics_json_u(o, "frames_out", c->frames_out);
	metrics_json_u(o, "bytes_in", c->bytes_in);
	metrics_json_u(o, "bytes_out", c->bytes_out);
	return o;
}

json_t *
metrics_status_json(struct server *srv)
{
	struct metrics *m = server_metrics(srv);
	struct metrics_snap s;
	json_t *o = json_object(), *sess = json_object(), *ep;
	json_t *rates = json_object(), *store = json_object(),
	    *eps = json_object();
	uint64_t total = 0;
	char when[40];

	metrics_snap(m, &s);
	json_object_set_new(o, "version", json_string(CCC_VERSION));
	json_object_set_new(o, "started_at", json_string(time_format_rfc3339(
	    m->started_wall, when, sizeof(when))));
	metrics_json_u(o, "uptime_seconds",
	    (uint64_t)((s.now - m->started_mono) / 1000000));
	json_object_set_new(o, "healthy", json_boolean(s.health == NULL));
	json_object_set_new(o, "health", json_string(s.health == NULL ? "ok" :
	    s.health));
	metrics_json_u(o, "registry_endpoints",
	    registry_nendpoints(server_registry(srv)));
	for (int i = 0; i < 4; i++) {
		metrics_json_u(sess, metrics_state_names[i], s.states[i]);
		total += s.states[i];
	}
	metrics_json_u(sess, "total", total);
	json_object_set_new(o, "sessions", sess);
	json_object_set_new(o, "subscriptions", metrics_json_subs(s.plain,
	    s.dattached, s.ddetached));
	json_object_set_new(o, "totals", metrics_json_totals(s.c));
	json_object_set_new(rates, "publish_10s", json_real(s.rates[0]));
	json_object_set_new(rates, "publish_60s", json_real(s.rates[1]));
	json_object_set_new(rates, "deliver_10s", json_real(s.rates[2]));
	json_object_set_new(rates, "deliver_60s", json_real(s.rates[3]));
	json_object_set_new(o, "rates", rates);
	metrics_json_u(store, "db_bytes", m->db_bytes);
	metrics_json_u(store, "wal_bytes", m->wal_bytes);
	metrics_json_u(store, "inbox_depth", s.open);
	metrics_json_u(store, "dead_letters", s.dead);
	json_object_set_new(store, "counted_seconds_ago", m->counted ?
	    json_integer((json_int_t)((s.now - m->counted_at) / 1000000)) :
	    json_null());
	metrics_json_u(store, "pending_operations", s.store.pending);
	json_object_set_new(store, "check", json_string(
	    metrics_check_names[s.store.check]));
	json_object_set_new(store, "write_ok", json_boolean(s.store.write_ok));
	if (!s.store.write_ok)
		json_object_set_new(store, "error", json_string(s.store.error));
	json_object_set_new(o, "store", store);
	for (size_t i = 0; i < m->nknown; i++) {
		ep = json_object();
		metrics_json_u(ep, "connections", s.eps[i].sessions);
		json_object_set_new(ep, "subscriptions", metrics_json_subs(
		    s.eps[i].plain, s.eps[i].dattached, s.eps[i].ddetached));
		metrics_json_u(ep, "inbox_depth", s.eps[i].open);
		metrics_json_u(ep, "dead_letters", s.eps[i].dead);
		json_object_set_new(eps, m->known[i], ep);
	}
	json_object_set_new(o, "endpoints", eps);
	metrics_snap_done(&s);
	return o;
}

/* ---- HTTP --------------------------------------------------------------- */

static void
metrics_reply(struct evhttp_request *req, int code, const char *reason,
    const char *type, struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char len[32];

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		/* libevent 2.1 would send the body of a HEAD reply */
		snprintf(len, sizeof(len), "%zu", evbuffer_get_length(body));
		evhttp_add_header(h, "Content-Length", len);
		evbuffer_drain(body, evbuffer_get_length(body));
	}
	evhttp_send_reply(req, code, reason, body);
}

static void
metrics_http_cb(struct evhttp_request *req, void *arg)
{
	struct metrics *m = arg;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	struct evbuffer *body = evbuffer_new();
	struct metrics_snap s;
	char why[320];
	const char *health;

	if (body == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		evbuffer_add_printf(body, "only GET and HEAD\n");
		metrics_reply(req, 405, "Method Not Allowed",
		    "text/plain; charset=utf-8", body);
	} else if (path != NULL && strcmp(path, "/metrics") == 0) {
		metrics_snap(m, &s);
		metrics_prometheus_counters(body, &s);
		metrics_prometheus_gauges(m, body, &s);
		metrics_snap_done(&s);
		metrics_reply(req, 200, "OK",
		    "text/plain; version=0.0.4; charset=utf-8", body);
	} else if (path != NULL && strcmp(path, "/healthz") == 0) {
		health = metrics_health(m->srv, why, sizeof(why));
		evbuffer_add_printf(body, "%s\n", health == NULL ? "ok" :
		    health);
		metrics_reply(req, health == NULL ? 200 : 503, health == NULL ?
		    "OK" : "Service Unavailable", "text/plain; charset=utf-8",
		    body);
	} else {
		evbuffer_add_printf(body, "not found: try /metrics or "
		    "/healthz\n");
		metrics_reply(req, 404, "Not Found",
		    "text/plain; charset=utf-8", body);
	}
	evbuffer_free(body);
}

/* Bind the HTTP listener on metrics.listen; -1 with err set. */
static int
metrics_listen(struct metrics *m, const struct config *cfg, char *err,
    size_t errlen)
{
	struct evhttp_bound_socket *bound;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	bool v6;

	memset(&ss, 0, sizeof(ss));
	if ((m->http = evhttp_new(server_base(m->srv))) == NULL) {
		snprintf(err, errlen, "metrics: cannot create the HTTP "
		    "listener");
		return -1;
	}
	evhttp_set_max_headers_size(m->http, METRICS_HTTP_HEADERS);
	evhttp_set_max_body_size(m->http, 0);
	evhttp_set_timeout(m->http, METRICS_HTTP_TIMEOUT);
	/* every method reaches metrics_http_cb, which answers 405 itself */
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	evhttp_set_gencb(m->http, metrics_http_cb, m);
	v6 = strchr(cfg->metrics_host, ':') != NULL;
	errno = 0;
	if ((bound = evhttp_bind_socket_with_handle(m->http, cfg->metrics_host,
	    cfg->metrics_port)) == NULL) {
		snprintf(err, errlen, "metrics.listen: cannot listen on "
		    "%s%s%s:%u: %s (another address, or \"\" to turn it off)",
		    v6 ? "[" : "", cfg->metrics_host, v6 ? "]" : "",
		    cfg->metrics_port, errno ? strerror(errno) : "bind failed");
		return -1;
	}
	if (getsockname(evhttp_bound_socket_get_fd(bound),
	    (struct sockaddr *)&ss, &sslen) == 0) {
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *in6 = (void *)&ss;

			inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
			port = ntohs(in6->sin6_port);
		} else {
			struct sockaddr_in *in = (void *)&ss;

			inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
			port = ntohs(in->sin_port);
		}
	}
	snprintf(m->address, sizeof(m->address), "%s%s%s:%d",
	    ss.ss_family == AF_INET6 ? "[" : "", ip,
	    ss.ss_family == AF_INET6 ? "]" : "", port);
	return 0;
}

/* ---- life --------------------------------------------------------------- */

struct metrics *
metrics_new(struct server *srv, char *err, size_t errlen)
{
	const struct config *cfg = server_config(srv);
	struct metrics *m = xcalloc(1, sizeof(*m));
	struct timeval second = { 1, 0 };
	struct timeval refresh = { (time_t)cfg->metrics_refresh, 0 };

	m->srv = srv;
	m->started_mono = time_mono_us();
	m->started_wall = time_now_us();
	if (cfg->metrics_host != NULL && metrics_listen(m, cfg, err,
	    errlen) < 0) {
		metrics_free(m);
		return NULL;
	}
	metrics_sample_now(m);
	m->tick = event_new(server_base(srv), -1, EV_PERSIST, metrics_tick_cb,
	    m);
	m->refresh = event_new(server_base(srv), -1, EV_PERSIST,
	    metrics_refresh_cb, m);
	evtimer_add(m->tick, &second);
	evtimer_add(m->refresh, &refresh);
	metrics_refresh_cb(-1, 0, m);	/* a first count at once */
	if (m->http != NULL)
		log_info("metrics: serving http://%s/metrics and /healthz",
		    m->address);
	return m;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	if (m->http != NULL)
		evhttp_free(m->http);
	if (m->tick != NULL) {
		event_free(m->tick);
		event_free(m->refresh);
	}
	metrics_free_backlogs(m);
	for (size_t i = 0; i < m->nknown; i++)
		free(m->known[i]);
	free(m->known);
	free(m);
}

const char *
metrics_address(const struct metrics *m)
{
	return m->http != NULL ? m->address : NULL;
}
