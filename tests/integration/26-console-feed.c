/*
 * 26-console-feed.c — the console's live feed (GET /api/feed, Server-Sent
 * Events) against a real cccd: what an open feed is sent live and with
 * which fields, what the access rules and the disclosure policy keep from
 * it, the catch-up of a reconnecting feed (no gap, no duplicate, bounded by
 * console.catch_up), the bounds (a feed that does not read, console
 * max_feeds), the end of every feed on a reload, and the journal.
 *
 * Streams are read raw over TLS (harness.c's h_https_open) as a browser's
 * EventSource would receive them: HTTP/1.1, chunked.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define CONSOLE_YAML	"console:\n  listen: 127.0.0.1:0\n"
#define FEED_LIVE_MS	1000	/* a live alert reaches an open feed within it */
#define FEED_MAX	128	/* alert events one check reads */

/* Open a feed as endpoint (extra: header lines, or NULL); asserts "hello". */
static struct h_raw *
feed_open(const struct h_broker *b, const char *endpoint, const char *path,
    const char *extra)
{
	int port = h_console_port(b);
	char cert[64], key[64], req[1024];
	struct h_raw *r;

	snprintf(cert, sizeof(cert), "%s.pem", endpoint);
	snprintf(key, sizeof(key), "%s.key", endpoint);
	r = h_https_open(port, h_pki(cert), h_pki(key));
	ck_assert_msg(r != NULL, "TLS to the console as %s failed", endpoint);
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
	    "Accept: text/event-stream\r\n%s\r\n", path != NULL ? path :
	    "/api/feed", port, extra != NULL ? extra : "");
	h_raw_send(r, req, strlen(req));
	ck_assert_msg(h_raw_read_until(r, "event: hello\n", H_WAIT_MS),
	    "no hello on the feed of %s: %s", endpoint, h_raw_text(r));
	return r;
}

/* The seq of the hello event's id line (the last committed). */
static uint64_t
feed_hello_id(struct h_raw *r)
{
	const char *p = strstr(h_raw_text(r), "event: hello\nid: ");

	ck_assert_msg(p != NULL, "hello without id: %s", h_raw_text(r));
	return strtoull(p + strlen("event: hello\nid: "), NULL, 10);
}

/* One "alert" event: its id and data line. */
struct feed_event {
	uint64_t	 id;
	char		 data[2048];
};

/* The alert events received on r so far, in order (at most max). */
static size_t
feed_events(struct h_raw *r, struct feed_event *ev, size_t max)
{
	static const char mark[] = "event: alert\nid: ";
	const char *p = h_raw_text(r), *d, *eol;
	size_t n = 0;

	while (n < max && (p = strstr(p, mark)) != NULL) {
		p += sizeof(mark) - 1;
		ev[n].id = strtoull(p, NULL, 10);
		d = strstr(p, "\ndata: ");
		ck_assert_ptr_nonnull(d);
		d += strlen("\ndata: ");
		eol = strchr(d, '\n');
		ck_assert_ptr_nonnull(eol);
		snprintf(ev[n].data, sizeof(ev[n].data), "%.*s", (int)(eol - d), d);
		n++;
	}
	return n;
}

/* Publish an alert as c; its id into id (UUID_STRLEN bytes). */
static void
publish(ccc_client *c, const char *category, const char *section,
    const char *handling, const char *recipient, char *id)
{
	Ccc__V1__Alert *a = h_alert(category, section, "high", handling,
	    "Van with 9 people stopped near the crossing");
	Ccc__V1__Envelope *ok;

	a->details = strdup("the driver fled on foot");
	if (recipient != NULL) {
		a->recipients = calloc(1, sizeof(char *));
		a->recipients[0] = strdup(recipient);
		a->n_recipients = 1;
	}
	ok = h_publish_ok(c, a);
	snprintf(id, 37, "%s", ok->publish_ok->id);
	ccc_envelope_free(ok);
	h_alert_free(a);
}

/* The seq the store gave alert id. */
static uint64_t
seq_of(const struct h_broker *b, const char *id)
{
	char data[400], sql[200];

	snprintf(data, sizeof(data), "%s/data", b->dir);
	snprintf(sql, sizeof(sql), "SELECT seq FROM alerts WHERE id = '%s'", id);
	return (uint64_t)h_store_value(data, sql);
}

/* Wait until r has n alert events; returns how many it has. */
static size_t
feed_wait(struct h_raw *r, struct feed_event *ev, size_t n, int ms)
{
	int64_t deadline = h_mono_ms() + ms;
	size_t got;

	while ((got = feed_events(r, ev, FEED_MAX)) < n &&
	    h_mono_ms() < deadline)
		(void)h_raw_read_until(r, "\n\n\n", 50);	/* never there */
	return got;
}

/*
 * A published alert reaches an open feed live, within FEED_LIVE_MS, as an
 * "alert" event whose id is the alert's seq and whose data is the summary
 * (no details); the stream's headers say what it is.
 */
START_TEST(live_alert_with_summary)
{
	struct h_broker *b = h_broker_start(CONSOLE_YAML);
	ccc_client *tr = h_connect(b, "tr-police");
	struct h_raw *r = feed_open(b, "gr-police", NULL, NULL);
	static struct feed_event ev[FEED_MAX];
	char id[37], want[256];
	const char *text = h_raw_text(r);
	int64_t t0;

	ck_assert_msg(strstr(text, "HTTP/1.1 200") == text, "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "Content-Type: text/event-stream"));
	ck_assert_ptr_nonnull(strstr(text, "Cache-Control: no-store"));
	ck_assert_ptr_nonnull(strstr(text, "X-Accel-Buffering: no"));
	ck_assert_uint_eq(feed_hello_id(r), 0);	/* nothing committed yet */

	t0 = h_mono_ms();
	publish(tr, "drugs", "tr-bg/kapikule", "h1", NULL, id);
	ck_assert_msg(feed_wait(r, ev, 1, FEED_LIVE_MS) == 1,
	    "no alert on the feed within %d ms: %s", FEED_LIVE_MS,
	    h_raw_text(r));
	ck_assert_int_lt(h_mono_ms() - t0, FEED_LIVE_MS);
	ck_assert_uint_eq(ev[0].id, seq_of(b, id));
	snprintf(want, sizeof(want), "{\"seq\":%" PRIu64 ",\"id\":\"%s\","
	    "\"topic\":\"alerts/drugs/tr-bg/kapikule\",\"origin\":\"tr-police\","
	    "\"published_at\":\"", ev[0].id, id);
	ck_assert_msg(strncmp(ev[0].data, want, strlen(want)) == 0,
	    "summary %s", ev[0].data);
	ck_assert_ptr_nonnull(strstr(ev[0].data, "\",\"category\":\"drugs\","
	    "\"severity\":\"high\",\"section\":\"tr-bg/kapikule\",\"summary\":"
	    "\"Van with 9 people stopped near the crossing\",\"handling\":"
	    "\"h1\""));
	ck_assert_ptr_nonnull(strstr(ev[0].data, "\"restricted\":false}"));
	ck_assert_ptr_null(strstr(ev[0].data, "fled"));		/* no details */
	h_raw_close(r);
	ccc_close(tr);
	h_broker_stop(b);
}
END_TEST

/*
 * A feed gets what its endpoint could subscribe to and the disclosure
 * policy lets it have: customs no migrant smuggling; a restricted alert
 * (weapons: customs and police could subscribe to it) only its recipient's
 * feed, marked restricted.
 */
START_TEST(access_and_disclosure)
{
	struct h_broker *b = h_broker_start(CONSOLE_YAML);
	ccc_client *tr = h_connect(b, "tr-police");
	struct h_raw *customs = feed_open(b, "bg-customs", NULL, NULL);
	struct h_raw *police = feed_open(b, "bg-border-police", NULL, NULL);
	struct h_raw *named = feed_open(b, "gr-police", NULL, NULL);
	static struct feed_event ev[FEED_MAX];
	char ms[37], red[37], drugs[37];

	publish(tr, "migrant_smuggling", "tr-bg/kapikule", "h1", NULL, ms);
	publish(tr, "weapons", "tr-bg/kapikule", "h2", "gr-police", red);
	publish(tr, "drugs", "tr-bg/hamzabeyli", "h1", NULL, drugs);

	/* customs: only the open drugs alert */
	ck_assert_uint_eq(feed_wait(customs, ev, 1, H_WAIT_MS), 1);
	ck_assert_ptr_nonnull(strstr(ev[0].data, drugs));
	/* police, not named: the two open ones */
	ck_assert_uint_eq(feed_wait(police, ev, 2, H_WAIT_MS), 2);
	ck_assert_ptr_nonnull(strstr(ev[0].data, ms));
	ck_assert_ptr_nonnull(strstr(ev[1].data, drugs));
	/* named: all three, the restricted one marked */
	ck_assert_uint_eq(feed_wait(named, ev, 3, H_WAIT_MS), 3);
	ck_assert_ptr_nonnull(strstr(ev[1].data, red));
	ck_assert_ptr_nonnull(strstr(ev[1].data, "\"restricted\":true"));
	/* and nothing more came to the others meanwhile */
	(void)h_raw_read_until(customs, "never", H_QUIET_MS);
	ck_assert_uint_eq(feed_events(customs, ev, FEED_MAX), 1);
	ck_assert_ptr_null(strstr(h_raw_text(customs), ms));
	ck_assert_ptr_null(strstr(h_raw_text(customs), red));
	ck_assert_uint_eq(feed_events(police, ev, FEED_MAX), 2);
	ck_assert_ptr_null(strstr(h_raw_text(police), red));
	h_raw_close(customs);
	h_raw_close(police);
	h_raw_close(named);
	ccc_close(tr);
	h_broker_stop(b);
}
END_TEST

/*
 * A feed that reconnects with Last-Event-ID gets exactly the alerts it
 * missed, in order, then those published during its catch-up, each once
 * and with no gap event.
 */
START_TEST(catch_up_exactly_once)
{
	struct h_broker *b = h_broker_start(CONSOLE_YAML);
	ccc_client *tr = h_connect(b, "tr-police");
	static struct feed_event ev[FEED_MAX];
	struct h_raw *r;
	char id[37], hdr[64];
	uint64_t last, first;
	size_t n;

	publish(tr, "weapons", "tr-bg/kapikule", "h1", NULL, id);
	r = feed_open(b, "gr-police", NULL, NULL);
	last = feed_hello_id(r);
	ck_assert_uint_eq(last, seq_of(b, id));
	h_raw_close(r);
	for (int i = 0; i < 20; i++)	/* missed */
		publish(tr, "weapons", "tr-gr/ipsala", "h1", NULL, id);
	first = last + 1;

	snprintf(hdr, sizeof(hdr), "Last-Event-ID: %" PRIu64 "\r\n", last);
	r = feed_open(b, "gr-police", NULL, hdr);
	ck_assert_ptr_null(strstr(h_raw_text(r), "event: hello\nid:"));
	for (int i = 0; i < 10; i++)	/* during or after the catch-up */
		publish(tr, "weapons", "tr-gr/ipsala", "h1", NULL, id);
	n = feed_wait(r, ev, 30, H_WAIT_MS);
	ck_assert_msg(n == 30, "%zu alerts after the reconnect: %s", n,
	    h_raw_text(r));
	for (size_t i = 0; i < n; i++)
		ck_assert_uint_eq(ev[i].id, first + i);
	ck_assert_uint_eq(ev[29].id, seq_of(b, id));
	ck_assert_ptr_null(strstr(h_raw_text(r), "event: gap"));
	(void)h_raw_read_until(r, "never", H_QUIET_MS);
	ck_assert_uint_eq(feed_events(r, ev, FEED_MAX), 30);
	h_raw_close(r);

	/* ?after= does the same */
	snprintf(hdr, sizeof(hdr), "/api/feed?after=%" PRIu64, first + 27);
	r = feed_open(b, "gr-police", hdr, NULL);
	ck_assert_uint_eq(feed_wait(r, ev, 2, H_WAIT_MS), 2);
	ck_assert_uint_eq(ev[0].id, first + 28);
	ck_assert_uint_eq(ev[1].id, first + 29);
	h_raw_close(r);
	ccc_close(tr);
	h_broker_stop(b);
}
END_TEST

/* More missed than console.catch_up: a gap event, then the newest ones. */
START_TEST(catch_up_bounded_with_gap)
{
	struct h_broker *b = h_broker_start(CONSOLE_YAML "  catch_up: 2\n");
	ccc_client *tr = h_connect(b, "tr-police");
	static struct feed_event ev[FEED_MAX];
	struct h_raw *r;
	const char *gap;
	char id[37], path[64];
	uint64_t last;

	r = feed_open(b, "tr-customs", NULL, NULL);
	last = feed_hello_id(r);
	h_raw_close(r);
	for (int i = 0; i < 5; i++)
		publish(tr, "drugs", "tr-bg/kapikule", "h1", NULL, id);
	publish(tr, "human_trafficking", "tr-bg/kapikule", "h1", NULL, id);

	snprintf(path, sizeof(path), "/api/feed?after=%" PRIu64, last);
	r = feed_open(b, "tr-customs", path, NULL);
	ck_assert_uint_eq(feed_wait(r, ev, 2, H_WAIT_MS), 2);
	/* the 5 drugs alerts are customs', the last is not */
	ck_assert_uint_eq(ev[0].id, last + 4);
	ck_assert_uint_eq(ev[1].id, last + 5);
	gap = strstr(h_raw_text(r), "event: gap\ndata: {\"missed\":3}\n\n");
	ck_assert_msg(gap != NULL, "no gap event: %s", h_raw_text(r));
	ck_assert(gap < strstr(h_raw_text(r), "event: alert"));
	h_raw_close(r);
	ccc_close(tr);
	h_broker_stop(b);
}
END_TEST

/*
 * The same past the ring's first allocation: catch_up 70 of 100 missed
 * (the kept events wrap around as older ones are pushed out).
 */
START_TEST(catch_up_bounded_many)
{
	struct h_broker *b = h_broker_start(CONSOLE_YAML "  catch_up: 70\n");
	ccc_client *tr = h_connect(b, "tr-police");
	static struct feed_event ev[FEED_MAX];
	struct h_raw *r;
	char id[37], hdr[64];
	uint64_t last;

	r = feed_open(b, "gr-police", NULL, NULL);
	last = feed_hello_id(r);
	h_raw_close(r);
	for (int i = 0; i < 100; i++)
		publish(tr, "weapons", "tr-gr/ipsala", "h1", NULL, id);
	snprintf(hdr, sizeof(hdr), "Last-Event-ID: %" PRIu64 "\r\n", last);
	r = feed_open(b, "gr-police", NULL, hdr);
	ck_assert_uint_eq(feed_wait(r, ev, 70, H_WAIT_MS), 70);
	ck_assert_msg(strstr(h_raw_text(r), "event: gap\ndata: {\"missed\":30}")
	    != NULL, "no gap of 30");
	for (size_t i = 0; i < 70; i++)
		ck_assert_uint_eq(ev[i].id, last + 31 + i);
	ck_assert_uint_eq(ev[69].id, seq_of(b, id));
	h_raw_close(r);
	ccc_close(tr);
	h_broker_stop(b);
}
END_TEST

#define SLOW_BATCH	100	/* publishes in flight at once */
#define SLOW_MAX	20000	/* alerts published at most before giving up */

/*
 * A feed that does not read is ended once limits.max_output_buffer is
 * queued for it (log), while a protocol subscriber gets every alert.
 */
START_TEST(slow_feed_ended)
{
	struct h_broker *b = h_broker_start(CONSOLE_YAML
	    "limits:\n  max_output_buffer: 65536\n  publish_rate: 0\n");
	ccc_client *tr = h_connect(b, "tr-police");
	ccc_client *sub = h_connect(b, "bg-border-police");
	struct h_raw *r = feed_open(b, "gr-police", NULL, NULL);
	char summary[501], id[37];
	struct ccc_error err;
	bool ended = false;
	size_t n = 0;

	h_subscribe(sub, "alerts/#");
	memset(summary, 'x', sizeof(summary) - 1);
	summary[sizeof(summary) - 1] = '\0';
	while (n < SLOW_MAX && !ended) {
		uint64_t rid;

		for (int i = 0; i < SLOW_BATCH; i++) {
			Ccc__V1__Alert *a = h_alert("weapons", "tr-bg/kapikule",
			    "high", "h1", summary);

			ck_assert(ccc_send_publish(tr, a, &rid, &err) == 0);
			h_alert_free(a);
		}
		ck_assert(ccc_flush(tr, &err) == 0);
		for (int i = 0; i < SLOW_BATCH; i++) {
			Ccc__V1__Envelope *env = h_recv(tr, H_WAIT_MS);

			ck_assert(env->body_case ==
			    CCC__V1__ENVELOPE__BODY_PUBLISH_OK);
			if (i == SLOW_BATCH - 1)
				snprintf(id, sizeof(id), "%s", env->publish_ok->id);
			ccc_envelope_free(env);
		}
		/* the subscriber keeps up */
		for (int i = 0; i < SLOW_BATCH; i++) {
			Ccc__V1__Envelope *env = h_recv_deliver(sub);

			if (i == SLOW_BATCH - 1)
				ck_assert_str_eq(env->deliver->alert->id, id);
			ccc_envelope_free(env);
		}
		n += SLOW_BATCH;
		ended = h_log_contains(b, "ended as a slow consumer");
	}
	ck_assert_msg(ended, "the feed was not ended after %zu alerts", n);
	fprintf(stderr, "26-console-feed: a feed that did not read was ended "
	    "after %zu alerts\n", n);
	/* what it queued ends with bye */
	ck_assert_msg(h_raw_read_until(r, "event: bye\ndata: {\"reason\":"
	    "\"slow consumer", 4 * H_WAIT_MS), "no bye at the end");
	h_raw_close(r);
	/* the broker serves feeds still */
	r = feed_open(b, "gr-police", NULL, NULL);
	h_raw_close(r);
	ccc_close(sub);
	ccc_close(tr);
	h_broker_stop(b);
}
END_TEST

/* An idle feed gets a ": ping" comment every 15 s (proxies keep it open). */
START_TEST(idle_feed_pinged)
{
	struct h_broker *b = h_broker_start(CONSOLE_YAML);
	struct h_raw *r = feed_open(b, "gr-police", NULL, NULL);
	int64_t t0 = h_mono_ms();

	ck_assert_msg(h_raw_read_until(r, "\n: ping\n\n", 18000 * h_slow()),
	    "no ping within 18 s: %s", h_raw_text(r));
	ck_assert_int_ge(h_mono_ms() - t0, 14000);
	h_raw_close(r);
	h_broker_stop(b);
}
END_TEST

/* console.max_feeds: past it, 503 with a reason; a closed one frees its place. */
START_TEST(max_feeds)
{
	struct h_broker *b = h_broker_start(CONSOLE_YAML "  max_feeds: 1\n");
	struct h_raw *r = feed_open(b, "gr-police", NULL, NULL);
	struct h_reply rep;

	rep = h_https_as(h_console_port(b), "tr-police", "GET", "/api/feed",
	    NULL);
	ck_assert_int_eq(rep.status, 503);
	ck_assert_ptr_nonnull(strstr(rep.body, "\"error\":\"too_many_feeds\""));
	ck_assert_ptr_nonnull(strstr(rep.body, "console.max_feeds"));
	free(rep.head);
	h_raw_close(r);
	ck_assert(h_log_wait(b, "closed by the browser", H_WAIT_MS));
	r = feed_open(b, "tr-police", NULL, NULL);
	h_raw_close(r);
	h_broker_stop(b);
}
END_TEST

/*
 * A SIGHUP reload ends every feed with bye and closes its connection; the
 * feed can reconnect and catch up.
 */
START_TEST(reload_says_bye)
{
	struct h_broker *b = h_broker_start(CONSOLE_YAML);
	ccc_client *tr = h_connect(b, "tr-police");
	struct h_raw *r = feed_open(b, "gr-police", NULL, NULL);
	static struct feed_event ev[FEED_MAX];
	char id[37], hdr[64];
	uint64_t last = feed_hello_id(r);

	h_broker_reload(b);
	ck_assert_msg(h_raw_read_until(r, "event: bye\ndata: {\"reason\":",
	    H_WAIT_MS), "no bye after a reload: %s", h_raw_text(r));
	/* and its connection closes: the next request makes a new handshake */
	ck_assert_msg(!h_raw_read_until(r, NULL, H_WAIT_MS) &&
	    strstr(h_raw_text(r), "0\r\n\r\n") != NULL,
	    "the stream did not end and close: %s", h_raw_text(r));
	h_raw_close(r);
	publish(tr, "weapons", "tr-gr/ipsala", "h1", NULL, id);
	snprintf(hdr, sizeof(hdr), "Last-Event-ID: %" PRIu64 "\r\n", last);
	r = feed_open(b, "gr-police", NULL, hdr);
	ck_assert_uint_eq(feed_wait(r, ev, 1, H_WAIT_MS), 1);
	ck_assert_uint_eq(ev[0].id, seq_of(b, id));
	h_raw_close(r);
	ccc_close(tr);
	h_broker_stop(b);
}
END_TEST

/* A shutdown ends every feed with bye before the broker exits. */
START_TEST(shutdown_says_bye)
{
	struct h_broker *b = h_broker_start(CONSOLE_YAML);
	struct h_raw *r = feed_open(b, "gr-police", NULL, NULL);

	h_broker_term(b);
	ck_assert_msg(h_raw_read_until(r, "event: bye\ndata: {\"reason\":"
	    "\"the broker is shutting down\"}\n\n", H_WAIT_MS),
	    "no bye at shutdown: %s", h_raw_text(r));
	h_raw_close(r);
	h_broker_stop(b);
}
END_TEST

/* Each alert sent on a feed is journalled as a delivery to its certificate. */
START_TEST(journal_names_the_certificate)
{
	struct h_broker *b = h_broker_start(CONSOLE_YAML);
	ccc_client *tr = h_connect(b, "tr-police");
	struct h_raw *r = feed_open(b, "gr-police", NULL, NULL);
	static struct feed_event ev[FEED_MAX];
	char id[37], hdr[64];
	uint64_t last = feed_hello_id(r);

	publish(tr, "weapons", "tr-gr/ipsala", "h1", NULL, id);
	ck_assert_uint_eq(feed_wait(r, ev, 1, H_WAIT_MS), 1);
	h_raw_close(r);
	/* caught up: journalled too */
	snprintf(hdr, sizeof(hdr), "Last-Event-ID: %" PRIu64 "\r\n", last);
	r = feed_open(b, "bg-border-police", NULL, hdr);
	ck_assert_uint_eq(feed_wait(r, ev, 1, H_WAIT_MS), 1);
	h_raw_close(r);
	ccc_close(tr);
	h_broker_halt(b);
	ck_assert_int_eq(h_audited(b, "deliver", "console", "%gr-police%",
	    "gr-police"), 1);
	ck_assert_int_eq(h_audited(b, "deliver", "console",
	    "%bg-border-police%", "bg-border-police"), 1);
	ck_assert_int_eq(h_audited(b, "history_read", "console", NULL,
	    "bg-border-police"), 1);
	h_broker_stop(b);
}
END_TEST

Suite *
console_feed_suite(void)
{
	Suite *s = suite_create("console_feed");
	TCase *tc = tcase_create("feed");
	TCase *slow = tcase_create("slow");

	tcase_set_timeout(tc, H_TEST_TIMEOUT);
	tcase_add_test(tc, live_alert_with_summary);
	tcase_add_test(tc, access_and_disclosure);
	tcase_add_test(tc, catch_up_exactly_once);
	tcase_add_test(tc, catch_up_bounded_with_gap);
	tcase_add_test(tc, catch_up_bounded_many);
	tcase_add_test(tc, max_feeds);
	tcase_add_test(tc, reload_says_bye);
	tcase_add_test(tc, shutdown_says_bye);
	tcase_add_test(tc, journal_names_the_certificate);
	suite_add_tcase(s, tc);
	tcase_set_timeout(slow, 4 * H_TEST_TIMEOUT);
	tcase_add_test(slow, slow_feed_ended);
	tcase_add_test(slow, idle_feed_pinged);
	suite_add_tcase(s, slow);
	return s;
}
