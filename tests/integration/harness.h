/*
 * harness.h — the black-box test harness: a throw-away PKI, real cccd
 * processes, libccc clients and raw TLS connections that can send anything.
 *
 * Every test starts its own broker on a free loopback port with its own
 * temporary directory (config, a copy of the demo registry, data, log) and
 * stops it at the end; h_broker_stop() fails the test unless the broker
 * exits 0 (under AddressSanitizer a leak makes that fail). The PKI is made
 * once per run by main() before any test is forked, and removed at the end,
 * after the logs of brokers whose test failed have been printed.
 *
 * All waits are bounded. Helpers whose name does not say "try" assert.
 */
#ifndef CCC_HARNESS_H
#define CCC_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <check.h>

#include "ccc.h"
#include "frame.h"

/*
 * Waits are multiplied by h_slow(): CCC_TEST_SLOW, 1 unless set, for brokers
 * run under a slow wrapper (CCC_TEST_WRAPPER, e.g. valgrind; `make
 * valgrind`).
 */
#define H_WAIT_MS	(5000 * h_slow())	/* bound on an expected reply or event */
#define H_QUIET_MS	(300 * h_slow())	/* how long "nothing arrives" is watched */
#define H_TEST_TIMEOUT	30	/* seconds one test may take (Check kills it then) */

int	h_slow(void);
/* True when cccd runs under CCC_TEST_WRAPPER (its memory is not its own). */
bool	h_wrapped(void);
/* Milliseconds on the monotonic clock; sleep ms (through signals). */
int64_t	h_mono_ms(void);
void	h_sleep_ms(int ms);
/*
 * Append opt ("name=value") to ASAN_OPTIONS, for the cccd started next (an
 * instrumented one reads it at start; others ignore it).
 */
void	h_asan_option(const char *opt);

/* ---- PKI ---------------------------------------------------------------- */

/*
 * Make the PKI for this run: the demo endpoints and "xx-unregistered" signed
 * by the test CA, with its (empty) CRL "crl.pem"; for "bg-customs" also an
 * expired certificate ("bg-customs.expired.pem") and one not valid before
 * 2099 ("bg-customs.future.pem"); and a "rogue CA" with its own "tr-police".
 * For the identity rules, the test CA also issues these "tr-police.*"
 * certificates (CN=tr-police unless said otherwise): san-bg (SAN
 * URI:urn:ccc:endpoint:bg-customs), dns-bg (SAN DNS:bg-customs), san-host
 * (SAN naming tr-police, a host name and a web URI), no-san, nul (CN
 * "tr-police" NUL "bg-customs"), two-cn (CN=tr-police and CN=bg-customs),
 * no-eku (no extendedKeyUsage), server-eku (serverAuth only) and ca (a CA
 * certificate, CA:TRUE).
 * Returns 0, or -1 after printing why. h_pki_destroy() removes it.
 */
int		 h_pki_create(void);
void		 h_pki_destroy(void);
/* Path of a file of the test PKI ("ca.pem", "tr-police.key"); static storage. */
const char	*h_pki(const char *file);
/* The build directory (CCC_BUILD, default "build"). */
const char	*h_builddir(void);
/* The source tree (CCC_SRCDIR, default "."). */
const char	*h_srcdir(void);
/* The same in the rogue PKI. */
const char	*h_rogue(const char *file);
/*
 * A private copy of the test PKI (CA key and database included) in a new
 * directory of the run's tree, for a test that revokes certificates or
 * renews them; caller frees the path, or h_pki_drop() removes the copy and
 * frees it.
 */
char		*h_pki_clone(void);
void		 h_pki_drop(char *dir);
/* The SHA-256 fingerprint of the certificate in the PEM file, in hex. */
void		 h_cert_sha256(const char *path, char hex[65]);
/* Run certs/mkpki.sh with these arguments (NULL-terminated); asserts success. */
void		 h_mkpki(const char *arg, ...) __attribute__((sentinel));

/* ---- brokers ------------------------------------------------------------ */

struct h_broker {
	pid_t		 pid;
	int		 port;
	bool		 term_sent;	/* SIGTERM already sent */
	bool		 reaped;	/* exited and waited for */
	int		 status;	/* wait status once reaped */
	char		 server[32];	/* "127.0.0.1:PORT" */
	char		 dir[256];	/* temporary directory of this broker */
	char		 config[300];
	char		 registry[300];
	char		 log[300];
};

/*
 * Start cccd on 127.0.0.1:0 with log level debug; extra_yaml (may be NULL)
 * is appended to the config, e.g. "limits:\n  max_patterns: 2\n" (the base
 * config has no limits or timeouts mapping; its metrics listener is on
 * 127.0.0.1:0 unless extra_yaml has a metrics mapping). Waits until the
 * broker logs the port it listens on. test names the test in the report of
 * a broker whose test failed before stopping it.
 */
/* The whole file at path as a new string (NULL when unreadable). */
char		*h_slurp(const char *path);
/* When set, the data_dir of brokers started from now on (default: their own). */
extern const char *h_data_dir;
/*
 * When set, brokers started from now on take tls.cert, tls.key and tls.ca
 * from this PKI directory (e.g. an h_pki_clone()) instead of the test PKI,
 * and check client certificates against its "crl.pem" (tls.crl).
 */
extern const char *h_tls_pki;
/* When set, brokers started from now on trust this CA file too (tls.ca). */
extern const char *h_tls_extra_ca;
/* When set, lines added to the tls mapping of brokers started from now on. */
extern const char *h_tls_extra;
#define h_broker_start(extra_yaml)	h_broker_start_at((extra_yaml), __func__)
struct h_broker	*h_broker_start_at(const char *extra_yaml, const char *test);
/*
 * Start cccd with the disk faults of failsync.so preloaded: the fault that
 * var (CCC_TEST_SYNC_FAILS, CCC_TEST_SYNC_STALL, CCC_TEST_WRITE_STALL)
 * names is on while the file whose path is put in trigger exists (it does
 * not yet). Returns NULL when
 * cccd runs under a wrapper, which a preload cannot reach: skip the test.
 */
#define h_broker_start_fault(extra_yaml, var, trigger) \
	h_broker_start_fault_at((extra_yaml), (var), (trigger), __func__)
struct h_broker	*h_broker_start_fault_at(const char *extra_yaml,
		    const char *var, char trigger[64], const char *test);
/* SIGTERM (unless sent already), wait for the exit, assert status 0, free b. */
void		 h_broker_stop(struct h_broker *b);
/* SIGTERM and assert a clean exit, keeping b and its files (for a restart). */
void		 h_broker_halt(struct h_broker *b);
/* SIGKILL: a crash at an arbitrary moment. */
void		 h_broker_kill(struct h_broker *b);
/* Start cccd again on the same config and data after halt or kill. */
void		 h_broker_restart(struct h_broker *b);
/*
 * Make the broker's config name the port it listens on now, so that a
 * restart listens on the same one (clients reconnect to the same address).
 */
void		 h_broker_pin_port(struct h_broker *b);
/* Send SIGTERM now; h_broker_stop() then only waits. */
void		 h_broker_term(struct h_broker *b);
/* Wait up to timeout_ms for the broker to exit; true when it did. */
bool		 h_broker_wait_exit(struct h_broker *b, int timeout_ms);
/* Resident set size of the broker in KiB (from /proc). */
long		 h_broker_rss_kib(const struct h_broker *b);
/* One HTTP/1.1 exchange; head and body share one allocation: free(head). */
struct h_reply {
	int	 status;
	char	*head;		/* status line and headers, NUL-terminated */
	char	*body;		/* after the blank line */
};
/* The port of the broker's metrics listener, from its log. */
int		 h_metrics_port(const struct h_broker *b);
/* Send request (whole, blank line included) to 127.0.0.1:port; read to EOF. */
struct h_reply	 h_http(int port, const char *request);
struct h_reply	 h_http_get(int port, const char *path);
/*
 * The value of one series ("name" or "name{labels}") in an exposition, or
 * -1 when absent; asserts it appears at most once.
 */
double		 h_series(const char *text, const char *name);
/*
 * The value of one series of the broker's GET /metrics, named exactly as
 * the broker writes it ("ccc_uptime_seconds",
 * "ccc_sessions{state=\"handshake\"}"), or -1 when it has none. Asserts
 * that the metrics listener answers within H_WAIT_MS.
 */
double		 h_metric(const struct h_broker *b, const char *series);
/*
 * Send SIGHUP and wait until the broker logged the outcome of the reload:
 * of the registry and of the TLS context.
 */
void		 h_broker_reload(struct h_broker *b);

/* The registry file of this broker: read it (caller frees), or replace it. */
char		*h_registry_read(const struct h_broker *b);
void		 h_registry_write(const struct h_broker *b, const char *yaml);
/* Replace the first occurrence of from with to in the registry (asserts one exists). */
void		 h_registry_edit(const struct h_broker *b, const char *from,
		    const char *to);

/*
 * Audit records in the journal of the halted broker b with this event whose
 * detail, subject and endpoint match the SQL LIKE patterns (NULL: any) and
 * that name a certificate (a SHA-256 fingerprint).
 */
int		 h_audited(const struct h_broker *b, const char *event,
		    const char *detail, const char *subject,
		    const char *endpoint);
/*
 * One integer from a one-row query on the store in data_dir (read-only; a
 * running broker's too: WAL).
 */
int64_t		 h_store_value(const char *data_dir, const char *sql);

/* The broker log. */
bool		 h_log_contains(const struct h_broker *b, const char *needle);
size_t		 h_log_count(const struct h_broker *b, const char *needle);
bool		 h_log_wait(const struct h_broker *b, const char *needle,
		    int timeout_ms);
void		 h_log_dump(const struct h_broker *b);

/* ---- libccc clients ------------------------------------------------------ */

/* Connect as endpoint with its certificate from the test PKI; asserts success. */
ccc_client	*h_connect(const struct h_broker *b, const char *endpoint);
/*
 * Connect with the given certificate and key (and the test CA): 0 and *out,
 * or ccc_connect()'s error and err.
 */
int		 h_connect_with(const struct h_broker *b, const char *cert,
		    const char *key, ccc_client **out, struct ccc_error *err);
/*
 * Try to connect with the given certificate and key (and the test CA).
 * Returns ccc_connect()'s result; a client that did connect is closed.
 */
int		 h_connect_err(const struct h_broker *b, const char *cert,
		    const char *key, struct ccc_error *err);
/* Subscribe to one pattern, or to several; asserts SubscribeOk. */
uint32_t	 h_subscribe(ccc_client *c, const char *pattern);
uint32_t	 h_subscribe_n(ccc_client *c, const char *const *patterns,
		    size_t n);
/* Publish and return the PublishOk envelope (caller frees). Asserts success. */
Ccc__V1__Envelope *h_publish_ok(ccc_client *c, const Ccc__V1__Alert *a);
/* Publish and return the broker's Error envelope (caller frees). */
Ccc__V1__Envelope *h_publish_refused(ccc_client *c, const Ccc__V1__Alert *a);
/* Next envelope within timeout_ms (asserts one arrives); caller frees. */
Ccc__V1__Envelope *h_recv(ccc_client *c, int timeout_ms);
/* The next envelope must be a Deliver; returns it (caller frees). */
Ccc__V1__Envelope *h_recv_deliver(ccc_client *c);
/*
 * pub publishes an alert of category in section; sub, subscribed to it,
 * must receive that alert, with pub's endpoint as its origin.
 */
void		 h_exchange(ccc_client *sub, ccc_client *pub, const char *category,
		    const char *section);
/* Two new sessions, gr-police and tr-police, exchange an alert (tr-bg). */
void		 h_exchange_fresh(const struct h_broker *b);
/* Assert that nothing arrives within ms. */
void		 h_recv_none(ccc_client *c, int ms);

/* ---- envelopes ------------------------------------------------------------- */

/* Assert env is an Error with this code and fatal flag; msg (may be NULL) is in its text. */
void		 h_expect_error(const Ccc__V1__Envelope *env,
		    Ccc__V1__ErrorCode code, bool fatal, const char *msg);
/* True when s is a canonical lower-case UUID of version 7. */
bool		 h_is_uuid7(const char *s);
/* Microseconds since the epoch. */
int64_t		 h_now_us(void);

/* ---- alerts ------------------------------------------------------------- */

/*
 * New alert with every string malloc'd; free with h_alert_free(). category,
 * severity and handling are short names ("drugs", "high", "h1"); NULL or ""
 * leaves the field unset.
 */
Ccc__V1__Alert	*h_alert(const char *category, const char *section,
		    const char *severity, const char *handling,
		    const char *summary);
/* Replace a string field of an alert (or of any message built by the harness). */
void		 h_set_str(char **field, const char *value);
void		 h_alert_free(Ccc__V1__Alert *a);

/* ---- raw TLS connections ------------------------------------------------- */

struct h_raw;

/* A plain TCP connection to the broker, nothing sent. */
struct h_raw	*h_raw_tcp(const struct h_broker *b);
/*
 * Run the TLS handshake on r with cert and key (both NULL: no client
 * certificate). Returns 0 when the client side completed it, -1 otherwise.
 * With TLS 1.3 the server may still refuse the certificate afterwards: the
 * refusal then shows as a closed connection.
 */
int		 h_raw_tls(struct h_raw *r, const char *cert, const char *key);
/* TCP + TLS as endpoint (NULL: no certificate); asserts the client handshake. */
struct h_raw	*h_raw_connect(const struct h_broker *b, const char *endpoint);
/* h_raw_connect() and a Hello answered by Welcome. */
struct h_raw	*h_raw_session(const struct h_broker *b, const char *endpoint);
/* Send bytes over TLS (or TCP before it); asserts success. */
void		 h_raw_send(struct h_raw *r, const void *buf, size_t len);
/* The same without asserting: 0 or -1. */
int		 h_raw_try_send(struct h_raw *r, const void *buf, size_t len);
/* Encode env as one frame and send it. */
void		 h_raw_send_env(struct h_raw *r, const Ccc__V1__Envelope *env);
/* Send Hello with this version and request id. */
void		 h_raw_send_hello(struct h_raw *r, uint32_t version,
		    uint64_t request_id);
/* Send a Ping with this request id. */
void		 h_raw_send_ping(struct h_raw *r, uint64_t request_id);
/*
 * Wait up to timeout_ms for the next frame and decode it. Returns 1 with
 * *env set (free with frame_free()), 0 on timeout, -1 when the connection
 * was closed or failed before a whole frame arrived.
 */
int		 h_raw_recv(struct h_raw *r, int timeout_ms,
		    Ccc__V1__Envelope **env);
/*
 * The next frame other than a Ping (which is answered) within timeout_ms, or
 * NULL on timeout; the connection closing fails the test. Free with frame_free().
 */
Ccc__V1__Envelope *h_raw_recv_skip_ping(struct h_raw *r, int timeout_ms);
/* The next frame must arrive within H_WAIT_MS with this body; returns it. */
Ccc__V1__Envelope *h_raw_expect(struct h_raw *r,
		    Ccc__V1__Envelope__BodyCase body);
/* The next frame must be this Error; then the connection must close if fatal. */
void		 h_raw_expect_error(struct h_raw *r, Ccc__V1__ErrorCode code,
		    bool fatal, const char *msg);
/* True when the broker closes the connection within timeout_ms (frames are skipped). */
bool		 h_raw_closed(struct h_raw *r, int timeout_ms);
/* True when the broker's certificate in r's handshake is the one in the PEM file. */
bool		 h_raw_broker_cert_is(const struct h_raw *r, const char *path);
/* Close with a TCP reset (SO_LINGER 0), without a TLS close_notify. */
void		 h_raw_reset(struct h_raw *r);
/* Close (close_notify when TLS is up) and free. NULL is fine. */
void		 h_raw_close(struct h_raw *r);

/* ---- the console (HTTPS) ------------------------------------------------ */

/* The port of the broker's console listener (console.listen), from its log. */
int		 h_console_port(const struct h_broker *b);
/* A plain TCP connection to 127.0.0.1:port, nothing sent. */
struct h_raw	*h_raw_tcp_port(int port);
/*
 * TCP + TLS to 127.0.0.1:port with cert and key (both NULL: no client
 * certificate), the broker's certificate checked against the test CA.
 * NULL when the client side of the handshake failed.
 */
struct h_raw	*h_https_open(int port, const char *cert, const char *key);
/*
 * Read on r until what it received holds needle (NULL: until the peer
 * closes), or timeout_ms passed, or the connection closed. True when
 * needle was found. h_raw_text() is everything received so far.
 */
bool		 h_raw_read_until(struct h_raw *r, const char *needle,
		    int timeout_ms);
const char	*h_raw_text(struct h_raw *r);
/*
 * One HTTPS exchange: connect as h_https_open(), send request exactly as
 * given (it may be malformed; say "Connection: close" for the reply to end),
 * read until the server closes (bounded by H_WAIT_MS). status is 0 when
 * the handshake failed or no HTTP reply came. free(head) as for h_http().
 */
struct h_reply	 h_https(int port, const char *cert, const char *key,
		    const char *request);
/*
 * The same as endpoint (its certificate from the test PKI; NULL: none):
 * "METHOD PATH HTTP/1.1" with Host and Connection: close, then headers
 * (NULL or lines each ending in "\r\n").
 */
struct h_reply	 h_https_as(int port, const char *endpoint, const char *method,
		    const char *path, const char *headers);
/* The value of header name in rep (case-insensitive) into buf, or NULL. */
const char	*h_header(const struct h_reply *rep, const char *name,
		    char *buf, size_t len);

/* ---- suites ------------------------------------------------------------------ */

Suite		*connect_suite(void);
Suite		*delivery_suite(void);
Suite		*access_suite(void);
Suite		*certs_suite(void);
Suite		*bad_frames_suite(void);
Suite		*lifecycle_suite(void);
Suite		*durable_suite(void);
Suite		*crash_suite(void);
Suite		*faults_suite(void);
Suite		*revocation_suite(void);
Suite		*admin_suite(void);
Suite		*metrics_suite(void);
Suite		*hostile_suite(void);
Suite		*tls_scan_suite(void);
Suite		*privileges_suite(void);
Suite		*resumption_suite(void);
Suite		*ids_suite(void);
Suite		*reconnect_suite(void);
Suite		*systemd_suite(void);
Suite		*exercise_suite(void);
Suite		*drain_crash_suite(void);
Suite		*console_suite(void);
Suite		*console_feed_suite(void);

#endif
