/*
 * demo.c — the demo registry fixture (demo.h).
 */
#include <stdint.h>
#include <stdlib.h>

#include "demo.h"
#include "registry.h"
#include "suites.h"

#define DEMO_REGISTRY	"broker/etc/registry.yaml"

struct registry *demo;

void
demo_setup(void)
{
	char err[1024] = "";

	if (registry_load(DEMO_REGISTRY, &demo, err, sizeof(err)) != 0)
		ck_abort_msg("demo registry: %s", err);
}

void
demo_teardown(void)
{
	registry_unref(demo);
	demo = NULL;
}

Ccc__V1__Alert *
alert_of(int category, const char *section, int severity, int handling,
    int tlp)
{
	Ccc__V1__Alert *a = calloc(1, sizeof(*a));

	ck_assert_ptr_nonnull(a);
	ccc__v1__alert__init(a);
	a->category = category;
	a->section = (char *)(uintptr_t)section;
	a->severity = severity;
	a->handling = handling;
	a->tlp = tlp;
	return a;
}
