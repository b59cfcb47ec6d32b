/*
 * store_audit.h — the audit chain's hashing and purge checks, and the
 * spans of the receipts index, shared by the store's backend and its
 * offline verification (store_audit.c). Private to the store.
 *
 * Owns: the declarations of the chain's hashing and purge checks; the
 * bound on a span of the receipts index (STORE_SPAN).
 * Must never: be included outside the store.
 */
#ifndef CCC_STORE_AUDIT_H
#define CCC_STORE_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define AUDIT_NTEXT	7	/* text fields of struct audit_rec, in order */

/*
 * The receipts index (audit_spans) has a batch record's positions (alert
 * seqs), ascending, as spans [lo, hi] of width hi - lo at most
 * STORE_SPAN, one row each: a lookup of position X reads the rows whose
 * lo is in [X - STORE_SPAN, X] (one range of the index) and keeps those
 * with hi >= X whose record names the alert. About four times the default
 * durable.window: a full window of a subscription that gets a quarter of
 * the log or more is one row; a lookup reads the spans that start in the
 * 4096 positions before X, about two (a "deliver" and an "ack") per batch
 * each subscription had there. Wider spans would read more rows per
 * receipt, narrower ones write more per batch. Rows written with a bound
 * stay in the store: it may grow, never shrink. A plain number: the
 * migration's and the lookup's SQL spell it (STORE_SPAN_SQL).
 */
#define STORE_SPAN	4096
#define STORE_SPAN_STR_(x)	#x
#define STORE_SPAN_STR(x)	STORE_SPAN_STR_(x)
#define STORE_SPAN_SQL	STORE_SPAN_STR(STORE_SPAN)

/* Audit record hashes: the digest fetched once, a buffer kept. */
struct store_hasher {
	EVP_MD_CTX	*ctx;
	EVP_MD		*md;
	uint8_t		*buf;		/* one record's hashed bytes */
	size_t		 cap;
};

/* The latest purge seen by store_verify_audit, and the bound it allows. */
struct store_purge_seen {
	int64_t	 slack;		/* retention.max_clock_jump, microseconds */
	int64_t	 seq;		/* the purge that purged as of the latest time */
	int64_t	 asof;		/* that time (0: none yet) */
};

/* 0, or -1 when SHA-256 is not available. */
int	 store_hasher_init(struct store_hasher *);
void	 store_hasher_free(struct store_hasher *);
/* v as n bytes big-endian at p; returns p + n. */
uint8_t	*store_put_be(uint8_t *p, uint64_t v, int n);
void	 store_audit_hash(struct store_hasher *h, const uint8_t prev[32],
	    int64_t seq, int64_t at, const char *const text[AUDIT_NTEXT],
	    int transfer, uint8_t out[32]);
/* n bytes of b as 2n lowercase hex digits and a NUL into out. */
void	 store_hex(const uint8_t *b, size_t n, char *out);
bool	 store_verify_purge(struct store_purge_seen *ps, int64_t seq,
	    int64_t at, const char *event, const char *detail, char *report,
	    size_t len);
/*
 * The span that starts at pos[i] of pos[0..n) (ascending, repeats
 * allowed; i < n): the positions after it up to STORE_SPAN beyond
 * pos[i]. Returns the index after its last position (at most n), so that
 * for (i = 0; i < n; i = j) j = store_span_end(pos, n, i) cuts pos into
 * the fewest spans.
 */
size_t	 store_span_end(const uint64_t *pos, size_t n, size_t i);
/*
 * Does a batch record's detail ("subscription=NAME alerts=ID,ID,...")
 * name the alert id? Exact: the list is what follows the first " alerts="
 * (a durable subscription's name has neither spaces nor commas, an alert
 * id no comma), and id must be one of its items. False for a detail of
 * another form. The receipts query tests the same in SQL.
 */
bool	 store_names_alert(const char *detail, const char *id);

#endif
