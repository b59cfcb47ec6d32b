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

struct audit_rec
audit_consult(const char *endpoint, const char *subject,
    const char *fingerprint, const char *peer, const char *alert_id)
{
	struct audit_rec r = { .event = "consult", .endpoint = endpoint,
	    .subject = subject, .fingerprint = fingerprint, .peer = peer,
	    .alert = alert_id, .detail = "console" };

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

/* A fan-out's "deliver" record: one recipient certificate, its sessions' addresses. */
struct audit_group {
	struct audit_rec rec;
	size_t		 start;		/* its addresses in the buffer */
	size_t		 len;		/* their bytes, separators and NUL included */
};

/* Does the group's record stand for the session r, with this transfer flag? */
static bool
audit_same_recipient(const struct audit_rec *g, const struct session *r,
    bool transfer)
{
	return g->transfer == transfer && strcmp(g->endpoint, r->endpoint) == 0 &&
	    strcmp(g->fingerprint, r->fingerprint) == 0 &&
	    strcmp(g->subject, r->subject) == 0;
}

void
audit_live_deliveries(struct session *publisher, const char *alert,
    const char *topic, const struct route_set *rs)
{
	/* built and handed to the store within one call; kept grown */
	static struct audit_group *g;
	static struct audit_rec *recs;
	static size_t *group;
	static char *peers;
	static size_t gcap, rcap, icap, pcap;
	struct server *srv = publisher->srv;
	const char *prev = NULL;	/* the endpoint transfer is of */
	size_t ng = 0, total = 0;
	bool transfer = false;

	if (topic_is_exercise(topic) && !server_config(srv)->bench_journal)
		return;
	g = xgrow(g, &gcap, rs->nlive, sizeof(*g));
	group = xgrow(group, &icap, rs->nlive, sizeof(*group));
	/* the sessions by certificate and transfer flag: one record each */
	for (size_t i = 0; i < rs->nlive; i++) {
		const struct session *r = rs->live[i].sess;
		size_t k;

		if (!rs->live[i].sent)
			continue;
		/* sessions of one endpoint often follow each other */
		if (prev == NULL || strcmp(prev, r->endpoint) != 0)
			transfer = audit_transfer(r->reg, publisher->endpoint,
			    r->endpoint);
		prev = r->endpoint;
		for (k = 0; k < ng; k++)
			if (audit_same_recipient(&g[k].rec, r, transfer))
				break;
		if (k == ng) {
			g[ng].rec = audit_of(r, "deliver", alert, topic);
			g[ng].rec.transfer = transfer;
			g[ng++].len = 0;
		}
		group[i] = k;
		g[k].len += strlen(r->peer) + 1;
	}
	if (ng == 0)
		return;
	for (size_t k = 0; k < ng; k++) {
		g[k].start = total;
		total += g[k].len;
		g[k].len = 0;	/* from here on: bytes written */
	}
	peers = xgrow(peers, &pcap, total, 1);
	for (size_t i = 0; i < rs->nlive; i++) {
		const struct session *r = rs->live[i].sess;
		const char *peer = r->peer;
		struct audit_group *p;
		size_t len = strlen(peer);

		if (!rs->live[i].sent)
			continue;
		p = &g[group[i]];
		if (p->len > 0)
			peers[p->start + p->len++] = ' ';
		memcpy(peers + p->start + p->len, peer, len + 1);
		p->len += len;
	}
	recs = xgrow(recs, &rcap, ng, sizeof(*recs));
	for (size_t k = 0; k < ng; k++) {
		recs[k] = g[k].rec;
		recs[k].peer = peers + g[k].start;
	}
	store_audit_batch(server_store(srv), recs, ng);
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
