/*
 * fuzz_config.c — the configuration and registry file parsers.
 *
 * Input: YAML text, loaded both as a configuration (config_load_string) and
 * as a registry (registry_load_string). Relative paths in a configuration
 * resolve against the current directory, so run from the repository root
 * for the seeds' paths to name real files.
 *
 * Properties: nothing crashes or leaks; a refusal is one line
 * "fuzz.yaml[:LINE]: message" without control characters; a loaded
 * registry finds every section and endpoint a rule names.
 */
#include <stdbool.h>

#include "config.h"
#include "fuzz.h"
#include "registry.h"
#include "topic.h"

static void
check_error(const char *err)
{
	FUZZ_CHECK(strncmp(err, "fuzz.yaml", 9) == 0);
	FUZZ_CHECK(err[9] == ':');
	for (const char *p = err; *p != '\0'; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
}

static void
check_registry(const struct registry *reg)
{
	const struct access_rule *rules;
	size_t n;
	char why[128];

	rules = registry_rules(reg, &n);
	for (size_t i = 0; i < n; i++) {
		const struct access_rule *r = &rules[i];

		for (size_t k = 0; k < r->n_endpoints; k++)
			FUZZ_CHECK(strcmp(r->endpoints[k], "*") == 0 ||
			    registry_endpoint(reg, r->endpoints[k]) != NULL);
		for (size_t k = 0; k < r->n_sections; k++) {
			const char *s = r->sections[k];
			size_t len = strlen(s);

			FUZZ_CHECK(strcmp(s, "*") == 0 ||
			    registry_section(reg, s) != NULL ||
			    (len > 2 && strcmp(s + len - 2, "/*") == 0));
		}
		for (size_t k = 0; k < r->n_topics; k++)
			FUZZ_CHECK(topic_pattern_check(r->topics[k], why,
			    sizeof(why)));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *yaml = fuzz_strndup(data, size), err[512];
	struct config *cfg;
	struct registry *reg;

	err[0] = '\0';
	if (config_load_string(yaml, "fuzz.yaml", &cfg, err, sizeof(err)) == 0) {
		FUZZ_CHECK(cfg->listen_host != NULL && cfg->n_tls_ca > 0);
		FUZZ_CHECK(cfg->idle_timeout > cfg->ping_interval);
		config_free(cfg);
	} else
		check_error(err);

	err[0] = '\0';
	if (registry_load_string(yaml, "fuzz.yaml", &reg, err,
	    sizeof(err)) == 0) {
		check_registry(reg);
		registry_unref(reg);
	} else
		check_error(err);
	free(yaml);
	return 0;
}
