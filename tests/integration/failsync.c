/*
 * failsync.c — a fault for 09-faults.c, preloaded into cccd (LD_PRELOAD):
 * fdatasync(2) fails with EIO while the file named by CCC_TEST_SYNC_FAILS
 * exists, as a failing disk makes it fail; otherwise it is the real call.
 * Only for tests: nothing of the broker is built with it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

int	fdatasync(int);

int
fdatasync(int fd)
{
	static int (*real)(int);
	const char *trigger = getenv("CCC_TEST_SYNC_FAILS");

	if (trigger != NULL && access(trigger, F_OK) == 0) {
		errno = EIO;
		return -1;
	}
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "fdatasync");
	return real != NULL ? real(fd) : -1;
}
