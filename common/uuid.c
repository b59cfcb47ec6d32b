/*
 * uuid.c — UUIDv7 generation. Monotonic within a process: within one
 * millisecond a 12-bit counter in rand_a is incremented (RFC 9562 §6.2,
 * method 1); the rest comes from the kernel's CSPRNG.
 *
 * The random bytes are read from getrandom(2) a block at a time into a
 * buffer of the calling thread's (uuid_random()), not by one system call
 * per id: that call was 1.2 us of every publish (a tenth of the loop's
 * work on an alert). A block of UUID_POOL bytes costs about 3 us, 46 ns an
 * id. Every byte still comes from the kernel, each is used once, and the
 * buffer is wiped as it is used; nothing here generates or stretches
 * randomness. OpenSSL's RAND_bytes() (a DRBG in user space) was measured
 * and not taken: OpenSSL 3.0's costs 1.9 us a call, more than the system
 * call it would replace. A forked child starts with an empty buffer
 * (pthread_atfork), so that it never gives out the bytes its parent
 * gives out too.
 *
 * Owns: the buffer of random bytes, per thread; the last millisecond and
 * counter (one thread makes ids: the broker's loop).
 * Must never: use a random byte twice, or one a forked child shares.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "uuid.h"

#define UUID_POOL	1024	/* random bytes read at once: 64 ids */

/* The random bytes not used yet: pool.b[UUID_POOL - pool.left ..). */
static _Thread_local struct {
	uint8_t		 b[UUID_POOL];
	size_t		 left;		/* bytes at the end not used yet */
} uuid_pool;

static pthread_once_t uuid_once = PTHREAD_ONCE_INIT;

/* In a forked child (its only thread is the one that forked): none left. */
static void
uuid_forked(void)
{
	explicit_bzero(uuid_pool.b, sizeof(uuid_pool.b));
	uuid_pool.left = 0;
}

static void
uuid_init(void)
{
	(void)pthread_atfork(NULL, NULL, uuid_forked);
}

/*
 * Fill out[0..n) (n at most UUID_POOL) with random bytes from the calling
 * thread's buffer, refilled from getrandom(2) when short; the bytes given
 * out are wiped from it. A kernel without getrandom(2) aborts the process:
 * an id must never be made of bytes that are not random.
 */
static void
uuid_random(uint8_t *out, size_t n)
{
	size_t got = 0;
	ssize_t r;

	pthread_once(&uuid_once, uuid_init);
	if (uuid_pool.left < n) {
		/* it blocks only until the kernel is seeded, once at boot */
		while (got < sizeof(uuid_pool.b)) {
			r = getrandom(uuid_pool.b + got, sizeof(uuid_pool.b) -
			    got, 0);
			if (r > 0)
				got += (size_t)r;
			else if (r < 0 && errno != EINTR) {
				fprintf(stderr, "fatal: getrandom: %s\n",
				    strerror(errno));
				abort();
			}
		}
		uuid_pool.left = sizeof(uuid_pool.b);
	}
	memcpy(out, uuid_pool.b + sizeof(uuid_pool.b) - uuid_pool.left, n);
	explicit_bzero(uuid_pool.b + sizeof(uuid_pool.b) - uuid_pool.left, n);
	uuid_pool.left -= n;
}

void
uuid_v7(int64_t now_us, char out[UUID_STRLEN])
{
	static const char hex[] = "0123456789abcdef";
	static uint64_t last_ms;
	static uint16_t counter;
	uint8_t b[16];
	uint64_t ms = (uint64_t)(now_us / 1000);

	uuid_random(b, sizeof(b));
	if (ms <= last_ms) {
		ms = last_ms;
		if (++counter > 0x0fff) {	/* counter exhausted: borrow the next ms */
			ms = ++last_ms;
			counter = b[6] & 0x3;
		}
	} else {
		last_ms = ms;
		counter = ((uint16_t)(b[6] & 0x03) << 8) | b[7];	/* random start, room to grow */
	}
	b[0] = (uint8_t)(ms >> 40);
	b[1] = (uint8_t)(ms >> 32);
	b[2] = (uint8_t)(ms >> 24);
	b[3] = (uint8_t)(ms >> 16);
	b[4] = (uint8_t)(ms >> 8);
	b[5] = (uint8_t)ms;
	b[6] = (uint8_t)(0x70 | ((counter >> 8) & 0x0f));
	b[7] = (uint8_t)counter;
	b[8] = (uint8_t)(0x80 | (b[8] & 0x3f));
	/* 8-4-4-4-12 lower-case hex digits (snprintf cost more than the rest) */
	for (int i = 0, o = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 0x0f];
	}
	out[UUID_STRLEN - 1] = '\0';
}

bool
uuid_valid(const char *s)
{
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i]) ||
		    isupper((unsigned char)s[i]))
			return false;
	}
	return s[36] == '\0';
}
