/*
 * policy.c — routing rules and the disclosure policy (policy.h).
 *
 * Must never let a routing rule or a named recipient reach an endpoint the
 * access rules keep from the alert's topic, and never deliver a restricted
 * alert outside its audience. Routing rules never take an exercise alert
 * to an inbox.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "policy.h"
#include "xmalloc.h"

bool
policy_restricted(const Ccc__V1__Alert *a)
{
	return a->handling == CCC__V1__HANDLING__HANDLING_H2 ||
	    a->tlp == CCC__V1__TLP__TLP_RED;
}

bool
policy_route_matches(const struct registry *reg, const struct route_rule *rt,
    const Ccc__V1__Alert *a, const char *origin)
{
	const struct endpoint *ep = registry_endpoint(reg, origin);
	bool from = rt->n_origins == 0;

	if (!acl_category_in(rt->all_categories, rt->categories,
	    rt->n_categories, a->category) ||
	    !acl_section_in(rt->sections, rt->n_sections, a->section) ||
	    (int)a->severity < rt->min_severity)
		return false;
	for (size_t i = 0; i < rt->n_origins && !from; i++)
		from = strcmp(rt->origins[i], "*") == 0 ||
		    strcmp(rt->origins[i], origin) == 0 ||
		    (ep != NULL && ep->country != NULL &&
		    strcmp(rt->origins[i], ep->country) == 0);
	return from;
}

/* Add endpoint id as a target through via, once. */
static void
policy_add(const struct registry *reg, struct policy_plan *p, const char *id,
    const char *via, const char *topic)
{
	const struct endpoint *ep = registry_endpoint(reg, id);
	struct policy_target *t;

	if (ep == NULL)
		return;
	for (size_t i = 0; i < p->ntargets; i++)
		if (strcmp(p->targets[i].endpoint, ep->id) == 0)
			return;
	p->targets = xreallocarray(p->targets, p->ntargets + 1,
	    sizeof(*p->targets));
	t = &p->targets[p->ntargets++];
	memset(t, 0, sizeof(*t));
	t->endpoint = ep->id;
	t->via = via;
	t->blocked = !acl_may_subscribe(reg, ep, topic, t->why, sizeof(t->why));
}

int
policy_plan(const struct registry *reg, const Ccc__V1__Alert *a,
    const char *origin, const char *topic, struct policy_plan *p, char *why,
    size_t whylen)
{
	const struct route_rule *routes;
	size_t n, live = 0;

	memset(p, 0, sizeof(*p));
	p->origin = origin;
	p->restricted = policy_restricted(a);
	p->no_forward = p->restricted ||
	    a->tlp == CCC__V1__TLP__TLP_AMBER_STRICT;
	for (size_t i = 0; i < a->n_recipients; i++) {
		policy_add(reg, p, a->recipients[i], "recipient", topic);
		if (p->targets[p->ntargets - 1].blocked) {
			snprintf(why, whylen, "recipient %s may not receive "
			    "alerts on %s: %s", a->recipients[i], topic,
			    p->targets[p->ntargets - 1].why);
			policy_plan_free(p);
			return -1;
		}
	}
	/* exercise traffic never reaches the inboxes */
	n = 0;
	routes = a->exercise ? NULL : registry_routes(reg, &n);
	for (size_t i = 0; i < n; i++)
		if (policy_route_matches(reg, &routes[i], a, origin))
			for (size_t j = 0; j < routes[i].n_targets; j++)
				policy_add(reg, p, routes[i].targets[j],
				    routes[i].id, topic);
	for (size_t i = 0; i < p->ntargets; i++)
		live += !p->targets[i].blocked;
	if (p->restricted && live == 0) {
		snprintf(why, whylen, "a restricted alert (handling H2 or "
		    "TLP:RED) reaches only the recipients it names and the "
		    "routing rules' targets, and it has none: name its "
		    "recipients");
		policy_plan_free(p);
		return -1;
	}
	return 0;
}

void
policy_plan_free(struct policy_plan *p)
{
	free(p->targets);
	p->targets = NULL;
	p->ntargets = 0;
}

size_t
policy_audience(const struct policy_plan *p, char ***ids)
{
	size_t n = 0;

	*ids = xcalloc(p->ntargets ? p->ntargets : 1, sizeof(char *));
	for (size_t i = 0; i < p->ntargets; i++)
		if (!p->targets[i].blocked)
			(*ids)[n++] = (char *)p->targets[i].endpoint;
	return n;
}

bool
policy_may_receive(const struct policy_plan *p, const char *endpoint)
{
	if (!p->restricted || strcmp(endpoint, p->origin) == 0)
		return true;
	for (size_t i = 0; i < p->ntargets; i++)
		if (!p->targets[i].blocked &&
		    strcmp(p->targets[i].endpoint, endpoint) == 0)
			return true;
	return false;
}

bool
policy_stored_may_reach(const Ccc__V1__Alert *a, const char *endpoint)
{
	if (!policy_restricted(a) || strcmp(a->origin, endpoint) == 0)
		return true;
	for (size_t i = 0; i < a->n_audience; i++)
		if (strcmp(a->audience[i], endpoint) == 0)
			return true;
	return false;
}
