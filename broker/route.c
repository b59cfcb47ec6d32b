/*
 * route.c — fan-out of one accepted alert to the matching sessions.
 *
 * The topic tree yields one match per (pattern, subscription); a session may
 * match through several. Matches are gathered in a reusable array (the loop is
 * single-threaded, so one array serves every publish and the hot path does not
 * allocate once it has grown), sorted by session and subscription id, and
 * each session gets one Deliver listing all its matching subscription ids.
 */
#include <stdlib.h>
#include <string.h>

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

	if (x->sess->serial != y->sess->serial)
		return x->sess->serial < y->sess->serial ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Queue one Deliver to s. Returns 0, or -1 when s could not take it. */
static int
route_deliver(struct session *s, uint32_t *ids, size_t nids,
    const Ccc__V1__Alert *alert, const char *topic)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Deliver d = CCC__V1__DELIVER__INIT;

	d.subscription_ids = ids;
	d.n_subscription_ids = nids;
	d.topic = (char *)(uintptr_t)topic;
	d.alert = (Ccc__V1__Alert *)(uintptr_t)alert;
	env.body_case = CCC__V1__ENVELOPE__BODY_DELIVER;
	env.deliver = &d;
	if (sess_send(s, &env) < 0)
		return -1;
	s->delivered++;
	return 0;
}

uint32_t
route_alert(struct server *srv, const Ccc__V1__Alert *alert, const char *topic)
{
	struct route_matches *m = &route_buf;
	uint32_t reached = 0;
	size_t i = 0, j;

	m->n = 0;
	topic_tree_match(server_topics(srv), topic, route_collect, m);
	if (m->n > 1)
		qsort(m->v, m->n, sizeof(*m->v), route_cmp);
	while (i < m->n) {
		struct session *s = m->v[i]->sess;
		size_t nids = 0;

		for (j = i; j < m->n && m->v[j]->sess == s; j++) {
			if (nids == route_ids_cap) {
				route_ids_cap = route_ids_cap ? route_ids_cap * 2 : 16;
				route_ids = xreallocarray(route_ids, route_ids_cap,
				    sizeof(*route_ids));
			}
			/* the same subscription may match through two patterns */
			if (nids == 0 || route_ids[nids - 1] != m->v[j]->id)
				route_ids[nids++] = m->v[j]->id;
		}
		if (s->state == SESS_READY &&
		    route_deliver(s, route_ids, nids, alert, topic) == 0)
			reached++;
		i = j;
	}
	return reached;
}
