/*
 * cli.c — the ccc command: publish alerts and follow topic feeds from a
 * shell or a script. Owns option parsing, the text and JSON Lines formats
 * and the exit statuses; everything on the wire goes through libccc
 * (ccc.h), every JSON conversion through pbjson.h. The operators'
 * commands, ccc admin, are in admin.c, which shares the parser and the
 * helpers declared in cli.h.
 *
 * Exit status: sysexits.h values (cli.h), chosen by cli_exit_code() from
 * struct ccc_error's code and transient flag, so that a script can tell a
 * broker it cannot reach (75) from one that refuses it (69, 77); the
 * table is in ccc help. Messages go to stderr as "ccc: ...".
 *
 * publish --json: alerts are pipelined, at most CLI_WINDOW unconfirmed at a
 * time; ids and refusals are reported in input order all the same. Reading
 * stops at the first refused or unreadable alert; alerts already sent are
 * still confirmed (their ids printed) or refused (reported), then ccc exits
 * with the status of the first failure in input order.
 *
 * subscribe and receipts --follow reconnect when the session is lost for a
 * reason that may pass (ccc_error.transient): one line on stderr when it is
 * lost, with the reason, one when it is back; in between ccc_backoff_next()
 * delays, cut short by SIGINT/SIGTERM (exit 0). The back-off starts again
 * from its first delay after a session that lasted CLI_GOOD_SESSION_MS.
 * libccc makes the subscription again and drops repeats (ccc.h,
 * Reconnecting). A refusal that stays (certificate, identity, access) ends
 * the command with its status (77), as does any loss with --no-reconnect
 * (75).
 *
 * JSON output writes doubles with 15 significant digits, so that a value
 * typed as 41.7 comes back as 41.7 rather than as 41.700000000000003.
 *
 * bench: the flags are parsed here into struct bench_opts; bench.c runs it.
 *
 * The hidden `ccc help --roff` and `ccc help --completion` print the
 * command table (cli_cmds[]) and the flag tables as the manual page's
 * sections and the shell completion's lists (clidoc.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "bench.h"
#include "ccc.h"
#include "cli.h"
#include "feed.h"
#include "clidoc.h"
#include "names.h"
#include "pbjson.h"
#include "profile.h"
#include "timeutil.h"
#include "xmalloc.h"

#ifndef CCC_VERSION
#define CCC_VERSION		"0.0.0"
#endif

#define CLI_DEFAULT_TIMEOUT_MS	10000
#define CLI_WINDOW		64	/* unconfirmed publishes in flight */
#define CLI_GOOD_SESSION_MS	10000	/* a session this long resets the back-off */

/* Short options: "-m TEXT" is "--comment TEXT" where a command has --comment. */
static const struct {
	char		 letter;
	const char	*name;
} cli_shorts[] = {
	{ 'h', "help" },
	{ 'm', "comment" },
	{ 'f', "file" },
	{ 'o', "output" },
};

enum {
	G_SERVER, G_CERT, G_KEY, G_CA, G_PROFILE, G_TIMEOUT, G_HELP, G_VERSION,
};

static const struct cli_flag cli_global_flags[] = {
	[G_SERVER] = { "server", "HOST:PORT", "broker address; IPv6 as "
	    "[ADDRESS]:PORT (env CCC_SERVER, default " CCC_DEFAULT_SERVER ")",
	    NULL },
	[G_CERT] = { "cert", "FILE", "client certificate, PEM (env CCC_CERT)",
	    NULL },
	[G_KEY] = { "key", "FILE", "its private key, PEM, unencrypted "
	    "(env CCC_KEY)", NULL },
	[G_CA] = { "ca", "FILE", "CA certificates that signed the broker's "
	    "certificate, PEM (env CCC_CA)", NULL },
	[G_PROFILE] = { "profile", "NAME", "take the server, cert, key and ca "
	    "not given by flags or environment from section [NAME] of "
	    "$XDG_CONFIG_HOME/ccc/profiles (default ~/.config/ccc/profiles; "
	    "env CCC_PROFILE)", NULL },
	[G_TIMEOUT] = { "timeout", "SECONDS", "limit for connecting and for "
	    "each wait for the broker (default 10)", NULL },
	[G_HELP] = { "help", NULL, "show this help", NULL },
	[G_VERSION] = { "version", NULL, "show the version", NULL },
	{ NULL, NULL, NULL, NULL },
};

/* ccc publish */
struct cli_pub {
	Ccc__V1__Alert		 alert;
	Ccc__V1__Location	 loc;
	char			**refs;		/* point into argv */
	size_t			 n_refs;
	char			**recips;	/* point into argv */
	size_t			 n_recips;
	const char		*json;		/* --json FILE or "-" */
	bool			 alert_flags;	/* any alert flag given */
	bool			 have_lat;
	bool			 have_lon;
	bool			 help;
};

enum {
	P_CATEGORY, P_SEVERITY, P_SECTION, P_SUMMARY, P_DETAILS, P_HANDLING,
	P_GRADING, P_TLP, P_LANGUAGE, P_LAT, P_LON, P_OBSERVED_AT, P_REFERENCE,
	P_ID, P_REMARKS, P_EXPIRES, P_RECIPIENT, P_JSON, P_HELP,
};

static const struct cli_flag cli_pub_flags[] = {
	[P_CATEGORY] = { "category", "NAME", "crime area (required), one of:",
	    &ccc__v1__category__descriptor },
	[P_SEVERITY] = { "severity", "NAME", "urgency (required), one of:",
	    &ccc__v1__severity__descriptor },
	[P_SECTION] = { "section", "BORDER/CROSSING", "border section "
	    "(required), e.g. tr-bg/kapikule", NULL },
	[P_SUMMARY] = { "summary", "TEXT", "one line (required)", NULL },
	[P_DETAILS] = { "details", "TEXT", "free text", NULL },
	[P_HANDLING] = { "handling", "CODE", "handling code (required), "
	    "one of:", &ccc__v1__handling__descriptor },
	[P_GRADING] = { "grading", "CODE", "4x4 evaluation, one of:",
	    &ccc__v1__grading__descriptor },
	[P_TLP] = { "tlp", "NAME", "traffic light protocol, one of:",
	    &ccc__v1__tlp__descriptor },
	[P_LANGUAGE] = { "language", "TAG", "language of summary and "
	    "details: tr, bg, el or en", NULL },
	[P_LAT] = { "lat", "DEGREES", "latitude, WGS 84 (with --lon)", NULL },
	[P_LON] = { "lon", "DEGREES", "longitude, WGS 84 (with --lat)", NULL },
	[P_OBSERVED_AT] = { "observed-at", "TIME", "when the facts were "
	    "observed, RFC 3339 (2026-11-30T01:46:43Z)", NULL },
	[P_EXPIRES] = { "expires-in", "DURATION", "stop delivering the alert "
	    "after this long (90s, 30m, 12h, 2d); default: the broker's ttl for "
	    "the category", NULL },
	[P_REFERENCE] = { "reference", "ID", "id of a related alert "
	    "(repeatable)", NULL },
	[P_ID] = { "id", "UUID", "alert id (UUIDv7); the broker assigns one "
	    "when absent", NULL },
	[P_REMARKS] = { "remarks", "TEXT", "free-text remarks", NULL },
	[P_RECIPIENT] = { "recipient", "ENDPOINT", "endpoint the alert is "
	    "addressed to, delivered to its inbox (repeatable); a restricted "
	    "alert (handling h2 or tlp red) reaches only its recipients and the "
	    "targets of the routing rules", NULL },
	[P_JSON] = { "json", cli_arg_form_file, "publish the alerts of a JSON "
	    "Lines file (\"-\": standard input) instead of one given by flags; "
	    "FORM ccc (default) or proto3: canonical proto3 JSON", NULL },
	[P_HELP] = { "help", NULL, "show this help", NULL },
	{ NULL, NULL, NULL, NULL },
};

/* ccc subscribe */
struct cli_sub {
	char		**patterns;	/* point into argv */
	size_t		 n_patterns;
	unsigned long	 count;		/* 0: until interrupted */
	const char	*durable;	/* durable subscription name, or NULL */
	int64_t		 since;		/* replay from this time (us), 0: live only */
	bool		 inbox;		/* the endpoint's inbox */
	bool		 json;
	bool		 no_reconnect;
	int		 color;		/* enum feed_when */
	bool		 bell;
	bool		 utc;
	bool		 help;
};

enum {
	S_JSON, S_COUNT, S_DURABLE, S_INBOX, S_SINCE, S_NO_RECONNECT, S_COLOR,
	S_BELL, S_UTC, S_HELP,
};

static const struct cli_flag cli_sub_flags[] = {
	[S_JSON] = { "json", cli_arg_form, "print each alert as one compact "
	    "JSON object per line; FORM ccc (default) or proto3: canonical "
	    "proto3 JSON", NULL },
	[S_COUNT] = { "count", "N", "exit after N alerts", NULL },
	[S_DURABLE] = { "durable", "NAME", "use (create or resume) the durable "
	    "subscription NAME: alerts published while this command was not "
	    "running are delivered when it runs again; each alert is "
	    "acknowledged after it is printed", NULL },
	[S_INBOX] = { "inbox", NULL, "follow this endpoint's inbox instead of "
	    "topic patterns: the alerts routing rules send it and those that "
	    "name it as a recipient, kept by the broker while this command is "
	    "not running; each alert is acknowledged after it is printed", NULL },
	[S_SINCE] = { "since", "DURATION", "first replay the stored alerts of "
	    "the last DURATION (90s, 30m, 12h, 2d) that match, then continue "
	    "live", NULL },
	[S_NO_RECONNECT] = { "no-reconnect", NULL, "exit with status 75 when "
	    "the connection to the broker is lost, instead of reconnecting",
	    NULL },
	[S_COLOR] = { "color", "WHEN", "severity colours: auto (on a terminal, "
	    "unless NO_COLOR is set and not empty), always, never", NULL },
	[S_BELL] = { "bell", NULL, "on a terminal, ring the bell for each "
	    "critical alert", NULL },
	[S_UTC] = { "utc", NULL, "on a terminal, show times in UTC (RFC 3339) "
	    "instead of the local time zone (TZ)", NULL },
	[S_HELP] = { "help", NULL, "show this help", NULL },
	{ NULL, NULL, NULL, NULL },
};

/* ccc bench */
struct cli_bench {
	struct bench_opts	 o;
	char			 scenario;	/* 0: none */
	bool			 set[32];	/* flags given, by index */
	bool			 help;
};

enum {
	B_SCENARIO, B_PUBLISHERS, B_SUBSCRIBERS, B_COUNT, B_BYTES, B_WINDOW,
	B_RATE, B_PATTERN, B_GROUPS, B_SECTIONS, B_CONN_WINDOW, B_HOLD,
	B_DEADLINE, B_PUB_CERT, B_PUB_KEY, B_SUB_CERT, B_SUB_KEY, B_BROKER_PID,
	B_LABEL, B_JSON, B_DURABLE, B_RESUME, B_BACKLOG, B_HELP,
};

static const struct cli_flag cli_bench_flags[] = {
	[B_SCENARIO] = { "scenario", "a|b|c|d|e|f", "a preset workload (see "
	    "above); other flags override its values", NULL },
	[B_PUBLISHERS] = { "publishers", "N", "publishing sessions "
	    "(default 1)", NULL },
	[B_SUBSCRIBERS] = { "subscribers", "N", "subscribing sessions "
	    "(default 1)", NULL },
	[B_COUNT] = { "count", "N", "alerts in total, over all publishers "
	    "(default 10000); 0: only connect, hold and measure the "
	    "connections", NULL },
	[B_BYTES] = { "bytes", "B", "size of each encoded alert, filler in "
	    "its details (default 512)", NULL },
	[B_WINDOW] = { "window", "N", "unconfirmed publishes per publisher "
	    "at most (default 100)", NULL },
	[B_RATE] = { "rate", "ALERTS/S", "publish on a fixed schedule at this "
	    "total rate, latency counted from the scheduled send time "
	    "(default 0: as fast as the window allows)", NULL },
	[B_PATTERN] = { "pattern", "PATTERN", "every subscriber's pattern, "
	    "under exercise/ (default exercise/#)", NULL },
	[B_GROUPS] = { "groups", "G", "split the 9 categories into G groups "
	    "(1-9); subscriber s subscribes to exercise/CATEGORY/# for the "
	    "categories of group s mod G", NULL },
	[B_SECTIONS] = { "sections", "LIST", "comma-separated sections the "
	    "publishers cycle through with the 9 categories (default: the 8 "
	    "tr-bg and tr-gr sections of the demo registry)", NULL },
	[B_CONN_WINDOW] = { "conn-window", "N", "connections set up at once "
	    "(default 32)", NULL },
	[B_HOLD] = { "hold", "SECONDS", "keep the sessions open and idle this "
	    "long after the run, before the broker's memory is read (default "
	    "0)", NULL },
	[B_DEADLINE] = { "deadline", "SECONDS", "bound on the whole run "
	    "(default 50)", NULL },
	[B_PUB_CERT] = { "pub-cert", "FILE", "publishers' certificate "
	    "(default --cert)", NULL },
	[B_PUB_KEY] = { "pub-key", "FILE", "its key (default --key)", NULL },
	[B_SUB_CERT] = { "sub-cert", "FILE", "subscribers' certificate "
	    "(default --cert)", NULL },
	[B_SUB_KEY] = { "sub-key", "FILE", "its key (default --key)", NULL },
	[B_BROKER_PID] = { "broker-pid", "PID", "the broker's process on this "
	    "machine: report its CPU time per delivery and per connection and "
	    "its memory, from /proc/PID", NULL },
	[B_LABEL] = { "label", "TEXT", "name of the run in the report "
	    "(default: the scenario letter)", NULL },
	[B_JSON] = { "json", NULL, "print one JSON object instead of the "
	    "table", NULL },
	[B_DURABLE] = { "durable", NULL, "durable subscriptions, one per "
	    "subscriber, named bench-RUN-N and deleted after the run; every "
	    "delivery is acknowledged (the broker allows an endpoint "
	    "durable.max_subscriptions of them)", NULL },
	[B_RESUME] = { "resume", NULL, "resume TLS sessions: each connection "
	    "offers the session the broker last gave one of its role (without "
	    "it, every connection makes a full handshake)", NULL },
	[B_BACKLOG] = { "backlog", "fill|drain", "a backlog in two runs, with "
	    "durable subscriptions named bench-backlog-N: fill creates them, "
	    "disconnects the subscribers and publishes; drain (with the same "
	    "workload flags) reconnects them and reads everything, then "
	    "deletes them", NULL },
	[B_HELP] = { "help", NULL, "show this help", NULL },
	{ NULL, NULL, NULL, NULL },
};

/* An alert of publish --json between its line and its report. */
struct cli_slot {
	unsigned long	 line;
	uint64_t	 request_id;
	enum { SLOT_WAITING, SLOT_CONFIRMED, SLOT_FAILED } state;
	char		 id[CCC_ID_LEN];	/* SLOT_CONFIRMED */
	char		*message;		/* SLOT_FAILED: the line to print */
	int		 exit;			/* SLOT_FAILED: its exit status */
};

enum pbjson_form cli_json_form = PBJSON_CCC;
const char cli_arg_form[] = "[=FORM]";
const char cli_arg_form_file[] = "[=FORM] FILE";
static void	cli_usage_lines(FILE *, const char *);

static volatile sig_atomic_t cli_stop;
static int cli_wakeup[2] = { -1, -1 };	/* self-pipe for SIGINT/SIGTERM */

/* ---- help and errors ------------------------------------------------------ */

int
cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("ccc: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'ccc%s%s --help' for more information.\n",
	    cmd != NULL ? " " : "", cmd != NULL ? cmd : "");
	return -1;
}

char *
cli_printf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return buf;
}

size_t
cli_wrap(FILE *f, const char *text, size_t col, size_t indent)
{
	const char *p = text;
	size_t n;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if ((n = strcspn(p, " ")) == 0)
			break;
		if (col > indent && col + 1 + n > CLI_HELP_WIDTH) {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, n, f);
		col += n;
		p += n;
	}
	return col;
}

char
cli_short_of(const char *name)
{
	for (size_t k = 0; k < sizeof(cli_shorts) / sizeof(cli_shorts[0]); k++)
		if (strcmp(cli_shorts[k].name, name) == 0)
			return cli_shorts[k].letter;
	return 0;
}

void
cli_print_flags(FILE *f, const struct cli_flag *flags)
{
	char list[512], letter;
	int n;

	for (const struct cli_flag *fl = flags; fl->name != NULL; fl++) {
		letter = cli_short_of(fl->name);
		if (letter != 0 && letter != 'h')
			n = fprintf(f, "  -%c, --%s%s%s", letter, fl->name,
			    fl->arg ? " " : "", fl->arg ? fl->arg : "");
		else	/* "--json[=FORM]": no space before "[" */
			n = fprintf(f, "  --%s%s%s", fl->name,
			    fl->arg && fl->arg[0] != '[' ? " " : "",
			    fl->arg ? fl->arg : "");
		if (n + 1 >= CLI_HELP_COL) {
			fprintf(f, "\n%*s", CLI_HELP_COL, "");
		} else
			fprintf(f, "%*s", CLI_HELP_COL - n, "");
		n = (int)cli_wrap(f, fl->help, CLI_HELP_COL, CLI_HELP_COL);
		if (fl->values != NULL)
			cli_wrap(f, names_enum_list(fl->values, list, sizeof(list)),
			    (size_t)n, CLI_HELP_COL);
		fputc('\n', f);
	}
}

static void
cli_help_main(FILE *f)
{
	fputs("usage: ccc [OPTIONS] COMMAND [ARGS]\n"
	    "\n"
	    "Publish alerts to the ccc broker and follow its topic feeds, over "
	    "mutual TLS.\n"
	    "\n"
	    "Commands:\n", f);
	for (const struct cli_cmd *cmd = cli_commands(); cmd->name != NULL;
	    cmd++)
		fprintf(f, "  %-10s  %s\n", cmd->name, cmd->help);
	fputs("\n"
	    "Options (before the command):\n", f);
	cli_print_flags(f, cli_global_flags);
	fputs("\n"
	    "Exit status (as in sysexits.h):\n"
	    "  0   success\n"
	    "  64  usage error: unknown command or flag, bad value, missing "
	    "required flag\n"
	    "  65  invalid data: unreadable JSON, an alert or request the "
	    "broker found\n"
	    "      invalid (invalid_alert, invalid_pattern, invalid_request, "
	    "invalid_change)\n"
	    "  66  an input file cannot be read\n"
	    "  69  refused by the broker for another reason that stays "
	    "(not_found,\n"
	    "      alert_id_conflict, limit_exceeded, stale_revision), or "
	    "no such item\n"
	    "  70  protocol error: the broker or ccc misbehaved\n"
	    "  73  an output file cannot be written\n"
	    "  74  standard output cannot be written\n"
	    "  75  try again later: broker unreachable, connection lost or "
	    "timed out, the\n"
	    "      broker stopping, overloaded or unable to store "
	    "(store_unavailable),\n"
	    "      rate_limited\n"
	    "  77  not allowed: certificate refused, unknown_endpoint, "
	    "endpoint_suspended,\n"
	    "      certificate_revoked, forbidden\n"
	    "  78  configuration: the certificate, key, CA file or profile "
	    "cannot be used\n"
	    "ccc bench exits 1 when not every alert was confirmed and "
	    "delivered.\n", f);
}

static void
cli_help_publish(FILE *f)
{
	cli_usage_lines(f, "publish");
	fputs("\n"
	    "Publish one alert described by flags, or one alert per line of a "
	    "JSON Lines\n"
	    "file (field names as in alert.proto, enums by their short names, "
	    "times as\n"
	    "RFC 3339 strings; with --json=proto3, canonical proto3 JSON as "
	    "protobuf's\n"
	    "libraries write it; blank lines are skipped). The id of each "
	    "confirmed alert\n"
	    "is printed on its own line, in input order. Publishing stops at "
	    "the first\n"
	    "refused or unreadable alert; alerts already sent are still "
	    "reported; the\n"
	    "exit status is then that of the first failure (ccc help).\n"
	    "\n"
	    "Flags:\n", f);
	cli_print_flags(f, cli_pub_flags);
}

static void
cli_help_subscribe(FILE *f)
{
	cli_usage_lines(f, "subscribe");
	fputs("\n"
	    "Subscribe to topic patterns (alerts/<category>/<border>/<crossing>,"
	    " with \"+\"\n"
	    "for one level and \"#\" for the rest, e.g. alerts/drugs/# or "
	    "alerts/+/tr-bg/+)\n"
	    "and print each alert delivered: a header line (observed time, or "
	    "published\n"
	    "time, severity, category, section, origin, id), the summary, then "
	    "the details\n"
	    "present, indented. Runs until interrupted (exit 0), until N alerts "
	    "with\n"
	    "--count (exit 0), or until the broker refuses the session or the "
	    "subscription\n"
	    "(exit 77 or 69, ccc help), or with --no-reconnect the connection "
	    "is lost (75).\n"
	    "\n"
	    "When the connection is lost (the broker restarts, the network "
	    "fails), ccc says\n"
	    "so on stderr and reconnects, waiting up to 0.5 s at first, twice as "
	    "long after\n"
	    "each failed attempt (30 s at most), then makes the subscription "
	    "again: a\n"
	    "durable one or the inbox is resumed and sends what was not "
	    "acknowledged; a\n"
	    "plain one replays the alerts published since the last one shown "
	    "(before any:\n"
	    "since it was first made, by this host's clock). No alert is shown "
	    "twice.\n"
	    "\n"
	    "On a terminal the header line is coloured by severity (CRITICAL "
	    "bold red, HIGH\n"
	    "red, MEDIUM yellow), times are in the local time zone, the "
	    "section and the\n"
	    "origin carry the registry's names, and markers follow the id: "
	    "[replayed]\n"
	    "(--since), [redelivered N], [restricted] (handling h2 or tlp red), "
	    "[to you]\n"
	    "(a recipient is this endpoint). To a pipe or a file the output is "
	    "the plain\n"
	    "form above.\n"
	    "\n"
	    "Flags:\n", f);
	cli_print_flags(f, cli_sub_flags);
}

static void
cli_help_bench(FILE *f)
{
	cli_usage_lines(f, "bench");
	fputs("\n"
	    "Measure the broker: P publishers and S subscribers, each on its "
	    "own TLS\n"
	    "session, publish N alerts of B bytes, at most W unconfirmed per "
	    "publisher,\n"
	    "round-robin over 9 categories x the sections. Every expected "
	    "delivery is\n"
	    "checked (lost, duplicates); deliveries with a delivery tag are "
	    "acknowledged.\n"
	    "Prints a table, or one JSON object with --json. Exit status 0 "
	    "when every\n"
	    "alert was confirmed and delivered, 1 otherwise.\n"
	    "\n"
	    "The alerts are exercise alerts, on exercise/ topics that no "
	    "alerts/ subscription\n"
	    "matches; a broker refuses them unless its bench.allow is true, "
	    "and removes them\n"
	    "from its store when the run's sessions close.\n"
	    "\n"
	    "Scenarios (512-byte alerts, window 100):\n"
	    "  a  fan-in: 6 publishers -> 1 subscriber (exercise/#), 100,000 "
	    "alerts\n"
	    "  b  fan-out: 1 publisher -> 50 subscribers (exercise/#), 20,000 "
	    "alerts\n"
	    "  c  mixed: 6 publishers -> 60 subscribers, each matching 1/3 of "
	    "the topics\n"
	    "     (--groups 3), 60,000 alerts\n"
	    "  d  latency: 6 publishers -> 10 subscribers at a fixed 5,000 "
	    "alerts/s for 10 s\n"
	    "  e  connections: 5,000 idle subscribers (--groups 3, --count 0, "
	    "--hold 3):\n"
	    "     handshakes/s and the broker's KiB per connection\n"
	    "  f  backlog: 6 publishers -> 1 durable subscriber, 1,000,000 "
	    "alerts; with\n"
	    "     --backlog fill (subscriber offline) and then --backlog drain\n"
	    "\n"
	    "Publishers need the publisher role for the sections (tr-police in "
	    "the demo);\n"
	    "subscribers may subscribe to alerts/#, which gives exercise/# "
	    "(gr-police in the demo).\n"
	    "\n"
	    "Flags:\n", f);
	cli_print_flags(f, cli_bench_flags);
}

void
cli_report(const char *what, const struct ccc_error *err)
{
	if (err->code > 0 && err->fatal)
		fprintf(stderr, "ccc: the broker closed the session: %s: %s\n",
		    ccc_error_name(err->code), err->message);
	else if (err->code > 0)
		fprintf(stderr, "ccc: %s refused: %s: %s\n", what,
		    ccc_error_name(err->code), err->message);
	else
		fprintf(stderr, "ccc: %s\n", err->message);
}

#define CLI_E(x)	CCC__V1__ERROR_CODE__ERROR_CODE_##x

int
cli_exit_code(int code, bool transient)
{
	switch (code) {
	case CCC_ERR_USAGE:
		return CLI_EXIT_USAGE;
	case CCC_ERR_PROTOCOL:
	case CLI_E(MALFORMED_FRAME):
	case CLI_E(FRAME_TOO_LARGE):
	case CLI_E(PROTOCOL):
	case CLI_E(UNSUPPORTED_VERSION):
		return CLI_EXIT_SOFTWARE;
	case CCC_ERR_TLS:	/* the files were read before: a refused certificate */
		return transient ? CLI_EXIT_TEMPFAIL : CLI_EXIT_NOPERM;
	case CCC_ERR_IO:
	case CCC_ERR_TIMEOUT:
	case CCC_ERR_CLOSED:
	case CLI_E(SLOW_CONSUMER):
	case CLI_E(IDLE_TIMEOUT):
	case CLI_E(SHUTTING_DOWN):
	case CLI_E(TOO_MANY_CONNECTIONS):
	case CLI_E(INTERNAL):
	case CLI_E(SUBSCRIPTION_IN_USE):
	case CLI_E(STORE_UNAVAILABLE):
	case CLI_E(RATE_LIMITED):
		return CLI_EXIT_TEMPFAIL;
	case CLI_E(UNKNOWN_ENDPOINT):
	case CLI_E(ENDPOINT_SUSPENDED):
	case CLI_E(FORBIDDEN):
	case CLI_E(CERTIFICATE_REVOKED):
		return CLI_EXIT_NOPERM;
	case CLI_E(INVALID_ALERT):
	case CLI_E(INVALID_PATTERN):
	case CLI_E(INVALID_REQUEST):
	case CLI_E(INVALID_CHANGE):
		return CLI_EXIT_DATAERR;
	}
	return CLI_EXIT_UNAVAILABLE;
}

int
cli_exit(const struct ccc_error *err)
{
	return cli_exit_code(err->code, err->transient);
}

/* ---- option parsing -------------------------------------------------------- */

/* "=ccc" or "=proto3" after a json_form flag: set cli_json_form. */
static bool
cli_json_form_set(const char *val)
{
	if (strcmp(val, "ccc") == 0)
		cli_json_form = PBJSON_CCC;
	else if (strcmp(val, "proto3") == 0)
		cli_json_form = PBJSON_PROTO3;
	else
		return false;
	return true;
}

/* Levenshtein distance of a[0..alen) and b, each at most 63 bytes. */
static size_t
cli_distance(const char *a, size_t alen, const char *b)
{
	size_t row[64], blen = strlen(b), diag, up;

	if (alen >= 64 || blen >= 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= blen; j++)
		row[j] = j;
	for (size_t i = 1; i <= alen; i++) {
		diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= blen; j++) {
			up = row[j];
			row[j] = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < row[j])
				row[j] = up + 1;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			diag = up;
		}
	}
	return row[blen];
}

/*
 * The name closest to word[0..len) by edit distance, if close enough to be
 * a typo (at most a third of its letters, at least one); NULL otherwise.
 * names is NULL-terminated; with stride, it is an array of structs whose
 * first member is the name.
 */
static const char *
cli_suggest(const char *word, size_t len, const char *const *names,
    size_t stride)
{
	const char *best = NULL, *name;
	size_t d, best_d = (len >= 6 ? len / 3 : 1) + 1;

	for (const char *p = (const char *)names;
	    (name = *(const char *const *)(const void *)p) != NULL; p += stride) {
		if ((d = cli_distance(word, len, name)) < best_d) {
			best_d = d;
			best = name;
		}
	}
	return best;
}

static int
cli_lookup(const struct cli_flag *flags, const char *name, size_t len)
{
	for (int k = 0; flags[k].name != NULL; k++)
		if (strlen(flags[k].name) == len &&
		    strncmp(flags[k].name, name, len) == 0)
			return k;
	return -1;
}

int
cli_parse(int argc, char **argv, int *i, const struct cli_flag *flags,
    bool stop_at_arg, const char *cmd, cli_set_fn set, void *ctx)
{
	char why[1024], *a, *val, *eq;
	const char *name, *hint;
	bool only_args = false, form;
	size_t len;
	int k;

	for (; *i < argc; (*i)++) {
		a = argv[*i];
		if (only_args || a[0] != '-' || a[1] == '\0') {
			if (stop_at_arg)
				return 0;
			if (set(ctx, -1, a, why, sizeof(why)) < 0)
				return cli_usage(cmd, "%s", why);
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_args = true;
			continue;
		}
		if (a[1] != '-') {
			name = NULL;
			for (size_t s = 0; a[2] == '\0' &&
			    s < sizeof(cli_shorts) / sizeof(cli_shorts[0]); s++)
				if (cli_shorts[s].letter == a[1])
					name = cli_shorts[s].name;
			if (name == NULL || (k = cli_lookup(flags, name,
			    strlen(name))) < 0)
				return cli_usage(cmd, "unknown option %s", a);
			eq = NULL;
		} else {
			name = a + 2;
			eq = strchr(a + 2, '=');
			len = eq != NULL ? (size_t)(eq - name) : strlen(name);
			if ((k = cli_lookup(flags, name, len)) < 0) {
				if (cmd != NULL &&
				    cli_lookup(cli_global_flags, name, len) >= 0)
					return cli_usage(cmd, "option --%.*s goes "
					    "before the command: ccc --%.*s ... %s",
					    (int)len, name, (int)len, name, cmd);
				hint = cli_suggest(name, len,
				    &flags[0].name, sizeof(flags[0]));
				return cli_usage(cmd, "unknown option --%.*s%s%s%s",
				    (int)len, name, hint != NULL ?
				    "; did you mean '--" : "", hint != NULL ?
				    hint : "", hint != NULL ? "'?" : "");
			}
		}
		form = flags[k].arg == cli_arg_form ||
		    flags[k].arg == cli_arg_form_file;
		if (eq != NULL && form) {
			if (cli_json_form_set(eq + 1))
				eq = NULL;
			else if (flags[k].arg == cli_arg_form)
				return cli_usage(cmd, "option --%s: unknown JSON "
				    "form \"%s\" (expected ccc or proto3)",
				    flags[k].name, eq + 1);
		}
		val = NULL;
		if (flags[k].arg != NULL && flags[k].arg != cli_arg_form) {
			if (eq != NULL)
				val = eq + 1;
			else if (*i + 1 < argc)
				val = argv[++*i];
			else
				return cli_usage(cmd, "option --%s needs a value "
				    "(%s)", flags[k].name, flags[k].arg);
		} else if (eq != NULL)
			return cli_usage(cmd, "option --%s takes no value",
			    flags[k].name);
		if (set(ctx, k, val, why, sizeof(why)) < 0)
			return cli_usage(cmd, "%s", why);
	}
	return 0;
}

static int
cli_global_set(void *ctx, int which, char *val, char *why, size_t whylen)
{
	struct cli_global *g = ctx;
	char *end;
	double secs;

	switch (which) {
	case G_SERVER: g->server = val; break;
	case G_CERT: g->cert = val; break;
	case G_KEY: g->key = val; break;
	case G_CA: g->ca = val; break;
	case G_PROFILE: g->profile = val; break;
	case G_TIMEOUT:
		errno = 0;
		secs = strtod(val, &end);
		if (end == val || *end != '\0' || errno != 0 || !(secs > 0) ||
		    secs > 86400) {
			cli_printf(why, whylen, "--timeout: expected seconds "
			    "between 0 and 86400, got \"%s\"", val);
			return -1;
		}
		g->timeout_ms = (int)ceil(secs * 1000);
		break;
	case G_HELP: g->help = true; break;
	case G_VERSION: g->version = true; break;
	}
	return 0;
}

/* Parse an enum flag value by its short name. */
static int
cli_enum(const char *flag, const ProtobufCEnumDescriptor *desc,
    const char *val, int *out, char *why, size_t whylen)
{
	char list[512];

	if (names_enum_parse(desc, val, out))
		return 0;
	cli_printf(why, whylen, "--%s: unknown value \"%s\" (expected one of: "
	    "%s)", flag, val, names_enum_list(desc, list, sizeof(list)));
	return -1;
}

static int
cli_degrees(const char *flag, const char *val, double *out, char *why,
    size_t whylen)
{
	char *end;

	errno = 0;
	*out = strtod(val, &end);
	if (end == val || *end != '\0' || errno != 0 || !isfinite(*out)) {
		cli_printf(why, whylen, "--%s: expected a number of degrees, got "
		    "\"%s\"", flag, val);
		return -1;
	}
	return 0;
}

static int
cli_pub_set(void *ctx, int which, char *val, char *why, size_t whylen)
{
	struct cli_pub *p = ctx;
	Ccc__V1__Alert *a = &p->alert;
	int v;

	if (which == -1) {
		cli_printf(why, whylen, "publish takes no arguments (got \"%s\")",
		    val);
		return -1;
	}
	if (which != P_JSON && which != P_HELP)
		p->alert_flags = true;
	switch (which) {
	case P_CATEGORY:
		if (cli_enum("category", &ccc__v1__category__descriptor, val, &v,
		    why, whylen) < 0)
			return -1;
		a->category = (Ccc__V1__Category)v;
		break;
	case P_SEVERITY:
		if (cli_enum("severity", &ccc__v1__severity__descriptor, val, &v,
		    why, whylen) < 0)
			return -1;
		a->severity = (Ccc__V1__Severity)v;
		break;
	case P_HANDLING:
		if (cli_enum("handling", &ccc__v1__handling__descriptor, val, &v,
		    why, whylen) < 0)
			return -1;
		a->handling = (Ccc__V1__Handling)v;
		break;
	case P_GRADING:
		if (cli_enum("grading", &ccc__v1__grading__descriptor, val, &v,
		    why, whylen) < 0)
			return -1;
		a->grading = (Ccc__V1__Grading)v;
		break;
	case P_TLP:
		if (cli_enum("tlp", &ccc__v1__tlp__descriptor, val, &v, why,
		    whylen) < 0)
			return -1;
		a->tlp = (Ccc__V1__Tlp)v;
		break;
	case P_SECTION: a->section = val; break;
	case P_SUMMARY: a->summary = val; break;
	case P_DETAILS: a->details = val; break;
	case P_LANGUAGE: a->language = val; break;
	case P_ID: a->id = val; break;
	case P_REMARKS: a->remarks = val; break;
	case P_LAT:
		p->have_lat = true;
		return cli_degrees("lat", val, &p->loc.lat, why, whylen);
	case P_LON:
		p->have_lon = true;
		return cli_degrees("lon", val, &p->loc.lon, why, whylen);
	case P_OBSERVED_AT:
		if (!time_parse_rfc3339(val, &a->observed_at)) {
			cli_printf(why, whylen, "--observed-at: invalid RFC 3339 "
			    "time \"%s\" (e.g. 2026-11-30T01:46:43Z)", val);
			return -1;
		}
		break;
	case P_EXPIRES: {
		int64_t secs;

		if (!time_parse_duration(val, &secs) || secs == 0) {
			cli_printf(why, whylen, "--expires-in: expected a duration "
			    "such as 90s, 30m, 12h or 2d, got \"%s\"", val);
			return -1;
		}
		a->expires_at = time_now_us() + secs * 1000000;
		break;
	}
	case P_REFERENCE:
		p->refs = xreallocarray(p->refs, p->n_refs + 1, sizeof(char *));
		p->refs[p->n_refs++] = val;
		break;
	case P_RECIPIENT:
		p->recips = xreallocarray(p->recips, p->n_recips + 1,
		    sizeof(char *));
		p->recips[p->n_recips++] = val;
		break;
	case P_JSON: p->json = val; break;
	case P_HELP: p->help = true; break;
	}
	return 0;
}

static int
cli_sub_set(void *ctx, int which, char *val, char *why, size_t whylen)
{
	struct cli_sub *s = ctx;
	char *end;

	switch (which) {
	case -1:
		s->patterns = xreallocarray(s->patterns, s->n_patterns + 1,
		    sizeof(char *));
		s->patterns[s->n_patterns++] = val;
		break;
	case S_JSON: s->json = true; break;
	case S_DURABLE: s->durable = val; break;
	case S_INBOX: s->inbox = true; break;
	case S_NO_RECONNECT: s->no_reconnect = true; break;
	case S_BELL: s->bell = true; break;
	case S_UTC: s->utc = true; break;
	case S_COLOR:
		if ((s->color = feed_when_parse(val)) < 0) {
			cli_printf(why, whylen, "--color: expected auto, always or "
			    "never, got \"%s\"", val);
			return -1;
		}
		break;
	case S_SINCE: {
		int64_t secs;

		if (!time_parse_duration(val, &secs) || secs == 0) {
			cli_printf(why, whylen, "--since: expected a duration such "
			    "as 90s, 30m, 12h or 2d, got \"%s\"", val);
			return -1;
		}
		s->since = time_now_us() - secs * 1000000;
		break;
	}
	case S_COUNT:
		errno = 0;
		s->count = strtoul(val, &end, 10);
		if (val[0] < '0' || val[0] > '9' || *end != '\0' || errno != 0 ||
		    s->count == 0) {
			cli_printf(why, whylen, "--count: expected a positive "
			    "integer, got \"%s\"", val);
			return -1;
		}
		break;
	case S_HELP: s->help = true; break;
	}
	return 0;
}

int
cli_uint(const char *flag, const char *val, unsigned long long min,
    unsigned long long max, unsigned long long *out, char *why, size_t whylen)
{
	char *end;

	errno = 0;
	*out = strtoull(val, &end, 10);
	if (val[0] < '0' || val[0] > '9' || *end != '\0' || errno != 0 ||
	    *out < min || *out > max) {
		cli_printf(why, whylen, "--%s: expected an integer from %llu to "
		    "%llu, got \"%s\"", flag, min, max, val);
		return -1;
	}
	return 0;
}

/* A number of seconds or a rate in [0, max]. */
static int
cli_real(const char *flag, const char *val, double max, double *out,
    char *why, size_t whylen)
{
	char *end;

	errno = 0;
	*out = strtod(val, &end);
	if (end == val || *end != '\0' || errno != 0 || !(*out >= 0) ||
	    *out > max) {
		cli_printf(why, whylen, "--%s: expected a number from 0 to %g, "
		    "got \"%s\"", flag, max, val);
		return -1;
	}
	return 0;
}

static int
cli_bench_set(void *ctx, int which, char *val, char *why, size_t whylen)
{
	struct cli_bench *k = ctx;
	struct bench_opts *o = &k->o;
	const char *name = which >= 0 ? cli_bench_flags[which].name : NULL;
	unsigned long long u = 0;

	if (which < 0) {
		cli_printf(why, whylen, "bench takes no arguments (got \"%s\")",
		    val);
		return -1;
	}
	if ((size_t)which < sizeof(k->set) / sizeof(k->set[0]))
		k->set[which] = true;
	switch (which) {
	case B_SCENARIO:
		if (strlen(val) != 1 || val[0] < 'a' || val[0] > 'f') {
			cli_printf(why, whylen, "--scenario: expected a, b, c, d, "
			    "e or f, got \"%s\"", val);
			return -1;
		}
		k->scenario = val[0];
		return 0;
	case B_PUBLISHERS:
	case B_SUBSCRIBERS:
	case B_WINDOW:
	case B_GROUPS:
	case B_CONN_WINDOW:
	case B_BROKER_PID:
	case B_COUNT:
	case B_BYTES:
		break;
	case B_RATE:
		return cli_real(name, val, 1e7, &o->rate, why, whylen);
	case B_HOLD:
		return cli_real(name, val, 3600, &o->hold_s, why, whylen);
	case B_DEADLINE:
		if (cli_real(name, val, 86400, &o->deadline_s, why, whylen) < 0)
			return -1;
		if (o->deadline_s < 1) {
			cli_printf(why, whylen, "--deadline: at least 1 second");
			return -1;
		}
		return 0;
	case B_PATTERN: o->pattern = val; return 0;
	case B_SECTIONS: o->sections = val; return 0;
	case B_PUB_CERT: o->pub_cert = val; return 0;
	case B_PUB_KEY: o->pub_key = val; return 0;
	case B_SUB_CERT: o->sub_cert = val; return 0;
	case B_SUB_KEY: o->sub_key = val; return 0;
	case B_LABEL: o->label = val; return 0;
	case B_JSON: o->json = true; return 0;
	case B_DURABLE: o->durable = true; return 0;
	case B_RESUME: o->resume = true; return 0;
	case B_BACKLOG:
		if (strcmp(val, "fill") == 0)
			o->backlog = BENCH_BACKLOG_FILL;
		else if (strcmp(val, "drain") == 0)
			o->backlog = BENCH_BACKLOG_DRAIN;
		else {
			cli_printf(why, whylen, "--backlog: expected fill or "
			    "drain, got \"%s\"", val);
			return -1;
		}
		o->durable = true;
		return 0;
	case B_HELP: k->help = true; return 0;
	}
	switch (which) {
	case B_PUBLISHERS:
		if (cli_uint(name, val, 0, 1000, &u, why, whylen) < 0)
			return -1;
		o->publishers = (unsigned)u;
		break;
	case B_SUBSCRIBERS:
		if (cli_uint(name, val, 0, 100000, &u, why, whylen) < 0)
			return -1;
		o->subscribers = (unsigned)u;
		break;
	case B_WINDOW:
		if (cli_uint(name, val, 1, 65535, &u, why, whylen) < 0)
			return -1;
		o->window = (unsigned)u;
		break;
	case B_GROUPS:
		if (cli_uint(name, val, 1, BENCH_CATEGORIES, &u, why, whylen) < 0)
			return -1;
		o->groups = (unsigned)u;
		break;
	case B_CONN_WINDOW:
		if (cli_uint(name, val, 1, 1024, &u, why, whylen) < 0)
			return -1;
		o->conn_window = (unsigned)u;
		break;
	case B_BROKER_PID:
		if (cli_uint(name, val, 1, INT32_MAX, &u, why, whylen) < 0)
			return -1;
		o->broker_pid = (int)u;
		break;
	case B_COUNT:
		if (cli_uint(name, val, 0, 1000000000, &u, why, whylen) < 0)
			return -1;
		o->count = u;
		break;
	case B_BYTES:
		if (cli_uint(name, val, 1, 1 << 20, &u, why, whylen) < 0)
			return -1;
		o->bytes = (size_t)u;
		break;
	}
	return 0;
}

/* ---- session ------------------------------------------------------------- */

/* *opt, or else the environment variable var when it is set and not empty. */
static void
cli_env1(const char **opt, const char *var)
{
	const char *v;

	if (*opt == NULL && (v = getenv(var)) != NULL && v[0] != '\0')
		*opt = v;
}

/*
 * Fill in options from the environment, then from the profile (--profile or
 * CCC_PROFILE): flags > environment > profile > defaults. Returns an exit
 * status (0: ready).
 */
static int
cli_env(struct cli_global *g)
{
	static struct profile p;	/* g points into it until exit */
	char path[4096], msg[4096];

	cli_env1(&g->server, "CCC_SERVER");
	cli_env1(&g->cert, "CCC_CERT");
	cli_env1(&g->key, "CCC_KEY");
	cli_env1(&g->ca, "CCC_CA");
	cli_env1(&g->profile, "CCC_PROFILE");
	if (g->timeout_ms == 0)
		g->timeout_ms = CLI_DEFAULT_TIMEOUT_MS;
	if (g->profile == NULL)
		return CLI_EXIT_OK;
	if (profile_path(path, sizeof(path)) == NULL) {
		fprintf(stderr, "ccc: profile \"%s\": neither XDG_CONFIG_HOME "
		    "nor HOME is set\n", g->profile);
		return CLI_EXIT_CONFIG;
	}
	if (profile_load(path, g->profile, &p, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "ccc: %s\n", msg);
		return CLI_EXIT_CONFIG;
	}
	if (msg[0] != '\0')
		fprintf(stderr, "ccc: %s\n", msg);
	if (g->server == NULL)
		g->server = p.server;
	if (g->cert == NULL)
		g->cert = p.cert;
	if (g->key == NULL)
		g->key = p.key;
	if (g->ca == NULL)
		g->ca = p.ca;
	return CLI_EXIT_OK;
}

/*
 * Connect with the global options, asking for receipt pushes and the
 * registry's names or not.
 */
static int
cli_connect_opts(const struct cli_global *g, bool receipts, bool names,
    ccc_client **c)
{
	struct ccc_options o;
	struct ccc_error err;
	ccc_tls *t = NULL;
	int r;

	if (g->cert == NULL || g->key == NULL || g->ca == NULL) {
		cli_usage(NULL, "no %s: use --%s FILE, set %s or use a "
		    "profile (--profile NAME)",
		    g->cert == NULL ? "client certificate" :
		    g->key == NULL ? "private key" : "CA file",
		    g->cert == NULL ? "cert" : g->key == NULL ? "key" : "ca",
		    g->cert == NULL ? "CCC_CERT" : g->key == NULL ? "CCC_KEY" :
		    "CCC_CA");
		return CLI_EXIT_USAGE;
	}
	memset(&o, 0, sizeof(o));
	o.server = g->server;
	o.cert = g->cert;
	o.key = g->key;
	o.ca = g->ca;
	o.timeout_ms = g->timeout_ms;
	o.client_name = "ccc-cli/" CCC_VERSION;
	o.receipts = receipts;
	o.names = names;
	/* the files first, so that an unusable one is told from a refusal */
	if (ccc_tls_new(&o, false, &t, &err) < 0) {
		fprintf(stderr, "ccc: %s\n", err.message);
		return CLI_EXIT_CONFIG;
	}
	o.tls = t;
	r = ccc_connect(&o, c, &err);
	ccc_tls_free(t);
	if (r < 0) {
		if (err.code == CCC_ERR_USAGE) {
			cli_usage(NULL, "%s", err.message);
			return CLI_EXIT_USAGE;
		}
		fprintf(stderr, "ccc: %s\n", err.message);
		return cli_exit(&err);
	}
	return CLI_EXIT_OK;
}

int
cli_connect(const struct cli_global *g, ccc_client **c)
{
	return cli_connect_opts(g, false, false, c);
}

int
cli_flush(void)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return 0;
	fprintf(stderr, "ccc: cannot write to standard output: %s\n",
	    strerror(errno));
	return -1;
}

/* ---- publish ------------------------------------------------------------- */

/*
 * Report the slots at the head of the window that are settled; the first
 * failure in input order sets *status.
 */
static int
cli_slots_flush(struct cli_slot *w, size_t *head, size_t *count, int *status)
{
	struct cli_slot *s;
	bool wrote = false;

	while (*count > 0 && (s = &w[*head])->state != SLOT_WAITING) {
		if (s->state == SLOT_CONFIRMED) {
			printf("%s\n", s->id);
			wrote = true;
		} else {
			fflush(stdout);
			fprintf(stderr, "%s\n", s->message);
			if (*status == CLI_EXIT_OK)
				*status = s->exit;
			free(s->message);
			s->message = NULL;
		}
		*head = (*head + 1) % CLI_WINDOW;
		(*count)--;
	}
	return wrote ? cli_flush() : 0;
}

/* The next non-blank line of f (without its newline), or NULL at the end. */
static char *
cli_getline(FILE *f, char **buf, size_t *cap, size_t *len,
    unsigned long *lineno)
{
	ssize_t n;

	while ((n = getline(buf, cap, f)) >= 0) {
		(*lineno)++;
		while (n > 0 && ((*buf)[n - 1] == '\n' || (*buf)[n - 1] == '\r'))
			n--;
		(*buf)[n] = '\0';
		*len = (size_t)n;
		if (strspn(*buf, " \t") != (size_t)n)
			return *buf;
	}
	return NULL;
}

/* Turn one JSON line into a sent publish; on failure, fill s as failed. */
static int
cli_pub_line(ccc_client *c, const char *line, size_t len, struct cli_slot *s,
    struct ccc_error *err)
{
	ProtobufCMessage *msg = NULL;
	json_error_t jerr;
	json_t *obj;
	char why[512];

	if ((obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		s->message = xasprintf("ccc: line %lu: invalid JSON: %s "
		    "(column %d)", s->line, jerr.text, jerr.column);
		s->exit = CLI_EXIT_DATAERR;
		goto failed;
	}
	msg = pbjson_to_message(&ccc__v1__alert__descriptor, obj,
	    cli_json_form, why, sizeof(why));
	json_decref(obj);
	if (msg == NULL) {
		s->message = xasprintf("ccc: line %lu: %s", s->line, why);
		s->exit = CLI_EXIT_DATAERR;
		goto failed;
	}
	if (ccc_send_publish(c, (Ccc__V1__Alert *)(void *)msg, &s->request_id,
	    err) < 0) {
		protobuf_c_message_free_unpacked(msg, NULL);
		if (err->fatal)
			return -1;
		s->message = xasprintf("ccc: line %lu: %s", s->line,
		    err->message);
		s->exit = cli_exit(err);
		goto failed;
	}
	protobuf_c_message_free_unpacked(msg, NULL);
	s->state = SLOT_WAITING;
	return 0;
failed:
	s->state = SLOT_FAILED;
	return 0;
}

/* Settle the slot a reply belongs to. Returns true when it was a refusal. */
static bool
cli_pub_reply(const Ccc__V1__Envelope *env, struct cli_slot *w, size_t head,
    size_t count)
{
	struct cli_slot *s = NULL;
	const Ccc__V1__Error *e;

	for (size_t k = 0; k < count; k++) {
		struct cli_slot *t = &w[(head + k) % CLI_WINDOW];
		if (t->state == SLOT_WAITING && t->request_id == env->request_id) {
			s = t;
			break;
		}
	}
	if (s == NULL)
		return false;
	if (env->body_case == CCC__V1__ENVELOPE__BODY_PUBLISH_OK) {
		snprintf(s->id, sizeof(s->id), "%s", env->publish_ok->id);
		s->state = SLOT_CONFIRMED;
		return false;
	}
	if (env->body_case != CCC__V1__ENVELOPE__BODY_ERROR)
		return false;
	e = env->error;
	s->message = xasprintf("ccc: publish refused (line %lu): %s: %s",
	    s->line, ccc_error_name((int)e->code), e->message);
	s->exit = cli_exit_code((int)e->code, false);
	s->state = SLOT_FAILED;
	return true;
}

/* publish --json: pipelined, reported in input order. */
static int
cli_publish_lines(ccc_client *c, FILE *in, int timeout_ms)
{
	struct cli_slot w[CLI_WINDOW];
	struct ccc_error err;
	Ccc__V1__Envelope *env;
	size_t head = 0, count = 0, cap = 0, len;
	unsigned long lineno = 0;
	char *buf = NULL, *line;
	bool reading = true;
	int status = CLI_EXIT_OK, r;

	memset(w, 0, sizeof(w));
	for (;;) {
		while (reading && count < CLI_WINDOW) {
			line = cli_getline(in, &buf, &cap, &len, &lineno);
			if (line == NULL) {
				if (ferror(in)) {
					fprintf(stderr, "ccc: cannot read input: "
					    "%s\n", strerror(errno));
					status = CLI_EXIT_NOINPUT;
				}
				reading = false;
				break;
			}
			struct cli_slot *s = &w[(head + count) % CLI_WINDOW];
			memset(s, 0, sizeof(*s));
			s->line = lineno;
			count++;
			if (cli_pub_line(c, line, len, s, &err) < 0) {
				count--;
				cli_report("publish", &err);
				status = cli_exit(&err);
				goto out;
			}
			if (s->state == SLOT_FAILED)
				reading = false;
		}
		if (cli_slots_flush(w, &head, &count, &status) < 0) {
			status = CLI_EXIT_IOERR;
			goto out;
		}
		if (count == 0 && !reading)
			break;
		if (count == 0)
			continue;
		r = ccc_receive(c, timeout_ms, &env, &err);
		if (r == 0) {
			fprintf(stderr, "ccc: no confirmation from the broker "
			    "within %g s\n", timeout_ms / 1000.0);
			status = CLI_EXIT_TEMPFAIL;
			goto out;
		}
		if (r < 0) {
			cli_report("publish", &err);
			status = cli_exit(&err);
			goto out;
		}
		if (cli_pub_reply(env, w, head, count))
			reading = false;
		else if (env->body_case == CCC__V1__ENVELOPE__BODY_ERROR &&
		    !env->error->fatal)
			fprintf(stderr, "ccc: broker: %s: %s\n",
			    ccc_error_name((int)env->error->code),
			    env->error->message);
		ccc_envelope_free(env);
	}
out:
	/* what is settled is still reported; the rest is lost with the session */
	cli_slots_flush(w, &head, &count, &status);
	for (size_t k = 0; k < CLI_WINDOW; k++)
		free(w[k].message);
	free(buf);
	return status;
}

/*
 * The fields the broker requires of every alert (docs/protocol.md section
 * 7), checked before connecting. Returns 0, or -1 after a usage error.
 */
static int
cli_pub_required(const Ccc__V1__Alert *a)
{
	const struct {
		bool		 given;
		const char	*flag;
	} req[] = {
		{ a->category != 0, "category" },
		{ a->severity != 0, "severity" },
		{ a->section != NULL && a->section[0] != '\0', "section" },
		{ a->summary != NULL && a->summary[0] != '\0', "summary" },
		{ a->handling != 0, "handling" },
	};
	char list[128];
	size_t n = 0, len = 0;

	for (size_t k = 0; k < sizeof(req) / sizeof(req[0]); k++)
		if (!req[k].given)
			len += (size_t)snprintf(list + len, sizeof(list) - len,
			    "%s--%s", n++ > 0 ? ", " : "", req[k].flag);
	if (n == 0)
		return 0;
	return cli_usage("publish", "missing required %s: %s (the broker "
	    "requires them of every alert)", n > 1 ? "flags" : "flag", list);
}

static int
cli_publish(const struct cli_global *g, int argc, char **argv, int i)
{
	struct cli_pub p;
	struct ccc_error err;
	ccc_client *c = NULL;
	FILE *in = NULL;
	char id[CCC_ID_LEN];
	int status;

	memset(&p, 0, sizeof(p));
	ccc__v1__alert__init(&p.alert);
	ccc__v1__location__init(&p.loc);
	if (cli_parse(argc, argv, &i, cli_pub_flags, false, "publish",
	    cli_pub_set, &p) < 0) {
		status = CLI_EXIT_USAGE;
		goto out;
	}
	status = CLI_EXIT_USAGE;
	if (p.help) {
		cli_help_publish(stdout);
		status = CLI_EXIT_OK;
		goto out;
	}
	if (p.json != NULL && p.alert_flags) {
		cli_usage("publish", "--json cannot be combined with alert flags");
		goto out;
	}
	if (p.json == NULL && !p.alert_flags) {
		cli_usage("publish", "nothing to publish: give alert flags "
		    "(--category, --severity, ...) or --json FILE");
		goto out;
	}
	if (p.have_lat != p.have_lon) {
		cli_usage("publish", "--lat and --lon go together");
		goto out;
	}
	if (p.json == NULL && cli_pub_required(&p.alert) < 0)
		goto out;
	if (p.have_lat)
		p.alert.location = &p.loc;
	p.alert.n_references = p.n_refs;
	p.alert.references = p.refs;
	p.alert.n_recipients = p.n_recips;
	p.alert.recipients = p.recips;
	if (p.json != NULL) {
		in = strcmp(p.json, "-") == 0 ? stdin : fopen(p.json, "r");
		if (in == NULL) {
			fprintf(stderr, "ccc: cannot open %s: %s\n", p.json,
			    strerror(errno));
			status = CLI_EXIT_NOINPUT;
			goto out;
		}
	}
	if ((status = cli_connect(g, &c)) != CLI_EXIT_OK)
		goto out;
	if (in != NULL)
		status = cli_publish_lines(c, in, g->timeout_ms);
	else if (ccc_publish(c, &p.alert, id, &err) < 0) {
		cli_report("publish", &err);
		status = cli_exit(&err);
	} else {
		printf("%s\n", id);
		status = cli_flush() < 0 ? CLI_EXIT_IOERR : CLI_EXIT_OK;
	}
out:
	ccc_close(c);
	if (in != NULL && in != stdin)
		fclose(in);
	free(p.refs);
	free(p.recips);
	return status;
}

/* ---- subscribe ----------------------------------------------------------- */

void
cli_put(const char *s, const char *indent)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");

	for (; *p != '\0'; p++) {
		if (*p == '\n') {
			if (indent != NULL)
				printf("\n%s", indent);
			else
				putchar(' ');
		} else if (*p == '\r')
			continue;
		else if (*p == '\t')
			putchar('\t');
		else if (*p < 0x20 || *p == 0x7f)
			putchar('?');
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			putchar('?');	/* C1 control */
			p++;
		} else
			putchar(*p);
	}
}

static bool
cli_set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* "%.15g": exact for values typed with up to 15 digits, no exponent noise. */
static const char *
cli_num(double d, char *buf, size_t len)
{
	return cli_printf(buf, len, "%.15g", d);
}

/* Print the present strings of parts, separated by sep. */
static void
cli_join(const char *const *parts, size_t n, const char *sep)
{
	bool first = true;

	for (size_t i = 0; i < n; i++) {
		if (!cli_set(parts[i]))
			continue;
		if (!first)
			fputs(sep, stdout);
		cli_put(parts[i], NULL);
		first = false;
	}
}

static void
cli_print_typed(const Ccc__V1__Alert *a)
{
	char n1[40], n2[40];

	if (a->persons != NULL) {
		printf("    persons:");
		if (a->persons->count > 0)
			printf(" %u", a->persons->count);
		if (a->persons->n_nationalities > 0) {
			printf(a->persons->count > 0 ? " (" : " ");
			cli_join((const char *const *)(void *)
			    a->persons->nationalities, a->persons->n_nationalities,
			    ", ");
			printf(a->persons->count > 0 ? ")" : "");
		}
		putchar('\n');
	}
	for (size_t i = 0; i < a->n_vehicles; i++) {
		const Ccc__V1__Vehicle *v = a->vehicles[i];
		const char *parts[] = { v->make, v->model, v->colour };

		printf("    vehicle: ");
		cli_put(v->plate, NULL);
		if (cli_set(v->registration_country)) {
			printf(cli_set(v->plate) ? " (" : "(");
			cli_put(v->registration_country, NULL);
			putchar(')');
		}
		if (cli_set(v->make) || cli_set(v->model) || cli_set(v->colour)) {
			if (cli_set(v->plate) || cli_set(v->registration_country))
				printf(", ");
			cli_join(parts, 3, " ");
		}
		putchar('\n');
	}
	for (size_t i = 0; i < a->n_drugs; i++) {
		const Ccc__V1__Drug *d = a->drugs[i];

		printf("    drug: ");
		cli_put(d->substance, NULL);
		if (d->quantity != 0) {
			printf(" %s", cli_num(d->quantity, n1, sizeof(n1)));
			if (cli_set(d->unit)) {
				putchar(' ');
				cli_put(d->unit, NULL);
			}
		}
		putchar('\n');
	}
	for (size_t i = 0; i < a->n_goods; i++) {
		const Ccc__V1__Goods *g = a->goods[i];

		printf("    goods: ");
		cli_put(g->description, NULL);
		if (cli_set(g->hs_code)) {
			printf(", HS ");
			cli_put(g->hs_code, NULL);
		}
		if (g->declared_value != 0) {
			printf(", value %s", cli_num(g->declared_value, n2,
			    sizeof(n2)));
			if (cli_set(g->currency)) {
				putchar(' ');
				cli_put(g->currency, NULL);
			}
		}
		putchar('\n');
	}
	if (a->route != NULL) {
		printf("    route: ");
		cli_put(cli_set(a->route->from) ? a->route->from : "?", NULL);
		printf(" -> ");
		cli_put(cli_set(a->route->to) ? a->route->to : "?", NULL);
		if (cli_set(a->route->crossing)) {
			printf(" via ");
			cli_put(a->route->crossing, NULL);
		}
		putchar('\n');
	}
}

/* "label name" for a set enum value into buf[64]; returns 1, or 0 if unset. */
static size_t
cli_label(char *buf, const char *label, const ProtobufCEnumDescriptor *desc,
    int value)
{
	const char *name = names_enum_short(desc, value);

	if (value == 0 || name == NULL)
		return 0;
	cli_printf(buf, 64, "%s %s", label, name);
	return 1;
}

const char *
cli_severity(const Ccc__V1__Alert *a, char *buf, size_t len)
{
	const char *name;

	name = names_enum_short(&ccc__v1__severity__descriptor, (int)a->severity);
	snprintf(buf, len, "%s", a->severity != 0 && name ? name : "-");
	for (char *p = buf; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	return buf;
}

/*
 * The readable form of the alert d delivers:
 *   TIME SEVERITY category section from origin id ID
 *     summary
 *       details, location, classification, typed details, references,
 *       remarks, publication time (each only when present)
 * On a terminal the header line is feed_head()'s, and the times local.
 */
static void
cli_print_alert(const Ccc__V1__Deliver *d, const struct feed *f)
{
	const Ccc__V1__Alert *a = d->alert;
	char t[64], n1[40], n2[40], sev[32], cls[4][64];
	const char *name, *clsp[4];
	size_t ncls = 0;
	int64_t when = a->observed_at != 0 ? a->observed_at : a->published_at;

	if (f->on)
		feed_head(f, d);
	else {
		name = names_enum_short(&ccc__v1__category__descriptor,
		    (int)a->category);
		printf("%s%s %s %s ", feed_colour_on(f, (int)a->severity),
		    when != 0 ? time_format_rfc3339(when, t, sizeof(t)) : "-",
		    cli_severity(a, sev, sizeof(sev)),
		    a->category != 0 && name ? name : "-");
		cli_put(cli_set(a->section) ? a->section : "-", NULL);
		printf(" from ");
		cli_put(cli_set(a->origin) ? a->origin : "-", NULL);
		printf(" id ");
		cli_put(cli_set(a->id) ? a->id : "-", NULL);
		fputs(feed_colour_off(f, (int)a->severity), stdout);
	}
	printf("\n  ");
	cli_put(a->summary, NULL);
	putchar('\n');

	if (cli_set(a->details)) {
		printf("    ");
		cli_put(a->details, "    ");
		putchar('\n');
	}
	if (a->location != NULL)
		printf("    location: %s, %s\n",
		    cli_num(a->location->lat, n1, sizeof(n1)),
		    cli_num(a->location->lon, n2, sizeof(n2)));
	ncls += cli_label(cls[ncls], "handling", &ccc__v1__handling__descriptor,
	    (int)a->handling);
	ncls += cli_label(cls[ncls], "grading", &ccc__v1__grading__descriptor,
	    (int)a->grading);
	ncls += cli_label(cls[ncls], "tlp", &ccc__v1__tlp__descriptor,
	    (int)a->tlp);
	if (cli_set(a->language))
		cli_printf(cls[ncls++], sizeof(cls[0]), "language %.40s",
		    a->language);
	if (ncls > 0) {
		for (size_t k = 0; k < ncls; k++)
			clsp[k] = cls[k];
		printf("    ");
		cli_join(clsp, ncls, ", ");
		putchar('\n');
	}
	cli_print_typed(a);
	if (a->n_references > 0) {
		printf("    references: ");
		cli_join((const char *const *)(void *)a->references,
		    a->n_references, ", ");
		putchar('\n');
	}
	if (cli_set(a->remarks)) {
		printf("    remarks: ");
		cli_put(a->remarks, "      ");
		putchar('\n');
	}
	if (a->observed_at != 0 && a->published_at != 0)
		printf("    published %s\n", feed_time(f, a->published_at, t,
		    sizeof(t)));
}

static int
cli_print_json(const Ccc__V1__Alert *a)
{
	json_t *obj = pbjson_from_message(&a->base, cli_json_form);
	char *s;

	if (obj == NULL || (s = json_dumps(obj, CLI_JSON_FLAGS)) == NULL) {
		json_decref(obj);
		fprintf(stderr, "ccc: alert %s cannot be written as JSON\n",
		    cli_set(a->id) ? a->id : "-");
		return -1;
	}
	printf("%s\n", s);
	free(s);
	json_decref(obj);
	return 0;
}

static void
cli_on_signal(int sig)
{
	int saved = errno;
	ssize_t r;

	(void)sig;
	cli_stop = 1;
	r = write(cli_wakeup[1], "x", 1);
	(void)r;
	errno = saved;
}

static int
cli_signals(void)
{
	struct sigaction sa;

	if (pipe2(cli_wakeup, O_NONBLOCK | O_CLOEXEC) < 0) {
		fprintf(stderr, "ccc: pipe: %s\n", strerror(errno));
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cli_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return 0;
}

/*
 * Wait for the next envelope, or for SIGINT/SIGTERM. Returns 1 with *env,
 * 0 when interrupted, -1 when the session ended (err says why).
 */
static int
cli_wait(ccc_client *c, Ccc__V1__Envelope **env, struct ccc_error *err)
{
	struct pollfd pfd[2];
	int r;

	for (;;) {
		if (cli_stop)
			return 0;
		if (!ccc_pending(c)) {
			pfd[0].fd = ccc_fd(c);
			pfd[0].events = POLLIN;
			pfd[1].fd = cli_wakeup[0];
			pfd[1].events = POLLIN;
			pfd[0].revents = pfd[1].revents = 0;
			if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
				snprintf(err->message, sizeof(err->message),
				    "poll: %s", strerror(errno));
				return -1;
			}
			if (pfd[0].revents == 0)
				continue;
		}
		if ((r = ccc_receive(c, 0, env, err)) != 0)
			return r;
	}
}

/* Reconnecting a command that follows the broker (see the top of the file). */
struct cli_follow {
	bool			 off;		/* --no-reconnect */
	const char		*resumed;	/* said when it is back */
	struct ccc_backoff	 backoff;
	int64_t			 up_since;	/* when the session began (monotonic us) */
};

/* Wait ms, or less after SIGINT/SIGTERM. Returns 0 when interrupted. */
static int
cli_pause(int ms)
{
	struct pollfd pfd;
	int64_t end = time_mono_us() + (int64_t)ms * 1000, left;

	while (!cli_stop && (left = end - time_mono_us()) > 0) {
		pfd.fd = cli_wakeup[0];
		pfd.events = POLLIN;
		pfd.revents = 0;
		(void)poll(&pfd, 1, (int)((left + 999) / 1000));
	}
	return cli_stop ? 0 : 1;
}

/*
 * The session of c failed with err. Reconnect, unless told not to or err
 * will not pass: 1 when connected again, 0 when interrupted, -1 when not
 * (err says why).
 */
static int
cli_reconnect(ccc_client *c, struct cli_follow *f, struct ccc_error *err)
{
	if (f->off || !err->transient)
		return -1;
	if (time_mono_us() - f->up_since >= CLI_GOOD_SESSION_MS * 1000LL)
		ccc_backoff_reset(&f->backoff);
	fprintf(stderr, "ccc: connection lost: %s; reconnecting\n",
	    err->message);
	do {
		if (cli_pause(ccc_backoff_next(&f->backoff)) == 0)
			return 0;
		if (ccc_reconnect(c, err) == 0) {
			f->up_since = time_mono_us();
			fprintf(stderr, "ccc: reconnected as %s; %s\n",
			    ccc_endpoint(c), f->resumed);
			return 1;
		}
	} while (err->transient);
	return -1;
}

static int
cli_subscribe(const struct cli_global *g, int argc, char **argv, int i)
{
	struct cli_sub s;
	struct cli_follow f;
	struct feed feed;
	struct ccc_error err;
	Ccc__V1__Envelope *env;
	ccc_client *c = NULL;
	unsigned long seen = 0;
	uint32_t sub_id = 0;
	int status, r;

	memset(&s, 0, sizeof(s));
	memset(&f, 0, sizeof(f));
	if (cli_parse(argc, argv, &i, cli_sub_flags, false, "subscribe",
	    cli_sub_set, &s) < 0) {
		status = CLI_EXIT_USAGE;
		goto out;
	}
	if (s.help) {
		cli_help_subscribe(stdout);
		status = CLI_EXIT_OK;
		goto out;
	}
	status = CLI_EXIT_USAGE;
	if (s.inbox && (s.n_patterns > 0 || s.durable != NULL || s.since != 0)) {
		cli_usage("subscribe", "--inbox takes no PATTERN, --durable or "
		    "--since (the inbox is filled by routing rules and named "
		    "recipients)");
		goto out;
	}
	if (s.n_patterns == 0 && !s.inbox) {
		cli_usage("subscribe", "give at least one topic PATTERN, "
		    "e.g. alerts/#, or --inbox");
		goto out;
	}
	if (s.durable != NULL && s.since != 0) {
		cli_usage("subscribe", "--since and --durable do not go together "
		    "(a durable subscription keeps its own backlog)");
		goto out;
	}
	feed_init(&feed, s.json ? FEED_NEVER : (enum feed_when)s.color, s.bell,
	    s.utc);
	feed.on = feed.on && !s.json;
	if ((status = cli_connect_opts(g, false, feed.on, &c)) != CLI_EXIT_OK)
		goto out;
	feed.c = c;
	if ((s.inbox ? ccc_subscribe_inbox(c, &sub_id, NULL, &err) :
	    s.since != 0 ? ccc_subscribe_since(c, s.since,
	    (const char *const *)(void *)s.patterns, s.n_patterns, &sub_id, &err) :
	    ccc_subscribe_durable(c, s.durable,
	    (const char *const *)(void *)s.patterns, s.n_patterns, &sub_id,
	    NULL, &err)) < 0) {
		cli_report("subscribe", &err);
		status = cli_exit(&err);
		goto out;
	}
	if (cli_signals() < 0) {
		status = CLI_EXIT_SOFTWARE;
		goto out;
	}
	f.off = s.no_reconnect;
	f.up_since = time_mono_us();
	f.resumed = s.inbox || s.durable != NULL ? "subscription resumed" :
	    "subscription made again, replaying what was published meanwhile";
	status = CLI_EXIT_OK;
	while (s.count == 0 || seen < s.count) {
		if ((r = cli_wait(c, &env, &err)) < 0 &&
		    (r = cli_reconnect(c, &f, &err)) > 0)
			continue;
		if (r == 0)
			break;
		if (r < 0) {
			fprintf(stderr, "ccc: %s\n", err.message);
			status = cli_exit(&err);
			break;
		}
		if (env->body_case == CCC__V1__ENVELOPE__BODY_DELIVER &&
		    env->deliver->alert != NULL) {
			if (s.json)
				cli_print_json(env->deliver->alert);
			else
				cli_print_alert(env->deliver, &feed);
			seen++;
			if (cli_flush() < 0)
				status = CLI_EXIT_IOERR;
			/*
			 * durable: acknowledged once printed, never before; a
			 * lost session is the next wait's to report
			 */
			else if (env->deliver->delivery_tag != 0 &&
			    (ccc_send_ack(c, &env->deliver->delivery_tag, 1,
			    &err) < 0 || ccc_flush(c, &err) < 0) &&
			    (f.off || !err.transient)) {
				fprintf(stderr, "ccc: ack: %s\n", err.message);
				status = cli_exit(&err);
			}
		} else if (env->body_case == CCC__V1__ENVELOPE__BODY_ERROR &&
		    (!env->error->fatal || f.off)) {
			/* (a fatal one is reported by the next wait, as lost) */
			const Ccc__V1__Error *e = env->error;

			/* the one subscription: its id changes on reconnecting */
			if (e->fatal || e->subscription_id != 0) {
				fprintf(stderr, "ccc: %s: %s: %s\n", e->fatal ?
				    "the broker closed the session" :
				    "subscription ended",
				    ccc_error_name((int)e->code), e->message);
				status = cli_exit_code((int)e->code, false);
			} else
				fprintf(stderr, "ccc: broker: %s: %s\n",
				    ccc_error_name((int)e->code), e->message);
		}
		ccc_envelope_free(env);
		if (status != CLI_EXIT_OK)
			break;
	}
out:
	ccc_close(c);
	free(s.patterns);
	return status;
}

/* ---- receipts -------------------------------------------------------------- */

struct cli_rcpt {
	const char	*id;
	bool		 json;
	bool		 follow;
	bool		 no_reconnect;
	bool		 help;
};

enum { R_JSON, R_FOLLOW, R_NO_RECONNECT, R_HELP };

static const struct cli_flag cli_rcpt_flags[] = {
	[R_JSON] = { "json", cli_arg_form, "print the receipts as one JSON "
	    "object; FORM ccc (default) or proto3: canonical proto3 JSON",
	    NULL },
	[R_FOLLOW] = { "follow", NULL, "instead of one alert's receipts, print "
	    "each acknowledgement of any alert this endpoint publishes, as it "
	    "happens, until interrupted; when the connection is lost, reconnect "
	    "as subscribe does (acknowledgements made meanwhile are not shown: "
	    "ask for the alert's receipts)", NULL },
	[R_NO_RECONNECT] = { "no-reconnect", NULL, "with --follow: exit with "
	    "status 75 when the connection to the broker is lost, instead of "
	    "reconnecting", NULL },
	[R_HELP] = { "help", NULL, "show this help", NULL },
	{ NULL, NULL, NULL, NULL },
};

/* The commands, for ccc help and clidoc.c. */
static const struct cli_cmd cli_cmds[] = {
	{ "publish", "ALERT-FLAGS\n--json[=proto3] FILE", "publish one alert "
	    "given by flags, or many as JSON Lines", cli_pub_flags },
	{ "subscribe", "[--json[=proto3]] [--count N] [--durable NAME | --since "
	    "DURATION] PATTERN...\n--inbox [--json] [--count N]", "print the "
	    "alerts that match topic patterns", cli_sub_flags },
	{ "receipts", "[--json[=proto3]] ALERT_ID\n--follow [--json[=proto3]] "
	    "[--no-reconnect]",
	    "who received an alert you published, and when", cli_rcpt_flags },
	{ "admin", "COMMAND [ARGS]", "operators: the registry, approvals, "
	    "broker status", NULL },
	{ "bench", "[--scenario a|b|c|d|e|f] [FLAGS]", "measure the broker "
	    "with many publishers and subscribers", cli_bench_flags },
	{ "help", "[COMMAND]", "show the usage of a command: ccc help publish",
	    NULL },
	{ NULL, NULL, NULL, NULL },
};

const struct cli_cmd *
cli_commands(void)
{
	return cli_cmds;
}

const struct cli_flag *
cli_globals(void)
{
	return cli_global_flags;
}

/* The usage lines of the command name, from cli_cmds[]. */
static void
cli_usage_lines(FILE *f, const char *name)
{
	const struct cli_cmd *cmd;
	const char *p, *nl;

	for (cmd = cli_cmds; strcmp(cmd->name, name) != 0; cmd++)
		;
	for (p = cmd->synopsis; p != NULL; p = nl != NULL ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		fprintf(f, "%s ccc [OPTIONS] %s %.*s\n", p == cmd->synopsis ?
		    "usage:" : "      ", name, nl != NULL ? (int)(nl - p) :
		    (int)strlen(p), p);
	}
}

static void
cli_help_receipts(FILE *f)
{
	cli_usage_lines(f, "receipts");
	fputs("\n"
	    "Show who received an alert this endpoint published: each recipient "
	    "endpoint,\n"
	    "when the alert was first delivered to it, when it acknowledged it "
	    "(durable\n"
	    "subscriptions), how many deliveries it took, and whether the "
	    "delivery was an\n"
	    "international transfer.\n"
	    "\n"
	    "Flags:\n", f);
	cli_print_flags(f, cli_rcpt_flags);
}

static int
cli_rcpt_set(void *ctx, int which, char *val, char *why, size_t whylen)
{
	struct cli_rcpt *r = ctx;

	switch (which) {
	case -1:
		if (r->id != NULL) {
			cli_printf(why, whylen, "give one ALERT_ID");
			return -1;
		}
		r->id = val;
		break;
	case R_JSON: r->json = true; break;
	case R_FOLLOW: r->follow = true; break;
	case R_NO_RECONNECT: r->no_reconnect = true; break;
	case R_HELP: r->help = true; break;
	}
	return 0;
}

/* Print one receipt line, or the whole ReceiptsOk as JSON. */
static int
cli_print_receipts(const Ccc__V1__ReceiptsOk *ro, bool json, bool header)
{
	char t1[40], t2[40];

	if (json) {
		json_t *obj = pbjson_from_message(&ro->base, cli_json_form);
		char *s = obj != NULL ? json_dumps(obj, CLI_JSON_FLAGS) : NULL;

		if (s != NULL)
			printf("%s\n", s);
		free(s);
		json_decref(obj);
		return s != NULL ? 0 : -1;
	}
	if (header)
		printf("%-20s %-27s %-27s %s\n", "RECIPIENT", "DELIVERED",
		    "ACKNOWLEDGED", "DELIVERIES");
	for (size_t k = 0; k < ro->n_receipts; k++) {
		const Ccc__V1__Receipt *x = ro->receipts[k];

		if (!header)	/* a push: which alert */
			printf("%s ", ro->alert_id);
		printf("%-20s %-27s %-27s %u%s\n", x->endpoint,
		    x->delivered_at != 0 ? time_format_rfc3339(x->delivered_at, t1,
		    sizeof(t1)) : "-", x->acknowledged_at != 0 ?
		    time_format_rfc3339(x->acknowledged_at, t2, sizeof(t2)) : "-",
		    x->deliveries, x->transfer ? "  (transfer)" : "");
	}
	return 0;
}

static int
cli_receipts_follow(const struct cli_global *g, const struct cli_rcpt *r)
{
	struct cli_follow f;
	struct ccc_error err;
	Ccc__V1__Envelope *env;
	ccc_client *c = NULL;
	int status, rc;

	if ((status = cli_connect_opts(g, true, false, &c)) != CLI_EXIT_OK)
		return status;
	if (cli_signals() < 0) {
		ccc_close(c);
		return CLI_EXIT_SOFTWARE;
	}
	memset(&f, 0, sizeof(f));
	f.off = r->no_reconnect;
	f.up_since = time_mono_us();
	f.resumed = "acknowledgements made while disconnected are not shown "
	    "(ccc receipts ALERT_ID lists them)";
	for (;;) {
		if ((rc = cli_wait(c, &env, &err)) < 0 &&
		    (rc = cli_reconnect(c, &f, &err)) > 0)
			continue;
		if (rc <= 0)
			break;
		if (env->body_case == CCC__V1__ENVELOPE__BODY_RECEIPTS_OK &&
		    (cli_print_receipts(env->receipts_ok, r->json, false) < 0 ||
		    cli_flush() < 0))
			status = CLI_EXIT_IOERR;
		ccc_envelope_free(env);
		if (status != CLI_EXIT_OK)
			break;
	}
	if (rc < 0) {
		fprintf(stderr, "ccc: %s\n", err.message);
		status = cli_exit(&err);
	}
	ccc_close(c);
	return status;
}

static int
cli_receipts(const struct cli_global *g, int argc, char **argv, int i)
{
	struct cli_rcpt r;
	struct ccc_error err;
	Ccc__V1__Envelope *reply = NULL;
	ccc_client *c = NULL;
	int status;

	memset(&r, 0, sizeof(r));
	if (cli_parse(argc, argv, &i, cli_rcpt_flags, false, "receipts",
	    cli_rcpt_set, &r) < 0)
		return CLI_EXIT_USAGE;
	if (r.help) {
		cli_help_receipts(stdout);
		return CLI_EXIT_OK;
	}
	if (r.follow)
		return cli_receipts_follow(g, &r);
	if (r.id == NULL) {
		cli_usage("receipts", "give the ALERT_ID of an alert you published");
		return CLI_EXIT_USAGE;
	}
	if ((status = cli_connect(g, &c)) != CLI_EXIT_OK)
		return status;
	if (ccc_receipts(c, r.id, &reply, &err) < 0) {
		cli_report("receipts", &err);
		ccc_close(c);
		return cli_exit(&err);
	}
	if (cli_print_receipts(reply->receipts_ok, r.json, true) < 0)
		status = CLI_EXIT_SOFTWARE;
	else if (!r.json && reply->receipts_ok->n_receipts == 0)
		printf("(no recipient yet)\n");
	if (cli_flush() < 0)
		status = CLI_EXIT_IOERR;
	ccc_envelope_free(reply);
	ccc_close(c);
	return status;
}

/* ---- bench ----------------------------------------------------------------- */

/* The scenario's values for the workload flags not given. */
static void
cli_bench_preset(struct cli_bench *k)
{
	struct bench_opts p;
	struct bench_opts *o = &k->o;

	bench_defaults(&p);
	if (k->scenario != 0)
		bench_scenario(k->scenario, &p);
	if (!k->set[B_PUBLISHERS])
		o->publishers = p.publishers;
	if (!k->set[B_SUBSCRIBERS])
		o->subscribers = p.subscribers;
	if (!k->set[B_COUNT])
		o->count = p.count;
	if (!k->set[B_RATE])
		o->rate = p.rate;
	if (!k->set[B_PATTERN])
		o->pattern = p.pattern;
	if (!k->set[B_GROUPS])
		o->groups = p.groups;
	if (!k->set[B_HOLD])
		o->hold_s = p.hold_s;
	if (!k->set[B_LABEL])
		o->label = p.label;
	if (!k->set[B_DURABLE])
		o->durable = o->durable || p.durable;
}

static int
cli_bench(const struct cli_global *g, int argc, char **argv, int i)
{
	struct cli_bench k;
	struct bench_opts *o = &k.o;
	char why[256];
	size_t min;

	memset(&k, 0, sizeof(k));
	bench_defaults(o);
	if (cli_parse(argc, argv, &i, cli_bench_flags, false, "bench",
	    cli_bench_set, &k) < 0)
		return CLI_EXIT_USAGE;
	if (k.help) {
		cli_help_bench(stdout);
		return CLI_EXIT_OK;
	}
	cli_bench_preset(&k);
	if (strncmp(o->pattern, BENCH_TOPICS, strlen(BENCH_TOPICS)) != 0) {
		cli_usage("bench", "--pattern %s: the bench publishes exercise "
		    "alerts, on topics under %s only", o->pattern, BENCH_TOPICS);
		return CLI_EXIT_USAGE;
	}
	if (k.set[B_PATTERN] && o->groups > 1) {
		cli_usage("bench", "--pattern and --groups (or a scenario with "
		    "groups) cannot be combined; give --groups 1");
		return CLI_EXIT_USAGE;
	}
	if (o->count > 0 && o->publishers == 0) {
		cli_usage("bench", "--count %llu needs at least one publisher",
		    (unsigned long long)o->count);
		return CLI_EXIT_USAGE;
	}
	if (o->publishers + o->subscribers == 0) {
		cli_usage("bench", "no publishers and no subscribers");
		return CLI_EXIT_USAGE;
	}
	/* a bitmap of count bits per subscriber */
	if ((double)o->subscribers * (double)(o->count / 8 + 1) > 4e9) {
		cli_usage("bench", "%u subscribers x %llu alerts is too large a "
		    "run", o->subscribers, (unsigned long long)o->count);
		return CLI_EXIT_USAGE;
	}
	if ((min = bench_min_bytes(o->sections, why, sizeof(why))) == 0) {
		cli_usage("bench", "%s", why);
		return CLI_EXIT_USAGE;
	}
	if (o->bytes < min || o->bytes > min + 16384) {
		cli_usage("bench", "--bytes: from %zu to %zu with these sections "
		    "(the details of an alert hold at most 16384 bytes)", min,
		    min + 16384);
		return CLI_EXIT_USAGE;
	}
	o->server = g->server;
	o->ca = g->ca;
	o->timeout_ms = g->timeout_ms;
	if (o->pub_cert == NULL)
		o->pub_cert = g->cert;
	if (o->pub_key == NULL)
		o->pub_key = g->key;
	if (o->sub_cert == NULL)
		o->sub_cert = g->cert;
	if (o->sub_key == NULL)
		o->sub_key = g->key;
	if (o->ca == NULL) {
		cli_usage(NULL, "no CA file: use --ca FILE or set CCC_CA");
		return CLI_EXIT_USAGE;
	}
	if (o->publishers > 0 && (o->pub_cert == NULL || o->pub_key == NULL)) {
		cli_usage("bench", "no certificate and key for the publishers: "
		    "use --pub-cert/--pub-key or the global --cert/--key");
		return CLI_EXIT_USAGE;
	}
	if (o->subscribers > 0 && (o->sub_cert == NULL || o->sub_key == NULL)) {
		cli_usage("bench", "no certificate and key for the subscribers: "
		    "use --sub-cert/--sub-key or the global --cert/--key");
		return CLI_EXIT_USAGE;
	}
	return bench_run(o) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

/* ---- main ---------------------------------------------------------------- */

/* Say that cmd is no command, with the closest one if it looks misspelt. */
static int
cli_unknown_command(const char *cmd)
{
	const char *hint = cli_suggest(cmd, strlen(cmd),
	    (const char *const *)(const void *)cli_commands(),
	    sizeof(struct cli_cmd));

	if (hint != NULL)
		cli_usage(NULL, "unknown command \"%s\"; did you mean '%s'?", cmd,
		    hint);
	else
		cli_usage(NULL, "unknown command \"%s\" (publish, subscribe, "
		    "receipts, admin, bench or help)", cmd);
	return CLI_EXIT_USAGE;
}

static int
cli_help(int argc, char **argv, int i)
{
	if (i >= argc) {
		cli_help_main(stdout);
		return CLI_EXIT_OK;
	}
	if (i + 1 < argc && strcmp(argv[i], "admin") == 0)
		return admin_help_command(argc, argv, i + 1);
	if (i + 1 == argc && strcmp(argv[i], "--roff") == 0) {
		clidoc_roff(stdout);
		return CLI_EXIT_OK;
	}
	if (i + 1 == argc && strcmp(argv[i], "--completion") == 0) {
		clidoc_completion(stdout);
		return CLI_EXIT_OK;
	}
	if (i + 1 < argc) {
		cli_usage(NULL, "help takes one command name");
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[i], "publish") == 0)
		cli_help_publish(stdout);
	else if (strcmp(argv[i], "subscribe") == 0)
		cli_help_subscribe(stdout);
	else if (strcmp(argv[i], "bench") == 0)
		cli_help_bench(stdout);
	else if (strcmp(argv[i], "receipts") == 0)
		cli_help_receipts(stdout);
	else if (strcmp(argv[i], "admin") == 0)
		admin_help(stdout);
	else if (strcmp(argv[i], "help") == 0)
		cli_help_main(stdout);
	else
		return cli_unknown_command(argv[i]);
	return CLI_EXIT_OK;
}

int
main(int argc, char **argv)
{
	struct cli_global g;
	const char *cmd;
	int i = 1, status;

	memset(&g, 0, sizeof(g));
	if (cli_parse(argc, argv, &i, cli_global_flags, true, NULL,
	    cli_global_set, &g) < 0)
		return CLI_EXIT_USAGE;
	if (g.help) {
		cli_help_main(stdout);
		return CLI_EXIT_OK;
	}
	if (g.version) {
		printf("ccc %s\n", CCC_VERSION);
		return CLI_EXIT_OK;
	}
	if (i >= argc) {
		cli_usage(NULL, "no command given (publish, subscribe, receipts, "
		    "admin, bench or help)");
		return CLI_EXIT_USAGE;
	}
	cmd = argv[i++];
	if (strcmp(cmd, "help") != 0 && (status = cli_env(&g)) != CLI_EXIT_OK)
		return status;
	if (strcmp(cmd, "publish") == 0)
		return cli_publish(&g, argc, argv, i);
	if (strcmp(cmd, "subscribe") == 0)
		return cli_subscribe(&g, argc, argv, i);
	if (strcmp(cmd, "bench") == 0)
		return cli_bench(&g, argc, argv, i);
	if (strcmp(cmd, "receipts") == 0)
		return cli_receipts(&g, argc, argv, i);
	if (strcmp(cmd, "admin") == 0)
		return admin_main(&g, argc, argv, i);
	if (strcmp(cmd, "help") == 0)
		return cli_help(argc, argv, i);
	return cli_unknown_command(cmd);
}
