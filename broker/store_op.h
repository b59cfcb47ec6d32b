/*
 * store_op.h — a queued store operation, private to the store: shared by
 * the backend-neutral core (store.c), which makes, queues, completes and
 * frees operations, and the backend (store_sqlite.c), which carries them
 * out. Nothing else includes it; the rest of the broker sees store.h.
 *
 * Owns: the layout of struct store_op, a tagged union keyed by its kind.
 * Must never: give a field two meanings (a kind's inputs are its own
 * member of the union); be included outside the store.
 */
#ifndef CCC_STORE_OP_H
#define CCC_STORE_OP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "store_audit.h"

/* What an operation does; names the member of struct store_op's u it uses. */
enum store_kind { OP_PUBLISH, OP_SUBSCRIBE, OP_FORGET, OP_FETCH, OP_ACK,
    OP_AUDIT, OP_RECEIPTS, OP_HISTORY, OP_PURGE, OP_REG_COMMIT, OP_REG_PROPOSE,
    OP_REG_DECIDE, OP_REG_LIST, OP_COUNTS, OP_EXERCISE, OP_ALERT };

/* Text fields of struct store_regchange, in order. */
enum { RC_AUTHOR, RC_APPROVED_BY, RC_SOURCE, RC_COMMENT, RC_CHANGES,
    RC_REASONS, RC_DOCUMENT, RC_FILE_DIGEST, RC_NTEXT };

/* An owned copy of an audit record. */
struct audit_copy {
	bool	 present;
	char	*text[AUDIT_NTEXT];	/* event endpoint subject fingerprint peer alert detail */
	bool	 transfer;
};

/* Inputs of a publish (store_publish). */
struct store_op_publish {
	char		*id, *origin, *topic;
	int64_t		 published_at;
	int64_t		 expires_at;	/* 0: never */
	int		 severity;
	uint8_t		 digest[32];	/* of the alert as the client sent it */
	uint8_t		*body;		/* the stamped alert, encoded */
	size_t		 body_len;
	uint64_t	*dsubs;		/* durable subscriptions that match */
	size_t		 ndsubs;
	bool		 restricted;	/* recipients may not re-disseminate it */
	char		**refs;		/* alerts it references */
	size_t		 nrefs;
	bool		 exercise;	/* an exercise alert (topic under exercise/) */
	bool		 journal_exercise; /* journal it as a live one (bench.journal) */
};

/* Inputs of store_subscribe. */
struct store_op_subscribe {
	char		*endpoint, *name;
	char		*patterns;	/* one per line */
};

/* Inputs of store_forget. */
struct store_op_forget {
	uint64_t	 dsub_id;
};

/* Inputs of store_fetch. */
struct store_op_fetch {
	uint64_t	 dsub_id;
	uint64_t	*exclude;	/* positions in flight, sorted */
	size_t		 nexclude;
	size_t		 limit;
	size_t		 max_bytes;	/* bodies of the rows sent, the first row
					   whatever its size (0: no bound) */
	uint32_t	 max_attempts;
	uint64_t	 start[STORE_SEVERITIES]; /* per severity: scan after it (0: the floor) */
	uint64_t	 reserve;	/* positions a raised reservation goes past
					   the highest sent (0: none ahead) */
};

/* Inputs of store_ack. */
struct store_op_ack {
	uint64_t	 dsub_id;
	uint64_t	*tags;		/* positions, sorted, without duplicates */
	size_t		 ntags;
	bool		 journal_exercise; /* journal acks of exercise alerts */
};

/* Inputs of store_audit and store_audit_batch (recs), store_audit_sent (alerts). */
struct store_op_audit {
	struct audit_copy *recs;	/* in order (none: the op's audit record) */
	size_t		 nrecs;
	char		**alerts;	/* store_audit_sent: the alerts the op's one record names */
	uint64_t	*seqs;		/* store_audit_sent: their seqs */
	size_t		 nalerts;
	char		*single_detail;	/* store_audit_sent: the detail of the single-alert form */
};

/* Inputs of store_receipts. */
struct store_op_receipts {
	char		*origin, *id;
};

/* Inputs of store_alert. */
struct store_op_alert {
	char		*id;
};

/* Inputs of store_history. */
struct store_op_history {
	int64_t		 since;
	uint64_t	 after_seq, upto_seq;
	size_t		 limit;
};

/* Inputs of store_purge. */
struct store_op_purge {
	int64_t		 alerts_before;	/* cut-off of alerts (0: none purged) */
	int64_t		 audit_before;	/* cut-off of audit records (0: none) */
	int64_t		 expect;	/* the time the broker expects */
	uint32_t	 retain_alerts, retain_audit;	/* seconds */
	size_t		 limit;		/* rows of each per run */
	uint64_t	 after_seq;	/* alerts: the run's cursor (res.seq before) */
};

/*
 * Inputs of store_exercise_purge: one step of a removal of exercise alerts,
 * the writer's continuation of its run, and the requests the run serves.
 */
struct store_op_exercise {
	uint64_t	 after_seq;	/* the step looks at exercise alerts after it */
	size_t		 limit;		/* exercise alerts one step looks at */
	size_t		 removed;	/* removed by the run's steps before this one */
	uint64_t	 last_seq;	/* backend: the highest seq given when the run's
					   first step ran, where it ends (0: not yet) */
	bool		 started;	/* writer: its run began (not a fresh request) */
	bool		 wrote;		/* writer: a step of its run before this one wrote */
	struct store_op	*joined;	/* writer: requests the same run serves, by next */
};

/* Inputs of store_registry_commit and store_registry_propose. */
struct store_op_regchange {
	char		*text[RC_NTEXT];
	uint64_t	 base;
	uint64_t	 proposal;	/* commit: the approved proposal (0: none) */
	char		**inboxes;	/* commit: endpoints whose inbox must exist */
	size_t		 ninboxes;
};

/* Inputs of store_registry_decide. */
struct store_op_decide {
	uint64_t	 proposal;
	char		*state, *by;
};

/* Inputs of store_registry_list. */
struct store_op_reglist {
	bool		 proposals;	/* proposals, not revisions */
	uint64_t	 id;		/* one (0: up to limit) */
	size_t		 limit;
	bool		 all, with_doc;
};

/*
 * One queued operation. The header fields are common to every kind; the
 * inputs are the member of u that kind names (owned copies; counts has
 * none).
 */
struct store_op {
	struct store_op		*next;		/* queue, then syncer, then done list */
	struct store_op		*cnext;		/* committed list */
	enum store_kind		 kind;		/* which member of u */
	store_cb		*committed_cb;	/* publish: after the commit, before the sync */
	store_cb		*cb;
	void			*arg;
	bool			 wrote;		/* its transaction changed the database */
	struct store_result	 cres;		/* the result for committed_cb (and for
						   cb, when cres.at_commit) */
	bool			 called;	/* loop: cb ran at the commit */
	struct audit_copy	 audit;		/* its audit record, when it writes one */
	union {
		struct store_op_publish	  publish;	/* OP_PUBLISH */
		struct store_op_subscribe subscribe;	/* OP_SUBSCRIBE */
		struct store_op_forget	  forget;	/* OP_FORGET */
		struct store_op_fetch	  fetch;	/* OP_FETCH */
		struct store_op_ack	  ack;		/* OP_ACK */
		struct store_op_audit	  audit;	/* OP_AUDIT */
		struct store_op_receipts  receipts;	/* OP_RECEIPTS */
		struct store_op_history	  history;	/* OP_HISTORY */
		struct store_op_alert	  alert;	/* OP_ALERT */
		struct store_op_purge	  purge;	/* OP_PURGE */
		struct store_op_exercise  exercise;	/* OP_EXERCISE */
		struct store_op_regchange reg;		/* OP_REG_COMMIT, OP_REG_PROPOSE */
		struct store_op_decide	  decide;	/* OP_REG_DECIDE */
		struct store_op_reglist	  list;		/* OP_REG_LIST */
	}			 u;
	/* result */
	struct store_result	 res;
	char			 error[256];
	void			**blobs;	/* copies the result points into */
	size_t			 nblobs;
};

/* Compare two delivery tags (qsort, bsearch). */
int	store_tag_cmp(const void *, const void *);

#endif
