/*
 * utf8.h — strict UTF-8 validation (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF). protobuf-c does not check string fields, so every
 * string a peer sends passes through here before it is used or forwarded.
 */
#ifndef CCC_UTF8_H
#define CCC_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..len) is well-formed UTF-8 without NUL bytes. */
bool	utf8_valid(const char *s, size_t len);
/* True when s is well-formed UTF-8 and has no control characters (C0, DEL, C1). */
bool	utf8_valid_line(const char *s);
/* The same, but newline and tab are allowed (multi-line text). */
bool	utf8_valid_text(const char *s);

#endif
