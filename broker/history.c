/*
 * history.c — replays for Subscribe.since (see history.h for the seam).
 *
 * A replay reads the store a page at a time on the writer thread, filters
 * each page by the subscription's patterns on the loop (the patterns passed
 * the access rules when the subscription was made, so only what the
 * endpoint may see is sent), and holds live deliveries in an evbuffer until
 * the last page is sent. Alerts past their expires_at are not replayed.
 * Must never deliver an alert twice or skip one at
 * the seam, or hold more than the session's output bound.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "audit.h"
#include "frame.h"
#include "history.h"
#include "policy.h"
#include "log.h"
#include "metrics.h"
#include "server.h"
#include "session.h"
#include "store.h"
#include "timeutil.h"
#include "xmalloc.h"

#define HISTORY_PAGE	500	/* alerts read per store operation */

struct replay {
	struct session		*sess;
	struct subscription	*sub;		/* NULL once the subscription is gone */
	int64_t			 since;
	uint64_t		 upto;		/* last seq committed when it started */
	uint64_t		 after;		/* last seq read so far */
	struct evbuffer		*held;		/* live Deliver frames, in order */
	uint64_t		 replayed;
};

static uint64_t history_last_seq;

void
history_committed(uint64_t seq)
{
	if (seq > history_last_seq)
		history_last_seq = seq;
}

uint64_t
history_last_committed(void)
{
	return history_last_seq;
}

static void	history_page(void *, const struct store_result *);

bool
history_alert_may_reach(const Ccc__V1__Alert *a, const char *endpoint,
    int64_t now_us)
{
	return (a->expires_at == 0 || a->expires_at > now_us) &&
	    policy_stored_may_reach(a, endpoint);
}

/* history_alert_may_reach() of a stored row; unreadable: no. */
static bool
history_may_reach(const struct store_row *row, const char *endpoint,
    int64_t now_us)
{
	Ccc__V1__Alert *a = ccc__v1__alert__unpack(NULL, row->body_len,
	    row->body);
	bool ok = a != NULL && history_alert_may_reach(a, endpoint, now_us);

	if (a != NULL)
		ccc__v1__alert__free_unpacked(a, NULL);
	return ok;
}

static void
history_read(struct replay *r)
{
	struct session *s = r->sess;
	struct audit_rec ar = audit_of(s, NULL, NULL, r->sub->patterns[0]);

	store_history(server_store(s->srv), r->since, r->after, r->upto,
	    HISTORY_PAGE, &ar, history_page, r);
}

void
history_start(struct session *s, struct subscription *sub, int64_t since)
{
	struct replay *r = xcalloc(1, sizeof(*r));

	r->sess = s;
	r->sub = sub;
	r->since = since;
	r->upto = history_last_seq;
	r->held = evbuffer_new();
	sub->replay = r;
	sess_hold(s);
	history_read(r);
}

int
history_hold(struct replay *r, const Ccc__V1__Deliver *d, const uint8_t *alert,
    size_t len)
{
	struct session *s = r->sess;
	size_t n = frame_deliver_size(d, len);
	struct evbuffer_iovec v;

	if (evbuffer_get_length(r->held) + n > server_config(s->srv)->max_output_buffer) {
		sess_error(s, 0, CCC__V1__ERROR_CODE__ERROR_CODE_SLOW_CONSUMER, true,
		    "slow consumer: more than %u bytes of alerts waited for the "
		    "history replay; the session is closed",
		    server_config(s->srv)->max_output_buffer);
		return -1;
	}
	if (evbuffer_reserve_space(r->held, (ev_ssize_t)n, &v, 1) < 1)
		return -1;
	v.iov_len = frame_encode_deliver(d, alert, len, v.iov_base);
	evbuffer_commit_space(r->held, &v, 1);
	server_counters(s->srv)->frames_out++;	/* queued, behind the replay */
	server_counters(s->srv)->bytes_out += v.iov_len;
	return 0;
}

void
history_cancel(struct subscription *sub)
{
	if (sub->replay != NULL) {
		sub->replay->sub = NULL;
		sub->replay = NULL;
	}
}

bool
history_matches(const struct subscription *sub, const char *topic)
{
	for (size_t i = 0; i < sub->npatterns; i++)
		if (topic_match(sub->patterns[i], topic))
			return true;
	return false;
}

static void
history_end(struct replay *r)
{
	struct session *s = r->sess;

	if (r->sub != NULL) {
		log_info("session %llu: %s subscription %u: replayed %llu stored "
		    "alerts, now live", (unsigned long long)s->serial, s->endpoint,
		    r->sub->id, (unsigned long long)r->replayed);
		sess_send_buffer(s, r->held);
		r->sub->replay = NULL;
	}
	evbuffer_free(r->held);
	free(r);
	sess_release(s);
}

static void
history_page(void *arg, const struct store_result *res)
{
	struct replay *r = arg;
	struct session *s = r->sess;
	Ccc__V1__Deliver d = CCC__V1__DELIVER__INIT;
	int64_t now = time_now_us();

	if (r->sub == NULL || s->state != SESS_READY) {
		history_end(r);
		return;
	}
	if (res->status != STORE_OK) {
		sess_error(s, 0, CCC__V1__ERROR_CODE__ERROR_CODE_STORE_UNAVAILABLE,
		    false, "subscription %u: the history could not be read: %s",
		    r->sub->id, res->error ? res->error : "store failure");
		history_end(r);
		return;
	}
	d.subscription_ids = &r->sub->id;
	d.n_subscription_ids = 1;
	d.replayed = true;
	for (size_t i = 0; i < res->nrows; i++) {
		const struct store_row *row = &res->rows[i];

		r->after = row->tag;
		if (!history_matches(r->sub, row->topic) ||
		    !history_may_reach(row, s->endpoint, now))
			continue;
		d.topic = (char *)(uintptr_t)row->topic;
		if (sess_send_deliver(s, &d, row->body, row->body_len) < 0) {
			history_end(r);
			return;
		}
		audit_delivered(s, row->alert_id, row->origin, row->topic);
		server_counters(s->srv)->deliveries_replayed++;
		r->replayed++;
	}
	if (res->nrows == HISTORY_PAGE && r->after < r->upto)
		history_read(r);
	else
		history_end(r);
}
