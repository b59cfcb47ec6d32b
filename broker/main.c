/*
 * main.c — cccd's command line: load and check the configuration and the
 * registry, then run the broker in the foreground. Start-up failures are
 * reported with the file and line at fault and exit 1.
 *
 * The flags live in one table, main_flags[], which --help prints; the
 * hidden --help-roff options|config prints it, or config.c's table of
 * configuration keys, as man(7) source for the pages cccd(8) and
 * cccd.yaml(5) that the build makes (docs/man/).
 */
#include <errno.h>
#include <stdbool.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/ssl.h>

#include "config.h"
#include "log.h"
#include "priv.h"
#include "registry.h"
#include "roff.h"
#include "server.h"
#include "store.h"
#include "tls.h"

#define DEFAULT_CONFIG	"/etc/ccc/cccd.yaml"

/* One flag of cccd, as --help and the manual page show it. */
struct main_flag {
	const char	*name;		/* without "--" */
	char		 letter;	/* short form, or 0 */
	const char	*arg;		/* value placeholder; NULL: a switch */
	const char	*help;
};

static const struct main_flag main_flags[] = {
	{ "config", 'c', "FILE", "configuration file (default "
	    DEFAULT_CONFIG ")" },
	{ "check-config", 't', "FILE", "validate FILE, the registry and the "
	    "TLS files it names, then exit (0 when valid)" },
	{ "verify-audit", 0, NULL, "check the hash chain of the audit journal "
	    "in the data_dir of the configuration, then exit (0 intact, 1 "
	    "broken or unreadable)" },
	{ "accept-store-loss", 0, NULL, "start although the store lost "
	    "committed transactions (damaged write-ahead log, journal short of "
	    "ccc.db-head); the loss is logged and journalled" },
	{ "dead-letters", 0, NULL, "list the alerts that durable subscriptions "
	    "gave up on (dead-letter list), then exit" },
	{ "help", 'h', NULL, "this text and the configuration keys" },
	{ "version", 'V', NULL, "print the version and exit" },
};

#define MAIN_NFLAGS	(sizeof(main_flags) / sizeof(main_flags[0]))

static void
usage(FILE *fp)
{
	const struct main_flag *fl;

	fprintf(fp,
	    "usage: cccd [--config FILE] [--accept-store-loss]\n"
	    "       cccd --check-config FILE\n"
	    "       cccd --verify-audit [--config FILE]\n"
	    "       cccd --dead-letters [--config FILE]\n"
	    "       cccd --help | --version\n"
	    "\n"
	    "The ccc alert broker: mutual-TLS publish/subscribe for the Common\n"
	    "Contact Centre. Runs in the foreground and logs to stderr.\n"
	    "\n");
	for (size_t i = 0; i < MAIN_NFLAGS; i++) {
		fl = &main_flags[i];
		if (fl->letter != 0)
			fprintf(fp, "  -%c, --%s", fl->letter, fl->name);
		else
			fprintf(fp, "  --%s", fl->name);
		fprintf(fp, "%s%s\n", fl->arg != NULL ? " " : "",
		    fl->arg != NULL ? fl->arg : "");
		config_print_wrapped(fp, 8, fl->help);
	}
	fprintf(fp, "\n"
	    "Signals: SIGTERM/SIGINT shut down gracefully (twice: at once);\n"
	    "SIGHUP reloads the registry file and the TLS files (certificate,\n"
	    "key, CAs, CRLs).\n"
	    "\n");
	config_print_help(fp);
}

/*
 * --help-roff WHAT: the flags (options) or the configuration keys (config)
 * as man(7) source. Returns the exit status.
 */
static int
main_help_roff(const char *what)
{
	const struct main_flag *fl;

	if (strcmp(what, "config") == 0) {
		config_print_roff(stdout);
		return 0;
	}
	if (strcmp(what, "options") != 0) {
		fprintf(stderr, "cccd: --help-roff takes options or config\n");
		return 2;
	}
	for (size_t i = 0; i < MAIN_NFLAGS; i++) {
		fl = &main_flags[i];
		roff_option(stdout, fl->letter, fl->name, fl->arg, fl->help,
		    NULL);
	}
	return 0;
}

/* A start-up failure on stderr, with its priority under journald. */
static void
main_error(const char *msg)
{
	fprintf(stderr, "%scccd: %s\n", log_prefix(LL_ERROR), msg);
}

/*
 * Keep freed memory at the top of the heap up to MAIN_TRIM_KEEP bytes
 * instead of glibc's 128 KiB. Output chains of 16 KiB are allocated and
 * freed every loop pass in fan-out; returning them to the kernel at each
 * pass and faulting them in again at the next cost about a seventh of the
 * broker's CPU in scenario b.
 */
#define MAIN_TRIM_KEEP	(4 * 1024 * 1024)

static void
main_tune_malloc(void)
{
#if defined(M_TRIM_THRESHOLD) && defined(M_TOP_PAD)	/* glibc */
	(void)mallopt(M_TRIM_THRESHOLD, MAIN_TRIM_KEEP);
	(void)mallopt(M_TOP_PAD, 1024 * 1024);
#endif
}

/* A check's report: on stdout when it passed (rc 0), else on stderr. */
static void
main_report(int rc, const char *report)
{
	fprintf(rc == 0 ? stdout : stderr, "%s%s\n", rc == 0 ? "" : "cccd: ",
	    report);
}

/*
 * Create dir with mode 0700 and its missing parents with 0755, as install -d
 * would, all owned by the user starting cccd (priv_drop gives dir alone to
 * the configured user). What exists is left as it is. -1 with errno set.
 */
static int
main_mkdir_data(const char *dir)
{
	char path[PATH_MAX], *p;
	size_t len = strlen(dir);

	if (len >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(path, dir, len + 1);
	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	for (p = path + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(path, 0755) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/*
 * Load config, registry and, with tls, the TLS material (a start leaves
 * that to server_new(), so that its warnings appear once); 0 on success,
 * else err is set.
 */
static int
load_all(const char *path, bool tls, struct config **cfgp,
    struct registry **regp, char *err, size_t errlen)
{
	struct config *cfg;
	struct registry *reg;
	struct priv_ids ids;
	SSL_CTX *ctx;

	if (config_load(path, &cfg, err, errlen) < 0)
		return -1;
	if (priv_resolve(cfg, &ids, err, errlen) < 0) {
		config_free(cfg);
		return -1;
	}
	if (registry_load(cfg->registry, &reg, err, errlen) < 0) {
		config_free(cfg);
		return -1;
	}
	if (tls) {
		if ((ctx = tls_server_ctx(cfg, err, errlen)) == NULL) {
			registry_unref(reg);
			config_free(cfg);
			return -1;
		}
		SSL_CTX_free(ctx);
	}
	*cfgp = cfg;
	*regp = reg;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "verify-audit", no_argument, NULL, 'A' },
		{ "dead-letters", no_argument, NULL, 'D' },
		{ "accept-store-loss", no_argument, NULL, 'L' },
		{ "help-roff", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = DEFAULT_CONFIG, *check = NULL;
	bool verify_audit = false, dead_letters = false;
	struct config *cfg;
	struct registry *reg;
	struct server *srv;
	enum log_level level;
	char err[2048];
	int ch, rc, head;

	log_init();
	while ((ch = getopt_long(argc, argv, "c:t:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 't':
			check = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("cccd %s\n", CCC_VERSION);
			return 0;
		case 'A':
			verify_audit = true;
			break;
		case 'D':
			dead_letters = true;
			break;
		case 'L':
			store_accept_loss(true);
			break;
		case 'R':
			return main_help_roff(optarg);
		default:
			fprintf(stderr, "cccd: run 'cccd --help' for usage\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "cccd: unexpected argument \"%s\"; run 'cccd "
		    "--help' for usage\n", argv[optind]);
		return 2;
	}
	if (dead_letters) {
		long n;

		if (config_load(config_path, &cfg, err, sizeof(err)) < 0) {
			main_error(err);
			return 1;
		}
		n = store_list_dead(cfg->data_dir, stdout, err, sizeof(err));
		config_free(cfg);
		if (n < 0) {
			main_error(err);
			return 1;
		}
		fprintf(stderr, "%ld alerts in the dead-letter list\n", n);
		return 0;
	}
	if (verify_audit) {
		if (config_load(config_path, &cfg, err, sizeof(err)) < 0) {
			main_error(err);
			return 1;
		}
		/* the chain as it is, then whether its newest records are there */
		rc = store_verify_audit(cfg->data_dir, cfg->retain_max_jump, err,
		    sizeof(err));
		main_report(rc, err);
		head = store_verify_head(cfg->data_dir, err, sizeof(err));
		main_report(head, err);
		config_free(cfg);
		return rc == 0 && head == 0 ? 0 : 1;
	}
	if (check != NULL) {
		if (load_all(check, true, &cfg, &reg, err, sizeof(err)) < 0) {
			main_error(err);
			return 1;
		}
		printf("%s: configuration OK; registry %s: %zu endpoints, %zu "
		    "sections\n", check, cfg->registry, registry_nendpoints(reg),
		    registry_nsections(reg));
		registry_unref(reg);
		config_free(cfg);
		return 0;
	}
	if (load_all(config_path, false, &cfg, &reg, err, sizeof(err)) < 0) {
		main_error(err);
		return 1;
	}
	if (log_level_parse(cfg->log_level, &level))
		log_set_level(level);
	if (main_mkdir_data(cfg->data_dir) < 0) {
		fprintf(stderr, "%scccd: cannot create data_dir %s: %s\n",
		    log_prefix(LL_ERROR), cfg->data_dir, strerror(errno));
		registry_unref(reg);
		config_free(cfg);
		return 1;
	}
	main_tune_malloc();
	if ((srv = server_new(cfg, reg, err, sizeof(err))) == NULL) {
		main_error(err);
		return 1;
	}
	/* listeners bound, TLS files read, store open: root is done with */
	if (priv_drop(server_config(srv), err, sizeof(err)) < 0) {
		log_error("%s", err);
		server_free(srv);
		return 1;
	}
	rc = server_run(srv);
	server_free(srv);
	return rc;
}
