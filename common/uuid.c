/*
 * uuid.c — UUIDv7 generation. Monotonic within a process: within one
 * millisecond a 12-bit counter in rand_a is incremented (RFC 9562 §6.2,
 * method 1); the rest comes from the kernel's CSPRNG.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "uuid.h"

void
uuid_v7(int64_t now_us, char out[UUID_STRLEN])
{
	static const char hex[] = "0123456789abcdef";
	static uint64_t last_ms;
	static uint16_t counter;
	uint8_t b[16];
	uint64_t ms = (uint64_t)(now_us / 1000);
	ssize_t got;

	got = getrandom(b, sizeof(b), 0);
	(void)got;	/* getrandom(2) on <= 256 bytes does not fail once seeded */
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
