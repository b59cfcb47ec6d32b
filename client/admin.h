/*
 * admin.h — `ccc admin`, the operators' commands of the ccc command line:
 * the registry (sections, endpoints, access rules, routing rules) read and
 * changed over the admin protocol (docs/protocol.md section 8a), changes
 * that await a second operator's approval, explanations of who would
 * receive an alert, the broker's status and TLS reload. cli.c dispatches
 * here; admin.c owns the subcommands, their flags, help and output.
 */
#ifndef CCC_ADMIN_H
#define CCC_ADMIN_H

#include <stdio.h>

#include "cli.h"

/*
 * Run `ccc admin` with argv[i] the first word after "admin". Connects with
 * the global options g (already completed from the environment). Returns
 * the exit status: 0 done, 1 refused by the broker or failed, 2 usage.
 */
int	admin_main(const struct cli_global *g, int argc, char **argv, int i);
/* One admin command, for ccc help --roff and the completions (clidoc.c). */
typedef void	(*admin_doc_fn)(void *ctx, const char *words,
		    const char *synopsis, const char *help,
		    const struct cli_flag *flags);
/*
 * Call fn for every admin command in the order of ccc help admin: words
 * "endpoint add" or "status", the usage after them, the one-line help and
 * the command's flags (ended by a NULL name; valid during the call).
 */
void	admin_doc(admin_doc_fn fn, void *ctx);
/* The overview of every admin command (ccc help admin). */
void	admin_help(FILE *f);
/*
 * `ccc help admin COMMAND...` with argv[i] the first word after "admin":
 * the help of that command, as with --help. Returns the exit status.
 */
int	admin_help_command(int argc, char **argv, int i);

#endif
