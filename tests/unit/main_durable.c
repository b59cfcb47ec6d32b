/*
 * main_durable.c — the runner of check_durable.c, a binary of its own: its
 * stubs stand in for server.c, session.c, store.c and audit.c, which the
 * other unit suites link.
 */
#include <check.h>
#include <stdlib.h>

#include "suites.h"

int
main(void)
{
	SRunner *sr = srunner_create(durable_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
