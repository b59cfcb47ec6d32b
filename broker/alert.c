/*
 * alert.c — what makes a published alert acceptable, and the stamps the
 * broker puts on it. Functions of the alert, the registry and a clock; the
 * only state kept is the digest's (alert_hash: the loop's thread).
 * Must never let through a string that is not valid UTF-8, an enum value the
 * schema does not define, or a field the broker owns (origin, published_at, audience).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "alert.h"
#include "names.h"
#include "timeutil.h"
#include "utf8.h"
#include "uuid.h"
#include "xmalloc.h"

/* Fill why with a field-prefixed message and return -1. */
static int __attribute__((format(printf, 4, 5)))
alert_fail(char *why, size_t whylen, const char *field, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(why, whylen, "field \"%s\": ", field);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < whylen)
		vsnprintf(why + n, whylen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

enum { OPTIONAL = 0, REQUIRED = 1 };
enum { MULTILINE = 0, ONELINE = 1 };

static int
alert_check_str(const char *field, const char *s, size_t max, int required,
    int oneline, char *why, size_t whylen)
{
	size_t len = strlen(s);

	if (len == 0)
		return required ? alert_fail(why, whylen, field, "required") : 0;
	if (len > max)
		return alert_fail(why, whylen, field, "longer than %zu bytes", max);
	if (oneline ? !utf8_valid_line(s) : !utf8_valid_text(s))
		return alert_fail(why, whylen, field, oneline ?
		    "not valid UTF-8 text on one line (no control characters)" :
		    "not valid UTF-8 text (no control characters but newline "
		    "and tab)");
	return 0;
}

static int
alert_check_enum(const char *field, const ProtobufCEnumDescriptor *d, int v,
    int required, char *why, size_t whylen)
{
	char names[256];

	if (v == 0 && !required)
		return 0;
	if (v == 0 || protobuf_c_enum_descriptor_get_value(d, v) == NULL)
		return alert_fail(why, whylen, field, "%s (one of: %s)",
		    v == 0 ? "required" : "unknown value",
		    names_enum_list(d, names, sizeof(names)));
	return 0;
}

/* Exactly n upper-case ASCII letters (ISO 3166 / ISO 4217 codes), or empty. */
static int
alert_check_code(const char *field, const char *s, size_t n, char *why,
    size_t whylen)
{
	size_t len = strlen(s);

	if (len == 0)
		return 0;
	if (len != n)
		goto bad;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			goto bad;
	return 0;
bad:
	return alert_fail(why, whylen, field, "expected %zu upper-case letters", n);
}

static int
alert_check_number(const char *field, double v, double min, double max,
    char *why, size_t whylen)
{
	if (!isfinite(v) || v < min || v > max)
		return alert_fail(why, whylen, field, "out of range %g..%g", min, max);
	return 0;
}

/* BCP 47 in the simple form ccc uses: "en", "tr", "el", "pt-BR"; or empty. */
static int
alert_check_language(const char *s, char *why, size_t whylen)
{
	size_t len = strlen(s), i, seg = 0;

	if (len == 0)
		return 0;
	if (len > 35)
		goto bad;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '-') {
			if (seg == 0 || i == len - 1)
				goto bad;
			seg = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9')) || ++seg > 8)
			goto bad;
		if (i < 3 && !(c >= 'a' && c <= 'z'))	/* primary subtag */
			goto bad;
	}
	if (strcspn(s, "-") < 2 || strcspn(s, "-") > 3)
		goto bad;
	return 0;
bad:
	return alert_fail(why, whylen, "language", "not a language tag such as "
	    "\"en\", \"tr\", \"bg\" or \"el\"");
}

static int
alert_check_details(const Ccc__V1__Alert *a, char *why, size_t whylen)
{
	char f[64];

	if (a->persons != NULL) {
		if (a->persons->count > 100000)
			return alert_fail(why, whylen, "persons.count",
			    "out of range 0..100000");
		if (a->persons->n_nationalities > ALERT_LIST_MAX)
			return alert_fail(why, whylen, "persons.nationalities",
			    "more than %d entries", ALERT_LIST_MAX);
		for (size_t i = 0; i < a->persons->n_nationalities; i++) {
			snprintf(f, sizeof(f), "persons.nationalities[%zu]", i);
			if (strlen(a->persons->nationalities[i]) == 0 ||
			    alert_check_code(f, a->persons->nationalities[i], 2,
			    why, whylen) < 0)
				return alert_fail(why, whylen, f, "expected an "
				    "ISO 3166 code such as \"SY\"");
		}
	}
	if (a->n_vehicles > ALERT_LIST_MAX)
		return alert_fail(why, whylen, "vehicles", "more than %d entries",
		    ALERT_LIST_MAX);
	for (size_t i = 0; i < a->n_vehicles; i++) {
		const Ccc__V1__Vehicle *v = a->vehicles[i];
		struct { const char *name, *val; } s[] = {
			{ "plate", v->plate }, { "make", v->make },
			{ "model", v->model }, { "colour", v->colour },
		};
		for (size_t k = 0; k < sizeof(s) / sizeof(s[0]); k++) {
			snprintf(f, sizeof(f), "vehicles[%zu].%s", i, s[k].name);
			if (alert_check_str(f, s[k].val, 64, OPTIONAL, ONELINE,
			    why, whylen) < 0)
				return -1;
		}
		snprintf(f, sizeof(f), "vehicles[%zu].registration_country", i);
		if (alert_check_code(f, v->registration_country, 2, why, whylen) < 0)
			return -1;
	}
	if (a->n_drugs > ALERT_LIST_MAX)
		return alert_fail(why, whylen, "drugs", "more than %d entries",
		    ALERT_LIST_MAX);
	for (size_t i = 0; i < a->n_drugs; i++) {
		snprintf(f, sizeof(f), "drugs[%zu].substance", i);
		if (alert_check_str(f, a->drugs[i]->substance, 128, REQUIRED,
		    ONELINE, why, whylen) < 0)
			return -1;
		snprintf(f, sizeof(f), "drugs[%zu].quantity", i);
		if (alert_check_number(f, a->drugs[i]->quantity, 0, 1e12, why,
		    whylen) < 0)
			return -1;
		snprintf(f, sizeof(f), "drugs[%zu].unit", i);
		if (alert_check_str(f, a->drugs[i]->unit, 16, OPTIONAL, ONELINE,
		    why, whylen) < 0)
			return -1;
	}
	if (a->n_goods > ALERT_LIST_MAX)
		return alert_fail(why, whylen, "goods", "more than %d entries",
		    ALERT_LIST_MAX);
	for (size_t i = 0; i < a->n_goods; i++) {
		const Ccc__V1__Goods *g = a->goods[i];

		snprintf(f, sizeof(f), "goods[%zu].description", i);
		if (alert_check_str(f, g->description, 512, REQUIRED, ONELINE,
		    why, whylen) < 0)
			return -1;
		snprintf(f, sizeof(f), "goods[%zu].hs_code", i);
		if (strlen(g->hs_code) > 0 && (strlen(g->hs_code) < 2 ||
		    strlen(g->hs_code) > 10 ||
		    strspn(g->hs_code, "0123456789") != strlen(g->hs_code)))
			return alert_fail(why, whylen, f, "expected 2 to 10 digits");
		snprintf(f, sizeof(f), "goods[%zu].declared_value", i);
		if (alert_check_number(f, g->declared_value, 0, 1e15, why,
		    whylen) < 0)
			return -1;
		snprintf(f, sizeof(f), "goods[%zu].currency", i);
		if (alert_check_code(f, g->currency, 3, why, whylen) < 0)
			return -1;
	}
	if (a->route != NULL) {
		struct { const char *name, *val; } s[] = {
			{ "route.from", a->route->from }, { "route.to", a->route->to },
			{ "route.crossing", a->route->crossing },
		};
		for (size_t k = 0; k < sizeof(s) / sizeof(s[0]); k++)
			if (alert_check_str(s[k].name, s[k].val, 128, OPTIONAL,
			    ONELINE, why, whylen) < 0)
				return -1;
	}
	return 0;
}

int
alert_validate(const Ccc__V1__Alert *a, const struct registry *reg,
    int64_t now_us, char *why, size_t whylen)
{
	if (a->id[0] != '\0' && !uuid_valid(a->id))
		return alert_fail(why, whylen, "id", "not a lower-case UUID "
		    "(leave it empty and the broker assigns one)");
	if (alert_check_enum("category", &ccc__v1__category__descriptor,
	    a->category, REQUIRED, why, whylen) < 0 ||
	    alert_check_enum("severity", &ccc__v1__severity__descriptor,
	    a->severity, REQUIRED, why, whylen) < 0 ||
	    alert_check_enum("handling", &ccc__v1__handling__descriptor,
	    a->handling, REQUIRED, why, whylen) < 0 ||
	    alert_check_enum("grading", &ccc__v1__grading__descriptor,
	    a->grading, OPTIONAL, why, whylen) < 0 ||
	    alert_check_enum("tlp", &ccc__v1__tlp__descriptor,
	    a->tlp, OPTIONAL, why, whylen) < 0)
		return -1;
	if (alert_check_str("section", a->section, 128, REQUIRED, ONELINE,
	    why, whylen) < 0)
		return -1;
	if (registry_section(reg, a->section) == NULL)
		return alert_fail(why, whylen, "section", "unknown section \"%s\"",
		    a->section);
	if (alert_check_str("summary", a->summary, ALERT_SUMMARY_MAX, REQUIRED,
	    ONELINE, why, whylen) < 0 ||
	    alert_check_str("details", a->details, ALERT_DETAILS_MAX, OPTIONAL,
	    MULTILINE, why, whylen) < 0 ||
	    alert_check_str("remarks", a->remarks, ALERT_REMARKS_MAX, OPTIONAL,
	    MULTILINE, why, whylen) < 0)
		return -1;
	if (a->location != NULL &&
	    (alert_check_number("location.lat", a->location->lat, -90, 90, why,
	    whylen) < 0 ||
	    alert_check_number("location.lon", a->location->lon, -180, 180, why,
	    whylen) < 0))
		return -1;
	if (a->observed_at < 0 || a->observed_at > now_us + ALERT_FUTURE_SKEW_US)
		return alert_fail(why, whylen, "observed_at", "%s",
		    a->observed_at < 0 ? "before 1970" :
		    "more than an hour in the future");
	if (a->expires_at != 0 && a->expires_at <= now_us)
		return alert_fail(why, whylen, "expires_at", "already past");
	if (a->expires_at > TIME_MAX_US)	/* no RFC 3339 form: JSON could not carry it */
		return alert_fail(why, whylen, "expires_at", "after "
		    "9999-12-31T23:59:59.999999Z");
	if (alert_check_language(a->language, why, whylen) < 0)
		return -1;
	if (a->n_references > ALERT_LIST_MAX)
		return alert_fail(why, whylen, "references", "more than %d entries",
		    ALERT_LIST_MAX);
	for (size_t i = 0; i < a->n_references; i++)
		if (!uuid_valid(a->references[i])) {
			char f[48];

			snprintf(f, sizeof(f), "references[%zu]", i);
			return alert_fail(why, whylen, f, "not an alert id (UUID)");
		}
	if (a->exercise && a->n_recipients > 0)
		return alert_fail(why, whylen, "recipients", "an exercise alert "
		    "names no recipients: it reaches only subscriptions to "
		    "exercise/ topics");
	if (a->n_recipients > ALERT_LIST_MAX)
		return alert_fail(why, whylen, "recipients", "more than %d "
		    "entries", ALERT_LIST_MAX);
	for (size_t i = 0; i < a->n_recipients; i++) {
		char f[48];

		snprintf(f, sizeof(f), "recipients[%zu]", i);
		if (registry_endpoint(reg, a->recipients[i]) == NULL)
			return alert_fail(why, whylen, f, "unknown endpoint "
			    "\"%.64s\"", a->recipients[i]);
		for (size_t j = 0; j < i; j++)
			if (strcmp(a->recipients[j], a->recipients[i]) == 0)
				return alert_fail(why, whylen, f, "\"%s\" is "
				    "named twice", a->recipients[i]);
	}
	return alert_check_details(a, why, whylen);
}

void
alert_topic(const Ccc__V1__Alert *a, char topic[TOPIC_MAX_LEN + 1])
{
	int n = snprintf(topic, TOPIC_MAX_LEN + 1, "%s%s/%s",
	    a->exercise ? TOPIC_EXERCISE : TOPIC_LIVE,
	    names_enum_short(&ccc__v1__category__descriptor, a->category),
	    a->section);

	/* validation bounds the section to 128 bytes, so this cannot happen */
	if (n < 0 || n > TOPIC_MAX_LEN)
		topic[0] = '\0';
}

/* Replace a protobuf-c string field (which may point at the shared "" default). */
static void
alert_set_str(char **field, const char *value)
{
	if (*field != NULL && *field != protobuf_c_empty_string)
		free(*field);
	*field = xstrdup(value);
}

void
alert_assign_id(Ccc__V1__Alert *a, int64_t now_us)
{
	char id[UUID_STRLEN];

	if (a->id[0] != '\0')
		return;
	uuid_v7(now_us, id);
	alert_set_str(&a->id, id);
}

void
alert_stamp(Ccc__V1__Alert *a, const char *origin, int64_t now_us)
{
	alert_assign_id(a, now_us);
	alert_set_str(&a->origin, origin);
	a->published_at = now_us;
}

void
alert_set_audience(Ccc__V1__Alert *a, char *const *ids, size_t n)
{
	for (size_t i = 0; i < a->n_audience; i++)
		free(a->audience[i]);
	free(a->audience);
	a->audience = NULL;
	a->n_audience = 0;
	if (n == 0)
		return;
	a->audience = xcalloc(n, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		a->audience[i] = xstrdup(ids[i]);
	a->n_audience = n;
}

/*
 * The digest's state, kept from one alert to the next (the loop's thread
 * only): SHA-256 fetched once (OpenSSL 3 looks EVP_sha256() up again at
 * every use), one digest context reset for each alert instead of made and
 * freed, and the packed alert's buffer, grown to the largest alert seen
 * (bounded by the largest frame a session takes). No allocation per
 * publish once warm.
 */
static struct {
	EVP_MD		*sha256;
	EVP_MD_CTX	*ctx;
	uint8_t		*buf;
	size_t		 cap;
} alert_hash;

void
alert_digest(Ccc__V1__Alert *a, uint8_t digest[32])
{
	size_t n;
	unsigned int mdlen = 32;

	/* cleared to the shared default "" that protobuf-c never frees */
	if (a->origin != NULL && a->origin != protobuf_c_empty_string)
		free(a->origin);
	a->origin = (char *)protobuf_c_empty_string;
	a->published_at = 0;
	alert_set_audience(a, NULL, 0);
	n = ccc__v1__alert__get_packed_size(a);
	if (n > alert_hash.cap) {
		free(alert_hash.buf);
		alert_hash.buf = xmalloc(n);
		alert_hash.cap = n;
	}
	if (n > 0)
		ccc__v1__alert__pack(a, alert_hash.buf);
	if (alert_hash.sha256 == NULL)
		alert_hash.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (alert_hash.ctx == NULL)
		alert_hash.ctx = EVP_MD_CTX_new();
	if (alert_hash.sha256 == NULL || alert_hash.ctx == NULL ||
	    EVP_DigestInit_ex2(alert_hash.ctx, alert_hash.sha256, NULL) != 1 ||
	    EVP_DigestUpdate(alert_hash.ctx, alert_hash.buf, n) != 1 ||
	    EVP_DigestFinal_ex(alert_hash.ctx, digest, &mdlen) != 1)
		/* the one-shot form, as before: it fails only without memory */
		EVP_Digest(n > 0 ? alert_hash.buf : (const uint8_t *)"", n,
		    digest, &mdlen, EVP_sha256(), NULL);
}
