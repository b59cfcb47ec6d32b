/*
 * peers.h — the open sessions of each endpoint: an index kept by the server
 * (server_each_session_of), so that what concerns one endpoint — a receipt
 * pushed to an alert's originator — reaches its sessions without a scan of
 * every session.
 *
 * A session is listed from the moment it becomes READY until it closes.
 */
#ifndef CCC_PEERS_H
#define CCC_PEERS_H

#include <stddef.h>

struct peers;
struct session;

struct peers	*peers_new(void);
/* Free the index (the sessions are not its: they must be off it already). */
void		 peers_free(struct peers *p);
/* List s under its endpoint; s must not be listed. */
void		 peers_add(struct peers *p, struct session *s);
/* Take s off the index; nothing when it is not listed. */
void		 peers_remove(struct peers *p, struct session *s);
/* The first listed session of endpoint, or NULL; then peers_next(). */
struct session	*peers_first(const struct peers *p, const char *endpoint);
struct session	*peers_next(const struct session *s);
/* Number of endpoints with at least one listed session. */
size_t		 peers_count(const struct peers *p);

#endif
