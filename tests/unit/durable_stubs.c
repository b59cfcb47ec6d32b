/*
 * durable_stubs.c — server.c, session.c, store.c and audit.c as durable.c
 * sees them (durable_stubs.h).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "audit.h"
#include "config.h"
#include "durable_stubs.h"
#include "metrics.h"
#include "server.h"
#include "session.h"
#include "store.h"
#include "topic.h"
#include "xmalloc.h"

struct stub_op	stub_ops[STUB_MAX_OPS];
size_t		stub_nops;
uint64_t	stub_sent_tags[1024];
uint32_t	stub_sent_redelivered[1024];
size_t		stub_nsent;
int		stub_last_error;
size_t		stub_replies;
unsigned	stub_holds;

static struct config stub_cfg;
static struct metrics_counters stub_counters;
static struct registry *stub_reg;
static struct topic_tree *stub_tree;
static struct event_base *stub_base;
static uint64_t stub_serial;

void
stub_server_init(struct registry *reg, uint32_t window, uint32_t ack_timeout)
{
	memset(&stub_cfg, 0, sizeof(stub_cfg));
	stub_cfg.durable_window = window;
	stub_cfg.ack_timeout = ack_timeout;
	stub_cfg.max_deliveries = 10;
	stub_cfg.max_durables = 32;
	stub_cfg.max_output_buffer = 8u << 20;
	memset(&stub_counters, 0, sizeof(stub_counters));
	stub_reg = reg;
	stub_tree = topic_tree_new();
	stub_base = event_base_new();
	stub_nops = stub_nsent = stub_replies = 0;
	stub_last_error = 0;
	stub_holds = 0;
}

void
stub_server_free(void)
{
	topic_tree_free(stub_tree);
	event_base_free(stub_base);
}

void
stub_output_buffer(size_t bytes)
{
	stub_cfg.max_output_buffer = bytes;
}

struct server *
stub_server(void)
{
	return (struct server *)&stub_cfg;	/* any non-NULL handle */
}

struct event_base *
server_base(const struct server *srv)
{
	(void)srv;
	return stub_base;
}

const struct config *
server_config(const struct server *srv)
{
	(void)srv;
	return &stub_cfg;
}

struct registry *
server_registry(const struct server *srv)
{
	(void)srv;
	return stub_reg;
}

struct topic_tree *
server_topics(const struct server *srv)
{
	(void)srv;
	return stub_tree;
}

struct metrics_counters *
server_counters(struct server *srv)
{
	(void)srv;
	return &stub_counters;
}

void
server_each_session_of(struct server *srv, const char *endpoint,
    void (*fn)(struct session *, void *), void *arg)
{
	(void)srv;
	(void)endpoint;
	(void)fn;
	(void)arg;
}

struct session *
stub_session(const char *endpoint)
{
	struct session *s = xcalloc(1, sizeof(*s));

	s->srv = stub_server();
	s->serial = ++stub_serial;
	s->state = SESS_READY;
	snprintf(s->endpoint, sizeof(s->endpoint), "%s", endpoint);
	return s;
}

void
stub_session_free(struct session *s)
{
	free(s->subs);
	free(s);
}

void
sess_sub_attach(struct session *s, struct subscription *sub)
{
	s->subs = xreallocarray(s->subs, s->nsubs + 1, sizeof(*s->subs));
	s->subs[s->nsubs++] = sub;
	sub->sess = s;
	sub->id = (uint32_t)s->nsubs;
}

void
sess_sub_detach(struct session *s, struct subscription *sub)
{
	for (size_t i = 0; i < s->nsubs; i++)
		if (s->subs[i] == sub) {
			s->subs[i] = s->subs[--s->nsubs];
			break;
		}
	sub->sess = NULL;
}

int
sess_send(struct session *s, const Ccc__V1__Envelope *env)
{
	(void)s;
	(void)env;
	stub_replies++;
	return 0;
}

int
sess_send_deliver(struct session *s, const Ccc__V1__Deliver *d,
    const uint8_t *alert, size_t len)
{
	(void)s;
	(void)alert;
	(void)len;
	if (stub_nsent == sizeof(stub_sent_tags) / sizeof(stub_sent_tags[0]))
		return -1;
	stub_sent_redelivered[stub_nsent] = d->redelivered;
	stub_sent_tags[stub_nsent++] = d->delivery_tag;
	return 0;
}

void
sess_error(struct session *s, uint64_t request_id, Ccc__V1__ErrorCode code,
    bool fatal, const char *fmt, ...)
{
	(void)s;
	(void)request_id;
	(void)fatal;
	(void)fmt;
	stub_last_error = (int)code;
}

void
sess_hold(struct session *s)
{
	(void)s;
	stub_holds++;
}

void
sess_release(struct session *s)
{
	(void)s;
	stub_holds--;
}

struct audit_rec
audit_of(const struct session *s, const char *event, const char *alert,
    const char *detail)
{
	struct audit_rec r = { .event = event, .alert = alert,
	    .detail = detail };

	r.endpoint = s != NULL ? s->endpoint : "file";
	return r;
}

void
audit_durable_sent(struct session *s, const char *dname,
    const struct store_row *rows, size_t n)
{
	(void)s;
	(void)dname;
	(void)rows;
	(void)n;
}

static struct stub_op *
stub_queue(int kind, uint64_t dsub_id, store_cb *cb, void *arg)
{
	struct stub_op *op;

	if (stub_nops == STUB_MAX_OPS)
		abort();
	op = &stub_ops[stub_nops++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->dsub_id = dsub_id;
	op->cb = cb;
	op->arg = arg;
	return op;
}

int
store_load_dsubs(struct store *st, struct store_dsub **out, size_t *n,
    char *err, size_t errlen)
{
	(void)st;
	(void)err;
	(void)errlen;
	*out = NULL;
	*n = 0;
	return 0;
}

void
store_free_dsubs(struct store_dsub *v, size_t n)
{
	(void)n;
	free(v);
}

void
store_subscribe(struct store *st, const char *endpoint, const char *name,
    char *const *patterns, size_t npatterns, store_cb *cb, void *arg)
{
	(void)st;
	(void)endpoint;
	(void)name;
	(void)patterns;
	(void)npatterns;
	stub_queue(STUB_SUBSCRIBE, 0, cb, arg);
}

void
store_forget(struct store *st, uint64_t dsub_id, store_cb *cb, void *arg)
{
	(void)st;
	stub_queue(STUB_FORGET, dsub_id, cb, arg);
}

void
store_fetch(struct store *st, uint64_t dsub_id, const uint64_t *exclude,
    size_t nexclude, size_t limit, size_t max_bytes, uint32_t max_attempts,
    const uint64_t start[STORE_SEVERITIES], uint64_t reserve, store_cb *cb,
    void *arg)
{
	struct stub_op *op = stub_queue(STUB_FETCH, dsub_id, cb, arg);

	(void)st;
	(void)max_attempts;
	op->reserve = reserve;
	op->max_bytes = max_bytes;
	if (nexclude > sizeof(op->exclude) / sizeof(op->exclude[0]))
		abort();
	if (nexclude > 0)
		memcpy(op->exclude, exclude, nexclude * sizeof(*exclude));
	op->nexclude = nexclude;
	op->limit = limit;
	memcpy(op->start, start, sizeof(op->start));
}

void
store_ack(struct store *st, uint64_t dsub_id, const uint64_t *tags,
    size_t ntags, const struct audit_rec *audit, store_cb *cb, void *arg)
{
	struct stub_op *op = stub_queue(STUB_ACK, dsub_id, cb, arg);

	(void)st;
	(void)audit;
	if (ntags > sizeof(op->tags) / sizeof(op->tags[0]))
		abort();
	if (ntags > 0)
		memcpy(op->tags, tags, ntags * sizeof(*tags));
	op->ntags = ntags;
}

int
stub_find(int kind)
{
	for (size_t i = 0; i < stub_nops; i++)
		if ((int)stub_ops[i].kind == kind)
			return (int)i;
	return -1;
}

void
stub_complete(int kind, struct store_result *res)
{
	struct store_result ok = { .status = STORE_OK };
	struct stub_op op;
	int i = stub_find(kind);

	if (i < 0)
		abort();
	op = stub_ops[i];
	memmove(&stub_ops[i], &stub_ops[i + 1],
	    (stub_nops - (size_t)i - 1) * sizeof(stub_ops[0]));
	stub_nops--;
	if (op.cb != NULL)
		op.cb(op.arg, res != NULL ? res : &ok);
}
