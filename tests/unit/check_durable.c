/*
 * check_durable.c — durable.c's state machine with the store, the sessions
 * and the server stubbed (durable_stubs.h): what it asks the store for and
 * what it sends as fetches, acknowledgements, detaches, resumes, failures,
 * timeouts and forgets come in any order. The topic tree, the access rules
 * and the demo registry are the real ones.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "demo.h"
#include "durable.h"
#include "durable_stubs.h"
#include "server.h"
#include "session.h"
#include "suites.h"
#include "xmalloc.h"

#define DSUB	7	/* the store's id of the subscription under test */

static size_t body_len = 1;	/* of each alert fetched() answers with */

static struct session *sess;

static void
setup(void)
{
	char err[256];

	demo_setup();
	stub_server_init(demo, 4, 1);
	ck_assert_int_eq(durable_init(stub_server(), NULL, err, sizeof(err)), 0);
	sess = stub_session("gr-police");
	body_len = 1;
}

static void
teardown(void)
{
	durable_shutdown();
	stub_session_free(sess);
	stub_server_free();
	demo_teardown();
}

/* Send a durable Subscribe for "watch" with one pattern, as s. */
static void
subscribe_as(struct session *s, uint64_t request_id, const char *pattern)
{
	char **patterns = xcalloc(1, sizeof(*patterns));

	patterns[0] = xstrdup(pattern);
	durable_subscribe(s, request_id, "watch", patterns, 1);
}

/* Subscribe "watch" to alerts/# and let the store create it as DSUB. */
static struct durable *
subscribe(void)
{
	struct store_result res = { .status = STORE_OK, .dsub_id = DSUB };

	subscribe_as(sess, 1, "alerts/#");
	ck_assert_int_eq(stub_find(STUB_SUBSCRIBE), 0);
	stub_complete(STUB_SUBSCRIBE, &res);
	ck_assert_uint_eq(sess->nsubs, 1);
	ck_assert_ptr_nonnull(sess->subs[0]->durable);
	return sess->subs[0]->durable;
}

/* Answer the oldest fetch with rows at positions tags[0..n). */
static void
fetched(const uint64_t *tags, size_t n, const uint32_t *attempts)
{
	struct store_row rows[16];
	struct store_result res = { .status = STORE_OK, .rows = rows,
	    .nrows = n };
	static const uint8_t body[64];

	ck_assert_uint_le(n, 16);
	memset(rows, 0, sizeof(rows));
	for (size_t i = 0; i < n; i++) {
		rows[i].tag = tags[i];
		rows[i].attempts = attempts != NULL ? attempts[i] : 0;
		rows[i].alert_id = "01890000-0000-7000-8000-000000000000";
		rows[i].origin = "tr-police";
		rows[i].topic = "alerts/drugs/police/tr-bg-kapikule";
		rows[i].body = body;
		rows[i].body_len = body_len;
		res.next[3] = tags[i];
	}
	stub_complete(STUB_FETCH, &res);
}

/*
 * The fetch queued now starts again from the floor with a whole window:
 * nothing in flight any more, no scan position kept.
 */
static void
assert_fetch_from_floor(void)
{
	int i = stub_find(STUB_FETCH);

	ck_assert_int_ge(i, 0);
	ck_assert_uint_eq(stub_ops[i].nexclude, 0);
	ck_assert_uint_eq(stub_ops[i].limit, 4);
	for (size_t k = 0; k < STORE_SEVERITIES; k++)
		ck_assert_uint_eq(stub_ops[i].start[k], 0);
}

/* Run the loop for ms milliseconds (the ack timeout, the retry timer). */
static void
run_for(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(server_base(stub_server()), &tv);
	event_base_dispatch(server_base(stub_server()));
}

START_TEST(attach_fetches_a_window)
{
	int i;

	subscribe();
	ck_assert_uint_eq(stub_replies, 1);	/* SubscribeOk */
	ck_assert_uint_eq(stub_holds, 0);
	i = stub_find(STUB_FETCH);
	ck_assert_int_ge(i, 0);
	ck_assert_uint_eq(stub_ops[i].dsub_id, DSUB);
	ck_assert_uint_eq(stub_ops[i].limit, 4);
	ck_assert_uint_eq(stub_ops[i].nexclude, 0);
	for (size_t k = 0; k < STORE_SEVERITIES; k++)
		ck_assert_uint_eq(stub_ops[i].start[k], 0);
	/* sent reserved 16 windows ahead (a window of 4) */
	ck_assert_uint_eq(stub_ops[i].reserve, 64);
}
END_TEST

START_TEST(sent_then_room_fetched_without_what_is_in_flight)
{
	static const uint64_t tags[] = { 11, 12, 13 };
	int i;

	subscribe();
	fetched(tags, 3, NULL);
	ck_assert_uint_eq(stub_nsent, 3);
	ck_assert_uint_eq(stub_sent_tags[0], 11);
	ck_assert_uint_eq(stub_sent_tags[2], 13);
	/* room for one more: fetched without the three, after them */
	i = stub_find(STUB_FETCH);
	ck_assert_int_ge(i, 0);
	ck_assert_uint_eq(stub_ops[i].limit, 1);
	ck_assert_uint_eq(stub_ops[i].nexclude, 3);
	ck_assert_uint_eq(stub_ops[i].start[3], 13);
}
END_TEST

START_TEST(full_window_waits_for_an_ack)
{
	static const uint64_t tags[] = { 11, 12, 13, 14 };
	uint64_t ack = 12;
	int i;

	subscribe();
	fetched(tags, 4, NULL);
	ck_assert_uint_eq(stub_nsent, 4);
	ck_assert_int_eq(stub_find(STUB_FETCH), -1);	/* no room */
	durable_ack(sess, &ack, 1);
	i = stub_find(STUB_ACK);
	ck_assert_int_ge(i, 0);
	ck_assert_uint_eq(stub_ops[i].dsub_id, DSUB);
	ck_assert_uint_eq(stub_ops[i].ntags, 1);
	ck_assert_uint_eq(stub_ops[i].tags[0], 12);
	i = stub_find(STUB_FETCH);
	ck_assert_int_ge(i, 0);
	ck_assert_uint_eq(stub_ops[i].limit, 1);
	ck_assert_uint_eq(stub_ops[i].nexclude, 3);
	for (size_t k = 0; k < stub_ops[i].nexclude; k++)
		ck_assert_uint_ne(stub_ops[i].exclude[k], 12);
}
END_TEST

START_TEST(bytes_in_flight_bound_the_window)
{
	static const uint64_t tags[] = { 11, 12 };
	uint64_t ack = 11;
	int i;

	stub_output_buffer(100);	/* bodies in flight: up to 50 bytes */
	body_len = 25;
	subscribe();
	i = stub_find(STUB_FETCH);
	ck_assert_int_ge(i, 0);
	ck_assert_uint_eq(stub_ops[i].max_bytes, 50);
	fetched(tags, 2, NULL);
	/* two alerts in flight, room for two more, but not for their bytes */
	ck_assert_int_eq(stub_find(STUB_FETCH), -1);
	durable_ack(sess, &ack, 1);
	i = stub_find(STUB_FETCH);
	ck_assert_int_ge(i, 0);
	ck_assert_uint_eq(stub_ops[i].max_bytes, 25);
}
END_TEST

START_TEST(unknown_tag_frees_nothing)
{
	static const uint64_t tags[] = { 11, 12, 13, 14 };
	uint64_t ack = 99;

	subscribe();
	fetched(tags, 4, NULL);
	durable_ack(sess, &ack, 1);
	/* still told to the store (a late ack counts there), no room made */
	ck_assert_int_ge(stub_find(STUB_ACK), 0);
	ck_assert_int_eq(stub_find(STUB_FETCH), -1);
}
END_TEST

START_TEST(detached_during_a_fetch_sends_nothing)
{
	static const uint64_t tags[] = { 11 };
	struct durable *d = subscribe();

	durable_detach(d);
	ck_assert_uint_eq(sess->nsubs, 0);
	fetched(tags, 1, NULL);
	ck_assert_uint_eq(stub_nsent, 0);
	ck_assert_int_eq(stub_find(STUB_FETCH), -1);
}
END_TEST

START_TEST(resumed_during_a_fetch_fetches_again_from_the_floor)
{
	static const uint64_t tags[] = { 11, 12, 13, 14 };
	static const uint64_t old[] = { 15 };
	struct durable *d = subscribe();

	fetched(tags, 4, NULL);		/* four in flight, window full */
	durable_detach(d);
	subscribe_as(sess, 2, "alerts/#");	/* resume */
	ck_assert_uint_eq(stub_replies, 2);
	/* nothing counts as in flight: everything unacknowledged again */
	assert_fetch_from_floor();
	/* a resume while that fetch runs: its rows are for the old session */
	durable_detach(d);
	subscribe_as(sess, 3, "alerts/#");
	fetched(old, 1, NULL);
	ck_assert_uint_eq(stub_nsent, 4);	/* only the first four */
	ck_assert_int_ge(stub_find(STUB_FETCH), 0);	/* asked afresh */
}
END_TEST

START_TEST(in_use_and_other_patterns_refused)
{
	struct session *other = stub_session("gr-police");

	subscribe();
	subscribe_as(other, 5, "alerts/#");
	ck_assert_int_eq(stub_last_error,
	    CCC__V1__ERROR_CODE__ERROR_CODE_SUBSCRIPTION_IN_USE);
	durable_detach(sess->subs[0]->durable);
	subscribe_as(other, 6, "alerts/drugs/#");
	ck_assert_int_eq(stub_last_error,
	    CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_REQUEST);
	stub_session_free(other);
}
END_TEST

START_TEST(failed_fetch_retried_after_a_second)
{
	struct store_result fail = { .status = STORE_FAILED,
	    .error = "disk I/O error" };

	subscribe();
	stub_complete(STUB_FETCH, &fail);
	ck_assert_int_eq(stub_find(STUB_FETCH), -1);
	run_for(1300);
	ck_assert_int_ge(stub_find(STUB_FETCH), 0);
}
END_TEST

START_TEST(ack_timeout_sends_everything_again)
{
	static const uint64_t tags[] = { 11, 12 };
	static const uint32_t again[] = { 1, 1 };
	int i;

	subscribe();
	fetched(tags, 2, NULL);
	i = stub_find(STUB_FETCH);	/* room for two more: none come */
	ck_assert_int_ge(i, 0);
	fetched(NULL, 0, NULL);
	ck_assert_int_eq(stub_find(STUB_FETCH), -1);
	run_for(1300);			/* durable.ack_timeout: 1 s */
	assert_fetch_from_floor();
	fetched(tags, 2, again);
	ck_assert_uint_eq(stub_nsent, 4);
	ck_assert_uint_eq(stub_sent_tags[2], 11);
	ck_assert_uint_eq(stub_sent_redelivered[2], 1);
}
END_TEST

START_TEST(forgotten_while_fetching_is_freed_after_the_fetch)
{
	static const uint64_t tags[] = { 11 };
	struct durable *d = subscribe();

	durable_unsubscribe(sess, d, 9, true);
	ck_assert_int_ge(stub_find(STUB_FORGET), 0);
	ck_assert_uint_eq(stub_holds, 1);
	stub_complete(STUB_FORGET, NULL);
	ck_assert_uint_eq(stub_replies, 2);	/* SubscribeOk, UnsubscribeOk */
	ck_assert_uint_eq(stub_holds, 0);
	/* the fetch calls back into the forgotten subscription: then freed */
	fetched(tags, 1, NULL);
	ck_assert_uint_eq(stub_nsent, 0);
	ck_assert_int_eq(stub_find(STUB_FETCH), -1);
	/* a new one of the same name is a new subscription */
	subscribe_as(sess, 10, "alerts/#");
	ck_assert_int_ge(stub_find(STUB_SUBSCRIBE), 0);
}
END_TEST

START_TEST(failed_forget_keeps_it)
{
	struct store_result fail = { .status = STORE_FAILED,
	    .error = "disk I/O error" };
	struct durable *d = subscribe();

	fetched(NULL, 0, NULL);
	durable_unsubscribe(sess, d, 9, true);
	stub_complete(STUB_FORGET, &fail);
	ck_assert_int_eq(stub_last_error,
	    CCC__V1__ERROR_CODE__ERROR_CODE_STORE_UNAVAILABLE);
	subscribe_as(sess, 11, "alerts/#");	/* resumes */
	ck_assert_int_eq(stub_find(STUB_SUBSCRIBE), -1);
	ck_assert_uint_eq(sess->nsubs, 1);
}
END_TEST

START_TEST(notify_by_id)
{
	uint64_t ids[] = { 999, DSUB };

	subscribe();
	fetched(NULL, 0, NULL);		/* idle: nothing to send */
	ck_assert_int_eq(stub_find(STUB_FETCH), -1);
	durable_notify(ids, 1);		/* not ours */
	ck_assert_int_eq(stub_find(STUB_FETCH), -1);
	durable_notify(ids, 2);
	ck_assert_int_ge(stub_find(STUB_FETCH), 0);
	/* new alerts during the fetch: fetched again after it */
	durable_notify(ids + 1, 1);
	fetched(NULL, 0, NULL);
	ck_assert_int_ge(stub_find(STUB_FETCH), 0);
}
END_TEST

Suite *
durable_suite(void)
{
	Suite *s = suite_create("durable");
	TCase *tc = tcase_create("states");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, attach_fetches_a_window);
	tcase_add_test(tc, sent_then_room_fetched_without_what_is_in_flight);
	tcase_add_test(tc, full_window_waits_for_an_ack);
	tcase_add_test(tc, bytes_in_flight_bound_the_window);
	tcase_add_test(tc, unknown_tag_frees_nothing);
	tcase_add_test(tc, detached_during_a_fetch_sends_nothing);
	tcase_add_test(tc, resumed_during_a_fetch_fetches_again_from_the_floor);
	tcase_add_test(tc, in_use_and_other_patterns_refused);
	tcase_add_test(tc, failed_fetch_retried_after_a_second);
	tcase_add_test(tc, ack_timeout_sends_everything_again);
	tcase_add_test(tc, forgotten_while_fetching_is_freed_after_the_fetch);
	tcase_add_test(tc, failed_forget_keeps_it);
	tcase_add_test(tc, notify_by_id);
	suite_add_tcase(s, tc);
	return s;
}
