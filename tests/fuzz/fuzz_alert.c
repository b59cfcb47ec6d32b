/*
 * fuzz_alert.c — alert validation, stamping and topic derivation.
 *
 * Input: a protobuf-encoded ccc.v1.Alert. It reaches alert_validate() the
 * way a published alert does: inside a Publish envelope decoded by
 * frame_decode() (which refuses unknown fields, NUL bytes in strings and
 * memory-hungry frames), then checked against the demo registry (loaded
 * once) at a fixed clock. An alert the
 * broker accepts must: hash the same twice, stay valid once stamped, get a
 * topic that is a valid pattern of four levels matching itself and naming
 * its section, survive the encoding subscribers receive, and be writable as
 * JSON (what `ccc subscribe --json` prints) that reads back to the same
 * alert.
 */
#include <jansson.h>

#include "acl.h"
#include "alert.h"
#include "frame.h"
#include "fuzz.h"
#include "pbjson.h"
#include "policy.h"
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

/* Append varint v at p; returns the end. */
static uint8_t *
put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/*
 * The alert data[0..size) as the broker gets it: Envelope { publish = 12:
 * Publish { alert = 1: data } } through frame_decode(). NULL when refused.
 */
static Ccc__V1__Envelope *
publish_frame(const uint8_t *data, size_t size)
{
	uint8_t *frame = malloc(size + 32), *p, lenbuf[10];
	Ccc__V1__Envelope *env;
	size_t n, consumed;

	FUZZ_CHECK(frame != NULL);
	p = frame + FRAME_HEADER_LEN;
	p = put_varint(p, 12 << 3 | 2);
	p = put_varint(p, 1 + (size_t)(put_varint(lenbuf, size) - lenbuf) + size);
	p = put_varint(p, 1 << 3 | 2);
	p = put_varint(p, size);
	if (size > 0)
		memcpy(p, data, size);
	p += size;
	n = (size_t)(p - frame) - FRAME_HEADER_LEN;
	frame[0] = (uint8_t)(n >> 24);
	frame[1] = (uint8_t)(n >> 16);
	frame[2] = (uint8_t)(n >> 8);
	frame[3] = (uint8_t)n;
	if (frame_decode(frame, FRAME_HEADER_LEN + n, FRAME_MAX_DEFAULT, &env,
	    &consumed, NULL, 0) != FRAME_OK)
		env = NULL;
	free(frame);
	return env;
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

/*
 * The routing and disclosure plan of a valid alert a on topic, published
 * by origin: every target is registered and named once; it is blocked
 * exactly when the access rules keep the topic from it; every recipient
 * and every target of a matching routing rule is a target; a restricted
 * alert reaches only its origin and the targets that are not blocked.
 */
static void
check_plan(const struct registry *reg, const Ccc__V1__Alert *a,
    const char *origin, const char *topic)
{
	const struct endpoint *eps, *ep;
	const struct route_rule *routes;
	struct policy_plan p;
	size_t n, nroutes, live = 0, naud;
	char why[512], why2[256], **aud;
	bool found;

	why[0] = '\0';
	if (policy_plan(reg, a, origin, topic, &p, why, sizeof(why)) < 0) {
		FUZZ_CHECK(why[0] != '\0');
		return;
	}
	for (size_t i = 0; i < p.ntargets; i++) {
		const struct policy_target *t = &p.targets[i];

		FUZZ_CHECK((ep = registry_endpoint(reg, t->endpoint)) != NULL);
		for (size_t k = 0; k < i; k++)
			FUZZ_CHECK(strcmp(p.targets[k].endpoint, t->endpoint) != 0);
		FUZZ_CHECK(t->blocked == !acl_may_subscribe(reg, ep, topic, why2,
		    sizeof(why2)));
		FUZZ_CHECK(!t->blocked || t->why[0] != '\0');
		live += !t->blocked;
	}
	for (size_t i = 0; i < a->n_recipients; i++) {
		found = false;
		for (size_t k = 0; k < p.ntargets; k++)
			found |= strcmp(p.targets[k].endpoint,
			    a->recipients[i]) == 0 && !p.targets[k].blocked;
		FUZZ_CHECK(found);
	}
	routes = registry_routes(reg, &nroutes);
	for (size_t r = 0; r < nroutes; r++) {
		if (!policy_route_matches(reg, &routes[r], a, origin))
			continue;
		for (size_t j = 0; j < routes[r].n_targets; j++) {
			found = false;
			for (size_t k = 0; k < p.ntargets; k++)
				found |= strcmp(p.targets[k].endpoint,
				    routes[r].targets[j]) == 0;
			FUZZ_CHECK(found);
		}
	}
	FUZZ_CHECK(p.restricted == policy_restricted(a));
	FUZZ_CHECK(!p.restricted || live > 0);
	FUZZ_CHECK(!p.restricted || p.no_forward);
	eps = registry_endpoints(reg, &n);
	for (size_t i = 0; i < n; i++) {
		bool target = false;

		for (size_t k = 0; k < p.ntargets; k++)
			target |= strcmp(p.targets[k].endpoint, eps[i].id) == 0 &&
			    !p.targets[k].blocked;
		FUZZ_CHECK(policy_may_receive(&p, eps[i].id) == (!p.restricted ||
		    strcmp(eps[i].id, origin) == 0 || target));
	}
	naud = policy_audience(&p, &aud);
	FUZZ_CHECK(naud == live);
	for (size_t i = 0; i < naud; i++)
		FUZZ_CHECK(policy_may_receive(&p, aud[i]));
	free(aud);
	policy_plan_free(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct registry *reg = fuzz_registry();
	Ccc__V1__Envelope *env;
	Ccc__V1__Alert *a, *back;
	char why[512], topic[TOPIC_MAX_LEN + 1];
	uint8_t d1[32], d2[32], *packed, *packed2;
	size_t n;
	json_t *j;

	if ((env = publish_frame(data, size)) == NULL)
		return 0;
	if ((a = env->publish->alert) == NULL)	/* handle.c refuses it first */
		goto out;
	why[0] = '\0';
	if (alert_validate(a, reg, FUZZ_NOW_US, why, sizeof(why)) != 0) {
		FUZZ_CHECK(strncmp(why, "field \"", 7) == 0);
		goto out;
	}

	/* what the broker does with an accepted alert (handle_publish) */
	alert_assign_id(a, FUZZ_NOW_US);
	FUZZ_CHECK(uuid_valid(a->id));
	alert_digest(a, d1);
	alert_digest(a, d2);	/* a retry carrying the id the broker gave */
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
	FUZZ_CHECK(topic_match(a->exercise ? "exercise/+/+/+" :
	    "alerts/+/+/+", topic));
	n = strlen(topic) - strlen(a->section);
	FUZZ_CHECK(topic[n - 1] == '/' && strcmp(topic + n, a->section) == 0);

	/* routing and disclosure, as if each registered endpoint published it */
	{
		const struct endpoint *eps = registry_endpoints(reg, &n);

		for (size_t i = 0; i < n; i++)
			check_plan(reg, a, eps[i].id, topic);
	}

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

	/* as JSON (`ccc subscribe --json`), and back the same */
	FUZZ_CHECK((j = pbjson_from_message(&a->base, PBJSON_CCC)) != NULL);
	back = (Ccc__V1__Alert *)(void *)pbjson_to_message(
	    &ccc__v1__alert__descriptor, j, PBJSON_CCC, why, sizeof(why));
	if (back == NULL)
		fprintf(stderr, "JSON of a valid alert refused: %s\n", why);
	FUZZ_CHECK(back != NULL);
	FUZZ_CHECK(ccc__v1__alert__get_packed_size(back) == n);
	packed2 = malloc(n ? n : 1);
	FUZZ_CHECK(packed2 != NULL);
	FUZZ_CHECK(ccc__v1__alert__pack(back, packed2) == n);
	FUZZ_CHECK(memcmp(packed, packed2, n) == 0);
	free(packed2);
	ccc__v1__alert__free_unpacked(back, NULL);
	json_decref(j);
	free(packed);
out:
	frame_free(env);
	return 0;
}
