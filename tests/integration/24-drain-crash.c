/*
 * 24-drain-crash.c — a durable backlog drained across crashes. A durable
 * subscription whose subscriber is away is filled with DRAIN_ALERTS
 * alerts (100,000 unless CCC_TEST_DRAIN_ALERTS says otherwise), each
 * publish confirmed; then a subscriber drains it, acknowledging each alert
 * once it has recorded it, while cccd is killed with SIGKILL twice (a
 * third and two thirds through) and restarted on the same store, and the
 * subscriber resumes until the backlog is empty.
 *
 * Only what the protocol promises is asserted (docs/protocol.md, durable
 * subscriptions), not how the store keeps a backlog: every confirmed alert
 * is delivered at least once; an alert delivered again carries
 * Deliver.redelivered >= 1; nothing but the confirmed alerts is delivered;
 * an acknowledged alert comes again only when a crash took its
 * acknowledgement with it, so with the kills far apart (each alert is
 * acknowledged within a burst of its delivery) none comes more than twice;
 * and after a clean restart nothing acknowledged comes back. Duplicates
 * are counted and reported.
 */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define DRAIN_DEFAULT		100000	/* alerts in the backlog */
#define DRAIN_WRAPPED		2000	/* the same when cccd runs under valgrind */
#define DRAIN_PUBLISHERS	4
#define DRAIN_PUB_WINDOW	64	/* unconfirmed publishes per publisher */
#define DRAIN_ACK_BATCH		128	/* tags per Ack, at most */
#define DRAIN_KILLS		2
#define DRAIN_TIMEOUT		300	/* seconds the whole test may take, unwrapped */
#define DRAIN_CONFIG		"durable:\n  window: 1000\n  ack_timeout: 3600\n" \
				"limits:\n  publish_rate: 0\n"

static const char *const drain_patterns[] = { "alerts/migrant_smuggling/#" };

/* What the subscriber saw of each confirmed alert (index: sorted ids). */
struct drain {
	char		(*ids)[CCC_ID_LEN];	/* confirmed ids, sorted */
	size_t		 n;
	uint8_t		*delivered;	/* deliveries received */
	uint8_t		*acked;		/* acknowledgements sent */
	size_t		 received;	/* deliveries in all */
	size_t		 unique;	/* alerts delivered at least once */
	size_t		 flagged;	/* deliveries with redelivered >= 1 */
	size_t		 unflagged_again; /* a second delivery without redelivered */
	size_t		 foreign;	/* deliveries of an alert never confirmed */
};

static size_t
drain_count(void)
{
	const char *v = getenv("CCC_TEST_DRAIN_ALERTS");
	long n;

	if (v != NULL && (n = strtol(v, NULL, 10)) > 0)
		return (size_t)n;
	return h_wrapped() ? DRAIN_WRAPPED : DRAIN_DEFAULT;
}

static int
drain_id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/*
 * Publish n alerts from DRAIN_PUBLISHERS sessions of tr-police, each with
 * at most DRAIN_PUB_WINDOW unconfirmed; the confirmed ids into d.
 */
static void
drain_fill(const struct h_broker *b, struct drain *d, size_t n)
{
	ccc_client *c[DRAIN_PUBLISHERS];
	size_t sent[DRAIN_PUBLISHERS] = { 0 }, inflight[DRAIN_PUBLISHERS] = { 0 };
	size_t share = (n + DRAIN_PUBLISHERS - 1) / DRAIN_PUBLISHERS;
	struct pollfd pfd[DRAIN_PUBLISHERS];
	struct ccc_error err;
	Ccc__V1__Envelope *env;
	char summary[64];
	int64_t deadline = h_mono_ms() + (int64_t)DRAIN_TIMEOUT * 1000 * h_slow();

	for (int i = 0; i < DRAIN_PUBLISHERS; i++)
		c[i] = h_connect(b, "tr-police");
	while (d->n < n) {
		ck_assert_msg(h_mono_ms() < deadline, "filling the backlog: %zu "
		    "of %zu confirmed in time", d->n, n);
		for (int i = 0; i < DRAIN_PUBLISHERS; i++) {
			while (inflight[i] < DRAIN_PUB_WINDOW && sent[i] < share &&
			    (size_t)i * share + sent[i] < n) {
				Ccc__V1__Alert *a;

				snprintf(summary, sizeof(summary), "backlog %zu",
				    (size_t)i * share + sent[i]);
				a = h_alert("migrant_smuggling", "tr-bg/kapikule",
				    "high", "h1", summary);
				ck_assert_int_eq(ccc_send_publish(c[i], a, NULL, &err),
				    0);
				h_alert_free(a);
				sent[i]++;
				inflight[i]++;
			}
			ck_assert_int_eq(ccc_flush(c[i], &err), 0);
			pfd[i].fd = ccc_fd(c[i]);
			pfd[i].events = POLLIN;
		}
		poll(pfd, DRAIN_PUBLISHERS, 1000);
		for (int i = 0; i < DRAIN_PUBLISHERS; i++) {
			int rc;

			while ((rc = ccc_receive(c[i], 0, &env, &err)) == 1) {
				ck_assert_msg(env->body_case ==
				    CCC__V1__ENVELOPE__BODY_PUBLISH_OK,
				    "publish refused: %s", env->body_case ==
				    CCC__V1__ENVELOPE__BODY_ERROR ?
				    env->error->message : "?");
				ck_assert_uint_lt(d->n, n);
				snprintf(d->ids[d->n++], CCC_ID_LEN, "%s",
				    env->publish_ok->id);
				inflight[i]--;
				ccc_envelope_free(env);
			}
			ck_assert_msg(rc == 0, "publisher %d: %s", i, err.message);
		}
	}
	for (int i = 0; i < DRAIN_PUBLISHERS; i++)
		ccc_close(c[i]);
	qsort(d->ids, d->n, CCC_ID_LEN, drain_id_cmp);
	for (size_t i = 1; i < d->n; i++)
		ck_assert_str_ne(d->ids[i], d->ids[i - 1]);
}

/* Attach the durable subscription as gr-police. */
static ccc_client *
drain_attach(const struct h_broker *b, bool *resumed)
{
	ccc_client *c = h_connect(b, "gr-police");
	struct ccc_error err;
	uint32_t id;

	ck_assert_msg(ccc_subscribe_durable(c, "drain", drain_patterns, 1, &id,
	    resumed, &err) == 0, "subscribe: %s", err.message);
	return c;
}

/* Record one delivery; its tag goes to tags[*ntags] for the next Ack. */
static void
drain_record(struct drain *d, const Ccc__V1__Deliver *dl, uint64_t *tags,
    size_t *ntags, size_t *idx)
{
	char (*hit)[CCC_ID_LEN];
	size_t i;

	d->received++;
	if (dl->redelivered > 0)
		d->flagged++;
	hit = bsearch(dl->alert->id, d->ids, d->n, CCC_ID_LEN, drain_id_cmp);
	if (hit == NULL) {
		d->foreign++;
		return;
	}
	i = (size_t)(hit - d->ids);
	if (d->delivered[i] > 0 && dl->redelivered == 0)
		d->unflagged_again++;
	if (d->delivered[i] == 0)
		d->unique++;
	if (d->delivered[i] < UINT8_MAX)
		d->delivered[i]++;
	ck_assert_uint_ne(dl->delivery_tag, 0);
	idx[*ntags] = i;
	tags[(*ntags)++] = dl->delivery_tag;
}

/* Acknowledge what was recorded since the last Ack. */
static void
drain_ack(struct drain *d, ccc_client *c, const uint64_t *tags,
    const size_t *idx, size_t *ntags)
{
	struct ccc_error err;

	if (*ntags == 0)
		return;
	ck_assert_int_eq(ccc_send_ack(c, tags, *ntags, &err), 0);
	ck_assert_int_eq(ccc_flush(c, &err), 0);
	for (size_t k = 0; k < *ntags; k++)
		d->acked[idx[k]] = 1;
	*ntags = 0;
}

/*
 * Read from c, recording and acknowledging each burst, until unique
 * reaches until (then return true with the broker still running) or
 * nothing arrives for quiet_ms (false).
 */
static bool
drain_read(struct drain *d, ccc_client *c, size_t until, int quiet_ms)
{
	uint64_t tags[DRAIN_ACK_BATCH];
	size_t idx[DRAIN_ACK_BATCH], ntags = 0;
	struct ccc_error err;
	Ccc__V1__Envelope *env;
	int rc;

	for (;;) {
		rc = ccc_receive(c, ntags > 0 ? 0 : quiet_ms, &env, &err);
		ck_assert_msg(rc >= 0, "subscriber: %s", err.message);
		if (rc == 0) {
			if (ntags == 0)
				return false;
			drain_ack(d, c, tags, idx, &ntags);
			continue;
		}
		ck_assert_msg(env->body_case == CCC__V1__ENVELOPE__BODY_DELIVER,
		    "subscriber got envelope %d", (int)env->body_case);
		drain_record(d, env->deliver, tags, &ntags, idx);
		ccc_envelope_free(env);
		if (ntags == DRAIN_ACK_BATCH || !ccc_pending(c))
			drain_ack(d, c, tags, idx, &ntags);
		if (d->unique >= until)
			return true;
	}
}

START_TEST(backlog_drained_across_sigkill)
{
	struct h_broker *b = h_broker_start(DRAIN_CONFIG);
	size_t n = drain_count(), twice = 0, more = 0, missing = 0, received;
	struct drain d = { calloc(n, CCC_ID_LEN), 0, calloc(n, 1), calloc(n, 1),
	    0, 0, 0, 0, 0 };
	int64_t t0 = h_mono_ms(), t_fill, t_drain;
	ccc_client *c;
	bool resumed;
	int kills = 0;

	ck_assert(d.ids != NULL && d.delivered != NULL && d.acked != NULL);
	/* the subscription exists; its subscriber goes away */
	c = drain_attach(b, &resumed);
	ck_assert(!resumed);
	ccc_close(c);
	drain_fill(b, &d, n);
	t_fill = h_mono_ms();

	/* drain; SIGKILL a third and two thirds through, resume each time */
	c = drain_attach(b, &resumed);
	ck_assert(resumed);
	for (;;) {
		size_t until = kills < DRAIN_KILLS ?
		    n * (size_t)(kills + 1) / (DRAIN_KILLS + 1) : n + 1;

		if (!drain_read(&d, c, until, 2000 * h_slow()))
			break;
		/* acknowledgements sent a moment ago may not be stored yet */
		h_broker_kill(b);
		kills++;
		fprintf(stderr, "drain crash: killed with %zu of %zu alerts "
		    "delivered\n", d.unique, n);
		ccc_close(c);
		h_broker_restart(b);
		c = drain_attach(b, &resumed);
		ck_assert(resumed);
	}
	ccc_close(c);
	t_drain = h_mono_ms();
	ck_assert_int_eq(kills, DRAIN_KILLS);

	/* a clean restart: nothing acknowledged comes back */
	h_broker_halt(b);
	h_broker_restart(b);
	c = drain_attach(b, &resumed);
	ck_assert(resumed);
	received = d.received;
	drain_read(&d, c, n + 1, H_QUIET_MS * 3);
	ck_assert_msg(d.received == received, "%zu acknowledged alerts "
	    "delivered again after a clean restart", d.received - received);
	ccc_close(c);

	for (size_t i = 0; i < n; i++) {
		missing += d.delivered[i] == 0;
		twice += d.delivered[i] == 2;
		more += d.delivered[i] > 2;
		ck_assert(d.delivered[i] == 0 || d.acked[i]);
	}
	fprintf(stderr, "drain crash: %zu alerts confirmed in %.1f s, drained "
	    "across %d kills in %.1f s: %zu deliveries, %zu alerts twice, %zu "
	    "more often, %zu marked redelivered, %zu lost\n", n,
	    (double)(t_fill - t0) / 1000, kills, (double)(t_drain - t_fill) / 1000,
	    d.received, twice, more, d.flagged, missing);
	ck_assert_msg(missing == 0, "%zu confirmed alerts never delivered",
	    missing);
	ck_assert_msg(d.foreign == 0, "%zu deliveries of alerts never published",
	    d.foreign);
	ck_assert_msg(d.unflagged_again == 0, "%zu deliveries of an alert "
	    "delivered before had redelivered 0", d.unflagged_again);
	ck_assert_msg(more == 0, "%zu acknowledged alerts delivered more than "
	    "twice", more);
	ck_assert_uint_eq(d.received, n + twice);
	free(d.ids);
	free(d.delivered);
	free(d.acked);
	h_broker_stop(b);
}
END_TEST

Suite *
drain_crash_suite(void)
{
	Suite *s = suite_create("24-drain-crash");
	TCase *tc = tcase_create("drain");

	tcase_set_timeout(tc, DRAIN_TIMEOUT);
	tcase_add_test(tc, backlog_drained_across_sigkill);
	suite_add_tcase(s, tc);
	return s;
}
