/*
 * uuid.h — UUIDv7 (RFC 9562): 48-bit millisecond timestamp, random rest.
 * Alert ids are UUIDv7 in canonical lower-case text form, so that ids sort by
 * time of creation.
 */
#ifndef CCC_UUID_H
#define CCC_UUID_H

#include <stdbool.h>
#include <stdint.h>

#define UUID_STRLEN 37	/* 36 characters and the NUL */

/*
 * Make a new UUIDv7 for the wall-clock time now_us into out. Ids made by one
 * process are strictly increasing, even within a millisecond.
 */
void	uuid_v7(int64_t now_us, char out[UUID_STRLEN]);
/* True when s is a canonical UUID (8-4-4-4-12 hex digits, any version). */
bool	uuid_valid(const char *s);

#endif
