/*
 * timeutil.h — clocks and RFC 3339 times. ccc carries times as int64
 * microseconds since the Unix epoch (UTC).
 */
#ifndef CCC_TIMEUTIL_H
#define CCC_TIMEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Wall clock, microseconds since the epoch. */
int64_t	time_now_us(void);
/* Monotonic clock, microseconds. */
int64_t	time_mono_us(void);
/*
 * Write us as RFC 3339 UTC ("2026-11-30T01:46:43.123456Z"; the fraction is
 * left out when zero) into buf. Returns buf.
 */
char	*time_format_rfc3339(int64_t us, char *buf, size_t len);
/*
 * Parse an RFC 3339 time with 'Z' or a numeric offset and up to 9 fraction
 * digits (extra precision truncated to microseconds). Returns false on any
 * syntax or range error.
 */
bool	 time_parse_rfc3339(const char *s, int64_t *us);
/* Parse a duration such as "90s", "15m", "2h", "1d" into seconds. */
bool	 time_parse_duration(const char *s, int64_t *seconds);

#endif
