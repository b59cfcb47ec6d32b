/*
 * listener.c — accepts TCP connections for the broker. Owns the listening
 * socket. Connections beyond limits.max_connections are still accepted
 * (up to a small overflow) so that the peer can be told why it is refused;
 * past that they are closed at once. When accept() fails for lack of
 * descriptors the listener pauses for a second instead of spinning.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/listener.h>

#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "server.h"
#include "session.h"
#include "xmalloc.h"

#define LISTENER_BACKLOG	512
#define LISTENER_OVERFLOW	64	/* sessions past the limit told "too many" */

struct listener {
	struct server		*srv;
	struct evconnlistener	*lev;
	struct event		*resume;	/* re-enables accept after EMFILE */
	char			 address[80];
	int64_t			 refused;	/* connections closed unanswered */
};

static void
listener_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener *l = arg;
	size_t n = server_nsessions(l->srv);
	uint32_t max = server_config(l->srv)->max_connections;

	(void)lev;
	if (server_stopping(l->srv)) {
		evutil_closesocket(fd);
		return;
	}
	if (n >= (size_t)max + LISTENER_OVERFLOW) {
		server_counters(l->srv)->connections_dropped++;
		if (l->refused++ % 1000 == 0)
			log_warn("connection limit %u reached: closing new "
			    "connections unanswered (%lld so far)", max,
			    (long long)l->refused);
		evutil_closesocket(fd);
		return;
	}
	sess_new(l->srv, fd, sa, salen, n >= max);
}

static void
listener_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	(void)fd;
	(void)what;
	if (!server_stopping(l->srv))
		evconnlistener_enable(l->lev);
}

static void
listener_error_cb(struct evconnlistener *lev, void *arg)
{
	struct listener *l = arg;
	struct timeval tv = { 1, 0 };
	int e = EVUTIL_SOCKET_ERROR();

	(void)lev;
	log_warn("accept failed: %s; pausing for a second",
	    evutil_socket_error_to_string(e));
	evconnlistener_disable(l->lev);
	evtimer_add(l->resume, &tv);
}

struct listener *
listener_new(struct server *srv, const char *host, uint16_t port, char *err,
    size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct listener *l;
	char ip[INET6_ADDRSTRLEN];
	int family;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)(void *)&ss)->sin_addr) == 1) {
		struct sockaddr_in *in = (struct sockaddr_in *)(void *)&ss;
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		sslen = sizeof(*in);
	} else if (inet_pton(AF_INET6, host,
	    &((struct sockaddr_in6 *)(void *)&ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		sslen = sizeof(*in6);
	} else {
		snprintf(err, errlen, "listen address \"%s\" is not an IPv4 or "
		    "IPv6 address", host);
		return NULL;
	}
	l = xcalloc(1, sizeof(*l));
	l->srv = srv;
	l->lev = evconnlistener_new_bind(server_base(srv), listener_accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    LISTENER_BACKLOG, (struct sockaddr *)&ss, (int)sslen);
	if (l->lev == NULL) {
		snprintf(err, errlen, "cannot listen on %s:%u: %s", host, port,
		    strerror(errno));
		free(l);
		return NULL;
	}
	evconnlistener_set_error_cb(l->lev, listener_error_cb);
	l->resume = evtimer_new(server_base(srv), listener_resume_cb, l);
	sslen = sizeof(ss);
	getsockname(evconnlistener_get_fd(l->lev), (struct sockaddr *)&ss, &sslen);
	family = ss.ss_family;
	if (family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(l->address, sizeof(l->address), "[%s]:%u", ip,
		    ntohs(in6->sin6_port));
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)(void *)&ss;
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(l->address, sizeof(l->address), "%s:%u", ip,
		    ntohs(in->sin_port));
	}
	return l;
}

void
listener_disable(struct listener *l)
{
	evconnlistener_disable(l->lev);
}

const char *
listener_address(const struct listener *l)
{
	return l->address;
}

void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	evconnlistener_free(l->lev);
	event_free(l->resume);
	free(l);
}
