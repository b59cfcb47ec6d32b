/*
 * quota.c — per-endpoint limits across sessions: the session count and the
 * publish token bucket (quota.h).
 *
 * Owns one record per endpoint seen since start-up, in an array of pointers
 * kept in name order (looked up once per authenticated session, never per
 * frame). Records are never freed before quota_shutdown(), so the pointer a
 * session holds stays valid for its whole life. Nothing here logs, blocks or
 * touches a session: the callers decide what a refusal means.
 */
#include <stdlib.h>
#include <string.h>

#include "quota.h"
#include "xmalloc.h"

#define QUOTA_TOKEN	INT64_C(1000000)	/* a token, in millionths */

struct quota {
	char			*endpoint;
	uint32_t		 sessions;	/* sessions counted now */
	struct quota_bucket	 bucket;	/* publishes */
	uint64_t		 refused;	/* publishes refused since the last allowed */
};

static struct quota	**quota_all;		/* by endpoint name */
static size_t		  quota_n;

int64_t
quota_bucket_take(struct quota_bucket *b, uint32_t rate, uint32_t burst,
    int64_t now)
{
	const int64_t cap = (int64_t)burst * QUOTA_TOKEN;
	int64_t elapsed;

	if (rate == 0)
		return 0;
	if (!b->started) {
		b->started = true;
		b->level = cap;
		b->at = now;
	}
	elapsed = now - b->at;
	if (elapsed > 0) {
		/* rate millionths a microsecond; clamp before multiplying */
		if (b->level >= cap || elapsed > (cap - b->level) / rate)
			b->level = cap;
		else
			b->level += elapsed * (int64_t)rate;	/* <= cap */
		b->at = now;
	}
	if (b->level >= QUOTA_TOKEN) {
		b->level -= QUOTA_TOKEN;
		return 0;
	}
	return (QUOTA_TOKEN - b->level + rate - 1) / rate;
}

static int
quota_cmp(const void *key, const void *elem)
{
	return strcmp(key, (*(struct quota *const *)elem)->endpoint);
}

/* The record of endpoint, made when there is none. */
static struct quota *
quota_get(const char *endpoint)
{
	struct quota **p, *q;
	size_t i;

	if (quota_n > 0 && (p = bsearch(endpoint, quota_all, quota_n,
	    sizeof(*quota_all), quota_cmp)) != NULL)
		return *p;
	for (i = quota_n; i > 0 && strcmp(quota_all[i - 1]->endpoint,
	    endpoint) > 0; i--)
		;
	q = xcalloc(1, sizeof(*q));
	q->endpoint = xstrdup(endpoint);
	quota_all = xreallocarray(quota_all, quota_n + 1, sizeof(*quota_all));
	memmove(quota_all + i + 1, quota_all + i,
	    (quota_n - i) * sizeof(*quota_all));
	quota_all[i] = q;
	quota_n++;
	return q;
}

struct quota *
quota_session_begin(const char *endpoint, uint32_t max)
{
	struct quota *q = quota_get(endpoint);

	if (q->sessions >= max)
		return NULL;
	q->sessions++;
	return q;
}

void
quota_session_end(struct quota *q)
{
	if (q != NULL && q->sessions > 0)
		q->sessions--;
}

uint32_t
quota_sessions(const struct quota *q)
{
	return q->sessions;
}

int64_t
quota_publish(struct quota *q, uint32_t rate, uint32_t burst, int64_t now,
    uint64_t *streak)
{
	int64_t wait = quota_bucket_take(&q->bucket, rate, burst, now);

	if (wait > 0) {
		*streak = ++q->refused;
		return wait;
	}
	*streak = q->refused;
	q->refused = 0;
	return 0;
}

void
quota_shutdown(void)
{
	for (size_t i = 0; i < quota_n; i++) {
		free(quota_all[i]->endpoint);
		free(quota_all[i]);
	}
	free(quota_all);
	quota_all = NULL;
	quota_n = 0;
}
