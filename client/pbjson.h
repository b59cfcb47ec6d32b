/*
 * pbjson.h — conversion between protobuf-c messages and jansson JSON,
 * driven by the message descriptors, so that it follows the .proto without
 * per-field code.
 *
 * Two forms (enum pbjson_form); docs/protocol.md, "JSON", has both.
 *
 * PBJSON_CCC, ccc's own form (ccc --json, --json=ccc):
 *   - keys are the field names of the .proto ("observed_at", "hs_code");
 *   - enums are their short lowercase names ("migrant_smuggling", "b2",
 *     see names.h);
 *   - signed 64-bit fields whose name ends in "_at" are times in
 *     microseconds since the epoch and are written and read as RFC 3339
 *     strings ("2026-11-30T01:46:43.123456Z"); other integers are JSON
 *     numbers;
 *   - float and double are JSON numbers, or the strings "NaN", "Infinity"
 *     and "-Infinity";
 *   - bytes are base64 strings (RFC 4648, with padding);
 *   - nested messages are objects, repeated fields arrays;
 *   - on output, proto3 default values (0, "", false, the unspecified enum
 *     value, an absent message, an empty repeated field) are left out; the
 *     member of a oneof that is set is always written. Keys come in field
 *     number order.
 *
 * PBJSON_PROTO3, the canonical proto3 JSON mapping (ccc --json=proto3), as
 * protobuf's own libraries write and read it:
 *   - keys are the lowerCamelCase JSON names ("observedAt", "hsCode");
 *     reading also takes the .proto names;
 *   - enums are the value names of the .proto ("CATEGORY_MIGRANT_SMUGGLING",
 *     "SEVERITY_HIGH"), or their number when the value has no name; reading
 *     also takes the number;
 *   - 64-bit integers (times included: microseconds since the epoch) are
 *     decimal strings; reading also takes numbers, and 32-bit integers as
 *     strings; any integer also as a number with no fraction ("2e1");
 *   - floats, bytes, nested messages, repeated fields and the omitted
 *     defaults as in the ccc form; reading also takes a float as a decimal
 *     string.
 */
#ifndef CCC_PBJSON_H
#define CCC_PBJSON_H

#include <stddef.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

enum pbjson_form {
	PBJSON_CCC,	/* ccc's own: short enum names, RFC 3339 times */
	PBJSON_PROTO3,	/* the canonical proto3 JSON mapping */
};

/*
 * Convert msg to a new JSON object in the given form; the caller owns the
 * result (json_decref). msg is only read. Returns NULL when msg holds a
 * string that is not valid UTF-8 or, in the ccc form, a uint64 above
 * INT64_MAX (JSON cannot carry either faithfully), or on allocation failure.
 */
json_t			*pbjson_from_message(const ProtobufCMessage *msg,
			    enum pbjson_form form);

/*
 * Build a new message of type d from the JSON object obj (only read), read
 * in the given form. On success the caller owns the result and frees it with
 * protobuf_c_message_free_unpacked(msg, NULL): the message and every string,
 * array and sub-message in it are malloc'd, as protobuf-c's default
 * allocator expects. JSON null stands for an absent field.
 *
 * On failure returns NULL and writes into err[errlen] a message naming the
 * field path, e.g.
 *   field "location.lat": expected a number
 *   field "category": unknown value "smuggling" (expected one of: ...)
 *   unknown field "vehicles[0].wheels"
 */
ProtobufCMessage	*pbjson_to_message(const ProtobufCMessageDescriptor *d,
			    const json_t *obj, enum pbjson_form form, char *err,
			    size_t errlen);

#endif
