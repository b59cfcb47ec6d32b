/*
 * console_feed.c — the console's live feed (console_feed.h): one
 * Server-Sent Events stream per open GET /api/feed.
 *
 * A feed is a subscription in the server's topic tree whose patterns are
 * the ones the access rules give its endpoint (acl_subscribe_patterns), so
 * routing finds it like a session's (route.h) and the disclosure policy
 * filters it by the same plan. feed_deliver() encodes the alert's event
 * once per alert and appends it to each feed's connection.
 *
 * Catch-up (a start point: Last-Event-ID or ?after=): the feed enters the
 * tree and notes the last seq committed (upto) in the same callback, reads
 * the store for after < seq <= upto a page at a time (store_history, on the
 * writer thread), filters each row as history.c does (the feed's patterns,
 * history_alert_may_reach) and holds live events in an evbuffer meanwhile:
 * every alert after upto reaches it live, none before (history.h's seam),
 * so there is no gap and no duplicate. It sends at most console.catch_up
 * alerts, the newest: the pages are read oldest first into a ring of
 * catch_up events, the oldest pushed out as newer ones come; then a "gap"
 * event says how many were missed, the ring is sent, then the held events.
 * The work is bounded: at most FEED_SCAN_MAX seqs are read (older ones are
 * counted as missed without being read: the count is then an upper bound,
 * holes in the seqs and alerts the endpoint may not see included) and the
 * ring holds at most limits.max_output_buffer bytes.
 *
 * Lifetime: a feed ends (feed_end) on a reload, a shutdown, a slow consumer,
 * a store failure or the browser's close (the connection's close callback).
 * Ending takes it out of the tree at once; it is freed later from its
 * reaper event (never inside one of its own callbacks), or by the store's
 * callback when a read is still under way.
 *
 * Owns: the list of open feeds, their output bound and their events (an
 * alert's data is console_summary(), the history's summary).
 * Must never: send an alert its endpoint could not subscribe to or that
 * the disclosure policy keeps from it; send details beyond the summary;
 * free a feed inside one of its own callbacks; queue more than
 * limits.max_output_buffer for a browser.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "acl.h"
#include "audit.h"
#include "console.h"
#include "console_feed.h"
#include "history.h"
#include "log.h"
#include "policy.h"
#include "server.h"
#include "session.h"
#include "store.h"
#include "timeutil.h"
#include "topic.h"
#include "uuid.h"
#include "xmalloc.h"

#define FEED_PAGE		500	/* alerts read per store operation */
#define FEED_SCAN_MAX		100000	/* seqs a catch-up reads at most */
#define FEED_MAX_PATTERNS	256	/* subscribe patterns a feed takes */

/* One event of a catch-up, kept until the last page is read. */
struct feed_caught {
	char		*event;		/* the SSE text */
	size_t		 len;
	char		 alert[UUID_STRLEN];
	char		 origin[64];
};

struct feed {
	TAILQ_ENTRY(feed)	 entry;		/* the open feeds (and ended, not yet freed) */
	struct server		*srv;
	uint64_t		 serial;	/* for logs: "feed 7" */
	struct feed_identity	 id;
	struct evhttp_request	*req;		/* the stream; NULL once ended or closed */
	struct evhttp_connection *evcon;	/* its connection, NULL once closed */
	struct evhttp_request	*orphan;	/* detached by libevent as the
						   connection failed: ours to free */
	struct subscription	 sub;		/* in the tree while in_tree; sub.feed == this */
	bool			 in_tree;
	bool			 ended;		/* no more output; waits for its reaper */
	struct event		*ping;		/* every FEED_PING_SECONDS */
	struct event		*reaper;	/* frees the feed from a clean stack */

	/* catch-up */
	bool			 catching_up;	/* live events go to held */
	bool			 reading;	/* a store_history will call back */
	uint64_t		 after;		/* last seq read */
	uint64_t		 upto;		/* last seq committed as it opened */
	uint64_t		 missed;	/* alerts not sent: the gap */
	struct evbuffer		*held;		/* live events during the catch-up */
	struct feed_caught	*ring;		/* the newest events read, circular */
	size_t			 ring_max;	/* kept at most: console.catch_up */
	size_t			 ring_size;	/* slots allocated (grown up to ring_max) */
	size_t			 ring_first, ring_n, ring_bytes;
};

static TAILQ_HEAD(, feed) feed_list = TAILQ_HEAD_INITIALIZER(feed_list);
static size_t feed_nopen;		/* feeds not ended */
static uint64_t feed_serials;
static struct evbuffer *feed_chunk;	/* scratch for one chunk; kept */

const char *
feed_endpoint(const struct feed *f)
{
	return f->id.endpoint;
}

const struct feed_identity *
feed_identity_of(const struct feed *f)
{
	return &f->id;
}

size_t
feed_count(void)
{
	return feed_nopen;
}

/* ---- events ------------------------------------------------------------- */

/*
 * The "alert" event of a (seq, on topic), as a new string (*len bytes);
 * NULL when it cannot be written as JSON.
 */
static char *
feed_alert_event(const Ccc__V1__Alert *a, uint64_t seq, const char *topic,
    size_t *len)
{
	json_t *o = console_summary(a, seq, topic, time_now_us());
	char *data, *ev;
	int n;

	if (o == NULL)
		return NULL;
	data = json_dumps(o, JSON_COMPACT);	/* escapes line breaks */
	json_decref(o);
	if (data == NULL)
		return NULL;
	n = asprintf(&ev, "event: alert\nid: %" PRIu64 "\ndata: %s\n\n", seq,
	    data);
	free(data);
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return ev;
}

/* ---- output -------------------------------------------------------------- */

/* Bytes queued on f's connection, not yet written to the socket. */
static size_t
feed_queued(const struct feed *f)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(f->evcon);

	return bev != NULL ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

static void	feed_end(struct feed *f, const char *reason);

/*
 * Send data on f's stream. Returns 0, or -1 when f is ended or the data
 * would push its queued output past limits.max_output_buffer (f is then
 * ended as a slow consumer).
 */
static int
feed_write(struct feed *f, const char *data, size_t len)
{
	uint32_t bound = server_config(f->srv)->max_output_buffer;

	if (f->ended || f->req == NULL)
		return -1;
	if (feed_queued(f) + len > bound) {
		log_info("feed %llu: %s from %s: more than %u bytes waited: "
		    "ended as a slow consumer", (unsigned long long)f->serial,
		    f->id.endpoint, f->id.peer, bound);
		feed_end(f, "slow consumer: the browser did not read its "
		    "alerts fast enough");
		return -1;
	}
	evbuffer_add(feed_chunk, data, len);
	evhttp_send_reply_chunk(f->req, feed_chunk);
	evbuffer_drain(feed_chunk, evbuffer_get_length(feed_chunk));
	return 0;
}

/* Hold a live event behind the catch-up; -1: f ended as a slow consumer. */
static int
feed_hold(struct feed *f, const char *data, size_t len)
{
	uint32_t bound = server_config(f->srv)->max_output_buffer;

	if (evbuffer_get_length(f->held) + len > bound) {
		log_info("feed %llu: %s from %s: more than %u bytes of alerts "
		    "waited for the catch-up: ended as a slow consumer",
		    (unsigned long long)f->serial, f->id.endpoint, f->id.peer,
		    bound);
		feed_end(f, "slow consumer: too many alerts waited for the "
		    "catch-up");
		return -1;
	}
	evbuffer_add(f->held, data, len);
	return 0;
}

/* ---- lifetime ------------------------------------------------------------ */

static void
feed_tree_leave(struct feed *f)
{
	if (!f->in_tree)
		return;
	for (size_t i = 0; i < f->sub.npatterns; i++)
		topic_tree_remove(server_topics(f->srv), f->sub.patterns[i],
		    &f->sub);
	f->in_tree = false;
}

static void
feed_ring_clear(struct feed *f)
{
	for (size_t i = 0; i < f->ring_n; i++)
		free(f->ring[(f->ring_first + i) % f->ring_size].event);
	f->ring_n = f->ring_first = f->ring_bytes = 0;
}

static void
feed_free(struct feed *f)
{
	feed_tree_leave(f);
	if (!f->ended)
		feed_nopen--;
	TAILQ_REMOVE(&feed_list, f, entry);
	if (f->req != NULL)	/* the connection outlives the feed */
		console_on_close(f->req, NULL, NULL);
	if (f->orphan != NULL)
		evhttp_send_reply_end(f->orphan);	/* frees a detached request */
	for (size_t i = 0; i < f->sub.npatterns; i++)
		free(f->sub.patterns[i]);
	free(f->sub.patterns);
	feed_ring_clear(f);
	free(f->ring);
	if (f->held != NULL)
		evbuffer_free(f->held);
	if (f->ping != NULL)
		event_free(f->ping);
	if (f->reaper != NULL)
		event_free(f->reaper);
	free(f);
}

static void
feed_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct feed *f = arg;

	(void)fd;
	(void)what;
	if (!f->reading)	/* else the store's callback frees it */
		feed_free(f);
}

/*
 * The console's close hook of an ended feed's connection: nothing to do
 * (the feed may be gone), but the connection stays busy for the console
 * until it closes, after the bye is written, so that a reload does not
 * free it with the bye unsent.
 */
static void
feed_closing_cb(void *arg)
{
	(void)arg;
}

/*
 * End f: out of the tree, no more output. With reason and the stream still
 * open, "bye" first; then the stream's end and, once that is written, the
 * connection's (Connection: close, read by libevent when the reply is
 * done): the browser reconnects with a new handshake, its certificate
 * verified anew. Freed later, from its reaper.
 */
static void
feed_end(struct feed *f, const char *reason)
{
	if (f->ended)
		return;
	feed_tree_leave(f);
	if (f->req != NULL && reason != NULL) {
		json_t *o = json_pack("{s:s}", "reason", reason);
		char *data = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

		evbuffer_add_printf(feed_chunk, "event: bye\ndata: %s\n\n",
		    data != NULL ? data : "{}");
		free(data);
		json_decref(o);
		evhttp_send_reply_chunk(f->req, feed_chunk);
		evbuffer_drain(feed_chunk, evbuffer_get_length(feed_chunk));
	}
	f->ended = true;
	feed_nopen--;
	if (f->req != NULL) {
		evhttp_add_header(evhttp_request_get_output_headers(f->req),
		    "Connection", "close");
		console_on_close(f->req, feed_closing_cb, NULL);
		evhttp_send_reply_end(f->req);
		f->req = NULL;
		f->evcon = NULL;
	}
	evtimer_del(f->ping);
	event_active(f->reaper, 0, 0);
}

/*
 * The connection is going away (console_on_close). Failed under the stream,
 * libevent has detached the request for us to free; freed by evhttp_free
 * or the console, it frees it itself.
 */
static void
feed_close_cb(void *arg)
{
	struct feed *f = arg;

	if (f->req != NULL && evhttp_request_get_connection(f->req) == NULL)
		f->orphan = f->req;
	f->req = NULL;
	f->evcon = NULL;
	if (!f->ended)
		log_debug("feed %llu: %s from %s: closed by the browser",
		    (unsigned long long)f->serial, f->id.endpoint, f->id.peer);
	feed_end(f, NULL);
}

static void
feed_ping_cb(evutil_socket_t fd, short what, void *arg)
{
	static const char ping[] = ": ping\n\n";

	(void)fd;
	(void)what;
	feed_write(arg, ping, sizeof(ping) - 1);
}

/* ---- catch-up ------------------------------------------------------------ */

static void	feed_page(void *, const struct store_result *);

static void
feed_read(struct feed *f)
{
	struct audit_rec ar = { .endpoint = f->id.endpoint,
	    .subject = f->id.subject, .fingerprint = f->id.fingerprint,
	    .peer = f->id.peer, .detail = AUDIT_CONSOLE };

	f->reading = true;
	store_history(server_store(f->srv), 0, f->after, f->upto, FEED_PAGE,
	    &ar, feed_page, f);
}

/* Room for one more event in f's ring: grown in order, up to ring_max. */
static void
feed_ring_grow(struct feed *f)
{
	size_t size = f->ring_size < 64 ? 64 : f->ring_size * 2;
	struct feed_caught *ring;

	if (size > f->ring_max)
		size = f->ring_max;
	ring = xcalloc(size, sizeof(*ring));
	for (size_t i = 0; i < f->ring_n; i++)
		ring[i] = f->ring[(f->ring_first + i) % f->ring_size];
	free(f->ring);
	f->ring = ring;
	f->ring_size = size;
	f->ring_first = 0;
}

/*
 * Keep ev (taken over) as the newest of the catch-up, pushing out the
 * oldest past console.catch_up events or limits.max_output_buffer bytes.
 */
static void
feed_ring_push(struct feed *f, char *ev, size_t len, const char *alert,
    const char *origin)
{
	uint32_t bound = server_config(f->srv)->max_output_buffer;
	struct feed_caught *c;

	while (f->ring_n > 0 && (f->ring_n == f->ring_max ||
	    f->ring_bytes + len > bound)) {
		c = &f->ring[f->ring_first];
		f->ring_bytes -= c->len;
		free(c->event);
		f->ring_first = (f->ring_first + 1) % f->ring_size;
		f->ring_n--;
		f->missed++;
	}
	if (f->ring_max == 0 || len > bound) {
		free(ev);
		f->missed++;
		return;
	}
	if (f->ring_n == f->ring_size)
		feed_ring_grow(f);
	c = &f->ring[(f->ring_first + f->ring_n++) % f->ring_size];
	c->event = ev;
	c->len = len;
	snprintf(c->alert, sizeof(c->alert), "%s", alert);
	snprintf(c->origin, sizeof(c->origin), "%s", origin);
	f->ring_bytes += len;
}

/* The last page is read: gap, the events kept, then the live ones held. */
static void
feed_caught_up(struct feed *f)
{
	const char *ids[64], *origins[64];
	size_t n = 0, sent = 0;
	char gap[64];
	int len;

	if (f->missed > 0) {
		len = snprintf(gap, sizeof(gap), "event: gap\ndata: "
		    "{\"missed\":%" PRIu64 "}\n\n", f->missed);
		if (feed_write(f, gap, (size_t)len) < 0)
			return;
	}
	for (size_t i = 0; i < f->ring_n; i++) {
		struct feed_caught *c = &f->ring[(f->ring_first + i) % f->ring_size];

		if (feed_write(f, c->event, c->len) < 0)
			break;
		ids[n] = c->alert;
		origins[n++] = c->origin;
		sent++;
		if (n == sizeof(ids) / sizeof(ids[0]) || i + 1 == f->ring_n) {
			audit_feed_caught_up(f->srv, &f->id, ids, origins, n);
			n = 0;
		}
	}
	audit_feed_caught_up(f->srv, &f->id, ids, origins, n);	/* cut short */
	if (f->ended)
		return;
	log_info("feed %llu: %s from %s: caught up %zu alerts after %" PRIu64
	    " (%" PRIu64 " missed), now live", (unsigned long long)f->serial,
	    f->id.endpoint, f->id.peer, sent, f->upto, f->missed);
	feed_ring_clear(f);
	f->catching_up = false;
	if (evbuffer_get_length(f->held) > 0) {
		if (feed_queued(f) + evbuffer_get_length(f->held) >
		    server_config(f->srv)->max_output_buffer) {
			feed_end(f, "slow consumer: the browser did not read its "
			    "alerts fast enough");
			return;
		}
		evhttp_send_reply_chunk(f->req, f->held);
	}
}

static void
feed_page(void *arg, const struct store_result *res)
{
	struct feed *f = arg;
	int64_t now = time_now_us();

	f->reading = false;
	if (f->ended) {		/* its reaper left it to us */
		feed_free(f);
		return;
	}
	if (res->status != STORE_OK) {
		log_error("feed %llu: %s: the catch-up could not read the store: "
		    "%s", (unsigned long long)f->serial, f->id.endpoint,
		    res->error ? res->error : "store failure");
		feed_end(f, "the stored alerts could not be read; try again");
		return;
	}
	for (size_t i = 0; i < res->nrows; i++) {
		const struct store_row *row = &res->rows[i];
		Ccc__V1__Alert *a;
		char *ev = NULL;
		size_t len = 0;

		f->after = row->tag;
		if (!history_matches(&f->sub, row->topic))
			continue;
		if ((a = ccc__v1__alert__unpack(NULL, row->body_len,
		    row->body)) == NULL)
			continue;
		if (history_alert_may_reach(a, f->id.endpoint, now))
			ev = feed_alert_event(a, row->tag, row->topic, &len);
		ccc__v1__alert__free_unpacked(a, NULL);
		if (ev != NULL)
			feed_ring_push(f, ev, len, row->alert_id, row->origin);
	}
	if (res->nrows == FEED_PAGE && f->after < f->upto)
		feed_read(f);
	else
		feed_caught_up(f);
}

/* ---- open, deliver, end ----------------------------------------------- */

static void
feed_open_as(struct server *srv, struct evhttp_request *req,
    const struct feed_identity *id, uint64_t after, bool has_after)
{
	const struct config *cfg = server_config(srv);
	const struct registry *reg = server_registry(srv);
	const struct endpoint *ep = registry_endpoint(reg, id->endpoint);
	const char *patterns[FEED_MAX_PATTERNS];
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct timeval ping = { FEED_PING_SECONDS, 0 };
	char hello[96];
	struct feed *f;
	size_t n;
	int len;

	if (feed_chunk == NULL)
		feed_chunk = evbuffer_new();
	if (ep == NULL || ep->suspended) {	/* console.c checked: a race */
		console_error(req, 403, "forbidden", ep == NULL ?
		    "This certificate's endpoint is not in the registry." :
		    "This certificate's endpoint is suspended.");
		return;
	}
	if (feed_nopen >= cfg->console_max_feeds) {
		log_warn("feed: %s from %s refused: %zu feeds are open "
		    "(console.max_feeds)", id->endpoint, id->peer, feed_nopen);
		evhttp_add_header(h, "Retry-After", "30");
		console_error(req, 503, "too_many_feeds", "The broker has as "
		    "many live feeds open as it allows (console.max_feeds); try "
		    "again later.");
		return;
	}
	f = xcalloc(1, sizeof(*f));
	f->srv = srv;
	f->serial = ++feed_serials;
	f->id = *id;
	f->req = req;
	f->evcon = evhttp_request_get_connection(req);
	f->sub.feed = f;
	n = acl_subscribe_patterns(reg, ep, patterns, FEED_MAX_PATTERNS);
	if (n > FEED_MAX_PATTERNS) {
		log_warn("feed: %s has %zu subscribe patterns; its feed takes "
		    "the first %d", id->endpoint, n, FEED_MAX_PATTERNS);
		n = FEED_MAX_PATTERNS;
	}
	f->sub.patterns = xcalloc(n > 0 ? n : 1, sizeof(*f->sub.patterns));
	for (size_t i = 0; i < n; i++)
		f->sub.patterns[i] = xstrdup(patterns[i]);
	f->sub.npatterns = n;
	f->ping = event_new(server_base(srv), -1, EV_PERSIST, feed_ping_cb, f);
	f->reaper = event_new(server_base(srv), -1, 0, feed_reap_cb, f);
	f->held = evbuffer_new();
	TAILQ_INSERT_TAIL(&feed_list, f, entry);
	feed_nopen++;

	evhttp_add_header(h, "Content-Type", "text/event-stream");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Accel-Buffering", "no");
	evhttp_send_reply_start(req, 200, "OK");
	console_on_close(req, feed_close_cb, f);

	/* the seam: in the tree and upto read in one callback (history.h) */
	for (size_t i = 0; i < n; i++)
		topic_tree_add(server_topics(srv), f->sub.patterns[i], &f->sub);
	f->in_tree = true;
	f->upto = history_last_committed();
	if (has_after)
		len = snprintf(hello, sizeof(hello), "event: hello\n"
		    "data: {\"last\":%" PRIu64 "}\n\n", f->upto);
	else
		len = snprintf(hello, sizeof(hello), "event: hello\nid: %" PRIu64
		    "\ndata: {\"last\":%" PRIu64 "}\n\n", f->upto, f->upto);
	log_info("feed %llu: %s from %s: open, %zu patterns%s",
	    (unsigned long long)f->serial, id->endpoint, id->peer, n,
	    has_after ? ", catching up" : "");
	evtimer_add(f->ping, &ping);
	if (feed_write(f, hello, (size_t)len) < 0 || !has_after ||
	    after >= f->upto || n == 0)
		return;

	f->catching_up = true;
	f->after = after;
	if (f->upto - after > FEED_SCAN_MAX) {
		f->missed = f->upto - FEED_SCAN_MAX - after;
		f->after = f->upto - FEED_SCAN_MAX;
	}
	f->ring_max = cfg->console_catch_up;	/* the ring grows as it fills */
	feed_read(f);
}

void
feed_open(struct server *srv, struct evhttp_request *req,
    const struct console_who *who, uint64_t after, bool has_after)
{
	struct feed_identity id;

	snprintf(id.endpoint, sizeof(id.endpoint), "%s", who->endpoint);
	snprintf(id.subject, sizeof(id.subject), "%s", who->subject);
	snprintf(id.fingerprint, sizeof(id.fingerprint), "%s", who->fingerprint);
	snprintf(id.peer, sizeof(id.peer), "%s", who->peer);
	feed_open_as(srv, req, &id, after, has_after);
}

void
feed_deliver(struct feed *const *feeds, size_t n, uint64_t seq,
    const uint8_t *body, size_t len, const char *topic)
{
	/* the feeds that got it, for the journal; kept grown */
	static struct feed **sent;
	static size_t sent_cap;
	Ccc__V1__Alert *a;
	struct server *srv;
	size_t nsent = 0, evlen = 0;
	char *ev;

	if (n == 0)
		return;
	srv = feeds[0]->srv;
	if ((a = ccc__v1__alert__unpack(NULL, len, body)) == NULL) {
		log_error("feed: alert %" PRIu64 " could not be decoded for the "
		    "console", seq);
		return;
	}
	if ((ev = feed_alert_event(a, seq, topic, &evlen)) == NULL) {
		log_error("feed: alert %s could not be written as JSON for the "
		    "console", a->id);
		ccc__v1__alert__free_unpacked(a, NULL);
		return;
	}
	sent = xgrow(sent, &sent_cap, n, sizeof(*sent));
	for (size_t i = 0; i < n; i++) {
		struct feed *f = feeds[i];
		int rc;

		if (f->ended)
			continue;
		rc = f->catching_up ? feed_hold(f, ev, evlen) :
		    feed_write(f, ev, evlen);
		if (rc == 0)
			sent[nsent++] = f;
	}
	audit_feed_deliveries(srv, a->id, a->origin, sent, nsent);
	free(ev);
	ccc__v1__alert__free_unpacked(a, NULL);
}

void
feed_end_all(const char *reason)
{
	struct feed *f;

	TAILQ_FOREACH(f, &feed_list, entry)
		if (!f->ended)
			feed_end(f, reason);
}

void
feed_shutdown(void)
{
	struct feed *f;

	while ((f = TAILQ_FIRST(&feed_list)) != NULL)
		feed_free(f);
	if (feed_chunk != NULL)
		evbuffer_free(feed_chunk);
	feed_chunk = NULL;
	feed_nopen = 0;
}
