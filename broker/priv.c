/*
 * priv.c — dropping root after start-up (priv.h).
 *
 * Must never leave the process able to regain root once it has dropped it,
 * and never give the user a file it was not meant to own: only data_dir
 * itself and the regular files directly in it that have one link are given
 * away, opened without following symbolic links (a link planted in a
 * directory the user could write must not hand it another file).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "log.h"
#include "priv.h"

#define PRIV_MAX_GROUPS	64

int
priv_resolve(const struct config *cfg, struct priv_ids *ids, char *err,
    size_t errlen)
{
	const struct passwd *pw;
	const struct group *gr;

	if (cfg->user == NULL)
		return 0;
	errno = 0;
	if ((pw = getpwnam(cfg->user)) == NULL) {
		snprintf(err, errlen, "user: no user \"%s\"%s%s", cfg->user,
		    errno ? ": " : "", errno ? strerror(errno) : "");
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user: \"%s\" is root; name an unprivileged "
		    "user (or leave user out)", cfg->user);
		return -1;
	}
	ids->uid = pw->pw_uid;
	ids->gid = pw->pw_gid;
	snprintf(ids->user, sizeof(ids->user), "%s", cfg->user);
	if (cfg->group != NULL) {
		errno = 0;
		if ((gr = getgrnam(cfg->group)) == NULL) {
			snprintf(err, errlen, "group: no group \"%s\"%s%s",
			    cfg->group, errno ? ": " : "",
			    errno ? strerror(errno) : "");
			return -1;
		}
		ids->gid = gr->gr_gid;
	}
	if (ids->gid == 0) {
		snprintf(err, errlen, "group: the group of user \"%s\" is root's; "
		    "set group to an unprivileged one", cfg->user);
		return -1;
	}
	if (cfg->group != NULL)
		snprintf(ids->group, sizeof(ids->group), "%s", cfg->group);
	else if ((gr = getgrgid(ids->gid)) != NULL)
		snprintf(ids->group, sizeof(ids->group), "%s", gr->gr_name);
	else
		snprintf(ids->group, sizeof(ids->group), "%u",
		    (unsigned)ids->gid);
	return 1;
}

/* Give dir and the single-link regular files directly in it to ids. */
static int
priv_chown_dir(const char *dir, const struct priv_ids *ids, char *err,
    size_t errlen)
{
	struct dirent *de;
	struct stat st, st2;
	DIR *d;
	int dfd, fd;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fchown(dfd, ids->uid, ids->gid) == -1) {
		snprintf(err, errlen, "cannot give data_dir %s to %s:%s: %s", dir,
		    ids->user, ids->group, strerror(errno));
		if (dfd != -1)
			close(dfd);
		return -1;
	}
	if ((d = fdopendir(dfd)) == NULL) {
		snprintf(err, errlen, "cannot read data_dir %s: %s", dir,
		    strerror(errno));
		close(dfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (st.st_nlink != 1) {
			log_warn("data_dir: %s/%s has %ju links; not giving it to "
			    "%s", dir, de->d_name, (uintmax_t)st.st_nlink,
			    ids->user);
			continue;
		}
		fd = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_NOCTTY | O_CLOEXEC);
		if (fd == -1)
			continue;
		/* the same file as looked at, still with one link */
		if (fstat(fd, &st2) == 0 && S_ISREG(st2.st_mode) &&
		    st2.st_ino == st.st_ino && st2.st_dev == st.st_dev &&
		    st2.st_nlink == 1 && fchown(fd, ids->uid, ids->gid) == -1) {
			snprintf(err, errlen, "cannot give %s/%s to %s:%s: %s", dir,
			    de->d_name, ids->user, ids->group, strerror(errno));
			close(fd);
			closedir(d);
			return -1;
		}
		close(fd);
	}
	closedir(d);	/* closes dfd */
	return 0;
}

/* Drop to ids for good and check that root cannot be had back. */
static int
priv_setids(const struct priv_ids *ids, char *err, size_t errlen)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg, groups[PRIV_MAX_GROUPS];
	int n;

	if (setgroups(1, &ids->gid) == -1 ||
	    setresgid(ids->gid, ids->gid, ids->gid) == -1 ||
	    setresuid(ids->uid, ids->uid, ids->uid) == -1) {
		snprintf(err, errlen, "cannot drop to user %s, group %s: %s",
		    ids->user, ids->group, strerror(errno));
		return -1;
	}
	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1 ||
	    ru != ids->uid || eu != ids->uid || su != ids->uid ||
	    rg != ids->gid || eg != ids->gid || sg != ids->gid ||
	    (n = getgroups(PRIV_MAX_GROUPS, groups)) != 1 ||
	    groups[0] != ids->gid) {
		snprintf(err, errlen, "after dropping to user %s, group %s, the "
		    "process ids are not theirs", ids->user, ids->group);
		return -1;
	}
	if (setuid(0) != -1 || seteuid(0) != -1 || setgid(0) != -1 ||
	    setegid(0) != -1) {
		snprintf(err, errlen, "after dropping to user %s the process "
		    "could become root again", ids->user);
		return -1;
	}
	/* nothing cccd could exec may give privileges back */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		log_warn("cannot set no_new_privs: %s", strerror(errno));
	return 0;
}

/* Warn about a file a reload reads that the process cannot read. */
static void
priv_check_readable(const char *what, const char *path,
    const struct priv_ids *ids)
{
	if (path != NULL && access(path, R_OK) == -1)
		log_warn("%s %s is not readable by user %s (%s): a SIGHUP or "
		    "reload_tls will fail to read it; make it readable by group "
		    "%s", what, path, ids->user, strerror(errno), ids->group);
}

int
priv_drop(const struct config *cfg, char *err, size_t errlen)
{
	struct priv_ids ids;
	int rc;

	if ((rc = priv_resolve(cfg, &ids, err, errlen)) < 0)
		return -1;
	if (rc == 0) {
		if (geteuid() == 0)
			log_warn("running as root: set user (and group) in the "
			    "configuration to drop root after start-up");
		return 0;
	}
	if (geteuid() != 0) {
		if (geteuid() != ids.uid)
			log_warn("user: not started as root, so staying uid %u "
			    "rather than becoming %s", (unsigned)geteuid(),
			    ids.user);
		return 0;
	}
	if (priv_chown_dir(cfg->data_dir, &ids, err, errlen) < 0 ||
	    priv_setids(&ids, err, errlen) < 0)
		return -1;
	log_info("dropped root: running as user %s (uid %u), group %s (gid %u)",
	    ids.user, (unsigned)ids.uid, ids.group, (unsigned)ids.gid);
	priv_check_readable("tls.cert", cfg->tls_cert, &ids);
	priv_check_readable("tls.key", cfg->tls_key, &ids);
	for (size_t i = 0; i < cfg->n_tls_ca; i++)
		priv_check_readable("tls.ca", cfg->tls_ca[i], &ids);
	for (size_t i = 0; i < cfg->n_tls_crl; i++)
		priv_check_readable("tls.crl", cfg->tls_crl[i], &ids);
	priv_check_readable("registry", cfg->registry, &ids);
	return 0;
}
