/*
 * priv.h — least privilege: running as the configured user and group
 * (config keys user and group) after start-up.
 *
 * cccd started as root does everything that needs root first (listeners
 * bound, TLS files read, store opened: server_new()), then priv_drop()
 * gives data_dir and the store's files to the user and drops root for good.
 * Without user, cccd runs as whoever started it (as root, with a warning).
 */
#ifndef CCC_PRIV_H
#define CCC_PRIV_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"

struct priv_ids {
	uid_t	uid;
	gid_t	gid;
	char	user[64];
	char	group[64];
};

/*
 * Look up cfg's user and group. Returns 1 with ids set, 0 when cfg names no
 * user, or -1 with err set (an unknown user or group, or root named).
 */
int	priv_resolve(const struct config *cfg, struct priv_ids *ids, char *err,
	    size_t errlen);
/*
 * After server_new(): when running as root and cfg names a user, give
 * data_dir and the store's files in it to that user and group, then set
 * the groups, gid and uid to theirs and check that root cannot be had back.
 * Then warn about the files a SIGHUP reload reads that the user cannot
 * read. Without a user, or when not root, only warns. Returns 0, or -1 with
 * err set: the caller must not run then.
 */
int	priv_drop(const struct config *cfg, char *err, size_t errlen);

#endif
