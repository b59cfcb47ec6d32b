/*
 * fuzz_topic.c — topic-pattern syntax, matching, coverage and the
 * subscription tree.
 *
 * Input: two lines, patterns a and b; the bytes after them steer how the
 * wildcards of each are replaced to make concrete topics. Both patterns go
 * through topic_pattern_check(). When both are valid:
 *   - every pattern covers itself;
 *   - a concrete topic made from b matches b, and matches a when a covers b;
 *   - topic_match() agrees with a plain level-by-level reference matcher;
 *   - the tree, holding a and b, calls back exactly the pairs whose
 *     pattern matches, and is empty once they are removed.
 */
#include <stdbool.h>

#include "fuzz.h"
#include "topic.h"

#define LEVEL_MAX	64

/* Split s (modified) at "/" into lv; returns the number of levels. */
static int
split(char *s, char *lv[], int max)
{
	int n = 0;

	for (char *p = s; n < max; ) {
		lv[n++] = p;
		if ((p = strchr(p, '/')) == NULL)
			break;
		*p++ = '\0';
	}
	return n;
}

/* Reference matching, level by level: "+" one level, a final "#" any (zero too). */
static bool
ref_match(char *const *p, int np, char *const *t, int nt)
{
	if (np == 0)
		return nt == 0;
	if (strcmp(p[0], "#") == 0)
		return true;
	if (nt == 0)
		return false;
	if (strcmp(p[0], "+") != 0 && strcmp(p[0], t[0]) != 0)
		return false;
	return ref_match(p + 1, np - 1, t + 1, nt - 1);
}

static bool
ref_topic_match(const char *pattern, const char *topic)
{
	char pb[TOPIC_MAX_LEN + 1], tb[TOPIC_MAX_LEN + 1];
	char *pl[TOPIC_MAX_LEVELS], *tl[TOPIC_MAX_LEVELS];
	int np, nt;

	FUZZ_CHECK(strlen(pattern) <= TOPIC_MAX_LEN &&
	    strlen(topic) <= TOPIC_MAX_LEN);
	strcpy(pb, pattern);
	strcpy(tb, topic);
	np = split(pb, pl, TOPIC_MAX_LEVELS);
	nt = split(tb, tl, TOPIC_MAX_LEVELS);
	return ref_match(pl, np, tl, nt);
}

/* A literal level for a wildcard: steered by the input, sometimes the
 * level other has at the same depth (so that the patterns meet). */
static void
pick_level(struct fuzz_in *in, const char *other, int depth, char *out)
{
	static const char *const stock[] = { "x", "alerts", "drugs",
	    "tr-bg", "kapikule", "a" };
	char ob[TOPIC_MAX_LEN + 1], *ol[TOPIC_MAX_LEVELS];
	unsigned c = fuzz_byte(in);
	int n;

	if (c & 1) {
		strcpy(ob, other);
		n = split(ob, ol, TOPIC_MAX_LEVELS);
		if (depth < n && strcmp(ol[depth], "+") != 0 &&
		    strcmp(ol[depth], "#") != 0) {
			strcpy(out, ol[depth]);
			return;
		}
	}
	strcpy(out, stock[(c >> 1) % (sizeof(stock) / sizeof(stock[0]))]);
}

/*
 * Make a concrete topic that pattern matches, wildcards filled in from the
 * input. Returns false when it would break the limits on topics.
 */
static bool
make_topic(struct fuzz_in *in, const char *pattern, const char *other,
    char out[TOPIC_MAX_LEN + 1])
{
	char pb[TOPIC_MAX_LEN + 1], *pl[TOPIC_MAX_LEVELS];
	char level[LEVEL_MAX + 1];
	size_t len = 0;
	int np, depth = 0, extra;

	strcpy(pb, pattern);
	np = split(pb, pl, TOPIC_MAX_LEVELS);
	out[0] = '\0';
	for (int i = 0; i < np; i++) {
		if (strcmp(pl[i], "#") == 0) {
			/* zero or more levels, but a topic has at least one */
			extra = (int)(fuzz_byte(in) % 4);
			if (depth == 0 && extra == 0)
				extra = 1;
			for (int k = 0; k < extra; k++) {
				pick_level(in, other, depth, level);
				if (depth == TOPIC_MAX_LEVELS ||
				    len + strlen(level) + 1 > TOPIC_MAX_LEN)
					return false;
				len += (size_t)snprintf(out + len,
				    TOPIC_MAX_LEN + 1 - len, "%s%s",
				    depth ? "/" : "", level);
				depth++;
			}
			break;
		}
		if (strcmp(pl[i], "+") == 0)
			pick_level(in, other, depth, level);
		else
			strcpy(level, pl[i]);
		if (len + strlen(level) + 1 > TOPIC_MAX_LEN)
			return false;
		len += (size_t)snprintf(out + len, TOPIC_MAX_LEN + 1 - len, "%s%s",
		    depth ? "/" : "", level);
		depth++;
	}
	return true;
}

struct hits {
	unsigned	 seen[4];	/* callbacks per value 1..3 */
};

static void
hit(void *value, void *arg)
{
	struct hits *h = arg;
	uintptr_t v = (uintptr_t)value;

	FUZZ_CHECK(v >= 1 && v <= 3);
	h->seen[v]++;
}

/* The tree holding (a,1), (b,2), (a,3) calls back for topic exactly the
 * pairs whose pattern matches it. */
static void
check_tree(struct topic_tree *t, const char *a, const char *b,
    const char *topic)
{
	struct hits h = { { 0 } };
	bool ma = topic_match(a, topic), mb = topic_match(b, topic);

	topic_tree_match(t, topic, hit, &h);
	FUZZ_CHECK(h.seen[1] == (unsigned)ma);
	FUZZ_CHECK(h.seen[2] == (unsigned)mb);
	FUZZ_CHECK(h.seen[3] == (unsigned)ma);
}

/* Both topics must match their own pattern and agree with the reference. */
static void
check_topic(const char *a, const char *b, const char *topic, const char *from)
{
	char why[128];

	FUZZ_CHECK(topic_pattern_check(topic, why, sizeof(why)));
	FUZZ_CHECK(strpbrk(topic, "+#") == NULL);
	FUZZ_CHECK(topic_match(from, topic));
	FUZZ_CHECK(topic_match(a, topic) == ref_topic_match(a, topic));
	FUZZ_CHECK(topic_match(b, topic) == ref_topic_match(b, topic));
	if (topic_pattern_covers(a, from))
		FUZZ_CHECK(topic_match(a, topic));
	if (topic_pattern_covers(b, from))
		FUZZ_CHECK(topic_match(b, topic));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	char *a = fuzz_line(&in), *b = fuzz_line(&in);
	char why[128], small[8], ta[TOPIC_MAX_LEN + 1], tb[TOPIC_MAX_LEN + 1];
	bool va, vb, ka, kb;
	struct topic_tree *t;

	why[0] = '\0';
	va = topic_pattern_check(a, why, sizeof(why));
	FUZZ_CHECK(va || why[0] != '\0');
	vb = topic_pattern_check(b, small, sizeof(small));	/* truncated why */
	FUZZ_CHECK(vb == topic_pattern_check(b, why, sizeof(why)));
	if (!va || !vb)
		goto out;

	FUZZ_CHECK(topic_pattern_covers(a, a));
	FUZZ_CHECK(topic_pattern_covers(b, b));
	FUZZ_CHECK(topic_pattern_covers("#", a));
	if (topic_pattern_covers(a, b) && topic_pattern_covers(b, a))
		FUZZ_CHECK(strcmp(a, b) == 0);

	ka = make_topic(&in, a, b, ta);
	kb = make_topic(&in, b, a, tb);
	if (ka)
		check_topic(a, b, ta, a);
	if (kb)
		check_topic(a, b, tb, b);

	t = topic_tree_new();
	topic_tree_add(t, a, (void *)1);
	topic_tree_add(t, b, (void *)2);
	topic_tree_add(t, a, (void *)3);
	FUZZ_CHECK(topic_tree_count(t) == 3);
	if (ka)
		check_tree(t, a, b, ta);
	if (kb)
		check_tree(t, a, b, tb);
	FUZZ_CHECK(!topic_tree_remove(t, a, (void *)2) || strcmp(a, b) == 0);
	FUZZ_CHECK(topic_tree_remove(t, a, (void *)3));
	FUZZ_CHECK(topic_tree_remove(t, a, (void *)1));
	FUZZ_CHECK(!topic_tree_remove(t, a, (void *)1));
	FUZZ_CHECK(topic_tree_count(t) == (strcmp(a, b) == 0 ? 0u : 1u));
	if (strcmp(a, b) != 0)
		FUZZ_CHECK(topic_tree_remove(t, b, (void *)2));
	FUZZ_CHECK(topic_tree_count(t) == 0);
	if (kb) {
		struct hits h = { { 0 } };

		topic_tree_match(t, tb, hit, &h);	/* nothing left to call */
		FUZZ_CHECK(h.seen[1] + h.seen[2] + h.seen[3] == 0);
	}
	topic_tree_free(t);
out:
	free(a);
	free(b);
	return 0;
}
