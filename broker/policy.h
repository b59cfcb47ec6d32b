/*
 * policy.h — who receives an alert beyond its subscribers, and who may not:
 * routing rules and the disclosure policy from the alert's own markings
 * (docs/protocol.md, "Routing rules" and "Disclosure policy").
 *
 *   - Routing rules and the recipients an originator names put the alert in
 *     those endpoints' inboxes, but only where the access rules would let
 *     the endpoint subscribe to the alert's topic; a rule that conflicts is
 *     skipped for that endpoint, recorded, and shown by explain.
 *   - Restricted alerts (handling H2 or TLP:RED) reach only their audience:
 *     the recipients named and the routing-rule targets at publish time
 *     (and their originator's own subscriptions). The audience is stamped
 *     into the alert, so later paths (history) apply the same decision.
 *   - Restricted and TLP:AMBER+STRICT alerts may not be re-published by a
 *     recipient: an alert that references one (or reuses its id) is refused
 *     unless it comes from the same originator.
 *
 * Pure functions of a registry snapshot and the alert; explain and delivery
 * use the same ones, so that they cannot disagree.
 */
#ifndef CCC_POLICY_H
#define CCC_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "ccc/v1/alert.pb-c.h"
#include "registry.h"

/* One endpoint an alert is addressed to beyond its subscriptions. */
struct policy_target {
	const char	*endpoint;	/* owned by the registry snapshot */
	const char	*via;		/* "route ID" or "recipient" (first that named it) */
	bool		 blocked;	/* the access rules do not allow it */
	char		 why[256];	/* blocked: the access rules' reason */
};

/* The disclosure decision for one alert, made once at publish time. */
struct policy_plan {
	bool			 restricted;	/* H2 or TLP:RED: audience only */
	bool			 no_forward;	/* restricted or AMBER+STRICT */
	struct policy_target	*targets;	/* inbox deliveries, one per endpoint */
	size_t			 ntargets;
	const char		*origin;
};

/* Restricted (H2 or TLP:RED)? */
bool	policy_restricted(const Ccc__V1__Alert *a);
/*
 * Plan the alert a (validated; origin the publishing endpoint) on topic.
 * Returns 0, or -1 with why[] when the alert cannot be published as it is:
 * a named recipient the access rules do not let receive it, or a restricted
 * alert with nobody to receive it. Routing rules do not apply to an
 * exercise alert. Free with policy_plan_free.
 */
int	policy_plan(const struct registry *reg, const Ccc__V1__Alert *a,
	    const char *origin, const char *topic, struct policy_plan *p,
	    char *why, size_t whylen);
void	policy_plan_free(struct policy_plan *p);
/* The endpoints to stamp as the audience (restricted plans), in *ids. */
size_t	policy_audience(const struct policy_plan *p, char ***ids);
/*
 * May endpoint receive the alert through one of its own subscriptions?
 * Restricted alerts: only the origin and unblocked targets.
 */
bool	policy_may_receive(const struct policy_plan *p, const char *endpoint);
/* The same decision from a stored alert's stamped markings (history). */
bool	policy_stored_may_reach(const Ccc__V1__Alert *a, const char *endpoint);
/* Does route rt match alert a published by origin? */
bool	policy_route_matches(const struct registry *reg,
	    const struct route_rule *rt, const Ccc__V1__Alert *a,
	    const char *origin);

#endif
