/*
 * store_audit.c — the audit journal's chain, independent of where the
 * records are kept: the hash of one record chained to the one before, and
 * the checks that a purge record fits its retention; how a batch record's
 * positions are cut into the spans of the receipts index, and whether its
 * detail names an alert. The backend stores the records
 * (store_sqlite_journal.c) and walks them for --verify-audit
 * (store_offline.c).
 *
 * Owns: the bytes a record's hash covers, the format of a purge record's
 * numbers as read back, the cut of positions into spans.
 * Must never: change how a record is hashed (every stored chain would
 * break); narrow the bound of a span (the receipts lookup would miss the
 * rows written with the wider one); read or write a store.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "log.h"
#include "store_audit.h"
#include "timeutil.h"
#include "xmalloc.h"

int
store_hasher_init(struct store_hasher *h)
{
	memset(h, 0, sizeof(*h));
	if ((h->ctx = EVP_MD_CTX_new()) == NULL ||
	    (h->md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL) {
		EVP_MD_CTX_free(h->ctx);
		h->ctx = NULL;
		return -1;
	}
	return 0;
}

void
store_hasher_free(struct store_hasher *h)
{
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
	free(h->buf);
	memset(h, 0, sizeof(*h));
}

uint8_t *
store_put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		*p++ = (uint8_t)(v >> (8 * (n - 1 - i)));
	return p;
}

/*
 * The hash of one audit record: SHA-256 over the previous record's hash, the
 * sequence number and time (8 bytes big-endian each), every text field as a
 * 4-byte big-endian length and its bytes, and the transfer flag (1 byte).
 * The bytes are laid out in h's buffer and hashed at once, with the digest
 * fetched once (an implicit fetch per record cost more than the hash).
 */
void
store_audit_hash(struct store_hasher *h, const uint8_t prev[32], int64_t seq,
    int64_t at, const char *const text[AUDIT_NTEXT], int transfer,
    uint8_t out[32])
{
	size_t len[AUDIT_NTEXT], need = 32 + 16 + 1;
	unsigned int mdlen = 32;
	uint8_t *p;

	for (int i = 0; i < AUDIT_NTEXT; i++)
		need += 4 + (len[i] = strlen(text[i]));
	if (need > h->cap) {
		h->cap = need + 1024;
		h->buf = xreallocarray(h->buf, h->cap, 1);
	}
	p = h->buf;
	memcpy(p, prev, 32);
	p = store_put_be(p + 32, (uint64_t)seq, 8);
	p = store_put_be(p, (uint64_t)at, 8);
	for (int i = 0; i < AUDIT_NTEXT; i++) {
		p = store_put_be(p, (uint32_t)len[i], 4);
		memcpy(p, text[i], len[i]);
		p += len[i];
	}
	*p++ = (uint8_t)(transfer != 0);
	if (EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1 ||
	    EVP_DigestUpdate(h->ctx, h->buf, (size_t)(p - h->buf)) != 1 ||
	    EVP_DigestFinal_ex(h->ctx, out, &mdlen) != 1)
		fatal("store: SHA-256 failed");
}

void
store_hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* The integer after name in a purge record's detail, or -1 when absent. */
static int64_t
store_purge_field(const char *detail, const char *name)
{
	char key[40];
	const char *p;
	long long v;

	snprintf(key, sizeof(key), " %s=", name);
	if ((p = strstr(detail, key)) == NULL ||
	    sscanf(p + strlen(key), "%lld", &v) != 1 || v < 0)
		return -1;
	return v;
}

/*
 * Does the purge record of time at fit the retention it states: are its
 * cut-offs no later than its own time less that retention? *asof is set to
 * the time it purged as of (a cut-off plus its retention; 0 for a record
 * without them, written before purges recorded them, which is taken as it
 * is). why says what does not fit.
 */
static bool
store_purge_fits(int64_t at, const char *detail, int64_t *asof, char *why,
    size_t len)
{
	static const char *const kind[2] = { "alerts", "audit" };
	char key[40], when[40];
	int64_t before, keep;

	*asof = 0;
	for (int i = 0; i < 2; i++) {
		snprintf(key, sizeof(key), "%s_before", kind[i]);
		before = store_purge_field(detail, key);
		snprintf(key, sizeof(key), "retention_%s", kind[i]);
		keep = store_purge_field(detail, key);
		if (before <= 0 || keep < 0)
			continue;
		if (before + keep * 1000000 > *asof)
			*asof = before + keep * 1000000;
		if (before + keep * 1000000 > at) {
			snprintf(why, len, "its %s cut-off %s is later than its own "
			    "time less its retention of %lld s", kind[i],
			    time_format_rfc3339(before, when, sizeof(when)),
			    (long long)keep);
			return false;
		}
	}
	return true;
}


/*
 * Does record seq (time at, event, detail) fit the purges before it, and,
 * when it is a purge, its own retention? False with report set when not.
 */
bool
store_verify_purge(struct store_purge_seen *ps, int64_t seq, int64_t at,
    const char *event, const char *detail, char *report, size_t len)
{
	char why[200], t1[40], t2[40];
	int64_t asof;

	/* a purge as of well after a later record ran on a wrong clock */
	if (ps->asof != 0 && at < ps->asof - ps->slack) {
		snprintf(report, len, "audit journal: purge record %lld does not "
		    "fit its retention: it purged as of %s, but record %lld after "
		    "it is dated %s, more than retention.max_clock_jump earlier "
		    "(the purge ran on a clock ahead of the journal)",
		    (long long)ps->seq,
		    time_format_rfc3339(ps->asof, t1, sizeof(t1)),
		    (long long)seq, time_format_rfc3339(at, t2, sizeof(t2)));
		return false;
	}
	if (strcmp(event, "purge") != 0)
		return true;
	if (!store_purge_fits(at, detail, &asof, why, sizeof(why))) {
		snprintf(report, len, "audit journal: purge record %lld does not "
		    "fit its retention: %s", (long long)seq, why);
		return false;
	}
	if (asof > ps->asof) {
		ps->seq = seq;
		ps->asof = asof;
	}
	return true;
}

size_t
store_span_end(const uint64_t *pos, size_t n, size_t i)
{
	uint64_t lo = pos[i];

	while (i < n && pos[i] - lo <= STORE_SPAN)
		i++;
	return i;
}

bool
store_names_alert(const char *detail, const char *id)
{
	const char *p = strstr(detail, " alerts=");
	size_t len = strlen(id), n;

	if (strncmp(detail, "subscription=", 13) != 0 || p == NULL || len == 0)
		return false;
	for (p += 8;; p += n + 1) {
		n = strcspn(p, ",");
		if (n == len && memcmp(p, id, len) == 0)
			return true;
		if (p[n] == '\0')
			return false;
	}
}
