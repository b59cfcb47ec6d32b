/*
 * route.c — fan-out of one accepted alert to the matching subscriptions.
 *
 * The topic tree yields one match per (pattern, subscription); a session may
 * match through several. Matches are gathered in a reusable array (the loop is
 * single-threaded, so one array serves every publish and the hot path does not
 * allocate once it has grown), sorted by session and subscription id, and
 * each session gets one Deliver listing all its matching subscription ids.
 * The alert is encoded once by the caller; each Deliver frame wraps the same
 * bytes (frame_encode_deliver), and a frame is encoded once for all the
 * sessions in a row whose subscription ids are the same (most often each
 * session's first subscription, id 1), then copied.
 */
#include <stdlib.h>
#include <string.h>

#include "durable.h"
#include "frame.h"
#include "history.h"
#include "metrics.h"
#include "policy.h"
#include "route.h"
#include "server.h"
#include "session.h"
#include "xmalloc.h"

struct route_matches {
	struct subscription	**v;
	size_t			  n, cap;
};

static struct route_matches route_buf;
static uint32_t *route_ids;
static size_t route_ids_cap;
static uint64_t *route_dids;
static size_t route_dids_cap;

/* The Deliver frame last encoded by route_alert(), and its subscription ids. */
static struct route_frame {
	uint8_t		*buf;
	size_t		 len, cap;
	uint32_t	*ids;
	size_t		 nids, ids_cap;
} route_frame;

static void
route_collect(void *value, void *arg)
{
	struct route_matches *m = arg;

	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->v = xreallocarray(m->v, m->cap, sizeof(*m->v));
	}
	m->v[m->n++] = value;
}

static int
route_cmp(const void *a, const void *b)
{
	const struct subscription *x = *(struct subscription *const *)a;
	const struct subscription *y = *(struct subscription *const *)b;
	uintptr_t sx = (uintptr_t)x->sess, sy = (uintptr_t)y->sess;

	if (sx != sy)
		return sx < sy ? -1 : 1;
	if (x->id != y->id)		/* ids in order within a session */
		return x->id < y->id ? -1 : 1;
	return x < y ? -1 : x > y;	/* detached durables: id 0 */
}

/* Gather the subscriptions matching topic, grouped by session. */
static struct route_matches *
route_match(struct server *srv, const char *topic)
{
	struct route_matches *m = &route_buf;

	m->n = 0;
	topic_tree_match(server_topics(srv), topic, route_collect, m);
	if (m->n > 1)
		qsort(m->v, m->n, sizeof(*m->v), route_cmp);
	return m;
}

/*
 * Queue d (the alert in its subscription ids for s) to s, reusing the frame
 * encoded for the previous session when its ids were the same. Returns 0,
 * or -1 as sess_send() does.
 */
static int
route_send(struct session *s, const Ccc__V1__Deliver *d, const uint8_t *alert,
    size_t len, bool fresh)
{
	struct route_frame *f = &route_frame;
	size_t n;

	if (fresh || f->nids != d->n_subscription_ids ||
	    memcmp(f->ids, d->subscription_ids, f->nids * sizeof(*f->ids)) != 0) {
		n = frame_deliver_size(d, len);
		if (n > f->cap) {
			f->cap = n;
			f->buf = xreallocarray(f->buf, f->cap, 1);
		}
		f->len = frame_encode_deliver(d, alert, len, f->buf);
		if (d->n_subscription_ids > f->ids_cap) {
			f->ids_cap = d->n_subscription_ids;
			f->ids = xreallocarray(f->ids, f->ids_cap, sizeof(*f->ids));
		}
		memcpy(f->ids, d->subscription_ids, d->n_subscription_ids *
		    sizeof(*f->ids));
		f->nids = d->n_subscription_ids;
	}
	return sess_send_frame(s, f->buf, f->len);
}

uint32_t
route_alert(struct server *srv, const uint8_t *alert, size_t len,
    const char *topic, const struct policy_plan *plan,
    void (*each)(struct session *, void *), void *arg)
{
	struct route_matches *m = route_match(srv, topic);
	Ccc__V1__Deliver d = CCC__V1__DELIVER__INIT;
	uint32_t reached = 0;
	size_t i = 0, j;
	bool fresh = true;	/* no frame of this alert encoded yet */

	d.topic = (char *)(uintptr_t)topic;
	while (i < m->n) {
		struct session *s = m->v[i]->sess;
		struct replay *held = NULL;
		size_t nids = 0;
		int rc;

		for (j = i; j < m->n && m->v[j]->sess == s; j++) {
			if (m->v[j]->durable != NULL)
				continue;	/* the store queues those */
			if (m->v[j]->replay != NULL && held == NULL)
				held = m->v[j]->replay;	/* wait behind its history */
			if (nids == route_ids_cap) {
				route_ids_cap = route_ids_cap ? route_ids_cap * 2 : 16;
				route_ids = xreallocarray(route_ids, route_ids_cap,
				    sizeof(*route_ids));
			}
			/* the same subscription may match through two patterns */
			if (nids == 0 || route_ids[nids - 1] != m->v[j]->id)
				route_ids[nids++] = m->v[j]->id;
		}
		if (nids > 0 && s != NULL && s->state == SESS_READY &&
		    (plan == NULL || policy_may_receive(plan, s->endpoint))) {
			d.subscription_ids = route_ids;
			d.n_subscription_ids = nids;
			if (held != NULL)
				rc = history_hold(held, &d, alert, len);
			else {
				rc = route_send(s, &d, alert, len, fresh);
				fresh = false;
			}
			if (rc == 0) {
				reached++;
				if (each != NULL)
					each(s, arg);
			}
		}
		i = j;
	}
	server_counters(srv)->deliveries_plain += reached;
	return reached;
}

/* Append id to the first n durable ids unless it is there already. */
static size_t
route_add_durable(size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (route_dids[i] == id)
			return n;
	if (n == route_dids_cap) {
		route_dids_cap = route_dids_cap ? route_dids_cap * 2 : 16;
		route_dids = xreallocarray(route_dids, route_dids_cap,
		    sizeof(*route_dids));
	}
	route_dids[n++] = id;
	return n;
}

size_t
route_durables(struct server *srv, const char *topic,
    const struct policy_plan *plan, const uint64_t **ids)
{
	struct route_matches *m = route_match(srv, topic);
	size_t n = 0;

	for (size_t i = 0; i < m->n; i++) {
		struct durable *d = m->v[i]->durable;
		uint64_t id;

		if (d == NULL)
			continue;
		id = durable_id(d);
		if (n > 0 && route_dids[n - 1] == id)
			continue;	/* matched through two patterns */
		if (plan != NULL && !policy_may_receive(plan,
		    durable_endpoint(d)))
			continue;
		if (n == route_dids_cap) {
			route_dids_cap = route_dids_cap ? route_dids_cap * 2 : 16;
			route_dids = xreallocarray(route_dids, route_dids_cap,
			    sizeof(*route_dids));
		}
		route_dids[n++] = id;
	}
	for (size_t i = 0; plan != NULL && i < plan->ntargets; i++) {
		uint64_t inbox;

		if (!plan->targets[i].blocked &&
		    (inbox = durable_inbox(plan->targets[i].endpoint)) != 0)
			n = route_add_durable(n, inbox);
	}
	*ids = route_dids;
	return n;
}
