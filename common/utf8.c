/*
 * utf8.c — strict UTF-8 validation.
 */
#include <stdint.h>
#include <string.h>

#include "utf8.h"

/*
 * Decode one code point at s (len > 0 bytes available). Returns its length,
 * or 0 when the sequence is malformed. *cp receives the code point.
 */
static size_t
utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		n = 2; c &= 0x1f; min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3; c &= 0x0f; min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4; c &= 0x07; min = 0x10000;
	} else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

bool
utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t i = 0, n;

	while (i < len) {
		if ((n = utf8_decode(p + i, len - i, &cp)) == 0 || cp == 0)
			return false;
		i += n;
	}
	return true;
}

/* Valid UTF-8 without control characters other than those in allowed. */
static bool
utf8_valid_controls(const char *s, const char *allowed)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, n;
	uint32_t cp;

	while (i < len) {
		if (p[i] >= 0x20 && p[i] < 0x7f) {	/* printable ASCII: most text */
			i++;
			continue;
		}
		if ((n = utf8_decode(p + i, len - i, &cp)) == 0)
			return false;
		if ((cp < 0x20 && strchr(allowed, (int)cp) == NULL) ||
		    cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
			return false;
		i += n;
	}
	return true;
}

bool
utf8_valid_line(const char *s)
{
	return utf8_valid_controls(s, "");
}

bool
utf8_valid_text(const char *s)
{
	return utf8_valid_controls(s, "\n\t");
}
