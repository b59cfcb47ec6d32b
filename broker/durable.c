/*
 * durable.c — durable subscriptions.
 *
 * A durable subscription is (endpoint, name, patterns), stored in the store
 * and held here for the life of the broker. Its patterns stay in the topic
 * tree while no session is attached, so publishes name it among their
 * alerts' recipients in the store's log (route_recipients). The store is the
 * only source of what it is sent: when it is attached and has room in its
 * window, the next alerts of its log that are not settled and not in
 * flight — most severe first — are fetched and sent with their positions
 * as delivery tags; acknowledgements free the window and settle them in
 * the store (its cursor). Per severity it remembers where its last fetch
 * stopped (next), so that a fetch reads only what is new; on reconnect,
 * and when no acknowledgement came for durable.ack_timeout seconds,
 * nothing counts as in flight any more, the scans start again at the
 * floor, and everything unacknowledged is sent again (at-least-once).
 *
 * States (durable_set_state() is the only place that changes them):
 *
 *   DETACHED --attach--> IDLE --pump--> FETCHING --fetched--> IDLE
 *      ^  ^               | ^              |  |                (DETACHED when
 *      |  `----detach-----' `--timer--.    |  `--failed--> RETRY_WAIT  detached
 *      |                              `----+-------------------'       meanwhile)
 *      |  forget failed                    |
 *   FORGETTING <--forget (DETACHED; or FETCHING: its fetch ends in FORGETTING)
 *      | forgotten
 *      v
 *    GONE --(last store operation called back)--> freed
 *
 * A session may attach while FETCHING (a resume just after a detach): the
 * fetch's result, issued for the old generation (gen), is dropped and a
 * new fetch made. Detaching from RETRY_WAIT stops the retry.
 *
 * A fetch's result comes at its commit when the cursor's reservation,
 * synced before, covers what it sends, and after the sync otherwise
 * (store_fetch): either way what it sends is on disk as sent, or below a
 * reservation that is, so a crash makes it come again flagged redelivered.
 *
 * Owns: the durable subscriptions, their windows, the id index.
 * Must never: deliver a durable alert that the store has not synced, or
 * whose position is not at or below a synced reservation;
 * free a subscription while a store operation will call back with it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "acl.h"
#include "audit.h"
#include "durable.h"
#include "log.h"
#include "metrics.h"
#include "registry.h"
#include "server.h"
#include "session.h"
#include "store.h"
#include "topic.h"
#include "xmalloc.h"

/*
 * How far ahead of what it sends a fetch reserves a cursor's sent, in
 * windows of positions (store_fetch): a fetch sending a position past the
 * reservation waits for a sync and moves it this far on; the others
 * complete at their commit. Positions are the log's, shared by every
 * subscription, so the reservation is spent as fast as the log grows
 * (live: one raise per 16 windows of alerts published, 3.2 s at 5,000
 * alerts/s with the default window of 1000) or as a backlog is read (at
 * most one fetch in 16 waits). After a crash, at most this many positions
 * past the last sent, and none past the log's end at the crash, come
 * flagged redelivered without having been sent.
 */
#define DURABLE_RESERVE_WINDOWS	16

enum durable_state {
	DURABLE_DETACHED,	/* no session attached, nothing under way */
	DURABLE_IDLE,		/* attached, no fetch under way */
	DURABLE_FETCHING,	/* a fetch under way (attached or, since, not) */
	DURABLE_RETRY_WAIT,	/* attached; a fetch failed, the timer retries */
	DURABLE_FORGETTING,	/* a forget under way; out of the topic tree */
	DURABLE_GONE,		/* forgotten: freed when ops reaches 0 */
};

static const char *const durable_state_names[] = {
	"detached", "idle", "fetching", "retry-wait", "forgetting", "gone",
};

struct durable {
	TAILQ_ENTRY(durable)	 entry;
	uint64_t		 id;		/* the store's id */
	char			*endpoint;
	char			*name;
	struct subscription	 sub;		/* sub.durable == this; owns the patterns */
	enum durable_state	 state;		/* durable_set_state() only */
	bool			 in_tree;	/* patterns are in the topic tree */
	uint64_t		*inflight;	/* positions sent, not yet acknowledged */
	uint32_t		*inflight_len;	/* the body bytes of each */
	size_t			 ninflight;
	size_t			 capinflight;	/* room in both, grown as a fetch
						   needs it, up to durable.window:
						   none for a subscription never
						   attached (inboxes) */
	size_t			 inflight_bytes; /* their sum: at most half of
						   limits.max_output_buffer
						   (and one alert) */
	uint64_t		 next[STORE_SEVERITIES]; /* per severity: the last
						   position the fetches of this
						   generation looked at */
	unsigned		 gen;		/* bumped when what is in flight is forgotten */
	unsigned		 fetch_gen;	/* gen when the fetch under way was issued */
	bool			 dirty;		/* new alerts committed during a fetch */
	unsigned		 ops;		/* store operations that call back with it */
	struct event		*timer;		/* ack timeout, or fetch retry */
};

/* A subscribe or forget waiting for the store. */
struct durable_req {
	struct session		*sess;
	uint64_t		 request_id;
	char			*name;
	char			**patterns;
	size_t			 npatterns;
	struct durable		*d;
	uint32_t		 sub_id;	/* forget: the id it had in the session */
};

static TAILQ_HEAD(, durable) durables = TAILQ_HEAD_INITIALIZER(durables);
static struct durable **durable_byid;	/* every one not forgotten, by id */
static size_t durable_nbyid, durable_capbyid;
static struct server *durable_srv;
static struct store *durable_store;

static void	durable_pump(struct durable *);
static void	durable_timer_cb(evutil_socket_t, short, void *);

uint64_t
durable_id(const struct durable *d)
{
	return d->id;
}

/* The one place that changes a subscription's state. */
static void
durable_set_state(struct durable *d, enum durable_state state)
{
	if (d->state == state)
		return;
	log_debug("durable subscription %s/%s: %s -> %s", d->endpoint,
	    d->name, durable_state_names[d->state], durable_state_names[state]);
	d->state = state;
}

/* Forget what is in flight and where the scans stopped: send it all again. */
static void
durable_restart(struct durable *d)
{
	d->ninflight = 0;
	d->inflight_bytes = 0;
	d->gen++;
	memset(d->next, 0, sizeof(d->next));
}

/* Index of the first entry of durable_byid whose id is not below id. */
static size_t
durable_byid_at(uint64_t id)
{
	size_t lo = 0, hi = durable_nbyid;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (durable_byid[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
durable_byid_add(struct durable *d)
{
	size_t at = durable_byid_at(d->id);

	if (durable_nbyid == durable_capbyid) {
		durable_capbyid = durable_capbyid ? durable_capbyid * 2 : 16;
		durable_byid = xreallocarray(durable_byid, durable_capbyid,
		    sizeof(*durable_byid));
	}
	memmove(durable_byid + at + 1, durable_byid + at,
	    (durable_nbyid - at) * sizeof(*durable_byid));
	durable_byid[at] = d;
	durable_nbyid++;
}

static void
durable_byid_remove(struct durable *d)
{
	size_t at = durable_byid_at(d->id);

	if (at < durable_nbyid && durable_byid[at] == d) {
		memmove(durable_byid + at, durable_byid + at + 1,
		    (durable_nbyid - at - 1) * sizeof(*durable_byid));
		durable_nbyid--;
	}
}

static struct durable *
durable_find(const char *endpoint, const char *name)
{
	struct durable *d;

	TAILQ_FOREACH(d, &durables, entry)
		if (strcmp(d->endpoint, endpoint) == 0 && strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

static struct durable *
durable_find_id(uint64_t id)
{
	size_t at = durable_byid_at(id);

	return at < durable_nbyid && durable_byid[at]->id == id ?
	    durable_byid[at] : NULL;
}

static void
durable_tree(struct durable *d, bool in)
{
	struct topic_tree *tree = server_topics(durable_srv);

	if (d->in_tree == in)
		return;
	for (size_t i = 0; i < d->sub.npatterns; i++) {
		if (in)
			topic_tree_add(tree, d->sub.patterns[i], &d->sub);
		else
			topic_tree_remove(tree, d->sub.patterns[i], &d->sub);
	}
	d->in_tree = in;
}

/* Does reg still let the endpoint hold this subscription? */
static bool
durable_allowed(const struct durable *d, const struct registry *reg)
{
	const struct endpoint *ep = registry_endpoint(reg, d->endpoint);
	char why[512];

	if (ep == NULL || ep->suspended)
		return false;
	for (size_t i = 0; i < d->sub.npatterns; i++)
		if (!acl_may_subscribe(reg, ep, d->sub.patterns[i], why,
		    sizeof(why)))
			return false;
	return true;
}

static struct durable *
durable_new(uint64_t id, const char *endpoint, const char *name,
    char **patterns, size_t npatterns)
{
	struct durable *d = xcalloc(1, sizeof(*d));

	d->id = id;
	d->endpoint = xstrdup(endpoint);
	d->name = xstrdup(name);
	d->sub.patterns = patterns;
	d->sub.npatterns = npatterns;
	d->sub.durable = d;
	d->timer = evtimer_new(server_base(durable_srv), durable_timer_cb, d);
	d->state = DURABLE_DETACHED;
	TAILQ_INSERT_TAIL(&durables, d, entry);
	durable_byid_add(d);
	return d;
}

static void
durable_free(struct durable *d)
{
	for (size_t i = 0; i < d->sub.npatterns; i++)
		free(d->sub.patterns[i]);
	free(d->sub.patterns);
	free(d->inflight);
	free(d->inflight_len);
	event_free(d->timer);
	free(d->endpoint);
	free(d->name);
	free(d);
}

/* Drop one store operation's hold; frees a forgotten subscription at 0. */
static bool
durable_unhold(struct durable *d)
{
	d->ops--;
	if (d->state == DURABLE_GONE && d->ops == 0) {
		durable_free(d);
		return false;
	}
	return d->state != DURABLE_GONE;
}

int
durable_init(struct server *srv, struct store *st, char *err, size_t errlen)
{
	struct store_dsub *v;
	size_t n, inboxes = 0;

	durable_srv = srv;
	durable_store = st;
	if (store_load_dsubs(st, &v, &n, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct durable *d = durable_new(v[i].id, v[i].endpoint, v[i].name,
		    v[i].patterns, v[i].npatterns);

		inboxes += strcmp(v[i].name, DURABLE_INBOX) == 0;

		v[i].patterns = NULL;	/* now the subscription's */
		v[i].npatterns = 0;
		durable_tree(d, durable_allowed(d, server_registry(srv)));
	}
	store_free_dsubs(v, n);
	if (n > inboxes)
		log_info("store: %zu durable subscriptions loaded (and %zu "
		    "inboxes)", n - inboxes, inboxes);
	return 0;
}

void
durable_shutdown(void)
{
	struct durable *d;

	while ((d = TAILQ_FIRST(&durables)) != NULL) {
		TAILQ_REMOVE(&durables, d, entry);
		durable_tree(d, false);
		durable_free(d);
	}
	free(durable_byid);
	durable_byid = NULL;
	durable_nbyid = durable_capbyid = 0;
}

static void
durable_attach(struct session *s, struct durable *d, uint64_t request_id,
    bool resumed)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__SubscribeOk ok = CCC__V1__SUBSCRIBE_OK__INIT;

	sess_sub_attach(s, &d->sub);
	durable_restart(d);
	if (d->state == DURABLE_DETACHED)
		durable_set_state(d, DURABLE_IDLE);
	durable_tree(d, true);
	log_info("session %llu: %s %s durable subscription \"%s\" as %u",
	    (unsigned long long)s->serial, s->endpoint,
	    resumed ? "resumed" : "created", d->name, d->sub.id);
	ok.subscription_id = d->sub.id;
	ok.resumed = resumed;
	env.request_id = request_id;
	env.body_case = CCC__V1__ENVELOPE__BODY_SUBSCRIBE_OK;
	env.subscribe_ok = &ok;
	if (sess_send(s, &env) == 0)
		durable_pump(d);
}

static bool
durable_same_patterns(const struct durable *d, char **patterns, size_t n)
{
	if (d->sub.npatterns != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(d->sub.patterns[i], patterns[i]) != 0)
			return false;
	return true;
}

static void
durable_free_patterns(char **patterns, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(patterns[i]);
	free(patterns);
}

/* Resume d for s, or refuse. Returns 0 when attached. */
static int
durable_resume(struct session *s, struct durable *d, uint64_t request_id,
    char **patterns, size_t n)
{
	bool forgetting = d->state == DURABLE_FORGETTING;

	if (d->sub.sess != NULL || forgetting) {
		sess_error(s, request_id,
		    CCC__V1__ERROR_CODE__ERROR_CODE_SUBSCRIPTION_IN_USE, false,
		    "durable subscription \"%s\" is %s", d->name, forgetting ?
		    "being deleted" : "attached to another session");
		return -1;
	}
	if (!durable_same_patterns(d, patterns, n)) {
		sess_error(s, request_id,
		    CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_REQUEST, false,
		    "durable subscription \"%s\" exists with other patterns; "
		    "unsubscribe with forget first to change them", d->name);
		return -1;
	}
	durable_attach(s, d, request_id, true);
	return 0;
}

static void
durable_created(void *arg, const struct store_result *res)
{
	struct durable_req *req = arg;
	struct session *s = req->sess;
	struct durable *d;

	if (res->status == STORE_FAILED) {
		sess_error(s, req->request_id,
		    CCC__V1__ERROR_CODE__ERROR_CODE_STORE_UNAVAILABLE, false,
		    "durable subscription \"%s\" could not be stored: %s",
		    req->name, res->error);
		durable_free_patterns(req->patterns, req->npatterns);
	} else if ((d = durable_find_id(res->dsub_id)) != NULL) {
		/* a concurrent request created it first */
		if (s->state == SESS_READY)
			durable_resume(s, d, req->request_id, req->patterns,
			    req->npatterns);
		durable_free_patterns(req->patterns, req->npatterns);
	} else {
		d = durable_new(res->dsub_id, s->endpoint, req->name,
		    req->patterns, req->npatterns);
		durable_tree(d, true);
		if (s->state == SESS_READY)
			durable_attach(s, d, req->request_id, false);
	}
	free(req->name);
	free(req);
	sess_release(s);
}

void
durable_subscribe(struct session *s, uint64_t request_id, const char *name,
    char **patterns, size_t npatterns)
{
	struct durable *d = durable_find(s->endpoint, name);
	struct durable_req *req;
	uint32_t max = server_config(durable_srv)->max_durables, n = 0;

	if (d != NULL) {
		durable_resume(s, d, request_id, patterns, npatterns);
		durable_free_patterns(patterns, npatterns);
		return;
	}
	TAILQ_FOREACH(d, &durables, entry)
		if (strcmp(d->endpoint, s->endpoint) == 0 &&
		    strcmp(d->name, DURABLE_INBOX) != 0)
			n++;
	if (n >= max && strcmp(name, DURABLE_INBOX) != 0) {
		sess_error(s, request_id,
		    CCC__V1__ERROR_CODE__ERROR_CODE_LIMIT_EXCEEDED, false,
		    "%s already has %u durable subscriptions, the limit; delete "
		    "one (unsubscribe with forget) first", s->endpoint, n);
		durable_free_patterns(patterns, npatterns);
		return;
	}
	req = xcalloc(1, sizeof(*req));
	req->sess = s;
	req->request_id = request_id;
	req->name = xstrdup(name);
	req->patterns = patterns;
	req->npatterns = npatterns;
	sess_hold(s);
	store_subscribe(durable_store, s->endpoint, name, patterns, npatterns,
	    durable_created, req);
}

const char *
durable_name(const struct durable *d)
{
	return d->name;
}

uint64_t
durable_inbox(const char *endpoint)
{
	struct durable *d = durable_find(endpoint, DURABLE_INBOX);

	return d != NULL && d->state != DURABLE_FORGETTING &&
	    d->state != DURABLE_GONE ? d->id : 0;
}

bool
durable_is_inbox(const struct durable *d)
{
	return d->sub.npatterns == 0 && strcmp(d->name, DURABLE_INBOX) == 0;
}

void
durable_inbox_add(uint64_t id, const char *endpoint)
{
	if (durable_find_id(id) == NULL)
		(void)durable_new(id, endpoint, DURABLE_INBOX, NULL, 0);
}

void
durable_detach(struct durable *d)
{
	if (d->sub.sess == NULL)
		return;
	log_debug("session %llu: %s detached durable subscription \"%s\" "
	    "(%zu unacknowledged)", (unsigned long long)d->sub.sess->serial,
	    d->endpoint, d->name, d->ninflight);
	sess_sub_detach(d->sub.sess, &d->sub);
	durable_restart(d);
	evtimer_del(d->timer);
	if (d->state == DURABLE_IDLE || d->state == DURABLE_RETRY_WAIT)
		durable_set_state(d, DURABLE_DETACHED);
}

static void
durable_forgotten(void *arg, const struct store_result *res)
{
	struct durable_req *req = arg;
	struct durable *d = req->d;
	struct session *s = req->sess;
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__UnsubscribeOk ok = CCC__V1__UNSUBSCRIBE_OK__INIT;

	if (res->status == STORE_FAILED) {
		durable_set_state(d, DURABLE_DETACHED);
		sess_error(s, req->request_id,
		    CCC__V1__ERROR_CODE__ERROR_CODE_STORE_UNAVAILABLE, false,
		    "durable subscription \"%s\" could not be deleted: %s",
		    d->name, res->error);
		durable_tree(d, durable_allowed(d, server_registry(durable_srv)));
		durable_unhold(d);
	} else {
		log_info("session %llu: %s deleted durable subscription \"%s\"",
		    (unsigned long long)s->serial, s->endpoint, d->name);
		ok.subscription_id = req->sub_id;
		env.request_id = req->request_id;
		env.body_case = CCC__V1__ENVELOPE__BODY_UNSUBSCRIBE_OK;
		env.unsubscribe_ok = &ok;
		sess_send(s, &env);
		TAILQ_REMOVE(&durables, d, entry);
		durable_byid_remove(d);
		durable_set_state(d, DURABLE_GONE);
		durable_unhold(d);
	}
	free(req);
	sess_release(s);
}

void
durable_unsubscribe(struct session *s, struct durable *d, uint64_t request_id,
    bool forget)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__UnsubscribeOk ok = CCC__V1__UNSUBSCRIBE_OK__INIT;
	struct durable_req *req;
	uint32_t id = d->sub.id;

	durable_detach(d);
	if (!forget) {
		ok.subscription_id = id;
		env.request_id = request_id;
		env.body_case = CCC__V1__ENVELOPE__BODY_UNSUBSCRIBE_OK;
		env.unsubscribe_ok = &ok;
		sess_send(s, &env);
		return;
	}
	req = xcalloc(1, sizeof(*req));
	req->sess = s;
	req->request_id = request_id;
	req->d = d;
	req->sub_id = id;
	durable_set_state(d, DURABLE_FORGETTING);
	/* stop matching now: nothing more may be queued for it */
	durable_tree(d, false);
	d->ops++;
	sess_hold(s);
	store_forget(durable_store, d->id, durable_forgotten, req);
}

static void
durable_arm(struct durable *d, uint32_t seconds)
{
	struct timeval tv = { (time_t)seconds, 0 };

	evtimer_add(d->timer, &tv);
}

/* Room for n positions in flight (n at most durable.window): once per fetch. */
static void
durable_room(struct durable *d, size_t n)
{
	if (n <= d->capinflight)
		return;
	if (n < 2 * d->capinflight)
		n = 2 * d->capinflight;
	if (n > server_config(durable_srv)->durable_window)
		n = server_config(durable_srv)->durable_window;
	d->inflight = xreallocarray(d->inflight, n, sizeof(*d->inflight));
	d->inflight_len = xreallocarray(d->inflight_len, n,
	    sizeof(*d->inflight_len));
	d->capinflight = n;
}

static void
durable_fetched(void *arg, const struct store_result *res)
{
	struct durable *d = arg;
	struct session *s;
	struct metrics_counters *mc = server_counters(durable_srv);
	Ccc__V1__Deliver dl = CCC__V1__DELIVER__INIT;
	uint32_t window = server_config(durable_srv)->durable_window;
	size_t i;

	if (res->status == STORE_OK) {
		mc->dead_lettered += res->dead;
		mc->expired += res->expired;
		/*
		 * Settled without being sent: exercise alerts among them are
		 * removed at the close of the session (sess_exercise_end), as
		 * if they had been sent, since the next start does not remove
		 * them after a clean stop. A broker that takes no exercise
		 * alerts has none to remove.
		 */
		if ((res->dead > 0 || res->expired > 0) && d->sub.sess != NULL &&
		    server_config(durable_srv)->bench_allow)
			d->sub.sess->exercise_rx = true;
	}
	if (d->state == DURABLE_FETCHING)	/* not FORGETTING */
		durable_set_state(d, d->sub.sess != NULL ? DURABLE_IDLE :
		    DURABLE_DETACHED);
	if (!durable_unhold(d))
		return;
	if (res->status == STORE_FAILED) {
		if (d->state == DURABLE_IDLE) {
			durable_set_state(d, DURABLE_RETRY_WAIT);
			durable_arm(d, 1);	/* try again in a second */
		}
		return;
	}
	if (res->dead > 0)
		log_warn("durable subscription %s/%s: %zu alerts moved to the "
		    "dead-letter list after %u delivery attempts", d->endpoint,
		    d->name, res->dead, server_config(durable_srv)->max_deliveries);
	if (res->expired > 0)
		log_info("durable subscription %s/%s: %zu expired alerts not "
		    "delivered", d->endpoint, d->name, res->expired);
	if (d->state != DURABLE_IDLE || (s = d->sub.sess) == NULL ||
	    s->state != SESS_READY)
		return;		/* detached meanwhile: sent again on resume */
	if (d->fetch_gen != d->gen) {
		/* issued before a resume or redelivery: fetch afresh, in order */
		durable_pump(d);
		return;
	}
	memcpy(d->next, res->next, sizeof(d->next));
	durable_room(d, d->ninflight + res->nrows < window ?
	    d->ninflight + res->nrows : window);
	dl.subscription_ids = &d->sub.id;
	dl.n_subscription_ids = 1;
	for (i = 0; i < res->nrows && d->ninflight < window; i++) {
		const struct store_row *r = &res->rows[i];

		dl.topic = (char *)(uintptr_t)r->topic;
		dl.delivery_tag = r->tag;
		dl.redelivered = r->attempts;
		if (sess_send_deliver(s, &dl, r->body, r->body_len) < 0)
			break;
		mc->deliveries_durable++;
		mc->redeliveries += r->attempts > 0;
		d->inflight_len[d->ninflight] = (uint32_t)r->body_len;
		d->inflight_bytes += r->body_len;
		d->inflight[d->ninflight++] = r->tag;
		/* exercise traffic: the session's record stands for it */
		if (topic_is_exercise(r->topic))
			s->exercise_rx = true;
	}
	audit_durable_sent(s, d->name, res->rows, i);
	if (i < res->nrows && d->ninflight < window)
		return;		/* the session is closing */
	if (d->ninflight > 0 && !evtimer_pending(d->timer, NULL))
		durable_arm(d, server_config(durable_srv)->ack_timeout);
	/* a fetch that only settled (dead, expired) may have stopped short */
	if (d->dirty || ((res->nrows > 0 || res->dead > 0 || res->expired > 0) &&
	    d->ninflight < window))
		durable_pump(d);
}

/*
 * Fetch what fits in the window, unless a fetch is under way or no room:
 * durable.window alerts, and bodies up to half of limits.max_output_buffer
 * in flight, so that a window of large alerts never makes its own
 * subscriber a slow consumer (an acknowledgement frees both).
 */
static void
durable_pump(struct durable *d)
{
	const struct config *cfg = server_config(durable_srv);
	struct session *s = d->sub.sess;
	size_t max_bytes = cfg->max_output_buffer / 2;

	if (d->state == DURABLE_FETCHING) {
		d->dirty = true;
		return;
	}
	if (d->state != DURABLE_IDLE || s == NULL || s->state != SESS_READY ||
	    d->ninflight >= cfg->durable_window ||
	    d->inflight_bytes >= max_bytes)
		return;
	durable_set_state(d, DURABLE_FETCHING);
	d->dirty = false;
	d->fetch_gen = d->gen;
	d->ops++;
	store_fetch(durable_store, d->id, d->inflight, d->ninflight,
	    cfg->durable_window - d->ninflight, max_bytes - d->inflight_bytes,
	    cfg->max_deliveries, d->next,
	    (uint64_t)DURABLE_RESERVE_WINDOWS * cfg->durable_window,
	    durable_fetched, d);
}

static void
durable_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct durable *d = arg;

	(void)fd;
	(void)what;
	if (d->state == DURABLE_RETRY_WAIT) {	/* a failed fetch */
		durable_set_state(d, DURABLE_IDLE);
		durable_pump(d);
		return;
	}
	if (d->state != DURABLE_IDLE && d->state != DURABLE_FETCHING)
		return;
	if (d->ninflight > 0 && d->state == DURABLE_IDLE) {
		log_info("durable subscription %s/%s: no acknowledgement for %u s; "
		    "sending %zu unacknowledged alerts again", d->endpoint, d->name,
		    server_config(durable_srv)->ack_timeout, d->ninflight);
		durable_restart(d);
	}
	durable_pump(d);
}

/* One acknowledgement, pushed to the originator's sessions that asked. */
struct durable_push {
	const struct store_receipt	*r;
	Ccc__V1__Envelope		*env;
};

static void
durable_push_receipt(struct session *s, void *arg)
{
	const struct durable_push *p = arg;

	if (s->want_receipts && s->state == SESS_READY &&
	    strcmp(s->endpoint, p->r->origin) == 0)
		sess_send(s, p->env);
}

/* The store recorded acknowledgements: tell the originators who want it. */
static void
durable_acked(void *arg, const struct store_result *res)
{
	(void)arg;
	if (res->status != STORE_OK)
		return;
	for (size_t i = 0; i < res->nreceipts; i++) {
		const struct store_receipt *r = &res->receipts[i];
		Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
		Ccc__V1__ReceiptsOk ok = CCC__V1__RECEIPTS_OK__INIT;
		Ccc__V1__Receipt rc = CCC__V1__RECEIPT__INIT, *prc = &rc;
		struct durable_push p = { r, &env };

		rc.endpoint = (char *)(uintptr_t)r->endpoint;
		rc.acknowledged_at = r->acked_at;
		ok.alert_id = (char *)(uintptr_t)r->alert_id;
		ok.receipts = &prc;
		ok.n_receipts = 1;
		env.body_case = CCC__V1__ENVELOPE__BODY_RECEIPTS_OK;
		env.receipts_ok = &ok;
		server_each_session_of(durable_srv, r->origin,
		    durable_push_receipt, &p);
	}
}

void
durable_ack(struct session *s, const uint64_t *tags, size_t n)
{
	struct audit_rec ar = audit_of(s, "ack", NULL, NULL);

	if (n == 0)
		return;
	/*
	 * A tag is the alert's position: every durable subscription of the
	 * session that has it unsettled takes the acknowledgement.
	 */
	for (size_t k = 0; k < s->nsubs; k++) {
		struct durable *d = s->subs[k]->durable;
		size_t freed = 0;

		if (d == NULL)
			continue;
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < d->ninflight; j++)
				if (d->inflight[j] == tags[i]) {
					d->inflight_bytes -= d->inflight_len[j];
					d->inflight_len[j] =
					    d->inflight_len[--d->ninflight];
					d->inflight[j] = d->inflight[d->ninflight];
					freed++;
					break;
				}
		/*
		 * All tags go to the store, which settles those its log has
		 * unsettled for this subscription: a late acknowledgement of
		 * an alert already being sent again still counts.
		 */
		ar.detail = d->name;
		store_ack(durable_store, d->id, tags, n, &ar, durable_acked, NULL);
		if (freed == 0)
			continue;
		if (d->ninflight > 0)	/* progress: restart the ack timeout */
			durable_arm(d, server_config(durable_srv)->ack_timeout);
		else
			evtimer_del(d->timer);
		durable_pump(d);
	}
}

void
durable_notify(const uint64_t *ids, size_t n)
{
	struct durable *d;

	for (size_t i = 0; i < n; i++)
		if ((d = durable_find_id(ids[i])) != NULL)
			durable_pump(d);
}

void
durable_each(void (*fn)(const char *, bool, void *), void *arg)
{
	struct durable *d;

	TAILQ_FOREACH(d, &durables, entry)
		if (d->sub.sess != NULL || strcmp(d->name, DURABLE_INBOX) != 0)
			fn(d->endpoint, d->sub.sess != NULL, arg);
}

void
durable_registry_changed(struct registry *reg)
{
	struct durable *d;

	TAILQ_FOREACH(d, &durables, entry)
		if (d->sub.sess == NULL)
			durable_tree(d, durable_allowed(d, reg));
}

const char *
durable_endpoint_of(const struct durable *d)
{
	return d->endpoint;
}
