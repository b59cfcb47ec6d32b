/*
 * admin.h — the registry as operators change it at run time: revisions kept
 * in the store, changes based on a named revision, four-eyes approval of
 * changes that widen access, rollback, explain; and the registry file as
 * the seed of an empty store (docs/operations.md, "Administration").
 *
 * The registry in force is always the newest revision in the store. The
 * registry file seeds revision 1; later, a changed file (at start-up or on
 * SIGHUP) is recorded as a new revision by "file" — whoever can edit the
 * broker host's files is trusted like an operator pair.
 */
#ifndef CCC_ADMIN_H
#define CCC_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "ccc/v1/envelope.pb-c.h"

struct registry;
struct server;
struct session;
struct store;

/*
 * At start-up, after the store is open and before durable subscriptions are
 * loaded: *reg is the registry file's content (owned); on return it is the
 * registry in force. Returns 0 or -1 with err set.
 */
int		 admin_init(struct server *srv, struct store *st,
		    struct registry **reg, char *err, size_t errlen);
/* SIGHUP: record the registry file as a new revision if it changed. */
void		 admin_file_reload(struct server *srv);
/* The revision in force. */
uint64_t	 admin_revision(void);
/*
 * An AdminRequest from s (in READY state). Replies itself (AdminReply or
 * Error) now or when the store answers.
 */
void		 admin_request(struct session *s, const Ccc__V1__Envelope *env);

#endif
