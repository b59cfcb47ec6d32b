/*
 * profile.h — client profiles: the broker address, certificate, key and CA
 * of one identity, named in a file so that an operator with two
 * certificates picks one with ccc --profile NAME (or CCC_PROFILE).
 */
#ifndef CCC_PROFILE_H
#define CCC_PROFILE_H

#include <stddef.h>

/* What a profile sets; NULL: not set. Owned by the caller (profile_free). */
struct profile {
	char	*server;
	char	*cert;
	char	*key;
	char	*ca;
};

/*
 * The path of the profiles file into buf[len]: $XDG_CONFIG_HOME/ccc/profiles,
 * or ~/.config/ccc/profiles. Returns buf, or NULL when neither
 * XDG_CONFIG_HOME nor HOME is set.
 */
char	*profile_path(char *buf, size_t len);
/*
 * Read section [name] of the file at path into p. Returns 0 (with a warning
 * in msg when the file is readable by others, else msg empty), or -1 with
 * the reason in msg: the file or the section missing, a line not
 * understood, the file writable by others or owned by another user.
 */
int	 profile_load(const char *path, const char *name, struct profile *p,
	    char *msg, size_t len);
void	 profile_free(struct profile *p);

#endif
