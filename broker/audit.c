/*
 * audit.c — the records of the audit journal, built in one place (audit.h).
 *
 * Owns: which fields of a session a record carries, and the transfer flag
 * of a delivery.
 * Must never: log or journal alert content beyond ids and topics; journal
 * an act outside the store operation that carries it out, except the
 * deliver records, which follow the deliveries they record.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "acl.h"
#include "audit.h"
#include "config.h"
#include "log.h"
#include "policy.h"
#include "route.h"
#include "server.h"
#include "session.h"
#include "topic.h"
#include "xmalloc.h"

struct audit_rec
audit_of(const struct session *s, const char *event, const char *alert,
    const char *detail)
{
	struct audit_rec r = { .event = event, .alert = alert,
	    .detail = detail };

	if (s == NULL) {
		r.endpoint = "file";
		return r;
	}
	r.endpoint = s->endpoint;
	r.subject = s->subject;
	r.fingerprint = s->fingerprint;
	r.peer = s->peer;
	return r;
}

void
audit_session(struct session *s, const char *event, const char *alert,
    const char *detail)
{
	struct audit_rec r = audit_of(s, event, alert, detail);

	store_audit(server_store(s->srv), &r);
}

void
audit_delivered(struct session *s, const char *alert, const char *origin,
    const char *topic)
{
	struct audit_rec r = audit_of(s, "deliver", alert, topic);

	r.transfer = audit_transfer(s->reg, origin, s->endpoint);
	store_audit(server_store(s->srv), &r);
}

void
audit_live_deliveries(struct session *publisher, const char *alert,
    const char *topic, const struct route_set *rs)
{
	/* filled and handed to the store within one call; kept grown */
	static struct store_recipient *v;
	static size_t cap;
	struct server *srv = publisher->srv;
	size_t n = 0;

	if (topic_is_exercise(topic) && !server_config(srv)->bench_journal)
		return;
	v = xgrow(v, &cap, rs->nlive, sizeof(*v));
	for (size_t i = 0; i < rs->nlive; i++) {
		const struct session *r = rs->live[i].sess;
		struct store_recipient *p = &v[n];

		if (!rs->live[i].sent)
			continue;
		p->endpoint = r->endpoint;
		p->subject = r->subject;
		p->fingerprint = r->fingerprint;
		p->peer = r->peer;
		/* sessions of one endpoint often follow each other */
		if (n > 0 && strcmp(p[-1].endpoint, r->endpoint) == 0)
			p->transfer = p[-1].transfer;
		else
			p->transfer = audit_transfer(r->reg,
			    publisher->endpoint, r->endpoint);
		n++;
	}
	store_audit_deliveries(server_store(srv), alert, topic, v, n);
}

void
audit_durable_sent(struct session *s, const char *dname,
    const struct store_row *rows, size_t n)
{
	/* filled and handed to the store within one call; kept grown */
	static const char **ids;
	static uint64_t *seqs;
	static size_t cap, scap;
	struct audit_rec ar = audit_of(s, "deliver", NULL, dname);
	bool journal = server_config(s->srv)->bench_journal;

	ids = xgrow(ids, &cap, n, sizeof(*ids));
	seqs = xgrow(seqs, &scap, n, sizeof(*seqs));
	for (int transfer = 0; transfer <= 1; transfer++) {
		const char *topic = NULL;
		size_t nids = 0;

		for (size_t i = 0; i < n; i++) {
			if (topic_is_exercise(rows[i].topic) && !journal)
				continue;
			if (audit_transfer(s->reg, rows[i].origin,
			    s->endpoint) != (transfer != 0))
				continue;
			topic = rows[i].topic;
			seqs[nids] = rows[i].tag;
			ids[nids++] = rows[i].alert_id;
		}
		ar.transfer = transfer != 0;
		/* one alert: the single-alert record of old, its topic as detail */
		store_audit_sent(server_store(s->srv), &ar, ids, seqs, nids, topic);
	}
}

void
audit_route_blocked(struct session *publisher, const char *alert,
    const struct policy_target *t)
{
	char detail[512];

	snprintf(detail, sizeof(detail), "%s to %s not delivered: %s", t->via,
	    t->endpoint, t->why);
	log_warn("publish %s: %s", alert, detail);
	audit_session(publisher, "route_blocked", alert, detail);
}

bool
audit_transfer(const struct registry *reg, const char *origin,
    const char *recipient)
{
	return acl_is_transfer(reg, origin, recipient);
}
