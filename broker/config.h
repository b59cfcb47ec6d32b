/*
 * config.h — the daemon's configuration file (YAML), table-driven.
 *
 * Every key is described once, in the option table of config.c (name, type,
 * bounds, default, help); docs/operations.md lists the same keys. Loading
 * validates the whole file and either returns a complete config or an error
 * "FILE:LINE: message"; a half-built config is never returned. Relative paths
 * in the file are resolved against the directory of the config file.
 *
 * A struct config is immutable once loaded and owned by whoever loaded it.
 */
#ifndef CCC_CONFIG_H
#define CCC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct config {
	char		*listen_host;		/* listen: "HOST:PORT" (port 0 = any free port) */
	uint16_t	 listen_port;
	char		*tls_cert;		/* tls.cert: broker certificate chain (PEM) */
	char		*tls_key;		/* tls.key: its private key (PEM) */
	char		**tls_ca;		/* tls.ca: trusted client CA bundles, one or more */
	size_t		 n_tls_ca;
	char		**tls_crl;		/* tls.crl: CRL files (PEM), none or more */
	size_t		 n_tls_crl;
	uint32_t	 tls_tickets;		/* tls.session_tickets, seconds a session
						   may be resumed (0: no resumption) */
	uint32_t	 tls_session_cache;	/* tls.session_cache_size: sessions kept */
	char		*registry;		/* registry: endpoints, sections, access rules */
	char		*data_dir;		/* data_dir: broker state lives here */
	char		*user;			/* user: run as this user after start-up; NULL: no change */
	char		*group;			/* group: and this group; NULL: the user's own */
	char		*log_level;		/* log_level: debug|info|warn|error */
	bool		 store_check_always;	/* store.check_at_start: always (true) or
						   unclean: before serving only after an
						   unclean stop, else in the background */
	uint32_t	 max_frame_size;	/* limits.max_frame_size, bytes */
	uint32_t	 max_connections;	/* limits.max_connections */
	uint32_t	 max_subscriptions;	/* limits.max_subscriptions, per session */
	uint32_t	 max_patterns;		/* limits.max_patterns, per subscribe request */
	uint32_t	 max_output_buffer;	/* limits.max_output_buffer, bytes per session */
	uint32_t	 max_handshakes;	/* limits.max_handshakes: connections not yet authenticated */
	uint32_t	 max_handshakes_per_address; /* limits.max_handshakes_per_address (IPv6: per /64) */
	uint32_t	 max_connections_per_endpoint; /* limits.max_connections_per_endpoint */
	uint32_t	 publish_rate;		/* limits.publish_rate, alerts/s per endpoint (0: no limit) */
	uint32_t	 publish_burst;		/* limits.publish_burst, publishes at once above the rate */
	uint32_t	 handshake_timeout;	/* timeouts.handshake, seconds (TLS + hello) */
	uint32_t	 ping_interval;		/* timeouts.ping_interval, seconds of silence before a ping */
	uint32_t	 idle_timeout;		/* timeouts.idle, seconds of silence before closing */
	uint32_t	 shutdown_timeout;	/* timeouts.shutdown, seconds to flush on SIGTERM */
	uint32_t	 durable_window;	/* durable.window, deliveries in flight per subscription */
	uint32_t	 ack_timeout;		/* durable.ack_timeout, seconds */
	uint32_t	 max_deliveries;	/* durable.max_deliveries, before dead-lettering */
	uint32_t	 max_durables;		/* durable.max_subscriptions, per endpoint */
	uint32_t	 retain_alerts;		/* retention.alerts, seconds (0: for ever) */
	uint32_t	 retain_audit;		/* retention.audit, seconds (0: for ever) */
	uint32_t	 retain_interval;	/* retention.interval, seconds */
	uint32_t	 retain_batch;		/* retention.batch, rows per transaction */
	uint32_t	 retain_max_jump;	/* retention.max_clock_jump, seconds */
	uint32_t	 ttl[10];		/* ttl.<category>, seconds (0: none), by Ccc__V1__Category */
	char		*metrics_host;		/* metrics.listen: HTTP address; NULL: no metrics listener */
	uint16_t	 metrics_port;
	bool		 bench_allow;		/* bench.allow: exercise alerts are accepted */
	bool		 bench_journal;		/* bench.journal: ... and journalled per alert */
	bool		 metrics_allow_remote;	/* metrics.allow_remote: a non-loopback metrics.listen is allowed */
	uint32_t	 metrics_refresh;	/* metrics.refresh, seconds between store counts */
	char		*console_host;		/* console.listen: HTTPS address; NULL: no console */
	uint16_t	 console_port;
	uint32_t	 console_max_connections; /* console.max_connections: HTTPS connections */
	uint32_t	 console_max_feeds;	/* console.max_feeds: live feeds open at once */
	uint32_t	 console_request_rate;	/* console.request_rate, requests/s per endpoint */
	uint32_t	 console_request_burst;	/* console.request_burst */
	uint32_t	 console_max_body;	/* console.max_body, bytes of a request body */
	uint32_t	 console_catch_up;	/* console.catch_up, alerts replayed to a feed */
	uint32_t	 console_hsts_max_age;	/* console.hsts_max_age, seconds */
};

/*
 * Load and validate path. On success returns 0 and *out owns a new config.
 * On failure returns -1, *out is untouched and err holds "FILE:LINE: why"
 * (or "FILE: why" when no line applies).
 */
int	config_load(const char *path, struct config **out, char *err, size_t errlen);
/* The same from a YAML string; name stands for the file in messages and
 * relative paths are resolved against the current directory. */
int	config_load_string(const char *yaml, const char *name,
	    struct config **out, char *err, size_t errlen);
void	config_free(struct config *cfg);
/* Print every key with its type, bounds, default and help text. */
void	config_print_help(FILE *fp);
/* The same as man(7) source: one tagged paragraph per key (cccd.yaml(5)). */
void	config_print_roff(FILE *fp);
/* Print text word-wrapped to 79 columns, each line indented by indent. */
void	config_print_wrapped(FILE *fp, int indent, const char *text);

#endif
