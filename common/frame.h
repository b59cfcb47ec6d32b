/*
 * frame.h — the ccc.v1 frame codec (docs/protocol.md, "Framing").
 *
 * A frame is a 4-byte big-endian length N followed by N bytes: one
 * protobuf-encoded ccc.v1.Envelope. The codec is pure: it works on byte
 * buffers, never allocates for a frame it refuses, and knows nothing about
 * sockets, TLS or sessions. Broker and client library share it.
 */
#ifndef CCC_FRAME_H
#define CCC_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "ccc/v1/envelope.pb-c.h"

#define FRAME_HEADER_LEN	4
#define FRAME_MAX_DEFAULT	(64u * 1024)		/* Envelope bytes */
#define FRAME_MAX_MIN		1024u
#define FRAME_MAX_LIMIT		(16u * 1024 * 1024)

enum frame_status {
	FRAME_OK,		/* *env holds a decoded envelope */
	FRAME_NEED_MORE,	/* the buffer does not yet hold a whole frame */
	FRAME_TOO_LARGE,	/* the length prefix exceeds max (checked first) */
	FRAME_MALFORMED,	/* empty, undecodable, no body, or unknown fields */
	FRAME_OVER_BUDGET,	/* well-formed, but decodes into too much memory */
};

/*
 * Decode the frame at the start of buf[0..len). The length prefix is checked
 * against max before anything else, so a hostile prefix costs nothing. On
 * FRAME_OK, *env is a new envelope the caller frees with frame_free() and
 * *consumed is the frame's size in bytes; on FRAME_MALFORMED *consumed is
 * still the frame's size (the stream stays in step) and why[] says what is
 * wrong. On FRAME_TOO_LARGE, *consumed is the declared length.
 * FRAME_MALFORMED covers: an empty frame, bytes that are not an Envelope, an
 * envelope without body, fields unknown to ccc.v1, and strings with NUL
 * bytes. FRAME_OVER_BUDGET: a frame that would decode into more than 16
 * bytes of memory per byte (plus 16 KiB), such as thousands of empty
 * repeated messages, but is otherwise well-formed (every field known to
 * ccc.v1 and of its wire type, every length within bounds, no NUL in a
 * string); *env is NULL, *consumed the frame's size, and frame_head() reads
 * its request id and body, so that the request can be refused without
 * ending the session. why may be NULL.
 */
enum frame_status	 frame_decode(const uint8_t *buf, size_t len, size_t max,
			    Ccc__V1__Envelope **env, size_t *consumed,
			    char *why, size_t whylen);
void			 frame_free(Ccc__V1__Envelope *env);
/*
 * The request id and body case of the frame buf[0..len) (its header
 * included), read from its top level without decoding it: meant for a
 * frame frame_decode() called FRAME_OVER_BUDGET. 0 and
 * CCC__V1__ENVELOPE__BODY__NOT_SET when absent.
 */
void			 frame_head(const uint8_t *buf, size_t len,
			    uint64_t *request_id,
			    Ccc__V1__Envelope__BodyCase *body);

/* Bytes frame_encode() writes for env: header plus packed envelope. */
size_t			 frame_size(const Ccc__V1__Envelope *env);
/* Write env as one frame into out (frame_size(env) bytes). Returns that size. */
size_t			 frame_encode(const Ccc__V1__Envelope *env, uint8_t *out);
/*
 * A Deliver frame around an alert that is already encoded (alert[0..len)),
 * so that one encoding serves every recipient. d carries everything but the
 * alert (d->alert must be NULL). frame_deliver_size() is the exact size
 * frame_encode_deliver() writes into out.
 */
size_t			 frame_deliver_size(const Ccc__V1__Deliver *d, size_t alert_len);
size_t			 frame_encode_deliver(const Ccc__V1__Deliver *d,
			    const uint8_t *alert, size_t alert_len, uint8_t *out);
/* Human name of a body case ("publish", "deliver", ...) for logs and errors. */
const char		*frame_body_name(Ccc__V1__Envelope__BodyCase body);

#endif
