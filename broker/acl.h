/*
 * acl.h — access-rule evaluation. Pure functions of a registry snapshot.
 *
 * Publishing needs the publisher role and a publish rule naming the endpoint,
 * the alert's category and its section. Subscribing needs the subscriber role
 * and a subscribe rule naming the endpoint whose topic patterns cover the
 * requested pattern entirely (topic_pattern_covers): a pattern that reaches
 * beyond the rules is refused, never silently narrowed. An exercise
 * pattern "exercise/X" is allowed exactly when "alerts/X" is: exercise
 * traffic mirrors the live topics, with the same rights.
 */
#ifndef CCC_ACL_H
#define CCC_ACL_H

#include <stdbool.h>
#include <stddef.h>

#include "registry.h"

/* On refusal returns false and why[] holds a message fit for the peer. */
bool	acl_may_publish(const struct registry *reg, const struct endpoint *ep,
	    int category, const char *section, char *why, size_t whylen);
/* pattern must already be syntactically valid (topic_pattern_check). */
bool	acl_may_subscribe(const struct registry *reg, const struct endpoint *ep,
	    const char *pattern, char *why, size_t whylen);

/*
 * The topic patterns the subscribe rules give ep, each once, in rule order,
 * into out[0..max) (pointers into reg): what ep may subscribe to entirely.
 * None for a suspended endpoint or one without the subscriber role. Returns
 * how many there are (may exceed max: only max were written).
 */
size_t	acl_subscribe_patterns(const struct registry *reg,
	    const struct endpoint *ep, const char **out, size_t max);

/* True when categories[0..n) holds category, or all. */
bool	acl_category_in(bool all, const int *categories, size_t n, int category);
/*
 * True when one of sections[0..n) covers section: "*" (all), a border
 * followed by "/" and "*" (every section on it), or the id itself.
 */
bool	acl_section_in(char *const *sections, size_t n, const char *section);

/*
 * True when handing an alert from endpoint origin to endpoint recipient is an
 * international transfer in the sense of Directive (EU) 2016/680: from a
 * Bulgarian or Greek endpoint to a Turkish one.
 */
bool	acl_is_transfer(const struct registry *reg, const char *origin,
	    const char *recipient);

#endif
