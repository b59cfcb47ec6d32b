/*
 * gen_session.c — writes the seed corpus of fuzz_session: whole sessions
 * of valid frames (hello, publish, subscribe, ack, receipts, admin requests)
 * and a few broken ones, in the input format fuzz_session.c describes.
 *
 * Usage: gen_session ALERT OUTDIR, where ALERT is a valid encoded alert
 * for section tr-bg/kapikule (tests/fuzz/corpus/alert/full). `make
 * fuzz-seeds` runs it; the files it writes are committed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

/* fuzz_session's identities[] */
enum { TR_POLICE, GR_POLICE, BG_CUSTOMS, TR_CUSTOMS, OPERATOR, OPERATOR2,
    NOBODY };

struct seed {
	uint8_t		 buf[32768];
	size_t		 len;
	uint64_t	 rid;
};

static Ccc__V1__Alert *alert;	/* the full alert, with its id */
static const char *explain_origin = "tr-police";

static void
put(struct seed *s, const void *p, size_t n)
{
	if (s->len + n > sizeof(s->buf)) {
		fprintf(stderr, "gen_session: seed too large\n");
		exit(1);
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

static void
begin(struct seed *s, unsigned flags, unsigned id0, unsigned id1,
    unsigned id2, unsigned chunks)
{
	uint8_t h[6] = { flags, id0, id1, id2, chunks >> 8, chunks & 0xff };

	s->len = 0;
	s->rid = 0;
	put(s, h, sizeof(h));
}

/* One record: bytes for session sess; gone: its peer goes afterwards. */
static void
raw(struct seed *s, unsigned sess, int gone, const void *p, size_t n)
{
	uint8_t h[3] = { sess | (gone ? 0x80 : 0), n >> 8, n & 0xff };

	put(s, h, sizeof(h));
	put(s, p, n);
}

static void
env(struct seed *s, unsigned sess, Ccc__V1__Envelope *e)
{
	uint8_t buf[16384];
	size_t n;

	e->request_id = ++s->rid;
	if (frame_size(e) > sizeof(buf)) {
		fprintf(stderr, "gen_session: frame too large\n");
		exit(1);
	}
	n = frame_encode(e, buf);
	raw(s, sess, 0, buf, n);
}

static void
hello(struct seed *s, unsigned sess, int receipts)
{
	Ccc__V1__Envelope e = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Hello h = CCC__V1__HELLO__INIT;

	h.protocol_version = 1;
	h.client_name = (char *)(uintptr_t)"gen-session";
	h.receipts = receipts;
	e.body_case = CCC__V1__ENVELOPE__BODY_HELLO;
	e.hello = &h;
	env(s, sess, &e);
}

static void
publish(struct seed *s, unsigned sess, Ccc__V1__Category cat, int with_id)
{
	Ccc__V1__Envelope e = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Publish p = CCC__V1__PUBLISH__INIT;
	Ccc__V1__Category old = alert->category;
	char *id = alert->id;

	alert->category = cat;
	if (!with_id)
		alert->id = (char *)(uintptr_t)"";
	p.alert = alert;
	e.body_case = CCC__V1__ENVELOPE__BODY_PUBLISH;
	e.publish = &p;
	env(s, sess, &e);
	alert->category = old;
	alert->id = id;
}

static void
subscribe(struct seed *s, unsigned sess, const char *pattern,
    const char *durable, int64_t since)
{
	Ccc__V1__Envelope e = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Subscribe sub = CCC__V1__SUBSCRIBE__INIT;
	char *pats[1] = { (char *)(uintptr_t)pattern };

	sub.patterns = pats;
	sub.n_patterns = pattern != NULL;
	sub.durable_name = (char *)(uintptr_t)(durable != NULL ? durable : "");
	sub.since = since;
	e.body_case = CCC__V1__ENVELOPE__BODY_SUBSCRIBE;
	e.subscribe = &sub;
	env(s, sess, &e);
}

static void
unsubscribe(struct seed *s, unsigned sess, uint32_t id, int forget)
{
	Ccc__V1__Envelope e = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Unsubscribe u = CCC__V1__UNSUBSCRIBE__INIT;

	u.subscription_id = id;
	u.forget = forget;
	e.body_case = CCC__V1__ENVELOPE__BODY_UNSUBSCRIBE;
	e.unsubscribe = &u;
	env(s, sess, &e);
}

static void
ack(struct seed *s, unsigned sess, uint64_t first, size_t n)
{
	Ccc__V1__Envelope e = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Ack a = CCC__V1__ACK__INIT;
	uint64_t tags[8];

	for (size_t i = 0; i < n && i < 8; i++)
		tags[i] = first + i;
	a.delivery_tags = tags;
	a.n_delivery_tags = n;
	e.body_case = CCC__V1__ENVELOPE__BODY_ACK;
	e.ack = &a;
	env(s, sess, &e);
}

static void
simple(struct seed *s, unsigned sess, Ccc__V1__Envelope__BodyCase body)
{
	Ccc__V1__Envelope e = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Ping ping = CCC__V1__PING__INIT;
	Ccc__V1__Pong pong = CCC__V1__PONG__INIT;
	Ccc__V1__Receipts r = CCC__V1__RECEIPTS__INIT;

	e.body_case = body;
	if (body == CCC__V1__ENVELOPE__BODY_PING)
		e.ping = &ping;
	else if (body == CCC__V1__ENVELOPE__BODY_PONG)
		e.pong = &pong;
	else {
		r.alert_id = alert->id;
		e.receipts = &r;
	}
	env(s, sess, &e);
}

/* An admin request; fill sets its op. */
static void
admin(struct seed *s, unsigned sess, Ccc__V1__AdminRequest *q)
{
	Ccc__V1__Envelope e = CCC__V1__ENVELOPE__INIT;

	e.body_case = CCC__V1__ENVELOPE__BODY_ADMIN;
	e.admin = q;
	env(s, sess, &e);
}

static void
admin_get(struct seed *s, unsigned sess, uint64_t rev)
{
	Ccc__V1__AdminRequest q = CCC__V1__ADMIN_REQUEST__INIT;
	Ccc__V1__AdminGet g = CCC__V1__ADMIN_GET__INIT;

	g.revision = rev;
	q.op_case = CCC__V1__ADMIN_REQUEST__OP_GET;
	q.get = &g;
	admin(s, sess, &q);
}

static void
admin_plain(struct seed *s, unsigned sess, Ccc__V1__AdminRequest__OpCase op)
{
	Ccc__V1__AdminRequest q = CCC__V1__ADMIN_REQUEST__INIT;
	Ccc__V1__AdminHistory h = CCC__V1__ADMIN_HISTORY__INIT;
	Ccc__V1__AdminPending p = CCC__V1__ADMIN_PENDING__INIT;
	Ccc__V1__AdminStatus st = CCC__V1__ADMIN_STATUS__INIT;
	Ccc__V1__AdminReloadTls rt = CCC__V1__ADMIN_RELOAD_TLS__INIT;
	Ccc__V1__AdminExplain ex = CCC__V1__ADMIN_EXPLAIN__INIT;

	q.op_case = op;
	switch (op) {
	case CCC__V1__ADMIN_REQUEST__OP_HISTORY:
		q.history = &h;
		break;
	case CCC__V1__ADMIN_REQUEST__OP_PENDING:
		q.pending = &p;
		break;
	case CCC__V1__ADMIN_REQUEST__OP_STATUS:
		q.status = &st;
		break;
	case CCC__V1__ADMIN_REQUEST__OP_RELOAD_TLS:
		q.reload_tls = &rt;
		break;
	case CCC__V1__ADMIN_REQUEST__OP_EXPLAIN:
		ex.alert = alert;
		q.explain = &ex;
		alert->origin = (char *)(uintptr_t)explain_origin;
		break;
	default:
		abort();
	}
	admin(s, sess, &q);
	alert->origin = (char *)(uintptr_t)"";
}

/* A change of one edit, or of a whole document when doc is not NULL. */
static void
admin_change(struct seed *s, unsigned sess, uint64_t base,
    Ccc__V1__RegistryEdit__Kind kind, const char *coll, const char *id,
    const char *item, const char *doc, int dry_run)
{
	Ccc__V1__AdminRequest q = CCC__V1__ADMIN_REQUEST__INIT;
	Ccc__V1__AdminChange c = CCC__V1__ADMIN_CHANGE__INIT;
	Ccc__V1__RegistryEdit ed = CCC__V1__REGISTRY_EDIT__INIT;
	Ccc__V1__RegistryEdit *eds[1] = { &ed };

	c.base_revision = base;
	c.dry_run = dry_run;
	c.comment = (char *)(uintptr_t)"gen-session";
	if (doc != NULL) {
		c.document = (char *)(uintptr_t)doc;
		c.document_name = (char *)(uintptr_t)"doc.yaml";
	} else {
		ed.kind = kind;
		ed.collection = (char *)(uintptr_t)coll;
		ed.id = (char *)(uintptr_t)(id != NULL ? id : "");
		ed.item = (char *)(uintptr_t)(item != NULL ? item : "");
		c.edits = eds;
		c.n_edits = 1;
	}
	q.op_case = CCC__V1__ADMIN_REQUEST__OP_CHANGE;
	q.change = &c;
	admin(s, sess, &q);
}

static void
admin_rollback(struct seed *s, unsigned sess, uint64_t rev, uint64_t base,
    int dry_run)
{
	Ccc__V1__AdminRequest q = CCC__V1__ADMIN_REQUEST__INIT;
	Ccc__V1__AdminRollback r = CCC__V1__ADMIN_ROLLBACK__INIT;

	r.revision = rev;
	r.base_revision = base;
	r.dry_run = dry_run;
	r.comment = (char *)(uintptr_t)"";
	q.op_case = CCC__V1__ADMIN_REQUEST__OP_ROLLBACK;
	q.rollback = &r;
	admin(s, sess, &q);
}

static void
admin_decide(struct seed *s, unsigned sess, uint64_t proposal, int approve)
{
	Ccc__V1__AdminRequest q = CCC__V1__ADMIN_REQUEST__INIT;
	Ccc__V1__AdminDecide d = CCC__V1__ADMIN_DECIDE__INIT;

	d.proposal = proposal;
	d.approve = approve;
	d.comment = (char *)(uintptr_t)"";
	q.op_case = CCC__V1__ADMIN_REQUEST__OP_DECIDE;
	q.decide = &d;
	admin(s, sess, &q);
}

static void
save(const struct seed *s, const char *dir, const char *name)
{
	char path[1024];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "wb")) == NULL ||
	    fwrite(s->buf, 1, s->len, fp) != s->len || fclose(fp) != 0) {
		fprintf(stderr, "gen_session: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	static uint8_t buf[65536];
	FILE *fp = fopen(path, "rb");

	if (fp == NULL) {
		fprintf(stderr, "gen_session: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	*len = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	return buf;
}

#define DRUGS	CCC__V1__CATEGORY__CATEGORY_DRUGS
#define CUSTOMS	CCC__V1__CATEGORY__CATEGORY_CUSTOMS
#define KIND(k)	CCC__V1__REGISTRY_EDIT__KIND__KIND_##k
#define OP(o)	CCC__V1__ADMIN_REQUEST__OP_##o
#define BODY(b)	CCC__V1__ENVELOPE__BODY_##b

static const char small_registry[] =
    "version: 1\n"
    "sections:\n"
    "  - id: tr-bg/kapikule\n"
    "    name: Kapikule\n"
    "endpoints:\n"
    "  - id: tr-police\n"
    "    name: Turkish National Police\n"
    "    country: TR\n"
    "    kind: police\n"
    "    roles: [publisher, subscriber]\n"
    "  - id: ccc-operator\n"
    "    name: CCC operator\n"
    "    kind: operator\n"
    "    roles: [operator]\n"
    "access_rules:\n"
    "  - id: tr-publish\n"
    "    action: publish\n"
    "    endpoints: [tr-police]\n"
    "    categories: [\"*\"]\n"
    "    sections: [\"tr-bg/*\"]\n"
    "routes: []\n";

int
main(int argc, char **argv)
{
	static const uint8_t too_large[] = { 0xff, 0xff, 0xff, 0xff, 0x08 };
	static const uint8_t malformed[] = { 0, 0, 0, 3, 0xff, 0xff, 0xff };
	struct seed s;
	const uint8_t *p;
	const char *dir;
	size_t n;
	unsigned n16;

	if (argc != 3) {
		fprintf(stderr, "usage: gen_session ALERT OUTDIR\n");
		return 2;
	}
	dir = argv[2];
	p = slurp(argv[1], &n);
	if ((alert = ccc__v1__alert__unpack(NULL, n, p)) == NULL) {
		fprintf(stderr, "gen_session: %s is not an alert\n", argv[1]);
		return 1;
	}
	alert->expires_at = 0;	/* the seed's has passed */

	begin(&s, 0, TR_POLICE, 0, 0, 0);
	hello(&s, 0, 0);
	simple(&s, 0, BODY(PING));
	simple(&s, 0, BODY(PONG));
	save(&s, dir, "hello-ping");

	begin(&s, 0, TR_POLICE, 0, 0, 1);
	hello(&s, 0, 1);
	publish(&s, 0, alert->category, 1);
	publish(&s, 0, alert->category, 1);	/* duplicate */
	publish(&s, 0, DRUGS, 1);		/* same id, other content */
	publish(&s, 0, DRUGS, 0);
	simple(&s, 0, BODY(RECEIPTS));
	save(&s, dir, "publish");

	/* a plain subscriber, a durable one and the customs inbox */
	begin(&s, 2, GR_POLICE, TR_POLICE, BG_CUSTOMS, 2);
	hello(&s, 0, 0);
	subscribe(&s, 0, "alerts/#", NULL, 0);
	hello(&s, 2, 0);
	subscribe(&s, 2, NULL, "inbox", 0);
	subscribe(&s, 2, "alerts/drugs/#", "night", 0);
	hello(&s, 1, 1);
	publish(&s, 1, DRUGS, 0);
	publish(&s, 1, CUSTOMS, 0);
	ack(&s, 2, 1, 3);
	unsubscribe(&s, 0, 1, 0);
	unsubscribe(&s, 2, 2, 1);
	simple(&s, 1, BODY(RECEIPTS));
	save(&s, dir, "deliver");

	/* history replay joined to live delivery; a durable resumed */
	begin(&s, 1, TR_POLICE, GR_POLICE, 0, 3);
	hello(&s, 0, 0);
	publish(&s, 0, DRUGS, 0);
	hello(&s, 1, 0);
	subscribe(&s, 1, "alerts/+/tr-bg/#", NULL, 1);
	subscribe(&s, 1, "alerts/drugs/#", "d1", 1);
	publish(&s, 0, DRUGS, 1);
	unsubscribe(&s, 1, 2, 0);
	subscribe(&s, 1, "alerts/drugs/#", "d1", 0);
	ack(&s, 1, 1, 2);
	save(&s, dir, "history-durable");

	begin(&s, 0, OPERATOR, 0, 0, 4);
	hello(&s, 0, 0);
	admin_get(&s, 0, 0);
	admin_get(&s, 0, 1);
	admin_get(&s, 0, 7);
	admin_plain(&s, 0, OP(HISTORY));
	admin_plain(&s, 0, OP(PENDING));
	admin_plain(&s, 0, OP(STATUS));
	admin_plain(&s, 0, OP(EXPLAIN));
	explain_origin = "";	/* refused */
	admin_plain(&s, 0, OP(EXPLAIN));
	explain_origin = "tr-police";
	admin_rollback(&s, 0, 1, 1, 1);
	save(&s, dir, "admin-read");

	/* narrowing is applied; widening waits for the second operator */
	begin(&s, 2, OPERATOR, OPERATOR2, GR_POLICE, 5);
	hello(&s, 2, 0);
	subscribe(&s, 2, "alerts/#", NULL, 0);
	hello(&s, 0, 0);
	hello(&s, 1, 0);
	admin_change(&s, 0, 1, KIND(SUSPEND), "endpoints", "gr-police", NULL,
	    NULL, 0);
	admin_change(&s, 0, 2, KIND(RESUME), "endpoints", "gr-police", NULL,
	    NULL, 0);
	admin_plain(&s, 1, OP(PENDING));
	admin_decide(&s, 0, 1, 1);	/* no self-approval */
	admin_decide(&s, 1, 1, 1);
	admin_rollback(&s, 1, 1, 3, 0);
	admin_plain(&s, 0, OP(HISTORY));
	save(&s, dir, "admin-change");

	begin(&s, 1, OPERATOR, OPERATOR2, 0, 6);
	hello(&s, 0, 0);
	admin_change(&s, 0, 1, KIND(PUT), "routes", NULL,
	    "{\"id\":\"tr-gr-drugs\",\"categories\":[\"drugs\"],"
	    "\"sections\":[\"tr-gr/*\"],\"targets\":[\"gr-customs\"]}",
	    NULL, 1);
	admin_change(&s, 0, 1, KIND(PUT), "access_rules", NULL,
	    "{\"id\":\"gr-wide\",\"action\":\"subscribe\","
	    "\"endpoints\":[\"gr-customs\"],\"topics\":[\"alerts/#\"]}",
	    NULL, 0);
	admin_change(&s, 0, 1, KIND(REMOVE), "routes", "tr-bg-customs", NULL,
	    NULL, 0);
	hello(&s, 1, 0);
	admin_decide(&s, 1, 1, 0);
	admin_change(&s, 1, 2, 0, NULL, NULL, NULL, small_registry, 1);
	admin_change(&s, 1, 1, 0, NULL, NULL, NULL, small_registry, 0);
	save(&s, dir, "admin-edits");

	begin(&s, 1, OPERATOR, TR_POLICE, 0, 7);
	hello(&s, 0, 0);
	hello(&s, 1, 0);
	admin_plain(&s, 1, OP(STATUS));		/* no operator role */
	admin_plain(&s, 0, OP(RELOAD_TLS));
	admin_plain(&s, 0, OP(STATUS));
	save(&s, dir, "admin-refused-reload");

	/* an operator that never reads: its registry documents pile up */
	begin(&s, 0x80, OPERATOR, 0, 0, 13);
	hello(&s, 0, 0);
	for (int i = 0; i < 16; i++)
		admin_get(&s, 0, 0);
	save(&s, dir, "slow-consumer");

	begin(&s, 0, TR_POLICE, 0, 0, 8);
	hello(&s, 0, 0);
	raw(&s, 0, 0, too_large, sizeof(too_large));
	save(&s, dir, "too-large");

	begin(&s, 0, GR_POLICE, 0, 0, 9);
	hello(&s, 0, 0);
	raw(&s, 0, 0, malformed, sizeof(malformed));
	save(&s, dir, "malformed");

	begin(&s, 0, TR_POLICE, 0, 0, 10);
	publish(&s, 0, DRUGS, 0);		/* before hello */
	save(&s, dir, "no-hello");

	begin(&s, 0, NOBODY, 0, 0, 11);
	hello(&s, 0, 0);
	save(&s, dir, "unknown-endpoint");

	/* the peer goes in the middle of a frame */
	begin(&s, 1, TR_POLICE, GR_POLICE, 0, 12);
	hello(&s, 1, 0);
	subscribe(&s, 1, "alerts/#", NULL, 0);
	hello(&s, 0, 0);
	publish(&s, 0, DRUGS, 0);
	n = s.len;
	publish(&s, 0, CUSTOMS, 0);
	/* gone after this record, of which the last 10 bytes never come */
	s.buf[n] |= 0x80;
	n16 = (s.buf[n + 1] << 8 | s.buf[n + 2]) - 10;
	s.buf[n + 1] = n16 >> 8;
	s.buf[n + 2] = n16 & 0xff;
	s.len -= 10;
	save(&s, dir, "gone-mid-frame");

	ccc__v1__alert__free_unpacked(alert, NULL);
	return 0;
}
