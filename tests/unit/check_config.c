/*
 * check_config.c — the configuration file and the registry file: defaults,
 * bounds, path resolution, and every validation error with its exact
 * "FILE:LINE: message". Run from the repository root (the demo registry is
 * read from broker/etc/registry.yaml).
 */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "registry.h"
#include "suites.h"

#define DEMO_REGISTRY	"broker/etc/registry.yaml"

/* A scratch directory with stand-ins for the files a config names. */
static char tmpdir[] = "/tmp/ccc-check-config-XXXXXX";
static const char *const tmpfiles[] = {
	"cert.pem", "key.pem", "ca.pem", "ca2.pem", "registry.yaml", "crl.pem",
	"crl2.pem",
};

static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
}

static void
tmp_setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	for (size_t i = 0; i < sizeof(tmpfiles) / sizeof(tmpfiles[0]); i++)
		write_file(tmpdir, tmpfiles[i], "stand-in\n");
}

static void
tmp_teardown(void)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(tmpfiles) / sizeof(tmpfiles[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, tmpfiles[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/cccd.yaml", tmpdir);
	unlink(path);
	rmdir(tmpdir);
}

/*
 * The required keys on lines 1-5 (absolute paths into tmpdir), then extra
 * from line 6 on.
 */
static char *
base_config(const char *extra)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf),
	    "tls:\n"
	    "  cert: %s/cert.pem\n"
	    "  key: %s/key.pem\n"
	    "  ca: %s/ca.pem\n"
	    "registry: %s/registry.yaml\n"
	    "%s", tmpdir, tmpdir, tmpdir, tmpdir, extra);
	return buf;
}

static struct config *
config_ok(const char *yaml)
{
	struct config *cfg = NULL;
	char err[1024] = "";

	if (config_load_string(yaml, "test.yaml", &cfg, err, sizeof(err)) != 0)
		ck_abort_msg("unexpected error: %s", err);
	ck_assert_ptr_nonnull(cfg);
	return cfg;
}

static void
config_fails(const char *yaml, const char *expected)
{
	struct config *cfg = NULL;
	char err[1024] = "";

	ck_assert_int_eq(config_load_string(yaml, "test.yaml", &cfg, err,
	    sizeof(err)), -1);
	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(err, expected);
}

/* For messages worded by the YAML parser: only the location is ours. */
static void
config_fails_prefix(const char *yaml, const char *prefix)
{
	struct config *cfg = NULL;
	char err[1024] = "";

	ck_assert_int_eq(config_load_string(yaml, "test.yaml", &cfg, err,
	    sizeof(err)), -1);
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0 &&
	    strlen(err) > strlen(prefix), "got '%s', expected '%s...'", err,
	    prefix);
}

START_TEST(test_config_defaults)
{
	struct config *cfg = config_ok(base_config(""));
	char path[PATH_MAX];

	ck_assert_str_eq(cfg->listen_host, "127.0.0.1");
	ck_assert_uint_eq(cfg->listen_port, 7443);
	snprintf(path, sizeof(path), "%s/cert.pem", tmpdir);
	ck_assert_str_eq(cfg->tls_cert, path);
	snprintf(path, sizeof(path), "%s/key.pem", tmpdir);
	ck_assert_str_eq(cfg->tls_key, path);
	ck_assert_uint_eq(cfg->n_tls_ca, 1);
	snprintf(path, sizeof(path), "%s/ca.pem", tmpdir);
	ck_assert_str_eq(cfg->tls_ca[0], path);
	ck_assert_uint_eq(cfg->n_tls_crl, 0);
	ck_assert_ptr_null(cfg->tls_crl);
	snprintf(path, sizeof(path), "%s/registry.yaml", tmpdir);
	ck_assert_str_eq(cfg->registry, path);
	ck_assert_str_eq(cfg->data_dir, "/var/lib/ccc");
	ck_assert_ptr_null(cfg->user);
	ck_assert_ptr_null(cfg->group);
	ck_assert_str_eq(cfg->log_level, "info");
	ck_assert_uint_eq(cfg->max_frame_size, 65536);
	ck_assert_uint_eq(cfg->max_connections, 10000);
	ck_assert_uint_eq(cfg->max_subscriptions, 64);
	ck_assert_uint_eq(cfg->max_patterns, 16);
	ck_assert_uint_eq(cfg->max_output_buffer, 8388608);
	ck_assert_uint_eq(cfg->max_handshakes, 256);
	ck_assert_uint_eq(cfg->max_handshakes_per_address, 32);
	ck_assert_uint_eq(cfg->max_connections_per_endpoint, 64);
	ck_assert_uint_eq(cfg->publish_rate, 1000);
	ck_assert_uint_eq(cfg->publish_burst, 2000);
	ck_assert_uint_eq(cfg->handshake_timeout, 10);
	ck_assert_uint_eq(cfg->ping_interval, 30);
	ck_assert_uint_eq(cfg->idle_timeout, 90);
	ck_assert_uint_eq(cfg->shutdown_timeout, 5);
	ck_assert_str_eq(cfg->metrics_host, "127.0.0.1");
	ck_assert_uint_eq(cfg->metrics_port, 9464);
	ck_assert(!cfg->metrics_allow_remote);
	ck_assert_uint_eq(cfg->metrics_refresh, 5);
	ck_assert(!cfg->store_check_always);
	config_free(cfg);
}
END_TEST

START_TEST(test_config_all_keys)
{
	struct config *cfg = config_ok(base_config(
	    "listen: \"[::1]:0\"\n"
	    "data_dir: /srv/ccc\n"
	    "log_level: debug\n"
	    "limits:\n"
	    "  max_frame_size: 2048\n"
	    "  max_connections: 5\n"
	    "  max_subscriptions: 6\n"
	    "  max_patterns: 7\n"
	    "  max_output_buffer: 70000\n"
	    "  max_handshakes: 8\n"
	    "  max_handshakes_per_address: 2\n"
	    "  max_connections_per_endpoint: 3\n"
	    "  publish_rate: 0\n"
	    "  publish_burst: 10\n"
	    "timeouts:\n"
	    "  handshake: 3\n"
	    "  ping_interval: 4\n"
	    "  idle: 9\n"
	    "  shutdown: 0\n"));

	ck_assert_str_eq(cfg->listen_host, "::1");
	ck_assert_uint_eq(cfg->listen_port, 0);
	ck_assert_str_eq(cfg->data_dir, "/srv/ccc");
	ck_assert_str_eq(cfg->log_level, "debug");
	ck_assert_uint_eq(cfg->max_frame_size, 2048);
	ck_assert_uint_eq(cfg->max_connections, 5);
	ck_assert_uint_eq(cfg->max_subscriptions, 6);
	ck_assert_uint_eq(cfg->max_patterns, 7);
	ck_assert_uint_eq(cfg->max_output_buffer, 70000);
	ck_assert_uint_eq(cfg->max_handshakes, 8);
	ck_assert_uint_eq(cfg->max_handshakes_per_address, 2);
	ck_assert_uint_eq(cfg->max_connections_per_endpoint, 3);
	ck_assert_uint_eq(cfg->publish_rate, 0);
	ck_assert_uint_eq(cfg->publish_burst, 10);
	ck_assert_uint_eq(cfg->handshake_timeout, 3);
	ck_assert_uint_eq(cfg->ping_interval, 4);
	ck_assert_uint_eq(cfg->idle_timeout, 9);
	ck_assert_uint_eq(cfg->shutdown_timeout, 0);
	config_free(cfg);
}
END_TEST

/* Every bounded key: its section, name, bounds, field, and lines after it. */
static const struct {
	const char	*section;
	const char	*key;
	unsigned long	 min, max;
	size_t		 off;
	const char	*after;		/* keeps the idle/ping rule satisfied */
} bounds[] = {
	{ "limits", "max_frame_size", 1024, 16777216,
	    offsetof(struct config, max_frame_size), "" },
	{ "limits", "max_connections", 1, 1000000,
	    offsetof(struct config, max_connections), "" },
	{ "limits", "max_subscriptions", 1, 10000,
	    offsetof(struct config, max_subscriptions), "" },
	{ "limits", "max_patterns", 1, 1000,
	    offsetof(struct config, max_patterns), "" },
	{ "limits", "max_output_buffer", 65536, 1073741824,
	    offsetof(struct config, max_output_buffer), "" },
	{ "limits", "max_handshakes", 1, 100000,
	    offsetof(struct config, max_handshakes), "" },
	{ "limits", "max_handshakes_per_address", 1, 10000,
	    offsetof(struct config, max_handshakes_per_address), "" },
	{ "limits", "max_connections_per_endpoint", 1, 1000000,
	    offsetof(struct config, max_connections_per_endpoint), "" },
	{ "limits", "publish_rate", 0, 1000000,
	    offsetof(struct config, publish_rate), "" },
	{ "limits", "publish_burst", 1, 10000000,
	    offsetof(struct config, publish_burst), "" },
	{ "timeouts", "handshake", 1, 300,
	    offsetof(struct config, handshake_timeout), "" },
	{ "timeouts", "ping_interval", 1, 3600,
	    offsetof(struct config, ping_interval), "  idle: 86400\n" },
	{ "timeouts", "idle", 2, 86400,
	    offsetof(struct config, idle_timeout), "  ping_interval: 1\n" },
	{ "timeouts", "shutdown", 0, 300,
	    offsetof(struct config, shutdown_timeout), "" },
};

START_TEST(test_config_bounds)
{
	const char *sec = bounds[_i].section, *key = bounds[_i].key;
	unsigned long min = bounds[_i].min, max = bounds[_i].max;
	unsigned long good[] = { min, max };
	char extra[256], expected[256];
	struct config *cfg;

	for (int g = 0; g < 2; g++) {
		snprintf(extra, sizeof(extra), "%s:\n  %s: %lu\n%s", sec, key,
		    good[g], bounds[_i].after);
		cfg = config_ok(base_config(extra));
		ck_assert_uint_eq(*(uint32_t *)((char *)cfg + bounds[_i].off),
		    good[g]);
		config_free(cfg);
	}
	if (min > 0) {
		snprintf(extra, sizeof(extra), "%s:\n  %s: %lu\n%s", sec, key,
		    min - 1, bounds[_i].after);
		snprintf(expected, sizeof(expected), "test.yaml:7: %s.%s: %lu "
		    "is out of range (%lu..%lu)", sec, key, min - 1, min, max);
		config_fails(base_config(extra), expected);
	}
	snprintf(extra, sizeof(extra), "%s:\n  %s: %lu\n%s", sec, key, max + 1,
	    bounds[_i].after);
	snprintf(expected, sizeof(expected), "test.yaml:7: %s.%s: %lu is out "
	    "of range (%lu..%lu)", sec, key, max + 1, min, max);
	config_fails(base_config(extra), expected);
}
END_TEST

START_TEST(test_config_bad_numbers)
{
	config_fails(base_config("limits:\n  max_patterns: many\n"),
	    "test.yaml:7: limits.max_patterns: expected a whole number "
	    "(unquoted), got 'many'");
	config_fails(base_config("limits:\n  max_patterns: \"16\"\n"),
	    "test.yaml:7: limits.max_patterns: expected a whole number "
	    "(unquoted), got '16'");
	config_fails(base_config("limits:\n  max_patterns: -1\n"),
	    "test.yaml:7: limits.max_patterns: expected a whole number "
	    "(unquoted), got '-1'");
	config_fails(base_config("limits:\n  max_patterns: 99999999999999999999999\n"),
	    "test.yaml:7: limits.max_patterns: 99999999999999999999999 is out "
	    "of range (1..1000)");
	config_fails(base_config("limits:\n  max_patterns: [1]\n"),
	    "test.yaml:7: limits.max_patterns: expected a number, got a list");
	config_fails(base_config("limits:\n  max_patterns:\n"),
	    "test.yaml:7: limits.max_patterns: no value");
	config_fails(base_config("limits: 5\n"),
	    "test.yaml:6: limits: expected a mapping of keys");
}
END_TEST

START_TEST(test_config_unknown_key)
{
	config_fails(base_config("log_level: warn\nlisen: 127.0.0.1:1\n"),
	    "test.yaml:7: unknown key 'lisen' (expected one of: listen, tls, "
	    "registry, data_dir, user, group, log_level, store, limits, timeouts, "
	    "durable, retention, ttl, bench, metrics, console)");
	config_fails(base_config("timeouts:\n  handshake: 5\n  idel: 100\n"),
	    "test.yaml:8: unknown key 'idel' in timeouts (expected one of: "
	    "handshake, ping_interval, idle, shutdown)");
	config_fails(base_config("limits:\n  tls: 1\n"),
	    "test.yaml:7: unknown key 'tls' in limits (expected one of: "
	    "max_frame_size, max_connections, max_subscriptions, "
	    "max_patterns, max_output_buffer, max_handshakes, "
	    "max_handshakes_per_address, max_connections_per_endpoint, "
	    "publish_rate, publish_burst)");
	config_fails_prefix(base_config("limits:\n  max_frame_size: 2048\n"
	    "  max_frame_size: 4096\n"),
	    "test.yaml:8: YAML syntax error: ");
}
END_TEST

START_TEST(test_config_idle_vs_ping)
{
	config_fails(base_config("timeouts:\n  ping_interval: 30\n  idle: 30\n"),
	    "test.yaml:8: timeouts.idle (30) must be greater than "
	    "timeouts.ping_interval (30)");
	config_fails(base_config("timeouts:\n  idle: 20\n"),
	    "test.yaml:7: timeouts.idle (20) must be greater than "
	    "timeouts.ping_interval (30)");
	/* idle left at its default: the error points at ping_interval */
	config_fails(base_config("timeouts:\n  handshake: 5\n"
	    "  ping_interval: 100\n"),
	    "test.yaml:8: timeouts.idle (90) must be greater than "
	    "timeouts.ping_interval (100)");
	config_free(config_ok(base_config("timeouts:\n  ping_interval: 30\n"
	    "  idle: 31\n")));
}
END_TEST

START_TEST(test_config_missing_required)
{
	char yaml[1024];

	snprintf(yaml, sizeof(yaml), "tls:\n  cert: %s/cert.pem\n"
	    "  ca: %s/ca.pem\nregistry: %s/registry.yaml\n", tmpdir, tmpdir,
	    tmpdir);
	config_fails(yaml, "test.yaml:1: missing required key 'tls.key'");

	snprintf(yaml, sizeof(yaml), "tls:\n  cert: %s/cert.pem\n"
	    "  key: %s/key.pem\n  ca: %s/ca.pem\n", tmpdir, tmpdir, tmpdir);
	config_fails(yaml, "test.yaml: missing required key 'registry'");

	snprintf(yaml, sizeof(yaml), "registry: %s/registry.yaml\n", tmpdir);
	config_fails(yaml, "test.yaml: missing required key 'tls.cert'");

	snprintf(yaml, sizeof(yaml), "tls:\n  cert: %s/cert.pem\n"
	    "  key: %s/key.pem\n  ca:\nregistry: %s/registry.yaml\n", tmpdir,
	    tmpdir, tmpdir);
	config_fails(yaml, "test.yaml:4: tls.ca: no value");

	snprintf(yaml, sizeof(yaml), "tls:\n  cert: %s/cert.pem\n"
	    "  key: %s/key.pem\n  ca: []\nregistry: %s/registry.yaml\n", tmpdir,
	    tmpdir, tmpdir);
	config_fails(yaml, "test.yaml:4: tls.ca: needs at least 1 entry");

	config_fails("", "test.yaml: the file is empty");
	config_fails("# nothing\n", "test.yaml: the file is empty");
	config_fails("- a\n", "test.yaml:1: expected a mapping of keys at the "
	    "top level");
}
END_TEST

START_TEST(test_config_files_checked)
{
	char yaml[1024], expected[1024];

	snprintf(yaml, sizeof(yaml), "tls:\n  cert: %s/cert.pem\n"
	    "  key: %s/nokey.pem\n  ca: %s/ca.pem\nregistry: %s/registry.yaml\n",
	    tmpdir, tmpdir, tmpdir, tmpdir);
	snprintf(expected, sizeof(expected), "test.yaml:3: tls.key: cannot "
	    "read %s/nokey.pem: No such file or directory", tmpdir);
	config_fails(yaml, expected);

	snprintf(yaml, sizeof(yaml), "tls:\n  cert: %s/cert.pem\n"
	    "  key: %s/key.pem\n  ca:\n    - %s/ca.pem\n    - %s/noca.pem\n"
	    "registry: %s/registry.yaml\n", tmpdir, tmpdir, tmpdir, tmpdir,
	    tmpdir);
	snprintf(expected, sizeof(expected), "test.yaml:6: tls.ca: cannot "
	    "read %s/noca.pem: No such file or directory", tmpdir);
	config_fails(yaml, expected);

	snprintf(yaml, sizeof(yaml), "tls:\n  cert: %s/cert.pem\n"
	    "  key: %s/key.pem\n  ca: %s/ca.pem\nregistry: %s\n", tmpdir,
	    tmpdir, tmpdir, tmpdir);
	snprintf(expected, sizeof(expected), "test.yaml:5: registry: %s is "
	    "not a regular file", tmpdir);
	config_fails(yaml, expected);
}
END_TEST

START_TEST(test_config_ca_list)
{
	char yaml[1024], path[PATH_MAX];
	struct config *cfg;

	snprintf(yaml, sizeof(yaml), "tls:\n  cert: %s/cert.pem\n"
	    "  key: %s/key.pem\n  ca: [%s/ca.pem, %s/ca2.pem]\n"
	    "registry: %s/registry.yaml\n", tmpdir, tmpdir, tmpdir, tmpdir,
	    tmpdir);
	cfg = config_ok(yaml);
	ck_assert_uint_eq(cfg->n_tls_ca, 2);
	snprintf(path, sizeof(path), "%s/ca.pem", tmpdir);
	ck_assert_str_eq(cfg->tls_ca[0], path);
	snprintf(path, sizeof(path), "%s/ca2.pem", tmpdir);
	ck_assert_str_eq(cfg->tls_ca[1], path);
	config_free(cfg);
}
END_TEST

/* tls.crl: optional; one path or a list, each checked like tls.ca. */
START_TEST(test_config_crl)
{
	char yaml[1024], path[PATH_MAX], expected[1024], err[1024] = "";
	struct config *cfg;

	snprintf(yaml, sizeof(yaml), "tls:\n  cert: %s/cert.pem\n"
	    "  key: %s/key.pem\n  ca: %s/ca.pem\n  crl: %s/crl.pem\n"
	    "registry: %s/registry.yaml\n", tmpdir, tmpdir, tmpdir, tmpdir,
	    tmpdir);
	cfg = config_ok(yaml);
	ck_assert_uint_eq(cfg->n_tls_crl, 1);
	snprintf(path, sizeof(path), "%s/crl.pem", tmpdir);
	ck_assert_str_eq(cfg->tls_crl[0], path);
	config_free(cfg);

	snprintf(yaml, sizeof(yaml), "tls:\n  cert: %s/cert.pem\n"
	    "  key: %s/key.pem\n  ca: %s/ca.pem\n"
	    "  crl:\n    - %s/crl.pem\n    - %s/crl2.pem\n"
	    "registry: %s/registry.yaml\n", tmpdir, tmpdir, tmpdir, tmpdir,
	    tmpdir, tmpdir);
	cfg = config_ok(yaml);
	ck_assert_uint_eq(cfg->n_tls_crl, 2);
	snprintf(path, sizeof(path), "%s/crl2.pem", tmpdir);
	ck_assert_str_eq(cfg->tls_crl[1], path);
	config_free(cfg);

	snprintf(yaml, sizeof(yaml), "tls:\n  cert: %s/cert.pem\n"
	    "  key: %s/key.pem\n  ca: %s/ca.pem\n"
	    "  crl: [%s/crl.pem, %s/nocrl.pem]\n"
	    "registry: %s/registry.yaml\n", tmpdir, tmpdir, tmpdir, tmpdir,
	    tmpdir, tmpdir);
	snprintf(expected, sizeof(expected), "test.yaml:5: tls.crl: cannot "
	    "read %s/nocrl.pem: No such file or directory", tmpdir);
	config_fails(yaml, expected);

	snprintf(yaml, sizeof(yaml), "tls:\n  cert: %s/cert.pem\n"
	    "  key: %s/key.pem\n  ca: %s/ca.pem\n  crl: []\n"
	    "registry: %s/registry.yaml\n", tmpdir, tmpdir, tmpdir, tmpdir);
	config_fails(yaml, "test.yaml:5: tls.crl: needs at least 1 entry");

	snprintf(yaml, sizeof(yaml), "tls:\n  cert: %s/cert.pem\n"
	    "  key: %s/key.pem\n  ca: %s/ca.pem\n  crl:\n"
	    "registry: %s/registry.yaml\n", tmpdir, tmpdir, tmpdir, tmpdir);
	config_fails(yaml, "test.yaml:5: tls.crl: no value");

	snprintf(yaml, sizeof(yaml), "tls:\n  cert: %s/cert.pem\n"
	    "  key: %s/key.pem\n  ca: %s/ca.pem\n  crls: %s/crl.pem\n"
	    "registry: %s/registry.yaml\n", tmpdir, tmpdir, tmpdir, tmpdir,
	    tmpdir);
	config_fails(yaml, "test.yaml:5: unknown key 'crls' in tls (expected "
	    "one of: cert, key, ca, crl, session_tickets, session_cache_size)");

	/* session resumption: off unless asked for, bounded */
	snprintf(yaml, sizeof(yaml), "tls:\n  cert: %s/cert.pem\n"
	    "  key: %s/key.pem\n  ca: %s/ca.pem\n"
	    "registry: %s/registry.yaml\n", tmpdir, tmpdir, tmpdir, tmpdir);
	cfg = config_ok(yaml);
	ck_assert_uint_eq(cfg->tls_tickets, 0);
	ck_assert_uint_eq(cfg->tls_session_cache, 10000);
	config_free(cfg);
	snprintf(yaml, sizeof(yaml), "tls:\n  cert: %s/cert.pem\n"
	    "  key: %s/key.pem\n  ca: %s/ca.pem\n  session_tickets: 2h\n"
	    "registry: %s/registry.yaml\n", tmpdir, tmpdir, tmpdir, tmpdir);
	cfg = config_ok(yaml);
	ck_assert_uint_eq(cfg->tls_tickets, 7200);
	config_free(cfg);
	snprintf(yaml, sizeof(yaml), "tls:\n  cert: %s/cert.pem\n"
	    "  key: %s/key.pem\n  ca: %s/ca.pem\n  session_tickets: 8d\n"
	    "registry: %s/registry.yaml\n", tmpdir, tmpdir, tmpdir, tmpdir);
	cfg = NULL;
	ck_assert_int_eq(config_load_string(yaml, "test.yaml", &cfg, err,
	    sizeof(err)), -1);
	ck_assert_ptr_null(cfg);
	snprintf(yaml, sizeof(yaml), "tls:\n  cert: %s/cert.pem\n"
	    "  key: %s/key.pem\n  ca: %s/ca.pem\n  session_cache_size: 0\n"
	    "registry: %s/registry.yaml\n", tmpdir, tmpdir, tmpdir, tmpdir);
	ck_assert_int_eq(config_load_string(yaml, "test.yaml", &cfg, err,
	    sizeof(err)), -1);
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strstr(err, "session_cache_size") != NULL, "%s", err);
}
END_TEST

START_TEST(test_config_relative_paths)
{
	char yaml[1024], path[PATH_MAX + 128], cwd[PATH_MAX], err[1024] = "";
	struct config *cfg = NULL;

	/* from a file: against the file's directory */
	write_file(tmpdir, "cccd.yaml",
	    "tls:\n"
	    "  cert: cert.pem\n"
	    "  key: ./key.pem\n"
	    "  ca: [ca.pem, ca2.pem]\n"
	    "  crl: crl.pem\n"
	    "registry: registry.yaml\n"
	    "data_dir: state\n");
	snprintf(path, sizeof(path), "%s/cccd.yaml", tmpdir);
	if (config_load(path, &cfg, err, sizeof(err)) != 0)
		ck_abort_msg("unexpected error: %s", err);
	snprintf(path, sizeof(path), "%s/cert.pem", tmpdir);
	ck_assert_str_eq(cfg->tls_cert, path);
	snprintf(path, sizeof(path), "%s/key.pem", tmpdir);
	ck_assert_str_eq(cfg->tls_key, path);
	snprintf(path, sizeof(path), "%s/ca2.pem", tmpdir);
	ck_assert_str_eq(cfg->tls_ca[1], path);
	snprintf(path, sizeof(path), "%s/crl.pem", tmpdir);
	ck_assert_str_eq(cfg->tls_crl[0], path);
	snprintf(path, sizeof(path), "%s/registry.yaml", tmpdir);
	ck_assert_str_eq(cfg->registry, path);
	snprintf(path, sizeof(path), "%s/state", tmpdir);
	ck_assert_str_eq(cfg->data_dir, path);
	config_free(cfg);

	/* from a string: against the current directory */
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	snprintf(yaml, sizeof(yaml), "tls:\n  cert: %s/cert.pem\n"
	    "  key: %s/key.pem\n  ca: %s/ca.pem\nregistry: " DEMO_REGISTRY "\n"
	    "data_dir: var\n", tmpdir, tmpdir, tmpdir);
	cfg = config_ok(yaml);
	snprintf(path, sizeof(path), "%s/" DEMO_REGISTRY, cwd);
	ck_assert_str_eq(cfg->registry, path);
	snprintf(path, sizeof(path), "%s/var", cwd);
	ck_assert_str_eq(cfg->data_dir, path);
	config_free(cfg);

	/* a relative path that does not exist names where it looked */
	snprintf(yaml, sizeof(yaml), "tls:\n  cert: %s/cert.pem\n"
	    "  key: %s/key.pem\n  ca: %s/ca.pem\nregistry: nowhere.yaml\n",
	    tmpdir, tmpdir, tmpdir);
	snprintf(path, sizeof(path), "test.yaml:5: registry: cannot read "
	    "%s/nowhere.yaml: No such file or directory", cwd);
	config_fails(yaml, path);
}
END_TEST

/* Copy the file at from (relative to the repository root) to path. */
static void
copy_file(const char *from, const char *path)
{
	FILE *in = fopen(from, "r"), *out = fopen(path, "w");
	char buf[4096];
	size_t n;

	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
	fclose(in);
	fclose(out);
}

/*
 * The demo config, laid out as in the repository (broker/etc/ with
 * certs/demo/ two levels up), loads and holds every default.
 */
START_TEST(test_config_demo_file)
{
	static const char *const dirs[] = { "broker", "broker/etc", "certs",
	    "certs/demo" };
	static const char *const files[] = { "broker/etc/cccd.yaml",
	    "broker/etc/registry.yaml", "certs/demo/cccd.pem",
	    "certs/demo/cccd.key", "certs/demo/ca.pem" };
	char path[PATH_MAX + 128], err[1024] = "";
	struct config *cfg = NULL;
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, dirs[i]);
		ck_assert_int_eq(mkdir(path, 0700), 0);
	}
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, files[i]);
		copy_file(files[i], path);
	}
	for (; i < sizeof(files) / sizeof(files[0]); i++)
		write_file(tmpdir, files[i], "stand-in\n");

	snprintf(path, sizeof(path), "%s/broker/etc/cccd.yaml", tmpdir);
	if (config_load(path, &cfg, err, sizeof(err)) != 0)
		ck_abort_msg("demo config: %s", err);
	ck_assert_str_eq(cfg->listen_host, "127.0.0.1");
	ck_assert_uint_eq(cfg->listen_port, 7443);
	snprintf(path, sizeof(path), "%s/broker/etc/../../certs/demo/cccd.pem",
	    tmpdir);
	ck_assert_str_eq(cfg->tls_cert, path);
	snprintf(path, sizeof(path), "%s/broker/etc/../../certs/demo/cccd.key",
	    tmpdir);
	ck_assert_str_eq(cfg->tls_key, path);
	ck_assert_uint_eq(cfg->n_tls_ca, 1);
	snprintf(path, sizeof(path), "%s/broker/etc/../../certs/demo/ca.pem",
	    tmpdir);
	ck_assert_str_eq(cfg->tls_ca[0], path);
	snprintf(path, sizeof(path), "%s/broker/etc/registry.yaml", tmpdir);
	ck_assert_str_eq(cfg->registry, path);
	snprintf(path, sizeof(path), "%s/broker/etc/../../var", tmpdir);
	ck_assert_str_eq(cfg->data_dir, path);
	ck_assert_str_eq(cfg->log_level, "info");
	ck_assert_uint_eq(cfg->max_frame_size, 65536);
	ck_assert_uint_eq(cfg->max_connections, 10000);
	ck_assert_uint_eq(cfg->max_subscriptions, 64);
	ck_assert_uint_eq(cfg->max_patterns, 16);
	ck_assert_uint_eq(cfg->max_output_buffer, 8388608);
	ck_assert_uint_eq(cfg->max_handshakes, 256);
	ck_assert_uint_eq(cfg->max_handshakes_per_address, 32);
	ck_assert_uint_eq(cfg->max_connections_per_endpoint, 64);
	ck_assert_uint_eq(cfg->publish_rate, 1000);
	ck_assert_uint_eq(cfg->publish_burst, 2000);
	ck_assert_uint_eq(cfg->handshake_timeout, 10);
	ck_assert_uint_eq(cfg->ping_interval, 30);
	ck_assert_uint_eq(cfg->idle_timeout, 90);
	ck_assert_uint_eq(cfg->shutdown_timeout, 5);
	ck_assert_str_eq(cfg->metrics_host, "127.0.0.1");
	ck_assert_uint_eq(cfg->metrics_port, 9464);
	ck_assert(!cfg->metrics_allow_remote);
	ck_assert_uint_eq(cfg->metrics_refresh, 5);
	config_free(cfg);

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, files[i]);
		unlink(path);
	}
	for (i = sizeof(dirs) / sizeof(dirs[0]); i-- > 0;) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, dirs[i]);
		rmdir(path);
	}
}
END_TEST

START_TEST(test_config_load_file_errors)
{
	struct config *cfg = NULL;
	char err[1024] = "";

	ck_assert_int_eq(config_load("/nonexistent/cccd.yaml", &cfg, err,
	    sizeof(err)), -1);
	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(err, "/nonexistent/cccd.yaml: No such file or "
	    "directory");
}
END_TEST

START_TEST(test_config_listen_good)
{
	struct config *cfg;

	cfg = config_ok(base_config("listen: \"[::1]:7443\"\n"));
	ck_assert_str_eq(cfg->listen_host, "::1");
	ck_assert_uint_eq(cfg->listen_port, 7443);
	config_free(cfg);
	cfg = config_ok(base_config("listen: 0.0.0.0:0\n"));
	ck_assert_str_eq(cfg->listen_host, "0.0.0.0");
	ck_assert_uint_eq(cfg->listen_port, 0);
	config_free(cfg);
	cfg = config_ok(base_config("listen: 10.1.2.3:65535\n"));
	ck_assert_str_eq(cfg->listen_host, "10.1.2.3");
	ck_assert_uint_eq(cfg->listen_port, 65535);
	config_free(cfg);
	cfg = config_ok(base_config("listen: \"[fe80::1:2]:7443\"\n"));
	ck_assert_str_eq(cfg->listen_host, "fe80::1:2");
	config_free(cfg);
	cfg = config_ok(base_config("listen: \"[::]:1\"\n"));
	ck_assert_str_eq(cfg->listen_host, "::");
	config_free(cfg);
}
END_TEST

static const struct {
	const char	*value;
	const char	*why;
} bad_listen[] = {
	{ "7443", "expected ADDRESS:PORT, e.g. 127.0.0.1:7443 or [::1]:7443" },
	{ "\"::1:7443\"", "an IPv6 address goes in brackets, e.g. [::1]:7443" },
	{ "\"[::1]7443\"", "expected [IPv6]:PORT, e.g. [::1]:7443" },
	{ "\"[::1:7443\"", "expected [IPv6]:PORT, e.g. [::1]:7443" },
	{ "\"[]:7443\"", "no host before the port (0.0.0.0 or [::] listen on "
	    "all addresses)" },
	{ "\":7443\"", "no host before the port (0.0.0.0 or [::] listen on "
	    "all addresses)" },
	{ "\"[1.2.3.4]:7443\"", "'1.2.3.4' is not an IPv6 address" },
	{ "300.1.1.1:7443", "'300.1.1.1' is not an IPv4 address (names are "
	    "not resolved; e.g. 127.0.0.1 or [::1])" },
	{ "localhost:7443", "'localhost' is not an IPv4 address (names are "
	    "not resolved; e.g. 127.0.0.1 or [::1])" },
	{ "1.2.3:7443", "'1.2.3' is not an IPv4 address (names are "
	    "not resolved; e.g. 127.0.0.1 or [::1])" },
	{ "\"127.0.0.1:\"", "the port must be a number 0..65535" },
	{ "127.0.0.1:65536", "the port must be a number 0..65535" },
	{ "127.0.0.1:-1", "the port must be a number 0..65535" },
	{ "127.0.0.1:http", "the port must be a number 0..65535" },
	{ "127.0.0.1:000443", "the port must be a number 0..65535" },
};

START_TEST(test_config_listen_bad)
{
	char extra[128], expected[256];

	snprintf(extra, sizeof(extra), "data_dir: /x\nlisten: %s\n",
	    bad_listen[_i].value);
	snprintf(expected, sizeof(expected), "test.yaml:7: listen: %s",
	    bad_listen[_i].why);
	config_fails(base_config(extra), expected);
}
END_TEST

START_TEST(test_config_log_level)
{
	struct config *cfg = config_ok(base_config("log_level: error\n"));

	ck_assert_str_eq(cfg->log_level, "error");
	config_free(cfg);
	config_fails(base_config("log_level: verbose\n"),
	    "test.yaml:6: log_level: 'verbose' is not one of debug, info, "
	    "warn, error");
	config_fails(base_config("log_level: [info]\n"),
	    "test.yaml:6: log_level: expected a string, got a list");
}
END_TEST

START_TEST(test_config_store_check)
{
	struct config *cfg = config_ok(base_config("store:\n"
	    "  check_at_start: always\n"));

	ck_assert(cfg->store_check_always);
	config_free(cfg);
	cfg = config_ok(base_config("store:\n  check_at_start: unclean\n"));
	ck_assert(!cfg->store_check_always);
	config_free(cfg);
	config_fails(base_config("store:\n  check_at_start: never\n"),
	    "test.yaml:7: store.check_at_start: 'never' is not one of always, "
	    "unclean");
}
END_TEST

START_TEST(test_config_user_group)
{
	struct config *cfg = config_ok(base_config("user: ccc\ngroup: ccc\n"));

	ck_assert_str_eq(cfg->user, "ccc");
	ck_assert_str_eq(cfg->group, "ccc");
	config_free(cfg);
	cfg = config_ok(base_config("user: _ccc-broker.1\n"));
	ck_assert_str_eq(cfg->user, "_ccc-broker.1");
	ck_assert_ptr_null(cfg->group);
	config_free(cfg);
	config_fails(base_config("group: ccc\n"),
	    "test.yaml:6: group: needs user as well");
	config_fails(base_config("user: \"a b\"\n"),
	    "test.yaml:6: user: expected a user name (letters, digits, \"_\", "
	    "\".\", \"-\"; at most 32)");
	config_fails(base_config("user: \"-x\"\n"),
	    "test.yaml:6: user: expected a user name (letters, digits, \"_\", "
	    "\".\", \"-\"; at most 32)");
	config_fails(base_config("user: ccc\ngroup: 100\n"),
	    "test.yaml:7: group: expected a group name (letters, digits, \"_\", "
	    "\".\", \"-\"; at most 32)");
	config_fails(base_config("user: [ccc]\n"),
	    "test.yaml:6: user: expected a string, got a list");
}
END_TEST

START_TEST(test_config_yaml_errors)
{
	config_fails_prefix(base_config("limits:\n  max_frame_size: [2048\n"),
	    "test.yaml:8: YAML syntax error: ");
	config_fails_prefix(base_config("limits:\n\tmax_frame_size: 2048\n"),
	    "test.yaml:7: YAML syntax error: ");
	config_fails_prefix(base_config("data_dir: \"/var/lib\n"),
	    "test.yaml:6: YAML syntax error: ");
	config_fails_prefix(base_config("data_dir: /var/\xff\n"),
	    "test.yaml:6: ");
	config_fails(base_config("---\nlog_level: info\n"),
	    "test.yaml:7: a second YAML document starts here; the file must "
	    "hold exactly one");
	config_fails(base_config("log_level: &lvl info\ndata_dir: *lvl\n"),
	    "test.yaml:7: aliases (*name) are not supported; write the value "
	    "out");
	config_fails(base_config("log_level: !!str info\n"),
	    "test.yaml:6: tags (!name) are not supported");
	config_fails(base_config("? [a, b]\n: 1\n"),
	    "test.yaml:6: mapping keys must be plain strings");
	config_fails(base_config("data_dir: \"/var/\\0lib\"\n"),
	    "test.yaml:6: data_dir: must be one line without control "
	    "characters");
	config_fails(base_config("data_dir: \"/var/\\nlib\"\n"),
	    "test.yaml:6: data_dir: must be one line without control "
	    "characters");
	config_fails(base_config("data_dir: \"\"\n"),
	    "test.yaml:6: data_dir: must not be empty");
}
END_TEST

/*
 * The whole file must be UTF-8, comments included: libfyaml 0.7 looped
 * forever on a directive line with a malformed sequence (found by fuzzing).
 */
START_TEST(test_yaml_bad_utf8_anywhere)
{
	struct registry *reg = NULL;
	char err[1024];

	config_fails("%\xe7", "test.yaml:1: not valid UTF-8 text (a malformed "
	    "sequence or a NUL byte)");
	config_fails(base_config("%\xe7\n"), "test.yaml:6: not valid UTF-8 "
	    "text (a malformed sequence or a NUL byte)");
	config_fails(base_config("log_level: info # caf\xe9\n"), "test.yaml:6: "
	    "not valid UTF-8 text (a malformed sequence or a NUL byte)");
	ck_assert_int_eq(registry_load_string("version: 1\n%\xc3", "reg.yaml",
	    &reg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "reg.yaml:2: not valid UTF-8 text (a malformed "
	    "sequence or a NUL byte)");
	ck_assert_ptr_null(reg);
}
END_TEST

/* ---- registry ------------------------------------------------------------ */

static struct registry *
registry_ok(const char *yaml)
{
	struct registry *reg = NULL;
	char err[1024] = "";

	if (registry_load_string(yaml, "reg.yaml", &reg, err, sizeof(err)) != 0)
		ck_abort_msg("unexpected error: %s", err);
	ck_assert_ptr_nonnull(reg);
	return reg;
}

START_TEST(test_registry_demo)
{
	const struct access_rule *rules;
	const struct endpoint *ep;
	const struct section *sec;
	struct registry *reg = NULL;
	char err[1024] = "";
	size_t n;

	if (registry_load(DEMO_REGISTRY, &reg, err, sizeof(err)) != 0)
		ck_abort_msg("demo registry: %s", err);
	ck_assert_uint_eq(registry_nendpoints(reg), 9);
	ck_assert_uint_eq(registry_nsections(reg), 14);
	{
		const struct route_rule *rt = registry_routes(reg, &n);

		ck_assert_uint_eq(n, 1);
		ck_assert_str_eq(rt[0].id, "tr-bg-customs");
		ck_assert_uint_eq(rt[0].n_categories, 2);
		ck_assert_uint_eq(rt[0].n_targets, 2);
		ck_assert_str_eq(rt[0].targets[0], "bg-customs");
		ck_assert_int_eq(rt[0].min_severity, 0);
		ck_assert_uint_eq(rt[0].n_origins, 0);
	}

	ep = registry_endpoint(reg, "tr-police");
	ck_assert_ptr_nonnull(ep);
	ck_assert_str_eq(ep->id, "tr-police");
	ck_assert_str_eq(ep->country, "TR");
	ck_assert_str_eq(ep->kind, "police");
	ck_assert_str_eq(ep->name,
	    "Turkish National Police (Emniyet Genel Müdürlüğü)");
	ck_assert_uint_eq(ep->roles, ROLE_PUBLISHER | ROLE_SUBSCRIBER);
	ck_assert(!ep->suspended);

	ep = registry_endpoint(reg, "bg-border-police");
	ck_assert_ptr_nonnull(ep);
	ck_assert_str_eq(ep->kind, "border_police");
	ck_assert_str_eq(ep->name, "Border Police (Гранична полиция)");

	ep = registry_endpoint(reg, "ccc-operator");
	ck_assert_ptr_nonnull(ep);
	ck_assert_ptr_null(ep->country);
	ck_assert_str_eq(ep->kind, "operator");
	ck_assert_uint_eq(ep->roles, ROLE_OPERATOR);

	static const char *const ids[] = { "tr-police", "tr-gendarmerie",
	    "tr-customs", "bg-border-police", "bg-customs", "gr-police",
	    "gr-customs", "ccc-operator", "ccc-operator-2" };
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		ck_assert_msg(registry_endpoint(reg, ids[i]) != NULL, "%s",
		    ids[i]);
	ck_assert_ptr_null(registry_endpoint(reg, "tr-polic"));
	ck_assert_ptr_null(registry_endpoint(reg, "zz"));
	ck_assert_ptr_null(registry_endpoint(reg, ""));

	static const char *const secs[] = { "tr-bg/kapikule",
	    "tr-bg/hamzabeyli", "tr-bg/derekoy", "tr-bg/strandzha",
	    "tr-gr/ipsala", "tr-gr/pazarkule", "tr-gr/uzunkopru",
	    "tr-gr/evros", "bg-gr/kulata", "bg-gr/ilinden", "bg-gr/makaza",
	    "bg-gr/kapitan-petko-voyvoda", "bg-gr/zlatograd",
	    "bg-gr/ivaylovgrad" };
	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++)
		ck_assert_msg(registry_section(reg, secs[i]) != NULL, "%s",
		    secs[i]);
	sec = registry_section(reg, "tr-bg/kapikule");
	ck_assert_str_eq(sec->border, "tr-bg");
	ck_assert_str_eq(sec->name,
	    "Kapıkule – Kapitan Andreevo (road and rail)");
	ck_assert(sec->located);
	ck_assert(sec->lat == 41.713 && sec->lon == 26.357);
	sec = registry_section(reg, "bg-gr/ivaylovgrad");
	ck_assert_str_eq(sec->name, "Ivaylovgrad – Kyprinos");
	{
		const struct section *all = registry_sections(reg, &n);

		/* every demo section is on the map, within the three countries */
		for (size_t i = 0; i < n; i++)
			ck_assert_msg(all[i].located && all[i].lat > 40.5 &&
			    all[i].lat < 42.5 && all[i].lon > 23 &&
			    all[i].lon < 28.5, "%s", all[i].id);
	}
	ck_assert_ptr_null(registry_section(reg, "tr-bg/*"));
	ck_assert_ptr_null(registry_section(reg, "tr-bg"));

	rules = registry_rules(reg, &n);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(rules[0].id, "tr-publish");
	ck_assert_int_eq(rules[0].action, ACL_PUBLISH);
	ck_assert(rules[0].all_categories);
	ck_assert_uint_eq(rules[0].n_categories, 0);
	ck_assert_uint_eq(rules[0].n_endpoints, 3);
	ck_assert_uint_eq(rules[0].n_sections, 2);
	ck_assert_str_eq(rules[0].sections[1], "tr-gr/*");
	ck_assert_uint_eq(rules[0].n_topics, 0);
	ck_assert_str_eq(rules[4].id, "customs-subscribe");
	ck_assert_int_eq(rules[4].action, ACL_SUBSCRIBE);
	ck_assert_uint_eq(rules[4].n_topics, 4);
	ck_assert_str_eq(rules[4].topics[3], "alerts/stolen_vehicle/#");

	/* a second reference keeps the snapshot alive */
	ck_assert_ptr_eq(registry_ref(reg), reg);
	registry_unref(reg);
	ck_assert_str_eq(registry_endpoint(reg, "gr-police")->id, "gr-police");
	registry_unref(reg);
}
END_TEST

START_TEST(test_registry_categories)
{
	struct registry *reg = registry_ok(
	    "version: 1\n"
	    "sections:\n"
	    "  - {id: tr-bg/kapikule, name: K}\n"
	    "endpoints:\n"
	    "  - {id: a, kind: police, name: A, roles: [publisher]}\n"
	    "access_rules:\n"
	    "  - id: r\n"
	    "    action: publish\n"
	    "    endpoints: [a]\n"
	    "    categories: [drugs, stolen_vehicle]\n"
	    "    sections: [tr-bg/kapikule]\n");
	const struct access_rule *rules;
	size_t n;

	rules = registry_rules(reg, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert(!rules[0].all_categories);
	ck_assert_uint_eq(rules[0].n_categories, 2);
	ck_assert_int_eq(rules[0].categories[0], 3);	/* CATEGORY_DRUGS */
	ck_assert_int_eq(rules[0].categories[1], 6);	/* CATEGORY_STOLEN_VEHICLE */
	registry_unref(reg);
}
END_TEST

START_TEST(test_registry_role_names)
{
	ck_assert_str_eq(registry_role_name(ROLE_PUBLISHER), "publisher");
	ck_assert_str_eq(registry_role_name(ROLE_SUBSCRIBER), "subscriber");
	ck_assert_str_eq(registry_role_name(ROLE_OPERATOR), "operator");
	ck_assert_str_eq(registry_role_name(
	    (enum endpoint_role)(ROLE_PUBLISHER | ROLE_SUBSCRIBER)),
	    "publisher,subscriber");
}
END_TEST

/*
 * A small valid registry; the error cases below edit it. Line numbers:
 * 1 version, 3-4 the section, 6-10 the endpoint, 12-16 the rule; text
 * appended starts at line 17.
 */
static const char reg_base[] =
    "version: 1\n"
    "sections:\n"
    "  - id: tr-bg/kapikule\n"
    "    name: Kapikule\n"
    "endpoints:\n"
    "  - id: tr-police\n"
    "    country: TR\n"
    "    kind: police\n"
    "    name: TNP\n"
    "    roles: [publisher, subscriber]\n"
    "access_rules:\n"
    "  - id: pub\n"
    "    action: publish\n"
    "    endpoints: [tr-police]\n"
    "    categories: [\"*\"]\n"
    "    sections: [\"tr-bg/*\"]\n";

#define SUB_RULE(topics)						\
	"  - id: sub\n    action: subscribe\n    endpoints: [tr-police]\n"	\
	"    topics: " topics "\n"

static const struct {
	const char	*from;		/* replaced once by to; "" appends to */
	const char	*to;
	const char	*err;		/* the whole message; "" when it loads */
} reg_cases[] = {
	{ "version: 1", "version: 2",
	    "reg.yaml:1: version: unsupported registry version 2 (this broker "
	    "reads version 1)" },
	{ "version: 1\n", "",
	    "reg.yaml:1: missing required key 'version' in the registry" },
	{ "", "extra: 1\n",
	    "reg.yaml:17: unknown key 'extra' (expected one of: version, "
	    "revision, sections, endpoints, access_rules, routes)" },
	{ "sections:\n  - id: tr-bg/kapikule\n    name: Kapikule\n",
	    "sections: {}\n",
	    "reg.yaml:2: sections: expected a list (write [] for none)" },
	{ "    name: Kapikule\n", "    name: Kapikule\n    nme: x\n",
	    "reg.yaml:5: unknown key 'nme' in section (expected one of: id, "
	    "name, lat, lon)" },
	{ "    name: Kapikule\n", "    name: Kapikule\n    lat: 41.713\n",
	    "reg.yaml:5: lat: given without lon (a section has both lat and "
	    "lon, or neither)" },
	{ "    name: Kapikule\n", "    name: Kapikule\n    lon: 26.357\n",
	    "reg.yaml:5: lon: given without lat (a section has both lat and "
	    "lon, or neither)" },
	{ "    name: Kapikule\n", "    name: Kapikule\n    lat: 91\n"
	    "    lon: 26.357\n",
	    "reg.yaml:5: lat: 91 is out of range (-90..90)" },
	{ "    name: Kapikule\n", "    name: Kapikule\n    lat: -90.0000001\n"
	    "    lon: 26.357\n",
	    "reg.yaml:5: lat: -90.0000001 is out of range (-90..90)" },
	{ "    name: Kapikule\n", "    name: Kapikule\n    lat: 41.713\n"
	    "    lon: -180.5\n",
	    "reg.yaml:6: lon: -180.5 is out of range (-180..180)" },
	{ "    name: Kapikule\n", "    name: Kapikule\n    lat: 41.713\n"
	    "    lon: 1e999\n",
	    "reg.yaml:6: lon: 1e999 is out of range (-180..180)" },
	{ "    name: Kapikule\n", "    name: Kapikule\n    lat: \"41.713\"\n"
	    "    lon: 26.357\n",
	    "reg.yaml:5: lat: expected a decimal number (unquoted, e.g. 41.713), "
	    "got '41.713'" },
	{ "    name: Kapikule\n", "    name: Kapikule\n    lat: .nan\n"
	    "    lon: 26.357\n",
	    "reg.yaml:5: lat: expected a decimal number (unquoted, e.g. 41.713), "
	    "got '.nan'" },
	{ "    name: Kapikule\n", "    name: Kapikule\n    lat: 0x29\n"
	    "    lon: 26.357\n",
	    "reg.yaml:5: lat: expected a decimal number (unquoted, e.g. 41.713), "
	    "got '0x29'" },
	{ "    name: Kapikule\n", "    name: Kapikule\n    lat: 41.7 N\n"
	    "    lon: 26.357\n",
	    "reg.yaml:5: lat: expected a decimal number (unquoted, e.g. 41.713), "
	    "got '41.7 N'" },
	{ "    name: Kapikule\n", "    name: Kapikule\n    lat: 4e\n"
	    "    lon: 26.357\n",
	    "reg.yaml:5: lat: expected a decimal number (unquoted, e.g. 41.713), "
	    "got '4e'" },
	{ "    name: Kapikule\n", "    name: Kapikule\n    lat:\n"
	    "    lon: 26.357\n",
	    "reg.yaml:5: lat: no value" },
	{ "    name: Kapikule\n", "    name: Kapikule\n    lat: [41]\n"
	    "    lon: 26.357\n",
	    "reg.yaml:5: lat: expected a number, got a list" },
	{ "    name: Kapikule\n", "    name: Kapikule\n    lat: -90\n"
	    "    lon: 180\n", "" },
	{ "    country: TR", "    contry: TR",
	    "reg.yaml:7: unknown key 'contry' in endpoint (expected one of: id, "
	    "country, kind, name, roles, suspended, ca)" },
	{ "    action: publish", "    action: publish\n    topic: [a]",
	    "reg.yaml:14: unknown key 'topic' in access rule (expected one of: "
	    "id, action, endpoints, categories, sections, topics)" },
	{ "endpoints:\n", "  - id: tr-bg/kapikule\n    name: again\nendpoints:\n",
	    "reg.yaml:5: id: duplicate section id 'tr-bg/kapikule' (first "
	    "defined at line 3)" },
	{ "access_rules:\n", "  - id: tr-police\n    kind: police\n"
	    "    name: again\n    roles: [subscriber]\naccess_rules:\n",
	    "reg.yaml:11: id: duplicate endpoint id 'tr-police' (first defined "
	    "at line 6)" },
	{ "", SUB_RULE("[\"alerts/#\"]") "  - id: pub\n    action: subscribe\n"
	    "    endpoints: [tr-police]\n    topics: [\"alerts/#\"]\n",
	    "reg.yaml:21: id: duplicate access rule id 'pub' (first defined at "
	    "line 12)" },
	{ "  - id: tr-bg/kapikule", "  - id: tr-xx/kapikule",
	    "reg.yaml:3: id: 'tr-xx/kapikule' is not a section id (expected "
	    "<border>/<crossing>, e.g. tr-bg/kapikule, with border two of tr, "
	    "bg, gr)" },
	{ "  - id: tr-bg/kapikule", "  - id: kapikule",
	    "reg.yaml:3: id: 'kapikule' is not a section id (expected "
	    "<border>/<crossing>, e.g. tr-bg/kapikule, with border two of tr, "
	    "bg, gr)" },
	{ "  - id: tr-bg/kapikule", "  - id: tr-tr/kapikule",
	    "reg.yaml:3: id: 'tr-tr/kapikule' is not a section id (expected "
	    "<border>/<crossing>, e.g. tr-bg/kapikule, with border two of tr, "
	    "bg, gr)" },
	{ "  - id: tr-police", "  - id: TR_police",
	    "reg.yaml:6: id: 'TR_police' is not an endpoint id (expected "
	    "[a-z0-9][a-z0-9-]{0,62}, the certificate CN)" },
	{ "  - id: tr-police", "  - id: -tr-police",
	    "reg.yaml:6: id: '-tr-police' is not an endpoint id (expected "
	    "[a-z0-9][a-z0-9-]{0,62}, the certificate CN)" },
	{ "  - id: tr-police", "  - id: "
	    "a234567890123456789012345678901234567890123456789012345678901234",
	    "reg.yaml:6: id: '"
	    "a234567890123456789012345678901234567890123456789012345678901234"
	    "' is not an endpoint id (expected [a-z0-9][a-z0-9-]{0,62}, the "
	    "certificate CN)" },
	{ "  - id: pub", "  - id: Pub",
	    "reg.yaml:12: id: 'Pub' is not a rule id (expected "
	    "[a-z0-9][a-z0-9-]{0,62})" },
	{ "    country: TR", "    country: TK",
	    "reg.yaml:7: country: unknown country 'TK' (expected TR, BG or GR; "
	    "leave it out for the centre's own endpoints)" },
	{ "    country: TR", "    country: tr",
	    "reg.yaml:7: country: unknown country 'tr' (expected TR, BG or GR; "
	    "leave it out for the centre's own endpoints)" },
	{ "    kind: police", "    kind: polis",
	    "reg.yaml:8: kind: unknown kind 'polis' (expected police, "
	    "border_police, gendarmerie, customs or operator)" },
	{ "roles: [publisher, subscriber]", "roles: [publisher, admin]",
	    "reg.yaml:10: roles: unknown role 'admin' (expected publisher, "
	    "subscriber or operator)" },
	{ "roles: [publisher, subscriber]", "roles:\n      - publisher\n"
	    "      - publisher",
	    "reg.yaml:12: roles: role 'publisher' is listed twice" },
	{ "roles: [publisher, subscriber]", "roles: []",
	    "reg.yaml:10: roles: needs at least 1 entry" },
	{ "roles: [publisher, subscriber]", "roles: publisher",
	    "reg.yaml:10: roles: expected a list, e.g. [a, b]" },
	{ "    roles: [publisher, subscriber]\n",
	    "    roles: [publisher, subscriber]\n    suspended: yes\n",
	    "reg.yaml:11: suspended: expected true or false, got 'yes'" },
	{ "    action: publish", "    action: publsh",
	    "reg.yaml:13: action: unknown action 'publsh' (expected publish or "
	    "subscribe)" },
	{ "categories: [\"*\"]", "categories: [drugs, drug]",
	    "reg.yaml:15: categories: unknown category 'drug' (expected * or "
	    "one of: human_trafficking, migrant_smuggling, drugs, customs, "
	    "weapons, stolen_vehicle, document_fraud, wanted_person, other)" },
	{ "categories: [\"*\"]", "categories: [DRUGS]",
	    "reg.yaml:15: categories: unknown category 'DRUGS' (expected * or "
	    "one of: human_trafficking, migrant_smuggling, drugs, customs, "
	    "weapons, stolen_vehicle, document_fraud, wanted_person, other)" },
	{ "categories: [\"*\"]", "categories: [unspecified]",
	    "reg.yaml:15: categories: unknown category 'unspecified' (expected "
	    "* or one of: human_trafficking, migrant_smuggling, drugs, "
	    "customs, weapons, stolen_vehicle, document_fraud, wanted_person, "
	    "other)" },
	{ "    endpoints: [tr-police]\n    categories",
	    "    endpoints:\n      - tr-police\n      - gr-police\n    categories",
	    "reg.yaml:16: endpoints: unknown endpoint 'gr-police'" },
	{ "sections: [\"tr-bg/*\"]", "sections: [tr-bg/kapikul]",
	    "reg.yaml:16: sections: unknown section 'tr-bg/kapikul' (expected "
	    "*, <border>/* or a registered section id)" },
	{ "sections: [\"tr-bg/*\"]", "sections: [\"bg-gr/*\"]",
	    "reg.yaml:16: sections: no section is registered on border "
	    "'bg-gr'" },
	{ "", "    topics: [\"alerts/#\"]\n",
	    "reg.yaml:17: topics: a publish rule takes categories and sections, "
	    "not topics" },
	{ "", SUB_RULE("[\"alerts/#\"]") "    categories: [drugs]\n",
	    "reg.yaml:21: categories: a subscribe rule takes topics, not "
	    "categories or sections" },
	{ "", SUB_RULE("[\"alerts/#\"]") "    sections: [\"*\"]\n",
	    "reg.yaml:21: sections: a subscribe rule takes topics, not "
	    "categories or sections" },
	{ "roles: [publisher, subscriber]", "roles: [subscriber]",
	    "reg.yaml:14: endpoints: 'tr-police' lacks the publisher role that "
	    "a publish rule needs" },
	{ "roles: [publisher, subscriber]\naccess_rules:\n",
	    "roles: [publisher]\naccess_rules:\n" SUB_RULE("[\"alerts/#\"]"),
	    "reg.yaml:14: endpoints: 'tr-police' lacks the subscriber role that "
	    "a subscribe rule needs" },
	{ "", SUB_RULE("[\"alerts/#\", \"drugs/#\"]"),
	    "reg.yaml:20: topics: 'drugs/#' does not start with alerts/" },
	{ "", SUB_RULE("[\"#\"]"),
	    "reg.yaml:20: topics: '#' does not start with alerts/" },
	{ "", "  - id: sub\n    action: subscribe\n    endpoints: [tr-police]\n",
	    "reg.yaml:17: missing required key 'topics' in subscribe rule "
	    "'sub'" },
	{ "    sections: [\"tr-bg/*\"]\n", "",
	    "reg.yaml:12: missing required key 'sections' in publish rule "
	    "'pub'" },
	{ "    name: TNP\n", "",
	    "reg.yaml:6: missing required key 'name' in endpoint" },
	{ "  - id: tr-bg/kapikule\n    name", "  - name",
	    "reg.yaml:3: missing required key 'id' in section" },
	{ "    action: publish\n", "",
	    "reg.yaml:12: missing required key 'action' in access rule" },
	{ "    name: TNP", "    name: \"T\\tP\"",
	    "reg.yaml:9: name: must be one line without control characters" },
	{ "    name: TNP", "    name:",
	    "reg.yaml:9: name: no value" },
	{ "    name: TNP", "    name: [T, N, P]",
	    "reg.yaml:9: name: expected a string, got a list" },
	{ "    name: Kapikule", "    name: &k Kapikule",
	    "" },
	{ "    name: Kapikule", "    name: &k Kapikule\nendpoints_x: *k",
	    "reg.yaml:5: aliases (*name) are not supported; write the value "
	    "out" },
};

START_TEST(test_registry_errors)
{
	const char *from = reg_cases[_i].from, *at;
	struct registry *reg = NULL;
	char yaml[4096], err[1024] = "";
	int rc;

	if (from[0] == '\0') {
		snprintf(yaml, sizeof(yaml), "%s%s", reg_base, reg_cases[_i].to);
	} else {
		at = strstr(reg_base, from);
		ck_assert_msg(at != NULL, "case %d: '%s' not in the base", _i,
		    from);
		ck_assert_msg(strstr(at + 1, from) == NULL, "case %d: '%s' is "
		    "not unique", _i, from);
		snprintf(yaml, sizeof(yaml), "%.*s%s%s", (int)(at - reg_base),
		    reg_base, reg_cases[_i].to, at + strlen(from));
	}
	rc = registry_load_string(yaml, "reg.yaml", &reg, err, sizeof(err));
	if (reg_cases[_i].err[0] == '\0') {
		if (rc != 0)
			ck_abort_msg("case %d: unexpected error: %s", _i, err);
		registry_unref(reg);
		return;
	}
	ck_assert_msg(rc == -1, "case %d: loaded, expected: %s", _i,
	    reg_cases[_i].err);
	ck_assert_ptr_null(reg);
	ck_assert_msg(strcmp(err, reg_cases[_i].err) == 0, "case %d: got '%s', "
	    "expected '%s'", _i, err, reg_cases[_i].err);
}
END_TEST

/* Malformed UTF-8 is refused at its line (by the parser or by us). */
START_TEST(test_registry_bad_utf8)
{
	static const char *const names[] = { "T\xff" "P", "\"T\xff" "P\"",
	    "T\xc3\x28P", "'\xed\xa0\x80'", "T\xc0\xafP" };
	struct registry *reg = NULL;
	char yaml[4096], err[1024];
	const char *at = strstr(reg_base, "TNP");

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(yaml, sizeof(yaml), "%.*s%s%s", (int)(at - reg_base),
		    reg_base, names[i], at + 3);
		ck_assert_int_eq(registry_load_string(yaml, "reg.yaml", &reg,
		    err, sizeof(err)), -1);
		ck_assert_msg(strncmp(err, "reg.yaml:9: ", 12) == 0 &&
		    strcasestr(err, "UTF") != NULL, "%zu: got '%s'", i, err);
	}
}
END_TEST

/* Bad topic patterns: the location and the pattern; the reason is topic.c's. */
START_TEST(test_registry_topic_syntax)
{
	static const char *const bad[] = { "alerts/#/drugs", "alerts/Drugs",
	    "alerts//drugs", "alerts/dr+gs" };
	struct registry *reg = NULL;
	char yaml[4096], err[1024], want[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(yaml, sizeof(yaml), "%s  - id: sub\n"
		    "    action: subscribe\n    endpoints: [tr-police]\n"
		    "    topics: [\"alerts/#\", \"%s\"]\n", reg_base, bad[i]);
		ck_assert_int_eq(registry_load_string(yaml, "reg.yaml", &reg,
		    err, sizeof(err)), -1);
		snprintf(want, sizeof(want), "reg.yaml:20: topics: '%s': ",
		    bad[i]);
		ck_assert_msg(strncmp(err, want, strlen(want)) == 0 &&
		    strlen(err) > strlen(want) + 5, "got '%s'", err);
	}
}
END_TEST

START_TEST(test_registry_base_and_empty)
{
	struct registry *reg = registry_ok(reg_base);

	ck_assert_uint_eq(registry_nendpoints(reg), 1);
	ck_assert_uint_eq(registry_nsections(reg), 1);
	registry_unref(reg);

	reg = registry_ok("version: 1\nsections: []\nendpoints: []\n"
	    "access_rules: []\n");
	ck_assert_uint_eq(registry_nendpoints(reg), 0);
	ck_assert_uint_eq(registry_nsections(reg), 0);
	ck_assert_ptr_null(registry_endpoint(reg, "tr-police"));
	ck_assert_ptr_null(registry_section(reg, "tr-bg/kapikule"));
	registry_unref(reg);
}
END_TEST

/* Coordinates: optional, kept to the micro-degree whatever the notation. */
START_TEST(test_registry_coordinates)
{
	static const struct {
		const char	*lat, *lon;	/* as written */
		double		 want_lat, want_lon;
	} cases[] = {
		{ "41.713", "26.357", 41.713, 26.357 },
		{ "41.7130004", "26.3569996", 41.713, 26.357 },	/* rounded */
		{ "4.1713e1", "2635.7E-2", 41.713, 26.357 },
		{ "41.713000000000001", "26.356999999999999", 41.713, 26.357 },
		{ "-0.0000001", "-0", 0, 0 },
		{ "90", "-180", 90, -180 },
		{ "0.000001", "-179.999999", 0.000001, -179.999999 },
	};
	const struct section *sec;
	struct registry *reg;
	char yaml[2048];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(yaml, sizeof(yaml), "version: 1\nsections:\n"
		    "  - {id: tr-bg/kapikule, name: K, lat: %s, lon: %s}\n"
		    "  - {id: tr-bg/lesovo, name: L}\n"
		    "endpoints: []\naccess_rules: []\n", cases[i].lat,
		    cases[i].lon);
		reg = registry_ok(yaml);
		sec = registry_section(reg, "tr-bg/kapikule");
		ck_assert(sec->located);
		ck_assert_msg(sec->lat == cases[i].want_lat &&
		    sec->lon == cases[i].want_lon, "case %zu: %.17g %.17g", i,
		    sec->lat, sec->lon);
		/* no -0: the text written back is "0" */
		ck_assert(!signbit(sec->lat) == !signbit(cases[i].want_lat) &&
		    !signbit(sec->lon) == !signbit(cases[i].want_lon));
		sec = registry_section(reg, "tr-bg/lesovo");
		ck_assert(!sec->located);
		ck_assert(sec->lat == 0 && sec->lon == 0);
		registry_unref(reg);
	}
}
END_TEST

START_TEST(test_registry_load_errors)
{
	struct registry *reg = NULL;
	char err[1024] = "";

	ck_assert_int_eq(registry_load("/nonexistent/registry.yaml", &reg, err,
	    sizeof(err)), -1);
	ck_assert_ptr_null(reg);
	ck_assert_str_eq(err, "/nonexistent/registry.yaml: No such file or "
	    "directory");
	ck_assert_int_eq(registry_load("broker/etc", &reg, err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, "broker/etc: not a regular file");
}
END_TEST

/* metrics.listen: loopback unless allowed, "" for none; metrics.refresh. */
START_TEST(test_config_metrics)
{
	static const char *const loopback[] = { "127.0.0.1:9100",
	    "127.1.2.3:0", "\"[::1]:9464\"", "\"[::ffff:127.0.0.1]:9464\"" };
	struct config *cfg;
	char extra[256];

	for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
		snprintf(extra, sizeof(extra), "metrics:\n  listen: %s\n",
		    loopback[i]);
		config_free(config_ok(base_config(extra)));
	}
	cfg = config_ok(base_config("metrics:\n  listen: \"\"\n"
	    "  refresh: 1m\n"));
	ck_assert_ptr_null(cfg->metrics_host);
	ck_assert_uint_eq(cfg->metrics_refresh, 60);
	config_free(cfg);
	cfg = config_ok(base_config("metrics:\n  listen: ''\n"));
	ck_assert_ptr_null(cfg->metrics_host);
	config_free(cfg);

	config_fails(base_config("metrics:\n  listen: 0.0.0.0:9464\n"),
	    "test.yaml:7: metrics.listen: '0.0.0.0' is not a loopback address, "
	    "and the metrics listener has no authentication; set "
	    "metrics.allow_remote: true to serve it to other hosts");
	config_fails(base_config("metrics:\n  listen: \"[::]:9464\"\n"),
	    "test.yaml:7: metrics.listen: '::' is not a loopback address, "
	    "and the metrics listener has no authentication; set "
	    "metrics.allow_remote: true to serve it to other hosts");
	config_fails(base_config("metrics:\n  listen: 10.1.2.3:9464\n"
	    "  allow_remote: false\n"),
	    "test.yaml:7: metrics.listen: '10.1.2.3' is not a loopback address, "
	    "and the metrics listener has no authentication; set "
	    "metrics.allow_remote: true to serve it to other hosts");
	cfg = config_ok(base_config("metrics:\n  allow_remote: true\n"
	    "  listen: 10.1.2.3:9464\n"));
	ck_assert_str_eq(cfg->metrics_host, "10.1.2.3");
	ck_assert_uint_eq(cfg->metrics_port, 9464);
	ck_assert(cfg->metrics_allow_remote);
	config_free(cfg);

	config_fails(base_config("metrics:\n  listen: localhost:9464\n"),
	    "test.yaml:7: metrics.listen: 'localhost' is not an IPv4 address "
	    "(names are not resolved; e.g. 127.0.0.1 or [::1])");
	config_fails(base_config("metrics:\n  listen:\n"),
	    "test.yaml:7: metrics.listen: no value");
	config_fails(base_config("metrics:\n  allow_remote: yes\n"),
	    "test.yaml:7: metrics.allow_remote: expected true or false, got "
	    "'yes'");
	config_fails(base_config("metrics:\n  refresh: 0\n"),
	    "test.yaml:7: metrics.refresh: 0 is out of range (1s..3600s)");
	config_fails(base_config("metrics:\n  lisen: 127.0.0.1:1\n"),
	    "test.yaml:7: unknown key 'lisen' in metrics (expected one of: "
	    "listen, allow_remote, refresh)");
}
END_TEST

START_TEST(test_config_durations)
{
	struct config *cfg = NULL;
	char err[512];

	ck_assert_int_eq(config_load_string("tls:\n  cert: broker/etc/cccd.yaml\n"
	    "  key: broker/etc/cccd.yaml\n  ca: broker/etc/cccd.yaml\n"
	    "registry: broker/etc/registry.yaml\nretention:\n  alerts: 30d\n"
	    "  audit: 0\n  interval: 90\n", "d.yaml", &cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg->retain_alerts, 30 * 86400);
	ck_assert_uint_eq(cfg->retain_audit, 0);
	ck_assert_uint_eq(cfg->retain_interval, 90);
	config_free(cfg);
	cfg = NULL;
	ck_assert_int_eq(config_load_string("tls:\n  cert: broker/etc/cccd.yaml\n"
	    "  key: broker/etc/cccd.yaml\n  ca: broker/etc/cccd.yaml\n"
	    "registry: broker/etc/registry.yaml\nretention:\n  alerts: 3 weeks\n",
	    "d.yaml", &cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "d.yaml:7: retention.alerts: expected a duration "
	    "such as 30s, 15m, 12h or 90d, got '3 weeks'");
	ck_assert_int_eq(config_load_string("tls:\n  cert: broker/etc/cccd.yaml\n"
	    "  key: broker/etc/cccd.yaml\n  ca: broker/etc/cccd.yaml\n"
	    "registry: broker/etc/registry.yaml\nretention:\n  interval: 2d\n",
	    "d.yaml", &cfg, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "out of range"));
}
END_TEST

Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");
	TCase *tr = tcase_create("registry");

	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_config_defaults);
	tcase_add_test(tc, test_config_all_keys);
	tcase_add_loop_test(tc, test_config_bounds, 0,
	    sizeof(bounds) / sizeof(bounds[0]));
	tcase_add_test(tc, test_config_bad_numbers);
	tcase_add_test(tc, test_config_unknown_key);
	tcase_add_test(tc, test_config_user_group);
	tcase_add_test(tc, test_config_durations);
	tcase_add_test(tc, test_config_metrics);
	tcase_add_test(tc, test_config_idle_vs_ping);
	tcase_add_test(tc, test_config_missing_required);
	tcase_add_test(tc, test_config_files_checked);
	tcase_add_test(tc, test_config_ca_list);
	tcase_add_test(tc, test_config_crl);
	tcase_add_test(tc, test_config_relative_paths);
	tcase_add_test(tc, test_config_demo_file);
	tcase_add_test(tc, test_config_load_file_errors);
	tcase_add_test(tc, test_config_listen_good);
	tcase_add_loop_test(tc, test_config_listen_bad, 0,
	    sizeof(bad_listen) / sizeof(bad_listen[0]));
	tcase_add_test(tc, test_config_log_level);
	tcase_add_test(tc, test_config_store_check);
	tcase_add_test(tc, test_config_yaml_errors);
	tcase_add_test(tc, test_yaml_bad_utf8_anywhere);
	suite_add_tcase(s, tc);

	tcase_add_test(tr, test_registry_demo);
	tcase_add_test(tr, test_registry_categories);
	tcase_add_test(tr, test_registry_role_names);
	tcase_add_test(tr, test_registry_base_and_empty);
	tcase_add_test(tr, test_registry_load_errors);
	tcase_add_test(tr, test_registry_coordinates);
	tcase_add_test(tr, test_registry_topic_syntax);
	tcase_add_test(tr, test_registry_bad_utf8);
	tcase_add_loop_test(tr, test_registry_errors, 0,
	    sizeof(reg_cases) / sizeof(reg_cases[0]));
	suite_add_tcase(s, tr);
	return s;
}
