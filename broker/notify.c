/*
 * notify.c — the service manager's notify socket, as sd_notify(3) speaks to
 * it, without libsystemd: one datagram per state change to the AF_UNIX
 * socket whose path NOTIFY_SOCKET holds (a leading '@' names the abstract
 * namespace).
 *
 * Owns: the datagram socket of one notification (opened and closed per
 * call; notifications are a handful per run).
 * Must never: block (a datagram, MSG_DONTWAIT), or stop the broker because
 * the service manager is not listening: a failed send is logged only.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

/* Fill sun from path; the address length, or 0 when path is not usable. */
static socklen_t
notify_address(const char *path, struct sockaddr_un *sun)
{
	size_t len = strlen(path);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if ((path[0] != '/' && path[0] != '@') || len < 2 ||
	    len > sizeof(sun->sun_path))
		return 0;
	memcpy(sun->sun_path, path, len);
	if (path[0] == '@')
		sun->sun_path[0] = '\0';
	else if (len == sizeof(sun->sun_path))
		return 0;	/* no room for the NUL */
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
}

int
notify_send(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	ssize_t n;
	int fd, saved;

	if (path == NULL || *path == '\0')
		return 0;
	if ((len = notify_address(path, &sun)) == 0) {
		log_warn("NOTIFY_SOCKET \"%s\" is not an absolute path or an "
		    "abstract name: the service manager is not told \"%s\"",
		    path, state);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("notify socket: %s", strerror(errno));
		return -1;
	}
	n = sendto(fd, state, strlen(state), MSG_DONTWAIT | MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len);
	saved = errno;
	close(fd);
	if (n == -1) {
		log_warn("NOTIFY_SOCKET %s: cannot send \"%s\": %s", path, state,
		    strerror(saved));
		return -1;
	}
	log_debug("told the service manager \"%s\"", state);
	return 1;
}
