/*
 * route_stubs.c — server.c, durable.c and console_feed.c as route.c and
 * explain.c see them
 * (route_stubs.h).
 */
#include <string.h>

#include "console_feed.h"
#include "durable.h"
#include "route_stubs.h"
#include "server.h"

struct topic_tree *stub_tree;
const char *const *stub_inboxes;

struct topic_tree *
server_topics(const struct server *srv)
{
	(void)srv;
	return stub_tree;
}

uint64_t
durable_id(const struct durable *d)
{
	return d->id;
}

const char *
durable_endpoint_of(const struct durable *d)
{
	return d->endpoint;
}

const char *
durable_name(const struct durable *d)
{
	return d->name;
}

uint64_t
durable_inbox(const char *endpoint)
{
	for (size_t i = 0; stub_inboxes != NULL && stub_inboxes[i] != NULL; i++)
		if (strcmp(stub_inboxes[i], endpoint) == 0)
			return 1000 + i;
	return 0;
}

const char *
feed_endpoint(const struct feed *f)
{
	return f->endpoint;
}
