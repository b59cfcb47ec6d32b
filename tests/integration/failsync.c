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
 *     event loop runs on (07-durable.c, the history seam).
 * Otherwise they are the real calls. Only for tests: nothing of the broker
 * is built with it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int	fdatasync(int);
ssize_t	pwrite64(int, const void *, size_t, off_t);

ssize_t
pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);
	const char *trigger = getenv("CCC_TEST_WRITE_STALL");
	struct timespec ms = { 0, 1000000 };

	while (trigger != NULL && access(trigger, F_OK) == 0)
		nanosleep(&ms, NULL);
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
