/*
 * regdiff.h — what a registry change changes, and whether it widens who may
 * see what (then a second operator must approve it; docs/operations.md,
 * "Four-eyes approval").
 *
 * Widening: a new endpoint, access rule or routing rule; an endpoint
 * resumed, or given a role, country or kind; any change of an endpoint's CA
 * pins ("ca": they say whose certificates speak for it); a rule given more endpoints,
 * categories, sections, topics, origins or targets than it covered, a lower
 * minimum severity, or another action. Everything else (removals,
 * suspensions, narrower rules, names, new sections) narrows or is neutral.
 */
#ifndef CCC_REGDIFF_H
#define CCC_REGDIFF_H

#include <stdbool.h>

#include <jansson.h>

struct regdiff {
	json_t	*changes;	/* array of strings: "+ endpoint x", "~ route y: ...", "- ..." */
	json_t	*reasons;	/* array of strings: why the change widens */
};

/*
 * Compare two registries in their JSON form (registry_to_json). The result's
 * arrays are new references; free with regdiff_free.
 */
void	regdiff_compare(const json_t *old, const json_t *new_, struct regdiff *d);
bool	regdiff_widens(const struct regdiff *d);
void	regdiff_free(struct regdiff *d);
/* The strings of a JSON array joined by "\n", malloc'd. */
char	*regdiff_join(const json_t *lines);

#endif
