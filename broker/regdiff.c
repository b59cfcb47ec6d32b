/*
 * regdiff.c — the difference between two registries and whether it widens
 * access (regdiff.h). Works on the registry's JSON form, where every item
 * has an "id" and lists are sets of strings.
 *
 * Must err towards "widens": a change whose effect it cannot prove narrow
 * needs a second operator.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "regdiff.h"
#include "topic.h"
#include "xmalloc.h"

/* The collections, with the singular name the change lines use. */
static const struct {
	const char	*key;
	const char	*what;
	bool		 widens_when_added;
} regdiff_colls[] = {
	{ "sections", "section", false },
	{ "endpoints", "endpoint", true },
	{ "access_rules", "access rule", true },
	{ "routes", "route", true },
};

static const char *const regdiff_severities[] = {
	"", "low", "medium", "high", "critical",
};

static void
regdiff_line(json_t *arr, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
regdiff_line(json_t *arr, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(arr, json_string(buf));
}

static json_t *
regdiff_find(const json_t *list, const char *id)
{
	size_t i;
	json_t *it;

	json_array_foreach(list, i, it)
		if (strcmp(json_string_value(json_object_get(it, "id")), id) == 0)
			return it;
	return NULL;
}

/* The list as "a, b, c" for a change line. */
static void
regdiff_fmt_list(const json_t *v, char *buf, size_t len)
{
	size_t i, off = 0;
	json_t *it;

	buf[0] = '\0';
	if (v == NULL) {
		snprintf(buf, len, "(none)");
		return;
	}
	if (!json_is_array(v)) {
		if (json_is_string(v))
			snprintf(buf, len, "%s", json_string_value(v));
		else if (json_is_number(v))	/* coordinates, to the micro-degree */
			snprintf(buf, len, "%.15g", json_number_value(v));
		else
			snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
		return;
	}
	json_array_foreach(v, i, it)
		if (off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
			    i ? ", " : "", json_string_value(it));
}

/*
 * Does one value of the old list cover x? "*" covers all; a section
 * pattern (a border, "/" and "*") covers the sections on that border; topic
 * patterns cover by topic_pattern_covers.
 */
static bool
regdiff_covered(const json_t *old, const char *field, const char *x)
{
	size_t i;
	json_t *it;

	json_array_foreach(old, i, it) {
		const char *o = json_string_value(it);
		size_t n = strlen(o);

		if (strcmp(o, "*") == 0 || strcmp(o, x) == 0)
			return true;
		if (strcmp(field, "sections") == 0 && n >= 2 &&
		    strcmp(o + n - 2, "/*") == 0 && strncmp(o, x, n - 1) == 0)
			return true;
		if (strcmp(field, "topics") == 0 && topic_pattern_covers(o, x))
			return true;
	}
	return false;
}

static int
regdiff_severity(const json_t *v)
{
	const char *s = json_string_value(v);

	for (size_t i = 1; s != NULL && i < sizeof(regdiff_severities) /
	    sizeof(regdiff_severities[0]); i++)
		if (strcmp(s, regdiff_severities[i]) == 0)
			return (int)i;
	return 0;
}

/* Does the change of field from o to n (either may be NULL) widen access? */
static bool
regdiff_field_widens(const char *coll, const char *field, const json_t *o,
    const json_t *n)
{
	size_t i;
	json_t *it;

	if (strcmp(field, "name") == 0)
		return false;
	/* where a section lies is for the map: it decides no access */
	if (strcmp(coll, "sections") == 0 && (strcmp(field, "lat") == 0 ||
	    strcmp(field, "lon") == 0))
		return false;
	/* which CAs may speak for an endpoint: any change needs four eyes */
	if (strcmp(coll, "endpoints") == 0 && strcmp(field, "ca") == 0)
		return true;
	if (strcmp(field, "suspended") == 0)	/* resumed widens */
		return json_is_true(o) && !json_is_true(n);
	if (strcmp(field, "min_severity") == 0)
		return regdiff_severity(n) < regdiff_severity(o);
	if (strcmp(coll, "routes") == 0 && strcmp(field, "origins") == 0) {
		if (n == NULL)			/* no list: every origin */
			return o != NULL;
		if (o == NULL)
			return false;
	}
	if (json_is_array(o) && json_is_array(n)) {
		json_array_foreach(n, i, it)
			if (!regdiff_covered(o, field, json_string_value(it)))
				return true;
		return false;
	}
	return true;	/* action, country, kind, or a list appearing */
}

static void
regdiff_item(struct regdiff *d, size_t c, const json_t *o, const json_t *n)
{
	const char *coll = regdiff_colls[c].key, *id =
	    json_string_value(json_object_get(n, "id")), *key;
	char before[512], after[512];
	json_t *v, *keys = json_object();

	/* every key of either side, in the new item's order first */
	json_object_foreach((json_t *)n, key, v)
		json_object_set_new(keys, key, json_true());
	json_object_foreach((json_t *)o, key, v)
		json_object_set_new(keys, key, json_true());
	json_object_foreach(keys, key, v) {
		const json_t *ov = json_object_get(o, key),
		    *nv = json_object_get(n, key);

		if (json_equal((json_t *)ov, (json_t *)nv) ||
		    (ov == NULL && nv == NULL))
			continue;
		regdiff_fmt_list(ov, before, sizeof(before));
		regdiff_fmt_list(nv, after, sizeof(after));
		regdiff_line(d->changes, "~ %s %s: %s: %s -> %s",
		    regdiff_colls[c].what, id, key, before, after);
		if (regdiff_field_widens(coll, key, ov, nv))
			regdiff_line(d->reasons, "%s %s: %s widened (%s -> %s)",
			    regdiff_colls[c].what, id, key, before, after);
	}
	json_decref(keys);
}

void
regdiff_compare(const json_t *old, const json_t *new_, struct regdiff *d)
{
	d->changes = json_array();
	d->reasons = json_array();
	for (size_t c = 0; c < sizeof(regdiff_colls) / sizeof(regdiff_colls[0]);
	    c++) {
		const json_t *ol = json_object_get(old, regdiff_colls[c].key),
		    *nl = json_object_get(new_, regdiff_colls[c].key), *o;
		json_t *it;
		size_t i;

		json_array_foreach(nl, i, it) {
			const char *id = json_string_value(json_object_get(it,
			    "id"));

			if ((o = regdiff_find(ol, id)) != NULL) {
				regdiff_item(d, c, o, it);
				continue;
			}
			regdiff_line(d->changes, "+ %s %s",
			    regdiff_colls[c].what, id);
			if (regdiff_colls[c].widens_when_added)
				regdiff_line(d->reasons, "new %s %s",
				    regdiff_colls[c].what, id);
		}
		json_array_foreach(ol, i, it) {
			const char *id = json_string_value(json_object_get(it,
			    "id"));

			if (regdiff_find(nl, id) == NULL)
				regdiff_line(d->changes, "- %s %s",
				    regdiff_colls[c].what, id);
		}
	}
}

bool
regdiff_widens(const struct regdiff *d)
{
	return json_array_size(d->reasons) > 0;
}

void
regdiff_free(struct regdiff *d)
{
	json_decref(d->changes);
	json_decref(d->reasons);
	d->changes = d->reasons = NULL;
}

char *
regdiff_join(const json_t *lines)
{
	size_t i, len = 1;
	json_t *it;
	char *out;

	json_array_foreach(lines, i, it)
		len += json_string_length(it) + 1;
	out = xmalloc(len);
	out[0] = '\0';
	json_array_foreach(lines, i, it) {
		if (i > 0)
			strcat(out, "\n");
		strcat(out, json_string_value(it));
	}
	return out;
}
