/*
 * yamlfile.c — one parsed YAML file and the typed, located getters the
 * config and registry loaders share.
 *
 * libfyaml does the parsing; its diagnostics are collected, never printed,
 * and the first one becomes our "FILE:LINE: YAML syntax error: ..." message.
 * This file knows nothing about what the keys mean, and must never print:
 * every problem goes into the caller's err buffer.
 *
 * libfyaml 0.7 exports no start mark for collection nodes; their line is
 * found by letting libfyaml report on the node into the collecting diag and
 * reading the line back. Scalars use their token's mark directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libfyaml.h>

#include "utf8.h"
#include "xmalloc.h"
#include "yamlfile.h"

#define YAMLFILE_MAX_SIZE	(16u * 1024 * 1024)

struct yamlfile {
	char			*name;		/* the file, as named in messages */
	char			*text;		/* the source; the document may point into it */
	size_t			 len;
	struct fy_diag		*diag;		/* collects libfyaml's diagnostics */
	struct fy_parser	*parser;
	struct fy_document	*doc;
	char			*err;		/* the caller's buffer */
	size_t			 errlen;
};

static int	yamlfile_verror(struct yamlfile *, int, const char *, va_list)
		    __attribute__((format(printf, 3, 0)));

/* libfyaml output sink: everything is collected instead. */
static void
yamlfile_discard(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
	(void)diag;
	(void)user;
	(void)buf;
	(void)len;
}

static int
yamlfile_verror(struct yamlfile *yf, int line, const char *fmt, va_list ap)
{
	size_t n;

	if (yf->errlen == 0)
		return -1;
	if (line > 0)
		n = (size_t)snprintf(yf->err, yf->errlen, "%s:%d: ", yf->name,
		    line);
	else
		n = (size_t)snprintf(yf->err, yf->errlen, "%s: ", yf->name);
	if (n < yf->errlen)
		vsnprintf(yf->err + n, yf->errlen - n, fmt, ap);
	/* values quoted from the file must not reach a terminal raw */
	for (char *p = yf->err; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return -1;
}

int
yamlfile_error_line(struct yamlfile *yf, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	yamlfile_verror(yf, line, fmt, ap);
	va_end(ap);
	return -1;
}

int
yamlfile_error(struct yamlfile *yf, struct fy_node *node, const char *fmt, ...)
{
	int line = yamlfile_line(yf, node);
	va_list ap;

	va_start(ap, fmt);
	yamlfile_verror(yf, line, fmt, ap);
	va_end(ap);
	return -1;
}

/* Number of diagnostics collected so far; *last receives the newest. */
static size_t
yamlfile_ndiag(struct fy_diag *diag, struct fy_diag_error **last)
{
	struct fy_diag_error *e;
	void *it = NULL;
	size_t n = 0;

	*last = NULL;
	while ((e = fy_diag_errors_iterate(diag, &it)) != NULL) {
		*last = e;
		n++;
	}
	return n;
}

/* Line of a collection node, read back from a report libfyaml makes on it. */
static int
yamlfile_report_line(const struct yamlfile *yf, struct fy_node *node)
{
	struct fy_diag_error *e;
	size_t before = yamlfile_ndiag(yf->diag, &e);

	fy_diag_node_report(yf->diag, node, FYET_ERROR, "%s", "line probe");
	if (yamlfile_ndiag(yf->diag, &e) == before || e == NULL)
		return 0;
	return e->line > 0 ? e->line : 0;
}

int
yamlfile_line(const struct yamlfile *yf, struct fy_node *node)
{
	const struct fy_mark *mark;
	struct fy_node_pair *pair;
	struct fy_token *tok;
	struct fy_node *parent;
	void *it = NULL;
	int line;

	if (node == NULL)
		return 0;
	if (fy_node_is_scalar(node) &&
	    (tok = fy_node_get_scalar_token(node)) != NULL &&
	    (mark = fy_token_start_mark(tok)) != NULL)
		return mark->line + 1;
	if (!fy_node_is_null(node) && (line = yamlfile_report_line(yf, node)) > 0)
		return line;
	/* an empty value has no token: locate it by its key or its list */
	if ((parent = fy_node_get_parent(node)) == NULL)
		return 0;
	if (fy_node_is_mapping(parent)) {
		while ((pair = fy_node_mapping_iterate(parent, &it)) != NULL)
			if (fy_node_pair_value(pair) == node &&
			    fy_node_pair_key(pair) != node &&
			    (line = yamlfile_line(yf, fy_node_pair_key(pair))) > 0)
				return line;
	}
	return yamlfile_line(yf, parent);
}

/* Set the message for a failed parse from the first collected error. */
static int
yamlfile_syntax_error(struct yamlfile *yf)
{
	struct fy_diag_error *e;
	void *it = NULL;

	while ((e = fy_diag_errors_iterate(yf->diag, &it)) != NULL)
		if (e->type >= FYET_ERROR)
			return yamlfile_error_line(yf, e->line,
			    "YAML syntax error: %s", e->msg ? e->msg : "?");
	return yamlfile_error_line(yf, 0, "YAML syntax error");
}

/* Refuse aliases, tags and non-scalar keys anywhere below node. */
static int
yamlfile_check_node(struct yamlfile *yf, struct fy_node *node)
{
	struct fy_node_pair *pair;
	struct fy_node *key, *item;
	void *it = NULL;
	size_t len;

	if (node == NULL)
		return 0;
	if (fy_node_get_style(node) == FYNS_ALIAS)
		return yamlfile_error(yf, node, "aliases (*name) are not "
		    "supported; write the value out");
	if (fy_node_get_tag(node, &len) != NULL)
		return yamlfile_error(yf, node, "tags (!name) are not supported");
	if (fy_node_is_mapping(node)) {
		while ((pair = fy_node_mapping_iterate(node, &it)) != NULL) {
			key = fy_node_pair_key(pair);
			if (key == NULL || !fy_node_is_scalar(key) ||
			    fy_node_is_null(key) ||
			    fy_node_get_style(key) == FYNS_ALIAS)
				return yamlfile_error(yf,
				    key != NULL ? key : node,
				    "mapping keys must be plain strings");
			if (yamlfile_check_node(yf, key) == -1 ||
			    yamlfile_check_node(yf, fy_node_pair_value(pair)) == -1)
				return -1;
		}
	} else if (fy_node_is_sequence(node)) {
		while ((item = fy_node_sequence_iterate(node, &it)) != NULL)
			if (yamlfile_check_node(yf, item) == -1)
				return -1;
	}
	return 0;
}

/*
 * 1-based line of the first byte of text[0..len) that is not well-formed
 * UTF-8 (or is NUL), or 0 when there is none. A newline never sits inside a
 * multi-byte sequence, so checking line by line checks the whole text.
 */
static int
yamlfile_bad_utf8_line(const char *text, size_t len)
{
	const char *nl;
	size_t at = 0, n;
	int line = 1;

	while (at < len) {
		nl = memchr(text + at, '\n', len - at);
		n = nl != NULL ? (size_t)(nl - (text + at)) : len - at;
		if (!utf8_valid(text + at, n))
			return line;
		at += n + 1;
		line++;
	}
	return 0;
}

/* Parse yf->text into yf->doc: one document whose root is a mapping. */
static int
yamlfile_parse(struct yamlfile *yf)
{
	struct fy_diag_cfg dcfg;
	struct fy_parse_cfg pcfg;
	struct fy_document *extra;
	struct fy_node *root;
	int line;

	/*
	 * YAML is UTF-8 text; libfyaml 0.7 loops forever on malformed UTF-8
	 * in a directive ("%" then a bad byte), so it never sees any.
	 */
	if ((line = yamlfile_bad_utf8_line(yf->text, yf->len)) > 0)
		return yamlfile_error_line(yf, line, "not valid UTF-8 text (a "
		    "malformed sequence or a NUL byte)");
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = yamlfile_discard;
	dcfg.colorize = false;
	if ((yf->diag = fy_diag_create(&dcfg)) == NULL)
		return yamlfile_error_line(yf, 0, "cannot set up the YAML parser");
	fy_diag_set_collect_errors(yf->diag, true);

	memset(&pcfg, 0, sizeof(pcfg));
	pcfg.flags = FYPCF_QUIET | FYPCF_JSON_NONE;
	pcfg.diag = yf->diag;
	if ((yf->parser = fy_parser_create(&pcfg)) == NULL ||
	    fy_parser_set_string(yf->parser, yf->text, yf->len) != 0)
		return yamlfile_error_line(yf, 0, "cannot set up the YAML parser");

	if ((yf->doc = fy_parse_load_document(yf->parser)) == NULL) {
		if (fy_diag_got_error(yf->diag))
			return yamlfile_syntax_error(yf);
		return yamlfile_error_line(yf, 0, "the file is empty");
	}
	if (fy_diag_got_error(yf->diag))
		return yamlfile_syntax_error(yf);
	if ((extra = fy_parse_load_document(yf->parser)) != NULL) {
		line = yamlfile_line(yf, fy_document_root(extra));
		fy_parse_document_destroy(yf->parser, extra);
		return yamlfile_error_line(yf, line, "a second YAML document "
		    "starts here; the file must hold exactly one");
	}
	if (fy_diag_got_error(yf->diag))
		return yamlfile_syntax_error(yf);

	root = fy_document_root(yf->doc);
	if (root == NULL || yamlfile_is_null(root))
		return yamlfile_error_line(yf, 0, "the file is empty");
	if (!fy_node_is_mapping(root))
		return yamlfile_error(yf, root, "expected a mapping of keys at "
		    "the top level");
	return yamlfile_check_node(yf, root);
}

/* Take ownership of text[0..len) as the source of a new yamlfile. */
static int
yamlfile_new(char *text, size_t len, const char *name, struct yamlfile **out,
    char *err, size_t errlen)
{
	struct yamlfile *yf = xcalloc(1, sizeof(*yf));

	yf->name = xstrdup(name);
	yf->text = text;
	yf->len = len;
	yf->err = err;
	yf->errlen = errlen;
	if (yamlfile_parse(yf) == -1) {
		yamlfile_free(yf);
		return -1;
	}
	*out = yf;
	return 0;
}

int
yamlfile_load_string(const char *yaml, const char *name, struct yamlfile **out,
    char *err, size_t errlen)
{
	return yamlfile_new(xstrdup(yaml), strlen(yaml), name, out, err,
	    errlen);
}

int
yamlfile_load(const char *path, struct yamlfile **out, char *err,
    size_t errlen)
{
	char *text = NULL;
	size_t len = 0, cap = 0;
	struct stat st;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) ==
	    -1)
		goto fail;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto fail_quiet;
	}
	for (;;) {
		if (len == cap) {
			if (cap >= YAMLFILE_MAX_SIZE) {
				snprintf(err, errlen, "%s: larger than %u bytes",
				    path, YAMLFILE_MAX_SIZE);
				goto fail_quiet;
			}
			cap = cap ? cap * 2 : 8192;
			text = xreallocarray(text, cap + 1, 1);
		}
		if ((n = read(fd, text + len, cap - len)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	text = xreallocarray(text, len + 1, 1);
	text[len] = '\0';
	return yamlfile_new(text, len, path, out, err, errlen);

fail:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
fail_quiet:
	if (fd != -1)
		close(fd);
	free(text);
	return -1;
}

void
yamlfile_free(struct yamlfile *yf)
{
	if (yf == NULL)
		return;
	if (yf->doc != NULL)
		fy_parse_document_destroy(yf->parser, yf->doc);
	if (yf->parser != NULL)
		fy_parser_destroy(yf->parser);
	if (yf->diag != NULL)
		fy_diag_destroy(yf->diag);
	free(yf->text);
	free(yf->name);
	free(yf);
}

struct fy_node *
yamlfile_root(const struct yamlfile *yf)
{
	return fy_document_root(yf->doc);
}

bool
yamlfile_is_null(struct fy_node *node)
{
	static const char *const nulls[] = { "~", "null", "Null", "NULL" };
	const char *s;
	size_t len;

	if (node == NULL || fy_node_is_null(node))
		return true;
	if (!fy_node_is_scalar(node) || fy_node_get_style(node) != FYNS_PLAIN)
		return false;
	if ((s = fy_node_get_scalar(node, &len)) == NULL || len == 0)
		return true;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strlen(nulls[i]) == len && memcmp(s, nulls[i], len) == 0)
			return true;
	return false;
}

struct fy_node *
yamlfile_get(struct fy_node *map, const char *key, struct fy_node **keyp)
{
	struct fy_node_pair *pair;
	struct fy_node *k;
	void *it = NULL;
	const char *s;
	size_t len;

	if (keyp != NULL)
		*keyp = NULL;
	if (map == NULL || !fy_node_is_mapping(map))
		return NULL;
	while ((pair = fy_node_mapping_iterate(map, &it)) != NULL) {
		k = fy_node_pair_key(pair);
		if (k == NULL || !fy_node_is_scalar(k) ||
		    (s = fy_node_get_scalar(k, &len)) == NULL)
			continue;
		if (len == strlen(key) && memcmp(s, key, len) == 0) {
			if (keyp != NULL)
				*keyp = k;
			return fy_node_pair_value(pair);
		}
	}
	return NULL;
}

int
yamlfile_check_keys(struct yamlfile *yf, struct fy_node *map, const char *what,
    const char *const *allowed, size_t nallowed)
{
	struct fy_node_pair *pair;
	struct fy_node *k;
	char list[512];
	void *it = NULL;
	const char *s;
	size_t len, i, off;

	if (map == NULL || !fy_node_is_mapping(map)) {
		if (what == NULL)
			return yamlfile_error(yf, map, "expected a mapping of "
			    "keys at the top level");
		return yamlfile_error(yf, map, "%s: expected a mapping of keys",
		    what);
	}
	while ((pair = fy_node_mapping_iterate(map, &it)) != NULL) {
		k = fy_node_pair_key(pair);
		if ((s = fy_node_get_scalar(k, &len)) == NULL)
			return yamlfile_error(yf, map, "mapping keys must be "
			    "plain strings");
		for (i = 0; i < nallowed; i++)
			if (strlen(allowed[i]) == len &&
			    memcmp(s, allowed[i], len) == 0)
				break;
		if (i < nallowed)
			continue;
		list[0] = '\0';
		for (i = 0, off = 0; i < nallowed && off < sizeof(list); i++)
			off += (size_t)snprintf(list + off, sizeof(list) - off,
			    "%s%s", i ? ", " : "", allowed[i]);
		return yamlfile_error(yf, k, "unknown key '%.*s'%s%s "
		    "(expected one of: %s)", (int)(len > 64 ? 64 : len), s,
		    what ? " in " : "", what ? what : "", list);
	}
	return 0;
}

/* The text of a scalar value, or an error naming what was expected. */
static int
yamlfile_scalar(struct yamlfile *yf, struct fy_node *node, const char *what,
    const char *expected, const char **s, size_t *len)
{
	*s = NULL;
	*len = 0;
	if (yamlfile_is_null(node))
		return yamlfile_error(yf, node, "%s: no value", what);
	if (fy_node_is_mapping(node))
		return yamlfile_error(yf, node, "%s: expected %s, got a mapping",
		    what, expected);
	if (fy_node_is_sequence(node))
		return yamlfile_error(yf, node, "%s: expected %s, got a list",
		    what, expected);
	if ((*s = fy_node_get_scalar(node, len)) == NULL)
		return yamlfile_error(yf, node, "%s: expected %s", what,
		    expected);
	return 0;
}

int
yamlfile_uint(struct yamlfile *yf, struct fy_node *node, const char *what,
    uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *s;
	size_t len, i;

	if (yamlfile_scalar(yf, node, what, "a number", &s, &len) == -1)
		return -1;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			break;
	if (len == 0 || i < len || fy_node_get_style(node) != FYNS_PLAIN)
		return yamlfile_error(yf, node, "%s: expected a whole number "
		    "(unquoted), got '%.*s'", what, (int)(len > 64 ? 64 : len),
		    s);
	for (i = 0; i < len; i++) {
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return yamlfile_error(yf, node, "%s: %.*s is out of "
			    "range (%" PRIu64 "..%" PRIu64 ")", what,
			    (int)(len > 64 ? 64 : len), s, min, max);
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v < min || v > max)
		return yamlfile_error(yf, node, "%s: %" PRIu64 " is out of "
		    "range (%" PRIu64 "..%" PRIu64 ")", what, v, min, max);
	*out = v;
	return 0;
}

int
yamlfile_decimal(struct yamlfile *yf, struct fy_node *node, const char *what,
    double min, double max, unsigned places, double *out)
{
	static const double tens[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	};
	char buf[64], *end;
	const char *s;
	size_t len, i = 0, digits = 0;
	double v, scale;

	if (yamlfile_scalar(yf, node, what, "a number", &s, &len) == -1)
		return -1;
	/* the grammar first: strtod() alone would take hex, inf, nan, space */
	if (i < len && s[i] == '-')
		i++;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	if (i < len && s[i] == '.')
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	if (digits > 0 && i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t e = ++i;

		if (i < len && (s[i] == '+' || s[i] == '-'))
			e = ++i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == e)
			digits = 0;
	}
	if (digits == 0 || i < len || len >= sizeof(buf) ||
	    fy_node_get_style(node) != FYNS_PLAIN)
		return yamlfile_error(yf, node, "%s: expected a decimal number "
		    "(unquoted, e.g. 41.713), got '%.*s'", what,
		    (int)(len > 64 ? 64 : len), s);
	memcpy(buf, s, len);
	buf[len] = '\0';
	v = strtod(buf, &end);
	if (!(v >= min && v <= max))	/* NaN and overflow fail too */
		return yamlfile_error(yf, node, "%s: %s is out of range "
		    "(%g..%g)", what, buf, min, max);
	/* k / 10^places with both exact is correctly rounded: strtod's value */
	scale = tens[places < 9 ? places : 9];
	*out = round(v * scale) / scale;
	if (*out == 0)
		*out = 0;	/* no -0 */
	return 0;
}

int
yamlfile_bool(struct yamlfile *yf, struct fy_node *node, const char *what,
    bool *out)
{
	static const char *const truths[] = { "true", "True", "TRUE" };
	static const char *const lies[] = { "false", "False", "FALSE" };
	const char *s;
	size_t len;

	if (yamlfile_scalar(yf, node, what, "true or false", &s, &len) == -1)
		return -1;
	if (fy_node_get_style(node) == FYNS_PLAIN)
		for (size_t i = 0; i < 3; i++) {
			if (strlen(truths[i]) == len &&
			    memcmp(s, truths[i], len) == 0) {
				*out = true;
				return 0;
			}
			if (strlen(lies[i]) == len &&
			    memcmp(s, lies[i], len) == 0) {
				*out = false;
				return 0;
			}
		}
	return yamlfile_error(yf, node, "%s: expected true or false, got '%.*s'",
	    what, (int)(len > 64 ? 64 : len), s);
}

int
yamlfile_string(struct yamlfile *yf, struct fy_node *node, const char *what,
    char **out)
{
	const char *s;
	size_t len;
	char *v;

	if (yamlfile_scalar(yf, node, what, "a string", &s, &len) == -1)
		return -1;
	if (len == 0)
		return yamlfile_error(yf, node, "%s: must not be empty", what);
	if (memchr(s, '\0', len) == NULL && !utf8_valid(s, len))
		return yamlfile_error(yf, node, "%s: not valid UTF-8 text", what);
	v = xstrndup(s, len);
	if (strlen(v) != len || !utf8_valid_line(v)) {
		free(v);
		return yamlfile_error(yf, node, "%s: must be one line without "
		    "control characters", what);
	}
	*out = v;
	return 0;
}

int
yamlfile_strings(struct yamlfile *yf, struct fy_node *node, const char *what,
    bool scalar_ok, size_t min_items, yamlfile_item_fn check, void *arg,
    char ***out, size_t *n)
{
	struct fy_node *item;
	char why[256], **v = NULL;
	void *it = NULL;
	size_t count, i = 0;

	if (yamlfile_is_null(node))
		return yamlfile_error(yf, node, "%s: no value", what);
	if (fy_node_is_mapping(node) ||
	    (fy_node_is_scalar(node) && !scalar_ok))
		return yamlfile_error(yf, node, "%s: expected a list, e.g. "
		    "[a, b]", what);
	count = fy_node_is_scalar(node) ? 1 :
	    (size_t)fy_node_sequence_item_count(node);
	if (count < min_items)
		return yamlfile_error(yf, node, "%s: needs at least %zu "
		    "entr%s", what, min_items, min_items == 1 ? "y" : "ies");
	v = xcalloc(count ? count : 1, sizeof(*v));
	for (;;) {
		item = fy_node_is_scalar(node) ? (i == 0 ? node : NULL) :
		    fy_node_sequence_iterate(node, &it);
		if (item == NULL || i == count)
			break;
		if (yamlfile_string(yf, item, what, &v[i]) == -1)
			goto fail;
		i++;
		if (check != NULL && !check(arg, v[i - 1], why, sizeof(why))) {
			yamlfile_error(yf, item, "%s: %s", what, why);
			goto fail;
		}
	}
	*out = v;
	*n = i;
	return 0;

fail:
	yamlfile_strings_free(v, i);
	return -1;
}

void
yamlfile_strings_free(char **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
