/*
 * 20-systemd.c — cccd under a service manager (Type=notify): with
 * NOTIFY_SOCKET set, READY=1 arrives once the port accepts connections,
 * after the broker has logged its listener; RELOADING=1 and READY=1 frame
 * a SIGHUP reload; STOPPING=1 arrives at SIGTERM, before the exit. Both
 * forms of the socket's name are used: a path, and an abstract name ('@').
 * The test plays systemd: it binds the datagram socket itself.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

struct notify {
	int	fd;
	char	name[108];	/* NOTIFY_SOCKET's value */
	char	dir[64];	/* the path's directory, or "" */
};

/* Bind a datagram socket: at a path in a new directory, or abstract. */
static void
notify_open(struct notify *n, bool abstract)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len;

	n->dir[0] = '\0';
	if (abstract) {
		snprintf(n->name, sizeof(n->name), "@ccc-itest-notify-%ld",
		    (long)getpid());
		memcpy(sun.sun_path + 1, n->name + 1, strlen(n->name) - 1);
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		    strlen(n->name));
	} else {
		snprintf(n->dir, sizeof(n->dir), "/tmp/ccc-notify.XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(n->dir));
		snprintf(n->name, sizeof(n->name), "%s/notify", n->dir);
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", n->name);
		len = sizeof(sun);
	}
	ck_assert_int_ge(n->fd = socket(AF_UNIX, SOCK_DGRAM, 0), 0);
	ck_assert_msg(bind(n->fd, (struct sockaddr *)&sun, len) == 0,
	    "bind %s: %s", n->name, strerror(errno));
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", n->name, 1), 0);
}

static void
notify_close(struct notify *n)
{
	close(n->fd);
	if (n->dir[0] != '\0') {
		unlink(n->name);
		rmdir(n->dir);
	}
	unsetenv("NOTIFY_SOCKET");
}

/* The next datagram within H_WAIT_MS (asserts one arrives); static storage. */
static const char *
notify_recv(struct notify *n)
{
	static char buf[256];
	struct pollfd pfd = { .fd = n->fd, .events = POLLIN };
	ssize_t len;

	ck_assert_msg(poll(&pfd, 1, H_WAIT_MS) == 1,
	    "nothing on the notify socket within %d ms", H_WAIT_MS);
	ck_assert_int_ge(len = recv(n->fd, buf, sizeof(buf) - 1, 0), 0);
	buf[len] = '\0';
	return buf;
}

/* Nothing more on the notify socket for H_QUIET_MS. */
static void
notify_none(struct notify *n)
{
	struct pollfd pfd = { .fd = n->fd, .events = POLLIN };

	ck_assert_int_eq(poll(&pfd, 1, H_QUIET_MS), 0);
}

/* READY=1 first, and by then the port accepts TCP and TLS sessions. */
static void
expect_ready(struct notify *n, const struct h_broker *b)
{
	struct h_raw *r;
	const char *listening, *ready;
	char *log;

	ck_assert_str_eq(notify_recv(n), "READY=1");
	r = h_raw_session(b, "gr-police");
	h_raw_close(r);
	/* the listener was announced, and the store opened, before */
	log = h_slurp(b->log);
	ck_assert_ptr_nonnull(log);
	ck_assert_ptr_nonnull(listening = strstr(log, "listening on"));
	ck_assert_ptr_nonnull(ready = strstr(log,
	    "told the service manager \"READY=1\""));
	ck_assert(listening < ready);
	free(log);
}

START_TEST(ready_then_stopping)
{
	struct notify n;
	struct h_broker *b;

	notify_open(&n, false);
	b = h_broker_start(NULL);
	expect_ready(&n, b);
	notify_none(&n);
	h_exchange_fresh(b);
	h_broker_term(b);
	ck_assert_str_eq(notify_recv(&n), "STOPPING=1");
	h_broker_stop(b);
	notify_close(&n);
}
END_TEST

START_TEST(abstract_socket_and_reload)
{
	struct notify n;
	struct h_broker *b;

	notify_open(&n, true);
	b = h_broker_start(NULL);
	expect_ready(&n, b);
	h_broker_reload(b);
	ck_assert_str_eq(notify_recv(&n), "RELOADING=1");
	ck_assert_str_eq(notify_recv(&n), "READY=1");
	notify_none(&n);
	h_broker_term(b);
	ck_assert_str_eq(notify_recv(&n), "STOPPING=1");
	h_broker_stop(b);
	notify_close(&n);
}
END_TEST

/* Without NOTIFY_SOCKET nothing is sent, and nothing is logged about it. */
START_TEST(no_socket_no_notification)
{
	struct h_broker *b;

	unsetenv("NOTIFY_SOCKET");
	b = h_broker_start(NULL);
	h_exchange_fresh(b);
	h_broker_reload(b);
	ck_assert(!h_log_contains(b, "service manager"));
	ck_assert(!h_log_contains(b, "NOTIFY_SOCKET"));
	h_broker_stop(b);
}
END_TEST

Suite *
systemd_suite(void)
{
	Suite *s = suite_create("20-systemd");
	TCase *tc = tcase_create("notify");

	tcase_set_timeout(tc, H_TEST_TIMEOUT);
	tcase_add_test(tc, ready_then_stopping);
	tcase_add_test(tc, abstract_socket_and_reload);
	tcase_add_test(tc, no_socket_no_notification);
	suite_add_tcase(s, tc);
	return s;
}
