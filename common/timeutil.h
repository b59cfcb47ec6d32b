/*
 * timeutil.h — clocks and RFC 3339 times. ccc carries times as int64
 * microseconds since the Unix epoch (UTC).
 */
#ifndef CCC_TIMEUTIL_H
#define CCC_TIMEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The range RFC 3339 can write: 0000-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z. */
#define TIME_MIN_US	INT64_C(-62167219200000000)
#define TIME_MAX_US	INT64_C(253402300799999999)

/* Wall clock, microseconds since the epoch. */
int64_t	time_now_us(void);
/* Monotonic clock, microseconds. */
int64_t	time_mono_us(void);
/*
 * Write us as RFC 3339 UTC ("2026-11-30T01:46:43.123456Z"; the fraction is
 * left out when zero) into buf. Returns buf. Years are written with four
 * digits; a time outside TIME_MIN_US..TIME_MAX_US has no RFC 3339 form and
 * comes out with a longer or signed year, which time_parse_rfc3339() refuses.
 */
char	*time_format_rfc3339(int64_t us, char *buf, size_t len);
/*
 * Parse an RFC 3339 time with 'Z' or a numeric offset and up to 9 fraction
 * digits (extra precision truncated to microseconds). Returns false on any
 * syntax or range error, including a time whose UTC falls outside
 * TIME_MIN_US..TIME_MAX_US (e.g. "0000-01-01T00:00:00+01:00").
 */
bool	 time_parse_rfc3339(const char *s, int64_t *us);
/* Parse a duration such as "90s", "15m", "2h", "1d" into seconds. */
bool	 time_parse_duration(const char *s, int64_t *seconds);

#endif
