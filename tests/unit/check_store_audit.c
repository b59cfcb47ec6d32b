/*
 * check_store_audit.c — unit tests for the audit chain's pure parts
 * (store_audit.c): the bytes a record's hash covers, laid out here again
 * from their description, so that a change to the hashing (which would
 * break every stored chain) fails; a record's hash depending on the one
 * before it; the checks that a purge record fits its retention and that
 * no later record is dated too far before the time it purged as of; the
 * cut of a batch record's positions into the receipts index's spans, and
 * whether its detail names an alert.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "store_audit.h"
#include "suites.h"

#define SEC	INT64_C(1000000)

/*
 * SHA-256 over prev, seq and at (8 bytes big-endian each), each text as a
 * 4-byte big-endian length and its bytes, and the transfer byte.
 */
static void
layout_hash(const uint8_t prev[32], int64_t seq, int64_t at,
    const char *const text[AUDIT_NTEXT], int transfer, uint8_t out[32])
{
	static uint8_t buf[16384];
	size_t n = 0, len;

	memcpy(buf, prev, 32);
	n = 32;
	for (int i = 7; i >= 0; i--)
		buf[n++] = (uint8_t)((uint64_t)seq >> (8 * i));
	for (int i = 7; i >= 0; i--)
		buf[n++] = (uint8_t)((uint64_t)at >> (8 * i));
	for (int k = 0; k < AUDIT_NTEXT; k++) {
		len = strlen(text[k]);
		ck_assert_uint_lt(n + 4 + len + 1, sizeof(buf));
		for (int i = 3; i >= 0; i--)
			buf[n++] = (uint8_t)(len >> (8 * i));
		memcpy(buf + n, text[k], len);
		n += len;
	}
	buf[n++] = transfer != 0;
	ck_assert_int_eq(EVP_Digest(buf, n, out, NULL, EVP_sha256(), NULL), 1);
}

START_TEST(hash_covers_the_described_bytes)
{
	const char *text[AUDIT_NTEXT] = { "publish", "bg-police",
	    "CN=bg-police", "ab12", "127.0.0.1:4000", "0190-alert",
	    "alerts.bg.high" };
	struct store_hasher h;
	uint8_t prev[32], got[32], want[32];

	for (int i = 0; i < 32; i++)
		prev[i] = (uint8_t)(i * 7 + 1);
	ck_assert_int_eq(store_hasher_init(&h), 0);
	store_audit_hash(&h, prev, 42, 1700000000 * SEC + 123, text, 1, got);
	layout_hash(prev, 42, 1700000000 * SEC + 123, text, 1, want);
	ck_assert_mem_eq(got, want, 32);
	/* the transfer flag and the record before are part of it */
	store_audit_hash(&h, prev, 42, 1700000000 * SEC + 123, text, 0, got);
	ck_assert_mem_ne(got, want, 32);
	prev[31] ^= 1;
	store_audit_hash(&h, prev, 42, 1700000000 * SEC + 123, text, 1, got);
	ck_assert_mem_ne(got, want, 32);
	store_hasher_free(&h);
}
END_TEST

START_TEST(hash_of_a_long_record)
{
	static char detail[9000];
	const char *text[AUDIT_NTEXT] = { "deliver", "tr-police", "", "", "",
	    "0190-alert", detail };
	struct store_hasher h;
	uint8_t prev[32] = { 0 }, got[32], want[32];

	/* longer than the hasher's first buffer: it grows, same hash */
	memset(detail, 'x', sizeof(detail) - 1);
	ck_assert_int_eq(store_hasher_init(&h), 0);
	store_audit_hash(&h, prev, 1, 5, text, 0, got);
	layout_hash(prev, 1, 5, text, 0, want);
	ck_assert_mem_eq(got, want, 32);
	text[6] = "short";
	store_audit_hash(&h, prev, 1, 5, text, 0, got);
	layout_hash(prev, 1, 5, text, 0, want);
	ck_assert_mem_eq(got, want, 32);
	store_hasher_free(&h);
}
END_TEST

START_TEST(hex_of_bytes)
{
	const uint8_t b[4] = { 0x00, 0x0f, 0xa5, 0xff };
	char out[9];

	store_hex(b, sizeof(b), out);
	ck_assert_str_eq(out, "000fa5ff");
}
END_TEST

/* A purge record's detail as store_purge writes it. */
static void
purge_detail(char *buf, size_t len, int64_t alerts_before,
    int64_t audit_before, unsigned keep_alerts, unsigned keep_audit)
{
	snprintf(buf, len, "alerts=1 audit=2 audit_through=3 hash=00 "
	    "alerts_before=%lld audit_before=%lld retention_alerts=%u "
	    "retention_audit=%u ", (long long)alerts_before,
	    (long long)audit_before, keep_alerts, keep_audit);
}

START_TEST(purge_that_fits_its_retention)
{
	struct store_purge_seen ps = { 60 * SEC, 0, 0 };
	int64_t at = 1700000000 * SEC;
	char detail[300], report[400] = "";

	/* cut-offs exactly the retention before its time */
	purge_detail(detail, sizeof(detail), at - 86400 * SEC,
	    at - 3600 * SEC, 86400, 3600);
	ck_assert(store_verify_purge(&ps, 10, at, "purge", detail, report,
	    sizeof(report)));
	ck_assert_int_eq(ps.seq, 10);
	ck_assert_int_eq(ps.asof, at);
	/* a record after it, within the allowed clock jump, fits */
	ck_assert(store_verify_purge(&ps, 11, at - 60 * SEC, "publish", "",
	    report, sizeof(report)));
}
END_TEST

START_TEST(purge_cut_off_later_than_its_retention)
{
	struct store_purge_seen ps = { 60 * SEC, 0, 0 };
	int64_t at = 1700000000 * SEC;
	char detail[300], report[400] = "";

	/* alerts cut one second later than a day before its own time */
	purge_detail(detail, sizeof(detail), at - 86400 * SEC + SEC, 0,
	    86400, 0);
	ck_assert(!store_verify_purge(&ps, 7, at, "purge", detail, report,
	    sizeof(report)));
	ck_assert_ptr_nonnull(strstr(report, "purge record 7 does not fit"));
	ck_assert_ptr_nonnull(strstr(report, "alerts cut-off"));
}
END_TEST

START_TEST(record_dated_before_a_purge_on_a_clock_ahead)
{
	struct store_purge_seen ps = { 60 * SEC, 0, 0 };
	int64_t at = 1700000000 * SEC;
	char detail[300], report[400] = "";

	purge_detail(detail, sizeof(detail), at - 3600 * SEC, 0, 3600, 0);
	ck_assert(store_verify_purge(&ps, 20, at, "purge", detail, report,
	    sizeof(report)));
	/* dated more than the clock jump before the time purged as of */
	ck_assert(!store_verify_purge(&ps, 21, at - 61 * SEC, "ack", "",
	    report, sizeof(report)));
	ck_assert_ptr_nonnull(strstr(report, "purge record 20 does not fit"));
	ck_assert_ptr_nonnull(strstr(report, "record 21 after it"));
}
END_TEST

START_TEST(purge_record_without_cut_offs)
{
	struct store_purge_seen ps = { 0, 0, 0 };
	char report[400] = "";

	/* written before purges recorded their cut-offs: taken as it is */
	ck_assert(store_verify_purge(&ps, 3, 5 * SEC, "purge",
	    "alerts=1 audit=0 ", report, sizeof(report)));
	ck_assert_int_eq(ps.asof, 0);
	ck_assert(store_verify_purge(&ps, 4, 1, "publish", "", report,
	    sizeof(report)));
}
END_TEST

/* Cut pos[0..n) into spans as the store does: "lo-hi lo-hi ..." into out. */
static void
cut(const uint64_t *pos, size_t n, char *out, size_t len)
{
	size_t off = 0, j;

	out[0] = '\0';
	for (size_t i = 0; i < n; i = j) {
		j = store_span_end(pos, n, i);
		ck_assert_uint_gt(j, i);
		off += (size_t)snprintf(out + off, len - off, "%s%llu-%llu",
		    i > 0 ? " " : "", (unsigned long long)pos[i],
		    (unsigned long long)pos[j - 1]);
	}
}

/*
 * Positions are cut into the fewest spans no wider than STORE_SPAN: a
 * dense batch is one; a width of exactly the bound is one; one position
 * more starts the next span, from that position; repeats stay in their
 * span; one position is a span of its own.
 */
START_TEST(spans_of_positions)
{
	char out[200];

	ck_assert_int_eq(STORE_SPAN, 4096);
	cut((const uint64_t[]){ 7, 8, 9, 10 }, 4, out, sizeof(out));
	ck_assert_str_eq(out, "7-10");
	cut((const uint64_t[]){ 1, 4097 }, 2, out, sizeof(out));
	ck_assert_str_eq(out, "1-4097");
	cut((const uint64_t[]){ 1, 4098 }, 2, out, sizeof(out));
	ck_assert_str_eq(out, "1-1 4098-4098");
	cut((const uint64_t[]){ 3, 10, 4100, 9000, 9000, 9001 }, 6, out,
	    sizeof(out));
	ck_assert_str_eq(out, "3-10 4100-4100 9000-9001");
	cut((const uint64_t[]){ 5, 5, 5 }, 3, out, sizeof(out));
	ck_assert_str_eq(out, "5-5");
	cut((const uint64_t[]){ 1, 2000, 4000, 6000, 8000, 10000 }, 6, out,
	    sizeof(out));
	ck_assert_str_eq(out, "1-4000 6000-10000");
	cut((const uint64_t[]){ 42 }, 1, out, sizeof(out));
	ck_assert_str_eq(out, "42-42");
}
END_TEST

/*
 * A batch record names an alert only as an item of its list: not as a
 * part of another id, nor in its subscription's name, nor in a record of
 * another form.
 */
START_TEST(batch_record_names_alert)
{
	const char *d = "subscription=feed alerts=0190aaaa-0000-7000-8000-"
	    "000000000001,0190aaaa-0000-7000-8000-000000000002,0190aaaa-0000-"
	    "7000-8000-000000000003";

	for (int i = 1; i <= 3; i++) {
		char id[40];

		snprintf(id, sizeof(id), "0190aaaa-0000-7000-8000-%012d", i);
		ck_assert(store_names_alert(d, id));
	}
	ck_assert(!store_names_alert(d, "0190aaaa-0000-7000-8000-000000000004"));
	ck_assert(!store_names_alert(d, "0190aaaa-0000-7000-8000-00000000000"));
	ck_assert(!store_names_alert(d, "0190aaaa-0000-7000-8000-0000000000012"));
	ck_assert(!store_names_alert(d, "feed"));
	ck_assert(!store_names_alert(d, ""));
	ck_assert(store_names_alert("subscription=feed alerts=x", "x"));
	ck_assert(!store_names_alert("subscription=feed alerts=", "x"));
	ck_assert(!store_names_alert("alerts/drugs/tr-gr", "x"));
	ck_assert(!store_names_alert("subscription=x", "x"));
	ck_assert(!store_names_alert("subscriber=f alerts=x,y", "x"));
}
END_TEST

Suite *
store_audit_suite(void)
{
	Suite *s = suite_create("store_audit");
	TCase *tc = tcase_create("chain");

	tcase_add_test(tc, hash_covers_the_described_bytes);
	tcase_add_test(tc, hash_of_a_long_record);
	tcase_add_test(tc, hex_of_bytes);
	tcase_add_test(tc, purge_that_fits_its_retention);
	tcase_add_test(tc, purge_cut_off_later_than_its_retention);
	tcase_add_test(tc, record_dated_before_a_purge_on_a_clock_ahead);
	tcase_add_test(tc, purge_record_without_cut_offs);
	tcase_add_test(tc, spans_of_positions);
	tcase_add_test(tc, batch_record_names_alert);
	suite_add_tcase(s, tc);
	return s;
}
