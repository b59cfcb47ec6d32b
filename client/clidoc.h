/*
 * clidoc.h — ccc's option tables as documentation: the man(7) source of
 * the OPTIONS and COMMANDS sections of ccc(1) (ccc help --roff) and the
 * data of the bash and zsh completions (ccc help --completion), printed
 * from the tables that --help prints. The build puts them into the page
 * and the completion scripts (docs/man/, client/completion/).
 */
#ifndef CCC_CLIDOC_H
#define CCC_CLIDOC_H

#include <stdio.h>

/* ccc help --roff: the OPTIONS and COMMANDS sections of ccc(1). */
void	clidoc_roff(FILE *f);
/*
 * ccc help --completion: shell functions (sh syntax, for bash and zsh)
 * that the completion scripts call: _ccc_words WORDS (the commands after
 * the words typed: "", "admin", "admin endpoint"), _ccc_flags COMMAND (its
 * flags, "=" after those that take a value) and _ccc_values --FLAG (the
 * names of an enum, or "@file" for a file).
 */
void	clidoc_completion(FILE *f);

#endif
