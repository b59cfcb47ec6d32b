/*
 * feed.h — the terminal form of ccc subscribe, for an officer following a
 * feed through a shift: severity colours, a bell on critical alerts, local
 * time, the registry's names next to the ids, and markers for replayed,
 * redelivered, restricted and addressed-to-you alerts. Output to a pipe or
 * a file keeps the plain form (cli.c) byte for byte.
 */
#ifndef CCC_FEED_H
#define CCC_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ccc.h"

enum feed_when { FEED_AUTO, FEED_ALWAYS, FEED_NEVER };

struct feed {
	bool		 on;		/* stdout is a terminal: the terminal form */
	bool		 colour;	/* severity colours (SGR escape sequences) */
	bool		 bell;		/* BEL before a critical alert (terminal form) */
	bool		 utc;		/* times in UTC, RFC 3339, as the plain form */
	const ccc_client *c;		/* names and this endpoint's id; set once connected */
};

/*
 * Decide the form from stdout and the environment: the terminal form when
 * stdout is a terminal; colours as colour says (FEED_AUTO: in the terminal
 * form, unless NO_COLOR is set and not empty).
 */
void		 feed_init(struct feed *f, enum feed_when colour, bool bell,
		    bool utc);
/* Parse --color's value; -1 when it is none of auto, always, never. */
int		 feed_when_parse(const char *s);
/* The time us as the form shows it, into buf[len]; returns buf. */
const char	*feed_time(const struct feed *f, int64_t us, char *buf, size_t len);
/* The escape sequence that starts the colour of an alert's severity ("": none). */
const char	*feed_colour_on(const struct feed *f, int severity);
/* The one that ends it. */
const char	*feed_colour_off(const struct feed *f, int severity);
/*
 * The terminal form's header line of the alert delivered by d, without its
 * newline: time, severity, category, section and origin with their names,
 * id, markers. The bell, when asked for, before a critical one.
 */
void		 feed_head(const struct feed *f, const Ccc__V1__Deliver *d);

#endif
