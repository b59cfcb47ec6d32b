/*
 * fuzz_session.c — whole broker sessions: the real session, handler,
 * routing, durable and admin code, a real store and the demo registry.
 *
 * Every input starts a fresh broker (server_new) on a store in a new
 * temporary directory, opens one to three sessions on socketpairs without
 * TLS (sess_new_plain, built only with -DCCC_FUZZ) and sends each its bytes
 * chunk by chunk while the event loop runs; at the end the peers go away,
 * the loop runs until every session is freed, and the broker is freed.
 *
 * Input:
 *   byte 0       sessions: 1 + (b % 3); bit 0x80: the replies to session 0
 *                are not read until the end (a slow consumer: the socket
 *                buffers are small, the output bound is 64 KiB)
 *   bytes 1..3   the identity of each session (identities[], mod its size)
 *   bytes 4..5   seed of the chunk sizes
 *   then records: a byte h (session h % n; bit 0x80: after the record, the
 *                peer of that session goes away, mid-frame or not), a
 *                2-byte big-endian length, that many bytes (fewer at the end)
 *
 * Properties: nothing crashes or leaks; every frame the broker sends
 * decodes; once every peer has gone, every session is freed within a
 * bounded number of loop runs and the store has called back everything.
 *
 * The seeds in tests/fuzz/corpus/session/ are written by gen_session.c.
 * Run from the repository root with the demo PKI made (`make certs`).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "frame.h"
#include "fuzz.h"
#include "log.h"
#include "registry.h"
#include "server.h"
#include "session.h"
#include "store.h"

#ifndef FUZZ_ROOT
#define FUZZ_ROOT	"."
#endif

#define NSESS		3
#define PUMP_MAX	200	/* loop runs per chunk */
#define DRAIN_MAX	2000	/* loop runs for the sessions to go */
#define OUT_MAX		(1024 * 1024)	/* replies kept for decoding */

static const char *const identities[] = {
	"tr-police", "gr-police", "bg-customs", "tr-customs",
	"ccc-operator", "ccc-operator-2", "nobody",
};
#define NIDENT	(sizeof(identities) / sizeof(identities[0]))

struct peer {
	int		 fd;		/* our end; -1 when gone */
	bool		 reading;	/* replies are read as they come */
	uint8_t		*out;		/* replies not decoded yet */
	size_t		 len;
};

static struct server *srv;
static struct peer peers[NSESS];
static size_t npeers;
static uint32_t rng;
static bool verbose;	/* FUZZ_SESSION_VERBOSE set: print what arrives */

static unsigned
chunk_size(void)
{
	static const unsigned sizes[] = { 1, 2, 3, 4, 5, 7, 16, 64, 1000,
	    65536 };

	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return sizes[rng % (sizeof(sizes) / sizeof(sizes[0]))];
}

/* Decode every whole frame the broker sent p. */
static void
decode(struct peer *p)
{
	Ccc__V1__Envelope *env;
	size_t consumed;
	char why[160];

	while (p->len > 0) {
		enum frame_status st = frame_decode(p->out, p->len,
		    FRAME_MAX_LIMIT, &env, &consumed, why, sizeof(why));

		if (st == FRAME_NEED_MORE)
			return;
		if (st != FRAME_OK)
			fprintf(stderr, "broker sent a bad frame: %s\n", why);
		FUZZ_CHECK(st == FRAME_OK);
		if (verbose)
			fprintf(stderr, "session %zu <- %s%s%s\n",
			    (size_t)(p - peers), frame_body_name(env->body_case),
			    env->body_case == CCC__V1__ENVELOPE__BODY_ERROR ?
			    ": " : "", env->body_case ==
			    CCC__V1__ENVELOPE__BODY_ERROR ? env->error->message :
			    "");
		frame_free(env);
		memmove(p->out, p->out + consumed, p->len - consumed);
		p->len -= consumed;
	}
}

/* Read what the broker sent to the peers that read. */
static void
read_replies(bool all)
{
	uint8_t buf[16384];
	ssize_t n;

	for (size_t i = 0; i < npeers; i++) {
		struct peer *p = &peers[i];

		if (p->fd == -1 || (!p->reading && !all))
			continue;
		while ((n = read(p->fd, buf, sizeof(buf))) > 0) {
			if (p->len + (size_t)n > OUT_MAX) {
				p->len = 0;	/* too much to keep: skip checks */
				continue;
			}
			memcpy(p->out + p->len, buf, (size_t)n);
			p->len += (size_t)n;
			decode(p);
		}
	}
}

/*
 * Run the loop until nothing is active and the store has called back all
 * it was asked, at most max times. Returns the store operations pending.
 */
static size_t
pump(int max)
{
	struct event_base *base = server_base(srv);
	struct store_health h;
	int idle = 0;

	for (int i = 0; i < max; i++) {
		read_replies(false);
		event_base_loop(base, EVLOOP_NONBLOCK);
		store_health(server_store(srv), &h);
		if (h.pending > 0) {
			idle = 0;
			event_base_loop(base, EVLOOP_ONCE);	/* the store's answer */
		} else if (event_base_get_num_events(base,
		    EVENT_BASE_COUNT_ACTIVE) == 0 && ++idle >= 2)
			break;
	}
	read_replies(false);
	store_health(server_store(srv), &h);
	return h.pending;
}

static void
peer_gone(struct peer *p)
{
	if (p->fd != -1) {
		close(p->fd);
		p->fd = -1;
	}
}

/* Send data to p in chunks, running the loop after each. */
static void
send_chunks(struct peer *p, const uint8_t *data, size_t len)
{
	while (len > 0 && p->fd != -1) {
		size_t n = chunk_size();
		ssize_t w;

		if (n > len)
			n = len;
		w = write(p->fd, data, n);
		if (w < 0) {
			if (errno == EAGAIN) {	/* the broker stopped reading */
				pump(PUMP_MAX);
				if ((w = write(p->fd, data, n)) < 0)
					return;
			} else
				return;	/* the broker closed the session */
		}
		data += w;
		len -= (size_t)w;
		pump(PUMP_MAX);
	}
}

static char tpl[64];	/* a store made once (migrated, seeded), copied per input */

/* Copy the regular files of directory from into directory to. */
static void
copy_dir(const char *from, const char *to)
{
	static uint8_t buf[65536];
	char src[256], dst[256];
	struct dirent *de;
	DIR *d = opendir(from);
	ssize_t n;
	int in, out;

	FUZZ_CHECK(d != NULL);
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_REG)
			continue;
		snprintf(src, sizeof(src), "%s/%s", from, de->d_name);
		snprintf(dst, sizeof(dst), "%s/%s", to, de->d_name);
		FUZZ_CHECK((in = open(src, O_RDONLY)) != -1);
		FUZZ_CHECK((out = open(dst, O_WRONLY | O_CREAT | O_EXCL,
		    0600)) != -1);
		while ((n = read(in, buf, sizeof(buf))) > 0)
			FUZZ_CHECK(write(out, buf, (size_t)n) == n);
		close(in);
		close(out);
	}
	closedir(d);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
rm_tpl(void)
{
	nftw(tpl, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static struct server *
broker_new(const char *dir)
{
	struct config *cfg;
	struct registry *reg;
	struct server *s;
	char yaml[2048], err[1024];

	snprintf(yaml, sizeof(yaml),
	    "listen: 127.0.0.1:0\n"
	    "tls:\n"
	    "  cert: %s/certs/demo/cccd.pem\n"
	    "  key: %s/certs/demo/cccd.key\n"
	    "  ca: %s/certs/demo/ca.pem\n"
	    "registry: %s/broker/etc/registry.yaml\n"
	    "data_dir: %s\n"
	    "log_level: error\n"
	    "limits:\n"
	    "  max_frame_size: 16384\n"
	    "  max_subscriptions: 8\n"
	    "  max_patterns: 4\n"
	    "  max_output_buffer: 65536\n"
	    "durable:\n"
	    "  window: 4\n"
	    "  max_subscriptions: 3\n"
	    "  max_deliveries: 3\n"
	    "metrics:\n"
	    "  listen: \"\"\n",
	    FUZZ_ROOT, FUZZ_ROOT, FUZZ_ROOT, FUZZ_ROOT, dir);
	if (config_load_string(yaml, "fuzz.yaml", &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_session: %s (run from the repository "
		    "root after `make certs`)\n", err);
		abort();
	}
	if (registry_load(cfg->registry, &reg, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_session: %s\n", err);
		abort();
	}
	if ((s = server_new(cfg, reg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_session: %s\n", err);
		abort();
	}
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	char dir[] = "/dev/shm/ccc-fuzz-XXXXXX";
	unsigned flags, n;
	int sv[2], sockbuf = 4096;

	if (size < 6)
		return 0;
	verbose = getenv("FUZZ_SESSION_VERBOSE") != NULL;
	log_set_level(verbose ? LL_INFO : LL_ERROR);
	if (mkdtemp(dir) == NULL) {
		snprintf(dir, sizeof(dir), "/tmp/ccc-fuzz-XXXXXX");
		FUZZ_CHECK(mkdtemp(dir) != NULL);
	}
	if (tpl[0] == '\0') {
		snprintf(tpl, sizeof(tpl), "%s", dir);
		server_free(broker_new(tpl));
		atexit(rm_tpl);
		snprintf(dir, sizeof(dir), "%s", "/dev/shm/ccc-fuzz-XXXXXX");
		if (mkdtemp(dir) == NULL) {
			snprintf(dir, sizeof(dir), "/tmp/ccc-fuzz-XXXXXX");
			FUZZ_CHECK(mkdtemp(dir) != NULL);
		}
	}
	copy_dir(tpl, dir);
	srv = broker_new(dir);

	flags = fuzz_byte(&in);
	npeers = 1 + (flags & 0x7f) % NSESS;
	for (size_t i = 0; i < NSESS; i++) {
		unsigned id = fuzz_byte(&in);

		if (i >= npeers)
			continue;
		FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
		FUZZ_CHECK(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
		FUZZ_CHECK(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
		/* small socket buffers: the output bound is within reach */
		FUZZ_CHECK(setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sockbuf,
		    sizeof(sockbuf)) == 0);
		FUZZ_CHECK(setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &sockbuf,
		    sizeof(sockbuf)) == 0);
		peers[i].fd = sv[0];
		peers[i].reading = i != 0 || (flags & 0x80) == 0;
		peers[i].out = malloc(OUT_MAX);
		peers[i].len = 0;
		FUZZ_CHECK(peers[i].out != NULL);
		sess_new_plain(srv, sv[1], identities[id % NIDENT]);
	}
	rng = fuzz_byte(&in) << 8;
	rng |= fuzz_byte(&in);
	rng = rng * 2654435761u + 1;	/* never 0 */
	pump(PUMP_MAX);

	while (in.left > 0) {
		unsigned h = fuzz_byte(&in);
		struct peer *p = &peers[h % npeers];

		n = fuzz_byte(&in) << 8;
		n |= fuzz_byte(&in);
		if (n > in.left)
			n = (unsigned)in.left;
		send_chunks(p, in.p, n);
		in.p += n;
		in.left -= n;
		if (h & 0x80)
			peer_gone(p);
		pump(PUMP_MAX);
	}

	/* the peers read what is left and go; every session must follow */
	read_replies(true);
	for (size_t i = 0; i < npeers; i++)
		peer_gone(&peers[i]);
	for (int i = 0; i < DRAIN_MAX; i++)
		if (pump(PUMP_MAX) == 0 && server_nsessions(srv) == 0)
			break;
	FUZZ_CHECK(server_nsessions(srv) == 0);
	server_free(srv);
	srv = NULL;
	for (size_t i = 0; i < npeers; i++) {
		free(peers[i].out);
		peers[i].out = NULL;
	}
	FUZZ_CHECK(nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS) == 0);
	return 0;
}
