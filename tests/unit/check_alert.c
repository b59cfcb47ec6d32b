/*
 * check_alert.c — validation of published alerts, the derived topic and the
 * broker's stamps.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "alert.h"
#include "suites.h"
#include "timeutil.h"
#include "uuid.h"

static const char registry_yaml[] =
    "version: 1\n"
    "sections:\n"
    "  - id: tr-bg/kapikule\n"
    "    name: Kapikule\n"
    "endpoints:\n"
    "  - id: tr-police\n"
    "    country: TR\n"
    "    kind: police\n"
    "    name: Turkish National Police\n"
    "    roles: [publisher, subscriber]\n"
    "access_rules: []\n";

static struct registry *reg;
static Ccc__V1__Alert *alert;
static char why[512];
static int64_t now;

/* A valid alert built through the wire, as the broker receives it. */
static void
setup(void)
{
	Ccc__V1__Alert a = CCC__V1__ALERT__INIT;
	char section[] = "tr-bg/kapikule", summary[] = "Lorry with 23 migrants";
	uint8_t buf[512];
	size_t n;
	char err[256];

	ck_assert_msg(registry_load_string(registry_yaml, "test.yaml", &reg,
	    err, sizeof(err)) == 0, "%s", err);
	a.category = CCC__V1__CATEGORY__CATEGORY_MIGRANT_SMUGGLING;
	a.severity = CCC__V1__SEVERITY__SEVERITY_HIGH;
	a.handling = CCC__V1__HANDLING__HANDLING_H1;
	a.section = section;
	a.summary = summary;
	n = ccc__v1__alert__pack(&a, buf);
	alert = ccc__v1__alert__unpack(NULL, n, buf);
	ck_assert_ptr_nonnull(alert);
	now = time_now_us();
}

static void
teardown(void)
{
	ccc__v1__alert__free_unpacked(alert, NULL);
	registry_unref(reg);
}

/* Replace a string field of the test alert. */
static void
set(char **field, const char *value)
{
	if (*field != protobuf_c_empty_string)
		free(*field);
	*field = strdup(value);
}

static int
validate(void)
{
	return alert_validate(alert, reg, now, why, sizeof(why));
}

START_TEST(minimal_valid)
{
	ck_assert_int_eq(validate(), 0);
}
END_TEST

START_TEST(required_fields)
{
	alert->category = 0;
	ck_assert_int_eq(validate(), -1);
	ck_assert_ptr_nonnull(strstr(why, "field \"category\": required"));
	ck_assert_ptr_nonnull(strstr(why, "migrant_smuggling"));
	alert->category = CCC__V1__CATEGORY__CATEGORY_DRUGS;
	alert->severity = 0;
	ck_assert_int_eq(validate(), -1);
	ck_assert_ptr_nonnull(strstr(why, "field \"severity\": required"));
	alert->severity = CCC__V1__SEVERITY__SEVERITY_LOW;
	alert->handling = 0;
	ck_assert_int_eq(validate(), -1);
	ck_assert_ptr_nonnull(strstr(why, "field \"handling\""));
	alert->handling = CCC__V1__HANDLING__HANDLING_H0;
	set(&alert->summary, "");
	ck_assert_int_eq(validate(), -1);
	ck_assert_str_eq(why, "field \"summary\": required");
	set(&alert->summary, "x");
	set(&alert->section, "");
	ck_assert_int_eq(validate(), -1);
	ck_assert_str_eq(why, "field \"section\": required");
}
END_TEST

START_TEST(enum_out_of_range)
{
	alert->severity = 99;
	ck_assert_int_eq(validate(), -1);
	ck_assert_ptr_nonnull(strstr(why, "field \"severity\": unknown value"));
	alert->severity = CCC__V1__SEVERITY__SEVERITY_LOW;
	alert->grading = 17;
	ck_assert_int_eq(validate(), -1);
	ck_assert_ptr_nonnull(strstr(why, "field \"grading\""));
	alert->grading = CCC__V1__GRADING__GRADING_B2;
	alert->tlp = -1;
	ck_assert_int_eq(validate(), -1);
	ck_assert_ptr_nonnull(strstr(why, "field \"tlp\""));
}
END_TEST

START_TEST(unknown_section)
{
	set(&alert->section, "tr-bg/nowhere");
	ck_assert_int_eq(validate(), -1);
	ck_assert_str_eq(why, "field \"section\": unknown section \"tr-bg/nowhere\"");
}
END_TEST

START_TEST(utf8_and_control_characters)
{
	set(&alert->summary, "bad \xc3\x28 byte");
	ck_assert_int_eq(validate(), -1);
	ck_assert_ptr_nonnull(strstr(why, "field \"summary\": not valid UTF-8"));
	set(&alert->summary, "two\nlines");
	ck_assert_int_eq(validate(), -1);
	set(&alert->summary, "Kapıkule – Капитан Андреево – Καστανιές");
	ck_assert_int_eq(validate(), 0);
	set(&alert->details, "line one\nline two\ttabbed");
	ck_assert_int_eq(validate(), 0);
	set(&alert->details, "overlong \xc0\xaf slash");
	ck_assert_int_eq(validate(), -1);
	ck_assert_ptr_nonnull(strstr(why, "field \"details\""));
}
END_TEST

START_TEST(sizes)
{
	char *big = malloc(ALERT_SUMMARY_MAX + 2);

	memset(big, 'a', ALERT_SUMMARY_MAX + 1);
	big[ALERT_SUMMARY_MAX + 1] = '\0';
	set(&alert->summary, big);
	ck_assert_int_eq(validate(), -1);
	ck_assert_ptr_nonnull(strstr(why, "longer than 512 bytes"));
	big[ALERT_SUMMARY_MAX] = '\0';
	set(&alert->summary, big);
	ck_assert_int_eq(validate(), 0);
	free(big);
}
END_TEST

START_TEST(location_range)
{
	Ccc__V1__Location loc = CCC__V1__LOCATION__INIT;

	alert->location = &loc;
	loc.lat = 41.7;
	loc.lon = 26.3;
	ck_assert_int_eq(validate(), 0);
	loc.lat = 91;
	ck_assert_int_eq(validate(), -1);
	ck_assert_ptr_nonnull(strstr(why, "field \"location.lat\""));
	loc.lat = NAN;
	ck_assert_int_eq(validate(), -1);
	loc.lat = 0;
	loc.lon = -180.5;
	ck_assert_int_eq(validate(), -1);
	ck_assert_ptr_nonnull(strstr(why, "field \"location.lon\""));
	alert->location = NULL;
}
END_TEST

START_TEST(ids_and_references)
{
	char id[UUID_STRLEN];
	char *refs[1];

	set(&alert->id, "not-a-uuid");
	ck_assert_int_eq(validate(), -1);
	ck_assert_ptr_nonnull(strstr(why, "field \"id\""));
	uuid_v7(now, id);
	set(&alert->id, id);
	ck_assert_int_eq(validate(), 0);
	refs[0] = id;
	alert->references = refs;
	alert->n_references = 1;
	ck_assert_int_eq(validate(), 0);
	refs[0] = alert->summary;
	ck_assert_int_eq(validate(), -1);
	ck_assert_str_eq(why, "field \"references[0]\": not an alert id (UUID)");
	alert->references = NULL;
	alert->n_references = 0;
}
END_TEST

START_TEST(recipients)
{
	char *r[40];

	r[0] = (char *)(uintptr_t)"tr-police";
	alert->recipients = r;
	alert->n_recipients = 1;
	ck_assert_int_eq(validate(), 0);
	r[1] = (char *)(uintptr_t)"nobody";
	alert->n_recipients = 2;
	ck_assert_int_eq(validate(), -1);
	ck_assert_str_eq(why, "field \"recipients[1]\": unknown endpoint "
	    "\"nobody\"");
	r[1] = (char *)(uintptr_t)"tr-police";
	ck_assert_int_eq(validate(), -1);
	ck_assert_str_eq(why, "field \"recipients[1]\": \"tr-police\" is "
	    "named twice");
	for (size_t i = 0; i < 40; i++)
		r[i] = (char *)(uintptr_t)"tr-police";
	alert->n_recipients = 40;
	ck_assert_int_eq(validate(), -1);
	ck_assert_ptr_nonnull(strstr(why, "field \"recipients\": more than"));
	alert->recipients = NULL;
	alert->n_recipients = 0;
}
END_TEST

START_TEST(observed_at_bounds)
{
	alert->observed_at = now - 3600LL * 1000000;
	ck_assert_int_eq(validate(), 0);
	alert->observed_at = now + 2 * ALERT_FUTURE_SKEW_US;
	ck_assert_int_eq(validate(), -1);
	ck_assert_ptr_nonnull(strstr(why, "in the future"));
	alert->observed_at = -5;
	ck_assert_int_eq(validate(), -1);
}
END_TEST

/*
 * expires_at has no upper bound but the one RFC 3339 sets: beyond year 9999
 * the JSON of the alert could not be read back (found by fuzzing).
 */
START_TEST(expires_at_bounds)
{
	alert->expires_at = now - 1;
	ck_assert_int_eq(validate(), -1);
	ck_assert_ptr_nonnull(strstr(why, "already past"));
	alert->expires_at = TIME_MAX_US;
	ck_assert_int_eq(validate(), 0);
	alert->expires_at = TIME_MAX_US + 1;
	ck_assert_int_eq(validate(), -1);
	ck_assert_str_eq(why, "field \"expires_at\": after "
	    "9999-12-31T23:59:59.999999Z");
	alert->expires_at = INT64_MAX;
	ck_assert_int_eq(validate(), -1);
}
END_TEST

START_TEST(language_tag)
{
	set(&alert->language, "en");
	ck_assert_int_eq(validate(), 0);
	set(&alert->language, "pt-BR");
	ck_assert_int_eq(validate(), 0);
	set(&alert->language, "english");
	ck_assert_int_eq(validate(), -1);
	set(&alert->language, "e");
	ck_assert_int_eq(validate(), -1);
	set(&alert->language, "en-");
	ck_assert_int_eq(validate(), -1);
	ck_assert_ptr_nonnull(strstr(why, "field \"language\""));
}
END_TEST

START_TEST(typed_details)
{
	Ccc__V1__Persons p = CCC__V1__PERSONS__INIT;
	Ccc__V1__Vehicle v = CCC__V1__VEHICLE__INIT, *vs[1] = { &v };
	Ccc__V1__Drug d = CCC__V1__DRUG__INIT, *ds[1] = { &d };
	Ccc__V1__Goods g = CCC__V1__GOODS__INIT, *gs[1] = { &g };
	char sy[] = "SY", af[] = "af", *nat[2] = { sy, af };
	char plate[] = "34 ABC 123", tr[] = "TR", heroin[] = "heroin", kg[] = "kg";
	char cig[] = "cigarettes", hs[] = "240220", hsbad[] = "24A", eur[] = "EUR";

	p.count = 23;
	p.nationalities = nat;
	p.n_nationalities = 1;
	alert->persons = &p;
	v.plate = plate;
	v.registration_country = tr;
	alert->vehicles = vs;
	alert->n_vehicles = 1;
	d.substance = heroin;
	d.quantity = 40;
	d.unit = kg;
	alert->drugs = ds;
	alert->n_drugs = 1;
	g.description = cig;
	g.hs_code = hs;
	g.currency = eur;
	g.declared_value = 120000;
	alert->goods = gs;
	alert->n_goods = 1;
	ck_assert_int_eq(validate(), 0);

	p.n_nationalities = 2;		/* "af": lower case */
	ck_assert_int_eq(validate(), -1);
	ck_assert_ptr_nonnull(strstr(why, "persons.nationalities[1]"));
	p.n_nationalities = 1;
	d.quantity = -1;
	ck_assert_int_eq(validate(), -1);
	ck_assert_ptr_nonnull(strstr(why, "drugs[0].quantity"));
	d.quantity = 1;
	g.hs_code = hsbad;
	ck_assert_int_eq(validate(), -1);
	ck_assert_ptr_nonnull(strstr(why, "goods[0].hs_code"));
	g.hs_code = hs;
	v.registration_country = kg;
	ck_assert_int_eq(validate(), -1);
	ck_assert_ptr_nonnull(strstr(why, "vehicles[0].registration_country"));
	alert->n_vehicles = ALERT_LIST_MAX + 1;	/* count checked before entries */
	ck_assert_int_eq(validate(), -1);
	ck_assert_ptr_nonnull(strstr(why, "field \"vehicles\": more than 32"));
	alert->persons = NULL;
	alert->vehicles = NULL;
	alert->n_vehicles = 0;
	alert->drugs = NULL;
	alert->n_drugs = 0;
	alert->goods = NULL;
	alert->n_goods = 0;
}
END_TEST

START_TEST(topic_and_stamp)
{
	char topic[TOPIC_MAX_LEN + 1];

	alert_topic(alert, topic);
	ck_assert_str_eq(topic, "alerts/migrant_smuggling/tr-bg/kapikule");
	set(&alert->origin, "someone-else");	/* a client's claim is overwritten */
	alert->published_at = 1;
	alert_stamp(alert, "tr-police", now);
	ck_assert_str_eq(alert->origin, "tr-police");
	ck_assert_int_eq(alert->published_at, now);
	ck_assert(uuid_valid(alert->id));
	ck_assert_int_eq(alert->id[14], '7');
}
END_TEST

START_TEST(stamp_keeps_client_id)
{
	char id[UUID_STRLEN];

	uuid_v7(now, id);
	set(&alert->id, id);
	alert_stamp(alert, "tr-police", now);
	ck_assert_str_eq(alert->id, id);
}
END_TEST

START_TEST(digest_with_assigned_id)
{
	uint8_t assigned[32], carried[32];
	char id[UUID_STRLEN];

	alert_assign_id(alert, now);
	ck_assert(uuid_valid(alert->id));
	snprintf(id, sizeof(id), "%s", alert->id);
	alert_assign_id(alert, now + 1);	/* an id is kept */
	ck_assert_str_eq(alert->id, id);
	alert_digest(alert, assigned);
	alert_stamp(alert, "tr-police", now);
	/* the retry carries the id it was given, and a claim of origin */
	set(&alert->origin, "someone-else");
	alert->published_at = 1;
	alert_digest(alert, carried);
	ck_assert_mem_eq(assigned, carried, 32);
	/* another id: another alert */
	uuid_v7(now, id);
	set(&alert->id, id);
	alert_digest(alert, carried);
	ck_assert_mem_ne(assigned, carried, 32);
}
END_TEST

/*
 * The digest is SHA-256 of the packed alert with the stamps cleared, for
 * each alert on its own: a large alert, then a smaller one, then the
 * large one again give what a digest of each alone gives.
 */
START_TEST(digest_of_each_alert_alone)
{
	uint8_t large[32], small[32], again[32], want[32], buf[4096];
	unsigned int len = 32;
	size_t n;
	char text[1001];

	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	set(&alert->id, "01937a4e-0000-7000-8000-0000000000aa");
	set(&alert->summary, text);
	alert_digest(alert, large);
	set(&alert->summary, "short");
	alert_stamp(alert, "tr-police", now);
	alert_digest(alert, small);
	/* the same alert, packed here with origin and published_at cleared */
	ck_assert_str_eq(alert->origin, "");
	ck_assert_int_eq(alert->published_at, 0);
	n = ccc__v1__alert__get_packed_size(alert);
	ck_assert_uint_le(n, sizeof(buf));
	ccc__v1__alert__pack(alert, buf);
	ck_assert_int_eq(EVP_Digest(buf, n, want, &len, EVP_sha256(), NULL), 1);
	ck_assert_mem_eq(small, want, 32);
	ck_assert_mem_ne(small, large, 32);
	set(&alert->summary, text);
	alert_digest(alert, again);
	ck_assert_mem_eq(again, large, 32);
}
END_TEST

Suite *
alert_suite(void)
{
	Suite *s = suite_create("alert");
	TCase *tc = tcase_create("validate");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, minimal_valid);
	tcase_add_test(tc, required_fields);
	tcase_add_test(tc, enum_out_of_range);
	tcase_add_test(tc, unknown_section);
	tcase_add_test(tc, utf8_and_control_characters);
	tcase_add_test(tc, sizes);
	tcase_add_test(tc, location_range);
	tcase_add_test(tc, ids_and_references);
	tcase_add_test(tc, recipients);
	tcase_add_test(tc, observed_at_bounds);
	tcase_add_test(tc, expires_at_bounds);
	tcase_add_test(tc, language_tag);
	tcase_add_test(tc, typed_details);
	tcase_add_test(tc, topic_and_stamp);
	tcase_add_test(tc, stamp_keeps_client_id);
	tcase_add_test(tc, digest_with_assigned_id);
	tcase_add_test(tc, digest_of_each_alert_alone);
	suite_add_tcase(s, tc);
	return s;
}
