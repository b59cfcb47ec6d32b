/*
 * admin.c — `ccc admin COMMAND`: the operators' commands. Every command
 * opens one session with the operator's certificate, sends one or two
 * AdminRequests through ccc_admin() and prints the reply; the broker checks
 * the operator role and validates every change (docs/protocol.md section 8a).
 *
 * Registry items travel as JSON objects of the registry file's own schema.
 * A single-item change (endpoint add, acl remove, route update, ...) first
 * asks for the current registry (AdminGet): its revision becomes the
 * change's base revision, so that a change prepared while another operator
 * changed the registry is refused (STALE_REVISION) instead of undoing theirs;
 * add refuses an id that exists (a PUT would replace it), update merges the
 * flags given into the item as it is.
 *
 * Output: aligned tables and indented blocks for people; with --json one
 * line of JSON for scripts — the registry's own JSON for list and show, the
 * broker's status object for status, the AdminReply (pbjson) otherwise.
 * Exit status as everywhere in ccc (cli.h, cli_exit()): 0 done (a change
 * that became a proposal included), 64 usage error, 77 not allowed, 69
 * otherwise refused by the broker or naming an item that does not exist or
 * exists already, and the other sysexits.h values of ccc help.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "ccc.h"
#include "cli.h"
#include "names.h"
#include "pbjson.h"
#include "timeutil.h"
#include "xmalloc.h"

#define ADMIN_MAX_FILE		(16u * 1024 * 1024)	/* apply, explain input */
#define ADMIN_NAME_LEN		48

/* Flags of the admin commands; each command accepts some (admin_cmds). */
enum {
	A_ID, A_NAME, A_KIND, A_ROLES, A_COUNTRY, A_CA_PINS,
	A_ACTION, A_ENDPOINTS, A_CATEGORIES, A_SECTIONS, A_TOPICS,
	A_MIN_SEVERITY, A_ORIGINS, A_TARGETS,
	A_JSON_IN, A_ORIGIN, A_FILE, A_BASE, A_OUTPUT, A_REVISION, A_LIMIT,
	A_DRY_RUN, A_COMMENT, A_JSON, A_REPLY_JSON, A_HELP,
	A_NFLAGS
};

#define AB(f)		(UINT32_C(1) << (f))

static const struct cli_flag admin_flags[A_NFLAGS] = {
	[A_JSON] = { "json", NULL, "print the result as one line of JSON, for "
	    "scripts", NULL },
	[A_JSON_IN] = { "json", cli_arg_form_file, "the alert, one JSON object "
	    "as for ccc publish --json (\"-\": standard input); FORM ccc "
	    "(default) or proto3", NULL },
	[A_REPLY_JSON] = { "reply-json", cli_arg_form, "print the explanation "
	    "as one line of JSON; FORM ccc (default) or proto3", NULL },
	[A_COMMENT] = { "comment", "TEXT", "why: kept with the revision or "
	    "the proposal, shown by history and pending", NULL },
	[A_DRY_RUN] = { "dry-run", NULL, "validate and show the diff, and "
	    "whether the change would need approval; change nothing", NULL },
	[A_ID] = { "id", "ID", "id of the new item: lower-case letters, "
	    "digits and \"-\" (sections: BORDER/CROSSING, e.g. tr-bg/kapikule)",
	    NULL },
	[A_NAME] = { "name", "TEXT", "display name", NULL },
	[A_KIND] = { "kind", "KIND", "police, border_police, gendarmerie, "
	    "customs or operator", NULL },
	[A_ROLES] = { "roles", "LIST", "comma-separated roles: publisher, "
	    "subscriber, operator", NULL },
	[A_COUNTRY] = { "country", "CC", "TR, BG or GR; none for the centre's "
	    "own endpoints", NULL },
	[A_CA_PINS] = { "ca-pins", "LIST", "comma-separated SHA-256 "
	    "fingerprints (AB:CD:...) of the CAs the endpoint's certificate must "
	    "be issued by; none: any CA the broker trusts", NULL },
	[A_ACTION] = { "action", "ACTION", "publish or subscribe", NULL },
	[A_ENDPOINTS] = { "endpoints", "LIST", "comma-separated endpoint ids, "
	    "or \"*\" for every endpoint", NULL },
	[A_CATEGORIES] = { "categories", "LIST", "comma-separated category "
	    "names, or \"*\":", &ccc__v1__category__descriptor },
	[A_SECTIONS] = { "sections", "LIST", "comma-separated section ids, "
	    "BORDER/* (a whole border) or \"*\"", NULL },
	[A_TOPICS] = { "topics", "LIST", "subscribe rules: comma-separated "
	    "topic patterns the endpoints may subscribe within, e.g. "
	    "alerts/drugs/#", NULL },
	[A_MIN_SEVERITY] = { "min-severity", "SEVERITY", "only alerts at least "
	    "this severe, one of:", &ccc__v1__severity__descriptor },
	[A_ORIGINS] = { "origins", "LIST", "only alerts published by these: "
	    "comma-separated endpoint ids, country codes (TR, BG, GR) or \"*\"",
	    NULL },
	[A_TARGETS] = { "targets", "LIST", "comma-separated endpoints whose "
	    "inboxes receive the alerts the route matches", NULL },
	[A_LIMIT] = { "limit", "N", "the N newest revisions (default 50)",
	    NULL },
	[A_OUTPUT] = { "output", "FILE", "write the registry to FILE instead "
	    "of standard output", NULL },
	[A_REVISION] = { "revision", "REV", "an earlier revision instead of "
	    "the current one", NULL },
	[A_FILE] = { "file", "FILE", "the registry document to apply "
	    "(\"-\": standard input)", NULL },
	[A_BASE] = { "base", "REV", "the revision the document was made from, "
	    "for a document without the \"revision:\" key that ccc admin "
	    "export writes", NULL },
	[A_ORIGIN] = { "origin", "ENDPOINT", "the endpoint whose publish to "
	    "simulate (default: the alert's origin field)", NULL },
	[A_HELP] = { "help", NULL, "show this help", NULL },
};

/* One field of a registry item, set by a flag of add and update. */
struct admin_field {
	int		 flag;
	const char	*key;		/* in the item's JSON */
	bool		 list;		/* comma-separated -> array of strings */
};

/* A column of a list table: the item's key and the heading. */
struct admin_col {
	const char	*head;
	const char	*key;
};

/* A registry collection, as the entity commands see it. */
struct admin_coll {
	const char			*noun;	/* command word: endpoint */
	const char			*key;	/* registry key: endpoints */
	const struct admin_field	*fields;	/* in the file's key order */
	size_t				 nfields;
	uint32_t			 required;	/* flags add needs */
	const struct admin_col		*cols;
	size_t				 ncols;
};

static const struct admin_field admin_section_fields[] = {
	{ A_ID, "id", false },
	{ A_NAME, "name", false },
};

static const struct admin_field admin_endpoint_fields[] = {
	{ A_ID, "id", false },
	{ A_COUNTRY, "country", false },
	{ A_KIND, "kind", false },
	{ A_NAME, "name", false },
	{ A_ROLES, "roles", true },
	{ A_CA_PINS, "ca", true },
};

static const struct admin_field admin_acl_fields[] = {
	{ A_ID, "id", false },
	{ A_ACTION, "action", false },
	{ A_ENDPOINTS, "endpoints", true },
	{ A_CATEGORIES, "categories", true },
	{ A_SECTIONS, "sections", true },
	{ A_TOPICS, "topics", true },
};

static const struct admin_field admin_route_fields[] = {
	{ A_ID, "id", false },
	{ A_CATEGORIES, "categories", true },
	{ A_SECTIONS, "sections", true },
	{ A_MIN_SEVERITY, "min_severity", false },
	{ A_ORIGINS, "origins", true },
	{ A_TARGETS, "targets", true },
};

static const struct admin_col admin_section_cols[] = {
	{ "ID", "id" }, { "NAME", "name" },
};

static const struct admin_col admin_endpoint_cols[] = {
	{ "ID", "id" }, { "COUNTRY", "country" }, { "KIND", "kind" },
	{ "ROLES", "roles" }, { "STATE", "suspended" }, { "NAME", "name" },
};

static const struct admin_col admin_acl_cols[] = {
	{ "ID", "id" }, { "ACTION", "action" }, { "ENDPOINTS", "endpoints" },
	{ "CATEGORIES", "categories" }, { "SECTIONS", "sections" },
	{ "TOPICS", "topics" },
};

static const struct admin_col admin_route_cols[] = {
	{ "ID", "id" }, { "CATEGORIES", "categories" },
	{ "SECTIONS", "sections" }, { "MIN-SEVERITY", "min_severity" },
	{ "ORIGINS", "origins" }, { "TARGETS", "targets" },
};

#define ADMIN_N(a)	(sizeof(a) / sizeof((a)[0]))

static const struct admin_coll admin_colls[] = {
	{ "section", "sections", admin_section_fields,
	    ADMIN_N(admin_section_fields), AB(A_ID) | AB(A_NAME),
	    admin_section_cols, ADMIN_N(admin_section_cols) },
	{ "endpoint", "endpoints", admin_endpoint_fields,
	    ADMIN_N(admin_endpoint_fields),
	    AB(A_ID) | AB(A_KIND) | AB(A_NAME) | AB(A_ROLES),
	    admin_endpoint_cols, ADMIN_N(admin_endpoint_cols) },
	{ "acl", "access_rules", admin_acl_fields, ADMIN_N(admin_acl_fields),
	    AB(A_ID) | AB(A_ACTION) | AB(A_ENDPOINTS),
	    admin_acl_cols, ADMIN_N(admin_acl_cols) },
	{ "route", "routes", admin_route_fields, ADMIN_N(admin_route_fields),
	    AB(A_ID) | AB(A_CATEGORIES) | AB(A_SECTIONS) | AB(A_TARGETS),
	    admin_route_cols, ADMIN_N(admin_route_cols) },
};

struct admin_run;
typedef int	(*admin_fn)(struct admin_run *);

/* One admin command: NOUN VERB (registry items) or a VERB of its own. */
struct admin_cmd {
	const char	*noun;		/* section, endpoint, acl, route; NULL */
	const char	*verb;
	const char	*synopsis;	/* what follows the verb in the usage */
	const char	*help;
	const char	*argname;	/* its one positional argument; NULL: none */
	uint32_t	 flags;		/* AB(A_*) it accepts, besides --help */
	admin_fn	 run;
};

/* One run of a command: what was parsed, and the session. */
struct admin_run {
	const struct cli_global	*g;
	const struct admin_cmd	*cmd;
	const struct admin_coll	*coll;		/* NULL unless a NOUN command */
	char			 name[ADMIN_NAME_LEN];	/* "admin acl add" */
	struct cli_flag		 table[A_NFLAGS + 1];	/* the command's flags */
	int			 which[A_NFLAGS];	/* table index -> A_* */
	char			*arg;		/* the positional argument */
	bool			 set[A_NFLAGS];
	char			*val[A_NFLAGS];	/* NULL for switches */
	unsigned long long	 num[A_NFLAGS];	/* --limit, --base, --revision */
	unsigned long long	 argnum;	/* REV or proposal ID */
	ccc_client		*c;
};

static int	admin_status(struct admin_run *);
static int	admin_list(struct admin_run *);
static int	admin_show(struct admin_run *);
static int	admin_add(struct admin_run *);
static int	admin_update(struct admin_run *);
static int	admin_suspend(struct admin_run *);
static int	admin_resume(struct admin_run *);
static int	admin_remove(struct admin_run *);
static int	admin_explain(struct admin_run *);
static int	admin_history(struct admin_run *);
static int	admin_rollback(struct admin_run *);
static int	admin_pending(struct admin_run *);
static int	admin_approve(struct admin_run *);
static int	admin_reject(struct admin_run *);
static int	admin_export(struct admin_run *);
static int	admin_apply(struct admin_run *);
static int	admin_reload_tls(struct admin_run *);

#define F_CHANGE	(AB(A_COMMENT) | AB(A_DRY_RUN) | AB(A_JSON))
#define F_SECTION	(AB(A_NAME))
#define F_ENDPOINT	(AB(A_NAME) | AB(A_KIND) | AB(A_ROLES) | AB(A_COUNTRY) | \
			 AB(A_CA_PINS))
#define F_ACL		(AB(A_ACTION) | AB(A_ENDPOINTS) | AB(A_CATEGORIES) | \
			 AB(A_SECTIONS) | AB(A_TOPICS))
#define F_ROUTE		(AB(A_CATEGORIES) | AB(A_SECTIONS) | \
			 AB(A_MIN_SEVERITY) | AB(A_ORIGINS) | AB(A_TARGETS))

static const struct admin_cmd admin_cmds[] = {
	{ NULL, "status", "[--json]", "the broker's state: per endpoint its "
	    "connections, subscriptions, inbox depth and dead letters; rates; "
	    "the store's size", NULL, AB(A_JSON), admin_status },

	{ "endpoint", "list", "[--json]", "the registered endpoints", NULL,
	    AB(A_JSON), admin_list },
	{ "endpoint", "show", "ID [--json]", "one endpoint", "ID", AB(A_JSON),
	    admin_show },
	{ "endpoint", "add", "--id ID --kind KIND --name TEXT --roles LIST "
	    "[--country CC] [--ca-pins LIST]", "register an endpoint (its id is its "
	    "certificate's CN)", NULL, F_CHANGE | AB(A_ID) | F_ENDPOINT,
	    admin_add },
	{ "endpoint", "update", "ID [--name TEXT] [--roles LIST] [--country CC] "
	    "[--kind KIND] [--ca-pins LIST]", "change an endpoint's fields", "ID",
	    F_CHANGE | F_ENDPOINT, admin_update },
	{ "endpoint", "suspend", "ID", "refuse the endpoint's connections and "
	    "end its sessions, whatever its certificate", "ID", F_CHANGE,
	    admin_suspend },
	{ "endpoint", "resume", "ID", "admit a suspended endpoint again", "ID",
	    F_CHANGE, admin_resume },
	{ "endpoint", "remove", "ID", "remove an endpoint from the registry",
	    "ID", F_CHANGE, admin_remove },

	{ "section", "list", "[--json]", "the border sections", NULL,
	    AB(A_JSON), admin_list },
	{ "section", "show", "ID [--json]", "one section", "ID", AB(A_JSON),
	    admin_show },
	{ "section", "add", "--id BORDER/CROSSING --name TEXT", "add a border "
	    "section", NULL, F_CHANGE | AB(A_ID) | F_SECTION, admin_add },
	{ "section", "update", "ID --name TEXT", "rename a section", "ID",
	    F_CHANGE | F_SECTION, admin_update },
	{ "section", "remove", "ID", "remove a border section", "ID", F_CHANGE,
	    admin_remove },

	{ "acl", "list", "[--json]", "the access rules", NULL, AB(A_JSON),
	    admin_list },
	{ "acl", "show", "ID [--json]", "one access rule", "ID", AB(A_JSON),
	    admin_show },
	{ "acl", "add", "--id ID --action publish|subscribe --endpoints LIST "
	    "[--categories LIST] [--sections LIST] [--topics LIST]", "add an "
	    "access rule: publish rules name categories and sections, "
	    "subscribe rules topics", NULL, F_CHANGE | AB(A_ID) | F_ACL,
	    admin_add },
	{ "acl", "update", "ID [--action ACTION] [--endpoints LIST] "
	    "[--categories LIST] [--sections LIST] [--topics LIST]", "change an "
	    "access rule's fields", "ID", F_CHANGE | F_ACL,
	    admin_update },
	{ "acl", "remove", "ID", "remove an access rule", "ID", F_CHANGE,
	    admin_remove },

	{ "route", "list", "[--json]", "the routing rules", NULL, AB(A_JSON),
	    admin_list },
	{ "route", "show", "ID [--json]", "one routing rule", "ID", AB(A_JSON),
	    admin_show },
	{ "route", "add", "--id ID --categories LIST --sections LIST "
	    "[--min-severity SEVERITY] [--origins LIST] --targets LIST", "add a "
	    "routing rule: the alerts it matches go to its targets' inboxes, "
	    "whatever they subscribed to", NULL, F_CHANGE | AB(A_ID) | F_ROUTE,
	    admin_add },
	{ "route", "update", "ID [--categories LIST] [--sections LIST] "
	    "[--min-severity SEVERITY] [--origins LIST] [--targets LIST]",
	    "change a routing rule's fields", "ID",
	    F_CHANGE | F_ROUTE, admin_update },
	{ "route", "remove", "ID", "remove a routing rule", "ID", F_CHANGE,
	    admin_remove },

	{ NULL, "explain", "--json[=FORM] FILE [--origin ENDPOINT] "
	    "[--reply-json[=FORM]]",
	    "which endpoints would receive an alert if it were published now, "
	    "through which subscriptions and routes, and why the others would "
	    "not; nothing is published", NULL,
	    AB(A_JSON_IN) | AB(A_ORIGIN) | AB(A_REPLY_JSON), admin_explain },
	{ NULL, "history", "[--limit N] [--json]", "the registry's revisions, "
	    "newest first: who made each, who approved it, why, and what "
	    "changed", NULL, AB(A_LIMIT) | AB(A_JSON), admin_history },
	{ NULL, "rollback", "REV [--dry-run]", "restore the content of "
	    "revision REV as a new revision", "REV", F_CHANGE, admin_rollback },
	{ NULL, "pending", "[--json]", "the proposals awaiting a second "
	    "operator's approval", NULL, AB(A_JSON), admin_pending },
	{ NULL, "approve", "ID", "approve another operator's proposal ID: it "
	    "becomes the registry in force", "ID",
	    AB(A_COMMENT) | AB(A_JSON), admin_approve },
	{ NULL, "reject", "ID", "reject another operator's proposal ID", "ID",
	    AB(A_COMMENT) | AB(A_JSON), admin_reject },
	{ NULL, "export", "[-o FILE] [--revision REV]", "the whole registry as "
	    "YAML, headed by its revision, to edit and apply", NULL,
	    AB(A_OUTPUT) | AB(A_REVISION), admin_export },
	{ NULL, "apply", "-f FILE [--dry-run] [--base REV]", "replace the "
	    "registry by the document FILE (as export writes it); prints the "
	    "diff, then the new revision or the proposal awaiting approval",
	    NULL, F_CHANGE | AB(A_FILE) | AB(A_BASE), admin_apply },
	{ NULL, "reload-tls", "", "have the broker read its TLS certificate, "
	    "key, CA and CRL files again: new sessions use them, and open "
	    "sessions whose certificate no longer verifies are closed", NULL,
	    AB(A_JSON), admin_reload_tls },
};

/* protobuf-c structures hold non-const pointers; packing only reads them. */
static char *
admin_unconst(const char *p)
{
	return (char *)(uintptr_t)p;
}

/* ---- help ----------------------------------------------------------------- */

static void
admin_usage_line(FILE *f, const struct admin_cmd *cmd)
{
	fprintf(f, "usage: ccc [OPTIONS] admin %s%s%s%s%s\n",
	    cmd->noun != NULL ? cmd->noun : "", cmd->noun != NULL ? " " : "",
	    cmd->verb, cmd->synopsis[0] != '\0' ? " " : "", cmd->synopsis);
}

/* The flags cmd accepts, as a table for cli_parse(); which[] maps back. */
static void
admin_table(const struct admin_cmd *cmd, struct cli_flag *table, int *which)
{
	size_t n = 0;

	for (int f = 0; f < A_NFLAGS; f++) {
		if (f != A_HELP && (cmd->flags & AB(f)) == 0)
			continue;
		table[n] = admin_flags[f];
		which[n++] = f;
	}
	memset(&table[n], 0, sizeof(table[n]));
}

void
admin_doc(admin_doc_fn fn, void *ctx)
{
	struct cli_flag table[A_NFLAGS + 1];
	int which[A_NFLAGS];
	char words[ADMIN_NAME_LEN];

	for (size_t k = 0; k < ADMIN_N(admin_cmds); k++) {
		const struct admin_cmd *cmd = &admin_cmds[k];

		snprintf(words, sizeof(words), "%s%s%s", cmd->noun != NULL ?
		    cmd->noun : "", cmd->noun != NULL ? " " : "", cmd->verb);
		admin_table(cmd, table, which);
		fn(ctx, words, cmd->synopsis, cmd->help, table);
	}
}

static void
admin_help_cmd(FILE *f, const struct admin_cmd *cmd)
{
	struct cli_flag table[A_NFLAGS + 1];
	int which[A_NFLAGS];
	char text[640];
	size_t n;

	admin_table(cmd, table, which);
	admin_usage_line(f, cmd);
	fputc('\n', f);
	/* the one-line help as a sentence: a capital, a full stop */
	n = strlen(cli_printf(text, sizeof(text), "%s", cmd->help));
	if (text[0] >= 'a' && text[0] <= 'z')
		text[0] = (char)(text[0] - 'a' + 'A');
	if (n > 0 && n + 1 < sizeof(text) && text[n - 1] != '.')
		strcat(text, ".");
	if (cmd->run == admin_update && strlen(text) + 100 < sizeof(text))
		strcat(text, " Fields not given are kept; an empty value "
		    "(--FLAG '') removes an optional field.");
	cli_wrap(f, text, 0, 0);
	fputc('\n', f);
	if (cmd->run == admin_apply)
		fputs("\nThe broker takes the base revision from the document's "
		    "\"revision:\" key; a\nchange based on a revision that is no "
		    "longer current is refused. Export, edit,\nthen apply "
		    "--dry-run to see the diff before applying.\n", f);
	else if (cmd->run == admin_explain)
		fputs("\nThe alert is judged as a publish by its origin (--origin "
		    "or the alert's\n\"origin\" field) would be, under the "
		    "registry in force and the subscriptions\nopen now.\n", f);
	fputs("\nFlags:\n", f);
	cli_print_flags(f, table);
}

void
admin_help(FILE *f)
{
	char left[64];
	int n;

	fputs("usage: ccc [OPTIONS] admin COMMAND [ARGS]\n"
	    "\n"
	    "Operators' commands: read and change the broker's registry "
	    "(sections,\n"
	    "endpoints, access rules, routing rules), decide on other "
	    "operators' changes,\n"
	    "explain who would receive an alert, and show the broker's state. "
	    "They need\n"
	    "the certificate of an endpoint with the operator role "
	    "(ccc-operator in the\n"
	    "demo).\n"
	    "\n"
	    "Commands:\n", f);
	for (size_t k = 0; k < ADMIN_N(admin_cmds); k++) {
		const struct admin_cmd *cmd = &admin_cmds[k];

		snprintf(left, sizeof(left), "%s%s%s%s%s",
		    cmd->noun != NULL ? cmd->noun : "",
		    cmd->noun != NULL ? " " : "", cmd->verb,
		    cmd->argname != NULL ? " " : "",
		    cmd->argname != NULL ? cmd->argname : "");
		n = fprintf(f, "  %s", left);
		if (n + 1 >= CLI_HELP_COL) {
			fprintf(f, "\n%*s", CLI_HELP_COL, "");
		} else
			fprintf(f, "%*s", CLI_HELP_COL - n, "");
		cli_wrap(f, cmd->help, CLI_HELP_COL, CLI_HELP_COL);
		fputc('\n', f);
	}
	fputs("\n"
	    "Registry changes (add, update, suspend, resume, remove, rollback, "
	    "apply) take\n"
	    "effect at once when they only narrow who may receive or do what; "
	    "otherwise\n"
	    "they become a proposal that another operator approves or rejects "
	    "(approve ID,\n"
	    "reject ID). Each takes -m/--comment TEXT, kept in the history, and "
	    "--dry-run,\n"
	    "which shows the diff and changes nothing. A change is based on the "
	    "revision\n"
	    "in force when it is made; if another operator changed the registry "
	    "meanwhile\n"
	    "it is refused (stale_revision) and can simply be run again.\n"
	    "\n"
	    "Output is aligned text; --json prints one line of JSON for "
	    "scripts. The flags\n"
	    "of a command: ccc admin COMMAND --help (e.g. ccc admin route add "
	    "--help).\n"
	    "\n"
	    "Exit status: 0 success (a change awaiting approval included), 64 "
	    "usage error,\n"
	    "77 not allowed, 69 otherwise refused or no such item; the others "
	    "as in ccc help.\n", f);
}

/* The command named by argv[*i] (and argv[*i + 1] for a NOUN); NULL: none. */
static const struct admin_cmd *
admin_lookup(int argc, char **argv, int *i, const struct admin_coll **coll)
{
	const char *noun = NULL, *verb;
	bool known_noun = false;

	*coll = NULL;
	for (size_t k = 0; k < ADMIN_N(admin_colls); k++)
		if (strcmp(argv[*i], admin_colls[k].noun) == 0) {
			*coll = &admin_colls[k];
			noun = argv[*i];
			known_noun = true;
		}
	if (known_noun) {
		if (*i + 1 >= argc) {
			cli_usage("admin", "%s: give a command (list, show, add, "
			    "update, remove%s)", noun, strcmp(noun, "endpoint")
			    == 0 ? ", suspend, resume" : "");
			return NULL;
		}
		verb = argv[*i + 1];
	} else
		verb = argv[*i];
	for (size_t k = 0; k < ADMIN_N(admin_cmds); k++) {
		const struct admin_cmd *cmd = &admin_cmds[k];

		if (strcmp(cmd->verb, verb) != 0 ||
		    (cmd->noun == NULL) != (noun == NULL) ||
		    (noun != NULL && strcmp(cmd->noun, noun) != 0))
			continue;
		*i += known_noun ? 2 : 1;
		return cmd;
	}
	if (known_noun)
		cli_usage("admin", "unknown command \"%s %s\"", noun, verb);
	else
		cli_usage("admin", "unknown command \"%s\"", verb);
	return NULL;
}

int
admin_help_command(int argc, char **argv, int i)
{
	const struct admin_coll *coll;
	const struct admin_cmd *cmd;

	if ((cmd = admin_lookup(argc, argv, &i, &coll)) == NULL)
		return CLI_EXIT_USAGE;
	if (i < argc) {
		cli_usage(NULL, "help takes one command name");
		return CLI_EXIT_USAGE;
	}
	admin_help_cmd(stdout, cmd);
	return CLI_EXIT_OK;
}

/* ---- option parsing ------------------------------------------------------- */

/*
 * Check a comma-separated list: non-empty items without spaces around
 * them. "" is allowed (update: remove the field). Returns 0, or -1 with why.
 */
static int
admin_check_list(const char *flag, const char *val, char *why, size_t whylen)
{
	const char *p = val, *end;

	if (val[0] == '\0')
		return 0;
	for (;;) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		if (end == p) {
			cli_printf(why, whylen, "--%s: empty item in \"%s\"", flag,
			    val);
			return -1;
		}
		if (*end == '\0')
			return 0;
		p = end + 1;
	}
}

/* A positional number (REV, proposal ID): 1 or more. */
static int
admin_number(const char *what, const char *val, unsigned long long *out,
    char *why, size_t whylen)
{
	char *end;

	errno = 0;
	*out = strtoull(val, &end, 10);
	if (val[0] < '0' || val[0] > '9' || *end != '\0' || errno != 0 ||
	    *out == 0) {
		cli_printf(why, whylen, "%s: expected a positive integer, got "
		    "\"%s\"", what, val);
		return -1;
	}
	return 0;
}

static int
admin_set(void *ctx, int which, char *val, char *why, size_t whylen)
{
	struct admin_run *r = ctx;
	int f;

	if (which < 0) {
		if (r->cmd->argname == NULL) {
			cli_printf(why, whylen, "%s takes no arguments (got "
			    "\"%s\")", r->name, val);
			return -1;
		}
		if (r->arg != NULL) {
			cli_printf(why, whylen, "give one %s (got \"%s\" and "
			    "\"%s\")", r->cmd->argname, r->arg, val);
			return -1;
		}
		r->arg = val;
		if (r->coll == NULL)	/* REV or proposal ID */
			return admin_number(r->cmd->argname, val, &r->argnum, why,
			    whylen);
		return 0;
	}
	f = r->which[which];
	r->set[f] = true;
	r->val[f] = val;
	switch (f) {
	case A_LIMIT:
		return cli_uint("limit", val, 1, 100000, &r->num[f], why, whylen);
	case A_BASE:
	case A_REVISION:
		return cli_uint(admin_flags[f].name, val, 1, INT64_MAX,
		    &r->num[f], why, whylen);
	case A_ROLES:
	case A_CA_PINS:
	case A_ENDPOINTS:
	case A_CATEGORIES:
	case A_SECTIONS:
	case A_TOPICS:
	case A_ORIGINS:
	case A_TARGETS:
		return admin_check_list(admin_flags[f].name, val, why, whylen);
	}
	return 0;
}

/* ---- output --------------------------------------------------------------- */

/* Columns s takes on a terminal: its UTF-8 code points. */
static size_t
admin_width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* A copy of s fit for one table cell: control characters become "?". */
static char *
admin_clean(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out = xmalloc(strlen(s) + 1), *o = out;

	for (; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*o++ = '?';
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			*o++ = '?';	/* C1 control */
			p++;
		} else
			*o++ = (char)*p;
	}
	*o = '\0';
	return out;
}

/* A JSON value as text: strings as they are, arrays joined with ", ". */
static char *
admin_text(const json_t *v)
{
	char *s, *item, *joined;
	size_t i;
	json_t *x;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return xstrdup(json_string_value(v));
	case JSON_INTEGER:
		return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL:
		return xasprintf("%.15g", json_real_value(v));
	case JSON_TRUE:
		return xstrdup("yes");
	case JSON_FALSE:
		return xstrdup("no");
	case JSON_NULL:
		return xstrdup("-");
	case JSON_ARRAY:
		s = xstrdup("");
		json_array_foreach(v, i, x) {
			item = admin_text(x);
			joined = xasprintf("%s%s%s", s, i > 0 ? ", " : "", item);
			free(item);
			free(s);
			s = joined;
		}
		return s;
	case JSON_OBJECT:
		if ((s = json_dumps(v, CLI_JSON_FLAGS)) == NULL)
			return xstrdup("?");
		return s;
	}
	return xstrdup("?");
}

/* Rows of cells printed as aligned columns (the last one not padded). */
struct admin_tab {
	size_t	  ncols;
	size_t	  nrows;
	char	**cells;	/* nrows * ncols, cleaned copies */
};

static void
admin_tab_init(struct admin_tab *t, size_t ncols)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
}

/* Add a row of ncols cells (NULL or "": "-"); cells are copied. */
static void
admin_tab_row(struct admin_tab *t, const char *const *cells)
{
	t->cells = xreallocarray(t->cells, (t->nrows + 1) * t->ncols,
	    sizeof(char *));
	for (size_t k = 0; k < t->ncols; k++)
		t->cells[t->nrows * t->ncols + k] = admin_clean(cells[k] != NULL &&
		    cells[k][0] != '\0' ? cells[k] : "-");
	t->nrows++;
}

static void
admin_tab_free(struct admin_tab *t)
{
	for (size_t k = 0; k < t->nrows * t->ncols; k++)
		free(t->cells[k]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = 0;
}

/* Print the rows, each indented, and free them. */
static void
admin_tab_print(struct admin_tab *t, int indent)
{
	size_t *w = xcalloc(t->ncols, sizeof(size_t)), n;
	const char *cell;

	for (size_t r = 0; r < t->nrows; r++)
		for (size_t k = 0; k < t->ncols; k++)
			if ((n = admin_width(t->cells[r * t->ncols + k])) > w[k])
				w[k] = n;
	for (size_t r = 0; r < t->nrows; r++) {
		printf("%*s", indent, "");
		for (size_t k = 0; k < t->ncols; k++) {
			cell = t->cells[r * t->ncols + k];
			if (k + 1 < t->ncols)
				printf("%s%*s", cell, (int)(w[k] -
				    admin_width(cell) + 2), "");
			else
				printf("%s\n", cell);
		}
	}
	admin_tab_free(t);
	free(w);
}

/* Print v as one line of compact JSON. Returns an exit status. */
static int
admin_print_json(const json_t *v)
{
	char *s = json_dumps(v, CLI_JSON_FLAGS | JSON_ENCODE_ANY);

	if (s == NULL) {
		fprintf(stderr, "ccc: cannot write the reply as JSON\n");
		return CLI_EXIT_SOFTWARE;
	}
	printf("%s\n", s);
	free(s);
	return CLI_EXIT_OK;
}

/* Print a reply message as one line of JSON (pbjson). */
static int
admin_print_reply_json(const Ccc__V1__AdminReply *reply)
{
	json_t *obj = pbjson_from_message(&reply->base, cli_json_form);
	int status;

	if (obj == NULL) {
		fprintf(stderr, "ccc: the broker's reply cannot be written as "
		    "JSON\n");
		return CLI_EXIT_SOFTWARE;
	}
	status = admin_print_json(obj);
	json_decref(obj);
	return status;
}

/* Print lines, each indented and cleaned of control characters. */
static void
admin_lines(char **lines, size_t n, const char *indent)
{
	for (size_t k = 0; k < n; k++) {
		fputs(indent, stdout);
		cli_put(lines[k], NULL);
		putchar('\n');
	}
}

static const char *
admin_time(int64_t us, char *buf, size_t len)
{
	if (us == 0)
		return "-";
	return time_format_rfc3339(us, buf, len);
}

/*
 * What a change, rollback or decision did: the diff, then whether it is
 * in force or awaits approval, and why.
 */
static int
admin_outcome(const struct admin_run *r, const Ccc__V1__AdminReply *reply)
{
	bool dry = r->set[A_DRY_RUN];

	if (r->set[A_JSON])
		return admin_print_reply_json(reply);
	if (reply->n_changes == 0 && !reply->applied && reply->proposal == 0)
		printf("no change\n");
	admin_lines(reply->changes, reply->n_changes, "  ");
	if (dry && reply->n_changes > 0)
		printf("dry run, nothing changed: %s\n", reply->n_reasons > 0 ?
		    "the change would need another operator's approval:" :
		    "the change would take effect at once");
	else if (reply->applied)
		printf("applied: revision %" PRIu64 "\n", reply->revision);
	else if (reply->proposal != 0)
		printf("proposal %" PRIu64 " awaits approval by another operator%s"
		    "\n", reply->proposal, reply->n_reasons > 0 ? ":" : "");
	admin_lines(reply->reasons, reply->n_reasons, "  ");
	if (!dry && !reply->applied && reply->proposal != 0)
		printf("(another operator decides with: ccc admin approve %"
		    PRIu64 ", or ccc admin reject %" PRIu64 ")\n",
		    reply->proposal, reply->proposal);
	return CLI_EXIT_OK;
}

/* ---- requests --------------------------------------------------------------- */

/* Send req and wait for the reply; a refusal is reported (cli_exit()). */
static int
admin_call(struct admin_run *r, const Ccc__V1__AdminRequest *req,
    Ccc__V1__AdminReply **reply)
{
	struct ccc_error err;

	if (ccc_admin(r->c, req, reply, &err) == 0)
		return CLI_EXIT_OK;
	cli_report(r->name, &err);
	return cli_exit(&err);
}

/*
 * The registry in force (AdminGet): its revision and its JSON (the caller
 * owns *doc). Returns an exit status.
 */
static int
admin_registry(struct admin_run *r, uint64_t *rev, json_t **doc)
{
	Ccc__V1__AdminRequest req = CCC__V1__ADMIN_REQUEST__INIT;
	Ccc__V1__AdminGet get = CCC__V1__ADMIN_GET__INIT;
	Ccc__V1__AdminReply *reply;
	json_error_t jerr;
	int status;

	*doc = NULL;
	req.op_case = CCC__V1__ADMIN_REQUEST__OP_GET;
	req.get = &get;
	if ((status = admin_call(r, &req, &reply)) != CLI_EXIT_OK)
		return status;
	*rev = reply->revision;
	*doc = json_loads(reply->registry_json, JSON_REJECT_DUPLICATES, &jerr);
	ccc__v1__admin_reply__free_unpacked(reply, NULL);
	if (*doc == NULL || !json_is_object(*doc)) {
		fprintf(stderr, "ccc: the broker sent a registry that is not a "
		    "JSON object%s%s\n", *doc == NULL ? ": " : "",
		    *doc == NULL ? jerr.text : "");
		json_decref(*doc);
		*doc = NULL;
		return CLI_EXIT_SOFTWARE;
	}
	return CLI_EXIT_OK;
}

/* The items of the command's collection in doc (an array, maybe empty). */
static json_t *
admin_items(const struct admin_run *r, json_t *doc)
{
	json_t *items = json_object_get(doc, r->coll->key);

	if (!json_is_array(items)) {
		items = json_array();
		json_object_set_new(doc, r->coll->key, items);
	}
	return items;
}

/* The item with that id in items, or NULL. */
static json_t *
admin_find(json_t *items, const char *id)
{
	const char *got;
	json_t *x;
	size_t i;

	json_array_foreach(items, i, x)
		if ((got = json_string_value(json_object_get(x, "id"))) != NULL &&
		    strcmp(got, id) == 0)
			return x;
	return NULL;
}

/* One edit of the command's collection against base, and its outcome. */
static int
admin_edit(struct admin_run *r, uint64_t base, Ccc__V1__RegistryEdit__Kind kind,
    const char *id, const char *item)
{
	Ccc__V1__AdminRequest req = CCC__V1__ADMIN_REQUEST__INIT;
	Ccc__V1__AdminChange ch = CCC__V1__ADMIN_CHANGE__INIT;
	Ccc__V1__RegistryEdit ed = CCC__V1__REGISTRY_EDIT__INIT, *eds[1];
	Ccc__V1__AdminReply *reply;
	int status;

	ed.kind = kind;
	ed.collection = admin_unconst(r->coll->key);
	if (id != NULL)
		ed.id = admin_unconst(id);
	if (item != NULL)
		ed.item = admin_unconst(item);
	eds[0] = &ed;
	ch.base_revision = base;
	ch.n_edits = 1;
	ch.edits = eds;
	ch.dry_run = r->set[A_DRY_RUN];
	if (r->set[A_COMMENT])
		ch.comment = r->val[A_COMMENT];
	req.op_case = CCC__V1__ADMIN_REQUEST__OP_CHANGE;
	req.change = &ch;
	if ((status = admin_call(r, &req, &reply)) != CLI_EXIT_OK)
		return status;
	status = admin_outcome(r, reply);
	ccc__v1__admin_reply__free_unpacked(reply, NULL);
	return status;
}

/* A comma-separated list as a JSON array of strings. */
static json_t *
admin_list_json(const char *val)
{
	json_t *a = json_array();
	const char *p = val, *end;

	if (val[0] == '\0')
		return a;
	for (;;) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		json_array_append_new(a, json_stringn(p, (size_t)(end - p)));
		if (*end == '\0')
			return a;
		p = end + 1;
	}
}

/*
 * Set the fields given by flags in item: lists as arrays, others as strings;
 * an empty value removes the field.
 */
static void
admin_merge(const struct admin_run *r, json_t *item)
{
	const struct admin_field *fl;

	for (size_t k = 0; k < r->coll->nfields; k++) {
		fl = &r->coll->fields[k];
		if (!r->set[fl->flag])
			continue;
		if (r->val[fl->flag][0] == '\0')
			json_object_del(item, fl->key);
		else
			json_object_set_new(item, fl->key, fl->list ?
			    admin_list_json(r->val[fl->flag]) :
			    json_string(r->val[fl->flag]));
	}
}

/* ---- registry items ----------------------------------------------------------- */

/* A list-table cell of item; the caller frees it. */
static char *
admin_cell(const json_t *item, const char *key)
{
	const json_t *v = json_object_get(item, key);

	if (strcmp(key, "suspended") == 0)
		return xstrdup(json_is_true(v) ? "suspended" : "active");
	if (v == NULL)
		return xstrdup("-");
	return admin_text(v);
}

static int
admin_list(struct admin_run *r)
{
	struct admin_tab t;
	const char *heads[8];
	char *cells[8];
	json_t *doc, *items, *x;
	uint64_t rev;
	size_t i;
	int status;

	if ((status = admin_registry(r, &rev, &doc)) != CLI_EXIT_OK)
		return status;
	items = admin_items(r, doc);
	if (r->set[A_JSON]) {
		status = admin_print_json(items);
		json_decref(doc);
		return status;
	}
	admin_tab_init(&t, r->coll->ncols);
	for (size_t k = 0; k < r->coll->ncols; k++)
		heads[k] = r->coll->cols[k].head;
	admin_tab_row(&t, heads);
	json_array_foreach(items, i, x) {
		for (size_t k = 0; k < r->coll->ncols; k++)
			cells[k] = admin_cell(x, r->coll->cols[k].key);
		admin_tab_row(&t, (const char *const *)(void *)cells);
		for (size_t k = 0; k < r->coll->ncols; k++)
			free(cells[k]);
	}
	if (json_array_size(items) == 0) {
		printf("(no %s in revision %" PRIu64 ")\n", r->coll->key, rev);
		admin_tab_free(&t);
	} else
		admin_tab_print(&t, 0);
	json_decref(doc);
	return CLI_EXIT_OK;
}

static int
admin_show(struct admin_run *r)
{
	json_t *doc, *item, *v;
	const char *key;
	size_t w = 0;
	char *text;
	uint64_t rev;
	int status;

	if ((status = admin_registry(r, &rev, &doc)) != CLI_EXIT_OK)
		return status;
	if ((item = admin_find(admin_items(r, doc), r->arg)) == NULL) {
		fprintf(stderr, "ccc: no %s \"%s\" in the registry (revision %"
		    PRIu64 ")\n", r->coll->noun, r->arg, rev);
		json_decref(doc);
		return CLI_EXIT_UNAVAILABLE;
	}
	if (r->set[A_JSON]) {
		status = admin_print_json(item);
		json_decref(doc);
		return status;
	}
	json_object_foreach(item, key, v)
		if (strlen(key) > w)
			w = strlen(key);
	json_object_foreach(item, key, v) {
		text = admin_text(v);
		printf("%s:%*s", key, (int)(w - strlen(key) + 1), "");
		cli_put(text, NULL);
		putchar('\n');
		free(text);
	}
	json_decref(doc);
	return CLI_EXIT_OK;
}

static int
admin_add(struct admin_run *r)
{
	json_t *doc, *item;
	const char *id = r->val[A_ID];
	char *text;
	uint64_t rev;
	int status;

	if ((status = admin_registry(r, &rev, &doc)) != CLI_EXIT_OK)
		return status;
	if (admin_find(admin_items(r, doc), id) != NULL) {
		fprintf(stderr, "ccc: %s \"%s\" exists already (revision %" PRIu64
		    "); change it with: ccc admin %s update %s\n", r->coll->noun,
		    id, rev, r->coll->noun, id);
		json_decref(doc);
		return CLI_EXIT_UNAVAILABLE;
	}
	item = json_object();
	admin_merge(r, item);
	text = json_dumps(item, CLI_JSON_FLAGS);
	json_decref(item);
	json_decref(doc);
	if (text == NULL) {
		fprintf(stderr, "ccc: cannot write the %s as JSON\n",
		    r->coll->noun);
		return CLI_EXIT_SOFTWARE;
	}
	status = admin_edit(r, rev, CCC__V1__REGISTRY_EDIT__KIND__KIND_PUT, id,
	    text);
	free(text);
	return status;
}

static int
admin_update(struct admin_run *r)
{
	json_t *doc, *item;
	char *text;
	uint64_t rev;
	int status;

	if ((status = admin_registry(r, &rev, &doc)) != CLI_EXIT_OK)
		return status;
	if ((item = admin_find(admin_items(r, doc), r->arg)) == NULL) {
		fprintf(stderr, "ccc: no %s \"%s\" in the registry (revision %"
		    PRIu64 "); add it with: ccc admin %s add\n", r->coll->noun,
		    r->arg, rev, r->coll->noun);
		json_decref(doc);
		return CLI_EXIT_UNAVAILABLE;
	}
	admin_merge(r, item);
	text = json_dumps(item, CLI_JSON_FLAGS);
	json_decref(doc);
	if (text == NULL) {
		fprintf(stderr, "ccc: cannot write the %s as JSON\n",
		    r->coll->noun);
		return CLI_EXIT_SOFTWARE;
	}
	status = admin_edit(r, rev, CCC__V1__REGISTRY_EDIT__KIND__KIND_PUT,
	    r->arg, text);
	free(text);
	return status;
}

/* An edit by id (suspend, resume, remove) against the revision in force. */
static int
admin_by_id(struct admin_run *r, Ccc__V1__RegistryEdit__Kind kind)
{
	json_t *doc;
	uint64_t rev;
	int status;

	if ((status = admin_registry(r, &rev, &doc)) != CLI_EXIT_OK)
		return status;
	json_decref(doc);
	return admin_edit(r, rev, kind, r->arg, NULL);
}

static int
admin_suspend(struct admin_run *r)
{
	return admin_by_id(r, CCC__V1__REGISTRY_EDIT__KIND__KIND_SUSPEND);
}

static int
admin_resume(struct admin_run *r)
{
	return admin_by_id(r, CCC__V1__REGISTRY_EDIT__KIND__KIND_RESUME);
}

static int
admin_remove(struct admin_run *r)
{
	return admin_by_id(r, CCC__V1__REGISTRY_EDIT__KIND__KIND_REMOVE);
}

/* ---- the registry as a whole ---------------------------------------------------- */

/*
 * Read all of path ("-": standard input), at most ADMIN_MAX_FILE bytes, as
 * a NUL-terminated string. NULL after saying why.
 */
static char *
admin_slurp(const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	size_t len = 0, cap = 65536, n;
	char *buf;

	if (f == NULL) {
		fprintf(stderr, "ccc: cannot open %s: %s\n", path,
		    strerror(errno));
		return NULL;
	}
	buf = xmalloc(cap);
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (len > ADMIN_MAX_FILE)
			break;
		if (cap - len - 1 == 0) {
			cap *= 2;
			buf = xreallocarray(buf, cap, 1);
		}
	}
	if (ferror(f) || len > ADMIN_MAX_FILE) {
		if (ferror(f))
			fprintf(stderr, "ccc: cannot read %s: %s\n", path,
			    strerror(errno));
		else
			fprintf(stderr, "ccc: %s: larger than %u bytes\n", path,
			    ADMIN_MAX_FILE);
		free(buf);
		buf = NULL;
	} else
		buf[len] = '\0';
	if (f != stdin)
		fclose(f);
	return buf;
}

static int
admin_export(struct admin_run *r)
{
	Ccc__V1__AdminRequest req = CCC__V1__ADMIN_REQUEST__INIT;
	Ccc__V1__AdminGet get = CCC__V1__ADMIN_GET__INIT;
	Ccc__V1__AdminReply *reply;
	const char *out = r->val[A_OUTPUT];
	FILE *f;
	int status;

	get.revision = r->num[A_REVISION];
	req.op_case = CCC__V1__ADMIN_REQUEST__OP_GET;
	req.get = &get;
	if ((status = admin_call(r, &req, &reply)) != CLI_EXIT_OK)
		return status;
	if (out == NULL || strcmp(out, "-") == 0) {
		fputs(reply->document, stdout);
		ccc__v1__admin_reply__free_unpacked(reply, NULL);
		return CLI_EXIT_OK;
	}
	if ((f = fopen(out, "w")) == NULL) {
		fprintf(stderr, "ccc: cannot create %s: %s\n", out,
		    strerror(errno));
		status = CLI_EXIT_CANTCREAT;
	} else if (fputs(reply->document, f) == EOF || fflush(f) != 0 ||
	    ferror(f)) {
		fprintf(stderr, "ccc: cannot write %s: %s\n", out,
		    strerror(errno));
		fclose(f);
		status = CLI_EXIT_CANTCREAT;
	} else if (fclose(f) != 0) {
		fprintf(stderr, "ccc: cannot write %s: %s\n", out,
		    strerror(errno));
		status = CLI_EXIT_CANTCREAT;
	} else
		printf("revision %" PRIu64 " written to %s\n", reply->revision,
		    out);
	ccc__v1__admin_reply__free_unpacked(reply, NULL);
	return status;
}

static int
admin_apply(struct admin_run *r)
{
	Ccc__V1__AdminRequest req = CCC__V1__ADMIN_REQUEST__INIT;
	Ccc__V1__AdminChange ch = CCC__V1__ADMIN_CHANGE__INIT;
	Ccc__V1__AdminReply *reply;
	const char *path = r->val[A_FILE];
	char *text;
	int status;

	if ((text = admin_slurp(path)) == NULL)
		return CLI_EXIT_NOINPUT;
	ch.base_revision = r->num[A_BASE];
	ch.document = text;
	ch.document_name = admin_unconst(strcmp(path, "-") == 0 ?
	    "standard input" : path);
	ch.dry_run = r->set[A_DRY_RUN];
	if (r->set[A_COMMENT])
		ch.comment = r->val[A_COMMENT];
	req.op_case = CCC__V1__ADMIN_REQUEST__OP_CHANGE;
	req.change = &ch;
	if ((status = admin_call(r, &req, &reply)) == CLI_EXIT_OK) {
		status = admin_outcome(r, reply);
		ccc__v1__admin_reply__free_unpacked(reply, NULL);
	}
	free(text);
	return status;
}

static int
admin_rollback(struct admin_run *r)
{
	Ccc__V1__AdminRequest req = CCC__V1__ADMIN_REQUEST__INIT;
	Ccc__V1__AdminRollback rb = CCC__V1__ADMIN_ROLLBACK__INIT;
	Ccc__V1__AdminReply *reply;
	json_t *doc;
	uint64_t rev;
	int status;

	if ((status = admin_registry(r, &rev, &doc)) != CLI_EXIT_OK)
		return status;
	json_decref(doc);
	rb.revision = r->argnum;
	rb.base_revision = rev;
	rb.dry_run = r->set[A_DRY_RUN];
	if (r->set[A_COMMENT])
		rb.comment = r->val[A_COMMENT];
	req.op_case = CCC__V1__ADMIN_REQUEST__OP_ROLLBACK;
	req.rollback = &rb;
	if ((status = admin_call(r, &req, &reply)) != CLI_EXIT_OK)
		return status;
	status = admin_outcome(r, reply);
	ccc__v1__admin_reply__free_unpacked(reply, NULL);
	return status;
}

static int
admin_history(struct admin_run *r)
{
	Ccc__V1__AdminRequest req = CCC__V1__ADMIN_REQUEST__INIT;
	Ccc__V1__AdminHistory h = CCC__V1__ADMIN_HISTORY__INIT;
	Ccc__V1__AdminReply *reply;
	char t[40];
	int status;

	h.limit = (uint32_t)r->num[A_LIMIT];
	req.op_case = CCC__V1__ADMIN_REQUEST__OP_HISTORY;
	req.history = &h;
	if ((status = admin_call(r, &req, &reply)) != CLI_EXIT_OK)
		return status;
	if (r->set[A_JSON]) {
		status = admin_print_reply_json(reply);
		ccc__v1__admin_reply__free_unpacked(reply, NULL);
		return status;
	}
	for (size_t k = 0; k < reply->n_revisions; k++) {
		const Ccc__V1__Revision *v = reply->revisions[k];

		printf("%srevision %" PRIu64 "  %s  by ", k > 0 ? "\n" : "",
		    v->revision, admin_time(v->created_at, t, sizeof(t)));
		cli_put(v->author[0] != '\0' ? v->author : "-", NULL);
		if (v->approved_by[0] != '\0') {
			printf(", approved by ");
			cli_put(v->approved_by, NULL);
		}
		putchar('\n');
		if (v->comment[0] != '\0') {
			printf("  comment: ");
			cli_put(v->comment, "    ");
			putchar('\n');
		}
		admin_lines(v->changes, v->n_changes, "  ");
	}
	if (reply->n_revisions == 0)
		printf("(no revision)\n");
	ccc__v1__admin_reply__free_unpacked(reply, NULL);
	return CLI_EXIT_OK;
}

static int
admin_pending(struct admin_run *r)
{
	Ccc__V1__AdminRequest req = CCC__V1__ADMIN_REQUEST__INIT;
	Ccc__V1__AdminPending p = CCC__V1__ADMIN_PENDING__INIT;
	Ccc__V1__AdminReply *reply;
	char t[40];
	int status;

	req.op_case = CCC__V1__ADMIN_REQUEST__OP_PENDING;
	req.pending = &p;
	if ((status = admin_call(r, &req, &reply)) != CLI_EXIT_OK)
		return status;
	if (r->set[A_JSON]) {
		status = admin_print_reply_json(reply);
		ccc__v1__admin_reply__free_unpacked(reply, NULL);
		return status;
	}
	for (size_t k = 0; k < reply->n_proposals; k++) {
		const Ccc__V1__Proposal *q = reply->proposals[k];

		printf("%sproposal %" PRIu64 " (", k > 0 ? "\n" : "", q->id);
		cli_put(q->state[0] != '\0' ? q->state : "pending", NULL);
		printf(")  %s  by ", admin_time(q->created_at, t, sizeof(t)));
		cli_put(q->proposer[0] != '\0' ? q->proposer : "-", NULL);
		printf(", against revision %" PRIu64 "\n", q->base_revision);
		if (q->decided_by[0] != '\0') {
			printf("  decided by ");
			cli_put(q->decided_by, NULL);
			putchar('\n');
		}
		if (q->comment[0] != '\0') {
			printf("  comment: ");
			cli_put(q->comment, "    ");
			putchar('\n');
		}
		admin_lines(q->changes, q->n_changes, "  ");
		if (q->n_reasons > 0) {
			printf("  needs approval because:\n");
			admin_lines(q->reasons, q->n_reasons, "    ");
		}
	}
	if (reply->n_proposals == 0)
		printf("(no proposal awaits approval)\n");
	ccc__v1__admin_reply__free_unpacked(reply, NULL);
	return CLI_EXIT_OK;
}

static int
admin_decide(struct admin_run *r, bool approve)
{
	Ccc__V1__AdminRequest req = CCC__V1__ADMIN_REQUEST__INIT;
	Ccc__V1__AdminDecide d = CCC__V1__ADMIN_DECIDE__INIT;
	Ccc__V1__AdminReply *reply;
	int status;

	d.proposal = r->argnum;
	d.approve = approve;
	if (r->set[A_COMMENT])
		d.comment = r->val[A_COMMENT];
	req.op_case = CCC__V1__ADMIN_REQUEST__OP_DECIDE;
	req.decide = &d;
	if ((status = admin_call(r, &req, &reply)) != CLI_EXIT_OK)
		return status;
	if (r->set[A_JSON])
		status = admin_print_reply_json(reply);
	else {
		admin_lines(reply->changes, reply->n_changes, "  ");
		if (!approve)
			printf("proposal %llu rejected\n", r->argnum);
		else if (reply->applied)
			printf("proposal %llu approved; applied: revision %" PRIu64
			    "\n", r->argnum, reply->revision);
		else
			printf("proposal %llu approved\n", r->argnum);
	}
	ccc__v1__admin_reply__free_unpacked(reply, NULL);
	return status;
}

static int
admin_approve(struct admin_run *r)
{
	return admin_decide(r, true);
}

static int
admin_reject(struct admin_run *r)
{
	return admin_decide(r, false);
}

/* ---- explain, status, reload-tls ------------------------------------------------ */

/*
 * The alert of --json FILE, origin from --origin; NULL after saying why,
 * with the exit status in *status.
 */
static Ccc__V1__Alert *
admin_read_alert(const struct admin_run *r, int *status)
{
	const char *path = r->val[A_JSON_IN];
	Ccc__V1__Alert *a;
	json_error_t jerr;
	json_t *obj;
	char *text, why[512];

	*status = CLI_EXIT_NOINPUT;
	if ((text = admin_slurp(path)) == NULL)
		return NULL;
	*status = CLI_EXIT_DATAERR;
	obj = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (obj == NULL) {
		fprintf(stderr, "ccc: %s: line %d: invalid JSON: %s\n",
		    strcmp(path, "-") == 0 ? "standard input" : path, jerr.line,
		    jerr.text);
		return NULL;
	}
	a = (Ccc__V1__Alert *)(void *)pbjson_to_message(
	    &ccc__v1__alert__descriptor, obj, cli_json_form, why, sizeof(why));
	json_decref(obj);
	if (a == NULL) {
		fprintf(stderr, "ccc: %s: %s\n", strcmp(path, "-") == 0 ?
		    "standard input" : path, why);
		return NULL;
	}
	if (r->set[A_ORIGIN]) {
		if (a->origin != NULL && a->origin != protobuf_c_empty_string)
			free(a->origin);
		a->origin = xstrdup(r->val[A_ORIGIN]);
	}
	return a;
}

static int
admin_explain(struct admin_run *r)
{
	Ccc__V1__AdminRequest req = CCC__V1__ADMIN_REQUEST__INIT;
	Ccc__V1__AdminExplain ex = CCC__V1__ADMIN_EXPLAIN__INIT;
	Ccc__V1__AdminReply *reply;
	struct admin_tab t;
	const char *cells[4];
	char *via;
	int status;

	if ((ex.alert = admin_read_alert(r, &status)) == NULL)
		return status;
	req.op_case = CCC__V1__ADMIN_REQUEST__OP_EXPLAIN;
	req.explain = &ex;
	status = admin_call(r, &req, &reply);
	protobuf_c_message_free_unpacked(&ex.alert->base, NULL);
	if (status != CLI_EXIT_OK)
		return status;
	if (r->set[A_REPLY_JSON]) {
		status = admin_print_reply_json(reply);
		ccc__v1__admin_reply__free_unpacked(reply, NULL);
		return status;
	}
	printf("topic ");
	cli_put(reply->topic, NULL);
	putchar('\n');
	admin_tab_init(&t, 4);
	cells[0] = "ENDPOINT";
	cells[1] = "DELIVERED";
	cells[2] = "VIA";
	cells[3] = "REASON";
	admin_tab_row(&t, cells);
	for (size_t k = 0; k < reply->n_explain; k++) {
		const Ccc__V1__ExplainEntry *e = reply->explain[k];

		via = xstrdup("");
		for (size_t v = 0; v < e->n_via; v++) {
			char *joined = xasprintf("%s%s%s", via, v > 0 ? "; " : "",
			    e->via[v]);

			free(via);
			via = joined;
		}
		cells[0] = e->endpoint;
		cells[1] = e->delivered ? "yes" : "no";
		cells[2] = via;
		cells[3] = e->reason;
		admin_tab_row(&t, cells);
		free(via);
	}
	admin_tab_print(&t, 0);
	ccc__v1__admin_reply__free_unpacked(reply, NULL);
	return CLI_EXIT_OK;
}

/* An object whose members are all scalars (or lists of them); {} too. */
static bool
admin_flat(const json_t *v)
{
	const char *key;
	json_t *x;

	if (!json_is_object(v))
		return false;
	json_object_foreach((json_t *)(uintptr_t)v, key, x)
		if (json_is_object(x))
			return false;
	return true;
}

/* A non-empty object whose members are all objects: rows of a table. */
static bool
admin_rows(const json_t *v)
{
	const char *key;
	json_t *x;

	if (!json_is_object(v) || json_object_size(v) == 0)
		return false;
	json_object_foreach((json_t *)(uintptr_t)v, key, x)
		if (!json_is_object(x))
			return false;
	return true;
}

/* A scalar for the readable status: reals with 4 significant digits. */
static char *
admin_status_text(const json_t *v)
{
	if (json_is_real(v))
		return xasprintf("%.4g", json_real_value(v));
	return admin_text(v);
}

/* A flat object on one line: "k1 v1, k2 v2"; "-" when empty. */
static char *
admin_status_flat(const json_t *obj)
{
	const char *key;
	char *s = xstrdup(""), *v, *joined;
	json_t *x;

	json_object_foreach((json_t *)(uintptr_t)obj, key, x) {
		v = admin_status_text(x);
		joined = xasprintf("%s%s%s %s", s, s[0] != '\0' ? ", " : "", key,
		    v);
		free(v);
		free(s);
		s = joined;
	}
	return s;
}

/* A column of a status table: the path of a scalar in each row. */
struct admin_path {
	char	*path;		/* "subscriptions.plain" */
	char	*head;		/* "PLAIN", or the path when the last key repeats */
};

/* Add the scalar paths under obj (prefix "" or "a.b.") not yet in *cols. */
static void
admin_paths(const json_t *obj, const char *prefix, struct admin_path **cols,
    size_t *n)
{
	const char *key;
	char *path;
	json_t *x;
	size_t k;

	json_object_foreach((json_t *)(uintptr_t)obj, key, x) {
		path = xasprintf("%s%s", prefix, key);
		if (json_is_object(x)) {
			char *sub = xasprintf("%s.", path);

			admin_paths(x, sub, cols, n);
			free(sub);
			free(path);
			continue;
		}
		for (k = 0; k < *n && strcmp((*cols)[k].path, path) != 0; k++)
			;
		if (k < *n) {
			free(path);
			continue;
		}
		*cols = xreallocarray(*cols, *n + 1, sizeof(**cols));
		(*cols)[*n].path = path;
		(*cols)[(*n)++].head = NULL;
	}
}

/* The value at a dotted path of obj, or NULL. */
static const json_t *
admin_at(const json_t *obj, const char *path)
{
	const char *dot;
	char *key;

	while ((dot = strchr(path, '.')) != NULL) {
		key = xstrndup(path, (size_t)(dot - path));
		obj = json_object_get(obj, key);
		free(key);
		path = dot + 1;
	}
	return json_object_get(obj, path);
}

/* "inbox_depth" as a heading: "INBOX-DEPTH". */
static char *
admin_heading(const char *s)
{
	char *h = admin_clean(s);

	for (char *p = h; *p != '\0'; p++) {
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
		else if (*p == '_')
			*p = '-';
	}
	return h;
}

/*
 * An object of objects (endpoints by id) as a table: a row per member, its
 * key first (headed by name, singular), then a column per scalar found in
 * the rows, nested ones included, headed by their last key.
 */
static void
admin_status_rows(const char *name, const json_t *rows, int indent)
{
	struct admin_tab t;
	struct admin_path *cols = NULL;
	const char *key, *last;
	char **cells, *first;
	size_t n = 0, k, j;
	const json_t *v;
	json_t *x;

	json_object_foreach((json_t *)(uintptr_t)rows, key, x)
		admin_paths(x, "", &cols, &n);
	for (k = 0; k < n; k++) {
		last = strrchr(cols[k].path, '.');
		last = last != NULL ? last + 1 : cols[k].path;
		for (j = 0; j < n; j++) {
			const char *other = strrchr(cols[j].path, '.');

			other = other != NULL ? other + 1 : cols[j].path;
			if (j != k && strcmp(other, last) == 0)
				break;
		}
		cols[k].head = admin_heading(j < n ? cols[k].path : last);
	}
	admin_tab_init(&t, n + 1);
	cells = xcalloc(n + 1, sizeof(*cells));
	first = xstrndup(name, strlen(name) > 1 && name[strlen(name) - 1] ==
	    's' ? strlen(name) - 1 : strlen(name));
	cells[0] = admin_heading(first);
	free(first);
	for (k = 0; k < n; k++)
		cells[k + 1] = xstrdup(cols[k].head);
	admin_tab_row(&t, (const char *const *)(void *)cells);
	for (k = 0; k <= n; k++)
		free(cells[k]);
	json_object_foreach((json_t *)(uintptr_t)rows, key, x) {
		cells[0] = xstrdup(key);
		for (k = 0; k < n; k++)
			cells[k + 1] = (v = admin_at(x, cols[k].path)) != NULL ?
			    admin_status_text(v) : xstrdup("-");
		admin_tab_row(&t, (const char *const *)(void *)cells);
		for (k = 0; k <= n; k++)
			free(cells[k]);
	}
	admin_tab_print(&t, indent);
	for (k = 0; k < n; k++) {
		free(cols[k].path);
		free(cols[k].head);
	}
	free(cols);
	free(cells);
}

/*
 * A status object, readably: "key: value" for scalars, lists and flat
 * objects ("sessions: ready 3, closing 0"), keys aligned; then a table for
 * an object of objects (endpoints by id) and an indented block for any
 * other object.
 */
static void
admin_status_object(const json_t *obj, int indent)
{
	const char *key;
	size_t w = 0;
	char *text;
	json_t *v;

	json_object_foreach((json_t *)(uintptr_t)obj, key, v)
		if ((!json_is_object(v) || admin_flat(v)) && strlen(key) > w)
			w = strlen(key);
	json_object_foreach((json_t *)(uintptr_t)obj, key, v) {
		if (json_is_object(v) && !admin_flat(v))
			continue;
		text = admin_flat(v) ? admin_status_flat(v) :
		    admin_status_text(v);
		printf("%*s%s:%*s", indent, "", key, (int)(w - strlen(key) + 1),
		    "");
		cli_put(text[0] != '\0' ? text : "-", NULL);
		putchar('\n');
		free(text);
	}
	json_object_foreach((json_t *)(uintptr_t)obj, key, v) {
		if (!json_is_object(v) || admin_flat(v))
			continue;
		putchar('\n');
		if (admin_rows(v))
			admin_status_rows(key, v, indent);
		else {
			printf("%*s%s:\n", indent, "", key);
			admin_status_object(v, indent + 2);
		}
	}
}

static int
admin_status(struct admin_run *r)
{
	Ccc__V1__AdminRequest req = CCC__V1__ADMIN_REQUEST__INIT;
	Ccc__V1__AdminStatus st = CCC__V1__ADMIN_STATUS__INIT;
	Ccc__V1__AdminReply *reply;
	json_error_t jerr;
	json_t *obj;
	int status;

	req.op_case = CCC__V1__ADMIN_REQUEST__OP_STATUS;
	req.status = &st;
	if ((status = admin_call(r, &req, &reply)) != CLI_EXIT_OK)
		return status;
	obj = json_loads(reply->status_json, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL || !json_is_object(obj)) {
		fprintf(stderr, "ccc: the broker's status is not a JSON object\n");
		status = CLI_EXIT_SOFTWARE;
	} else if (r->set[A_JSON])
		status = admin_print_json(obj);
	else
		admin_status_object(obj, 0);
	json_decref(obj);
	ccc__v1__admin_reply__free_unpacked(reply, NULL);
	return status;
}

static int
admin_reload_tls(struct admin_run *r)
{
	Ccc__V1__AdminRequest req = CCC__V1__ADMIN_REQUEST__INIT;
	Ccc__V1__AdminReloadTls rt = CCC__V1__ADMIN_RELOAD_TLS__INIT;
	Ccc__V1__AdminReply *reply;
	int status;

	req.op_case = CCC__V1__ADMIN_REQUEST__OP_RELOAD_TLS;
	req.reload_tls = &rt;
	if ((status = admin_call(r, &req, &reply)) != CLI_EXIT_OK)
		return status;
	if (r->set[A_JSON])
		status = admin_print_reply_json(reply);
	else
		printf("TLS files reloaded\n");
	ccc__v1__admin_reply__free_unpacked(reply, NULL);
	return status;
}

/* ---- main ------------------------------------------------------------------------- */

/* What the parse cannot check flag by flag. Returns an exit status. */
static int
admin_check(struct admin_run *r)
{
	const struct admin_cmd *cmd = r->cmd;
	bool any = false;

	if (cmd->argname != NULL && r->arg == NULL) {
		cli_usage(r->name, "give the %s%s%s", r->coll != NULL ?
		    r->coll->noun : "", r->coll != NULL ? " " : "", cmd->argname);
		return CLI_EXIT_USAGE;
	}
	if (cmd->run == admin_add)
		for (int f = 0; f < A_NFLAGS; f++)
			if ((r->coll->required & AB(f)) != 0 &&
			    (!r->set[f] || r->val[f][0] == '\0')) {
				cli_usage(r->name, "--%s is required",
				    admin_flags[f].name);
				return CLI_EXIT_USAGE;
			}
	if (cmd->run == admin_update) {
		for (size_t k = 0; k < r->coll->nfields; k++)
			any |= r->set[r->coll->fields[k].flag];
		if (!any) {
			cli_usage(r->name, "nothing to update: give the fields "
			    "to change");
			return CLI_EXIT_USAGE;
		}
	}
	if ((cmd->flags & AB(A_JSON_IN)) && !r->set[A_JSON_IN]) {
		cli_usage(r->name, "give the alert: --json FILE (\"-\": "
		    "standard input)");
		return CLI_EXIT_USAGE;
	}
	if ((cmd->flags & AB(A_FILE)) && !r->set[A_FILE]) {
		cli_usage(r->name, "give the registry document: -f FILE");
		return CLI_EXIT_USAGE;
	}
	return CLI_EXIT_OK;
}

int
admin_main(const struct cli_global *g, int argc, char **argv, int i)
{
	struct admin_run r;
	const struct admin_cmd *cmd;
	int status;

	if (i >= argc) {
		cli_usage("admin", "give a command (status, endpoint, section, "
		    "acl, route, explain, history, rollback, pending, approve, "
		    "reject, export, apply, reload-tls)");
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ||
	    strcmp(argv[i], "help") == 0) {
		if (strcmp(argv[i], "help") == 0 && i + 1 < argc)
			return admin_help_command(argc, argv, i + 1);
		admin_help(stdout);
		return CLI_EXIT_OK;
	}
	if (i + 1 < argc && (strcmp(argv[i + 1], "--help") == 0 ||
	    strcmp(argv[i + 1], "-h") == 0)) {
		for (size_t k = 0; k < ADMIN_N(admin_colls); k++)
			if (strcmp(argv[i], admin_colls[k].noun) == 0) {
				admin_help(stdout);
				return CLI_EXIT_OK;
			}
	}
	memset(&r, 0, sizeof(r));
	r.g = g;
	if ((cmd = admin_lookup(argc, argv, &i, &r.coll)) == NULL)
		return CLI_EXIT_USAGE;
	r.cmd = cmd;
	snprintf(r.name, sizeof(r.name), "admin %s%s%s", cmd->noun != NULL ?
	    cmd->noun : "", cmd->noun != NULL ? " " : "", cmd->verb);
	admin_table(cmd, r.table, r.which);
	if (cli_parse(argc, argv, &i, r.table, false, r.name, admin_set,
	    &r) < 0)
		return CLI_EXIT_USAGE;
	if (r.set[A_HELP]) {
		admin_help_cmd(stdout, cmd);
		return CLI_EXIT_OK;
	}
	if ((status = admin_check(&r)) != CLI_EXIT_OK)
		return status;
	if ((status = cli_connect(g, &r.c)) != CLI_EXIT_OK)
		return status;
	status = cmd->run(&r);
	if (cli_flush() < 0)
		status = CLI_EXIT_IOERR;
	ccc_close(r.c);
	return status;
}
