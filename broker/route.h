/*
 * route.h — fan-out of an accepted alert to the sessions whose subscriptions
 * match its topic. Each session receives an alert once, with the ids of all
 * its subscriptions that matched.
 */
#ifndef CCC_ROUTE_H
#define CCC_ROUTE_H

#include <stdint.h>

#include "ccc/v1/alert.pb-c.h"

struct server;

/* Deliver alert (validated and stamped) on topic. Returns the number of sessions reached. */
uint32_t	route_alert(struct server *srv, const Ccc__V1__Alert *alert,
		    const char *topic);

#endif
