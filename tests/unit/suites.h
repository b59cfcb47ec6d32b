/* suites.h — the Check suites of the unit-test binary. */
#ifndef CCC_SUITES_H
#define CCC_SUITES_H

#include <check.h>

Suite	*frame_suite(void);
Suite	*topic_suite(void);
Suite	*acl_suite(void);
Suite	*alert_suite(void);
Suite	*config_suite(void);
Suite	*names_suite(void);
Suite	*policy_suite(void);
Suite	*quota_suite(void);
Suite	*log_suite(void);
Suite	*store_audit_suite(void);
Suite	*route_suite(void);
Suite	*peers_suite(void);
Suite	*store_suite(void);
Suite	*durable_suite(void);	/* its own binary: main_durable.c */
Suite	*cursor_suite(void);

#endif
