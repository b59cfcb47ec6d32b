/*
 * profile.c — client profiles for the ccc command line. Owns the profiles
 * file's format and the checks of its permissions; cli.c decides the
 * precedence (flags, then environment, then profile, then defaults).
 *
 * Format: INI-like. Blank lines and lines starting with "#" or ";" are
 * ignored; "[NAME]" starts a profile; "KEY = VALUE" sets server, cert, key
 * or ca in it (spaces around the key and value are trimmed). A relative
 * path is relative to the file's directory. Another key, a line not of
 * these forms, or a key outside a section is an error naming the line.
 *
 * As ssh does for private keys: a file writable by group or others, or
 * owned by a user other than the caller or root, is refused (it names the
 * certificate a session is made with); one readable by others is used,
 * with a warning.
 *
 * Must never: fall back to another profile, or to none, when the one named
 * cannot be used.
 */
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "profile.h"
#include "xmalloc.h"

#define PROFILE_LINE_MAX	4096

static int
profile_fail(char *msg, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
profile_fail(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return -1;
}

char *
profile_path(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

	if (xdg != NULL && xdg[0] == '/')
		snprintf(buf, len, "%s/ccc/profiles", xdg);
	else if (home != NULL && home[0] != '\0')
		snprintf(buf, len, "%s/.config/ccc/profiles", home);
	else
		return NULL;
	return buf;
}

/* The permission checks on the open file (see the top of the file). */
static int
profile_check(FILE *f, const char *path, char *msg, size_t len)
{
	struct stat st;

	if (fstat(fileno(f), &st) < 0)
		return profile_fail(msg, len, "%s: %s", path, strerror(errno));
	if (st.st_uid != getuid() && st.st_uid != 0)
		return profile_fail(msg, len, "%s: owned by another user (uid "
		    "%u); not used", path, (unsigned)st.st_uid);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return profile_fail(msg, len, "%s: writable by others (mode "
		    "%03o); not used: chmod 600 %s", path,
		    (unsigned)(st.st_mode & 0777), path);
	if (st.st_mode & (S_IRGRP | S_IROTH))
		profile_fail(msg, len, "warning: %s is readable by others (mode "
		    "%03o): chmod 600 %s", path, (unsigned)(st.st_mode & 0777),
		    path);
	return 0;
}

/* s without its leading and trailing blanks, in place. */
static char *
profile_trim(char *s)
{
	size_t n;

	s += strspn(s, " \t");
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* Set key to value in p; a relative path is taken from dir. */
static int
profile_set(struct profile *p, const char *dir, const char *key,
    const char *value)
{
	char **slot;

	if (strcmp(key, "server") == 0)
		slot = &p->server;
	else if (strcmp(key, "cert") == 0)
		slot = &p->cert;
	else if (strcmp(key, "key") == 0)
		slot = &p->key;
	else if (strcmp(key, "ca") == 0)
		slot = &p->ca;
	else
		return -1;
	free(*slot);
	if (slot != &p->server && value[0] != '/')
		*slot = xasprintf("%s/%s", dir, value);
	else
		*slot = xstrdup(value);
	return 0;
}

/* Read the lines of f, keeping those of section name. 1: found, 0: not. */
static int
profile_read(FILE *f, const char *path, const char *name, struct profile *p,
    char *msg, size_t len)
{
	char line[PROFILE_LINE_MAX], dirbuf[PROFILE_LINE_MAX], *s, *eq, *dir;
	unsigned long lineno = 0;
	int in = -1, found = 0;	/* in: -1 before any section */

	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	dir = dirname(dirbuf);
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		s = profile_trim(line);
		if (s[0] == '\0' || s[0] == '#' || s[0] == ';')
			continue;
		if (s[0] == '[' && s[strlen(s) - 1] == ']') {
			s[strlen(s) - 1] = '\0';
			in = strcmp(profile_trim(s + 1), name) == 0;
			found |= in;
			continue;
		}
		if ((eq = strchr(s, '=')) == NULL || in < 0)
			return profile_fail(msg, len, "%s: line %lu: expected "
			    "[NAME] or KEY = VALUE", path, lineno);
		*eq = '\0';
		if (in && profile_set(p, dir, profile_trim(s),
		    profile_trim(eq + 1)) < 0)
			return profile_fail(msg, len, "%s: line %lu: unknown key "
			    "\"%s\" (server, cert, key or ca)", path, lineno,
			    profile_trim(s));
	}
	if (ferror(f))
		return profile_fail(msg, len, "%s: %s", path, strerror(errno));
	return found;
}

int
profile_load(const char *path, const char *name, struct profile *p,
    char *msg, size_t len)
{
	FILE *f;
	int r;

	msg[0] = '\0';
	memset(p, 0, sizeof(*p));
	if ((f = fopen(path, "r")) == NULL)
		return profile_fail(msg, len, "profile \"%s\": cannot read %s: "
		    "%s", name, path, strerror(errno));
	if ((r = profile_check(f, path, msg, len)) == 0)
		r = profile_read(f, path, name, p, msg, len);
	fclose(f);
	if (r == 0)
		profile_fail(msg, len, "no profile [%s] in %s", name, path);
	if (r <= 0) {
		profile_free(p);
		return -1;
	}
	return 0;
}

void
profile_free(struct profile *p)
{
	free(p->server);
	free(p->cert);
	free(p->key);
	free(p->ca);
	memset(p, 0, sizeof(*p));
}
