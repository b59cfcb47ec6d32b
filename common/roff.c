/*
 * roff.c — option tables as man(7) source (roff.h). Owns the quoting of
 * text for roff; must never decide what a page says: the callers' tables
 * do.
 */
#include <stdio.h>
#include <string.h>

#include "roff.h"

/* Whether s, within the text from start, begins a word. */
static int
roff_word_start(const char *start, const char *s)
{
	return s == start || strchr(" (\"", s[-1]) != NULL;
}

/*
 * Write s with roff's escape character escaped; no newline. A "-" that
 * starts a word, or follows one that does, is a minus (\-: options, as
 * "--json"); one inside a word stays a hyphen ("tr-bg") unless every "-"
 * is a minus (option names).
 */
static void
roff_put(FILE *fp, const char *s, int minus)
{
	const char *start = s;

	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\e", fp);
		else if (*s == '-' && (minus || roff_word_start(start, s) ||
		    (s[-1] == '-' && roff_word_start(start, s - 1))))
			fputs("\\-", fp);
		else if ((unsigned char)*s < 0x20)
			fputc(' ', fp);
		else
			fputc(*s, fp);
	}
}

/* text, then " " and more when more is not empty, as one line. */
static void
roff_line(FILE *fp, const char *text, const char *more)
{
	if (text[0] == '.' || text[0] == '\'')
		fputs("\\&", fp);
	roff_put(fp, text, 0);
	if (more != NULL && more[0] != '\0') {
		fputc(' ', fp);
		roff_put(fp, more, 0);
	}
	fputc('\n', fp);
}

void
roff_text(FILE *fp, const char *text)
{
	roff_line(fp, text, NULL);
}

void
roff_option(FILE *fp, char letter, const char *name, const char *arg,
    const char *help, const char *more)
{
	fputs(".TP\n", fp);
	if (letter != 0)
		fprintf(fp, "\\fB\\-%c\\fR, ", letter);
	fputs("\\fB\\-\\-", fp);
	roff_put(fp, name, 1);
	fputs("\\fR", fp);
	if (arg != NULL) {
		fputs(" \\fI", fp);
		roff_put(fp, arg, 0);
		fputs("\\fR", fp);
	}
	fputc('\n', fp);
	roff_line(fp, help, more);
}
