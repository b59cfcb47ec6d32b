/*
 * explain.c — "who would receive this alert" (explain.h), from the same
 * answer the publish path uses: the plan (policy.c) and route_recipients
 * (route.c). For each endpoint of the registry it lists what would carry
 * the alert to it (a subscription of a session, a durable subscription, its
 * inbox through a routing rule or as a named recipient) or, when nothing
 * would, why not.
 *
 * Must never: walk the topic tree or match subscriptions itself; change
 * anything (it reads the tree, the durables and the registry only).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "alert.h"
#include "durable.h"
#include "explain.h"
#include "policy.h"
#include "route.h"
#include "session.h"
#include "timeutil.h"
#include "topic.h"
#include "xmalloc.h"

/* The lines of one entry's via, each once. */
struct explain_via {
	char	**v;
	size_t	  n, cap;
};

static void __attribute__((format(printf, 2, 3)))
explain_via_add(struct explain_via *via, const char *fmt, ...)
{
	char line[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < via->n; i++)	/* matched through two patterns */
		if (strcmp(via->v[i], line) == 0)
			return;
	via->v = xgrow(via->v, &via->cap, via->n + 1, sizeof(*via->v));
	via->v[via->n++] = xstrdup(line);
}

/* How t names its endpoint: "route ID" or "recipient". */
static const char *
explain_route(const struct policy_target *t)
{
	return strcmp(t->via, "recipient") == 0 ? "" : "route ";
}

/* Fill e, the entry of endpoint ep, from the recipients rs of plan. */
static void
explain_endpoint(Ccc__V1__ExplainEntry *e, const struct endpoint *ep,
    const struct route_set *rs)
{
	struct explain_via via = { NULL, 0, 0 };
	char reason[640] = "";
	bool withheld = false;

	for (size_t i = 0; i < rs->nlive; i++) {
		const struct route_session *rl = &rs->live[i];

		if (strcmp(rl->sess->endpoint, ep->id) != 0)
			continue;
		for (size_t k = 0; k < rl->nids; k++)
			explain_via_add(&via, "subscription %s (session %llu)",
			    rl->subs[k]->patterns[0],
			    (unsigned long long)rl->sess->serial);
	}
	for (size_t i = 0; i < rs->ndurables; i++) {
		const struct route_durable *rd = &rs->durables[i];

		if (strcmp(rd->endpoint, ep->id) != 0)
			continue;
		if (rd->d != NULL)
			explain_via_add(&via, "durable subscription %s",
			    durable_name(rd->d));
		else
			explain_via_add(&via, "inbox (%s%s)",
			    explain_route(rd->target), rd->target->via);
	}
	for (size_t i = 0; i < rs->nblocked; i++) {
		const struct policy_target *t = rs->blocked[i];

		if (strcmp(t->endpoint, ep->id) == 0)
			snprintf(reason, sizeof(reason), "%s%s conflicts with the "
			    "access rules: %s", explain_route(t), t->via, t->why);
	}
	for (size_t i = 0; i < rs->nwithheld && !withheld; i++)
		withheld = strcmp(rs->withheld[i], ep->id) == 0;
	e->delivered = via.n > 0;
	if (withheld && reason[0] == '\0')
		snprintf(reason, sizeof(reason), "restricted alert (H2 or "
		    "TLP:RED): not among its recipients or routing-rule targets");
	else if (!e->delivered && reason[0] == '\0')
		snprintf(reason, sizeof(reason), "%s", ep->suspended ?
		    "suspended" : (ep->roles & ROLE_SUBSCRIBER) == 0 ?
		    "not a subscriber" : "no subscription, routing rule or "
		    "recipient names it");
	e->via = via.v;
	e->n_via = via.n;
	e->reason = xstrdup(reason);
}

int
explain_alert(struct server *srv, const struct registry *reg,
    Ccc__V1__Alert *a, struct explain *ex, Ccc__V1__ErrorCode *code,
    char *why, size_t whylen)
{
	const struct endpoint *eps, *origin;
	struct route_set *rs;
	struct policy_plan plan;
	char topic[TOPIC_MAX_LEN + 1], refused[600] = "", msg[512];
	size_t n;

	*code = CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_REQUEST;
	if (a == NULL || a->origin[0] == '\0') {
		snprintf(why, whylen, "explain needs an alert with its origin: "
		    "the endpoint whose publish to explain");
		return -1;
	}
	if ((origin = registry_endpoint(reg, a->origin)) == NULL) {
		snprintf(why, whylen, "origin %.64s is not a registered "
		    "endpoint", a->origin);
		return -1;
	}
	if (alert_validate(a, reg, time_now_us(), msg, sizeof(msg)) < 0) {
		*code = CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_ALERT;
		snprintf(why, whylen, "invalid alert: %s", msg);
		return -1;
	}
	alert_topic(a, topic);
	rs = route_set_get();
	if (!acl_may_publish(reg, origin, a->category, a->section, msg,
	    sizeof(msg)) || policy_plan(reg, a, origin->id, topic, &plan, msg,
	    sizeof(msg)) < 0)
		snprintf(refused, sizeof(refused), "the publish would be "
		    "refused: %s", msg);
	else
		route_recipients(srv, topic, &plan, rs);
	eps = registry_endpoints(reg, &n);
	ex->entries = xcalloc(n + 1, sizeof(*ex->entries));
	ex->nentries = n;
	ex->topic = xstrdup(topic);
	for (size_t i = 0; i < n; i++) {
		Ccc__V1__ExplainEntry *e = xcalloc(1, sizeof(*e));

		ccc__v1__explain_entry__init(e);
		e->endpoint = eps[i].id;
		if (refused[0] != '\0')
			e->reason = xasprintf("%.500s", refused);
		else
			explain_endpoint(e, &eps[i], rs);
		ex->entries[i] = e;
	}
	if (refused[0] == '\0')
		policy_plan_free(&plan);
	route_set_put(rs);
	return 0;
}

void
explain_free(struct explain *ex)
{
	for (size_t i = 0; i < ex->nentries; i++) {
		Ccc__V1__ExplainEntry *e = ex->entries[i];

		for (size_t k = 0; k < e->n_via; k++)
			free(e->via[k]);
		free(e->via);
		free(e->reason);
		free(e);
	}
	free(ex->entries);
	free(ex->topic);
	memset(ex, 0, sizeof(*ex));
}
