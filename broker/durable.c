/*
 * durable.c — durable subscriptions.
 *
 * A durable subscription is (endpoint, name, patterns), stored in the store
 * and held here for the life of the broker. Its patterns stay in the topic
 * tree while no session is attached, so publishes queue deliveries for it in
 * the store (route_durables). The store is the only source of its deliveries:
 * when it is attached and has room in its window, its next open deliveries
 * not in flight — most severe first — are fetched and sent with their
 * delivery tags; acknowledgements free the window and mark them done in the
 * store. On reconnect, and when no acknowledgement came for
 * durable.ack_timeout seconds, nothing counts as in flight any more and
 * everything unacknowledged is sent again (at-least-once).
 *
 * Must never: deliver a durable alert that the store has not committed;
 * free a subscription while a store operation will call back with it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "acl.h"
#include "durable.h"
#include "log.h"
#include "metrics.h"
#include "registry.h"
#include "server.h"
#include "session.h"
#include "store.h"
#include "topic.h"
#include "xmalloc.h"

struct durable {
	TAILQ_ENTRY(durable)	 entry;
	uint64_t		 id;		/* the store's id */
	char			*endpoint;
	char			*name;
	struct subscription	 sub;		/* sub.durable == this; owns the patterns */
	bool			 in_tree;	/* patterns are in the topic tree */
	uint64_t		*inflight;	/* tags sent, not yet acknowledged */
	size_t			 ninflight;
	bool			 fetching;	/* a fetch is under way */
	unsigned		 gen;		/* bumped when what is in flight is forgotten */
	unsigned		 fetch_gen;	/* gen when the fetch under way was issued */
	bool			 retry;		/* the timer retries a failed fetch */
	bool			 dirty;		/* new deliveries committed during it */
	bool			 forgetting;	/* a forget is under way */
	unsigned		 ops;		/* store operations that call back with it */
	bool			 gone;		/* forgotten: free when ops is 0 */
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
static struct server *durable_srv;
static struct store *durable_store;

static void	durable_pump(struct durable *);
static void	durable_timer_cb(evutil_socket_t, short, void *);

uint64_t
durable_id(const struct durable *d)
{
	return d->id;
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
	struct durable *d;

	TAILQ_FOREACH(d, &durables, entry)
		if (d->id == id)
			return d;
	return NULL;
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
	uint32_t window = server_config(durable_srv)->durable_window;

	d->id = id;
	d->endpoint = xstrdup(endpoint);
	d->name = xstrdup(name);
	d->sub.patterns = patterns;
	d->sub.npatterns = npatterns;
	d->sub.durable = d;
	d->inflight = xcalloc(window, sizeof(uint64_t));
	d->timer = evtimer_new(server_base(durable_srv), durable_timer_cb, d);
	TAILQ_INSERT_TAIL(&durables, d, entry);
	return d;
}

static void
durable_free(struct durable *d)
{
	for (size_t i = 0; i < d->sub.npatterns; i++)
		free(d->sub.patterns[i]);
	free(d->sub.patterns);
	free(d->inflight);
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
	if (d->gone && d->ops == 0) {
		durable_free(d);
		return false;
	}
	return !d->gone;
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
}

static void
durable_attach(struct session *s, struct durable *d, uint64_t request_id,
    bool resumed)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__SubscribeOk ok = CCC__V1__SUBSCRIBE_OK__INIT;

	sess_sub_attach(s, &d->sub);
	d->ninflight = 0;
	d->gen++;
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
	if (d->sub.sess != NULL || d->forgetting) {
		sess_error(s, request_id,
		    CCC__V1__ERROR_CODE__ERROR_CODE_SUBSCRIPTION_IN_USE, false,
		    "durable subscription \"%s\" is %s", d->name, d->forgetting ?
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

	return d != NULL && !d->forgetting && !d->gone ? d->id : 0;
}

void
durable_inbox_add(uint64_t id, const char *endpoint)
{
	if (durable_find_id(id) == NULL)
		(void)durable_new(id, endpoint, DURABLE_INBOX, NULL, 0);
}

const char *
durable_endpoint(uint64_t id)
{
	struct durable *d = durable_find_id(id);

	return d != NULL ? d->endpoint : NULL;
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
	d->ninflight = 0;
	d->gen++;
	evtimer_del(d->timer);
}

static void
durable_forgotten(void *arg, const struct store_result *res)
{
	struct durable_req *req = arg;
	struct durable *d = req->d;
	struct session *s = req->sess;
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__UnsubscribeOk ok = CCC__V1__UNSUBSCRIBE_OK__INIT;

	d->forgetting = false;
	if (res->status == STORE_FAILED) {
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
		d->gone = true;
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
	d->forgetting = true;
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

/* Record that the first n rows were sent to s: one store operation. */
static void
durable_audit_sent(struct session *s, const struct store_row *rows, size_t n)
{
	static struct audit_rec *v;
	static size_t cap;
	size_t nv = 0;

	if (n == 0)
		return;
	if (n > cap) {
		cap = n;
		v = xreallocarray(v, cap, sizeof(*v));
	}
	for (size_t i = 0; i < n; i++) {
		/* exercise traffic: no record of its own (sess_close) */
		if (topic_is_exercise(rows[i].topic)) {
			s->exercise_rx = true;
			if (!server_config(s->srv)->bench_journal)
				continue;
		}
		memset(&v[nv], 0, sizeof(v[nv]));
		v[nv].event = "deliver";
		v[nv].endpoint = s->endpoint;
		v[nv].subject = s->subject;
		v[nv].fingerprint = s->fingerprint;
		v[nv].peer = s->peer;
		v[nv].alert = rows[i].alert_id;
		v[nv].detail = rows[i].topic;
		v[nv].transfer = acl_is_transfer(s->reg, rows[i].origin,
		    s->endpoint);
		nv++;
	}
	if (nv > 0)
		store_audit_batch(durable_store, v, nv);
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

	d->fetching = false;
	if (res->status == STORE_OK) {
		mc->dead_lettered += res->dead;
		mc->expired += res->expired;
	}
	if (!durable_unhold(d))
		return;
	if (res->status == STORE_FAILED) {
		d->retry = true;
		durable_arm(d, 1);	/* try again in a second */
		return;
	}
	if (res->dead > 0)
		log_warn("durable subscription %s/%s: %zu alerts moved to the "
		    "dead-letter list after %u delivery attempts", d->endpoint,
		    d->name, res->dead, server_config(durable_srv)->max_deliveries);
	if (res->expired > 0)
		log_info("durable subscription %s/%s: %zu expired alerts not "
		    "delivered", d->endpoint, d->name, res->expired);
	if ((s = d->sub.sess) == NULL || s->state != SESS_READY)
		return;		/* detached meanwhile: sent again on resume */
	if (d->fetch_gen != d->gen) {
		/* issued before a resume or redelivery: fetch afresh, in order */
		durable_pump(d);
		return;
	}
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
		d->inflight[d->ninflight++] = r->tag;
	}
	durable_audit_sent(s, res->rows, i);
	if (i < res->nrows && d->ninflight < window)
		return;		/* the session is closing */
	if (d->ninflight > 0 && !evtimer_pending(d->timer, NULL))
		durable_arm(d, server_config(durable_srv)->ack_timeout);
	if (d->dirty || (res->nrows > 0 && d->ninflight < window))
		durable_pump(d);
}

static void
durable_pump(struct durable *d)
{
	const struct config *cfg = server_config(durable_srv);
	struct session *s = d->sub.sess;

	if (s == NULL || s->state != SESS_READY || d->forgetting)
		return;
	if (d->fetching) {
		d->dirty = true;
		return;
	}
	if (d->ninflight >= cfg->durable_window)
		return;
	d->fetching = true;
	d->dirty = false;
	d->fetch_gen = d->gen;
	d->ops++;
	store_fetch(durable_store, d->id, d->inflight, d->ninflight,
	    cfg->durable_window - d->ninflight, cfg->max_deliveries,
	    durable_fetched, d);
}

static void
durable_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct durable *d = arg;

	(void)fd;
	(void)what;
	if (d->sub.sess == NULL)
		return;
	if (d->retry) {		/* a failed fetch, not an ack timeout */
		d->retry = false;
		durable_pump(d);
		return;
	}
	if (d->ninflight > 0 && !d->fetching) {
		log_info("durable subscription %s/%s: no acknowledgement for %u s; "
		    "sending %zu unacknowledged alerts again", d->endpoint, d->name,
		    server_config(durable_srv)->ack_timeout, d->ninflight);
		d->ninflight = 0;
		d->gen++;
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
		server_each_session(durable_srv, durable_push_receipt, &p);
	}
}

void
durable_ack(struct session *s, const uint64_t *tags, size_t n)
{
	struct audit_rec ar = {
		.event = "ack", .endpoint = s->endpoint, .subject = s->subject,
		.fingerprint = s->fingerprint, .peer = s->peer,
	};

	if (n == 0)
		return;
	for (size_t k = 0; k < s->nsubs; k++) {
		struct durable *d = s->subs[k]->durable;
		size_t freed = 0;

		if (d == NULL)
			continue;
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < d->ninflight; j++)
				if (d->inflight[j] == tags[i]) {
					d->inflight[j] = d->inflight[--d->ninflight];
					freed++;
					break;
				}
		/*
		 * All tags go to the store, which keeps those that are open
		 * deliveries of this subscription: a late acknowledgement of
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
