/*
 * 07-durable.c — the durable store: confirmed publishes survive disconnects
 * and restarts, durable subscriptions with delivery tags, acknowledgement,
 * redelivery (reconnect and ack timeout), dead-lettering, idempotent
 * publish, retention (what it keeps, and a step of the broker's wall clock,
 * made with libfaketime preloaded into cccd) and the audit journal's tamper
 * detection. The subscriber speaks the raw protocol so that
 * acknowledgements are under the test's control.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "harness.h"
#include "uuid.h"

static int	verify_audit(const struct h_broker *);

/* libfaketime as Debian installs it (package libfaketime) */
#define FAKETIME_LIB	"/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

/* Subscribe durable name to pattern on r; returns the SubscribeOk envelope. */
static Ccc__V1__Envelope *
dsub(struct h_raw *r, const char *name, const char *pattern)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Subscribe sub = CCC__V1__SUBSCRIBE__INIT;
	char pat[128], nm[64], *pats[1] = { pat };

	snprintf(pat, sizeof(pat), "%s", pattern);
	snprintf(nm, sizeof(nm), "%s", name);
	sub.patterns = pats;
	sub.n_patterns = 1;
	sub.durable_name = nm;
	env.request_id = 900;
	env.body_case = CCC__V1__ENVELOPE__BODY_SUBSCRIBE;
	env.subscribe = &sub;
	h_raw_send_env(r, &env);
	return h_raw_recv_skip_ping(r, H_WAIT_MS);
}

static void	ack_all(struct h_raw *, uint64_t *, size_t);

static void
ack(struct h_raw *r, uint64_t tag)
{
	ack_all(r, &tag, 1);
}

/* The next Deliver on r (pings skipped); fails the test after H_WAIT_MS. */
static Ccc__V1__Envelope *
next_deliver(struct h_raw *r)
{
	Ccc__V1__Envelope *e = h_raw_recv_skip_ping(r, H_WAIT_MS);

	ck_assert_msg(e != NULL, "no delivery within %d ms", H_WAIT_MS);
	ck_assert_int_eq(e->body_case, CCC__V1__ENVELOPE__BODY_DELIVER);
	return e;
}

/*
 * Wait until the broker has detached n durable subscriptions in all, so that
 * a new session can resume one just closed (a close and a new connection are
 * not ordered with each other).
 */
static void
wait_detached(const struct h_broker *b, size_t n)
{
	for (int i = 0; i < H_WAIT_MS / 10; i++) {
		if (h_log_count(b, "detached durable subscription") >= n)
			return;
		usleep(10000);
	}
	ck_abort_msg("the broker did not detach durable subscription %zu", n);
}

/* What cccd --dead-letters lists of b's store (b halted); the caller frees it. */
static char *
dead_letters(const struct h_broker *b)
{
	char cmd[1200], out[400], *text;
	int st;

	snprintf(out, sizeof(out), "%s/dead.txt", b->dir);
	snprintf(cmd, sizeof(cmd), "%s/cccd --dead-letters --config '%s' "
	    ">'%s' 2>>'%s'", h_builddir(), b->config, out, b->log);
	st = system(cmd);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	text = h_slurp(out);
	ck_assert_ptr_nonnull(text);
	return text;
}

/* Acknowledge the n tags of v in one Ack on r. */
static void
ack_all(struct h_raw *r, uint64_t *v, size_t n)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Ack a = CCC__V1__ACK__INIT;

	a.delivery_tags = v;
	a.n_delivery_tags = n;
	env.body_case = CCC__V1__ENVELOPE__BODY_ACK;
	env.ack = &a;
	h_raw_send_env(r, &env);
}

/* Publish one alert as tr-police; returns its id in id. */
static void
publish(ccc_client *c, const char *summary, char id[CCC_ID_LEN])
{
	Ccc__V1__Alert *a = h_alert("migrant_smuggling", "tr-bg/kapikule",
	    "high", "h1", summary);
	struct ccc_error err;

	ck_assert_msg(ccc_publish(c, a, id, &err) == 0, "publish: %s",
	    err.message);
	h_alert_free(a);
}

START_TEST(durable_survives_disconnect)
{
	struct h_broker *b = h_broker_start(NULL);
	struct h_raw *r = h_raw_session(b, "gr-police");
	ccc_client *pub = h_connect(b, "tr-police");
	Ccc__V1__Envelope *e;
	char ids[3][CCC_ID_LEN];
	uint64_t last = 0;

	e = dsub(r, "kapikule-feed", "alerts/+/tr-bg/#");
	ck_assert_int_eq(e->body_case, CCC__V1__ENVELOPE__BODY_SUBSCRIBE_OK);
	ck_assert(!e->subscribe_ok->resumed);
	frame_free(e);
	h_raw_close(r);
	wait_detached(b, 1);

	for (int i = 0; i < 3; i++)
		publish(pub, "while the officer was away", ids[i]);

	r = h_raw_session(b, "gr-police");
	e = dsub(r, "kapikule-feed", "alerts/+/tr-bg/#");
	ck_assert_int_eq(e->body_case, CCC__V1__ENVELOPE__BODY_SUBSCRIBE_OK);
	ck_assert(e->subscribe_ok->resumed);
	frame_free(e);
	for (int i = 0; i < 3; i++) {
		e = next_deliver(r);
		ck_assert_str_eq(e->deliver->alert->id, ids[i]);	/* in order */
		ck_assert_uint_gt(e->deliver->delivery_tag, last);
		ck_assert_uint_eq(e->deliver->redelivered, 0);
		last = e->deliver->delivery_tag;
		ack(r, last);
		frame_free(e);
	}
	h_raw_close(r);
	wait_detached(b, 2);

	/* all acknowledged: nothing comes again */
	r = h_raw_session(b, "gr-police");
	frame_free(dsub(r, "kapikule-feed", "alerts/+/tr-bg/#"));
	ck_assert_ptr_null(h_raw_recv_skip_ping(r, H_QUIET_MS));
	h_raw_close(r);
	ccc_close(pub);
	h_broker_stop(b);
}
END_TEST

START_TEST(unacknowledged_redelivered_on_reconnect)
{
	struct h_broker *b = h_broker_start(NULL);
	struct h_raw *r = h_raw_session(b, "gr-police");
	ccc_client *pub = h_connect(b, "tr-police");
	Ccc__V1__Envelope *e;
	char id[CCC_ID_LEN];
	uint64_t tag;

	frame_free(dsub(r, "feed", "alerts/#"));
	publish(pub, "first", id);
	e = next_deliver(r);
	tag = e->deliver->delivery_tag;
	ck_assert_uint_ne(tag, 0);
	ck_assert_uint_eq(e->deliver->redelivered, 0);
	frame_free(e);
	h_raw_reset(r);		/* dies before acknowledging */
	wait_detached(b, 1);

	r = h_raw_session(b, "gr-police");
	frame_free(dsub(r, "feed", "alerts/#"));
	e = next_deliver(r);
	ck_assert_str_eq(e->deliver->alert->id, id);
	ck_assert_uint_eq(e->deliver->delivery_tag, tag);
	ck_assert_uint_eq(e->deliver->redelivered, 1);
	frame_free(e);
	h_raw_close(r);
	ccc_close(pub);
	h_broker_stop(b);
}
END_TEST

START_TEST(durable_survives_restart)
{
	struct h_broker *b = h_broker_start(NULL);
	struct h_raw *r = h_raw_session(b, "gr-police");
	ccc_client *pub = h_connect(b, "tr-police");
	Ccc__V1__Envelope *e;
	char id[CCC_ID_LEN];

	frame_free(dsub(r, "feed", "alerts/migrant_smuggling/#"));
	h_raw_close(r);
	publish(pub, "before the restart", id);
	ccc_close(pub);
	h_broker_halt(b);
	h_broker_restart(b);
	ck_assert(h_log_contains(b, "1 durable subscriptions loaded"));

	r = h_raw_session(b, "gr-police");
	e = dsub(r, "feed", "alerts/migrant_smuggling/#");
	ck_assert(e->subscribe_ok->resumed);
	frame_free(e);
	e = next_deliver(r);
	ck_assert_str_eq(e->deliver->alert->id, id);
	ck_assert_str_eq(e->deliver->alert->origin, "tr-police");
	frame_free(e);
	h_raw_close(r);
	h_broker_stop(b);
}
END_TEST

START_TEST(ack_timeout_redelivers)
{
	struct h_broker *b = h_broker_start("durable:\n  ack_timeout: 1\n");
	struct h_raw *r = h_raw_session(b, "gr-police");
	ccc_client *pub = h_connect(b, "tr-police");
	Ccc__V1__Envelope *e;
	char id[CCC_ID_LEN];

	frame_free(dsub(r, "feed", "alerts/#"));
	publish(pub, "acknowledge me", id);
	e = next_deliver(r);
	ck_assert_uint_eq(e->deliver->redelivered, 0);
	frame_free(e);
	/* no ack: the same session gets it again after about a second */
	e = next_deliver(r);
	ck_assert_str_eq(e->deliver->alert->id, id);
	ck_assert_uint_eq(e->deliver->redelivered, 1);
	ack(r, e->deliver->delivery_tag);
	frame_free(e);
	ck_assert_ptr_null(h_raw_recv_skip_ping(r, 1500));
	h_raw_close(r);
	ccc_close(pub);
	h_broker_stop(b);
}
END_TEST

START_TEST(dead_letter_after_max_deliveries)
{
	struct h_broker *b = h_broker_start(
	    "durable:\n  ack_timeout: 1\n  max_deliveries: 2\n");
	struct h_raw *r = h_raw_session(b, "gr-police");
	ccc_client *pub = h_connect(b, "tr-police");
	Ccc__V1__Envelope *e;
	char id[CCC_ID_LEN], *text;

	frame_free(dsub(r, "feed", "alerts/#"));
	publish(pub, "never acknowledged", id);
	for (uint32_t i = 0; i < 2; i++) {
		e = next_deliver(r);
		ck_assert_uint_eq(e->deliver->redelivered, i);
		frame_free(e);
	}
	/* the third attempt is not made: the alert goes to the dead letters */
	ck_assert_ptr_null(h_raw_recv_skip_ping(r, 2500));
	ck_assert(h_log_wait(b, "moved to the dead-letter list", H_WAIT_MS));
	h_raw_close(r);
	ccc_close(pub);
	h_broker_halt(b);
	/* operators can list it */
	text = dead_letters(b);
	ck_assert_msg(strstr(text, id) != NULL && strstr(text,
	    "gr-police feed") != NULL && strstr(text, "attempts=2") != NULL,
	    "dead letters: %s", text);
	free(text);
	h_broker_stop(b);
}
END_TEST

START_TEST(durable_in_use_and_changed_patterns)
{
	struct h_broker *b = h_broker_start(NULL);
	struct h_raw *r1 = h_raw_session(b, "gr-police");
	struct h_raw *r2 = h_raw_session(b, "gr-police");
	Ccc__V1__Envelope *e;

	frame_free(dsub(r1, "feed", "alerts/#"));
	e = dsub(r2, "feed", "alerts/#");
	h_expect_error(e, CCC__V1__ERROR_CODE__ERROR_CODE_SUBSCRIPTION_IN_USE,
	    false, "attached to another session");
	frame_free(e);
	h_raw_close(r1);
	wait_detached(b, 1);
	e = dsub(r2, "feed", "alerts/drugs/#");
	h_expect_error(e, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_REQUEST,
	    false, "exists with other patterns");
	frame_free(e);
	e = dsub(r2, "Bad Name", "alerts/#");
	h_expect_error(e, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_REQUEST,
	    false, "durable subscription names");
	frame_free(e);
	/* the access rules apply to durable subscriptions too */
	h_raw_close(r2);
	r2 = h_raw_session(b, "bg-customs");
	e = dsub(r2, "all", "alerts/#");
	h_expect_error(e, CCC__V1__ERROR_CODE__ERROR_CODE_FORBIDDEN, false,
	    "reaches beyond");
	frame_free(e);
	h_raw_close(r2);
	h_broker_stop(b);
}
END_TEST

START_TEST(forget_deletes)
{
	struct h_broker *b = h_broker_start(NULL);
	struct h_raw *r = h_raw_session(b, "gr-police");
	ccc_client *pub = h_connect(b, "tr-police");
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT, *e;
	Ccc__V1__Unsubscribe un = CCC__V1__UNSUBSCRIBE__INIT;
	char id[CCC_ID_LEN];

	e = dsub(r, "feed", "alerts/#");
	un.subscription_id = e->subscribe_ok->subscription_id;
	frame_free(e);
	h_raw_close(r);
	wait_detached(b, 1);
	publish(pub, "pending when forgotten", id);
	r = h_raw_session(b, "gr-police");
	frame_free(dsub(r, "feed", "alerts/#"));
	frame_free(next_deliver(r));
	un.forget = true;
	env.request_id = 77;
	env.body_case = CCC__V1__ENVELOPE__BODY_UNSUBSCRIBE;
	env.unsubscribe = &un;
	h_raw_send_env(r, &env);
	e = h_raw_recv_skip_ping(r, H_WAIT_MS);
	ck_assert_int_eq(e->body_case, CCC__V1__ENVELOPE__BODY_UNSUBSCRIBE_OK);
	frame_free(e);
	/* a new subscription of that name starts empty */
	e = dsub(r, "feed", "alerts/#");
	ck_assert(!e->subscribe_ok->resumed);
	frame_free(e);
	ck_assert_ptr_null(h_raw_recv_skip_ping(r, H_QUIET_MS));
	h_raw_close(r);
	ccc_close(pub);
	h_broker_stop(b);
}
END_TEST

START_TEST(idempotent_publish)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *sub = h_connect(b, "gr-police");
	ccc_client *pub = h_connect(b, "tr-police");
	Ccc__V1__Alert *a = h_alert("drugs", "tr-bg/kapikule", "high", "h1",
	    "40 kg heroin");
	Ccc__V1__Envelope *ok1, *ok2, *got;
	char id[UUID_STRLEN];

	h_subscribe(sub, "alerts/#");
	uuid_v7(h_now_us(), id);
	h_set_str(&a->id, id);
	ok1 = h_publish_ok(pub, a);
	ck_assert_str_eq(ok1->publish_ok->id, id);
	ck_assert(!ok1->publish_ok->duplicate);
	got = h_recv_deliver(sub);
	ck_assert_str_eq(got->deliver->alert->id, id);
	ccc_envelope_free(got);

	/* the same again (a retry after a lost confirmation): confirmed, not delivered */
	ok2 = h_publish_ok(pub, a);
	ck_assert(ok2->publish_ok->duplicate);
	ck_assert_int_eq(ok2->publish_ok->published_at, ok1->publish_ok->published_at);
	h_recv_none(sub, H_QUIET_MS);

	/* the same id with other content is refused */
	h_set_str(&a->summary, "41 kg heroin");
	got = h_publish_refused(pub, a);
	h_expect_error(got, CCC__V1__ERROR_CODE__ERROR_CODE_ALERT_ID_CONFLICT,
	    false, "with different content");
	ccc_envelope_free(got);
	h_recv_none(sub, H_QUIET_MS);
	ck_assert(h_log_wait(b, "published before with other content", H_WAIT_MS));

	/* and across a restart */
	ccc_envelope_free(ok2);
	ccc_close(sub);
	ccc_close(pub);
	h_broker_halt(b);
	h_broker_restart(b);
	pub = h_connect(b, "tr-police");
	h_set_str(&a->summary, "40 kg heroin");
	ok2 = h_publish_ok(pub, a);
	ck_assert(ok2->publish_ok->duplicate);
	ccc_envelope_free(ok1);
	ccc_envelope_free(ok2);
	h_alert_free(a);
	ccc_close(pub);
	h_broker_stop(b);
}
END_TEST

START_TEST(retention_purges_and_chain_still_verifies)
{
	struct h_broker *b = h_broker_start("retention:\n  alerts: 2s\n"
	    "  audit: 2s\n  interval: 1s\n  batch: 10\n");
	ccc_client *pub = h_connect(b, "tr-police");
	Ccc__V1__Alert *a = h_alert("other", "tr-gr/ipsala", "low", "h0",
	    "Routine notice");
	char db[400];
	sqlite3_stmt *stmt;
	sqlite3 *h;
	int alerts = -1;

	for (int i = 0; i < 25; i++)
		ccc_envelope_free(h_publish_ok(pub, a));
	h_alert_free(a);
	ccc_close(pub);
	/*
	 * Two seconds of age, then purge runs in batches of ten; earlier runs
	 * may purge only the start-up records, so watch the store (a reader
	 * beside the broker's writer: WAL) until the alerts are gone.
	 */
	ck_assert(h_log_wait(b, "retention: purged", 10000));
	snprintf(db, sizeof(db), "%s/data/ccc.db", b->dir);
	ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
	for (int tries = 0; tries < 100 && alerts != 0; tries++) {
		if (tries > 0)
			usleep(100000);
		ck_assert_int_eq(sqlite3_prepare_v2(h, "SELECT count(*) FROM "
		    "alerts", -1, &stmt, NULL), SQLITE_OK);
		ck_assert_int_eq(sqlite3_step(stmt), SQLITE_ROW);
		alerts = sqlite3_column_int(stmt, 0);
		sqlite3_finalize(stmt);
	}
	sqlite3_close(h);
	h_broker_halt(b);
	ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(h, "SELECT min(seq) FROM audit",
	    -1, &stmt, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(stmt), SQLITE_ROW);
	ck_assert_int_gt(sqlite3_column_int(stmt, 0), 1);	/* a prefix purged */
	sqlite3_finalize(stmt);
	sqlite3_close(h);
	ck_assert_int_eq(alerts, 0);
	ck_assert_int_eq(verify_audit(b), 0);
	ck_assert(h_log_contains(b, "purged by retention"));
	h_broker_restart(b);
	h_broker_stop(b);
}
END_TEST

/* One integer from a one-row query on b's store (running or halted). */
static int64_t
store_value(const struct h_broker *b, const char *sql)
{
	char data[300];

	snprintf(data, sizeof(data), "%s/data", b->dir);
	return h_store_value(data, sql);
}

/* Wait up to timeout_ms for the query on b's store to give want. */
static bool
store_wait(const struct h_broker *b, const char *sql, int64_t want,
    int timeout_ms)
{
	int64_t deadline = h_mono_ms() + timeout_ms;

	while (store_value(b, sql) != want) {
		if (h_mono_ms() > deadline)
			return false;
		h_sleep_ms(50);
	}
	return true;
}

/* Wait up to timeout_ms for the log to contain one of two lines. */
static bool
log_wait_either(const struct h_broker *b, const char *one, const char *other,
    int timeout_ms)
{
	int64_t deadline = h_mono_ms() + timeout_ms;

	while (!h_log_contains(b, one) && !h_log_contains(b, other)) {
		if (h_mono_ms() > deadline)
			return false;
		h_sleep_ms(50);
	}
	return true;
}

/*
 * Subscribe durable "kapikule-feed" as gr-police and go offline; then n
 * alerts wait for it (tr-police publishes them).
 */
static void
offline_backlog(const struct h_broker *b, ccc_client *pub, int n)
{
	struct h_raw *r = h_raw_session(b, "gr-police");
	char id[CCC_ID_LEN];

	frame_free(dsub(r, "kapikule-feed", "alerts/+/tr-bg/#"));
	h_raw_close(r);
	wait_detached(b, 1);
	for (int i = 0; i < n; i++)
		publish(pub, "waiting for the officer", id);
}

/* gr-police comes back to "kapikule-feed": n alerts arrive, acknowledged. */
static void
backlog_arrives(const struct h_broker *b, int n)
{
	struct h_raw *r = h_raw_session(b, "gr-police");
	Ccc__V1__Envelope *e;

	frame_free(dsub(r, "kapikule-feed", "alerts/+/tr-bg/#"));
	for (int i = 0; i < n; i++) {
		e = next_deliver(r);
		ack(r, e->deliver->delivery_tag);
		frame_free(e);
	}
	ck_assert_ptr_null(h_raw_recv_skip_ping(r, H_QUIET_MS));
	h_raw_close(r);
}

/* The seq the store gave the alert id (a halted or running broker). */
static int64_t
alert_seq(const struct h_broker *b, const char *id)
{
	char sql[160];

	snprintf(sql, sizeof(sql), "SELECT coalesce(max(seq), 0) FROM alerts "
	    "WHERE id = '%s'", id);
	return store_value(b, sql);
}

/*
 * An alert's place in the store (its seq) is never given to another, even
 * once retention deleted the newest alerts: a history replay that started
 * before would otherwise read a later alert as one of its own and send it
 * twice, once replayed and once live.
 */
START_TEST(alert_seq_never_reused)
{
	struct h_broker *b = h_broker_start("retention:\n  alerts: 1s\n"
	    "  interval: 1s\n");
	ccc_client *pub = h_connect(b, "tr-police");
	Ccc__V1__Alert *a = h_alert("other", "tr-gr/ipsala", "low", "h0",
	    "Routine notice");
	Ccc__V1__Envelope *ok = h_publish_ok(pub, a);
	char first[CCC_ID_LEN];
	int64_t seq;

	snprintf(first, sizeof(first), "%s", ok->publish_ok->id);
	ccc_envelope_free(ok);
	seq = alert_seq(b, first);
	ck_assert_int_gt(seq, 0);
	ck_assert(store_wait(b, "SELECT count(*) FROM alerts", 0, 10000));
	ok = h_publish_ok(pub, a);
	ck_assert_int_gt(alert_seq(b, ok->publish_ok->id), seq);
	ccc_envelope_free(ok);
	h_alert_free(a);
	ccc_close(pub);
	h_broker_stop(b);
}
END_TEST

/*
 * Retention keeps what a durable subscription (an inbox too) has not had
 * acknowledged: ten alerts waiting for an offline subscriber and one routed
 * to two inboxes (and waiting for the subscriber too) outlive
 * alerts.retention; the five nobody waits for go. Once the subscriber has
 * acknowledged its eleven, the ten go too, and the routed one stays for
 * the inboxes.
 */
START_TEST(retention_keeps_unacknowledged)
{
	struct h_broker *b = h_broker_start("retention:\n  alerts: 2s\n"
	    "  interval: 1s\n  batch: 10\n");
	ccc_client *pub = h_connect(b, "tr-police");
	ccc_client *customs = h_connect(b, "tr-customs");
	Ccc__V1__Alert *a = h_alert("other", "tr-gr/ipsala", "low", "h0",
	    "Routine notice");
	Ccc__V1__Alert *routed = h_alert("drugs", "tr-bg/kapikule", "high", "h1",
	    "Heroin in a lorry");

	offline_backlog(b, pub, 10);
	for (int i = 0; i < 5; i++)
		ccc_envelope_free(h_publish_ok(pub, a));
	ccc_envelope_free(h_publish_ok(customs, routed));
	/* the routed one has three recipients: the subscriber and two inboxes */
	ck_assert(store_value(b, "SELECT length(rcpt) - length(replace(rcpt, "
	    "',', '')) - 1 FROM alerts WHERE seq = (SELECT max(seq) FROM "
	    "alerts)") == 3);
	ck_assert(store_wait(b, "SELECT count(*) FROM alerts", 11, 10000));
	/* the log line comes with the purge's callback, after its sync */
	ck_assert(h_log_wait(b, "retention: purged", H_WAIT_MS));
	h_sleep_ms(1500);	/* another run: still kept */
	ck_assert(store_value(b, "SELECT count(*) FROM alerts") == 11);
	backlog_arrives(b, 11);
	ck_assert(store_wait(b, "SELECT count(*) FROM alerts", 1, 10000));
	h_alert_free(a);
	h_alert_free(routed);
	ccc_close(pub);
	ccc_close(customs);
	h_broker_halt(b);
	ck_assert_int_eq(verify_audit(b), 0);
	h_broker_restart(b);
	h_broker_stop(b);
}
END_TEST

/*
 * With clock set (the cccd started next gets libfaketime preloaded: its
 * wall clock is the real one moved by the offset in the file clock, which
 * the test rewrites with clock_set; its monotonic clock is the real one);
 * with NULL, back to cccd without it.
 */
static void
faketime_env(const char *clock)
{
	static const char *const vars[] = { "LD_PRELOAD",
	    "FAKETIME_TIMESTAMP_FILE", "FAKETIME_NO_CACHE",
	    "FAKETIME_DONT_FAKE_MONOTONIC" };
	const char *values[] = { FAKETIME_LIB, clock, "1", "1" };

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		if (clock != NULL)
			ck_assert(setenv(vars[i], values[i], 1) == 0);
		else
			ck_assert(unsetenv(vars[i]) == 0);
	}
	/* under make asan the sanitizer runtime must not insist on coming first */
	if (clock != NULL)
		h_asan_option("verify_asan_link_order=0");
}

/*
 * Start cccd with libfaketime preloaded, its clock offset in a new file
 * clock ("+0"). NULL when it cannot be (cccd under a wrapper); the test is
 * then not run.
 */
static struct h_broker *
faked_broker_start(const char *yaml, char clock[], const char *test)
{
	struct h_broker *b;
	int fd;

	if (h_wrapped()) {
		fprintf(stderr, "%s: cccd runs under a wrapper; not run\n", test);
		return NULL;
	}
	ck_assert_msg(access(FAKETIME_LIB, R_OK) == 0, "%s is not installed "
	    "(package libfaketime: make deps)", FAKETIME_LIB);
	ck_assert((fd = mkstemp(clock)) >= 0);
	ck_assert(write(fd, "+0\n", 3) == 3);
	close(fd);
	faketime_env(clock);
	b = h_broker_start_at(yaml, test);
	faketime_env(NULL);
	return b;
}

/* Move the faked clock to offset from the real one ("+2d", "+0"). */
static void
clock_set(const char *clock, const char *offset)
{
	FILE *fp = fopen(clock, "w");

	ck_assert_ptr_nonnull(fp);
	ck_assert(fprintf(fp, "%s\n", offset) > 0);
	ck_assert(fclose(fp) == 0);
}

/*
 * A step of the wall clock by two days with alerts retention of one day:
 * retention holds back, says so, and the offline subscriber gets all ten
 * alerts once the clock is right again; nothing at all was purged.
 */
START_TEST(clock_step_keeps_waiting_alerts)
{
	char clock[] = "/tmp/ccc-clock.XXXXXX";
	struct h_broker *b = faked_broker_start("retention:\n  alerts: 1d\n"
	    "  interval: 1s\n", clock, __func__);
	ccc_client *pub;
	Ccc__V1__Alert *a = h_alert("other", "tr-gr/ipsala", "low", "h0",
	    "Routine notice");

	if (b == NULL) {
		h_alert_free(a);
		return;
	}
	pub = h_connect(b, "tr-police");
	offline_backlog(b, pub, 10);
	for (int i = 0; i < 5; i++)
		ccc_envelope_free(h_publish_ok(pub, a));
	ccc_close(pub);
	clock_set(clock, "+2d");
	ck_assert(log_wait_either(b, "retention held back", "retention: purged",
	    H_WAIT_MS));
	h_sleep_ms(1500);	/* another run on the stepped clock */
	clock_set(clock, "+0");
	ck_assert(store_value(b, "SELECT count(*) FROM alerts") == 15);
	backlog_arrives(b, 10);
	ck_assert(h_log_contains(b, "retention held back"));
	ck_assert(!h_log_contains(b, "retention: purged"));
	h_alert_free(a);
	h_broker_stop(b);
	unlink(clock);
}
END_TEST

/* The audit journal of b is whole: nothing was ever purged from it. */
static void
journal_unpurged(const struct h_broker *b)
{
	ck_assert_int_eq(store_value(b, "SELECT min(seq) FROM audit"), 1);
	ck_assert_int_eq(store_value(b, "SELECT count(*) FROM audit WHERE "
	    "event = 'purge'"), 0);
}

/*
 * A step of the wall clock by twenty years for about a second: the audit
 * journal (retention one day) is not purged, and the log says why. The same
 * after a restart on a clock twenty years ahead: the last run's time, kept
 * in the store, is the expected time then (the records written on the
 * stepped clock, the sessions' closes, do not move it).
 */
START_TEST(clock_step_keeps_the_journal)
{
	char clock[] = "/tmp/ccc-clock.XXXXXX";
	struct h_broker *b = faked_broker_start("retention:\n  alerts: 1d\n"
	    "  audit: 1d\n  interval: 1s\n", clock, __func__);
	int64_t records;

	if (b == NULL)
		return;
	h_exchange_fresh(b);
	h_exchange_fresh(b);
	records = store_value(b, "SELECT count(*) FROM audit");
	ck_assert_int_gt(records, 4);
	clock_set(clock, "+20y");
	ck_assert(log_wait_either(b, "retention held back", "retention: purged",
	    H_WAIT_MS));
	clock_set(clock, "+0");
	h_broker_halt(b);
	journal_unpurged(b);
	ck_assert_int_ge(store_value(b, "SELECT count(*) FROM audit"), records);
	ck_assert(h_log_contains(b, "retention held back"));
	ck_assert(h_log_contains(b, "the clock says 204"));
	ck_assert_int_eq(verify_audit(b), 0);
	ck_assert(h_log_contains(b, "audit journal intact"));

	clock_set(clock, "+20y");
	faketime_env(clock);
	h_broker_restart(b);		/* a new log */
	faketime_env(NULL);
	ck_assert(log_wait_either(b, "retention held back", "retention: purged",
	    H_WAIT_MS));
	h_broker_halt(b);
	ck_assert(h_log_contains(b, "retention held back"));
	journal_unpurged(b);
	h_broker_restart(b);
	h_broker_stop(b);
	unlink(clock);
}
END_TEST

/*
 * A clock a year behind is believed (it purges less) but does not lower the
 * time expected: after a restart on the right clock retention runs as
 * usual, without holding back.
 */
START_TEST(clock_behind_then_restart)
{
	char clock[] = "/tmp/ccc-clock.XXXXXX";
	struct h_broker *b = faked_broker_start("retention:\n  audit: 1d\n"
	    "  interval: 1s\n", clock, __func__);
	int64_t expected;

	if (b == NULL)
		return;
	clock_set(clock, "-365d");
	ck_assert(store_wait(b, "SELECT count(*) FROM retention_clock", 1,
	    H_WAIT_MS));
	h_sleep_ms(1500);	/* a run on the clock behind */
	h_broker_halt(b);
	expected = store_value(b, "SELECT at FROM retention_clock");
	ck_assert_int_gt(expected, h_now_us() - 60 * 1000000LL);
	h_broker_restart(b);	/* on the right clock */
	for (int64_t end = h_mono_ms() + H_WAIT_MS; h_mono_ms() < end &&
	    store_value(b, "SELECT at FROM retention_clock") == expected;)
		h_sleep_ms(50);
	ck_assert_int_gt(store_value(b, "SELECT at FROM retention_clock"),
	    expected);
	ck_assert(!h_log_contains(b, "retention held back"));
	h_broker_stop(b);
	unlink(clock);
}
END_TEST

/*
 * Retention held back on a clock two days ahead still purges what is old by
 * the expected time; those purges, recorded on the stepped clock, fit their
 * retention and --verify-audit finds the journal intact.
 */
START_TEST(held_purge_verifies)
{
	char clock[] = "/tmp/ccc-clock.XXXXXX", sql[160];
	struct h_broker *b = faked_broker_start("retention:\n  audit: 2s\n"
	    "  interval: 1s\n", clock, __func__);

	if (b == NULL)
		return;
	h_exchange_fresh(b);
	clock_set(clock, "+2d");
	h_exchange_fresh(b);		/* records dated two days ahead */
	ck_assert(h_log_wait(b, "retention held back", H_WAIT_MS));
	h_sleep_ms(3000);	/* the records of the first exchange get old */
	clock_set(clock, "+0");
	h_exchange_fresh(b);
	h_broker_halt(b);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE event = "
	    "'purge' AND at > %lld", (long long)(h_now_us() + 86400000000LL));
	ck_assert_int_gt(store_value(b, sql), 0);	/* purged while held */
	ck_assert_int_eq(verify_audit(b), 0);
	h_broker_restart(b);
	h_broker_stop(b);
	unlink(clock);
}
END_TEST

/*
 * A purge on a clock five years ahead, let through by a bound of ten years
 * (retention.max_clock_jump, set too wide), then records at the right time
 * again: --verify-audit, with the bound back at its default of a day,
 * reports the purge as one that does not fit its retention.
 */
START_TEST(purge_on_a_wrong_clock_does_not_verify)
{
	char clock[] = "/tmp/ccc-clock.XXXXXX", *cfg, *wide;
	struct h_broker *b = faked_broker_start("retention:\n  audit: 1d\n"
	    "  interval: 1s\n  max_clock_jump: 3650d\n", clock, __func__);
	FILE *fp;

	if (b == NULL)
		return;
	h_exchange_fresh(b);
	clock_set(clock, "+5y");
	ck_assert(h_log_wait(b, "retention: purged", H_WAIT_MS));
	clock_set(clock, "+0");
	h_exchange_fresh(b);		/* records at the right time */
	h_broker_halt(b);
	ck_assert_int_gt(store_value(b, "SELECT min(seq) FROM audit"), 1);
	cfg = h_slurp(b->config);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_ptr_nonnull((wide = strstr(cfg, "  max_clock_jump: 3650d\n")));
	memmove(wide, wide + strlen("  max_clock_jump: 3650d\n"),
	    strlen(wide + strlen("  max_clock_jump: 3650d\n")) + 1);
	ck_assert_ptr_nonnull((fp = fopen(b->config, "w")));
	ck_assert(fputs(cfg, fp) >= 0 && fclose(fp) == 0);
	free(cfg);
	ck_assert_int_eq(verify_audit(b), 1);
	ck_assert(h_log_contains(b, "does not fit its retention"));
	h_broker_restart(b);
	h_broker_stop(b);
	unlink(clock);
}
END_TEST

/* A session of endpoint that asks for pushed receipts (Hello.receipts). */
static ccc_client *
connect_receipts(const struct h_broker *b, const char *endpoint)
{
	char cert[128], key[128];
	struct ccc_options o;
	struct ccc_error err;
	ccc_client *c = NULL;

	snprintf(cert, sizeof(cert), "%s.pem", endpoint);
	snprintf(key, sizeof(key), "%s.key", endpoint);
	memset(&o, 0, sizeof(o));
	o.server = b->server;
	o.cert = h_pki(cert);
	o.key = h_pki(key);
	o.ca = h_pki("ca.pem");
	o.timeout_ms = H_WAIT_MS;
	o.receipts = true;
	ck_assert_msg(ccc_connect(&o, &c, &err) == 0, "connect: %s",
	    err.message);
	return c;
}

/*
 * Receipts: pushed to exactly the originator's sessions that asked (two
 * here), not to its session that did not, nor to another endpoint's
 * session that asked; and given on request to the originator only.
 */
START_TEST(receipts_for_the_originator)
{
	struct h_broker *b = h_broker_start(NULL);
	struct h_raw *r = h_raw_session(b, "bg-border-police");
	ccc_client *plain = h_connect(b, "tr-police");
	ccc_client *pub = h_connect(b, "gr-police");
	ccc_client *watch = connect_receipts(b, "gr-police");
	ccc_client *watch2 = connect_receipts(b, "gr-police");
	ccc_client *other = connect_receipts(b, "tr-police");
	Ccc__V1__Alert *a = h_alert("drugs", "bg-gr/kulata", "high", "h1",
	    "Cocaine in a banana shipment");
	Ccc__V1__Envelope *ok, *e, *reply;
	struct ccc_error err;
	const Ccc__V1__ReceiptsOk *ro;
	bool seen_tr = false, seen_bg = false;

	frame_free(dsub(r, "desk", "alerts/drugs/#"));
	h_subscribe(plain, "alerts/drugs/#");
	ok = h_publish_ok(pub, a);
	ccc_envelope_free(h_recv_deliver(plain));
	e = next_deliver(r);
	ack(r, e->deliver->delivery_tag);
	frame_free(e);
	/* the acknowledgement is pushed to the watching sessions */
	for (int w = 0; w < 2; w++) {
		e = h_recv(w == 0 ? watch : watch2, H_WAIT_MS);
		ck_assert_int_eq(e->body_case,
		    CCC__V1__ENVELOPE__BODY_RECEIPTS_OK);
		ck_assert_uint_eq(e->request_id, 0);
		ck_assert_str_eq(e->receipts_ok->alert_id, ok->publish_ok->id);
		ck_assert_uint_eq(e->receipts_ok->n_receipts, 1);
		ck_assert_str_eq(e->receipts_ok->receipts[0]->endpoint,
		    "bg-border-police");
		ck_assert_int_gt(e->receipts_ok->receipts[0]->acknowledged_at,
		    0);
		ccc_envelope_free(e);
	}
	h_recv_none(pub, H_QUIET_MS);	/* it did not ask */
	h_recv_none(other, H_QUIET_MS);	/* not its alert */
	h_recv_none(watch, H_QUIET_MS);	/* once each */
	ccc_close(watch);
	ccc_close(watch2);
	ccc_close(other);
	/* the acknowledgement reaches the store a moment later */
	for (int tries = 0;; tries++) {
		ck_assert_msg(ccc_receipts(pub, ok->publish_ok->id, &reply,
		    &err) == 0, "receipts: %s", err.message);
		ro = reply->receipts_ok;
		for (size_t i = 0; i < ro->n_receipts; i++)
			if (ro->receipts[i]->acknowledged_at != 0)
				seen_bg = true;
		if (seen_bg || tries == 50)
			break;
		ccc_envelope_free(reply);
		usleep(100000);
	}
	seen_bg = false;
	ck_assert_str_eq(ro->alert_id, ok->publish_ok->id);
	ck_assert_uint_eq(ro->n_receipts, 2);
	for (size_t i = 0; i < ro->n_receipts; i++) {
		const Ccc__V1__Receipt *x = ro->receipts[i];

		ck_assert_int_gt(x->delivered_at, 0);
		if (strcmp(x->endpoint, "tr-police") == 0) {
			seen_tr = true;
			ck_assert(x->transfer);		/* GR to TR */
			ck_assert_int_eq(x->acknowledged_at, 0);	/* plain */
		} else if (strcmp(x->endpoint, "bg-border-police") == 0) {
			seen_bg = true;
			ck_assert(!x->transfer);
			ck_assert_int_ge(x->acknowledged_at, x->delivered_at);
		}
	}
	ck_assert(seen_tr && seen_bg);
	ccc_envelope_free(reply);
	/* nobody else may ask */
	ck_assert_int_eq(ccc_receipts(plain, ok->publish_ok->id, &reply, &err), -1);
	ck_assert_int_eq(err.code, CCC__V1__ERROR_CODE__ERROR_CODE_NOT_FOUND);
	ccc_envelope_free(ok);
	h_alert_free(a);
	h_raw_close(r);
	ccc_close(plain);
	ccc_close(pub);
	h_broker_stop(b);
}
END_TEST

START_TEST(expired_alerts_not_delivered)
{
	struct h_broker *b = h_broker_start("ttl:\n  drugs: 1\n");
	struct h_raw *r = h_raw_session(b, "gr-police");
	ccc_client *pub = h_connect(b, "tr-police");
	Ccc__V1__Alert *a = h_alert("migrant_smuggling", "tr-bg/kapikule",
	    "high", "h1", "Group seen near the river");
	Ccc__V1__Alert *d = h_alert("drugs", "tr-bg/kapikule", "high", "h1",
	    "Courier on the morning bus");
	Ccc__V1__Envelope *ok, *e;
	const char *const pat[] = { "alerts/#" };
	int64_t t0 = h_now_us();
	char keep[CCC_ID_LEN];
	struct ccc_error err;
	ccc_client *hist;
	uint32_t sid;

	frame_free(dsub(r, "feed", "alerts/#"));
	h_raw_close(r);
	wait_detached(b, 1);
	/* already past: refused */
	a->expires_at = h_now_us() - 1000000;
	e = h_publish_refused(pub, a);
	h_expect_error(e, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_ALERT, false,
	    "expires_at");
	ccc_envelope_free(e);
	/* expires in a second; the drugs one by the category's ttl */
	a->expires_at = h_now_us() + 1000000;
	ok = h_publish_ok(pub, a);
	ccc_envelope_free(ok);
	ok = h_publish_ok(pub, d);
	ccc_envelope_free(ok);
	a->expires_at = 0;
	publish(pub, "still valid", keep);
	usleep(1500000);

	r = h_raw_session(b, "gr-police");
	frame_free(dsub(r, "feed", "alerts/#"));
	e = next_deliver(r);
	ck_assert_str_eq(e->deliver->alert->id, keep);
	frame_free(e);
	ck_assert_ptr_null(h_raw_recv_skip_ping(r, H_QUIET_MS));
	ck_assert(h_log_wait(b, "2 expired alerts not delivered", H_WAIT_MS));
	h_raw_close(r);
	/* nor replayed from the history */
	hist = h_connect(b, "gr-police");
	ck_assert_msg(ccc_subscribe_since(hist, t0, pat, 1, &sid, &err) == 0,
	    "subscribe: %s", err.message);
	e = h_recv_deliver(hist);
	ck_assert_str_eq(e->deliver->alert->id, keep);
	ck_assert(e->deliver->replayed);
	ccc_envelope_free(e);
	h_recv_none(hist, H_QUIET_MS);
	ccc_close(hist);
	h_alert_free(a);
	h_alert_free(d);
	ccc_close(pub);
	h_broker_stop(b);
}
END_TEST

START_TEST(critical_first_in_backlog)
{
	struct h_broker *b = h_broker_start(NULL);
	struct h_raw *r = h_raw_session(b, "gr-police");
	ccc_client *pub = h_connect(b, "tr-police");
	const char *sev[4] = { "low", "medium", "critical", "high" };
	const char *want[4] = { "critical", "high", "medium", "low" };
	Ccc__V1__Envelope *e;

	frame_free(dsub(r, "feed", "alerts/#"));
	h_raw_close(r);
	wait_detached(b, 1);
	for (int i = 0; i < 4; i++) {
		Ccc__V1__Alert *a = h_alert("weapons", "tr-gr/evros", sev[i], "h1",
		    sev[i]);

		ccc_envelope_free(h_publish_ok(pub, a));
		h_alert_free(a);
	}
	r = h_raw_session(b, "gr-police");
	frame_free(dsub(r, "feed", "alerts/#"));
	for (int i = 0; i < 4; i++) {
		e = next_deliver(r);
		ck_assert_str_eq(e->deliver->alert->summary, want[i]);
		frame_free(e);
	}
	h_raw_close(r);
	ccc_close(pub);
	h_broker_stop(b);
}
END_TEST

/*
 * History: alerts published before the subscription are replayed in order,
 * those published while the replay runs follow live, with no gap and no
 * duplicate at the seam; patterns still filter.
 */
START_TEST(history_then_live_without_seam)
{
	enum { BEFORE = 700, DURING = 300 };
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *pub = h_connect(b, "tr-police");
	ccc_client *sub = h_connect(b, "gr-police");
	static char ids[BEFORE + DURING][CCC_ID_LEN];
	char other[CCC_ID_LEN];
	const char *const pat[] = { "alerts/migrant_smuggling/#" };
	Ccc__V1__Alert *a = h_alert("migrant_smuggling", "tr-bg/kapikule",
	    "high", "h1", "history");
	Ccc__V1__Alert *o = h_alert("drugs", "tr-bg/kapikule", "high", "h1",
	    "not matching");
	struct ccc_error err;
	int64_t since = h_now_us();
	int n = 0, got = 0, replayed = 0, live = 0, inflight = 0;
	uint32_t sid;

	for (int i = 0; i < BEFORE; i++)
		ck_assert(ccc_publish(pub, a, ids[n++], &err) == 0);
	ck_assert(ccc_publish(pub, o, other, &err) == 0);
	/* more publishes in flight while the replay starts */
	for (int i = 0; i < DURING; i++) {
		ck_assert(ccc_send_publish(pub, a, NULL, &err) == 0);
		inflight++;
	}
	ck_assert(ccc_flush(pub, &err) == 0);
	ck_assert_msg(ccc_subscribe_since(sub, since, pat, 1, &sid, &err) == 0,
	    "subscribe: %s", err.message);
	while (inflight > 0) {
		Ccc__V1__Envelope *e = h_recv(pub, H_WAIT_MS);

		ck_assert_int_eq(e->body_case, CCC__V1__ENVELOPE__BODY_PUBLISH_OK);
		snprintf(ids[n++], CCC_ID_LEN, "%s", e->publish_ok->id);
		inflight--;
		ccc_envelope_free(e);
	}
	while (got < n) {
		Ccc__V1__Envelope *e = h_recv_deliver(sub);

		ck_assert_msg(strcmp(e->deliver->alert->id, ids[got]) == 0,
		    "delivery %d is %s, expected %s (gap, duplicate or disorder)",
		    got, e->deliver->alert->id, ids[got]);
		ck_assert_str_ne(e->deliver->alert->id, other);
		if (e->deliver->replayed)
			replayed++;
		else
			live++;
		got++;
		ccc_envelope_free(e);
	}
	h_recv_none(sub, H_QUIET_MS);
	ck_assert_int_ge(replayed, BEFORE);
	fprintf(stderr, "history seam: %d replayed, %d live, in order\n",
	    replayed, live);
	h_alert_free(a);
	h_alert_free(o);
	ccc_close(pub);
	ccc_close(sub);
	h_broker_stop(b);
}
END_TEST

/*
 * The seam at its narrowest: a subscription with since made after an
 * alert's publish was routed but before its commit (the store's writer is
 * held before it writes, failsync.so) gets that alert exactly once, live,
 * after the replay of what was committed before it. Routing walks the topic
 * tree at the publish; at the commit the tree has changed, so the live
 * recipients are found again (route.h).
 */
START_TEST(history_seam_between_publish_and_commit)
{
	char trigger[64];
	const char *const pat[] = { "alerts/migrant_smuggling/#" };
	Ccc__V1__Alert *a;
	char before[CCC_ID_LEN], during[CCC_ID_LEN] = "";
	struct h_broker *b;
	ccc_client *pub;
	struct ccc_error err;
	int64_t since;
	int fd, got_before = 0, got_during = 0, order = 0;
	bool confirmed = false;
	uint32_t sid;

	if ((b = h_broker_start_fault(NULL, "CCC_TEST_WRITE_STALL",
	    trigger)) == NULL)
		return;
	a = h_alert("migrant_smuggling", "tr-bg/kapikule", "high", "h1", "seam");
	pub = h_connect(b, "tr-police");
	since = h_now_us();
	ck_assert(ccc_publish(pub, a, before, &err) == 0);

	/* the writer stops before it writes; the publish is routed meanwhile */
	ck_assert((fd = open(trigger, O_WRONLY | O_CREAT, 0600)) >= 0);
	close(fd);
	ck_assert(ccc_send_publish(pub, a, NULL, &err) == 0);
	ck_assert(ccc_flush(pub, &err) == 0);
	/* same session: the broker handles the subscribe after the publish */
	ck_assert_msg(ccc_subscribe_since(pub, since, pat, 1, &sid, &err) == 0,
	    "subscribe: %s", err.message);
	ck_assert(unlink(trigger) == 0);	/* the commit goes ahead */

	while (!confirmed || got_before + got_during < 2) {
		Ccc__V1__Envelope *e = h_recv(pub, H_WAIT_MS);

		if (e->body_case == CCC__V1__ENVELOPE__BODY_PUBLISH_OK) {
			snprintf(during, sizeof(during), "%s", e->publish_ok->id);
			confirmed = true;
		} else {
			ck_assert_int_eq(e->body_case,
			    CCC__V1__ENVELOPE__BODY_DELIVER);
			if (strcmp(e->deliver->alert->id, before) == 0) {
				ck_assert(e->deliver->replayed);
				ck_assert_int_eq(order++, 0);
				got_before++;
			} else {
				ck_assert(!e->deliver->replayed);
				ck_assert_int_eq(order++, 1);
				got_during++;
				if (confirmed)
					ck_assert_str_eq(e->deliver->alert->id,
					    during);
			}
		}
		ccc_envelope_free(e);
	}
	h_recv_none(pub, H_QUIET_MS);
	ck_assert_int_eq(got_before, 1);
	ck_assert_int_eq(got_during, 1);
	h_alert_free(a);
	ccc_close(pub);
	h_broker_stop(b);
}
END_TEST

/* Requests of the durable features that peers can get wrong. */
START_TEST(durable_requests_refused)
{
	struct h_broker *b = h_broker_start("durable:\n  max_subscriptions: 2\n");
	struct h_raw *r = h_raw_session(b, "gr-police");
	ccc_client *c = h_connect(b, "gr-police");
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT, *e;
	Ccc__V1__Subscribe sub = CCC__V1__SUBSCRIBE__INIT;
	Ccc__V1__Receipts q = CCC__V1__RECEIPTS__INIT;
	Ccc__V1__Ack ack = CCC__V1__ACK__INIT;
	static uint64_t tags[1025];
	char pat[] = "alerts/#", name[] = "x", bad[] = "not-an-id";
	char *pats[] = { pat };
	const char *const cpat[] = { "alerts/#" };
	struct ccc_error err;
	uint32_t sid;

	/* since in the future */
	ck_assert_int_eq(ccc_subscribe_since(c, h_now_us() + 3600LL * 1000000,
	    cpat, 1, &sid, &err), -1);
	ck_assert_int_eq(err.code, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_REQUEST);
	/* since before the epoch */
	ck_assert_int_eq(ccc_subscribe_since(c, -1, cpat, 1, &sid, &err), -1);
	ck_assert_int_eq(err.code, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_REQUEST);
	ck_assert(!err.fatal);
	/* since with a durable name */
	sub.patterns = pats;
	sub.n_patterns = 1;
	sub.durable_name = name;
	sub.since = h_now_us() - 1000000;
	env.request_id = 5;
	env.body_case = CCC__V1__ENVELOPE__BODY_SUBSCRIBE;
	env.subscribe = &sub;
	h_raw_send_env(r, &env);
	e = h_raw_recv_skip_ping(r, H_WAIT_MS);
	h_expect_error(e, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_REQUEST, false,
	    "plain subscriptions only");
	frame_free(e);
	/* receipts of something that is not an alert id */
	q.alert_id = bad;
	env.request_id = 6;
	env.body_case = CCC__V1__ENVELOPE__BODY_RECEIPTS;
	env.receipts = &q;
	h_raw_send_env(r, &env);
	e = h_raw_recv_skip_ping(r, H_WAIT_MS);
	h_expect_error(e, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_REQUEST, false,
	    "not an alert id");
	frame_free(e);
	/* an Ack of more than 1,024 tags: refused, not fatal */
	ack.delivery_tags = tags;
	ack.n_delivery_tags = 1025;
	env.request_id = 7;
	env.body_case = CCC__V1__ENVELOPE__BODY_ACK;
	env.ack = &ack;
	h_raw_send_env(r, &env);
	e = h_raw_recv_skip_ping(r, H_WAIT_MS);
	ck_assert_uint_eq(e->request_id, 7);
	h_expect_error(e, CCC__V1__ERROR_CODE__ERROR_CODE_LIMIT_EXCEEDED, false,
	    "1025 tags");
	frame_free(e);
	/* the per-endpoint limit of durable subscriptions */
	frame_free(dsub(r, "one", "alerts/#"));
	frame_free(dsub(r, "two", "alerts/#"));
	e = dsub(r, "three", "alerts/#");
	h_expect_error(e, CCC__V1__ERROR_CODE__ERROR_CODE_LIMIT_EXCEEDED, false,
	    "the limit");
	frame_free(e);
	h_raw_close(r);
	ccc_close(c);
	h_broker_stop(b);
}
END_TEST

/* The batch records of ack_out_of_order, as SQL. */
#define DELIVER_REC	"(SELECT seq FROM audit WHERE event = 'deliver' AND alert = '')"
#define ACK_REC		"(SELECT seq FROM audit WHERE event = 'ack' AND alert = '')"
#define NTH_SEQ(n)	"(SELECT seq FROM alerts ORDER BY seq LIMIT 1 OFFSET " #n ")"

/*
 * A change to the receipts index that --verify-audit must report (what
 * its log then says: report, or report, the first alert's id and
 * after), and the change that undoes it.
 */
struct span_tamper {
	const char	*change;
	const char	*undo;
	const char	*report;
	const char	*after;		/* NULL: the report names no alert */
};

static const struct span_tamper span_tampers[] = {
	/* a span gone: the alerts of the record are not found by receipts */
	{ "DELETE FROM audit_spans WHERE rec = " ACK_REC,
	  "INSERT INTO audit_spans (lo, rec, hi) SELECT " NTH_SEQ(0) ", "
	  ACK_REC ", " NTH_SEQ(2),
	  "no span of the receipts index covers alert ", " that it names" },
	/* a span that ends past the record's alerts */
	{ "UPDATE audit_spans SET hi = hi + 1 WHERE rec = " DELIVER_REC,
	  "UPDATE audit_spans SET hi = hi - 1 WHERE rec = " DELIVER_REC,
	  "beyond the alerts the record names", NULL },
	/* cut in two, the first ending at an alert the record does not name */
	{ "UPDATE audit_spans SET hi = " NTH_SEQ(1) " WHERE rec = " ACK_REC ";"
	  "INSERT INTO audit_spans (lo, rec, hi) SELECT " NTH_SEQ(2) ", "
	  ACK_REC ", " NTH_SEQ(2),
	  "DELETE FROM audit_spans WHERE rec = " ACK_REC " AND lo = "
	  NTH_SEQ(2) "; UPDATE audit_spans SET hi = " NTH_SEQ(2) " WHERE "
	  "rec = " ACK_REC,
	  "which the record does not name", NULL },
	/* a span moved to another record, or added for one */
	{ "UPDATE audit_spans SET rec = 1 WHERE rec = " ACK_REC,
	  "UPDATE audit_spans SET rec = " ACK_REC " WHERE rec = 1",
	  "no span of the receipts index covers alert ", " that it names" },
	{ "INSERT INTO audit_spans (lo, rec, hi) VALUES (1, 1, 1)",
	  "DELETE FROM audit_spans WHERE rec = 1",
	  "which is not a batch record in the journal", NULL },
};

/*
 * Make the change t to b's halted store, check that --verify-audit finds
 * the journal broken and says so (of alert id), and undo it; t
 * NULL: check the store as it is. The spans of the index after.
 */
static int64_t
tamper_spans(const struct h_broker *b, const struct span_tamper *t,
    const char *id)
{
	char db[400], want[200], *msg = NULL;
	sqlite3_stmt *stmt;
	sqlite3 *h;
	int64_t n = -1;
	size_t seen;

	snprintf(db, sizeof(db), "%s/data/ccc.db", b->dir);
	ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
	if (t != NULL) {
		snprintf(want, sizeof(want), "%s%s%s", t->report,
		    t->after != NULL ? id : "", t->after != NULL ? t->after : "");
		seen = h_log_count(b, want);
		ck_assert_msg(sqlite3_exec(h, t->change, NULL, NULL, &msg) ==
		    SQLITE_OK, "%s: %s", t->change, msg);
		ck_assert_int_eq(sqlite3_changes(h), 1);
		ck_assert_int_eq(verify_audit(b), 1);
		ck_assert_msg(h_log_count(b, want) > seen, "not reported: %s",
		    want);
		ck_assert_msg(sqlite3_exec(h, t->undo, NULL, NULL, &msg) ==
		    SQLITE_OK, "%s: %s", t->undo, msg);
	}
	ck_assert_int_eq(sqlite3_prepare_v2(h, "SELECT count(*) FROM "
	    "audit_spans", -1, &stmt, NULL), SQLITE_OK);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		n = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(h);
	if (t == NULL)
		ck_assert_int_eq(verify_audit(b), 0);
	return n;
}

/*
 * Acknowledgements out of order: of three alerts, the third and the first
 * acknowledged in one Ack, the second not; on resume only the second comes
 * again, with its tag and flagged redelivered; once acknowledged, nothing
 * comes. The Ack of two is one journal record naming both.
 */
START_TEST(ack_out_of_order)
{
	struct h_broker *b = h_broker_start(NULL);
	struct h_raw *r = h_raw_session(b, "gr-police");
	ccc_client *pub = h_connect(b, "tr-police");
	Ccc__V1__Envelope *e;
	char ids[3][CCC_ID_LEN];
	uint64_t tags[3], two[2];

	frame_free(dsub(r, "feed", "alerts/+/tr-bg/#"));
	h_raw_close(r);
	wait_detached(b, 1);
	for (int i = 0; i < 3; i++)	/* a backlog: sent in one batch */
		publish(pub, "acknowledged out of order", ids[i]);
	r = h_raw_session(b, "gr-police");
	frame_free(dsub(r, "feed", "alerts/+/tr-bg/#"));
	for (int i = 0; i < 3; i++) {
		e = next_deliver(r);
		ck_assert_str_eq(e->deliver->alert->id, ids[i]);
		tags[i] = e->deliver->delivery_tag;
		frame_free(e);
	}
	two[0] = tags[2];
	two[1] = tags[0];
	ack_all(r, two, 2);
	h_raw_close(r);
	wait_detached(b, 2);

	r = h_raw_session(b, "gr-police");
	frame_free(dsub(r, "feed", "alerts/+/tr-bg/#"));
	e = next_deliver(r);
	ck_assert_str_eq(e->deliver->alert->id, ids[1]);
	ck_assert_uint_eq(e->deliver->delivery_tag, tags[1]);
	ck_assert_uint_eq(e->deliver->redelivered, 1);
	frame_free(e);
	ck_assert_ptr_null(h_raw_recv_skip_ping(r, H_QUIET_MS));
	ack(r, tags[1]);
	h_raw_close(r);
	wait_detached(b, 3);

	r = h_raw_session(b, "gr-police");
	frame_free(dsub(r, "feed", "alerts/+/tr-bg/#"));
	ck_assert_ptr_null(h_raw_recv_skip_ping(r, H_QUIET_MS));
	h_raw_close(r);
	/* receipts read the batch records: deliveries and acknowledgements */
	for (int i = 0; i < 3; i++) {
		Ccc__V1__Envelope *rc;
		struct ccc_error err;

		ck_assert_msg(ccc_receipts(pub, ids[i], &rc, &err) == 0, "%s",
		    err.message);
		ck_assert_uint_eq(rc->receipts_ok->n_receipts, 1);
		ck_assert_str_eq(rc->receipts_ok->receipts[0]->endpoint,
		    "gr-police");
		ck_assert_uint_eq(rc->receipts_ok->receipts[0]->deliveries,
		    i == 1 ? 2 : 1);
		ck_assert_int_gt(rc->receipts_ok->receipts[0]->delivered_at, 0);
		ck_assert_int_ge(rc->receipts_ok->receipts[0]->acknowledged_at,
		    rc->receipts_ok->receipts[0]->delivered_at);
		ccc_envelope_free(rc);
	}
	ccc_close(pub);
	h_broker_halt(b);
	ck_assert_int_eq(h_audited(b, "deliver", "subscription=feed alerts=%,%,%",
	    NULL, "gr-police"), 1);
	ck_assert_int_eq(h_audited(b, "ack", "subscription=feed alerts=%,%",
	    NULL, "gr-police"), 1);
	ck_assert_int_eq(verify_audit(b), 0);
	/*
	 * The receipts index is checked against the records that name
	 * alerts: here the deliver record's span covers the three alerts,
	 * the ack record's the first and the third (and the second between
	 * them, which it does not name).
	 */
	ck_assert_int_eq(tamper_spans(b, NULL, NULL), 2);
	for (size_t i = 0; i < sizeof(span_tampers) / sizeof(span_tampers[0]);
	    i++)
		ck_assert_int_eq(tamper_spans(b, &span_tampers[i], ids[0]), 2);
	ck_assert_int_eq(verify_audit(b), 0);
	h_broker_stop(b);
}
END_TEST

/*
 * Two durable subscriptions of one session that both match an alert get
 * it with the same tag, its position in the log; one Ack of that tag
 * settles it on both: neither sends it again on resume.
 */
START_TEST(one_tag_on_two_subscriptions)
{
	struct h_broker *b = h_broker_start(NULL);
	struct h_raw *r = h_raw_session(b, "gr-police");
	ccc_client *pub = h_connect(b, "tr-police");
	Ccc__V1__Envelope *e[2];
	char id[CCC_ID_LEN];

	frame_free(dsub(r, "feed-a", "alerts/#"));
	frame_free(dsub(r, "feed-b", "alerts/+/tr-bg/#"));
	publish(pub, "for both subscriptions", id);
	e[0] = next_deliver(r);
	e[1] = next_deliver(r);
	ck_assert_str_eq(e[0]->deliver->alert->id, id);
	ck_assert_str_eq(e[1]->deliver->alert->id, id);
	ck_assert_uint_ne(e[0]->deliver->subscription_ids[0],
	    e[1]->deliver->subscription_ids[0]);
	ck_assert_uint_eq(e[0]->deliver->delivery_tag,
	    e[1]->deliver->delivery_tag);
	ack(r, e[0]->deliver->delivery_tag);
	frame_free(e[0]);
	frame_free(e[1]);
	h_raw_close(r);
	wait_detached(b, 2);

	r = h_raw_session(b, "gr-police");
	frame_free(dsub(r, "feed-a", "alerts/#"));
	frame_free(dsub(r, "feed-b", "alerts/+/tr-bg/#"));
	ck_assert_ptr_null(h_raw_recv_skip_ping(r, H_QUIET_MS));
	h_raw_close(r);
	ccc_close(pub);
	h_broker_stop(b);
}
END_TEST

/* The fixture of a store from before cursors (upgrade_from_delivery_rows). */
#define UPGRADE_FIXTURE	"tests/integration/fixtures/store-v12.sql"

/* Resume durable name (alerts/#) of gr-police in a new session of b. */
static struct h_raw *
resume(const struct h_broker *b, const char *name)
{
	struct h_raw *r = h_raw_session(b, "gr-police");

	frame_free(dsub(r, name, "alerts/#"));
	return r;
}

/*
 * Make the fixture with the cccd of the schema before cursors (CCC_BUILD
 * naming its build): see upgrade_from_delivery_rows. The store is dumped
 * as SQL text with its schema version.
 */
static void
upgrade_make_fixture(const char *path)
{
	struct h_broker *b = h_broker_start("durable:\n  max_deliveries: 2\n");
	struct h_raw *r = h_raw_session(b, "gr-police");
	ccc_client *pub = h_connect(b, "tr-police");
	Ccc__V1__Envelope *e;
	char id[CCC_ID_LEN], cmd[1400];
	uint64_t tags[3];
	size_t detached = 0;

	frame_free(dsub(r, "feed-a", "alerts/#"));
	frame_free(dsub(r, "feed-b", "alerts/#"));
	h_raw_close(r);
	wait_detached(b, detached += 2);
	publish(pub, "p1", id);
	publish(pub, "p2", id);
	r = resume(b, "feed-a");		/* p1 acknowledged, p2 not */
	for (int i = 0; i < 2; i++) {
		e = next_deliver(r);
		tags[i] = e->deliver->delivery_tag;
		frame_free(e);
	}
	ack(r, tags[0]);
	h_raw_close(r);
	wait_detached(b, ++detached);
	r = resume(b, "feed-a");		/* p2 again, not acknowledged */
	frame_free(next_deliver(r));
	h_raw_close(r);
	wait_detached(b, ++detached);
	r = resume(b, "feed-a");		/* p2 to the dead letters */
	ck_assert(h_log_wait(b, "moved to the dead-letter list", H_WAIT_MS));
	h_raw_close(r);
	wait_detached(b, ++detached);
	publish(pub, "p3", id);
	r = resume(b, "feed-b");		/* all three, only p3 acknowledged */
	for (int i = 0; i < 3; i++) {
		e = next_deliver(r);
		tags[i] = e->deliver->delivery_tag;
		frame_free(e);
	}
	ack(r, tags[2]);
	h_raw_close(r);
	wait_detached(b, ++detached);
	ccc_close(pub);
	h_broker_halt(b);
	snprintf(cmd, sizeof(cmd), "{ sqlite3 '%s/data/ccc.db' .dump && echo "
	    "'PRAGMA user_version = 12;'; } >'%s'", b->dir, path);
	ck_assert_int_eq(system(cmd), 0);
	h_broker_stop(b);
}

/* Text of the first column of row n (from 0) of sql in b's store. */
static void
store_text(const struct h_broker *b, const char *sql, int n, char *out,
    size_t len)
{
	char db[400];
	sqlite3 *h;
	sqlite3_stmt *stmt;

	snprintf(db, sizeof(db), "%s/data/ccc.db", b->dir);
	ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(h, sql, -1, &stmt, NULL), SQLITE_OK);
	for (int i = 0; i <= n; i++)
		ck_assert_int_eq(sqlite3_step(stmt), SQLITE_ROW);
	snprintf(out, len, "%s", (const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	sqlite3_close(h);
}

/*
 * A broker, halted, whose store is the fixture at rel (SQL text, under
 * the source tree) instead of the one it made.
 */
static struct h_broker *
fixture_broker(const char *rel)
{
	struct h_broker *b = h_broker_start(NULL);
	char path[600], db[400], *sql, *msg = NULL;
	sqlite3 *h;

	h_broker_halt(b);
	snprintf(db, sizeof(db), "%s/data/ccc.db", b->dir);
	for (const char *const *sfx = (const char *const[]){ "", "-wal",
	    "-shm", "-head", NULL }; *sfx != NULL; sfx++) {
		snprintf(path, sizeof(path), "%s%s", db, *sfx);
		(void)unlink(path);
	}
	snprintf(path, sizeof(path), "%s/%s", h_srcdir(), rel);
	sql = h_slurp(path);
	ck_assert_msg(sql != NULL, "cannot read %s", path);
	ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(h, sql, NULL, NULL, &msg) == SQLITE_OK,
	    "%s", msg);
	sqlite3_close(h);
	free(sql);
	return b;
}

/*
 * A store of the schema before cursors (a delivery row per durable
 * delivery, schema version 12) opens under this cccd with nothing lost.
 * The fixture, UPGRADE_FIXTURE, is that store dumped as SQL, made by the
 * cccd of that schema (make it again by running this test with
 * CCC_MAKE_FIXTURE=PATH and CCC_BUILD naming that cccd's build; kept as
 * text because the old cccd cannot be built from this tree): gr-police's
 * durable subscriptions feed-a and feed-b got alerts p1, p2, p3 with
 * durable.max_deliveries 2; feed-a acknowledged p1, was sent p2 twice
 * without acknowledging it (a dead letter since) and was never sent p3;
 * feed-b was sent all three and acknowledged p3 only. After the upgrade
 * feed-a gets p3 as a first delivery, feed-b gets p1 and p2 flagged
 * redelivered, nothing acknowledged comes again, --dead-letters lists p2
 * for feed-a, and the journal still verifies.
 */
START_TEST(upgrade_from_delivery_rows)
{
	const char *make = getenv("CCC_MAKE_FIXTURE");
	struct h_broker *b;
	struct h_raw *r;
	Ccc__V1__Envelope *e;
	char p[3][CCC_ID_LEN], *text;

	if (make != NULL && *make != '\0') {
		upgrade_make_fixture(make);
		return;
	}
	b = fixture_broker(UPGRADE_FIXTURE);
	for (int i = 0; i < 3; i++)
		store_text(b, "SELECT id FROM alerts ORDER BY seq", i, p[i],
		    sizeof(p[i]));

	h_broker_restart(b);
	ck_assert(h_log_contains(b, "schema migrated to version 13"));
	r = resume(b, "feed-a");
	e = next_deliver(r);
	ck_assert_str_eq(e->deliver->alert->id, p[2]);
	ck_assert_uint_eq(e->deliver->redelivered, 0);
	ack(r, e->deliver->delivery_tag);
	frame_free(e);
	ck_assert_ptr_null(h_raw_recv_skip_ping(r, H_QUIET_MS));
	h_raw_close(r);
	r = resume(b, "feed-b");
	for (int i = 0; i < 2; i++) {
		e = next_deliver(r);
		ck_assert_str_eq(e->deliver->alert->id, p[i]);
		ck_assert_uint_eq(e->deliver->redelivered, 1);
		ack(r, e->deliver->delivery_tag);
		frame_free(e);
	}
	ck_assert_ptr_null(h_raw_recv_skip_ping(r, H_QUIET_MS));
	h_raw_close(r);
	h_broker_halt(b);
	text = dead_letters(b);
	ck_assert_msg(strstr(text, p[1]) != NULL && strstr(text,
	    "gr-police feed-a") != NULL && strstr(text, "attempts=2") != NULL &&
	    strstr(text, p[0]) == NULL && strstr(text, p[2]) == NULL,
	    "dead letters: %s", text);
	free(text);
	ck_assert_int_eq(verify_audit(b), 0);
	h_broker_stop(b);
}
END_TEST

/* The fixture of a store from before spans (upgrade_from_alert_rows). */
#define UPGRADE13_FIXTURE	"tests/integration/fixtures/store-v13.sql"

/*
 * Make the fixture with the cccd of the schema before spans (CCC_BUILD
 * naming its build): see upgrade_from_alert_rows.
 */
static void
upgrade13_make_fixture(const char *path)
{
	struct h_broker *b = h_broker_start(NULL);
	struct h_raw *r = h_raw_session(b, "gr-police");
	ccc_client *pub = h_connect(b, "tr-police");
	Ccc__V1__Envelope *e;
	char id[CCC_ID_LEN], cmd[1400];
	uint64_t tags[3], two[2];

	frame_free(dsub(r, "feed", "alerts/#"));
	h_raw_close(r);
	wait_detached(b, 1);
	for (int i = 0; i < 3; i++)
		publish(pub, "before spans", id);
	r = resume(b, "feed");		/* one batch of three */
	for (int i = 0; i < 3; i++) {
		e = next_deliver(r);
		tags[i] = e->deliver->delivery_tag;
		frame_free(e);
	}
	two[0] = tags[2];
	two[1] = tags[0];
	ack_all(r, two, 2);		/* one record naming the first and third */
	h_raw_close(r);
	wait_detached(b, 2);
	ccc_close(pub);
	h_broker_halt(b);
	snprintf(cmd, sizeof(cmd), "{ sqlite3 '%s/data/ccc.db' .dump && echo "
	    "'PRAGMA user_version = 13;'; } >'%s'", b->dir, path);
	ck_assert_int_eq(system(cmd), 0);
	h_broker_stop(b);
}

/*
 * Receipts of alert id as tr-police asks them on pub: exactly one, of
 * gr-police, delivered deliveries times, acknowledged or not.
 */
static void
receipt_is(ccc_client *pub, const char *id, uint32_t deliveries, bool acked)
{
	Ccc__V1__Envelope *rc;
	const Ccc__V1__Receipt *x;
	struct ccc_error err;

	ck_assert_msg(ccc_receipts(pub, id, &rc, &err) == 0, "%s",
	    err.message);
	ck_assert_uint_eq(rc->receipts_ok->n_receipts, 1);
	x = rc->receipts_ok->receipts[0];
	ck_assert_str_eq(x->endpoint, "gr-police");
	ck_assert_uint_eq(x->deliveries, deliveries);
	ck_assert_int_gt(x->delivered_at, 0);
	if (acked)
		ck_assert_int_ge(x->acknowledged_at, x->delivered_at);
	else
		ck_assert_int_eq(x->acknowledged_at, 0);
	ccc_envelope_free(rc);
}

/*
 * A store of the schema before spans (a receipts index row per alert,
 * audit_alerts, schema version 13) keeps its receipts under this cccd.
 * The fixture, UPGRADE13_FIXTURE, is that store dumped as SQL, made by
 * the cccd of that schema (CCC_MAKE_FIXTURE13=PATH, CCC_BUILD naming that
 * cccd's build): gr-police's durable subscription feed was sent p1, p2,
 * p3 in one batch and acknowledged p1 and p3 in one Ack. After the
 * upgrade the index has one span per record (the ack's covering p2,
 * which it does not name), receipts say the same as before: p2
 * delivered, not acknowledged; once it is acknowledged, it is.
 */
START_TEST(upgrade_from_alert_rows)
{
	const char *make = getenv("CCC_MAKE_FIXTURE13");
	struct h_broker *b;
	struct h_raw *r;
	ccc_client *pub;
	Ccc__V1__Envelope *e;
	char p[3][CCC_ID_LEN], n[32];

	if (make != NULL && *make != '\0') {
		upgrade13_make_fixture(make);
		return;
	}
	b = fixture_broker(UPGRADE13_FIXTURE);
	store_text(b, "SELECT count(*) FROM audit_alerts", 0, n, sizeof(n));
	ck_assert_str_eq(n, "5");
	for (int i = 0; i < 3; i++)
		store_text(b, "SELECT id FROM alerts ORDER BY seq", i, p[i],
		    sizeof(p[i]));

	h_broker_restart(b);
	ck_assert(h_log_contains(b, "schema migrated to version 15"));
	store_text(b, "SELECT group_concat(hi - lo) FROM audit_spans", 0, n,
	    sizeof(n));
	ck_assert_str_eq(n, "2,2");
	store_text(b, "SELECT count(*) FROM sqlite_master WHERE name = "
	    "'audit_alerts'", 0, n, sizeof(n));
	ck_assert_str_eq(n, "0");
	pub = h_connect(b, "tr-police");
	receipt_is(pub, p[0], 1, true);
	receipt_is(pub, p[1], 1, false);
	receipt_is(pub, p[2], 1, true);
	r = resume(b, "feed");
	e = next_deliver(r);
	ck_assert_str_eq(e->deliver->alert->id, p[1]);
	ck_assert_uint_eq(e->deliver->redelivered, 1);
	ack(r, e->deliver->delivery_tag);
	frame_free(e);
	ck_assert_ptr_null(h_raw_recv_skip_ping(r, H_QUIET_MS));
	h_raw_close(r);
	wait_detached(b, 1);
	receipt_is(pub, p[1], 2, true);
	ccc_close(pub);
	h_broker_halt(b);
	ck_assert_int_eq(verify_audit(b), 0);
	h_broker_stop(b);
}
END_TEST

/* Run cccd --verify-audit on b's config; returns its exit status. */
static int
verify_audit(const struct h_broker *b)
{
	char cmd[1024];
	int st;

	snprintf(cmd, sizeof(cmd), "%s/cccd --verify-audit --config '%s' "
	    ">>'%s' 2>&1", getenv("CCC_BUILD") ? getenv("CCC_BUILD") : "build",
	    b->config, b->log);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(audit_journal_tamper_detected)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *sub = h_connect(b, "tr-police");
	ccc_client *pub = h_connect(b, "gr-police");
	Ccc__V1__Alert *a = h_alert("drugs", "tr-gr/ipsala", "high", "h1",
	    "Cannabis in a coach");
	char db[400], *msg = NULL;
	sqlite3_stmt *stmt;
	sqlite3 *h;

	h_subscribe(sub, "alerts/#");
	ccc_envelope_free(h_publish_ok(pub, a));
	ccc_envelope_free(h_recv_deliver(sub));
	ccc_close(sub);
	ccc_close(pub);
	h_alert_free(a);
	h_broker_halt(b);

	ck_assert_int_eq(verify_audit(b), 0);
	ck_assert(h_log_contains(b, "audit journal intact"));
	snprintf(db, sizeof(db), "%s/data/ccc.db", b->dir);
	ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
	/* a Greek-to-Turkish delivery is recorded as a transfer */
	ck_assert_int_eq(sqlite3_prepare_v2(h, "SELECT 1 FROM audit WHERE event = "
	    "'deliver' AND endpoint = 'tr-police' AND transfer = 1", -1, &stmt,
	    NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(stmt), SQLITE_ROW);
	sqlite3_finalize(stmt);
	/* rewrite who received the alert */
	ck_assert_int_eq(sqlite3_exec(h, "UPDATE audit SET endpoint = 'bg-customs' "
	    "WHERE event = 'deliver'", NULL, NULL, &msg), SQLITE_OK);
	ck_assert_int_eq(sqlite3_changes(h), 1);
	sqlite3_close(h);
	ck_assert_int_eq(verify_audit(b), 1);
	ck_assert(h_log_contains(b, "its content does not match its hash"));
	h_broker_restart(b);
	h_broker_stop(b);
}
END_TEST

Suite *
durable_suite(void)
{
	Suite *s = suite_create("07-durable");
	TCase *tc = tcase_create("durable");

	tcase_set_timeout(tc, H_TEST_TIMEOUT);
	tcase_add_test(tc, durable_survives_disconnect);
	tcase_add_test(tc, unacknowledged_redelivered_on_reconnect);
	tcase_add_test(tc, durable_survives_restart);
	tcase_add_test(tc, ack_timeout_redelivers);
	tcase_add_test(tc, dead_letter_after_max_deliveries);
	tcase_add_test(tc, durable_in_use_and_changed_patterns);
	tcase_add_test(tc, forget_deletes);
	tcase_add_test(tc, idempotent_publish);
	tcase_add_test(tc, audit_journal_tamper_detected);
	tcase_add_test(tc, ack_out_of_order);
	tcase_add_test(tc, one_tag_on_two_subscriptions);
	tcase_add_test(tc, upgrade_from_delivery_rows);
	tcase_add_test(tc, upgrade_from_alert_rows);
	tcase_add_test(tc, receipts_for_the_originator);
	tcase_add_test(tc, retention_purges_and_chain_still_verifies);
	tcase_add_test(tc, retention_keeps_unacknowledged);
	tcase_add_test(tc, alert_seq_never_reused);
	tcase_add_test(tc, clock_step_keeps_waiting_alerts);
	tcase_add_test(tc, clock_step_keeps_the_journal);
	tcase_add_test(tc, clock_behind_then_restart);
	tcase_add_test(tc, held_purge_verifies);
	tcase_add_test(tc, purge_on_a_wrong_clock_does_not_verify);
	tcase_add_test(tc, expired_alerts_not_delivered);
	tcase_add_test(tc, critical_first_in_backlog);
	tcase_add_test(tc, history_then_live_without_seam);
	tcase_add_test(tc, history_seam_between_publish_and_commit);
	tcase_add_test(tc, durable_requests_refused);
	suite_add_tcase(s, tc);
	return s;
}
