/*
 * explain.h — who would receive an alert, and why or why not, per endpoint
 * of the registry in force ("ccc admin explain"; docs/operations.md).
 *
 * The answer is route.c's (route_recipients), the one the publish path
 * delivers by, told per endpoint: explain cannot disagree with delivery.
 */
#ifndef CCC_EXPLAIN_H
#define CCC_EXPLAIN_H

#include <stddef.h>

#include "ccc/v1/envelope.pb-c.h"

struct registry;
struct server;

/* The explanation of one alert: an entry per endpoint of the registry. */
struct explain {
	Ccc__V1__ExplainEntry	**entries;	/* entries[i] describes endpoint i */
	size_t			  nentries;
	char			 *topic;	/* the alert's topic */
};

/*
 * Explain alert a (its origin set) under reg, with srv's subscriptions as
 * they are now. Returns 0 and fills ex (free with explain_free), or -1 with
 * why[] when the request itself is wrong (no origin, unknown origin: code
 * INVALID_REQUEST; invalid alert: INVALID_ALERT) and ex untouched. A publish
 * that would be refused is explained, with the refusal as every endpoint's
 * reason.
 */
int	explain_alert(struct server *srv, const struct registry *reg,
	    Ccc__V1__Alert *a, struct explain *ex, Ccc__V1__ErrorCode *code,
	    char *why, size_t whylen);
void	explain_free(struct explain *ex);

#endif
