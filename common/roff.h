/*
 * roff.h — option tables as man(7) source. cccd --help-roff and
 * ccc help --roff print the OPTIONS, COMMANDS and configuration key
 * sections of the manual pages with these, from the same tables that
 * --help prints, so that the pages cannot drift from the programs.
 */
#ifndef CCC_ROFF_H
#define CCC_ROFF_H

#include <stdio.h>

/*
 * Write text as one line of running text: each backslash as \e, a leading
 * "." or "'" guarded by \&, control characters as spaces.
 */
void	roff_text(FILE *fp, const char *text);
/*
 * A tagged paragraph for an option: ".TP", then "-c, --name ARG" (letter 0:
 * no short form; arg NULL: a switch), then help and, when not NULL, more
 * (e.g. the values of an enum) after a space.
 */
void	roff_option(FILE *fp, char letter, const char *name, const char *arg,
	    const char *help, const char *more);

#endif
