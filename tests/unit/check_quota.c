/*
 * check_quota.c — unit tests for the per-endpoint limits (quota.c): the
 * token bucket's arithmetic (full at first use, refill by elapsed time,
 * capped at the burst, the wait it reports, no overflow over long idle
 * times or at the largest settings) and the session count and refusal runs
 * kept per endpoint.
 */
#include <stdint.h>

#include "quota.h"
#include "suites.h"

#define SEC	INT64_C(1000000)
#define T0	(INT64_C(5000) * SEC)	/* an arbitrary monotonic start */

START_TEST(bucket_full_at_first_use)
{
	struct quota_bucket b = { 0 };

	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(quota_bucket_take(&b, 5, 10, T0), 0);
	/* empty: one token every 200 ms */
	ck_assert_int_eq(quota_bucket_take(&b, 5, 10, T0), 200000);
	ck_assert_int_eq(quota_bucket_take(&b, 5, 10, T0 + 150000), 50000);
	ck_assert_int_eq(quota_bucket_take(&b, 5, 10, T0 + 200000), 0);
	ck_assert_int_eq(quota_bucket_take(&b, 5, 10, T0 + 200000), 200000);
}
END_TEST

START_TEST(bucket_refill_capped_at_burst)
{
	struct quota_bucket b = { 0 };
	int taken = 0;

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(quota_bucket_take(&b, 2, 3, T0), 0);
	ck_assert_int_gt(quota_bucket_take(&b, 2, 3, T0), 0);
	/* an hour idle refills to the burst, not to 7,200 */
	while (quota_bucket_take(&b, 2, 3, T0 + 3600 * SEC) == 0 && taken < 100)
		taken++;
	ck_assert_int_eq(taken, 3);
}
END_TEST

START_TEST(bucket_partial_tokens_accumulate)
{
	struct quota_bucket b = { 0 };
	int64_t t = T0;
	int taken = 0;

	ck_assert_int_eq(quota_bucket_take(&b, 3, 2, t), 0);
	ck_assert_int_eq(quota_bucket_take(&b, 3, 2, t), 0);
	/* 3 a second in steps of 1 ms: 30 tokens in 10 s, fractions kept */
	for (int i = 1; i <= 10000; i++)
		if (quota_bucket_take(&b, 3, 2, t + i * 1000) == 0)
			taken++;
	ck_assert_int_eq(taken, 30);
}
END_TEST

START_TEST(bucket_no_overflow)
{
	struct quota_bucket b = { 0 };

	/* the largest settings, and a clock a century on */
	ck_assert_int_eq(quota_bucket_take(&b, 1000000, 10000000, T0), 0);
	ck_assert_int_eq(quota_bucket_take(&b, 1000000, 10000000,
	    T0 + 3153600000LL * SEC), 0);
	ck_assert_int_le(b.level, INT64_C(10000000) * SEC);
	/* a clock that goes backwards takes nothing away */
	ck_assert_int_eq(quota_bucket_take(&b, 1, 1, T0), 0);
	ck_assert_int_eq(quota_bucket_take(&b, 1, 1, T0 - SEC), 0);
	/* rate 0: no limit */
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(quota_bucket_take(&b, 0, 1, T0), 0);
}
END_TEST

START_TEST(sessions_per_endpoint)
{
	struct quota *a1, *a2, *b1;

	a1 = quota_session_begin("tr-police", 2);
	a2 = quota_session_begin("tr-police", 2);
	ck_assert_ptr_nonnull(a1);
	ck_assert_ptr_eq(a1, a2);
	ck_assert_ptr_null(quota_session_begin("tr-police", 2));
	ck_assert_uint_eq(quota_sessions(a1), 2);
	b1 = quota_session_begin("gr-police", 2);
	ck_assert_ptr_nonnull(b1);
	ck_assert_ptr_ne(a1, b1);
	quota_session_end(a2);
	ck_assert_ptr_eq(quota_session_begin("tr-police", 2), a1);
	quota_session_end(a1);
	quota_session_end(a1);
	quota_session_end(b1);
	quota_session_end(NULL);
	ck_assert_uint_eq(quota_sessions(a1), 0);
	quota_shutdown();
}
END_TEST

START_TEST(publish_refusal_runs)
{
	struct quota *q = quota_session_begin("bg-customs", 1), *again;
	uint64_t streak = 99;

	ck_assert_int_eq(quota_publish(q, 1, 2, T0, &streak), 0);
	ck_assert_uint_eq(streak, 0);
	ck_assert_int_eq(quota_publish(q, 1, 2, T0, &streak), 0);
	ck_assert_int_eq(quota_publish(q, 1, 2, T0, &streak), SEC);
	ck_assert_uint_eq(streak, 1);
	ck_assert_int_gt(quota_publish(q, 1, 2, T0 + 1, &streak), 0);
	ck_assert_uint_eq(streak, 2);
	ck_assert_int_eq(quota_publish(q, 1, 2, T0 + SEC, &streak), 0);
	ck_assert_uint_eq(streak, 2);	/* the run it ends */
	ck_assert_int_gt(quota_publish(q, 1, 2, T0 + SEC, &streak), 0);
	ck_assert_uint_eq(streak, 1);
	/* the bucket outlives the session: a reconnect does not refill it */
	quota_session_end(q);
	again = quota_session_begin("bg-customs", 1);
	ck_assert_ptr_eq(again, q);
	ck_assert_int_gt(quota_publish(again, 1, 2, T0 + SEC, &streak), 0);
	quota_session_end(again);
	quota_shutdown();
}
END_TEST

Suite *
quota_suite(void)
{
	Suite *s = suite_create("quota");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, bucket_full_at_first_use);
	tcase_add_test(tc, bucket_refill_capped_at_burst);
	tcase_add_test(tc, bucket_partial_tokens_accumulate);
	tcase_add_test(tc, bucket_no_overflow);
	tcase_add_test(tc, sessions_per_endpoint);
	tcase_add_test(tc, publish_refusal_runs);
	suite_add_tcase(s, tc);
	return s;
}
