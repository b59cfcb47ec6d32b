/*
 * topic.h — topics, topic patterns, and the subscription tree.
 *
 * A topic is "alerts/<category>/<border>/<crossing>", derived by the broker
 * from a validated alert; an exercise alert's starts with "exercise/"
 * instead, so that no pattern under "alerts/" matches it. A pattern is a topic whose levels may be "+" (any
 * one level) or, as the last level only, "#" (any number of levels, zero
 * included). Levels are 1..64 characters of [a-z0-9_-]; at most 8 levels.
 *
 * The tree maps patterns to opaque subscriber values. Matching walks only the
 * branches a topic can reach, so its cost does not grow with the number of
 * subscriptions that do not match.
 */
#ifndef CCC_TOPIC_H
#define CCC_TOPIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOPIC_MAX_LEN		256
#define TOPIC_MAX_LEVELS	8
#define TOPIC_LIVE		"alerts/"	/* the first level of live topics */
#define TOPIC_EXERCISE		"exercise/"	/* ... and of exercise topics */

/* True when a topic or pattern lies under TOPIC_EXERCISE. */
bool	topic_is_exercise(const char *topic);

/* Check a pattern's syntax. On error returns false and why[] says what is wrong. */
bool	topic_pattern_check(const char *pattern, char *why, size_t whylen);
/* True when the (concrete) topic matches pattern. Both must be valid. */
bool	topic_match(const char *pattern, const char *topic);
/*
 * True when every topic that inner matches is also matched by outer, i.e.
 * subscribing to inner can never deliver more than outer allows. Both must be
 * valid patterns.
 */
bool	topic_pattern_covers(const char *outer, const char *inner);

struct topic_tree;

struct topic_tree	*topic_tree_new(void);
/* Frees the tree; the subscriber values are the caller's. */
void			 topic_tree_free(struct topic_tree *tree);
/* Add (pattern, value). The same pair may be added more than once; each add needs a remove. */
void			 topic_tree_add(struct topic_tree *tree, const char *pattern,
			    void *value);
/* Remove one (pattern, value) pair. Returns false when it was not there. */
bool			 topic_tree_remove(struct topic_tree *tree,
			    const char *pattern, void *value);
/*
 * Call fn(value, arg) for every pattern in the tree that matches topic, once
 * per (pattern, value) pair. fn must not change the tree.
 */
void			 topic_tree_match(const struct topic_tree *tree,
			    const char *topic, void (*fn)(void *value, void *arg),
			    void *arg);
/* Number of (pattern, value) pairs in the tree. */
size_t			 topic_tree_count(const struct topic_tree *tree);
/*
 * A number that changes with every add and every remove that found its
 * pair, and with nothing else: two equal readings mean that a match made
 * between them would give the same values.
 */
uint64_t		 topic_tree_generation(const struct topic_tree *tree);

#endif
