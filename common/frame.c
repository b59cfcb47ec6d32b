/*
 * frame.c — length-prefixed protobuf frames. Owns the wire format's outer
 * layer only: it must never trust a length before checking it against the
 * limit, let a frame decode into more memory than a fixed multiple of its
 * size, accept a message carrying fields this schema does not know
 * (protobuf-c keeps those and would pack them again on forwarding), or accept
 * a string with a NUL byte (protobuf-c would silently truncate it).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

/*
 * Decoding a frame may allocate at most this much: protobuf-c turns a 2-byte
 * empty sub-message into a ~80-byte struct, so without a budget a frame full
 * of them would cost 40 times its size.
 */
#define FRAME_BUDGET(n)		(16 * (size_t)(n) + 16384)

struct frame_budget {
	size_t	left;
	bool	exhausted;	/* an allocation was refused */
};

static void *
frame_budget_alloc(void *data, size_t size)
{
	struct frame_budget *b = data;

	if (size > b->left) {
		b->exhausted = true;
		return NULL;
	}
	b->left -= size;
	return malloc(size);
}

static void
frame_budget_free(void *data, void *p)
{
	(void)data;
	free(p);	/* so frame_free() may use the default allocator */
}

/* Read a varint; false when it runs past end or over 10 bytes. */
static bool
frame_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 70 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0)
			return true;
	}
	return false;
}

/*
 * True when some string field in the encoded message buf[0..len) of type d
 * holds a NUL byte. protobuf-c stores strings NUL-terminated without a
 * length, so such a string would be silently cut short when checked and
 * forwarded. Only called on bytes protobuf-c has already decoded.
 */
static bool
frame_has_nul(const ProtobufCMessageDescriptor *d, const uint8_t *p,
    const uint8_t *end)
{
	uint64_t tag, len;

	while (p < end) {
		if (!frame_varint(&p, end, &tag))
			return false;
		switch (tag & 7) {
		case 0:
			if (!frame_varint(&p, end, &len))
				return false;
			break;
		case 1:
			p += 8;
			break;
		case 5:
			p += 4;
			break;
		case 2: {
			const ProtobufCFieldDescriptor *f;

			if (!frame_varint(&p, end, &len) || len > (uint64_t)(end - p))
				return false;
			f = protobuf_c_message_descriptor_get_field(d,
			    (unsigned)(tag >> 3));
			if (f != NULL && f->type == PROTOBUF_C_TYPE_STRING &&
			    memchr(p, 0, len) != NULL)
				return true;
			if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE &&
			    frame_has_nul(f->descriptor, p, p + len))
				return true;
			p += len;
			break;
		}
		default:
			return false;
		}
	}
	return false;
}

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
	struct frame_budget budget;
	ProtobufCAllocator alloc = { frame_budget_alloc, frame_budget_free,
	    &budget };
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
	budget.left = FRAME_BUDGET(n);
	budget.exhausted = false;
	e = ccc__v1__envelope__unpack(&alloc, n, buf + FRAME_HEADER_LEN);
	if (e == NULL) {
		snprintf(why, whylen, "%s", budget.exhausted ?
		    "frame decodes to too much memory (too many repeated items)" :
		    "frame is not a valid ccc.v1.Envelope");
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
	if (frame_has_nul(&ccc__v1__envelope__descriptor, buf + FRAME_HEADER_LEN,
	    buf + FRAME_HEADER_LEN + n)) {
		frame_free(e);
		snprintf(why, whylen, "a string field contains a NUL byte");
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

static size_t
frame_varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *
frame_put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

#define FRAME_TAG_DELIVER_ALERT	0x1a		/* Deliver.alert: field 3, LEN */
#define FRAME_TAG_ENV_DELIVER	(18 << 3 | 2)	/* Envelope.deliver: field 18, LEN */

/* Bytes of the Deliver message (without the envelope) with the alert in. */
static size_t
frame_deliver_body(const Ccc__V1__Deliver *d, size_t alert_len)
{
	return ccc__v1__deliver__get_packed_size(d) + 1 +
	    frame_varint_len(alert_len) + alert_len;
}

size_t
frame_deliver_size(const Ccc__V1__Deliver *d, size_t alert_len)
{
	size_t body = frame_deliver_body(d, alert_len);

	return FRAME_HEADER_LEN + frame_varint_len(FRAME_TAG_ENV_DELIVER) +
	    frame_varint_len(body) + body;
}

size_t
frame_encode_deliver(const Ccc__V1__Deliver *d, const uint8_t *alert,
    size_t alert_len, uint8_t *out)
{
	size_t body = frame_deliver_body(d, alert_len), n;
	uint8_t *p = out + FRAME_HEADER_LEN;

	/* Envelope { deliver = 18: Deliver { ...fields..., alert = 3: bytes } } */
	p = frame_put_varint(p, FRAME_TAG_ENV_DELIVER);
	p = frame_put_varint(p, body);
	p += ccc__v1__deliver__pack(d, p);
	*p++ = FRAME_TAG_DELIVER_ALERT;
	p = frame_put_varint(p, alert_len);
	memcpy(p, alert, alert_len);
	p += alert_len;
	n = (size_t)(p - out) - FRAME_HEADER_LEN;
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
