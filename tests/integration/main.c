/*
 * main.c — runs every integration suite against real cccd processes; exit
 * status 0 only when all pass. The test PKI is made here, before the tests
 * are forked, so that they all share it; it is removed at the end.
 * CK_RUN_SUITE and CK_RUN_CASE select tests as usual with Check.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "harness.h"

int
main(void)
{
	SRunner *sr;
	int failed;

	/* a write to a socket the broker closed must fail, not kill the test */
	signal(SIGPIPE, SIG_IGN);
	/* brokers of failed tests are killed with them: reap them here */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (h_pki_create() < 0) {
		h_pki_destroy();
		return EXIT_FAILURE;
	}
	sr = srunner_create(connect_suite());
	srunner_add_suite(sr, delivery_suite());
	srunner_add_suite(sr, access_suite());
	srunner_add_suite(sr, certs_suite());
	srunner_add_suite(sr, bad_frames_suite());
	srunner_add_suite(sr, lifecycle_suite());
	srunner_add_suite(sr, durable_suite());
	srunner_add_suite(sr, crash_suite());
	srunner_add_suite(sr, faults_suite());
	srunner_add_suite(sr, revocation_suite());
	srunner_add_suite(sr, admin_suite());
	srunner_add_suite(sr, metrics_suite());
	srunner_add_suite(sr, hostile_suite());
	srunner_add_suite(sr, tls_scan_suite());
	srunner_add_suite(sr, privileges_suite());
	srunner_add_suite(sr, resumption_suite());
	srunner_add_suite(sr, ids_suite());
	srunner_add_suite(sr, reconnect_suite());
	srunner_add_suite(sr, systemd_suite());
	srunner_add_suite(sr, exercise_suite());
	srunner_add_suite(sr, drain_crash_suite());
	srunner_add_suite(sr, console_suite());
	srunner_add_suite(sr, console_feed_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	h_pki_destroy();
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
