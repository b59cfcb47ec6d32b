/*
 * cli.h — what the parts of the ccc command line share: the option tables
 * and their parser, the usage and error messages, the exit statuses, the
 * connection made from the global options. cli.c owns them; admin.c (ccc
 * admin) uses them so that every command parses, reports and exits alike.
 */
#ifndef CCC_CLI_H
#define CCC_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "ccc.h"
#include "pbjson.h"

/* Exit statuses, as in sysexits.h: cli_exit() maps a ccc_error to them. */
#define CLI_EXIT_OK		0
#define CLI_EXIT_FAIL		1	/* ccc bench: not every alert confirmed and delivered */
#define CLI_EXIT_USAGE		64	/* EX_USAGE: bad command, flag or value */
#define CLI_EXIT_DATAERR	65	/* EX_DATAERR: invalid alert, JSON or request data */
#define CLI_EXIT_NOINPUT	66	/* EX_NOINPUT: an input file cannot be read */
#define CLI_EXIT_UNAVAILABLE	69	/* EX_UNAVAILABLE: the broker refused the request */
#define CLI_EXIT_SOFTWARE	70	/* EX_SOFTWARE: a protocol error, either side's fault */
#define CLI_EXIT_CANTCREAT	73	/* EX_CANTCREAT: an output file cannot be written */
#define CLI_EXIT_IOERR		74	/* EX_IOERR: standard output cannot be written */
#define CLI_EXIT_TEMPFAIL	75	/* EX_TEMPFAIL: unreachable, lost, or refused for now */
#define CLI_EXIT_NOPERM		77	/* EX_NOPERM: identity or access refused */
#define CLI_EXIT_CONFIG		78	/* EX_CONFIG: certificate, key, CA or profile unusable */
#define CLI_JSON_FLAGS		(JSON_COMPACT | JSON_REAL_PRECISION(15))
#define CLI_HELP_COL		26	/* where flag help text starts */
#define CLI_HELP_WIDTH		79

/* One option of a command. */
struct cli_flag {
	const char			*name;	/* without "--" */
	const char			*arg;	/* value placeholder; NULL: a switch */
	const char			*help;
	const ProtobufCEnumDescriptor	*values;	/* enum: help lists the names */
};

/* A command of ccc: its usage, its one-line help and its flags. */
struct cli_cmd {
	const char		*name;
	const char		*synopsis;	/* after the name; "\n" between forms */
	const char		*help;
	const struct cli_flag	*flags;		/* NULL: admin and help */
};

/*
 * The arg of a flag that also takes a JSON form, "=ccc" or "=proto3":
 * cli_arg_form for a switch (--json, --json=proto3), cli_arg_form_file for
 * a flag with a file (--json FILE, --json=proto3 FILE). Compared by address.
 */
extern const char	 cli_arg_form[];
extern const char	 cli_arg_form_file[];

/*
 * The JSON form chosen on such a flag (PBJSON_CCC when not given): every
 * JSON the commands read or write in alert.proto's and envelope.proto's
 * terms uses it.
 */
extern enum pbjson_form	 cli_json_form;

/*
 * Store option which (an index into the command's flag table, or -1 for a
 * positional argument) with its value (NULL for a switch). On a usage error
 * write it into why and return -1.
 */
typedef int	(*cli_set_fn)(void *ctx, int which, char *val, char *why,
		    size_t whylen);

/* Global options, before the command. */
struct cli_global {
	const char	*server;
	const char	*cert;
	const char	*key;
	const char	*ca;
	const char	*profile;	/* --profile NAME */
	int		 timeout_ms;
	bool		 help;
	bool		 version;
};

/* The commands (ended by a NULL name) and the global options. */
const struct cli_cmd	*cli_commands(void);
const struct cli_flag	*cli_globals(void);
/* The letter of the short form of --name, or 0 when it has none. */
char		 cli_short_of(const char *name);
/* Print "ccc: <what>" and the hint to run --help; returns -1. */
int		 cli_usage(const char *cmd, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* snprintf into buf[len]; returns buf. */
char		*cli_printf(char *buf, size_t len, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
/*
 * Print the words of text to f from column col, wrapping before
 * CLI_HELP_WIDTH to column indent. Returns the column it ends in.
 */
size_t		 cli_wrap(FILE *f, const char *text, size_t col, size_t indent);
/*
 * Print the flags of a table (ended by a NULL name) for --help, with the
 * short form of those that have one ("-m, --comment TEXT").
 */
void		 cli_print_flags(FILE *f, const struct cli_flag *flags);
/*
 * Parse argv[*i] on against flags ("--name VALUE", "--name=VALUE", the short
 * forms -h, -m, -f and -o for --help, --comment, --file and --output when
 * the table has them), calling set() for each. On a flag whose arg is
 * cli_arg_form or cli_arg_form_file, "=ccc" or "=proto3" sets
 * cli_json_form and is not the flag's value: the first is a switch, the
 * second takes FILE from the next argument (another "=VALUE" is its FILE).
 * A positional argument stops the parse when stop_at_arg (global options),
 * else goes to set() as -1; after "--" everything is positional. cmd names the command for the hint.
 * Returns 0, or -1 after printing a usage error.
 */
int		 cli_parse(int argc, char **argv, int *i,
		    const struct cli_flag *flags, bool stop_at_arg,
		    const char *cmd, cli_set_fn set, void *ctx);
/* An unsigned integer in [min, max] for --flag; 0, or -1 with why. */
int		 cli_uint(const char *flag, const char *val,
		    unsigned long long min, unsigned long long max,
		    unsigned long long *out, char *why, size_t whylen);
/*
 * Report a failed request: "ccc: WHAT refused: CODE: MESSAGE" for a broker
 * refusal, the broker's closing, or a local failure's message.
 */
void		 cli_report(const char *what, const struct ccc_error *err);
/*
 * The exit status for a failure with a broker error code (> 0) or a local
 * one (< 0, transient as struct ccc_error says); the table in cli.c.
 */
int		 cli_exit_code(int code, bool transient);
/* cli_exit_code() of err. */
int		 cli_exit(const struct ccc_error *err);
/* Connect with the global options. Returns an exit status (0: connected). */
int		 cli_connect(const struct cli_global *g, ccc_client **c);
/* Flush stdout; on failure say so. Returns 0 or -1. */
int		 cli_flush(void);
/* The alert's severity as its upper-case short name ("-": none); buf. */
const char	*cli_severity(const Ccc__V1__Alert *a, char *buf, size_t len);
/*
 * Write s to stdout, replacing control characters; a newline continues at
 * indent (NULL: a newline becomes a space).
 */
void		 cli_put(const char *s, const char *indent);

#endif
