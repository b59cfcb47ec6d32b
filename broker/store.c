/*
 * store.c — the durable store's core, independent of the database that
 * keeps it: the asynchronous interface of store.h, the operations' life,
 * the queue, the writer and syncer threads, group commit and the
 * completion on the loop. A backend (store_backend.h; SQLite in
 * store_sqlite.c) stores, syncs and reads.
 *
 * One writer thread owns the backend's connection. The event loop queues
 * operations; the writer takes everything queued, runs it in one
 * transaction (each operation inside its own savepoint only after a
 * failure, so one failure does not undo the others) and commits, which
 * with SQLite writes the transaction to the WAL without syncing it. It
 * hands the batch back to the loop as committed (publish operations'
 * committed callbacks: live plain deliveries; and the callbacks of
 * fetches the backend found within a synced reservation, res.at_commit:
 * durable deliveries) and on to the syncer
 * thread, then takes the next batch. The syncer makes everything
 * committed since its last sync durable with one sync of the backend
 * (SQLite: fdatasync(2) of the WAL, then the anchor in ccc.db-head), and
 * only then hands it to the loop as done (the callbacks proper:
 * confirmations). While the syncer syncs, the writer commits the next
 * batch: that is the group commit. Between rounds, and at least as often
 * as the backend asks, the syncer runs the backend's tick, which also
 * finds store files removed or replaced; from then on nothing is stored.
 * When the backend's open left the integrity check for later (the last
 * run closed the store cleanly after a check), a checker thread runs it
 * once while the broker serves; damage it finds stops all storing the
 * same way, with its own message, and so does damage the backend reports
 * for an operation, a begin or a commit (store_damage_met), with a message
 * naming what met it. The removal of exercise alerts is the one operation
 * the writer runs in several batches: a bounded step in each, queued again
 * behind what came meanwhile until it ends, one removal at a time
 * (store_exercise_take, store_exercise_next).
 *
 * Owns: struct store, the operations from store_publish() and the others
 * to their callbacks, the threads, the health the loop sees.
 * Must never: store anything once damage was found or met; run a callback
 * (other than a committed callback, or that of a fetch whose result says
 * at_commit) before its transaction is synced;
 * run a committed callback before the commit; let the loop thread touch
 * the backend after start-up; lose an operation silently (a failed one
 * reports STORE_FAILED); keep anything of an operation that failed; touch
 * SQL or a backend's files.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "store_backend.h"
#include "store_op.h"
#include "timeutil.h"
#include "xmalloc.h"

#define STORE_LOST	"the store's files were removed or replaced while cccd " \
			"runs; nothing is stored until it is restarted"
#define STORE_DAMAGED	"the store is damaged: %s; nothing is stored until " \
			"it is repaired and cccd restarted"
#define STORE_DAMAGED_LOG "%s; from now on cccd stores nothing and refuses " \
			"every publish: stop it, repair or restore the store (see " \
			"\"The store\" in docs/operations.md) and start it again"
#define STORE_CHECK_NICE 10	/* checker thread: below the loop, writer, syncer */
/*
 * Exercise alerts one step of their removal looks at (store_exercise_purge).
 * Measured on a store of a million awaited ones, 40,000 of them settled:
 * a step of them all held holds the writer about 2 ms, one of them all
 * removable about 50 ms (the first ones after a start, on a cold page
 * cache, up to 0.7 s); the whole million in one transaction held it 2.5 s.
 */
#define STORE_EXERCISE_STEP 2000

struct store {
	const struct store_backend *be;	/* chosen at open: SQLite */
	void			*b;		/* the backend's own state */
	char			 where[512];	/* the store, in messages */
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;
	struct store_op		*queue, *queue_tail;	/* waiting for the thread */
	struct store_op		*committed, *committed_tail; /* committed, for the loop */
	struct store_op		*unsynced, *unsynced_tail;  /* committed, for the syncer */
	struct store_op		*done, *done_tail;	/* synced, waiting for the loop */
	bool			 stopping;
	bool			 journal_exercise;	/* store_journal_exercise() */
	size_t			 exercise_step;	/* store_exercise_purge: alerts a step looks at */
	struct store_op		*ex_next;	/* writer: the next removal of exercise
						   alerts, requests joined to it */
	bool			 ex_running;	/* writer: a removal's step is in the
						   queue or the batch */
	pthread_t		 syncer;
	pthread_cond_t		 sync_wake;
	bool			 sync_stopping;
	uint64_t		 syncs;		/* atomic, syncer: syncs of batches that wrote */
	bool			 lost;		/* atomic: the files are not ours any more */
	char			 lost_why[640];	/* set once, before lost */
	bool			 lost_logged;	/* loop */
	bool			 sync_failed;	/* syncer: a sync failed in this run */
	bool			 closed_clean;	/* the last run closed the store cleanly */
	pthread_t		 checker;	/* the integrity check after start-up */
	bool			 checking;	/* the checker thread was started */
	bool			 check_stopped;	/* atomic: store_close stops it */
	int			 check;		/* atomic: enum store_check */
	bool			 damage_claimed;	/* atomic: the first to find damage
						   (checker or writer) sets damaged_* */
	bool			 damaged;	/* atomic: the check found damage, or
						   an operation met it */
	char			 damaged_msg[256];	/* the refusal (STORE_DAMAGED);
						   set once, before damaged */
	char			 damaged_why[640];	/* the log's (STORE_DAMAGED_LOG);
						   set once, before damaged */
	bool			 damaged_logged;	/* loop */
	bool			 closed;	/* the thread is gone: new operations are dropped */
	int			 efd;
	struct event		*ev;
	uint64_t		 batches, ops;		/* atomic, writer: transactions, and
						   operations in them (store_health) */
	size_t			 pending;	/* loop: queued, not called back yet */
	int64_t			 progress_us;	/* loop: last batch back, or queue start */
	bool			 write_failed;	/* loop: the last writing operation failed */
	char			 write_error[256];
};

static bool	store_accept_loss_flag;	/* --accept-store-loss */
static bool	store_check_always_flag;	/* store.check_at_start: always */

static void	store_done_cb(evutil_socket_t, short, void *);
static void	*store_main(void *);
static void	*store_syncer(void *);
static void	*store_checker(void *);
static struct store_op *store_op_new(enum store_kind, store_cb *, void *);
static void	store_op_free(struct store_op *);
static void	store_op_clear(struct store_op *);
static void	store_audit_copy(struct audit_copy *, const struct audit_rec *);
static void	store_batch(struct store *, struct store_op *);

void
store_accept_loss(bool accept)
{
	store_accept_loss_flag = accept;
}

void
store_check_at_start(bool always)
{
	store_check_always_flag = always;
}

static bool
store_lost(const struct store *st)
{
	return __atomic_load_n(&st->lost, __ATOMIC_ACQUIRE);
}

static bool
store_damaged(const struct store *st)
{
	return __atomic_load_n(&st->damaged, __ATOMIC_ACQUIRE);
}

/* Why nothing is stored any more, or NULL while the store stores. */
static const char *
store_refusal(const struct store *st)
{
	return store_lost(st) ? STORE_LOST : store_damaged(st) ?
	    st->damaged_msg : NULL;
}

/*
 * What each operation is called when it met damage: "the store is
 * damaged: a publish met a damaged page (...)".
 */
static const char *const store_kind_names[] = {
	[OP_PUBLISH] = "a publish",
	[OP_SUBSCRIBE] = "a durable subscription",
	[OP_FORGET] = "the removal of a durable subscription",
	[OP_FETCH] = "a durable fetch",
	[OP_ACK] = "an acknowledgement",
	[OP_AUDIT] = "an audit record",
	[OP_RECEIPTS] = "a receipts query",
	[OP_HISTORY] = "a history query",
	[OP_PURGE] = "retention",
	[OP_REG_COMMIT] = "a registry commit",
	[OP_REG_PROPOSE] = "a registry proposal",
	[OP_REG_DECIDE] = "a registry decision",
	[OP_REG_LIST] = "a registry listing",
	[OP_COUNTS] = "a count of backlogs",
	[OP_EXERCISE] = "an exercise purge",
	[OP_ALERT] = "a read of one alert",
};

/*
 * Checker or writer: the store is damaged (what: how it was found, for
 * the refusal; detail: the same for the log). The first to find it says
 * why, once: from then on nothing is stored (store_batch), the loop logs
 * it (store_done_cb), and the health says so (store_health). The check's
 * state is failed.
 */
static void
store_damage_set(struct store *st, const char *what, const char *detail)
{
	if (__atomic_exchange_n(&st->damage_claimed, true, __ATOMIC_ACQ_REL))
		return;
	snprintf(st->damaged_msg, sizeof(st->damaged_msg), STORE_DAMAGED, what);
	snprintf(st->damaged_why, sizeof(st->damaged_why), STORE_DAMAGED_LOG,
	    detail);
	__atomic_store_n(&st->check, STORE_CHECK_FAILED, __ATOMIC_RELAXED);
	__atomic_store_n(&st->damaged, true, __ATOMIC_RELEASE);
}

/*
 * Writer, after who (an operation's name, "a commit") failed: did the
 * backend meet damage? Then the store is damaged, as if its check found
 * it (store_damage_set). Returns whether the store refuses for damage.
 */
static bool
store_damage_met(struct store *st, const char *who)
{
	const char *met;
	char what[170];	/* fits STORE_DAMAGED in damaged_msg */

	if (store_damaged(st))
		return true;
	if ((met = st->be->damage(st->b)) == NULL)
		return false;
	snprintf(what, sizeof(what), "%s met %s", who, met);
	store_damage_set(st, what, what);
	return true;
}

/* A counter one of the store's threads adds to, read from another. */
static uint64_t
store_count(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/*
 * Start-up with --accept-store-loss: say what was lost, in the log and as
 * the journal's first record after the loss, committed and synced here
 * (the threads are not running yet). 0, or -1 with why set.
 */
static int
store_loss_accepted(struct store *st, const char *lost, char *why,
    size_t whylen)
{
	struct audit_rec rec = { .event = "store_loss", .detail = lost };
	struct store_op *op = store_op_new(OP_AUDIT, NULL, NULL);
	const char *what = "";
	int rc = 0;

	log_error("store %s: accepted the loss (--accept-store-loss): %s",
	    st->where, lost);
	store_audit_copy(&op->audit, &rec);
	store_batch(st, op);
	if (op->res.status != STORE_FAILED) {
		st->be->mark(st->b);
		st->be->take_mark(st->b);
	}
	if (op->res.status == STORE_FAILED ||
	    st->be->sync(st->b, true, &what) < 0) {
		snprintf(why, whylen, "cannot record the loss in the audit "
		    "journal: %s", op->res.status == STORE_FAILED ? op->error :
		    strerror(errno));
		rc = -1;
	}
	store_op_free(op);
	return rc;
}

static void
store_audit_copy_free(struct audit_copy *c)
{
	for (int i = 0; i < AUDIT_NTEXT; i++)
		free(c->text[i]);
}

static void
store_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

struct store *
store_open(struct event_base *base, const char *data_dir, char *err,
    size_t errlen)
{
	struct store *st = xcalloc(1, sizeof(*st));
	struct store_start start = { .accept_loss = store_accept_loss_flag,
	    .check_always = store_check_always_flag };
	pthread_condattr_t ca;
	char why[512], lost[512] = "";

	st->be = &store_sqlite_backend;
	st->efd = -1;
	st->exercise_step = STORE_EXERCISE_STEP;
	if ((st->b = st->be->open(data_dir, &start, st->where,
	    sizeof(st->where), lost, sizeof(lost), err, errlen)) == NULL) {
		free(st);
		return NULL;
	}
	st->closed_clean = start.closed_clean;
	st->check = start.check_later ? STORE_CHECK_RUNNING : STORE_CHECK_PASSED;
	if (lost[0] != '\0' && store_loss_accepted(st, lost, why,
	    sizeof(why)) < 0)
		goto fail;
	if ((st->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		snprintf(why, sizeof(why), "eventfd: %s", strerror(errno));
		goto fail;
	}
	st->ev = event_new(base, st->efd, EV_READ | EV_PERSIST, store_done_cb, st);
	event_add(st->ev, NULL);
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->wake, NULL);
	/* the syncer wakes up on a clock that setting the time does not move */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->sync_wake, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&st->syncer, NULL, store_syncer, st) != 0) {
		snprintf(why, sizeof(why), "cannot start the syncer thread");
		goto fail_threads;
	}
	if (pthread_create(&st->thread, NULL, store_main, st) != 0) {
		snprintf(why, sizeof(why), "cannot start the writer thread");
		pthread_mutex_lock(&st->lock);
		st->sync_stopping = true;
		pthread_cond_signal(&st->sync_wake);
		pthread_mutex_unlock(&st->lock);
		pthread_join(st->syncer, NULL);
		goto fail_threads;
	}
	if (start.check_later) {
		if (pthread_create(&st->checker, NULL, store_checker, st) == 0)
			st->checking = true;
		else {
			log_error("store %s: cannot start the thread of the "
			    "integrity check: the store is not checked in this "
			    "run, and will be before serving at the next start",
			    st->where);
			st->check = STORE_CHECK_NOT_RUN;
		}
	}
	return st;
fail_threads:
	event_free(st->ev);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->wake);
	pthread_cond_destroy(&st->sync_wake);
fail:
	snprintf(err, errlen, "store %s: %s", st->where, why);
	if (st->efd >= 0)
		close(st->efd);
	st->be->close(st->b, false, false);
	free(st);
	return NULL;
}

/* Free the inputs of op, by its kind. */
static void
store_op_free_inputs(struct store_op *op)
{
	switch (op->kind) {
	case OP_PUBLISH:
		free(op->u.publish.id);
		free(op->u.publish.origin);
		free(op->u.publish.topic);
		free(op->u.publish.body);
		free(op->u.publish.dsubs);
		store_strv_free(op->u.publish.refs, op->u.publish.nrefs);
		break;
	case OP_SUBSCRIBE:
		free(op->u.subscribe.endpoint);
		free(op->u.subscribe.name);
		free(op->u.subscribe.patterns);
		break;
	case OP_FETCH:
		free(op->u.fetch.exclude);
		break;
	case OP_ACK:
		free(op->u.ack.tags);
		break;
	case OP_AUDIT:
		for (size_t k = 0; k < op->u.audit.nrecs; k++)
			store_audit_copy_free(&op->u.audit.recs[k]);
		free(op->u.audit.recs);
		store_strv_free(op->u.audit.alerts, op->u.audit.nalerts);
		free(op->u.audit.seqs);
		free(op->u.audit.single_detail);
		break;
	case OP_RECEIPTS:
		free(op->u.receipts.origin);
		free(op->u.receipts.id);
		break;
	case OP_ALERT:
		free(op->u.alert.id);
		break;
	case OP_REG_COMMIT:
	case OP_REG_PROPOSE:
		for (int i = 0; i < RC_NTEXT; i++)
			free(op->u.reg.text[i]);
		store_strv_free(op->u.reg.inboxes, op->u.reg.ninboxes);
		break;
	case OP_REG_DECIDE:
		free(op->u.decide.state);
		free(op->u.decide.by);
		break;
	case OP_FORGET:
	case OP_HISTORY:
	case OP_PURGE:
	case OP_REG_LIST:
	case OP_COUNTS:
	case OP_EXERCISE:
		break;
	}
}

static void
store_op_free(struct store_op *op)
{
	store_audit_copy_free(&op->audit);
	store_op_free_inputs(op);
	store_op_clear(op);
	free(op);
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->checking) {	/* a check cut short: the next start checks first */
		__atomic_store_n(&st->check_stopped, true, __ATOMIC_RELEASE);
		st->be->check_stop(st->b);
		pthread_join(st->checker, NULL);
	}
	pthread_mutex_lock(&st->lock);
	st->stopping = true;
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->lock);
	pthread_join(st->thread, NULL);
	/* the writer handed everything to the syncer, which syncs it last */
	pthread_mutex_lock(&st->lock);
	st->sync_stopping = true;
	pthread_cond_signal(&st->sync_wake);
	pthread_mutex_unlock(&st->lock);
	pthread_join(st->syncer, NULL);
	/*
	 * The threads finished everything queued; run the callbacks still
	 * waiting (their work is done). What they queue now is dropped.
	 */
	st->closed = true;
	store_done_cb(st->efd, EV_READ, st);
	log_info("store: closed after %llu operations in %llu transactions "
	    "and %llu syncs", (unsigned long long)store_count(&st->ops),
	    (unsigned long long)store_count(&st->batches),
	    (unsigned long long)store_count(&st->syncs));
	event_free(st->ev);
	close(st->efd);
	st->be->close(st->b, store_refusal(st) != NULL, store_refusal(st) ==
	    NULL && !st->sync_failed);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->wake);
	pthread_cond_destroy(&st->sync_wake);
	free(st);
}

/* Append the chain first..last (linked by next) to *head / *tail. */
static void
store_append(struct store_op **head, struct store_op **tail,
    struct store_op *first, struct store_op *last)
{
	if (*tail != NULL)
		(*tail)->next = first;
	else
		*head = first;
	*tail = last;
}

static void
store_enqueue(struct store *st, struct store_op *op)
{
	if (st->closed) {
		store_op_free(op);
		return;
	}
	if (st->pending++ == 0)
		st->progress_us = time_mono_us();
	pthread_mutex_lock(&st->lock);
	store_append(&st->queue, &st->queue_tail, op, op);
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->lock);
}

static struct store_op *
store_op_new(enum store_kind kind, store_cb *cb, void *arg)
{
	struct store_op *op = xcalloc(1, sizeof(*op));

	op->kind = kind;
	op->cb = cb;
	op->arg = arg;
	return op;
}

static void
store_audit_copy(struct audit_copy *c, const struct audit_rec *r)
{
	const char *text[AUDIT_NTEXT] = { r->event, r->endpoint, r->subject,
	    r->fingerprint, r->peer, r->alert, r->detail };

	c->present = true;
	for (int i = 0; i < AUDIT_NTEXT; i++)
		c->text[i] = xstrdup(text[i] ? text[i] : "");
	c->transfer = r->transfer;
}

/* An owned copy of the n strings of v. */
static char **
store_strv_copy(char *const *v, size_t n)
{
	char **c = xcalloc(n ? n : 1, sizeof(char *));

	for (size_t i = 0; i < n; i++)
		c[i] = xstrdup(v[i]);
	return c;
}

void
store_audit(struct store *st, const struct audit_rec *rec)
{
	struct store_op *op = store_op_new(OP_AUDIT, NULL, NULL);

	store_audit_copy(&op->audit, rec);
	store_enqueue(st, op);
}

void
store_audit_batch(struct store *st, const struct audit_rec *v, size_t n)
{
	struct store_op *op;

	if (n == 0)
		return;
	op = store_op_new(OP_AUDIT, NULL, NULL);
	op->u.audit.recs = xcalloc(n, sizeof(*op->u.audit.recs));
	for (size_t i = 0; i < n; i++)
		store_audit_copy(&op->u.audit.recs[i], &v[i]);
	op->u.audit.nrecs = n;
	store_enqueue(st, op);
}

void
store_audit_sent(struct store *st, const struct audit_rec *rec,
    const char *const *alerts, const uint64_t *seqs, size_t n,
    const char *single_detail)
{
	struct store_op *op;

	if (n == 0)
		return;
	op = store_op_new(OP_AUDIT, NULL, NULL);
	store_audit_copy(&op->audit, rec);
	op->u.audit.alerts = store_strv_copy((char *const *)(uintptr_t)alerts,
	    n);
	op->u.audit.seqs = xcalloc(n, sizeof(uint64_t));
	memcpy(op->u.audit.seqs, seqs, n * sizeof(uint64_t));
	op->u.audit.nalerts = n;
	op->u.audit.single_detail = xstrdup(single_detail ? single_detail : "");
	store_enqueue(st, op);
}

/* Do a and b name the same recipient certificate, with the same transfer? */
void
store_counts(struct store *st, store_cb *cb, void *arg)
{
	store_enqueue(st, store_op_new(OP_COUNTS, cb, arg));
}

void
store_health(const struct store *st, struct store_health *h)
{
	h->write_ok = !st->write_failed && store_refusal(st) == NULL;
	h->files_lost = store_lost(st);
	h->damaged = store_damaged(st);
	h->error = store_refusal(st) != NULL ? store_refusal(st) :
	    st->write_failed ? st->write_error : NULL;
	h->check = (enum store_check)__atomic_load_n(&st->check,
	    __ATOMIC_RELAXED);
	h->pending = st->pending;
	h->waiting_us = st->pending > 0 ? time_mono_us() - st->progress_us : 0;
	h->operations = store_count(&st->ops);
	h->transactions = store_count(&st->batches);
	h->syncs = store_count(&st->syncs);
}

bool
store_closed_clean(const struct store *st)
{
	return st->closed_clean;
}

void
store_purge(struct store *st, int64_t now, int64_t expect,
    uint32_t retain_alerts, uint32_t retain_audit, size_t batch,
    uint64_t after_seq, store_cb *cb, void *arg)
{
	struct store_op *op = store_op_new(OP_PURGE, cb, arg);
	struct audit_rec ar = { .event = "purge", .detail = "" };
	int64_t sec = 1000000;

	op->u.purge.alerts_before = retain_alerts ? now - retain_alerts * sec : 0;
	op->u.purge.audit_before = retain_audit ? now - retain_audit * sec : 0;
	op->u.purge.expect = expect;
	op->u.purge.retain_alerts = retain_alerts;
	op->u.purge.retain_audit = retain_audit;
	op->u.purge.limit = batch;
	op->u.purge.after_seq = after_seq;
	store_audit_copy(&op->audit, &ar);
	store_enqueue(st, op);
}

void
store_journal_exercise(struct store *st, bool per_alert)
{
	st->journal_exercise = per_alert;
}

void
store_exercise_step(struct store *st, size_t alerts)
{
	st->exercise_step = alerts > 0 ? alerts : STORE_EXERCISE_STEP;
}

void
store_exercise_purge(struct store *st, const struct audit_rec *audit,
    store_cb *cb, void *arg)
{
	struct store_op *op = store_op_new(OP_EXERCISE, cb, arg);

	op->u.exercise.limit = st->exercise_step;
	if (audit != NULL)
		store_audit_copy(&op->audit, audit);
	store_enqueue(st, op);
}

void
store_history(struct store *st, int64_t since, uint64_t after_seq,
    uint64_t upto_seq, size_t limit, const struct audit_rec *audit,
    store_cb *cb, void *arg)
{
	struct store_op *op = store_op_new(OP_HISTORY, cb, arg);

	op->u.history.since = since;
	op->u.history.after_seq = after_seq;
	op->u.history.upto_seq = upto_seq;
	op->u.history.limit = limit;
	store_audit_copy(&op->audit, audit);
	store_enqueue(st, op);
}

void
store_alert(struct store *st, const char *alert_id,
    const struct audit_rec *audit, store_cb *cb, void *arg)
{
	struct store_op *op = store_op_new(OP_ALERT, cb, arg);

	op->u.alert.id = xstrdup(alert_id);
	store_audit_copy(&op->audit, audit);
	store_enqueue(st, op);
}

void
store_receipts(struct store *st, const char *origin, const char *alert_id,
    const struct audit_rec *audit, store_cb *cb, void *arg)
{
	struct store_op *op = store_op_new(OP_RECEIPTS, cb, arg);

	op->u.receipts.origin = xstrdup(origin);
	op->u.receipts.id = xstrdup(alert_id);
	store_audit_copy(&op->audit, audit);
	store_enqueue(st, op);
}

void
store_publish(struct store *st, const struct store_publish *p,
    store_cb *committed, store_cb *cb, void *arg)
{
	struct store_op *op = store_op_new(OP_PUBLISH, cb, arg);
	struct store_op_publish *in = &op->u.publish;

	op->committed_cb = committed;
	in->id = xstrdup(p->id);
	in->origin = xstrdup(p->origin);
	in->topic = xstrdup(p->topic);
	in->published_at = p->published_at;
	in->expires_at = p->expires_at;
	in->severity = p->severity;
	memcpy(in->digest, p->digest, sizeof(in->digest));
	in->body = xmalloc(p->body_len);
	memcpy(in->body, p->body, p->body_len);
	in->body_len = p->body_len;
	if (p->ndsubs > 0) {
		in->dsubs = xcalloc(p->ndsubs, sizeof(uint64_t));
		memcpy(in->dsubs, p->dsubs, p->ndsubs * sizeof(uint64_t));
		in->ndsubs = p->ndsubs;
	}
	in->restricted = p->restricted;
	in->refs = store_strv_copy(p->refs, p->nrefs);
	in->nrefs = p->nrefs;
	in->exercise = p->exercise;
	in->journal_exercise = st->journal_exercise;
	store_audit_copy(&op->audit, &p->audit);
	store_enqueue(st, op);
}

void
store_subscribe(struct store *st, const char *endpoint, const char *name,
    char *const *patterns, size_t npatterns, store_cb *cb, void *arg)
{
	struct store_op *op = store_op_new(OP_SUBSCRIBE, cb, arg);
	struct store_op_subscribe *in = &op->u.subscribe;
	size_t len = 1;

	in->endpoint = xstrdup(endpoint);
	in->name = xstrdup(name);
	for (size_t i = 0; i < npatterns; i++)
		len += strlen(patterns[i]) + 1;
	in->patterns = xcalloc(1, len);
	for (size_t i = 0; i < npatterns; i++) {
		if (i > 0)
			strcat(in->patterns, "\n");
		strcat(in->patterns, patterns[i]);
	}
	store_enqueue(st, op);
}

void
store_forget(struct store *st, uint64_t dsub_id, store_cb *cb, void *arg)
{
	struct store_op *op = store_op_new(OP_FORGET, cb, arg);

	op->u.forget.dsub_id = dsub_id;
	store_enqueue(st, op);
}

int
store_tag_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void
store_fetch(struct store *st, uint64_t dsub_id, const uint64_t *exclude,
    size_t nexclude, size_t limit, size_t max_bytes, uint32_t max_attempts,
    const uint64_t start[STORE_SEVERITIES], uint64_t reserve, store_cb *cb,
    void *arg)
{
	struct store_op *op = store_op_new(OP_FETCH, cb, arg);
	struct store_op_fetch *in = &op->u.fetch;

	in->dsub_id = dsub_id;
	if (nexclude > 0) {	/* sorted, for bsearch on the writer thread */
		in->exclude = xcalloc(nexclude, sizeof(uint64_t));
		memcpy(in->exclude, exclude, nexclude * sizeof(uint64_t));
		in->nexclude = nexclude;
		qsort(in->exclude, nexclude, sizeof(uint64_t), store_tag_cmp);
	}
	in->limit = limit;
	in->max_bytes = max_bytes;
	in->max_attempts = max_attempts;
	memcpy(in->start, start, sizeof(in->start));
	in->reserve = reserve;
	store_enqueue(st, op);
}

void
store_ack(struct store *st, uint64_t dsub_id, const uint64_t *tags,
    size_t ntags, const struct audit_rec *audit, store_cb *cb, void *arg)
{
	struct store_op *op = store_op_new(OP_ACK, cb, arg);

	store_audit_copy(&op->audit, audit);
	op->u.ack.dsub_id = dsub_id;
	op->u.ack.tags = xcalloc(ntags ? ntags : 1, sizeof(uint64_t));
	memcpy(op->u.ack.tags, tags, ntags * sizeof(uint64_t));
	/* sorted without duplicates: one settlement per position */
	qsort(op->u.ack.tags, ntags, sizeof(uint64_t), store_tag_cmp);
	for (size_t i = 0; i < ntags; i++)
		if (op->u.ack.ntags == 0 ||
		    op->u.ack.tags[op->u.ack.ntags - 1] != op->u.ack.tags[i])
			op->u.ack.tags[op->u.ack.ntags++] = op->u.ack.tags[i];
	op->u.ack.journal_exercise = st->journal_exercise;
	store_enqueue(st, op);
}

static struct store_op *
store_regop(enum store_kind kind, const struct store_regchange *c,
    store_cb *cb, void *arg)
{
	struct store_op *op = store_op_new(kind, cb, arg);
	const char *text[RC_NTEXT] = { c->author, c->approved_by, c->source,
	    c->comment, c->changes, c->reasons, c->document, c->file_digest };

	for (int i = 0; i < RC_NTEXT; i++)
		op->u.reg.text[i] = xstrdup(text[i] ? text[i] : "");
	op->u.reg.base = c->base;
	op->u.reg.proposal = c->proposal;
	op->u.reg.inboxes = store_strv_copy(c->inboxes, c->ninboxes);
	op->u.reg.ninboxes = c->ninboxes;
	store_audit_copy(&op->audit, &c->audit);
	return op;
}

void
store_registry_commit(struct store *st, const struct store_regchange *c,
    store_cb *cb, void *arg)
{
	store_enqueue(st, store_regop(OP_REG_COMMIT, c, cb, arg));
}

void
store_registry_propose(struct store *st, const struct store_regchange *c,
    store_cb *cb, void *arg)
{
	store_enqueue(st, store_regop(OP_REG_PROPOSE, c, cb, arg));
}

void
store_registry_decide(struct store *st, uint64_t proposal, const char *state,
    const char *by, const struct audit_rec *audit, store_cb *cb, void *arg)
{
	struct store_op *op = store_op_new(OP_REG_DECIDE, cb, arg);

	op->u.decide.proposal = proposal;
	op->u.decide.state = xstrdup(state);
	op->u.decide.by = xstrdup(by);
	store_audit_copy(&op->audit, audit);
	store_enqueue(st, op);
}

void
store_registry_list(struct store *st, bool proposals, uint64_t id,
    size_t limit, bool all, bool with_document, store_cb *cb, void *arg)
{
	struct store_op *op = store_op_new(OP_REG_LIST, cb, arg);

	op->u.list.proposals = proposals;
	op->u.list.id = id;
	op->u.list.limit = limit;
	op->u.list.all = all;
	op->u.list.with_doc = with_document;
	store_enqueue(st, op);
}

/* Forget what a run of op produced, so that it can run again. */
static void
store_op_clear(struct store_op *op)
{
	free(op->res.rows);
	free(op->res.receipts);
	free(op->res.ids);
	free(op->res.regrecs);
	free(op->res.backlogs);
	for (size_t i = 0; i < op->nblobs; i++)
		free(op->blobs[i]);
	free(op->blobs);
	op->blobs = NULL;
	op->nblobs = 0;
	memset(&op->res, 0, sizeof(op->res));
	op->error[0] = '\0';
}

/*
 * Run the batch in the open transaction without savepoints. A savepoint
 * makes SQLite copy every page its operation changes into a sub-journal,
 * which for a publish cost more than the publish. Returns NULL when every
 * operation succeeded, else the first that failed (the transaction must
 * then be rolled back).
 */
static struct store_op *
store_batch_fast(struct store *st, struct store_op *batch)
{
	for (struct store_op *op = batch; op != NULL; op = op->next)
		if (st->be->run_op(st->b, op) < 0 || !st->be->active(st->b))
			return op;
	return NULL;
}

/*
 * Run the batch in the open transaction with one savepoint per operation,
 * so that an operation that fails fails alone. Returns whether the
 * transaction is still open (why set when not).
 */
static bool
store_batch_safe(struct store *st, struct store_op *batch, char *why,
    size_t whylen)
{
	struct store_op *op;

	for (op = batch; op != NULL; op = op->next) {
		if (st->be->savepoint(st->b, why, whylen) < 0) {
			/* the reason is the savepoint's, not the operation's */
			snprintf(op->error, sizeof(op->error), "%s", why);
			op->res.status = STORE_FAILED;
			st->be->rollback_to(st->b);
		} else if (st->be->run_op(st->b, op) < 0) {
			op->res.status = STORE_FAILED;
			st->be->rollback_to(st->b);
		}
		st->be->release(st->b);
		/* damage met: nothing more is stored, this batch included */
		if (op->res.status == STORE_FAILED &&
		    store_damage_met(st, store_kind_names[op->kind])) {
			snprintf(why, whylen, "%s", store_refusal(st));
			return false;
		}
		/*
		 * Some errors (disk full, I/O) make SQLite roll back the whole
		 * transaction; then nothing of this batch is kept, and running
		 * the rest outside a transaction would keep what we report lost.
		 */
		if (!st->be->active(st->b)) {
			snprintf(why, whylen, "%s", op->error[0] ?
			    op->error : "the transaction was rolled back");
			return false;
		}
	}
	return true;
}

/*
 * Run one batch in one transaction; every op ends OK or FAILED. The batch
 * runs without savepoints first; when an operation fails, the transaction
 * is rolled back and the batch runs again with a savepoint per operation.
 * When what failed met damage (store_damage_met), nothing of the batch is
 * kept and every operation fails with the refusal, as all later ones do.
 */
static void
store_batch(struct store *st, struct store_op *batch)
{
	char why[sizeof(st->damaged_msg)] = "";
	struct store_op *op, *failed;
	bool committed;

	if (store_refusal(st) != NULL) {
		snprintf(why, sizeof(why), "%s", store_refusal(st));
		committed = false;
	} else if (!(committed = st->be->begin(st->b, why, sizeof(why)) == 0) &&
	    store_damage_met(st, "the start of a transaction"))
		snprintf(why, sizeof(why), "%s", store_refusal(st));
	if (committed && (failed = store_batch_fast(st, batch)) != NULL) {
		st->be->rollback(st->b);
		for (op = batch; op != NULL; op = op->next)
			store_op_clear(op);
		if (store_damage_met(st, store_kind_names[failed->kind])) {
			snprintf(why, sizeof(why), "%s", store_refusal(st));
			committed = false;
		} else
			committed = st->be->begin(st->b, why, sizeof(why)) ==
			    0 && store_batch_safe(st, batch, why, sizeof(why));
	}
	if (committed && st->be->commit(st->b, why, sizeof(why)) < 0) {
		committed = false;
		if (store_damage_met(st, "a commit"))
			snprintf(why, sizeof(why), "%s", store_refusal(st));
	}
	/* nothing of it kept: not even its audit records in the chain */
	if (!committed)
		st->be->rollback(st->b);
	for (op = batch; op != NULL; op = op->next) {
		if (!committed) {
			op->res.status = STORE_FAILED;
			if (op->error[0] == '\0')
				snprintf(op->error, sizeof(op->error), "%s", why);
		}
		if (op->res.status == STORE_FAILED)
			op->res.error = op->error;
		__atomic_fetch_add(&st->ops, 1, __ATOMIC_RELAXED);
	}
	__atomic_fetch_add(&st->batches, 1, __ATOMIC_RELAXED);
}

/* Wake the loop: committed or done operations are waiting for it. */
static void
store_wake_loop(struct store *st)
{
	uint64_t one = 1;

	if (write(st->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_error("store: eventfd write: %s", strerror(errno));
}

/*
 * Writer, before a batch runs: take the batch's new requests to remove
 * exercise alerts out of it. At most one removal runs at a time, in steps
 * (store_exercise_next); requests that come while it runs wait for the
 * next one, all of them joined to the first, which serves them all: any
 * number of requests costs at most the rest of the removal under way and
 * one more. With none under way, the next removal's first step joins the
 * batch. The batch left, NULL when nothing is.
 */
static struct store_op *
store_exercise_take(struct store *st, struct store_op *batch)
{
	struct store_op **pp = &batch, *op, **tail;

	while ((op = *pp) != NULL) {
		if (op->kind != OP_EXERCISE || op->u.exercise.started) {
			pp = &op->next;
			continue;
		}
		*pp = op->next;
		op->next = NULL;
		if (st->ex_next == NULL) {
			st->ex_next = op;
			continue;
		}
		for (tail = &st->ex_next->u.exercise.joined; *tail != NULL;
		    tail = &(*tail)->next)
			;
		*tail = op;
	}
	if (!st->ex_running && st->ex_next != NULL) {
		*pp = st->ex_next;
		st->ex_next->u.exercise.started = true;
		st->ex_next = NULL;
		st->ex_running = true;
	}
	return batch;
}

/*
 * Writer, after a batch ran: the removal's step in it, if any. A step that
 * left more to look at is taken out of the batch into *cont, to be queued
 * again from where it stopped (after what was queued meanwhile, so that it
 * runs in the next transaction with it). A removal that ended (done or
 * failed) hands the requests joined to it on behind it with its result,
 * and the next removal, if requests wait for one, starts as *cont; *wrote
 * then says whether any of its steps wrote (its sync covers them all). The
 * batch left, NULL when nothing is.
 */
static struct store_op *
store_exercise_next(struct store *st, struct store_op *batch, bool *wrote,
    struct store_op **cont)
{
	struct store_op **pp, *op, *f, *after;
	struct store_op_exercise *in;

	*cont = NULL;
	for (pp = &batch; (op = *pp) != NULL; pp = &op->next)
		if (op->kind == OP_EXERCISE)
			break;
	if (op == NULL)
		return batch;
	in = &op->u.exercise;
	if (op->res.status == STORE_OK && op->res.more) {
		*pp = op->next;
		op->next = NULL;
		in->after_seq = op->res.seq;
		in->removed = op->res.purged;
		in->wrote = in->wrote || *wrote;
		store_op_clear(op);
		*cont = op;
		return batch;
	}
	st->ex_running = false;
	*wrote = *wrote || in->wrote;
	after = op->next;
	for (f = in->joined; f != NULL; f = f->next) {
		f->res = op->res;
		snprintf(f->error, sizeof(f->error), "%s", op->error);
		if (f->res.status == STORE_FAILED)
			f->res.error = f->error;
		op->next = f;
		op = f;
	}
	op->next = after;
	in->joined = NULL;
	if (st->ex_next != NULL) {
		*cont = st->ex_next;
		(*cont)->u.exercise.started = true;
		st->ex_next = NULL;
		st->ex_running = true;
	}
	return batch;
}

/*
 * The writer: one batch after the other, each committed (not synced) and
 * passed to the loop as committed and to the syncer, in that order — so an
 * operation is on the committed list before it can reach the done list.
 * A removal of exercise alerts goes on, a bounded step a batch, until it
 * ends (also while the store closes); only then is it passed on.
 */
static void *
store_main(void *arg)
{
	struct store *st = arg;
	struct store_op *batch, *last, *op, *cont;
	uint64_t changes;
	bool wrote;

	for (;;) {
		pthread_mutex_lock(&st->lock);
		while (st->queue == NULL && !st->stopping)
			pthread_cond_wait(&st->wake, &st->lock);
		batch = st->queue;
		st->queue = st->queue_tail = NULL;
		pthread_mutex_unlock(&st->lock);
		if (batch == NULL)
			break;		/* stopping and nothing left */
		if ((batch = store_exercise_take(st, batch)) == NULL)
			continue;
		changes = st->be->changes(st->b);
		store_batch(st, batch);
		wrote = st->be->changes(st->b) != changes;
		batch = store_exercise_next(st, batch, &wrote, &cont);
		if (cont != NULL) {
			pthread_mutex_lock(&st->lock);
			store_append(&st->queue, &st->queue_tail, cont, cont);
			pthread_mutex_unlock(&st->lock);
		}
		if (batch == NULL)
			continue;
		for (op = batch; ; op = op->next) {
			op->wrote = wrote;
			op->cres = op->res;
			op->cnext = op->next;
			if (op->next == NULL)
				break;
		}
		last = op;
		pthread_mutex_lock(&st->lock);
		if (st->committed_tail != NULL)
			st->committed_tail->cnext = batch;
		else
			st->committed = batch;
		st->committed_tail = last;
		store_append(&st->unsynced, &st->unsynced_tail, batch, last);
		st->be->mark(st->b);
		pthread_cond_signal(&st->sync_wake);
		pthread_mutex_unlock(&st->lock);
		store_wake_loop(st);
	}
	return NULL;
}

/* Syncer: wait, with the lock held, to be woken or for the next tick. */
static void
store_syncer_wait(struct store *st)
{
	struct timespec ts;
	int64_t us = st->be->tick_us(st->b);

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(us / 1000000);
	ts.tv_nsec += (long)(us % 1000000) * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&st->sync_wake, &st->lock, &ts);
}

/*
 * Syncer, after each round and whenever the backend's tick is due: its
 * periodic work. When it finds the store's files gone or replaced,
 * nothing more is stored (store_batch) and the loop is woken to say so.
 */
static void
store_syncer_tick(struct store *st, bool last)
{
	if (st->be->tick(st->b, last, store_lost(st) ? NULL : st->lost_why,
	    sizeof(st->lost_why))) {
		__atomic_store_n(&st->lost, true, __ATOMIC_RELEASE);
		store_wake_loop(st);
	}
}

/*
 * The syncer: everything committed since the last sync, made durable
 * by one sync of the backend (SQLite: one fdatasync(2) of the WAL when
 * any of it wrote, and the end of the audit chain it holds anchored in
 * ccc.db-head), then passed to the loop as done. A failed sync fails the
 * operations that wrote: nothing says their transaction is on disk, or
 * nothing could tell later that it is gone.
 */
static void *
store_syncer(void *arg)
{
	struct store *st = arg;
	struct store_op *list, *last, *op;
	const char *what = "";
	bool wrote, stopping;
	int rc, e = 0;

	for (;;) {
		pthread_mutex_lock(&st->lock);
		if (st->unsynced == NULL && !st->sync_stopping)
			store_syncer_wait(st);
		list = st->unsynced;
		last = st->unsynced_tail;
		st->be->take_mark(st->b);
		stopping = st->sync_stopping;
		st->unsynced = st->unsynced_tail = NULL;
		pthread_mutex_unlock(&st->lock);
		if (list == NULL && stopping)
			break;		/* stopping and nothing left */
		for (op = list, wrote = false; op != NULL; op = op->next)
			wrote = wrote || op->wrote;
		rc = st->be->sync(st->b, wrote, &what);
		e = errno;
		if (wrote)
			__atomic_fetch_add(&st->syncs, 1, __ATOMIC_RELAXED);
		if (rc < 0)
			st->sync_failed = true;
		for (op = list; rc < 0 && op != NULL; op = op->next)
			if (op->wrote && op->res.status != STORE_FAILED) {
				op->res.status = STORE_FAILED;
				snprintf(op->error, sizeof(op->error), "%s: %s",
				    what, strerror(e));
				op->res.error = op->error;
			}
		if (list != NULL) {
			pthread_mutex_lock(&st->lock);
			store_append(&st->done, &st->done_tail, list, last);
			pthread_mutex_unlock(&st->lock);
			store_wake_loop(st);
		}
		store_syncer_tick(st, false);
	}
	store_syncer_tick(st, true);
	return NULL;
}

/*
 * Checker: the check ended in state, unless an operation met damage
 * meanwhile (store_damage_met): the state stays failed then.
 */
static void
store_check_done(struct store *st, enum store_check state)
{
	int running = STORE_CHECK_RUNNING;

	__atomic_compare_exchange_n(&st->check, &running, (int)state, false,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/*
 * The checker: the integrity check the backend's open left for later,
 * run once while the broker serves, at a lower priority than the loop and
 * the store's other threads (nice STORE_CHECK_NICE: it takes the CPU they
 * leave, and a share of it when they leave none). Damage found puts the
 * store in the state of lost files: nothing is stored from then on, with
 * its own message, and the loop is woken to say so.
 */
static void *
store_checker(void *arg)
{
	struct store *st = arg;
	char why[sizeof(st->damaged_why) - 160];
	int64_t t0 = time_mono_us();
	int rc;

	if (setpriority(PRIO_PROCESS, (id_t)gettid(), STORE_CHECK_NICE) < 0)
		log_debug("store: the integrity check keeps its priority: %s",
		    strerror(errno));
	rc = st->be->check(st->b, why, sizeof(why));
	if (rc == 0) {
		log_info("store %s: integrity check passed in %lld ms, in the "
		    "background", st->where,
		    (long long)((time_mono_us() - t0) / 1000));
		store_check_done(st, STORE_CHECK_PASSED);
	} else if (rc < 0) {
		if (__atomic_load_n(&st->check_stopped, __ATOMIC_ACQUIRE))
			log_warn("store %s: %s; it will be checked before "
			    "serving at the next start", st->where, why);
		else
			log_error("store %s: %s; the store is not checked in "
			    "this run, and will be before serving at the next "
			    "start", st->where, why);
		store_check_done(st, STORE_CHECK_NOT_RUN);
	} else {
		store_damage_set(st, "its integrity check failed", why);
		store_wake_loop(st);
	}
	return NULL;
}

static void
store_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store *st = arg;
	struct store_op *op, *next, *committed, *cnext;
	uint64_t n;

	(void)what;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_error("store: eventfd read: %s", strerror(errno));
	pthread_mutex_lock(&st->lock);
	committed = st->committed;
	st->committed = st->committed_tail = NULL;
	op = st->done;
	st->done = st->done_tail = NULL;
	pthread_mutex_unlock(&st->lock);
	if (!st->lost_logged && store_lost(st)) {
		st->lost_logged = true;
		log_error("store: %s", st->lost_why);
	}
	if (!st->damaged_logged && store_damaged(st)) {
		st->damaged_logged = true;
		log_error("store %s: %s", st->where, st->damaged_why);
	}
	/*
	 * Committed first: an operation reaches the done list only after the
	 * committed one, so its committed callback runs before its callback
	 * (which frees it), and committed callbacks run in commit order.
	 */
	for (; committed != NULL; committed = cnext) {
		cnext = committed->cnext;
		if (committed->cres.status != STORE_OK)
			continue;
		if (committed->committed_cb != NULL)
			committed->committed_cb(committed->arg, &committed->cres);
		/* a fetch within a synced reservation: done at its commit */
		if (committed->cres.at_commit && committed->cb != NULL) {
			committed->called = true;
			committed->cb(committed->arg, &committed->cres);
		}
	}
	for (; op != NULL; op = next) {
		next = op->next;
		st->pending--;
		if (op->kind != OP_COUNTS) {	/* the others all write */
			st->write_failed = op->res.status == STORE_FAILED;
			if (st->write_failed)
				snprintf(st->write_error, sizeof(st->write_error),
				    "%s", op->error);
		}
		if (op->res.status == STORE_FAILED) {
			log_error("store: %s failed: %s", op->kind == OP_PUBLISH ?
			    "publish" : op->kind == OP_ACK ? "ack" :
			    op->kind == OP_AUDIT ? "audit record" : "operation",
			    op->error);
			/* rows read before it failed are not handed out */
			op->res.nrows = 0;
		}
		if (op->cb != NULL && !op->called)
			op->cb(op->arg, &op->res);
		store_op_free(op);
	}
	st->progress_us = time_mono_us();
}

void
store_free_dsubs(struct store_dsub *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].endpoint);
		free(v[i].name);
		for (size_t k = 0; k < v[i].npatterns; k++)
			free(v[i].patterns[k]);
		free(v[i].patterns);
	}
	free(v);
}

int
store_registry_commit_now(struct store *st, const struct store_regchange *c,
    char *err, size_t errlen)
{
	struct store_op *op = store_regop(OP_REG_COMMIT, c, NULL, NULL);
	int rc = 0;

	/* Contract: the writer thread is idle (start-up), so run it here. */
	store_batch(st, op);
	if (op->res.status != STORE_OK) {
		snprintf(err, errlen, "store %s: cannot record the registry: %s",
		    st->where, op->res.status == STORE_STALE ?
		    "a newer revision exists" : op->error);
		rc = -1;
	}
	store_op_free(op);
	return rc;
}

/* ---- start-up: the backend's synchronous reads --------------------------- */

int
store_load_dsubs(struct store *st, struct store_dsub **out, size_t *n,
    char *err, size_t errlen)
{
	return st->be->load_dsubs(st->b, out, n, err, errlen);
}

uint64_t
store_last_seq(struct store *st)
{
	return st->be->last_seq(st->b);
}

int64_t
store_retention_time(struct store *st)
{
	return st->be->retention_time(st->b);
}

int
store_registry_newest(struct store *st, uint64_t *rev, char **doc,
    char **file_digest, bool *by_file, char *err, size_t errlen)
{
	return st->be->registry_newest(st->b, rev, doc, file_digest, by_file,
	    err, errlen);
}
