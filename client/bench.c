/*
 * bench.c — `ccc bench`: measures a broker through libccc, the way agency
 * software uses it, with the scenarios of the peer benchmarks of Mosquitto
 * and NATS (same workloads, same JSON keys, same /proc readings).
 *
 * One run
 *   1. Connect S subscribers, at most conn_window at a time; each subscribes
 *      to its patterns. libccc connects blocking, so every connection in
 *      progress has its own short-lived thread. Measures handshakes/s (TLS
 *      handshake + Hello/Welcome + Subscribe/SubscribeOk, like the peers'
 *      TLS + CONNECT + SUBSCRIBE) and the broker's RSS before and after.
 *   2. Connect P publishers.
 *   3. Publish count alerts in total, round-robin over the publishers
 *      (global number k = seq * P + publisher), never more than window
 *      unconfirmed per publisher: as fast as PublishOk replies allow, or on
 *      a fixed schedule (rate alerts/s in total, alert k due at t0 + k/rate).
 *      One thread drives every session, publishers and subscribers, with
 *      ppoll(2) over ccc_fd()/ccc_pending() (the bench has one core: a
 *      second busy thread would only add scheduling delays to latencies).
 *   4. Stop when every publish is settled and every expected delivery has
 *      arrived, when nothing more arrives for BENCH_SETTLE_NS after the last
 *      publish is settled, or at the deadline.
 *   5. Hold the idle sessions for hold_s seconds, read the broker's RSS
 *      again, print the report, close everything.
 *
 * Alerts: exercise alerts (Alert.exercise), which the broker refuses unless
 * its bench.allow is set and publishes on exercise/ topics, apart from the
 * live alerts/ ones: subscribers' patterns lie under exercise/ too. The
 * broker removes them from its store when the run's sessions close.
 * Publisher p's alert seq has category seq mod 9 and section
 * (seq / 9 + p) mod |sections|, so every topic of the 9 x |sections| is used
 * evenly. The payload is the alert itself: `details` holds filler so that
 * the encoded alert has --bytes bytes; `remarks` carries "ccc-bench RUN K
 * STAMP" (hex, fixed width), where STAMP is CLOCK_MONOTONIC in ns when the
 * alert was handed to libccc, or in --rate mode its scheduled send time, so
 * that a publisher held back by a full window or a slow loop does not hide
 * the delay (no coordinated omission). Latency = arrival - STAMP.
 *
 * Checks: the expected number of deliveries is computed up front from every
 * subscriber's patterns and every alert's topic. Each subscriber keeps a
 * bitmap over k: a second delivery of k is a duplicate, a delivery of an
 * alert from another run, or one whose topic the subscriber's patterns do
 * not match, is "foreign"; expected minus first deliveries is "lost".
 * Deliveries with a delivery tag are acknowledged (tag 0 needs none), after
 * each read burst. With --durable every subscriber uses a durable
 * subscription of its own ("bench-RUN-S": no backlog of an earlier run),
 * deleted again (forget) when the run ends.
 *
 * Must never: talk to anything but the --server given, spin without a
 * bound (every loop ends at the deadline), or hold a libccc client in two
 * threads at once (connector threads hand theirs over when joined).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bench.h"
#include "ccc.h"
#include "names.h"
#include "xmalloc.h"

#ifndef CCC_VERSION
#define CCC_VERSION		"0.0.0"
#endif

#define NS			1000000000LL
#define BENCH_BURST		64	/* envelopes read from one session in a row */
#define BENCH_MAX_TAGS		1024	/* delivery tags in one Ack (protocol limit) */
#define BENCH_MAX_LAT		(64u * 1024 * 1024)	/* latency samples kept */
#define BENCH_SETTLE_NS		(3 * NS)	/* wait for stragglers this long */
#define BENCH_POLL_NS		(100 * 1000000LL)	/* longest ppoll */
#define BENCH_LATE_NS		1000000	/* a send > 1 ms behind schedule is late */
#define BENCH_STACK		(512 * 1024)	/* connector thread stack */
#define BENCH_MAGIC		"ccc-bench "
#define BENCH_MAGIC_LEN		10
#define BENCH_REMARKS_LEN	(BENCH_MAGIC_LEN + 8 + 1 + 16 + 1 + 16)
#define BENCH_FILLER		"Bench filler: a white lorry with 23 people " \
				"on board heading for the crossing at night. "

/* One TLS session of the run. */
struct bench_conn {
	ccc_client		*c;
	unsigned		 idx;		/* within its role */
	bool			 is_pub;
	bool			 alive;		/* connected, not failed since */
	bool			 pending;	/* a read burst ended with more to read */
	int64_t			 setup_ns;	/* connect + hello (+ subscribe) */
	bool			 resumed;	/* its TLS session was resumed */
	/* publisher */
	uint64_t		 seq;		/* next sequence number */
	uint64_t		 quota;		/* alerts it publishes in all */
	unsigned		 inflight;	/* published, not yet settled */
	/* subscriber */
	uint32_t		 sub_id;	/* its subscription */
	unsigned		 group;		/* its pattern set */
	uint8_t			*seen;		/* bitmap over k: first deliveries */
};

/* CPU time of the broker (/proc/PID/stat, all threads) and of this process. */
struct bench_cpu {
	int64_t			 t;		/* monotonic ns */
	double			 broker_s;	/* utime + stime; -1: unknown */
	double			 self_s;
};

struct bench_use {
	double			 wall_s;
	double			 broker_s;	/* -1: unknown */
	double			 self_s;
	double			 broker_pct;	/* % of one core; -1: unknown */
	double			 self_pct;
};

struct bench {
	const struct bench_opts	*o;
	uint32_t		 run_id;
	bool			 run_adopted;	/* drain: run_id is the fill's */
	int64_t			 deadline;	/* monotonic ns */

	char			**sections;
	size_t			 nsec;
	char			**topics;	/* [section * 9 + category] */
	size_t			 ntopics;
	const char		***patterns;	/* [group] -> its patterns */
	size_t			*npatterns;
	unsigned		 ngroups;
	bool			*match;		/* [group * ntopics + topic] */
	char			 pattern_desc[128];

	struct bench_conn	*subs;
	struct bench_conn	*pubs;
	uint64_t		 expected;
	ccc_tls			*sub_tls;	/* each role's identity, read once */
	ccc_tls			*pub_tls;

	/* connection phase: connector threads take conns by index */
	struct bench_conn	*conn_v;
	unsigned		 conn_n;
	atomic_uint		 conn_next;

	pthread_mutex_t		 lock;		/* first_error */
	char			 first_error[320];

	/* run phase (one thread) */
	int64_t			 t0;
	int64_t			 pubs_settled_at;	/* every publish settled */

	Ccc__V1__Alert		 alert;		/* template, refilled per alert */
	char			*details;
	char			 remarks[BENCH_REMARKS_LEN + 1];
	uint64_t		 sent, acked, refused, recipients, late;
	uint64_t		 pub_lost;	/* publisher sessions that failed */
	int64_t			 t_last_ack;

	uint64_t		 tags[BENCH_MAX_TAGS];	/* to acknowledge */
	size_t			 ntags;
	uint64_t		 delivered, dups, foreign, acks;
	uint64_t		 sub_lost;	/* subscriber sessions that failed */
	int64_t			 t_last_deliv;
	int64_t			*lat;
	size_t			 nlat, caplat;
};

static volatile sig_atomic_t bench_stop;

static void	bench_error(struct bench *b, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/* ---- small helpers --------------------------------------------------------- */

static int64_t
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

/* Remember the first failure of the run (any thread); later ones are counted. */
static void
bench_error(struct bench *b, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&b->lock);
	if (b->first_error[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(b->first_error, sizeof(b->first_error), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&b->lock);
}

static void
bench_on_signal(int sig)
{
	(void)sig;
	bench_stop = 1;
}

/* A session failed: say so once, count it, stop using it. */
static void
bench_conn_lost(struct bench *b, struct bench_conn *k,
    const struct ccc_error *err)
{
	if (!k->alive)
		return;
	k->alive = false;
	bench_error(b, "%s %u: %s", k->is_pub ? "publisher" : "subscriber",
	    k->idx, err->message);
	if (k->is_pub)
		b->pub_lost++;
	else
		b->sub_lost++;
}

/* 16 hex digits at p, fixed width. */
static bool
bench_hex(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	int d;

	for (size_t i = 0; i < n; i++) {
		if (p[i] >= '0' && p[i] <= '9')
			d = p[i] - '0';
		else if (p[i] >= 'a' && p[i] <= 'f')
			d = p[i] - 'a' + 10;
		else
			return false;
		v = v << 4 | (uint64_t)d;
	}
	*out = v;
	return true;
}

/* Topic pattern match: "+" one level, "#" (last) the rest, zero included. */
static bool
bench_match(const char *pat, const char *topic)
{
	size_t pl, tl;

	for (;;) {
		pl = strcspn(pat, "/");
		tl = strcspn(topic, "/");
		if (pl == 1 && pat[0] == '#')
			return true;
		if (!(pl == 1 && pat[0] == '+') &&
		    (pl != tl || memcmp(pat, topic, pl) != 0))
			return false;
		pat += pl;
		topic += tl;
		if (*topic == '\0')
			return *pat == '\0' || strcmp(pat, "/#") == 0;
		if (*pat == '\0')
			return false;
		pat++;
		topic++;
	}
}

/* ---- /proc ----------------------------------------------------------------- */

/* A field of /proc/PID/status in KiB ("VmRSS:", "VmHWM:"); -1 unknown. */
static long
bench_proc_kib(int pid, const char *field)
{
	char path[64], line[256];
	size_t fl = strlen(field);
	long v = -1;
	FILE *f;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, fl) == 0) {
			v = strtol(line + fl, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* utime + stime of pid in seconds (all threads); -1 unknown. */
static double
bench_proc_cpu(int pid)
{
	char path[64], buf[1024], *p, *tok, *save = NULL;
	unsigned long long ut = 0, st = 0;
	size_t len;
	int field = 2;
	FILE *f;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)	/* the name may hold spaces */
		return -1;
	for (tok = strtok_r(p + 1, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		if (++field == 14)
			ut = strtoull(tok, NULL, 10);
		else if (field == 15) {
			st = strtoull(tok, NULL, 10);
			break;
		}
	}
	if (field != 15)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void
bench_cpu_snap(const struct bench *b, struct bench_cpu *s)
{
	struct rusage ru;

	s->t = bench_now();
	s->broker_s = bench_proc_cpu(b->o->broker_pid);
	getrusage(RUSAGE_SELF, &ru);
	s->self_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static struct bench_use
bench_cpu_diff(const struct bench_cpu *a, const struct bench_cpu *z)
{
	struct bench_use u;
	double w;

	u.wall_s = (double)(z->t - a->t) / 1e9;
	w = u.wall_s > 0 ? u.wall_s : 1e-9;
	u.broker_s = a->broker_s >= 0 && z->broker_s >= 0 ?
	    z->broker_s - a->broker_s : -1;
	u.self_s = z->self_s - a->self_s;
	u.broker_pct = u.broker_s >= 0 ? 100.0 * u.broker_s / w : -1;
	u.self_pct = 100.0 * u.self_s / w;
	return u;
}

/* ---- the plan: topics, patterns, expected deliveries ---------------------- */

/* Split o->sections into b->sections. */
static int
bench_sections(const char *list, char ***out, size_t *n, char *why,
    size_t whylen)
{
	const char *p = list;
	size_t len;

	*out = NULL;
	*n = 0;
	for (;;) {
		len = strcspn(p, ",");
		if (len == 0 || len > 128 || memchr(p, '/', len) == NULL) {
			snprintf(why, whylen, "--sections: \"%.*s\" is not a "
			    "section id such as tr-bg/kapikule", (int)len, p);
			goto fail;
		}
		if (*n == BENCH_MAX_SECTIONS) {
			snprintf(why, whylen, "--sections: at most %d sections",
			    BENCH_MAX_SECTIONS);
			goto fail;
		}
		*out = xreallocarray(*out, *n + 1, sizeof(**out));
		(*out)[(*n)++] = xstrndup(p, len);
		if (p[len] == '\0')
			return 0;
		p += len + 1;
	}
fail:
	for (size_t i = 0; i < *n; i++)
		free((*out)[i]);
	free(*out);
	*out = NULL;
	*n = 0;
	return -1;
}

/* The topic index of publisher p's alert seq. */
static size_t
bench_topic_of(const struct bench *b, uint64_t p, uint64_t seq)
{
	uint64_t cat = seq % BENCH_CATEGORIES;
	uint64_t sec = (seq / BENCH_CATEGORIES + p) % b->nsec;

	return (size_t)(sec * BENCH_CATEGORIES + cat);
}

static const char *
bench_category(unsigned cat)
{
	const char *name = names_enum_short(&ccc__v1__category__descriptor,
	    (int)cat + 1);

	return name != NULL ? name : "other";
}

/* Topics, pattern sets, which set matches which topic, expected deliveries. */
static int
bench_plan(struct bench *b)
{
	const struct bench_opts *o = b->o;
	uint64_t *per_topic;	/* subscribers that match each topic */
	char why[256];

	if (bench_sections(o->sections, &b->sections, &b->nsec, why,
	    sizeof(why)) < 0) {
		fprintf(stderr, "ccc: %s\n", why);
		return -1;
	}
	b->ntopics = b->nsec * BENCH_CATEGORIES;
	b->topics = xcalloc(b->ntopics, sizeof(*b->topics));
	for (size_t s = 0; s < b->nsec; s++)
		for (unsigned c = 0; c < BENCH_CATEGORIES; c++)
			b->topics[s * BENCH_CATEGORIES + c] = xasprintf(
			    BENCH_TOPICS "%s/%s", bench_category(c),
			    b->sections[s]);

	b->ngroups = o->groups > 1 ? o->groups : 1;
	b->patterns = xcalloc(b->ngroups, sizeof(*b->patterns));
	b->npatterns = xcalloc(b->ngroups, sizeof(*b->npatterns));
	for (unsigned g = 0; g < b->ngroups; g++) {
		b->patterns[g] = xcalloc(BENCH_CATEGORIES, sizeof(char *));
		if (b->ngroups == 1) {
			b->patterns[g][b->npatterns[g]++] = xstrdup(o->pattern);
			continue;
		}
		for (unsigned c = g; c < BENCH_CATEGORIES; c += b->ngroups)
			b->patterns[g][b->npatterns[g]++] = xasprintf(
			    BENCH_TOPICS "%s/#", bench_category(c));
	}
	if (b->ngroups == 1)
		snprintf(b->pattern_desc, sizeof(b->pattern_desc), "%s",
		    o->pattern);
	else
		snprintf(b->pattern_desc, sizeof(b->pattern_desc),
		    BENCH_TOPICS "CATEGORY/# for the categories of group s "
		    "mod %u",
		    b->ngroups);

	b->match = xcalloc((size_t)b->ngroups * b->ntopics, sizeof(bool));
	per_topic = xcalloc(b->ntopics, sizeof(*per_topic));
	for (unsigned g = 0; g < b->ngroups; g++)
		for (size_t t = 0; t < b->ntopics; t++)
			for (size_t i = 0; i < b->npatterns[g]; i++)
				if (bench_match(b->patterns[g][i], b->topics[t]))
					b->match[g * b->ntopics + t] = true;
	for (unsigned s = 0; s < o->subscribers; s++)
		for (size_t t = 0; t < b->ntopics; t++)
			per_topic[t] += b->match[(s % b->ngroups) * b->ntopics + t];

	b->subs = xcalloc(o->subscribers > 0 ? o->subscribers : 1,
	    sizeof(*b->subs));
	b->pubs = xcalloc(o->publishers > 0 ? o->publishers : 1,
	    sizeof(*b->pubs));
	for (unsigned s = 0; s < o->subscribers; s++) {
		b->subs[s].idx = s;
		b->subs[s].group = s % b->ngroups;
		if (o->count > 0)
			b->subs[s].seen = xcalloc(o->count / 8 + 1, 1);
	}
	for (unsigned p = 0; p < o->publishers; p++) {
		struct bench_conn *k = &b->pubs[p];

		k->idx = p;
		k->is_pub = true;
		k->quota = o->count > p ? (o->count - p + o->publishers - 1) /
		    o->publishers : 0;
		for (uint64_t i = 0; i < k->quota; i++)
			b->expected += per_topic[bench_topic_of(b, p, i)];
	}
	free(per_topic);
	return 0;
}

/* ---- the alert ------------------------------------------------------------- */

/* Encoded size of the template with details of length d. */
static size_t
bench_alert_size(struct bench *b, size_t d)
{
	char saved = b->details[d];
	size_t n;

	b->details[d] = '\0';
	n = ccc__v1__alert__get_packed_size(&b->alert);
	b->details[d] = saved;
	return n;
}

/* The alert template, with details sized so that the alert has o->bytes. */
static void
bench_alert_init(struct bench *b, const char *longest_section)
{
	size_t d, flen = strlen(BENCH_FILLER), want = b->o->bytes;

	ccc__v1__alert__init(&b->alert);
	b->alert.category = CCC__V1__CATEGORY__CATEGORY_MIGRANT_SMUGGLING;
	b->alert.severity = CCC__V1__SEVERITY__SEVERITY_HIGH;
	b->alert.handling = CCC__V1__HANDLING__HANDLING_H1;
	b->alert.section = (char *)(uintptr_t)longest_section;
	b->alert.summary = (char *)(uintptr_t)"ccc bench: load test alert";
	b->alert.exercise = true;
	memset(b->remarks, 'f', BENCH_REMARKS_LEN);
	b->remarks[BENCH_REMARKS_LEN] = '\0';
	b->alert.remarks = b->remarks;
	b->details = xmalloc(want + 1);
	for (size_t i = 0; i < want; i++)
		b->details[i] = BENCH_FILLER[i % flen];
	b->details[want] = '\0';
	b->alert.details = b->details;
	/* the longest section gives the largest alert: none exceeds o->bytes */
	for (d = want; d > 0 && bench_alert_size(b, d) > want; d--)
		;
	b->details[d] = '\0';
}

/* Smallest alert: no details, the longest section. */
size_t
bench_min_bytes(const char *sections, char *why, size_t whylen)
{
	struct bench b;
	struct bench_opts o;
	const char *longest = "";
	size_t n;

	memset(&b, 0, sizeof(b));
	bench_defaults(&o);
	o.bytes = 0;
	b.o = &o;
	if (bench_sections(sections, &b.sections, &b.nsec, why, whylen) < 0)
		return 0;
	for (size_t i = 0; i < b.nsec; i++)
		if (strlen(b.sections[i]) > strlen(longest))
			longest = b.sections[i];
	bench_alert_init(&b, longest);
	n = ccc__v1__alert__get_packed_size(&b.alert);
	for (size_t i = 0; i < b.nsec; i++)
		free(b.sections[i]);
	free(b.sections);
	free(b.details);
	return n;
}

/* ---- connecting -------------------------------------------------------------- */

static void
bench_connect_one(struct bench *b, struct bench_conn *k)
{
	const struct bench_opts *o = b->o;
	struct ccc_options co;
	struct ccc_error err;
	char name[64];
	int64_t t = bench_now();
	int r;

	memset(&co, 0, sizeof(co));
	co.server = o->server;
	co.ca = o->ca;
	co.cert = k->is_pub ? o->pub_cert : o->sub_cert;
	co.key = k->is_pub ? o->pub_key : o->sub_key;
	co.tls = k->is_pub ? b->pub_tls : b->sub_tls;
	co.timeout_ms = o->timeout_ms;
	co.client_name = "ccc-bench/" CCC_VERSION;
	if (ccc_connect(&co, &k->c, &err) < 0) {
		bench_error(b, "%s %u: %s", k->is_pub ? "publisher" :
		    "subscriber", k->idx, err.message);
		return;
	}
	if (!k->is_pub) {
		if (o->durable) {
			if (o->backlog != BENCH_BACKLOG_NONE)
				snprintf(name, sizeof(name), "bench-backlog-%u",
				    k->idx);
			else
				snprintf(name, sizeof(name), "bench-%08" PRIx32
				    "-%u", b->run_id, k->idx);
			r = ccc_subscribe_durable(k->c, name, b->patterns[k->group],
			    b->npatterns[k->group], &k->sub_id, NULL, &err);
		} else
			r = ccc_subscribe(k->c, b->patterns[k->group],
			    b->npatterns[k->group], &k->sub_id, &err);
		if (r < 0) {
			bench_error(b, "subscriber %u: subscribe %s: %s: %s",
			    k->idx, b->patterns[k->group][0],
			    ccc_error_name(err.code), err.message);
			ccc_close(k->c);
			k->c = NULL;
			return;
		}
	}
	k->setup_ns = bench_now() - t;
	k->resumed = ccc_resumed(k->c);
	k->alive = true;
}

/*
 * The TLS contexts of the two roles, each read from its files once: a load
 * generator that read them for every connection measured itself (OpenSSL's
 * PEM decoders cost more than a handshake). Returns 0, or -1 with a message.
 */
static int
bench_tls(struct bench *b)
{
	const struct bench_opts *o = b->o;
	struct ccc_options co;
	struct ccc_error err;

	memset(&co, 0, sizeof(co));
	co.ca = o->ca;
	if (o->subscribers > 0) {
		co.cert = o->sub_cert;
		co.key = o->sub_key;
		if (ccc_tls_new(&co, o->resume, &b->sub_tls, &err) < 0)
			goto fail;
	}
	if (o->publishers > 0) {
		co.cert = o->pub_cert;
		co.key = o->pub_key;
		if (ccc_tls_new(&co, o->resume, &b->pub_tls, &err) < 0)
			goto fail;
	}
	return 0;
fail:
	fprintf(stderr, "ccc: bench: %s\n", err.message);
	return -1;
}

static void *
bench_connector(void *arg)
{
	struct bench *b = arg;
	unsigned i;

	while (!bench_stop && bench_now() < b->deadline) {
		if ((i = atomic_fetch_add(&b->conn_next, 1)) >= b->conn_n)
			break;
		bench_connect_one(b, &b->conn_v[i]);
	}
	return NULL;
}

/* Connect conns v[0..n), conn_window at a time. Returns the phase's ns. */
static int64_t
bench_connect_all(struct bench *b, struct bench_conn *v, unsigned n)
{
	unsigned nthr = b->o->conn_window < n ? b->o->conn_window : n, made = 0;
	pthread_t *thr = xcalloc(nthr > 0 ? nthr : 1, sizeof(*thr));
	pthread_attr_t attr;
	int64_t t = bench_now();

	b->conn_v = v;
	b->conn_n = n;
	atomic_store(&b->conn_next, 0);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, BENCH_STACK);
	for (; made < nthr; made++)
		if (pthread_create(&thr[made], &attr, bench_connector, b) != 0)
			break;
	pthread_attr_destroy(&attr);
	if (made == 0)
		bench_connector(b);
	for (unsigned i = 0; i < made; i++)
		pthread_join(thr[i], NULL);
	free(thr);
	return bench_now() - t;
}

/* ---- publishing -------------------------------------------------------------- */

/* Send what publisher k may send now; updates *next_due in --rate mode. */
static void
bench_pub_pump(struct bench *b, struct bench_conn *k, int64_t *next_due)
{
	const struct bench_opts *o = b->o;
	struct ccc_error err;
	uint64_t kk;
	int64_t now, stamp, sched;
	size_t t;
	bool sent = false;

	while (k->alive && k->seq < k->quota && k->inflight < o->window) {
		kk = k->seq * o->publishers + k->idx;
		now = stamp = bench_now();
		if (o->rate > 0) {
			sched = b->t0 + (int64_t)((double)kk * 1e9 / o->rate);
			if (sched > now) {
				if (sched < *next_due)
					*next_due = sched;
				break;
			}
			if (now - sched > BENCH_LATE_NS)
				b->late++;
			stamp = sched;
		}
		t = bench_topic_of(b, k->idx, k->seq);
		b->alert.category = (Ccc__V1__Category)(t % BENCH_CATEGORIES + 1);
		b->alert.section = b->sections[t / BENCH_CATEGORIES];
		snprintf(b->remarks, sizeof(b->remarks), BENCH_MAGIC "%08" PRIx32
		    " %016" PRIx64 " %016" PRIx64, b->run_id, kk, (uint64_t)stamp);
		if (ccc_send_publish(k->c, &b->alert, NULL, &err) < 0) {
			bench_conn_lost(b, k, &err);
			return;
		}
		k->seq++;
		k->inflight++;
		b->sent++;
		sent = true;
	}
	if (sent && ccc_flush(k->c, &err) < 0)
		bench_conn_lost(b, k, &err);
}

/*
 * Take envelopes from k: the first ccc_receive() reads the socket (one TLS
 * record), the next ones only what that left buffered (ccc_pending()), at
 * most BENCH_BURST; a socket with more to read is reported again by ppoll.
 * So a drained session costs no extra read. Returns the envelopes handled,
 * or -1 when the session failed.
 */
static int
bench_take(struct bench *b, struct bench_conn *k,
    void (*handle)(struct bench *, struct bench_conn *, Ccc__V1__Envelope *))
{
	Ccc__V1__Envelope *env;
	struct ccc_error err;
	int i, r;

	for (i = 0; i < BENCH_BURST; i++) {
		if (i > 0 && !ccc_pending(k->c))
			break;
		if ((r = ccc_receive(k->c, 0, &env, &err)) < 0) {
			bench_conn_lost(b, k, &err);
			return -1;
		}
		if (r == 0)
			break;
		handle(b, k, env);
		ccc_envelope_free(env);
	}
	k->pending = i == BENCH_BURST && ccc_pending(k->c);
	return i;
}

/* A reply to publisher k: PublishOk and refusals settle a publish. */
static void
bench_pub_env(struct bench *b, struct bench_conn *k, Ccc__V1__Envelope *env)
{
	if (env->body_case == CCC__V1__ENVELOPE__BODY_PUBLISH_OK) {
		k->inflight--;
		b->acked++;
		b->recipients += env->publish_ok->recipients;
		b->t_last_ack = bench_now();
	} else if (env->body_case == CCC__V1__ENVELOPE__BODY_ERROR) {
		if (env->request_id != 0 && k->inflight > 0) {
			k->inflight--;
			b->refused++;
		}
		bench_error(b, "publisher %u: broker: %s: %s", k->idx,
		    ccc_error_name((int)env->error->code),
		    env->error->message != NULL ? env->error->message : "");
	}
}

/* Account one delivery to subscriber k, arrived at now. */
static void
bench_deliver(struct bench *b, struct bench_conn *k,
    const Ccc__V1__Deliver *d, int64_t now)
{
	const struct bench_opts *o = b->o;
	const char *r = d->alert != NULL ? d->alert->remarks : NULL;
	uint64_t run, kk, stamp;
	uint8_t bit;
	size_t t;

	if (o->backlog == BENCH_BACKLOG_DRAIN && !b->run_adopted && r != NULL &&
	    strlen(r) == BENCH_REMARKS_LEN &&
	    memcmp(r, BENCH_MAGIC, BENCH_MAGIC_LEN) == 0 &&
	    bench_hex(r + BENCH_MAGIC_LEN, 8, &run)) {
		b->run_id = (uint32_t)run;	/* the fill run's alerts */
		b->run_adopted = true;
	}
	if (r == NULL || strlen(r) != BENCH_REMARKS_LEN ||
	    memcmp(r, BENCH_MAGIC, BENCH_MAGIC_LEN) != 0 ||
	    !bench_hex(r + BENCH_MAGIC_LEN, 8, &run) || run != b->run_id ||
	    !bench_hex(r + BENCH_MAGIC_LEN + 9, 16, &kk) || kk >= o->count ||
	    !bench_hex(r + BENCH_MAGIC_LEN + 26, 16, &stamp)) {
		b->foreign++;	/* not an alert of this run */
		return;
	}
	t = bench_topic_of(b, kk % o->publishers, kk / o->publishers);
	if (!b->match[k->group * b->ntopics + t] || d->topic == NULL ||
	    strcmp(d->topic, b->topics[t]) != 0) {
		b->foreign++;	/* not for this subscriber, or the wrong topic */
		return;
	}
	bit = (uint8_t)(1u << (kk & 7));
	if (k->seen[kk >> 3] & bit) {
		b->dups++;
		return;
	}
	k->seen[kk >> 3] |= bit;
	b->delivered++;
	b->t_last_deliv = now;
	if (b->nlat < b->caplat)
		b->lat[b->nlat++] = now - (int64_t)stamp;
}

/* A push to subscriber k; a tagged delivery is queued for acknowledgement. */
static void
bench_sub_env(struct bench *b, struct bench_conn *k, Ccc__V1__Envelope *env)
{
	struct ccc_error err;

	if (env->body_case == CCC__V1__ENVELOPE__BODY_DELIVER) {
		if (b->o->count > 0)
			bench_deliver(b, k, env->deliver, bench_now());
		if (env->deliver->delivery_tag != 0) {
			if (b->ntags == BENCH_MAX_TAGS) {
				if (ccc_send_ack(k->c, b->tags, b->ntags, &err) < 0)
					bench_conn_lost(b, k, &err);
				b->acks += b->ntags;
				b->ntags = 0;
			}
			b->tags[b->ntags++] = env->deliver->delivery_tag;
		}
	} else if (env->body_case == CCC__V1__ENVELOPE__BODY_ERROR)
		bench_error(b, "subscriber %u: broker: %s: %s", k->idx,
		    ccc_error_name((int)env->error->code),
		    env->error->message != NULL ? env->error->message : "");
}

/* Read what subscriber k has; acknowledge the tagged deliveries. */
static void
bench_sub_read(struct bench *b, struct bench_conn *k)
{
	struct ccc_error err;

	b->ntags = 0;
	if (bench_take(b, k, bench_sub_env) < 0 || !k->alive || b->ntags == 0)
		return;
	if (ccc_send_ack(k->c, b->tags, b->ntags, &err) < 0 ||
	    ccc_flush(k->c, &err) < 0) {
		bench_conn_lost(b, k, &err);
		return;
	}
	b->acks += b->ntags;
}

static struct timespec
bench_ts(int64_t ns)
{
	struct timespec ts;

	if (ns < 0)
		ns = 0;
	ts.tv_sec = (time_t)(ns / NS);
	ts.tv_nsec = (long)(ns % NS);
	return ts;
}

/* True when the run is over: everything settled and delivered, or stuck. */
static bool
bench_run_over(struct bench *b, int64_t now)
{
	int64_t last;

	for (unsigned p = 0; p < b->o->publishers; p++) {
		const struct bench_conn *k = &b->pubs[p];

		if (k->alive && (k->seq < k->quota || k->inflight > 0))
			return false;
	}
	if (b->delivered >= b->expected)
		return true;
	if (b->pubs_settled_at == 0)
		b->pubs_settled_at = now;
	last = b->pubs_settled_at > b->t_last_deliv ? b->pubs_settled_at :
	    b->t_last_deliv;
	return now - last > BENCH_SETTLE_NS;
}

/*
 * The event loop over every live session, in one thread (on one core, a
 * second thread would only add scheduling delays to the latencies). With
 * run set: publish, read replies and deliveries, until bench_run_over();
 * otherwise just keep the sessions served (pings) until until.
 */
static void
bench_loop(struct bench *b, bool run, int64_t until)
{
	const struct bench_opts *o = b->o;
	unsigned nc = o->subscribers + o->publishers, n;
	struct pollfd *pfd = xcalloc(nc > 0 ? nc : 1, sizeof(*pfd));
	struct bench_conn **who = xcalloc(nc > 0 ? nc : 1, sizeof(*who));
	struct timespec ts;
	int64_t now, next_due, wake;
	bool busy;

	for (;;) {
		now = bench_now();
		if (bench_stop || now >= b->deadline || now >= until)
			break;
		next_due = INT64_MAX;
		if (run)
			for (unsigned p = 0; p < o->publishers; p++)
				bench_pub_pump(b, &b->pubs[p], &next_due);
		if (run && bench_run_over(b, now))
			break;
		busy = false;
		n = 0;
		for (unsigned i = 0; i < nc; i++) {
			struct bench_conn *k = i < o->publishers ? &b->pubs[i] :
			    &b->subs[i - o->publishers];

			if (!k->alive)
				continue;
			busy |= k->pending;
			pfd[n].fd = ccc_fd(k->c);
			pfd[n].events = POLLIN;
			pfd[n].revents = 0;
			who[n++] = k;
		}
		if (n == 0)
			break;
		wake = now + BENCH_POLL_NS;
		if (next_due < wake)
			wake = next_due;
		if (until < wake)
			wake = until;
		if (b->deadline < wake)
			wake = b->deadline;
		ts = bench_ts(busy ? 0 : wake - bench_now());
		if (ppoll(pfd, n, &ts, NULL) < 0 && errno != EINTR) {
			bench_error(b, "poll: %s", strerror(errno));
			break;
		}
		for (unsigned i = 0; i < n; i++) {
			struct bench_conn *k = who[i];

			if (pfd[i].revents == 0 && !k->pending)
				continue;
			if (k->is_pub) {
				bench_take(b, k, bench_pub_env);
				if (run)	/* refill the window at once */
					bench_pub_pump(b, k, &next_due);
			} else
				bench_sub_read(b, k);
		}
	}
	free(pfd);
	free(who);
}

/* ---- report ------------------------------------------------------------------- */

static int
bench_cmp(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, c = *(const int64_t *)y;

	return a < c ? -1 : a > c;
}

/* q-quantile of sorted v[0..n) (nearest rank); 0 when empty. */
static int64_t
bench_quantile(const int64_t *v, size_t n, double q)
{
	size_t r;

	if (n == 0)
		return 0;
	r = (size_t)ceil(q * (double)n);
	if (r < 1)
		r = 1;
	if (r > n)
		r = n;
	return v[r - 1];
}

/* A JSON number rounded to dec decimals; null when negative (unknown). */
static void
bench_jnum(json_t *obj, const char *key, double v, int dec)
{
	double scale = pow(10, dec);

	json_object_set_new(obj, key, v < 0 || !isfinite(v) ? json_null() :
	    json_real(round(v * scale) / scale));
}

static void
bench_jint(json_t *obj, const char *key, long long v)
{
	json_object_set_new(obj, key, v < 0 ? json_null() : json_integer(v));
}

/* "N" or "-" for an unknown figure, for the table. */
static const char *
bench_fmt(char *buf, size_t len, double v, int dec)
{
	if (v < 0 || !isfinite(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.*f", dec, v);
	return buf;
}

/* The figures of one run, for the table and the JSON. */
struct bench_result {
	unsigned	 subs_ok, subs_failed, pubs_ok, pubs_failed;
	unsigned	 subs_resumed;
	double		 conn_s, conn_rate, hs_p50_ms, hs_p99_ms, hs_max_ms;
	struct bench_use conn_use, run_use;
	double		 pub_s, pub_rate, deliv_s, deliv_rate;
	double		 l50, l90, l99, l999, lmax, lmean;	/* us */
	uint64_t	 lost;
	double		 broker_us_conn, bench_us_conn;
	double		 broker_us_deliv, bench_us_deliv;
	double		 broker_us_pub;
	long		 rss_start, rss_subs, rss_run0, rss_end, hwm;
	double		 per_conn_kib;
	long		 bench_maxrss;
	bool		 complete;
};

static void
bench_print_json(const struct bench *b, const struct bench_result *r)
{
	const struct bench_opts *o = b->o;
	json_t *j = json_object();
	char *s;

	json_object_set_new(j, "label", json_string(o->label != NULL ?
	    o->label : "custom"));
	json_object_set_new(j, "broker", json_string("ccc"));
	bench_jint(j, "P", o->publishers);
	bench_jint(j, "S", o->subscribers);
	bench_jint(j, "n", (long long)o->count);
	bench_jint(j, "bytes", (long long)o->bytes);
	bench_jint(j, "window", o->window);
	bench_jnum(j, "rate", o->rate, 3);
	bench_jint(j, "groups", b->ngroups);
	json_object_set_new(j, "durable", json_boolean(o->durable));
	json_object_set_new(j, "backlog", o->backlog == BENCH_BACKLOG_NONE ?
	    json_null() : json_string(o->backlog == BENCH_BACKLOG_FILL ?
	    "fill" : "drain"));
	bench_jint(j, "topics", (long long)b->ntopics);
	json_object_set_new(j, "pattern", json_string(b->pattern_desc));
	bench_jint(j, "subs_ok", r->subs_ok);
	json_object_set_new(j, "resume", json_boolean(o->resume));
	bench_jint(j, "subs_resumed", r->subs_resumed);
	bench_jint(j, "subs_failed", r->subs_failed);
	bench_jint(j, "pubs_ok", r->pubs_ok);
	bench_jint(j, "pubs_failed", r->pubs_failed);
	bench_jnum(j, "conn_s", r->conn_s, 6);
	bench_jnum(j, "conn_rate", r->conn_rate, 1);
	bench_jnum(j, "hs_p50_ms", r->hs_p50_ms, 3);
	bench_jnum(j, "hs_p99_ms", r->hs_p99_ms, 3);
	bench_jnum(j, "hs_max_ms", r->hs_max_ms, 3);
	bench_jnum(j, "conn_broker_cpu", r->conn_use.broker_pct, 1);
	bench_jnum(j, "conn_bench_cpu", r->conn_use.self_pct, 1);
	bench_jnum(j, "broker_us_per_conn", r->broker_us_conn, 1);
	bench_jnum(j, "bench_us_per_conn", r->bench_us_conn, 1);
	bench_jint(j, "expected", (long long)b->expected);
	bench_jint(j, "sent", (long long)b->sent);
	bench_jint(j, "acked", (long long)b->acked);
	bench_jint(j, "refused", (long long)b->refused);
	bench_jint(j, "recipients", (long long)b->recipients);
	bench_jint(j, "delivered", (long long)b->delivered);
	bench_jint(j, "dups", (long long)b->dups);
	bench_jint(j, "lost", (long long)r->lost);
	bench_jint(j, "foreign", (long long)b->foreign);
	bench_jint(j, "late", (long long)b->late);
	bench_jint(j, "acks", (long long)b->acks);
	bench_jint(j, "disconnects", (long long)(b->pub_lost + b->sub_lost));
	bench_jnum(j, "pub_s", r->pub_s, 6);
	bench_jnum(j, "pub_rate", r->pub_rate, 1);
	bench_jnum(j, "deliv_s", r->deliv_s, 6);
	bench_jnum(j, "deliv_rate", r->deliv_rate, 1);
	bench_jnum(j, "lat_p50_us", r->l50, 1);
	bench_jnum(j, "lat_p90_us", r->l90, 1);
	bench_jnum(j, "lat_p99_us", r->l99, 1);
	bench_jnum(j, "lat_p999_us", r->l999, 1);
	bench_jnum(j, "lat_max_us", r->lmax, 1);
	bench_jnum(j, "lat_mean_us", r->lmean, 1);
	bench_jnum(j, "run_wall_s", r->run_use.wall_s, 3);
	bench_jnum(j, "run_broker_cpu", r->run_use.broker_pct, 1);
	bench_jnum(j, "run_bench_cpu", r->run_use.self_pct, 1);
	bench_jnum(j, "broker_us_per_deliv", r->broker_us_deliv, 2);
	bench_jnum(j, "broker_us_per_pub", r->broker_us_pub, 2);
	bench_jnum(j, "bench_us_per_deliv", r->bench_us_deliv, 2);
	bench_jint(j, "broker_rss_start_kib", r->rss_start);
	bench_jint(j, "broker_rss_subs_kib", r->rss_subs);
	bench_jint(j, "broker_rss_run0_kib", r->rss_run0);
	bench_jint(j, "broker_rss_end_kib", r->rss_end);
	bench_jint(j, "broker_hwm_kib", r->hwm);
	bench_jnum(j, "per_conn_kib", r->per_conn_kib, 2);
	bench_jint(j, "bench_maxrss_kib", r->bench_maxrss);
	json_object_set_new(j, "complete", json_boolean(r->complete));
	if ((s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15))) != NULL)
		printf("%s\n", s);
	free(s);
	json_decref(j);
}

static void
bench_print_table(const struct bench *b, const struct bench_result *r,
    bool ran)
{
	const struct bench_opts *o = b->o;
	char f1[32], f2[32], f3[32], f4[32], f5[32];

	printf("ccc bench %s: %u publishers -> %u subscribers, %" PRIu64
	    " alerts of %zu bytes, window %u", o->label != NULL ? o->label :
	    "custom", o->publishers, o->subscribers, o->count, o->bytes,
	    o->window);
	if (o->rate > 0)
		printf(", %.0f alerts/s", o->rate);
	printf("\n  %-12s %s (%zu topics)%s\n", "patterns", b->pattern_desc,
	    b->ntopics, o->durable ? ", durable subscriptions" : "");
	if (o->subscribers > 0)
		printf("  %-12s %u ok, %u failed in %.3f s: %.0f handshakes/s "
		    "(TLS + hello + subscribe), p50 %.1f ms, p99 %.1f ms; "
		    "CPU broker %s%%, bench %.0f%%\n", "connect", r->subs_ok,
		    r->subs_failed, r->conn_s, r->conn_rate, r->hs_p50_ms,
		    r->hs_p99_ms, bench_fmt(f1, sizeof(f1),
		    r->conn_use.broker_pct, 0), r->conn_use.self_pct);
	if (o->subscribers > 0 && o->resume)
		printf("  %-12s %u of %u TLS sessions resumed\n", "resume",
		    r->subs_resumed, r->subs_ok);
	if (o->count > 0 && !ran)
		printf("  %-12s not run: %s\n", "publish", bench_stop ?
		    "interrupted" : "sessions failed to connect");
	if (o->count > 0 && ran) {
		printf("  %-12s %" PRIu64 "/%" PRIu64 " confirmed in %.3f s: "
		    "%.0f alerts/s; %" PRIu64 " refused%s\n", "publish",
		    b->acked, o->count, r->pub_s, r->pub_rate, b->refused,
		    o->rate > 0 ? " (fixed rate)" : "");
		printf("  %-12s %" PRIu64 "/%" PRIu64 " in %.3f s: %.0f "
		    "deliveries/s; lost %" PRIu64 ", dups %" PRIu64 ", foreign %"
		    PRIu64 ", acknowledged %" PRIu64 "\n", "deliver",
		    b->delivered, b->expected, r->deliv_s, r->deliv_rate, r->lost,
		    b->dups, b->foreign, b->acks);
		printf("  %-12s p50 %.0f  p90 %.0f  p99 %.0f  p99.9 %.0f  "
		    "max %.0f  mean %.0f  (from %s send time)\n", "latency us",
		    r->l50, r->l90, r->l99, r->l999, r->lmax, r->lmean,
		    o->rate > 0 ? "the scheduled" : "the");
		if (o->rate > 0)
			printf("  %-12s %" PRIu64 " sends more than 1 ms behind "
			    "schedule\n", "late", b->late);
		printf("  %-12s broker %s%% of a core, %s us/delivery, %s "
		    "us/publish; bench %.0f%%, %s us/delivery\n", "CPU",
		    bench_fmt(f1, sizeof(f1), r->run_use.broker_pct, 0),
		    bench_fmt(f2, sizeof(f2), r->broker_us_deliv, 2),
		    bench_fmt(f4, sizeof(f4), r->broker_us_pub, 2),
		    r->run_use.self_pct,
		    bench_fmt(f3, sizeof(f3), r->bench_us_deliv, 2));
	}
	printf("  %-12s start %s, after subscribers %s, end %s, peak %s",
	    "broker KiB", bench_fmt(f1, sizeof(f1), (double)r->rss_start, 0),
	    bench_fmt(f2, sizeof(f2), (double)r->rss_subs, 0),
	    bench_fmt(f3, sizeof(f3), (double)r->rss_end, 0),
	    bench_fmt(f4, sizeof(f4), (double)r->hwm, 0));
	if (r->per_conn_kib >= 0)
		printf("; %s KiB per subscriber connection",
		    bench_fmt(f5, sizeof(f5), r->per_conn_kib, 1));
	printf("\n  %-12s %s\n", "result", r->complete ? "complete" :
	    "INCOMPLETE");
}

/* Print the report; returns whether the run was complete. */
static bool
bench_report(struct bench *b, const struct bench_cpu *c0,
    const struct bench_cpu *c1, const struct bench_cpu *c2,
    const struct bench_cpu *c3, int64_t sub_ns, long rss[5], bool ran)
{
	const struct bench_opts *o = b->o;
	struct bench_result r;
	struct rusage ru;
	int64_t *hs = xcalloc(o->subscribers + 1, sizeof(*hs));
	size_t nhs = 0;
	double sum = 0;

	memset(&r, 0, sizeof(r));
	for (unsigned s = 0; s < o->subscribers; s++)
		if (b->subs[s].setup_ns > 0) {
			hs[nhs++] = b->subs[s].setup_ns;
			r.subs_ok++;
			r.subs_resumed += b->subs[s].resumed;
		}
	r.subs_failed = o->subscribers - r.subs_ok;
	for (unsigned p = 0; p < o->publishers; p++)
		r.pubs_ok += b->pubs[p].setup_ns > 0;
	r.pubs_failed = o->backlog == BENCH_BACKLOG_DRAIN ? 0 :
	    o->publishers - r.pubs_ok;
	qsort(hs, nhs, sizeof(*hs), bench_cmp);
	r.conn_s = (double)sub_ns / 1e9;
	r.conn_rate = sub_ns > 0 ? r.subs_ok / r.conn_s : 0;
	r.hs_p50_ms = (double)bench_quantile(hs, nhs, 0.50) / 1e6;
	r.hs_p99_ms = (double)bench_quantile(hs, nhs, 0.99) / 1e6;
	r.hs_max_ms = nhs > 0 ? (double)hs[nhs - 1] / 1e6 : 0;
	free(hs);
	r.conn_use = bench_cpu_diff(c0, c1);
	r.run_use = bench_cpu_diff(c2, c3);
	r.broker_us_conn = r.subs_ok > 0 && r.conn_use.broker_s >= 0 ?
	    r.conn_use.broker_s * 1e6 / r.subs_ok : -1;
	r.bench_us_conn = r.subs_ok > 0 ? r.conn_use.self_s * 1e6 / r.subs_ok :
	    -1;

	qsort(b->lat, b->nlat, sizeof(*b->lat), bench_cmp);
	for (size_t i = 0; i < b->nlat; i++)
		sum += (double)b->lat[i];
	r.l50 = (double)bench_quantile(b->lat, b->nlat, 0.50) / 1e3;
	r.l90 = (double)bench_quantile(b->lat, b->nlat, 0.90) / 1e3;
	r.l99 = (double)bench_quantile(b->lat, b->nlat, 0.99) / 1e3;
	r.l999 = (double)bench_quantile(b->lat, b->nlat, 0.999) / 1e3;
	r.lmax = b->nlat > 0 ? (double)b->lat[b->nlat - 1] / 1e3 : 0;
	r.lmean = b->nlat > 0 ? sum / (double)b->nlat / 1e3 : 0;
	r.pub_s = b->t_last_ack > b->t0 ? (double)(b->t_last_ack - b->t0) / 1e9 :
	    0;
	r.deliv_s = b->t_last_deliv > b->t0 ?
	    (double)(b->t_last_deliv - b->t0) / 1e9 : 0;
	r.pub_rate = r.pub_s > 0 ? (double)b->acked / r.pub_s : 0;
	r.deliv_rate = r.deliv_s > 0 ? (double)b->delivered / r.deliv_s : 0;
	r.lost = b->expected > b->delivered ? b->expected - b->delivered : 0;
	r.broker_us_deliv = b->delivered > 0 && r.run_use.broker_s >= 0 ?
	    r.run_use.broker_s * 1e6 / (double)b->delivered : -1;
	r.bench_us_deliv = b->delivered > 0 ?
	    r.run_use.self_s * 1e6 / (double)b->delivered : -1;
	r.rss_start = rss[0];
	r.rss_subs = rss[1];
	r.rss_run0 = rss[2];
	r.rss_end = rss[3];
	r.hwm = rss[4];
	/* meaningful for idle runs; after a run it holds queued data too */
	r.per_conn_kib = o->subscribers > 0 && r.subs_ok > 0 &&
	    r.rss_start >= 0 && r.rss_end >= 0 ?
	    (double)(r.rss_end - r.rss_start) / r.subs_ok : -1;
	getrusage(RUSAGE_SELF, &ru);
	r.bench_maxrss = ru.ru_maxrss;
	r.broker_us_pub = b->acked > 0 && r.run_use.broker_s >= 0 ?
	    r.run_use.broker_s * 1e6 / (double)b->acked : -1;
	r.complete = !bench_stop && r.subs_failed == 0 && r.pubs_failed == 0 &&
	    b->pub_lost + b->sub_lost == 0 && b->refused == 0 &&
	    (o->count == 0 || (ran && (b->acked == o->count ||
	    o->backlog == BENCH_BACKLOG_DRAIN) &&
	    b->delivered == b->expected));
	if (o->json)
		bench_print_json(b, &r);
	else
		bench_print_table(b, &r, ran);
	fflush(stdout);
	return r.complete;
}

/* ---- the run ------------------------------------------------------------------- */

/*
 * Backlog fill: close the subscribers (their durable subscriptions stay,
 * detached), so that everything published waits for them in the store;
 * nothing is expected to arrive in this run.
 */
static void
bench_offline(struct bench *b)
{
	for (unsigned s = 0; s < b->o->subscribers; s++) {
		struct bench_conn *k = &b->subs[s];

		if (!k->alive)
			continue;
		ccc_close(k->c);
		k->c = NULL;
		k->alive = false;
	}
	b->expected = 0;
}

void
bench_defaults(struct bench_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->publishers = 1;
	o->subscribers = 1;
	o->count = 10000;
	o->bytes = 512;
	o->window = 100;
	o->pattern = BENCH_TOPICS "#";
	o->groups = 1;
	o->sections = BENCH_DEFAULT_SECTIONS;
	o->conn_window = 32;
	o->deadline_s = 50;
}

bool
bench_scenario(char sc, struct bench_opts *p)
{
	static const struct {
		char		 sc;
		const char	*label;
		unsigned	 pubs, subs, groups;
		uint64_t	 count;
		double		 rate, hold;
		bool		 durable;
	} presets[] = {
		{ 'a', "a", 6, 1, 1, 100000, 0, 0, false },	/* fan-in */
		{ 'b', "b", 1, 50, 1, 20000, 0, 0, false },	/* fan-out */
		{ 'c', "c", 6, 60, 3, 60000, 0, 0, false },	/* mixed, 1/3 each */
		{ 'd', "d", 6, 10, 1, 50000, 5000, 0, false },	/* latency, 10 s */
		{ 'e', "e", 0, 5000, 3, 0, 0, 3, false },	/* idle connections */
		{ 'f', "f", 6, 1, 1, 1000000, 0, 0, true },	/* backlog */
	};

	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++) {
		if (presets[i].sc != sc)
			continue;
		p->label = presets[i].label;
		p->publishers = presets[i].pubs;
		p->subscribers = presets[i].subs;
		p->groups = presets[i].groups;
		p->pattern = BENCH_TOPICS "#";
		p->count = presets[i].count;
		p->rate = presets[i].rate;
		p->hold_s = presets[i].hold;
		p->durable = presets[i].durable;
		return true;
	}
	return false;
}

/* Enough descriptors for every session, or -1 with a message. */
static int
bench_nofile(unsigned conns)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)conns + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
		fprintf(stderr, "ccc: %u connections need %llu file descriptors; "
		    "the hard limit is %llu (raise it with ulimit -Hn)\n", conns,
		    (unsigned long long)want, (unsigned long long)rl.rlim_max);
		return -1;
	}
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		fprintf(stderr, "ccc: cannot raise the descriptor limit to %llu: "
		    "%s\n", (unsigned long long)want, strerror(errno));
		return -1;
	}
	return 0;
}

static void
bench_free(struct bench *b)
{
	struct ccc_error err;

	for (unsigned s = 0; s < b->o->subscribers; s++) {
		/* leave no durable subscription (and backlog) behind */
		if (b->o->durable && b->subs[s].alive &&
		    ccc_unsubscribe_forget(b->subs[s].c, b->subs[s].sub_id, true,
		    &err) < 0)
			fprintf(stderr, "ccc: bench: subscriber %u: cannot delete "
			    "its durable subscription: %s\n", s, err.message);
		ccc_close(b->subs[s].c);
		free(b->subs[s].seen);
	}
	for (unsigned p = 0; p < b->o->publishers; p++)
		ccc_close(b->pubs[p].c);
	free(b->subs);
	free(b->pubs);
	for (size_t i = 0; i < b->nsec; i++)
		free(b->sections[i]);
	free(b->sections);
	for (size_t t = 0; t < b->ntopics; t++)
		free(b->topics[t]);
	free(b->topics);
	for (unsigned g = 0; g < b->ngroups; g++) {
		for (size_t i = 0; i < b->npatterns[g]; i++)
			free((char *)(uintptr_t)b->patterns[g][i]);
		free(b->patterns[g]);
	}
	free(b->patterns);
	free(b->npatterns);
	free(b->match);
	free(b->details);
	free(b->lat);
	ccc_tls_free(b->sub_tls);
	ccc_tls_free(b->pub_tls);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

int
bench_run(const struct bench_opts *o)
{
	struct bench *b = xcalloc(1, sizeof(*b));
	struct bench_cpu c0, c1, c2, c3;
	struct sigaction sa, old_int, old_term;
	const char *longest = "";
	bool ran = false;
	int64_t sub_ns, start = bench_now();
	long rss[5];
	int status;

	b->o = o;
	pthread_mutex_init(&b->lock, NULL);
	b->deadline = start + (int64_t)(o->deadline_s * 1e9);
	b->run_id = (uint32_t)((uint64_t)start ^ ((uint64_t)getpid() << 16));
	if (bench_plan(b) < 0 ||
	    bench_nofile(o->publishers + o->subscribers) < 0) {
		bench_free(b);
		return 1;
	}
	for (size_t i = 0; i < b->nsec; i++)
		if (strlen(b->sections[i]) > strlen(longest))
			longest = b->sections[i];
	bench_alert_init(b, longest);
	b->caplat = b->expected < BENCH_MAX_LAT ? (size_t)b->expected :
	    BENCH_MAX_LAT;
	b->lat = xcalloc(b->caplat > 0 ? b->caplat : 1, sizeof(*b->lat));

	bench_stop = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bench_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);

	if (bench_tls(b) < 0) {
		bench_free(b);
		return 1;
	}

	/* 1. subscribers */
	rss[0] = bench_proc_kib(o->broker_pid, "VmRSS:");
	bench_cpu_snap(b, &c0);
	sub_ns = bench_connect_all(b, b->subs, o->subscribers);
	bench_cpu_snap(b, &c1);
	rss[1] = bench_proc_kib(o->broker_pid, "VmRSS:");

	/* a backlog: the subscriptions exist, their subscribers go away */
	if (o->backlog == BENCH_BACKLOG_FILL)
		bench_offline(b);

	/* 2. publishers (a drain reads what earlier ones published) */
	if (o->publishers > 0 && !bench_stop &&
	    o->backlog != BENCH_BACKLOG_DRAIN)
		bench_connect_all(b, b->pubs, o->publishers);

	/* 3. the run */
	rss[2] = bench_proc_kib(o->broker_pid, "VmRSS:");
	bench_cpu_snap(b, &c2);
	if (o->count > 0 && b->first_error[0] == '\0' && !bench_stop) {
		ran = true;
		b->t0 = bench_now();
		bench_loop(b, true, INT64_MAX);
	}
	bench_cpu_snap(b, &c3);

	/* 4. idle sessions */
	if (o->hold_s > 0 && !bench_stop)
		bench_loop(b, false, bench_now() + (int64_t)(o->hold_s * 1e9));
	rss[3] = bench_proc_kib(o->broker_pid, "VmRSS:");
	rss[4] = bench_proc_kib(o->broker_pid, "VmHWM:");

	if (b->first_error[0] != '\0')
		fprintf(stderr, "ccc: bench: %s\n", b->first_error);
	if (bench_stop)
		fprintf(stderr, "ccc: bench: interrupted\n");
	else if (bench_now() >= b->deadline)
		fprintf(stderr, "ccc: bench: the deadline of %g s passed\n",
		    o->deadline_s);
	status = bench_report(b, &c0, &c1, &c2, &c3, sub_ns, rss, ran) ? 0 : 1;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	bench_free(b);
	return status;
}
