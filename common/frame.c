/*
 * frame.c — length-prefixed protobuf frames. Owns the wire format's outer
 * layer only: it must never trust a length before checking it against the
 * limit, let a frame decode into more memory than a fixed multiple of its
 * size, accept a message carrying fields this schema does not know
 * (protobuf-c keeps those and would pack them again on forwarding), or accept
 * a string with a NUL byte (protobuf-c would silently truncate it). A frame
 * over the memory budget is walked on the wire instead, so that a
 * well-formed one can be refused as a request rather than as a broken stream.
 */
#include <stdbool.h>
#include <stddef.h>
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

/* One field of an encoded message: its number, wire type and value. */
struct frame_field {
	uint32_t	 number;
	unsigned	 wire;		/* 0 varint, 1 64-bit, 2 length-delimited, 5 32-bit */
	uint64_t	 varint;	/* wire type 0 */
	const uint8_t	*data;		/* wire types 1, 2, 5: the value's bytes */
	size_t		 len;
};

/* Read the field at *p into fl and move past it; false when malformed. */
static bool
frame_field(const uint8_t **p, const uint8_t *end, struct frame_field *fl)
{
	uint64_t tag;

	if (!frame_varint(p, end, &tag) || tag >> 3 == 0 || tag >> 3 > 536870911)
		return false;
	fl->number = (uint32_t)(tag >> 3);
	fl->wire = (unsigned)(tag & 7);
	fl->len = 0;
	switch (fl->wire) {
	case 0:
		return frame_varint(p, end, &fl->varint);
	case 1:
	case 5:
		fl->len = fl->wire == 1 ? 8 : 4;
		break;
	case 2:
		if (!frame_varint(p, end, &fl->varint) ||
		    fl->varint > (uint64_t)(end - *p))
			return false;
		fl->len = (size_t)fl->varint;
		break;
	default:
		return false;
	}
	if (fl->len > (size_t)(end - *p))
		return false;
	fl->data = *p;
	*p += fl->len;
	return true;
}

/* True when protobuf-c reads field f from wire type wire (packed included). */
static bool
frame_wire_fits(const ProtobufCFieldDescriptor *f, unsigned wire)
{
	bool packed = wire == 2 && f->label == PROTOBUF_C_LABEL_REPEATED;

	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_BYTES:
	case PROTOBUF_C_TYPE_MESSAGE:
		return wire == 2;
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return wire == 1 || packed;
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
		return wire == 5 || packed;
	default:
		return wire == 0 || packed;
	}
}

enum frame_walk { WALK_OK, WALK_NUL, WALK_BAD };

/*
 * Walk the encoded message p[0..end) of type d: every field known to d and
 * sent with a wire type protobuf-c reads for it, every length within bounds,
 * and the same below it for every message field (the schema has no
 * recursive message, so the depth is fixed). WALK_NUL: a string field holds
 * a NUL byte; protobuf-c stores strings NUL-terminated without a length, so
 * it would be silently cut short when checked and forwarded.
 */
static enum frame_walk
frame_walk(const ProtobufCMessageDescriptor *d, const uint8_t *p,
    const uint8_t *end)
{
	const ProtobufCFieldDescriptor *f;
	struct frame_field fl;
	enum frame_walk w;

	while (p < end) {
		if (!frame_field(&p, end, &fl) ||
		    (f = protobuf_c_message_descriptor_get_field(d,
		    fl.number)) == NULL || !frame_wire_fits(f, fl.wire))
			return WALK_BAD;
		if (f->type == PROTOBUF_C_TYPE_STRING &&
		    memchr(fl.data, 0, fl.len) != NULL)
			return WALK_NUL;
		if (f->type == PROTOBUF_C_TYPE_MESSAGE && (w = frame_walk(
		    f->descriptor, fl.data, fl.data + fl.len)) != WALK_OK)
			return w;
	}
	return WALK_OK;
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

/* FRAME_MALFORMED, with why for what frame_walk() found. */
static enum frame_status
frame_refuse(enum frame_walk walk, char *why, size_t whylen)
{
	snprintf(why, whylen, "%s", walk == WALK_NUL ?
	    "a string field contains a NUL byte" :
	    "frame is not a valid ccc.v1.Envelope");
	return FRAME_MALFORMED;
}

enum frame_status
frame_decode(const uint8_t *buf, size_t len, size_t max,
    Ccc__V1__Envelope **env, size_t *consumed, char *why, size_t whylen)
{
	struct frame_budget budget;
	ProtobufCAllocator alloc = { frame_budget_alloc, frame_budget_free,
	    &budget };
	Ccc__V1__Envelope *e;
	enum frame_walk walk;
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
	walk = e != NULL || budget.exhausted ?
	    frame_walk(&ccc__v1__envelope__descriptor, buf + FRAME_HEADER_LEN,
	    buf + FRAME_HEADER_LEN + n) : WALK_BAD;
	if (e == NULL && walk == WALK_OK) {
		snprintf(why, whylen, "it decodes into more than %zu bytes of "
		    "memory (16 per byte of the frame, and 16 KiB): too many "
		    "repeated items", FRAME_BUDGET(n));
		return FRAME_OVER_BUDGET;
	}
	if (e == NULL)
		return frame_refuse(walk, why, whylen);
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
	if (walk != WALK_OK) {
		frame_free(e);
		return frame_refuse(walk, why, whylen);
	}
	*env = e;
	return FRAME_OK;
}

void
frame_head(const uint8_t *buf, size_t len, uint64_t *request_id,
    Ccc__V1__Envelope__BodyCase *body)
{
	const uint8_t *p = buf + FRAME_HEADER_LEN, *end = buf + len;
	const ProtobufCFieldDescriptor *f;
	struct frame_field fl;

	*request_id = 0;
	*body = CCC__V1__ENVELOPE__BODY__NOT_SET;
	while (p < end && frame_field(&p, end, &fl)) {
		f = protobuf_c_message_descriptor_get_field(
		    &ccc__v1__envelope__descriptor, fl.number);
		if (f == NULL)
			continue;
		if (f->offset == offsetof(Ccc__V1__Envelope, request_id) &&
		    fl.wire == 0)
			*request_id = fl.varint;
		else if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
			*body = (Ccc__V1__Envelope__BodyCase)f->id;
	}
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
