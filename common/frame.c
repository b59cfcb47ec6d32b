/*
 * frame.c — length-prefixed protobuf frames. Owns the wire format's outer
 * layer only: it must never trust a length before checking it against the
 * limit, and never accept a message carrying fields this schema does not
 * know (protobuf-c keeps those and would pack them again on forwarding).
 */
#include <stdio.h>
#include <string.h>

#include "frame.h"

/* True when msg or any message below it carries unknown fields. */
static int
frame_has_unknown(const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;

	if (msg->n_unknown_fields > 0)
		return 1;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)msg;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t which = *(const uint32_t *)(const void *)(base + f->quantifier_offset);
			if (which != f->id)
				continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(const void *)(base + f->quantifier_offset);
			ProtobufCMessage *const *v = *(ProtobufCMessage *const *const *)(const void *)(base + f->offset);
			for (size_t k = 0; k < n; k++)
				if (frame_has_unknown(v[k]))
					return 1;
		} else {
			const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)(const void *)(base + f->offset);
			if (sub != NULL && frame_has_unknown(sub))
				return 1;
		}
	}
	return 0;
}

enum frame_status
frame_decode(const uint8_t *buf, size_t len, size_t max,
    Ccc__V1__Envelope **env, size_t *consumed, char *why, size_t whylen)
{
	Ccc__V1__Envelope *e;
	uint32_t n;
	char dummy[1];

	if (why == NULL) {
		why = dummy;
		whylen = sizeof(dummy);
	}
	*env = NULL;
	*consumed = 0;
	if (len < FRAME_HEADER_LEN)
		return FRAME_NEED_MORE;
	n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
	    (uint32_t)buf[2] << 8 | buf[3];
	if (n > max) {
		*consumed = n;
		snprintf(why, whylen, "frame of %u bytes exceeds the maximum of %zu",
		    n, max);
		return FRAME_TOO_LARGE;
	}
	if (len - FRAME_HEADER_LEN < n)
		return FRAME_NEED_MORE;
	*consumed = FRAME_HEADER_LEN + (size_t)n;
	if (n == 0) {
		snprintf(why, whylen, "empty frame");
		return FRAME_MALFORMED;
	}
	e = ccc__v1__envelope__unpack(NULL, n, buf + FRAME_HEADER_LEN);
	if (e == NULL) {
		snprintf(why, whylen, "frame is not a valid ccc.v1.Envelope");
		return FRAME_MALFORMED;
	}
	if (e->body_case == CCC__V1__ENVELOPE__BODY__NOT_SET) {
		frame_free(e);
		snprintf(why, whylen, "envelope has no body");
		return FRAME_MALFORMED;
	}
	if (frame_has_unknown(&e->base)) {
		frame_free(e);
		snprintf(why, whylen, "envelope carries fields unknown to ccc.v1");
		return FRAME_MALFORMED;
	}
	*env = e;
	return FRAME_OK;
}

void
frame_free(Ccc__V1__Envelope *env)
{
	if (env != NULL)
		ccc__v1__envelope__free_unpacked(env, NULL);
}

size_t
frame_size(const Ccc__V1__Envelope *env)
{
	return FRAME_HEADER_LEN + ccc__v1__envelope__get_packed_size(env);
}

size_t
frame_encode(const Ccc__V1__Envelope *env, uint8_t *out)
{
	size_t n = ccc__v1__envelope__pack(env, out + FRAME_HEADER_LEN);

	out[0] = (uint8_t)(n >> 24);
	out[1] = (uint8_t)(n >> 16);
	out[2] = (uint8_t)(n >> 8);
	out[3] = (uint8_t)n;
	return FRAME_HEADER_LEN + n;
}

const char *
frame_body_name(Ccc__V1__Envelope__BodyCase body)
{
	const ProtobufCFieldDescriptor *f;

	f = protobuf_c_message_descriptor_get_field(&ccc__v1__envelope__descriptor,
	    (unsigned)body);
	return f != NULL ? f->name : "none";
}
