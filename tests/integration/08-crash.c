/*
 * 08-crash.c — the durability promise under crashes: several publishers
 * pipeline alerts while cccd is killed with SIGKILL at a random moment,
 * round after round; after each restart every alert whose publish was
 * confirmed must reach the durable subscriber at least once. Duplicates are
 * counted and reported, not hidden.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define CRASH_ROUNDS		4
#define CRASH_PUBLISHERS	3
#define CRASH_PER_PUBLISHER	1500	/* most a publisher sends in one round */
#define CRASH_WINDOW		32	/* unconfirmed publishes per publisher */
#define CRASH_MAX		(CRASH_ROUNDS * CRASH_PUBLISHERS * CRASH_PER_PUBLISHER)

struct killer {
	pid_t	pid;
	int	delay_ms;
};

static void *
killer_main(void *arg)
{
	struct killer *k = arg;

	usleep((useconds_t)k->delay_ms * 1000);
	kill(k->pid, SIGKILL);
	return NULL;
}

struct ids {
	char	(*v)[CCC_ID_LEN];
	size_t	 n;
};

static void
ids_add(struct ids *s, const char *id)
{
	snprintf(s->v[s->n++], CCC_ID_LEN, "%s", id);
}

static int
ids_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Publish from several clients until each sent its share or lost the broker. */
static void
crash_round(struct h_broker *b, struct ids *confirmed, int round)
{
	ccc_client *c[CRASH_PUBLISHERS];
	int sent[CRASH_PUBLISHERS] = { 0 }, inflight[CRASH_PUBLISHERS] = { 0 };
	bool alive[CRASH_PUBLISHERS];
	struct killer k = { b->pid, 100 + rand() % 700 };
	pthread_t kt;
	int nalive = CRASH_PUBLISHERS;
	char summary[64];

	for (int i = 0; i < CRASH_PUBLISHERS; i++) {
		c[i] = h_connect(b, "tr-police");
		alive[i] = true;
	}
	ck_assert_int_eq(pthread_create(&kt, NULL, killer_main, &k), 0);
	while (nalive > 0) {
		for (int i = 0; i < CRASH_PUBLISHERS; i++) {
			struct ccc_error err;
			Ccc__V1__Envelope *env;
			int rc;

			if (!alive[i])
				continue;
			while (inflight[i] < CRASH_WINDOW &&
			    sent[i] < CRASH_PER_PUBLISHER) {
				Ccc__V1__Alert *a;

				snprintf(summary, sizeof(summary), "round %d publisher "
				    "%d alert %d", round, i, sent[i]);
				a = h_alert("migrant_smuggling", "tr-bg/kapikule",
				    "high", "h1", summary);
				rc = ccc_send_publish(c[i], a, NULL, &err);
				h_alert_free(a);
				if (rc < 0)
					break;
				sent[i]++;
				inflight[i]++;
			}
			while ((rc = ccc_receive(c[i], inflight[i] > 0 ? 5 : 0,
			    &env, &err)) == 1) {
				if (env->body_case == CCC__V1__ENVELOPE__BODY_PUBLISH_OK) {
					ids_add(confirmed, env->publish_ok->id);
					inflight[i]--;
				} else
					ck_abort_msg("publish refused: %s",
					    env->body_case == CCC__V1__ENVELOPE__BODY_ERROR ?
					    env->error->message : "?");
				ccc_envelope_free(env);
			}
			if (rc < 0 || (sent[i] == CRASH_PER_PUBLISHER &&
			    inflight[i] == 0)) {
				alive[i] = false;
				nalive--;
			}
		}
	}
	pthread_join(kt, NULL);	/* the broker is dead now, if not before */
	for (int i = 0; i < CRASH_PUBLISHERS; i++)
		ccc_close(c[i]);
	ck_assert(h_broker_wait_exit(b, H_WAIT_MS));
	fprintf(stderr, "crash round %d: killed after %d ms; %zu confirmed so far\n",
	    round, k.delay_ms, confirmed->n);
	h_broker_restart(b);
}

static void
crash_ack(struct h_raw *r, const uint64_t *tags, size_t n)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Ack a = CCC__V1__ACK__INIT;

	a.delivery_tags = (uint64_t *)(uintptr_t)tags;
	a.n_delivery_tags = n;
	env.body_case = CCC__V1__ENVELOPE__BODY_ACK;
	env.ack = &a;
	h_raw_send_env(r, &env);
}

START_TEST(confirmed_alerts_survive_sigkill)
{
	/* one endpoint publishes as fast as it is confirmed: no rate limit */
	struct h_broker *b = h_broker_start("durable:\n  window: 1000\n"
	    "limits:\n  publish_rate: 0\n");
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT, *e;
	Ccc__V1__Subscribe sub = CCC__V1__SUBSCRIBE__INIT;
	char pat[] = "alerts/migrant_smuggling/#", name[] = "crash", *pats[] = { pat };
	struct ids confirmed = { calloc(CRASH_MAX, CCC_ID_LEN), 0 };
	struct ids received = { calloc(CRASH_MAX * 2, CCC_ID_LEN), 0 };
	uint64_t tags[256];
	size_t ntags = 0, dups = 0, missing = 0;
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	struct h_raw *r;
	int64_t deadline;

	fprintf(stderr, "crash test seed %u\n", seed);
	srand(seed);
	sub.patterns = pats;
	sub.n_patterns = 1;
	sub.durable_name = name;
	env.request_id = 1;
	env.body_case = CCC__V1__ENVELOPE__BODY_SUBSCRIBE;
	env.subscribe = &sub;
	r = h_raw_session(b, "gr-police");
	h_raw_send_env(r, &env);
	frame_free(h_raw_expect(r, CCC__V1__ENVELOPE__BODY_SUBSCRIBE_OK));
	h_raw_close(r);

	for (int round = 0; round < CRASH_ROUNDS; round++)
		crash_round(b, &confirmed, round);
	ck_assert_uint_gt(confirmed.n, 0);

	/* drain the durable subscription; stop after 2 s of silence */
	r = h_raw_session(b, "gr-police");
	h_raw_send_env(r, &env);
	frame_free(h_raw_expect(r, CCC__V1__ENVELOPE__BODY_SUBSCRIBE_OK));
	deadline = h_now_us() + 60LL * 1000000;
	while (h_now_us() < deadline &&
	    (e = h_raw_recv_skip_ping(r, 2000)) != NULL) {
		ck_assert_int_eq(e->body_case, CCC__V1__ENVELOPE__BODY_DELIVER);
		ck_assert_uint_lt(received.n, CRASH_MAX * 2);
		ids_add(&received, e->deliver->alert->id);
		tags[ntags++] = e->deliver->delivery_tag;
		if (ntags == sizeof(tags) / sizeof(tags[0])) {
			crash_ack(r, tags, ntags);
			ntags = 0;
		}
		frame_free(e);
	}
	if (ntags > 0)
		crash_ack(r, tags, ntags);
	h_raw_close(r);

	qsort(received.v, received.n, CCC_ID_LEN, ids_cmp);
	for (size_t i = 1; i < received.n; i++)
		if (strcmp(received.v[i], received.v[i - 1]) == 0)
			dups++;
	for (size_t i = 0; i < confirmed.n; i++)
		if (bsearch(confirmed.v[i], received.v, received.n, CCC_ID_LEN,
		    ids_cmp) == NULL)
			missing++;
	fprintf(stderr, "crash test: %d rounds, %zu publishes confirmed, %zu "
	    "deliveries received, %zu duplicates, %zu confirmed alerts lost\n",
	    CRASH_ROUNDS, confirmed.n, received.n, dups, missing);
	ck_assert_msg(missing == 0, "%zu confirmed alerts were lost", missing);
	free(confirmed.v);
	free(received.v);
	h_broker_stop(b);
}
END_TEST

Suite *
crash_suite(void)
{
	Suite *s = suite_create("08-crash");
	TCase *tc = tcase_create("crash");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, confirmed_alerts_survive_sigkill);
	suite_add_tcase(s, tc);
	return s;
}
