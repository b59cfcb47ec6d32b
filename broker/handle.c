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
#include "alert.h"
#include "frame.h"
#include "handle.h"
#include "log.h"
#include "route.h"
#include "server.h"
#include "session.h"
#include "timeutil.h"
#include "utf8.h"
#include "xmalloc.h"

#define HANDLE_PROTOCOL_VERSION	1
#define HANDLE_ACK_MAX		1024	/* delivery tags per Ack */

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

static int
handle_hello(struct session *s, const Ccc__V1__Envelope *env,
    struct refusal *r)
{
	const Ccc__V1__Hello *h = env->hello;
	const struct config *cfg = server_config(s->srv);
	Ccc__V1__Envelope out = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Welcome w = CCC__V1__WELCOME__INIT;
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
	out.request_id = env->request_id;
	out.body_case = CCC__V1__ENVELOPE__BODY_WELCOME;
	out.welcome = &w;
	log_info("session %llu: %s connected from %s (%s)",
	    (unsigned long long)s->serial, s->endpoint, s->peer,
	    h->client_name[0] ? h->client_name : "unnamed client");
	sess_ready(s);
	sess_send(s, &out);
	return 0;
}

static int
handle_publish(struct session *s, const Ccc__V1__Envelope *env,
    struct refusal *r)
{
	Ccc__V1__Alert *a = env->publish->alert;
	Ccc__V1__Envelope out = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__PublishOk ok = CCC__V1__PUBLISH_OK__INIT;
	char why[512], topic[TOPIC_MAX_LEN + 1];
	int64_t now = time_now_us();

	if (a == NULL)
		return refuse(r, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_ALERT,
		    false, "publish carries no alert");
	if (alert_validate(a, s->reg, now, why, sizeof(why)) < 0)
		return refuse(r, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_ALERT,
		    false, "invalid alert: %s", why);
	if (!acl_may_publish(s->reg, s->ep, a->category, a->section, why,
	    sizeof(why))) {
		log_info("session %llu: %s refused publish: %s",
		    (unsigned long long)s->serial, s->endpoint, why);
		return refuse(r, CCC__V1__ERROR_CODE__ERROR_CODE_FORBIDDEN, false,
		    "%s", why);
	}
	alert_stamp(a, s->endpoint, now);
	alert_topic(a, topic);
	s->published++;
	ok.recipients = route_alert(s->srv, a, topic);
	log_info("publish %s from %s on %s to %u sessions", a->id, s->endpoint,
	    topic, ok.recipients);
	ok.id = a->id;
	ok.topic = topic;
	ok.published_at = a->published_at;
	out.request_id = env->request_id;
	out.body_case = CCC__V1__ENVELOPE__BODY_PUBLISH_OK;
	out.publish_ok = &ok;
	sess_send(s, &out);
	return 0;
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

	if (sub->n_patterns == 0)
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
			return refuse(r, CCC__V1__ERROR_CODE__ERROR_CODE_FORBIDDEN,
			    false, "%s", why);
		}
	}
	patterns = xcalloc(sub->n_patterns, sizeof(char *));
	for (size_t i = 0; i < sub->n_patterns; i++)
		patterns[i] = xstrdup(sub->patterns[i]);
	added = sess_sub_add(s, patterns, sub->n_patterns);
	log_info("session %llu: %s subscription %u: %s%s",
	    (unsigned long long)s->serial, s->endpoint, added->id, patterns[0],
	    sub->n_patterns > 1 ? " ..." : "");
	ok.subscription_id = added->id;
	out.request_id = env->request_id;
	out.body_case = CCC__V1__ENVELOPE__BODY_SUBSCRIBE_OK;
	out.subscribe_ok = &ok;
	sess_send(s, &out);
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
	(void)s;
	if (env->ack->n_delivery_tags > HANDLE_ACK_MAX)
		return refuse(r, CCC__V1__ERROR_CODE__ERROR_CODE_LIMIT_EXCEEDED,
		    false, "ack carries %zu tags; the limit is %d",
		    env->ack->n_delivery_tags, HANDLE_ACK_MAX);
	/* Non-durable deliveries carry tag 0 and need no acknowledgement. */
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

void
handle_frame(struct session *s, Ccc__V1__Envelope *env)
{
	struct refusal r;
	int rc;

	if (s->state == SESS_HELLO &&
	    env->body_case != CCC__V1__ENVELOPE__BODY_HELLO) {
		sess_error(s, env->request_id,
		    CCC__V1__ERROR_CODE__ERROR_CODE_PROTOCOL, true,
		    "the first message of a session must be hello, not %s",
		    frame_body_name(env->body_case));
		return;
	}
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
	case CCC__V1__ENVELOPE__BODY_PING:
		rc = handle_ping(s, env, &r);
		break;
	case CCC__V1__ENVELOPE__BODY_PONG:
		rc = handle_pong(s, env, &r);
		break;
	default:
		rc = refuse(&r, CCC__V1__ERROR_CODE__ERROR_CODE_PROTOCOL, true,
		    "%s is sent by the broker, never by a client",
		    frame_body_name(env->body_case));
		break;
	}
	if (rc < 0)
		sess_error(s, env->request_id, r.code, r.fatal, "%s", r.msg);
}
