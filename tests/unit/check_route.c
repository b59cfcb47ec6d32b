/*
 * check_route.c — who gets an alert (route.c), and explain (explain.c) on
 * the same answer, under the demo registry with a population of sessions,
 * durable subscriptions and inboxes held by the stubs (route_stubs.c).
 *
 * For a spread of alerts (every publisher, category, a section of each
 * border, handling, TLP, named recipients, exercise), three answers must
 * agree for every endpoint: an oracle computed here from first principles
 * (topic_match on each subscription, the plan's decisions), the recipients
 * the publish path delivers to (route_recipients then route_at_commit, as
 * handle.c calls them), and explain's "delivered".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "alert.h"
#include "demo.h"
#include "durable.h"
#include "explain.h"
#include "policy.h"
#include "registry.h"
#include "route.h"
#include "route_stubs.h"
#include "suites.h"
#include "topic.h"

#define NSESS	10
#define NDUR	2

/* The population: sessions with plain subscriptions, and durables. */
static struct session sess[NSESS];
static struct subscription *subs[32];
static size_t nsubs;
static struct durable dur[NDUR];

/* Every subscriber endpoint has an inbox but gr-police (none yet). */
static const char *const inboxes[] = {
	"tr-police", "tr-gendarmerie", "tr-customs", "bg-border-police",
	"bg-customs", "gr-customs", NULL,
};

static void
tree_add(struct subscription *sub)
{
	for (size_t i = 0; i < sub->npatterns; i++)
		topic_tree_add(stub_tree, sub->patterns[i], sub);
}

static void
tree_remove(struct subscription *sub)
{
	for (size_t i = 0; i < sub->npatterns; i++)
		ck_assert(topic_tree_remove(stub_tree, sub->patterns[i], sub));
}

/* A plain subscription of s to the patterns, in the tree. */
static struct subscription *
sub_add(struct session *s, const char *p1, const char *p2)
{
	struct subscription *sub = calloc(1, sizeof(*sub));

	ck_assert_ptr_nonnull(sub);
	sub->sess = s;
	sub->id = ++s->next_sub_id;
	sub->patterns = calloc(2, sizeof(char *));
	sub->patterns[sub->npatterns++] = (char *)(uintptr_t)p1;
	if (p2 != NULL)
		sub->patterns[sub->npatterns++] = (char *)(uintptr_t)p2;
	tree_add(sub);
	subs[nsubs++] = sub;
	return sub;
}

static void
sess_init(size_t i, const char *endpoint, enum sess_state state)
{
	memset(&sess[i], 0, sizeof(sess[i]));
	snprintf(sess[i].endpoint, sizeof(sess[i].endpoint), "%s", endpoint);
	sess[i].state = state;
	sess[i].serial = i + 1;
}

static void
dur_init(size_t i, uint64_t id, const char *endpoint, const char *name,
    const char *pattern, struct session *attached)
{
	struct durable *d = &dur[i];

	memset(d, 0, sizeof(*d));
	d->id = id;
	d->endpoint = endpoint;
	d->name = name;
	d->sub.durable = d;
	d->sub.patterns = calloc(1, sizeof(char *));
	d->sub.patterns[0] = (char *)(uintptr_t)pattern;
	d->sub.npatterns = 1;
	if (attached != NULL) {
		d->sub.sess = attached;
		d->sub.id = ++attached->next_sub_id;
	}
	tree_add(&d->sub);
}

static void
population_setup(void)
{
	demo_setup();
	stub_tree = topic_tree_new();
	stub_inboxes = inboxes;
	nsubs = 0;
	sess_init(0, "tr-police", SESS_READY);
	sub_add(&sess[0], "alerts/#", NULL);
	sess_init(1, "tr-police", SESS_READY);	/* one subscription, two patterns */
	sub_add(&sess[1], "alerts/drugs/#", "alerts/+/tr-bg/#");
	sess_init(2, "gr-police", SESS_READY);
	sub_add(&sess[2], "alerts/migrant_smuggling/#", NULL);
	sess_init(3, "bg-customs", SESS_READY);
	sub_add(&sess[3], "alerts/customs/#", NULL);
	sub_add(&sess[3], "alerts/drugs/#", NULL);
	sess_init(4, "tr-customs", SESS_READY);
	sub_add(&sess[4], "alerts/weapons/#", NULL);
	sess_init(5, "gr-customs", SESS_HELLO);	/* not ready: never reached */
	sub_add(&sess[5], "alerts/#", NULL);
	sess_init(6, "bg-border-police", SESS_READY);
	sub_add(&sess[6], "exercise/#", NULL);
	sess_init(7, "bg-border-police", SESS_READY);	/* a durable attached */
	sess_init(8, "tr-gendarmerie", SESS_READY);
	sub_add(&sess[8], "alerts/human_trafficking/tr-gr/#", NULL);
	sess_init(9, "gr-police", SESS_READY);
	sub_add(&sess[9], "alerts/+/bg-gr/#", NULL);
	dur_init(0, 7, "gr-customs", "desk", "alerts/drugs/#", NULL);
	dur_init(1, 8, "bg-border-police", "night", "alerts/+/bg-gr/#",
	    &sess[7]);
}

static void
population_teardown(void)
{
	for (size_t i = 0; i < nsubs; i++) {
		tree_remove(subs[i]);
		free(subs[i]->patterns);
		free(subs[i]);
	}
	for (size_t i = 0; i < NDUR; i++) {
		tree_remove(&dur[i].sub);
		free(dur[i].sub.patterns);
	}
	ck_assert_uint_eq(topic_tree_count(stub_tree), 0);
	topic_tree_free(stub_tree);
	stub_tree = NULL;
	route_shutdown();
	demo_teardown();
}

/* The oracle: would endpoint ep get alert a on topic under plan? */
static bool
oracle(const char *ep, const char *topic, const struct policy_plan *plan)
{
	bool may = policy_may_receive(plan, ep);

	for (size_t i = 0; i < nsubs && may; i++) {
		const struct subscription *sub = subs[i];

		if (strcmp(sub->sess->endpoint, ep) != 0 ||
		    sub->sess->state != SESS_READY)
			continue;
		for (size_t k = 0; k < sub->npatterns; k++)
			if (topic_match(sub->patterns[k], topic))
				return true;
	}
	for (size_t i = 0; i < NDUR && may; i++)
		if (strcmp(dur[i].endpoint, ep) == 0 &&
		    topic_match(dur[i].sub.patterns[0], topic))
			return true;
	for (size_t i = 0; i < plan->ntargets; i++)
		if (strcmp(plan->targets[i].endpoint, ep) == 0 &&
		    !plan->targets[i].blocked && durable_inbox(ep) != 0)
			return true;
	return false;
}

/* Does the set the publish path delivers by reach endpoint ep? */
static bool
live_reaches(const struct route_set *rs, const char *ep)
{
	for (size_t i = 0; i < rs->nlive; i++)
		if (strcmp(rs->live[i].sess->endpoint, ep) == 0)
			return true;
	for (size_t i = 0; i < rs->ndurables; i++)
		if (strcmp(rs->durables[i].endpoint, ep) == 0)
			return true;
	return false;
}

/* The checks of one alert; counts what it delivered and withheld. */
static void
check_alert(Ccc__V1__Alert *a, size_t *delivered, size_t *withheld,
    size_t *refused)
{
	const struct endpoint *eps, *origin = registry_endpoint(demo, a->origin);
	struct policy_plan plan;
	struct route_set *rs = NULL;
	struct explain ex;
	Ccc__V1__ErrorCode code;
	char topic[TOPIC_MAX_LEN + 1], why[512];
	bool published;
	size_t n;

	ck_assert_msg(alert_validate(a, demo, 0, why, sizeof(why)) == 0,
	    "%s", why);
	alert_topic(a, topic);
	published = acl_may_publish(demo, origin, a->category, a->section, why,
	    sizeof(why)) && policy_plan(demo, a, a->origin, topic, &plan, why,
	    sizeof(why)) == 0;
	if (published) {
		/* as handle.c: at the publish, then at the commit */
		rs = route_set_get();
		route_recipients(NULL, topic, &plan, rs);
		ck_assert(!route_at_commit(NULL, topic, &plan, rs));
		*withheld += rs->nwithheld;
	} else
		(*refused)++;
	ck_assert_int_eq(explain_alert(NULL, demo, a, &ex, &code, why,
	    sizeof(why)), 0);
	ck_assert_str_eq(ex.topic, topic);
	eps = registry_endpoints(demo, &n);
	ck_assert_uint_eq(ex.nentries, n);
	for (size_t i = 0; i < n; i++) {
		const char *ep = eps[i].id;
		bool want = published && oracle(ep, topic, &plan);
		bool live = published && live_reaches(rs, ep);

		ck_assert_str_eq(ex.entries[i]->endpoint, ep);
		ck_assert_msg(live == want, "%s from %s (handling %d, tlp %d, "
		    "%zu recipients): delivery %s %s, expected %s", topic,
		    a->origin, a->handling, a->tlp, a->n_recipients,
		    live ? "reaches" : "misses", ep, want ? "yes" : "no");
		ck_assert_msg(ex.entries[i]->delivered == want, "%s from %s "
		    "(handling %d, tlp %d, %zu recipients): explain says %s "
		    "for %s (%s), expected %s", topic, a->origin, a->handling,
		    a->tlp, a->n_recipients, ex.entries[i]->delivered ? "yes" :
		    "no", ep, ex.entries[i]->reason, want ? "yes" : "no");
		ck_assert(want == (ex.entries[i]->n_via > 0));
		*delivered += want;
	}
	explain_free(&ex);
	if (published) {
		route_set_put(rs);
		policy_plan_free(&plan);
	}
}

START_TEST(test_explain_matches_delivery)
{
	static const char *const sections[] = {
		"tr-bg/kapikule", "tr-gr/ipsala", "bg-gr/kulata",
	};
	const ProtobufCEnumDescriptor *cat = &ccc__v1__category__descriptor;
	/* gr-police has no inbox yet: named, it gets only its subscriptions */
	char *named[2][1] = { { (char *)(uintptr_t)"gr-customs" },
	    { (char *)(uintptr_t)"gr-police" } };
	size_t nep, delivered = 0, withheld = 0, refused = 0, alerts = 0;
	const struct endpoint *eps = registry_endpoints(demo, &nep);

	for (size_t o = 0; o < nep; o++) {
		if ((eps[o].roles & ROLE_PUBLISHER) == 0)
			continue;
		for (unsigned c = 0; c < cat->n_values; c++) {
			if (cat->values[c].value == 0)
				continue;
			for (size_t sct = 0; sct < 3; sct++)
				for (int v = 0; v < 5; v++) {
					Ccc__V1__Alert *a = alert_of(
					    cat->values[c].value, sections[sct],
					    CCC__V1__SEVERITY__SEVERITY_HIGH,
					    v == 1 || v == 3 ?
					    CCC__V1__HANDLING__HANDLING_H2 :
					    CCC__V1__HANDLING__HANDLING_H1,
					    v == 2 ? CCC__V1__TLP__TLP_RED : 0);

					a->origin = (char *)(uintptr_t)eps[o].id;
					a->summary = (char *)(uintptr_t)"route";
					if (v == 3) {	/* H2, one named recipient */
						a->recipients = named[o % 2];
						a->n_recipients = 1;
					}
					a->exercise = v == 4;
					check_alert(a, &delivered, &withheld,
					    &refused);
					free(a);
					alerts++;
				}
		}
	}
	/* the spread reached the cases it is for */
	ck_assert_uint_gt(delivered, 0);
	ck_assert_uint_gt(withheld, 0);
	ck_assert_uint_gt(refused, 0);
}
END_TEST

/* Sessions, subscription ids and durables of one alert, as handle.c reads them. */
START_TEST(test_recipients_grouped)
{
	struct route_set *rs = route_set_get();
	const struct route_session *tp = NULL;

	/* drugs on tr-bg: sess[1] matches through both of its patterns */
	route_recipients(NULL, "alerts/drugs/tr-bg/kapikule", NULL, rs);
	ck_assert_uint_eq(rs->nlive, 3);	/* sess 0, 1, 3 */
	for (size_t i = 0; i < rs->nlive; i++) {
		ck_assert(rs->live[i].sess != &sess[5]);	/* not ready */
		if (rs->live[i].sess == &sess[1])
			tp = &rs->live[i];
		if (rs->live[i].sess == &sess[3]) {
			ck_assert_uint_eq(rs->live[i].nids, 1);
			ck_assert_uint_eq(rs->live[i].ids[0], 2);
		}
	}
	ck_assert_ptr_nonnull(tp);
	ck_assert_uint_eq(tp->nids, 1);		/* once, not per pattern */
	ck_assert_uint_eq(tp->ids[0], 1);
	ck_assert_ptr_eq(tp->subs[0], subs[1]);
	/* the gr-customs durable (detached), no plan: no inboxes */
	ck_assert_uint_eq(rs->ndurables, 1);
	ck_assert_uint_eq(rs->durable_ids[0], 7);
	ck_assert_ptr_eq(rs->durables[0].d, &dur[0]);
	ck_assert_str_eq(rs->durables[0].endpoint, "gr-customs");
	ck_assert_uint_eq(rs->nblocked, 0);
	route_set_put(rs);
	/* a set given back is the next one given out, its buffers kept */
	ck_assert_ptr_eq(route_set_get(), rs);
	route_set_put(rs);
}
END_TEST

/*
 * The seam (route.h): the live part read at the publish is kept at the
 * commit only while the tree is unchanged; a subscription made in between
 * (with since: its replay stops before this alert) is found, one dropped
 * in between is not delivered to, and replays are read at the commit.
 */
START_TEST(test_commit_sees_the_tree_of_the_commit)
{
	const char *topic = "alerts/migrant_smuggling/bg-gr/kulata";
	struct route_set *rs = route_set_get();
	struct replay *fake = (struct replay *)(uintptr_t)&rs;	/* never read */
	struct subscription *late;
	bool seen = false;

	route_recipients(NULL, topic, NULL, rs);
	ck_assert_uint_eq(rs->nlive, 3);	/* sess 0, 2 and 9 */
	for (size_t i = 0; i < rs->nlive; i++)
		ck_assert_ptr_null(rs->live[i].replay);
	/* unchanged: kept, and a replay begun meanwhile is read */
	subs[0]->replay = fake;
	ck_assert(!route_at_commit(NULL, topic, NULL, rs));
	ck_assert_uint_eq(rs->nlive, 3);
	ck_assert_ptr_eq(rs->live[0].sess == &sess[0] ? rs->live[0].replay :
	    rs->live[1].sess == &sess[0] ? rs->live[1].replay :
	    rs->live[2].replay, fake);
	subs[0]->replay = NULL;

	/* a subscription (with since) made between publish and commit */
	route_recipients(NULL, topic, NULL, rs);
	late = sub_add(&sess[4], "alerts/migrant_smuggling/#", NULL);
	late->replay = fake;
	ck_assert(route_at_commit(NULL, topic, NULL, rs));
	ck_assert_uint_eq(rs->nlive, 4);
	for (size_t i = 0; i < rs->nlive; i++)
		if (rs->live[i].sess == &sess[4]) {
			seen = true;
			ck_assert_uint_eq(rs->live[i].nids, 1);
			ck_assert_uint_eq(rs->live[i].ids[0], late->id);
			ck_assert_ptr_eq(rs->live[i].replay, fake);	/* held */
		}
	ck_assert(seen);
	late->replay = NULL;
	ck_assert(!route_at_commit(NULL, topic, NULL, rs));	/* once */

	/* a session closed in between (its subscriptions dropped) */
	route_recipients(NULL, topic, NULL, rs);
	tree_remove(subs[2]);
	ck_assert(route_at_commit(NULL, topic, NULL, rs));
	ck_assert_uint_eq(rs->nlive, 3);
	for (size_t i = 0; i < rs->nlive; i++)
		ck_assert(rs->live[i].sess != &sess[2]);
	tree_add(subs[2]);
	route_set_put(rs);
}
END_TEST

/* A console feed of endpoint to the patterns, in the tree (as feed_open). */
static void
feed_init(struct feed *f, const char *endpoint, const char *p1,
    const char *p2)
{
	memset(f, 0, sizeof(*f));
	f->endpoint = endpoint;
	f->sub.feed = f;
	f->sub.patterns = calloc(2, sizeof(char *));
	ck_assert_ptr_nonnull(f->sub.patterns);
	f->sub.patterns[f->sub.npatterns++] = (char *)(uintptr_t)p1;
	if (p2 != NULL)
		f->sub.patterns[f->sub.npatterns++] = (char *)(uintptr_t)p2;
	tree_add(&f->sub);
}

/* As feed_end: out of the tree. */
static void
feed_fini(struct feed *f)
{
	tree_remove(&f->sub);
	free(f->sub.patterns);
}

/* How often the set's feed part names f. */
static size_t
feed_times(const struct route_set *rs, const struct feed *f)
{
	size_t n = 0;

	for (size_t i = 0; i < rs->nfeeds; i++)
		n += rs->feeds[i] == f;
	return n;
}

/*
 * Feeds: each once (one matching through both of its patterns), never in
 * the live part, and none that does not match.
 */
START_TEST(test_feeds_found_once)
{
	struct route_set *rs = route_set_get();
	struct feed a, b, c;

	feed_init(&a, "tr-police", "alerts/drugs/#", "alerts/+/tr-bg/#");
	feed_init(&b, "gr-police", "alerts/#", NULL);
	feed_init(&c, "bg-customs", "alerts/weapons/#", NULL);
	route_recipients(NULL, "alerts/drugs/tr-bg/kapikule", NULL, rs);
	ck_assert_uint_eq(rs->nfeeds, 2);
	ck_assert_uint_eq(feed_times(rs, &a), 1);
	ck_assert_uint_eq(feed_times(rs, &b), 1);
	ck_assert_uint_eq(feed_times(rs, &c), 0);
	ck_assert_uint_eq(rs->nlive, 3);	/* sess 0, 1, 3, as without feeds */
	for (size_t i = 0; i < rs->nlive; i++)
		ck_assert_ptr_nonnull(rs->live[i].sess);
	ck_assert_uint_eq(rs->ndurables, 1);
	ck_assert(!route_at_commit(NULL, "alerts/drugs/tr-bg/kapikule", NULL,
	    rs));
	ck_assert_uint_eq(rs->nfeeds, 2);
	route_set_put(rs);
	feed_fini(&a);
	feed_fini(&b);
	feed_fini(&c);
}
END_TEST

/* A restricted alert's plan: feeds outside its audience are withheld. */
START_TEST(test_feeds_filtered_by_plan)
{
	const char *topic = "alerts/drugs/tr-bg/kapikule";
	struct policy_target t = { .endpoint = "tr-police", .via = "recipient" };
	struct policy_plan plan = { .restricted = true, .no_forward = true,
	    .targets = &t, .ntargets = 1, .origin = "tr-customs" };
	struct route_set *rs = route_set_get();
	struct feed a, b, o;
	bool withheld = false;

	feed_init(&a, "tr-police", "alerts/#", NULL);
	feed_init(&b, "gr-police", "alerts/#", NULL);
	feed_init(&o, "tr-customs", "alerts/drugs/#", NULL);	/* its origin */
	route_recipients(NULL, topic, &plan, rs);
	ck_assert_uint_eq(rs->nfeeds, 2);
	ck_assert_uint_eq(feed_times(rs, &a), 1);
	ck_assert_uint_eq(feed_times(rs, &o), 1);
	ck_assert_uint_eq(feed_times(rs, &b), 0);
	for (size_t i = 0; i < rs->nwithheld; i++)
		withheld |= strcmp(rs->withheld[i], "gr-police") == 0;
	ck_assert(withheld);
	/* walked again at the commit: still filtered */
	feed_fini(&o);
	ck_assert(route_at_commit(NULL, topic, &plan, rs));
	ck_assert_uint_eq(rs->nfeeds, 1);
	ck_assert_ptr_eq(rs->feeds[0], &a);
	route_set_put(rs);
	feed_fini(&a);
	feed_fini(&b);
}
END_TEST

/*
 * The seam for feeds: a feed opened between the publish and the commit (its
 * catch-up stops before this alert) gets it live; one ended in between does
 * not; unchanged, the feeds of the publish are kept.
 */
START_TEST(test_feeds_renewed_at_commit)
{
	const char *topic = "alerts/weapons/tr-gr/ipsala";
	struct route_set *rs = route_set_get();
	struct feed a, late;

	feed_init(&a, "tr-police", "alerts/#", NULL);
	route_recipients(NULL, topic, NULL, rs);
	ck_assert_uint_eq(rs->nfeeds, 1);
	ck_assert(!route_at_commit(NULL, topic, NULL, rs));
	ck_assert_uint_eq(rs->nfeeds, 1);

	route_recipients(NULL, topic, NULL, rs);
	feed_init(&late, "tr-customs", "alerts/weapons/#", NULL);
	ck_assert(route_at_commit(NULL, topic, NULL, rs));
	ck_assert_uint_eq(rs->nfeeds, 2);
	ck_assert_uint_eq(feed_times(rs, &late), 1);

	route_recipients(NULL, topic, NULL, rs);
	feed_fini(&a);
	ck_assert(route_at_commit(NULL, topic, NULL, rs));
	ck_assert_uint_eq(rs->nfeeds, 1);
	ck_assert_ptr_eq(rs->feeds[0], &late);
	route_set_put(rs);
	feed_fini(&late);
}
END_TEST

Suite *
route_suite(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("recipients");

	tcase_add_checked_fixture(tc, population_setup, population_teardown);
	tcase_add_test(tc, test_explain_matches_delivery);
	tcase_add_test(tc, test_recipients_grouped);
	tcase_add_test(tc, test_commit_sees_the_tree_of_the_commit);
	tcase_add_test(tc, test_feeds_found_once);
	tcase_add_test(tc, test_feeds_filtered_by_plan);
	tcase_add_test(tc, test_feeds_renewed_at_commit);
	suite_add_tcase(s, tc);
	return s;
}
