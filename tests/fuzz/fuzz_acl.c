/*
 * fuzz_acl.c — access-rule evaluation against the demo registry.
 *
 * Input: byte 1 picks the demo registry or a variant with what the demo
 * lacks (bit 0x20), byte 0 an endpoint of it or a made-up one (byte 1: its
 * roles and suspension, and a short refusal buffer), bytes 2-3
 * a category number (any int16), then lines: a section, a topic pattern, the
 * made-up endpoint's id, and two endpoint ids for acl_is_transfer(); later
 * bytes steer the wildcards of a concrete topic.
 *
 * Properties: nothing crashes; a refusal names the endpoint; publishing is
 * allowed exactly when a plain reading of the rules allows it (role,
 * suspension, a registered section, a real category, a rule naming all
 * three, border wildcards by the section's border); subscribing is allowed
 * exactly when a subscribe rule of the endpoint covers the pattern, and then
 * a concrete topic the pattern matches is matched by one of those rules.
 */
#include <stdbool.h>

#include "acl.h"
#include "ccc/v1/alert.pb-c.h"
#include "fuzz.h"
#include "registry.h"
#include "topic.h"

#ifndef FUZZ_REGISTRY
#define FUZZ_REGISTRY	"broker/etc/registry.yaml"	/* from the repository root */
#endif

/*
 * A second registry with what the demo one lacks: "*" for endpoints and
 * categories, single sections, category lists, a suspended endpoint, an
 * endpoint in several rules, and patterns with "+".
 */
static const char variant_yaml[] =
    "version: 1\n"
    "sections:\n"
    "  - {id: tr-bg/kapikule, name: K}\n"
    "  - {id: tr-bg/lesovo, name: L}\n"
    "  - {id: bg-gr/kulata, name: Ku}\n"
    "  - {id: tr-gr/ipsala, name: I}\n"
    "endpoints:\n"
    "  - {id: tr-police, country: TR, kind: police, name: P,"
    " roles: [publisher, subscriber]}\n"
    "  - {id: bg-customs, country: BG, kind: customs, name: C,"
    " roles: [publisher, subscriber]}\n"
    "  - {id: gr-police, country: GR, kind: police, name: G,"
    " roles: [subscriber], suspended: true}\n"
    "  - {id: ccc-operator, kind: operator, name: O,"
    " roles: [operator, publisher]}\n"
    "access_rules:\n"
    "  - {id: all-drugs, action: publish, endpoints: [\"*\"],"
    " categories: [drugs, weapons], sections: [tr-bg/kapikule, bg-gr/kulata]}\n"
    "  - {id: tr-any, action: publish, endpoints: [tr-police],"
    " categories: [\"*\"], sections: [\"tr-gr/*\"]}\n"
    "  - {id: op-any, action: publish, endpoints: [ccc-operator],"
    " categories: [other], sections: [\"*\"]}\n"
    "  - {id: sub-one, action: subscribe, endpoints: [tr-police, bg-customs],"
    " topics: [\"alerts/drugs/+/kulata\", \"alerts/+/tr-bg/kapikule\"]}\n"
    "  - {id: sub-all, action: subscribe, endpoints: [\"*\"],"
    " topics: [\"alerts/weapons/#\", \"alerts/drugs/+/kulata\"]}\n"
    "  - {id: sub-gr, action: subscribe, endpoints: [gr-police],"
    " topics: [\"alerts/#\"]}\n";

/* Ids to pick from: every endpoint of either registry, and some of neither. */
static const char *const demo_ids[] = {
	"tr-police", "tr-gendarmerie", "tr-customs", "bg-border-police",
	"bg-customs", "gr-police", "gr-customs", "ccc-operator",
};
#define NDEMO	(sizeof(demo_ids) / sizeof(demo_ids[0]))

/* The demo registry (variant false) or the one above; loaded once. */
static const struct registry *
fuzz_registry(bool variant)
{
	static struct registry *reg[2];	/* read-only once loaded */
	char err[512];

	if (reg[variant] == NULL && (variant ?
	    registry_load_string(variant_yaml, "variant.yaml", &reg[1], err,
	    sizeof(err)) : registry_load(FUZZ_REGISTRY, &reg[0], err,
	    sizeof(err))) == -1) {
		fprintf(stderr, "fuzz_acl: %s\n", err);
		abort();
	}
	return reg[variant];
}

static bool
in_list(char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], "*") == 0 || strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* The publish decision read straight off the rules. */
static bool
ref_may_publish(const struct registry *reg, const struct endpoint *ep,
    int category, const char *section)
{
	const struct section *sec = registry_section(reg, section);
	const struct access_rule *rules, *r;
	size_t n;

	if (ep->suspended || (ep->roles & ROLE_PUBLISHER) == 0 || sec == NULL ||
	    category == 0 || protobuf_c_enum_descriptor_get_value(
	    &ccc__v1__category__descriptor, category) == NULL)
		return false;
	rules = registry_rules(reg, &n);
	for (size_t i = 0; i < n; i++) {
		bool cat = (r = &rules[i])->all_categories, where = false;

		if (r->action != ACL_PUBLISH ||
		    !in_list(r->endpoints, r->n_endpoints, ep->id))
			continue;
		for (size_t k = 0; k < r->n_categories; k++)
			cat |= r->categories[k] == category;
		for (size_t k = 0; k < r->n_sections; k++) {
			const char *s = r->sections[k];
			size_t len = strlen(s);

			where |= strcmp(s, "*") == 0 || strcmp(s, sec->id) == 0 ||
			    (len > 2 && strcmp(s + len - 2, "/*") == 0 &&
			    strlen(sec->border) == len - 2 &&
			    strncmp(s, sec->border, len - 2) == 0);
		}
		if (cat && where)
			return true;
	}
	return false;
}

/*
 * The model of exercise rights: a topic or pattern "exercise/X" has the
 * rights of "alerts/X" (written into buf); any other stands for itself.
 */
static const char *
ref_live(const char *s, char *buf, size_t len)
{
	if (strncmp(s, "exercise/", 9) != 0)
		return s;
	snprintf(buf, len, "alerts/%s", s + 9);
	return buf;
}

/*
 * The live topic of a topic made from pattern: as ref_live, and "exercise"
 * alone, what an exercise pattern ending in "#" matches with no level
 * after it, is "alerts".
 */
static const char *
ref_live_topic(const char *pattern, const char *topic, char *buf, size_t len)
{
	if (strncmp(pattern, "exercise/", 9) == 0 &&
	    strcmp(topic, "exercise") == 0)
		return "alerts";
	return ref_live(topic, buf, len);
}

/* The rule pattern of ep covering pattern, or NULL; in *matched whether
 * some rule pattern of ep matches topic. */
static const char *
ref_subscribe_rule(const struct registry *reg, const struct endpoint *ep,
    const char *pattern, const char *topic, bool *matched)
{
	const struct access_rule *rules, *r;
	const char *covering = NULL;
	size_t n;

	*matched = false;
	rules = registry_rules(reg, &n);
	for (size_t i = 0; i < n; i++) {
		r = &rules[i];
		if (r->action != ACL_SUBSCRIBE ||
		    !in_list(r->endpoints, r->n_endpoints, ep->id))
			continue;
		for (size_t k = 0; k < r->n_topics; k++) {
			if (covering == NULL &&
			    topic_pattern_covers(r->topics[k], pattern))
				covering = r->topics[k];
			if (topic != NULL && topic_match(r->topics[k], topic))
				*matched = true;
		}
	}
	return covering;
}

/* A concrete topic that pattern matches, or false past the limits. */
static bool
make_topic(struct fuzz_in *in, const char *pattern,
    char out[TOPIC_MAX_LEN + 1])
{
	static const char *const stock[] = { "drugs", "customs", "tr-bg",
	    "kapikule", "bg-gr", "x" };
	char pb[TOPIC_MAX_LEN + 1], *lv = pb, *slash;
	const char *level;
	size_t len = 0;
	int depth = 0;

	strcpy(pb, pattern);
	out[0] = '\0';
	for (;;) {
		slash = strchr(lv, '/');
		if (slash != NULL)
			*slash = '\0';
		level = lv;
		if (strcmp(lv, "#") == 0) {
			if (depth > 0 && (fuzz_byte(in) & 1))
				break;		/* "#" as zero levels */
			level = stock[fuzz_byte(in) % 6];
		} else if (strcmp(lv, "+") == 0)
			level = stock[fuzz_byte(in) % 6];
		if (len + strlen(level) + 1 > TOPIC_MAX_LEN)
			return false;
		len += (size_t)snprintf(out + len, TOPIC_MAX_LEN + 1 - len,
		    "%s%s", depth++ ? "/" : "", level);
		if (slash == NULL)
			break;
		lv = slash + 1;
	}
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned pick = fuzz_byte(&in), flags = fuzz_byte(&in);
	const struct registry *reg = fuzz_registry((flags & 0x20) != 0);
	int category = (int16_t)(fuzz_byte(&in) << 8 | fuzz_byte(&in));
	char *section = fuzz_line(&in), *pattern = fuzz_line(&in);
	char *id = fuzz_line(&in), *from = fuzz_line(&in), *to = fuzz_line(&in);
	char why[512], topic[TOPIC_MAX_LEN + 1];
	size_t whylen = flags & 0x10 ? 12 : sizeof(why);
	const struct endpoint *ep, *o, *r;
	struct endpoint made = { 0 };
	bool ok, matched, have_topic;

	if (pick % 16 < NDEMO &&
	    (ep = registry_endpoint(reg, demo_ids[pick % 16])) != NULL)
		;
	else {
		made.id = id;
		made.roles = flags & 7;
		made.suspended = (flags & 8) != 0;
		ep = &made;
	}

	why[0] = '\0';
	ok = acl_may_publish(reg, ep, category, section, why, whylen);
	FUZZ_CHECK(ok == ref_may_publish(reg, ep, category, section));
	if (!ok)
		FUZZ_CHECK(why[0] != '\0' &&
		    strncmp(why, ep->id, strlen(why) < strlen(ep->id) ?
		    strlen(why) : strlen(ep->id)) == 0);

	if (topic_pattern_check(pattern, why, sizeof(why))) {
		char live_pattern[TOPIC_MAX_LEN + 1], live_topic[TOPIC_MAX_LEN + 1];
		const char *rule;

		have_topic = make_topic(&in, pattern, topic);
		if (have_topic)
			FUZZ_CHECK(topic_match(pattern, topic));
		why[0] = '\0';
		ok = acl_may_subscribe(reg, ep, pattern, why, whylen);
		rule = ref_subscribe_rule(reg, ep,
		    ref_live(pattern, live_pattern, sizeof(live_pattern)),
		    have_topic ? ref_live_topic(pattern, topic, live_topic,
		    sizeof(live_topic)) : NULL, &matched);
		FUZZ_CHECK(ok == (rule != NULL && !ep->suspended &&
		    (ep->roles & ROLE_SUBSCRIBER) != 0));
		if (ok && have_topic)
			FUZZ_CHECK(matched);
		if (!ok)
			FUZZ_CHECK(why[0] != '\0');
	}

	o = registry_endpoint(reg, from);
	r = registry_endpoint(reg, to);
	FUZZ_CHECK(acl_is_transfer(reg, from, to) == (o != NULL && r != NULL &&
	    o->country != NULL && r->country != NULL &&
	    strcmp(r->country, "TR") == 0 && strcmp(o->country, "TR") != 0));

	free(section);
	free(pattern);
	free(id);
	free(from);
	free(to);
	return 0;
}
