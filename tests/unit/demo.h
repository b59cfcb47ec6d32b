/*
 * demo.h — the demo registry (broker/etc/registry.yaml, read from the
 * repository root) as a Check fixture shared by the suites that decide on
 * it, and the alerts they try on it.
 */
#ifndef CCC_TEST_DEMO_H
#define CCC_TEST_DEMO_H

#include "ccc/v1/alert.pb-c.h"

struct registry;

/* The demo registry, loaded by demo_setup() and dropped by demo_teardown(). */
extern struct registry *demo;

void	demo_setup(void);
void	demo_teardown(void);
/*
 * A new alert (calloc'd: free() it) with these fields; section is not
 * copied. The other fields are empty.
 */
Ccc__V1__Alert	*alert_of(int category, const char *section, int severity,
		    int handling, int tlp);

#endif
