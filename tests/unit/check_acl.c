/*
 * check_acl.c — access decisions on the demo registry
 * (broker/etc/registry.yaml, read from the repository root) and on small
 * registries made for one rule each.
 */
#include <stdio.h>
#include <string.h>

#include "acl.h"
#include "ccc/v1/alert.pb-c.h"
#include "demo.h"
#include "registry.h"
#include "suites.h"

static const struct endpoint *
ep_of(const struct registry *reg, const char *id)
{
	const struct endpoint *ep = registry_endpoint(reg, id);

	ck_assert_msg(ep != NULL, "no endpoint %s", id);
	return ep;
}

static struct registry *
registry_of(const char *yaml)
{
	struct registry *reg = NULL;
	char err[1024] = "";

	if (registry_load_string(yaml, "acl.yaml", &reg, err, sizeof(err)) != 0)
		ck_abort_msg("unexpected error: %s", err);
	return reg;
}

/* Publish: assert the decision, and the refusal text when refused. */
static void
pub(const struct registry *reg, const char *id, int category,
    const char *section, const char *refusal)
{
	char why[512] = "";
	bool ok = acl_may_publish(reg, ep_of(reg, id), category, section, why,
	    sizeof(why));

	if (refusal == NULL)
		ck_assert_msg(ok, "%s publish %d %s refused: %s", id, category,
		    section, why);
	else {
		ck_assert_msg(!ok, "%s publish %d %s allowed", id, category,
		    section);
		ck_assert_str_eq(why, refusal);
	}
}

static void
sub(const struct registry *reg, const char *id, const char *pattern,
    const char *refusal)
{
	char why[512] = "";
	bool ok = acl_may_subscribe(reg, ep_of(reg, id), pattern, why,
	    sizeof(why));

	if (refusal == NULL)
		ck_assert_msg(ok, "%s subscribe %s refused: %s", id, pattern, why);
	else {
		ck_assert_msg(!ok, "%s subscribe %s allowed", id, pattern);
		ck_assert_str_eq(why, refusal);
	}
}

#define C_HT	CCC__V1__CATEGORY__CATEGORY_HUMAN_TRAFFICKING
#define C_MS	CCC__V1__CATEGORY__CATEGORY_MIGRANT_SMUGGLING
#define C_DRUGS	CCC__V1__CATEGORY__CATEGORY_DRUGS
#define C_WEAP	CCC__V1__CATEGORY__CATEGORY_WEAPONS
#define C_OTHER	CCC__V1__CATEGORY__CATEGORY_OTHER

START_TEST(test_demo_publish_own_borders)
{
	/* every category, on the sections of the endpoint's own borders */
	for (int c = C_HT; c <= C_OTHER; c++) {
		pub(demo, "tr-police", c, "tr-bg/kapikule", NULL);
		pub(demo, "tr-gendarmerie", c, "tr-gr/evros", NULL);
		pub(demo, "tr-customs", c, "tr-bg/strandzha", NULL);
		pub(demo, "bg-border-police", c, "tr-bg/kapikule", NULL);
		pub(demo, "bg-customs", c, "bg-gr/kulata", NULL);
		pub(demo, "gr-police", c, "tr-gr/ipsala", NULL);
		pub(demo, "gr-customs", c, "bg-gr/kapitan-petko-voyvoda", NULL);
	}
}
END_TEST

START_TEST(test_demo_publish_foreign_border)
{
	pub(demo, "gr-police", C_MS, "tr-bg/kapikule",
	    "gr-police may not publish migrant_smuggling alerts for section "
	    "tr-bg/kapikule");
	pub(demo, "gr-customs", C_DRUGS, "tr-bg/hamzabeyli",
	    "gr-customs may not publish drugs alerts for section "
	    "tr-bg/hamzabeyli");
	pub(demo, "tr-police", C_WEAP, "bg-gr/makaza",
	    "tr-police may not publish weapons alerts for section "
	    "bg-gr/makaza");
	pub(demo, "bg-border-police", C_HT, "tr-gr/pazarkule",
	    "bg-border-police may not publish human_trafficking alerts for "
	    "section tr-gr/pazarkule");
}
END_TEST

START_TEST(test_demo_publish_unknown)
{
	/* an unregistered section is never allowed, even on an allowed border */
	pub(demo, "tr-police", C_DRUGS, "tr-bg/nowhere",
	    "tr-police may not publish drugs alerts for section tr-bg/nowhere");
	pub(demo, "tr-police", C_DRUGS, "tr-bg",
	    "tr-police may not publish drugs alerts for section tr-bg");
	pub(demo, "tr-police", 0, "tr-bg/kapikule",
	    "tr-police may not publish alerts of category 0 for section "
	    "tr-bg/kapikule");
	pub(demo, "tr-police", 42, "tr-bg/kapikule",
	    "tr-police may not publish alerts of category 42 for section "
	    "tr-bg/kapikule");
}
END_TEST

START_TEST(test_demo_subscribe_customs)
{
	sub(demo, "bg-customs", "alerts/#",
	    "bg-customs may not subscribe to \"alerts/#\": it reaches beyond "
	    "the topics its access rules allow (alerts/customs/#, "
	    "alerts/drugs/#, alerts/weapons/#, alerts/stolen_vehicle/#)");
	sub(demo, "bg-customs", "alerts/human_trafficking/#",
	    "bg-customs may not subscribe to \"alerts/human_trafficking/#\": it "
	    "reaches beyond the topics its access rules allow "
	    "(alerts/customs/#, alerts/drugs/#, alerts/weapons/#, "
	    "alerts/stolen_vehicle/#)");
	sub(demo, "tr-customs", "alerts/+/tr-bg/kapikule",
	    "tr-customs may not subscribe to \"alerts/+/tr-bg/kapikule\": it "
	    "reaches beyond the topics its access rules allow "
	    "(alerts/customs/#, alerts/drugs/#, alerts/weapons/#, "
	    "alerts/stolen_vehicle/#)");
	sub(demo, "bg-customs", "alerts/drugs/#", NULL);
	sub(demo, "bg-customs", "alerts/drugs/tr-bg/+", NULL);
	sub(demo, "bg-customs", "alerts/drugs/tr-bg/kapikule", NULL);
	sub(demo, "gr-customs", "alerts/stolen_vehicle/+/+", NULL);
	sub(demo, "tr-customs", "alerts/customs", NULL);
}
END_TEST

START_TEST(test_demo_subscribe_police)
{
	static const char *const ids[] = { "tr-police", "tr-gendarmerie",
	    "bg-border-police", "gr-police" };

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		sub(demo, ids[i], "alerts/#", NULL);
		sub(demo, ids[i], "alerts/human_trafficking/#", NULL);
		sub(demo, ids[i], "alerts/+/tr-bg/kapikule", NULL);
		sub(demo, ids[i], "alerts", NULL);
	}
}
END_TEST

START_TEST(test_demo_operator)
{
	const struct endpoint *op = ep_of(demo, "ccc-operator");

	ck_assert_uint_eq(op->roles, ROLE_OPERATOR);
	pub(demo, "ccc-operator", C_DRUGS, "tr-bg/kapikule",
	    "ccc-operator lacks the publisher role");
	sub(demo, "ccc-operator", "alerts/#",
	    "ccc-operator lacks the subscriber role");
	sub(demo, "ccc-operator", "alerts/drugs/tr-bg/kapikule",
	    "ccc-operator lacks the subscriber role");
}
END_TEST

START_TEST(test_demo_not_suspended)
{
	static const char *const ids[] = { "tr-police", "tr-gendarmerie",
	    "tr-customs", "bg-border-police", "bg-customs", "gr-police",
	    "gr-customs", "ccc-operator" };

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		ck_assert(!ep_of(demo, ids[i])->suspended);
}
END_TEST

/* Sections, one endpoint per role set, and a rules part appended. */
#define SMALL_HEAD							\
	"version: 1\n"							\
	"sections:\n"							\
	"  - {id: tr-bg/kapikule, name: K}\n"				\
	"  - {id: tr-bg/derekoy, name: D}\n"				\
	"  - {id: tr-gr/ipsala, name: I}\n"				\
	"endpoints:\n"							\
	"  - {id: tr-police, country: TR, kind: police, name: P,"	\
	"     roles: [publisher]}\n"					\
	"  - {id: tr-customs, country: TR, kind: customs, name: C,"	\
	"     roles: [publisher, subscriber], suspended: true}\n"		\
	"  - {id: gr-police, country: GR, kind: police, name: G,"	\
	"     roles: [subscriber, publisher]}\n"				\
	"  - {id: ccc-operator, kind: operator, name: O,"		\
	"     roles: [operator, subscriber]}\n"				\
	"access_rules:\n"

START_TEST(test_suspended)
{
	struct registry *reg = registry_of(SMALL_HEAD
	    "  - {id: p, action: publish, endpoints: [\"*\"],"
	    "     categories: [\"*\"], sections: [\"*\"]}\n"
	    "  - {id: s, action: subscribe, endpoints: [\"*\"],"
	    "     topics: [\"alerts/#\"]}\n");

	ck_assert(ep_of(reg, "tr-customs")->suspended);
	ck_assert(!ep_of(reg, "tr-police")->suspended);
	ck_assert(!ep_of(reg, "gr-police")->suspended);
	pub(reg, "tr-customs", C_DRUGS, "tr-bg/kapikule",
	    "tr-customs is suspended");
	sub(reg, "tr-customs", "alerts/#", "tr-customs is suspended");
	pub(reg, "gr-police", C_DRUGS, "tr-bg/kapikule", NULL);
	registry_unref(reg);
}
END_TEST

START_TEST(test_role_missing)
{
	struct registry *reg = registry_of(SMALL_HEAD
	    "  - {id: p, action: publish, endpoints: [\"*\"],"
	    "     categories: [\"*\"], sections: [\"*\"]}\n"
	    "  - {id: s, action: subscribe, endpoints: [\"*\"],"
	    "     topics: [\"alerts/#\"]}\n");

	/* "*" names endpoints without the role; the role check still refuses */
	sub(reg, "tr-police", "alerts/#", "tr-police lacks the subscriber role");
	pub(reg, "ccc-operator", C_OTHER, "tr-gr/ipsala",
	    "ccc-operator lacks the publisher role");
	sub(reg, "ccc-operator", "alerts/drugs/#", NULL);
	pub(reg, "tr-police", C_OTHER, "tr-gr/ipsala", NULL);
	registry_unref(reg);
}
END_TEST

START_TEST(test_star_endpoints)
{
	struct registry *reg = registry_of(SMALL_HEAD
	    "  - id: drugs-at-kapikule\n"
	    "    action: publish\n"
	    "    endpoints: [\"*\"]\n"
	    "    categories: [drugs, weapons]\n"
	    "    sections: [tr-bg/kapikule]\n"
	    "  - id: gr-border\n"
	    "    action: publish\n"
	    "    endpoints: [gr-police]\n"
	    "    categories: [other]\n"
	    "    sections: [\"tr-bg/*\"]\n");

	pub(reg, "tr-police", C_DRUGS, "tr-bg/kapikule", NULL);
	pub(reg, "gr-police", C_WEAP, "tr-bg/kapikule", NULL);
	pub(reg, "tr-police", C_MS, "tr-bg/kapikule",
	    "tr-police may not publish migrant_smuggling alerts for section "
	    "tr-bg/kapikule");
	pub(reg, "tr-police", C_DRUGS, "tr-bg/derekoy",
	    "tr-police may not publish drugs alerts for section "
	    "tr-bg/derekoy");
	/* rules add up: gr-police has the second one too */
	pub(reg, "gr-police", C_OTHER, "tr-bg/derekoy", NULL);
	pub(reg, "gr-police", C_OTHER, "tr-gr/ipsala",
	    "gr-police may not publish other alerts for section tr-gr/ipsala");
	/* no subscribe rule at all */
	sub(reg, "gr-police", "alerts/#",
	    "gr-police may not subscribe to \"alerts/#\": no access rule lets "
	    "it subscribe to any topic");
	registry_unref(reg);
}
END_TEST

START_TEST(test_subscribe_rules_combine)
{
	struct registry *reg = registry_of(SMALL_HEAD
	    "  - id: s1\n"
	    "    action: subscribe\n"
	    "    endpoints: [gr-police]\n"
	    "    topics: [\"alerts/drugs/#\", \"alerts/+/tr-gr/#\"]\n"
	    "  - id: s2\n"
	    "    action: subscribe\n"
	    "    endpoints: [\"*\"]\n"
	    "    topics: [\"alerts/drugs/#\", \"alerts/weapons/tr-bg/+\"]\n"
	    "  - id: s3\n"
	    "    action: subscribe\n"
	    "    endpoints: [ccc-operator]\n"
	    "    topics: [\"alerts/other/#\"]\n");

	sub(reg, "gr-police", "alerts/drugs/tr-bg/kapikule", NULL);
	sub(reg, "gr-police", "alerts/+/tr-gr/ipsala", NULL);
	sub(reg, "gr-police", "alerts/weapons/tr-bg/+", NULL);
	sub(reg, "gr-police", "alerts/weapons/tr-bg/derekoy", NULL);
	/* each pattern listed once, in rule order; s3 is not gr-police's */
	sub(reg, "gr-police", "alerts/weapons/#",
	    "gr-police may not subscribe to \"alerts/weapons/#\": it reaches "
	    "beyond the topics its access rules allow (alerts/drugs/#, "
	    "alerts/+/tr-gr/#, alerts/weapons/tr-bg/+)");
	sub(reg, "gr-police", "alerts/+/+/ipsala",
	    "gr-police may not subscribe to \"alerts/+/+/ipsala\": it reaches "
	    "beyond the topics its access rules allow (alerts/drugs/#, "
	    "alerts/+/tr-gr/#, alerts/weapons/tr-bg/+)");
	sub(reg, "ccc-operator", "alerts/other/tr-gr/#", NULL);
	registry_unref(reg);
}
END_TEST

/* What an endpoint may subscribe to, listed (a console feed's patterns). */
START_TEST(test_subscribe_patterns)
{
	struct registry *reg = registry_of(SMALL_HEAD
	    "  - id: s1\n"
	    "    action: subscribe\n"
	    "    endpoints: [gr-police]\n"
	    "    topics: [\"alerts/drugs/#\", \"alerts/+/tr-gr/#\"]\n"
	    "  - id: s2\n"
	    "    action: subscribe\n"
	    "    endpoints: [\"*\"]\n"
	    "    topics: [\"alerts/drugs/#\", \"alerts/weapons/tr-bg/+\"]\n");
	const char *p[4];

	/* each once, in rule order */
	ck_assert_uint_eq(acl_subscribe_patterns(reg, ep_of(reg, "gr-police"),
	    p, 4), 3);
	ck_assert_str_eq(p[0], "alerts/drugs/#");
	ck_assert_str_eq(p[1], "alerts/+/tr-gr/#");
	ck_assert_str_eq(p[2], "alerts/weapons/tr-bg/+");
	/* more than max: counted, max written */
	p[1] = NULL;
	ck_assert_uint_eq(acl_subscribe_patterns(reg, ep_of(reg, "gr-police"),
	    p, 1), 3);
	ck_assert_ptr_null(p[1]);
	registry_unref(reg);
	/* the demo's operator (no subscriber role) has none */
	ck_assert_uint_eq(acl_subscribe_patterns(demo,
	    ep_of(demo, "ccc-operator"), p, 4), 0);

	ck_assert_uint_eq(acl_subscribe_patterns(demo, ep_of(demo, "tr-police"),
	    p, 4), 1);
	ck_assert_str_eq(p[0], "alerts/#");
	ck_assert_uint_eq(acl_subscribe_patterns(demo,
	    ep_of(demo, "bg-customs"), p, 4), 4);
	ck_assert_str_eq(p[3], "alerts/stolen_vehicle/#");
}
END_TEST

START_TEST(test_refusal_truncated)
{
	struct registry *reg = registry_of(SMALL_HEAD
	    "  - {id: s, action: subscribe, endpoints: [gr-police],"
	    "     topics: [\"alerts/drugs/#\"]}\n");
	char why[16];

	ck_assert(!acl_may_subscribe(reg, ep_of(reg, "gr-police"), "alerts/#",
	    why, sizeof(why)));
	ck_assert_str_eq(why, "gr-police may n");
	ck_assert(!acl_may_publish(reg, ep_of(reg, "gr-police"), C_DRUGS,
	    "tr-bg/kapikule", why, sizeof(why)));
	ck_assert_str_eq(why, "gr-police may n");
	registry_unref(reg);
}
END_TEST

Suite *
acl_suite(void)
{
	Suite *s = suite_create("acl");
	TCase *td = tcase_create("demo");
	TCase *tr = tcase_create("rules");

	tcase_add_checked_fixture(td, demo_setup, demo_teardown);
	tcase_add_test(td, test_demo_publish_own_borders);
	tcase_add_test(td, test_demo_publish_foreign_border);
	tcase_add_test(td, test_demo_publish_unknown);
	tcase_add_test(td, test_demo_subscribe_customs);
	tcase_add_test(td, test_demo_subscribe_police);
	tcase_add_test(td, test_demo_operator);
	tcase_add_test(td, test_demo_not_suspended);
	tcase_add_test(td, test_subscribe_patterns);
	suite_add_tcase(s, td);

	tcase_add_test(tr, test_suspended);
	tcase_add_test(tr, test_role_missing);
	tcase_add_test(tr, test_star_endpoints);
	tcase_add_test(tr, test_subscribe_rules_combine);
	tcase_add_test(tr, test_refusal_truncated);
	suite_add_tcase(s, tr);
	return s;
}
