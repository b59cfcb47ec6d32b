/*
 * durable.h — durable subscriptions: named per endpoint, kept in the store,
 * matched while their endpoint is offline, read from the store's alert log
 * with a cursor, delivered with the alerts' positions as delivery tags,
 * acknowledged, redelivered on reconnect and after the ack timeout, and
 * moved to the dead-letter list after durable.max_deliveries attempts.
 */
#ifndef CCC_DURABLE_H
#define CCC_DURABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct durable;
struct registry;
struct server;
struct session;
struct store;

/*
 * Load every durable subscription from the store into the topic tree (those
 * the registry still allows). At start-up, before the loop runs. Returns 0 or
 * -1 with err set.
 */
int		 durable_init(struct server *srv, struct store *st, char *err,
		    size_t errlen);
/* Free every durable subscription (after the store is closed). */
void		 durable_shutdown(void);
uint64_t	 durable_id(const struct durable *d);

/*
 * Subscribe request for (s's endpoint, name) with validated, permitted
 * patterns (owned by the callee from now on). Creates or resumes the
 * subscription, attaches it to s and sends the reply with request_id.
 */
void		 durable_subscribe(struct session *s, uint64_t request_id,
		    const char *name, char **patterns, size_t npatterns);
/* Unsubscribe: detach, or with forget delete it; sends the reply. */
void		 durable_unsubscribe(struct session *s, struct durable *d,
		    uint64_t request_id, bool forget);
/*
 * Inboxes: the durable subscription named DURABLE_INBOX of an endpoint has
 * no patterns; routing rules and named recipients fill it (policy.h).
 */
#define DURABLE_INBOX	"inbox"
/* The store id of endpoint's inbox, or 0 when it has none (yet). */
uint64_t	 durable_inbox(const char *endpoint);
/* The store created the inbox id of endpoint: hold it from now on. */
void		 durable_inbox_add(uint64_t id, const char *endpoint);
const char	*durable_name(const struct durable *d);
/* Is d its endpoint's inbox? */
bool		 durable_is_inbox(const struct durable *d);
/* The endpoint d belongs to (no lookup: for routing, per publish). */
const char	*durable_endpoint_of(const struct durable *d);
/* The attached session is going away: keep the subscription, detached. */
void		 durable_detach(struct durable *d);
/*
 * Acknowledgements from s. A tag is an alert's position in the log: it
 * acknowledges the alert on each of s's durable subscriptions that has it
 * unsettled; others are ignored.
 */
void		 durable_ack(struct session *s, const uint64_t *tags, size_t n);
/* Alerts for these subscriptions were committed: send what fits (by id, bsearch). */
void		 durable_notify(const uint64_t *ids, size_t n);
/* A new registry: durable subscriptions it no longer allows stop matching. */
void		 durable_registry_changed(struct registry *reg);
/*
 * Call fn for every durable subscription: its endpoint, and whether attached.
 * Inboxes (one per subscriber endpoint, implicit) count only while attached.
 */
void		 durable_each(void (*fn)(const char *endpoint, bool attached,
		    void *arg), void *arg);

#endif
