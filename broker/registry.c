/*
 * registry.c — the registry file: border sections, endpoints and access
 * rules, loaded into an immutable, reference-counted snapshot.
 *
 * The file is validated as a whole before a snapshot exists: unknown keys,
 * bad ids, duplicates, unknown countries, kinds, roles, categories and
 * actions, rules that name unknown endpoints or sections, rule keys that do
 * not fit the action, and endpoints that lack the role a rule needs are all
 * errors with the line they stand on. Sections and endpoints are kept sorted
 * by id and found by binary search; rules stay in file order. A section's
 * coordinates are kept to the micro-degree, so that they read back exactly
 * from the canonical YAML and JSON this file writes.
 *
 * This file must never decide access (that is acl.c) and never change a
 * snapshot after it is built: sessions read it without locks.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>

#include "ccc/v1/alert.pb-c.h"
#include "names.h"
#include "registry.h"
#include "topic.h"
#include "xmalloc.h"
#include "yamlfile.h"

#define REGISTRY_VERSION	1
#define REGISTRY_ID_MAX		63
#define REGISTRY_COORD_PLACES	6	/* decimals kept: a micro-degree, ~0.1 m */

struct registry {
	atomic_uint		 refs;
	struct section		*sections;	/* sorted by id */
	size_t			 n_sections;
	struct endpoint		*endpoints;	/* sorted by id */
	size_t			 n_endpoints;
	struct access_rule	*rules;		/* in file order */
	size_t			 n_rules;
	struct route_rule	*routes;	/* in file order */
	size_t			 n_routes;
	unsigned long long	 doc_revision;	/* "revision:" of the document, or 0 */
};

/* An id and the line it was defined on, for finding duplicates. */
struct registry_seen {
	const char	*id;
	int		 line;
};

/* One load in progress. */
struct registry_load {
	struct yamlfile		*yf;
	struct registry		*reg;
	const struct access_rule *rule;	/* the rule being read, for item checks */
	unsigned		 roles;		/* roles read so far, for item checks */
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const char *const registry_top_keys[] = {
	"version", "revision", "sections", "endpoints", "access_rules", "routes",
};
static const char *const registry_section_keys[] = {
	"id", "name", "lat", "lon",
};
static const char *const registry_endpoint_keys[] = {
	"id", "country", "kind", "name", "roles", "suspended", "ca",
};
static const char *const registry_rule_keys[] = {
	"id", "action", "endpoints", "categories", "sections", "topics",
};
static const char *const registry_route_keys[] = {
	"id", "categories", "sections", "min_severity", "origins", "targets",
};
/* Countries of endpoints; their lower-case codes make up border names. */
static const char *const registry_countries[] = { "TR", "BG", "GR" };
static const char *const registry_kinds[] = {
	"police", "border_police", "gendarmerie", "customs", "operator",
};
static const char *const registry_role_names[] = {
	"publisher", "subscriber", "operator",		/* by bit */
};
/* Comma-separated names of every role combination, by bits. */
static const char *const registry_role_sets[] = {
	"none", "publisher", "subscriber", "publisher,subscriber", "operator",
	"publisher,operator", "subscriber,operator",
	"publisher,subscriber,operator",
};

static int
registry_section_cmp(const void *a, const void *b)
{
	return strcmp(((const struct section *)a)->id,
	    ((const struct section *)b)->id);
}

static int
registry_section_keycmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct section *)elem)->id);
}

static int
registry_endpoint_cmp(const void *a, const void *b)
{
	return strcmp(((const struct endpoint *)a)->id,
	    ((const struct endpoint *)b)->id);
}

static int
registry_endpoint_keycmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct endpoint *)elem)->id);
}

static int
registry_seen_cmp(const void *a, const void *b)
{
	const struct registry_seen *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

/* Index of s in list[0..n), or -1. */
static int
registry_find(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return (int)i;
	return -1;
}

/* [a-z0-9][a-z0-9-]{0,62}, for len bytes of s. */
static bool
registry_valid_idn(const char *s, size_t len)
{
	if (len == 0 || len > REGISTRY_ID_MAX || s[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* Two different lower-case country codes "xx-yy", for len bytes of s. */
static bool
registry_valid_border(const char *s, size_t len)
{
	bool a = false, b = false;

	if (len != 5 || s[2] != '-' || memcmp(s, s + 3, 2) == 0)
		return false;
	for (size_t i = 0; i < NELEM(registry_countries); i++) {
		const char *c = registry_countries[i];

		a |= s[0] == c[0] - 'A' + 'a' && s[1] == c[1] - 'A' + 'a';
		b |= s[3] == c[0] - 'A' + 'a' && s[4] == c[1] - 'A' + 'a';
	}
	return a && b;
}

/* "<border>/<crossing>". */
static bool
registry_valid_section_id(const char *s)
{
	const char *slash = strchr(s, '/');

	return slash != NULL && registry_valid_border(s, (size_t)(slash - s)) &&
	    registry_valid_idn(slash + 1, strlen(slash + 1));
}

/* The value of a required key of item, or NULL after an error. */
static struct fy_node *
registry_require(struct registry_load *ld, struct fy_node *item,
    const char *key, const char *what)
{
	struct fy_node *k, *v = yamlfile_get(item, key, &k);

	if (k == NULL) {
		yamlfile_error(ld->yf, item, "missing required key '%s' in %s",
		    key, what);
		return NULL;
	}
	if (v == NULL) {
		yamlfile_error(ld->yf, k, "%s: no value", key);
		return NULL;
	}
	return v;
}

/* A string from a list of known names. */
static int
registry_enum(struct registry_load *ld, struct fy_node *node, const char *key,
    const char *const *names, size_t n, const char *expected, char **out)
{
	if (yamlfile_string(ld->yf, node, key, out) == -1)
		return -1;
	if (registry_find(names, n, *out) >= 0)
		return 0;
	yamlfile_error(ld->yf, node, "%s: unknown %s '%s' (expected %s)", key,
	    key, *out, expected);
	free(*out);
	*out = NULL;
	return -1;
}

/* The list of items under key; NULL after an error. */
static struct fy_node *
registry_list(struct registry_load *ld, struct fy_node *root, const char *key)
{
	struct fy_node *list = registry_require(ld, root, key, "the registry");

	if (list == NULL)
		return NULL;
	if (!fy_node_is_sequence(list)) {
		yamlfile_error(ld->yf, list, "%s: expected a list (write [] for "
		    "none)", key);
		return NULL;
	}
	return list;
}

/* Report the first duplicate id in file order, if any. */
static int
registry_check_dups(struct registry_load *ld, struct registry_seen *seen,
    size_t n, const char *what)
{
	size_t first = 0, dup = n, dupfirst = 0;

	qsort(seen, n, sizeof(*seen), registry_seen_cmp);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(seen[i].id, seen[first].id) != 0) {
			first = i;
			continue;
		}
		if (dup == n || seen[i].line < seen[dup].line) {
			dup = i;
			dupfirst = first;
		}
	}
	if (dup == n)
		return 0;
	return yamlfile_error_line(ld->yf, seen[dup].line, "id: duplicate %s "
	    "id '%s' (first defined at line %d)", what, seen[dup].id,
	    seen[dupfirst].line);
}

/* A section's optional lat and lon: both or neither, in range. */
static int
registry_parse_coords(struct registry_load *ld, struct fy_node *item,
    struct section *sec)
{
	struct fy_node *latk, *lonk, *lat = yamlfile_get(item, "lat", &latk),
	    *lon = yamlfile_get(item, "lon", &lonk);

	if (latk == NULL && lonk == NULL)
		return 0;
	if (latk == NULL || lonk == NULL)
		return yamlfile_error(ld->yf, latk != NULL ? latk : lonk,
		    "%s: given without %s (a section has both lat and lon, or "
		    "neither)", latk != NULL ? "lat" : "lon",
		    latk != NULL ? "lon" : "lat");
	if (lat == NULL || lon == NULL)
		return yamlfile_error(ld->yf, lat == NULL ? latk : lonk,
		    "%s: no value", lat == NULL ? "lat" : "lon");
	if (yamlfile_decimal(ld->yf, lat, "lat", -90, 90,
	    REGISTRY_COORD_PLACES, &sec->lat) == -1 ||
	    yamlfile_decimal(ld->yf, lon, "lon", -180, 180,
	    REGISTRY_COORD_PLACES, &sec->lon) == -1)
		return -1;
	sec->located = true;
	return 0;
}

static int
registry_parse_sections(struct registry_load *ld, struct fy_node *list)
{
	struct registry *reg = ld->reg;
	struct registry_seen *seen;
	struct fy_node *item, *id, *name;
	struct section *sec;
	void *it = NULL;
	size_t i = 0;
	int rc = -1;

	reg->n_sections = (size_t)fy_node_sequence_item_count(list);
	reg->sections = xcalloc(reg->n_sections, sizeof(*reg->sections));
	seen = xcalloc(reg->n_sections, sizeof(*seen));
	while ((item = fy_node_sequence_iterate(list, &it)) != NULL) {
		sec = &reg->sections[i];
		if (yamlfile_check_keys(ld->yf, item, "section",
		    registry_section_keys, NELEM(registry_section_keys)) == -1 ||
		    (id = registry_require(ld, item, "id", "section")) == NULL ||
		    yamlfile_string(ld->yf, id, "id", &sec->id) == -1)
			goto out;
		if (!registry_valid_section_id(sec->id)) {
			yamlfile_error(ld->yf, id, "id: '%s' is not a section id "
			    "(expected <border>/<crossing>, e.g. tr-bg/kapikule, "
			    "with border two of tr, bg, gr)", sec->id);
			goto out;
		}
		sec->border = xstrndup(sec->id, strcspn(sec->id, "/"));
		if ((name = registry_require(ld, item, "name", "section")) ==
		    NULL || yamlfile_string(ld->yf, name, "name", &sec->name) == -1)
			goto out;
		if (registry_parse_coords(ld, item, sec) == -1)
			goto out;
		seen[i].id = sec->id;
		seen[i].line = yamlfile_line(ld->yf, id);
		i++;
	}
	if (registry_check_dups(ld, seen, i, "section") == -1)
		goto out;
	qsort(reg->sections, reg->n_sections, sizeof(*reg->sections),
	    registry_section_cmp);
	rc = 0;
out:
	free(seen);
	return rc;
}

/* yamlfile_strings() check for roles: a known role, not given twice. */
static bool
registry_check_role(void *arg, const char *item, char *why, size_t whylen)
{
	struct registry_load *ld = arg;
	int i = registry_find(registry_role_names, NELEM(registry_role_names),
	    item);

	if (i < 0) {
		snprintf(why, whylen, "unknown role '%s' (expected publisher, "
		    "subscriber or operator)", item);
		return false;
	}
	if (ld->roles & (1u << i)) {
		snprintf(why, whylen, "role '%s' is listed twice", item);
		return false;
	}
	ld->roles |= 1u << i;
	return true;
}

/*
 * yamlfile_strings() check for an endpoint's CA pins: a SHA-256 fingerprint,
 * 64 hex digits, plain or in pairs joined by ":" as openssl x509
 * -fingerprint -sha256 prints it.
 */
static bool
registry_check_ca(void *arg, const char *item, char *why, size_t whylen)
{
	size_t len = strlen(item), digits = 0;
	bool colons = len == 95;

	(void)arg;
	for (size_t i = 0; i < len; i++) {
		if (colons && i % 3 == 2) {
			if (item[i] != ':')
				break;
			continue;
		}
		if (!((item[i] >= '0' && item[i] <= '9') ||
		    (item[i] >= 'a' && item[i] <= 'f') ||
		    (item[i] >= 'A' && item[i] <= 'F')))
			break;
		digits++;
	}
	if (digits == 64 && (len == 64 || colons))
		return true;
	snprintf(why, whylen, "'%.100s' is not the SHA-256 fingerprint of a CA "
	    "certificate (64 hex digits, as `openssl x509 -noout -fingerprint "
	    "-sha256` prints them)", item);
	return false;
}

/* A checked fingerprint in its one form: 64 lower-case hex digits. */
static void
registry_ca_canonical(char *fp)
{
	char *out = fp;

	for (const char *p = fp; *p != '\0'; p++)
		if (*p != ':')
			*out++ = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' :
			    *p);
	*out = '\0';
}

static int
registry_parse_endpoint(struct registry_load *ld, struct fy_node *item,
    struct endpoint *ep)
{
	struct fy_node *id, *v;
	char **roles;
	size_t n;

	if (yamlfile_check_keys(ld->yf, item, "endpoint",
	    registry_endpoint_keys, NELEM(registry_endpoint_keys)) == -1 ||
	    (id = registry_require(ld, item, "id", "endpoint")) == NULL ||
	    yamlfile_string(ld->yf, id, "id", &ep->id) == -1)
		return -1;
	if (!registry_valid_idn(ep->id, strlen(ep->id)))
		return yamlfile_error(ld->yf, id, "id: '%s' is not an endpoint "
		    "id (expected [a-z0-9][a-z0-9-]{0,62}, the certificate "
		    "CN)", ep->id);
	if ((v = yamlfile_get(item, "country", NULL)) != NULL &&
	    registry_enum(ld, v, "country", registry_countries,
	    NELEM(registry_countries), "TR, BG or GR; leave it out for the "
	    "centre's own endpoints", &ep->country) == -1)
		return -1;
	if ((v = registry_require(ld, item, "kind", "endpoint")) == NULL ||
	    registry_enum(ld, v, "kind", registry_kinds, NELEM(registry_kinds),
	    "police, border_police, gendarmerie, customs or operator",
	    &ep->kind) == -1)
		return -1;
	if ((v = registry_require(ld, item, "name", "endpoint")) == NULL ||
	    yamlfile_string(ld->yf, v, "name", &ep->name) == -1)
		return -1;
	ld->roles = 0;
	if ((v = registry_require(ld, item, "roles", "endpoint")) == NULL ||
	    yamlfile_strings(ld->yf, v, "roles", false, 1, registry_check_role,
	    ld, &roles, &n) == -1)
		return -1;
	yamlfile_strings_free(roles, n);
	ep->roles = ld->roles;
	if ((v = yamlfile_get(item, "suspended", NULL)) != NULL &&
	    yamlfile_bool(ld->yf, v, "suspended", &ep->suspended) == -1)
		return -1;
	if ((v = yamlfile_get(item, "ca", NULL)) != NULL) {
		if (yamlfile_strings(ld->yf, v, "ca", true, 1, registry_check_ca,
		    NULL, &ep->ca, &ep->n_ca) == -1)
			return -1;
		for (size_t i = 0; i < ep->n_ca; i++) {
			registry_ca_canonical(ep->ca[i]);
			for (size_t k = 0; k < i; k++)
				if (strcmp(ep->ca[k], ep->ca[i]) == 0)
					return yamlfile_error(ld->yf, v, "ca: "
					    "%s is listed twice", ep->ca[i]);
		}
	}
	return 0;
}

static int
registry_parse_endpoints(struct registry_load *ld, struct fy_node *list)
{
	struct registry *reg = ld->reg;
	struct registry_seen *seen;
	struct fy_node *item;
	void *it = NULL;
	size_t i = 0;
	int rc = -1;

	reg->n_endpoints = (size_t)fy_node_sequence_item_count(list);
	reg->endpoints = xcalloc(reg->n_endpoints, sizeof(*reg->endpoints));
	seen = xcalloc(reg->n_endpoints, sizeof(*seen));
	while ((item = fy_node_sequence_iterate(list, &it)) != NULL) {
		if (registry_parse_endpoint(ld, item, &reg->endpoints[i]) == -1)
			goto out;
		seen[i].id = reg->endpoints[i].id;
		seen[i].line = yamlfile_line(ld->yf,
		    yamlfile_get(item, "id", NULL));
		i++;
	}
	if (registry_check_dups(ld, seen, i, "endpoint") == -1)
		goto out;
	qsort(reg->endpoints, reg->n_endpoints, sizeof(*reg->endpoints),
	    registry_endpoint_cmp);
	rc = 0;
out:
	free(seen);
	return rc;
}

/* yamlfile_strings() check for a rule's endpoints: known, with the role. */
static bool
registry_check_rule_endpoint(void *arg, const char *item, char *why,
    size_t whylen)
{
	struct registry_load *ld = arg;
	bool publish = ld->rule->action == ACL_PUBLISH;
	enum endpoint_role need = publish ? ROLE_PUBLISHER : ROLE_SUBSCRIBER;
	const struct endpoint *ep;

	if (strcmp(item, "*") == 0)
		return true;
	if ((ep = registry_endpoint(ld->reg, item)) == NULL) {
		snprintf(why, whylen, "unknown endpoint '%s'", item);
		return false;
	}
	if ((ep->roles & need) == 0) {
		snprintf(why, whylen, "'%s' lacks the %s role that a %s rule "
		    "needs", item, registry_role_name(need),
		    publish ? "publish" : "subscribe");
		return false;
	}
	return true;
}

/* yamlfile_strings() check for categories: "*" or a short name. */
static bool
registry_check_category(void *arg, const char *item, char *why, size_t whylen)
{
	const ProtobufCEnumDescriptor *desc = &ccc__v1__category__descriptor;
	char list[256];
	int value;

	(void)arg;
	if (strcmp(item, "*") == 0)
		return true;
	if (names_enum_parse(desc, item, &value) &&
	    strcmp(names_enum_short(desc, value), item) == 0)
		return true;
	snprintf(why, whylen, "unknown category '%s' (expected * or one of: %s)",
	    item, names_enum_list(desc, list, sizeof(list)));
	return false;
}

/* yamlfile_strings() check for sections: all, a whole border, or an id. */
static bool
registry_check_rule_section(void *arg, const char *item, char *why,
    size_t whylen)
{
	struct registry_load *ld = arg;
	size_t len = strlen(item);

	if (strcmp(item, "*") == 0 || registry_section(ld->reg, item) != NULL)
		return true;
	if (len >= 2 && strcmp(item + len - 2, "/*") == 0) {
		for (size_t i = 0; i < ld->reg->n_sections; i++)
			if (strlen(ld->reg->sections[i].border) == len - 2 &&
			    memcmp(ld->reg->sections[i].border, item,
			    len - 2) == 0)
				return true;
		snprintf(why, whylen, "no section is registered on border "
		    "'%.*s'", (int)(len - 2), item);
		return false;
	}
	snprintf(why, whylen, "unknown section '%s' (expected *, <border>/* "
	    "or a registered section id)", item);
	return false;
}

/* yamlfile_strings() check for topics: a valid pattern under alerts/. */
static bool
registry_check_topic(void *arg, const char *item, char *why, size_t whylen)
{
	char bad[200];

	(void)arg;
	if (!topic_pattern_check(item, bad, sizeof(bad))) {
		snprintf(why, whylen, "'%s': %s", item, bad);
		return false;
	}
	if (strncmp(item, "alerts/", 7) != 0) {
		snprintf(why, whylen, "'%s' does not start with alerts/", item);
		return false;
	}
	return true;
}

/* Categories "*" or names into the three fields of a rule. */
static int
registry_parse_categories(struct registry_load *ld, struct fy_node *node,
    int **out, size_t *nout, bool *all)
{
	char **cats;
	size_t n;

	if (yamlfile_strings(ld->yf, node, "categories", false, 0,
	    registry_check_category, ld, &cats, &n) == -1)
		return -1;
	*out = xcalloc(n ? n : 1, sizeof(**out));
	*nout = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(cats[i], "*") == 0)
			*all = true;
		else
			names_enum_parse(&ccc__v1__category__descriptor,
			    cats[i], &(*out)[(*nout)++]);
	}
	yamlfile_strings_free(cats, n);
	return 0;
}

static int
registry_parse_rule(struct registry_load *ld, struct fy_node *item,
    struct access_rule *rule)
{
	static const char *const actions[] = { "publish", "subscribe" };
	const char *const *wrong, *const *need;
	struct fy_node *id, *v, *k;
	char *action, what[128];

	if (yamlfile_check_keys(ld->yf, item, "access rule",
	    registry_rule_keys, NELEM(registry_rule_keys)) == -1 ||
	    (id = registry_require(ld, item, "id", "access rule")) == NULL ||
	    yamlfile_string(ld->yf, id, "id", &rule->id) == -1)
		return -1;
	if (!registry_valid_idn(rule->id, strlen(rule->id)))
		return yamlfile_error(ld->yf, id, "id: '%s' is not a rule id "
		    "(expected [a-z0-9][a-z0-9-]{0,62})", rule->id);
	if ((v = registry_require(ld, item, "action", "access rule")) == NULL ||
	    registry_enum(ld, v, "action", actions, NELEM(actions),
	    "publish or subscribe", &action) == -1)
		return -1;
	rule->action = strcmp(action, "publish") == 0 ? ACL_PUBLISH :
	    ACL_SUBSCRIBE;
	free(action);
	ld->rule = rule;

	if (rule->action == ACL_PUBLISH) {
		static const char *const pw[] = { "topics", NULL };
		static const char *const pn[] = { "endpoints", "categories",
		    "sections", NULL };
		wrong = pw;
		need = pn;
	} else {
		static const char *const sw[] = { "categories", "sections", NULL };
		static const char *const sn[] = { "endpoints", "topics", NULL };
		wrong = sw;
		need = sn;
	}
	for (; *wrong != NULL; wrong++) {
		(void)yamlfile_get(item, *wrong, &k);
		if (k != NULL)
			return yamlfile_error(ld->yf, k, "%s: %s", *wrong,
			    rule->action == ACL_PUBLISH ?
			    "a publish rule takes categories and sections, "
			    "not topics" :
			    "a subscribe rule takes topics, not categories or "
			    "sections");
	}
	snprintf(what, sizeof(what), "%s rule '%s'", rule->action ==
	    ACL_PUBLISH ? "publish" : "subscribe", rule->id);
	for (; *need != NULL; need++)
		if (registry_require(ld, item, *need, what) == NULL)
			return -1;

	if (yamlfile_strings(ld->yf, yamlfile_get(item, "endpoints", NULL),
	    "endpoints", false, 0, registry_check_rule_endpoint, ld,
	    &rule->endpoints, &rule->n_endpoints) == -1)
		return -1;
	if (rule->action == ACL_SUBSCRIBE)
		return yamlfile_strings(ld->yf, yamlfile_get(item, "topics",
		    NULL), "topics", false, 0, registry_check_topic, ld,
		    &rule->topics, &rule->n_topics);

	if (registry_parse_categories(ld, yamlfile_get(item, "categories",
	    NULL), &rule->categories, &rule->n_categories,
	    &rule->all_categories) == -1)
		return -1;
	return yamlfile_strings(ld->yf, yamlfile_get(item, "sections", NULL),
	    "sections", false, 0, registry_check_rule_section, ld,
	    &rule->sections, &rule->n_sections);
}

static int
registry_parse_rules(struct registry_load *ld, struct fy_node *list)
{
	struct registry *reg = ld->reg;
	struct registry_seen *seen;
	struct fy_node *item;
	void *it = NULL;
	size_t i = 0;
	int rc = -1;

	reg->n_rules = (size_t)fy_node_sequence_item_count(list);
	reg->rules = xcalloc(reg->n_rules, sizeof(*reg->rules));
	seen = xcalloc(reg->n_rules, sizeof(*seen));
	while ((item = fy_node_sequence_iterate(list, &it)) != NULL) {
		if (registry_parse_rule(ld, item, &reg->rules[i]) == -1)
			goto out;
		seen[i].id = reg->rules[i].id;
		seen[i].line = yamlfile_line(ld->yf,
		    yamlfile_get(item, "id", NULL));
		i++;
	}
	rc = registry_check_dups(ld, seen, i, "access rule");
out:
	free(seen);
	return rc;
}

/* yamlfile_strings() check for a route's origins: "*", a country, an endpoint. */
static bool
registry_check_origin(void *arg, const char *item, char *why, size_t whylen)
{
	struct registry_load *ld = arg;
	const struct endpoint *ep;

	if (strcmp(item, "*") == 0 || registry_find(registry_countries,
	    NELEM(registry_countries), item) >= 0)
		return true;
	if ((ep = registry_endpoint(ld->reg, item)) == NULL) {
		snprintf(why, whylen, "unknown origin '%s' (expected *, TR, BG, "
		    "GR or an endpoint id)", item);
		return false;
	}
	if ((ep->roles & ROLE_PUBLISHER) == 0) {
		snprintf(why, whylen, "origin '%s' lacks the publisher role, so "
		    "it publishes nothing", item);
		return false;
	}
	return true;
}

/* yamlfile_strings() check for a route's targets: subscriber endpoints. */
static bool
registry_check_target(void *arg, const char *item, char *why, size_t whylen)
{
	struct registry_load *ld = arg;
	const struct endpoint *ep = registry_endpoint(ld->reg, item);

	if (ep == NULL) {
		snprintf(why, whylen, "unknown endpoint '%s'%s", item,
		    strcmp(item, "*") == 0 ? " (a route names its targets one by "
		    "one)" : "");
		return false;
	}
	if ((ep->roles & ROLE_SUBSCRIBER) == 0) {
		snprintf(why, whylen, "'%s' lacks the subscriber role that a "
		    "route target needs", item);
		return false;
	}
	return true;
}

static int
registry_parse_route(struct registry_load *ld, struct fy_node *item,
    struct route_rule *rt)
{
	const ProtobufCEnumDescriptor *sev = &ccc__v1__severity__descriptor;
	struct fy_node *id, *v;
	char what[128], *s, list[128];

	if (yamlfile_check_keys(ld->yf, item, "route", registry_route_keys,
	    NELEM(registry_route_keys)) == -1 ||
	    (id = registry_require(ld, item, "id", "route")) == NULL ||
	    yamlfile_string(ld->yf, id, "id", &rt->id) == -1)
		return -1;
	if (!registry_valid_idn(rt->id, strlen(rt->id)))
		return yamlfile_error(ld->yf, id, "id: '%s' is not a route id "
		    "(expected [a-z0-9][a-z0-9-]{0,62})", rt->id);
	snprintf(what, sizeof(what), "route '%s'", rt->id);
	if ((v = registry_require(ld, item, "categories", what)) == NULL ||
	    registry_parse_categories(ld, v, &rt->categories,
	    &rt->n_categories, &rt->all_categories) == -1)
		return -1;
	if ((v = registry_require(ld, item, "sections", what)) == NULL ||
	    yamlfile_strings(ld->yf, v, "sections", false, 0,
	    registry_check_rule_section, ld, &rt->sections,
	    &rt->n_sections) == -1)
		return -1;
	if ((v = yamlfile_get(item, "min_severity", NULL)) != NULL) {
		if (yamlfile_string(ld->yf, v, "min_severity", &s) == -1)
			return -1;
		if (!names_enum_parse(sev, s, &rt->min_severity) ||
		    rt->min_severity == 0 ||
		    strcmp(names_enum_short(sev, rt->min_severity), s) != 0) {
			yamlfile_error(ld->yf, v, "min_severity: unknown severity "
			    "'%s' (expected one of: %s)", s,
			    names_enum_list(sev, list, sizeof(list)));
			free(s);
			return -1;
		}
		free(s);
	}
	if ((v = yamlfile_get(item, "origins", NULL)) != NULL &&
	    yamlfile_strings(ld->yf, v, "origins", false, 0,
	    registry_check_origin, ld, &rt->origins, &rt->n_origins) == -1)
		return -1;
	if ((v = registry_require(ld, item, "targets", what)) == NULL)
		return -1;
	return yamlfile_strings(ld->yf, v, "targets", false, 1,
	    registry_check_target, ld, &rt->targets, &rt->n_targets);
}

static int
registry_parse_routes(struct registry_load *ld, struct fy_node *list)
{
	struct registry *reg = ld->reg;
	struct registry_seen *seen;
	struct fy_node *item;
	void *it = NULL;
	size_t i = 0;
	int rc = -1;

	reg->n_routes = (size_t)fy_node_sequence_item_count(list);
	reg->routes = xcalloc(reg->n_routes ? reg->n_routes : 1,
	    sizeof(*reg->routes));
	seen = xcalloc(reg->n_routes ? reg->n_routes : 1, sizeof(*seen));
	while ((item = fy_node_sequence_iterate(list, &it)) != NULL) {
		if (registry_parse_route(ld, item, &reg->routes[i]) == -1)
			goto out;
		seen[i].id = reg->routes[i].id;
		seen[i].line = yamlfile_line(ld->yf,
		    yamlfile_get(item, "id", NULL));
		i++;
	}
	rc = registry_check_dups(ld, seen, i, "route");
out:
	free(seen);
	return rc;
}

static void
registry_free(struct registry *reg)
{
	size_t i;

	for (i = 0; i < reg->n_sections; i++) {
		free(reg->sections[i].id);
		free(reg->sections[i].border);
		free(reg->sections[i].name);
	}
	free(reg->sections);
	for (i = 0; i < reg->n_endpoints; i++) {
		free(reg->endpoints[i].id);
		free(reg->endpoints[i].country);
		free(reg->endpoints[i].kind);
		free(reg->endpoints[i].name);
		yamlfile_strings_free(reg->endpoints[i].ca,
		    reg->endpoints[i].n_ca);
	}
	free(reg->endpoints);
	for (i = 0; i < reg->n_rules; i++) {
		struct access_rule *r = &reg->rules[i];

		free(r->id);
		yamlfile_strings_free(r->endpoints, r->n_endpoints);
		free(r->categories);
		yamlfile_strings_free(r->sections, r->n_sections);
		yamlfile_strings_free(r->topics, r->n_topics);
	}
	free(reg->rules);
	for (i = 0; i < reg->n_routes; i++) {
		struct route_rule *rt = &reg->routes[i];

		free(rt->id);
		free(rt->categories);
		yamlfile_strings_free(rt->sections, rt->n_sections);
		yamlfile_strings_free(rt->origins, rt->n_origins);
		yamlfile_strings_free(rt->targets, rt->n_targets);
	}
	free(reg->routes);
	free(reg);
}

static int
registry_parse(struct yamlfile *yf, struct registry **out)
{
	struct registry_load ld = { .yf = yf };
	struct fy_node *root = yamlfile_root(yf), *v, *list;
	uint64_t version;

	ld.reg = xcalloc(1, sizeof(*ld.reg));
	atomic_init(&ld.reg->refs, 1);
	if (yamlfile_check_keys(yf, root, NULL, registry_top_keys,
	    NELEM(registry_top_keys)) == -1)
		goto fail;
	if ((v = registry_require(&ld, root, "version", "the registry")) ==
	    NULL || yamlfile_uint(yf, v, "version", 0, UINT32_MAX,
	    &version) == -1)
		goto fail;
	if (version != REGISTRY_VERSION) {
		yamlfile_error(yf, v, "version: unsupported registry version "
		    "%u (this broker reads version %d)", (unsigned)version,
		    REGISTRY_VERSION);
		goto fail;
	}
	if ((list = registry_list(&ld, root, "sections")) == NULL ||
	    registry_parse_sections(&ld, list) == -1 ||
	    (list = registry_list(&ld, root, "endpoints")) == NULL ||
	    registry_parse_endpoints(&ld, list) == -1 ||
	    (list = registry_list(&ld, root, "access_rules")) == NULL ||
	    registry_parse_rules(&ld, list) == -1)
		goto fail;
	if ((v = yamlfile_get(root, "revision", NULL)) != NULL) {
		uint64_t rev;

		if (yamlfile_uint(yf, v, "revision", 1, INT64_MAX, &rev) == -1)
			goto fail;
		ld.reg->doc_revision = rev;
	}
	if ((list = yamlfile_get(root, "routes", NULL)) != NULL &&
	    !yamlfile_is_null(list)) {
		if (!fy_node_is_sequence(list)) {
			yamlfile_error(yf, list, "routes: expected a list");
			goto fail;
		}
		if (registry_parse_routes(&ld, list) == -1)
			goto fail;
	}
	*out = ld.reg;
	return 0;

fail:
	registry_free(ld.reg);
	return -1;
}

int
registry_load(const char *path, struct registry **out, char *err,
    size_t errlen)
{
	struct yamlfile *yf;
	int rc;

	if (yamlfile_load(path, &yf, err, errlen) == -1)
		return -1;
	rc = registry_parse(yf, out);
	yamlfile_free(yf);
	return rc;
}

int
registry_load_string(const char *yaml, const char *name,
    struct registry **out, char *err, size_t errlen)
{
	struct yamlfile *yf;
	int rc;

	if (yamlfile_load_string(yaml, name, &yf, err, errlen) == -1)
		return -1;
	rc = registry_parse(yf, out);
	yamlfile_free(yf);
	return rc;
}

struct registry *
registry_ref(struct registry *reg)
{
	atomic_fetch_add(&reg->refs, 1);
	return reg;
}

void
registry_unref(struct registry *reg)
{
	if (reg != NULL && atomic_fetch_sub(&reg->refs, 1) == 1)
		registry_free(reg);
}

const struct endpoint *
registry_endpoint(const struct registry *reg, const char *id)
{
	if (reg->endpoints == NULL)
		return NULL;
	return bsearch(id, reg->endpoints, reg->n_endpoints,
	    sizeof(*reg->endpoints), registry_endpoint_keycmp);
}

const struct section *
registry_section(const struct registry *reg, const char *id)
{
	if (reg->sections == NULL)
		return NULL;
	return bsearch(id, reg->sections, reg->n_sections,
	    sizeof(*reg->sections), registry_section_keycmp);
}

const struct access_rule *
registry_rules(const struct registry *reg, size_t *n)
{
	*n = reg->n_rules;
	return reg->rules;
}

size_t
registry_nendpoints(const struct registry *reg)
{
	return reg->n_endpoints;
}

size_t
registry_nsections(const struct registry *reg)
{
	return reg->n_sections;
}

const char *
registry_role_name(enum endpoint_role role)
{
	unsigned bits = (unsigned)role;

	if (bits >= NELEM(registry_role_sets))
		return "unknown";
	return registry_role_sets[bits];
}

const struct route_rule *
registry_routes(const struct registry *reg, size_t *n)
{
	*n = reg->n_routes;
	return reg->routes;
}

const struct endpoint *
registry_endpoints(const struct registry *reg, size_t *n)
{
	*n = reg->n_endpoints;
	return reg->endpoints;
}

const struct section *
registry_sections(const struct registry *reg, size_t *n)
{
	*n = reg->n_sections;
	return reg->sections;
}

unsigned long long
registry_doc_revision(const struct registry *reg)
{
	return reg->doc_revision;
}

static json_t *
registry_json_strings(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *
registry_json_categories(bool all, const int *v, size_t n)
{
	json_t *a = json_array();

	if (all)
		json_array_append_new(a, json_string("*"));
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(names_enum_short(
		    &ccc__v1__category__descriptor, v[i])));
	return a;
}

json_t *
registry_to_json(const struct registry *reg)
{
	json_t *doc = json_object(), *secs = json_array(), *eps = json_array(),
	    *rules = json_array(), *routes = json_array(), *o, *roles;
	size_t i;
	unsigned b;

	json_object_set_new(doc, "version", json_integer(REGISTRY_VERSION));
	for (i = 0; i < reg->n_sections; i++) {
		const struct section *sec = &reg->sections[i];

		o = json_pack("{s:s, s:s}", "id", sec->id, "name", sec->name);
		if (sec->located) {
			json_object_set_new(o, "lat", json_real(sec->lat));
			json_object_set_new(o, "lon", json_real(sec->lon));
		}
		json_array_append_new(secs, o);
	}
	for (i = 0; i < reg->n_endpoints; i++) {
		const struct endpoint *ep = &reg->endpoints[i];

		o = json_object();
		json_object_set_new(o, "id", json_string(ep->id));
		if (ep->country != NULL)
			json_object_set_new(o, "country",
			    json_string(ep->country));
		json_object_set_new(o, "kind", json_string(ep->kind));
		json_object_set_new(o, "name", json_string(ep->name));
		roles = json_array();
		for (b = 0; b < NELEM(registry_role_names); b++)
			if (ep->roles & (1u << b))
				json_array_append_new(roles,
				    json_string(registry_role_names[b]));
		json_object_set_new(o, "roles", roles);
		if (ep->suspended)
			json_object_set_new(o, "suspended", json_true());
		if (ep->n_ca > 0)
			json_object_set_new(o, "ca",
			    registry_json_strings(ep->ca, ep->n_ca));
		json_array_append_new(eps, o);
	}
	for (i = 0; i < reg->n_rules; i++) {
		const struct access_rule *r = &reg->rules[i];

		o = json_object();
		json_object_set_new(o, "id", json_string(r->id));
		json_object_set_new(o, "action", json_string(r->action ==
		    ACL_PUBLISH ? "publish" : "subscribe"));
		json_object_set_new(o, "endpoints",
		    registry_json_strings(r->endpoints, r->n_endpoints));
		if (r->action == ACL_PUBLISH) {
			json_object_set_new(o, "categories",
			    registry_json_categories(r->all_categories,
			    r->categories, r->n_categories));
			json_object_set_new(o, "sections", registry_json_strings(
			    r->sections, r->n_sections));
		} else
			json_object_set_new(o, "topics", registry_json_strings(
			    r->topics, r->n_topics));
		json_array_append_new(rules, o);
	}
	for (i = 0; i < reg->n_routes; i++) {
		const struct route_rule *rt = &reg->routes[i];

		o = json_object();
		json_object_set_new(o, "id", json_string(rt->id));
		json_object_set_new(o, "categories", registry_json_categories(
		    rt->all_categories, rt->categories, rt->n_categories));
		json_object_set_new(o, "sections",
		    registry_json_strings(rt->sections, rt->n_sections));
		if (rt->min_severity != 0)
			json_object_set_new(o, "min_severity", json_string(
			    names_enum_short(&ccc__v1__severity__descriptor,
			    rt->min_severity)));
		if (rt->n_origins > 0)
			json_object_set_new(o, "origins", registry_json_strings(
			    rt->origins, rt->n_origins));
		json_object_set_new(o, "targets",
		    registry_json_strings(rt->targets, rt->n_targets));
		json_array_append_new(routes, o);
	}
	json_object_set_new(doc, "sections", secs);
	json_object_set_new(doc, "endpoints", eps);
	json_object_set_new(doc, "access_rules", rules);
	json_object_set_new(doc, "routes", routes);
	return doc;
}

/*
 * The shortest "%.Ng" text of v that strtod() reads back as v; buf holds at
 * least 32 bytes.
 */
static void
registry_real_text(double v, char *buf, size_t len)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

/*
 * A libfyaml node of fyd for the JSON value v (strings, integers, reals,
 * booleans).
 */
static struct fy_node *
registry_fy_node(struct fy_document *fyd, const json_t *v)
{
	struct fy_node *n = NULL, *k, *item;
	const char *key;
	char num[32];
	json_t *x;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		n = fy_node_create_mapping(fyd);
		json_object_foreach((json_t *)v, key, x) {
			k = fy_node_create_scalar_copy(fyd, key, FY_NT);
			item = registry_fy_node(fyd, x);
			if (n == NULL || k == NULL || item == NULL ||
			    fy_node_mapping_append(n, k, item) != 0)
				return NULL;
		}
		break;
	case JSON_ARRAY:
		n = fy_node_create_sequence(fyd);
		json_array_foreach(v, i, x)
			if (n == NULL || (item = registry_fy_node(fyd, x)) ==
			    NULL || fy_node_sequence_append(n, item) != 0)
				return NULL;
		break;
	case JSON_STRING:
		n = fy_node_create_scalar_copy(fyd, json_string_value(v),
		    json_string_length(v));
		break;
	case JSON_INTEGER:
		n = fy_node_create_scalarf(fyd, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		break;
	case JSON_REAL:
		registry_real_text(json_real_value(v), num, sizeof(num));
		n = fy_node_create_scalar_copy(fyd, num, FY_NT);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		n = fy_node_create_scalar_copy(fyd, json_is_true(v) ? "true" :
		    "false", FY_NT);
		break;
	default:
		break;
	}
	return n;
}

char *
registry_json_to_yaml(const json_t *doc, unsigned long long rev)
{
	struct fy_document *fyd;
	struct fy_node *root;
	char *yaml, *out = NULL, head[160];

	if ((fyd = fy_document_create(NULL)) == NULL)
		return NULL;
	if ((root = registry_fy_node(fyd, doc)) != NULL &&
	    fy_document_set_root(fyd, root) == 0 &&
	    (yaml = fy_emit_document_to_string(fyd, FYECF_MODE_BLOCK |
	    FYECF_WIDTH_INF | FYECF_INDENT_2 | FYECF_NO_ENDING_NEWLINE)) !=
	    NULL) {
		if (rev != 0)
			snprintf(head, sizeof(head), "# ccc registry, revision "
			    "%llu. Edit, then: ccc admin apply -f FILE\n"
			    "revision: %llu\n", rev, rev);
		else
			snprintf(head, sizeof(head), "# ccc registry\n");
		out = xmalloc(strlen(head) + strlen(yaml) + 2);
		strcpy(out, head);
		strcat(out, yaml);
		strcat(out, "\n");
		free(yaml);
	}
	fy_document_destroy(fyd);
	return out;
}
