/*
 * quota.h — limits one endpoint shares across all its sessions: how many
 * sessions it has open (limits.max_connections_per_endpoint) and how fast it
 * may publish (limits.publish_rate and limits.publish_burst, a token bucket).
 *
 * A session takes its endpoint's record when its identity is established
 * (quota_session_begin) and gives it back when it starts closing
 * (quota_session_end). Records are kept until quota_shutdown(), so that a
 * reconnect does not refill the bucket; there is one per endpoint that has
 * authenticated since start-up, so their number is bounded by the registry,
 * which only operators change. Loop thread only.
 */
#ifndef CCC_QUOTA_H
#define CCC_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

struct quota;

/*
 * A token bucket holding up to burst tokens, refilled at rate tokens a
 * second, in millionths of a token so that the arithmetic stays integral.
 * Zero-initialised it is full at its first use.
 */
struct quota_bucket {
	int64_t		level;		/* millionths of a token available */
	int64_t		at;		/* monotonic µs level was computed at */
	bool		started;	/* used before (else: full) */
};

/*
 * Take one token from b at now (monotonic microseconds). Returns 0 when one
 * was taken, else the microseconds until one is due (> 0; nothing taken).
 * rate 0 means no limit: always 0.
 */
int64_t		 quota_bucket_take(struct quota_bucket *b, uint32_t rate,
		    uint32_t burst, int64_t now);

/*
 * Count one more session of endpoint: its record, or NULL when the endpoint
 * already has max sessions counted (nothing is counted then).
 */
struct quota	*quota_session_begin(const char *endpoint, uint32_t max);
/* One session of q's endpoint ended. NULL is fine. */
void		 quota_session_end(struct quota *q);
/* Sessions of q's endpoint counted now. */
uint32_t	 quota_sessions(const struct quota *q);
/*
 * One publish by q's endpoint at now (monotonic microseconds), under the
 * endpoint's bucket of rate and burst: 0 when it may go ahead, else the
 * microseconds until the endpoint may publish again (refused). *streak is
 * set to the refusals in a row this one makes when it is refused (1: the
 * first), or, when it may go ahead, to the refusals in a row it ends (0:
 * none).
 */
int64_t		 quota_publish(struct quota *q, uint32_t rate, uint32_t burst,
		    int64_t now, uint64_t *streak);
/* Free every record (server_free, after the last session). */
void		 quota_shutdown(void);

#endif
