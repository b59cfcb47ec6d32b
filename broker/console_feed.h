/*
 * console_feed.h — the console's live feed: GET /api/feed as Server-Sent
 * Events (docs/console.md, docs/architecture.md).
 *
 * Each open feed is a subscription in the server's topic tree (session.h:
 * sess and durable NULL, feed set) with the patterns the access rules let
 * its endpoint subscribe to, so that route_recipients() answers for feeds
 * as for sessions (route.h, the set's feeds). The publish path hands each
 * committed alert to the set's feeds once (feed_deliver), which encodes the
 * event once and appends it to every feed.
 *
 * The stream: "hello" first, then "alert" events (id = the alert's seq), a
 * "gap" when a reconnecting feed missed more than console.catch_up alerts,
 * a ": ping" comment every FEED_PING_SECONDS, and "bye" with a reason when
 * the broker ends it (reload, shutdown, slow consumer); the browser then
 * reconnects with Last-Event-ID and catches up from the store with no gap
 * and no duplicate (the seam of history.h).
 */
#ifndef CCC_CONSOLE_FEED_H
#define CCC_CONSOLE_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FEED_PING_SECONDS	15	/* a ": ping" comment this often */

struct console_who;
struct evhttp_request;
struct feed;
struct registry;
struct server;

/* Who a feed is for, as its deliver records name it (audit.c). */
struct feed_identity {
	char	endpoint[64];		/* certificate CN = registry endpoint id */
	char	subject[256];		/* certificate subject */
	char	fingerprint[65];	/* SHA-256 of the certificate, hex */
	char	peer[64];		/* "HOST:PORT" of the browser */
};

/*
 * Answer GET /api/feed for who (authenticated by console.c: a registered,
 * not suspended endpoint; the console's headers already on req): start
 * the event stream, or answer 503 (console_error) when console.max_feeds
 * feeds are open. With has_after, catch up from the store on the alerts
 * after seq `after` first. The feed keeps req until it ends (the
 * connection's end reaches it through console_on_close).
 */
void	feed_open(struct server *srv, struct evhttp_request *req,
	    const struct console_who *who, uint64_t after, bool has_after);
/*
 * The alert of seq (body: the stamped alert, encoded; on topic) was
 * committed and feeds[0..n) (a route set's, renewed at the commit) get it:
 * one event encoded once, appended to each (held behind a catch-up under
 * way), and one "deliver" record per certificate (audit.h). A feed whose
 * output would pass limits.max_output_buffer is ended as a slow consumer.
 */
void	feed_deliver(struct feed *const *feeds, size_t n, uint64_t seq,
	    const uint8_t *body, size_t len, const char *topic);
/* The endpoint a feed is for (route.c's filter by the plan). */
const char *feed_endpoint(const struct feed *f);
const struct feed_identity *feed_identity_of(const struct feed *f);
/* Open feeds now (metrics, tests). */
size_t	feed_count(void);
/*
 * End every open feed with "bye" and reason (a registry or TLS reload, a
 * shutdown): each leaves the tree at once; the browser reconnects.
 */
void	feed_end_all(const char *reason);
/* Free what is left of the feeds (server_free(), the loop stopped). */
void	feed_shutdown(void);
#endif
