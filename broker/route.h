/*
 * route.h — who gets an accepted alert. Plain subscriptions: each attached
 * session receives the alert once, with the ids of all its subscriptions that
 * matched, encoded once for everybody. Durable subscriptions: the ids of the
 * matching ones, attached or not, for the store to queue.
 */
#ifndef CCC_ROUTE_H
#define CCC_ROUTE_H

#include <stddef.h>
#include <stdint.h>

struct server;

struct policy_plan;
struct session;

/*
 * Deliver the encoded, stamped alert on topic to every session with a
 * matching plain subscription that the plan lets receive it (plan NULL:
 * all), calling each(session, arg) for every session
 * it was queued for (each may be NULL). Returns the number of sessions reached.
 */
uint32_t	route_alert(struct server *srv, const uint8_t *alert, size_t len,
		    const char *topic, const struct policy_plan *plan,
		    void (*each)(struct session *, void *), void *arg);
/*
 * The store ids of the durable subscriptions matching topic that the plan
 * lets receive it, and the inboxes of the plan's unblocked targets, each
 * once, in *ids (a buffer owned by route.c, valid until the next call).
 */
size_t		route_durables(struct server *srv, const char *topic,
		    const struct policy_plan *plan, const uint64_t **ids);

#endif
