/*
 * console_api.c — the console's JSON endpoints: GET /api/me, /api/sections,
 * /api/history and /api/alerts/ID (console.h; docs/security.md, "The
 * console listener").
 *
 * Owns: the answers' JSON, the history's filters and its bounded walk over
 * the store (pages of CONSOLE_PAGE alerts, CONSOLE_PAGES pages a request at
 * most), and the one visibility rule of the console, console_may_see(): the
 * endpoint's subscribe rules (acl_may_subscribe on the alert's topic) and
 * the disclosure policy (policy_stored_may_reach). The feed shows alerts
 * through the same summary (console_summary).
 *
 * Must never: show an alert the endpoint could not subscribe to or that the
 * disclosure policy keeps from it, or say whether such an alert exists (the
 * detail answers 404 as for no alert); put persons, vehicles, details,
 * remarks or locations in a summary; block the loop (the store is read on
 * its writer thread); keep a request past its answer.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "acl.h"
#include "audit.h"
#include "console.h"
#include "log.h"
#include "names.h"
#include "pbjson.h"
#include "policy.h"
#include "registry.h"
#include "server.h"
#include "store.h"
#include "timeutil.h"
#include "xmalloc.h"

#define CONSOLE_PAGE		500	/* alerts read per store operation */
#define CONSOLE_PAGES		20	/* store operations per history request */
#define CONSOLE_LIMIT_MAX	200	/* alerts a history answer holds at most */
#define CONSOLE_LIMIT_DEF	50
#define CONSOLE_DAY_US		(INT64_C(86400) * 1000000)
#define CONSOLE_SKEW_US		(INT64_C(60) * 1000000)	/* published_at may step back this far */

/* ---- visibility and summaries ------------------------------------------- */

bool
console_may_see(const struct console_who *who, const Ccc__V1__Alert *a,
    const char *topic)
{
	char why[256];

	return acl_may_subscribe(who->reg, who->ep, topic, why, sizeof(why)) &&
	    policy_stored_may_reach(a, who->endpoint);
}

/* Set key to the short name of value in desc, unless unset. */
static void
console_enum(json_t *o, const char *key, const ProtobufCEnumDescriptor *desc,
    int value)
{
	const char *name = value != 0 ? names_enum_short(desc, value) : NULL;

	if (name != NULL)
		json_object_set_new(o, key, json_string(name));
}

/* Set key to s, unless empty; false when s is not UTF-8. */
static bool
console_str(json_t *o, const char *key, const char *s)
{
	json_t *v;

	if (s == NULL || s[0] == '\0')
		return true;
	if ((v = json_string(s)) == NULL)
		return false;
	json_object_set_new(o, key, v);
	return true;
}

json_t *
console_summary(const Ccc__V1__Alert *a, uint64_t seq, const char *topic,
    int64_t now)
{
	json_t *o = json_object();
	char when[40];

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "seq", json_integer((json_int_t)seq));
	if (!console_str(o, "id", a->id) || !console_str(o, "topic", topic) ||
	    !console_str(o, "origin", a->origin))
		goto bad;
	if (a->published_at != 0)
		json_object_set_new(o, "published_at", json_string(
		    time_format_rfc3339(a->published_at, when, sizeof(when))));
	console_enum(o, "category", &ccc__v1__category__descriptor,
	    a->category);
	console_enum(o, "severity", &ccc__v1__severity__descriptor,
	    a->severity);
	if (!console_str(o, "section", a->section) ||
	    !console_str(o, "summary", a->summary))
		goto bad;
	console_enum(o, "handling", &ccc__v1__handling__descriptor,
	    a->handling);
	console_enum(o, "tlp", &ccc__v1__tlp__descriptor, a->tlp);
	console_enum(o, "grading", &ccc__v1__grading__descriptor, a->grading);
	json_object_set_new(o, "restricted", json_boolean(policy_restricted(a)));
	if (a->expires_at != 0 && a->expires_at <= now)
		json_object_set_new(o, "expired", json_true());
	return o;
bad:
	json_decref(o);
	return NULL;
}

/* ---- /api/me and /api/sections ------------------------------------------ */

json_t *
console_api_me(struct server *srv, const struct console_who *who)
{
	const struct endpoint *ep = who->ep;
	json_t *o = json_object(), *roles = json_array(), *topics = json_array();
	json_t *subject;
	char broker[64];
	size_t n;

	(void)srv;
	json_object_set_new(o, "endpoint", json_string(ep->id));
	console_str(o, "name", ep->name);
	console_str(o, "country", ep->country);
	console_str(o, "kind", ep->kind);
	for (unsigned bit = ROLE_PUBLISHER; bit <= ROLE_OPERATOR; bit <<= 1)
		if (ep->roles & bit)
			json_array_append_new(roles, json_string(
			    registry_role_name(bit)));
	json_object_set_new(o, "roles", roles);
	/* a certificate's subject need not be UTF-8 (RFC 2253 escapes it) */
	subject = json_string(who->subject);
	json_object_set_new(o, "subject", subject != NULL ? subject :
	    json_string(""));
	json_object_set_new(o, "fingerprint", json_string(who->fingerprint));
	json_object_set_new(o, "csrf", json_string(who->csrf));
	/* the patterns the subscribe rules give it (none without the role) */
	n = acl_subscribe_patterns(who->reg, ep, NULL, 0);
	if (n > 0) {
		const char **pats = xcalloc(n, sizeof(*pats));

		acl_subscribe_patterns(who->reg, ep, pats, n);
		for (size_t i = 0; i < n; i++)
			json_array_append_new(topics, json_string(pats[i]));
		free(pats);
	}
	json_object_set_new(o, "topics", topics);
	snprintf(broker, sizeof(broker), "cccd %s", CCC_VERSION);
	json_object_set_new(o, "broker", json_string(broker));
	return o;
}

/* The short names of the values of desc, unspecified (0) left out. */
static json_t *
console_enum_names(const ProtobufCEnumDescriptor *desc)
{
	json_t *a = json_array();
	const char *name;

	for (unsigned i = 0; i < desc->n_values; i++)
		if (desc->values[i].value != 0 && (name = names_enum_short(desc,
		    desc->values[i].value)) != NULL)
			json_array_append_new(a, json_string(name));
	return a;
}

json_t *
console_api_sections(const struct registry *reg)
{
	const struct section *secs;
	json_t *o = json_object(), *list = json_array(), *s;
	size_t n;

	secs = registry_sections(reg, &n);
	for (size_t i = 0; i < n; i++) {
		s = json_object();
		json_object_set_new(s, "id", json_string(secs[i].id));
		json_object_set_new(s, "border", json_string(secs[i].border));
		console_str(s, "name", secs[i].name);
		if (secs[i].located) {
			json_object_set_new(s, "lat", json_real(secs[i].lat));
			json_object_set_new(s, "lon", json_real(secs[i].lon));
		}
		json_array_append_new(list, s);
	}
	json_object_set_new(o, "sections", list);
	json_object_set_new(o, "categories",
	    console_enum_names(&ccc__v1__category__descriptor));
	json_object_set_new(o, "severities",
	    console_enum_names(&ccc__v1__severity__descriptor));
	json_object_set_new(o, "handling",
	    console_enum_names(&ccc__v1__handling__descriptor));
	return o;
}

/* ---- /api/history ----------------------------------------------------------- */

int
console_history_query(const char *query, int64_t now,
    struct console_history_q *h, char *why, size_t whylen)
{
	struct evkeyvalq kv;
	struct evkeyval *e;
	uint64_t v;
	int rc = -1;

	memset(h, 0, sizeof(*h));
	h->from = now - CONSOLE_DAY_US;
	h->to = INT64_MAX;
	h->limit = CONSOLE_LIMIT_DEF;
	TAILQ_INIT(&kv);
	if (evhttp_parse_query_str(query, &kv) != 0) {
		snprintf(why, whylen, "the query string cannot be read");
		return -1;
	}
	TAILQ_FOREACH(e, &kv, next) {
		const char *k = e->key, *val = e->value;

		if (strcmp(k, "from") == 0 || strcmp(k, "to") == 0) {
			if (console_time(val, k[0] == 'f' ? &h->from :
			    &h->to) < 0) {
				snprintf(why, whylen, "%s: not an RFC 3339 time "
				    "or microseconds since the epoch", k);
				goto out;
			}
		} else if (strcmp(k, "section") == 0) {
			if (strlen(val) >= sizeof(h->section)) {
				snprintf(why, whylen, "section: too long");
				goto out;
			}
			snprintf(h->section, sizeof(h->section), "%s", val);
		} else if (strcmp(k, "category") == 0) {
			if (!names_enum_parse(&ccc__v1__category__descriptor,
			    val, &h->category)) {
				snprintf(why, whylen, "category: unknown name");
				goto out;
			}
		} else if (strcmp(k, "severity") == 0) {
			if (!names_enum_parse(&ccc__v1__severity__descriptor,
			    val, &h->severity)) {
				snprintf(why, whylen, "severity: unknown name");
				goto out;
			}
		} else if (strcmp(k, "q") == 0) {
			if (strlen(val) >= sizeof(h->q)) {
				snprintf(why, whylen, "q: longer than %zu bytes",
				    sizeof(h->q) - 1);
				goto out;
			}
			snprintf(h->q, sizeof(h->q), "%s", val);
		} else if (strcmp(k, "after") == 0) {
			if (console_uint(val, INT64_MAX, &h->after) < 0) {
				snprintf(why, whylen, "after: not a seq");
				goto out;
			}
		} else if (strcmp(k, "limit") == 0) {
			if (console_uint(val, CONSOLE_LIMIT_MAX, &v) < 0 ||
			    v == 0) {
				snprintf(why, whylen, "limit: 1 to %d",
				    CONSOLE_LIMIT_MAX);
				goto out;
			}
			h->limit = (unsigned)v;
		} else {
			snprintf(why, whylen, "unknown parameter \"%.40s\"", k);
			goto out;
		}
	}
	if (h->to < h->from) {
		snprintf(why, whylen, "to is before from");
		goto out;
	}
	rc = 0;
out:
	evhttp_clear_headers(&kv);
	return rc;
}

/* One history request, across its store pages. */
struct console_hist {
	struct evhttp_request		*req;
	struct server			*srv;
	struct console_who		 who;	/* a copy; who.reg referenced */
	struct console_history_q	 h;
	json_t				*alerts;
	uint64_t			 after;	/* the last seq looked at */
	unsigned			 pages;
	bool				 done;	/* limit reached or past to */
};

/* Case-insensitive substring (ASCII folding). */
static bool
console_contains(const char *hay, const char *needle)
{
	return needle[0] == '\0' || (hay != NULL && strcasestr(hay, needle) !=
	    NULL);
}

static void	console_hist_page(void *, const struct store_result *);

static void
console_hist_read(struct console_hist *ch)
{
	struct audit_rec ar = {
		.endpoint = ch->who.endpoint, .subject = ch->who.subject,
		.fingerprint = ch->who.fingerprint, .peer = ch->who.peer,
		.detail = "console",
	};

	ch->pages++;
	store_history(server_store(ch->srv), ch->h.from, ch->after, INT64_MAX,
	    CONSOLE_PAGE, &ar, console_hist_page, ch);
}

static void
console_hist_end(struct console_hist *ch, bool more)
{
	json_t *o = json_object();

	json_object_set_new(o, "alerts", ch->alerts);
	json_object_set_new(o, "next_after", json_integer(
	    (json_int_t)ch->after));
	json_object_set_new(o, "more", json_boolean(more));
	console_json(ch->req, 200, o);
	registry_unref(ch->who.reg);
	free(ch);
}

/* Whether row passes the filters; decodes it into *out (caller frees). */
static bool
console_hist_match(struct console_hist *ch, const struct store_row *row,
    Ccc__V1__Alert **out)
{
	Ccc__V1__Alert *a = ccc__v1__alert__unpack(NULL, row->body_len,
	    row->body);

	*out = a;
	if (a == NULL)
		return false;
	if (a->published_at > ch->h.to) {
		/* publishing order, but for a clock step: nothing later fits */
		if (a->published_at > ch->h.to + CONSOLE_SKEW_US)
			ch->done = true;
		return false;
	}
	return (ch->h.section[0] == '\0' || strcmp(a->section,
	    ch->h.section) == 0) &&
	    (ch->h.category == 0 || (int)a->category == ch->h.category) &&
	    (ch->h.severity == 0 || (int)a->severity == ch->h.severity) &&
	    console_contains(a->summary, ch->h.q) &&
	    console_may_see(&ch->who, a, row->topic);
}

static void
console_hist_page(void *arg, const struct store_result *res)
{
	struct console_hist *ch = arg;
	int64_t now = time_now_us();
	Ccc__V1__Alert *a;
	json_t *s;

	if (res->status != STORE_OK) {
		console_error(ch->req, 503, "store", "The history could not be "
		    "read; try again.");
		json_decref(ch->alerts);
		registry_unref(ch->who.reg);
		free(ch);
		return;
	}
	for (size_t i = 0; i < res->nrows && !ch->done; i++) {
		const struct store_row *row = &res->rows[i];

		if (console_hist_match(ch, row, &a)) {
			if ((s = console_summary(a, row->tag, row->topic,
			    now)) != NULL)
				json_array_append_new(ch->alerts, s);
			if (json_array_size(ch->alerts) >= ch->h.limit)
				ch->done = true;
		}
		if (a != NULL)
			ccc__v1__alert__free_unpacked(a, NULL);
		if (!ch->done || json_array_size(ch->alerts) >= ch->h.limit)
			ch->after = row->tag;
	}
	if (ch->done) {
		/* full: there may be more; past "to": there is not */
		console_hist_end(ch, json_array_size(ch->alerts) >=
		    ch->h.limit);
		return;
	}
	if (res->nrows < CONSOLE_PAGE) {
		console_hist_end(ch, false);
		return;
	}
	if (ch->pages >= CONSOLE_PAGES) {
		console_hist_end(ch, true);	/* the work bound */
		return;
	}
	console_hist_read(ch);
}

void
console_api_history(struct server *srv, struct evhttp_request *req,
    const struct console_who *who, const char *query)
{
	struct console_hist *ch;
	char why[200], msg[300];

	ch = xcalloc(1, sizeof(*ch));
	if (console_history_query(query, time_now_us(), &ch->h, why,
	    sizeof(why)) < 0) {
		free(ch);
		snprintf(msg, sizeof(msg), "Bad history query: %s.", why);
		console_error(req, 400, "bad_query", msg);
		return;
	}
	ch->req = req;
	ch->srv = srv;
	ch->who = *who;
	ch->who.reg = registry_ref(who->reg);
	ch->alerts = json_array();
	ch->after = ch->h.after;
	console_hist_read(ch);
}

/* ---- /api/alerts/ID ---------------------------------------------------------- */

/* One detail request. */
struct console_detail {
	struct evhttp_request		*req;
	struct console_who		 who;	/* a copy; who.reg referenced */
};

static void
console_detail_done(void *arg, const struct store_result *res)
{
	struct console_detail *cd = arg;
	const struct store_row *row;
	Ccc__V1__Alert *a = NULL;
	json_t *o;

	/* an id several origins used (a store from before ids were unique): as none */
	if (res->status == STORE_NOT_FOUND || res->status == STORE_ID_TAKEN ||
	    (res->status == STORE_OK && res->nrows != 1)) {
		console_error(cd->req, 404, "not_found", "There is no such "
		    "alert, or this endpoint may not see it.");
		goto out;
	}
	if (res->status != STORE_OK) {
		console_error(cd->req, 503, "store", "The alert could not be "
		    "read; try again.");
		goto out;
	}
	row = &res->rows[0];
	a = ccc__v1__alert__unpack(NULL, row->body_len, row->body);
	if (a == NULL || !console_may_see(&cd->who, a, row->topic)) {
		console_error(cd->req, 404, "not_found", "There is no such "
		    "alert, or this endpoint may not see it.");
		goto out;
	}
	if ((o = pbjson_from_message(&a->base, PBJSON_CCC)) == NULL) {
		console_error(cd->req, 500, "internal", "The alert cannot be "
		    "shown as JSON.");
		goto out;
	}
	json_object_set_new(o, "seq", json_integer((json_int_t)row->tag));
	json_object_set_new(o, "topic", json_string(row->topic));
	if (a->expires_at != 0 && a->expires_at <= time_now_us())
		json_object_set_new(o, "expired", json_true());
	console_json(cd->req, 200, o);
out:
	if (a != NULL)
		ccc__v1__alert__free_unpacked(a, NULL);
	registry_unref(cd->who.reg);
	free(cd);
}

/* An alert id as the broker gives them: a canonical lower-case UUID. */
static bool
console_uuid_ok(const char *id)
{
	if (strlen(id) != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? id[i] != '-' : strchr("0123456789abcdef", id[i]) ==
		    NULL || id[i] == '\0')
			return false;
	}
	return true;
}

void
console_api_alert(struct server *srv, struct evhttp_request *req,
    const struct console_who *who, const char *id)
{
	struct console_detail *cd;
	struct audit_rec ar = audit_consult(who->endpoint, who->subject,
	    who->fingerprint, who->peer, id);

	if (!console_uuid_ok(id)) {
		console_error(req, 404, "not_found", "There is no such alert, "
		    "or this endpoint may not see it.");
		return;
	}
	cd = xcalloc(1, sizeof(*cd));
	cd->req = req;
	cd->who = *who;
	cd->who.reg = registry_ref(who->reg);
	store_alert(server_store(srv), id, &ar, console_detail_done, cd);
}
