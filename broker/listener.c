/*
 * listener.c — accepts TCP connections for the broker. Owns the listening
 * socket and the bounds on connections that have not authenticated yet.
 *
 * A connection in its TLS handshake costs memory (an SSL object, buffers)
 * and proves nothing about its peer, so handshakes under way are bounded on
 * their own, apart from sessions: limits.max_handshakes in all, and
 * limits.max_handshakes_per_address from one source (an IPv4 address, or an
 * IPv6 /64, which one host commonly holds whole). Past either bound a new
 * connection is closed at accept with a reset, before anything is allocated
 * for it — except that at the global bound a connection from a source with
 * at least two fewer handshakes under way than the busiest source takes the
 * place of that source's oldest handshake, which is closed. So a flood from
 * a few sources can neither exceed the bound nor lock everyone else out
 * until the handshake timeout. A handshake stops counting when it completes
 * or closes (listener_slot_release(), called from sess_set_state()).
 *
 * Invariants: handshakes <= max_handshakes; a source's count is at most
 * min(max_handshakes_per_address, max_handshakes); sources exist only while
 * they have a handshake under way, so the table is bounded by
 * max_handshakes. Accepting costs O(1) (a hash lookup in a keyed table, the
 * busiest source from per-count lists).
 *
 * Past limits.max_connections sessions, connections are still accepted (up
 * to a small overflow) so that the peer can be told why it is refused; past
 * that they are closed at once too. Refusals are logged at most once every
 * LISTENER_WARN_EVERY seconds, with their counts. When accept() fails for
 * lack of descriptors the listener pauses for a second instead of spinning.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/listener.h>
#include <openssl/rand.h>

#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "server.h"
#include "session.h"
#include "timeutil.h"
#include "xmalloc.h"

#define LISTENER_BACKLOG	512
#define LISTENER_OVERFLOW	64	/* sessions past the limit told "too many" */
#define LISTENER_WARN_EVERY	10	/* seconds between warnings about refusals */
#define LISTENER_KEY_LEN	16	/* IPv6, or IPv4-mapped */

/* What a refusal at accept, or an eviction, was for (log counts). */
enum listener_event {
	LISTENER_SESSIONS,	/* limits.max_connections + LISTENER_OVERFLOW */
	LISTENER_HANDSHAKES,	/* limits.max_handshakes */
	LISTENER_PER_SOURCE,	/* limits.max_handshakes_per_address */
	LISTENER_EVICTED,	/* a handshake closed to make room */
	LISTENER_NEVENTS
};

/* One source (IPv4 address or IPv6 /64) with handshakes under way. */
struct listener_src {
	LIST_ENTRY(listener_src)	 chain;		/* in its hash chain */
	LIST_ENTRY(listener_src)	 level;		/* in levels[n] */
	TAILQ_HEAD(, listener_slot)	 slots;		/* its handshakes, oldest first */
	uint32_t			 n;		/* slots in the list, >= 1 */
	uint8_t				 key[LISTENER_KEY_LEN];
};

struct listener_slot {
	TAILQ_ENTRY(listener_slot)	 entry;		/* in its source's list */
	struct listener			*l;
	struct listener_src		*src;
	struct session			*sess;		/* NULL until bound */
};

LIST_HEAD(listener_srcs, listener_src);

struct listener {
	struct server		*srv;
	struct evconnlistener	*lev;
	struct event		*resume;	/* re-enables accept after EMFILE */
	char			 address[80];

	/* handshakes under way */
	size_t			 handshakes;
	struct listener_srcs	*hash;		/* sources by keyed hash of their key */
	size_t			 hashmask;
	uint64_t		 hashkey;	/* random: a peer cannot aim at one chain */
	struct listener_srcs	*levels;	/* levels[n]: sources with n handshakes */
	uint32_t		 nlevels;	/* entries in levels (1 + the highest n) */
	uint32_t		 top;		/* highest n with a source (0: none) */

	/* refusals not logged yet */
	struct event		*warn;		/* logs them when the quiet time is over */
	int64_t			 warned_at;	/* monotonic µs of the last warning; 0 none */
	uint64_t		 held[LISTENER_NEVENTS];
	char			 last_src[INET6_ADDRSTRLEN + 4];	/* of the last per-source refusal */
};

/* The source of a connection: its IPv4 address, or its IPv6 /64. */
static void
listener_key(const struct sockaddr *sa, int salen,
    uint8_t key[LISTENER_KEY_LEN])
{
	memset(key, 0, LISTENER_KEY_LEN);
	if (sa->sa_family == AF_INET &&
	    (size_t)salen >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const void *)sa;

		key[10] = key[11] = 0xff;
		memcpy(key + 12, &in->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6 &&
	    (size_t)salen >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		memcpy(key, &in6->sin6_addr, LISTENER_KEY_LEN);
		if (!IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			memset(key + 8, 0, 8);
	}
}

/* A source key as text: "192.0.2.7" or "2001:db8::/64". */
static void
listener_key_text(const uint8_t key[LISTENER_KEY_LEN], char *buf,
    size_t len)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	char ip[INET6_ADDRSTRLEN] = "?";

	if (memcmp(key, mapped, sizeof(mapped)) == 0) {
		inet_ntop(AF_INET, key + 12, ip, sizeof(ip));
		snprintf(buf, len, "%s", ip);
	} else {
		inet_ntop(AF_INET6, key, ip, sizeof(ip));
		snprintf(buf, len, "%s/64", ip);
	}
}

static size_t
listener_hash(const struct listener *l, const uint8_t key[LISTENER_KEY_LEN])
{
	uint64_t h = l->hashkey, w;

	for (int i = 0; i < LISTENER_KEY_LEN; i += 8) {
		memcpy(&w, key + i, 8);
		h = (h ^ w) * UINT64_C(0x9e3779b97f4a7c15);
		h ^= h >> 29;
	}
	return (size_t)(h & l->hashmask);
}

static struct listener_src *
listener_src_find(const struct listener *l, const uint8_t key[LISTENER_KEY_LEN])
{
	struct listener_src *src;

	LIST_FOREACH(src, &l->hash[listener_hash(l, key)], chain)
		if (memcmp(src->key, key, LISTENER_KEY_LEN) == 0)
			return src;
	return NULL;
}

/* Count one more handshake from key (src: its source, or NULL for a new one). */
static struct listener_slot *
listener_slot_new(struct listener *l, struct listener_src *src,
    const uint8_t key[LISTENER_KEY_LEN])
{
	struct listener_slot *slot = xcalloc(1, sizeof(*slot));

	if (src == NULL) {
		src = xcalloc(1, sizeof(*src));
		memcpy(src->key, key, LISTENER_KEY_LEN);
		TAILQ_INIT(&src->slots);
		LIST_INSERT_HEAD(&l->hash[listener_hash(l, key)], src, chain);
	} else
		LIST_REMOVE(src, level);
	src->n++;
	LIST_INSERT_HEAD(&l->levels[src->n], src, level);
	if (src->n > l->top)
		l->top = src->n;
	TAILQ_INSERT_TAIL(&src->slots, slot, entry);
	slot->l = l;
	slot->src = src;
	l->handshakes++;
	return slot;
}

void
listener_slot_bind(struct listener_slot *slot, struct session *s)
{
	slot->sess = s;
}

void
listener_slot_release(struct listener_slot *slot)
{
	struct listener *l;
	struct listener_src *src;

	if (slot == NULL)
		return;
	l = slot->l;
	src = slot->src;
	TAILQ_REMOVE(&src->slots, slot, entry);
	LIST_REMOVE(src, level);
	if (--src->n == 0) {
		LIST_REMOVE(src, chain);
		free(src);
	} else
		LIST_INSERT_HEAD(&l->levels[src->n], src, level);
	while (l->top > 0 && LIST_EMPTY(&l->levels[l->top]))
		l->top--;
	l->handshakes--;
	free(slot);
}

/* Log the refusals held back, with their counts, in one line. */
static void
listener_warn_now(struct listener *l)
{
	const struct config *cfg = server_config(l->srv);
	char line[600], part[200];
	size_t len = 0;

	line[0] = '\0';
	for (int e = 0; e < LISTENER_NEVENTS && len < sizeof(line); e++) {
		if (l->held[e] == 0)
			continue;
		switch (e) {
		case LISTENER_SESSIONS:
			snprintf(part, sizeof(part), "%llu closed past "
			    "limits.max_connections (%u + %d)",
			    (unsigned long long)l->held[e], cfg->max_connections,
			    LISTENER_OVERFLOW);
			break;
		case LISTENER_HANDSHAKES:
			snprintf(part, sizeof(part), "%llu closed past "
			    "limits.max_handshakes (%u)",
			    (unsigned long long)l->held[e], cfg->max_handshakes);
			break;
		case LISTENER_PER_SOURCE:
			snprintf(part, sizeof(part), "%llu closed past "
			    "limits.max_handshakes_per_address (%u; the last "
			    "from %s)", (unsigned long long)l->held[e],
			    cfg->max_handshakes_per_address, l->last_src);
			break;
		default:
			snprintf(part, sizeof(part), "%llu handshakes of the "
			    "busiest addresses closed to make room",
			    (unsigned long long)l->held[e]);
			break;
		}
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s",
		    len > 0 ? ", " : "", part);
		l->held[e] = 0;
	}
	if (len == 0)
		return;
	log_warn("connections refused at accept: %s (%zu handshakes under way; "
	    "at most one such line every %d s)", line, l->handshakes,
	    LISTENER_WARN_EVERY);
	l->warned_at = time_mono_us();
}

static void
listener_warn_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	listener_warn_now(arg);
}

/* Note event e for the log: now when the last warning is old, else later. */
static void
listener_note(struct listener *l, enum listener_event e)
{
	int64_t since = time_mono_us() - l->warned_at;
	int64_t quiet = (int64_t)LISTENER_WARN_EVERY * 1000000;
	struct timeval tv;

	l->held[e]++;
	if (l->warned_at == 0 || since >= quiet) {
		if (evtimer_pending(l->warn, NULL))
			evtimer_del(l->warn);
		listener_warn_now(l);
	} else if (!evtimer_pending(l->warn, NULL)) {
		tv.tv_sec = (time_t)((quiet - since) / 1000000);
		tv.tv_usec = (suseconds_t)((quiet - since) % 1000000);
		evtimer_add(l->warn, &tv);
	}
}

/* Close fd at once with a reset: no TIME_WAIT, nothing allocated for it. */
static void
listener_refuse(struct listener *l, evutil_socket_t fd, enum listener_event e,
    const uint8_t key[LISTENER_KEY_LEN])
{
	struct metrics_counters *mc = server_counters(l->srv);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	evutil_closesocket(fd);
	if (e == LISTENER_SESSIONS)
		mc->connections_dropped++;
	else if (e == LISTENER_HANDSHAKES)
		mc->handshakes_over_limit++;
	else {
		mc->handshakes_over_address++;
		listener_key_text(key, l->last_src, sizeof(l->last_src));
	}
	listener_note(l, e);
}

/* Make room: close the oldest handshake of the busiest source. */
static void
listener_evict(struct listener *l)
{
	struct listener_src *src = LIST_FIRST(&l->levels[l->top]);
	struct session *s = TAILQ_FIRST(&src->slots)->sess;

	server_counters(l->srv)->handshakes_evicted++;
	listener_note(l, LISTENER_EVICTED);
	s->close_reason = METRICS_CLOSE_HANDSHAKE;
	sess_close(s, "handshake closed to make room for a connection from a "
	    "less busy address (limits.max_handshakes)");
}

static void
listener_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener *l = arg;
	const struct config *cfg = server_config(l->srv);
	size_t n = server_nsessions(l->srv);
	struct listener_src *src;
	struct listener_slot *slot;
	uint8_t key[LISTENER_KEY_LEN];
	uint32_t busy;

	(void)lev;
	if (server_stopping(l->srv)) {
		evutil_closesocket(fd);
		return;
	}
	listener_key(sa, salen, key);
	if (n >= (size_t)cfg->max_connections + LISTENER_OVERFLOW) {
		listener_refuse(l, fd, LISTENER_SESSIONS, key);
		return;
	}
	src = listener_src_find(l, key);
	busy = src != NULL ? src->n : 0;
	if (busy >= cfg->max_handshakes_per_address) {
		listener_refuse(l, fd, LISTENER_PER_SOURCE, key);
		return;
	}
	if (l->handshakes >= cfg->max_handshakes) {
		/* only a move towards fairness: never src itself */
		if (busy + 1 >= l->top) {
			listener_refuse(l, fd, LISTENER_HANDSHAKES, key);
			return;
		}
		listener_evict(l);
	}
	slot = listener_slot_new(l, src, key);
	sess_new(l->srv, fd, sa, salen, n >= cfg->max_connections, slot);
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

/* The tables for the handshake bounds, sized from the configuration. */
static void
listener_tables(struct listener *l, const struct config *cfg)
{
	size_t buckets = 64;

	while (buckets < cfg->max_handshakes)
		buckets <<= 1;
	l->hash = xcalloc(buckets, sizeof(*l->hash));
	l->hashmask = buckets - 1;
	for (size_t i = 0; i < buckets; i++)
		LIST_INIT(&l->hash[i]);
	if (RAND_bytes((unsigned char *)&l->hashkey, sizeof(l->hashkey)) != 1)
		l->hashkey = (uint64_t)time_now_us() ^ (uint64_t)time_mono_us();
	l->nlevels = 1 + (cfg->max_handshakes_per_address < cfg->max_handshakes ?
	    cfg->max_handshakes_per_address : cfg->max_handshakes);
	l->levels = xcalloc(l->nlevels, sizeof(*l->levels));
	for (uint32_t i = 0; i < l->nlevels; i++)
		LIST_INIT(&l->levels[i]);
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
	l->warn = evtimer_new(server_base(srv), listener_warn_cb, l);
	listener_tables(l, server_config(srv));
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
	event_free(l->warn);
	free(l->hash);
	free(l->levels);
	free(l);
}
