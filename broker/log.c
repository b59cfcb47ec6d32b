/*
 * log.c — timestamped, levelled log lines on stderr (systemd and `make run`
 * both capture stderr). When stderr is the journal (JOURNAL_STREAM names its
 * device and inode, as systemd sets it for a service), each line starts with
 * its syslog priority, "<3>" error, "<4>" warn, "<6>" info, "<7>" debug, so
 * that journalctl -p filters by level; never otherwise.
 * Must never block the loop for long: lines are short and written with one
 * fputs on a line-buffered stream.
 */
#include <sys/stat.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static enum log_level log_min = LL_INFO;
static const char *const log_names[] = { "DEBUG", "INFO", "WARN", "ERROR" };
/* syslog(3) priorities of the levels: debug, info, warning, err */
static const char *const log_prios[] = { "<7>", "<6>", "<4>", "<3>" };
static bool log_journal;	/* stderr is the journal: priority prefixes */

bool
log_journal_stream(const char *env, dev_t dev, ino_t ino)
{
	uintmax_t d, i;
	int n = -1;

	if (env == NULL || sscanf(env, "%ju:%ju%n", &d, &i, &n) != 2 ||
	    env[n] != '\0')
		return false;
	return d == (uintmax_t)dev && i == (uintmax_t)ino;
}

void
log_init(void)
{
	struct stat st;

	log_journal = fstat(2, &st) == 0 &&
	    log_journal_stream(getenv("JOURNAL_STREAM"), st.st_dev, st.st_ino);
}

const char *
log_prefix(enum log_level level)
{
	return log_journal ? log_prios[level] : "";
}

void
log_set_level(enum log_level level)
{
	log_min = level;
}

bool
log_level_parse(const char *name, enum log_level *level)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };

	for (int i = 0; i < 4; i++)
		if (strcmp(name, names[i]) == 0) {
			*level = (enum log_level)i;
			return true;
		}
	return false;
}

static void __attribute__((format(printf, 2, 0)))
log_vwrite(enum log_level level, const char *fmt, va_list ap)
{
	char line[2048], ts[32];
	struct timespec now;
	struct tm tm;
	size_t n;

	if (level < log_min)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = (size_t)snprintf(line, sizeof(line), "%s%s.%03ldZ %-5s ",
	    log_prefix(level), ts, now.tv_nsec / 1000000, log_names[level]);
	if (n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	fprintf(stderr, "%s\n", line);
}

#define LOG_FN(name, level)				\
void							\
name(const char *fmt, ...)				\
{							\
	va_list ap;					\
	va_start(ap, fmt);				\
	log_vwrite(level, fmt, ap);			\
	va_end(ap);					\
}
LOG_FN(log_debug, LL_DEBUG)
LOG_FN(log_info, LL_INFO)
LOG_FN(log_warn, LL_WARN)
LOG_FN(log_error, LL_ERROR)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}
