/*
 * check_names.c — unit tests for the pure helpers that broker and client
 * share (enum short names, UTF-8 validation, UUIDv7, RFC 3339 times) and
 * for the descriptor-driven JSON mapping of the client (pbjson).
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <jansson.h>

#include "ccc/v1/alert.pb-c.h"
#include "ccc/v1/envelope.pb-c.h"
#include "names.h"
#include "pbjson.h"
#include "suites.h"
#include "timeutil.h"
#include "utf8.h"
#include "uuid.h"

/* 2026-11-30T01:46:43.123456Z */
#define T_PUBLISHED	INT64_C(1796003203123456)
/* 2026-11-30T01:45:00Z */
#define T_OBSERVED	INT64_C(1796003100000000)

/* ---- names ---------------------------------------------------------------- */

START_TEST(names_short)
{
	ck_assert_str_eq(names_enum_short(&ccc__v1__category__descriptor,
	    CCC__V1__CATEGORY__CATEGORY_MIGRANT_SMUGGLING), "migrant_smuggling");
	ck_assert_str_eq(names_enum_short(&ccc__v1__severity__descriptor,
	    CCC__V1__SEVERITY__SEVERITY_HIGH), "high");
	ck_assert_str_eq(names_enum_short(&ccc__v1__handling__descriptor,
	    CCC__V1__HANDLING__HANDLING_H2), "h2");
	ck_assert_str_eq(names_enum_short(&ccc__v1__grading__descriptor,
	    CCC__V1__GRADING__GRADING_B2), "b2");
	ck_assert_str_eq(names_enum_short(&ccc__v1__tlp__descriptor,
	    CCC__V1__TLP__TLP_AMBER_STRICT), "amber_strict");
	ck_assert_str_eq(names_enum_short(&ccc__v1__error_code__descriptor,
	    CCC__V1__ERROR_CODE__ERROR_CODE_UNKNOWN_ENDPOINT), "unknown_endpoint");
	ck_assert_str_eq(names_enum_short(&ccc__v1__category__descriptor, 0),
	    "unspecified");
	ck_assert_ptr_null(names_enum_short(&ccc__v1__category__descriptor, 99));
	ck_assert_ptr_null(names_enum_short(&ccc__v1__category__descriptor, -1));
	/* the same pointer each time: the table is built once */
	ck_assert_ptr_eq(names_enum_short(&ccc__v1__tlp__descriptor, 1),
	    names_enum_short(&ccc__v1__tlp__descriptor, 1));
}
END_TEST

START_TEST(names_parse)
{
	int v = -1;

	ck_assert(names_enum_parse(&ccc__v1__category__descriptor,
	    "migrant_smuggling", &v));
	ck_assert_int_eq(v, CCC__V1__CATEGORY__CATEGORY_MIGRANT_SMUGGLING);
	ck_assert(names_enum_parse(&ccc__v1__grading__descriptor, "x4", &v));
	ck_assert_int_eq(v, CCC__V1__GRADING__GRADING_X4);
	ck_assert(names_enum_parse(&ccc__v1__error_code__descriptor,
	    "invalid_request", &v));
	ck_assert_int_eq(v, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_REQUEST);
}
END_TEST

START_TEST(names_parse_case)
{
	int v = -1;

	ck_assert(names_enum_parse(&ccc__v1__category__descriptor,
	    "MIGRANT_SMUGGLING", &v));
	ck_assert_int_eq(v, CCC__V1__CATEGORY__CATEGORY_MIGRANT_SMUGGLING);
	v = -1;
	ck_assert(names_enum_parse(&ccc__v1__tlp__descriptor, "Amber_Strict",
	    &v));
	ck_assert_int_eq(v, CCC__V1__TLP__TLP_AMBER_STRICT);
	ck_assert(names_enum_parse(&ccc__v1__handling__descriptor, "H3", &v));
	ck_assert_int_eq(v, CCC__V1__HANDLING__HANDLING_H3);
}
END_TEST

START_TEST(names_parse_refused)
{
	int v = 42;

	ck_assert(!names_enum_parse(&ccc__v1__category__descriptor,
	    "unspecified", &v));
	ck_assert(!names_enum_parse(&ccc__v1__category__descriptor,
	    "UNSPECIFIED", &v));
	ck_assert(!names_enum_parse(&ccc__v1__category__descriptor, "", &v));
	ck_assert(!names_enum_parse(&ccc__v1__category__descriptor,
	    "smuggling", &v));
	ck_assert(!names_enum_parse(&ccc__v1__category__descriptor,
	    "CATEGORY_DRUGS", &v));
	ck_assert(!names_enum_parse(&ccc__v1__category__descriptor, "drugs ",
	    &v));
	ck_assert(!names_enum_parse(&ccc__v1__tlp__descriptor, "amber+strict",
	    &v));
	ck_assert_int_eq(v, 42);	/* untouched on failure */
}
END_TEST

START_TEST(names_list)
{
	char buf[512], small[12];

	ck_assert_str_eq(names_enum_list(&ccc__v1__severity__descriptor, buf,
	    sizeof(buf)), "low, medium, high, critical");
	ck_assert_str_eq(names_enum_list(&ccc__v1__tlp__descriptor, buf,
	    sizeof(buf)), "clear, green, amber, amber_strict, red");
	ck_assert_ptr_null(strstr(names_enum_list(&ccc__v1__category__descriptor,
	    buf, sizeof(buf)), "unspecified"));
	/* a short buffer is truncated, never overrun */
	names_enum_list(&ccc__v1__category__descriptor, small, sizeof(small));
	ck_assert_uint_lt(strlen(small), sizeof(small));
	ck_assert_int_eq(strncmp(small, "human_traff", strlen(small)), 0);
}
END_TEST

/* ---- utf8 ------------------------------------------------------------------ */

static bool
valid(const char *s)
{
	return utf8_valid(s, strlen(s));
}

START_TEST(utf8_good)
{
	ck_assert(valid(""));
	ck_assert(valid("Kapitan Andreevo"));
	ck_assert(valid("Kap\xc4\xb1kule"));			/* Kapıkule */
	ck_assert(valid("\xce\x95\xce\xbb\xce\xbb\xce\xb7\xce\xbd\xce\xb9"
	    "\xce\xba\xce\xae"));				/* Ελληνική */
	ck_assert(valid("\xd0\x93\xd1\x80\xd0\xb0\xd0\xbd\xd0\xb8\xd1\x87"
	    "\xd0\xbd\xd0\xb0"));				/* Гранична */
	ck_assert(valid("\xe2\x82\xac"));			/* U+20AC */
	ck_assert(valid("\xf0\x9f\x9a\x93"));			/* U+1F693 */
	ck_assert(valid("\xf4\x8f\xbf\xbf"));			/* U+10FFFF */
	ck_assert(valid("\xef\xbf\xbf"));			/* U+FFFF */
	ck_assert(valid("line\nbreak\ttab"));			/* controls are fine here */
}
END_TEST

START_TEST(utf8_overlong)
{
	ck_assert(!valid("\xc0\xaf"));				/* '/' in 2 bytes */
	ck_assert(!valid("\xc1\xbf"));
	ck_assert(!valid("\xe0\x80\xaf"));			/* '/' in 3 bytes */
	ck_assert(!valid("\xe0\x9f\xbf"));			/* U+07FF in 3 bytes */
	ck_assert(!valid("\xf0\x80\x80\xaf"));			/* '/' in 4 bytes */
	ck_assert(!valid("\xf0\x8f\xbf\xbf"));			/* U+FFFF in 4 bytes */
	ck_assert(!utf8_valid("\xc0\x80", 2));			/* overlong NUL */
}
END_TEST

START_TEST(utf8_surrogate_and_range)
{
	ck_assert(!valid("\xed\xa0\x80"));			/* U+D800 */
	ck_assert(!valid("\xed\xbf\xbf"));			/* U+DFFF */
	ck_assert(!valid("\xed\xa0\xbd\xed\xb8\x80"));		/* CESU-8 pair */
	ck_assert(valid("\xed\x9f\xbf"));			/* U+D7FF is fine */
	ck_assert(!valid("\xf4\x90\x80\x80"));			/* U+110000 */
	ck_assert(!valid("\xf8\x88\x80\x80\x80"));		/* 5-byte form */
	ck_assert(!valid("\xff"));
	ck_assert(!valid("\xfe"));
}
END_TEST

START_TEST(utf8_nul)
{
	ck_assert(!utf8_valid("a\0b", 3));
	ck_assert(!utf8_valid("\0", 1));
	ck_assert(utf8_valid("a\0b", 1));			/* only len bytes count */
}
END_TEST

START_TEST(utf8_truncated)
{
	ck_assert(!valid("\xe2\x82"));				/* 2 of 3 bytes */
	ck_assert(!valid("abc\xf0\x9f\x9a"));			/* 3 of 4 bytes */
	ck_assert(!valid("\xc3"));
	ck_assert(!utf8_valid("\xe2\x82\xac", 2));		/* cut by len */
	ck_assert(!valid("\x80"));				/* lone continuation */
	ck_assert(!valid("\xc3\x28"));				/* bad continuation */
	ck_assert(!valid("\xe2\x28\xa1"));
}
END_TEST

START_TEST(utf8_line)
{
	ck_assert(utf8_valid_line(""));
	ck_assert(utf8_valid_line("Van with 12 persons at Kap\xc4\xb1kule"));
	ck_assert(utf8_valid_line("\xc2\xa0non-breaking"));	/* U+00A0 */
	ck_assert(!utf8_valid_line("two\nlines"));
	ck_assert(!utf8_valid_line("tab\there"));
	ck_assert(!utf8_valid_line("cr\r"));
	ck_assert(!utf8_valid_line("esc\x1b[31m"));
	ck_assert(!utf8_valid_line("del\x7f"));
	ck_assert(utf8_valid_line(" ~"));		/* 0x20 and 0x7e: printable */
	ck_assert(!utf8_valid_line("us\x1f"));
	ck_assert(utf8_valid_text("two\nlines\tand a tab"));
	ck_assert(!utf8_valid_text("bell\x07"));
	ck_assert(!utf8_valid_line("\xc2\x85"));		/* U+0085 NEL, C1 */
	ck_assert(!utf8_valid_line("\xc2\x9b"));		/* U+009B CSI, C1 */
	ck_assert(!utf8_valid_line("\xc0\xaf"));		/* still strict */
	ck_assert(!utf8_valid_line("\xed\xa0\x80"));
}
END_TEST

/* ---- uuid ------------------------------------------------------------------ */

START_TEST(uuid_format)
{
	char id[UUID_STRLEN], hex[13];
	int64_t now = time_now_us();
	uint64_t ms;

	uuid_v7(now, id);
	ck_assert_uint_eq(strlen(id), 36);
	ck_assert(uuid_valid(id));
	ck_assert_int_eq(id[8], '-');
	ck_assert_int_eq(id[13], '-');
	ck_assert_int_eq(id[14], '7');				/* version */
	ck_assert_ptr_nonnull(strchr("89ab", id[19]));		/* RFC 9562 variant */
	/* the first 48 bits are the millisecond timestamp */
	memcpy(hex, id, 8);
	memcpy(hex + 8, id + 9, 4);
	hex[12] = '\0';
	ms = strtoull(hex, NULL, 16);
	ck_assert_uint_ge(ms, (uint64_t)(now / 1000));
	ck_assert_uint_le(ms, (uint64_t)(now / 1000) + 1000);
}
END_TEST

START_TEST(uuid_increasing)
{
	char prev[UUID_STRLEN], id[UUID_STRLEN];
	int64_t now = time_now_us();

	uuid_v7(now, prev);
	/* the same clock reading 10000 times: the counter must keep order */
	for (int i = 0; i < 10000; i++) {
		uuid_v7(now, id);
		ck_assert(uuid_valid(id));
		ck_assert_int_eq(id[14], '7');
		ck_assert_msg(strcmp(prev, id) < 0, "%s !< %s at %d", prev, id, i);
		memcpy(prev, id, sizeof(id));
	}
	/* a clock that steps back does not break the order either */
	uuid_v7(now - 5000000, id);
	ck_assert_int_lt(strcmp(prev, id), 0);
}
END_TEST

/*
 * getrandom(2) as this test binary has it: the kernel's, counted. The
 * binary's own definition is the one uuid.c (linked into it) calls;
 * OpenSSL's calls come here too and get the same bytes from the kernel.
 */
static unsigned long uuid_getrandom_calls;

ssize_t
getrandom(void *buf, size_t len, unsigned int flags)
{
	__atomic_fetch_add(&uuid_getrandom_calls, 1, __ATOMIC_RELAXED);
	return (ssize_t)syscall(SYS_getrandom, buf, len, flags);
}

/* The random bits of an id: rand_a's and rand_b's digits, as text. */
static void
uuid_random_part(const char *id, char out[20])
{
	memcpy(out, id + 15, 3);	/* rand_a, after the version digit */
	memcpy(out + 3, id + 20, 3);	/* rand_b, after the variant digit */
	memcpy(out + 6, id + 24, 12);
	out[18] = '\0';
}

/*
 * The random bytes come from the kernel a block at a time, not with a
 * system call per id; the ids stay distinct in their random part.
 */
START_TEST(uuid_no_syscall_per_id)
{
	char id[UUID_STRLEN], r[20], prev[20] = "";
	unsigned long before = uuid_getrandom_calls;
	int64_t now = time_now_us();

	for (int i = 0; i < 1000; i++) {
		uuid_v7(now + i * 1000, id);	/* a new millisecond each */
		uuid_random_part(id, r);
		ck_assert_str_ne(r, prev);
		memcpy(prev, r, sizeof(r));
	}
	ck_assert_msg(uuid_getrandom_calls - before <= 1000 / 32,
	    "%lu getrandom(2) calls for 1000 ids",
	    uuid_getrandom_calls - before);
}
END_TEST

/*
 * A forked child never makes an id of the random bytes its parent uses:
 * both make one right after the fork, on the same clock reading.
 */
START_TEST(uuid_fork_does_not_share_random_bytes)
{
	char id[UUID_STRLEN], child[UUID_STRLEN] = "", r[20], rc[20];
	int64_t now = time_now_us();
	int fd[2], status;
	pid_t pid;

	uuid_v7(now, id);	/* the buffer is filled before the fork */
	ck_assert_int_eq(pipe(fd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		uuid_v7(now + 1000, id);
		_exit(write(fd[1], id, UUID_STRLEN) == UUID_STRLEN ? 0 : 1);
	}
	close(fd[1]);
	uuid_v7(now + 1000, id);
	ck_assert_int_eq(read(fd[0], child, UUID_STRLEN), UUID_STRLEN);
	close(fd[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert(uuid_valid(child));
	uuid_random_part(id, r);
	uuid_random_part(child, rc);
	ck_assert_msg(strcmp(r, rc) != 0, "parent %s and child %s share their "
	    "random bytes", id, child);
}
END_TEST

START_TEST(uuid_validation)
{
	ck_assert(uuid_valid("01937a4e-0000-7000-8000-0000000000aa"));
	ck_assert(!uuid_valid("01937A4E-0000-7000-8000-0000000000AA"));
	ck_assert(!uuid_valid("01937a4e00007000800000000000000aa"));
	ck_assert(!uuid_valid("01937a4e-0000-7000-8000-0000000000a"));
	ck_assert(!uuid_valid("01937a4e-0000-7000-8000-0000000000aaa"));
	ck_assert(!uuid_valid("01937a4e-0000-7000-8000_0000000000aa"));
	ck_assert(!uuid_valid("g1937a4e-0000-7000-8000-0000000000aa"));
	ck_assert(!uuid_valid(""));
}
END_TEST

/* ---- timeutil -------------------------------------------------------------- */

START_TEST(time_format)
{
	char buf[64];

	ck_assert_str_eq(time_format_rfc3339(0, buf, sizeof(buf)),
	    "1970-01-01T00:00:00Z");
	ck_assert_str_eq(time_format_rfc3339(T_PUBLISHED, buf, sizeof(buf)),
	    "2026-11-30T01:46:43.123456Z");
	ck_assert_str_eq(time_format_rfc3339(T_OBSERVED, buf, sizeof(buf)),
	    "2026-11-30T01:45:00Z");
	ck_assert_str_eq(time_format_rfc3339(-1, buf, sizeof(buf)),
	    "1969-12-31T23:59:59.999999Z");
}
END_TEST

START_TEST(time_round_trip)
{
	static const int64_t v[] = {
		0, 1, 999999, 1000000, T_PUBLISHED, T_OBSERVED, -1, -1000000,
		INT64_C(951782400000000),	/* 2000-02-29 */
		INT64_C(253402300799999999),	/* 9999-12-31T23:59:59.999999 */
	};
	char buf[64];
	int64_t got;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		time_format_rfc3339(v[i], buf, sizeof(buf));
		ck_assert_msg(time_parse_rfc3339(buf, &got), "cannot parse %s", buf);
		ck_assert_int_eq(got, v[i]);
	}
}
END_TEST

START_TEST(time_offsets)
{
	int64_t us;

	ck_assert(time_parse_rfc3339("2026-11-30T03:46:43.123456+02:00", &us));
	ck_assert_int_eq(us, T_PUBLISHED);
	ck_assert(time_parse_rfc3339("2026-11-29T20:16:43.123456-05:30", &us));
	ck_assert_int_eq(us, T_PUBLISHED);
	ck_assert(time_parse_rfc3339("2026-11-30T01:45:00+00:00", &us));
	ck_assert_int_eq(us, T_OBSERVED);
	ck_assert(time_parse_rfc3339("2026-11-30t01:45:00z", &us));
	ck_assert_int_eq(us, T_OBSERVED);
	ck_assert(time_parse_rfc3339("2026-11-30 01:45:00Z", &us));
	ck_assert_int_eq(us, T_OBSERVED);
	/* 00:30 on New Year's Day in Istanbul is still the old year in UTC */
	ck_assert(time_parse_rfc3339("2027-01-01T00:30:00+03:00", &us));
	ck_assert_int_eq(us, INT64_C(1798752600000000));
	ck_assert(time_parse_rfc3339("2026-12-31T21:30:00Z", &us));
	ck_assert_int_eq(us, INT64_C(1798752600000000));
}
END_TEST

START_TEST(time_fraction)
{
	int64_t us;

	ck_assert(time_parse_rfc3339("2026-11-30T01:46:43.1Z", &us));
	ck_assert_int_eq(us, T_PUBLISHED - 23456);
	ck_assert(time_parse_rfc3339("2026-11-30T01:46:43.123456789Z", &us));
	ck_assert_int_eq(us, T_PUBLISHED);		/* nanoseconds truncated */
	ck_assert(!time_parse_rfc3339("2026-11-30T01:46:43.1234567890Z", &us));
	ck_assert(!time_parse_rfc3339("2026-11-30T01:46:43.Z", &us));
}
END_TEST

START_TEST(time_bad)
{
	static const char *bad[] = {
		"2026-02-29T00:00:00Z",		/* not a leap year */
		"2100-02-29T00:00:00Z",		/* not a leap year either */
		"2026-04-31T00:00:00Z",
		"2026-13-01T00:00:00Z",
		"2026-00-10T00:00:00Z",
		"2026-11-00T00:00:00Z",
		"2026-11-30T24:00:00Z",
		"2026-11-30T23:60:00Z",
		"2026-11-30T23:59:61Z",
		"2026-11-30T01:45:00",		/* no zone */
		"2026-11-30T01:45:00+2:00",
		"2026-11-30T01:45:00+0200",
		"2026-11-30T01:45:00+24:00",
		"2026-11-30T01:45:00Zjunk",
		"2026-11-30",
		"26-11-30T01:45:00Z",
		"2026/11/30T01:45:00Z",
		"",
		"yesterday",
	};
	int64_t us = 7;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!time_parse_rfc3339(bad[i], &us), "accepted %s",
		    bad[i]);
	ck_assert_int_eq(us, 7);
	ck_assert(time_parse_rfc3339("2024-02-29T00:00:00Z", &us));
	ck_assert(time_parse_rfc3339("2000-02-29T00:00:00Z", &us));
}
END_TEST

/*
 * Years before 1000 keep four digits, so that what is written reads back;
 * times an offset carries outside years 0000..9999 are refused (found by
 * fuzzing pbjson: "0831-05-31T22:16:00Z" came back as "831-05-31...").
 */
START_TEST(time_year_range)
{
	static const struct { const char *text; int64_t us; } v[] = {
		{ "0831-05-31T22:16:00Z", INT64_C(-35930310240000000) },
		{ "0000-01-01T00:00:00Z", TIME_MIN_US },
		{ "0099-12-31T23:59:59.500000Z", INT64_C(-59011459200500000) },
		{ "9999-12-31T23:59:59.999999Z", TIME_MAX_US },
	};
	static const char *const out_of_range[] = {
		"0000-01-01T00:00:00+00:01",
		"0000-01-01T00:59:59.999999+01:00",
		"9999-12-31T23:59:59-00:01",
		"9999-12-31T23:00:00-23:59",
	};
	char buf[64];
	int64_t us;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ck_assert_str_eq(time_format_rfc3339(v[i].us, buf, sizeof(buf)),
		    v[i].text);
		ck_assert(time_parse_rfc3339(v[i].text, &us));
		ck_assert_int_eq(us, v[i].us);
	}
	for (size_t i = 0; i < sizeof(out_of_range) / sizeof(out_of_range[0]);
	    i++)
		ck_assert_msg(!time_parse_rfc3339(out_of_range[i], &us),
		    "accepted %s", out_of_range[i]);
	ck_assert(time_parse_rfc3339("0000-01-01T01:00:00+01:00", &us));
	ck_assert_int_eq(us, TIME_MIN_US);
	/* beyond the range: no RFC 3339 form, and not read back */
	time_format_rfc3339(TIME_MAX_US + 1, buf, sizeof(buf));
	ck_assert(!time_parse_rfc3339(buf, &us));
}
END_TEST

START_TEST(time_durations)
{
	int64_t s;

	ck_assert(time_parse_duration("90s", &s));
	ck_assert_int_eq(s, 90);
	ck_assert(time_parse_duration("15m", &s));
	ck_assert_int_eq(s, 900);
	ck_assert(time_parse_duration("2h", &s));
	ck_assert_int_eq(s, 7200);
	ck_assert(time_parse_duration("1d", &s));
	ck_assert_int_eq(s, 86400);
	ck_assert(time_parse_duration("42", &s));
	ck_assert_int_eq(s, 42);
	ck_assert(time_parse_duration("0s", &s));
	ck_assert_int_eq(s, 0);
	ck_assert(!time_parse_duration("", &s));
	ck_assert(!time_parse_duration("s", &s));
	ck_assert(!time_parse_duration("-5s", &s));
	ck_assert(!time_parse_duration("+5s", &s));
	ck_assert(!time_parse_duration(" 5s", &s));
	ck_assert(!time_parse_duration("5x", &s));
	ck_assert(!time_parse_duration("5ss", &s));
	ck_assert(!time_parse_duration("1.5h", &s));
	ck_assert(!time_parse_duration("99999999999999999999d", &s));
	ck_assert(!time_parse_duration("200000000000000d", &s));
}
END_TEST

/* ---- pbjson ---------------------------------------------------------------- */

/*
 * Writable copies of test strings: protobuf-c structures hold char *, and
 * string literals are const here.
 */
#define TEXT(name, text)	static char name[] = text

/* An alert using every field of the schema; static storage, not freed. */
static void
full_alert(Ccc__V1__Alert *a)
{
	static Ccc__V1__Location loc;
	static Ccc__V1__Persons persons;
	static Ccc__V1__Vehicle v1, v2, *vehicles[2] = { &v1, &v2 };
	static Ccc__V1__Drug drug, *drugs[1] = { &drug };
	static Ccc__V1__Goods goods, *goodsv[1] = { &goods };
	static Ccc__V1__Route route;
	TEXT(sy, "SY");
	TEXT(af, "AF");
	TEXT(ref1, "01937a4e-0000-7000-8000-000000000001");
	TEXT(ref2, "01937a4e-0000-7000-8000-000000000002");
	TEXT(id, "01937a4e-0000-7000-8000-0000000000aa");
	TEXT(section, "tr-bg/kapikule");
	TEXT(summary, "Van with 12 persons heading to Kapitan Andreevo");
	TEXT(details, "Seen at 01:30.\nDriver speaks T\xc3\xbcrk\xc3\xa7" "e.");
	TEXT(language, "en");
	TEXT(plate1, "PB1234AB");
	TEXT(country, "BG");
	TEXT(make, "Mercedes");
	TEXT(model, "Sprinter");
	TEXT(colour, "white");
	TEXT(plate2, "34 ABC 123");
	TEXT(substance, "heroin");
	TEXT(unit, "kg");
	TEXT(description, "cigarettes");
	TEXT(hs_code, "2402");
	TEXT(currency, "EUR");
	TEXT(from, "Edirne");
	TEXT(to, "Sofia");
	TEXT(crossing, "kapikule");
	TEXT(remarks, "Coordinate with TR side.");
	TEXT(origin, "bg-border-police");
	static char *nat[] = { sy, af };
	static char *refs[] = { ref1, ref2 };

	ccc__v1__alert__init(a);
	ccc__v1__location__init(&loc);
	ccc__v1__persons__init(&persons);
	ccc__v1__vehicle__init(&v1);
	ccc__v1__vehicle__init(&v2);
	ccc__v1__drug__init(&drug);
	ccc__v1__goods__init(&goods);
	ccc__v1__route__init(&route);
	a->id = id;
	a->category = CCC__V1__CATEGORY__CATEGORY_MIGRANT_SMUGGLING;
	a->severity = CCC__V1__SEVERITY__SEVERITY_CRITICAL;
	a->section = section;
	a->summary = summary;
	a->details = details;
	loc.lat = 41.7;
	loc.lon = -26.35;
	a->location = &loc;
	a->observed_at = T_OBSERVED;
	a->handling = CCC__V1__HANDLING__HANDLING_H2;
	a->grading = CCC__V1__GRADING__GRADING_B2;
	a->tlp = CCC__V1__TLP__TLP_AMBER_STRICT;
	a->language = language;
	a->n_references = 2;
	a->references = refs;
	persons.count = 4294967295u;
	persons.n_nationalities = 2;
	persons.nationalities = nat;
	a->persons = &persons;
	v1.plate = plate1;
	v1.registration_country = country;
	v1.make = make;
	v1.model = model;
	v1.colour = colour;
	v2.plate = plate2;
	a->n_vehicles = 2;
	a->vehicles = vehicles;
	drug.substance = substance;
	drug.quantity = 12.5;
	drug.unit = unit;
	a->n_drugs = 1;
	a->drugs = drugs;
	goods.description = description;
	goods.hs_code = hs_code;
	goods.declared_value = 15000;
	goods.currency = currency;
	a->n_goods = 1;
	a->goods = goodsv;
	route.from = from;
	route.to = to;
	route.crossing = crossing;
	a->route = &route;
	a->remarks = remarks;
	a->origin = origin;
	a->published_at = T_PUBLISHED;
}

/* True when a and b pack to the same bytes. */
static bool
same_message(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
	size_t na = protobuf_c_message_get_packed_size(a);
	size_t nb = protobuf_c_message_get_packed_size(b);
	uint8_t *pa, *pb;
	bool same;

	if (na != nb)
		return false;
	pa = malloc(na + 1);
	pb = malloc(nb + 1);
	protobuf_c_message_pack(a, pa);
	protobuf_c_message_pack(b, pb);
	same = memcmp(pa, pb, na) == 0;
	free(pa);
	free(pb);
	return same;
}

/* JSON text in a form to message; the message or NULL with err filled. */
static ProtobufCMessage *
from_text_form(const ProtobufCMessageDescriptor *d, const char *text,
    enum pbjson_form form, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	ProtobufCMessage *m;

	ck_assert_msg(j != NULL, "test JSON does not parse: %s: %s", text,
	    jerr.text);
	m = pbjson_to_message(d, j, form, err, errlen);
	json_decref(j);
	return m;
}

static ProtobufCMessage *
from_text(const ProtobufCMessageDescriptor *d, const char *text, char *err,
    size_t errlen)
{
	return from_text_form(d, text, PBJSON_CCC, err, errlen);
}

/* Conversion of text must fail with exactly want. */
static void
expect_error(const ProtobufCMessageDescriptor *d, const char *text,
    const char *want)
{
	char err[1024] = "";
	ProtobufCMessage *m = from_text(d, text, err, sizeof(err));

	ck_assert_msg(m == NULL, "accepted %s", text);
	ck_assert_str_eq(err, want);
}

START_TEST(pbjson_alert_out)
{
	Ccc__V1__Alert a;
	json_t *j, *v;

	full_alert(&a);
	j = pbjson_from_message(&a.base, PBJSON_CCC);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "category")),
	    "migrant_smuggling");
	ck_assert_str_eq(json_string_value(json_object_get(j, "severity")),
	    "critical");
	ck_assert_str_eq(json_string_value(json_object_get(j, "handling")), "h2");
	ck_assert_str_eq(json_string_value(json_object_get(j, "grading")), "b2");
	ck_assert_str_eq(json_string_value(json_object_get(j, "tlp")),
	    "amber_strict");
	ck_assert_str_eq(json_string_value(json_object_get(j, "observed_at")),
	    "2026-11-30T01:45:00Z");
	ck_assert_str_eq(json_string_value(json_object_get(j, "published_at")),
	    "2026-11-30T01:46:43.123456Z");
	v = json_object_get(j, "location");
	ck_assert(json_is_object(v));
	ck_assert(json_is_real(json_object_get(v, "lat")));
	ck_assert_double_eq(json_real_value(json_object_get(v, "lat")), 41.7);
	ck_assert_double_eq(json_real_value(json_object_get(v, "lon")), -26.35);
	v = json_object_get(j, "persons");
	ck_assert(json_is_integer(json_object_get(v, "count")));
	ck_assert_int_eq(json_integer_value(json_object_get(v, "count")),
	    4294967295);
	ck_assert_uint_eq(json_array_size(json_object_get(v, "nationalities")), 2);
	v = json_object_get(j, "vehicles");
	ck_assert_uint_eq(json_array_size(v), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(v, 1),
	    "plate")), "34 ABC 123");
	/* the second vehicle has only a plate: its empty strings are left out */
	ck_assert_uint_eq(json_object_size(json_array_get(v, 1)), 1);
	ck_assert_str_eq(json_string_value(json_object_get(j, "details")),
	    a.details);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "references")), 2);
	ck_assert_uint_eq(json_object_size(j), 21);	/* every field is set */
	/* keys come in field number order */
	ck_assert_str_eq(json_object_iter_key(json_object_iter(j)), "id");
	json_decref(j);
}
END_TEST

START_TEST(pbjson_alert_round_trip)
{
	Ccc__V1__Alert a;
	ProtobufCMessage *back;
	json_t *j;
	char *text, *again, err[256];

	full_alert(&a);
	j = pbjson_from_message(&a.base, PBJSON_CCC);
	ck_assert_ptr_nonnull(j);
	/* through text too, the way the command line uses it */
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	back = from_text(&ccc__v1__alert__descriptor, text, err, sizeof(err));
	ck_assert_msg(back != NULL, "%s", err);
	ck_assert(same_message(&a.base, back));
	/* and back to the same JSON */
	j = pbjson_from_message(back, PBJSON_CCC);
	again = json_dumps(j, JSON_COMPACT);
	ck_assert_str_eq(again, text);
	json_decref(j);
	free(again);
	free(text);
	protobuf_c_message_free_unpacked(back, NULL);
}
END_TEST

/* The proto3 form: JSON names, .proto enum names, 64-bit as strings. */
START_TEST(pbjson_proto3_out)
{
	Ccc__V1__Alert a;
	json_t *j, *v;
	char want[32];

	full_alert(&a);
	j = pbjson_from_message(&a.base, PBJSON_PROTO3);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "category")),
	    "CATEGORY_MIGRANT_SMUGGLING");
	ck_assert_str_eq(json_string_value(json_object_get(j, "tlp")),
	    "TLP_AMBER_STRICT");
	snprintf(want, sizeof(want), "%" PRId64, a.observed_at);
	ck_assert_str_eq(json_string_value(json_object_get(j, "observedAt")),
	    want);
	ck_assert_ptr_null(json_object_get(j, "observed_at"));
	v = json_array_get(json_object_get(j, "goods"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(v, "hsCode")), "2402");
	ck_assert(json_is_real(json_object_get(v, "declaredValue")));
	/* 32-bit integers stay numbers */
	v = json_object_get(j, "persons");
	ck_assert_int_eq(json_integer_value(json_object_get(v, "count")),
	    4294967295);
	ck_assert_uint_eq(json_object_size(j), 21);
	ck_assert_str_eq(json_object_iter_key(json_object_iter(j)), "id");
	json_decref(j);
}
END_TEST

START_TEST(pbjson_proto3_round_trip)
{
	Ccc__V1__Alert a;
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Ack ack = CCC__V1__ACK__INIT;
	uint64_t tags[2] = { UINT64_MAX, 1 };
	ProtobufCMessage *back;
	json_t *j;
	char *text, err[256];

	full_alert(&a);
	j = pbjson_from_message(&a.base, PBJSON_PROTO3);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	back = from_text_form(&ccc__v1__alert__descriptor, text, PBJSON_PROTO3,
	    err, sizeof(err));
	ck_assert_msg(back != NULL, "%s", err);
	ck_assert(same_message(&a.base, back));
	protobuf_c_message_free_unpacked(back, NULL);
	free(text);

	/* a uint64 over INT64_MAX, which the ccc form cannot write */
	env.request_id = UINT64_MAX;
	env.body_case = CCC__V1__ENVELOPE__BODY_ACK;
	env.ack = &ack;
	ack.n_delivery_tags = 2;
	ack.delivery_tags = tags;
	ck_assert_ptr_null(pbjson_from_message(&env.base, PBJSON_CCC));
	j = pbjson_from_message(&env.base, PBJSON_PROTO3);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	ck_assert_str_eq(text, "{\"requestId\":\"18446744073709551615\","
	    "\"ack\":{\"deliveryTags\":[\"18446744073709551615\",\"1\"]}}");
	back = from_text_form(&ccc__v1__envelope__descriptor, text,
	    PBJSON_PROTO3, err, sizeof(err));
	ck_assert_msg(back != NULL, "%s", err);
	ck_assert(same_message(&env.base, back));
	protobuf_c_message_free_unpacked(back, NULL);
	free(text);
}
END_TEST

/* What proto3 parsers must take besides the canonical output, and refuse. */
START_TEST(pbjson_proto3_input_forms)
{
	Ccc__V1__Alert *a;
	char err[1024];

	a = (Ccc__V1__Alert *)(void *)from_text_form(&ccc__v1__alert__descriptor,
	    "{\"observed_at\":1764467203000000,\"expiresAt\":\"-5\","
	    "\"category\":3,\"severity\":\"SEVERITY_LOW\","
	    "\"persons\":{\"count\":\"7\"},\"location\":{\"lat\":\"41.5\","
	    "\"lon\":2.0e1},\"goods\":[{\"hs_code\":\"1\"}]}",
	    PBJSON_PROTO3, err, sizeof(err));
	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_int_eq(a->observed_at, 1764467203000000);
	ck_assert_int_eq(a->expires_at, -5);
	ck_assert_int_eq(a->category, 3);
	ck_assert_int_eq(a->severity, CCC__V1__SEVERITY__SEVERITY_LOW);
	ck_assert_uint_eq(a->persons->count, 7);
	ck_assert_double_eq(a->location->lat, 41.5);
	ck_assert_str_eq(a->goods[0]->hs_code, "1");
	protobuf_c_message_free_unpacked(&a->base, NULL);

	ck_assert_ptr_null(from_text_form(&ccc__v1__alert__descriptor,
	    "{\"category\":\"drugs\"}", PBJSON_PROTO3, err, sizeof(err)));
	ck_assert_msg(strstr(err, "field \"category\": unknown value \"drugs\" "
	    "(expected one of: CATEGORY_UNSPECIFIED, ") == err, "%s", err);
	ck_assert_ptr_null(from_text_form(&ccc__v1__alert__descriptor,
	    "{\"observedAt\":\"2026-11-30T01:46:43Z\"}", PBJSON_PROTO3, err,
	    sizeof(err)));
	ck_assert_str_eq(err, "field \"observedAt\": expected an integer, got "
	    "a string");
	ck_assert_ptr_null(from_text_form(&ccc__v1__alert__descriptor,
	    "{\"persons\":{\"count\":1.5}}", PBJSON_PROTO3, err, sizeof(err)));
	ck_assert_str_eq(err, "field \"persons.count\": expected an integer, "
	    "got a number");
	/* JSON names are not the ccc form's */
	ck_assert_ptr_null(from_text(&ccc__v1__alert__descriptor,
	    "{\"observedAt\":\"2026-11-30T01:46:43Z\"}", err, sizeof(err)));
	ck_assert_str_eq(err, "unknown field \"observedAt\"");
}
END_TEST

START_TEST(pbjson_defaults_omitted)
{
	Ccc__V1__Alert a;
	Ccc__V1__Location loc;
	json_t *j;
	char *s;
	TEXT(empty, "");

	ccc__v1__alert__init(&a);
	j = pbjson_from_message(&a.base, PBJSON_CCC);
	s = json_dumps(j, JSON_COMPACT);
	ck_assert_str_eq(s, "{}");
	free(s);
	json_decref(j);

	a.category = CCC__V1__CATEGORY__CATEGORY_DRUGS;
	a.summary = empty;
	a.n_references = 0;
	ccc__v1__location__init(&loc);		/* present but all zero */
	a.location = &loc;
	j = pbjson_from_message(&a.base, PBJSON_CCC);
	s = json_dumps(j, JSON_COMPACT);
	ck_assert_str_eq(s, "{\"category\":\"drugs\",\"location\":{}}");
	free(s);
	json_decref(j);
}
END_TEST

START_TEST(pbjson_envelope_round_trip)
{
	/* multi-line entries in parentheses: one element each */
	static const char *cases[] = {
		/* oneof with a message, repeated uint32, uint64 */
		("{\"request_id\":9007199254740993,\"deliver\":{\"subscription_ids\":"
		    "[1,4294967295],\"topic\":\"alerts/drugs/tr-bg/kapikule\","
		    "\"alert\":{\"category\":\"drugs\",\"summary\":\"x\"},"
		    "\"delivery_tag\":1099511627776}}"),
		/* bool and enum in an error */
		("{\"error\":{\"code\":\"slow_consumer\",\"message\":\"too slow\","
		    "\"fatal\":true,\"subscription_id\":3}}"),
		/* an empty message as the oneof member */
		"{\"request_id\":7,\"ping\":{}}",
		/* repeated uint64 */
		"{\"ack\":{\"delivery_tags\":[1,2,9223372036854775807]}}",
		("{\"hello\":{\"protocol_version\":1,"
		    "\"client_name\":\"ccc-cli/0.1.0\"}}"),
	};

	char err[256], *s;
	ProtobufCMessage *m;
	json_t *j;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		m = from_text(&ccc__v1__envelope__descriptor, cases[i], err,
		    sizeof(err));
		ck_assert_msg(m != NULL, "%s: %s", cases[i], err);
		j = pbjson_from_message(m, PBJSON_CCC);
		s = json_dumps(j, JSON_COMPACT);
		ck_assert_str_eq(s, cases[i]);
		free(s);
		json_decref(j);
		protobuf_c_message_free_unpacked(m, NULL);
	}
}
END_TEST

START_TEST(pbjson_input_forms)
{
	char err[256];
	Ccc__V1__Alert *a;

	a = (Ccc__V1__Alert *)(void *)from_text(&ccc__v1__alert__descriptor,
	    "{\"severity\":\"HIGH\",\"observed_at\":\"2026-11-30T03:45:00+02:00\","
	    "\"details\":null,\"location\":{\"lat\":41,\"lon\":\"-Infinity\"},"
	    "\"references\":[],\"grading\":\"X4\"}", err, sizeof(err));
	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_int_eq(a->severity, CCC__V1__SEVERITY__SEVERITY_HIGH);
	ck_assert_int_eq(a->grading, CCC__V1__GRADING__GRADING_X4);
	ck_assert_int_eq(a->observed_at, T_OBSERVED);
	ck_assert_str_eq(a->details, "");		/* null is absent */
	ck_assert_double_eq(a->location->lat, 41.0);	/* integers are numbers */
	ck_assert(isinf(a->location->lon) && a->location->lon < 0);
	ck_assert_uint_eq(a->n_references, 0);
	protobuf_c_message_free_unpacked(&a->base, NULL);
}
END_TEST

START_TEST(pbjson_special_values)
{
	Ccc__V1__Location loc;
	json_t *j;
	char *s;

	ccc__v1__location__init(&loc);
	loc.lat = NAN;
	loc.lon = INFINITY;
	j = pbjson_from_message(&loc.base, PBJSON_CCC);
	s = json_dumps(j, JSON_COMPACT);
	ck_assert_str_eq(s, "{\"lat\":\"NaN\",\"lon\":\"Infinity\"}");
	free(s);
	json_decref(j);
}
END_TEST

START_TEST(pbjson_invalid_utf8_out)
{
	Ccc__V1__Alert a;
	TEXT(bad, "bad \xc0\xaf");

	ccc__v1__alert__init(&a);
	a.summary = bad;
	ck_assert_ptr_null(pbjson_from_message(&a.base, PBJSON_CCC));
	ck_assert_ptr_null(pbjson_from_message(NULL, PBJSON_CCC));
}
END_TEST

START_TEST(pbjson_errors_type)
{
	const ProtobufCMessageDescriptor *d = &ccc__v1__alert__descriptor;

	expect_error(d, "{\"location\":{\"lat\":\"north\"}}",
	    "field \"location.lat\": expected a number");
	expect_error(d, "{\"location\":{\"lat\":true}}",
	    "field \"location.lat\": expected a number");
	expect_error(d, "{\"summary\":5}",
	    "field \"summary\": expected a string, got an integer");
	expect_error(d, "{\"location\":[1,2]}",
	    "field \"location\": expected an object, got an array");
	expect_error(d, "{\"references\":\"x\"}",
	    "field \"references\": expected an array, got a string");
	expect_error(d, "{\"references\":[\"a\",3]}",
	    "field \"references[1]\": expected a string, got an integer");
	expect_error(d, "{\"vehicles\":[{\"plate\":\"x\"},7]}",
	    "field \"vehicles[1]\": expected an object, got an integer");
	expect_error(d, "{\"persons\":{\"count\":1.5}}",
	    "field \"persons.count\": expected an integer, got a number");
	expect_error(d, "{\"category\":3}",
	    "field \"category\": expected a string, one of: human_trafficking, "
	    "migrant_smuggling, drugs, customs, weapons, stolen_vehicle, "
	    "document_fraud, wanted_person, other");
	expect_error(&ccc__v1__envelope__descriptor,
	    "{\"error\":{\"fatal\":\"yes\"}}",
	    "field \"error.fatal\": expected true or false, got a string");
}
END_TEST

START_TEST(pbjson_errors_enum)
{
	const ProtobufCMessageDescriptor *d = &ccc__v1__alert__descriptor;

	expect_error(d, "{\"category\":\"smuggling\"}",
	    "field \"category\": unknown value \"smuggling\" (expected one of: "
	    "human_trafficking, migrant_smuggling, drugs, customs, weapons, "
	    "stolen_vehicle, document_fraud, wanted_person, other)");
	expect_error(d, "{\"severity\":\"unspecified\"}",
	    "field \"severity\": unknown value \"unspecified\" (expected one of: "
	    "low, medium, high, critical)");
	expect_error(d, "{\"tlp\":\"TLP_RED\"}",
	    "field \"tlp\": unknown value \"TLP_RED\" (expected one of: clear, "
	    "green, amber, amber_strict, red)");
}
END_TEST

START_TEST(pbjson_errors_unknown_field)
{
	const ProtobufCMessageDescriptor *d = &ccc__v1__alert__descriptor;

	expect_error(d, "{\"summary\":\"x\",\"colour\":\"red\"}",
	    "unknown field \"colour\"");
	expect_error(d, "{\"location\":{\"lat\":1,\"alt\":2}}",
	    "unknown field \"location.alt\"");
	expect_error(d, "{\"vehicles\":[{\"plate\":\"x\"},{\"wheels\":4}]}",
	    "unknown field \"vehicles[1].wheels\"");
	expect_error(d, "{\"observedAt\":\"2026-11-30T01:45:00Z\"}",
	    "unknown field \"observedAt\"");
}
END_TEST

START_TEST(pbjson_errors_time)
{
	const ProtobufCMessageDescriptor *d = &ccc__v1__alert__descriptor;

	expect_error(d, "{\"observed_at\":\"2026-02-29T00:00:00Z\"}",
	    "field \"observed_at\": invalid RFC 3339 time "
	    "\"2026-02-29T00:00:00Z\"");
	expect_error(d, "{\"observed_at\":\"yesterday\"}",
	    "field \"observed_at\": invalid RFC 3339 time \"yesterday\"");
	expect_error(d, "{\"published_at\":1796003203123456}",
	    "field \"published_at\": expected an RFC 3339 time string, got an "
	    "integer");
}
END_TEST

START_TEST(pbjson_errors_range)
{
	expect_error(&ccc__v1__alert__descriptor,
	    "{\"persons\":{\"count\":4294967296}}",
	    "field \"persons.count\": 4294967296 is out of range (0 to "
	    "4294967295)");
	expect_error(&ccc__v1__alert__descriptor,
	    "{\"persons\":{\"count\":-1}}",
	    "field \"persons.count\": -1 is out of range (0 to 4294967295)");
	expect_error(&ccc__v1__envelope__descriptor, "{\"request_id\":-1}",
	    "field \"request_id\": -1 is out of range (0 to "
	    "9223372036854775807)");
	expect_error(&ccc__v1__envelope__descriptor,
	    "{\"deliver\":{\"subscription_ids\":[1,-2]}}",
	    "field \"deliver.subscription_ids[1]\": -2 is out of range (0 to "
	    "4294967295)");
}
END_TEST

START_TEST(pbjson_errors_shape)
{
	char err[256];
	json_t *j = json_array();
	json_t *o = json_object();

	ck_assert_ptr_null(pbjson_to_message(&ccc__v1__alert__descriptor, j,
	    PBJSON_CCC, err, sizeof(err)));
	ck_assert_str_eq(err, "expected a JSON object, got an array");
	ck_assert_ptr_null(pbjson_to_message(&ccc__v1__alert__descriptor, NULL,
	    PBJSON_CCC, err, sizeof(err)));
	/* a NUL inside a JSON string cannot become a C string */
	json_object_set_new(o, "summary", json_stringn("a\0b", 3));
	ck_assert_ptr_null(pbjson_to_message(&ccc__v1__alert__descriptor, o,
	    PBJSON_CCC, err, sizeof(err)));
	ck_assert_str_eq(err, "field \"summary\": contains a NUL character");
	/* no err buffer at all is fine */
	ck_assert_ptr_null(pbjson_to_message(&ccc__v1__alert__descriptor, j,
	    PBJSON_CCC, NULL, 0));
	json_decref(j);
	json_decref(o);
	expect_error(&ccc__v1__envelope__descriptor,
	    "{\"ping\":{},\"pong\":{}}",
	    "field \"pong\": cannot be combined with \"ping\" (only one of them "
	    "may be set)");
}
END_TEST

START_TEST(pbjson_error_frees_partial)
{
	/* a failure deep inside leaves nothing behind (checked under ASan) */
	expect_error(&ccc__v1__alert__descriptor,
	    "{\"summary\":\"s\",\"references\":[\"a\",\"b\"],\"vehicles\":"
	    "[{\"plate\":\"x\",\"make\":\"y\"},{\"plate\":\"z\",\"colour\":1}]}",
	    "field \"vehicles[1].colour\": expected a string, got an integer");
	expect_error(&ccc__v1__envelope__descriptor,
	    "{\"hello\":{\"client_name\":\"n\",\"protocol_version\":\"1\"}}",
	    "field \"hello.protocol_version\": expected an integer, got a "
	    "string");
}
END_TEST

Suite *
names_suite(void)
{
	Suite *s = suite_create("names");
	TCase *tc;

	tc = tcase_create("names");
	tcase_add_test(tc, names_short);
	tcase_add_test(tc, names_parse);
	tcase_add_test(tc, names_parse_case);
	tcase_add_test(tc, names_parse_refused);
	tcase_add_test(tc, names_list);
	suite_add_tcase(s, tc);

	tc = tcase_create("utf8");
	tcase_add_test(tc, utf8_good);
	tcase_add_test(tc, utf8_overlong);
	tcase_add_test(tc, utf8_surrogate_and_range);
	tcase_add_test(tc, utf8_nul);
	tcase_add_test(tc, utf8_truncated);
	tcase_add_test(tc, utf8_line);
	suite_add_tcase(s, tc);

	tc = tcase_create("uuid");
	tcase_add_test(tc, uuid_format);
	tcase_add_test(tc, uuid_increasing);
	tcase_add_test(tc, uuid_validation);
	tcase_add_test(tc, uuid_no_syscall_per_id);
	tcase_add_test(tc, uuid_fork_does_not_share_random_bytes);
	suite_add_tcase(s, tc);

	tc = tcase_create("timeutil");
	tcase_add_test(tc, time_format);
	tcase_add_test(tc, time_round_trip);
	tcase_add_test(tc, time_offsets);
	tcase_add_test(tc, time_fraction);
	tcase_add_test(tc, time_bad);
	tcase_add_test(tc, time_year_range);
	tcase_add_test(tc, time_durations);
	suite_add_tcase(s, tc);

	tc = tcase_create("pbjson");
	tcase_add_test(tc, pbjson_alert_out);
	tcase_add_test(tc, pbjson_alert_round_trip);
	tcase_add_test(tc, pbjson_defaults_omitted);
	tcase_add_test(tc, pbjson_proto3_out);
	tcase_add_test(tc, pbjson_proto3_round_trip);
	tcase_add_test(tc, pbjson_proto3_input_forms);
	tcase_add_test(tc, pbjson_envelope_round_trip);
	tcase_add_test(tc, pbjson_input_forms);
	tcase_add_test(tc, pbjson_special_values);
	tcase_add_test(tc, pbjson_invalid_utf8_out);
	tcase_add_test(tc, pbjson_errors_type);
	tcase_add_test(tc, pbjson_errors_enum);
	tcase_add_test(tc, pbjson_errors_unknown_field);
	tcase_add_test(tc, pbjson_errors_time);
	tcase_add_test(tc, pbjson_errors_range);
	tcase_add_test(tc, pbjson_errors_shape);
	tcase_add_test(tc, pbjson_error_frees_partial);
	suite_add_tcase(s, tc);
	return s;
}
