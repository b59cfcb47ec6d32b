/*
 * handle.h — one handler per client message type, dispatched from one
 * switch (handle_frame) that enforces the session order and turns every
 * refusal into one Error frame with a wire code.
 */
#ifndef CCC_HANDLE_H
#define CCC_HANDLE_H

#include "ccc/v1/envelope.pb-c.h"

struct session;

/* Act on one decoded frame from s. env stays the caller's. */
void	handle_frame(struct session *s, Ccc__V1__Envelope *env);
/*
 * Refuse a well-formed frame from s that was too much to decode
 * (FRAME_OVER_BUDGET; why says so), in the session order: a publish with
 * INVALID_ALERT, another client request with INVALID_REQUEST, neither
 * fatal; a hello or a message only the broker sends as MALFORMED_FRAME.
 */
void	handle_over_budget(struct session *s, uint64_t request_id,
	    Ccc__V1__Envelope__BodyCase body, const char *why);

#endif
