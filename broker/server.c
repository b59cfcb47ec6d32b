/*
 * server.c — the broker instance and its event loop.
 *
 * Owns the event base, the configuration, the current registry snapshot, the
 * TLS context, the subscription tree, the listener and the list of sessions,
 * and reacts to signals: SIGTERM/SIGINT stop accepting, tell every session
 * the broker is shutting down and end every console feed with bye, let
 * queued output drain (bounded by timeouts.shutdown; the feeds' bye 100 ms
 * when no session is left) and end the loop; a second SIGTERM/SIGINT ends it at
 * once. SIGHUP reloads the registry file: a file that does not load keeps the
 * old registry; a good one is swapped in and every session is re-checked
 * against it (removed or suspended endpoints are disconnected, revoked
 * subscriptions dropped). Then it reloads the TLS material the same way
 * (server_reload_tls, which also ends every console feed with bye: the
 * browsers reconnect, checked anew) and closes the idle console
 * connections. It tells the service manager (notify.c) READY=1 once
 * the store is open and the listeners accept connections, RELOADING=1 and
 * READY=1 around a SIGHUP reload, and STOPPING=1 when shutdown begins.
 *
 * Retention runs every retention.interval at the time the clock says only
 * when that time is plausible: no more than retention.max_clock_jump beyond
 * the time expected, which is the expectation of the last run (kept in the
 * store; before the first run, the newest record in the store) plus the
 * time elapsed since on the monotonic clock (none across a restart). A
 * clock further ahead (a step of the wall clock) is not believed: the run
 * uses the expected time and the log says so, until the clock comes back
 * or has kept the same lead for as long as the lead itself. Must never
 * purge on the strength of one reading of the wall clock. The start and
 * each run also remove the exercise alerts no durable subscription waits
 * for any more, whatever their age.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "admin.h"
#include "console_feed.h"
#include "durable.h"
#include "history.h"
#include "listener.h"
#include "log.h"
#include "console.h"
#include "metrics.h"
#include "notify.h"
#include "peers.h"
#include "quota.h"
#include "route.h"
#include "server.h"
#include "session.h"
#include "store.h"
#include "timeutil.h"
#include "tls.h"
#include "xmalloc.h"

#define SERVER_FEED_FLUSH_US	100000	/* a shutdown's wait for the feeds' bye */

struct server {
	struct event_base	*base;
	struct config		*cfg;
	struct registry		*reg;		/* current snapshot (one reference) */
	SSL_CTX			*ssl_ctx;
	struct topic_tree	*topics;
	struct store		*store;		/* durable store (writer thread) */
	struct listener		*listener;
	TAILQ_HEAD(, session)	 sessions;
	size_t			 nsessions;
	struct peers		*peers;		/* the READY sessions of each endpoint */
	bool			 stopping;
	struct event		*sig_term, *sig_int, *sig_hup;
	struct event		*stop_timer;	/* shutdown deadline */
	struct event		*purge_timer;	/* retention runs */
	size_t			 purged;	/* rows deleted by the current run */
	bool			 purging;	/* a run is under way, at purge_now */
	int64_t			 purge_now;	/* the time the current run believes */
	uint64_t		 purge_after;	/* the current run's cursor over the alerts */
	int64_t			 clock_wall;	/* the time retention expects at clock_mono */
	int64_t			 clock_mono;
	int64_t			 lead;		/* a lead not believed: how far ahead */
	int64_t			 lead_since;	/* monotonic, since when (-1: none) */
	struct metrics_counters	 counters;	/* what the modules count */
	struct metrics		*metrics;	/* gauges, rates, the HTTP listener */
	struct console		*console;	/* the HTTPS console; NULL: off */
};

static void
server_stop(struct server *srv, const char *why)
{
	struct session *s;
	struct timeval tv = { (time_t)srv->cfg->shutdown_timeout, 0 };
	struct timeval flush = { 0, SERVER_FEED_FLUSH_US };
	size_t feeds;

	if (srv->stopping) {
		log_warn("%s again: exiting without waiting for %zu sessions",
		    why, srv->nsessions);
		event_base_loopbreak(srv->base);
		return;
	}
	srv->stopping = true;
	notify_send("STOPPING=1");
	log_info("%s: shutting down; flushing %zu sessions (at most %u s)", why,
	    srv->nsessions, srv->cfg->shutdown_timeout);
	listener_disable(srv->listener);
	feeds = feed_count();
	feed_end_all("the broker is shutting down");
	TAILQ_FOREACH(s, &srv->sessions, entry) {
		if (s->state == SESS_HELLO || s->state == SESS_READY)
			sess_error(s, 0,
			    CCC__V1__ERROR_CODE__ERROR_CODE_SHUTTING_DOWN, true,
			    "the broker is shutting down");
		else
			sess_close(s, "broker shutting down");
	}
	if (srv->nsessions == 0)	/* the feeds' bye written first */
		event_base_loopexit(srv->base, feeds > 0 ? &flush : NULL);
	else
		evtimer_add(srv->stop_timer, &tv);
}

static void
server_stop_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	log_warn("shutdown: %zu sessions did not drain within %u s; exiting",
	    srv->nsessions, srv->cfg->shutdown_timeout);
	event_base_loopexit(srv->base, NULL);
}

static void	server_purge_cb(evutil_socket_t, short, void *);

static void
server_purge_arm(struct server *srv, time_t sec, suseconds_t usec)
{
	struct timeval tv = { sec, usec };

	evtimer_add(srv->purge_timer, &tv);
}

static void
server_purged(void *arg, const struct store_result *res)
{
	struct server *srv = arg;

	if (res->status != STORE_OK) {
		log_error("retention: purge failed: %s", res->error);
		srv->purging = false;
		server_purge_arm(srv, srv->cfg->retain_interval, 0);
		return;
	}
	srv->purged += res->purged;
	if (res->seq > srv->purge_after)
		srv->purge_after = res->seq;
	if (res->more) {	/* a full batch: go on soon, in small steps */
		server_purge_arm(srv, 0, 100000);
		return;
	}
	if (srv->purged > 0)
		log_info("retention: purged %zu rows", srv->purged);
	srv->purged = 0;
	srv->purging = false;
	server_purge_arm(srv, srv->cfg->retain_interval, 0);
}

/* Log a lead of the clock that retention does not believe. */
static void
server_clock_held(int64_t wall, int64_t expect, int64_t left)
{
	char said[40], want[40];

	log_error("retention: the clock says %s but %s was expected (the last "
	    "run's expectation plus the time elapsed since in this process); "
	    "retention held back to %s for up to %lld s more unless the clock "
	    "comes back",
	    time_format_rfc3339(wall, said, sizeof(said)),
	    time_format_rfc3339(expect, want, sizeof(want)), want,
	    (long long)(left / 1000000));
}

/*
 * The time a retention run may believe: the wall clock, unless it is more
 * than retention.max_clock_jump ahead of the expected time; then the
 * expected time, until the clock has kept that lead (within the bound) for
 * as long as the lead. A clock behind the expected time is believed (it
 * purges less) but does not move the expectation back.
 */
static int64_t
server_purge_time(struct server *srv)
{
	int64_t wall = time_now_us(), mono = time_mono_us();
	int64_t expect = srv->clock_wall + (mono - srv->clock_mono);
	int64_t lead = wall - expect;
	int64_t bound = (int64_t)srv->cfg->retain_max_jump * 1000000;

	srv->clock_mono = mono;
	srv->clock_wall = expect;
	if (lead <= bound) {
		srv->lead_since = -1;
		if (wall > expect)
			srv->clock_wall = wall;
		return wall;
	}
	if (srv->lead_since < 0 || llabs(lead - srv->lead) > bound) {
		srv->lead = lead;
		srv->lead_since = mono;
	}
	if (mono - srv->lead_since >= srv->lead) {
		log_warn("retention: the clock has kept a lead of %lld s over the "
		    "expected time for as long; retention follows it again",
		    (long long)(lead / 1000000));
		srv->lead_since = -1;
		srv->clock_wall = wall;
		return wall;
	}
	server_clock_held(wall, expect, srv->lead - (mono - srv->lead_since));
	return expect;
}

/* One step of a retention run: the store deletes a bounded batch. */
static void
server_purge_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	if (srv->stopping)
		return;
	if (!srv->purging) {
		srv->purge_now = server_purge_time(srv);
		srv->purge_after = 0;
		srv->purging = true;
		/* what the sessions' closes left: forgotten or read late */
		store_exercise_purge(srv->store, NULL, NULL, NULL);
	}
	store_purge(srv->store, srv->purge_now, srv->clock_wall,
	    srv->cfg->retain_alerts, srv->cfg->retain_audit,
	    srv->cfg->retain_batch, srv->purge_after, server_purged, srv);
}

void
server_set_registry(struct server *srv, struct registry *reg)
{
	struct registry *old = srv->reg;
	struct session *s;

	srv->reg = reg;
	TAILQ_FOREACH(s, &srv->sessions, entry)
		sess_registry_changed(s, reg);
	/* an endpoint's patterns may have changed: browsers reconnect */
	feed_end_all("the registry changed");
	durable_registry_changed(reg);
	registry_unref(old);
}

int
server_reload_tls(struct server *srv, char *err, size_t errlen)
{
	struct session *s;
	SSL_CTX *ctx;
	size_t closed = 0;

	if ((ctx = tls_server_ctx(srv->cfg, err, errlen)) == NULL)
		return -1;
	SSL_CTX_free(srv->ssl_ctx);	/* each session's SSL keeps its own */
	srv->ssl_ctx = ctx;
	TAILQ_FOREACH(s, &srv->sessions, entry)
		if (sess_tls_changed(s, ctx))
			closed++;
	log_info("TLS context reloaded: %zu CA bundles, %zu CRL files; %zu of "
	    "%zu sessions closed", srv->cfg->n_tls_ca, srv->cfg->n_tls_crl,
	    closed, srv->nsessions);
	/* a browser's certificate may be revoked: it reconnects, checked anew */
	feed_end_all("the broker reloaded its TLS files");
	return 0;
}

static void
server_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	char err[1024];

	(void)what;
	if (sig == SIGHUP) {
		notify_send("RELOADING=1");
		admin_file_reload(srv);
		if (server_reload_tls(srv, err, sizeof(err)) < 0)
			log_error("SIGHUP: TLS context not reloaded, keeping the "
			    "current one: %s", err);
		/*
		 * certificates or endpoints may have changed: browsers
		 * reconnect; idle console connections close now (the feeds
		 * ended with the TLS reload, or with a registry change)
		 */
		console_reload(srv->console);
		notify_send("READY=1");
	} else
		server_stop(srv, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

struct server *
server_new(struct config *cfg, struct registry *reg, char *err, size_t errlen)
{
	struct server *srv = xcalloc(1, sizeof(*srv));

	srv->cfg = cfg;
	srv->reg = reg;
	TAILQ_INIT(&srv->sessions);
	srv->peers = peers_new();
	signal(SIGPIPE, SIG_IGN);
	if ((srv->base = event_base_new()) == NULL) {
		snprintf(err, errlen, "cannot create the event loop");
		goto fail;
	}
	if ((srv->ssl_ctx = tls_server_ctx(cfg, err, errlen)) == NULL)
		goto fail;
	srv->topics = topic_tree_new();
	store_check_at_start(cfg->store_check_always);
	if ((srv->store = store_open(srv->base, cfg->data_dir, err, errlen)) == NULL)
		goto fail;
	store_journal_exercise(srv->store, cfg->bench_journal);
	/* retention's first expectation: its last run's (none: the clock) */
	srv->clock_mono = time_mono_us();
	if ((srv->clock_wall = store_retention_time(srv->store)) == 0)
		srv->clock_wall = time_now_us();
	srv->lead_since = -1;
	if (admin_init(srv, srv->store, &srv->reg, err, errlen) < 0)
		goto fail;
	if (durable_init(srv, srv->store, err, errlen) < 0)
		goto fail;
	history_committed(store_last_seq(srv->store));
	if ((srv->listener = listener_new(srv, cfg->listen_host,
	    cfg->listen_port, err, errlen)) == NULL)
		goto fail;
	if ((srv->metrics = metrics_new(srv, err, errlen)) == NULL)
		goto fail;
	if (console_new(srv, &srv->console, err, errlen) < 0)
		goto fail;
	srv->sig_term = evsignal_new(srv->base, SIGTERM, server_signal_cb, srv);
	srv->sig_int = evsignal_new(srv->base, SIGINT, server_signal_cb, srv);
	srv->sig_hup = evsignal_new(srv->base, SIGHUP, server_signal_cb, srv);
	srv->stop_timer = evtimer_new(srv->base, server_stop_timer_cb, srv);
	srv->purge_timer = evtimer_new(srv->base, server_purge_cb, srv);
	/*
	 * exercise alerts a crash left behind, unless still awaited (after a
	 * clean stop the sessions' closes removed them, those they had sent,
	 * dropped or dead-lettered; those of a subscription forgotten
	 * meanwhile wait for a retention run or the next exercise session's
	 * close)
	 */
	if (!store_closed_clean(srv->store))
		store_exercise_purge(srv->store, NULL, NULL, NULL);
	if (cfg->retain_alerts != 0 || cfg->retain_audit != 0)
		server_purge_arm(srv, 1, 0);	/* a first run soon after start */
	evsignal_add(srv->sig_term, NULL);
	evsignal_add(srv->sig_int, NULL);
	evsignal_add(srv->sig_hup, NULL);
	return srv;
fail:
	server_free(srv);
	return NULL;
}

int
server_run(struct server *srv)
{
	log_info("cccd %s listening on %s (TLS, %zu endpoints, %zu sections)",
	    CCC_VERSION, listener_address(srv->listener),
	    registry_nendpoints(srv->reg), registry_nsections(srv->reg));
	/* the store is open and the listeners are listening: connects succeed */
	notify_send("READY=1");
	if (event_base_dispatch(srv->base) < 0) {
		log_error("event loop failed");
		return 1;
	}
	log_info("cccd stopped");
	return 0;
}

void
server_free(struct server *srv)
{
	struct session *s;

	if (srv == NULL)
		return;
	/* finish the store's queued work first; its callbacks are dropped */
	store_close(srv->store);
	srv->store = NULL;
	while ((s = TAILQ_FIRST(&srv->sessions)) != NULL)
		sess_free(s);
	feed_shutdown();	/* before the tree their subscriptions are in */
	durable_shutdown();
	route_shutdown();
	peers_free(srv->peers);
	quota_shutdown();
	listener_free(srv->listener);
	metrics_free(srv->metrics);
	console_free(srv->console);
	if (srv->sig_term != NULL) {
		event_free(srv->sig_term);
		event_free(srv->sig_int);
		event_free(srv->sig_hup);
		event_free(srv->stop_timer);
		event_free(srv->purge_timer);
	}
	topic_tree_free(srv->topics);
	SSL_CTX_free(srv->ssl_ctx);
	if (srv->base != NULL)
		event_base_free(srv->base);
	if (srv->reg != NULL)
		registry_unref(srv->reg);
	config_free(srv->cfg);
	free(srv);
}

struct event_base *
server_base(const struct server *srv)
{
	return srv->base;
}

const struct config *
server_config(const struct server *srv)
{
	return srv->cfg;
}

struct registry *
server_registry(const struct server *srv)
{
	return srv->reg;
}

SSL_CTX *
server_ssl_ctx(const struct server *srv)
{
	return srv->ssl_ctx;
}

struct store *
server_store(const struct server *srv)
{
	return srv->store;
}

struct metrics_counters *
server_counters(struct server *srv)
{
	return &srv->counters;
}

struct metrics *
server_metrics(const struct server *srv)
{
	return srv->metrics;
}

struct topic_tree *
server_topics(const struct server *srv)
{
	return srv->topics;
}

bool
server_stopping(const struct server *srv)
{
	return srv->stopping;
}

void
server_attach(struct server *srv, struct session *s)
{
	TAILQ_INSERT_TAIL(&srv->sessions, s, entry);
	srv->nsessions++;
}

void
server_detach(struct server *srv, struct session *s)
{
	TAILQ_REMOVE(&srv->sessions, s, entry);
	srv->nsessions--;
	if (srv->stopping && srv->nsessions == 0)
		event_base_loopexit(srv->base, NULL);
}

size_t
server_nsessions(const struct server *srv)
{
	return srv->nsessions;
}

void
server_each_session(struct server *srv, void (*fn)(struct session *, void *),
    void *arg)
{
	struct session *s;

	TAILQ_FOREACH(s, &srv->sessions, entry)
		fn(s, arg);
}

void
server_session_ready(struct server *srv, struct session *s)
{
	peers_add(srv->peers, s);
}

void
server_session_closed(struct server *srv, struct session *s)
{
	peers_remove(srv->peers, s);
}

void
server_each_session_of(struct server *srv, const char *endpoint,
    void (*fn)(struct session *, void *), void *arg)
{
	struct session *s, *next;

	for (s = peers_first(srv->peers, endpoint); s != NULL; s = next) {
		next = peers_next(s);	/* fn may close s, taking it off */
		fn(s, arg);
	}
}
