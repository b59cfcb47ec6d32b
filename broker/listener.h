/*
 * listener.h — the TCP listener: accepts connections and hands each to a new
 * session. Backs off for a second when the process runs out of descriptors.
 */
#ifndef CCC_LISTENER_H
#define CCC_LISTENER_H

#include <stddef.h>
#include <stdint.h>

struct server;
struct listener;

/* Bind host:port (port 0: any free port). NULL with err set on failure. */
struct listener	*listener_new(struct server *srv, const char *host,
		    uint16_t port, char *err, size_t errlen);
/* Stop accepting (shutdown). */
void		 listener_disable(struct listener *l);
/* The bound address as "HOST:PORT" (the real port when 0 was asked). */
const char	*listener_address(const struct listener *l);
void		 listener_free(struct listener *l);

#endif
