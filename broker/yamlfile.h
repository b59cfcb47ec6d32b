/*
 * yamlfile.h — reading the broker's YAML files (the config and the registry).
 *
 * A yamlfile is one parsed YAML document whose root is a mapping. The loaders
 * walk its nodes with libfyaml and use the helpers below for what they share:
 * typed scalars with bounds, lists of strings, unknown-key detection, and
 * error messages of the one form "FILE:LINE: message" (LINE is 1-based; the
 * form is "FILE: message" when no line applies).
 *
 * Every helper that can fail writes its message into the err buffer given at
 * load time and returns -1, so a loader can stop with `goto fail`. That
 * buffer must outlive the yamlfile. Strings handed out are new allocations
 * owned by the caller; they are always valid UTF-8 without control
 * characters.
 *
 * Anchors are allowed, aliases, tags and non-scalar keys are not: the files
 * are meant to be read by people, and a value must mean what it says.
 */
#ifndef CCC_YAMLFILE_H
#define CCC_YAMLFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fy_node;
struct yamlfile;

/*
 * Read and parse path, which also stands for the file in messages. On
 * success returns 0 and *out owns a new yamlfile; on failure returns -1,
 * *out is untouched and err holds the reason (syntax errors included, with
 * their line). The whole text, comments included, must be UTF-8 without
 * NUL bytes.
 */
int		 yamlfile_load(const char *path, struct yamlfile **out,
		    char *err, size_t errlen);
/* The same from a NUL-terminated string; name stands for the file. */
int		 yamlfile_load_string(const char *yaml, const char *name,
		    struct yamlfile **out, char *err, size_t errlen);
void		 yamlfile_free(struct yamlfile *yf);

/* The root mapping; never NULL. */
struct fy_node	*yamlfile_root(const struct yamlfile *yf);
/* 1-based line where node starts, or 0 when it cannot be told. */
int		 yamlfile_line(const struct yamlfile *yf, struct fy_node *node);
/*
 * Write "FILE:LINE: message" for node (or for line) into the err buffer.
 * node may be NULL and line 0: then the message is "FILE: message".
 * Both always return -1.
 */
int		 yamlfile_error(struct yamlfile *yf, struct fy_node *node,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int		 yamlfile_error_line(struct yamlfile *yf, int line,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * True when node stands for no value: absent (NULL), empty, or a plain
 * null, ~, Null or NULL.
 */
bool		 yamlfile_is_null(struct fy_node *node);
/*
 * The value of key in mapping map, or NULL when map is not a mapping or has
 * no such key. When keyp is not NULL it receives the key node (or NULL).
 */
struct fy_node	*yamlfile_get(struct fy_node *map, const char *key,
		    struct fy_node **keyp);
/*
 * Check that map is a mapping whose keys are all among allowed[0..nallowed).
 * what names the mapping in messages ("tls", "endpoint"); NULL for the root.
 * Error: "unknown key 'lisen' (expected one of: listen, tls, ...)", with
 * " in WHAT" after the key when what is given.
 */
int		 yamlfile_check_keys(struct yamlfile *yf, struct fy_node *map,
		    const char *what, const char *const *allowed,
		    size_t nallowed);

/*
 * Typed scalars. what names the value in messages ("WHAT: problem"); node is
 * the value node. An empty value is an error ("WHAT: no value"), located at
 * its key when it has no line of its own.
 */
/* A plain decimal integer within min..max. */
int		 yamlfile_uint(struct yamlfile *yf, struct fy_node *node,
		    const char *what, uint64_t min,
		    uint64_t max, uint64_t *out);
/*
 * A plain decimal number ([-]DIGITS[.DIGITS][e[+-]DIGITS], unquoted; no
 * hex, inf or nan) within min..max, rounded to places decimals (0..9) so
 * that the same value always gives the same double: *out is then the double
 * nearest to that decimal, as strtod() gives it from the short text.
 */
int		 yamlfile_decimal(struct yamlfile *yf, struct fy_node *node,
		    const char *what, double min, double max,
		    unsigned places, double *out);
/* A plain true or false (also True, TRUE, False, FALSE). */
int		 yamlfile_bool(struct yamlfile *yf, struct fy_node *node,
		    const char *what, bool *out);
/* A non-empty string scalar of any quoting style; *out is a new string. */
int		 yamlfile_string(struct yamlfile *yf, struct fy_node *node,
		    const char *what, char **out);

/*
 * Check one list item; on refusal return false with why[] filled. arg is
 * the caller's.
 */
typedef bool	(*yamlfile_item_fn)(void *arg, const char *item, char *why,
		    size_t whylen);

/*
 * A list of strings (a single string too when scalar_ok), with at least
 * min_items items, each passed to check (when not NULL) whose refusal is
 * reported at the item's line as "WHAT: why". On success *out is a new
 * array of *n new strings (an empty list gives a non-NULL array), freed with
 * yamlfile_strings_free().
 */
int		 yamlfile_strings(struct yamlfile *yf, struct fy_node *node,
		    const char *what, bool scalar_ok,
		    size_t min_items, yamlfile_item_fn check, void *arg,
		    char ***out, size_t *n);
void		 yamlfile_strings_free(char **v, size_t n);

#endif
