/*
 * bench.h — `ccc bench`, the load generator of the ccc command line: P
 * publishers and S subscribers on their own TLS sessions, driven through
 * libccc, measuring what the broker delivers, how fast, how late, and what
 * it costs the broker (from /proc). cli.c parses the flags into struct
 * bench_opts; bench.c runs the measurement and prints the report.
 */
#ifndef CCC_BENCH_H
#define CCC_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_CATEGORIES	9	/* categories publishers cycle through */
#define BENCH_TOPICS		"exercise/"	/* the exercise alerts' topics */
#define BENCH_MAX_SECTIONS	64
#define BENCH_DEFAULT_SECTIONS	"tr-bg/kapikule,tr-bg/hamzabeyli," \
				"tr-bg/derekoy,tr-bg/strandzha,tr-gr/ipsala," \
				"tr-gr/pazarkule,tr-gr/uzunkopru,tr-gr/evros"

/* A backlog measured in two runs (--backlog). */
enum bench_backlog {
	BENCH_BACKLOG_NONE,
	BENCH_BACKLOG_FILL,	/* subscribe durably, disconnect, publish */
	BENCH_BACKLOG_DRAIN,	/* reconnect the subscriptions, read all */
};

struct bench_opts {
	const char	*server;	/* NULL: libccc's default */
	const char	*ca;
	const char	*pub_cert;	/* publishers' identity */
	const char	*pub_key;
	const char	*sub_cert;	/* subscribers' identity */
	const char	*sub_key;
	int		 timeout_ms;	/* each connect and blocking wait */

	unsigned	 publishers;
	unsigned	 subscribers;
	uint64_t	 count;		/* alerts in total; 0: connections only */
	size_t		 bytes;		/* encoded size of a published alert */
	unsigned	 window;	/* unconfirmed publishes per publisher */
	double		 rate;		/* alerts/s in total; 0: as fast as window allows */
	bool		 durable;	/* durable subscriptions (acknowledged) */
	bool		 resume;	/* connections resume TLS sessions */
	enum bench_backlog backlog;
	const char	*pattern;	/* every subscriber's pattern (groups == 1), under exercise/ */
	unsigned	 groups;	/* > 1: subscribers split the categories */
	const char	*sections;	/* comma-separated; publishers cycle through them */
	unsigned	 conn_window;	/* connections set up at once */
	double		 hold_s;	/* idle time after the run */
	double		 deadline_s;	/* bound on the whole run */
	int		 broker_pid;	/* 0: no broker figures */
	const char	*label;		/* copied into the JSON */
	bool		 json;		/* one JSON object instead of the table */
};

/* The defaults of every option (no scenario). */
void	bench_defaults(struct bench_opts *o);

/*
 * Load the workload of scenario sc ('a'..'f') into p: publishers,
 * subscribers, count, rate, pattern, groups, hold, durable and label.
 * Returns false for an unknown scenario.
 */
bool	bench_scenario(char sc, struct bench_opts *p);

/*
 * Smallest --bytes the alert layout allows with these sections, or 0 when a
 * section is empty or too long (why says which).
 */
size_t	bench_min_bytes(const char *sections, char *why, size_t whylen);

/*
 * Run one measurement and print its report on stdout (a table, or with
 * o->json one JSON object on one line); progress and failures go to stderr.
 * Returns 0 when the run completed with every expected delivery, 1
 * otherwise (connections failed, alerts refused, lost or late past the
 * deadline).
 */
int	bench_run(const struct bench_opts *o);

#endif
