/*
 * pbjson.h — conversion between protobuf-c messages and jansson JSON,
 * driven by the message descriptors, so that it follows the .proto without
 * per-field code.
 *
 * Mapping
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
 */
#ifndef CCC_PBJSON_H
#define CCC_PBJSON_H

#include <stddef.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

/*
 * Convert msg to a new JSON object; the caller owns the result (json_decref).
 * msg is only read. Returns NULL when msg holds a string that is not valid
 * UTF-8 or a uint64 above INT64_MAX (JSON cannot carry either faithfully),
 * or on allocation failure.
 */
json_t			*pbjson_from_message(const ProtobufCMessage *msg);

/*
 * Build a new message of type d from the JSON object obj (only read). On
 * success the caller owns the result and frees it with
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
			    const json_t *obj, char *err, size_t errlen);

#endif
