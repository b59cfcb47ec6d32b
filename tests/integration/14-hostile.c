/*
 * 14-hostile.c — hostile clients against the broker's limits: a flood of
 * half-open connections from several loopback addresses (the bounds on
 * handshakes in all and per address, the memory a half-open connection
 * costs), running out of descriptors (the accept back-off), one endpoint
 * opening too many sessions, one publishing faster than its rate, and a
 * subscriber stopped with SIGSTOP while alerts pile up for it.
 *
 * Every loop is bounded in count and time. The only processes signalled
 * are the broker and the child the test forked, by their pids; the child
 * dies with the test (PR_SET_PDEATHSIG) whatever happens.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "harness.h"
#include "uuid.h"

/*
 * Sanitizers slow the broker down several times and keep freed memory in
 * quarantine; the bounds that depend on either are wider then.
 */
#if defined(__SANITIZE_ADDRESS__)
#define H_ASAN		1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define H_ASAN		1
#endif
#endif
#ifndef H_ASAN
#define H_ASAN		0
#endif

#define HANDSHAKE_GAUGE	"ccc_sessions{state=\"handshake\"}"

/*
 * Under AddressSanitizer freed memory waits in a quarantine, 256 MiB by
 * default, and the RSS of a broker that churns through megabytes shows
 * that rather than what the broker keeps. The brokers of the tests that
 * measure RSS get a small one (the broker reads ASAN_OPTIONS when it
 * starts; Check runs each test in a process of its own).
 */
static void
asan_small_quarantine(void)
{
	if (H_ASAN)
		h_asan_option("quarantine_size_mb=4");
}

/*
 * At least want descriptors for this process (and the brokers it starts,
 * which inherit the limit): raise the soft limit up to the hard one.
 * False, after saying why, when the hard limit is too low.
 */
static bool
raise_nofile(rlim_t want, const char *test)
{
	struct rlimit rl;

	ck_assert(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= want)
		return true;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
		fprintf(stderr, "14-hostile: %s skipped: it needs %llu file "
		    "descriptors and the hard limit is %llu (raise it with "
		    "ulimit -Hn)\n", test, (unsigned long long)want,
		    (unsigned long long)rl.rlim_max);
		return false;
	}
	rl.rlim_cur = want;
	ck_assert_msg(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit: %s",
	    strerror(errno));
	return true;
}

/* A non-blocking TCP connection to the broker from source address ip. */
static int
tcp_from(const struct h_broker *b, const char *ip)
{
	struct sockaddr_in src, dst;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_msg(fd != -1, "socket: %s", strerror(errno));
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	ck_assert(inet_pton(AF_INET, ip, &src.sin_addr) == 1);
	ck_assert_msg(bind(fd, (struct sockaddr *)&src, sizeof(src)) == 0,
	    "bind %s: %s", ip, strerror(errno));
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)b->port);
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_msg(connect(fd, (struct sockaddr *)&dst, sizeof(dst)) == 0 ||
	    errno == EINPROGRESS, "connect from %s: %s", ip, strerror(errno));
	return fd;
}

/* Start a TLS ClientHello on fd and stop in the middle of it. */
static void
stall_client_hello(int fd)
{
	static const uint8_t start[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01,
	    0x00, 0x01, 0xfc, 0x03, 0x03 };
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	/* a refused connection fails here: that is fine */
	if (poll(&p, 1, 1000) == 1 && (p.revents & POLLOUT))
		(void)send(fd, start, sizeof(start), MSG_NOSIGNAL);
}

/* Connections the broker has dealt with: made sessions, or refused. */
static double
connections_seen(const struct h_broker *b)
{
	return h_metric(b, "ccc_connections_accepted_total") +
	    h_metric(b, "ccc_connections_dropped_total") +
	    h_metric(b, "ccc_connections_refused_total{limit=\"max_handshakes\"}") +
	    h_metric(b, "ccc_connections_refused_total{limit="
	    "\"max_handshakes_per_address\"}");
}

/* Wait until the broker has dealt with n connections more than base. */
static void
wait_seen(const struct h_broker *b, double base, size_t n)
{
	int64_t deadline = h_mono_ms() + H_WAIT_MS;
	double seen;

	while ((seen = connections_seen(b) - base) < (double)n) {
		ck_assert_msg(h_mono_ms() < deadline, "the broker dealt with %.0f "
		    "of %zu connections in %d ms", seen, n, H_WAIT_MS);
		h_sleep_ms(20);
	}
}

/* How many of fds[0..n) the broker has closed (reset or end of stream). */
static size_t
count_closed(const int *fds, size_t n)
{
	struct pollfd *p = calloc(n, sizeof(*p));
	size_t closed = 0;
	char byte;

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++) {
		p[i].fd = fds[i];
		p[i].events = POLLIN;
	}
	ck_assert(poll(p, n, 0) >= 0);
	for (size_t i = 0; i < n; i++)
		if ((p[i].revents & (POLLERR | POLLHUP)) ||
		    ((p[i].revents & POLLIN) && recv(fds[i], &byte, 1,
		    MSG_PEEK) <= 0))
			closed++;
	free(p);
	return closed;
}

/* Wait until the broker has no connection in its handshake. */
static void
wait_no_handshakes(const struct h_broker *b)
{
	int64_t deadline = h_mono_ms() + H_WAIT_MS;
	double hs;

	while ((hs = h_metric(b, HANDSHAKE_GAUGE)) != 0) {
		ck_assert_msg(h_mono_ms() < deadline, "%.0f connections still in "
		    "their handshake after %d ms", hs, H_WAIT_MS);
		h_sleep_ms(20);
	}
}

static void
publish_one(ccc_client *c, const char *summary)
{
	Ccc__V1__Alert *a = h_alert("weapons", "tr-bg/kapikule", "high", "h1",
	    summary);

	ccc_envelope_free(h_publish_ok(c, a));
	h_alert_free(a);
}

/* ---- half-open connections ---------------------------------------------- */

#define FLOOD_SOURCES		8	/* 127.0.0.2 .. 127.0.0.9 */
#define FLOOD_PER_SOURCE	130	/* 1,040 connections in all */
#define FLOOD_STALLED		6	/* of each source's: a partial ClientHello */
#define FLOOD_HANDSHAKES	64	/* limits.max_handshakes */
#define FLOOD_PER_ADDRESS	16	/* limits.max_handshakes_per_address */
#define FLOOD_LEGIT_MS		2000	/* connect, TLS, Hello and a publish */
/*
 * What one half-open connection may cost the broker, in KiB of RSS. As soon
 * as the accepting TLS bufferevent exists OpenSSL starts the handshake: it
 * allocates its handshake message buffer (init_buf, 16 KiB) and its record
 * read buffer (16 KiB + 325 bytes), beside the SSL object (about 6 KiB),
 * the bufferevent with its two evbuffers and the session (about 2 KiB):
 * some 41 KiB measured for connections that send nothing, up to 55 KiB
 * with partial ClientHellos and the freed remains of evicted handshakes.
 * 64 KiB leaves room for malloc's rounding; at the default
 * limits.max_handshakes (256) that is 16 MiB at most, whatever the flood.
 * AddressSanitizer adds redzones and keeps freed memory in quarantine.
 */
#define FLOOD_KIB_EACH		(H_ASAN ? 256 : 64)

START_TEST(handshake_flood)
{
	enum { TOTAL = FLOOD_SOURCES * FLOOD_PER_SOURCE };
	static int fds[TOTAL];
	struct h_broker *b;
	ccc_client *c;
	double base, hs, accepted, per_address, global, evicted;
	long rss0, rss1;
	int64_t t0, took;
	size_t n = 0, closed;
	char ip[32];

	if (!raise_nofile(TOTAL + 256, "handshake_flood"))
		return;
	asan_small_quarantine();
	b = h_broker_start("limits:\n  max_handshakes: 64\n"
	    "  max_handshakes_per_address: 16\n");
	/* a whole session first, so that what follows measures the flood */
	c = h_connect(b, "tr-police");
	publish_one(c, "Before the flood");
	ccc_close(c);
	wait_no_handshakes(b);
	base = connections_seen(b);
	accepted = h_metric(b, "ccc_connections_accepted_total");
	rss0 = h_broker_rss_kib(b);

	/* one source after the other: each meets its own bound, then the global */
	for (int src = 0; src < FLOOD_SOURCES; src++) {
		snprintf(ip, sizeof(ip), "127.0.0.%d", src + 2);
		for (int i = 0; i < FLOOD_PER_SOURCE; i++)
			fds[n++] = tcp_from(b, ip);
		for (int i = 0; i < FLOOD_STALLED; i++)
			stall_client_hello(fds[n - FLOOD_PER_SOURCE + i]);
		wait_seen(b, base, n);
		hs = h_metric(b, HANDSHAKE_GAUGE);
		ck_assert_msg(hs <= FLOOD_HANDSHAKES, "%.0f handshakes under way "
		    "after %zu connections; the bound is %d", hs, n,
		    FLOOD_HANDSHAKES);
	}
	hs = h_metric(b, HANDSHAKE_GAUGE);
	ck_assert_msg(hs == FLOOD_HANDSHAKES, "%.0f handshakes under way, not "
	    "%d: the flood should fill the bound", hs, FLOOD_HANDSHAKES);

	/*
	 * Every connection accounted for. The first sources fill the global
	 * bound and meet their own; the later ones take the places of the
	 * oldest handshakes of the busiest, until all are about even, and
	 * then meet the global bound.
	 */
	accepted = h_metric(b, "ccc_connections_accepted_total") - accepted;
	per_address = h_metric(b, "ccc_connections_refused_total{limit="
	    "\"max_handshakes_per_address\"}");
	global = h_metric(b, "ccc_connections_refused_total{limit="
	    "\"max_handshakes\"}");
	evicted = h_metric(b, "ccc_handshakes_evicted_total");
	fprintf(stderr, "14-hostile: of %d connections %.0f accepted (%.0f of "
	    "them evicted later), %.0f refused per address, %.0f by the "
	    "global bound\n", TOTAL, accepted, evicted, per_address, global);
	ck_assert_double_eq(accepted + per_address + global, TOTAL);
	ck_assert_double_eq(accepted, FLOOD_HANDSHAKES + evicted);
	ck_assert_msg(per_address >= FLOOD_HANDSHAKES / FLOOD_PER_ADDRESS *
	    (FLOOD_PER_SOURCE - FLOOD_PER_ADDRESS), "only %.0f refused by the "
	    "per-address bound", per_address);
	ck_assert_msg(global > 0, "the global bound refused nothing");
	ck_assert_msg(evicted > 0, "no handshake was evicted");
	ck_assert_double_eq(h_metric(b, "ccc_connections_dropped_total"), 0);
	ck_assert(h_log_contains(b, "past limits.max_handshakes_per_address "
	    "(16; the last from 127.0.0."));
	/* refused and evicted ones were closed by the broker */
	t0 = h_mono_ms();
	while ((closed = count_closed(fds, n)) < per_address + global + evicted &&
	    h_mono_ms() - t0 < H_WAIT_MS)
		h_sleep_ms(20);
	ck_assert_msg(closed == per_address + global + evicted, "the broker "
	    "closed %zu of our connections, not %.0f", closed,
	    per_address + global + evicted);

	rss1 = h_broker_rss_kib(b);
	fprintf(stderr, "14-hostile: %d half-open connections (%d sent part of "
	    "a ClientHello): broker RSS %ld -> %ld KiB, %.1f KiB each\n",
	    FLOOD_HANDSHAKES, FLOOD_SOURCES * FLOOD_STALLED, rss0, rss1,
	    (double)(rss1 - rss0) / FLOOD_HANDSHAKES);
	/* under a wrapper (valgrind) the resident set is mostly the wrapper's */
	ck_assert_msg(h_wrapped() ||
	    rss1 - rss0 <= FLOOD_HANDSHAKES * FLOOD_KIB_EACH,
	    "the broker's RSS grew by %ld KiB for %d half-open connections "
	    "(%.1f KiB each; the bound is %d KiB each)", rss1 - rss0,
	    FLOOD_HANDSHAKES, (double)(rss1 - rss0) / FLOOD_HANDSHAKES,
	    FLOOD_KIB_EACH);

	/* a legitimate client gets in at once, and publishes */
	t0 = h_mono_ms();
	c = h_connect(b, "tr-customs");
	publish_one(c, "During the flood");
	took = h_mono_ms() - t0;
	fprintf(stderr, "14-hostile: under the flood a client connected and "
	    "published in %lld ms\n", (long long)took);
	ck_assert_msg(took <= FLOOD_LEGIT_MS, "connect and publish took %lld "
	    "ms under the flood (bound %d ms)", (long long)took,
	    FLOOD_LEGIT_MS);
	ccc_close(c);

	/* the newcomer, too, took the place of a handshake of the busiest */
	ck_assert_double_eq(h_metric(b, "ccc_handshakes_evicted_total"),
	    evicted + 1);
	/* rate-limited: one line at once, then at most one every 10 s */
	ck_assert_uint_le(h_log_count(b, "connections refused at accept"), 3);

	for (size_t i = 0; i < n; i++)
		close(fds[i]);
	wait_no_handshakes(b);
	c = h_connect(b, "tr-police");
	publish_one(c, "After the flood");
	ccc_close(c);
	h_broker_stop(b);
}
END_TEST

/* ---- running out of descriptors ------------------------------------------ */

/* Open descriptors of process pid. */
static int
count_fds(pid_t pid)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	ck_assert_msg((d = opendir(path)) != NULL, "%s: %s", path,
	    strerror(errno));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* CPU time process pid has used, in ms. */
static long
cpu_ms(pid_t pid)
{
	char path[64], *stat, *p;
	unsigned long utime = 0, stime = 0;
	long tick = sysconf(_SC_CLK_TCK);

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	ck_assert_ptr_nonnull(stat = h_slurp(path));
	/* after "(comm)": state, then 10 fields, then utime and stime */
	ck_assert_ptr_nonnull(p = strrchr(stat, ')'));
	ck_assert(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%lu %lu", &utime, &stime) == 2);
	free(stat);
	return (long)((utime + stime) * 1000 / (unsigned long)tick);
}

#define EMFILE_SPARE	4	/* descriptors the broker may still open */
#define EMFILE_CONNS	40

START_TEST(accept_backoff_on_emfile)
{
	struct h_broker *b = h_broker_start("limits:\n  max_handshakes: 1000\n"
	    "  max_handshakes_per_address: 1000\n");
	struct rlimit rl, low;
	int fds[EMFILE_CONNS];
	long cpu0, cpu1;
	ccc_client *c;
	int64_t t0;

	ck_assert(prlimit(b->pid, RLIMIT_NOFILE, NULL, &rl) == 0);
	low = rl;
	low.rlim_cur = (rlim_t)count_fds(b->pid) + EMFILE_SPARE;
	ck_assert_msg(prlimit(b->pid, RLIMIT_NOFILE, &low, NULL) == 0,
	    "prlimit: %s", strerror(errno));
	for (int i = 0; i < EMFILE_CONNS; i++)
		fds[i] = tcp_from(b, "127.0.0.1");
	ck_assert_msg(h_log_wait(b, "accept failed: Too many open files; "
	    "pausing for a second", H_WAIT_MS), "no accept failure logged");

	/* paused, not spinning: little CPU, and one attempt a second */
	cpu0 = cpu_ms(b->pid);
	h_sleep_ms(2500);
	cpu1 = cpu_ms(b->pid);
	fprintf(stderr, "14-hostile: out of descriptors, the broker used %ld "
	    "ms of CPU in 2.5 s\n", cpu1 - cpu0);
	ck_assert_msg(cpu1 - cpu0 < 500, "the broker used %ld ms of CPU in "
	    "2.5 s out of descriptors: it spins on accept", cpu1 - cpu0);
	ck_assert_uint_le(h_log_count(b, "accept failed"), 5);

	/* descriptors back: accepting resumes within a second */
	for (int i = 0; i < EMFILE_CONNS; i++)
		close(fds[i]);
	ck_assert(prlimit(b->pid, RLIMIT_NOFILE, &rl, NULL) == 0);
	t0 = h_mono_ms();
	c = h_connect(b, "tr-police");
	publish_one(c, "After the descriptors came back");
	ck_assert_msg(h_mono_ms() - t0 <= 2500, "accepting resumed only after "
	    "%lld ms", (long long)(h_mono_ms() - t0));
	ccc_close(c);
	h_broker_stop(b);
}
END_TEST

/* ---- sessions per endpoint ----------------------------------------------- */

START_TEST(connections_per_endpoint)
{
	struct h_broker *b = h_broker_start("limits:\n"
	    "  max_connections_per_endpoint: 3\n");
	ccc_client *gr[3], *tr;
	struct ccc_error err;
	struct h_raw *r;
	int64_t deadline;
	int rc;

	for (int i = 0; i < 3; i++)
		gr[i] = h_connect(b, "gr-police");
	ck_assert_int_eq(h_connect_err(b, h_pki("gr-police.pem"),
	    h_pki("gr-police.key"), &err), -1);
	ck_assert_msg(err.code ==
	    CCC__V1__ERROR_CODE__ERROR_CODE_TOO_MANY_CONNECTIONS,
	    "expected too_many_connections, got %s: %s",
	    ccc_error_name(err.code), err.message);
	ck_assert(err.fatal);
	ck_assert_msg(strstr(err.message, "limits.max_connections_per_endpoint")
	    != NULL && strstr(err.message, "3 sessions") != NULL,
	    "message: %s", err.message);
	ck_assert(h_log_contains(b, "limits.max_connections_per_endpoint"));

	/* other endpoints are not affected, nor are the sessions in place */
	tr = h_connect(b, "tr-police");
	h_subscribe(gr[0], "alerts/#");
	publish_one(tr, "Three sessions are enough");
	ccc_envelope_free(h_recv_deliver(gr[0]));
	ck_assert_double_eq(h_metric(b,
	    "ccc_endpoint_sessions{endpoint=\"gr-police\"}"), 3);

	/* a session past TLS but before Hello counts too */
	ccc_close(gr[2]);
	deadline = h_mono_ms() + H_WAIT_MS;
	do {
		r = h_raw_connect(b, "gr-police");
		h_raw_send_hello(r, 1, 1);
		{
			Ccc__V1__Envelope *env = NULL;

			rc = h_raw_recv(r, H_WAIT_MS, &env);
			ck_assert_int_eq(rc, 1);
			rc = env->body_case == CCC__V1__ENVELOPE__BODY_WELCOME;
			frame_free(env);
		}
		if (!rc) {
			h_raw_close(r);
			h_sleep_ms(20);
		}
	} while (!rc && h_mono_ms() < deadline);
	ck_assert_msg(rc, "no place for gr-police after one of its sessions "
	    "closed");
	ck_assert_int_eq(h_connect_err(b, h_pki("gr-police.pem"),
	    h_pki("gr-police.key"), &err), -1);
	ck_assert_int_eq(err.code,
	    CCC__V1__ERROR_CODE__ERROR_CODE_TOO_MANY_CONNECTIONS);
	h_raw_close(r);
	ccc_close(gr[0]);
	ccc_close(gr[1]);
	ccc_close(tr);
	h_broker_stop(b);
}
END_TEST

/* ---- publish rate --------------------------------------------------------- */

#define RATE_PER_S	1
#define RATE_BURST	10
#define RATE_FIRST	25	/* publishes sent at once on the first session */
#define RATE_SECOND	15	/* then on a second session of the same endpoint */

/* One publish sent without waiting: its id and the reply, once read. */
struct sent {
	char			 id[UUID_STRLEN];
	uint64_t		 rid;
	bool			 ok;
};

/* Send n publishes with ids of our own on c, then read their n replies. */
static size_t
publish_burst(ccc_client *c, struct sent *v, size_t n)
{
	struct ccc_error err;
	size_t ok = 0;

	for (size_t i = 0; i < n; i++) {
		Ccc__V1__Alert *a = h_alert("weapons", "tr-gr/ipsala", "medium",
		    "h1", "One of many");

		uuid_v7(h_now_us(), v[i].id);
		h_set_str(&a->id, v[i].id);
		memset(&err, 0, sizeof(err));
		ck_assert_msg(ccc_send_publish(c, a, &v[i].rid, &err) == 0,
		    "send publish: %s", err.message);
		h_alert_free(a);
	}
	ck_assert(ccc_flush(c, &err) == 0);
	for (size_t k = 0; k < n; k++) {
		Ccc__V1__Envelope *env = h_recv(c, H_WAIT_MS);
		size_t i;

		for (i = 0; i < n && v[i].rid != env->request_id; i++)
			;
		ck_assert_msg(i < n, "a reply to no publish of ours: %s",
		    frame_body_name(env->body_case));
		if (env->body_case == CCC__V1__ENVELOPE__BODY_PUBLISH_OK) {
			ck_assert_str_eq(env->publish_ok->id, v[i].id);
			v[i].ok = true;
			ok++;
		} else
			h_expect_error(env,
			    CCC__V1__ERROR_CODE__ERROR_CODE_RATE_LIMITED, false,
			    "limits.publish_rate");
		ccc_envelope_free(env);
	}
	return ok;
}

START_TEST(publish_rate_limit)
{
	struct h_broker *b = h_broker_start("limits:\n  publish_rate: 1\n"
	    "  publish_burst: 10\n");
	ccc_client *a1 = h_connect(b, "tr-police");
	ccc_client *a2 = h_connect(b, "tr-police");
	ccc_client *sub = h_connect(b, "gr-police");
	ccc_client *other = h_connect(b, "tr-customs");
	struct sent v[RATE_FIRST + RATE_SECOND];
	size_t ok1, ok2, got = 0, refused;
	double elapsed, allowed;
	Ccc__V1__Envelope *env;
	int64_t t0;

	memset(v, 0, sizeof(v));
	h_subscribe(sub, "alerts/#");
	t0 = h_mono_ms();
	ok1 = publish_burst(a1, v, RATE_FIRST);
	ok2 = publish_burst(a2, v + RATE_FIRST, RATE_SECOND);
	elapsed = (double)(h_mono_ms() - t0) / 1000.0;
	/* one bucket for the endpoint, whichever session publishes */
	allowed = RATE_BURST + RATE_PER_S * elapsed + 1;
	fprintf(stderr, "14-hostile: publish rate 1/s, burst 10: %zu + %zu of "
	    "%d publishes accepted in %.2f s\n", ok1, ok2,
	    RATE_FIRST + RATE_SECOND, elapsed);
	ck_assert_uint_ge(ok1, RATE_BURST);
	ck_assert_msg((double)(ok1 + ok2) <= allowed, "%zu publishes accepted "
	    "in %.2f s; the bucket allows %.1f", ok1 + ok2, elapsed, allowed);
	refused = RATE_FIRST + RATE_SECOND - ok1 - ok2;
	ck_assert_double_eq(h_metric(b,
	    "ccc_publish_refused_total{code=\"rate_limited\"}"), refused);

	/* another endpoint has its own bucket */
	publish_one(other, "Not limited by tr-police's rate");

	/* the accepted ones, and only those, were delivered */
	for (size_t k = 0; k < ok1 + ok2 + 1; k++) {
		size_t i;

		env = h_recv_deliver(sub);
		for (i = 0; i < RATE_FIRST + RATE_SECOND &&
		    strcmp(v[i].id, env->deliver->alert->id) != 0; i++)
			;
		if (i < RATE_FIRST + RATE_SECOND) {
			ck_assert_msg(v[i].ok, "refused alert %s was delivered",
			    v[i].id);
			got++;
		}
		ccc_envelope_free(env);
	}
	ck_assert_uint_eq(got, ok1 + ok2);
	h_recv_none(sub, H_QUIET_MS);

	/* logged once when the run began, not once per refusal */
	ck_assert_uint_eq(h_log_count(b, "publishes faster than its limit"),
	    1);

	/* the session goes on: a refused alert, sent again later, is new */
	for (size_t i = 0; i < RATE_FIRST + RATE_SECOND; i++) {
		Ccc__V1__Alert *a;
		int64_t deadline = h_mono_ms() + 3000;
		struct ccc_error err;
		int rc;

		if (v[i].ok)
			continue;
		a = h_alert("weapons", "tr-gr/ipsala", "medium", "h1",
		    "One of many");
		h_set_str(&a->id, v[i].id);
		do {
			env = NULL;
			memset(&err, 0, sizeof(err));
			rc = ccc_publish(a1, a, NULL, &err);
			if (rc < 0) {
				ck_assert_int_eq(err.code,
				    CCC__V1__ERROR_CODE__ERROR_CODE_RATE_LIMITED);
				ck_assert(!err.fatal);
				h_sleep_ms(200);
			}
		} while (rc < 0 && h_mono_ms() < deadline);
		ck_assert_msg(rc == 0, "no token after 3 s at 1 a second");
		env = h_recv_deliver(sub);
		ck_assert_str_eq(env->deliver->alert->id, v[i].id);
		ck_assert(!env->deliver->redelivered);
		ccc_envelope_free(env);
		h_alert_free(a);
		break;
	}
	ck_assert(h_log_wait(b, "is back under its publish rate", H_WAIT_MS));
	ccc_close(a1);
	ccc_close(a2);
	ccc_close(sub);
	ccc_close(other);
	h_broker_stop(b);
}
END_TEST

/* ---- a subscriber stopped with SIGSTOP ------------------------------------ */

#define STOP_BATCH	8	/* alerts published at once (< half the buffer) */
#define STOP_TOTAL	1536	/* alerts published while it is stopped */
#define STOP_AFTER	64	/* of which at least these after it was closed */
#define STOP_DETAILS	4000	/* bytes of details per alert */
#define STOP_DURABLE	"stopped-desk"
#define STOP_LATENCY_MS	(H_ASAN ? 2000 : 1000)
/*
 * How much the broker's RSS may grow while alerts pile up for the stopped
 * subscriber. Its own output is bounded by limits.max_output_buffer (64
 * KiB here; the kernel's socket buffers hold more, outside the process);
 * the rest is the store's page cache (SQLite's 2 MiB default) and malloc's
 * arenas. It is less than the STOP_TOTAL * STOP_DETAILS bytes (5.9 MiB)
 * published meanwhile, which the broker would hold without the bound.
 * Under AddressSanitizer redzones enlarge every allocation and a 4 MiB
 * quarantine (asan_small_quarantine) keeps freed memory.
 */
#define STOP_RSS_KIB	(H_ASAN ? 24 * 1024 : 4 * 1024)

/* Write one line of report to fd (the child's side). */
static void __attribute__((format(printf, 2, 3)))
child_say(int fd, const char *fmt, ...)
{
	char line[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		(void)write(fd, line, (size_t)n < sizeof(line) ? (size_t)n :
		    sizeof(line) - 1);
}

static int
child_connect(const struct h_broker *b, ccc_client **c, struct ccc_error *err)
{
	struct ccc_options o;
	char cert[400], key[400], ca[400];

	snprintf(cert, sizeof(cert), "%s", h_pki("gr-police.pem"));
	snprintf(key, sizeof(key), "%s", h_pki("gr-police.key"));
	snprintf(ca, sizeof(ca), "%s", h_pki("ca.pem"));
	memset(&o, 0, sizeof(o));
	o.server = b->server;
	o.cert = cert;
	o.key = key;
	o.ca = ca;
	o.timeout_ms = H_WAIT_MS;
	o.client_name = "ccc-itest-stopped";
	memset(err, 0, sizeof(*err));
	return ccc_connect(&o, c, err);
}

/* True when the parent has closed the control pipe (time to go). */
static bool
child_told_to_go(int ctl)
{
	struct pollfd p = { .fd = ctl, .events = POLLIN };
	char ch;

	return poll(&p, 1, 0) == 1 && read(ctl, &ch, 1) <= 0;
}

/*
 * The stopped subscriber, in the child: subscribe plain and durable, say
 * "R"; read until the broker ends the session (it gets stopped meanwhile),
 * saying "E code" for an Error and "C code" for the end; connect again,
 * resume the durable subscription ("S resumed") and report each durable
 * delivery ("D id"), acknowledging it, until the parent closes ctl.
 * Never returns; never uses Check.
 */
static void __attribute__((noreturn))
child_main(const struct h_broker *b, int rep, int ctl)
{
	const char *pattern = "alerts/#";
	int64_t deadline = h_mono_ms() + 50000;
	Ccc__V1__Envelope *env;
	struct ccc_error err;
	ccc_client *c = NULL;
	uint32_t id;
	bool resumed;
	int rc;

	if (child_connect(b, &c, &err) != 0 ||
	    ccc_subscribe(c, &pattern, 1, &id, &err) != 0 ||
	    ccc_subscribe_durable(c, STOP_DURABLE, &pattern, 1, &id, &resumed,
	    &err) != 0) {
		child_say(rep, "X %s\n", err.message);
		_exit(1);
	}
	child_say(rep, "R\n");
	while (h_mono_ms() < deadline) {
		env = NULL;
		rc = ccc_receive(c, 200, &env, &err);
		if (rc == 1 && env->body_case == CCC__V1__ENVELOPE__BODY_ERROR)
			child_say(rep, "E %d\n", (int)env->error->code);
		if (rc == 1)
			ccc_envelope_free(env);
		if (rc < 0) {
			child_say(rep, "C %d\n", err.code);
			break;
		}
	}
	ccc_close(c);
	c = NULL;
	for (int i = 0; i < 50 && h_mono_ms() < deadline; i++) {
		if (child_connect(b, &c, &err) == 0 &&
		    ccc_subscribe_durable(c, STOP_DURABLE, &pattern, 1, &id,
		    &resumed, &err) == 0)
			break;
		ccc_close(c);
		c = NULL;
		h_sleep_ms(100);
	}
	if (c == NULL) {
		child_say(rep, "X reconnect: %s\n", err.message);
		_exit(1);
	}
	child_say(rep, "S %d\n", (int)resumed);
	while (h_mono_ms() < deadline && !child_told_to_go(ctl)) {
		env = NULL;
		rc = ccc_receive(c, 100, &env, &err);
		if (rc < 0) {
			child_say(rep, "X receive: %s\n", err.message);
			_exit(1);
		}
		if (rc == 1 && env->body_case == CCC__V1__ENVELOPE__BODY_DELIVER &&
		    env->deliver->delivery_tag != 0) {
			uint64_t tag = env->deliver->delivery_tag;

			child_say(rep, "D %s\n", env->deliver->alert->id);
			if (ccc_send_ack(c, &tag, 1, &err) != 0) {
				child_say(rep, "X ack: %s\n", err.message);
				_exit(1);
			}
		}
		if (rc == 1)
			ccc_envelope_free(env);
	}
	ccc_close(c);
	_exit(0);
}

/* The parent's side of the report pipe: whole lines, with a deadline. */
struct reports {
	int	 fd;
	char	 buf[8192];
	size_t	 len;
};

/* The next line (without its newline) within ms: 1, 0 on timeout, -1 at EOF. */
static int
report_next(struct reports *r, int ms, char *line, size_t len)
{
	int64_t deadline = h_mono_ms() + ms;
	struct pollfd p = { .fd = r->fd, .events = POLLIN };
	char *nl;
	ssize_t n;

	for (;;) {
		if ((nl = memchr(r->buf, '\n', r->len)) != NULL) {
			size_t k = (size_t)(nl - r->buf);

			snprintf(line, len, "%.*s", (int)k, r->buf);
			memmove(r->buf, nl + 1, r->len - k - 1);
			r->len -= k + 1;
			return 1;
		}
		ck_assert_msg(r->len < sizeof(r->buf), "report line too long");
		if (h_mono_ms() >= deadline)
			return 0;
		if (poll(&p, 1, (int)(deadline - h_mono_ms())) <= 0)
			continue;
		n = read(r->fd, r->buf + r->len, sizeof(r->buf) - r->len);
		if (n == 0)
			return -1;
		if (n > 0)
			r->len += (size_t)n;
	}
}

/* Wait until process pid is stopped (state T in /proc). */
static void
wait_stopped(pid_t pid)
{
	char path[64], *stat, *p;
	int64_t deadline = h_mono_ms() + H_WAIT_MS;
	char state = '?';

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	while (h_mono_ms() < deadline) {
		ck_assert_ptr_nonnull(stat = h_slurp(path));
		p = strrchr(stat, ')');
		state = p != NULL ? p[2] : '?';
		free(stat);
		if (state == 'T')
			return;
		h_sleep_ms(10);
	}
	ck_abort_msg("the child did not stop (state %c)", state);
}

/* Receive n deliveries of ids[from..from+n) on c, in order, acking durable ones. */
static int64_t
healthy_receive(ccc_client *c, char (*ids)[UUID_STRLEN], size_t from,
    size_t n, int64_t sent_at)
{
	struct ccc_error err;
	int64_t worst = 0;

	for (size_t i = 0; i < n; i++) {
		Ccc__V1__Envelope *env = h_recv_deliver(c);

		ck_assert_str_eq(env->deliver->alert->id, ids[from + i]);
		if (h_mono_ms() - sent_at > worst)
			worst = h_mono_ms() - sent_at;
		if (env->deliver->delivery_tag != 0) {
			uint64_t tag = env->deliver->delivery_tag;

			ck_assert(ccc_send_ack(c, &tag, 1, &err) == 0);
		}
		ccc_envelope_free(env);
	}
	return worst;
}

/*
 * Publish STOP_BATCH alerts at once with our own ids (written to ids), with
 * details when not NULL; wait for every PublishOk. Returns the time sent.
 */
static int64_t
publish_batch(ccc_client *pub, char (*ids)[UUID_STRLEN], const char *details)
{
	uint64_t rids[STOP_BATCH];
	struct ccc_error err;
	int64_t t = h_mono_ms();

	for (int i = 0; i < STOP_BATCH; i++) {
		Ccc__V1__Alert *a = h_alert("weapons", "tr-bg/kapikule", "high",
		    "h1", "Arms cache reported");

		uuid_v7(h_now_us(), ids[i]);
		h_set_str(&a->id, ids[i]);
		if (details != NULL)
			h_set_str(&a->details, details);
		memset(&err, 0, sizeof(err));
		ck_assert_msg(ccc_send_publish(pub, a, &rids[i], &err) == 0,
		    "send publish: %s", err.message);
		h_alert_free(a);
	}
	ck_assert(ccc_flush(pub, &err) == 0);
	for (int i = 0; i < STOP_BATCH; i++) {
		Ccc__V1__Envelope *env = h_recv(pub, H_WAIT_MS);

		ck_assert_msg(env->body_case == CCC__V1__ENVELOPE__BODY_PUBLISH_OK &&
		    env->request_id == rids[i], "publish %d of a batch refused: "
		    "%s", i, frame_body_name(env->body_case));
		ccc_envelope_free(env);
	}
	return t;
}

/* Both healthy subscribers get the batch; the worst latency so far. */
static int64_t
healthy_check(ccc_client *plain, ccc_client *desk, char (*ids)[UUID_STRLEN],
    int64_t sent_at, int64_t worst)
{
	int64_t w;

	if ((w = healthy_receive(plain, ids, 0, STOP_BATCH, sent_at)) > worst)
		worst = w;
	if ((w = healthy_receive(desk, ids, 0, STOP_BATCH, sent_at)) > worst)
		worst = w;
	return worst;
}

START_TEST(stopped_subscriber)
{
	static char ids[STOP_TOTAL][UUID_STRLEN];
	static bool seen[STOP_TOTAL];
	struct h_broker *b;
	ccc_client *pub, *plain, *desk;
	const char *pattern = "alerts/#";
	struct reports rep = { .fd = -1 };
	int rp[2], cp[2], st;
	char line[128], *details;
	size_t n = 0, nseen = 0;
	int64_t worst = 0, t, deadline;
	long rss0, rss, rss_max;
	struct ccc_error err;
	uint32_t id;
	bool resumed, closed = false;
	pid_t child;

	asan_small_quarantine();
	b = h_broker_start("limits:\n  max_output_buffer: 65536\n"
	    "  publish_rate: 0\ndurable:\n  window: 10\n");
	pub = h_connect(b, "tr-police");
	plain = h_connect(b, "bg-border-police");
	desk = h_connect(b, "tr-gendarmerie");

	h_subscribe(plain, pattern);
	ck_assert(ccc_subscribe_durable(desk, "desk", &pattern, 1, &id,
	    &resumed, &err) == 0);
	ck_assert_ptr_nonnull(details = malloc(STOP_DETAILS + 1));
	for (size_t i = 0; i < STOP_DETAILS; i++)
		details[i] = "Containers reported at the border\n"[i % 34];
	details[STOP_DETAILS] = '\0';

	ck_assert(pipe2(rp, O_CLOEXEC) == 0 && pipe2(cp, O_CLOEXEC) == 0);
	child = fork();
	ck_assert_msg(child != -1, "fork: %s", strerror(errno));
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(rp[0]);
		close(cp[1]);
		child_main(b, rp[1], cp[0]);
	}
	close(rp[1]);
	close(cp[0]);
	rep.fd = rp[0];
	ck_assert_msg(report_next(&rep, H_WAIT_MS, line, sizeof(line)) == 1 &&
	    strcmp(line, "R") == 0, "the child did not subscribe: %s", line);
	ck_assert(kill(child, SIGSTOP) == 0);
	wait_stopped(child);
	rss0 = rss_max = h_broker_rss_kib(b);

	/* publish until the broker gives up on the stopped one, then more */
	while (n < STOP_TOTAL - STOP_AFTER && !closed) {
		t = publish_batch(pub, ids + n, details);
		worst = healthy_check(plain, desk, ids + n, t, worst);
		n += STOP_BATCH;
		if ((rss = h_broker_rss_kib(b)) > rss_max)
			rss_max = rss;
		closed = h_log_contains(b, "gr-police is a slow consumer");
	}
	ck_assert_msg(closed, "the stopped subscriber was not closed after %zu "
	    "alerts", n);
	fprintf(stderr, "14-hostile: the stopped subscriber was closed as a "
	    "slow consumer after %zu alerts of %d bytes\n", n, STOP_DETAILS);
	/* now for its durable subscription only, which waits in the store */
	while (n < STOP_TOTAL) {
		t = publish_batch(pub, ids + n, details);
		worst = healthy_check(plain, desk, ids + n, t, worst);
		n += STOP_BATCH;
		if ((rss = h_broker_rss_kib(b)) > rss_max)
			rss_max = rss;
	}
	rss = h_broker_rss_kib(b);
	rss_max = rss > rss_max ? rss : rss_max;
	fprintf(stderr, "14-hostile: %zu alerts published while the subscriber "
	    "was stopped: broker RSS %ld -> at most %ld KiB; the other "
	    "subscribers got each within %lld ms\n", n, rss0, rss_max,
	    (long long)worst);
	ck_assert_msg(h_wrapped() || rss_max - rss0 <= STOP_RSS_KIB,
	    "the broker's RSS grew by "
	    "%ld KiB while a subscriber was stopped (bound %d KiB)",
	    rss_max - rss0, STOP_RSS_KIB);
	ck_assert_msg(worst <= STOP_LATENCY_MS, "a delivery to a healthy "
	    "subscriber took %lld ms", (long long)worst);
	ck_assert_double_eq(h_metric(b,
	    "ccc_sessions_closed_total{reason=\"slow_consumer\"}"), 1);

	/* wake it: it learns why it was closed, comes back, gets every alert */
	ck_assert(kill(child, SIGCONT) == 0);
	deadline = h_mono_ms() + 20000;
	while (nseen < n && h_mono_ms() < deadline) {
		int rc = report_next(&rep, (int)(deadline - h_mono_ms()), line,
		    sizeof(line));

		ck_assert_msg(rc == 1, "the child stopped reporting (%d) with "
		    "%zu of %zu alerts", rc, nseen, n);
		ck_assert_msg(line[0] != 'X', "child: %s", line);
		if (line[0] == 'E') {
			/* when it drains its backlog within the 5 s of grace */
			ck_assert_msg(atoi(line + 2) ==
			    CCC__V1__ERROR_CODE__ERROR_CODE_SLOW_CONSUMER,
			    "the stopped subscriber got error %s", line + 2);
			fprintf(stderr, "14-hostile: once woken, the subscriber "
			    "read its backlog and the SLOW_CONSUMER error\n");
		} else if (line[0] == 'C' && atoi(line + 2) !=
		    CCC_ERR_CLOSED)
			fprintf(stderr, "14-hostile: once woken, the subscriber "
			    "found its connection closed (%s)\n",
			    ccc_error_name(atoi(line + 2)));
		else if (line[0] == 'S')
			ck_assert_msg(strcmp(line, "S 1") == 0, "the durable "
			    "subscription was not resumed");
		else if (line[0] == 'D') {
			size_t i;

			for (i = 0; i < n && strcmp(ids[i], line + 2) != 0; i++)
				;
			ck_assert_msg(i < n, "the child got alert %s, not one "
			    "of ours", line + 2);
			if (!seen[i]) {
				seen[i] = true;
				nseen++;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(seen[i], "alert %zu (%s) never reached the durable "
		    "subscription", i, ids[i]);
	fprintf(stderr, "14-hostile: all %zu alerts reached the durable "
	    "subscription after the subscriber came back\n", n);

	close(cp[1]);
	for (int i = 0; i < 500 && waitpid(child, &st, WNOHANG) == 0; i++)
		h_sleep_ms(10);
	if (waitpid(child, &st, WNOHANG) == 0) {
		kill(child, SIGKILL);
		waitpid(child, &st, 0);
		ck_abort_msg("the child did not exit when told");
	}
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d",
	    st);
	close(rp[0]);
	free(details);
	h_recv_none(plain, H_QUIET_MS);
	ccc_close(pub);
	ccc_close(plain);
	ccc_close(desk);
	h_broker_stop(b);
}
END_TEST

Suite *
hostile_suite(void)
{
	Suite *s = suite_create("14-hostile");
	TCase *conn = tcase_create("connections");
	TCase *rate = tcase_create("endpoints");
	TCase *slow = tcase_create("slow");

	tcase_add_test(conn, handshake_flood);
	tcase_add_test(conn, accept_backoff_on_emfile);
	tcase_set_timeout(conn, H_TEST_TIMEOUT);
	suite_add_tcase(s, conn);
	tcase_add_test(rate, connections_per_endpoint);
	tcase_add_test(rate, publish_rate_limit);
	tcase_set_timeout(rate, H_TEST_TIMEOUT);
	suite_add_tcase(s, rate);
	tcase_add_test(slow, stopped_subscriber);
	tcase_set_timeout(slow, 2 * H_TEST_TIMEOUT);
	suite_add_tcase(s, slow);
	return s;
}
