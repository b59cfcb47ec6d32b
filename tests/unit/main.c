/*
 * main.c — runs every unit-test suite; exit status 0 only when all pass.
 */
#include <stdlib.h>

#include "suites.h"

int
main(void)
{
	SRunner *sr = srunner_create(frame_suite());
	int failed;

	srunner_add_suite(sr, topic_suite());
	srunner_add_suite(sr, acl_suite());
	srunner_add_suite(sr, alert_suite());
	srunner_add_suite(sr, config_suite());
	srunner_add_suite(sr, names_suite());
	srunner_add_suite(sr, policy_suite());
	srunner_add_suite(sr, quota_suite());
	srunner_add_suite(sr, log_suite());
	srunner_add_suite(sr, store_audit_suite());
	srunner_add_suite(sr, route_suite());
	srunner_add_suite(sr, peers_suite());
	srunner_add_suite(sr, store_suite());
	srunner_add_suite(sr, cursor_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
