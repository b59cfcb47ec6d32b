/*
 * route_stubs.h — the broker around route.c and explain.c, for
 * check_route.c: the server's topic tree, durable subscriptions, inboxes
 * and console feeds held by the test, in place of server.c, durable.c and
 * console_feed.c (which the unit
 * binary does not link in their stead).
 */
#ifndef CCC_TEST_ROUTE_STUBS_H
#define CCC_TEST_ROUTE_STUBS_H

#include <stdbool.h>
#include <stdint.h>

#include "session.h"

/* A durable subscription as the stubs keep it (durable.c's is opaque). */
struct durable {
	uint64_t		 id;
	const char		*endpoint;
	const char		*name;
	struct subscription	 sub;		/* sub.durable == this */
};

/* A console feed as the stubs keep it (console_feed.c's is opaque). */
struct feed {
	const char		*endpoint;
	struct subscription	 sub;		/* sub.feed == this */
};

/* The tree server_topics() returns for any server. */
extern struct topic_tree *stub_tree;
/* The endpoints that have an inbox (durable_inbox: 1000 + index), NULL-ended. */
extern const char *const *stub_inboxes;

#endif
