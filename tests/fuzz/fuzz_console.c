/*
 * fuzz_console.c — the console's pure parsing (console.h): the request
 * path check, numbers, times and the history query string.
 *
 * Input: three lines, a path, a value and a query string. Properties:
 *   - console_path_ok() never accepts a path that does not start with '/',
 *     holds a byte outside printable ASCII, a '%', "//" or a "." or ".."
 *     segment, or is longer than 512 bytes;
 *   - console_uint() accepts digits only, within the bound, and gives their
 *     value; console_time() accepts what console_uint() or
 *     time_parse_rfc3339() accept, and nothing else;
 *   - console_history_query() either fails with a message or gives a limit
 *     of 1..200, from <= to, and NUL-terminated section and q within their
 *     buffers.
 */
#include <inttypes.h>
#include <stdbool.h>

#include "console.h"
#include "fuzz.h"
#include "timeutil.h"

/* The path rules, written out plainly. */
static bool
ref_path_ok(const char *p, size_t len)
{
	if (len == 0 || len > 512 || p[0] != '/')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c <= 0x20 || c >= 0x7f || c == '%' || c == '\\')
			return false;
	}
	if (strstr(p, "//") != NULL)
		return false;
	for (const char *s = p; (s = strchr(s, '/')) != NULL; s++) {
		size_t seg = strcspn(s + 1, "/");

		if ((seg == 1 && s[1] == '.') ||
		    (seg == 2 && s[1] == '.' && s[2] == '.'))
			return false;
	}
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	char *path = fuzz_line(&in), *val = fuzz_line(&in), *query = fuzz_line(&in);
	struct console_history_q h;
	char why[200];
	uint64_t u;
	int64_t t, t2;
	bool digits;

	FUZZ_CHECK(console_path_ok(path, strlen(path)) ==
	    ref_path_ok(path, strlen(path)));

	digits = val[0] != '\0' && strspn(val, "0123456789") == strlen(val);
	if (console_uint(val, UINT64_MAX, &u) == 0) {
		char back[32];

		FUZZ_CHECK(digits);
		snprintf(back, sizeof(back), "%" PRIu64, u);
		/* the same value, leading zeros aside */
		FUZZ_CHECK(strcmp(val + strspn(val, "0") - (u == 0 &&
		    strspn(val, "0") == strlen(val) ? 1 : 0), back) == 0);
	}
	if (console_uint(val, 200, &u) == 0)
		FUZZ_CHECK(u <= 200);
	if (console_time(val, &t) == 0)
		FUZZ_CHECK(digits ? console_uint(val, INT64_MAX, &u) == 0 &&
		    (int64_t)u == t : time_parse_rfc3339(val, &t2) && t2 == t);
	else
		FUZZ_CHECK(digits ? console_uint(val, INT64_MAX, &u) < 0 :
		    !time_parse_rfc3339(val, &t2));

	if (console_history_query(query, INT64_C(1800000000000000), &h, why,
	    sizeof(why)) == 0) {
		FUZZ_CHECK(h.limit >= 1 && h.limit <= 200);
		FUZZ_CHECK(h.from <= h.to);
		FUZZ_CHECK(memchr(h.section, '\0', sizeof(h.section)) != NULL);
		FUZZ_CHECK(memchr(h.q, '\0', sizeof(h.q)) != NULL);
	} else
		FUZZ_CHECK(why[0] != '\0');
	free(path);
	free(val);
	free(query);
	return 0;
}
