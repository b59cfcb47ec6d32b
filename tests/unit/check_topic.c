/*
 * check_topic.c — pattern syntax, matching, coverage and the subscription
 * tree (including that matching visits only what can match).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "suites.h"
#include "topic.h"

START_TEST(pattern_syntax)
{
	char why[128];

	ck_assert(topic_pattern_check("alerts/#", why, sizeof(why)));
	ck_assert(topic_pattern_check("alerts/+/tr-bg/#", why, sizeof(why)));
	ck_assert(topic_pattern_check("alerts/drugs/tr-bg/kapikule", why, sizeof(why)));
	ck_assert(topic_pattern_check("#", why, sizeof(why)));
	ck_assert(!topic_pattern_check("", why, sizeof(why)));
	ck_assert_str_eq(why, "empty topic pattern");
	ck_assert(!topic_pattern_check("alerts//x", why, sizeof(why)));
	ck_assert_str_eq(why, "topic pattern has an empty level");
	ck_assert(!topic_pattern_check("alerts/#/x", why, sizeof(why)));
	ck_assert(strstr(why, "last level") != NULL);
	ck_assert(!topic_pattern_check("alerts/dr+gs", why, sizeof(why)));
	ck_assert(strstr(why, "must stand alone") != NULL);
	ck_assert(!topic_pattern_check("alerts/a#", why, sizeof(why)));
	ck_assert(!topic_pattern_check("alerts/Drugs", why, sizeof(why)));
	ck_assert(!topic_pattern_check("alerts/x y", why, sizeof(why)));
	ck_assert(!topic_pattern_check("alerts/\x01", why, sizeof(why)));
	ck_assert(!topic_pattern_check("/alerts", why, sizeof(why)));
	ck_assert(!topic_pattern_check("alerts/", why, sizeof(why)));
	ck_assert(!topic_pattern_check("a/b/c/d/e/f/g/h/i", why, sizeof(why)));
	ck_assert(topic_pattern_check("a/b/c/d/e/f/g/h", why, sizeof(why)));
}
END_TEST

START_TEST(pattern_too_long)
{
	char p[TOPIC_MAX_LEN + 8], why[128];

	memset(p, 'a', sizeof(p) - 1);
	p[sizeof(p) - 1] = '\0';
	ck_assert(!topic_pattern_check(p, why, sizeof(why)));
	/* one level over 64 characters */
	memset(p, 'a', 70);
	p[70] = '\0';
	ck_assert(!topic_pattern_check(p, why, sizeof(why)));
	ck_assert(strstr(why, "64") != NULL);
}
END_TEST

START_TEST(matching)
{
	const char *t = "alerts/migrant_smuggling/tr-bg/kapikule";

	ck_assert(topic_match("alerts/#", t));
	ck_assert(topic_match("#", t));
	ck_assert(topic_match("alerts/+/tr-bg/#", t));
	ck_assert(topic_match("alerts/+/+/+", t));
	ck_assert(topic_match(t, t));
	ck_assert(topic_match("alerts/migrant_smuggling/tr-bg/kapikule/#", t));
	ck_assert(!topic_match("alerts/+/+", t));
	ck_assert(!topic_match("alerts/+/+/+/+", t));
	ck_assert(!topic_match("alerts/drugs/#", t));
	ck_assert(!topic_match("alerts/+/tr-gr/#", t));
	ck_assert(!topic_match("alerts/migrant_smuggling/tr-bg/kapikul", t));
	ck_assert(!topic_match("alerts/migrant_smuggling/tr-bg/kapikulee", t));
}
END_TEST

START_TEST(coverage)
{
	ck_assert(topic_pattern_covers("alerts/#", "alerts/#"));
	ck_assert(topic_pattern_covers("alerts/#", "alerts/+/tr-bg/#"));
	ck_assert(topic_pattern_covers("alerts/drugs/#", "alerts/drugs/tr-bg/+"));
	ck_assert(topic_pattern_covers("alerts/drugs/#", "alerts/drugs"));
	ck_assert(topic_pattern_covers("alerts/+/tr-bg/#", "alerts/drugs/tr-bg/kapikule"));
	ck_assert(topic_pattern_covers("alerts/+/+/+", "alerts/drugs/+/kapikule"));
	ck_assert(topic_pattern_covers("#", "alerts/#"));
	/* reaching beyond */
	ck_assert(!topic_pattern_covers("alerts/drugs/#", "alerts/#"));
	ck_assert(!topic_pattern_covers("alerts/drugs/#", "alerts/+/tr-bg/kapikule"));
	ck_assert(!topic_pattern_covers("alerts/+/+/+", "alerts/#"));
	ck_assert(!topic_pattern_covers("alerts/+/+/+", "alerts/+/+/+/+"));
	ck_assert(!topic_pattern_covers("alerts/+/tr-bg/#", "alerts/+/+/kapikule"));
	ck_assert(!topic_pattern_covers("alerts/drugs/tr-bg/kapikule", "alerts/drugs/tr-bg/+"));
	ck_assert(!topic_pattern_covers("alerts/+/#", "alerts/#"));	/* "alerts" itself */
}
END_TEST

static void
count_cb(void *value, void *arg)
{
	int *counts = arg;

	counts[(intptr_t)value]++;
}

START_TEST(tree_match_and_remove)
{
	struct topic_tree *t = topic_tree_new();
	int counts[8];

	topic_tree_add(t, "alerts/#", (void *)1);
	topic_tree_add(t, "alerts/+/tr-bg/#", (void *)2);
	topic_tree_add(t, "alerts/drugs/#", (void *)3);
	topic_tree_add(t, "alerts/migrant_smuggling/tr-bg/kapikule", (void *)4);
	topic_tree_add(t, "alerts/+/+/+", (void *)5);
	topic_tree_add(t, "alerts/#", (void *)6);
	topic_tree_add(t, "alerts/+/tr-gr/#", (void *)7);
	ck_assert_uint_eq(topic_tree_count(t), 7);

	memset(counts, 0, sizeof(counts));
	topic_tree_match(t, "alerts/migrant_smuggling/tr-bg/kapikule", count_cb, counts);
	ck_assert_int_eq(counts[1], 1);
	ck_assert_int_eq(counts[2], 1);
	ck_assert_int_eq(counts[3], 0);
	ck_assert_int_eq(counts[4], 1);
	ck_assert_int_eq(counts[5], 1);
	ck_assert_int_eq(counts[6], 1);
	ck_assert_int_eq(counts[7], 0);

	ck_assert(topic_tree_remove(t, "alerts/#", (void *)1));
	ck_assert(!topic_tree_remove(t, "alerts/#", (void *)1));
	ck_assert(!topic_tree_remove(t, "alerts/nothing/#", (void *)1));
	ck_assert(topic_tree_remove(t, "alerts/migrant_smuggling/tr-bg/kapikule", (void *)4));
	memset(counts, 0, sizeof(counts));
	topic_tree_match(t, "alerts/migrant_smuggling/tr-bg/kapikule", count_cb, counts);
	ck_assert_int_eq(counts[1], 0);
	ck_assert_int_eq(counts[4], 0);
	ck_assert_int_eq(counts[6], 1);
	ck_assert_uint_eq(topic_tree_count(t), 5);
	topic_tree_free(t);
}
END_TEST

START_TEST(tree_same_pattern_twice)
{
	struct topic_tree *t = topic_tree_new();
	int counts[2] = { 0, 0 };

	topic_tree_add(t, "alerts/drugs/#", (void *)1);
	topic_tree_add(t, "alerts/drugs/#", (void *)1);
	topic_tree_match(t, "alerts/drugs/bg-gr/kulata", count_cb, counts);
	ck_assert_int_eq(counts[1], 2);
	ck_assert(topic_tree_remove(t, "alerts/drugs/#", (void *)1));
	counts[1] = 0;
	topic_tree_match(t, "alerts/drugs/bg-gr/kulata", count_cb, counts);
	ck_assert_int_eq(counts[1], 1);
	topic_tree_free(t);
}
END_TEST

static int visits;

static void
visit_cb(void *value, void *arg)
{
	(void)value;
	(void)arg;
	visits++;
}

/*
 * 20,000 subscriptions that cannot match a topic add no matches; the one
 * that can is still found. (Cost is measured by the benchmark, not here.)
 */
START_TEST(tree_nonmatching_bulk)
{
	struct topic_tree *t = topic_tree_new();
	char p[64];

	for (int i = 0; i < 20000; i++) {
		snprintf(p, sizeof(p), "alerts/drugs/bg-gr/post%d", i);
		topic_tree_add(t, p, (void *)(intptr_t)i);
	}
	topic_tree_add(t, "alerts/drugs/tr-bg/+", (void *)1);
	visits = 0;
	topic_tree_match(t, "alerts/drugs/tr-bg/kapikule", visit_cb, NULL);
	ck_assert_int_eq(visits, 1);
	visits = 0;
	topic_tree_match(t, "alerts/drugs/bg-gr/post19999", visit_cb, NULL);
	ck_assert_int_eq(visits, 1);
	for (int i = 0; i < 20000; i++) {
		snprintf(p, sizeof(p), "alerts/drugs/bg-gr/post%d", i);
		ck_assert(topic_tree_remove(t, p, (void *)(intptr_t)i));
	}
	ck_assert_uint_eq(topic_tree_count(t), 1);
	topic_tree_free(t);
}
END_TEST

Suite *
topic_suite(void)
{
	Suite *s = suite_create("topic");
	TCase *tc = tcase_create("topic");

	tcase_add_test(tc, pattern_syntax);
	tcase_add_test(tc, pattern_too_long);
	tcase_add_test(tc, matching);
	tcase_add_test(tc, coverage);
	tcase_add_test(tc, tree_match_and_remove);
	tcase_add_test(tc, tree_same_pattern_twice);
	tcase_add_test(tc, tree_nonmatching_bulk);
	suite_add_tcase(s, tc);
	return s;
}
