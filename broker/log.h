/*
 * log.h — the broker's log: one line per event on stderr,
 * "2026-11-30T01:46:43.123Z LEVEL message". Every line about a session
 * names its peer; nothing logged ever contains alert content beyond ids
 * and topics (alerts may name informants).
 */
#ifndef CCC_LOG_H
#define CCC_LOG_H

#include <stdbool.h>

enum log_level { LL_DEBUG, LL_INFO, LL_WARN, LL_ERROR };

void	log_set_level(enum log_level level);
/* Parse "debug", "info", "warn" or "error". */
bool	log_level_parse(const char *name, enum log_level *level);
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log and exit(1). Only for start-up failures and broken invariants. */
void	fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
