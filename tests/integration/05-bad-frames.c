/*
 * 05-bad-frames.c — hostile and broken input on the wire: length prefixes
 * over the limit, undecodable and empty frames, unknown fields, frames
 * that decode into too much memory, frames dribbled a byte at a time, peers
 * that reset mid-frame, and messages only the broker may send. Each case
 * ends that one session only (a frame too large to decode not even that): a
 * bystander session opened before must go on publishing and receiving.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

/*
 * How much the broker's RSS may grow over a few refused sessions. Under
 * AddressSanitizer freed memory stays in quarantine, so sessions cost more.
 */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_SLACK_KIB	(16 * 1024)
#else
#define RSS_SLACK_KIB	(4 * 1024)
#endif

/* A publisher and a subscriber (alerts/#) that must not notice anything. */
struct bystander {
	ccc_client	*pub;
	ccc_client	*sub;
};

static void
bystander_open(const struct h_broker *b, struct bystander *by)
{
	by->pub = h_connect(b, "tr-gendarmerie");
	by->sub = h_connect(b, "bg-border-police");
	h_subscribe(by->sub, "alerts/#");
}

static void
bystander_check(struct bystander *by)
{
	Ccc__V1__Alert *a = h_alert("stolen_vehicle", "tr-gr/ipsala", "medium",
	    "h0", "Stolen SUV heading for the border");
	Ccc__V1__Envelope *ok = h_publish_ok(by->pub, a), *got;

	got = h_recv_deliver(by->sub);
	ck_assert_str_eq(got->deliver->alert->id, ok->publish_ok->id);
	ccc_envelope_free(got);
	ccc_envelope_free(ok);
	h_alert_free(a);
}

static void
bystander_close(struct bystander *by)
{
	bystander_check(by);
	ccc_close(by->pub);
	ccc_close(by->sub);
}

static void
put_be32(uint8_t *p, uint32_t n)
{
	p[0] = (uint8_t)(n >> 24);
	p[1] = (uint8_t)(n >> 16);
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
}

static size_t
put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* Send a frame whose payload is the given bytes. */
static void
send_payload(struct h_raw *r, const uint8_t *payload, size_t len)
{
	uint8_t *buf = malloc(FRAME_HEADER_LEN + len + 1);

	ck_assert_ptr_nonnull(buf);
	put_be32(buf, (uint32_t)len);
	if (len > 0)
		memcpy(buf + FRAME_HEADER_LEN, payload, len);
	h_raw_send(r, buf, FRAME_HEADER_LEN + len);
	free(buf);
}

/*
 * The payload of an envelope with request id rid whose body holds inner[0..n)
 * nested in the length-delimited fields fields[0] (the body), fields[1] …:
 * written into out, which has room for n + 8 bytes per field and 16 more.
 * Returns its length.
 */
static size_t
nested_payload(uint64_t rid, const uint32_t *fields, size_t nfields,
    const uint8_t *inner, size_t n, uint8_t *out)
{
	uint8_t *tmp = malloc(n + 8 * nfields + 1), head[16];
	size_t len = n, nh, k;

	ck_assert_ptr_nonnull(tmp);
	memcpy(tmp, inner, n);
	for (size_t i = nfields; i-- > 0;) {
		nh = put_varint(head, fields[i] << 3 | 2);
		nh += put_varint(head + nh, len);
		memmove(tmp + nh, tmp, len);
		memcpy(tmp, head, nh);
		len += nh;
	}
	out[0] = 0x08;				/* Envelope.request_id */
	k = 1 + put_varint(out + 1, rid);
	memcpy(out + k, tmp, len);
	free(tmp);
	return k + len;
}

/* The payload of a Publish envelope around the encoded alert[0..na). */
static size_t
publish_payload(uint64_t rid, const uint8_t *alert, size_t na, uint8_t *env)
{
	static const uint32_t fields[] = { 12, 1 };	/* publish, alert */

	return nested_payload(rid, fields, 2, alert, na, env);
}

/* A Publish envelope (request id rid) as frame bytes; caller frees. */
static uint8_t *
publish_frame(uint64_t rid, size_t *len)
{
	Ccc__V1__Alert *a = h_alert("document_fraud", "tr-bg/kapikule", "low",
	    "h1", "Forged passports");
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Publish pub = CCC__V1__PUBLISH__INIT;
	uint8_t *buf;

	pub.alert = a;
	env.request_id = rid;
	env.body_case = CCC__V1__ENVELOPE__BODY_PUBLISH;
	env.publish = &pub;
	*len = frame_size(&env);
	buf = malloc(*len);
	ck_assert_ptr_nonnull(buf);
	frame_encode(&env, buf);
	h_alert_free(a);
	return buf;
}

/* The publish rid sent on r is confirmed, and the bystander receives it. */
static void
confirmed_and_delivered(struct h_raw *r, uint64_t rid, struct bystander *by)
{
	Ccc__V1__Envelope *ok = h_raw_expect(r,
	    CCC__V1__ENVELOPE__BODY_PUBLISH_OK), *got;

	ck_assert_uint_eq(ok->request_id, rid);
	got = h_recv_deliver(by->sub);
	ck_assert_str_eq(got->deliver->alert->id, ok->publish_ok->id);
	ccc_envelope_free(got);
	frame_free(ok);
}

START_TEST(huge_length_prefix)
{
	static const uint8_t ffff[4] = { 0xff, 0xff, 0xff, 0xff };
	struct h_broker *b = h_broker_start(NULL);
	struct bystander by;
	struct h_raw *r;
	long before, after;

	bystander_open(b, &by);
	bystander_check(&by);
	before = h_broker_rss_kib(b);
	for (int i = 0; i < 5; i++) {
		r = h_raw_session(b, "tr-police");
		h_raw_send(r, ffff, sizeof(ffff));
		h_raw_expect_error(r,
		    CCC__V1__ERROR_CODE__ERROR_CODE_FRAME_TOO_LARGE, true,
		    "4294967295");
		h_raw_close(r);
	}
	/* also before Hello */
	r = h_raw_connect(b, "tr-police");
	h_raw_send(r, ffff, sizeof(ffff));
	h_raw_expect_error(r, CCC__V1__ERROR_CODE__ERROR_CODE_FRAME_TOO_LARGE,
	    true, NULL);
	h_raw_close(r);
	after = h_broker_rss_kib(b);
	/* under a wrapper (valgrind) the memory is the wrapper's */
	ck_assert_msg(h_wrapped() || after - before < RSS_SLACK_KIB, "broker "
	    "RSS grew from %ld KiB to %ld KiB", before, after);
	bystander_close(&by);
	h_broker_stop(b);
}
END_TEST

START_TEST(length_just_over_the_limit)
{
	struct h_broker *b = h_broker_start("limits:\n  max_frame_size: 1024\n");
	struct bystander by;
	struct h_raw *r;
	uint8_t *junk;

	bystander_open(b, &by);
	r = h_raw_session(b, "tr-police");
	{
		uint8_t hdr[4];

		put_be32(hdr, 1025);
		h_raw_send(r, hdr, sizeof(hdr));	/* refused from the header alone */
	}
	h_raw_expect_error(r, CCC__V1__ERROR_CODE__ERROR_CODE_FRAME_TOO_LARGE,
	    true, "1025");
	h_raw_close(r);

	/* exactly the limit is read, and then judged on its content */
	junk = malloc(1024);
	ck_assert_ptr_nonnull(junk);
	memset(junk, 0xff, 1024);
	r = h_raw_session(b, "tr-police");
	send_payload(r, junk, 1024);
	h_raw_expect_error(r, CCC__V1__ERROR_CODE__ERROR_CODE_MALFORMED_FRAME,
	    true, NULL);
	h_raw_close(r);
	free(junk);
	bystander_close(&by);
	h_broker_stop(b);
}
END_TEST

START_TEST(garbage_payload)
{
	struct h_broker *b = h_broker_start(NULL);
	struct bystander by;
	struct h_raw *r;
	uint8_t junk[16];

	bystander_open(b, &by);
	memset(junk, 0xff, sizeof(junk));
	r = h_raw_session(b, "tr-police");
	send_payload(r, junk, sizeof(junk));
	h_raw_expect_error(r, CCC__V1__ERROR_CODE__ERROR_CODE_MALFORMED_FRAME,
	    true, "not a valid");
	h_raw_close(r);
	bystander_close(&by);
	h_broker_stop(b);
}
END_TEST

START_TEST(empty_frame)
{
	struct h_broker *b = h_broker_start(NULL);
	struct bystander by;
	struct h_raw *r;

	bystander_open(b, &by);
	r = h_raw_session(b, "tr-police");
	send_payload(r, NULL, 0);
	h_raw_expect_error(r, CCC__V1__ERROR_CODE__ERROR_CODE_MALFORMED_FRAME,
	    true, "empty");
	h_raw_close(r);
	bystander_close(&by);
	h_broker_stop(b);
}
END_TEST

START_TEST(envelope_without_body)
{
	static const uint8_t rid_only[] = { 0x08, 0x05 };	/* request_id = 5 */
	struct h_broker *b = h_broker_start(NULL);
	struct bystander by;
	struct h_raw *r;

	bystander_open(b, &by);
	r = h_raw_session(b, "tr-police");
	send_payload(r, rid_only, sizeof(rid_only));
	h_raw_expect_error(r, CCC__V1__ERROR_CODE__ERROR_CODE_MALFORMED_FRAME,
	    true, "no body");
	h_raw_close(r);
	bystander_close(&by);
	h_broker_stop(b);
}
END_TEST

START_TEST(unknown_field_in_envelope)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Ping ping = CCC__V1__PING__INIT;
	struct h_broker *b = h_broker_start(NULL);
	struct bystander by;
	struct h_raw *r;
	uint8_t buf[64];
	size_t n;

	bystander_open(b, &by);
	env.request_id = 1;
	env.body_case = CCC__V1__ENVELOPE__BODY_PING;
	env.ping = &ping;
	n = ccc__v1__envelope__pack(&env, buf);
	n += put_varint(buf + n, 99 << 3);	/* field 99, varint */
	n += put_varint(buf + n, 1);
	r = h_raw_session(b, "tr-police");
	send_payload(r, buf, n);
	h_raw_expect_error(r, CCC__V1__ERROR_CODE__ERROR_CODE_MALFORMED_FRAME,
	    true, "unknown");
	h_raw_close(r);
	bystander_close(&by);
	h_broker_stop(b);
}
END_TEST

/* Envelope{publish{alert{... field 99}}}: unknown fields at any depth are refused. */
START_TEST(unknown_field_in_alert)
{
	Ccc__V1__Alert *a = h_alert("drugs", "tr-bg/kapikule", "high", "h1",
	    "Smuggled payload");
	struct h_broker *b = h_broker_start(NULL);
	struct bystander by;
	struct h_raw *r;
	uint8_t alert[512], env[512 + 32];
	size_t na, ne;

	bystander_open(b, &by);
	na = ccc__v1__alert__pack(a, alert);
	na += put_varint(alert + na, 99 << 3);
	na += put_varint(alert + na, 7);
	ne = publish_payload(4, alert, na, env);
	r = h_raw_session(b, "tr-police");
	send_payload(r, env, ne);
	h_raw_expect_error(r, CCC__V1__ERROR_CODE__ERROR_CODE_MALFORMED_FRAME,
	    true, "unknown");
	h_raw_close(r);
	h_recv_none(by.sub, H_QUIET_MS);	/* nothing was forwarded */
	h_alert_free(a);
	bystander_close(&by);
	h_broker_stop(b);
}
END_TEST

/*
 * A publish well within max_frame_size whose alert holds 10,000 empty
 * vehicles (about 20 KB): too much to decode, but well-formed. It is refused
 * as an invalid alert, not fatally, and an explain of it as an invalid
 * request: the same session publishes next.
 */
START_TEST(too_many_items_refused_not_fatal)
{
	Ccc__V1__Alert *a = h_alert("drugs", "tr-bg/kapikule", "high", "h1",
	    "Ten thousand vehicles");
	struct h_broker *b = h_broker_start(NULL);
	static const uint32_t explain[] = { 25, 7, 1 };	/* admin, explain, alert */
	static uint8_t alert[512 + 2 * 10000], env[sizeof(alert) + 48];
	size_t na, ne, n;
	Ccc__V1__Envelope *e;
	struct bystander by;
	struct h_raw *r;
	uint8_t *frame;

	bystander_open(b, &by);
	na = ccc__v1__alert__pack(a, alert);
	for (int i = 0; i < 10000; i++) {
		alert[na++] = 15 << 3 | 2;	/* Alert.vehicles, empty */
		alert[na++] = 0;
	}
	ne = publish_payload(9, alert, na, env);
	ck_assert_uint_lt(ne, FRAME_MAX_DEFAULT);
	r = h_raw_session(b, "tr-police");
	send_payload(r, env, ne);
	e = h_raw_recv_skip_ping(r, H_WAIT_MS);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->request_id, 9);
	h_expect_error(e, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_ALERT, false,
	    "too many repeated items");
	frame_free(e);
	h_recv_none(by.sub, H_QUIET_MS);	/* nothing was published */
	/* the same alert in another request (explain) */
	ne = nested_payload(11, explain, 3, alert, na, env);
	send_payload(r, env, ne);
	e = h_raw_recv_skip_ping(r, H_WAIT_MS);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->request_id, 11);
	h_expect_error(e, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_REQUEST,
	    false, "admin refused: it decodes into more than");
	frame_free(e);

	/* the session goes on: its next publish is confirmed and delivered */
	frame = publish_frame(10, &n);
	h_raw_send(r, frame, n);
	free(frame);
	confirmed_and_delivered(r, 10, &by);
	h_raw_close(r);
	h_alert_free(a);
	bystander_close(&by);
	h_broker_stop(b);
}
END_TEST

START_TEST(frame_dribbled_byte_by_byte)
{
	struct timespec ms = { 0, 1000000 };
	struct h_broker *b = h_broker_start(NULL);
	struct bystander by;
	struct h_raw *r;
	Ccc__V1__Envelope *env;
	uint8_t *frame, two[64];
	size_t len, n;

	bystander_open(b, &by);
	r = h_raw_session(b, "tr-police");
	frame = publish_frame(77, &len);
	for (size_t i = 0; i < len; i++) {
		h_raw_send(r, frame + i, 1);	/* one TLS record per byte */
		if (i % 4 == 0)
			nanosleep(&ms, NULL);
	}
	free(frame);
	confirmed_and_delivered(r, 77, &by);

	/* and two frames in one record */
	{
		Ccc__V1__Envelope p = CCC__V1__ENVELOPE__INIT;
		Ccc__V1__Ping ping = CCC__V1__PING__INIT;

		p.body_case = CCC__V1__ENVELOPE__BODY_PING;
		p.ping = &ping;
		p.request_id = 5;
		n = frame_encode(&p, two);
		p.request_id = 6;
		n += frame_encode(&p, two + n);
	}
	h_raw_send(r, two, n);
	env = h_raw_expect(r, CCC__V1__ENVELOPE__BODY_PONG);
	ck_assert_uint_eq(env->request_id, 5);
	frame_free(env);
	env = h_raw_expect(r, CCC__V1__ENVELOPE__BODY_PONG);
	ck_assert_uint_eq(env->request_id, 6);
	frame_free(env);
	h_raw_close(r);
	bystander_close(&by);
	h_broker_stop(b);
}
END_TEST

START_TEST(reset_mid_frame)
{
	static const uint8_t client_hello_start[] = { 0x16, 0x03, 0x01, 0x02,
	    0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03 };
	struct h_broker *b = h_broker_start(NULL);
	struct bystander by;
	struct h_raw *r;
	uint8_t *frame;
	size_t len;

	bystander_open(b, &by);
	frame = publish_frame(1, &len);
	r = h_raw_session(b, "tr-police");
	h_raw_send(r, frame, len / 2);
	h_raw_reset(r);
	free(frame);
	bystander_check(&by);

	/* and in the middle of a TLS handshake */
	r = h_raw_tcp(b);
	h_raw_send(r, client_hello_start, sizeof(client_hello_start));
	h_raw_reset(r);
	bystander_check(&by);

	/* the broker noticed both and keeps counting sessions right */
	ck_assert(h_log_wait(b, "closing tr-police", H_WAIT_MS));
	bystander_close(&by);
	h_broker_stop(b);
}
END_TEST

START_TEST(server_only_messages)
{
	struct h_broker *b = h_broker_start(NULL);
	struct bystander by;
	Ccc__V1__Welcome welcome = CCC__V1__WELCOME__INIT;
	Ccc__V1__PublishOk pok = CCC__V1__PUBLISH_OK__INIT;
	Ccc__V1__SubscribeOk sok = CCC__V1__SUBSCRIBE_OK__INIT;
	Ccc__V1__UnsubscribeOk uok = CCC__V1__UNSUBSCRIBE_OK__INIT;
	Ccc__V1__Deliver deliver = CCC__V1__DELIVER__INIT;
	Ccc__V1__Error error = CCC__V1__ERROR__INIT;
	Ccc__V1__Envelope envs[6] = { CCC__V1__ENVELOPE__INIT,
	    CCC__V1__ENVELOPE__INIT, CCC__V1__ENVELOPE__INIT,
	    CCC__V1__ENVELOPE__INIT, CCC__V1__ENVELOPE__INIT,
	    CCC__V1__ENVELOPE__INIT };

	envs[0].body_case = CCC__V1__ENVELOPE__BODY_DELIVER;
	envs[0].deliver = &deliver;
	envs[1].body_case = CCC__V1__ENVELOPE__BODY_WELCOME;
	envs[1].welcome = &welcome;
	envs[2].body_case = CCC__V1__ENVELOPE__BODY_PUBLISH_OK;
	envs[2].publish_ok = &pok;
	envs[3].body_case = CCC__V1__ENVELOPE__BODY_SUBSCRIBE_OK;
	envs[3].subscribe_ok = &sok;
	envs[4].body_case = CCC__V1__ENVELOPE__BODY_UNSUBSCRIBE_OK;
	envs[4].unsubscribe_ok = &uok;
	envs[5].body_case = CCC__V1__ENVELOPE__BODY_ERROR;
	envs[5].error = &error;

	bystander_open(b, &by);
	for (size_t i = 0; i < 6; i++) {
		struct h_raw *r = h_raw_session(b, "tr-police");
		char msg[64];

		snprintf(msg, sizeof(msg), "%s is sent by the broker",
		    frame_body_name(envs[i].body_case));
		envs[i].request_id = 10 + i;
		h_raw_send_env(r, &envs[i]);
		h_raw_expect_error(r, CCC__V1__ERROR_CODE__ERROR_CODE_PROTOCOL,
		    true, msg);
		h_raw_close(r);
	}
	bystander_close(&by);
	h_broker_stop(b);
}
END_TEST

Suite *
bad_frames_suite(void)
{
	Suite *s = suite_create("05-bad-frames");
	TCase *tc = tcase_create("wire");

	tcase_add_test(tc, huge_length_prefix);
	tcase_add_test(tc, length_just_over_the_limit);
	tcase_add_test(tc, garbage_payload);
	tcase_add_test(tc, empty_frame);
	tcase_add_test(tc, envelope_without_body);
	tcase_add_test(tc, unknown_field_in_envelope);
	tcase_add_test(tc, unknown_field_in_alert);
	tcase_add_test(tc, too_many_items_refused_not_fatal);
	tcase_add_test(tc, frame_dribbled_byte_by_byte);
	tcase_add_test(tc, reset_mid_frame);
	tcase_add_test(tc, server_only_messages);
	tcase_set_timeout(tc, H_TEST_TIMEOUT);
	suite_add_tcase(s, tc);
	return s;
}
