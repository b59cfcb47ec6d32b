/*
 * durable_stubs.h — the broker around durable.c, for check_durable.c: the
 * server, the sessions and the store as durable.c calls them, recorded so
 * that a test can see what it asked for and answer the store's operations
 * itself (Mosquitto's subs_test.c + subs_stubs.c pattern). The topic tree,
 * the access rules and the registry are the real ones.
 */
#ifndef CCC_TEST_DURABLE_STUBS_H
#define CCC_TEST_DURABLE_STUBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct config;
struct registry;
struct server;
struct session;

/* A store operation durable.c queued, for the test to complete. */
struct stub_op {
	enum { STUB_SUBSCRIBE, STUB_FORGET, STUB_FETCH, STUB_ACK } kind;
	uint64_t	 dsub_id;
	uint64_t	 exclude[256];	/* fetch: the positions in flight */
	size_t		 nexclude;
	size_t		 limit;		/* fetch */
	size_t		 max_bytes;	/* fetch */
	uint64_t	 start[STORE_SEVERITIES];	/* fetch */
	uint64_t	 reserve;	/* fetch: positions reserved ahead */
	uint64_t	 tags[256];	/* ack */
	size_t		 ntags;
	store_cb	*cb;
	void		*arg;
};

#define STUB_MAX_OPS	64
extern struct stub_op	stub_ops[STUB_MAX_OPS];
extern size_t		stub_nops;	/* queued, not completed */

/* What the sessions were sent. */
extern uint64_t		stub_sent_tags[1024];
extern uint32_t		stub_sent_redelivered[1024];
extern size_t		stub_nsent;
extern int		stub_last_error;	/* the last sess_error() code; 0: none */
extern size_t		stub_replies;		/* sess_send() calls */
extern unsigned		stub_holds;		/* sess_hold() minus sess_release() */

/* The server every call sees: its config, registry and event base. */
void		 stub_server_init(struct registry *reg, uint32_t window,
		    uint32_t ack_timeout);
void		 stub_server_free(void);
/* Set limits.max_output_buffer (8 MiB after stub_server_init). */
void		 stub_output_buffer(size_t bytes);
struct server	*stub_server(void);
/* A READY session of endpoint (free with stub_session_free). */
struct session	*stub_session(const char *endpoint);
void		 stub_session_free(struct session *s);
/* Complete the oldest queued operation of kind with res (NULL: STORE_OK). */
void		 stub_complete(int kind, struct store_result *res);
/* The index of the oldest queued operation of kind, or -1. */
int		 stub_find(int kind);

#endif
