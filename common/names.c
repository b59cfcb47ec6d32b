/*
 * names.c — short names for protobuf-c enum values, derived from the
 * descriptors so that the .proto stays the single source of truth.
 * Results are cached per descriptor in a small static table; the set of
 * descriptors is fixed at compile time.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "names.h"
#include "xmalloc.h"

#define NAMES_MAX_ENUMS 32

struct names_enum {
	const ProtobufCEnumDescriptor	*desc;
	char				**shorts;	/* by index into desc->values */
};

static struct names_enum names_cache[NAMES_MAX_ENUMS];
static int names_ncache;
static pthread_mutex_t names_lock = PTHREAD_MUTEX_INITIALIZER;

/* Length of the "PREFIX_" shared by all value names of desc. */
static size_t
names_prefix_len(const ProtobufCEnumDescriptor *desc)
{
	const char *first = desc->values[0].name;
	size_t len = strlen(first), i;

	for (unsigned v = 1; v < desc->n_values; v++) {
		const char *n = desc->values[v].name;
		for (i = 0; i < len && n[i] == first[i]; i++)
			;
		len = i;
	}
	while (len > 0 && first[len - 1] != '_')
		len--;
	return len;
}

/* The cached short names of desc, built on first use (thread-safe). */
static struct names_enum *
names_get(const ProtobufCEnumDescriptor *desc)
{
	struct names_enum *ne = NULL;
	size_t plen;

	pthread_mutex_lock(&names_lock);
	for (int i = 0; i < names_ncache; i++)
		if (names_cache[i].desc == desc) {
			ne = &names_cache[i];
			goto out;
		}
	if (names_ncache == NAMES_MAX_ENUMS)
		goto out;
	ne = &names_cache[names_ncache++];
	ne->desc = desc;
	ne->shorts = xcalloc(desc->n_values, sizeof(char *));
	plen = names_prefix_len(desc);
	for (unsigned v = 0; v < desc->n_values; v++) {
		char *s = xstrdup(desc->values[v].name + plen);
		for (char *p = s; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		ne->shorts[v] = s;
	}
out:
	pthread_mutex_unlock(&names_lock);
	return ne;
}

const char *
names_enum_short(const ProtobufCEnumDescriptor *desc, int value)
{
	struct names_enum *ne = names_get(desc);

	if (ne == NULL)
		return NULL;
	for (unsigned v = 0; v < desc->n_values; v++)
		if (desc->values[v].value == value)
			return ne->shorts[v];
	return NULL;
}

bool
names_enum_parse(const ProtobufCEnumDescriptor *desc, const char *name,
    int *value)
{
	struct names_enum *ne = names_get(desc);

	if (ne == NULL)
		return false;
	for (unsigned v = 0; v < desc->n_values; v++) {
		if (desc->values[v].value == 0)
			continue;
		if (strcasecmp(ne->shorts[v], name) == 0) {
			*value = desc->values[v].value;
			return true;
		}
	}
	return false;
}

char *
names_enum_list(const ProtobufCEnumDescriptor *desc, char *buf, size_t len)
{
	struct names_enum *ne = names_get(desc);
	size_t off = 0;

	buf[0] = '\0';
	if (ne == NULL)
		return buf;
	for (unsigned v = 0; v < desc->n_values && off < len; v++) {
		if (desc->values[v].value == 0)
			continue;
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    off ? ", " : "", ne->shorts[v]);
	}
	return buf;
}
