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

#endif
