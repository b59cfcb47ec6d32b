/*
 * log.h — the broker's log: one line per event on stderr,
 * "2026-11-30T01:46:43.123Z LEVEL message", prefixed with its syslog
 * priority ("<4>" for warn) when stderr is the journal. Every line about
 * a session names its peer; nothing logged ever contains alert content
 * beyond ids and topics (alerts may name informants).
 */
#ifndef CCC_LOG_H
#define CCC_LOG_H

#include <stdbool.h>
#include <sys/types.h>

enum log_level { LL_DEBUG, LL_INFO, LL_WARN, LL_ERROR };

/*
 * Look at stderr: when it is the journal, log_prefix() gives priorities
 * from now on. Call it first in main(), and again after changing fd 2.
 */
void	log_init(void);
/*
 * True when env, a JOURNAL_STREAM value ("DEVICE:INODE", decimal), names
 * the file with this device and inode (pure).
 */
bool	log_journal_stream(const char *env, dev_t dev, ino_t ino);
/*
 * "<N>", the syslog priority of level, when stderr is the journal (for
 * lines written to stderr without the log functions); "" otherwise.
 */
const char *log_prefix(enum log_level level);
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
