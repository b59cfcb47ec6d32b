/*
 * peers.c — the open sessions of each endpoint (peers.h).
 *
 * One node per endpoint that has a listed session, holding the list of its
 * sessions in the order they were listed; the nodes sit in an array of
 * pointers sorted by endpoint (qsort when one is added) and are found with
 * bsearch. A node goes
 * when its last session does, so the index never outgrows the sessions.
 *
 * Owns: the nodes. Must never: free a session, or keep one after
 * peers_remove().
 */
#include <stdlib.h>
#include <string.h>

#include "peers.h"
#include "session.h"
#include "xmalloc.h"

struct peers_node {
	char			 endpoint[64];	/* as struct session has it */
	TAILQ_HEAD(, session)	 sessions;	/* listed, oldest first */
};

struct peers {
	struct peers_node	**v;		/* sorted by endpoint */
	size_t			  n, cap;
};

struct peers *
peers_new(void)
{
	return xcalloc(1, sizeof(struct peers));
}

void
peers_free(struct peers *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	free(p);
}

/* Order of nodes by endpoint (qsort), and of a key among them (bsearch). */
static int
peers_cmp(const void *a, const void *b)
{
	const struct peers_node *x = *(struct peers_node *const *)a;
	const struct peers_node *y = *(struct peers_node *const *)b;

	return strcmp(x->endpoint, y->endpoint);
}

static int
peers_cmp_key(const void *key, const void *elem)
{
	return strcmp(key, (*(struct peers_node *const *)elem)->endpoint);
}

/* Where endpoint's node is in p->v, or NULL. */
static struct peers_node **
peers_find(const struct peers *p, const char *endpoint)
{
	if (p->n == 0)
		return NULL;
	return bsearch(endpoint, p->v, p->n, sizeof(*p->v), peers_cmp_key);
}

void
peers_add(struct peers *p, struct session *s)
{
	struct peers_node **at = peers_find(p, s->endpoint), *node;

	if (at != NULL)
		node = *at;
	else {	/* a new endpoint: as rare as a first session */
		node = xcalloc(1, sizeof(*node));
		memcpy(node->endpoint, s->endpoint, sizeof(node->endpoint));
		TAILQ_INIT(&node->sessions);
		p->v = xgrow(p->v, &p->cap, p->n + 1, sizeof(*p->v));
		p->v[p->n++] = node;
		qsort(p->v, p->n, sizeof(*p->v), peers_cmp);
	}
	TAILQ_INSERT_TAIL(&node->sessions, s, peer_entry);
	s->peer_listed = true;
}

void
peers_remove(struct peers *p, struct session *s)
{
	struct peers_node **at;
	size_t i;

	if (!s->peer_listed)
		return;
	s->peer_listed = false;
	if ((at = peers_find(p, s->endpoint)) == NULL)
		return;		/* cannot happen: listed under its endpoint */
	TAILQ_REMOVE(&(*at)->sessions, s, peer_entry);
	if (!TAILQ_EMPTY(&(*at)->sessions))
		return;
	free(*at);
	i = (size_t)(at - p->v);
	memmove(p->v + i, p->v + i + 1, (p->n - i - 1) * sizeof(*p->v));
	p->n--;
}

struct session *
peers_first(const struct peers *p, const char *endpoint)
{
	struct peers_node **at = peers_find(p, endpoint);

	return at != NULL ? TAILQ_FIRST(&(*at)->sessions) : NULL;
}

struct session *
peers_next(const struct session *s)
{
	return TAILQ_NEXT(s, peer_entry);
}

size_t
peers_count(const struct peers *p)
{
	return p->n;
}
