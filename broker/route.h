/*
 * route.h — who gets an accepted alert, answered once per publish.
 *
 * The answer (struct route_set) has four parts:
 *   - live: each session in READY with plain subscriptions matching the
 *     topic, once, with the ids of all its matching subscriptions (and the
 *     history replay the delivery must wait behind, if one is under way);
 *   - durables: the durable subscriptions matching the topic, attached or
 *     not, and the inboxes of the plan's unblocked targets, each once, for
 *     the store to queue;
 *   - feeds: the open console feeds (console_feed.h) whose subscription
 *     matches the topic, each once;
 *   - blocked: the plan's targets the access rules kept the alert from, for
 *     the journal; withheld: the endpoints a subscription or feed matched
 *     that the disclosure policy keeps a restricted alert from, for explain.
 * Each is filtered by the plan (policy_may_receive); a NULL plan lets all
 * through. The publish path (handle.c) and explain (admin.c) read the same
 * answer, so that they cannot disagree.
 *
 * Live sessions must be matched as of the commit, not of the publish: a
 * subscription made with Subscribe.since between the two is replayed only
 * the alerts committed before it (history.h), so this alert must reach it
 * live; a console feed's catch-up joins live delivery at the same seam. route_recipients() walks the topic tree once, at the publish, and
 * notes the tree's generation; route_at_commit() keeps that answer when the
 * tree has not changed since (the normal case), and walks it again for the
 * live part only when it has. The generation of the tree alone decides:
 * whatever changes who is reached live changes the tree (a session leaves
 * READY only through sess_close(), which drops its subscriptions first; a
 * feed's subscription leaves the tree when the feed ends; a registry change
 * drops the subscriptions it no longer allows and ends every feed; the plan
 * is fixed at the publish).
 *
 * Must never: send, journal or call back (the caller does, from the set);
 * allocate per delivery once its buffers have grown.
 */
#ifndef CCC_ROUTE_H
#define CCC_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct durable;
struct feed;
struct policy_plan;
struct policy_target;
struct replay;
struct server;
struct session;
struct subscription;

/* One session that gets the alert live, through its plain subscriptions. */
struct route_session {
	struct session		*sess;
	const uint32_t		*ids;		/* its matching subscription ids, ascending, each once */
	struct subscription *const *subs;	/* the subscriptions of those ids, same order */
	size_t			 nids;
	struct replay		*replay;	/* hold the delivery behind this replay; NULL: send */
	bool			 sent;		/* the caller's: it sent or held the alert for it */
};

/* One durable subscription or inbox the store queues the alert for. */
struct route_durable {
	uint64_t			 id;		/* the store's id */
	const char			*endpoint;	/* whose it is */
	struct durable			*d;		/* matched through its patterns; NULL: an inbox */
	const struct policy_target	*target;	/* an inbox: the rule or recipient that filled it */
};

/*
 * The answer for one alert. The caller reads the public fields; the rest is
 * route.c's. Pointers to sessions, subscriptions, feeds and durables are
 * valid until the loop next runs a callback that may change the tree: the
 * live and feed parts are for route_at_commit() to renew, the durable part is read at the
 * publish (durable_ids stays valid: it is the set's own).
 */
struct route_set {
	struct route_session		*live;
	size_t				 nlive;
	struct route_durable		*durables;
	uint64_t			*durable_ids;	/* the ids of durables, same order (for the store) */
	size_t				 ndurables;
	struct feed			**feeds;	/* open console feeds, each once */
	size_t				 nfeeds;
	const struct policy_target	**blocked;	/* the plan's blocked targets */
	size_t				 nblocked;
	const char			**withheld;	/* endpoints the plan keeps it from; may repeat */
	size_t				 nwithheld;

	/* route.c's: the buffers behind the above, and what the walk saw */
	size_t				 live_cap, durables_cap, blocked_cap;
	size_t				 withheld_cap, feeds_cap;
	uint32_t			*ids;		/* live[].ids point into it */
	struct subscription		**subs;		/* live[].subs point into it */
	size_t				 ids_cap;
	uint64_t			 gen;		/* topic tree generation of the live part */
	struct route_set		*next;		/* on the free list */
};

/*
 * A set to fill, taken from route.c's free list (its buffers already grown)
 * or new; give it back with route_set_put() once the alert is done with.
 */
struct route_set	*route_set_get(void);
void			 route_set_put(struct route_set *rs);
/* Free the sets on the free list (at shutdown). */
void			 route_shutdown(void);

/*
 * Fill rs with who gets an alert on topic under plan (NULL: no policy), from
 * one walk of srv's topic tree: every part, as things are now.
 */
void	route_recipients(struct server *srv, const char *topic,
	    const struct policy_plan *plan, struct route_set *rs);
/*
 * The alert of rs (filled by route_recipients with the same topic and plan)
 * was committed: bring its live and feed parts up to now. Keeps the live
 * sessions and feeds found at the publish when the tree has not changed since, reading only
 * which replays are still under way; walks the tree again otherwise. The
 * durable and blocked parts are those of the publish (the store queued them).
 * Returns true when it walked the tree.
 */
bool	route_at_commit(struct server *srv, const char *topic,
	    const struct policy_plan *plan, struct route_set *rs);

#endif
