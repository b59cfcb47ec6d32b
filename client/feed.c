/*
 * feed.c — the terminal form of ccc subscribe (feed.h). Owns the choice of
 * the form (a terminal or not, NO_COLOR, --color), the colours, the bell,
 * the local time and the header line with names and markers; cli.c prints
 * the rest of each alert alike in both forms.
 *
 * Colours are SGR sequences: CRITICAL bold red, HIGH red, MEDIUM yellow,
 * LOW and unset the terminal's default (no sequence at all). The names come
 * from the broker's Welcome (Hello.names, ccc_section_name()); an id
 * without a name is shown alone.
 *
 * Must never: change the plain form (stdout not a terminal) unless asked
 * to with --color=always, and then only by the colour sequences.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "feed.h"
#include "names.h"
#include "timeutil.h"

#define FEED_SEV(x)	CCC__V1__SEVERITY__SEVERITY_##x

void
feed_init(struct feed *f, enum feed_when colour, bool bell, bool utc)
{
	const char *no = getenv("NO_COLOR");

	memset(f, 0, sizeof(*f));
	f->on = isatty(STDOUT_FILENO) == 1;
	f->bell = bell;
	f->utc = utc;
	if (colour == FEED_ALWAYS)
		f->colour = true;
	else if (colour == FEED_AUTO)
		f->colour = f->on && (no == NULL || no[0] == '\0');
}

int
feed_when_parse(const char *s)
{
	if (strcmp(s, "auto") == 0)
		return FEED_AUTO;
	if (strcmp(s, "always") == 0)
		return FEED_ALWAYS;
	if (strcmp(s, "never") == 0)
		return FEED_NEVER;
	return -1;
}

const char *
feed_time(const struct feed *f, int64_t us, char *buf, size_t len)
{
	struct tm tm;
	time_t t = (time_t)(us / 1000000);

	if (!f->on || f->utc || localtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		return time_format_rfc3339(us, buf, len);
	return buf;
}

const char *
feed_colour_on(const struct feed *f, int severity)
{
	if (!f->colour)
		return "";
	switch (severity) {
	case FEED_SEV(CRITICAL): return "\033[1;31m";
	case FEED_SEV(HIGH): return "\033[31m";
	case FEED_SEV(MEDIUM): return "\033[33m";
	}
	return "";
}

const char *
feed_colour_off(const struct feed *f, int severity)
{
	return feed_colour_on(f, severity)[0] != '\0' ? "\033[0m" : "";
}

/* " id (name)", or " id" without a name; "-" for an empty id. */
static void
feed_named(const char *id, const char *name)
{
	putchar(' ');
	cli_put(id != NULL && id[0] != '\0' ? id : "-", NULL);
	if (name != NULL && name[0] != '\0') {
		fputs(" (", stdout);
		cli_put(name, NULL);
		putchar(')');
	}
}

/* True when the alert names endpoint among its recipients. */
static bool
feed_to(const Ccc__V1__Alert *a, const char *endpoint)
{
	for (size_t k = 0; k < a->n_recipients; k++)
		if (strcmp(a->recipients[k], endpoint) == 0)
			return true;
	return false;
}

/* The markers, each " [...]". */
static void
feed_markers(const struct feed *f, const Ccc__V1__Deliver *d)
{
	const Ccc__V1__Alert *a = d->alert;

	if (d->replayed)
		fputs(" [replayed]", stdout);
	if (d->redelivered > 0)
		printf(" [redelivered %u]", d->redelivered);
	if (a->handling == CCC__V1__HANDLING__HANDLING_H2 ||
	    a->tlp == CCC__V1__TLP__TLP_RED)
		fputs(" [restricted]", stdout);
	if (f->c != NULL && feed_to(a, ccc_endpoint(f->c)))
		fputs(" [to you]", stdout);
}

void
feed_head(const struct feed *f, const Ccc__V1__Deliver *d)
{
	const Ccc__V1__Alert *a = d->alert;
	const char *cat;
	char t[64], sev[32];
	int64_t when = a->observed_at != 0 ? a->observed_at : a->published_at;

	if (f->bell && a->severity == FEED_SEV(CRITICAL))
		putchar('\a');
	cat = names_enum_short(&ccc__v1__category__descriptor, (int)a->category);
	printf("%s%s %s %s", feed_colour_on(f, (int)a->severity),
	    when != 0 ? feed_time(f, when, t, sizeof(t)) : "-",
	    cli_severity(a, sev, sizeof(sev)), a->category != 0 && cat ? cat :
	    "-");
	feed_named(a->section, f->c != NULL ? ccc_section_name(f->c,
	    a->section) : NULL);
	fputs(" from", stdout);
	feed_named(a->origin, f->c != NULL ? ccc_endpoint_name(f->c,
	    a->origin) : NULL);
	fputs(" id ", stdout);
	cli_put(a->id != NULL && a->id[0] != '\0' ? a->id : "-", NULL);
	feed_markers(f, d);
	fputs(feed_colour_off(f, (int)a->severity), stdout);
}
