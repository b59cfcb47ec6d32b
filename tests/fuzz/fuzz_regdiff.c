/*
 * fuzz_regdiff.c — the diff of two registries and its four-eyes verdict.
 *
 * Input: registry YAML. With a NUL byte, the text before it is the old
 * registry and the text after it the new one; without, the input is
 * compared with the demo registry both ways. Both must load
 * (registry_load_string) for the diff to run, as in admin.c.
 *
 * Properties: a registry compared with itself has no change; every change
 * and reason is one line of printable text; and a change that regdiff does
 * not call widening really narrows or keeps access. For every endpoint of
 * the new registry (which must exist in the old one), every category and
 * every section the two share: publishing allowed now was allowed before,
 * subscribing to the concrete topic allowed now was allowed before, and
 * the inboxes a routing rule delivers to now (for each severity, from a
 * rotating origin) were delivered to before.
 */
#include <stdbool.h>

#include "acl.h"
#include "fuzz.h"
#include "names.h"
#include "policy.h"
#include "regdiff.h"
#include "registry.h"

#ifndef FUZZ_REGISTRY
#define FUZZ_REGISTRY	"broker/etc/registry.yaml"	/* from the repository root */
#endif

static struct registry *
fuzz_demo(void)
{
	static struct registry *reg;
	char err[512];

	if (reg == NULL && registry_load(FUZZ_REGISTRY, &reg, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_regdiff: %s\n", err);
		abort();
	}
	return reg;
}

static void
check_lines(const json_t *lines)
{
	size_t i;
	json_t *it;

	FUZZ_CHECK(json_is_array(lines));
	json_array_foreach(lines, i, it) {
		const char *s = json_string_value(it);

		FUZZ_CHECK(s != NULL && s[0] != '\0');
		for (; *s != '\0'; s++)
			FUZZ_CHECK((unsigned char)*s >= 0x20 && *s != 0x7f);
	}
}

/* The endpoints a plan delivers to (targets not blocked), as a bit set. */
static uint64_t
live_targets(const struct registry *reg, const struct registry *ids,
    const Ccc__V1__Alert *a, const char *origin, const char *topic)
{
	const struct endpoint *eps;
	struct policy_plan p;
	uint64_t set = 0;
	size_t n;
	char why[512];

	if (policy_plan(reg, a, origin, topic, &p, why, sizeof(why)) < 0)
		return 0;
	eps = registry_endpoints(ids, &n);
	for (size_t i = 0; i < p.ntargets; i++)
		for (size_t k = 0; k < n && k < 64; k++)
			if (!p.targets[i].blocked &&
			    strcmp(p.targets[i].endpoint, eps[k].id) == 0)
				set |= UINT64_C(1) << k;
	policy_plan_free(&p);
	return set;
}

/* A change called narrow must not let anyone do more than before. */
static void
check_narrow(const struct registry *old, const struct registry *new_)
{
	const struct endpoint *eps;
	const struct section *secs;
	Ccc__V1__Alert a = CCC__V1__ALERT__INIT;
	size_t neps, nsecs, turn = 0;
	char why[512], topic[256];

	eps = registry_endpoints(new_, &neps);
	secs = registry_sections(new_, &nsecs);
	for (size_t e = 0; e < neps; e++) {
		const struct endpoint *en = &eps[e],
		    *eo = registry_endpoint(old, en->id);

		FUZZ_CHECK(eo != NULL);	/* a new endpoint widens */
		for (size_t s = 0; s < nsecs; s++) {
			if (registry_section(old, secs[s].id) == NULL)
				continue;
			for (int c = 1; c <= 9; c++) {
				snprintf(topic, sizeof(topic), "alerts/%s/%s",
				    names_enum_short(
				    &ccc__v1__category__descriptor, c),
				    secs[s].id);
				if (acl_may_publish(new_, en, c, secs[s].id,
				    why, sizeof(why)))
					FUZZ_CHECK(acl_may_publish(old, eo, c,
					    secs[s].id, why, sizeof(why)));
				if (acl_may_subscribe(new_, en, topic, why,
				    sizeof(why)))
					FUZZ_CHECK(acl_may_subscribe(old, eo,
					    topic, why, sizeof(why)));
			}
		}
	}
	/* routing rules: inbox deliveries now, from a rotating origin */
	for (size_t s = 0; s < nsecs && neps > 0; s++) {
		if (registry_section(old, secs[s].id) == NULL)
			continue;
		a.section = secs[s].id;
		for (int c = 1; c <= 9; c++) {
			snprintf(topic, sizeof(topic), "alerts/%s/%s",
			    names_enum_short(&ccc__v1__category__descriptor, c),
			    secs[s].id);
			a.category = (Ccc__V1__Category)c;
			for (int sev = 1; sev <= 4; sev++) {
				const char *origin = eps[turn++ % neps].id;
				uint64_t now, before;

				a.severity = (Ccc__V1__Severity)sev;
				now = live_targets(new_, new_, &a, origin, topic);
				before = live_targets(old, new_, &a, origin,
				    topic);
				if ((now & ~before) != 0)
					fprintf(stderr, "%s from %s: inboxes "
					    "%#llx now, %#llx before\n", topic,
					    origin, (unsigned long long)now,
					    (unsigned long long)before);
				FUZZ_CHECK((now & ~before) == 0);
			}
		}
	}
}

static void
compare(const struct registry *old, const struct registry *new_)
{
	json_t *jo = registry_to_json(old), *jn = registry_to_json(new_);
	struct regdiff d;
	char *joined;

	regdiff_compare(jo, jo, &d);
	FUZZ_CHECK(json_array_size(d.changes) == 0 && !regdiff_widens(&d));
	regdiff_free(&d);

	regdiff_compare(jo, jn, &d);
	check_lines(d.changes);
	check_lines(d.reasons);
	FUZZ_CHECK(json_array_size(d.changes) > 0 || !regdiff_widens(&d));
	joined = regdiff_join(d.changes);
	FUZZ_CHECK(strlen(joined) + 1 >= json_array_size(d.changes));
	free(joined);
	if (!regdiff_widens(&d))
		check_narrow(old, new_);
	regdiff_free(&d);
	json_decref(jo);
	json_decref(jn);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	struct registry *a = NULL, *b = NULL;
	char *t1, *t2, err[512];

	if (nul != NULL) {
		t1 = fuzz_strndup(data, (size_t)(nul - data));
		t2 = fuzz_strndup(nul + 1, size - (size_t)(nul - data) - 1);
		if (registry_load_string(t1, "old.yaml", &a, err,
		    sizeof(err)) == 0 && registry_load_string(t2, "new.yaml",
		    &b, err, sizeof(err)) == 0)
			compare(a, b);
		free(t2);
	} else {
		t1 = fuzz_strndup(data, size);
		if (registry_load_string(t1, "new.yaml", &b, err,
		    sizeof(err)) == 0) {
			compare(fuzz_demo(), b);
			compare(b, fuzz_demo());
		}
	}
	free(t1);
	if (a != NULL)
		registry_unref(a);
	if (b != NULL)
		registry_unref(b);
	return 0;
}
