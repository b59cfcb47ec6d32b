/*
 * timeutil.c — clocks and RFC 3339 formatting/parsing.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timeutil.h"

int64_t
time_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
time_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

char *
time_format_rfc3339(int64_t us, char *buf, size_t len)
{
	time_t secs = (time_t)(us / 1000000);
	int64_t frac = us % 1000000;
	struct tm tm;
	size_t n;

	if (frac < 0) {
		frac += 1000000;
		secs--;
	}
	if (gmtime_r(&secs, &tm) == NULL) {
		snprintf(buf, len, "invalid-time");
		return buf;
	}
	/* not strftime's %Y, which leaves years before 1000 unpadded */
	n = (size_t)snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02d",
	    (long long)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
	if (n >= len)
		return buf;
	if (frac != 0)
		snprintf(buf + n, len - n, ".%06lldZ", (long long)frac);
	else
		snprintf(buf + n, len - n, "Z");
	return buf;
}

/* Parse exactly n digits at *p into *out. */
static bool
time_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

bool
time_parse_rfc3339(const char *s, int64_t *us)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	struct tm tm;
	int y, mo, d, h, mi, sec, oh, om, sign;
	int64_t frac = 0, scale = 100000, t;
	const char *p = s;

	if (!time_digits(&p, 4, &y) || *p++ != '-' ||
	    !time_digits(&p, 2, &mo) || *p++ != '-' ||
	    !time_digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
		return false;
	p++;
	if (!time_digits(&p, 2, &h) || *p++ != ':' ||
	    !time_digits(&p, 2, &mi) || *p++ != ':' ||
	    !time_digits(&p, 2, &sec))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || sec > 60)
		return false;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return false;
		for (int i = 0; isdigit((unsigned char)*p); i++, p++) {
			if (i >= 9)
				return false;
			frac += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		oh = om = 0;
		sign = 1;
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (!time_digits(&p, 2, &oh) || *p++ != ':' ||
		    !time_digits(&p, 2, &om) || oh > 23 || om > 59)
			return false;
	} else
		return false;
	if (*p != '\0')
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec == 60 ? 59 : sec;
	t = (int64_t)timegm(&tm);
	if (tm.tm_mday != d)	/* 29 February of a common year */
		return false;
	t -= sign * (oh * 3600 + om * 60);
	t = t * 1000000 + frac;
	/* an offset can carry 0000-01-01 or 9999-12-31 past what RFC 3339 writes */
	if (t < TIME_MIN_US || t > TIME_MAX_US)
		return false;
	*us = t;
	return true;
}

bool
time_parse_duration(const char *s, int64_t *seconds)
{
	char *end;
	long long v;
	int64_t mult;

	if (!isdigit((unsigned char)*s))
		return false;
	v = strtoll(s, &end, 10);
	switch (*end) {
	case 's': case '\0': mult = 1; break;
	case 'm': mult = 60; break;
	case 'h': mult = 3600; break;
	case 'd': mult = 86400; break;
	default: return false;
	}
	if (*end != '\0' && end[1] != '\0')
		return false;
	if (v < 0 || v > INT64_MAX / mult / 1000000)
		return false;
	*seconds = v * mult;
	return true;
}
