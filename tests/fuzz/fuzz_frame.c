/*
 * fuzz_frame.c — the frame decoder, fed a byte stream in arbitrary chunks.
 *
 * Input: byte 0 picks the frame limit (4096, 1024 or FRAME_MAX_DEFAULT),
 * bytes 0-1 seed the chunk sizes, the rest is the stream a peer sends. The
 * stream arrives chunk by chunk in a buffer that grows to exactly what has
 * arrived (so AddressSanitizer sees any read past it) and is decoded the way
 * the broker's read loop does it: check the length prefix, wait for the whole
 * frame, decode exactly that many bytes, drain what was consumed. The client
 * library's way — decoding from the whole buffer — must agree.
 *
 * Properties: a strict prefix of a frame is FRAME_NEED_MORE; a refusal says
 * why; FRAME_TOO_LARGE only for a prefix over the limit; the stream stays in
 * step; every decoded envelope encodes (frame_encode) into a frame that
 * decodes and encodes again to the same bytes, and a decoded Deliver encodes
 * the same through frame_encode_deliver(); a frame over the memory budget
 * has a body (frame_head). (One exception, see frame_redecode(): the memory
 * budget may refuse a re-encoding shorter than the frame that was received.)
 */
#include <stdbool.h>

#include "frame.h"
#include "fuzz.h"

/* Next chunk size from the input-seeded generator: 1..left. */
static size_t
frame_chunk(uint32_t *seed, size_t left)
{
	static const size_t scale[] = { 1, 3, 16, 200, 5000, SIZE_MAX };
	size_t s;

	*seed = *seed * 1103515245u + 12345u;
	s = scale[(*seed >> 16) % (sizeof(scale) / sizeof(scale[0]))];
	if (s == SIZE_MAX || s >= left)
		return left;
	return 1 + (size_t)(*seed >> 8) % s;
}

/*
 * Decode buf[0..n), a frame made by frame_encode() or frame_encode_deliver()
 * from an envelope that came in a frame of wire bytes. False only when the
 * memory budget refuses it and it is shorter than that frame: the budget
 * is set by the bytes received, and a non-canonical encoding (over-long
 * varints) shrinks when encoded again while what it decodes to does not.
 */
static bool
frame_redecode(const uint8_t *buf, size_t n, size_t wire,
    Ccc__V1__Envelope **out)
{
	enum frame_status st;
	size_t consumed;
	char why[160];

	st = frame_decode(buf, n, FRAME_MAX_LIMIT, out, &consumed, why,
	    sizeof(why));
	if (st == FRAME_OVER_BUDGET && n < wire)
		return false;
	if (st != FRAME_OK)
		fprintf(stderr, "re-encoded frame refused: %s\n", why);
	FUZZ_CHECK(st == FRAME_OK);
	FUZZ_CHECK(consumed == n);
	return true;
}

/* Encode env (received in wire bytes) again and check the result decodes
 * to the same encoding. */
static void
frame_round_trip(const Ccc__V1__Envelope *env, size_t wire)
{
	Ccc__V1__Envelope *again;
	size_t n = frame_size(env);
	uint8_t *out = malloc(n), *out2;

	FUZZ_CHECK(out != NULL);
	FUZZ_CHECK(frame_encode(env, out) == n);
	if (!frame_redecode(out, n, wire, &again)) {
		free(out);
		return;
	}
	FUZZ_CHECK(again->body_case == env->body_case);
	FUZZ_CHECK(frame_size(again) == n);
	out2 = malloc(n);
	FUZZ_CHECK(out2 != NULL);
	FUZZ_CHECK(frame_encode(again, out2) == n);
	FUZZ_CHECK(memcmp(out, out2, n) == 0);
	frame_free(again);
	free(out2);

	/* the broker's one-encoding-for-all Deliver path */
	if (env->body_case == CCC__V1__ENVELOPE__BODY_DELIVER &&
	    env->deliver->alert != NULL) {
		Ccc__V1__Deliver d = *env->deliver;
		size_t alen = ccc__v1__alert__get_packed_size(env->deliver->alert);
		uint8_t *alert = malloc(alen ? alen : 1), *dout;
		size_t dn;

		FUZZ_CHECK(alert != NULL);
		FUZZ_CHECK(ccc__v1__alert__pack(env->deliver->alert, alert) ==
		    alen);
		d.alert = NULL;
		dn = frame_deliver_size(&d, alen);
		dout = malloc(dn);
		FUZZ_CHECK(dout != NULL);
		FUZZ_CHECK(frame_encode_deliver(&d, alert, alen, dout) == dn);
		if (frame_redecode(dout, dn, wire, &again)) {
			/* the same envelope, request id aside (a Deliver has none) */
			FUZZ_CHECK(again->request_id == 0);
			again->request_id = env->request_id;
			FUZZ_CHECK(frame_size(again) == n);
			out2 = malloc(n);
			FUZZ_CHECK(out2 != NULL);
			FUZZ_CHECK(frame_encode(again, out2) == n);
			FUZZ_CHECK(memcmp(out, out2, n) == 0);
			frame_free(again);
			free(out2);
		}
		free(dout);
		free(alert);
	}
	free(out);
}

/* A new buffer holding exactly p[0..n). */
static uint8_t *
frame_exact(const uint8_t *p, size_t n)
{
	uint8_t *b = malloc(n ? n : 1);

	FUZZ_CHECK(b != NULL);
	if (n > 0)
		memcpy(b, p, n);
	return b;
}

/*
 * Decode every whole frame at the start of *buf (*len bytes, reallocated to
 * what is left). Returns false when the stream must end (a frame too large:
 * the broker closes the session without reading on).
 */
static bool
frame_drain(uint8_t **buf, size_t *len, size_t max)
{
	Ccc__V1__Envelope *env, *env2;
	Ccc__V1__Envelope__BodyCase body;
	enum frame_status st, st2;
	size_t n, want, consumed, consumed2;
	char why[160], why2[160];
	uint64_t rid;
	uint8_t *rest;

	while (*len >= FRAME_HEADER_LEN) {
		const uint8_t *b = *buf;

		n = (size_t)b[0] << 24 | (size_t)b[1] << 16 |
		    (size_t)b[2] << 8 | b[3];
		want = FRAME_HEADER_LEN + n;
		if (n <= max && *len < want) {
			FUZZ_CHECK(frame_decode(b, *len, max, &env, &consumed,
			    why, sizeof(why)) == FRAME_NEED_MORE);
			FUZZ_CHECK(env == NULL);
			return true;
		}
		why[0] = '\0';
		st = frame_decode(b, *len < want ? *len : want, max, &env,
		    &consumed, why, sizeof(why));
		/* the client library decodes from all it has */
		st2 = frame_decode(b, *len, max, &env2, &consumed2, why2,
		    sizeof(why2));
		FUZZ_CHECK(st2 == st);
		FUZZ_CHECK(consumed2 == consumed);
		frame_free(env2);
		switch (st) {
		case FRAME_TOO_LARGE:
			FUZZ_CHECK(n > max);
			FUZZ_CHECK(consumed == n);
			FUZZ_CHECK(env == NULL && why[0] != '\0');
			return false;
		case FRAME_NEED_MORE:
			FUZZ_CHECK(!"a whole frame asked for more");
			break;
		case FRAME_MALFORMED:
			FUZZ_CHECK(consumed == want);
			FUZZ_CHECK(env == NULL && why[0] != '\0');
			break;
		case FRAME_OVER_BUDGET:
			FUZZ_CHECK(consumed == want);
			FUZZ_CHECK(env == NULL && why[0] != '\0');
			/* only a body can hold enough to exhaust the budget */
			frame_head(b, consumed, &rid, &body);
			FUZZ_CHECK(body != CCC__V1__ENVELOPE__BODY__NOT_SET);
			break;
		case FRAME_OK:
			FUZZ_CHECK(n <= max && consumed == want);
			FUZZ_CHECK(env != NULL);
			FUZZ_CHECK(env->body_case !=
			    CCC__V1__ENVELOPE__BODY__NOT_SET);
			FUZZ_CHECK(strcmp(frame_body_name(env->body_case),
			    "none") != 0);
			frame_round_trip(env, consumed);
			frame_free(env);
			break;
		}
		rest = frame_exact(b + consumed, *len - consumed);
		free(*buf);
		*buf = rest;
		*len -= consumed;
	}
	if (*len > 0)
		FUZZ_CHECK(frame_decode(*buf, *len, max, &env, &consumed, NULL,
		    0) == FRAME_NEED_MORE);
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t maxes[] = { 4096, FRAME_MAX_DEFAULT, FRAME_MAX_MIN,
	    4096 };
	const uint8_t *stream;
	uint8_t *buf = NULL, *grown;
	size_t max, total, fed = 0, len = 0, chunk;
	uint32_t seed;
	bool alive = true;

	if (size < 2)
		return 0;
	max = maxes[data[0] & 3];
	seed = (uint32_t)data[0] << 8 | data[1];
	stream = data + 2;
	total = size - 2;
	while (alive && fed < total) {
		chunk = frame_chunk(&seed, total - fed);
		grown = malloc(len + chunk);
		FUZZ_CHECK(grown != NULL);
		if (len > 0)
			memcpy(grown, buf, len);
		memcpy(grown + len, stream + fed, chunk);
		free(buf);
		buf = grown;
		len += chunk;
		fed += chunk;
		alive = frame_drain(&buf, &len, max);
	}
	free(buf);
	return 0;
}
