/*
 * 15-tls-scan.c — the broker's TLS configuration as a scanner sees it.
 *
 * sslscan (the Debian package, installed by `make deps`) scans a broker on
 * loopback, presenting a client certificate so that TLS 1.2 handshakes
 * complete and its suites are listed; the test fails on any protocol but
 * TLS 1.2 and 1.3, a TLS 1.2 suite without ECDHE or AEAD (GCM,
 * ChaCha20-Poly1305), a TLS 1.3 suite other than the AEAD ones, compression
 * or renegotiation. What sslscan cannot tell is checked with OpenSSL here:
 * compression (Debian's OpenSSL cannot offer it, so a hand-made TLS 1.2
 * ClientHello offers DEFLATE and the ServerHello must choose none), session
 * tickets and resumption (none, for TLS 1.2 and 1.3), and that a client
 * without a certificate gets no session (the handshake or the first read
 * fails). The console's HTTPS listener (console.listen) is scanned the same
 * way. A missing sslscan fails the test: CI runs `make deps` first.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "harness.h"

#define SCAN_TIMEOUT_MS	20000	/* bound on one sslscan run */
#define SCAN_OUT_MAX	(1 << 20)

/* The full path of prog in $PATH, in out; false when it is not there. */
static bool
scan_which(const char *prog, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL;
	bool found = false;

	copy = strdup(path != NULL ? path : "/usr/bin:/bin");
	ck_assert_ptr_nonnull(copy);
	for (dir = strtok_r(copy, ":", &save); dir != NULL && !found;
	    dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", dir, prog);
		found = access(out, X_OK) == 0;
	}
	free(copy);
	return found;
}

/*
 * Run argv and return its standard output (malloc'd). A run past
 * SCAN_TIMEOUT_MS is killed (by its pid) and fails the test, as does a
 * non-zero exit.
 */
static char *
scan_run(char *const argv[])
{
	char *out = malloc(SCAN_OUT_MAX + 1);
	int64_t deadline = h_mono_ms() + SCAN_TIMEOUT_MS;
	size_t len = 0;
	int fds[2], st;
	pid_t pid;
	ssize_t n;

	ck_assert_ptr_nonnull(out);
	ck_assert(pipe(fds) == 0);
	ck_assert((pid = fork()) != -1);
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		int64_t left = deadline - h_mono_ms();

		if (left <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			close(fds[0]);
			ck_abort_msg("%s did not finish within %d ms", argv[0],
			    SCAN_TIMEOUT_MS);
		}
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = read(fds[0], out + len, SCAN_OUT_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		ck_assert_msg(len < SCAN_OUT_MAX, "%s: output too long", argv[0]);
	}
	close(fds[0]);
	while (waitpid(pid, &st, 0) == -1)
		ck_assert(errno == EINTR);
	out[len] = '\0';
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s failed "
	    "(status %d):\n%s", argv[0], st, out);
	return out;
}

/* The value of the XML attribute name="..." in line, into out. */
static bool
scan_attr(const char *line, const char *name, char *out, size_t len)
{
	char key[64];
	const char *p, *q;

	snprintf(key, sizeof(key), " %s=\"", name);
	if ((p = strstr(line, key)) == NULL)
		return false;
	p += strlen(key);
	if ((q = strchr(p, '"')) == NULL)
		return false;
	snprintf(out, len, "%.*s", (int)(q - p), p);
	return true;
}

/* An AEAD suite with ECDHE key exchange, as OpenSSL names TLS 1.2 suites. */
static bool
scan_tls12_ok(const char *suite)
{
	return strncmp(suite, "ECDHE-", 6) == 0 &&
	    (strstr(suite, "-GCM-") != NULL ||
	    strstr(suite, "-CHACHA20-POLY1305") != NULL);
}

static bool
scan_tls13_ok(const char *suite)
{
	return strcmp(suite, "TLS_AES_128_GCM_SHA256") == 0 ||
	    strcmp(suite, "TLS_AES_256_GCM_SHA384") == 0 ||
	    strcmp(suite, "TLS_CHACHA20_POLY1305_SHA256") == 0;
}

/* Check sslscan's XML report line by line; fail on every finding. */
static void
scan_check(const char *xml)
{
	char *copy = strdup(xml), *line, *save = NULL, type[16], version[16],
	    enabled[8], suite[96], a[8], c[8];
	bool tls12 = false, tls13 = false, reneg_seen = false;
	int n12 = 0, n13 = 0;

	ck_assert_ptr_nonnull(copy);
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strstr(line, "<protocol ") != NULL) {
			ck_assert(scan_attr(line, "type", type, sizeof(type)) &&
			    scan_attr(line, "version", version, sizeof(version)) &&
			    scan_attr(line, "enabled", enabled, sizeof(enabled)));
			if (strcmp(enabled, "1") != 0)
				continue;
			if (strcmp(type, "tls") == 0 && strcmp(version, "1.2") == 0)
				tls12 = true;
			else if (strcmp(type, "tls") == 0 &&
			    strcmp(version, "1.3") == 0)
				tls13 = true;
			else
				ck_abort_msg("protocol %s %s is enabled", type,
				    version);
		} else if (strstr(line, "<cipher ") != NULL) {
			ck_assert(scan_attr(line, "sslversion", version,
			    sizeof(version)) && scan_attr(line, "cipher", suite,
			    sizeof(suite)));
			if (strcmp(version, "TLSv1.2") == 0) {
				ck_assert_msg(scan_tls12_ok(suite), "TLS 1.2 suite "
				    "%s is not ECDHE with AEAD", suite);
				n12++;
			} else if (strcmp(version, "TLSv1.3") == 0) {
				ck_assert_msg(scan_tls13_ok(suite), "TLS 1.3 suite "
				    "%s is not an AEAD suite of GCM or ChaCha20",
				    suite);
				n13++;
			} else
				ck_abort_msg("suite %s offered with %s", suite,
				    version);
		} else if (strstr(line, "<renegotiation ") != NULL) {
			ck_assert(scan_attr(line, "supported", a, sizeof(a)) &&
			    scan_attr(line, "secure", c, sizeof(c)));
			ck_assert_msg(strcmp(a, "1") != 0 || strcmp(c, "1") == 0,
			    "insecure renegotiation is supported");
			ck_assert_msg(strcmp(a, "1") != 0, "(secure) "
			    "renegotiation is supported; the broker turns it off");
			reneg_seen = true;
		} else if (strstr(line, "<compression ") != NULL) {
			ck_assert(scan_attr(line, "supported", a, sizeof(a)));
			ck_assert_msg(strcmp(a, "1") != 0, "TLS compression is "
			    "supported");
		}
	}
	free(copy);
	ck_assert_msg(tls12 && tls13, "TLS 1.2 and 1.3 must both be enabled "
	    "(1.2: %d, 1.3: %d)", tls12, tls13);
	/* no suites listed would be a scan that did not work, not a pass */
	ck_assert_msg(n12 > 0 && n13 > 0, "sslscan listed %d TLS 1.2 and %d "
	    "TLS 1.3 suites", n12, n13);
	ck_assert_msg(reneg_seen, "sslscan did not report on renegotiation");
}

/* The broker still serves: tr-police connects and says hello. */
static void
exchange_with(const struct h_broker *b)
{
	ccc_close(h_connect(b, "tr-police"));
}

/* sslscan on 127.0.0.1:port, presenting tr-police's certificate. */
static void
scan_sslscan(int port)
{
	char prog[512], certs[600], pk[600], target[64];
	char xml[] = "--xml=-", nocolour[] = "--no-colour",
	    nohb[] = "--no-heartbleed", to[] = "--timeout=3", v4[] = "--ipv4";
	char *out;

	ck_assert_msg(scan_which("sslscan", prog, sizeof(prog)),
	    "sslscan is not installed: run `make deps` (as root) to install "
	    "the Debian package sslscan");
	snprintf(certs, sizeof(certs), "--certs=%s", h_pki("tr-police.pem"));
	snprintf(pk, sizeof(pk), "--pk=%s", h_pki("tr-police.key"));
	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	{
		char *argv[] = { prog, xml, nocolour, nohb, to, v4, certs, pk,
		    target, NULL };

		out = scan_run(argv);
	}
	scan_check(out);
	free(out);
}

START_TEST(sslscan_report)
{
	struct h_broker *b = h_broker_start(NULL);

	scan_sslscan(b->port);
	exchange_with(b);
	h_broker_stop(b);
}
END_TEST

/* The console's HTTPS listener: the same policy as the broker port. */
START_TEST(sslscan_console)
{
	struct h_broker *b = h_broker_start("console:\n  listen: 127.0.0.1:0\n");
	struct h_reply r;

	scan_sslscan(h_console_port(b));
	/* and it still serves */
	r = h_https_as(h_console_port(b), "tr-police", "GET", "/api/me", NULL);
	ck_assert_int_eq(r.status, 200);
	free(r.head);
	exchange_with(b);
	h_broker_stop(b);
}
END_TEST

/* A TCP connection to the broker with 5 s send and receive timeouts. */
static int
scan_tcp(const struct h_broker *b)
{
	struct sockaddr_in sin;
	struct timeval tv = { 5, 0 };
	int fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)b->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	ck_assert(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
	ck_assert(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0);
	ck_assert_msg(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0,
	    "connect: %s", strerror(errno));
	return fd;
}

/* Exactly len bytes from fd; false on EOF, error or timeout. */
static bool
scan_read_full(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		if ((n = read(fd, buf + got, len - got)) < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

/*
 * A TLS 1.2 ClientHello that offers DEFLATE compression before none: the
 * broker's ServerHello must choose none (0).
 */
START_TEST(no_compression)
{
	struct h_broker *b = h_broker_start(NULL);
	static const uint8_t suites[] = { 0xc0, 0x2b, 0xc0, 0x2f, 0xcc, 0xa9,
	    0xc0, 0x2c };
	static const uint8_t exts[] = {
		0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17,
		0x00, 0x0b, 0x00, 0x02, 0x01, 0x00,
		0x00, 0x0d, 0x00, 0x08, 0x00, 0x06, 0x04, 0x03, 0x08, 0x04,
		0x04, 0x01,
	};
	uint8_t msg[256], rec[5], *sh;
	size_t n = 0, body, reclen, off;
	int fd;

	msg[n++] = 0x16;			/* record: handshake, TLS 1.0 */
	msg[n++] = 0x03;
	msg[n++] = 0x01;
	n += 2;					/* record length, below */
	msg[n++] = 0x01;			/* ClientHello */
	n += 3;					/* its length, below */
	msg[n++] = 0x03;			/* TLS 1.2 */
	msg[n++] = 0x03;
	ck_assert(RAND_bytes(msg + n, 32) == 1);
	n += 32;
	msg[n++] = 0;				/* no session id */
	msg[n++] = 0;
	msg[n++] = sizeof(suites);
	memcpy(msg + n, suites, sizeof(suites));
	n += sizeof(suites);
	msg[n++] = 2;				/* compression: DEFLATE, none */
	msg[n++] = 1;
	msg[n++] = 0;
	msg[n++] = 0;
	msg[n++] = sizeof(exts);
	memcpy(msg + n, exts, sizeof(exts));
	n += sizeof(exts);
	body = n - 9;
	msg[3] = (uint8_t)((n - 5) >> 8);
	msg[4] = (uint8_t)(n - 5);
	msg[6] = 0;
	msg[7] = (uint8_t)(body >> 8);
	msg[8] = (uint8_t)body;

	fd = scan_tcp(b);
	ck_assert(write(fd, msg, n) == (ssize_t)n);
	ck_assert_msg(scan_read_full(fd, rec, sizeof(rec)), "no reply to a "
	    "ClientHello offering compression");
	ck_assert_msg(rec[0] == 0x16, "the broker answered with record type "
	    "%d, not a handshake", rec[0]);
	reclen = (size_t)rec[3] << 8 | rec[4];
	ck_assert(reclen >= 4 + 2 + 32 + 1 && reclen <= 16384);
	sh = malloc(reclen);
	ck_assert_ptr_nonnull(sh);
	ck_assert(scan_read_full(fd, sh, reclen));
	ck_assert_int_eq(sh[0], 0x02);		/* ServerHello */
	off = 4 + 2 + 32;			/* type, length, version, random */
	off += 1 + sh[off];			/* session id */
	ck_assert(off + 3 <= reclen);
	ck_assert_msg(sh[off + 2] == 0, "the broker chose compression method "
	    "%d", sh[off + 2]);
	free(sh);
	close(fd);
	exchange_with(b);
	h_broker_stop(b);
}
END_TEST

/* A TLS client of one version, with tr-police's certificate or none. */
static SSL *
scan_tls(const struct h_broker *b, int version, bool cert, SSL_SESSION *sess,
    int *connected)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl;

	ck_assert_ptr_nonnull(ctx);
	SSL_CTX_set_min_proto_version(ctx, version);
	SSL_CTX_set_max_proto_version(ctx, version);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
	ck_assert(SSL_CTX_load_verify_locations(ctx, h_pki("ca.pem"), NULL) == 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (cert) {
		ck_assert(SSL_CTX_use_certificate_chain_file(ctx,
		    h_pki("tr-police.pem")) == 1);
		ck_assert(SSL_CTX_use_PrivateKey_file(ctx, h_pki("tr-police.key"),
		    SSL_FILETYPE_PEM) == 1);
	}
	ck_assert_ptr_nonnull(ssl = SSL_new(ctx));
	SSL_CTX_free(ctx);	/* the SSL keeps its reference */
	SSL_set_fd(ssl, scan_tcp(b));
	if (sess != NULL)
		ck_assert(SSL_set_session(ssl, sess) == 1);
	*connected = SSL_connect(ssl);
	return ssl;
}

static void
scan_tls_free(SSL *ssl)
{
	int fd = SSL_get_fd(ssl);

	SSL_free(ssl);
	close(fd);
	ERR_clear_error();
}

/* Send a Hello and read frames until the Welcome; false if the read fails. */
static bool
scan_hello(SSL *ssl)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT, *got = NULL;
	Ccc__V1__Hello hello = CCC__V1__HELLO__INIT;
	char name[] = "ccc-itest-scan";
	uint8_t out[256], in[4096];
	size_t len = 0, used;
	int n;

	hello.protocol_version = 1;
	hello.client_name = name;
	env.request_id = 1;
	env.body_case = CCC__V1__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	ck_assert(frame_size(&env) <= sizeof(out));
	n = (int)frame_encode(&env, out);
	if (SSL_write(ssl, out, n) != n)
		return false;
	while (len < sizeof(in)) {
		if ((n = SSL_read(ssl, in + len, (int)(sizeof(in) - len))) <= 0)
			return false;
		len += (size_t)n;
		if (frame_decode(in, len, sizeof(in), &got, &used, NULL, 0) ==
		    FRAME_OK)
			break;
	}
	ck_assert_ptr_nonnull(got);
	ck_assert_int_eq(got->body_case, CCC__V1__ENVELOPE__BODY_WELCOME);
	frame_free(got);
	return true;
}

/* No session tickets and no resumption, with TLS 1.2 and with TLS 1.3. */
START_TEST(no_tickets_no_resumption)
{
	static const int versions[] = { TLS1_2_VERSION, TLS1_3_VERSION };
	struct h_broker *b = h_broker_start(NULL);

	for (size_t i = 0; i < 2; i++) {
		SSL_SESSION *sess;
		SSL *ssl;
		int rc;

		ssl = scan_tls(b, versions[i], true, NULL, &rc);
		ck_assert_msg(rc == 1, "%s handshake failed",
		    versions[i] == TLS1_2_VERSION ? "TLS 1.2" : "TLS 1.3");
		/* a Welcome: any ticket (sent after the handshake) is in */
		ck_assert(scan_hello(ssl));
		ck_assert_ptr_nonnull(sess = SSL_get1_session(ssl));
		ck_assert_msg(!SSL_SESSION_has_ticket(sess), "%s: the broker "
		    "sent a session ticket", SSL_get_version(ssl));
		scan_tls_free(ssl);
		/* offering the session again: a full handshake all the same */
		ssl = scan_tls(b, versions[i], true, sess, &rc);
		ck_assert(rc == 1);
		ck_assert_msg(!SSL_session_reused(ssl), "%s: the broker "
		    "resumed a session", SSL_get_version(ssl));
		ck_assert(scan_hello(ssl));
		SSL_SESSION_free(sess);
		scan_tls_free(ssl);
	}
	h_broker_stop(b);
}
END_TEST

/*
 * sslscan reports no renegotiation for a server that speaks TLS 1.3, even
 * where TLS 1.2 would renegotiate: ask for it on a TLS 1.2 session. The
 * broker must be RFC 5746-aware (so insecure renegotiation is impossible)
 * and refuse secure renegotiation too.
 */
START_TEST(no_renegotiation)
{
	struct h_broker *b = h_broker_start(NULL);
	SSL *ssl;
	int rc;

	ssl = scan_tls(b, TLS1_2_VERSION, true, NULL, &rc);
	ck_assert(rc == 1);
	ck_assert(scan_hello(ssl));
	ck_assert_msg(SSL_get_secure_renegotiation_support(ssl) == 1,
	    "the broker does not support RFC 5746: insecure renegotiation");
	ck_assert(SSL_renegotiate(ssl) == 1);
	ck_assert_msg(SSL_do_handshake(ssl) <= 0, "the broker renegotiated");
	scan_tls_free(ssl);
	exchange_with(b);
	h_broker_stop(b);
}
END_TEST

/* Without a client certificate the handshake or the first read fails. */
START_TEST(client_certificate_required)
{
	static const int versions[] = { TLS1_2_VERSION, TLS1_3_VERSION };
	struct h_broker *b = h_broker_start(NULL);

	for (size_t i = 0; i < 2; i++) {
		SSL *ssl;
		int rc;

		ssl = scan_tls(b, versions[i], false, NULL, &rc);
		if (rc == 1) {	/* TLS 1.3: the client finishes first */
			char buf[64];
			int n = SSL_read(ssl, buf, sizeof(buf));

			ck_assert_msg(n <= 0, "%s: a session without a client "
			    "certificate", SSL_get_version(ssl));
			ck_assert_msg(SSL_get_error(ssl, n) != SSL_ERROR_WANT_READ,
			    "%s: the broker neither refused nor served a client "
			    "without a certificate", SSL_get_version(ssl));
		}
		scan_tls_free(ssl);
	}
	ck_assert(h_log_wait(b, "peer did not return a certificate", H_WAIT_MS));
	exchange_with(b);
	h_broker_stop(b);
}
END_TEST

Suite *
tls_scan_suite(void)
{
	Suite *s = suite_create("15-tls-scan");
	TCase *tc = tcase_create("tls-scan");

	tcase_add_test(tc, sslscan_report);
	tcase_add_test(tc, sslscan_console);
	tcase_add_test(tc, no_compression);
	tcase_add_test(tc, no_tickets_no_resumption);
	tcase_add_test(tc, no_renegotiation);
	tcase_add_test(tc, client_certificate_required);
	tcase_set_timeout(tc, H_TEST_TIMEOUT);
	suite_add_tcase(s, tc);
	return s;
}
