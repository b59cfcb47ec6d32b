/*
 * 18-ids.c — an alert id names one alert in the whole centre: another
 * origin cannot publish under it, read its receipts or add to them; a
 * retry of an alert whose id the broker assigned is a duplicate; a store
 * from before ids were unique still opens and says which ids collide.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "harness.h"

/* Receipts of id asked by c: the reply (caller frees), or NULL and *err. */
static Ccc__V1__Envelope *
receipts(ccc_client *c, const char *id, struct ccc_error *err)
{
	Ccc__V1__Envelope *reply = NULL;

	memset(err, 0, sizeof(*err));
	if (ccc_receipts(c, id, &reply, err) < 0)
		return NULL;
	return reply;
}

/* The deliveries to endpoint in c's receipts of id (0: not a recipient). */
static uint32_t
deliveries_to(ccc_client *c, const char *id, const char *endpoint)
{
	struct ccc_error err;
	Ccc__V1__Envelope *r = receipts(c, id, &err);
	uint32_t n = 0;

	ck_assert_msg(r != NULL, "receipts: %s", err.message);
	for (size_t i = 0; i < r->receipts_ok->n_receipts; i++)
		if (strcmp(r->receipts_ok->receipts[i]->endpoint, endpoint) == 0)
			n += r->receipts_ok->receipts[i]->deliveries;
	ccc_envelope_free(r);
	return n;
}

/* pub publishes a (its id into id), which sub, of tr-police, gets once. */
static void
publish_seen(ccc_client *pub, ccc_client *sub, const Ccc__V1__Alert *a,
    char id[CCC_ID_LEN])
{
	Ccc__V1__Envelope *ok = h_publish_ok(pub, a), *e;

	snprintf(id, CCC_ID_LEN, "%s", ok->publish_ok->id);
	ccc_envelope_free(ok);
	e = h_recv_deliver(sub);
	ck_assert_str_eq(e->deliver->alert->id, id);
	ccc_envelope_free(e);
	ck_assert_uint_eq(deliveries_to(pub, id, "tr-police"), 1);
}

/* c's publish of a must be refused: its id is another alert's. */
static void
publish_taken(ccc_client *c, const Ccc__V1__Alert *a)
{
	Ccc__V1__Envelope *e = h_publish_refused(c, a);

	h_expect_error(e, CCC__V1__ERROR_CODE__ERROR_CODE_ALERT_ID_CONFLICT,
	    false, "taken by another alert");
	ccc_envelope_free(e);
}

START_TEST(id_of_another_origin_refused)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *sub = h_connect(b, "tr-police");
	ccc_client *gr = h_connect(b, "gr-police");
	ccc_client *bg = h_connect(b, "bg-customs");
	ccc_client *late;
	Ccc__V1__Alert *a = h_alert("drugs", "bg-gr/kulata", "high", "h1",
	    "Informant: heroin in the blue lorry");
	Ccc__V1__Alert *forged = h_alert("customs", "bg-gr/makaza", "low", "h0",
	    "Nothing to see");
	Ccc__V1__Envelope *e;
	const char *const pat[] = { "alerts/#" };
	struct ccc_error err;
	int64_t since = h_now_us() - 1000000;
	char id[CCC_ID_LEN];
	uint32_t sid;

	h_subscribe(sub, "alerts/#");
	publish_seen(gr, sub, a, id);

	/* before: not bg-customs' alert */
	ck_assert_ptr_null(receipts(bg, id, &err));
	ck_assert_int_eq(err.code, CCC__V1__ERROR_CODE__ERROR_CODE_NOT_FOUND);

	/* another origin under the same id: refused, saying nothing of it */
	h_set_str(&forged->id, id);
	e = h_publish_refused(bg, forged);
	h_expect_error(e, CCC__V1__ERROR_CODE__ERROR_CODE_ALERT_ID_CONFLICT,
	    false, id);
	ck_assert_msg(strstr(e->error->message, "gr-police") == NULL &&
	    strstr(e->error->message, "drugs") == NULL &&
	    strstr(e->error->message, "kulata") == NULL &&
	    strstr(e->error->message, "heroin") == NULL,
	    "the refusal tells about the other alert: %s", e->error->message);
	ccc_envelope_free(e);
	h_recv_none(sub, H_QUIET_MS);

	/* still not bg-customs' alert; gr-police's receipts unchanged */
	ck_assert_ptr_null(receipts(bg, id, &err));
	ck_assert_int_eq(err.code, CCC__V1__ERROR_CODE__ERROR_CODE_NOT_FOUND);
	ck_assert_uint_eq(deliveries_to(gr, id, "tr-police"), 1);

	/* the session goes on */
	h_set_str(&forged->id, "");
	ccc_envelope_free(h_publish_ok(bg, forged));
	e = h_recv_deliver(sub);
	ck_assert_str_ne(e->deliver->alert->id, id);
	ccc_envelope_free(e);

	/* a replay has the one alert of that id: gr-police's */
	late = h_connect(b, "tr-police");
	ck_assert_msg(ccc_subscribe_since(late, since, pat, 1, &sid, &err) == 0,
	    "subscribe: %s", err.message);
	e = h_recv_deliver(late);
	ck_assert(e->deliver->replayed);
	ck_assert_str_eq(e->deliver->alert->id, id);
	ck_assert_str_eq(e->deliver->alert->origin, "gr-police");
	ck_assert_str_eq(e->deliver->alert->summary, a->summary);
	ccc_envelope_free(e);
	e = h_recv_deliver(late);
	ck_assert_str_ne(e->deliver->alert->id, id);	/* bg-customs' own */
	ccc_envelope_free(e);
	h_recv_none(late, H_QUIET_MS);
	/* the replay is a delivery of gr-police's alert, and counted as one */
	ck_assert_uint_eq(deliveries_to(gr, id, "tr-police"), 2);

	h_alert_free(a);
	h_alert_free(forged);
	ccc_close(late);
	ccc_close(sub);
	ccc_close(gr);
	ccc_close(bg);
	h_broker_halt(b);
	/* the refusal is in the journal, as the publisher's */
	ck_assert_int_eq(h_audited(b, "publish_conflict", NULL, NULL,
	    "bg-customs"), 1);
	h_broker_restart(b);
	h_broker_stop(b);
}
END_TEST

START_TEST(retry_with_assigned_id_is_duplicate)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *sub = h_connect(b, "tr-police");
	ccc_client *pub = h_connect(b, "gr-police");
	Ccc__V1__Alert *a = h_alert("weapons", "tr-gr/ipsala", "high", "h1",
	    "Rifles under a false floor");
	Ccc__V1__Envelope *ok1, *ok2, *e;

	h_subscribe(sub, "alerts/#");
	ok1 = h_publish_ok(pub, a);
	ck_assert(h_is_uuid7(ok1->publish_ok->id));
	ccc_envelope_free(h_recv_deliver(sub));

	/* the same alert again, now with the id the broker gave it */
	h_set_str(&a->id, ok1->publish_ok->id);
	ok2 = h_publish_ok(pub, a);
	ck_assert(ok2->publish_ok->duplicate);
	ck_assert_str_eq(ok2->publish_ok->id, ok1->publish_ok->id);
	ck_assert_int_eq(ok2->publish_ok->published_at,
	    ok1->publish_ok->published_at);
	h_recv_none(sub, H_QUIET_MS);

	/* that id with other content is still a conflict */
	h_set_str(&a->summary, "Rifles and ammunition under a false floor");
	e = h_publish_refused(pub, a);
	h_expect_error(e, CCC__V1__ERROR_CODE__ERROR_CODE_ALERT_ID_CONFLICT,
	    false, "with different content");
	ccc_envelope_free(e);
	h_recv_none(sub, H_QUIET_MS);

	ccc_envelope_free(ok1);
	ccc_envelope_free(ok2);
	h_alert_free(a);
	ccc_close(sub);
	ccc_close(pub);
	h_broker_stop(b);
}
END_TEST

/*
 * Store in the halted broker's store alert a as published by origin at
 * published_at, whatever id it has: what a broker from before ids were
 * unique across origins could have stored, marked as the migration that
 * made them unique marks it (a store without that migration has no
 * collision column: there the row is left as such a broker left it).
 */
static void
store_legacy_alert(const struct h_broker *b, Ccc__V1__Alert *a,
    const char *origin, int64_t published_at)
{
	char db[400], topic[200], *msg = NULL;
	uint8_t digest[32] = { 0 }, *body;
	sqlite3_stmt *st;
	sqlite3 *h;
	size_t len;
	int marked;

	h_set_str(&a->origin, origin);
	a->published_at = published_at;
	len = ccc__v1__alert__get_packed_size(a);
	body = malloc(len);
	ccc__v1__alert__pack(a, body);
	snprintf(topic, sizeof(topic), "alerts/drugs/%s", a->section);
	snprintf(db, sizeof(db), "%s/data/ccc.db", b->dir);
	ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(h, "SELECT count(*) FROM "
	    "pragma_table_info('alerts') WHERE name = 'collision'", -1, &st,
	    NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	marked = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	ck_assert_int_eq(sqlite3_prepare_v2(h, marked ? "INSERT INTO alerts "
	    "(id, origin, topic, published_at, digest, body, collision) VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6, -1)" : "INSERT INTO alerts (id, origin, "
	    "topic, published_at, digest, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	    -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, a->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, topic, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, published_at);
	sqlite3_bind_blob(st, 5, digest, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 6, body, (int)len, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	if (marked)
		ck_assert_msg(sqlite3_exec(h, "UPDATE alerts SET collision = seq "
		    "WHERE collision = -1; INSERT OR IGNORE INTO "
		    "alert_id_collisions SELECT id FROM alerts WHERE collision "
		    "<> 0", NULL, NULL, &msg) == SQLITE_OK, "%s", msg);
	sqlite3_close(h);
	free(body);
}

START_TEST(store_with_colliding_ids_opens)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *sub = h_connect(b, "tr-police");
	ccc_client *gr = h_connect(b, "gr-police"), *bg, *tr;
	Ccc__V1__Alert *a = h_alert("drugs", "bg-gr/kulata", "high", "h1",
	    "Cocaine in a banana shipment");
	Ccc__V1__Alert *other = h_alert("drugs", "bg-gr/kulata", "low", "h0",
	    "Another agency's alert");
	Ccc__V1__Envelope *ok;
	struct ccc_error err;
	char id[CCC_ID_LEN], line[200];

	h_subscribe(sub, "alerts/#");
	ok = h_publish_ok(gr, a);
	snprintf(id, sizeof(id), "%s", ok->publish_ok->id);
	ccc_envelope_free(ok);
	ccc_envelope_free(h_recv_deliver(sub));
	ccc_close(sub);
	ccc_close(gr);
	h_broker_halt(b);

	h_set_str(&other->id, id);
	store_legacy_alert(b, other, "bg-customs", h_now_us());

	h_broker_restart(b);
	snprintf(line, sizeof(line), "store: alert id %s was given to alerts "
	    "of several origins (2 of them still stored)", id);
	ck_assert(h_log_contains(b, line));
	ck_assert(h_log_contains(b, "store: 1 alert ids (named above) were "
	    "given to alerts of several origins"));

	/* neither origin gets receipts that mix the two */
	gr = h_connect(b, "gr-police");
	bg = h_connect(b, "bg-customs");
	ck_assert_ptr_null(receipts(gr, id, &err));
	ck_assert_int_eq(err.code,
	    CCC__V1__ERROR_CODE__ERROR_CODE_ALERT_ID_CONFLICT);
	ck_assert_ptr_nonnull(strstr(err.message, "before ids were unique"));
	ck_assert_ptr_null(receipts(bg, id, &err));
	ck_assert_int_eq(err.code,
	    CCC__V1__ERROR_CODE__ERROR_CODE_ALERT_ID_CONFLICT);

	/* the id is the first alert's: its retry is a duplicate, others refused */
	h_set_str(&a->id, id);
	ok = h_publish_ok(gr, a);
	ck_assert(ok->publish_ok->duplicate);
	ccc_envelope_free(ok);
	publish_taken(bg, other);
	tr = h_connect(b, "tr-police");
	h_set_str(&a->section, "tr-gr/ipsala");
	publish_taken(tr, a);

	h_alert_free(a);
	h_alert_free(other);
	ccc_close(gr);
	ccc_close(bg);
	ccc_close(tr);
	h_broker_stop(b);
}
END_TEST

/* Wait until retention has deleted c's alert id (its receipts: NOT_FOUND). */
static void
wait_purged(ccc_client *c, const char *id)
{
	Ccc__V1__Envelope *r;
	struct ccc_error err;
	int64_t until = h_mono_ms() + 10000 * h_slow();

	while ((r = receipts(c, id, &err)) != NULL ||
	    err.code != CCC__V1__ERROR_CODE__ERROR_CODE_NOT_FOUND) {
		ccc_envelope_free(r);
		ck_assert_msg(h_mono_ms() < until, "alert %s not purged", id);
		h_sleep_ms(200);
	}
}

START_TEST(id_used_again_after_retention)
{
	struct h_broker *b = h_broker_start("retention:\n  alerts: 2s\n"
	    "  interval: 1s\n");
	ccc_client *sub = h_connect(b, "tr-police");
	ccc_client *gr = h_connect(b, "gr-police");
	ccc_client *bg = h_connect(b, "bg-customs");
	Ccc__V1__Alert *a = h_alert("drugs", "bg-gr/kulata", "high", "h1",
	    "Heroin in a tyre");
	Ccc__V1__Envelope *ok, *r;
	struct ccc_error err;
	char id[CCC_ID_LEN];

	h_subscribe(sub, "alerts/#");
	publish_seen(gr, sub, a, id);
	ccc_close(sub);

	/* once retention deleted it, the id names nothing and may be used */
	wait_purged(gr, id);
	h_set_str(&a->id, id);
	ok = h_publish_ok(bg, a);
	ck_assert(!ok->publish_ok->duplicate);
	ccc_envelope_free(ok);
	/* the journal still has the old alert's delivery: not this one's */
	r = receipts(bg, id, &err);
	ck_assert_msg(r != NULL, "receipts: %s", err.message);
	ck_assert_uint_eq(r->receipts_ok->n_receipts, 0);
	ccc_envelope_free(r);

	/* the same for an exercise alert, which has no publish record */
	sub = h_connect(b, "tr-police");
	h_subscribe(sub, "alerts/#");
	h_set_str(&a->id, "");
	publish_seen(gr, sub, a, id);
	ccc_close(sub);
	wait_purged(gr, id);
	h_set_str(&a->id, id);
	a->exercise = true;
	ccc_envelope_free(h_publish_ok(bg, a));
	r = receipts(bg, id, &err);
	ck_assert_msg(r != NULL, "receipts: %s", err.message);
	ck_assert_uint_eq(r->receipts_ok->n_receipts, 0);
	ccc_envelope_free(r);

	h_alert_free(a);
	ccc_close(gr);
	ccc_close(bg);
	h_broker_stop(b);
}
END_TEST

START_TEST(colliding_id_stays_taken_after_retention)
{
	struct h_broker *b = h_broker_start("retention:\n  alerts: 2s\n"
	    "  interval: 1s\n");
	ccc_client *gr = h_connect(b, "gr-police"), *tr;
	Ccc__V1__Alert *a = h_alert("drugs", "bg-gr/kulata", "high", "h1",
	    "Cocaine in a banana shipment");
	Ccc__V1__Alert *other = h_alert("drugs", "bg-gr/kulata", "low", "h0",
	    "Another agency's alert");
	Ccc__V1__Envelope *ok;
	char id[CCC_ID_LEN];

	ok = h_publish_ok(gr, a);
	snprintf(id, sizeof(id), "%s", ok->publish_ok->id);
	ccc_envelope_free(ok);
	ccc_close(gr);
	h_broker_halt(b);
	/* the later alert of the id: kept an hour after the first is deleted */
	h_set_str(&other->id, id);
	store_legacy_alert(b, other, "bg-customs", h_now_us() + 3600000000LL);
	h_broker_restart(b);

	gr = h_connect(b, "gr-police");
	wait_purged(gr, id);
	tr = h_connect(b, "tr-police");
	h_set_str(&a->id, id);
	h_set_str(&a->section, "tr-gr/ipsala");
	publish_taken(tr, a);

	h_alert_free(a);
	h_alert_free(other);
	ccc_close(gr);
	ccc_close(tr);
	h_broker_stop(b);
}
END_TEST

/*
 * A fan-out journals one "deliver" record per recipient certificate: two
 * sessions of tr-police that get an alert are one record whose peer field
 * lists both addresses, and receipts count two deliveries.
 */
START_TEST(fan_out_one_record_per_certificate)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *sub1 = h_connect(b, "tr-police");
	ccc_client *sub2 = h_connect(b, "tr-police");
	ccc_client *gr = h_connect(b, "gr-police");
	Ccc__V1__Alert *a = h_alert("drugs", "bg-gr/kulata", "high", "h1",
	    "Two desks of one endpoint");
	Ccc__V1__Envelope *ok, *e;
	char data[300], sql[300], id[CCC_ID_LEN];

	h_subscribe(sub1, "alerts/#");
	h_subscribe(sub2, "alerts/#");
	ok = h_publish_ok(gr, a);
	snprintf(id, sizeof(id), "%s", ok->publish_ok->id);
	ccc_envelope_free(ok);
	e = h_recv_deliver(sub1);
	ck_assert_str_eq(e->deliver->alert->id, id);
	ccc_envelope_free(e);
	e = h_recv_deliver(sub2);
	ck_assert_str_eq(e->deliver->alert->id, id);
	ccc_envelope_free(e);
	/* after the receipts, the record is in the store */
	ck_assert_uint_eq(deliveries_to(gr, id, "tr-police"), 2);
	snprintf(data, sizeof(data), "%s/data", b->dir);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE event = "
	    "'deliver' AND alert = '%s' AND endpoint = 'tr-police' AND "
	    "peer LIKE '127.0.0.1:%% 127.0.0.1:%%' AND transfer = 1", id);
	ck_assert_int_eq(h_store_value(data, sql), 1);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE event = "
	    "'deliver' AND alert = '%s'", id);
	ck_assert_int_eq(h_store_value(data, sql), 1);

	h_alert_free(a);
	ccc_close(gr);
	ccc_close(sub2);
	ccc_close(sub1);
	h_broker_stop(b);
}
END_TEST

Suite *
ids_suite(void)
{
	Suite *s = suite_create("18-ids");
	TCase *tc = tcase_create("ids");

	tcase_set_timeout(tc, H_TEST_TIMEOUT);
	tcase_add_test(tc, id_of_another_origin_refused);
	tcase_add_test(tc, retry_with_assigned_id_is_duplicate);
	tcase_add_test(tc, store_with_colliding_ids_opens);
	tcase_add_test(tc, id_used_again_after_retention);
	tcase_add_test(tc, colliding_id_stays_taken_after_retention);
	tcase_add_test(tc, fan_out_one_record_per_certificate);
	suite_add_tcase(s, tc);
	return s;
}
