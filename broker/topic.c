/*
 * topic.c — topic patterns and the subscription tree.
 *
 * The tree has one node per pattern level. A node's literal children are kept
 * sorted by name and found by binary search; "+" and "#" children are held
 * apart. Matching a topic visits, at each level, at most the literal child of
 * that name, the "+" child and the "#" child, so its cost depends on the
 * topic's depth and on what matches, not on how many subscriptions exist.
 * Nodes left without values or children are pruned on removal, so the tree
 * never grows with churn.
 *
 * This file must never allocate while matching (the publish hot path).
 */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "topic.h"
#include "xmalloc.h"

#define TOPIC_LEVEL_MAX	64

struct topic_node {
	char			 *level;	/* this node's level text (NULL at the root) */
	struct topic_node	**kids;		/* literal children, sorted by level */
	size_t			  nkids;
	struct topic_node	 *plus;		/* "+" child */
	struct topic_node	 *hash;		/* "#" child */
	void			**values;	/* subscribers whose pattern ends here */
	size_t			  nvalues;
};

struct topic_tree {
	struct topic_node	 root;
	size_t			 count;
	uint64_t		 gen;		/* bumped by every add and remove */
};

/* Split s into at most TOPIC_MAX_LEVELS levels (pointers into buf). */
static int
topic_split(const char *s, char buf[TOPIC_MAX_LEN + 1],
    const char *lv[TOPIC_MAX_LEVELS])
{
	size_t len = strlen(s);
	int n = 0;
	char *p, *slash;

	if (len > TOPIC_MAX_LEN)
		return -1;
	memcpy(buf, s, len + 1);
	for (p = buf;; p = slash + 1) {
		if (n == TOPIC_MAX_LEVELS)
			return -1;
		lv[n++] = p;
		if ((slash = strchr(p, '/')) == NULL)
			break;
		*slash = '\0';
	}
	return n;
}

bool
topic_pattern_check(const char *pattern, char *why, size_t whylen)
{
	char buf[TOPIC_MAX_LEN + 1];
	const char *lv[TOPIC_MAX_LEVELS];
	int n;

	if (*pattern == '\0') {
		snprintf(why, whylen, "empty topic pattern");
		return false;
	}
	if ((n = topic_split(pattern, buf, lv)) < 0) {
		snprintf(why, whylen, "topic pattern is longer than %d characters "
		    "or %d levels", TOPIC_MAX_LEN, TOPIC_MAX_LEVELS);
		return false;
	}
	for (int i = 0; i < n; i++) {
		size_t len = strlen(lv[i]);

		if (len == 0) {
			snprintf(why, whylen, "topic pattern has an empty level");
			return false;
		}
		if (strcmp(lv[i], "#") == 0) {
			if (i != n - 1) {
				snprintf(why, whylen, "\"#\" may only be the last "
				    "level of a topic pattern");
				return false;
			}
			continue;
		}
		if (strcmp(lv[i], "+") == 0)
			continue;
		if (len > TOPIC_LEVEL_MAX) {
			snprintf(why, whylen, "topic level longer than %d "
			    "characters", TOPIC_LEVEL_MAX);
			return false;
		}
		for (const char *c = lv[i]; *c; c++) {
			if ((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
			    *c == '_' || *c == '-')
				continue;
			if (*c == '+' || *c == '#')
				snprintf(why, whylen, "\"%c\" must stand alone as a "
				    "whole topic level", *c);
			else
				snprintf(why, whylen, "topic levels may contain only "
				    "a-z, 0-9, \"_\" and \"-\"");
			return false;
		}
	}
	return true;
}

bool
topic_is_exercise(const char *topic)
{
	return strncmp(topic, TOPIC_EXERCISE, strlen(TOPIC_EXERCISE)) == 0;
}

bool
topic_match(const char *pattern, const char *topic)
{
	const char *p = pattern, *t = topic;

	for (;;) {
		const char *pe = strchrnul(p, '/'), *te = strchrnul(t, '/');

		if (pe - p == 1 && *p == '#')
			return true;
		if (!(pe - p == 1 && *p == '+') &&
		    (pe - p != te - t || memcmp(p, t, (size_t)(pe - p)) != 0))
			return false;
		if (*pe == '\0' || *te == '\0') {
			/* "a/#" also matches "a": # matches zero levels */
			if (*pe == '/' && strcmp(pe + 1, "#") == 0)
				return true;
			return *pe == '\0' && *te == '\0';
		}
		p = pe + 1;
		t = te + 1;
	}
}

bool
topic_pattern_covers(const char *outer, const char *inner)
{
	const char *o = outer, *n = inner;

	for (;;) {
		const char *oe = strchrnul(o, '/'), *ne = strchrnul(n, '/');
		bool ohash = oe - o == 1 && *o == '#';
		bool nhash = ne - n == 1 && *n == '#';
		bool oplus = oe - o == 1 && *o == '+';
		bool nplus = ne - n == 1 && *n == '+';

		if (ohash)
			return true;
		if (nhash)
			return false;
		if (!oplus && (nplus || oe - o != ne - n ||
		    memcmp(o, n, (size_t)(oe - o)) != 0))
			return false;
		if (*oe == '\0' || *ne == '\0') {
			if (*oe == '/' && strcmp(oe + 1, "#") == 0)
				return true;
			return *oe == '\0' && *ne == '\0';
		}
		o = oe + 1;
		n = ne + 1;
	}
}

struct topic_tree *
topic_tree_new(void)
{
	return xcalloc(1, sizeof(struct topic_tree));
}

static void
topic_node_free_kids(struct topic_node *node)
{
	for (size_t i = 0; i < node->nkids; i++) {
		topic_node_free_kids(node->kids[i]);
		free(node->kids[i]);
	}
	if (node->plus != NULL) {
		topic_node_free_kids(node->plus);
		free(node->plus);
	}
	if (node->hash != NULL) {
		topic_node_free_kids(node->hash);
		free(node->hash);
	}
	free(node->kids);
	free(node->values);
	free(node->level);
}

void
topic_tree_free(struct topic_tree *tree)
{
	if (tree == NULL)
		return;
	topic_node_free_kids(&tree->root);
	free(tree);
}

/* Index of the literal child named level, or where it would be inserted. */
static size_t
topic_node_find(const struct topic_node *node, const char *level, bool *found)
{
	size_t lo = 0, hi = node->nkids;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(node->kids[mid]->level, level);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/* The child for level, created when create is true; NULL when absent. */
static struct topic_node *
topic_node_child(struct topic_node *node, const char *level, bool create)
{
	struct topic_node **slot = NULL, *kid;
	bool found;
	size_t at;

	if (strcmp(level, "+") == 0)
		slot = &node->plus;
	else if (strcmp(level, "#") == 0)
		slot = &node->hash;
	if (slot != NULL) {
		if (*slot == NULL && create) {
			*slot = xcalloc(1, sizeof(**slot));
			(*slot)->level = xstrdup(level);
		}
		return *slot;
	}
	at = topic_node_find(node, level, &found);
	if (found)
		return node->kids[at];
	if (!create)
		return NULL;
	kid = xcalloc(1, sizeof(*kid));
	kid->level = xstrdup(level);
	node->kids = xreallocarray(node->kids, node->nkids + 1, sizeof(*node->kids));
	memmove(node->kids + at + 1, node->kids + at,
	    (node->nkids - at) * sizeof(*node->kids));
	node->kids[at] = kid;
	node->nkids++;
	return kid;
}

void
topic_tree_add(struct topic_tree *tree, const char *pattern, void *value)
{
	char buf[TOPIC_MAX_LEN + 1];
	const char *lv[TOPIC_MAX_LEVELS];
	struct topic_node *node = &tree->root;
	int n = topic_split(pattern, buf, lv);

	for (int i = 0; i < n; i++)
		node = topic_node_child(node, lv[i], true);
	node->values = xreallocarray(node->values, node->nvalues + 1,
	    sizeof(*node->values));
	node->values[node->nvalues++] = value;
	tree->count++;
	tree->gen++;
}

static bool
topic_node_empty(const struct topic_node *node)
{
	return node->nkids == 0 && node->plus == NULL && node->hash == NULL &&
	    node->nvalues == 0;
}

/* Detach and free the empty child kid of node. */
static void
topic_node_prune(struct topic_node *node, struct topic_node *kid)
{
	if (node->plus == kid)
		node->plus = NULL;
	else if (node->hash == kid)
		node->hash = NULL;
	else {
		bool found;
		size_t at = topic_node_find(node, kid->level, &found);

		memmove(node->kids + at, node->kids + at + 1,
		    (node->nkids - at - 1) * sizeof(*node->kids));
		node->nkids--;
	}
	topic_node_free_kids(kid);
	free(kid);
}

bool
topic_tree_remove(struct topic_tree *tree, const char *pattern, void *value)
{
	char buf[TOPIC_MAX_LEN + 1];
	const char *lv[TOPIC_MAX_LEVELS];
	struct topic_node *path[TOPIC_MAX_LEVELS + 1], *node = &tree->root;
	int n = topic_split(pattern, buf, lv);
	size_t i;

	if (n < 0)
		return false;
	path[0] = node;
	for (int k = 0; k < n; k++) {
		if ((node = topic_node_child(node, lv[k], false)) == NULL)
			return false;
		path[k + 1] = node;
	}
	for (i = 0; i < node->nvalues; i++)
		if (node->values[i] == value)
			break;
	if (i == node->nvalues)
		return false;
	node->values[i] = node->values[--node->nvalues];
	tree->count--;
	tree->gen++;
	for (int k = n; k > 0 && topic_node_empty(path[k]); k--)
		topic_node_prune(path[k - 1], path[k]);
	return true;
}

static void
topic_node_emit(const struct topic_node *node, void (*fn)(void *, void *),
    void *arg)
{
	for (size_t i = 0; i < node->nvalues; i++)
		fn(node->values[i], arg);
}

static void
topic_node_match(const struct topic_node *node, const char *const *lv, int n,
    int i, void (*fn)(void *, void *), void *arg)
{
	bool found;
	size_t at;

	if (node->hash != NULL)		/* "#" matches the rest, zero levels included */
		topic_node_emit(node->hash, fn, arg);
	if (i == n) {
		topic_node_emit(node, fn, arg);
		return;
	}
	at = topic_node_find(node, lv[i], &found);
	if (found)
		topic_node_match(node->kids[at], lv, n, i + 1, fn, arg);
	if (node->plus != NULL)
		topic_node_match(node->plus, lv, n, i + 1, fn, arg);
}

void
topic_tree_match(const struct topic_tree *tree, const char *topic,
    void (*fn)(void *value, void *arg), void *arg)
{
	char buf[TOPIC_MAX_LEN + 1];
	const char *lv[TOPIC_MAX_LEVELS];
	int n = topic_split(topic, buf, lv);

	if (n > 0)
		topic_node_match(&tree->root, lv, n, 0, fn, arg);
}

size_t
topic_tree_count(const struct topic_tree *tree)
{
	return tree->count;
}

uint64_t
topic_tree_generation(const struct topic_tree *tree)
{
	return tree->gen;
}
