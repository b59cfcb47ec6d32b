/*
 * clidoc.c — ccc's option tables as documentation (clidoc.h): ccc(1)'s
 * OPTIONS and COMMANDS sections and the data of the shell completions.
 * Owns only the formats; must never hold a flag, a command or a help text
 * of its own: everything comes from cli.c's and admin.c's tables, so that
 * the page and the completions say what --help says.
 */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "cli.h"
#include "clidoc.h"
#include "names.h"
#include "roff.h"

#define CLIDOC_MAX_ADMIN	64	/* admin commands */
#define CLIDOC_WORDS_LEN	48

/* ---- ccc(1) ---------------------------------------------------------------- */

/* The usage lines of words ("publish", "admin endpoint add"). */
static void
clidoc_roff_synopsis(FILE *f, const char *words, const char *synopsis)
{
	char line[256];
	const char *p, *nl;
	size_t n;

	fputs(".PP\n.nf\n", f);
	for (p = synopsis; p != NULL; p = nl != NULL ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, p, n);
		line[n] = '\0';
		fprintf(f, "\\fBccc\\fR [\\fIOPTIONS\\fR] \\fB%s\\fR ", words);
		roff_text(f, line);
	}
	fputs(".fi\n", f);
}

/* help as a sentence: a capital, a full stop. */
static void
clidoc_roff_sentence(FILE *f, const char *help)
{
	char text[640];
	size_t n;

	n = strlen(cli_printf(text, sizeof(text), "%s", help));
	if (text[0] >= 'a' && text[0] <= 'z')
		text[0] = (char)(text[0] - 'a' + 'A');
	if (n > 0 && n + 1 < sizeof(text) && text[n - 1] != '.')
		strcat(text, ".");
	fputs(".PP\n", f);
	roff_text(f, text);
}

static void
clidoc_roff_flags(FILE *f, const struct cli_flag *flags)
{
	char list[512], letter;

	for (const struct cli_flag *fl = flags; fl->name != NULL; fl++) {
		letter = cli_short_of(fl->name);
		roff_option(f, letter == 'h' ? 0 : letter, fl->name, fl->arg,
		    fl->help, fl->values != NULL ?
		    names_enum_list(fl->values, list, sizeof(list)) : NULL);
	}
}

static void
clidoc_roff_admin(void *ctx, const char *words, const char *synopsis,
    const char *help, const struct cli_flag *flags)
{
	FILE *f = ctx;
	char name[CLIDOC_WORDS_LEN + 8];

	snprintf(name, sizeof(name), "admin %s", words);
	fprintf(f, ".SS \"%s\"\n", name);
	clidoc_roff_synopsis(f, name, synopsis);
	clidoc_roff_sentence(f, help);
	clidoc_roff_flags(f, flags);
}

void
clidoc_roff(FILE *f)
{
	fputs(".SH OPTIONS\n"
	    "These come before the command.\n", f);
	clidoc_roff_flags(f, cli_globals());
	fputs(".SH COMMANDS\n", f);
	for (const struct cli_cmd *cmd = cli_commands(); cmd->name != NULL;
	    cmd++) {
		fprintf(f, ".SS %s\n", cmd->name);
		clidoc_roff_synopsis(f, cmd->name, cmd->synopsis);
		clidoc_roff_sentence(f, cmd->help);
		if (cmd->flags != NULL)
			clidoc_roff_flags(f, cmd->flags);
		if (strcmp(cmd->name, "admin") == 0)
			admin_doc(clidoc_roff_admin, f);
	}
}

/* ---- completion data --------------------------------------------------------- */

/* The admin commands' words and flags, collected from admin_doc(). */
struct clidoc_admin {
	char			 words[CLIDOC_MAX_ADMIN][CLIDOC_WORDS_LEN];
	size_t			 n;
	FILE			*f;
	char			*seen;		/* flags whose values are out */
	size_t			 seenlen;
};

/* "--name" for each flag, "--name=" when it takes a value. */
static void
clidoc_comp_flags(FILE *f, const char *cmd, const struct cli_flag *flags)
{
	fprintf(f, "\t\"%s\") echo \"", cmd);
	for (const struct cli_flag *fl = flags; fl->name != NULL; fl++)
		fprintf(f, "%s--%s%s", fl == flags ? "" : " ", fl->name,
		    fl->arg != NULL ? "=" : "");
	fputs("\" ;;\n", f);
}

/* The values of each flag that has some, once per flag name. */
static void
clidoc_comp_values(FILE *f, const struct cli_flag *flags, char *seen,
    size_t seenlen)
{
	char list[512], key[64];

	for (const struct cli_flag *fl = flags; fl->name != NULL; fl++) {
		if (fl->arg == NULL || (fl->values == NULL &&
		    strcmp(fl->arg, "FILE") != 0))
			continue;
		snprintf(key, sizeof(key), " %s ", fl->name);
		if (strstr(seen, key) != NULL ||
		    strlen(seen) + strlen(key) >= seenlen)
			continue;
		strcat(seen, key + 1);
		if (fl->values == NULL) {
			fprintf(f, "\t--%s) echo \"@file\" ;;\n", fl->name);
			continue;
		}
		names_enum_list(fl->values, list, sizeof(list));
		fprintf(f, "\t--%s) echo \"", fl->name);
		for (const char *p = list; *p != '\0'; p++)
			if (*p != ',')
				fputc(*p, f);
		fputs("\" ;;\n", f);
	}
}

static void
clidoc_comp_admin_flags(void *ctx, const char *words, const char *synopsis,
    const char *help, const struct cli_flag *flags)
{
	struct clidoc_admin *a = ctx;
	char cmd[CLIDOC_WORDS_LEN + 8];

	(void)synopsis;
	(void)help;
	if (a->n < CLIDOC_MAX_ADMIN)
		snprintf(a->words[a->n++], CLIDOC_WORDS_LEN, "%s", words);
	snprintf(cmd, sizeof(cmd), "admin %s", words);
	clidoc_comp_flags(a->f, cmd, flags);
}

static void
clidoc_comp_admin_values(void *ctx, const char *words, const char *synopsis,
    const char *help, const struct cli_flag *flags)
{
	struct clidoc_admin *a = ctx;

	(void)words;
	(void)synopsis;
	(void)help;
	clidoc_comp_values(a->f, flags, a->seen, a->seenlen);
}

/*
 * The words that may follow prefix ("" or a noun such as "endpoint")
 * among the admin commands, once each: "status endpoint ..." or "list
 * show ...".
 */
static void
clidoc_comp_admin_words(FILE *f, const struct clidoc_admin *a,
    const char *prefix)
{
	char out[1024] = " ", word[CLIDOC_WORDS_LEN + 2];
	size_t plen = strlen(prefix);
	const char *w;

	for (size_t k = 0; k < a->n; k++) {
		w = a->words[k];
		if (plen > 0 && (strncmp(w, prefix, plen) != 0 || w[plen] != ' '))
			continue;
		if (plen > 0)
			w += plen + 1;
		snprintf(word, sizeof(word), " %.*s ", (int)strcspn(w, " "), w);
		if (strstr(out, word) == NULL &&
		    strlen(out) + strlen(word) < sizeof(out))
			strcat(out, word + 1);
	}
	out[strlen(out) - 1] = '\0';
	fprintf(f, "\t\"admin%s%s\") echo \"%s\" ;;\n", plen > 0 ? " " : "",
	    prefix, out + 1);
}

void
clidoc_completion(FILE *f)
{
	static struct clidoc_admin a;
	char seen[2048] = " ", noun[CLIDOC_WORDS_LEN];
	const struct cli_cmd *cmd;
	size_t len;

	memset(&a, 0, sizeof(a));
	a.f = f;
	a.seen = seen;
	a.seenlen = sizeof(seen);
	fputs("_ccc_flags() {\n\tcase \"$1\" in\n", f);
	clidoc_comp_flags(f, "", cli_globals());
	for (cmd = cli_commands(); cmd->name != NULL; cmd++)
		if (cmd->flags != NULL)
			clidoc_comp_flags(f, cmd->name, cmd->flags);
	admin_doc(clidoc_comp_admin_flags, &a);
	fputs("\tesac\n}\n", f);

	fputs("_ccc_words() {\n\tcase \"$1\" in\n\t\"\") echo \"", f);
	for (cmd = cli_commands(); cmd->name != NULL; cmd++)
		fprintf(f, "%s%s", cmd == cli_commands() ? "" : " ", cmd->name);
	fputs("\" ;;\n", f);
	clidoc_comp_admin_words(f, &a, "");
	for (size_t k = 0; k < a.n; k++) {
		len = strcspn(a.words[k], " ");
		if (a.words[k][len] == '\0' || (k > 0 &&
		    strncmp(a.words[k], a.words[k - 1], len + 1) == 0))
			continue;	/* no noun, or the same as before */
		snprintf(noun, sizeof(noun), "%.*s", (int)len, a.words[k]);
		clidoc_comp_admin_words(f, &a, noun);
	}
	fputs("\tesac\n}\n", f);

	fputs("_ccc_values() {\n\tcase \"$1\" in\n", f);
	clidoc_comp_values(f, cli_globals(), seen, sizeof(seen));
	for (cmd = cli_commands(); cmd->name != NULL; cmd++)
		if (cmd->flags != NULL)
			clidoc_comp_values(f, cmd->flags, seen, sizeof(seen));
	admin_doc(clidoc_comp_admin_values, &a);
	fputs("\tesac\n}\n", f);
}
