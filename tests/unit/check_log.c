/*
 * check_log.c — unit tests for the journald priorities of log.c: which
 * JOURNAL_STREAM values name stderr, and that lines carry "<N>" prefixes
 * exactly when stderr is the stream JOURNAL_STREAM names (each test runs
 * in its own process; it points fd 2 at a temporary file).
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "suites.h"

START_TEST(journal_stream_parse)
{
	ck_assert(log_journal_stream("8:1234", 8, 1234));
	ck_assert(log_journal_stream("64769:18446744073709551", 64769,
	    18446744073709551));
	ck_assert(!log_journal_stream("8:1235", 8, 1234));
	ck_assert(!log_journal_stream("9:1234", 8, 1234));
	ck_assert(!log_journal_stream(NULL, 8, 1234));
	ck_assert(!log_journal_stream("", 8, 1234));
	ck_assert(!log_journal_stream("8:", 8, 1234));
	ck_assert(!log_journal_stream("8:1234x", 8, 1234));
	ck_assert(!log_journal_stream("8:1234:5", 8, 1234));
	ck_assert(!log_journal_stream("8", 8, 1234));
}
END_TEST

/*
 * Point stderr at a new temporary file; with journal, set JOURNAL_STREAM
 * to its device and inode plus ino_offset (0: the file itself), otherwise
 * unset it. Then log one line per level and return what was written.
 */
static char *
log_lines(bool journal, int ino_offset)
{
	char path[] = "/tmp/check_log.XXXXXX", env[64];
	static char text[4096];
	struct stat st;
	FILE *fp;
	size_t n;
	int fd;

	ck_assert_int_ge(fd = mkstemp(path), 0);
	unlink(path);
	ck_assert_int_eq(dup2(fd, 2), 2);
	ck_assert_int_eq(fstat(2, &st), 0);
	if (journal) {
		snprintf(env, sizeof(env), "%ju:%ju", (uintmax_t)st.st_dev,
		    (uintmax_t)st.st_ino + (uintmax_t)ino_offset);
		setenv("JOURNAL_STREAM", env, 1);
	} else
		unsetenv("JOURNAL_STREAM");
	log_init();
	log_set_level(LL_DEBUG);
	log_debug("d");
	log_info("i");
	log_warn("w");
	log_error("e");
	fflush(stderr);
	ck_assert_ptr_nonnull(fp = fdopen(fd, "r"));
	rewind(fp);
	n = fread(text, 1, sizeof(text) - 1, fp);
	text[n] = '\0';
	fclose(fp);
	return text;
}

/* The line of the level name, e.g. "WARN ", with its prefix (static). */
static const char *
line_of(const char *text, const char *level)
{
	static char line[256];
	const char *p, *start;

	ck_assert_ptr_nonnull(p = strstr(text, level));
	for (start = p; start > text && start[-1] != '\n'; start--)
		;
	snprintf(line, sizeof(line), "%.*s", (int)(p - start), start);
	return line;
}

START_TEST(priorities_under_journald)
{
	char *text = log_lines(true, 0);

	ck_assert_str_eq(log_prefix(LL_ERROR), "<3>");
	ck_assert(strncmp(line_of(text, "DEBUG d"), "<7>", 3) == 0);
	ck_assert(strncmp(line_of(text, "INFO  i"), "<6>", 3) == 0);
	ck_assert(strncmp(line_of(text, "WARN  w"), "<4>", 3) == 0);
	ck_assert(strncmp(line_of(text, "ERROR e"), "<3>", 3) == 0);
}
END_TEST

START_TEST(no_priorities_elsewhere)
{
	char *text = log_lines(false, 0);

	ck_assert_str_eq(log_prefix(LL_ERROR), "");
	ck_assert_ptr_null(strchr(text, '<'));
	ck_assert_ptr_nonnull(strstr(text, "WARN  w"));
	/* a JOURNAL_STREAM inherited by a process whose stderr is elsewhere */
	text = log_lines(true, 1);
	ck_assert_str_eq(log_prefix(LL_WARN), "");
	ck_assert_ptr_null(strchr(text, '<'));
	ck_assert_ptr_nonnull(strstr(text, "ERROR e"));
}
END_TEST

Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("journald");

	tcase_add_test(tc, journal_stream_parse);
	tcase_add_test(tc, priorities_under_journald);
	tcase_add_test(tc, no_priorities_elsewhere);
	suite_add_tcase(s, tc);
	return s;
}
