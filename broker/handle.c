/*
 * handle.c — the handlers of client messages, one per type, and the one
 * dispatcher that enforces the session order (Hello first, then requests).
 *
 * A handler either succeeds and queues its reply, or returns a refusal
 * (wire code, fatal flag, message) that handle_frame() sends as one Error
 * echoing the request id. Handlers never close or free the session
 * themselves; a fatal refusal does that through sess_error().
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "admin.h"
#include "alert.h"
#include "audit.h"
#include "console_feed.h"
#include "durable.h"
#include "frame.h"
#include "history.h"
#include "handle.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "quota.h"
#include "route.h"
#include "server.h"
#include "session.h"
#include "store.h"
#include "timeutil.h"
#include "utf8.h"
#include "uuid.h"
#include "xmalloc.h"

#define HANDLE_PROTOCOL_VERSION	1
#define HANDLE_ACK_MAX		1024	/* delivery tags per Ack */
#define HANDLE_NAMES_MAX	(32 * 1024)	/* bytes of names in a Welcome */

struct refusal {
	Ccc__V1__ErrorCode	code;
	bool			fatal;
	char			msg[512];
};

static int __attribute__((format(printf, 4, 5)))
refuse(struct refusal *r, Ccc__V1__ErrorCode code, bool fatal,
    const char *fmt, ...)
{
	va_list ap;

	r->code = code;
	r->fatal = fatal;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* The display names of a Welcome (Hello.names), filled and freed together. */
struct handle_names {
	Ccc__V1__Welcome__SectionNamesEntry	*sec;
	Ccc__V1__Welcome__SectionNamesEntry	**secp;
	Ccc__V1__Welcome__EndpointNamesEntry	*ep;
	Ccc__V1__Welcome__EndpointNamesEntry	**epp;
};

/*
 * Put the registry's section and endpoint names into w; those that would
 * take the names past HANDLE_NAMES_MAX bytes are left out (they are only
 * shown to people). The strings stay the registry's: w must be sent before
 * the registry reference is dropped.
 */
static void
handle_names_fill(const struct registry *reg, Ccc__V1__Welcome *w,
    struct handle_names *n)
{
	const struct section *sec;
	const struct endpoint *ep;
	size_t nsec, nep, budget = HANDLE_NAMES_MAX, len;

	sec = registry_sections(reg, &nsec);
	ep = registry_endpoints(reg, &nep);
	n->sec = xcalloc(nsec + 1, sizeof(*n->sec));
	n->secp = xcalloc(nsec + 1, sizeof(*n->secp));
	n->ep = xcalloc(nep + 1, sizeof(*n->ep));
	n->epp = xcalloc(nep + 1, sizeof(*n->epp));
	for (size_t k = 0; k < nsec; k++) {
		if (sec[k].name == NULL || (len = strlen(sec[k].id) +
		    strlen(sec[k].name) + 8) > budget)
			continue;
		budget -= len;
		ccc__v1__welcome__section_names_entry__init(&n->sec[k]);
		n->sec[k].key = sec[k].id;
		n->sec[k].value = sec[k].name;
		n->secp[w->n_section_names++] = &n->sec[k];
	}
	for (size_t k = 0; k < nep; k++) {
		if (ep[k].name == NULL || (len = strlen(ep[k].id) +
		    strlen(ep[k].name) + 8) > budget)
			continue;
		budget -= len;
		ccc__v1__welcome__endpoint_names_entry__init(&n->ep[k]);
		n->ep[k].key = ep[k].id;
		n->ep[k].value = ep[k].name;
		n->epp[w->n_endpoint_names++] = &n->ep[k];
	}
	w->section_names = n->secp;
	w->endpoint_names = n->epp;
}

static void
handle_names_free(struct handle_names *n)
{
	free(n->sec);
	free(n->secp);
	free(n->ep);
	free(n->epp);
}

static int
handle_hello(struct session *s, const Ccc__V1__Envelope *env,
    struct refusal *r)
{
	const Ccc__V1__Hello *h = env->hello;
	const struct config *cfg = server_config(s->srv);
	Ccc__V1__Envelope out = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Welcome w = CCC__V1__WELCOME__INIT;
	struct handle_names names;
	char *roles[3];
	size_t nroles = 0;

	if (h->protocol_version != HANDLE_PROTOCOL_VERSION)
		return refuse(r, CCC__V1__ERROR_CODE__ERROR_CODE_UNSUPPORTED_VERSION,
		    true, "protocol version %u is not supported; this broker "
		    "speaks version %d", h->protocol_version,
		    HANDLE_PROTOCOL_VERSION);
	if (strlen(h->client_name) > 128 || !utf8_valid_line(h->client_name))
		return refuse(r, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_REQUEST,
		    true, "client_name must be one line of UTF-8 text of at "
		    "most 128 bytes");
	for (unsigned bit = ROLE_PUBLISHER; bit <= ROLE_OPERATOR; bit <<= 1)
		if (s->ep->roles & bit)
			roles[nroles++] = (char *)(uintptr_t)registry_role_name(bit);
	w.protocol_version = HANDLE_PROTOCOL_VERSION;
	w.endpoint = s->endpoint;
	w.roles = roles;
	w.n_roles = nroles;
	w.server_version = (char *)(uintptr_t)("cccd/" CCC_VERSION);
	w.max_frame_size = cfg->max_frame_size;
	w.ping_interval = cfg->ping_interval;
	memset(&names, 0, sizeof(names));
	if (h->names)
		handle_names_fill(s->reg, &w, &names);
	out.request_id = env->request_id;
	out.body_case = CCC__V1__ENVELOPE__BODY_WELCOME;
	out.welcome = &w;
	log_info("session %llu: %s connected from %s (%s)",
	    (unsigned long long)s->serial, s->endpoint, s->peer,
	    h->client_name[0] ? h->client_name : "unnamed client");
	s->want_receipts = h->receipts;
	sess_ready(s);
	audit_session(s, "session_open", NULL, h->client_name);
	sess_send(s, &out);
	handle_names_free(&names);
	return 0;
}

/* A publish waiting for the store to commit it. */
struct publish_wait {
	struct session		*sess;
	uint64_t		 request_id;
	char			 id[UUID_STRLEN];
	char			 topic[TOPIC_MAX_LEN + 1];
	uint8_t			*body;		/* the stamped alert, encoded once */
	size_t			 len;
	struct route_set	*rcpt;		/* who gets it (route.h): durables as
						   queued, live renewed at the commit */
	struct registry		*reg;		/* the snapshot plan points into (referenced) */
	struct policy_plan	 plan;		/* routing and disclosure */
	uint32_t		 delivered;	/* live deliveries, once committed */
};

/*
 * The Deliver frame last encoded for a live delivery, and its subscription
 * ids: the sessions in a row whose ids are the same (most often each one's
 * first subscription, id 1) get copies of one encoding.
 */
static struct handle_frame {
	uint8_t		*buf;
	size_t		 len, cap;
	uint32_t	*ids;
	size_t		 nids, ids_cap;
} handle_deliver_frame;

/*
 * Send w's alert to one live recipient, or hold it behind the replay under
 * way on one of its subscriptions; fresh: the first encoding of this alert.
 * Returns 0, or -1 as sess_send() does.
 */
static int
handle_deliver(const struct publish_wait *w, const struct route_session *rl,
    bool *fresh)
{
	struct handle_frame *f = &handle_deliver_frame;
	Ccc__V1__Deliver d = CCC__V1__DELIVER__INIT;

	d.topic = (char *)(uintptr_t)w->topic;
	d.subscription_ids = (uint32_t *)(uintptr_t)rl->ids;
	d.n_subscription_ids = rl->nids;
	if (rl->replay != NULL)
		return history_hold(rl->replay, &d, w->body, w->len);
	if (*fresh || f->nids != rl->nids ||
	    memcmp(f->ids, rl->ids, rl->nids * sizeof(*f->ids)) != 0) {
		f->buf = xgrow(f->buf, &f->cap, frame_deliver_size(&d, w->len), 1);
		f->len = frame_encode_deliver(&d, w->body, w->len, f->buf);
		f->ids = xgrow(f->ids, &f->ids_cap, rl->nids, sizeof(*f->ids));
		memcpy(f->ids, rl->ids, rl->nids * sizeof(*f->ids));
		f->nids = rl->nids;
		*fresh = false;
	}
	return sess_send_frame(rl->sess, f->buf, f->len);
}

/*
 * The store committed a new alert (not yet synced): deliver it to the live
 * subscriptions now, in commit order, which is the order history replays
 * use; journal who got it and the routing-rule targets the access rules
 * kept it from. Durable deliveries and the confirmation wait for the sync.
 */
static void
handle_publish_committed(void *arg, const struct store_result *res)
{
	struct publish_wait *w = arg;
	struct server *srv = w->sess->srv;
	struct route_set *rs = w->rcpt;
	size_t n = 0;
	bool fresh = true;

	/* recipients: as of this commit (route.h: the seam with history.c) */
	history_committed(res->seq);
	route_at_commit(srv, w->topic, &w->plan, rs);
	/* send each, or hold it behind a replay */
	for (size_t i = 0; i < rs->nlive; i++)
		if ((rs->live[i].sent = handle_deliver(w, &rs->live[i],
		    &fresh) == 0))
			n++;
	w->delivered = (uint32_t)n;
	server_counters(srv)->deliveries_plain += n;
	/* journal them, and the blocked targets */
	audit_live_deliveries(w->sess, w->id, w->topic, rs);
	/* the console's live feeds: encoded once, journalled by feed_deliver */
	feed_deliver(rs->feeds, rs->nfeeds, res->seq, w->body, w->len, w->topic);
	for (size_t i = 0; i < rs->nblocked; i++)
		audit_route_blocked(w->sess, w->id, rs->blocked[i]);
}

/* The store synced (or refused) a publish: confirm it, durable deliveries. */
static void
handle_publish_done(void *arg, const struct store_result *res)
{
	struct publish_wait *w = arg;
	struct session *s = w->sess;
	struct metrics_counters *mc = server_counters(s->srv);
	Ccc__V1__Envelope out = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__PublishOk ok = CCC__V1__PUBLISH_OK__INIT;

	switch (res->status) {
	case STORE_OK:
		mc->publish_accepted++;
		ok.recipients = w->delivered + (uint32_t)w->rcpt->ndurables;
		durable_notify(w->rcpt->durable_ids, w->rcpt->ndurables);
		log_debug("publish %s from %s on %s to %u recipients", w->id,
		    s->endpoint, w->topic, ok.recipients);
		break;
	case STORE_DUPLICATE:
		mc->publish_duplicates++;
		ok.duplicate = true;
		/*
		 * Stored before by a publish whose sync failed, which woke no
		 * durable subscription: wake them now (a fetch finds nothing
		 * new when they had it already).
		 */
		durable_notify(w->rcpt->durable_ids, w->rcpt->ndurables);
		log_info("publish %s from %s: duplicate, confirmed again",
		    w->id, s->endpoint);
		break;
	case STORE_CONFLICT:
		log_warn("publish %s from %s refused: the id was published "
		    "before with other content", w->id, s->endpoint);
		metrics_refused(mc, CCC__V1__ERROR_CODE__ERROR_CODE_ALERT_ID_CONFLICT);
		sess_error(s, w->request_id,
		    CCC__V1__ERROR_CODE__ERROR_CODE_ALERT_ID_CONFLICT, false,
		    "alert id %s was already published by %s with different "
		    "content", w->id, s->endpoint);
		goto done;
	case STORE_ID_TAKEN:
		/* whose it is, and what it says, is not the publisher's business */
		log_warn("publish %s from %s refused: the id names another "
		    "origin's alert", w->id, s->endpoint);
		metrics_refused(mc, CCC__V1__ERROR_CODE__ERROR_CODE_ALERT_ID_CONFLICT);
		sess_error(s, w->request_id,
		    CCC__V1__ERROR_CODE__ERROR_CODE_ALERT_ID_CONFLICT, false,
		    "alert id %s is taken by another alert; publish this one "
		    "under a new id", w->id);
		goto done;
	case STORE_RESTRICTED:
		log_warn("publish %s from %s refused: %s", w->id, s->endpoint,
		    res->detail);
		sess_error(s, w->request_id,
		    CCC__V1__ERROR_CODE__ERROR_CODE_FORBIDDEN, false, "%s",
		    res->error);
		goto done;
	case STORE_FAILED:
	case STORE_NOT_FOUND:	/* not publish results */
	case STORE_STALE:
		metrics_refused(mc, CCC__V1__ERROR_CODE__ERROR_CODE_STORE_UNAVAILABLE);
		sess_error(s, w->request_id,
		    CCC__V1__ERROR_CODE__ERROR_CODE_STORE_UNAVAILABLE, false,
		    "the alert was not stored, so it was not accepted: %s",
		    res->error ? res->error : "store failure");
		goto done;
	}
	ok.id = w->id;
	ok.topic = w->topic;
	ok.published_at = res->published_at;
	out.request_id = w->request_id;
	out.body_case = CCC__V1__ENVELOPE__BODY_PUBLISH_OK;
	out.publish_ok = &ok;
	sess_send(s, &out);
done:
	free(w->body);
	route_set_put(w->rcpt);
	policy_plan_free(&w->plan);
	registry_unref(w->reg);
	free(w);
	sess_release(s);
}

/*
 * Take a token from the endpoint's publish bucket (limits.publish_rate), or
 * refuse. The first refusal of a run is logged and audited; the others are
 * only counted, so that a flood of publishes cannot turn into a flood of
 * audit records.
 */
static int
handle_publish_rate(struct session *s, struct refusal *r)
{
	const struct config *cfg = server_config(s->srv);
	uint64_t streak;
	int64_t wait;

	if (cfg->publish_rate == 0)
		return 0;
	wait = quota_publish(s->quota, cfg->publish_rate, cfg->publish_burst,
	    time_mono_us(), &streak);
	if (wait == 0) {
		if (streak > 0)
			log_info("session %llu: %s is back under its publish "
			    "rate; %llu publishes were refused",
			    (unsigned long long)s->serial, s->endpoint,
			    (unsigned long long)streak);
		return 0;
	}
	if (streak == 1) {
		log_warn("session %llu: %s publishes faster than its limit of %u "
		    "alerts/s (burst %u): refusing its publishes until it slows "
		    "down", (unsigned long long)s->serial, s->endpoint,
		    cfg->publish_rate, cfg->publish_burst);
		audit_session(s, "publish_refused", NULL, "publish rate limit "
		    "(limits.publish_rate) reached; the refusals that follow "
		    "until the rate drops are not recorded one by one");
	}
	return refuse(r, CCC__V1__ERROR_CODE__ERROR_CODE_RATE_LIMITED, false,
	    "publish refused: endpoint \"%s\" is over its limit of %u alerts "
	    "per second (burst %u; limits.publish_rate); the alert was neither "
	    "stored nor delivered: publish it again in %lld ms or later",
	    s->endpoint, cfg->publish_rate, cfg->publish_burst,
	    (long long)((wait + 999) / 1000));
}

/*
 * An exercise alert on a broker without bench.allow: refused, and journalled
 * once per session (a benchmark would otherwise add a record per alert).
 */
static int
handle_exercise_refused(struct session *s, struct refusal *r)
{
	if (server_config(s->srv)->bench_allow)
		return 0;
	if (!s->exercise_refused) {
		s->exercise_refused = true;
		log_info("session %llu: %s refused exercise alerts: bench.allow "
		    "is false", (unsigned long long)s->serial, s->endpoint);
		audit_session(s, "publish_refused", NULL, "exercise alerts "
		    "refused (bench.allow is false); later ones of this session "
		    "are not recorded one by one");
	}
	return refuse(r, CCC__V1__ERROR_CODE__ERROR_CODE_FORBIDDEN, false,
	    "exercise alerts (ccc bench) are refused: this broker does not "
	    "allow them (bench.allow is false); the alert was neither stored "
	    "nor delivered");
}

static int
handle_publish(struct session *s, const Ccc__V1__Envelope *env,
    struct refusal *r)
{
	Ccc__V1__Alert *a = env->publish->alert;
	struct store_publish sp;
	struct publish_wait *w;
	struct policy_plan plan;
	char why[512], topic[TOPIC_MAX_LEN + 1];
	int64_t now = time_now_us();

	if (handle_publish_rate(s, r) < 0)
		return -1;
	if (a == NULL)
		return refuse(r, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_ALERT,
		    false, "publish carries no alert");
	if (a->exercise && handle_exercise_refused(s, r) < 0)
		return -1;
	if (alert_validate(a, s->reg, now, why, sizeof(why)) < 0) {
		audit_session(s, "publish_refused", NULL, why);
		return refuse(r, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_ALERT,
		    false, "invalid alert: %s", why);
	}
	if (!acl_may_publish(s->reg, s->ep, a->category, a->section, why,
	    sizeof(why))) {
		log_info("session %llu: %s refused publish: %s",
		    (unsigned long long)s->serial, s->endpoint, why);
		audit_session(s, "publish_refused", a->id, why);
		return refuse(r, CCC__V1__ERROR_CODE__ERROR_CODE_FORBIDDEN, false,
		    "%s", why);
	}
	alert_topic(a, topic);
	if (policy_plan(s->reg, a, s->endpoint, topic, &plan, why,
	    sizeof(why)) < 0) {
		log_info("session %llu: %s refused publish: %s",
		    (unsigned long long)s->serial, s->endpoint, why);
		audit_session(s, "publish_refused", a->id, why);
		return refuse(r, CCC__V1__ERROR_CODE__ERROR_CODE_FORBIDDEN, false,
		    "%s", why);
	}
	w = xcalloc(1, sizeof(*w));
	w->sess = s;
	w->request_id = env->request_id;
	w->reg = registry_ref(s->reg);
	w->plan = plan;
	alert_assign_id(a, now);
	alert_digest(a, sp.digest);
	alert_stamp(a, s->endpoint, now);
	if (plan.restricted) {
		char **aud;
		size_t naud = policy_audience(&plan, &aud);

		alert_set_audience(a, aud, naud);
		free(aud);
	}
	if (a->expires_at == 0 && server_config(s->srv)->ttl[a->category] != 0)
		a->expires_at = now +
		    (int64_t)server_config(s->srv)->ttl[a->category] * 1000000;
	alert_topic(a, w->topic);
	snprintf(w->id, sizeof(w->id), "%s", a->id);
	w->len = ccc__v1__alert__get_packed_size(a);
	w->body = xmalloc(w->len);
	ccc__v1__alert__pack(a, w->body);
	w->rcpt = route_set_get();
	route_recipients(s->srv, w->topic, &w->plan, w->rcpt);
	s->published++;
	s->exercise += a->exercise;
	sp.id = w->id;
	sp.origin = s->endpoint;
	sp.topic = w->topic;
	sp.published_at = now;
	sp.expires_at = a->expires_at;
	sp.severity = a->severity;
	sp.body = w->body;
	sp.body_len = w->len;
	sp.dsubs = w->rcpt->durable_ids;	/* copied by the store */
	sp.ndsubs = w->rcpt->ndurables;
	sp.restricted = plan.no_forward;
	sp.refs = a->references;
	sp.nrefs = a->n_references;
	sp.exercise = a->exercise;
	memset(&sp.audit, 0, sizeof(sp.audit));
	sp.audit.endpoint = s->endpoint;
	sp.audit.subject = s->subject;
	sp.audit.fingerprint = s->fingerprint;
	sp.audit.peer = s->peer;
	sp.audit.alert = w->id;
	sp.audit.detail = w->topic;
	sess_hold(s);
	store_publish(server_store(s->srv), &sp, handle_publish_committed,
	    handle_publish_done, w);
	return 0;
}

/* Durable subscription names: like endpoint ids, "_" allowed too. */
static bool
handle_durable_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > 64 || name[0] == '-' || name[0] == '_')
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_") == len;
}

static int
handle_subscribe(struct session *s, const Ccc__V1__Envelope *env,
    struct refusal *r)
{
	const Ccc__V1__Subscribe *sub = env->subscribe;
	const struct config *cfg = server_config(s->srv);
	Ccc__V1__Envelope out = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__SubscribeOk ok = CCC__V1__SUBSCRIBE_OK__INIT;
	struct subscription *added;
	char why[512], **patterns;

	bool inbox = strcmp(sub->durable_name, DURABLE_INBOX) == 0;

	if (inbox && sub->n_patterns > 0)
		return refuse(r, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_PATTERN,
		    false, "the durable subscription \"inbox\" is the endpoint's "
		    "inbox, filled by routing rules and named recipients: "
		    "subscribe to it without patterns");
	if (inbox && (s->ep->roles & ROLE_SUBSCRIBER) == 0)
		return refuse(r, CCC__V1__ERROR_CODE__ERROR_CODE_FORBIDDEN, false,
		    "%s lacks the subscriber role", s->endpoint);
	if (sub->n_patterns == 0 && !inbox)
		return refuse(r, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_PATTERN,
		    false, "subscribe names no topic pattern");
	if (sub->n_patterns > cfg->max_patterns)
		return refuse(r, CCC__V1__ERROR_CODE__ERROR_CODE_LIMIT_EXCEEDED,
		    false, "subscribe names %zu patterns; the limit is %u",
		    sub->n_patterns, cfg->max_patterns);
	if (s->nsubs >= cfg->max_subscriptions)
		return refuse(r, CCC__V1__ERROR_CODE__ERROR_CODE_LIMIT_EXCEEDED,
		    false, "this session already has %zu subscriptions; the "
		    "limit is %u", s->nsubs, cfg->max_subscriptions);
	/* all or nothing: check every pattern before adding any */
	for (size_t i = 0; i < sub->n_patterns; i++) {
		const char *p = sub->patterns[i];

		if (!utf8_valid_line(p) || !topic_pattern_check(p, why, sizeof(why)))
			return refuse(r,
			    CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_PATTERN, false,
			    "pattern %zu: %s", i + 1, utf8_valid_line(p) ? why :
			    "not valid UTF-8 text");
		if (!acl_may_subscribe(s->reg, s->ep, p, why, sizeof(why))) {
			log_info("session %llu: %s refused subscribe: %s",
			    (unsigned long long)s->serial, s->endpoint, why);
			audit_session(s, "subscribe_refused", NULL, why);
			return refuse(r, CCC__V1__ERROR_CODE__ERROR_CODE_FORBIDDEN,
			    false, "%s", why);
		}
	}
	if (sub->since != 0 && (sub->durable_name[0] != '\0' || sub->since < 0 ||
	    sub->since > time_now_us()))
		return refuse(r, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_REQUEST,
		    false, "since must be a past time, and applies to plain "
		    "subscriptions only (a durable one keeps its own backlog)");
	if (sub->durable_name[0] != '\0' && !handle_durable_name(sub->durable_name))
		return refuse(r, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_REQUEST,
		    false, "durable subscription names are 1 to 64 characters of "
		    "a-z, 0-9, \"-\" and \"_\", starting with a letter or digit");
	patterns = xcalloc(sub->n_patterns ? sub->n_patterns : 1,
	    sizeof(char *));
	for (size_t i = 0; i < sub->n_patterns; i++)
		patterns[i] = xstrdup(sub->patterns[i]);
	audit_session(s, "subscribe", NULL, inbox ? "inbox" : patterns[0]);
	if (sub->durable_name[0] != '\0') {
		durable_subscribe(s, env->request_id, sub->durable_name, patterns,
		    sub->n_patterns);
		return 0;
	}
	added = sess_sub_add(s, patterns, sub->n_patterns);
	log_info("session %llu: %s subscription %u: %s%s",
	    (unsigned long long)s->serial, s->endpoint, added->id, patterns[0],
	    sub->n_patterns > 1 ? " ..." : "");
	ok.subscription_id = added->id;
	out.request_id = env->request_id;
	out.body_case = CCC__V1__ENVELOPE__BODY_SUBSCRIBE_OK;
	out.subscribe_ok = &ok;
	if (sess_send(s, &out) == 0 && sub->since != 0)
		history_start(s, added, sub->since);
	return 0;
}

static int
handle_unsubscribe(struct session *s, const Ccc__V1__Envelope *env,
    struct refusal *r)
{
	Ccc__V1__Envelope out = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__UnsubscribeOk ok = CCC__V1__UNSUBSCRIBE_OK__INIT;
	uint32_t id = env->unsubscribe->subscription_id;
	struct subscription *sub;

	if ((sub = sess_sub_find(s, id)) == NULL)
		return refuse(r, CCC__V1__ERROR_CODE__ERROR_CODE_NOT_FOUND, false,
		    "no subscription %u in this session", id);
	if (sub->durable != NULL && env->unsubscribe->forget &&
	    durable_is_inbox(sub->durable))
		return refuse(r, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_REQUEST,
		    false, "the inbox cannot be deleted; unsubscribe without "
		    "forget to detach from it");
	if (sub->durable != NULL) {
		durable_unsubscribe(s, sub->durable, env->request_id,
		    env->unsubscribe->forget);
		return 0;
	}
	sess_sub_drop(s, sub);
	ok.subscription_id = id;
	out.request_id = env->request_id;
	out.body_case = CCC__V1__ENVELOPE__BODY_UNSUBSCRIBE_OK;
	out.unsubscribe_ok = &ok;
	sess_send(s, &out);
	return 0;
}

static int
handle_ack(struct session *s, const Ccc__V1__Envelope *env, struct refusal *r)
{
	if (env->ack->n_delivery_tags > HANDLE_ACK_MAX)
		return refuse(r, CCC__V1__ERROR_CODE__ERROR_CODE_LIMIT_EXCEEDED,
		    false, "ack carries %zu tags; the limit is %d",
		    env->ack->n_delivery_tags, HANDLE_ACK_MAX);
	/* tag 0 (plain deliveries) and unknown tags are ignored */
	durable_ack(s, env->ack->delivery_tags, env->ack->n_delivery_tags);
	return 0;
}

/* A receipts query waiting for the store. */
struct receipts_wait {
	struct session	*sess;
	uint64_t	 request_id;
	char		 id[UUID_STRLEN];
};

static void
handle_receipts_done(void *arg, const struct store_result *res)
{
	struct receipts_wait *w = arg;
	struct session *s = w->sess;
	Ccc__V1__Envelope out = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__ReceiptsOk ok = CCC__V1__RECEIPTS_OK__INIT;
	Ccc__V1__Receipt *v = NULL, **pv = NULL;

	if (res->status == STORE_NOT_FOUND)
		sess_error(s, w->request_id, CCC__V1__ERROR_CODE__ERROR_CODE_NOT_FOUND,
		    false, "%s published no alert %s", s->endpoint, w->id);
	else if (res->status == STORE_ID_TAKEN)
		sess_error(s, w->request_id,
		    CCC__V1__ERROR_CODE__ERROR_CODE_ALERT_ID_CONFLICT, false,
		    "receipts of %s cannot be given: another alert was stored "
		    "under the same id before ids were unique, and the journal "
		    "does not tell their deliveries apart", w->id);
	else if (res->status != STORE_OK)
		sess_error(s, w->request_id,
		    CCC__V1__ERROR_CODE__ERROR_CODE_STORE_UNAVAILABLE, false,
		    "receipts could not be read: %s", res->error);
	else {
		v = xcalloc(res->nreceipts + 1, sizeof(*v));
		pv = xcalloc(res->nreceipts + 1, sizeof(*pv));
		for (size_t i = 0; i < res->nreceipts; i++) {
			ccc__v1__receipt__init(&v[i]);
			v[i].endpoint = (char *)(uintptr_t)res->receipts[i].endpoint;
			v[i].delivered_at = res->receipts[i].delivered_at;
			v[i].acknowledged_at = res->receipts[i].acked_at;
			v[i].deliveries = res->receipts[i].deliveries;
			v[i].transfer = res->receipts[i].transfer;
			pv[i] = &v[i];
		}
		ok.alert_id = w->id;
		ok.receipts = pv;
		ok.n_receipts = res->nreceipts;
		out.request_id = w->request_id;
		out.body_case = CCC__V1__ENVELOPE__BODY_RECEIPTS_OK;
		out.receipts_ok = &ok;
		sess_send(s, &out);
	}
	free(v);
	free(pv);
	free(w);
	sess_release(s);
}

static int
handle_receipts(struct session *s, const Ccc__V1__Envelope *env,
    struct refusal *r)
{
	const char *id = env->receipts->alert_id;
	struct receipts_wait *w;
	struct audit_rec ar = audit_of(s, NULL, NULL, NULL);

	if (!uuid_valid(id))
		return refuse(r, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_REQUEST,
		    false, "receipts: alert_id is not an alert id (UUID)");
	w = xcalloc(1, sizeof(*w));
	w->sess = s;
	w->request_id = env->request_id;
	snprintf(w->id, sizeof(w->id), "%s", id);
	sess_hold(s);
	store_receipts(server_store(s->srv), s->endpoint, id, &ar,
	    handle_receipts_done, w);
	return 0;
}

static int
handle_ping(struct session *s, const Ccc__V1__Envelope *env, struct refusal *r)
{
	Ccc__V1__Envelope out = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Pong pong = CCC__V1__PONG__INIT;

	(void)r;
	out.request_id = env->request_id;
	out.body_case = CCC__V1__ENVELOPE__BODY_PONG;
	out.pong = &pong;
	sess_send(s, &out);
	return 0;
}

static int
handle_pong(struct session *s, const Ccc__V1__Envelope *env, struct refusal *r)
{
	/* liveness is recorded for every frame in session.c */
	(void)s;
	(void)env;
	(void)r;
	return 0;
}

/* Refuse (fatal) anything but hello as a session's first message; -1 then. */
static int
handle_first_hello(struct session *s, uint64_t request_id,
    Ccc__V1__Envelope__BodyCase body)
{
	if (s->state != SESS_HELLO || body == CCC__V1__ENVELOPE__BODY_HELLO)
		return 0;
	sess_error(s, request_id, CCC__V1__ERROR_CODE__ERROR_CODE_PROTOCOL, true,
	    "the first message of a session must be hello, not %s",
	    frame_body_name(body));
	return -1;
}

void
handle_over_budget(struct session *s, uint64_t request_id,
    Ccc__V1__Envelope__BodyCase body, const char *why)
{
	Ccc__V1__ErrorCode code = CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_REQUEST;

	if (handle_first_hello(s, request_id, body) < 0)
		return;
	switch (body) {
	case CCC__V1__ENVELOPE__BODY_PUBLISH:
		code = CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_ALERT;
		metrics_refused(server_counters(s->srv), code);
		break;
	case CCC__V1__ENVELOPE__BODY_SUBSCRIBE:
	case CCC__V1__ENVELOPE__BODY_UNSUBSCRIBE:
	case CCC__V1__ENVELOPE__BODY_ACK:
	case CCC__V1__ENVELOPE__BODY_RECEIPTS:
	case CCC__V1__ENVELOPE__BODY_PING:
	case CCC__V1__ENVELOPE__BODY_PONG:
	case CCC__V1__ENVELOPE__BODY_ADMIN:
		break;
	default:	/* hello, or a message only the broker sends */
		sess_error(s, request_id,
		    CCC__V1__ERROR_CODE__ERROR_CODE_MALFORMED_FRAME, true,
		    "%s refused: %s", frame_body_name(body), why);
		return;
	}
	sess_error(s, request_id, code, false, "%s refused: %s",
	    frame_body_name(body), why);
}

void
handle_frame(struct session *s, Ccc__V1__Envelope *env)
{
	struct refusal r;
	int rc;

	if (handle_first_hello(s, env->request_id, env->body_case) < 0)
		return;
	switch (env->body_case) {
	case CCC__V1__ENVELOPE__BODY_HELLO:
		if (s->state != SESS_HELLO)
			rc = refuse(&r, CCC__V1__ERROR_CODE__ERROR_CODE_PROTOCOL,
			    true, "hello may be sent only once");
		else
			rc = handle_hello(s, env, &r);
		break;
	case CCC__V1__ENVELOPE__BODY_PUBLISH:
		rc = handle_publish(s, env, &r);
		break;
	case CCC__V1__ENVELOPE__BODY_SUBSCRIBE:
		rc = handle_subscribe(s, env, &r);
		break;
	case CCC__V1__ENVELOPE__BODY_UNSUBSCRIBE:
		rc = handle_unsubscribe(s, env, &r);
		break;
	case CCC__V1__ENVELOPE__BODY_ACK:
		rc = handle_ack(s, env, &r);
		break;
	case CCC__V1__ENVELOPE__BODY_RECEIPTS:
		rc = handle_receipts(s, env, &r);
		break;
	case CCC__V1__ENVELOPE__BODY_PING:
		rc = handle_ping(s, env, &r);
		break;
	case CCC__V1__ENVELOPE__BODY_PONG:
		rc = handle_pong(s, env, &r);
		break;
	case CCC__V1__ENVELOPE__BODY_ADMIN:
		admin_request(s, env);
		rc = 0;
		break;
	default:
		rc = refuse(&r, CCC__V1__ERROR_CODE__ERROR_CODE_PROTOCOL, true,
		    "%s is sent by the broker, never by a client",
		    frame_body_name(env->body_case));
		break;
	}
	if (rc < 0) {
		if (env->body_case == CCC__V1__ENVELOPE__BODY_PUBLISH)
			metrics_refused(server_counters(s->srv), r.code);
		sess_error(s, env->request_id, r.code, r.fatal, "%s", r.msg);
	}
}
