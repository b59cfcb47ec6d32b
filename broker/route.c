/*
 * route.c — who gets an accepted alert (route.h): one walk of the topic
 * tree per publish, read by the publish path and by explain alike.
 *
 * The tree yields one match per (pattern, subscription); a session may
 * match through several, and one subscription through two of its patterns.
 * Matches are gathered in a scratch array, sorted by session and
 * subscription id, and folded into the set: one entry per session with its
 * subscription ids each once, one per durable subscription or inbox, one
 * per console feed (a feed's subscription has no session and id 0, so the
 * copies of one matched through two patterns are neighbours).
 *
 * Owns: the scratch array and the free list of sets. Both keep their grown
 * buffers (the loop is single-threaded), so that routing does not allocate
 * once warmed up; at most ROUTE_SETS_KEPT sets wait on the free list, so a
 * burst of publishes in flight does not pin memory for ever.
 *
 * Must never: send, journal, or call back into its caller; keep a pointer
 * to a session or subscription past the tree generation it was read at.
 */
#include <stdlib.h>
#include <string.h>

#include "console_feed.h"
#include "durable.h"
#include "policy.h"
#include "route.h"
#include "server.h"
#include "session.h"
#include "topic.h"
#include "xmalloc.h"

#define ROUTE_SETS_KEPT	64	/* sets kept for reuse on the free list */

/* The matches of the walk under way, grouped by route_cmp(). */
static struct {
	struct subscription	**v;
	size_t			  n, cap;
} route_matches;

static struct route_set *route_free;	/* sets to reuse */
static size_t route_nfree;

struct route_set *
route_set_get(void)
{
	struct route_set *rs = route_free;

	if (rs == NULL)
		return xcalloc(1, sizeof(*rs));
	route_free = rs->next;
	route_nfree--;
	rs->next = NULL;
	return rs;
}

static void
route_set_free(struct route_set *rs)
{
	free(rs->live);
	free(rs->durables);
	free(rs->durable_ids);
	free(rs->feeds);
	free(rs->blocked);
	free(rs->withheld);
	free(rs->ids);
	free(rs->subs);
	free(rs);
}

void
route_set_put(struct route_set *rs)
{
	if (rs == NULL)
		return;
	if (route_nfree >= ROUTE_SETS_KEPT) {
		route_set_free(rs);
		return;
	}
	rs->next = route_free;
	route_free = rs;
	route_nfree++;
}

void
route_shutdown(void)
{
	struct route_set *rs;

	while ((rs = route_free) != NULL) {
		route_free = rs->next;
		route_set_free(rs);
	}
	route_nfree = 0;
	free(route_matches.v);
	memset(&route_matches, 0, sizeof(route_matches));
}

static void
route_collect(void *value, void *arg)
{
	(void)arg;
	route_matches.v = xgrow(route_matches.v, &route_matches.cap,
	    route_matches.n + 1, sizeof(*route_matches.v));
	route_matches.v[route_matches.n++] = value;
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

/* Gather the subscriptions matching topic in route_matches, grouped. */
static void
route_walk(struct server *srv, const char *topic)
{
	route_matches.n = 0;
	topic_tree_match(server_topics(srv), topic, route_collect, NULL);
	if (route_matches.n > 1)
		qsort(route_matches.v, route_matches.n, sizeof(*route_matches.v),
		    route_cmp);
}

/* The replay rl's delivery must wait behind, if one is under way. */
static struct replay *
route_replay(const struct route_session *rl)
{
	for (size_t j = 0; j < rl->nids; j++)
		if (rl->subs[j]->replay != NULL)
			return rl->subs[j]->replay;
	return NULL;
}

static void
route_withhold(struct route_set *rs, const char *endpoint)
{
	rs->withheld = xgrow(rs->withheld, &rs->withheld_cap, rs->nwithheld + 1,
	    sizeof(*rs->withheld));
	rs->withheld[rs->nwithheld++] = endpoint;
}

/*
 * The live part of rs from the walk just made: each READY session with
 * matching plain subscriptions that the plan lets receive it. Sessions the
 * plan keeps it from are noted as withheld when withhold is set.
 */
static void
route_fill_live(struct route_set *rs, const struct policy_plan *plan,
    bool withhold)
{
	struct subscription **m = route_matches.v;
	size_t i = 0, j, nids = 0, off = 0;

	rs->nlive = 0;
	while (i < route_matches.n) {
		struct session *s = m[i]->sess;
		struct route_session *rl;
		size_t first = nids;

		for (j = i; j < route_matches.n && m[j]->sess == s; j++) {
			if (m[j]->durable != NULL || m[j]->feed != NULL)
				continue;	/* the store queues those; feeds: below */
			/* the same subscription may match through two patterns */
			if (nids > first && rs->ids[nids - 1] == m[j]->id)
				continue;
			if (nids + 1 > rs->ids_cap) {	/* grown in step */
				size_t cap = rs->ids_cap;

				rs->subs = xgrow(rs->subs, &cap, nids + 1,
				    sizeof(*rs->subs));
				rs->ids = xgrow(rs->ids, &rs->ids_cap, nids + 1,
				    sizeof(*rs->ids));
			}
			rs->ids[nids] = m[j]->id;
			rs->subs[nids++] = m[j];
		}
		i = j;
		if (nids == first)
			continue;
		if (s == NULL || s->state != SESS_READY) {
			nids = first;
			continue;
		}
		if (plan != NULL && !policy_may_receive(plan, s->endpoint)) {
			if (withhold)
				route_withhold(rs, s->endpoint);
			nids = first;
			continue;
		}
		rs->live = xgrow(rs->live, &rs->live_cap, rs->nlive + 1,
		    sizeof(*rs->live));
		rl = &rs->live[rs->nlive++];
		rl->sess = s;
		rl->nids = nids - first;
		rl->sent = false;
	}
	/* the id buffers have stopped moving: point each session into them */
	for (i = 0; i < rs->nlive; i++) {
		struct route_session *rl = &rs->live[i];

		rl->ids = rs->ids + off;
		rl->subs = rs->subs + off;
		rl->replay = route_replay(rl);
		off += rl->nids;
	}
}

/*
 * The feed part of rs from the walk just made: each feed whose subscription
 * matched, once, that the plan lets receive it. Feeds the plan keeps it from
 * are noted as withheld when withhold is set.
 */
static void
route_fill_feeds(struct route_set *rs, const struct policy_plan *plan,
    bool withhold)
{
	struct subscription **m = route_matches.v;

	rs->nfeeds = 0;
	for (size_t i = 0; i < route_matches.n; i++) {
		struct feed *f = m[i]->feed;

		if (f == NULL)
			continue;
		if (i > 0 && m[i - 1] == m[i])	/* through two patterns */
			continue;
		if (plan != NULL && !policy_may_receive(plan,
		    feed_endpoint(f))) {
			if (withhold)
				route_withhold(rs, feed_endpoint(f));
			continue;
		}
		rs->feeds = xgrow(rs->feeds, &rs->feeds_cap, rs->nfeeds + 1,
		    sizeof(*rs->feeds));
		rs->feeds[rs->nfeeds++] = f;
	}
}

static void
route_add_durable(struct route_set *rs, uint64_t id, const char *endpoint,
    struct durable *d, const struct policy_target *t)
{
	size_t cap = rs->durables_cap;	/* the two grow in step */
	struct route_durable *rd;

	rs->durable_ids = xgrow(rs->durable_ids, &cap, rs->ndurables + 1,
	    sizeof(*rs->durable_ids));
	rs->durables = xgrow(rs->durables, &rs->durables_cap, rs->ndurables + 1,
	    sizeof(*rs->durables));
	rd = &rs->durables[rs->ndurables];
	rd->id = id;
	rd->endpoint = endpoint;
	rd->d = d;
	rd->target = t;
	rs->durable_ids[rs->ndurables++] = id;
}

/* The durable and blocked parts of rs from the walk just made. */
static void
route_fill_durables(struct route_set *rs, const struct policy_plan *plan)
{
	rs->ndurables = 0;
	rs->nblocked = 0;
	for (size_t i = 0; i < route_matches.n; i++) {
		struct durable *d = route_matches.v[i]->durable;
		const char *ep;

		if (d == NULL)
			continue;
		/* matched through two patterns: the copies are neighbours */
		if (i > 0 && route_matches.v[i - 1]->durable == d)
			continue;
		ep = durable_endpoint_of(d);
		if (plan != NULL && !policy_may_receive(plan, ep)) {
			route_withhold(rs, ep);
			continue;
		}
		route_add_durable(rs, durable_id(d), ep, d, NULL);
	}
	for (size_t i = 0; plan != NULL && i < plan->ntargets; i++) {
		const struct policy_target *t = &plan->targets[i];
		uint64_t inbox;
		size_t k;

		if (t->blocked) {
			rs->blocked = xgrow(rs->blocked, &rs->blocked_cap,
			    rs->nblocked + 1, sizeof(*rs->blocked));
			rs->blocked[rs->nblocked++] = t;
			continue;
		}
		if ((inbox = durable_inbox(t->endpoint)) == 0)
			continue;	/* none yet: nothing to queue it in */
		for (k = 0; k < rs->ndurables; k++)
			if (rs->durable_ids[k] == inbox)
				break;
		if (k == rs->ndurables)
			route_add_durable(rs, inbox, t->endpoint, NULL, t);
	}
}

void
route_recipients(struct server *srv, const char *topic,
    const struct policy_plan *plan, struct route_set *rs)
{
	rs->nwithheld = 0;
	route_walk(srv, topic);
	route_fill_durables(rs, plan);
	route_fill_live(rs, plan, true);
	route_fill_feeds(rs, plan, true);
	rs->gen = topic_tree_generation(server_topics(srv));
}

/*
 * Why keeping the live part is exact (the seam with history.c): the set was
 * read at generation g. Whatever would change it changes the tree: a
 * subscription added (with since or not) or dropped, a session closed
 * (sess_close drops its subscriptions before it leaves READY), a feed opened
 * or ended (its subscription enters the tree as it opens and leaves it as
 * it ends), a registry change that revokes a subscription. The same holds
 * for a feed's catch-up, which reads seq <= the last committed when the
 * feed opened. So, at the commit, generation g means
 * every session, subscription and id of the set is as it was and nothing
 * was added; only replays may have ended (history_end) since, and those are
 * read again here. Any other generation: walk again. A subscription made
 * with since between the publish and the commit therefore always gets the
 * alert live, and its replay (which reads seq <= the last committed when it
 * started, this alert's being later) never does: exactly once.
 */
bool
route_at_commit(struct server *srv, const char *topic,
    const struct policy_plan *plan, struct route_set *rs)
{
	uint64_t gen = topic_tree_generation(server_topics(srv));

	if (gen == rs->gen) {
		for (size_t i = 0; i < rs->nlive; i++)
			rs->live[i].replay = route_replay(&rs->live[i]);
		return false;
	}
	route_walk(srv, topic);
	route_fill_live(rs, plan, false);
	route_fill_feeds(rs, plan, false);
	rs->gen = gen;
	return true;
}
