/*
 * store.h — the broker's durable store, behind a narrow asynchronous
 * interface. Its core (store.c: the queue, the writer and syncer threads,
 * the callbacks) runs operations through a backend (store_backend.h); the
 * embedded default, and for now the only one, is SQLite in WAL mode
 * (store_sqlite.c). Nothing outside the store touches SQL.
 *
 * Contract
 *   - Every operation is queued from the event-loop thread and carried out by
 *     the store's own writer thread. Operations queued close together are
 *     committed together in one transaction (group commit); the transaction
 *     is synced to disk before any of its callbacks run. A callback therefore
 *     means "durable", and a publish is confirmed only from its callback.
 *   - A publish may also have a committed callback, run after its transaction
 *     is committed and before it is synced: the alert is then in the store
 *     (a replay reads it, a crash of the broker keeps it) but a power failure
 *     could still lose it. Committed callbacks run in commit order, each
 *     before its operation's callback, and only for STORE_OK; if the sync
 *     then fails, the callback gets STORE_FAILED.
 *   - A fetch completes at its commit when the reservation of its cursors
 *     (store_fetch) was synced before and covers every row it sends: its
 *     callback then runs with the committed callbacks (res->at_commit),
 *     since a power failure could lose the sent it wrote but not the
 *     reservation above it. Otherwise it completes after the sync.
 *   - Callbacks run on the event-loop thread, in the order the operations
 *     were queued (a fetch completed at its commit: in commit order). An operation that fails (disk full, I/O error) fails alone:
 *     its callback gets STORE_FAILED and a message; the others in its
 *     transaction are unaffected unless the commit itself fails, in which case
 *     they all fail. Nothing of a failed operation is kept, and its result
 *     carries no rows (nrows 0), whatever it read before it failed.
 *   - Inputs are copied when queued; results are valid only during the
 *     callback.
 *   - store_close() finishes queued work and discards callbacks not yet run.
 */
#ifndef CCC_STORE_H
#define CCC_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <event2/event.h>

struct store;

/*
 * Severity levels (proto SEVERITY_*, 0 unspecified to 4 critical): a
 * durable subscription has one cursor per level, and reads its backlog
 * most severe first.
 */
#define STORE_SEVERITIES	5

enum store_status {
	STORE_OK,
	STORE_DUPLICATE,	/* publish: same origin, id and content as before */
	STORE_CONFLICT,		/* publish: same origin and id, other content */
	STORE_ID_TAKEN,		/* publish: the id names another origin's alert; receipts, alert: a store from before ids were unique gave it to several origins */
	STORE_FAILED,		/* the operation was not carried out */
	STORE_NOT_FOUND,	/* receipts: no such alert of that origin; alert: no such alert; decide: no such pending proposal */
	STORE_STALE,		/* registry: the newest revision is not the base */
	STORE_RESTRICTED,	/* publish: re-disseminates another endpoint's restricted alert (error says which) */
};

/*
 * A registry revision or a proposal for one (store_registry_list). Strings
 * are never NULL.
 */
struct store_regrec {
	uint64_t	 id;		/* revision number, or proposal id */
	uint64_t	 base;		/* proposal: the revision it was made against */
	int64_t		 created_at;
	const char	*author;	/* revision: who changed it; proposal: proposer */
	const char	*approved_by;	/* revision: the second operator; proposal: who decided */
	const char	*source;	/* revision: file, admin, rollback */
	const char	*comment;
	const char	*changes;	/* one change per line */
	const char	*reasons;	/* proposal: why it needs approval, one per line */
	const char	*state;		/* proposal: pending, approved, rejected, stale */
	const char	*document;	/* the registry (YAML); "" unless asked for */
	const char	*file_digest;	/* revision from the registry file: SHA-256 of the file, hex */
};


/* What the audit journal says one recipient got of an alert. */
struct store_receipt {
	const char	*alert_id;	/* ack results: the alert acknowledged */
	const char	*origin;	/* ack results: who published it */
	const char	*endpoint;
	int64_t		 delivered_at;
	int64_t		 acked_at;	/* 0: not acknowledged */
	uint32_t	 deliveries;
	bool		 transfer;
};

/* One endpoint's durable backlog, for metrics (store_counts). */
struct store_backlog {
	const char	*endpoint;
	uint64_t	 open;		/* alerts not settled yet: waiting or in flight (the cursors' pending) */
	uint64_t	 dead;		/* alerts in the dead-letter list (dead marks) */
};

/*
 * One record of the audit journal: who did what, when, from where, to which
 * alert, for whom. Records are chained: each carries the SHA-256 of the
 * previous record and of itself, so that an edit anywhere breaks the chain
 * (store_verify_audit). Strings may be NULL (stored as "").
 */
struct audit_rec {
	const char	*event;		/* publish, deliver, ack, subscribe, session_open, ... */
	const char	*endpoint;	/* the endpoint acting (or receiving, for deliver) */
	const char	*subject;	/* its certificate subject */
	const char	*fingerprint;	/* SHA-256 of its certificate, hex */
	const char	*peer;		/* remote address */
	const char	*alert;		/* alert id */
	const char	*detail;	/* topic, recipients, reason */
	bool		 transfer;	/* a disclosure from a BG or GR endpoint to a TR one */
};

/* A new registry revision, or a proposal for one. */
struct store_regchange {
	uint64_t	 base;		/* refused (STORE_STALE) unless the newest revision is base */
	const char	*author;
	const char	*approved_by;	/* "" when it needed no approval */
	const char	*source;	/* file, admin, rollback */
	const char	*comment;
	const char	*changes;	/* one change per line */
	const char	*reasons;	/* proposals: why approval is needed */
	const char	*document;	/* the whole registry, YAML */
	const char	*file_digest;	/* "" unless it comes from the registry file */
	uint64_t	 proposal;	/* commit: the approved proposal it carries out (0: none) */
	char *const	*inboxes;	/* commit: endpoints whose inbox must exist */
	size_t		 ninboxes;
	struct audit_rec audit;		/* written in the same transaction */
};

/* One stored alert, as a fetch or a history read gives it. */
struct store_row {
	uint64_t	 tag;		/* the alert's seq: its place in the log, the delivery tag */
	uint32_t	 attempts;	/* fetch: deliveries to the subscription before this one */
	const char	*alert_id;
	const char	*origin;
	const char	*topic;
	const uint8_t	*body;		/* the stamped alert, protobuf-encoded */
	size_t		 body_len;
};

struct store_result {
	enum store_status	 status;
	const char		*error;		/* STORE_FAILED: why; STORE_RESTRICTED: for the client */
	const char		*detail;	/* STORE_RESTRICTED: the same, naming the
						   alert's origin (log and audit only) */
	int64_t			 published_at;	/* publish (OK, DUPLICATE): the stored time */
	uint64_t		 seq;		/* publish (OK): the alert's place in publishing order; purge: the last alert looked at */
	uint64_t		 dsub_id;	/* subscribe: the durable subscription */
	struct store_row	*rows;		/* fetch, history, alert */
	size_t			 nrows;
	size_t			 dead;		/* fetch: alerts moved to the dead-letter list */
	size_t			 expired;	/* fetch: alerts dropped because they expired */
	bool			 at_commit;	/* fetch: called back at the commit, not
						   after the sync (its rows lie within a
						   reservation synced before) */
	uint64_t		 next[STORE_SEVERITIES]; /* fetch: per severity, the last
						   position looked at (the next
						   fetch may start after it) */
	size_t			 purged;	/* purge: rows deleted */
	bool			 more;		/* purge: a batch was full, run again */
	struct store_receipt	*receipts;	/* receipts, by endpoint */
	size_t			 nreceipts;
	uint64_t		 id;		/* registry commit: the revision; propose: the proposal */
	uint64_t		*ids;		/* registry commit: inbox ids, as the inboxes asked */
	struct store_regrec	*regrecs;	/* registry list */
	size_t			 nregrecs;
	uint64_t		 newest;	/* registry ops: the newest revision */
	struct store_backlog	*backlogs;	/* counts: by endpoint, in name order */
	size_t			 nbacklogs;
	uint64_t		 db_bytes;	/* counts: size of the database file */
	uint64_t		 wal_bytes;	/* counts: size of its write-ahead log */
};

typedef void	store_cb(void *arg, const struct store_result *res);

/* A durable subscription as loaded at start-up. */
struct store_dsub {
	uint64_t	 id;
	char		*endpoint;
	char		*name;
	char		**patterns;
	size_t		 npatterns;
};

struct store_publish {
	const char	*id;
	const char	*origin;
	const char	*topic;
	int64_t		 published_at;
	int64_t		 expires_at;	/* 0: never */
	int		 severity;	/* backlogs are delivered by severity first */
	uint8_t		 digest[32];	/* SHA-256 of the alert as the client sent it, with its id */
	const uint8_t	*body;		/* the stamped alert, encoded */
	size_t		 body_len;
	const uint64_t	*dsubs;		/* durable subscriptions that match */
	size_t		 ndsubs;
	/*
	 * Disclosure: restricted marks an alert recipients may not
	 * re-disseminate. The publish fails with STORE_RESTRICTED when id or one
	 * of refs names a restricted alert of another origin.
	 */
	bool		 restricted;
	char *const	*refs;
	size_t		 nrefs;
	/*
	 * An exercise alert (topic under exercise/): stored without a
	 * "publish" record and acknowledged without "ack" records (unless
	 * store_journal_exercise), removed by store_exercise_purge.
	 */
	bool		 exercise;
	/*
	 * The publish's audit record, written in the same transaction; its
	 * event becomes "publish", "publish_duplicate" or "publish_conflict".
	 */
	struct audit_rec audit;
};

/*
 * Open (creating if needed) the store in data_dir, apply schema migrations,
 * verify its integrity (or start a thread that does, when the last run
 * closed it cleanly after a check: store_check_at_start), and start the
 * writer thread. Callbacks will run on
 * base. NULL with err set ("store DIR/ccc.db: why") on failure. Refuses a
 * store that lost committed transactions: a write-ahead log damaged before
 * its end, or an audit journal that does not reach the record anchored in
 * DIR/ccc.db-head at the last sync — unless store_accept_loss(true) was
 * called, which logs and journals ("store_loss") what was lost and goes on.
 */
struct store	*store_open(struct event_base *base, const char *data_dir,
		    char *err, size_t errlen);
void		 store_close(struct store *st);

/*
 * At start-up only, synchronously, before any operation is queued: every
 * durable subscription.
 */
int		 store_load_dsubs(struct store *st, struct store_dsub **out,
		    size_t *n, char *err, size_t errlen);
void		 store_free_dsubs(struct store_dsub *v, size_t n);
/* At start-up only, like store_load_dsubs: the seq of the newest alert (0: none). */
uint64_t	 store_last_seq(struct store *st);
/*
 * At start-up only, likewise: the time the last retention run expected
 * (store_purge's expect) or, when none has run, the time of the newest alert
 * or audit record; microseconds since the epoch (0: none).
 */
int64_t		 store_retention_time(struct store *st);

/*
 * Store a stamped alert in the log, with its durable recipients (the
 * matching durable subscriptions, on the alert's row) and one more
 * pending alert on each recipient's cursor for the alert's severity: no
 * row per delivery. An id names one alert in the whole store: STORE_DUPLICATE
 * when (origin, id) exists with the same digest (nothing is stored or
 * queued again; published_at is the original), STORE_CONFLICT when it
 * exists with another digest, STORE_ID_TAKEN when the id is another
 * origin's (nothing of the other alert is returned).
 */
void	store_publish(struct store *st, const struct store_publish *p,
	    store_cb *committed, store_cb *cb, void *arg);
/* Create the durable subscription (endpoint, name); res->dsub_id. */
void	store_subscribe(struct store *st, const char *endpoint, const char *name,
	    char *const *patterns, size_t npatterns, store_cb *cb, void *arg);
/*
 * Delete a durable subscription with its cursors and marks (alerts keep
 * naming its id among their recipients: ids are never reused).
 */
void	store_forget(struct store *st, uint64_t dsub_id, store_cb *cb, void *arg);
/*
 * Up to limit alerts of dsub_id's log that are not settled and not in
 * exclude (the positions in flight), most severe first and in publishing
 * order within a severity, each counted as one more delivery; only alerts
 * whose publish is synced are read (a later one is fetched after its
 * publish has called back). start[sev]
 * is where the scan of a severity may start (positions at or below it were
 * looked at since the caller last started afresh; 0: from the floor).
 * Alerts already delivered max_attempts times are moved to the dead-letter
 * list instead (res->dead); expired ones are dropped (res->expired).
 * res->next gives, per severity, the last position looked at. Its cost is
 * the rows read, not the size of the backlog. max_bytes (0: none) bounds
 * the bodies of the rows returned: the fetch stops before the row that
 * would pass it, the first row excepted, so that it always makes progress.
 *
 * Each cursor keeps, beside sent (the highest position sent), a
 * reservation at or above it. A fetch writes sent in its transaction; when
 * it sends a position above the reservation it raises the reservation to
 * that position plus reserve (0: none ahead) and completes after the sync,
 * as does any fetch while a raise is not synced yet; otherwise it
 * completes at its commit (res->at_commit). At every open each cursor's
 * sent becomes its reservation, down to the last position the log has
 * given (after a crash: the reserved positions not sent count as sent
 * once, yet each is sent before max_attempts can dead-letter it); a clean
 * close brings the reservations down to sent.
 */
void	store_fetch(struct store *st, uint64_t dsub_id, const uint64_t *exclude,
	    size_t nexclude, size_t limit, size_t max_bytes, uint32_t max_attempts,
	    const uint64_t start[STORE_SEVERITIES], uint64_t reserve,
	    store_cb *cb, void *arg);
/*
 * Settle the alerts at positions tags (the delivery tags of one Ack frame)
 * that dsub_id has unsettled: the cursor's floor moves past them, or they
 * are marked acknowledged above it. Tags of alerts the subscription is not
 * a recipient of, or has settled, are ignored. One "ack" record from audit
 * (its detail the subscription's name) names all the alerts acknowledged
 * (none for exercise alerts unless store_journal_exercise): the single-alert
 * form for one, the batch form for several (store_audit_sent).
 * res->receipts lists what was acknowledged (alert_id, origin, acked_at;
 * endpoint is audit->endpoint). cb may be NULL.
 */
void	store_ack(struct store *st, uint64_t dsub_id, const uint64_t *tags,
	    size_t ntags, const struct audit_rec *audit, store_cb *cb, void *arg);
/*
 * Receipts of the alert (origin, alert_id), from the audit journal: every
 * recipient with its first delivery and its acknowledgement, counted from
 * the alert's publish record on (not those of an earlier alert of the id
 * that retention deleted). STORE_NOT_FOUND when origin published no such
 * alert; STORE_ID_TAKEN when a store from before ids were unique across
 * origins gave the id to alerts of several origins, whose journal records
 * cannot be told apart. The query is recorded in the journal.
 */
void	store_receipts(struct store *st, const char *origin, const char *alert_id,
	    const struct audit_rec *audit, store_cb *cb, void *arg);
/*
 * One stored alert by its id (an id names one alert whatever its origin):
 * res->rows[0] (nrows 1; tag = seq, alert_id, origin, topic, body), with
 * audit's record (audit_consult(), event "consult") written in the same
 * transaction, its detail followed by " topic=TOPIC". STORE_NOT_FOUND,
 * and no record, when there is no such alert, or it is an exercise alert
 * (exercise/ topics: load, never shown), or retention deleted it;
 * STORE_ID_TAKEN, and no record, when a store from before ids were unique
 * across origins gave the id to alerts of several origins (which one was
 * meant cannot be told; receipts refuse them alike). Reads nothing else
 * and changes nothing else. Whether the asker may see the alert is the
 * caller's to decide: the record says the store read it out for the asker.
 */
void	store_alert(struct store *st, const char *alert_id,
	    const struct audit_rec *audit, store_cb *cb, void *arg);
/*
 * History: up to limit stored alerts with published_at >= since and
 * after_seq < seq <= upto_seq, in publishing order (res->rows, tag = seq).
 * The read is recorded in the audit journal.
 */
void	store_history(struct store *st, int64_t since, uint64_t after_seq,
	    uint64_t upto_seq, size_t limit, const struct audit_rec *audit,
	    store_cb *cb, void *arg);
/*
 * Retention at time now (microseconds since the epoch), when the broker
 * expects the time expect (kept for store_retention_time): delete up to batch
 * alerts published more than retain_alerts seconds before now (with their
 * marks) that no durable subscription still has unsettled (a recipient
 * whose cursor's floor is below it, without a mark saying it was
 * acknowledged, dead-lettered or dropped as expired), and up
 * to batch audit records older than retain_audit seconds with their
 * receipts index rows (0: none of either). The purge is recorded in the journal with what it removed, the
 * cut-offs and the retentions ("alerts=N audit=M audit_through=SEQ
 * hash=HEX alerts_before=US audit_before=US retention_alerts=S
 * retention_audit=S"), which lets store_verify_audit check the first
 * remaining record and that the purge fits its retention. res->purged is
 * the number of rows deleted, res->more says a batch was full (run
 * again), and res->seq is the last alert the batch looked at: the next
 * batch of the run passes it as after_seq (0 at the start of a run), so
 * that the alerts kept are read once per run, not once per batch.
 */
void	store_purge(struct store *st, int64_t now, int64_t expect,
	    uint32_t retain_alerts, uint32_t retain_audit, size_t batch,
	    uint64_t after_seq, store_cb *cb, void *arg);
/*
 * Delete every exercise alert (store_publish's exercise) that no durable
 * subscription still has unsettled, with its marks; res->purged says
 * how many. The removal runs in steps, each in its own transaction and
 * looking at no more than store_exercise_step's number of exercise
 * alerts, by seq from where the step before stopped, so that the
 * operations queued meanwhile run between steps, and ending at the
 * highest seq given when the first step ran (those published later wait
 * for the next removal); cb is called once, when the last step is synced. At most one removal runs at a time: requests
 * made while one runs are served together by the next, which begins when
 * it ends. When audit is not NULL, its record is written in the last
 * step's transaction with " removed=N" appended to its detail, N the
 * alerts the whole removal that served it deleted (those of the other
 * requests it served too).
 */
void	store_exercise_purge(struct store *st, const struct audit_rec *audit,
	    store_cb *cb, void *arg);
/*
 * Exercise alerts one step of store_exercise_purge looks at (0: the
 * default, 2,000), for removals asked from now on.
 */
void	store_exercise_step(struct store *st, size_t alerts);
/*
 * At start-up, before any operation is queued: journal exercise alerts'
 * publishes and acknowledgements one by one, as live ones (bench.journal).
 */
void	store_journal_exercise(struct store *st, bool per_alert);
/*
 * Registry revisions. Commit: a new revision numbered base + 1, with the
 * inbox of every endpoint in inboxes created if missing (res->ids), the
 * approved proposal marked so, every other pending proposal (all made
 * against an older revision now) marked stale, and the audit record;
 * STORE_STALE when base is not the newest revision (res->newest says which
 * is).
 */
void	store_registry_commit(struct store *st, const struct store_regchange *c,
	    store_cb *cb, void *arg);
/* Record a proposal awaiting approval (res->id); STORE_STALE as above. */
void	store_registry_propose(struct store *st, const struct store_regchange *c,
	    store_cb *cb, void *arg);
/*
 * Close a pending proposal as rejected or stale, with who decided and an
 * audit record; STORE_NOT_FOUND when it is not pending.
 */
void	store_registry_decide(struct store *st, uint64_t proposal,
	    const char *state, const char *by, const struct audit_rec *audit,
	    store_cb *cb, void *arg);
/*
 * List revisions (proposals false) or proposals, newest first: one when id
 * is not 0, else up to limit (pending ones only, for proposals, unless all).
 * with_document fills in the registry text. res->newest is set.
 */
void	store_registry_list(struct store *st, bool proposals, uint64_t id,
	    size_t limit, bool all, bool with_document, store_cb *cb, void *arg);
/*
 * At start-up only, like store_load_dsubs: the newest revision (*rev 0 and
 * *doc NULL: none yet), whether it came from the registry file, and the
 * digest of the last one that did. The caller frees *doc and *file_digest.
 */
int	store_registry_newest(struct store *st, uint64_t *rev, char **doc,
	    char **file_digest, bool *by_file, char *err, size_t errlen);
/* At start-up only: store_registry_commit, synchronously. */
int	store_registry_commit_now(struct store *st,
	    const struct store_regchange *c, char *err, size_t errlen);

/* Append a record to the audit journal. */
void	store_audit(struct store *st, const struct audit_rec *rec);
/* Append n records, in order, as one operation (all or none). */
void	store_audit_batch(struct store *st, const struct audit_rec *v, size_t n);
/*
 * One record for a batch of alerts (a durable subscription's fetch sent,
 * or acknowledged): rec as given with its alert and detail set from the
 * alerts named (ids alerts, their seqs seqs). One alert: the single-alert
 * form (alert its id, detail single_detail). Several: the batch form
 * (alert "", detail "subscription=NAME alerts=ID,ID,..." with NAME
 * rec->detail), and its rows in the index receipts read, in the same
 * transaction: the seqs cut into spans of nearby positions, one row each,
 * not a row per alert; the record's hash covers the list.
 */
void	store_audit_sent(struct store *st, const struct audit_rec *rec,
	    const char *const *alerts, const uint64_t *seqs, size_t n,
	    const char *single_detail);

/*
 * For metrics, reading only: per endpoint that has durable subscriptions,
 * its alerts not settled (the cursors' pending counts) and its dead
 * letters (res->backlogs), and the sizes of the database and write-ahead
 * log files. Its cost is the cursors and the dead marks (a partial index),
 * not the size of the log.
 */
void	store_counts(struct store *st, store_cb *cb, void *arg);

/*
 * The store's integrity check (store.check_at_start): run before serving
 * (passed, or the broker did not start), or after start-up on a thread of
 * its own when the last run closed the store cleanly after a check.
 */
enum store_check {
	STORE_CHECK_PASSED,	/* before serving, or since */
	STORE_CHECK_RUNNING,	/* in the background, since start-up */
	STORE_CHECK_FAILED,	/* damage found, by the check or by an
				   operation: nothing is stored (damaged) */
	STORE_CHECK_NOT_RUN,	/* could not run: checked before serving next time */
};

/* What the loop knows of the store's health (store_health). */
struct store_health {
	bool		 write_ok;	/* the last operation that writes succeeded */
	const char	*error;		/* !write_ok: why not (valid until the next callback) */
	bool		 files_lost;	/* !write_ok: the store's files were removed or
					   replaced (error says so); until restarted */
	bool		 damaged;	/* !write_ok: the integrity check after
					   start-up found damage, or an operation
					   met it (error says which); until
					   repaired and restarted */
	enum store_check check;		/* the integrity check of this run */
	size_t		 pending;	/* operations queued, not called back yet */
	int64_t		 waiting_us;	/* pending > 0: time since the writer last handed
					   back a batch, or since the queue was empty */
	/*
	 * Since open, counted as the store's threads finish them (so a
	 * moment ahead of the callbacks): operations carried out (failed
	 * ones included), the transactions they were committed or rolled
	 * back in, and the syncs of transactions that wrote. Operations per
	 * transaction is the group commit at work.
	 */
	uint64_t	 operations;
	uint64_t	 transactions;
	uint64_t	 syncs;
};
/* Fill h; loop thread, never blocks. */
void	store_health(const struct store *st, struct store_health *h);
/*
 * Did the last run close the store cleanly (every session closed, every
 * queued operation carried out and synced)? Then nothing a crash leaves
 * behind (exercise alerts of sessions never closed) is there.
 */
bool	store_closed_clean(const struct store *st);
/*
 * The offline commands below read the files of a store that is not open,
 * so no open store chooses the backend: they are the SQLite backend's.
 */
/*
 * Offline: walk the audit journal of the store in data_dir and check every
 * link of the chain, and that every purge record fits its retention: its
 * cut-offs no later than its own time less the retention it states, and no
 * record after it dated more than max_jump seconds before the time it
 * purged as of (a cut-off plus its retention). Returns 0 when
 * intact, 1 when broken or a purge does not fit (report names the first such
 * record), -1 when the store cannot be read; report says which.
 */
int	store_verify_audit(const char *data_dir, uint32_t max_jump,
	    char *report, size_t len);
/*
 * Offline, after store_verify_audit: is anything newer missing? The
 * write-ahead log must hold no committed transaction after a damaged frame,
 * and the journal must reach the record anchored in ccc.db-head. Returns 0
 * (report says what was checked), 1 when records are missing (report says
 * which), -1 when the store cannot be read.
 */
int	store_verify_head(const char *data_dir, char *report, size_t len);
/* Start-up (--accept-store-loss): let store_open() go on after a loss. */
void	store_accept_loss(bool accept);
/*
 * Start-up (store.check_at_start): always, store_open() checks the
 * store's integrity before it returns; otherwise only when the last run
 * did not close it cleanly after a check that passed, and else a thread
 * of the store checks it once the broker serves: damage found then makes
 * every operation fail (store_health: damaged) until a restart, as damage
 * an operation meets does at any time.
 */
void	store_check_at_start(bool always);
/*
 * Offline: print the dead-letter list of the store in data_dir to fp (one
 * line per alert: endpoint, durable subscription, alert id, topic, delivery
 * attempts, time published). Returns the number listed, or -1 with err set.
 */
long	store_list_dead(const char *data_dir, FILE *fp, char *err, size_t len);

#endif
