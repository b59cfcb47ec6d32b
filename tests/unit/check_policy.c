/*
 * check_policy.c — routing rules, the disclosure policy, registry diffs
 * (four-eyes classification) and the registry's JSON/YAML round trip, on
 * the demo registry (broker/etc/registry.yaml) and small variants of it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccc/v1/alert.pb-c.h"
#include "policy.h"
#include "regdiff.h"
#include "demo.h"
#include "registry.h"
#include "suites.h"

/* The demo registry's JSON with one edit applied by fn, loaded again. */
static struct registry *
demo_with(const char *json_patch_path, const char *value_json)
{
	json_t *doc = registry_to_json(demo), *v, *at = doc;
	char path[256], *tok, *save = NULL, *text, err[1024] = "";
	struct registry *reg = NULL;
	json_error_t jerr;

	snprintf(path, sizeof(path), "%s", json_patch_path);
	/* "key/index/key": walk to the parent, set the last component */
	tok = strtok_r(path, "/", &save);
	while (tok != NULL) {
		char *next = strtok_r(NULL, "/", &save);

		if (next == NULL) {
			v = json_loads(value_json, JSON_DECODE_ANY, &jerr);
			ck_assert_msg(v != NULL, "%s", jerr.text);
			if (json_is_array(at)) {
				size_t i = strtoul(tok, NULL, 10);

				if (i == json_array_size(at))
					json_array_append_new(at, v);
				else
					json_array_set_new(at, i, v);
			} else
				json_object_set_new(at, tok, v);
		} else
			at = json_is_array(at) ? json_array_get(at,
			    strtoul(tok, NULL, 10)) : json_object_get(at, tok);
		ck_assert_msg(at != NULL, "no %s in the demo registry", tok);
		tok = next;
	}
	text = json_dumps(doc, JSON_INDENT(1));
	if (registry_load_string(text, "patched", &reg, err, sizeof(err)) != 0)
		reg = NULL;
	free(text);
	json_decref(doc);
	return reg;
}

/* Index of endpoint id in the demo registry's JSON endpoints list. */
static size_t
ep_index(const char *id)
{
	size_t n;
	const struct endpoint *eps = registry_endpoints(demo, &n);

	for (size_t i = 0; i < n; i++)
		if (strcmp(eps[i].id, id) == 0)
			return i;
	ck_abort_msg("no endpoint %s", id);
	return 0;
}

/* Index of section id in the demo registry's JSON sections list. */
static size_t
sec_index(const char *id)
{
	size_t n;
	const struct section *secs = registry_sections(demo, &n);

	for (size_t i = 0; i < n; i++)
		if (strcmp(secs[i].id, id) == 0)
			return i;
	ck_abort_msg("no section %s", id);
	return 0;
}

#define DRUGS	CCC__V1__CATEGORY__CATEGORY_DRUGS
#define WEAPONS	CCC__V1__CATEGORY__CATEGORY_WEAPONS
#define HUMAN	CCC__V1__CATEGORY__CATEGORY_HUMAN_TRAFFICKING
#define HIGH	CCC__V1__SEVERITY__SEVERITY_HIGH
#define LOW	CCC__V1__SEVERITY__SEVERITY_LOW
#define H0	CCC__V1__HANDLING__HANDLING_H0
#define H2	CCC__V1__HANDLING__HANDLING_H2
#define RED	CCC__V1__TLP__TLP_RED
#define STRICT	CCC__V1__TLP__TLP_AMBER_STRICT

START_TEST(test_route_matches)
{
	size_t n;
	const struct route_rule *rt = registry_routes(demo, &n);
	Ccc__V1__Alert *a = alert_of(DRUGS, "tr-bg/kapikule", LOW, H0, 0);

	ck_assert_uint_eq(n, 1);
	ck_assert(policy_route_matches(demo, &rt[0], a, "tr-police"));
	ck_assert(policy_route_matches(demo, &rt[0], a, "gr-police"));
	a->section = (char *)(uintptr_t)"bg-gr/kulata";
	ck_assert(!policy_route_matches(demo, &rt[0], a, "tr-police"));
	a->section = (char *)(uintptr_t)"tr-bg/derekoy";
	a->category = WEAPONS;
	ck_assert(!policy_route_matches(demo, &rt[0], a, "tr-police"));
	free(a);
}
END_TEST

START_TEST(test_route_severity_and_origins)
{
	struct registry *reg = demo_with("routes/0/min_severity", "\"high\"");
	Ccc__V1__Alert *a = alert_of(DRUGS, "tr-bg/kapikule", LOW, H0, 0);
	const struct route_rule *rt;
	size_t n;

	ck_assert_ptr_nonnull(reg);
	rt = registry_routes(reg, &n);
	ck_assert(!policy_route_matches(reg, &rt[0], a, "tr-police"));
	a->severity = HIGH;
	ck_assert(policy_route_matches(reg, &rt[0], a, "tr-police"));
	registry_unref(reg);

	reg = demo_with("routes/0/origins", "[\"BG\", \"tr-customs\"]");
	ck_assert_ptr_nonnull(reg);
	rt = registry_routes(reg, &n);
	ck_assert(policy_route_matches(reg, &rt[0], a, "bg-border-police"));
	ck_assert(policy_route_matches(reg, &rt[0], a, "tr-customs"));
	ck_assert(!policy_route_matches(reg, &rt[0], a, "tr-police"));
	registry_unref(reg);
	free(a);
}
END_TEST

START_TEST(test_route_errors)
{
	static const struct {
		const char *path, *value;
	} bad[] = {
		{ "routes/0/targets", "[\"nobody\"]" },
		{ "routes/0/targets", "[\"*\"]" },
		{ "routes/0/targets", "[\"ccc-operator\"]" },	/* no subscriber role */
		{ "routes/0/targets", "[]" },
		{ "routes/0/min_severity", "\"urgent\"" },
		{ "routes/0/origins", "[\"XX\"]" },
		{ "routes/0/sections", "[\"tr-xx/*\"]" },
		{ "routes/0/categories", "[\"smuggling\"]" },
		{ "routes/0/id", "\"Bad Id\"" },
		{ "routes/1", "{\"id\": \"tr-bg-customs\", \"categories\": "
		    "[\"*\"], \"sections\": [\"*\"], \"targets\": "
		    "[\"gr-police\"]}" },			/* duplicate id */
		{ "routes/0/extra", "1" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct registry *reg = demo_with(bad[i].path, bad[i].value);

		ck_assert_msg(reg == NULL, "case %zu (%s = %s) was accepted", i,
		    bad[i].path, bad[i].value);
	}
}
END_TEST

START_TEST(test_plan_routes_and_conflicts)
{
	Ccc__V1__Alert *a = alert_of(DRUGS, "tr-bg/kapikule", LOW, H0, 0);
	struct registry *reg;
	struct policy_plan p;
	char why[512];

	ck_assert_int_eq(policy_plan(demo, a, "tr-police",
	    "alerts/drugs/tr-bg/kapikule", &p, why, sizeof(why)), 0);
	ck_assert_uint_eq(p.ntargets, 2);
	ck_assert_str_eq(p.targets[0].endpoint, "bg-customs");
	ck_assert_str_eq(p.targets[0].via, "tr-bg-customs");
	ck_assert(!p.targets[0].blocked && !p.targets[1].blocked);
	ck_assert(!p.restricted && !p.no_forward);
	policy_plan_free(&p);

	/* a route that sends customs a category they may not subscribe to */
	reg = demo_with("routes/0/categories", "[\"*\"]");
	ck_assert_ptr_nonnull(reg);
	a->category = HUMAN;
	ck_assert_int_eq(policy_plan(reg, a, "tr-police",
	    "alerts/human_trafficking/tr-bg/kapikule", &p, why, sizeof(why)), 0);
	ck_assert_uint_eq(p.ntargets, 2);
	ck_assert(p.targets[0].blocked && p.targets[1].blocked);
	ck_assert_ptr_nonnull(strstr(p.targets[0].why, "bg-customs"));
	policy_plan_free(&p);
	registry_unref(reg);
	free(a);
}
END_TEST

START_TEST(test_plan_restricted)
{
	Ccc__V1__Alert *a = alert_of(WEAPONS, "tr-gr/ipsala", HIGH, H0, RED);
	char *rcpt[] = { (char *)(uintptr_t)"gr-police" }, **aud, why[512];
	struct policy_plan p;
	size_t n;

	/* nobody named, no route: refused */
	ck_assert_int_eq(policy_plan(demo, a, "tr-police",
	    "alerts/weapons/tr-gr/ipsala", &p, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "name its recipients"));
	/* H2 is restricted the same way */
	a->tlp = 0;
	a->handling = H2;
	ck_assert(policy_restricted(a));
	a->recipients = rcpt;
	a->n_recipients = 1;
	ck_assert_int_eq(policy_plan(demo, a, "tr-police",
	    "alerts/weapons/tr-gr/ipsala", &p, why, sizeof(why)), 0);
	ck_assert(p.restricted && p.no_forward);
	ck_assert(policy_may_receive(&p, "gr-police"));
	ck_assert(policy_may_receive(&p, "tr-police"));		/* its origin */
	ck_assert(!policy_may_receive(&p, "bg-border-police"));
	n = policy_audience(&p, &aud);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(aud[0], "gr-police");
	free(aud);
	policy_plan_free(&p);

	/* the stamped audience decides for stored copies */
	a->origin = (char *)(uintptr_t)"tr-police";
	a->audience = rcpt;
	a->n_audience = 1;
	ck_assert(policy_stored_may_reach(a, "gr-police"));
	ck_assert(policy_stored_may_reach(a, "tr-police"));
	ck_assert(!policy_stored_may_reach(a, "gr-customs"));
	a->handling = H0;
	ck_assert(policy_stored_may_reach(a, "gr-customs"));	/* not restricted */

	/* AMBER+STRICT: not restricted in reach, but not to be re-published */
	a->tlp = STRICT;
	a->n_recipients = 0;
	ck_assert_int_eq(policy_plan(demo, a, "tr-police",
	    "alerts/weapons/tr-gr/ipsala", &p, why, sizeof(why)), 0);
	ck_assert(!p.restricted && p.no_forward);
	ck_assert(policy_may_receive(&p, "bg-border-police"));
	policy_plan_free(&p);
	free(a);
}
END_TEST

START_TEST(test_plan_recipient_without_access)
{
	Ccc__V1__Alert *a = alert_of(HUMAN, "tr-gr/ipsala", HIGH, H0, 0);
	char *rcpt[] = { (char *)(uintptr_t)"gr-customs" }, why[512];
	struct policy_plan p;

	a->recipients = rcpt;
	a->n_recipients = 1;
	ck_assert_int_eq(policy_plan(demo, a, "tr-police",
	    "alerts/human_trafficking/tr-gr/ipsala", &p, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "recipient gr-customs may not "
	    "receive"));
	free(a);
}
END_TEST

/* Diff of the demo registry against a variant: widens? and a change line. */
static void
diff_case(struct registry *reg, bool widens, const char *line)
{
	json_t *o = registry_to_json(demo), *n;
	struct regdiff d;
	char *text;

	ck_assert_msg(reg != NULL, "the variant did not load");
	n = registry_to_json(reg);
	regdiff_compare(o, n, &d);
	text = regdiff_join(d.changes);
	ck_assert_msg(regdiff_widens(&d) == widens, "widens %d for: %s",
	    regdiff_widens(&d), text);
	ck_assert_msg(strstr(text, line) != NULL, "no \"%s\" in: %s", line,
	    text);
	free(text);
	regdiff_free(&d);
	json_decref(o);
	json_decref(n);
	registry_unref(reg);
}

START_TEST(test_diff_classification)
{
	char path[64];

	snprintf(path, sizeof(path), "endpoints/%zu/suspended",
	    ep_index("tr-police"));
	diff_case(demo_with(path, "true"), false,
	    "~ endpoint tr-police: suspended: (none) -> true");
	snprintf(path, sizeof(path), "endpoints/%zu/name", ep_index("gr-police"));
	diff_case(demo_with(path, "\"Hellenic Police HQ\""), false,
	    "~ endpoint gr-police: name:");
	snprintf(path, sizeof(path), "endpoints/%zu/roles",
	    ep_index("gr-customs"));
	diff_case(demo_with(path, "[\"publisher\", \"subscriber\", "
	    "\"operator\"]"), true, "roles");
	snprintf(path, sizeof(path), "endpoints/%zu", registry_nendpoints(demo));
	diff_case(demo_with(path, "{\"id\": \"gr-customs-kipoi\", \"country\": "
	    "\"GR\", \"kind\": \"customs\", \"name\": \"Kipoi post\", "
	    "\"roles\": [\"subscriber\"]}"), true, "+ endpoint gr-customs-kipoi");
	snprintf(path, sizeof(path), "sections/%zu", registry_nsections(demo));
	diff_case(demo_with(path, "{\"id\": \"bg-gr/novo-selo\", \"name\": "
	    "\"Novo Selo\"}"), false, "+ section bg-gr/novo-selo");
	/* a section moved on the map, or put on it: shown, widens nothing */
	snprintf(path, sizeof(path), "sections/%zu/lat",
	    sec_index("tr-bg/kapikule"));
	diff_case(demo_with(path, "41.7205"), false,
	    "~ section tr-bg/kapikule: lat: 41.713 -> 41.7205");
	snprintf(path, sizeof(path), "sections/%zu", registry_nsections(demo));
	diff_case(demo_with(path, "{\"id\": \"bg-gr/novo-selo\", \"name\": "
	    "\"Novo Selo\", \"lat\": 41.4, \"lon\": 26}"), false,
	    "+ section bg-gr/novo-selo");
	snprintf(path, sizeof(path), "sections/%zu",
	    sec_index("bg-gr/zlatograd"));
	diff_case(demo_with(path, "{\"id\": \"bg-gr/zlatograd\", \"name\": "
	    "\"Zlatograd – Thermes\"}"), false,
	    "~ section bg-gr/zlatograd: lat: 41.36 -> (none)");
	diff_case(demo_with("routes/0/targets", "[\"bg-customs\"]"), false,
	    "targets: bg-customs, tr-customs -> bg-customs");
	diff_case(demo_with("routes/0/targets", "[\"bg-customs\", "
	    "\"tr-customs\", \"gr-customs\"]"), true, "targets");
	diff_case(demo_with("routes/0/sections", "[\"tr-bg/kapikule\"]"), false,
	    "sections: tr-bg/* -> tr-bg/kapikule");
	diff_case(demo_with("routes/0/sections", "[\"*\"]"), true, "sections");
	diff_case(demo_with("routes/0/min_severity", "\"high\""), false,
	    "min_severity");
	diff_case(demo_with("access_rules/3/topics", "[\"alerts/drugs/#\"]"),
	    false, "topics: alerts/# -> alerts/drugs/#");
	diff_case(demo_with("access_rules/4/topics", "[\"alerts/#\"]"), true,
	    "topics");
	diff_case(demo_with("access_rules/0/endpoints", "[\"tr-police\"]"), false,
	    "endpoints");
	diff_case(demo_with("access_rules/0/endpoints", "[\"*\"]"), true,
	    "endpoints");
}
END_TEST

START_TEST(test_diff_removals_and_resume)
{
	json_t *o = registry_to_json(demo), *n = json_deep_copy(o);
	struct regdiff d;
	char *text;

	json_array_remove(json_object_get(n, "routes"), 0);
	regdiff_compare(o, n, &d);
	text = regdiff_join(d.changes);
	ck_assert_str_eq(text, "- route tr-bg-customs");
	ck_assert(!regdiff_widens(&d));
	free(text);
	regdiff_free(&d);
	/* and back: a new route widens */
	regdiff_compare(n, o, &d);
	ck_assert(regdiff_widens(&d));
	regdiff_free(&d);
	/* resuming a suspended endpoint widens */
	json_object_set_new(json_array_get(json_object_get(n, "endpoints"), 0),
	    "suspended", json_true());
	json_array_append(json_object_get(n, "routes"),
	    json_array_get(json_object_get(o, "routes"), 0));
	regdiff_compare(n, o, &d);
	ck_assert(regdiff_widens(&d));
	text = regdiff_join(d.reasons);
	ck_assert_ptr_nonnull(strstr(text, "suspended widened"));
	free(text);
	regdiff_free(&d);
	json_decref(o);
	json_decref(n);
}
END_TEST

#define FP_A	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define FP_A_COLONS	"01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:" \
			"01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF"
#define FP_B	"fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

/* The demo registry with tr-police's "ca" set to value (JSON); NULL if refused. */
static struct registry *
demo_with_ca(const char *value_json)
{
	char path[64];

	snprintf(path, sizeof(path), "endpoints/%zu/ca", ep_index("tr-police"));
	return demo_with(path, value_json);
}

START_TEST(test_endpoint_ca_pins)
{
	struct registry *reg;
	const struct endpoint *ep;
	char err[1024] = "";
	json_t *j, *ca;

	/* none in the demo registry: any trusted CA */
	ck_assert_uint_eq(registry_endpoint(demo, "tr-police")->n_ca, 0);
	/* one string or a list; openssl's colon form is made canonical */
	reg = demo_with_ca("\"" FP_A_COLONS "\"");
	ck_assert_ptr_nonnull(reg);
	ep = registry_endpoint(reg, "tr-police");
	ck_assert_uint_eq(ep->n_ca, 1);
	ck_assert_str_eq(ep->ca[0], FP_A);
	ck_assert_uint_eq(registry_endpoint(reg, "gr-police")->n_ca, 0);
	/* exported as a list of the canonical form */
	j = registry_to_json(reg);
	ca = json_object_get(json_array_get(json_object_get(j, "endpoints"),
	    ep_index("tr-police")), "ca");
	ck_assert(json_is_array(ca));
	ck_assert_str_eq(json_string_value(json_array_get(ca, 0)), FP_A);
	json_decref(j);
	registry_unref(reg);
	reg = demo_with_ca("[\"" FP_A "\", \"" FP_B "\"]");
	ck_assert_ptr_nonnull(reg);
	ck_assert_uint_eq(registry_endpoint(reg, "tr-police")->n_ca, 2);
	registry_unref(reg);

	/* refused: not a fingerprint, a short one, twice the same, empty */
	ck_assert_ptr_null(demo_with_ca("\"ccc demo CA\""));
	ck_assert_ptr_null(demo_with_ca("\"0123456789abcdef\""));
	ck_assert_ptr_null(demo_with_ca("\"" FP_A "0\""));
	ck_assert_ptr_null(demo_with_ca("[\"" FP_A "\", \"" FP_A_COLONS "\"]"));
	ck_assert_ptr_null(demo_with_ca("[]"));
	ck_assert_int_eq(registry_load_string("version: 1\nsections: []\n"
	    "endpoints:\n  - id: a\n    kind: police\n    name: A\n"
	    "    roles: [publisher]\n    ca: \"" FP_A ":\"\naccess_rules: []\n",
	    "pins.yaml", &reg, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "pins.yaml:8: ca: ") != NULL &&
	    strstr(err, "SHA-256 fingerprint") != NULL, "%s", err);
}
END_TEST

START_TEST(test_diff_ca_widens)
{
	char path[64];

	snprintf(path, sizeof(path), "endpoints/%zu/ca", ep_index("tr-police"));
	/* a new pin, another pin, one pin less: each needs four eyes */
	diff_case(demo_with(path, "\"" FP_A "\""), true,
	    "~ endpoint tr-police: ca: (none) -> " FP_A);
	{
		json_t *o, *n;
		struct registry *a = demo_with(path, "[\"" FP_A "\", \""
		    FP_B "\"]"), *b = demo_with(path, "\"" FP_B "\"");
		struct regdiff d;
		char *text;

		ck_assert_ptr_nonnull(a);
		ck_assert_ptr_nonnull(b);
		o = registry_to_json(a);
		n = registry_to_json(b);
		regdiff_compare(o, n, &d);
		ck_assert(regdiff_widens(&d));
		text = regdiff_join(d.reasons);
		ck_assert_msg(strstr(text, "endpoint tr-police: ca widened") !=
		    NULL, "%s", text);
		free(text);
		regdiff_free(&d);
		/* and taking the pins away */
		json_decref(o);
		o = registry_to_json(demo);
		regdiff_compare(n, o, &d);
		ck_assert(regdiff_widens(&d));
		regdiff_free(&d);
		json_decref(o);
		json_decref(n);
		registry_unref(a);
		registry_unref(b);
	}
}
END_TEST

START_TEST(test_yaml_round_trip)
{
	json_t *j = registry_to_json(demo), *j2;
	char *yaml = registry_json_to_yaml(j, 42), err[1024] = "";
	struct registry *back = NULL;

	ck_assert_ptr_nonnull(yaml);
	ck_assert_ptr_nonnull(strstr(yaml, "\nrevision: 42\n"));
	ck_assert_ptr_nonnull(strstr(yaml, "Kapıkule"));	/* UTF-8 kept */
	/* coordinates in their short form, not 41.713000000000001 */
	ck_assert_msg(strstr(yaml, "  name: Kapıkule – Kapitan Andreevo (road "
	    "and rail)\n  lat: 41.713\n  lon: 26.357\n") != NULL, "%s", yaml);
	if (registry_load_string(yaml, "export", &back, err, sizeof(err)) != 0)
		ck_abort_msg("export does not load: %s", err);
	ck_assert_uint_eq(registry_doc_revision(back), 42);
	j2 = registry_to_json(back);
	ck_assert(json_equal(j, j2));
	json_decref(j2);
	registry_unref(back);
	free(yaml);
	/* the JSON text (17 digits, as admin edits are loaded) reads back too */
	yaml = json_dumps(j, JSON_INDENT(1));
	ck_assert_ptr_nonnull(strstr(yaml, "\"lat\": 41.71"));
	if (registry_load_string(yaml, "json", &back, err, sizeof(err)) != 0)
		ck_abort_msg("JSON export does not load: %s", err);
	j2 = registry_to_json(back);
	ck_assert(json_equal(j, j2));
	json_decref(j2);
	registry_unref(back);
	free(yaml);
	json_decref(j);
}
END_TEST

/* An exported registry with CA pins loads back to the same registry. */
START_TEST(test_yaml_round_trip_pins)
{
	struct registry *reg = demo_with_ca("[\"" FP_B "\", \"" FP_A_COLONS
	    "\"]"), *back = NULL;
	json_t *j, *j2;
	char *yaml, err[1024] = "";

	ck_assert_ptr_nonnull(reg);
	j = registry_to_json(reg);
	yaml = registry_json_to_yaml(j, 7);
	ck_assert_ptr_nonnull(yaml);
	ck_assert_ptr_nonnull(strstr(yaml, FP_A));
	if (registry_load_string(yaml, "export", &back, err, sizeof(err)) != 0)
		ck_abort_msg("export does not load: %s", err);
	j2 = registry_to_json(back);
	ck_assert(json_equal(j, j2));
	json_decref(j2);
	registry_unref(back);
	free(yaml);
	json_decref(j);
	registry_unref(reg);
}
END_TEST

Suite *
policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("policy");

	tcase_add_checked_fixture(tc, demo_setup, demo_teardown);
	tcase_add_test(tc, test_route_matches);
	tcase_add_test(tc, test_route_severity_and_origins);
	tcase_add_test(tc, test_route_errors);
	tcase_add_test(tc, test_plan_routes_and_conflicts);
	tcase_add_test(tc, test_plan_restricted);
	tcase_add_test(tc, test_plan_recipient_without_access);
	tcase_add_test(tc, test_diff_classification);
	tcase_add_test(tc, test_diff_removals_and_resume);
	tcase_add_test(tc, test_endpoint_ca_pins);
	tcase_add_test(tc, test_diff_ca_widens);
	tcase_add_test(tc, test_yaml_round_trip);
	tcase_add_test(tc, test_yaml_round_trip_pins);
	suite_add_tcase(s, tc);
	return s;
}
