/*
 * 13-admin.c — operators administering the live broker: the admin protocol
 * with its refusals (no operator role, stale revision, self-approval,
 * invalid rules), four-eyes approval, suspension closing live sessions,
 * routing rules into inboxes, the disclosure policy, rollback and history,
 * and explain checked against actual delivery.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* ---- admin request helpers ---------------------------------------------- */

static Ccc__V1__AdminReply *
admin_ok(ccc_client *c, const Ccc__V1__AdminRequest *q)
{
	Ccc__V1__AdminReply *r = NULL;
	struct ccc_error err = { 0 };

	if (ccc_admin(c, q, &r, &err) != 0)
		ck_abort_msg("admin request %d refused: %s: %s", (int)q->op_case,
		    ccc_error_name(err.code), err.message);
	return r;
}

/* Send q and expect the broker to refuse it with code; msg is in its text. */
static void
admin_refused(ccc_client *c, const Ccc__V1__AdminRequest *q, int code,
    const char *msg)
{
	Ccc__V1__AdminReply *r = NULL;
	struct ccc_error err = { 0 };

	ck_assert_msg(ccc_admin(c, q, &r, &err) != 0, "admin request %d was "
	    "not refused", (int)q->op_case);
	ck_assert_msg(err.code == code, "got %s (%s), expected %s",
	    ccc_error_name(err.code), err.message, ccc_error_name(code));
	if (msg != NULL)
		ck_assert_msg(strstr(err.message, msg) != NULL, "\"%s\" not in "
		    "\"%s\"", msg, err.message);
}

static uint64_t
current_revision(ccc_client *op)
{
	Ccc__V1__AdminRequest q = CCC__V1__ADMIN_REQUEST__INIT;
	Ccc__V1__AdminGet g = CCC__V1__ADMIN_GET__INIT;
	Ccc__V1__AdminReply *r;
	uint64_t rev;

	q.op_case = CCC__V1__ADMIN_REQUEST__OP_GET;
	q.get = &g;
	r = admin_ok(op, &q);
	rev = r->revision;
	ccc__v1__admin_reply__free_unpacked(r, NULL);
	return rev;
}

/*
 * One edit as a change based on base; returns the reply (caller frees) or
 * NULL after asserting the refusal code when code is not 0.
 */
static Ccc__V1__AdminReply *
edit(ccc_client *op, uint64_t base, Ccc__V1__RegistryEdit__Kind kind,
    const char *coll, const char *id, const char *item, bool dry_run,
    int code, const char *msg)
{
	Ccc__V1__AdminRequest q = CCC__V1__ADMIN_REQUEST__INIT;
	Ccc__V1__AdminChange ch = CCC__V1__ADMIN_CHANGE__INIT;
	Ccc__V1__RegistryEdit e = CCC__V1__REGISTRY_EDIT__INIT, *ep = &e;

	e.kind = kind;
	e.collection = (char *)(uintptr_t)coll;
	e.id = (char *)(uintptr_t)(id ? id : "");
	e.item = (char *)(uintptr_t)(item ? item : "");
	ch.base_revision = base;
	ch.edits = &ep;
	ch.n_edits = 1;
	ch.dry_run = dry_run;
	ch.comment = (char *)(uintptr_t)"integration test";
	q.op_case = CCC__V1__ADMIN_REQUEST__OP_CHANGE;
	q.change = &ch;
	if (code != 0) {
		admin_refused(op, &q, code, msg);
		return NULL;
	}
	return admin_ok(op, &q);
}

static Ccc__V1__AdminReply *
decide(ccc_client *op, uint64_t proposal, bool approve, int code,
    const char *msg)
{
	Ccc__V1__AdminRequest q = CCC__V1__ADMIN_REQUEST__INIT;
	Ccc__V1__AdminDecide d = CCC__V1__ADMIN_DECIDE__INIT;

	d.proposal = proposal;
	d.approve = approve;
	q.op_case = CCC__V1__ADMIN_REQUEST__OP_DECIDE;
	q.decide = &d;
	if (code != 0) {
		admin_refused(op, &q, code, msg);
		return NULL;
	}
	return admin_ok(op, &q);
}

#define PUT	CCC__V1__REGISTRY_EDIT__KIND__KIND_PUT
#define REMOVE	CCC__V1__REGISTRY_EDIT__KIND__KIND_REMOVE
#define SUSPEND	CCC__V1__REGISTRY_EDIT__KIND__KIND_SUSPEND
#define RESUME	CCC__V1__REGISTRY_EDIT__KIND__KIND_RESUME
#define E(x)	CCC__V1__ERROR_CODE__ERROR_CODE_##x

/* ---- tests -------------------------------------------------------------- */

START_TEST(non_operator_refused)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *tr = h_connect(b, "tr-police");
	ccc_client *op = h_connect(b, "ccc-operator");
	Ccc__V1__AdminRequest q = CCC__V1__ADMIN_REQUEST__INIT;
	Ccc__V1__AdminGet g = CCC__V1__ADMIN_GET__INIT;
	Ccc__V1__AdminReloadTls rt = CCC__V1__ADMIN_RELOAD_TLS__INIT;
	Ccc__V1__Alert *a;

	q.op_case = CCC__V1__ADMIN_REQUEST__OP_GET;
	q.get = &g;
	admin_refused(tr, &q, E(FORBIDDEN), "operator role");
	/* a change from a non-operator is refused the same way */
	edit(tr, 1, SUSPEND, "endpoints", "gr-police", NULL, false,
	    E(FORBIDDEN), "operator role");
	ck_assert(h_log_contains(b, "lacks the operator role"));
	q.op_case = CCC__V1__ADMIN_REQUEST__OP_RELOAD_TLS;
	q.reload_tls = &rt;
	admin_refused(tr, &q, E(FORBIDDEN), "operator role");
	/* the session goes on */
	a = h_alert("other", "tr-gr/ipsala", "low", "h0", "still here");
	ccc_envelope_free(h_publish_ok(tr, a));
	h_alert_free(a);
	/* status: connections per endpoint, among other things */
	{
		Ccc__V1__AdminStatus st = CCC__V1__ADMIN_STATUS__INIT;
		Ccc__V1__AdminReply *r;

		q.op_case = CCC__V1__ADMIN_REQUEST__OP_STATUS;
		q.status = &st;
		admin_refused(tr, &q, E(FORBIDDEN), "operator role");
		r = admin_ok(op, &q);
		ck_assert_ptr_nonnull(strstr(r->status_json,
		    "\"registry_revision\":1"));
		ck_assert_ptr_nonnull(strstr(r->status_json, "\"tr-police\""));
		ccc__v1__admin_reply__free_unpacked(r, NULL);
	}
	/* an operator may reload the TLS files */
	q.op_case = CCC__V1__ADMIN_REQUEST__OP_RELOAD_TLS;
	q.reload_tls = &rt;
	ccc__v1__admin_reply__free_unpacked(admin_ok(op, &q), NULL);
	ck_assert(h_log_wait(b, "TLS context reloaded", H_WAIT_MS));
	ccc_close(tr);
	ccc_close(op);
	h_broker_stop(b);
}
END_TEST

START_TEST(get_and_document_round_trip)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *op = h_connect(b, "ccc-operator");
	Ccc__V1__AdminRequest q = CCC__V1__ADMIN_REQUEST__INIT;
	Ccc__V1__AdminGet g = CCC__V1__ADMIN_GET__INIT;
	Ccc__V1__AdminChange ch = CCC__V1__ADMIN_CHANGE__INIT;
	Ccc__V1__AdminReply *r, *r2;

	q.op_case = CCC__V1__ADMIN_REQUEST__OP_GET;
	q.get = &g;
	r = admin_ok(op, &q);
	ck_assert_uint_eq(r->revision, 1);	/* seeded from the file */
	ck_assert_ptr_nonnull(strstr(r->document, "revision: 1\n"));
	ck_assert_ptr_nonnull(strstr(r->document, "ccc-operator-2"));
	ck_assert_ptr_nonnull(strstr(r->registry_json, "\"routes\""));
	/* applying the export unchanged is an empty change */
	ch.document = r->document;
	ch.document_name = (char *)(uintptr_t)"registry.yaml";
	q.op_case = CCC__V1__ADMIN_REQUEST__OP_CHANGE;
	q.change = &ch;
	r2 = admin_ok(op, &q);
	ck_assert_uint_eq(r2->n_changes, 0);
	ck_assert(!r2->applied);
	ck_assert_uint_eq(r2->proposal, 0);
	ck_assert_uint_eq(r2->revision, 1);
	ccc__v1__admin_reply__free_unpacked(r2, NULL);
	/* a document that does not load is refused with the loader's reason */
	ch.document = (char *)(uintptr_t)"revision: 1\nversion: 1\nsections: [\n";
	admin_refused(op, &q, E(INVALID_CHANGE), "registry.yaml:");
	/* a document without a revision, and no base given */
	ch.document = strstr(r->document, "version:");
	admin_refused(op, &q, E(INVALID_REQUEST), "name the revision");
	ccc__v1__admin_reply__free_unpacked(r, NULL);
	ccc_close(op);
	h_broker_stop(b);
}
END_TEST

START_TEST(suspend_closes_live_session_at_once)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *op = h_connect(b, "ccc-operator");
	ccc_client *gr = h_connect(b, "gr-police");
	Ccc__V1__AdminReply *r;
	Ccc__V1__Envelope *env;
	struct ccc_error err = { 0 };

	h_subscribe(gr, "alerts/#");
	r = edit(op, 1, SUSPEND, "endpoints", "gr-police", NULL, false, 0, NULL);
	ck_assert(r->applied);			/* narrowing: no approval */
	ck_assert_uint_eq(r->revision, 2);
	ck_assert_uint_eq(r->n_reasons, 0);
	ccc__v1__admin_reply__free_unpacked(r, NULL);
	env = h_recv(gr, H_WAIT_MS);
	h_expect_error(env, E(ENDPOINT_SUSPENDED), true, NULL);
	ccc_envelope_free(env);
	ccc_close(gr);
	ck_assert_int_ne(h_connect_err(b, h_pki("gr-police.pem"),
	    h_pki("gr-police.key"), &err), 0);
	ck_assert_int_eq(err.code, E(ENDPOINT_SUSPENDED));
	/* resuming widens: it waits for the second operator */
	r = edit(op, 2, RESUME, "endpoints", "gr-police", NULL, false, 0, NULL);
	ck_assert(!r->applied);
	ck_assert_uint_gt(r->proposal, 0);
	ck_assert_uint_ge(r->n_reasons, 1);
	ck_assert_ptr_nonnull(strstr(r->reasons[0], "suspended"));
	ccc__v1__admin_reply__free_unpacked(r, NULL);
	ck_assert_int_ne(h_connect_err(b, h_pki("gr-police.pem"),
	    h_pki("gr-police.key"), &err), 0);
	ccc_close(op);
	h_broker_stop(b);
}
END_TEST

START_TEST(four_eyes_new_endpoint)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *op1 = h_connect(b, "ccc-operator");
	ccc_client *op2 = h_connect(b, "ccc-operator-2");
	Ccc__V1__AdminRequest q = CCC__V1__ADMIN_REQUEST__INIT;
	Ccc__V1__AdminPending p = CCC__V1__ADMIN_PENDING__INIT;
	Ccc__V1__AdminHistory hi = CCC__V1__ADMIN_HISTORY__INIT;
	Ccc__V1__AdminReply *r;
	uint64_t prop;
	static const char item[] = "{\"id\": \"gr-customs-kipoi\", \"country\": "
	    "\"GR\", \"kind\": \"customs\", \"name\": \"Kipoi customs post\", "
	    "\"roles\": [\"subscriber\"]}";

	/* dry run: the diff, nothing stored */
	r = edit(op1, 1, PUT, "endpoints", NULL, item, true, 0, NULL);
	ck_assert_uint_eq(r->n_changes, 1);
	ck_assert_str_eq(r->changes[0], "+ endpoint gr-customs-kipoi");
	ck_assert(!r->applied && r->proposal == 0 && r->revision == 1);
	ccc__v1__admin_reply__free_unpacked(r, NULL);

	r = edit(op1, 1, PUT, "endpoints", NULL, item, false, 0, NULL);
	ck_assert(!r->applied);
	prop = r->proposal;
	ck_assert_uint_gt(prop, 0);
	ck_assert_uint_eq(r->revision, 1);	/* not in force yet */
	ccc__v1__admin_reply__free_unpacked(r, NULL);

	q.op_case = CCC__V1__ADMIN_REQUEST__OP_PENDING;
	q.pending = &p;
	r = admin_ok(op2, &q);
	ck_assert_uint_eq(r->n_proposals, 1);
	ck_assert_uint_eq(r->proposals[0]->id, prop);
	ck_assert_str_eq(r->proposals[0]->proposer, "ccc-operator");
	ck_assert_str_eq(r->proposals[0]->state, "pending");
	ccc__v1__admin_reply__free_unpacked(r, NULL);

	/* the proposer may not approve its own proposal */
	decide(op1, prop, true, E(FORBIDDEN), "may not approve its own");
	ck_assert_uint_eq(current_revision(op1), 1);
	/* unknown proposal */
	decide(op2, prop + 100, true, E(NOT_FOUND), NULL);

	r = decide(op2, prop, true, 0, NULL);
	ck_assert(r->applied);
	ck_assert_uint_eq(r->revision, 2);
	ccc__v1__admin_reply__free_unpacked(r, NULL);
	/* decided once only */
	decide(op2, prop, true, E(INVALID_REQUEST), "approved already");

	q.op_case = CCC__V1__ADMIN_REQUEST__OP_HISTORY;
	q.history = &hi;
	r = admin_ok(op1, &q);
	ck_assert_uint_eq(r->n_revisions, 2);
	ck_assert_uint_eq(r->revisions[0]->revision, 2);
	ck_assert_str_eq(r->revisions[0]->author, "ccc-operator");
	ck_assert_str_eq(r->revisions[0]->approved_by, "ccc-operator-2");
	ck_assert_str_eq(r->revisions[0]->changes[0],
	    "+ endpoint gr-customs-kipoi");
	ck_assert_str_eq(r->revisions[1]->author, "file");
	ccc__v1__admin_reply__free_unpacked(r, NULL);

	/* an earlier revision can be read back from the store; no later one */
	{
		Ccc__V1__AdminGet g = CCC__V1__ADMIN_GET__INIT;

		g.revision = 1;
		q.op_case = CCC__V1__ADMIN_REQUEST__OP_GET;
		q.get = &g;
		r = admin_ok(op1, &q);
		ck_assert_uint_eq(r->revision, 2);	/* the one in force */
		ck_assert_ptr_nonnull(strstr(r->document, "revision: 1\n"));
		ck_assert_ptr_null(strstr(r->document, "gr-customs-kipoi"));
		ck_assert_ptr_null(strstr(r->registry_json, "gr-customs-kipoi"));
		ccc__v1__admin_reply__free_unpacked(r, NULL);
		g.revision = 7;
		admin_refused(op1, &q, E(NOT_FOUND), "no revision 7");
	}
	/* a stale base is refused: nothing is overwritten */
	edit(op1, 1, SUSPEND, "endpoints", "gr-customs-kipoi", NULL, false,
	    E(STALE_REVISION), "revision 2 is current");
	ccc_close(op1);
	ccc_close(op2);
	h_broker_stop(b);
}
END_TEST

START_TEST(stale_proposal_and_reject)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *op1 = h_connect(b, "ccc-operator");
	ccc_client *op2 = h_connect(b, "ccc-operator-2");
	Ccc__V1__AdminReply *r;
	uint64_t p1, p2;
	static const char rule[] = "{\"id\": \"gr-customs-all\", \"action\": "
	    "\"subscribe\", \"endpoints\": [\"gr-customs\"], \"topics\": "
	    "[\"alerts/#\"]}";

	r = edit(op1, 1, PUT, "access_rules", NULL, rule, false, 0, NULL);
	p1 = r->proposal;
	ck_assert_uint_gt(p1, 0);
	ccc__v1__admin_reply__free_unpacked(r, NULL);
	r = edit(op1, 1, PUT, "access_rules", NULL, rule, false, 0, NULL);
	p2 = r->proposal;
	ccc__v1__admin_reply__free_unpacked(r, NULL);
	/* the proposer may withdraw (reject) its own proposal */
	r = decide(op1, p2, false, 0, NULL);
	ck_assert(!r->applied);
	ccc__v1__admin_reply__free_unpacked(r, NULL);
	decide(op2, p2, true, E(INVALID_REQUEST), "rejected already");
	/* a narrowing change lands in between */
	r = edit(op2, 1, REMOVE, "routes", "tr-bg-customs", NULL, false, 0,
	    NULL);
	ck_assert(r->applied);
	ccc__v1__admin_reply__free_unpacked(r, NULL);
	decide(op2, p1, true, E(STALE_REVISION), "propose the change again");
	decide(op2, p1, true, E(STALE_REVISION), "revision 2 is current");
	decide(op1, p1, false, E(INVALID_REQUEST), "stale already");
	ck_assert_uint_eq(current_revision(op1), 2);
	ccc_close(op1);
	ccc_close(op2);
	h_broker_stop(b);
}
END_TEST

/* The ids of the proposals `pending` lists, each checked to be pending. */
static size_t
pending_ids(ccc_client *op, uint64_t *ids, size_t max)
{
	Ccc__V1__AdminRequest q = CCC__V1__ADMIN_REQUEST__INIT;
	Ccc__V1__AdminPending p = CCC__V1__ADMIN_PENDING__INIT;
	Ccc__V1__AdminReply *r;
	size_t n;

	q.op_case = CCC__V1__ADMIN_REQUEST__OP_PENDING;
	q.pending = &p;
	r = admin_ok(op, &q);
	n = r->n_proposals;
	ck_assert_uint_le(n, max);
	for (size_t i = 0; i < n; i++) {
		ck_assert_str_eq(r->proposals[i]->state, "pending");
		ids[i] = r->proposals[i]->id;
	}
	ccc__v1__admin_reply__free_unpacked(r, NULL);
	return n;
}

/* A new revision, approved or narrowing, makes the pending proposals stale. */
START_TEST(overtaken_proposals_leave_pending)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *op1 = h_connect(b, "ccc-operator");
	ccc_client *op2 = h_connect(b, "ccc-operator-2");
	Ccc__V1__AdminReply *r;
	uint64_t p1, p2, p3, ids[4];
	static const char rule1[] = "{\"id\": \"gr-customs-all\", "
	    "\"action\": \"subscribe\", \"endpoints\": [\"gr-customs\"], "
	    "\"topics\": [\"alerts/#\"]}";
	static const char rule2[] = "{\"id\": \"bg-customs-all\", "
	    "\"action\": \"subscribe\", \"endpoints\": [\"bg-customs\"], "
	    "\"topics\": [\"alerts/#\"]}";

	r = edit(op1, 1, PUT, "access_rules", NULL, rule1, false, 0, NULL);
	p1 = r->proposal;
	ccc__v1__admin_reply__free_unpacked(r, NULL);
	r = edit(op1, 1, PUT, "access_rules", NULL, rule2, false, 0, NULL);
	p2 = r->proposal;
	ccc__v1__admin_reply__free_unpacked(r, NULL);
	ck_assert_uint_eq(pending_ids(op2, ids, 4), 2);
	ck_assert(ids[0] == p2 && ids[1] == p1);

	/* approving p1 makes revision 2: p2, made against 1, is stale */
	r = decide(op2, p1, true, 0, NULL);
	ck_assert(r->applied && r->revision == 2);
	ccc__v1__admin_reply__free_unpacked(r, NULL);
	ck_assert_uint_eq(pending_ids(op2, ids, 4), 0);
	decide(op2, p2, true, E(STALE_REVISION), "propose the change again");

	/* proposed again against revision 2; a narrowing change overtakes it */
	r = edit(op1, 2, PUT, "access_rules", NULL, rule2, false, 0, NULL);
	p3 = r->proposal;
	ccc__v1__admin_reply__free_unpacked(r, NULL);
	ck_assert_uint_eq(pending_ids(op2, ids, 4), 1);
	ck_assert_uint_eq(ids[0], p3);
	r = edit(op2, 2, REMOVE, "routes", "tr-bg-customs", NULL, false, 0,
	    NULL);
	ck_assert(r->applied && r->revision == 3);
	ccc__v1__admin_reply__free_unpacked(r, NULL);
	ck_assert_uint_eq(pending_ids(op1, ids, 4), 0);
	decide(op2, p3, true, E(STALE_REVISION), "revision 3 is current");
	ck_assert_uint_eq(current_revision(op1), 3);
	ccc_close(op1);
	ccc_close(op2);
	h_broker_stop(b);
}
END_TEST

START_TEST(invalid_changes_refused)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *op = h_connect(b, "ccc-operator");

	edit(op, 1, PUT, "access_rules", NULL, "{\"id\": \"x\", \"action\": "
	    "\"subscribe\", \"endpoints\": [\"nobody\"], \"topics\": "
	    "[\"alerts/#\"]}", false, E(INVALID_CHANGE), "unknown endpoint "
	    "'nobody'");
	edit(op, 1, PUT, "access_rules", NULL, "{\"id\": \"x\", \"action\": "
	    "\"subscribe\", \"endpoints\": [\"gr-police\"], \"topics\": "
	    "[\"alerts/#/drugs\"]}", false, E(INVALID_CHANGE), "alerts/#/drugs");
	edit(op, 1, PUT, "routes", NULL, "{\"id\": \"r\", \"categories\": "
	    "[\"drugs\"], \"sections\": [\"*\"], \"targets\": [\"ccc-operator\"]}",
	    false, E(INVALID_CHANGE), "subscriber role");
	edit(op, 1, PUT, "routes", NULL, "not json", false, E(INVALID_CHANGE),
	    "not a JSON object");
	edit(op, 1, REMOVE, "endpoints", "nobody", NULL, false,
	    E(INVALID_CHANGE), "no endpoints item");
	/* removing an endpoint that rules still name */
	edit(op, 1, REMOVE, "endpoints", "gr-police", NULL, false,
	    E(INVALID_CHANGE), "unknown endpoint 'gr-police'");
	edit(op, 1, SUSPEND, "routes", "tr-bg-customs", NULL, false,
	    E(INVALID_CHANGE), "only endpoints");
	edit(op, 1, PUT, "widgets", NULL, "{\"id\": \"w\"}", false,
	    E(INVALID_CHANGE), "unknown collection");
	edit(op, 0, SUSPEND, "endpoints", "gr-police", NULL, false,
	    E(INVALID_REQUEST), "name the revision");
	ck_assert_uint_eq(current_revision(op), 1);
	ccc_close(op);
	h_broker_stop(b);
}
END_TEST

/* The next delivery on c must be alert id. */
static void
expect_alert(ccc_client *c, const char *id)
{
	Ccc__V1__Envelope *got = h_recv_deliver(c);

	ck_assert_str_eq(got->deliver->alert->id, id);
	ccc_envelope_free(got);
}

START_TEST(route_added_reaches_inbox_live)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *op1 = h_connect(b, "ccc-operator");
	ccc_client *op2 = h_connect(b, "ccc-operator-2");
	ccc_client *grc = h_connect(b, "gr-customs");
	ccc_client *pub = h_connect(b, "bg-border-police");
	Ccc__V1__AdminReply *r;
	Ccc__V1__Alert *a = h_alert("drugs", "bg-gr/kulata", "high", "h1",
	    "Cannabis in a van");
	Ccc__V1__Envelope *ok;
	struct ccc_error err = { 0 };
	uint32_t inbox;

	ck_assert_int_eq(ccc_subscribe_inbox(grc, &inbox, NULL, &err), 0);
	ok = h_publish_ok(pub, a);
	ck_assert_uint_eq(ok->publish_ok->recipients, 0);
	ccc_envelope_free(ok);
	h_recv_none(grc, H_QUIET_MS);

	r = edit(op1, 1, PUT, "routes", NULL, "{\"id\": \"bg-gr-drugs\", "
	    "\"categories\": [\"drugs\"], \"sections\": [\"bg-gr/*\"], "
	    "\"min_severity\": \"high\", \"targets\": [\"gr-customs\"]}", false,
	    0, NULL);
	ck_assert_uint_gt(r->proposal, 0);
	ck_assert_ptr_nonnull(strstr(r->reasons[0], "new route bg-gr-drugs"));
	ccc__v1__admin_reply__free_unpacked(decide(op2, r->proposal, true, 0,
	    NULL), NULL);
	ccc__v1__admin_reply__free_unpacked(r, NULL);

	ok = h_publish_ok(pub, a);
	ck_assert_uint_eq(ok->publish_ok->recipients, 1);
	expect_alert(grc, ok->publish_ok->id);
	ccc_envelope_free(ok);
	/* below the rule's minimum severity: not routed */
	a->severity = CCC__V1__SEVERITY__SEVERITY_LOW;
	ok = h_publish_ok(pub, a);
	ck_assert_uint_eq(ok->publish_ok->recipients, 0);
	ccc_envelope_free(ok);
	h_recv_none(grc, H_QUIET_MS);
	h_alert_free(a);
	ccc_close(grc);
	ccc_close(pub);
	ccc_close(op1);
	ccc_close(op2);
	h_broker_stop(b);
}
END_TEST

START_TEST(route_conflicting_with_access_rules_is_blocked)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *op1 = h_connect(b, "ccc-operator");
	ccc_client *op2 = h_connect(b, "ccc-operator-2");
	ccc_client *grc = h_connect(b, "gr-customs");
	ccc_client *pub = h_connect(b, "gr-police");
	Ccc__V1__AdminReply *r;
	Ccc__V1__Alert *a = h_alert("human_trafficking", "bg-gr/kulata",
	    "critical", "h1", "Truck with people");
	Ccc__V1__Envelope *ok;
	struct ccc_error err = { 0 };
	uint32_t inbox;

	ck_assert_int_eq(ccc_subscribe_inbox(grc, &inbox, NULL, &err), 0);
	r = edit(op1, 1, PUT, "routes", NULL, "{\"id\": \"all-to-gr-customs\", "
	    "\"categories\": [\"*\"], \"sections\": [\"*\"], \"targets\": "
	    "[\"gr-customs\"]}", false, 0, NULL);
	ccc__v1__admin_reply__free_unpacked(decide(op2, r->proposal, true, 0,
	    NULL), NULL);
	ccc__v1__admin_reply__free_unpacked(r, NULL);
	ok = h_publish_ok(pub, a);	/* customs may not see trafficking */
	ck_assert_uint_eq(ok->publish_ok->recipients, 0);
	ccc_envelope_free(ok);
	h_recv_none(grc, H_QUIET_MS);
	ck_assert(h_log_wait(b, "all-to-gr-customs to gr-customs not "
	    "delivered", H_WAIT_MS));
	h_alert_free(a);
	ccc_close(grc);
	ccc_close(pub);
	ccc_close(op1);
	ccc_close(op2);
	h_broker_stop(b);
}
END_TEST

START_TEST(restricted_alerts_reach_only_their_audience)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *trs = h_connect(b, "tr-police");	/* its subscriber */
	ccc_client *tr = h_connect(b, "tr-police");	/* its publisher */
	ccc_client *gr = h_connect(b, "gr-police");
	ccc_client *bg = h_connect(b, "bg-border-police");
	Ccc__V1__Alert *a = h_alert("weapons", "tr-gr/ipsala", "critical", "h1",
	    "Informant: weapons in a lorry");
	Ccc__V1__Envelope *ok, *got, *no;
	char *id, want[300], sql[512], data[400];

	h_subscribe(trs, "alerts/#");
	h_subscribe(gr, "alerts/#");
	h_subscribe(bg, "alerts/#");
	a->tlp = CCC__V1__TLP__TLP_RED;
	/* nobody named: refused, reaches nobody */
	no = h_publish_refused(tr, a);
	h_expect_error(no, E(FORBIDDEN), false, "name its recipients");
	ccc_envelope_free(no);
	h_recv_none(gr, H_QUIET_MS);

	a->recipients = calloc(1, sizeof(char *));
	a->recipients[0] = strdup("gr-police");
	a->n_recipients = 1;
	ok = h_publish_ok(tr, a);
	id = strdup(ok->publish_ok->id);
	ccc_envelope_free(ok);
	got = h_recv_deliver(gr);			/* its subscription */
	ck_assert_str_eq(got->deliver->alert->id, id);
	ck_assert_uint_eq(got->deliver->alert->n_audience, 1);
	ck_assert_str_eq(got->deliver->alert->audience[0], "gr-police");
	ccc_envelope_free(got);
	expect_alert(trs, id);				/* the originator's own */
	h_recv_none(bg, H_QUIET_MS);			/* not in the audience */

	/* a recipient may not re-publish it, nor refer to it */
	h_alert_free(a);
	a = h_alert("weapons", "tr-gr/ipsala", "high", "h1", "Follow-up");
	a->references = calloc(1, sizeof(char *));
	a->references[0] = strdup(id);
	a->n_references = 1;
	no = h_publish_refused(gr, a);
	h_expect_error(no, E(FORBIDDEN), false, "may not be disseminated");
	/* the refusal does not say whose it is; the log and the journal do */
	snprintf(want, sizeof(want), "alert %s is restricted: it may not be "
	    "disseminated further without its originator's permission", id);
	ck_assert_str_eq(no->error->message, want);
	ccc_envelope_free(no);
	snprintf(want, sizeof(want), "alert %s of tr-police is restricted", id);
	ck_assert(h_log_contains(b, want));
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE event = "
	    "'publish_refused' AND endpoint = 'gr-police' AND detail = '%s'",
	    want);
	snprintf(data, sizeof(data), "%s/data", b->dir);
	ck_assert_int_eq(h_store_value(data, sql), 1);
	h_recv_none(bg, H_QUIET_MS);
	/* its originator may (and this one is not restricted) */
	ok = h_publish_ok(tr, a);
	expect_alert(bg, ok->publish_ok->id);
	ccc_envelope_free(ok);
	h_alert_free(a);

	/* AMBER+STRICT: delivered as usual, but not re-publishable */
	a = h_alert("weapons", "tr-gr/ipsala", "high", "h1", "Strict");
	a->tlp = CCC__V1__TLP__TLP_AMBER_STRICT;
	ok = h_publish_ok(tr, a);
	free(id);
	id = strdup(ok->publish_ok->id);
	ccc_envelope_free(ok);
	expect_alert(bg, id);
	h_alert_free(a);
	a = h_alert("weapons", "tr-bg/kapikule", "high", "h1", "Relay");
	a->references = calloc(1, sizeof(char *));
	a->references[0] = strdup(id);
	a->n_references = 1;
	no = h_publish_refused(bg, a);
	h_expect_error(no, E(FORBIDDEN), false, "restricted");
	ccc_envelope_free(no);
	h_alert_free(a);
	free(id);
	ccc_close(trs);
	ccc_close(tr);
	ccc_close(gr);
	ccc_close(bg);
	h_broker_stop(b);
}
END_TEST

START_TEST(rollback_restores_a_revision)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *op1 = h_connect(b, "ccc-operator");
	ccc_client *op2 = h_connect(b, "ccc-operator-2");
	Ccc__V1__AdminRequest q = CCC__V1__ADMIN_REQUEST__INIT;
	Ccc__V1__AdminRollback rb = CCC__V1__ADMIN_ROLLBACK__INIT;
	Ccc__V1__AdminReply *r;

	r = edit(op1, 1, REMOVE, "routes", "tr-bg-customs", NULL, false, 0,
	    NULL);
	ck_assert(r->applied);
	ccc__v1__admin_reply__free_unpacked(r, NULL);
	/* back to revision 1 re-adds the route: that widens */
	rb.revision = 1;
	rb.base_revision = 2;
	q.op_case = CCC__V1__ADMIN_REQUEST__OP_ROLLBACK;
	q.rollback = &rb;
	r = admin_ok(op1, &q);
	ck_assert_uint_eq(r->n_changes, 1);
	ck_assert_str_eq(r->changes[0], "+ route tr-bg-customs");
	ck_assert_uint_gt(r->proposal, 0);
	ccc__v1__admin_reply__free_unpacked(decide(op2, r->proposal, true, 0,
	    NULL), NULL);
	ccc__v1__admin_reply__free_unpacked(r, NULL);
	ck_assert_uint_eq(current_revision(op1), 3);
	rb.revision = 9;
	rb.base_revision = 3;
	admin_refused(op1, &q, E(NOT_FOUND), "no revision 9");
	rb.revision = 1;
	rb.base_revision = 2;
	admin_refused(op1, &q, E(STALE_REVISION), NULL);
	ccc_close(op1);
	ccc_close(op2);
	h_broker_stop(b);
}
END_TEST

START_TEST(revisions_survive_restart_and_file_changes)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *op = h_connect(b, "ccc-operator");
	Ccc__V1__AdminReply *r;

	r = edit(op, 1, SUSPEND, "endpoints", "gr-customs", NULL, false, 0,
	    NULL);
	ccc__v1__admin_reply__free_unpacked(r, NULL);
	ccc_close(op);
	h_broker_halt(b);
	h_broker_restart(b);
	op = h_connect(b, "ccc-operator");
	ck_assert_uint_eq(current_revision(op), 2);	/* not re-seeded */
	/* SIGHUP with an unchanged file does not undo the change */
	h_broker_reload(b);
	ck_assert(h_log_contains(b, "unchanged"));
	ck_assert_uint_eq(current_revision(op), 2);
	/*
	 * A changed file that predates the operator's change would undo it
	 * unseen: refused, the revision in force stays.
	 */
	h_registry_edit(b, "name: \"Hellenic Police (Ελληνική Αστυνομία)\"",
	    "name: \"Hellenic Police HQ\"");
	h_broker_reload(b);
	ck_assert(h_log_contains(b, "was made by an operator after the file"));
	ck_assert_uint_eq(current_revision(op), 2);
	/* the export of the revision in force, edited, is recorded */
	{
		Ccc__V1__AdminRequest q = CCC__V1__ADMIN_REQUEST__INIT;
		Ccc__V1__AdminGet g = CCC__V1__ADMIN_GET__INIT;

		q.op_case = CCC__V1__ADMIN_REQUEST__OP_GET;
		q.get = &g;
		r = admin_ok(op, &q);
		ck_assert_ptr_nonnull(strstr(r->document, "suspended: true"));
		h_registry_write(b, r->document);
		ccc__v1__admin_reply__free_unpacked(r, NULL);
	}
	h_registry_edit(b, "name: Hellenic Police (Ελληνική Αστυνομία)",
	    "name: Hellenic Police HQ");
	h_broker_reload(b);
	ck_assert_uint_eq(current_revision(op), 3);
	/* and from then on the file may change again */
	h_registry_edit(b, "name: Hellenic Police HQ", "name: Hellenic Police");
	h_broker_reload(b);
	ck_assert_uint_eq(current_revision(op), 4);
	ccc_close(op);
	h_broker_stop(b);
}
END_TEST

/* ---- explain against actual delivery ------------------------------------ */

struct sample {
	const char	*origin, *category, *section, *severity, *tlp;
	const char	*recipient;
};

START_TEST(explain_matches_delivery)
{
	static const struct sample samples[] = {
		{ "tr-police", "drugs", "tr-bg/kapikule", "high", NULL, NULL },
		{ "bg-customs", "customs", "tr-bg/hamzabeyli", "low", NULL, NULL },
		{ "gr-police", "human_trafficking", "tr-gr/evros", "critical",
		    NULL, NULL },
		{ "tr-customs", "weapons", "tr-gr/ipsala", "medium", "red",
		    "gr-customs" },
		{ "bg-border-police", "drugs", "bg-gr/kulata", "low", NULL,
		    "tr-police" },
	};
	static const char *const subs[] = { "tr-police", "tr-customs",
	    "bg-border-police", "bg-customs", "gr-police", "gr-customs" };
	enum { NSUBS = sizeof(subs) / sizeof(subs[0]) };
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *op = h_connect(b, "ccc-operator");
	ccc_client *c[NSUBS], *pubs[NSUBS];
	struct ccc_error err = { 0 };
	uint32_t sid;

	/* each endpoint: one session with its widest subscription, one inbox */
	for (size_t i = 0; i < NSUBS; i++) {
		c[i] = h_connect(b, subs[i]);
		h_subscribe(c[i], strstr(subs[i], "customs") ? "alerts/drugs/#" :
		    "alerts/#");
		pubs[i] = h_connect(b, subs[i]);
		ck_assert_int_eq(ccc_subscribe_inbox(pubs[i], &sid, NULL, &err),
		    0);
	}
	for (size_t k = 0; k < sizeof(samples) / sizeof(samples[0]); k++) {
		const struct sample *sm = &samples[k];
		Ccc__V1__Alert *a = h_alert(sm->category, sm->section,
		    sm->severity, "h1", "explain sample");
		Ccc__V1__AdminRequest q = CCC__V1__ADMIN_REQUEST__INIT;
		Ccc__V1__AdminExplain ex = CCC__V1__ADMIN_EXPLAIN__INIT;
		Ccc__V1__AdminReply *r;
		Ccc__V1__Envelope *ok;
		ccc_client *pub = NULL;
		size_t i;

		if (sm->tlp != NULL)
			a->tlp = CCC__V1__TLP__TLP_RED;
		if (sm->recipient != NULL) {
			a->recipients = calloc(1, sizeof(char *));
			a->recipients[0] = strdup(sm->recipient);
			a->n_recipients = 1;
		}
		h_set_str(&a->origin, sm->origin);
		ex.alert = a;
		q.op_case = CCC__V1__ADMIN_REQUEST__OP_EXPLAIN;
		q.explain = &ex;
		r = admin_ok(op, &q);
		for (i = 0; i < NSUBS; i++)
			if (strcmp(subs[i], sm->origin) == 0)
				pub = pubs[i];
		ck_assert_ptr_nonnull(pub);
		h_set_str(&a->origin, "");
		ok = h_publish_ok(pub, a);
		for (i = 0; i < NSUBS; i++) {
			Ccc__V1__ExplainEntry *e = NULL;
			Ccc__V1__Envelope *got;
			bool live = false, inbox = false;
			int rc;

			for (size_t j = 0; j < r->n_explain; j++)
				if (strcmp(r->explain[j]->endpoint, subs[i]) == 0)
					e = r->explain[j];
			ck_assert_ptr_nonnull(e);
			/* what actually arrived, on either connection */
			while ((rc = ccc_receive(c[i], H_QUIET_MS, &got,
			    &err)) == 1) {
				if (got->body_case ==
				    CCC__V1__ENVELOPE__BODY_DELIVER &&
				    strcmp(got->deliver->alert->id,
				    ok->publish_ok->id) == 0)
					live = true;
				ccc_envelope_free(got);
			}
			while ((rc = ccc_receive(pubs[i], 50, &got, &err)) == 1) {
				if (got->body_case ==
				    CCC__V1__ENVELOPE__BODY_DELIVER &&
				    strcmp(got->deliver->alert->id,
				    ok->publish_ok->id) == 0) {
					inbox = true;
					ck_assert_int_eq(ccc_send_ack(pubs[i],
					    &got->deliver->delivery_tag, 1,
					    &err), 0);
				}
				ccc_envelope_free(got);
			}
			ck_assert_msg(e->delivered == (live || inbox),
			    "sample %zu, %s: explain says %s (%s), delivery "
			    "says %s", k, subs[i], e->delivered ?
			    "delivered" : "not delivered", e->reason,
			    live || inbox ? "delivered" : "not delivered");
			if (inbox)
				ck_assert_msg(e->n_via > 0 && strstr(e->via[
				    e->n_via - 1], "inbox") != NULL,
				    "sample %zu, %s: inbox delivery not "
				    "explained", k, subs[i]);
		}
		ccc_envelope_free(ok);
		ccc__v1__admin_reply__free_unpacked(r, NULL);
		h_alert_free(a);
	}
	for (size_t i = 0; i < NSUBS; i++) {
		ccc_close(c[i]);
		ccc_close(pubs[i]);
	}
	ccc_close(op);
	h_broker_stop(b);
}
END_TEST

/*
 * Explain refuses an alert without an origin, with an unknown one, or one
 * that is invalid. Each refusal used to leak the reply's working array:
 * the sanitizer and valgrind builds see a leak as cccd's exit status.
 */
START_TEST(explain_refusals)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *op = h_connect(b, "ccc-operator");
	Ccc__V1__AdminRequest q = CCC__V1__ADMIN_REQUEST__INIT;
	Ccc__V1__AdminExplain ex = CCC__V1__ADMIN_EXPLAIN__INIT;
	Ccc__V1__Alert *a = h_alert("drugs", "tr-bg/kapikule", "high", "h1",
	    "explain refusals");

	q.op_case = CCC__V1__ADMIN_REQUEST__OP_EXPLAIN;
	q.explain = &ex;
	admin_refused(op, &q, E(INVALID_REQUEST), "origin");
	ex.alert = a;
	admin_refused(op, &q, E(INVALID_REQUEST), "origin");
	h_set_str(&a->origin, "nobody");
	admin_refused(op, &q, E(INVALID_REQUEST), "not a registered endpoint");
	h_set_str(&a->origin, "tr-police");
	h_set_str(&a->section, "xx-yy/nowhere");
	admin_refused(op, &q, E(INVALID_ALERT), "invalid alert");
	h_alert_free(a);
	ccc_close(op);
	h_broker_stop(b);
}
END_TEST

Suite *
admin_suite(void)
{
	Suite *s = suite_create("admin");
	TCase *tc = tcase_create("admin");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, non_operator_refused);
	tcase_add_test(tc, get_and_document_round_trip);
	tcase_add_test(tc, suspend_closes_live_session_at_once);
	tcase_add_test(tc, four_eyes_new_endpoint);
	tcase_add_test(tc, stale_proposal_and_reject);
	tcase_add_test(tc, overtaken_proposals_leave_pending);
	tcase_add_test(tc, invalid_changes_refused);
	tcase_add_test(tc, route_added_reaches_inbox_live);
	tcase_add_test(tc, route_conflicting_with_access_rules_is_blocked);
	tcase_add_test(tc, restricted_alerts_reach_only_their_audience);
	tcase_add_test(tc, rollback_restores_a_revision);
	tcase_add_test(tc, revisions_survive_restart_and_file_changes);
	tcase_add_test(tc, explain_matches_delivery);
	tcase_add_test(tc, explain_refusals);
	suite_add_tcase(s, tc);
	return s;
}
