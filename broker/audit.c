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
#include "console_feed.h"
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

/* A recipient of a fan-out, as its "deliver" record names it. */
struct audit_who {
	const char		*endpoint;
	const char		*subject;
	const char		*fingerprint;
	const char		*peer;
	const struct registry	*reg;		/* the snapshot its transfer flag is of */
};

/* A fan-out's "deliver" record: one recipient certificate, its addresses. */
struct audit_group {
	struct audit_rec rec;
	size_t		 start;		/* its addresses in the buffer */
	size_t		 len;		/* their bytes, separators and NUL included */
};

/* Does the group's record stand for the recipient w, with this transfer flag? */
static bool
audit_same_recipient(const struct audit_rec *g, const struct audit_who *w,
    bool transfer)
{
	return g->transfer == transfer && strcmp(g->endpoint, w->endpoint) == 0 &&
	    strcmp(g->fingerprint, w->fingerprint) == 0 &&
	    strcmp(g->subject, w->subject) == 0;
}

/*
 * Journal that the recipients w[0..n) got origin's alert: one "deliver"
 * record (with detail) per certificate and transfer flag, its peer field
 * the recipients' addresses separated by spaces, in one store operation.
 */
static void
audit_fan_out(struct server *srv, const char *origin, const char *alert,
    const char *detail, const struct audit_who *w, size_t n)
{
	/* built and handed to the store within one call; kept grown */
	static struct audit_group *g;
	static struct audit_rec *recs;
	static size_t *group;
	static char *peers;
	static size_t gcap, rcap, icap, pcap;
	const char *prev = NULL;	/* the endpoint transfer is of */
	size_t ng = 0, total = 0;
	bool transfer = false;

	if (n == 0)
		return;
	g = xgrow(g, &gcap, n, sizeof(*g));
	group = xgrow(group, &icap, n, sizeof(*group));
	/* the recipients by certificate and transfer flag: one record each */
	for (size_t i = 0; i < n; i++) {
		size_t k;

		/* recipients of one endpoint often follow each other */
		if (prev == NULL || strcmp(prev, w[i].endpoint) != 0)
			transfer = audit_transfer(w[i].reg, origin,
			    w[i].endpoint);
		prev = w[i].endpoint;
		for (k = 0; k < ng; k++)
			if (audit_same_recipient(&g[k].rec, &w[i], transfer))
				break;
		if (k == ng) {
			g[ng].rec = (struct audit_rec){ .event = "deliver",
			    .endpoint = w[i].endpoint, .subject = w[i].subject,
			    .fingerprint = w[i].fingerprint, .alert = alert,
			    .detail = detail, .transfer = transfer };
			g[ng++].len = 0;
		}
		group[i] = k;
		g[k].len += strlen(w[i].peer) + 1;
	}
	for (size_t k = 0; k < ng; k++) {
		g[k].start = total;
		total += g[k].len;
		g[k].len = 0;	/* from here on: bytes written */
	}
	peers = xgrow(peers, &pcap, total, 1);
	for (size_t i = 0; i < n; i++) {
		struct audit_group *p = &g[group[i]];
		size_t len = strlen(w[i].peer);

		if (p->len > 0)
			peers[p->start + p->len++] = ' ';
		memcpy(peers + p->start + p->len, w[i].peer, len + 1);
		p->len += len;
	}
	recs = xgrow(recs, &rcap, ng, sizeof(*recs));
	for (size_t k = 0; k < ng; k++) {
		recs[k] = g[k].rec;
		recs[k].peer = peers + g[k].start;
	}
	store_audit_batch(server_store(srv), recs, ng);
}

/* The recipients of a fan-out, gathered by the callers; kept grown. */
static struct audit_who *audit_whos;
static size_t audit_whos_cap;

void
audit_live_deliveries(struct session *publisher, const char *alert,
    const char *topic, const struct route_set *rs)
{
	struct server *srv = publisher->srv;
	size_t n = 0;

	if (topic_is_exercise(topic) && !server_config(srv)->bench_journal)
		return;
	audit_whos = xgrow(audit_whos, &audit_whos_cap, rs->nlive,
	    sizeof(*audit_whos));
	for (size_t i = 0; i < rs->nlive; i++) {
		const struct session *r = rs->live[i].sess;

		if (rs->live[i].sent)
			audit_whos[n++] = (struct audit_who){ r->endpoint,
			    r->subject, r->fingerprint, r->peer, r->reg };
	}
	audit_fan_out(srv, publisher->endpoint, alert, topic, audit_whos, n);
}

void
audit_feed_deliveries(struct server *srv, const char *alert,
    const char *origin, struct feed *const *feeds, size_t n)
{
	const struct registry *reg = server_registry(srv);

	audit_whos = xgrow(audit_whos, &audit_whos_cap, n, sizeof(*audit_whos));
	for (size_t i = 0; i < n; i++) {
		const struct feed_identity *id = feed_identity_of(feeds[i]);

		audit_whos[i] = (struct audit_who){ id->endpoint, id->subject,
		    id->fingerprint, id->peer, reg };
	}
	audit_fan_out(srv, origin, alert, AUDIT_CONSOLE, audit_whos, n);
}

void
audit_feed_caught_up(struct server *srv, const struct feed_identity *id,
    const char *const *alerts, const char *const *origins, size_t n)
{
	/* filled and handed to the store within one call; kept grown */
	static struct audit_rec *recs;
	static size_t cap;
	const struct registry *reg = server_registry(srv);

	if (n == 0)
		return;
	recs = xgrow(recs, &cap, n, sizeof(*recs));
	for (size_t i = 0; i < n; i++)
		recs[i] = (struct audit_rec){ .event = "deliver",
		    .endpoint = id->endpoint, .subject = id->subject,
		    .fingerprint = id->fingerprint, .peer = id->peer,
		    .alert = alerts[i], .detail = AUDIT_CONSOLE,
		    .transfer = audit_transfer(reg, origins[i], id->endpoint) };
	store_audit_batch(server_store(srv), recs, n);
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
