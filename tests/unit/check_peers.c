/*
 * check_peers.c — the index of each endpoint's open sessions (peers.c):
 * what server_each_session_of() walks to push a receipt to an alert's
 * originator without a scan of every session.
 */
#include <stdio.h>
#include <string.h>

#include "peers.h"
#include "session.h"
#include "suites.h"

/* The endpoints of the sessions listed under endpoint, in order, as "a b". */
static const char *
listed(const struct peers *p, const char *endpoint, struct session *base)
{
	static char out[256];
	size_t len = 0;

	out[0] = '\0';
	for (struct session *s = peers_first(p, endpoint); s != NULL;
	    s = peers_next(s)) {
		ck_assert_str_eq(s->endpoint, endpoint);
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%td",
		    len > 0 ? " " : "", s - base);
	}
	return out;
}

START_TEST(test_peers_by_endpoint)
{
	static const char *const eps[] = {
		"tr-police", "gr-police", "tr-police", "bg-customs", "tr-police",
		"gr-police",
	};
	struct session s[6];
	struct peers *p = peers_new();

	memset(s, 0, sizeof(s));
	for (size_t i = 0; i < 6; i++) {
		snprintf(s[i].endpoint, sizeof(s[i].endpoint), "%s", eps[i]);
		peers_add(p, &s[i]);
	}
	ck_assert_uint_eq(peers_count(p), 3);
	ck_assert_str_eq(listed(p, "tr-police", s), "0 2 4");
	ck_assert_str_eq(listed(p, "gr-police", s), "1 5");
	ck_assert_str_eq(listed(p, "bg-customs", s), "3");
	ck_assert_ptr_null(peers_first(p, "gr-customs"));
	ck_assert_ptr_null(peers_first(p, "tr-police2"));

	/* closing: off the list at once; twice is harmless */
	peers_remove(p, &s[2]);
	peers_remove(p, &s[2]);
	ck_assert_str_eq(listed(p, "tr-police", s), "0 4");
	/* the last session of an endpoint takes its entry with it */
	peers_remove(p, &s[3]);
	ck_assert_ptr_null(peers_first(p, "bg-customs"));
	ck_assert_uint_eq(peers_count(p), 2);
	/* a session never listed (closed before READY) */
	snprintf(s[3].endpoint, sizeof(s[3].endpoint), "gr-customs");
	peers_remove(p, &s[3]);
	ck_assert_uint_eq(peers_count(p), 2);
	/* removing the one being visited, as a slow consumer's close does */
	for (struct session *x = peers_first(p, "tr-police"), *next; x != NULL;
	    x = next) {
		next = peers_next(x);
		peers_remove(p, x);
	}
	ck_assert_ptr_null(peers_first(p, "tr-police"));
	ck_assert_str_eq(listed(p, "gr-police", s), "1 5");
	peers_remove(p, &s[1]);
	peers_remove(p, &s[5]);
	ck_assert_uint_eq(peers_count(p), 0);
	peers_free(p);
}
END_TEST

Suite *
peers_suite(void)
{
	Suite *s = suite_create("peers");
	TCase *tc = tcase_create("index");

	tcase_add_test(tc, test_peers_by_endpoint);
	suite_add_tcase(s, tc);
	return s;
}
