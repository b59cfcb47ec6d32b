/*
 * listener.h — the TCP listener: accepts connections and hands each to a new
 * session. Bounds the connections that have not authenticated yet, in all
 * and per source address. Backs off for a second when the process runs out
 * of descriptors.
 */
#ifndef CCC_LISTENER_H
#define CCC_LISTENER_H

#include <stddef.h>
#include <stdint.h>

struct server;
struct session;
struct listener;
/* One accepted connection counted as a handshake under way. */
struct listener_slot;

/* Bind host:port (port 0: any free port). NULL with err set on failure. */
struct listener	*listener_new(struct server *srv, const char *host,
		    uint16_t port, char *err, size_t errlen);
/* Stop accepting (shutdown). */
void		 listener_disable(struct listener *l);
/* The bound address as "HOST:PORT" (the real port when 0 was asked). */
const char	*listener_address(const struct listener *l);
/* Free l; every slot must have been released before (sessions first). */
void		 listener_free(struct listener *l);

/*
 * The session that slot counts (sess_new() tells, once it exists): the
 * listener may close it to make room for a connection from a less busy
 * source.
 */
void		 listener_slot_bind(struct listener_slot *slot,
		    struct session *s);
/*
 * The connection slot counts has left its handshake (authenticated, or
 * closing): stop counting it, and free slot. NULL is fine.
 */
void		 listener_slot_release(struct listener_slot *slot);

#endif
