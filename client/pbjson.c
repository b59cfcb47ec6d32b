/*
 * pbjson.c — protobuf-c messages to and from JSON, by walking the message
 * descriptors. Owns the JSON mapping of the schema (pbjson.h says what it
 * is); it must never trust JSON input: every value is type- and
 * range-checked before it is stored, and a half-built message is always in
 * a state that protobuf_c_message_free_unpacked() can free.
 */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "pbjson.h"
#include "timeutil.h"
#include "xmalloc.h"

/* State of one pbjson_to_message() call: where we are, where errors go. */
struct pbjson_in {
	char			 path[256];	/* dotted path of the field read */
	char			*err;
	size_t			 errlen;
	enum pbjson_form	 form;
};

static const char pbjson_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Address of the member described by f in the message at base. */
static void *
pbjson_member(void *base, size_t offset)
{
	return (char *)base + offset;
}

static const void *
pbjson_cmember(const void *base, size_t offset)
{
	return (const char *)base + offset;
}

/* True for signed 64-bit fields named "*_at": microsecond times (ccc form). */
static bool
pbjson_is_time(const ProtobufCFieldDescriptor *f, enum pbjson_form form)
{
	size_t len = strlen(f->name);

	if (form != PBJSON_CCC)
		return false;
	if (f->type != PROTOBUF_C_TYPE_INT64 && f->type != PROTOBUF_C_TYPE_SINT64 &&
	    f->type != PROTOBUF_C_TYPE_SFIXED64)
		return false;
	return len > 3 && strcmp(f->name + len - 3, "_at") == 0;
}

/*
 * The proto3 JSON name of a field, as protoc makes it: each "_" dropped and
 * the letter after it upper-cased ("hs_code": "hsCode"). Returns buf.
 */
static const char *
pbjson_json_name(const char *name, char *buf, size_t len)
{
	size_t n = 0;
	bool upper = false;

	for (; *name != '\0' && n + 1 < len; name++) {
		if (*name == '_') {
			upper = true;
			continue;
		}
		buf[n++] = upper && *name >= 'a' && *name <= 'z' ?
		    (char)(*name - 'a' + 'A') : *name;
		upper = false;
	}
	buf[n] = '\0';
	return buf;
}

/* Bytes one element of a repeated field of type t takes in its array. */
static size_t
pbjson_elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return sizeof(int64_t);
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	default:	/* 32-bit integers and enums */
		return sizeof(int32_t);
	}
}

/* ---- message to JSON ---------------------------------------------------- */

static json_t	*pbjson_object_out(const ProtobufCMessage *msg,
		    enum pbjson_form form);

static json_t *
pbjson_real_out(double d)
{
	if (isnan(d))
		return json_string("NaN");
	if (isinf(d))
		return json_string(d > 0 ? "Infinity" : "-Infinity");
	return json_real(d);
}

static json_t *
pbjson_bytes_out(const ProtobufCBinaryData *b)
{
	size_t n = 0;
	char *s = xmalloc((b->len + 2) / 3 * 4 + 1);
	json_t *v;

	for (size_t i = 0; i < b->len; i += 3) {
		uint32_t w = (uint32_t)b->data[i] << 16;
		size_t left = b->len - i;

		if (left > 1)
			w |= (uint32_t)b->data[i + 1] << 8;
		if (left > 2)
			w |= b->data[i + 2];
		s[n++] = pbjson_b64[w >> 18 & 63];
		s[n++] = pbjson_b64[w >> 12 & 63];
		s[n++] = left > 1 ? pbjson_b64[w >> 6 & 63] : '=';
		s[n++] = left > 2 ? pbjson_b64[w & 63] : '=';
	}
	s[n] = '\0';
	v = json_string(s);
	free(s);
	return v;
}

/* A proto3 enum value: its name in the .proto, or its number. */
static json_t *
pbjson_enum_out(const ProtobufCFieldDescriptor *f, int v,
    enum pbjson_form form)
{
	const ProtobufCEnumValue *ev;
	const char *name;

	if (form == PBJSON_PROTO3) {
		ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
		name = ev != NULL ? ev->name : NULL;
	} else
		name = names_enum_short(f->descriptor, v);
	return name != NULL ? json_string(name) : json_integer(v);
}

/* A 64-bit integer: a number, or in the proto3 form a decimal string. */
static json_t *
pbjson_int64_out(int64_t v, enum pbjson_form form)
{
	char buf[32];

	if (form != PBJSON_PROTO3)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return json_string(buf);
}

/* The JSON value of one (singular or array element) value at p. */
static json_t *
pbjson_value_out(const ProtobufCFieldDescriptor *f, const void *p,
    enum pbjson_form form)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: {
		int64_t v = *(const int64_t *)p;
		char buf[64];

		if (pbjson_is_time(f, form))
			return json_string(time_format_rfc3339(v, buf, sizeof(buf)));
		return pbjson_int64_out(v, form);
	}
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: {
		uint64_t v = *(const uint64_t *)p;
		char buf[32];

		if (form == PBJSON_PROTO3) {
			snprintf(buf, sizeof(buf), "%" PRIu64, v);
			return json_string(buf);
		}
		if (v > INT64_MAX)	/* jansson integers are signed 64-bit */
			return NULL;
		return json_integer((json_int_t)v);
	}
	case PROTOBUF_C_TYPE_FLOAT:
		return pbjson_real_out(*(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE:
		return pbjson_real_out(*(const double *)p);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_ENUM:
		return pbjson_enum_out(f, *(const int *)p, form);
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(const char *const *)p;

		return json_string(s != NULL ? s : "");
	}
	case PROTOBUF_C_TYPE_BYTES:
		return pbjson_bytes_out(p);
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)p;

		return sub != NULL ? pbjson_object_out(sub, form) :
		    json_object();
	}
	}
	return NULL;
}

/* True when the proto3 (no presence) field at p holds its default value. */
static bool
pbjson_is_default(const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return *(const int64_t *)p == 0;
	case PROTOBUF_C_TYPE_FLOAT:
		return *(const float *)p == 0;
	case PROTOBUF_C_TYPE_DOUBLE:
		return *(const double *)p == 0;
	case PROTOBUF_C_TYPE_BOOL:
		return !*(const protobuf_c_boolean *)p;
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(const char *const *)p;

		return s == NULL || *s == '\0';
	}
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)p)->len == 0;
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(const ProtobufCMessage *const *)p == NULL;
	default:	/* 32-bit integers and enums */
		return *(const int32_t *)p == 0;
	}
}

/* True when the field f of the message at base is to be written. */
static bool
pbjson_is_present(const ProtobufCFieldDescriptor *f, const void *base)
{
	const void *p = pbjson_cmember(base, f->offset);
	const void *q = pbjson_cmember(base, f->quantifier_offset);

	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)q == f->id;
	switch (f->label) {
	case PROTOBUF_C_LABEL_REPEATED:
		return *(const size_t *)q > 0;
	case PROTOBUF_C_LABEL_OPTIONAL:
		if (f->type == PROTOBUF_C_TYPE_MESSAGE)
			return *(const ProtobufCMessage *const *)p != NULL;
		if (f->type == PROTOBUF_C_TYPE_STRING) {
			const char *s = *(const char *const *)p;
			return s != NULL && s != f->default_value;
		}
		return *(const protobuf_c_boolean *)q;
	case PROTOBUF_C_LABEL_NONE:
		return !pbjson_is_default(f, p);
	default:	/* proto2 required */
		return true;
	}
}

static json_t *
pbjson_object_out(const ProtobufCMessage *msg, enum pbjson_form form)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	json_t *obj = json_object(), *v;
	const char *name;
	char key[128];

	if (obj == NULL)
		return NULL;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const void *p = pbjson_cmember(msg, f->offset);

		if (!pbjson_is_present(f, msg))
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)pbjson_cmember(msg,
			    f->quantifier_offset);
			const char *arr = *(const char *const *)p;
			size_t size = pbjson_elem_size(f->type);

			if ((v = json_array()) == NULL)
				goto fail;
			for (size_t k = 0; k < n; k++)
				if (json_array_append_new(v,
				    pbjson_value_out(f, arr + k * size,
				    form)) < 0) {
					json_decref(v);
					goto fail;
				}
		} else
			v = pbjson_value_out(f, p, form);
		/* json_object_set_new() refuses a NULL value and drops v on failure */
		name = form == PBJSON_PROTO3 ?
		    pbjson_json_name(f->name, key, sizeof(key)) : f->name;
		if (json_object_set_new(obj, name, v) < 0)
			goto fail;
	}
	return obj;
fail:
	json_decref(obj);
	return NULL;
}

json_t *
pbjson_from_message(const ProtobufCMessage *msg, enum pbjson_form form)
{
	if (msg == NULL)
		return NULL;
	return pbjson_object_out(msg, form);
}

/* ---- JSON to message ---------------------------------------------------- */

static int	 pbjson_object_in(struct pbjson_in *x,
		    const ProtobufCMessageDescriptor *d, const json_t *obj,
		    ProtobufCMessage *msg);

static int	 pbjson_fail(struct pbjson_in *x, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/* Report an error about the current field; returns -1. */
static int
pbjson_fail(struct pbjson_in *x, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(x->err, x->errlen, "field \"%s\": %s", x->path, what);
	return -1;
}

/* Append ".key" to the path; returns the old length to restore. */
static size_t
pbjson_path_key(struct pbjson_in *x, const char *key)
{
	size_t len = strlen(x->path);

	snprintf(x->path + len, sizeof(x->path) - len, "%s%s", len ? "." : "",
	    key);
	return len;
}

static size_t
pbjson_path_index(struct pbjson_in *x, size_t i)
{
	size_t len = strlen(x->path);

	snprintf(x->path + len, sizeof(x->path) - len, "[%zu]", i);
	return len;
}

static const char *
pbjson_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE: case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "a value";
}

/*
 * A proto3 integer given as a decimal string or as a number with no
 * fraction: true with *out set, false when v is neither.
 */
static bool
pbjson_int_proto3(const json_t *v, json_int_t *out)
{
	const char *s;
	char *end;
	double d;

	if (json_is_real(v)) {
		d = json_real_value(v);
		if (d != floor(d) || d < -9.2e18 || d > 9.2e18)
			return false;
		*out = (json_int_t)d;
		return true;
	}
	if (!json_is_string(v))
		return false;
	s = json_string_value(v);
	if (*s != '-' && (*s < '0' || *s > '9'))
		return false;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return end != s && *end == '\0' && errno == 0;
}

static int
pbjson_int_in(struct pbjson_in *x, const json_t *v, json_int_t min,
    json_int_t max, json_int_t *out)
{
	json_int_t i;

	if (json_is_integer(v))
		i = json_integer_value(v);
	else if (x->form != PBJSON_PROTO3 || !pbjson_int_proto3(v, &i))
		return pbjson_fail(x, "expected an integer, got %s",
		    pbjson_type_name(v));
	if (i < min || i > max)
		return pbjson_fail(x, "%" JSON_INTEGER_FORMAT " is out of range "
		    "(%" JSON_INTEGER_FORMAT " to %" JSON_INTEGER_FORMAT ")",
		    i, min, max);
	*out = i;
	return 0;
}

/* A proto3 uint64: a decimal string up to UINT64_MAX, or an integer. */
static int
pbjson_uint64_in(struct pbjson_in *x, const json_t *v, uint64_t *out)
{
	const char *s;
	char *end;
	json_int_t i;

	if (!json_is_string(v)) {
		if (pbjson_int_in(x, v, 0, INT64_MAX, &i) < 0)
			return -1;
		*out = (uint64_t)i;
		return 0;
	}
	s = json_string_value(v);
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0)
		return pbjson_fail(x, "expected an unsigned integer, got "
		    "\"%s\"", s);
	return 0;
}

static int
pbjson_real_in(struct pbjson_in *x, const json_t *v, bool is_float,
    double *out)
{
	double d;
	char *end;

	if (json_is_string(v)) {
		const char *s = json_string_value(v);

		if (strcmp(s, "NaN") == 0)
			d = NAN;
		else if (strcmp(s, "Infinity") == 0)
			d = INFINITY;
		else if (strcmp(s, "-Infinity") == 0)
			d = -INFINITY;
		else if (x->form != PBJSON_PROTO3 || *s == '\0' ||
		    (d = strtod(s, &end), *end != '\0') || !isfinite(d))
			return pbjson_fail(x, "expected a number");
	} else if (json_is_number(v))
		d = json_number_value(v);
	else
		return pbjson_fail(x, "expected a number");
	if (is_float && isfinite(d) && fabs(d) > FLT_MAX)
		return pbjson_fail(x, "%g is out of range for a float", d);
	*out = d;
	return 0;
}

static int
pbjson_time_in(struct pbjson_in *x, const json_t *v, int64_t *out)
{
	if (!json_is_string(v))
		return pbjson_fail(x, "expected an RFC 3339 time string, got %s",
		    pbjson_type_name(v));
	if (!time_parse_rfc3339(json_string_value(v), out))
		return pbjson_fail(x, "invalid RFC 3339 time \"%s\"",
		    json_string_value(v));
	return 0;
}

/* The proto3 value names of enum d, comma-separated, into buf. */
static const char *
pbjson_enum_names(const ProtobufCEnumDescriptor *d, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < d->n_values && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "",
		    d->values[i].name);
	return buf;
}

/* A proto3 enum: the value's name in the .proto, or its number. */
static int
pbjson_enum_proto3(struct pbjson_in *x, const ProtobufCFieldDescriptor *f,
    const json_t *v, int *out)
{
	const ProtobufCEnumValue *ev;
	char list[1024];
	json_int_t i;

	if (json_is_integer(v)) {
		if (pbjson_int_in(x, v, INT32_MIN, INT32_MAX, &i) < 0)
			return -1;
		*out = (int)i;
		return 0;
	}
	pbjson_enum_names(f->descriptor, list, sizeof(list));
	if (!json_is_string(v))
		return pbjson_fail(x, "expected a string, one of: %s", list);
	ev = protobuf_c_enum_descriptor_get_value_by_name(f->descriptor,
	    json_string_value(v));
	if (ev == NULL)
		return pbjson_fail(x, "unknown value \"%s\" (expected one of: "
		    "%s)", json_string_value(v), list);
	*out = ev->value;
	return 0;
}

static int
pbjson_enum_in(struct pbjson_in *x, const ProtobufCFieldDescriptor *f,
    const json_t *v, int *out)
{
	char list[512];

	if (x->form == PBJSON_PROTO3)
		return pbjson_enum_proto3(x, f, v, out);
	names_enum_list(f->descriptor, list, sizeof(list));
	if (!json_is_string(v))
		return pbjson_fail(x, "expected a string, one of: %s", list);
	if (!names_enum_parse(f->descriptor, json_string_value(v), out))
		return pbjson_fail(x, "unknown value \"%s\" (expected one of: %s)",
		    json_string_value(v), list);
	return 0;
}

/* Value of a base64 digit, or -1. */
static int
pbjson_b64_digit(char c)
{
	const char *p;

	if (c == '-')	/* the URL-safe alphabet too */
		return 62;
	if (c == '_')
		return 63;
	if (c == '\0' || (p = strchr(pbjson_b64, c)) == NULL)
		return -1;
	return (int)(p - pbjson_b64);
}

static int
pbjson_bytes_in(struct pbjson_in *x, const json_t *v, ProtobufCBinaryData *out)
{
	const char *s;
	size_t len, n = 0;
	uint32_t w = 0;
	int bits = 0, d;
	uint8_t *buf;

	if (!json_is_string(v))
		return pbjson_fail(x, "expected a base64 string, got %s",
		    pbjson_type_name(v));
	s = json_string_value(v);
	len = json_string_length(v);
	while (len > 0 && s[len - 1] == '=')
		len--;
	if (len % 4 == 1 || json_string_length(v) - len > 2)
		return pbjson_fail(x, "invalid base64");
	buf = xmalloc(len * 3 / 4 + 1);
	for (size_t i = 0; i < len; i++) {
		if ((d = pbjson_b64_digit(s[i])) < 0) {
			free(buf);
			return pbjson_fail(x, "invalid base64");
		}
		w = w << 6 | (uint32_t)d;
		if ((bits += 6) >= 8) {
			bits -= 8;
			buf[n++] = (uint8_t)(w >> bits);
		}
	}
	out->data = buf;
	out->len = n;
	return 0;
}

/* Read one (singular or array element) value v of field f into p. */
static int
pbjson_value_in(struct pbjson_in *x, const ProtobufCFieldDescriptor *f,
    const json_t *v, void *p)
{
	json_int_t i;
	double d;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		if (pbjson_int_in(x, v, INT32_MIN, INT32_MAX, &i) < 0)
			return -1;
		*(int32_t *)p = (int32_t)i;
		return 0;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if (pbjson_int_in(x, v, 0, UINT32_MAX, &i) < 0)
			return -1;
		*(uint32_t *)p = (uint32_t)i;
		return 0;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		if (pbjson_is_time(f, x->form))
			return pbjson_time_in(x, v, p);
		if (pbjson_int_in(x, v, INT64_MIN, INT64_MAX, &i) < 0)
			return -1;
		*(int64_t *)p = i;
		return 0;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if (x->form == PBJSON_PROTO3)
			return pbjson_uint64_in(x, v, p);
		if (pbjson_int_in(x, v, 0, INT64_MAX, &i) < 0)
			return -1;
		*(uint64_t *)p = (uint64_t)i;
		return 0;
	case PROTOBUF_C_TYPE_FLOAT:
		if (pbjson_real_in(x, v, true, &d) < 0)
			return -1;
		*(float *)p = (float)d;
		return 0;
	case PROTOBUF_C_TYPE_DOUBLE:
		return pbjson_real_in(x, v, false, p);
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_is_boolean(v))
			return pbjson_fail(x, "expected true or false, got %s",
			    pbjson_type_name(v));
		*(protobuf_c_boolean *)p = json_is_true(v);
		return 0;
	case PROTOBUF_C_TYPE_ENUM:
		return pbjson_enum_in(x, f, v, p);
	case PROTOBUF_C_TYPE_STRING:
		if (!json_is_string(v))
			return pbjson_fail(x, "expected a string, got %s",
			    pbjson_type_name(v));
		if (strlen(json_string_value(v)) != json_string_length(v))
			return pbjson_fail(x, "contains a NUL character");
		*(char **)p = xstrdup(json_string_value(v));
		return 0;
	case PROTOBUF_C_TYPE_BYTES:
		return pbjson_bytes_in(x, v, p);
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessageDescriptor *sd = f->descriptor;
		ProtobufCMessage *sub;

		if (!json_is_object(v))
			return pbjson_fail(x, "expected an object, got %s",
			    pbjson_type_name(v));
		sub = xmalloc(sd->sizeof_message);
		protobuf_c_message_init(sd, sub);
		*(ProtobufCMessage **)p = sub;	/* the parent owns it from here */
		return pbjson_object_in(x, sd, v, sub);
	}
	}
	return pbjson_fail(x, "unsupported field type");
}

static int
pbjson_repeated_in(struct pbjson_in *x, const ProtobufCFieldDescriptor *f,
    const json_t *v, ProtobufCMessage *msg)
{
	size_t *count = pbjson_member(msg, f->quantifier_offset);
	char **arr = pbjson_member(msg, f->offset);
	size_t n, size = pbjson_elem_size(f->type), mark;

	if (!json_is_array(v))
		return pbjson_fail(x, "expected an array, got %s",
		    pbjson_type_name(v));
	if ((n = json_array_size(v)) == 0)
		return 0;
	/* zeroed elements are safe to free: NULL strings, NULL messages */
	*arr = xcalloc(n, size);
	*count = n;
	for (size_t k = 0; k < n; k++) {
		mark = pbjson_path_index(x, k);
		if (pbjson_value_in(x, f, json_array_get(v, k), *arr + k * size) < 0)
			return -1;
		x->path[mark] = '\0';
	}
	return 0;
}

/* The field a key names: its .proto name, or in proto3 its JSON name. */
static const ProtobufCFieldDescriptor *
pbjson_field_named(const struct pbjson_in *x,
    const ProtobufCMessageDescriptor *d, const char *key)
{
	const ProtobufCFieldDescriptor *f;
	char name[128];

	f = protobuf_c_message_descriptor_get_field_by_name(d, key);
	if (f != NULL || x->form != PBJSON_PROTO3)
		return f;
	for (unsigned i = 0; i < d->n_fields; i++)
		if (strcmp(pbjson_json_name(d->fields[i].name, name,
		    sizeof(name)), key) == 0)
			return &d->fields[i];
	return NULL;
}

/* One key of a JSON object: the field it names, checked and stored. */
static int
pbjson_field_in(struct pbjson_in *x, const ProtobufCMessageDescriptor *d,
    const char *key, const json_t *v, ProtobufCMessage *msg)
{
	const ProtobufCFieldDescriptor *f, *other;
	uint32_t *which;

	if ((f = pbjson_field_named(x, d, key)) == NULL) {
		snprintf(x->err, x->errlen, "unknown field \"%s\"", x->path);
		return -1;
	}
	if (json_is_null(v))
		return 0;
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		which = pbjson_member(msg, f->quantifier_offset);
		if (*which != 0 && *which != f->id) {
			other = protobuf_c_message_descriptor_get_field(d, *which);
			return pbjson_fail(x, "cannot be combined with \"%s\" "
			    "(only one of them may be set)",
			    other != NULL ? other->name : "?");
		}
		*which = f->id;
	}
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return pbjson_repeated_in(x, f, v, msg);
	if (pbjson_value_in(x, f, v, pbjson_member(msg, f->offset)) < 0)
		return -1;
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
	    f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE &&
	    !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
		*(protobuf_c_boolean *)pbjson_member(msg, f->quantifier_offset) = 1;
	return 0;
}

static int
pbjson_object_in(struct pbjson_in *x, const ProtobufCMessageDescriptor *d,
    const json_t *obj, ProtobufCMessage *msg)
{
	/* jansson's iterators take a non-const object; they only read it */
	json_t *o = (json_t *)(uintptr_t)obj;
	size_t mark;

	for (void *it = json_object_iter(o); it != NULL;
	    it = json_object_iter_next(o, it)) {
		mark = pbjson_path_key(x, json_object_iter_key(it));
		if (pbjson_field_in(x, d, json_object_iter_key(it),
		    json_object_iter_value(it), msg) < 0)
			return -1;
		x->path[mark] = '\0';
	}
	return 0;
}

ProtobufCMessage *
pbjson_to_message(const ProtobufCMessageDescriptor *d, const json_t *obj,
    enum pbjson_form form, char *err, size_t errlen)
{
	struct pbjson_in x;
	char dummy[1];
	ProtobufCMessage *msg;

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	x.path[0] = '\0';
	x.err = err;
	x.errlen = errlen;
	x.form = form;
	if (obj == NULL || !json_is_object(obj)) {
		snprintf(err, errlen, "expected a JSON object, got %s",
		    obj != NULL ? pbjson_type_name(obj) : "nothing");
		return NULL;
	}
	msg = xmalloc(d->sizeof_message);
	protobuf_c_message_init(d, msg);
	if (pbjson_object_in(&x, d, obj, msg) < 0) {
		protobuf_c_message_free_unpacked(msg, NULL);
		return NULL;
	}
	return msg;
}
