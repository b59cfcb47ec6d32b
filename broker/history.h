/*
 * history.h — replay of stored alerts for a subscription with
 * Subscribe.since, joined to live delivery with no gap and no duplicate.
 *
 * Alerts are committed in publishing order (seq) and delivered live from the
 * commit callbacks, in that order. A replay reads from the store exactly the
 * alerts committed before the subscription existed (seq <= the last seq
 * committed then); every later one reaches the subscription live. Live
 * deliveries that arrive while the replay runs are held back and sent after
 * it, so the subscriber sees one ordered stream.
 */
#ifndef CCC_HISTORY_H
#define CCC_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ccc/v1/alert.pb-c.h"
#include "ccc/v1/envelope.pb-c.h"

struct replay;
struct session;
struct subscription;

/* The highest seq committed so far (at start-up: the store's). */
void	history_committed(uint64_t seq);
/*
 * The highest seq committed so far: a reader of the store that starts now
 * reads up to it, and every later alert reaches the tree's subscriptions
 * live (the seam above; console_feed.c joins its catch-up the same way).
 */
uint64_t history_last_committed(void);
/*
 * Whether the stored alert a is still to be sent to endpoint at now_us (from
 * the store, not live): not expired (as stored durable deliveries of it are
 * dropped) and allowed by the disclosure policy (policy_stored_may_reach).
 */
bool	history_alert_may_reach(const Ccc__V1__Alert *a, const char *endpoint,
	    int64_t now_us);
/*
 * Replay the alerts published since (microseconds) that match sub's
 * patterns, to sub's session, then let live deliveries through.
 */
void	history_start(struct session *s, struct subscription *sub, int64_t since);
/*
 * A live Deliver for a subscription still replaying: hold it back. Returns 0,
 * or -1 when the session's bound on queued output is exceeded (the session
 * is then closed as a slow consumer).
 */
int	history_hold(struct replay *r, const Ccc__V1__Deliver *d,
	    const uint8_t *alert, size_t len);
/* True when topic matches one of sub's patterns. */
bool	history_matches(const struct subscription *sub, const char *topic);
/* sub is going away: its replay, if any, ends without it. */
void	history_cancel(struct subscription *sub);

#endif
