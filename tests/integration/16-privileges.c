/*
 * 16-privileges.c — least privilege: cccd started as root with "user:
 * nobody" and "group: nogroup" runs as them once started (every thread:
 * /proc/PID/task/TID/status), still serves, writes its store as them, owns
 * its data_dir, and starts again on that data. Runs only as root (as CI
 * does); otherwise it passes after saying it did nothing.
 *
 * A broker that has dropped root no longer dies with the test that started
 * it (changing ids clears the parent-death signal): a test that fails
 * midway may leave it running until the run ends.
 */
#include <errno.h>
#include <limits.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>

#include "harness.h"

/* The 4 ids of the "Uid:" or "Gid:" line, and the Groups line, of a status file. */
static void
priv_status(const char *path, unsigned ids[2][4], char *groups, size_t len)
{
	char *text = h_slurp(path), *p;

	ck_assert_msg(text != NULL, "cannot read %s", path);
	ck_assert((p = strstr(text, "\nUid:")) != NULL);
	ck_assert(sscanf(p + 5, "%u %u %u %u", &ids[0][0], &ids[0][1],
	    &ids[0][2], &ids[0][3]) == 4);
	ck_assert((p = strstr(text, "\nGid:")) != NULL);
	ck_assert(sscanf(p + 5, "%u %u %u %u", &ids[1][0], &ids[1][1],
	    &ids[1][2], &ids[1][3]) == 4);
	ck_assert((p = strstr(text, "\nGroups:")) != NULL);
	p += 8;
	p += strspn(p, " \t");
	snprintf(groups, len, "%.*s", (int)strcspn(p, "\n"), p);
	while (len > 0 && (p = strchr(groups, ' ')) != NULL && p[1] == '\0')
		*p = '\0';	/* the kernel ends the list with a blank */
	free(text);
}

/* Every thread of pid runs as uid/gid, with gid its only group. */
static void
priv_check_ids(pid_t pid, uid_t uid, gid_t gid)
{
	char dir[64], path[400], groups[128], want[32];
	unsigned ids[2][4];
	struct dirent *de;
	DIR *d;
	int threads = 0;

	snprintf(want, sizeof(want), "%u", (unsigned)gid);
	snprintf(dir, sizeof(dir), "/proc/%ld/task", (long)pid);
	ck_assert_msg((d = opendir(dir)) != NULL, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/status", dir, de->d_name);
		priv_status(path, ids, groups, sizeof(groups));
		for (int i = 0; i < 4; i++) {
			ck_assert_msg(ids[0][i] == uid, "%s: Uid %u %u %u %u, "
			    "expected %u", path, ids[0][0], ids[0][1], ids[0][2],
			    ids[0][3], (unsigned)uid);
			ck_assert_msg(ids[1][i] == gid, "%s: Gid %u %u %u %u, "
			    "expected %u", path, ids[1][0], ids[1][1], ids[1][2],
			    ids[1][3], (unsigned)gid);
		}
		ck_assert_msg(strcmp(groups, want) == 0, "%s: Groups \"%s\", "
		    "expected \"%s\"", path, groups, want);
		threads++;
	}
	closedir(d);
	/* the event loop and the store's writer thread at least */
	ck_assert_int_ge(threads, 2);
}

static int
priv_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

START_TEST(drops_to_nobody)
{
	char data[] = "/tmp/ccc-itest-priv.XXXXXX", db[64];
	const struct passwd *pw;
	const struct group *gr;
	struct h_broker *b;
	struct stat st;
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0) {
		fprintf(stderr, "16-privileges: not running as root; nothing to "
		    "check\n");
		return;
	}
	ck_assert_msg((pw = getpwnam("nobody")) != NULL, "no user nobody");
	uid = pw->pw_uid;
	ck_assert_msg((gr = getgrnam("nogroup")) != NULL, "no group nogroup");
	gid = gr->gr_gid;
	/* a data_dir root owns, where nobody can reach it: cccd must give it */
	ck_assert(mkdtemp(data) != NULL);
	h_data_dir = data;
	b = h_broker_start("user: nobody\ngroup: nogroup\n");
	h_data_dir = NULL;
	ck_assert(h_log_contains(b, "dropped root: running as user nobody"));
	priv_check_ids(b->pid, uid, gid);

	h_exchange_fresh(b);
	ck_assert(stat(data, &st) == 0 && st.st_uid == uid && st.st_gid == gid);
	snprintf(db, sizeof(db), "%s/ccc.db", data);
	ck_assert(stat(db, &st) == 0 && st.st_uid == uid && st.st_gid == gid);

	/* again on the same data, as root first, then nobody */
	h_broker_halt(b);
	ck_assert_int_eq(h_store_int(data, "SELECT count(*) FROM alerts"), 1);
	h_broker_restart(b);
	ck_assert(h_log_wait(b, "dropped root: running as user nobody",
	    H_WAIT_MS));
	priv_check_ids(b->pid, uid, gid);
	h_exchange_fresh(b);
	h_broker_halt(b);
	ck_assert_int_eq(h_store_int(data, "SELECT count(*) FROM alerts"), 2);
	ck_assert_int_eq(h_store_int(data, "SELECT count(*) FROM audit WHERE "
	    "event = 'session_open'"), 4);
	h_broker_stop(b);
	nftw(data, priv_rm, 8, FTW_DEPTH | FTW_PHYS);
}
END_TEST

/* Unknown users, root, or group without user: the configuration is refused. */
START_TEST(bad_user_refused)
{
	static const char *const cases[][2] = {
		{ "user: ccc-no-such-user\n", "no user \"ccc-no-such-user\"" },
		{ "user: root\n", "is root; name an unprivileged user" },
		{ "user: nobody\ngroup: ccc-no-such-group\n",
		    "no group \"ccc-no-such-group\"" },
		{ "group: nogroup\n", "group: needs user as well" },
		{ "user: \"no/slash\"\n", "user: expected a user name" },
	};
	char dir[] = "/tmp/ccc-itest-user.XXXXXX", cfg[400], reg[PATH_MAX],
	    cmd[900], out[4096];
	const char *build = getenv("CCC_BUILD");
	size_t n;
	FILE *fp;

	ck_assert(mkdtemp(dir) != NULL);
	ck_assert(realpath("broker/etc/registry.yaml", reg) != NULL);
	snprintf(cfg, sizeof(cfg), "%s/cccd.yaml", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert((fp = fopen(cfg, "w")) != NULL);
		fprintf(fp, "listen: 127.0.0.1:0\ntls:\n  cert: \"%s\"\n"
		    "  key: \"%s\"\n  ca: \"%s\"\nregistry: \"%s\"\n"
		    "data_dir: \"%s/data\"\n%s", h_pki("cccd.pem"),
		    h_pki("cccd.key"), h_pki("ca.pem"), reg, dir, cases[i][0]);
		ck_assert(fclose(fp) == 0);
		snprintf(cmd, sizeof(cmd), "%s/cccd --check-config %s 2>&1",
		    build != NULL ? build : "build", cfg);
		ck_assert((fp = popen(cmd, "r")) != NULL);
		n = fread(out, 1, sizeof(out) - 1, fp);
		out[n] = '\0';
		ck_assert_msg(pclose(fp) != 0, "%s: accepted", cases[i][0]);
		ck_assert_msg(strstr(out, cases[i][1]) != NULL, "%s: %s",
		    cases[i][0], out);
	}
	nftw(dir, priv_rm, 8, FTW_DEPTH | FTW_PHYS);
}
END_TEST

Suite *
privileges_suite(void)
{
	Suite *s = suite_create("16-privileges");
	TCase *tc = tcase_create("privileges");

	tcase_add_test(tc, drops_to_nobody);
	tcase_add_test(tc, bad_user_refused);
	tcase_set_timeout(tc, H_TEST_TIMEOUT);
	suite_add_tcase(s, tc);
	return s;
}
