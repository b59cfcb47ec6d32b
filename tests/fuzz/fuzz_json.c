/*
 * fuzz_json.c — the JSON mapping of the client (pbjson), both ways.
 *
 * Input: JSON text, parsed as `ccc publish --json` parses a line, then
 * converted to a ccc.v1.Alert and, separately, to a ccc.v1.Envelope, in
 * each form (ccc's own and proto3, --json=proto3). When a
 * conversion succeeds, the message must be writable as JSON again, and that
 * JSON — as a value, and as text printed and read back — must convert to a
 * message with exactly the same encoding; writing that message once more
 * gives the same JSON.
 */
#include <jansson.h>

#include "ccc/v1/alert.pb-c.h"
#include "ccc/v1/envelope.pb-c.h"
#include "fuzz.h"
#include "pbjson.h"

/* A new buffer with msg's encoding; *n gets its size. */
static uint8_t *
pack(const ProtobufCMessage *msg, size_t *n)
{
	uint8_t *buf;

	*n = protobuf_c_message_get_packed_size(msg);
	buf = malloc(*n ? *n : 1);
	FUZZ_CHECK(buf != NULL);
	FUZZ_CHECK(protobuf_c_message_pack(msg, buf) == *n);
	return buf;
}

/* msg converted from j: it must equal want[0..n) when encoded. */
static ProtobufCMessage *
convert_same(const ProtobufCMessageDescriptor *d, const json_t *j,
    enum pbjson_form form, const uint8_t *want, size_t n)
{
	ProtobufCMessage *msg;
	uint8_t *got;
	size_t m;
	char err[512];

	msg = pbjson_to_message(d, j, form, err, sizeof(err));
	if (msg == NULL)
		fprintf(stderr, "conversion back failed: %s\n", err);
	FUZZ_CHECK(msg != NULL);
	got = pack(msg, &m);
	FUZZ_CHECK(m == n && memcmp(got, want, n) == 0);
	free(got);
	return msg;
}

static void
round_trip(const ProtobufCMessageDescriptor *d, const json_t *in,
    enum pbjson_form form)
{
	ProtobufCMessage *msg, *msg2, *msg3;
	json_t *out, *out2, *reread;
	uint8_t *packed;
	size_t n;
	char err[512], *text;

	err[0] = '\0';
	if ((msg = pbjson_to_message(d, in, form, err, sizeof(err))) == NULL) {
		FUZZ_CHECK(err[0] != '\0');
		return;
	}
	/* JSON text holds no invalid UTF-8 and the schema no uint64 over INT64_MAX */
	FUZZ_CHECK((out = pbjson_from_message(msg, form)) != NULL);
	packed = pack(msg, &n);

	msg2 = convert_same(d, out, form, packed, n);
	FUZZ_CHECK((out2 = pbjson_from_message(msg2, form)) != NULL);
	FUZZ_CHECK(json_equal(out, out2));

	/* as text: every double printed with enough digits to read back */
	text = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(17));
	FUZZ_CHECK(text != NULL);
	reread = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	FUZZ_CHECK(reread != NULL);
	msg3 = convert_same(d, reread, form, packed, n);

	protobuf_c_message_free_unpacked(msg3, NULL);
	json_decref(reread);
	free(text);
	json_decref(out2);
	protobuf_c_message_free_unpacked(msg2, NULL);
	free(packed);
	json_decref(out);
	protobuf_c_message_free_unpacked(msg, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *in;

	/* as cli.c reads a line of `ccc publish --json` */
	if ((in = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL)
		return 0;
	round_trip(&ccc__v1__alert__descriptor, in, PBJSON_CCC);
	round_trip(&ccc__v1__envelope__descriptor, in, PBJSON_CCC);
	round_trip(&ccc__v1__alert__descriptor, in, PBJSON_PROTO3);
	round_trip(&ccc__v1__envelope__descriptor, in, PBJSON_PROTO3);
	json_decref(in);
	return 0;
}
