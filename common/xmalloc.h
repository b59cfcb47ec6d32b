/*
 * xmalloc.h — allocation that never returns NULL.
 *
 * On exhaustion these print a message and abort: a broker that cannot
 * allocate a few bytes cannot keep any promise, and a half-handled NULL is
 * worse. Sizes are overflow-checked.
 */
#ifndef CCC_XMALLOC_H
#define CCC_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t size);
void	*xcalloc(size_t nmemb, size_t size);
void	*xreallocarray(void *ptr, size_t nmemb, size_t size);
/*
 * Make room for at least need elements of size bytes in ptr, an array of *cap
 * elements: its capacity doubles (from 16) until need fits, and *cap is
 * updated. Returns the array, moved or not; ptr may be NULL with *cap 0.
 */
void	*xgrow(void *ptr, size_t *cap, size_t need, size_t size);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);
/* Formatted allocation; the result is owned by the caller. */
char	*xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
