/*
 * config.c — the daemon's configuration file.
 *
 * Every key lives in one table, config_options[]: its dotted path, type,
 * bounds, default and help. Loading, the unknown-key check, defaults and
 * `cccd --help` are all driven by that table; adding a key means adding a
 * row (and a field in struct config). Sections ("tls", "limits", ...) are
 * implied by the dotted paths.
 *
 * A load validates the whole file, fills a fresh struct config and hands it
 * over only when every key is valid: never a half-built config. This file
 * must never apply a config (log level, sockets): that is the caller's move.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libfyaml.h>

#include "config.h"
#include "log.h"
#include "roff.h"
#include "timeutil.h"
#include "xmalloc.h"
#include "yamlfile.h"

enum config_type {
	CONFIG_HOSTPORT,	/* "IPv4:PORT" or "[IPv6]:PORT": char * and uint16_t */
	CONFIG_FILE,		/* a readable file: char * (absolute path) */
	CONFIG_FILES,		/* one or more readable files: char ** and a size_t count
				   (none when the key is absent and its default is "") */
	CONFIG_DIR,		/* a directory: char * (absolute path; not checked) */
	CONFIG_LOGLEVEL,	/* debug|info|warn|error: char * */
	CONFIG_UINT,		/* uint32_t within min..max */
	CONFIG_DURATION,	/* uint32_t seconds within min..max: 30, "90s", "15m", "12h", "90d" */
	CONFIG_HOSTPORT_OFF,	/* CONFIG_HOSTPORT, or "" for none (char * NULL) */
	CONFIG_BOOL,		/* true or false: bool; def "true" or "false" */
	CONFIG_NAME,		/* a user or group name: char *; absent: NULL */
	CONFIG_CHECK,		/* always|unclean: bool, true for always */
};

struct config_option {
	const char		*key;		/* dotted path, e.g. "limits.max_frame_size" */
	enum config_type	 type;
	size_t			 off;		/* of the field in struct config */
	size_t			 off2;		/* HOSTPORT: of the port; FILES: of the count */
	uint32_t		 min, max;	/* UINT bounds */
	uint32_t		 udef;		/* UINT default */
	const char		*def;		/* default of the other types; NULL: required */
	const char		*help;
};

#define CONFIG_OFF(f)	offsetof(struct config, f)
#define CONFIG_UINTOPT(key, f, min, max, def, help)			\
	{ key, CONFIG_UINT, CONFIG_OFF(f), 0, min, max, def, NULL, help }
#define CONFIG_DUROPT(key, f, min, max, def, help)			\
	{ key, CONFIG_DURATION, CONFIG_OFF(f), 0, min, max, def, NULL, help }
#define CONFIG_STROPT(key, type, f, def, help)				\
	{ key, type, CONFIG_OFF(f), 0, 0, 0, 0, def, help }

static const struct config_option config_options[] = {
	{ "listen", CONFIG_HOSTPORT, CONFIG_OFF(listen_host),
	    CONFIG_OFF(listen_port), 0, 0, 0, "127.0.0.1:7443",
	    "Address to accept TLS connections on: IPv4:PORT or [IPv6]:PORT "
	    "(an address, not a host name). Port 0 picks any free port." },
	CONFIG_STROPT("tls.cert", CONFIG_FILE, tls_cert, NULL,
	    "The broker's certificate chain (PEM)."),
	CONFIG_STROPT("tls.key", CONFIG_FILE, tls_key, NULL,
	    "The private key of tls.cert (PEM)."),
	{ "tls.ca", CONFIG_FILES, CONFIG_OFF(tls_ca), CONFIG_OFF(n_tls_ca),
	    0, 0, 0, NULL,
	    "CA bundle that client certificates must chain to, or a list of "
	    "them (several national CAs may be trusted at once)." },
	{ "tls.crl", CONFIG_FILES, CONFIG_OFF(tls_crl), CONFIG_OFF(n_tls_crl),
	    0, 0, 0, "",
	    "Certificate revocation list (PEM) of the CAs in tls.ca, or a list "
	    "of them. When set, every client certificate is checked against "
	    "them, and a CA without a CRL here has its certificates refused. "
	    "Re-read on SIGHUP." },
	CONFIG_DUROPT("tls.session_tickets", tls_tickets, 0, 7 * 86400u, 0,
	    "TLS session resumption: the broker remembers a session for this "
	    "long, and a client may resume it by the ticket (TLS 1.3) or "
	    "session id (TLS 1.2) it was given, without a full handshake. A "
	    "TLS reload (SIGHUP) forgets every session, so none outlives the "
	    "revocation lists it was verified under. 0 (the default): no "
	    "resumption."),
	CONFIG_UINTOPT("tls.session_cache_size", tls_session_cache, 1, 1000000,
	    10000, "Sessions remembered for resumption at most (the oldest "
	    "are forgotten first); each holds its client's certificate, "
	    "2-8 KiB when that client is no longer connected."),
	CONFIG_STROPT("registry", CONFIG_FILE, registry, NULL,
	    "The registry file: endpoints, border sections, access rules."),
	CONFIG_STROPT("data_dir", CONFIG_DIR, data_dir, "/var/lib/ccc",
	    "Directory the broker keeps its state in; created at start-up "
	    "(mode 0700) with any missing parents (mode 0755)."),
	CONFIG_STROPT("user", CONFIG_NAME, user, "",
	    "User to run as. When cccd starts as root, it binds its listeners, "
	    "reads its TLS files and opens the store as root, gives data_dir "
	    "and the store's files to this user, then drops root for good "
	    "(setgroups, setgid, setuid). The TLS files and the registry must "
	    "be readable by this user for SIGHUP reloads. Ignored, with a "
	    "warning, when not started as root."),
	CONFIG_STROPT("group", CONFIG_NAME, group, "",
	    "Group to run as, with user; default: the user's login group."),
	CONFIG_STROPT("log_level", CONFIG_LOGLEVEL, log_level, "info",
	    "Least severe level logged: debug, info, warn or error."),
	CONFIG_STROPT("store.check_at_start", CONFIG_CHECK, store_check_always,
	    "unclean",
	    "When the store's integrity check (SQLite's quick_check: it reads "
	    "the whole store) runs before the broker serves. unclean: only "
	    "when the last run did not close the store cleanly after its check "
	    "passed (a crash, a kill, a power failure, a failed sync, a stop "
	    "before the check ended) or a schema migration is due; otherwise "
	    "the broker serves at once and checks the store in the background, "
	    "and damage found then makes it refuse every publish until it is "
	    "repaired and restarted. always: before every start, which then "
	    "takes as long as reading the whole store."),
	CONFIG_UINTOPT("limits.max_frame_size", max_frame_size,
	    1024, 16777216, 65536,
	    "Largest frame (envelope bytes) a peer may send."),
	CONFIG_UINTOPT("limits.max_connections", max_connections,
	    1, 1000000, 10000,
	    "Sessions open at once; further connections are refused."),
	CONFIG_UINTOPT("limits.max_subscriptions", max_subscriptions,
	    1, 10000, 64,
	    "Subscriptions one session may hold."),
	CONFIG_UINTOPT("limits.max_patterns", max_patterns,
	    1, 1000, 16,
	    "Topic patterns in one subscribe request."),
	CONFIG_UINTOPT("limits.max_output_buffer", max_output_buffer,
	    65536, 1073741824, 8388608,
	    "Most bytes queued for delivery to one session."),
	CONFIG_UINTOPT("limits.max_handshakes", max_handshakes,
	    1, 100000, 256,
	    "Connections in their TLS handshake at once (not authenticated "
	    "yet). Past it a new connection is closed at accept, unless its "
	    "address has at least two fewer handshakes under way than the "
	    "busiest address, whose oldest handshake is then closed to make "
	    "room."),
	CONFIG_UINTOPT("limits.max_handshakes_per_address",
	    max_handshakes_per_address, 1, 10000, 32,
	    "Connections from one IPv4 address (or one IPv6 /64) in their TLS "
	    "handshake at once; further ones are closed at accept."),
	CONFIG_UINTOPT("limits.max_connections_per_endpoint",
	    max_connections_per_endpoint, 1, 1000000, 64,
	    "Sessions one endpoint may have open at once; a further one is "
	    "refused after the handshake with TOO_MANY_CONNECTIONS."),
	CONFIG_UINTOPT("limits.publish_rate", publish_rate,
	    0, 1000000, 1000,
	    "Alerts per second one endpoint may publish on average, across "
	    "its sessions (a token bucket); a publish over it is refused with "
	    "RATE_LIMITED and neither stored nor delivered. 0: no limit."),
	CONFIG_UINTOPT("limits.publish_burst", publish_burst,
	    1, 10000000, 2000,
	    "Publishes one endpoint may make in a burst, faster than "
	    "limits.publish_rate (the size of its token bucket)."),
	CONFIG_UINTOPT("timeouts.handshake", handshake_timeout,
	    1, 300, 10,
	    "Seconds a new connection has for the TLS handshake and hello."),
	CONFIG_UINTOPT("timeouts.ping_interval", ping_interval,
	    1, 3600, 30,
	    "Seconds of silence from a peer before the broker pings it."),
	CONFIG_UINTOPT("timeouts.idle", idle_timeout,
	    2, 86400, 90,
	    "Seconds of silence before a session is closed; must be greater "
	    "than timeouts.ping_interval."),
	CONFIG_UINTOPT("timeouts.shutdown", shutdown_timeout,
	    0, 300, 5,
	    "Seconds to flush sessions on SIGTERM before closing them."),
	CONFIG_UINTOPT("durable.window", durable_window,
	    1, 10000, 1000,
	    "Unacknowledged deliveries in flight per durable subscription "
	    "(their bodies also at most half of limits.max_output_buffer)."),
	CONFIG_UINTOPT("durable.ack_timeout", ack_timeout,
	    1, 86400, 30,
	    "Seconds without an acknowledgement after which a durable "
	    "subscription's unacknowledged deliveries are sent again."),
	CONFIG_UINTOPT("durable.max_subscriptions", max_durables,
	    1, 10000, 32,
	    "Durable subscriptions one endpoint may keep."),
	CONFIG_UINTOPT("durable.max_deliveries", max_deliveries,
	    1, 1000, 10,
	    "Deliveries of one alert to a durable subscription before it goes "
	    "to the dead-letter list."),
	CONFIG_DUROPT("retention.alerts", retain_alerts,
	    0, 3650 * 86400u, 90 * 86400u,
	    "How long alerts (and their deliveries) are kept; older ones are "
	    "purged. 0: kept for ever."),
	CONFIG_DUROPT("retention.audit", retain_audit,
	    0, 3650 * 86400u, 1095 * 86400u,
	    "How long audit journal records are kept; older ones are purged "
	    "(the purge itself is recorded). 0: kept for ever."),
	CONFIG_DUROPT("retention.interval", retain_interval,
	    1, 86400, 600,
	    "Time between purge runs."),
	CONFIG_DUROPT("retention.max_clock_jump", retain_max_jump,
	    60, 3650 * 86400u, 86400,
	    "How far the clock may be ahead of the time the broker expects (the "
	    "last purge run's expectation, kept in the store, plus the time "
	    "elapsed since the broker started or ran it) before retention holds "
	    "back to the expected time."),
	CONFIG_UINTOPT("retention.batch", retain_batch,
	    10, 100000, 1000,
	    "Most rows one purge transaction deletes, so that a purge never "
	    "holds up publishing for long; a run continues in further small "
	    "transactions until done."),
#define CONFIG_TTL(cat, idx)						\
	CONFIG_UINTOPT("ttl." cat, ttl[idx], 0, 31536000, 0,		\
	    "Seconds an alert of category " cat " stays deliverable when "	\
	    "its publisher sets no expires_at (0: no limit).")
	CONFIG_TTL("human_trafficking", 1),
	CONFIG_TTL("migrant_smuggling", 2),
	CONFIG_TTL("drugs", 3),
	CONFIG_TTL("customs", 4),
	CONFIG_TTL("weapons", 5),
	CONFIG_TTL("stolen_vehicle", 6),
	CONFIG_TTL("document_fraud", 7),
	CONFIG_TTL("wanted_person", 8),
	CONFIG_TTL("other", 9),
#undef CONFIG_TTL
	CONFIG_STROPT("bench.allow", CONFIG_BOOL, bench_allow, "false",
	    "Accept exercise alerts (ccc bench) under exercise/ topics; "
	    "false refuses them with FORBIDDEN. Never on a live broker."),
	CONFIG_STROPT("bench.journal", CONFIG_BOOL, bench_journal, "false",
	    "Journal exercise alerts like live ones, a record per publish, "
	    "delivery and acknowledgement, so that a benchmark measures the "
	    "journal too (a throwaway benchmark broker only); false: one "
	    "record per publishing session."),
	{ "metrics.listen", CONFIG_HOSTPORT_OFF, CONFIG_OFF(metrics_host),
	    CONFIG_OFF(metrics_port), 0, 0, 0, "127.0.0.1:9464",
	    "Address of the HTTP listener for GET /metrics (Prometheus) and "
	    "/healthz: IPv4:PORT or [IPv6]:PORT; \"\" turns it off. It has no "
	    "authentication: an address other than loopback needs "
	    "metrics.allow_remote." },
	CONFIG_STROPT("metrics.allow_remote", CONFIG_BOOL, metrics_allow_remote,
	    "false",
	    "Allow metrics.listen on an address other than loopback."),
	CONFIG_DUROPT("metrics.refresh", metrics_refresh,
	    1, 3600, 5,
	    "Time between counts of the durable backlogs and the store size "
	    "for the metrics (done by the store's writer thread)."),
	{ "console.listen", CONFIG_HOSTPORT_OFF, CONFIG_OFF(console_host),
	    CONFIG_OFF(console_port), 0, 0, 0, "",
	    "Address of the console's HTTPS listener (the duty officers' web "
	    "page and its JSON API): IPv4:PORT or [IPv6]:PORT; \"\" (the "
	    "default) turns it off. Browsers authenticate with a client "
	    "certificate checked exactly as on the broker port (tls.cert, "
	    "tls.key, tls.ca, tls.crl)." },
	CONFIG_UINTOPT("console.max_connections", console_max_connections,
	    1, 100000, 1024,
	    "Console HTTPS connections open at once; past it a new connection "
	    "is closed as it is accepted."),
	CONFIG_UINTOPT("console.max_feeds", console_max_feeds, 1, 100000, 1024,
	    "Live feeds (GET /api/feed) open at once; past it a new one is "
	    "answered 503 with the reason."),
	CONFIG_UINTOPT("console.request_rate", console_request_rate,
	    1, 100000, 50,
	    "Console requests per second per endpoint (a token bucket); over "
	    "it: 429 with Retry-After."),
	CONFIG_UINTOPT("console.request_burst", console_request_burst,
	    1, 1000000, 200,
	    "Console requests an endpoint may make at once above "
	    "console.request_rate."),
	CONFIG_UINTOPT("console.max_body", console_max_body, 1024, 1048576,
	    65536,
	    "Bytes of a console request body at most; a larger one is "
	    "answered 413."),
	CONFIG_UINTOPT("console.catch_up", console_catch_up, 0, 100000, 1000,
	    "Alerts a reconnecting live feed is sent at most from the ones it "
	    "missed; when more were missed, it is told so (a gap event) and "
	    "the page points to the history."),
	CONFIG_UINTOPT("console.hsts_max_age", console_hsts_max_age,
	    0, 63072000, 31536000,
	    "Seconds in the console's Strict-Transport-Security header."),
};

#define CONFIG_NOPTS	(sizeof(config_options) / sizeof(config_options[0]))

static const char *const config_type_names[] = {
	[CONFIG_HOSTPORT] = "ADDRESS:PORT",
	[CONFIG_FILE] = "path",
	[CONFIG_FILES] = "path or list of paths",
	[CONFIG_DIR] = "path",
	[CONFIG_LOGLEVEL] = "level",
	[CONFIG_UINT] = "integer",
	[CONFIG_DURATION] = "duration",
	[CONFIG_HOSTPORT_OFF] = "ADDRESS:PORT or \"\"",
	[CONFIG_BOOL] = "boolean",
	[CONFIG_NAME] = "name",
	[CONFIG_CHECK] = "always or unclean",
};

/* One load in progress. */
struct config_load {
	struct yamlfile		*yf;
	char			*base;		/* relative paths resolve against it */
	struct config		*cfg;
	struct fy_node		*keys[CONFIG_NOPTS];	/* key node of each option found */
};

static void *
config_field(struct config *cfg, size_t off)
{
	return (char *)cfg + off;
}

static size_t
config_index(const char *key)
{
	size_t i;

	for (i = 0; i < CONFIG_NOPTS; i++)
		if (strcmp(config_options[i].key, key) == 0)
			break;
	return i;
}

/* path made absolute against base (a copy when it already is). */
static char *
config_resolve(const char *base, const char *path)
{
	if (path[0] == '/')
		return xstrdup(path);
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	if (base[0] != '\0' && base[strlen(base) - 1] == '/')
		return xasprintf("%s%s", base, path);
	return xasprintf("%s/%s", base, path);
}

/* Absolute directory of path (the config file), or NULL with errno set. */
static char *
config_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char cwd[PATH_MAX], *dir, *abs;

	if (slash == path)
		return xstrdup("/");
	if (slash != NULL && path[0] == '/')
		return xstrndup(path, (size_t)(slash - path));
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	if (slash == NULL)
		return xstrdup(cwd);
	dir = xstrndup(path, (size_t)(slash - path));
	abs = strcmp(dir, ".") == 0 ? xstrdup(cwd) : config_resolve(cwd, dir);
	free(dir);
	return abs;
}

/* True when path names a readable regular file; why[] says otherwise. */
static bool
config_readable(const char *path, char *why, size_t whylen)
{
	struct stat st;
	int fd;

	/* O_NONBLOCK: a FIFO must not hang the load */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) ==
	    -1) {
		snprintf(why, whylen, "cannot read %s: %s", path,
		    strerror(errno));
		return false;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "%s is not a regular file", path);
		close(fd);
		return false;
	}
	close(fd);
	return true;
}

/* yamlfile_strings() check: item resolved against base (arg) is readable. */
static bool
config_check_file(void *arg, const char *item, char *why, size_t whylen)
{
	char *path = config_resolve(arg, item);
	bool ok = config_readable(path, why, whylen);

	free(path);
	return ok;
}

/* Split "IPv4:PORT" or "[IPv6]:PORT"; the host without brackets. */
static bool
config_parse_listen(const char *s, char **host, uint16_t *port, char *why,
    size_t whylen)
{
	const char *colon = strrchr(s, ':'), *h = s, *hend, *p;
	unsigned char addr[16];
	unsigned long v = 0;
	char *hs;

	if (colon == NULL) {
		snprintf(why, whylen, "expected ADDRESS:PORT, e.g. 127.0.0.1:7443 "
		    "or [::1]:7443");
		return false;
	}
	hend = colon;
	if (s[0] == '[') {
		if (colon == s || colon[-1] != ']') {
			snprintf(why, whylen, "expected [IPv6]:PORT, e.g. "
			    "[::1]:7443");
			return false;
		}
		h = s + 1;
		hend = colon - 1;
	} else if (memchr(s, ':', (size_t)(colon - s)) != NULL) {
		snprintf(why, whylen, "an IPv6 address goes in brackets, e.g. "
		    "[::1]:7443");
		return false;
	}
	if (hend == h) {
		snprintf(why, whylen, "no host before the port (0.0.0.0 or [::] "
		    "listen on all addresses)");
		return false;
	}
	hs = xstrndup(h, (size_t)(hend - h));
	if (s[0] == '[') {
		if (inet_pton(AF_INET6, hs, addr) != 1) {
			snprintf(why, whylen, "'%s' is not an IPv6 address", hs);
			goto fail;
		}
	} else if (inet_pton(AF_INET, hs, addr) != 1) {
		/* an address, not a name: no resolver at start-up */
		snprintf(why, whylen, "'%.64s' is not an IPv4 address (names are "
		    "not resolved; e.g. 127.0.0.1 or [::1])", hs);
		goto fail;
	}
	p = colon + 1;
	if (*p == '\0' || strlen(p) > 5 || strspn(p, "0123456789") != strlen(p) ||
	    (v = strtoul(p, NULL, 10)) > 65535) {
		snprintf(why, whylen, "the port must be a number 0..65535");
		goto fail;
	}
	*host = hs;
	*port = (uint16_t)v;
	return true;

fail:
	free(hs);
	return false;
}

static int
config_set_uint(struct config_load *ld, const struct config_option *opt,
    struct fy_node *node)
{
	uint64_t u = opt->udef;

	if (node != NULL && yamlfile_uint(ld->yf, node, opt->key, opt->min,
	    opt->max, &u) == -1)
		return -1;
	*(uint32_t *)config_field(ld->cfg, opt->off) = (uint32_t)u;
	return 0;
}

/* Seconds, or a number with s, m, h or d; within the option's bounds. */
static int
config_set_duration(struct config_load *ld, const struct config_option *opt,
    struct fy_node *node)
{
	char *text;
	int64_t secs = opt->udef;
	int rc = 0;

	if (node != NULL) {
		if (yamlfile_string(ld->yf, node, opt->key, &text) == -1)
			return -1;
		if (!time_parse_duration(text, &secs))
			rc = yamlfile_error(ld->yf, node, "%s: expected a duration "
			    "such as 30s, 15m, 12h or 90d, got '%s'", opt->key,
			    text);
		else if (secs < opt->min || secs > opt->max)
			rc = yamlfile_error(ld->yf, node, "%s: %s is out of range "
			    "(%" PRIu32 "s..%" PRIu32 "s)", opt->key, text,
			    opt->min, opt->max);
		free(text);
		if (rc == -1)
			return -1;
	}
	*(uint32_t *)config_field(ld->cfg, opt->off) = (uint32_t)secs;
	return 0;
}

static int
config_set_files(struct config_load *ld, const struct config_option *opt,
    struct fy_node *node)
{
	char **v, *abs;
	size_t n;

	if (node == NULL) {	/* optional and absent: none */
		*(char ***)config_field(ld->cfg, opt->off) = NULL;
		*(size_t *)config_field(ld->cfg, opt->off2) = 0;
		return 0;
	}
	if (yamlfile_strings(ld->yf, node, opt->key, true, 1, config_check_file,
	    ld->base, &v, &n) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		abs = config_resolve(ld->base, v[i]);
		free(v[i]);
		v[i] = abs;
	}
	*(char ***)config_field(ld->cfg, opt->off) = v;
	*(size_t *)config_field(ld->cfg, opt->off2) = n;
	return 0;
}

/* The string types: HOSTPORT, FILE, DIR, LOGLEVEL. */
static int
config_set_string(struct config_load *ld, const struct config_option *opt,
    struct fy_node *node)
{
	char why[PATH_MAX + 128], *s, **field;
	enum log_level level;
	bool ok = true;

	if (node == NULL)
		s = xstrdup(opt->def);
	else if (yamlfile_string(ld->yf, node, opt->key, &s) == -1)
		return -1;
	field = config_field(ld->cfg, opt->off);
	switch (opt->type) {
	case CONFIG_HOSTPORT:
	case CONFIG_HOSTPORT_OFF:
		ok = config_parse_listen(s, field,
		    config_field(ld->cfg, opt->off2), why, sizeof(why));
		free(s);
		break;
	case CONFIG_FILE:
	case CONFIG_DIR:
		*field = config_resolve(ld->base, s);
		free(s);
		if (opt->type == CONFIG_FILE)
			ok = config_readable(*field, why, sizeof(why));
		break;
	default:	/* CONFIG_LOGLEVEL */
		*field = s;
		if (!(ok = log_level_parse(s, &level)))
			snprintf(why, sizeof(why), "'%.64s' is not one of debug, "
			    "info, warn, error", s);
		break;
	}
	if (!ok)
		return yamlfile_error(ld->yf, node, "%s: %s", opt->key, why);
	return 0;
}

/* A user or group name as useradd allows it; absent: NULL. */
static int
config_set_name(struct config_load *ld, const struct config_option *opt,
    struct fy_node *node)
{
	char **field = config_field(ld->cfg, opt->off), *s;
	size_t len;

	*field = NULL;
	if (node == NULL)
		return 0;
	if (yamlfile_string(ld->yf, node, opt->key, &s) == -1)
		return -1;
	len = strlen(s);
	if (len > 32 || s[0] == '-' || strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != len ||
	    strspn(s, "0123456789") == len) {
		free(s);
		return yamlfile_error(ld->yf, node, "%s: expected a %s name "
		    "(letters, digits, \"_\", \".\", \"-\"; at most 32)",
		    opt->key, opt->key);
	}
	*field = s;
	return 0;
}

static int
config_set_bool(struct config_load *ld, const struct config_option *opt,
    struct fy_node *node)
{
	bool *field = config_field(ld->cfg, opt->off);

	if (node == NULL) {
		*field = strcmp(opt->def, "true") == 0;
		return 0;
	}
	return yamlfile_bool(ld->yf, node, opt->key, field);
}

/* store.check_at_start: always or unclean. */
static int
config_set_check(struct config_load *ld, const struct config_option *opt,
    struct fy_node *node)
{
	bool *field = config_field(ld->cfg, opt->off);
	char *s;
	int rc = 0;

	if (node == NULL)
		s = xstrdup(opt->def);
	else if (yamlfile_string(ld->yf, node, opt->key, &s) == -1)
		return -1;
	if (strcmp(s, "always") == 0 || strcmp(s, "unclean") == 0)
		*field = strcmp(s, "always") == 0;
	else
		rc = yamlfile_error(ld->yf, node, "%s: '%.64s' is not one of "
		    "always, unclean", opt->key, s);
	free(s);
	return rc;
}

/* True when node is an empty quoted string: "" or ''. */
static bool
config_empty_string(struct fy_node *node)
{
	size_t len = 1;

	return node != NULL && !yamlfile_is_null(node) &&
	    fy_node_is_scalar(node) && fy_node_get_scalar(node, &len) != NULL &&
	    len == 0;
}

/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
static bool
config_loopback(const char *host)
{
	static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };
	unsigned char a[16];

	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, host, a) != 1)
		return false;
	if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0)
		return a[12] == 127;
	for (int i = 0; i < 15; i++)
		if (a[i] != 0)
			return false;
	return a[15] == 1;
}

/* Set opt from its value node, or from its default when node is NULL. */
static int
config_set(struct config_load *ld, const struct config_option *opt,
    struct fy_node *node)
{
	switch (opt->type) {
	case CONFIG_HOSTPORT_OFF:
		/* "" given, or absent with "" as the default: none */
		if (config_empty_string(node) || (node == NULL &&
		    opt->def[0] == '\0')) {
			*(char **)config_field(ld->cfg, opt->off) = NULL;
			*(uint16_t *)config_field(ld->cfg, opt->off2) = 0;
			return 0;
		}
		return config_set_string(ld, opt, node);
	case CONFIG_BOOL:
		return config_set_bool(ld, opt, node);
	case CONFIG_NAME:
		return config_set_name(ld, opt, node);
	case CONFIG_CHECK:
		return config_set_check(ld, opt, node);
	case CONFIG_UINT:
		return config_set_uint(ld, opt, node);
	case CONFIG_DURATION:
		return config_set_duration(ld, opt, node);
	case CONFIG_FILES:
		return config_set_files(ld, opt, node);
	default:
		return config_set_string(ld, opt, node);
	}
}

/*
 * Check the keys of map, the section at prefix ("" for the root, else
 * "tls." and so on) against the table, then the sections below it.
 */
static int
config_check_section(struct config_load *ld, struct fy_node *map,
    const char *prefix)
{
	const char *names[CONFIG_NOPTS], *key, *dot;
	char sub[128], *copies[CONFIG_NOPTS];
	size_t plen = strlen(prefix), nnames = 0, len, i, j;
	struct fy_node *value;
	int rc = -1;

	for (i = 0; i < CONFIG_NOPTS; i++) {
		key = config_options[i].key;
		if (strncmp(key, prefix, plen) != 0)
			continue;
		key += plen;
		len = (dot = strchr(key, '.')) ? (size_t)(dot - key) : strlen(key);
		for (j = 0; j < nnames; j++)
			if (strlen(names[j]) == len &&
			    memcmp(names[j], key, len) == 0)
				break;
		if (j == nnames) {
			copies[nnames] = xstrndup(key, len);
			names[nnames] = copies[nnames];
			nnames++;
		}
	}
	snprintf(sub, sizeof(sub), "%.*s", plen ? (int)plen - 1 : 0, prefix);
	if (yamlfile_check_keys(ld->yf, map, plen ? sub : NULL, names,
	    nnames) == -1)
		goto out;
	for (j = 0; j < nnames; j++) {
		snprintf(sub, sizeof(sub), "%s%s.", prefix, names[j]);
		for (i = 0; i < CONFIG_NOPTS; i++)
			if (strncmp(config_options[i].key, sub,
			    strlen(sub)) == 0)
				break;
		if (i == CONFIG_NOPTS)
			continue;	/* a key, not a section */
		value = yamlfile_get(map, names[j], NULL);
		if (value == NULL || yamlfile_is_null(value))
			continue;
		sub[strlen(sub) - 1] = '\0';
		if (!fy_node_is_mapping(value)) {
			yamlfile_error(ld->yf, value, "%s: expected a mapping of "
			    "keys", sub);
			goto out;
		}
		snprintf(sub, sizeof(sub), "%s%s.", prefix, names[j]);
		if (config_check_section(ld, value, sub) == -1)
			goto out;
	}
	rc = 0;
out:
	for (j = 0; j < nnames; j++)
		free(copies[j]);
	return rc;
}

/*
 * Find the value node of a dotted key. Returns NULL when absent; *keyp gets
 * its key node, *parentp the key node of the deepest section present.
 */
static struct fy_node *
config_lookup(struct fy_node *root, const char *key, struct fy_node **keyp,
    struct fy_node **parentp)
{
	struct fy_node *map = root, *k;
	char part[128];
	const char *dot;

	*keyp = *parentp = NULL;
	while ((dot = strchr(key, '.')) != NULL) {
		snprintf(part, sizeof(part), "%.*s", (int)(dot - key), key);
		if ((map = yamlfile_get(map, part, &k)) == NULL)
			return NULL;
		*parentp = k;
		key = dot + 1;
	}
	return yamlfile_get(map, key, keyp);
}

static int
config_parse(struct yamlfile *yf, char *base, struct config **out)
{
	struct config_load ld = { .yf = yf, .base = base };
	const struct config_option *opt;
	struct fy_node *root = yamlfile_root(yf), *value, *parent;
	size_t ping, idle, metrics;

	ld.cfg = xcalloc(1, sizeof(*ld.cfg));
	if (config_check_section(&ld, root, "") == -1)
		goto fail;
	for (size_t i = 0; i < CONFIG_NOPTS; i++) {
		opt = &config_options[i];
		value = config_lookup(root, opt->key, &ld.keys[i], &parent);
		if (ld.keys[i] == NULL && opt->type != CONFIG_UINT &&
		    opt->type != CONFIG_DURATION && opt->def == NULL) {
			yamlfile_error(yf, parent, "missing required key '%s'",
			    opt->key);
			goto fail;
		}
		if (ld.keys[i] != NULL && value == NULL) {
			yamlfile_error(yf, ld.keys[i], "%s: no value", opt->key);
			goto fail;
		}
		if (config_set(&ld, opt, value) == -1)
			goto fail;
	}

	ping = config_index("timeouts.ping_interval");
	idle = config_index("timeouts.idle");
	if (ld.cfg->idle_timeout <= ld.cfg->ping_interval) {
		yamlfile_error(yf, ld.keys[idle] ? ld.keys[idle] : ld.keys[ping],
		    "timeouts.idle (%" PRIu32 ") must be greater than "
		    "timeouts.ping_interval (%" PRIu32 ")", ld.cfg->idle_timeout,
		    ld.cfg->ping_interval);
		goto fail;
	}
	if (ld.cfg->group != NULL && ld.cfg->user == NULL) {
		yamlfile_error(yf, ld.keys[config_index("group")], "group: needs "
		    "user as well");
		goto fail;
	}
	metrics = config_index("metrics.listen");
	if (ld.cfg->metrics_host != NULL && !ld.cfg->metrics_allow_remote &&
	    !config_loopback(ld.cfg->metrics_host)) {
		yamlfile_error(yf, ld.keys[metrics], "metrics.listen: '%s' is not a "
		    "loopback address, and the metrics listener has no "
		    "authentication; set metrics.allow_remote: true to serve it "
		    "to other hosts", ld.cfg->metrics_host);
		goto fail;
	}
	*out = ld.cfg;
	return 0;

fail:
	config_free(ld.cfg);
	return -1;
}

int
config_load(const char *path, struct config **out, char *err, size_t errlen)
{
	struct yamlfile *yf;
	char *base;
	int rc;

	if ((base = config_dir_of(path)) == NULL) {
		snprintf(err, errlen, "%s: cannot tell the current directory: %s",
		    path, strerror(errno));
		return -1;
	}
	if (yamlfile_load(path, &yf, err, errlen) == -1) {
		free(base);
		return -1;
	}
	rc = config_parse(yf, base, out);
	yamlfile_free(yf);
	free(base);
	return rc;
}

int
config_load_string(const char *yaml, const char *name, struct config **out,
    char *err, size_t errlen)
{
	struct yamlfile *yf;
	char cwd[PATH_MAX];
	int rc;

	if (getcwd(cwd, sizeof(cwd)) == NULL) {
		snprintf(err, errlen, "%s: cannot tell the current directory: %s",
		    name, strerror(errno));
		return -1;
	}
	if (yamlfile_load_string(yaml, name, &yf, err, errlen) == -1)
		return -1;
	rc = config_parse(yf, cwd, out);
	yamlfile_free(yf);
	return rc;
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->listen_host);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	for (size_t i = 0; i < cfg->n_tls_ca; i++)
		free(cfg->tls_ca[i]);
	free(cfg->tls_ca);
	for (size_t i = 0; i < cfg->n_tls_crl; i++)
		free(cfg->tls_crl[i]);
	free(cfg->tls_crl);
	free(cfg->registry);
	free(cfg->data_dir);
	free(cfg->user);
	free(cfg->group);
	free(cfg->log_level);
	free(cfg->metrics_host);
	free(cfg->console_host);
	free(cfg);
}

/* Print text word-wrapped to 79 columns, each line indented by indent. */
void
config_print_wrapped(FILE *fp, int indent, const char *text)
{
	const int width = 79 - indent;
	int len;

	while (*text != '\0') {
		len = (int)strlen(text);
		if (len > width) {
			for (len = width; len > 0 && text[len] != ' '; len--)
				;
			if (len == 0)
				len = width;
		}
		fprintf(fp, "%*s%.*s\n", indent, "", len, text);
		text += len;
		while (*text == ' ')
			text++;
	}
}

/* "integer 1..100", "duration 1s..60s", "path": opt's type, into buf. */
static const char *
config_type_text(const struct config_option *opt, char *buf, size_t len)
{
	if (opt->type == CONFIG_UINT)
		snprintf(buf, len, "%s %" PRIu32 "..%" PRIu32,
		    config_type_names[opt->type], opt->min, opt->max);
	else if (opt->type == CONFIG_DURATION)
		snprintf(buf, len, "%s %" PRIu32 "s..%" PRIu32 "s",
		    config_type_names[opt->type], opt->min, opt->max);
	else
		snprintf(buf, len, "%s", config_type_names[opt->type]);
	return buf;
}

/* "default 30s", "optional" or "required": opt's default, into buf. */
static const char *
config_default_text(const struct config_option *opt, char *buf, size_t len)
{
	if (opt->type == CONFIG_UINT)
		snprintf(buf, len, "default %" PRIu32, opt->udef);
	else if (opt->type == CONFIG_DURATION)
		snprintf(buf, len, "default %" PRIu32 "%s", opt->udef % 86400 ?
		    opt->udef : opt->udef / 86400, opt->udef % 86400 ||
		    opt->udef == 0 ? "s" : "d");
	else if (opt->def != NULL && opt->def[0] == '\0')
		snprintf(buf, len, "optional");
	else if (opt->def != NULL)
		snprintf(buf, len, "default %s", opt->def);
	else
		snprintf(buf, len, "required");
	return buf;
}

void
config_print_help(FILE *fp)
{
	const struct config_option *opt;
	char type[64], def[128];

	fprintf(fp, "Configuration file keys (YAML; \"tls.cert\" is the key "
	    "cert in the mapping tls).\nRelative paths are resolved against "
	    "the directory of the configuration file.\n\n");
	for (size_t i = 0; i < CONFIG_NOPTS; i++) {
		opt = &config_options[i];
		fprintf(fp, "  %-25s %s, %s\n", opt->key,
		    config_type_text(opt, type, sizeof(type)),
		    config_default_text(opt, def, sizeof(def)));
		config_print_wrapped(fp, 8, opt->help);
	}
}

void
config_print_roff(FILE *fp)
{
	const struct config_option *opt;
	char type[64], def[128], head[256];

	for (size_t i = 0; i < CONFIG_NOPTS; i++) {
		opt = &config_options[i];
		snprintf(head, sizeof(head), "(%s, %s)",
		    config_type_text(opt, type, sizeof(type)),
		    config_default_text(opt, def, sizeof(def)));
		fputs(".TP\n.B ", fp);
		roff_text(fp, opt->key);
		roff_text(fp, head);
		roff_text(fp, opt->help);
	}
}
