/*
 * fuzz_alert.c — alert validation, stamping and topic derivation.
 *
 * Input: a protobuf-encoded ccc.v1.Alert, checked by alert_validate()
 * against the demo registry (loaded once) at a fixed clock. An alert the
 * broker accepts must: hash the same twice, stay valid once stamped, get a
 * topic that is a valid pattern of four levels matching itself and naming
 * its section, survive the encoding subscribers receive, and be writable as
 * JSON (what `ccc subscribe --json` prints).
 */
#include <jansson.h>

#include "alert.h"
#include "fuzz.h"
#include "pbjson.h"
#include "registry.h"
#include "topic.h"
#include "uuid.h"

#ifndef FUZZ_REGISTRY
#define FUZZ_REGISTRY	"broker/etc/registry.yaml"	/* from the repository root */
#endif

/* 2026-06-01T00:00:00Z: a fixed clock keeps runs reproducible. */
#define FUZZ_NOW_US	(INT64_C(1780272000) * 1000000)

static const struct registry *
fuzz_registry(void)
{
	static struct registry *reg;	/* read-only once loaded */
	char err[512];

	if (reg == NULL && registry_load(FUZZ_REGISTRY, &reg, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "fuzz_alert: %s\n", err);
		abort();
	}
	return reg;
}

/* Number of levels of a topic. */
static int
alert_levels(const char *topic)
{
	int n = 1;

	for (; *topic != '\0'; topic++)
		n += *topic == '/';
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct registry *reg = fuzz_registry();
	Ccc__V1__Alert *a, *back;
	char why[512], topic[TOPIC_MAX_LEN + 1];
	uint8_t d1[32], d2[32], *packed;
	size_t n;
	json_t *j;

	if ((a = ccc__v1__alert__unpack(NULL, size, data)) == NULL)
		return 0;
	why[0] = '\0';
	if (alert_validate(a, reg, FUZZ_NOW_US, why, sizeof(why)) != 0) {
		FUZZ_CHECK(strncmp(why, "field \"", 7) == 0);
		ccc__v1__alert__free_unpacked(a, NULL);
		return 0;
	}

	/* what the broker does with an accepted alert (handle_publish) */
	alert_digest(a, d1);
	alert_digest(a, d2);
	FUZZ_CHECK(memcmp(d1, d2, sizeof(d1)) == 0);
	alert_stamp(a, "tr-police", FUZZ_NOW_US);
	FUZZ_CHECK(uuid_valid(a->id));
	FUZZ_CHECK(strcmp(a->origin, "tr-police") == 0);
	FUZZ_CHECK(a->published_at == FUZZ_NOW_US);
	FUZZ_CHECK(alert_validate(a, reg, FUZZ_NOW_US, why, sizeof(why)) == 0);

	alert_topic(a, topic);
	FUZZ_CHECK(topic_pattern_check(topic, why, sizeof(why)));
	FUZZ_CHECK(strchr(topic, '+') == NULL && strchr(topic, '#') == NULL);
	FUZZ_CHECK(alert_levels(topic) == 4);
	FUZZ_CHECK(topic_match(topic, topic));
	FUZZ_CHECK(topic_match("alerts/+/+/+", topic));
	n = strlen(topic) - strlen(a->section);
	FUZZ_CHECK(topic[n - 1] == '/' && strcmp(topic + n, a->section) == 0);

	/* what subscribers receive: the stamped alert, encoded once */
	n = ccc__v1__alert__get_packed_size(a);
	packed = malloc(n ? n : 1);
	FUZZ_CHECK(packed != NULL);
	FUZZ_CHECK(ccc__v1__alert__pack(a, packed) == n);
	back = ccc__v1__alert__unpack(NULL, n, packed);
	FUZZ_CHECK(back != NULL);
	FUZZ_CHECK(alert_validate(back, reg, FUZZ_NOW_US, why, sizeof(why)) == 0);
	FUZZ_CHECK(strcmp(back->id, a->id) == 0);
	ccc__v1__alert__free_unpacked(back, NULL);
	free(packed);

	FUZZ_CHECK((j = pbjson_from_message(&a->base)) != NULL);
	json_decref(j);
	ccc__v1__alert__free_unpacked(a, NULL);
	return 0;
}
