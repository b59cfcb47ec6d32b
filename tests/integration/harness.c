/*
 * harness.c — the black-box test harness (see harness.h).
 *
 * Owns the run's temporary tree (the PKIs and one directory per broker) and
 * the broker processes a test starts. It must never signal a process it did
 * not start: a broker is known by the pid its fork returned, and dies with
 * the test process that started it (PR_SET_PDEATHSIG), so that a failed
 * test (Check ends it with _exit) or one killed on timeout leaves nothing
 * running. Such a test also leaves its broker's directory behind, and the
 * end of the run prints the logs found there.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sqlite3.h>

#include "harness.h"
#include "names.h"

#define H_START_MS	(10000 * h_slow())	/* bound on a broker's start and stop */
#define H_WRAP_MAX	16	/* words in CCC_TEST_WRAPPER */
#define H_READ_CHUNK	16384

struct h_raw {
	int		 fd;
	SSL_CTX		*ctx;
	SSL		*ssl;		/* NULL until h_raw_tls() */
	bool		 tls_up;	/* client side of the handshake completed */
	bool		 closed;	/* EOF, reset or a TLS error seen */
	char		 why[256];	/* what closed it, for messages */
	uint8_t		*buf;		/* received bytes not yet decoded */
	size_t		 len, cap;
};

static char h_root[160];		/* the run's temporary tree */
static char h_pki_dir[300];
static char h_rogue_dir[300];
static pid_t h_root_owner;		/* only this process removes h_root */

/* ---- small helpers ------------------------------------------------------- */

const char *
h_srcdir(void)
{
	const char *s = getenv("CCC_SRCDIR");

	return s != NULL && *s != '\0' ? s : ".";
}

const char *
h_builddir(void)
{
	const char *s = getenv("CCC_BUILD");

	return s != NULL && *s != '\0' ? s : "build";
}

static bool	h_poll(int, short, int64_t);

int64_t
h_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
h_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

void
h_asan_option(const char *opt)
{
	const char *old = getenv("ASAN_OPTIONS");
	char opts[1024];

	snprintf(opts, sizeof(opts), "%s%s%s", old != NULL ? old : "",
	    old != NULL && *old != '\0' ? ":" : "", opt);
	ck_assert(setenv("ASAN_OPTIONS", opts, 1) == 0);
}

int64_t
h_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Whole file as a NUL-terminated string (caller frees), or NULL. */
char *
h_slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (fp == NULL)
		return NULL;
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			if ((buf = realloc(buf, cap)) == NULL)
				abort();
		}
		n = fread(buf + len, 1, cap - len - 1, fp);
		len += n;
	} while (n > 0);
	fclose(fp);
	buf[len] = '\0';
	return buf;
}

static int
h_spit(const char *path, const char *text)
{
	FILE *fp = fopen(path, "wb");
	int rc = 0;

	if (fp == NULL)
		return -1;
	if (fputs(text, fp) == EOF)
		rc = -1;
	if (fclose(fp) == EOF)
		rc = -1;
	return rc;
}

static int
h_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void
h_rm_tree(const char *dir)
{
	if (dir[0] != '\0')
		nftw(dir, h_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int
h_slow(void)
{
	static int slow;
	const char *s;

	if (slow == 0) {
		s = getenv("CCC_TEST_SLOW");
		slow = s != NULL ? atoi(s) : 1;
		if (slow < 1)
			slow = 1;
	}
	return slow;
}

bool
h_wrapped(void)
{
	const char *w = getenv("CCC_TEST_WRAPPER");

	return w != NULL && w[0] != '\0';
}

/* Run argv with stdout discarded; true when it exits 0. */
static bool
h_run(char *const argv[])
{
	pid_t pid;
	int st, devnull;

	if ((pid = fork()) == -1)
		return false;
	if (pid == 0) {
		if ((devnull = open("/dev/null", O_WRONLY)) != -1)
			dup2(devnull, STDOUT_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return false;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static const char *
h_path_in(const char *dir, const char *file)
{
	static char ring[8][400];
	static unsigned next;
	char *p = ring[next++ % 8];

	snprintf(p, sizeof(ring[0]), "%s/%s", dir, file);
	return p;
}

/* ---- PKI ----------------------------------------------------------------- */

const char *
h_pki(const char *file)
{
	return h_path_in(h_pki_dir, file);
}

const char *
h_rogue(const char *file)
{
	return h_path_in(h_rogue_dir, file);
}

/*
 * Run certs/mkpki.sh with these arguments (NULL-terminated); true when it
 * succeeds. For use outside a test, where nothing may assert.
 */
static bool
h_mkpki_run(const char *arg, va_list ap)
{
	char script[PATH_MAX], sh[] = "sh", *argv[24];
	const char *a;
	size_t n = 0;

	snprintf(script, sizeof(script), "%s/certs/mkpki.sh", h_srcdir());
	argv[n++] = sh;
	argv[n++] = script;
	for (a = arg; a != NULL; a = va_arg(ap, const char *)) {
		if (n == sizeof(argv) / sizeof(argv[0]) - 1)
			return false;
		argv[n++] = (char *)(uintptr_t)a;	/* execvp wants char * */
	}
	argv[n] = NULL;
	return h_run(argv);
}

static bool __attribute__((sentinel))
h_mkpki_try(const char *arg, ...)
{
	va_list ap;
	bool ok;

	va_start(ap, arg);
	ok = h_mkpki_run(arg, ap);
	va_end(ap);
	return ok;
}

/* The certificates of the identity tests (harness.h), in the test PKI. */
static bool
h_pki_identity(void)
{
	const char *d = h_pki_dir;

	return h_mkpki_try("issue", d, "tr-police", "tr-police.san-bg", "--san",
	    "URI:urn:ccc:endpoint:bg-customs", NULL) &&
	    h_mkpki_try("issue", d, "tr-police", "tr-police.dns-bg", "--san",
	    "DNS:bg-customs", NULL) &&
	    h_mkpki_try("issue", d, "tr-police", "tr-police.san-host", "--san",
	    "URI:urn:ccc:endpoint:tr-police, DNS:ccc-gw.police.example, "
	    "URI:https://police.example/ccc", NULL) &&
	    h_mkpki_try("issue", d, "tr-police", "tr-police.no-san", "--san",
	    "none", NULL) &&
	    h_mkpki_try("issue", d, "tr-police", "tr-police.nul", "--nul-cn",
	    "bg-customs", NULL) &&
	    h_mkpki_try("issue", d, "tr-police", "tr-police.two-cn", "--subject",
	    "/CN=tr-police/CN=bg-customs", NULL) &&
	    h_mkpki_try("issue", d, "tr-police", "tr-police.no-eku", "--eku",
	    "none", NULL) &&
	    h_mkpki_try("issue", d, "tr-police", "tr-police.server-eku", "--eku",
	    "serverAuth", NULL) &&
	    h_mkpki_try("issue", d, "tr-police", "tr-police.ca", "--ca-cert",
	    NULL) &&
	    /* wildcard and separator characters, and upper case, in the CN */
	    h_mkpki_try("issue", d, "tr-police", "tr-police.plus", "--subject",
	    "/CN=tr\\+police", NULL) &&
	    h_mkpki_try("issue", d, "tr-police", "tr-police.hash", "--subject",
	    "/CN=alerts\\#", NULL) &&
	    h_mkpki_try("issue", d, "tr-police", "tr-police.slash", "--subject",
	    "/CN=tr\\/police", NULL) &&
	    h_mkpki_try("issue", d, "tr-police", "tr-police.upper", "--subject",
	    "/CN=TR-POLICE", NULL);
}

int
h_pki_create(void)
{
	const char *tmp = getenv("TMPDIR");
	char script[PATH_MAX], demo[PATH_MAX], list[400], rogue_list[400];
	char *endpoints;
	int rc = -1;

	snprintf(h_root, sizeof(h_root), "%s/ccc-itest.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(h_root) == NULL) {
		fprintf(stderr, "itest: cannot make a temporary directory: %s\n",
		    strerror(errno));
		h_root[0] = '\0';
		return -1;
	}
	h_root_owner = getpid();
	snprintf(h_pki_dir, sizeof(h_pki_dir), "%s/pki", h_root);
	snprintf(h_rogue_dir, sizeof(h_rogue_dir), "%s/rogue", h_root);
	snprintf(script, sizeof(script), "%s/certs/mkpki.sh", h_srcdir());
	snprintf(demo, sizeof(demo), "%s/certs/demo-endpoints.txt", h_srcdir());
	snprintf(list, sizeof(list), "%s/endpoints.txt", h_root);
	snprintf(rogue_list, sizeof(rogue_list), "%s/rogue-endpoints.txt", h_root);

	if ((endpoints = h_slurp(demo)) == NULL) {
		fprintf(stderr, "itest: cannot read %s\n", demo);
		return -1;
	}
	{
		size_t n = strlen(endpoints) + 64;
		char *all = malloc(n);

		if (all == NULL)
			abort();
		snprintf(all, n, "%s\nxx-unregistered\n", endpoints);
		if (h_spit(list, all) < 0 ||
		    h_spit(rogue_list, "tr-police\n") < 0) {
			fprintf(stderr, "itest: cannot write %s\n", h_root);
			free(all);
			goto out;
		}
		free(all);
	}
	{
		char sh[] = "sh", ca_opt[] = "--ca-name", ca_name[] = "rogue CA";
		char issue[] = "issue", id[] = "bg-customs";
		char expired[] = "bg-customs.expired", future[] = "bg-customs.future";
		char nb[] = "--not-before", na[] = "--not-after";
		char past1[] = "20000101000000Z", past2[] = "20000102000000Z";
		char late1[] = "20990101000000Z", late2[] = "20991231000000Z";
		char *argv1[] = { sh, script, h_pki_dir, list, NULL };
		char *argv2[] = { sh, script, h_rogue_dir, rogue_list, ca_opt,
		    ca_name, NULL };
		char *argv3[] = { sh, script, issue, h_pki_dir, id, expired, nb,
		    past1, na, past2, NULL };
		char *argv4[] = { sh, script, issue, h_pki_dir, id, future, nb,
		    late1, na, late2, NULL };

		if (!h_run(argv1) || !h_run(argv2) || !h_run(argv3) ||
		    !h_run(argv4) || !h_pki_identity()) {
			fprintf(stderr, "itest: %s failed\n", script);
			goto out;
		}
	}
	rc = 0;
out:
	free(endpoints);
	return rc;
}

void
h_cert_sha256(const char *path, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	X509 *x = NULL;
	FILE *fp;

	ck_assert_msg((fp = fopen(path, "r")) != NULL, "cannot read %s", path);
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	ck_assert_msg(x != NULL, "no certificate in %s", path);
	ck_assert(X509_digest(x, EVP_sha256(), md, &len) == 1 && len == 32);
	for (unsigned int i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	X509_free(x);
}

char *
h_pki_clone(void)
{
	char *dir = malloc(400), src[400], cp[] = "cp", rflag[] = "-R";
	char *argv[] = { cp, rflag, src, dir, NULL };

	ck_assert_ptr_nonnull(dir);
	snprintf(dir, 400, "%s/pki-copy.XXXXXX", h_root);
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(src, sizeof(src), "%s/.", h_pki_dir);
	ck_assert_msg(h_run(argv), "cannot copy %s to %s", h_pki_dir, dir);
	return dir;
}

void
h_pki_drop(char *dir)
{
	if (dir == NULL)
		return;
	h_rm_tree(dir);
	free(dir);
}

void
h_mkpki(const char *arg, ...)
{
	va_list ap;
	bool ok;

	va_start(ap, arg);
	ok = h_mkpki_run(arg, ap);
	va_end(ap);
	ck_assert_msg(ok, "mkpki.sh %s ... failed", arg);
}

/*
 * A test that passes stops its broker and removes its directory; one that
 * fails (or is killed on timeout) leaves it behind. Print those logs.
 */
static void
h_report_leftovers(void)
{
	struct dirent *de;
	char path[PATH_MAX], *test, *log;
	DIR *d;

	if ((d = opendir(h_root)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "broker.", 7) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/test", h_root, de->d_name);
		test = h_slurp(path);
		snprintf(path, sizeof(path), "%s/%s/cccd.log", h_root, de->d_name);
		log = h_slurp(path);
		fprintf(stderr, "---- cccd log of %s", test != NULL ? test :
		    "an unknown test\n");
		fprintf(stderr, "%s---- end of cccd log ----\n",
		    log != NULL ? log : "(no log)\n");
		free(test);
		free(log);
	}
	closedir(d);
}

void
h_pki_destroy(void)
{
	if (h_root[0] != '\0' && getpid() == h_root_owner) {
		h_report_leftovers();
		h_rm_tree(h_root);
	}
	h_root[0] = '\0';
}

/* ---- brokers --------------------------------------------------------------- */

void
h_log_dump(const struct h_broker *b)
{
	char *log = h_slurp(b->log);

	fprintf(stderr, "---- cccd log (pid %ld) ----\n%s---- end of cccd log ----\n",
	    (long)b->pid, log != NULL ? log : "(unreadable)\n");
	free(log);
}

/* The broker's port once its log says it listens; 0 while not yet. */
static int
h_log_port(const struct h_broker *b)
{
	static const char mark[] = "listening on 127.0.0.1:";
	char *log = h_slurp(b->log), *p;
	int port = 0;

	if (log != NULL && (p = strstr(log, mark)) != NULL)
		port = atoi(p + sizeof(mark) - 1);
	free(log);
	return port;
}

const char *h_data_dir;
const char *h_tls_pki;
const char *h_tls_extra_ca;
const char *h_tls_extra;

/* Start cccd on b's config and wait until it reports its port. */
static void
h_broker_spawn(struct h_broker *b)
{
	char cccd[PATH_MAX], src[PATH_MAX];
	pid_t parent = getpid();
	int64_t deadline;
	int fd;

	snprintf(src, sizeof(src), "%s/cccd", h_builddir());
	ck_assert_msg(realpath(src, cccd) != NULL && access(cccd, X_OK) == 0,
	    "%s is not built", src);
	b->term_sent = b->reaped = false;
	b->pid = fork();
	ck_assert_msg(b->pid != -1, "fork: %s", strerror(errno));
	if (b->pid == 0) {
		/* die with the test that started us, whatever happens to it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(126);
		if ((fd = open(b->log, O_WRONLY | O_CREAT | O_APPEND, 0600)) == -1)
			_exit(126);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
		if ((fd = open("/dev/null", O_RDONLY)) != -1) {
			dup2(fd, STDIN_FILENO);
			close(fd);
		}
		signal(SIGPIPE, SIG_DFL);
		if (h_wrapped()) {
			/* CCC_TEST_WRAPPER: words put before cccd's command */
			char *w = strdup(getenv("CCC_TEST_WRAPPER"));
			char *argv[H_WRAP_MAX + 4], *word;
			int n = 0;

			while (w != NULL && n < H_WRAP_MAX &&
			    (word = strsep(&w, " \t")) != NULL)
				if (word[0] != '\0')
					argv[n++] = word;
			argv[n++] = cccd;
			argv[n++] = (char *)(uintptr_t)"--config";
			argv[n++] = b->config;
			argv[n] = NULL;
			execvp(argv[0], argv);
			_exit(127);
		}
		execl(cccd, "cccd", "--config", b->config, (char *)NULL);
		_exit(127);
	}

	deadline = h_mono_ms() + H_START_MS;
	while ((b->port = h_log_port(b)) == 0) {
		if (waitpid(b->pid, &b->status, WNOHANG) == b->pid) {
			b->reaped = true;
			h_log_dump(b);
			ck_abort_msg("cccd exited during start-up (status %d)",
			    b->status);
		}
		if (h_mono_ms() > deadline) {
			h_log_dump(b);
			ck_abort_msg("cccd did not report its port within %d ms",
			    H_START_MS);
		}
		h_sleep_ms(10);
	}
	snprintf(b->server, sizeof(b->server), "127.0.0.1:%d", b->port);
}

struct h_broker *
h_broker_start_fault_at(const char *extra_yaml, const char *var,
    char trigger[64], const char *test)
{
	struct h_broker *b;
	char lib[512];
	int fd;

	if (h_wrapped()) {
		fprintf(stderr, "%s: cccd runs under a wrapper; not run\n", test);
		return NULL;
	}
	snprintf(lib, sizeof(lib), "%s/tests/failsync.so", h_builddir());
	ck_assert_msg(access(lib, R_OK) == 0, "%s is not built", lib);
	snprintf(trigger, 64, "/tmp/ccc-fault.XXXXXX");
	ck_assert((fd = mkstemp(trigger)) >= 0);
	close(fd);
	ck_assert(unlink(trigger) == 0);	/* no fault yet */
	setenv("LD_PRELOAD", lib, 1);
	setenv(var, trigger, 1);
	/* under make asan the sanitizer runtime must not insist on coming first */
	h_asan_option("verify_asan_link_order=0");
	b = h_broker_start_at(extra_yaml, test);
	unsetenv("LD_PRELOAD");
	unsetenv(var);
	return b;
}

struct h_broker *
h_broker_start_at(const char *extra_yaml, const char *test)
{
	struct h_broker *b;
	char src[PATH_MAX], data[400], name[128], crl[420] = "", extra[420] = "";
	const char *tls;
	char *reg, *cfg;
	size_t cfglen, n;

	ck_assert_msg(h_root[0] != '\0', "no PKI: main() makes it first");
	b = calloc(1, sizeof(*b));
	ck_assert_ptr_nonnull(b);
	snprintf(b->dir, sizeof(b->dir), "%s/broker.XXXXXX", h_root);
	ck_assert_msg(mkdtemp(b->dir) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(b->config, sizeof(b->config), "%s/cccd.yaml", b->dir);
	snprintf(b->registry, sizeof(b->registry), "%s/registry.yaml", b->dir);
	snprintf(b->log, sizeof(b->log), "%s/cccd.log", b->dir);
	if (h_data_dir != NULL)
		snprintf(data, sizeof(data), "%s", h_data_dir);
	else
		snprintf(data, sizeof(data), "%s/data", b->dir);
	/* for the report of a test that dies without stopping its broker */
	snprintf(src, sizeof(src), "%s/test", b->dir);
	n = strlen(test);
	if (n > 3 && strcmp(test + n - 3, "_fn") == 0)
		n -= 3;
	snprintf(name, sizeof(name), "%.*s\n", (int)n, test);
	ck_assert(h_spit(src, name) == 0);

	snprintf(src, sizeof(src), "%s/broker/etc/registry.yaml", h_srcdir());
	reg = h_slurp(src);
	ck_assert_msg(reg != NULL, "cannot read %s", src);
	ck_assert(h_spit(b->registry, reg) == 0);
	free(reg);

	tls = h_tls_pki != NULL ? h_tls_pki : h_pki_dir;
	if (h_tls_pki != NULL)
		snprintf(crl, sizeof(crl), "  crl: \"%s/crl.pem\"\n", h_tls_pki);
	if (h_tls_extra_ca != NULL)
		snprintf(extra, sizeof(extra), "\n    - \"%s\"", h_tls_extra_ca);
	cfglen = 2560 + (extra_yaml != NULL ? strlen(extra_yaml) : 0);
	cfg = malloc(cfglen);
	ck_assert_ptr_nonnull(cfg);
	snprintf(cfg, cfglen,
	    "# written by the integration tests\n"
	    "listen: 127.0.0.1:0\n"
	    "tls:\n"
	    "  cert: \"%s/cccd.pem\"\n"
	    "  key: \"%s/cccd.key\"\n"
	    "  ca:\n    - \"%s/ca.pem\"%s\n"
	    "%s%s"
	    "registry: \"%s\"\n"
	    "data_dir: \"%s\"\n"
	    "log_level: debug\n"
	    "%s%s%s",
	    tls, tls, tls, extra, crl, h_tls_extra != NULL ? h_tls_extra : "",
	    b->registry, data,
	    /* a test broker takes exercise alerts unless the test says */
	    extra_yaml != NULL && strstr(extra_yaml, "bench:") != NULL ? "" :
	    "bench:\n  allow: true\n",
	    /* never the default port 9464: brokers run side by side */
	    extra_yaml != NULL && strstr(extra_yaml, "metrics:") != NULL ? "" :
	    "metrics:\n  listen: 127.0.0.1:0\n",
	    extra_yaml != NULL ? extra_yaml : "");
	ck_assert(h_spit(b->config, cfg) == 0);
	free(cfg);

	h_broker_spawn(b);
	return b;
}

void
h_broker_term(struct h_broker *b)
{
	if (b->term_sent || b->reaped)
		return;
	b->term_sent = true;
	ck_assert_msg(kill(b->pid, SIGTERM) == 0, "kill: %s", strerror(errno));
}

bool
h_broker_wait_exit(struct h_broker *b, int timeout_ms)
{
	int64_t deadline = h_mono_ms() + timeout_ms;
	pid_t r;

	while (!b->reaped) {
		r = waitpid(b->pid, &b->status, WNOHANG);
		if (r == b->pid)
			b->reaped = true;
		else if (r == -1 && errno != EINTR)
			ck_abort_msg("waitpid: %s", strerror(errno));
		else if (h_mono_ms() > deadline)
			return false;
		else
			h_sleep_ms(10);
	}
	return true;
}

void
h_broker_stop(struct h_broker *b)
{
	h_broker_halt(b);
	h_rm_tree(b->dir);
	free(b);
}

void
h_broker_kill(struct h_broker *b)
{
	if (b->reaped)
		return;
	ck_assert_msg(kill(b->pid, SIGKILL) == 0, "kill: %s", strerror(errno));
	ck_assert(h_broker_wait_exit(b, H_START_MS));
}

void
h_broker_restart(struct h_broker *b)
{
	char old[320];

	ck_assert_msg(b->reaped, "h_broker_restart: the broker still runs");
	/* keep the old log aside, so that port and log checks see the new one */
	snprintf(old, sizeof(old), "%s.%d", b->log, (int)b->pid);
	ck_assert(rename(b->log, old) == 0);
	h_broker_spawn(b);
}

void
h_broker_pin_port(struct h_broker *b)
{
	char *cfg = h_slurp(b->config), *p, *out;
	size_t n;

	ck_assert_msg(cfg != NULL, "cannot read %s", b->config);
	p = strstr(cfg, "listen: 127.0.0.1:0\n");
	ck_assert_msg(p != NULL, "%s listens on no free port", b->config);
	n = strlen(cfg) + 16;
	out = malloc(n);
	ck_assert_ptr_nonnull(out);
	snprintf(out, n, "%.*slisten: 127.0.0.1:%d\n%s", (int)(p - cfg), cfg,
	    b->port, p + strlen("listen: 127.0.0.1:0\n"));
	ck_assert(h_spit(b->config, out) == 0);
	free(out);
	free(cfg);
}

void
h_broker_halt(struct h_broker *b)
{
	int st;

	h_broker_term(b);
	if (!h_broker_wait_exit(b, H_START_MS)) {
		h_log_dump(b);
		kill(b->pid, SIGKILL);
		waitpid(b->pid, &st, 0);
		b->reaped = true;
		ck_abort_msg("cccd did not exit within %d ms of SIGTERM",
		    H_START_MS);
	}
	if (!WIFEXITED(b->status) || WEXITSTATUS(b->status) != 0) {
		h_log_dump(b);
		if (WIFSIGNALED(b->status))
			ck_abort_msg("cccd was killed by signal %d",
			    WTERMSIG(b->status));
		ck_abort_msg("cccd exited with status %d, not 0",
		    WEXITSTATUS(b->status));
	}
}

long
h_broker_rss_kib(const struct h_broker *b)
{
	char path[64], *status, *p;
	long kib = -1;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)b->pid);
	status = h_slurp(path);
	ck_assert_msg(status != NULL, "cannot read %s", path);
	if ((p = strstr(status, "VmRSS:")) != NULL)
		kib = strtol(p + 6, NULL, 10);
	free(status);
	ck_assert_msg(kib > 0, "no VmRSS in %s", path);
	return kib;
}

/* The port of the first "MARK<port>" line of b's log; what names it. */
static int
h_logged_port(const struct h_broker *b, const char *mark, const char *what)
{
	char *log = h_slurp(b->log), *p;
	int port = 0;

	ck_assert_ptr_nonnull(log);
	if ((p = strstr(log, mark)) != NULL)
		port = atoi(p + strlen(mark));
	free(log);
	ck_assert_msg(port > 0, "the broker logged no %s address", what);
	return port;
}

int
h_metrics_port(const struct h_broker *b)
{
	return h_logged_port(b, "metrics: serving http://127.0.0.1:",
	    "metrics");
}

struct h_reply
h_http(int port, const char *request)
{
	struct sockaddr_in sin;
	struct h_reply r = { 0, NULL, NULL };
	int64_t deadline = h_mono_ms() + H_WAIT_MS;
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap), *sep;
	ssize_t n;
	int fd;

	ck_assert_ptr_nonnull(buf);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_msg(fd != -1, "socket: %s", strerror(errno));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_msg(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0,
	    "connect to the metrics port %d: %s", port, strerror(errno));
	ck_assert(send(fd, request, strlen(request), MSG_NOSIGNAL) ==
	    (ssize_t)strlen(request));
	for (;;) {
		ck_assert_msg(h_mono_ms() < deadline, "no complete HTTP reply "
		    "within %d ms", H_WAIT_MS);
		if (!h_poll(fd, POLLIN, deadline))
			continue;
		if (cap - len < 4096) {
			cap *= 2;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n == 0)
			break;
		ck_assert_msg(n > 0 || errno == EINTR, "recv: %s",
		    strerror(errno));
		if (n > 0)
			len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	ck_assert_msg(sscanf(buf, "HTTP/1.1 %d ", &r.status) == 1,
	    "not an HTTP/1.1 reply: %.80s", buf);
	sep = strstr(buf, "\r\n\r\n");
	ck_assert_msg(sep != NULL, "no end of headers: %.200s", buf);
	*sep = '\0';
	r.head = buf;
	r.body = sep + 4;
	return r;
}

struct h_reply
h_http_get(int port, const char *path)
{
	char req[256];

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Connection: close\r\n\r\n", path);
	return h_http(port, req);
}

double
h_series(const char *text, const char *name)
{
	size_t n = strlen(name);
	const char *p = text, *found = NULL;

	for (; (p = strstr(p, name)) != NULL; p += n) {
		if ((p != text && p[-1] != '\n') || p[n] != ' ')
			continue;
		ck_assert_msg(found == NULL, "series %s appears twice", name);
		found = p;
	}
	return found != NULL ? strtod(found + n + 1, NULL) : -1.0;
}

double
h_metric(const struct h_broker *b, const char *series)
{
	struct h_reply r = h_http_get(h_metrics_port(b), "/metrics");
	double v;

	ck_assert_msg(r.status == 200, "GET /metrics: %.80s", r.head);
	v = h_series(r.body, series);
	free(r.head);
	return v;
}

/* Reloads logged so far: of the registry, and of the TLS context. */
static void
h_reloads(const struct h_broker *b, size_t *reg, size_t *tls)
{
	*reg = h_log_count(b, "SIGHUP: registry");
	*tls = h_log_count(b, "TLS context reloaded") +
	    h_log_count(b, "TLS context not reloaded");
}

void
h_broker_reload(struct h_broker *b)
{
	int64_t deadline = h_mono_ms() + H_WAIT_MS;
	size_t reg0, tls0, reg, tls;

	h_reloads(b, &reg0, &tls0);
	ck_assert_msg(kill(b->pid, SIGHUP) == 0, "kill: %s", strerror(errno));
	for (h_reloads(b, &reg, &tls); reg <= reg0 || tls <= tls0;
	    h_reloads(b, &reg, &tls)) {
		if (h_mono_ms() > deadline) {
			h_log_dump(b);
			ck_abort_msg("cccd logged no reload within %d ms of SIGHUP",
			    H_WAIT_MS);
		}
		h_sleep_ms(10);
	}
}

int
h_audited(const struct h_broker *b, const char *event, const char *detail,
    const char *subject, const char *endpoint)
{
	char db[400];
	sqlite3_stmt *st;
	sqlite3 *h;
	int n;

	snprintf(db, sizeof(db), "%s/data/ccc.db", b->dir);
	ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(h, "SELECT count(*) FROM audit "
	    "WHERE event = ?1 AND detail LIKE ?2 AND subject LIKE ?3 AND "
	    "endpoint LIKE ?4 AND length(fingerprint) = 64", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, event, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, detail != NULL ? detail : "%", -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(st, 3, subject != NULL ? subject : "%", -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(st, 4, endpoint != NULL ? endpoint : "%", -1,
	    SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

int64_t
h_store_value(const char *data_dir, const char *sql)
{
	char db[400];
	sqlite3_stmt *st;
	sqlite3 *h;
	int64_t v;

	snprintf(db, sizeof(db), "%s/ccc.db", data_dir);
	ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

char *
h_registry_read(const struct h_broker *b)
{
	char *text = h_slurp(b->registry);

	ck_assert_msg(text != NULL, "cannot read %s", b->registry);
	return text;
}

void
h_registry_write(const struct h_broker *b, const char *yaml)
{
	ck_assert_msg(h_spit(b->registry, yaml) == 0, "cannot write %s",
	    b->registry);
}

void
h_registry_edit(const struct h_broker *b, const char *from, const char *to)
{
	char *text = h_registry_read(b), *p, *out;
	size_t n;

	p = strstr(text, from);
	ck_assert_msg(p != NULL, "the registry has no \"%s\"", from);
	n = strlen(text) - strlen(from) + strlen(to) + 1;
	out = malloc(n);
	ck_assert_ptr_nonnull(out);
	snprintf(out, n, "%.*s%s%s", (int)(p - text), text, to, p + strlen(from));
	h_registry_write(b, out);
	free(out);
	free(text);
}

size_t
h_log_count(const struct h_broker *b, const char *needle)
{
	char *log = h_slurp(b->log), *p;
	size_t n = 0;

	if (log == NULL)
		return 0;
	for (p = log; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	free(log);
	return n;
}

bool
h_log_contains(const struct h_broker *b, const char *needle)
{
	return h_log_count(b, needle) > 0;
}

bool
h_log_wait(const struct h_broker *b, const char *needle, int timeout_ms)
{
	int64_t deadline = h_mono_ms() + timeout_ms;

	while (!h_log_contains(b, needle)) {
		if (h_mono_ms() > deadline)
			return false;
		h_sleep_ms(10);
	}
	return true;
}

/* ---- libccc clients ---------------------------------------------------------- */

int
h_connect_with(const struct h_broker *b, const char *cert, const char *key,
    ccc_client **out, struct ccc_error *err)
{
	struct ccc_options o;

	memset(&o, 0, sizeof(o));
	o.server = b->server;
	o.cert = cert;
	o.key = key;
	o.ca = h_pki("ca.pem");
	o.timeout_ms = H_WAIT_MS;
	o.client_name = "ccc-itest";
	memset(err, 0, sizeof(*err));
	return ccc_connect(&o, out, err);
}

ccc_client *
h_connect(const struct h_broker *b, const char *endpoint)
{
	char cert[400], key[400];
	struct ccc_error err;
	ccc_client *c = NULL;
	int rc;

	snprintf(cert, sizeof(cert), "%s/%s.pem", h_pki_dir, endpoint);
	snprintf(key, sizeof(key), "%s/%s.key", h_pki_dir, endpoint);
	rc = h_connect_with(b, cert, key, &c, &err);
	ck_assert_msg(rc == 0, "connect as %s: %s (%s)", endpoint, err.message,
	    ccc_error_name(err.code));
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(ccc_endpoint(c), endpoint);
	return c;
}

int
h_connect_err(const struct h_broker *b, const char *cert, const char *key,
    struct ccc_error *err)
{
	ccc_client *c = NULL;
	int rc;

	rc = h_connect_with(b, cert, key, &c, err);
	if (rc == 0)
		ccc_close(c);
	else
		ck_assert_ptr_null(c);
	return rc;
}

uint32_t
h_subscribe_n(ccc_client *c, const char *const *patterns, size_t n)
{
	struct ccc_error err;
	uint32_t id = 0;

	memset(&err, 0, sizeof(err));
	ck_assert_msg(ccc_subscribe(c, patterns, n, &id, &err) == 0,
	    "subscribe %s%s: %s: %s", patterns[0], n > 1 ? " ..." : "",
	    ccc_error_name(err.code), err.message);
	ck_assert_uint_gt(id, 0);
	return id;
}

uint32_t
h_subscribe(ccc_client *c, const char *pattern)
{
	return h_subscribe_n(c, &pattern, 1);
}

/* Send a publish and return the reply that answers it. */
static Ccc__V1__Envelope *
h_publish_reply(ccc_client *c, const Ccc__V1__Alert *a)
{
	struct ccc_error err;
	Ccc__V1__Envelope *env;
	uint64_t rid = 0;

	memset(&err, 0, sizeof(err));
	ck_assert_msg(ccc_send_publish(c, a, &rid, &err) == 0,
	    "send publish: %s", err.message);
	env = h_recv(c, H_WAIT_MS);
	ck_assert_msg(env->request_id == rid,
	    "expected the reply to request %llu, got %s for %llu",
	    (unsigned long long)rid, frame_body_name(env->body_case),
	    (unsigned long long)env->request_id);
	return env;
}

void
h_exchange(ccc_client *sub, ccc_client *pub, const char *category,
    const char *section)
{
	Ccc__V1__Alert *a = h_alert(category, section, "critical", "h1",
	    "Seen at the crossing");
	Ccc__V1__Envelope *ok, *got;

	ok = h_publish_ok(pub, a);
	got = h_recv_deliver(sub);
	ck_assert_str_eq(got->deliver->alert->id, ok->publish_ok->id);
	ck_assert_str_eq(got->deliver->alert->origin, ccc_endpoint(pub));
	ccc_envelope_free(got);
	ccc_envelope_free(ok);
	h_alert_free(a);
}

void
h_exchange_fresh(const struct h_broker *b)
{
	ccc_client *gr = h_connect(b, "gr-police");
	ccc_client *tr = h_connect(b, "tr-police");

	h_subscribe(gr, "alerts/+/tr-bg/#");
	h_exchange(gr, tr, "wanted_person", "tr-bg/kapikule");
	ccc_close(gr);
	ccc_close(tr);
}

Ccc__V1__Envelope *
h_publish_ok(ccc_client *c, const Ccc__V1__Alert *a)
{
	Ccc__V1__Envelope *env = h_publish_reply(c, a);

	ck_assert_msg(env->body_case == CCC__V1__ENVELOPE__BODY_PUBLISH_OK,
	    "publish refused: %s: %s", frame_body_name(env->body_case),
	    env->body_case == CCC__V1__ENVELOPE__BODY_ERROR ?
	    env->error->message : "");
	return env;
}

Ccc__V1__Envelope *
h_publish_refused(ccc_client *c, const Ccc__V1__Alert *a)
{
	Ccc__V1__Envelope *env = h_publish_reply(c, a);

	ck_assert_msg(env->body_case == CCC__V1__ENVELOPE__BODY_ERROR,
	    "publish was accepted (%s)", frame_body_name(env->body_case));
	return env;
}

Ccc__V1__Envelope *
h_recv(ccc_client *c, int timeout_ms)
{
	Ccc__V1__Envelope *env = NULL;
	struct ccc_error err;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = ccc_receive(c, timeout_ms, &env, &err);
	ck_assert_msg(rc != 0, "nothing received within %d ms", timeout_ms);
	ck_assert_msg(rc == 1, "receive failed: %s: %s",
	    ccc_error_name(err.code), err.message);
	ck_assert_ptr_nonnull(env);
	return env;
}

Ccc__V1__Envelope *
h_recv_deliver(ccc_client *c)
{
	Ccc__V1__Envelope *env = h_recv(c, H_WAIT_MS);

	ck_assert_msg(env->body_case == CCC__V1__ENVELOPE__BODY_DELIVER,
	    "expected deliver, got %s%s%s", frame_body_name(env->body_case),
	    env->body_case == CCC__V1__ENVELOPE__BODY_ERROR ? ": " : "",
	    env->body_case == CCC__V1__ENVELOPE__BODY_ERROR ?
	    env->error->message : "");
	return env;
}

void
h_recv_none(ccc_client *c, int ms)
{
	Ccc__V1__Envelope *env = NULL;
	struct ccc_error err;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = ccc_receive(c, ms, &env, &err);
	if (rc == 1) {
		char what[600];

		snprintf(what, sizeof(what), "%s%s%s",
		    frame_body_name(env->body_case),
		    env->body_case == CCC__V1__ENVELOPE__BODY_ERROR ? ": " : "",
		    env->body_case == CCC__V1__ENVELOPE__BODY_ERROR ?
		    env->error->message : "");
		ccc_envelope_free(env);
		ck_abort_msg("expected nothing, received %s", what);
	}
	ck_assert_msg(rc == 0, "receive failed: %s: %s",
	    ccc_error_name(err.code), err.message);
}

/* ---- envelopes ------------------------------------------------------------------ */

void
h_expect_error(const Ccc__V1__Envelope *env, Ccc__V1__ErrorCode code,
    bool fatal, const char *msg)
{
	const char *want = names_enum_short(&ccc__v1__error_code__descriptor,
	    (int)code);
	const char *got;

	ck_assert_msg(env->body_case == CCC__V1__ENVELOPE__BODY_ERROR,
	    "expected error %s, got %s", want, frame_body_name(env->body_case));
	got = names_enum_short(&ccc__v1__error_code__descriptor,
	    (int)env->error->code);
	ck_assert_msg(env->error->code == code, "expected error %s, got %s: %s",
	    want, got != NULL ? got : "?", env->error->message);
	ck_assert_msg(env->error->fatal == fatal, "error %s: fatal is %d: %s",
	    want, (int)env->error->fatal, env->error->message);
	if (msg != NULL)
		ck_assert_msg(strstr(env->error->message, msg) != NULL,
		    "error %s: \"%s\" does not contain \"%s\"", want,
		    env->error->message, msg);
}

bool
h_is_uuid7(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return s[14] == '7' && strchr("89ab", s[19]) != NULL;
}

/* ---- alerts ------------------------------------------------------------------- */

void
h_set_str(char **field, const char *value)
{
	char *copy = strdup(value);

	ck_assert_ptr_nonnull(copy);
	if (*field != NULL && *field != protobuf_c_empty_string)
		free(*field);
	*field = copy;
}

static int
h_enum(const ProtobufCEnumDescriptor *d, const char *name)
{
	int v = 0;

	if (name == NULL || *name == '\0')
		return 0;
	ck_assert_msg(names_enum_parse(d, name, &v), "%s: no value \"%s\"",
	    d->name, name);
	return v;
}

Ccc__V1__Alert *
h_alert(const char *category, const char *section, const char *severity,
    const char *handling, const char *summary)
{
	Ccc__V1__Alert *a = malloc(sizeof(*a));

	ck_assert_ptr_nonnull(a);
	ccc__v1__alert__init(a);
	a->category = (Ccc__V1__Category)h_enum(&ccc__v1__category__descriptor,
	    category);
	a->severity = (Ccc__V1__Severity)h_enum(&ccc__v1__severity__descriptor,
	    severity);
	a->handling = (Ccc__V1__Handling)h_enum(&ccc__v1__handling__descriptor,
	    handling);
	if (section != NULL)
		h_set_str(&a->section, section);
	if (summary != NULL)
		h_set_str(&a->summary, summary);
	return a;
}

void
h_alert_free(Ccc__V1__Alert *a)
{
	if (a != NULL)
		protobuf_c_message_free_unpacked(&a->base, NULL);
}

/* ---- raw TLS connections -------------------------------------------------------- */

/* Remaining ms until deadline (>= 0). */
static int
h_left(int64_t deadline)
{
	int64_t left = deadline - h_mono_ms();

	return left > 0 ? (int)left : 0;
}

/* Wait until fd is ready for events; false on timeout. */
static bool
h_poll(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int rc;

	do {
		rc = poll(&p, 1, h_left(deadline));
	} while (rc == -1 && errno == EINTR);
	return rc > 0;
}

static void
h_raw_note(struct h_raw *r, const char *what)
{
	char e[200] = "";
	unsigned long code = ERR_peek_error();

	if (code != 0)
		ERR_error_string_n(code, e, sizeof(e));
	ERR_clear_error();
	r->closed = true;
	if (r->why[0] == '\0')
		snprintf(r->why, sizeof(r->why), "%s%s%s", what, e[0] ? ": " : "",
		    e);
}

struct h_raw *
h_raw_tcp(const struct h_broker *b)
{
	return h_raw_tcp_port(b->port);
}

struct h_raw *
h_raw_tcp_port(int port)
{
	struct sockaddr_in sin;
	struct h_raw *r = calloc(1, sizeof(*r));

	ck_assert_ptr_nonnull(r);
	r->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_msg(r->fd != -1, "socket: %s", strerror(errno));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_msg(connect(r->fd, (struct sockaddr *)&sin, sizeof(sin)) == 0,
	    "connect 127.0.0.1:%d: %s", port, strerror(errno));
	ck_assert(fcntl(r->fd, F_SETFL, fcntl(r->fd, F_GETFL) | O_NONBLOCK) == 0);
	return r;
}

int
h_raw_tls(struct h_raw *r, const char *cert, const char *key)
{
	int64_t deadline = h_mono_ms() + H_WAIT_MS;
	int rc, e;

	ck_assert_ptr_null(r->ssl);
	ERR_clear_error();
	r->ctx = SSL_CTX_new(TLS_client_method());
	ck_assert_ptr_nonnull(r->ctx);
	ck_assert(SSL_CTX_load_verify_locations(r->ctx, h_pki("ca.pem"), NULL) == 1);
	SSL_CTX_set_verify(r->ctx, SSL_VERIFY_PEER, NULL);
	if (cert != NULL) {
		ck_assert_msg(SSL_CTX_use_certificate_chain_file(r->ctx, cert) == 1,
		    "cannot load %s", cert);
		ck_assert_msg(SSL_CTX_use_PrivateKey_file(r->ctx, key,
		    SSL_FILETYPE_PEM) == 1, "cannot load %s", key);
	}
	r->ssl = SSL_new(r->ctx);
	ck_assert_ptr_nonnull(r->ssl);
	ck_assert(X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(r->ssl),
	    "127.0.0.1") == 1);
	ck_assert(SSL_set_fd(r->ssl, r->fd) == 1);
	for (;;) {
		if ((rc = SSL_connect(r->ssl)) == 1) {
			r->tls_up = true;
			return 0;
		}
		e = SSL_get_error(r->ssl, rc);
		if ((e == SSL_ERROR_WANT_READ && h_poll(r->fd, POLLIN, deadline)) ||
		    (e == SSL_ERROR_WANT_WRITE && h_poll(r->fd, POLLOUT, deadline)))
			continue;
		h_raw_note(r, e == SSL_ERROR_WANT_READ ||
		    e == SSL_ERROR_WANT_WRITE ? "handshake timed out" :
		    "handshake failed");
		return -1;
	}
}

struct h_raw *
h_raw_connect(const struct h_broker *b, const char *endpoint)
{
	struct h_raw *r = h_raw_tcp(b);
	char cert[400], key[400];

	snprintf(cert, sizeof(cert), "%s/%s.pem", h_pki_dir,
	    endpoint != NULL ? endpoint : "");
	snprintf(key, sizeof(key), "%s/%s.key", h_pki_dir,
	    endpoint != NULL ? endpoint : "");
	ck_assert_msg(h_raw_tls(r, endpoint != NULL ? cert : NULL,
	    endpoint != NULL ? key : NULL) == 0, "TLS as %s: %s",
	    endpoint != NULL ? endpoint : "(no certificate)", r->why);
	return r;
}

struct h_raw *
h_raw_session(const struct h_broker *b, const char *endpoint)
{
	struct h_raw *r = h_raw_connect(b, endpoint);
	Ccc__V1__Envelope *env;

	h_raw_send_hello(r, 1, 1);
	env = h_raw_expect(r, CCC__V1__ENVELOPE__BODY_WELCOME);
	ck_assert_str_eq(env->welcome->endpoint, endpoint);
	frame_free(env);
	return r;
}

int
h_raw_try_send(struct h_raw *r, const void *buf, size_t len)
{
	int64_t deadline = h_mono_ms() + H_WAIT_MS;
	const uint8_t *p = buf;
	ssize_t n;
	int rc, e;

	while (len > 0) {
		if (r->ssl != NULL) {
			rc = SSL_write(r->ssl, p, len > INT_MAX ? INT_MAX : (int)len);
			if (rc > 0) {
				p += rc;
				len -= (size_t)rc;
				continue;
			}
			e = SSL_get_error(r->ssl, rc);
			if ((e == SSL_ERROR_WANT_READ &&
			    h_poll(r->fd, POLLIN, deadline)) ||
			    (e == SSL_ERROR_WANT_WRITE &&
			    h_poll(r->fd, POLLOUT, deadline)))
				continue;
			h_raw_note(r, "TLS write failed");
			return -1;
		}
		n = send(r->fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			if (!h_poll(r->fd, POLLOUT, deadline))
				return -1;
		} else {
			h_raw_note(r, strerror(errno));
			return -1;
		}
	}
	return 0;
}

void
h_raw_send(struct h_raw *r, const void *buf, size_t len)
{
	ck_assert_msg(h_raw_try_send(r, buf, len) == 0, "send %zu bytes: %s",
	    len, r->why[0] ? r->why : "timed out");
}

void
h_raw_send_env(struct h_raw *r, const Ccc__V1__Envelope *env)
{
	size_t n = frame_size(env);
	uint8_t *buf = malloc(n);

	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(frame_encode(env, buf), n);
	h_raw_send(r, buf, n);
	free(buf);
}

void
h_raw_send_hello(struct h_raw *r, uint32_t version, uint64_t request_id)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Hello hello = CCC__V1__HELLO__INIT;
	char name[] = "ccc-itest-raw";

	hello.protocol_version = version;
	hello.client_name = name;
	env.request_id = request_id;
	env.body_case = CCC__V1__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	h_raw_send_env(r, &env);
}

void
h_raw_send_ping(struct h_raw *r, uint64_t request_id)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Ping ping = CCC__V1__PING__INIT;

	env.request_id = request_id;
	env.body_case = CCC__V1__ENVELOPE__BODY_PING;
	env.ping = &ping;
	h_raw_send_env(r, &env);
}

static void
h_raw_send_pong(struct h_raw *r, uint64_t request_id)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Pong pong = CCC__V1__PONG__INIT;

	env.request_id = request_id;
	env.body_case = CCC__V1__ENVELOPE__BODY_PONG;
	env.pong = &pong;
	h_raw_send_env(r, &env);
}

/* Read what is available into r->buf; 1 got bytes, 0 timeout, -1 closed. */
static int
h_raw_fill(struct h_raw *r, int64_t deadline)
{
	ssize_t n;
	int rc, e;

	if (r->closed)
		return -1;
	if (r->cap - r->len <= H_READ_CHUNK) {	/* and a byte for a NUL */
		r->cap = r->cap ? r->cap * 2 : 4 * H_READ_CHUNK;
		r->buf = realloc(r->buf, r->cap);
		ck_assert_ptr_nonnull(r->buf);
	}
	for (;;) {
		if (r->ssl != NULL) {
			rc = SSL_read(r->ssl, r->buf + r->len, H_READ_CHUNK);
			if (rc > 0) {
				r->len += (size_t)rc;
				return 1;
			}
			e = SSL_get_error(r->ssl, rc);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
				if (!h_poll(r->fd, e == SSL_ERROR_WANT_READ ?
				    POLLIN : POLLOUT, deadline))
					return 0;
				continue;
			}
			h_raw_note(r, e == SSL_ERROR_ZERO_RETURN ?
			    "close_notify" : e == SSL_ERROR_SYSCALL ?
			    "connection closed" : "TLS error");
			return -1;
		}
		n = recv(r->fd, r->buf + r->len, H_READ_CHUNK, 0);
		if (n > 0) {
			r->len += (size_t)n;
			return 1;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			if (!h_poll(r->fd, POLLIN, deadline))
				return 0;
			continue;
		}
		h_raw_note(r, n == 0 ? "end of stream" : strerror(errno));
		return -1;
	}
}

int
h_raw_recv(struct h_raw *r, int timeout_ms, Ccc__V1__Envelope **env)
{
	int64_t deadline = h_mono_ms() + timeout_ms;
	enum frame_status st;
	size_t consumed;
	char why[200];
	int rc;

	*env = NULL;
	for (;;) {
		st = frame_decode(r->buf, r->len, FRAME_MAX_LIMIT, env,
		    &consumed, why, sizeof(why));
		if (st == FRAME_OK) {
			memmove(r->buf, r->buf + consumed, r->len - consumed);
			r->len -= consumed;
			return 1;
		}
		ck_assert_msg(st == FRAME_NEED_MORE,
		    "the broker sent a frame this harness cannot decode: %s", why);
		if ((rc = h_raw_fill(r, deadline)) <= 0)
			return rc;
	}
}

Ccc__V1__Envelope *
h_raw_recv_skip_ping(struct h_raw *r, int timeout_ms)
{
	int64_t deadline = h_mono_ms() + timeout_ms;
	Ccc__V1__Envelope *env;
	int64_t left;
	int rc;

	while ((left = deadline - h_mono_ms()) > 0) {
		rc = h_raw_recv(r, (int)left, &env);
		if (rc == 0)
			break;
		ck_assert_msg(rc == 1, "the broker closed the connection");
		if (env->body_case != CCC__V1__ENVELOPE__BODY_PING)
			return env;
		h_raw_send_pong(r, env->request_id);
		frame_free(env);
	}
	return NULL;
}

Ccc__V1__Envelope *
h_raw_expect(struct h_raw *r, Ccc__V1__Envelope__BodyCase body)
{
	Ccc__V1__Envelope *env = NULL;
	int rc = h_raw_recv(r, H_WAIT_MS, &env);

	ck_assert_msg(rc != 0, "expected %s, nothing came within %d ms",
	    frame_body_name(body), H_WAIT_MS);
	ck_assert_msg(rc == 1, "expected %s, the connection closed (%s)",
	    frame_body_name(body), r->why);
	ck_assert_msg(env->body_case == body, "expected %s, got %s%s%s",
	    frame_body_name(body), frame_body_name(env->body_case),
	    env->body_case == CCC__V1__ENVELOPE__BODY_ERROR ? ": " : "",
	    env->body_case == CCC__V1__ENVELOPE__BODY_ERROR ?
	    env->error->message : "");
	return env;
}

void
h_raw_expect_error(struct h_raw *r, Ccc__V1__ErrorCode code, bool fatal,
    const char *msg)
{
	Ccc__V1__Envelope *env = h_raw_expect(r, CCC__V1__ENVELOPE__BODY_ERROR);

	h_expect_error(env, code, fatal, msg);
	frame_free(env);
	if (fatal)
		ck_assert_msg(h_raw_closed(r, H_WAIT_MS),
		    "the broker did not close the session after a fatal error");
}

bool
h_raw_closed(struct h_raw *r, int timeout_ms)
{
	int64_t deadline = h_mono_ms() + timeout_ms;
	Ccc__V1__Envelope *env;
	int rc;

	for (;;) {
		rc = h_raw_recv(r, h_left(deadline), &env);
		if (rc == 1) {
			frame_free(env);
			continue;
		}
		return rc < 0;
	}
}

bool
h_raw_broker_cert_is(const struct h_raw *r, const char *path)
{
	FILE *fp = fopen(path, "r");
	X509 *want, *got;
	bool same;

	ck_assert_msg(fp != NULL, "cannot read %s: %s", path, strerror(errno));
	want = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	ck_assert_msg(want != NULL, "no certificate in %s", path);
	ck_assert_msg(r->ssl != NULL && r->tls_up, "no TLS session");
	got = SSL_get0_peer_certificate(r->ssl);
	same = got != NULL && X509_cmp(got, want) == 0;
	X509_free(want);
	return same;
}

void
h_raw_reset(struct h_raw *r)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(r->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	SSL_free(r->ssl);
	SSL_CTX_free(r->ctx);
	close(r->fd);
	ERR_clear_error();
	free(r->buf);
	free(r);
}

void
h_raw_close(struct h_raw *r)
{
	if (r == NULL)
		return;
	if (r->ssl != NULL && r->tls_up && !r->closed)
		SSL_shutdown(r->ssl);	/* best effort, never waits */
	SSL_free(r->ssl);
	SSL_CTX_free(r->ctx);
	close(r->fd);
	ERR_clear_error();
	free(r->buf);
	free(r);
}

/* ---- the console (HTTPS) ------------------------------------------------- */

int
h_console_port(const struct h_broker *b)
{
	return h_logged_port(b, "console: listening on https://127.0.0.1:",
	    "console");
}

struct h_raw *
h_https_open(int port, const char *cert, const char *key)
{
	struct h_raw *r = h_raw_tcp_port(port);

	if (h_raw_tls(r, cert, key) == -1) {
		h_raw_close(r);
		return NULL;
	}
	return r;
}

bool
h_raw_read_until(struct h_raw *r, const char *needle, int timeout_ms)
{
	int64_t deadline = h_mono_ms() + timeout_ms;

	for (;;) {
		if (r->buf != NULL) {
			r->buf[r->len] = '\0';	/* h_raw_fill leaves room */
			if (needle != NULL && strstr((char *)r->buf, needle) != NULL)
				return true;
		}
		if (h_raw_fill(r, deadline) <= 0) {
			if (r->buf == NULL) {
				r->cap = 1;
				r->buf = calloc(1, 1);
				ck_assert_ptr_nonnull(r->buf);
			}
			r->buf[r->len] = '\0';
			return needle != NULL &&
			    strstr((char *)r->buf, needle) != NULL;
		}
	}
}

const char *
h_raw_text(struct h_raw *r)
{
	if (r->buf == NULL)
		return "";
	r->buf[r->len] = '\0';
	return (const char *)r->buf;
}

/* Split the bytes read on r into a reply (status 0 when not HTTP). */
static struct h_reply
h_reply_of(struct h_raw *r)
{
	struct h_reply rep = { 0, NULL, NULL };
	char *sep;

	rep.head = strdup(h_raw_text(r));
	ck_assert_ptr_nonnull(rep.head);
	if (sscanf(rep.head, "HTTP/1.%*d %d ", &rep.status) != 1)
		rep.status = 0;
	if ((sep = strstr(rep.head, "\r\n\r\n")) != NULL) {
		*sep = '\0';
		rep.body = sep + 4;
	} else
		rep.body = rep.head + strlen(rep.head);
	return rep;
}

struct h_reply
h_https(int port, const char *cert, const char *key, const char *request)
{
	struct h_reply rep;
	struct h_raw *r;

	if ((r = h_https_open(port, cert, key)) == NULL) {
		rep.status = 0;
		rep.head = calloc(1, 2);
		ck_assert_ptr_nonnull(rep.head);
		rep.body = rep.head + 1;
		return rep;
	}
	/* a server that closes before reading all may reset: read what came */
	(void)h_raw_try_send(r, request, strlen(request));
	(void)h_raw_read_until(r, NULL, H_WAIT_MS);
	rep = h_reply_of(r);
	h_raw_close(r);
	return rep;
}

struct h_reply
h_https_as(int port, const char *endpoint, const char *method,
    const char *path, const char *headers)
{
	char cert[400], key[400], req[4096];

	snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
	    "Connection: close\r\n%s\r\n", method, path, port,
	    headers != NULL ? headers : "");
	if (endpoint == NULL)
		return h_https(port, NULL, NULL, req);
	snprintf(cert, sizeof(cert), "%s/%s.pem", h_pki_dir, endpoint);
	snprintf(key, sizeof(key), "%s/%s.key", h_pki_dir, endpoint);
	return h_https(port, cert, key, req);
}

const char *
h_header(const struct h_reply *rep, const char *name, char *buf, size_t len)
{
	size_t n = strlen(name);
	const char *p = rep->head, *eol;

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			eol = strstr(p, "\r\n");
			if (eol == NULL)
				eol = p + strlen(p);
			snprintf(buf, len, "%.*s", (int)(eol - p), p);
			return buf;
		}
	}
	return NULL;
}
