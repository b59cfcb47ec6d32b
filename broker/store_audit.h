/*
 * store_audit.h — the audit chain's hashing and purge checks, shared by
 * the store's backend and its offline verification (store_audit.c).
 * Private to the store.
 *
 * Owns: the declarations of the chain's hashing and purge checks.
 * Must never: be included outside the store.
 */
#ifndef CCC_STORE_AUDIT_H
#define CCC_STORE_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define AUDIT_NTEXT	7	/* text fields of struct audit_rec, in order */

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

#endif
