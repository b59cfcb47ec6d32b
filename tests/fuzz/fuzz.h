/*
 * fuzz.h — what the libFuzzer harnesses share: the entry point's prototype,
 * a reader that takes bytes and strings off the input, and a check that
 * aborts (so that libFuzzer records the input) when a property fails.
 *
 * Every harness is a pure function of its input: nothing it allocates
 * outlives one call, apart from read-only data loaded on the first call.
 */
#ifndef CCC_FUZZ_H
#define CCC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property that must hold: report it and abort when it does not. */
#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: property failed: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/* The rest of the input, consumed from the front. */
struct fuzz_in {
	const uint8_t	*p;
	size_t		 left;
};

/* The next byte, or 0 once the input is used up. */
static inline unsigned
fuzz_byte(struct fuzz_in *in)
{
	if (in->left == 0)
		return 0;
	in->left--;
	return *in->p++;
}

/*
 * A new NUL-terminated string: the bytes up to the next newline (dropped)
 * or the end of the input. The caller frees it.
 */
static inline char *
fuzz_line(struct fuzz_in *in)
{
	const uint8_t *nl = memchr(in->p, '\n', in->left);
	size_t len = nl != NULL ? (size_t)(nl - in->p) : in->left;
	char *s = malloc(len + 1);

	if (s == NULL)
		abort();
	if (len > 0)
		memcpy(s, in->p, len);
	s[len] = '\0';
	in->p += len;
	in->left -= len;
	if (nl != NULL) {
		in->p++;
		in->left--;
	}
	return s;
}

/* data[0..size) as a new NUL-terminated string (it may hold NUL bytes). */
static inline char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
