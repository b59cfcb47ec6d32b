/*
 * alert.h — validation and stamping of published alerts.
 *
 * Every alert a peer publishes is checked here before anything else sees it:
 * required fields, enum ranges, the section against the registry, sizes and
 * counts, UTF-8 and control characters, number ranges. The broker then stamps
 * it with an id (when the client gave none), the origin endpoint (from the
 * verified certificate) and its own clock.
 */
#ifndef CCC_ALERT_H
#define CCC_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "ccc/v1/alert.pb-c.h"
#include "registry.h"
#include "topic.h"

#define ALERT_SUMMARY_MAX	512	/* bytes */
#define ALERT_DETAILS_MAX	16384
#define ALERT_REMARKS_MAX	4096
#define ALERT_LIST_MAX		32	/* references, vehicles, drugs, goods, nationalities */
#define ALERT_FUTURE_SKEW_US	(3600LL * 1000000)	/* observed_at may lead our clock by this */

/*
 * Validate alert as published (broker-stamped fields are ignored). Returns 0,
 * or -1 with why[] naming the first offending field, e.g.
 * `field "section": unknown section "tr-bg/nowhere"`.
 */
int	alert_validate(const Ccc__V1__Alert *alert, const struct registry *reg,
	    int64_t now_us, char *why, size_t whylen);
/*
 * The alert's topic "alerts/<category>/<section>" ("exercise/..." for an
 * exercise alert); alert must be valid.
 */
void	alert_topic(const Ccc__V1__Alert *alert, char topic[TOPIC_MAX_LEN + 1]);
/* Set id to a new UUIDv7 when it is empty (memory as for alert_stamp()). */
void	alert_assign_id(Ccc__V1__Alert *alert, int64_t now_us);
/*
 * Set id (when empty), origin and published_at. The alert must have been
 * allocated by protobuf-c's default allocator (it is: it came off the wire);
 * replaced strings are freed.
 */
void	alert_stamp(Ccc__V1__Alert *alert, const char *origin, int64_t now_us);
/* Replace the broker-stamped audience with ids[0..n) (n 0: none). */
void	alert_set_audience(Ccc__V1__Alert *alert, char *const *ids, size_t n);
/*
 * SHA-256 of the alert's content as published, with its id: the fields the
 * broker stamps (origin, published_at, audience) are cleared first. Call
 * after alert_assign_id() and before alert_stamp(): two publishes of the
 * same content under the same id give the same digest, whether the first
 * let the broker assign the id and the second carries it, or both carry it.
 */
void	alert_digest(Ccc__V1__Alert *alert, uint8_t digest[32]);

#endif
