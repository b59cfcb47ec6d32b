/*
 * failsync.c — faults of the disk, preloaded into cccd (LD_PRELOAD):
 *   - fdatasync(2) fails with EIO while the file named by
 *     CCC_TEST_SYNC_FAILS exists, as a failing disk makes it fail
 *     (09-faults.c);
 *   - fdatasync(2) waits while the file named by CCC_TEST_SYNC_STALL
 *     exists, as a disk that does not answer makes it wait: the store's
 *     syncer stops while its writer commits on (09-faults.c);
 *   - pwrite64(2), which SQLite writes its database and log with, waits
 *     while the file named by CCC_TEST_WRITE_STALL exists, as a slow disk
 *     makes it wait: the store's writer stops before a commit while the
 *     event loop runs on (07-durable.c, the history seam);
 *   - pwrite64(2) to the write-ahead log (a file named *-wal) fails with
 *     EIO while the file named by CCC_TEST_WAL_WRITE_FAILS exists, as a
 *     failing disk makes it fail: the store's commit fails (09-faults.c);
 *   - pwrite64(2) to the database (a file named ccc.db) fails with EIO
 *     while the file named by CCC_TEST_DB_WRITE_FAILS exists: commits,
 *     which write the log only, succeed, and checkpoints fail (09-faults.c).
 * Otherwise they are the real calls. Only for tests: nothing of the broker
 * is built with it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int	fdatasync(int);
ssize_t	pwrite64(int, const void *, size_t, off_t);

/* Is fd open on a file whose path ends in suffix? */
static int
path_ends(int fd, const char *suffix)
{
	char link[64], path[1024];
	size_t n = strlen(suffix);
	ssize_t len;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((len = readlink(link, path, sizeof(path) - 1)) < (ssize_t)n)
		return 0;
	path[len] = '\0';
	return strcmp(path + len - n, suffix) == 0;
}

/* Is the fault of the file named by the variable var on, for fd? */
static int
write_fails(int fd, const char *var, const char *suffix)
{
	const char *trigger = getenv(var);

	return trigger != NULL && access(trigger, F_OK) == 0 &&
	    path_ends(fd, suffix);
}

ssize_t
pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);
	const char *trigger = getenv("CCC_TEST_WRITE_STALL");
	struct timespec ms = { 0, 1000000 };

	while (trigger != NULL && access(trigger, F_OK) == 0)
		nanosleep(&ms, NULL);
	if (write_fails(fd, "CCC_TEST_WAL_WRITE_FAILS", "-wal") ||
	    write_fails(fd, "CCC_TEST_DB_WRITE_FAILS", "/ccc.db")) {
		errno = EIO;
		return -1;
	}
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "pwrite64");
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return real(fd, buf, n, off);
}

int
fdatasync(int fd)
{
	static int (*real)(int);
	const char *trigger = getenv("CCC_TEST_SYNC_FAILS");
	const char *stall = getenv("CCC_TEST_SYNC_STALL");
	struct timespec ms = { 0, 1000000 };

	if (trigger != NULL && access(trigger, F_OK) == 0) {
		errno = EIO;
		return -1;
	}
	while (stall != NULL && access(stall, F_OK) == 0)
		nanosleep(&ms, NULL);
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "fdatasync");
	return real != NULL ? real(fd) : -1;
}
