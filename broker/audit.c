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

#include "acl.h"
#include "audit.h"
#include "server.h"
#include "session.h"

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

bool
audit_transfer(const struct registry *reg, const char *origin,
    const char *recipient)
{
	return acl_is_transfer(reg, origin, recipient);
}
