/*
 * acl.c — may this endpoint publish this alert, or subscribe to this
 * pattern? Pure functions of a registry snapshot: default-deny, role first,
 * then the first access rule that allows the request.
 *
 * Refusals are written for the peer: short, precise, and naming only what
 * the peer already knows (its own id, its request, and the topics it may
 * have). This file must never widen or narrow a request, and never log.
 */
#include <stdio.h>
#include <string.h>

#include "acl.h"
#include "ccc/v1/alert.pb-c.h"
#include "names.h"
#include "topic.h"

/* True when list[0..n) holds s or "*". */
static bool
acl_names(char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], "*") == 0 || strcmp(list[i], s) == 0)
			return true;
	return false;
}

bool
acl_category_in(bool all, const int *categories, size_t n, int category)
{
	if (all)
		return true;
	for (size_t i = 0; i < n; i++)
		if (categories[i] == category)
			return true;
	return false;
}

bool
acl_section_in(char *const *sections, size_t n, const char *section)
{
	for (size_t i = 0; i < n; i++) {
		const char *p = sections[i];
		size_t len = strlen(p);

		if (strcmp(p, "*") == 0 || strcmp(p, section) == 0)
			return true;
		if (len >= 2 && p[len - 1] == '*' && p[len - 2] == '/' &&
		    strncmp(p, section, len - 1) == 0 && section[len - 1] != '\0')
			return true;
	}
	return false;
}

/* Role and suspension, common to both requests. */
static bool
acl_standing(const struct endpoint *ep, enum endpoint_role role, char *why,
    size_t whylen)
{
	if (ep->suspended) {
		snprintf(why, whylen, "%s is suspended", ep->id);
		return false;
	}
	if ((ep->roles & role) == 0) {
		snprintf(why, whylen, "%s lacks the %s role", ep->id,
		    registry_role_name(role));
		return false;
	}
	return true;
}

bool
acl_may_publish(const struct registry *reg, const struct endpoint *ep,
    int category, const char *section, char *why, size_t whylen)
{
	const char *cname = names_enum_short(&ccc__v1__category__descriptor,
	    category);
	const struct access_rule *rules, *r;
	size_t n;

	if (!acl_standing(ep, ROLE_PUBLISHER, why, whylen))
		return false;
	if (cname != NULL && category != 0 &&
	    registry_section(reg, section) != NULL) {
		rules = registry_rules(reg, &n);
		for (size_t i = 0; i < n; i++) {
			r = &rules[i];
			if (r->action == ACL_PUBLISH &&
			    acl_names(r->endpoints, r->n_endpoints, ep->id) &&
			    acl_category_in(r->all_categories, r->categories,
			    r->n_categories, category) &&
			    acl_section_in(r->sections, r->n_sections, section))
				return true;
		}
	}
	if (cname == NULL || category == 0)	/* not a category at all */
		snprintf(why, whylen, "%s may not publish alerts of category %d "
		    "for section %s", ep->id, category, section);
	else
		snprintf(why, whylen, "%s may not publish %s alerts for section "
		    "%s", ep->id, cname, section);
	return false;
}

/* True when rule is a subscribe rule naming the endpoint id. */
static bool
acl_subscribes(const struct access_rule *rule, const char *id)
{
	return rule->action == ACL_SUBSCRIBE &&
	    acl_names(rule->endpoints, rule->n_endpoints, id);
}

/* True when rules before rules[i].topics[t] already list that pattern for id. */
static bool
acl_listed_before(const struct access_rule *rules, size_t i, size_t t,
    const char *id)
{
	const char *p = rules[i].topics[t];

	for (size_t j = 0; j <= i; j++) {
		if (!acl_subscribes(&rules[j], id))
			continue;
		for (size_t u = 0; u < (j == i ? t : rules[j].n_topics); u++)
			if (strcmp(rules[j].topics[u], p) == 0)
				return true;
	}
	return false;
}

/*
 * The live pattern whose rights an exercise pattern has: "exercise/X" is
 * checked as "alerts/X"; any other pattern as itself.
 */
static const char *
acl_live_pattern(const char *pattern, char buf[TOPIC_MAX_LEN + 1])
{
	if (!topic_is_exercise(pattern))
		return pattern;
	snprintf(buf, TOPIC_MAX_LEN + 1, "%s%s", TOPIC_LIVE,
	    pattern + strlen(TOPIC_EXERCISE));
	return buf;
}

bool
acl_may_subscribe(const struct registry *reg, const struct endpoint *ep,
    const char *pattern, char *why, size_t whylen)
{
	const struct access_rule *rules;
	size_t n, off = 0, nallowed = 0;
	char allowed[512] = "", buf[TOPIC_MAX_LEN + 1];
	const char *live = acl_live_pattern(pattern, buf);

	if (!acl_standing(ep, ROLE_SUBSCRIBER, why, whylen))
		return false;
	rules = registry_rules(reg, &n);
	for (size_t i = 0; i < n; i++) {
		if (!acl_subscribes(&rules[i], ep->id))
			continue;
		for (size_t t = 0; t < rules[i].n_topics; t++)
			if (topic_pattern_covers(rules[i].topics[t], live))
				return true;
	}

	/* refused: say what this endpoint may have, each pattern once */
	for (size_t i = 0; i < n; i++) {
		if (!acl_subscribes(&rules[i], ep->id))
			continue;
		for (size_t t = 0; t < rules[i].n_topics &&
		    off < sizeof(allowed); t++) {
			if (acl_listed_before(rules, i, t, ep->id))
				continue;
			off += (size_t)snprintf(allowed + off,
			    sizeof(allowed) - off, "%s%s", nallowed ? ", " : "",
			    rules[i].topics[t]);
			nallowed++;
		}
	}
	if (nallowed == 0)
		snprintf(why, whylen, "%s may not subscribe to \"%s\": no access "
		    "rule lets it subscribe to any topic", ep->id, pattern);
	else
		snprintf(why, whylen, "%s may not subscribe to \"%s\": it reaches "
		    "beyond the topics its access rules allow (%s)", ep->id,
		    pattern, allowed);
	return false;
}

size_t
acl_subscribe_patterns(const struct registry *reg, const struct endpoint *ep,
    const char **out, size_t max)
{
	const struct access_rule *rules;
	size_t n, found = 0;
	char why[256];

	if (!acl_standing(ep, ROLE_SUBSCRIBER, why, sizeof(why)))
		return 0;
	rules = registry_rules(reg, &n);
	for (size_t i = 0; i < n; i++) {
		if (!acl_subscribes(&rules[i], ep->id))
			continue;
		for (size_t t = 0; t < rules[i].n_topics; t++) {
			if (acl_listed_before(rules, i, t, ep->id))
				continue;
			if (found < max)
				out[found] = rules[i].topics[t];
			found++;
		}
	}
	return found;
}

bool
acl_is_transfer(const struct registry *reg, const char *origin,
    const char *recipient)
{
	const struct endpoint *o = registry_endpoint(reg, origin);
	const struct endpoint *r = registry_endpoint(reg, recipient);

	return o != NULL && r != NULL && o->country != NULL &&
	    r->country != NULL && strcmp(r->country, "TR") == 0 &&
	    (strcmp(o->country, "BG") == 0 || strcmp(o->country, "GR") == 0);
}
