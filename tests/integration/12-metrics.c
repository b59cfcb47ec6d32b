/*
 * 12-metrics.c — the metrics listener: GET /metrics reports the real
 * numbers in Prometheus' text format (counters of publishes and deliveries,
 * sessions and subscriptions per endpoint, the durable inbox depth counted
 * by the store), /healthz says ok, and turns 503 when the store cannot
 * write; other methods get 405, other paths 404; a listener that cannot be
 * bound stops the start. Requests are plain HTTP/1.1 over loopback TCP.
 * The Grafana dashboard (docs/grafana/ccc-dashboard.json) parses and
 * queries only metrics that a real scrape declares.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <jansson.h>

#include "harness.h"
#include "uuid.h"

#define METRICS_EXTRA	"metrics:\n  listen: 127.0.0.1:0\n  refresh: 1s\n"
#define FAULT_FS_SIZE	"4m"
#define FAULT_FILLER	(3 * 1024 * 1024 + 512 * 1024)

/* Scrape until series has value want (the store counts every second). */
static void
wait_series(int port, const char *name, double want)
{
	int64_t deadline = h_mono_ms() + H_WAIT_MS;
	struct h_reply r;
	double got;

	for (;;) {
		r = h_http_get(port, "/metrics");
		got = h_series(r.body, name);
		free(r.head);
		if (got == want)
			return;
		ck_assert_msg(h_mono_ms() < deadline, "%s is %g, not %g after %d ms",
		    name, got, want, H_WAIT_MS);
		usleep(100000);
	}
}

/*
 * The exposition is well formed: every sample belongs to a family declared
 * before it with # HELP and # TYPE, names start with ccc_, counters end in
 * _total, and values are numbers.
 */
static void
check_format(const char *text)
{
	char family[128] = "", type[16] = "", name[128], line[1024];
	const char *p = text, *nl;
	size_t len, helps = 0, samples = 0;
	char *end;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		ck_assert_msg(nl != NULL, "the exposition does not end in a newline");
		len = (size_t)(nl - p);
		ck_assert(len < sizeof(line));
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl + 1;
		if (strncmp(line, "# HELP ", 7) == 0) {
			ck_assert(sscanf(line, "# HELP %127s", family) == 1);
			ck_assert_msg(strncmp(family, "ccc_", 4) == 0, "%s", line);
			type[0] = '\0';
			helps++;
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			ck_assert(sscanf(line, "# TYPE %127s %15s", name, type) == 2);
			ck_assert_str_eq(name, family);
			ck_assert_msg(strcmp(type, "counter") == 0 ||
			    strcmp(type, "gauge") == 0, "%s", line);
			len = strlen(family);
			ck_assert_msg((strcmp(type, "counter") == 0) == (len > 6 &&
			    strcmp(family + len - 6, "_total") == 0),
			    "counter names end in _total: %s", line);
			continue;
		}
		ck_assert_msg(line[0] != '#' && line[0] != '\0', "line: %s", line);
		ck_assert_msg(type[0] != '\0', "sample before # TYPE: %s", line);
		len = strlen(family);
		ck_assert_msg(strncmp(line, family, len) == 0 &&
		    (line[len] == ' ' || line[len] == '{'),
		    "sample %s outside its family %s", line, family);
		end = strrchr(line, ' ');
		ck_assert_ptr_nonnull(end);
		strtod(end + 1, &end);
		ck_assert_msg(*end == '\0', "value of: %s", line);
		samples++;
	}
	ck_assert_uint_gt(helps, 20);
	ck_assert_uint_gt(samples, helps);
}

/* Subscribe durable name to pattern on r (raw session); checks SubscribeOk. */
static void
dsub(struct h_raw *r, const char *name, const char *pattern)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT, *e;
	Ccc__V1__Subscribe sub = CCC__V1__SUBSCRIBE__INIT;
	char pat[128], nm[64], *pats[1] = { pat };

	snprintf(pat, sizeof(pat), "%s", pattern);
	snprintf(nm, sizeof(nm), "%s", name);
	sub.patterns = pats;
	sub.n_patterns = 1;
	sub.durable_name = nm;
	env.request_id = 900;
	env.body_case = CCC__V1__ENVELOPE__BODY_SUBSCRIBE;
	env.subscribe = &sub;
	h_raw_send_env(r, &env);
	e = h_raw_recv_skip_ping(r, H_WAIT_MS);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->body_case, CCC__V1__ENVELOPE__BODY_SUBSCRIBE_OK);
	frame_free(e);
}

static void
ack(struct h_raw *r, uint64_t tag)
{
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Ack a = CCC__V1__ACK__INIT;

	a.delivery_tags = &tag;
	a.n_delivery_tags = 1;
	env.body_case = CCC__V1__ENVELOPE__BODY_ACK;
	env.ack = &a;
	h_raw_send_env(r, &env);
}

static void
wait_log(const struct h_broker *b, const char *needle, size_t n)
{
	for (int i = 0; i < H_WAIT_MS / 10; i++) {
		if (h_log_count(b, needle) >= n)
			return;
		usleep(10000);
	}
	ck_abort_msg("the broker did not log \"%s\" %zu times", needle, n);
}

START_TEST(metrics_report_real_numbers)
{
	struct h_broker *b = h_broker_start(METRICS_EXTRA);
	int port = h_metrics_port(b);
	struct h_raw *gr;
	ccc_client *sub, *pub;
	Ccc__V1__Alert *a;
	Ccc__V1__Envelope *e;
	struct h_reply r;
	struct ccc_error err;
	char id[UUID_STRLEN];
	const char *t;

	/* gr-police keeps a durable subscription, offline */
	gr = h_raw_session(b, "gr-police");
	dsub(gr, "feed", "alerts/#");
	h_raw_close(gr);
	wait_log(b, "detached durable subscription", 1);
	/* bg-border-police is online with a plain one */
	sub = h_connect(b, "bg-border-police");
	h_subscribe(sub, "alerts/#");
	pub = h_connect(b, "tr-police");

	/* three accepted (the last with its own id), one duplicate, one refused */
	a = h_alert("drugs", "tr-bg/kapikule", "high", "h1", "40 kg heroin");
	ccc_envelope_free(h_publish_ok(pub, a));
	ccc_envelope_free(h_publish_ok(pub, a));
	uuid_v7(h_now_us(), id);
	h_set_str(&a->id, id);
	ccc_envelope_free(h_publish_ok(pub, a));
	e = h_publish_ok(pub, a);
	ck_assert(e->publish_ok->duplicate);
	ccc_envelope_free(e);
	h_alert_free(a);
	a = h_alert("drugs", "bg-gr/kulata", "high", "h1", "not tr-police's");
	e = h_publish_refused(pub, a);
	h_expect_error(e, CCC__V1__ERROR_CODE__ERROR_CODE_FORBIDDEN, false, NULL);
	ccc_envelope_free(e);
	h_alert_free(a);
	for (int i = 0; i < 3; i++)
		ccc_envelope_free(h_recv_deliver(sub));
	/* and a certificate the registry does not know */
	ck_assert_int_ne(h_connect_err(b, h_pki("xx-unregistered.pem"),
	    h_pki("xx-unregistered.key"), &err), 0);

	/* the store has counted the three waiting for gr-police */
	wait_series(port, "ccc_endpoint_inbox_depth{endpoint=\"gr-police\"}", 3);
	r = h_http_get(port, "/metrics");
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(strstr(r.head, "\r\nContent-Type: text/plain; "
	    "version=0.0.4") != NULL, "headers: %s", r.head);
	t = r.body;
	check_format(t);
	ck_assert_int_eq(h_series(t, "ccc_publish_accepted_total"), 3);
	ck_assert_int_eq(h_series(t, "ccc_publish_duplicates_total"), 1);
	ck_assert_int_eq(h_series(t,
	    "ccc_publish_refused_total{code=\"forbidden\"}"), 1);
	ck_assert_int_eq(h_series(t,
	    "ccc_publish_refused_total{code=\"invalid_alert\"}"), 0);
	ck_assert_int_eq(h_series(t, "ccc_deliveries_total{kind=\"plain\"}"), 3);
	ck_assert_int_eq(h_series(t, "ccc_deliveries_total{kind=\"durable\"}"), 0);
	ck_assert_int_eq(h_series(t, "ccc_connections_accepted_total"), 4);
	ck_assert_int_eq(h_series(t, "ccc_handshakes_refused_total"), 1);
	ck_assert_int_eq(h_series(t,
	    "ccc_sessions_closed_total{reason=\"peer_closed\"}"), 1);
	ck_assert_int_eq(h_series(t,
	    "ccc_sessions_closed_total{reason=\"refused\"}"), 1);
	ck_assert_int_eq(h_series(t, "ccc_sessions{state=\"ready\"}"), 2);
	ck_assert_int_eq(h_series(t,
	    "ccc_endpoint_sessions{endpoint=\"bg-border-police\"}"), 1);
	ck_assert_int_eq(h_series(t,
	    "ccc_endpoint_sessions{endpoint=\"tr-police\"}"), 1);
	ck_assert_int_eq(h_series(t,
	    "ccc_endpoint_sessions{endpoint=\"gr-police\"}"), 0);
	ck_assert_int_eq(h_series(t, "ccc_subscriptions{kind=\"plain\"}"), 1);
	ck_assert_int_eq(h_series(t,
	    "ccc_subscriptions{kind=\"durable_detached\"}"), 1);
	ck_assert_int_eq(h_series(t, "ccc_endpoint_subscriptions{endpoint="
	    "\"bg-border-police\",kind=\"plain\"}"), 1);
	ck_assert_int_eq(h_series(t, "ccc_endpoint_subscriptions{endpoint="
	    "\"gr-police\",kind=\"durable_detached\"}"), 1);
	ck_assert_int_eq(h_series(t,
	    "ccc_endpoint_dead_letters{endpoint=\"gr-police\"}"), 0);
	ck_assert_int_eq(h_series(t,
	    "ccc_endpoint_inbox_depth{endpoint=\"bg-border-police\"}"), 0);
	ck_assert_int_eq(h_series(t, "ccc_registry_endpoints"), 9);
	ck_assert_int_eq(h_series(t, "ccc_healthy"), 1);
	ck_assert(h_series(t, "ccc_store_bytes{file=\"db\"}") > 0);
	/* the store's work so far: every transaction held an operation */
	ck_assert(h_series(t, "ccc_store_transactions_total") > 0);
	ck_assert(h_series(t, "ccc_store_operations_total") >=
	    h_series(t, "ccc_store_transactions_total"));
	ck_assert(h_series(t, "ccc_store_syncs_total") > 0);
	ck_assert(h_series(t, "ccc_store_syncs_total") <=
	    h_series(t, "ccc_store_transactions_total"));
	ck_assert(h_series(t, "ccc_frames_received_total") > 0);
	ck_assert_int_eq(h_series(t, "ccc_build_info{version=\"0.1.0\"}"), 1);
	free(r.head);

	/* gr-police comes back, takes its three and acknowledges them */
	gr = h_raw_session(b, "gr-police");
	dsub(gr, "feed", "alerts/#");
	for (int i = 0; i < 3; i++) {
		e = h_raw_recv_skip_ping(gr, H_WAIT_MS);
		ck_assert_ptr_nonnull(e);
		ck_assert_int_eq(e->body_case, CCC__V1__ENVELOPE__BODY_DELIVER);
		ack(gr, e->deliver->delivery_tag);
		frame_free(e);
	}
	wait_series(port, "ccc_endpoint_inbox_depth{endpoint=\"gr-police\"}", 0);
	r = h_http_get(port, "/metrics");
	ck_assert_int_eq(h_series(r.body, "ccc_deliveries_total{kind=\"durable\"}"),
	    3);
	ck_assert_int_eq(h_series(r.body, "ccc_redeliveries_total"), 0);
	/* two counts apart: more than a second since start-up */
	ck_assert(h_series(r.body, "ccc_publish_rate{window=\"60s\"}") > 0);
	ck_assert(h_series(r.body, "ccc_delivery_rate{window=\"60s\"}") > 0);
	ck_assert_int_eq(h_series(r.body, "ccc_endpoint_subscriptions{endpoint="
	    "\"gr-police\",kind=\"durable_attached\"}"), 1);
	free(r.head);

	/* health, and what is not served */
	r = h_http_get(port, "/healthz");
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "ok\n");
	free(r.head);
	r = h_http(port, "HEAD /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Connection: close\r\n\r\n");
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "");
	free(r.head);
	r = h_http(port, "POST /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n");
	ck_assert_int_eq(r.status, 405);
	ck_assert_msg(strstr(r.head, "\r\nAllow: GET, HEAD") != NULL,
	    "headers: %s", r.head);
	free(r.head);
	r = h_http(port, "DELETE /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Connection: close\r\n\r\n");
	ck_assert_int_eq(r.status, 405);
	free(r.head);
	r = h_http_get(port, "/nope");
	ck_assert_int_eq(r.status, 404);
	free(r.head);
	r = h_http_get(port, "/metrics/");
	ck_assert_int_eq(r.status, 404);
	free(r.head);

	h_raw_close(gr);
	ccc_close(sub);
	ccc_close(pub);
	h_broker_stop(b);
}
END_TEST

START_TEST(metrics_off_and_port_taken)
{
	struct h_broker *a = h_broker_start(METRICS_EXTRA), *b;
	int port = h_metrics_port(a), st;
	char extra[128], cfg[400], data[400], cmd[1400], *text, *p, *q;
	FILE *fp;

	/* "" turns the listener off */
	b = h_broker_start("metrics:\n  listen: \"\"\n");
	ck_assert(!h_log_contains(b, "metrics: serving"));
	h_broker_stop(b);

	/* a port in use stops the start, with the reason */
	snprintf(extra, sizeof(extra), "metrics:\n  listen: 127.0.0.1:%d\n",
	    port);
	text = h_slurp(a->config);
	ck_assert_ptr_nonnull(text);
	p = strstr(text, "data_dir: ");
	ck_assert_ptr_nonnull(p);
	q = strchr(p, '\n');
	snprintf(data, sizeof(data), "%s/data2", a->dir);
	snprintf(cfg, sizeof(cfg), "%s/taken.yaml", a->dir);
	fp = fopen(cfg, "w");
	ck_assert_ptr_nonnull(fp);
	/* a's config without its metrics mapping, its own data_dir */
	fprintf(fp, "%.*sdata_dir: \"%s\"\n", (int)(p - text), text, data);
	*strstr(q, "metrics:") = '\0';
	fprintf(fp, "%s%s", q + 1, extra);
	fclose(fp);
	free(text);
	snprintf(cmd, sizeof(cmd), "timeout 20 %s/cccd --config '%s' >>'%s' 2>&1",
	    getenv("CCC_BUILD") ? getenv("CCC_BUILD") : "build", cfg, a->log);
	st = system(cmd);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1,
	    "cccd started with its metrics port taken (status %d)", st);
	snprintf(cmd, sizeof(cmd), "metrics.listen: cannot listen on "
	    "127.0.0.1:%d", port);
	ck_assert_msg(h_log_contains(a, cmd), "no \"%s\" in the log", cmd);
	h_broker_stop(a);
}
END_TEST

/* Fill path with size bytes of zeros (until the file system is full). */
static void
fill(const char *path, size_t size)
{
	static char block[64 * 1024];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	for (size_t done = 0; done < size; done += sizeof(block))
		if (write(fd, block, sizeof(block)) < 0)
			break;
	close(fd);
}

/* Publish an alert with 12 kB of details; returns the reply. */
static Ccc__V1__Envelope *
big_publish(ccc_client *c, int i)
{
	Ccc__V1__Alert *a = h_alert("customs", "tr-bg/hamzabeyli", "medium",
	    "h0", "Lorry convoy with undeclared goods");
	Ccc__V1__Envelope *reply = NULL, *e;
	struct ccc_error err;
	uint64_t rid;
	char *details = malloc(12001);

	ck_assert_ptr_nonnull(details);
	memset(details, 'x', 12000);
	snprintf(details, 32, "manifest %d ", i);	/* each alert differs */
	details[strlen(details)] = 'x';
	details[12000] = '\0';
	h_set_str(&a->details, details);
	free(details);
	ck_assert_msg(ccc_send_publish(c, a, &rid, &err) == 0, "send: %s",
	    err.message);
	h_alert_free(a);
	while (reply == NULL) {
		e = h_recv(c, H_WAIT_MS);
		if (e->request_id == rid)
			reply = e;
		else
			ccc_envelope_free(e);
	}
	return reply;
}

START_TEST(healthz_503_when_the_store_cannot_write)
{
	char dir[] = "/tmp/ccc-metrics-full.XXXXXX", filler[64];
	struct h_broker *b;
	ccc_client *pub;
	Ccc__V1__Envelope *e;
	struct h_reply r;
	bool refused = false;
	int port, i;

	if (geteuid() != 0) {
		fprintf(stderr, "healthz_503_when_the_store_cannot_write: not "
		    "root, cannot mount a small file system; not run\n");
		return;
	}
	ck_assert(mkdtemp(dir) != NULL);
	ck_assert_msg(mount("tmpfs", dir, "tmpfs", 0, "size=" FAULT_FS_SIZE) == 0,
	    "mount tmpfs: %s", strerror(errno));
	snprintf(filler, sizeof(filler), "%s/filler", dir);
	h_data_dir = dir;
	b = h_broker_start(METRICS_EXTRA);
	h_data_dir = NULL;
	port = h_metrics_port(b);
	pub = h_connect(b, "tr-customs");
	r = h_http_get(port, "/healthz");
	ck_assert_int_eq(r.status, 200);
	free(r.head);

	fill(filler, FAULT_FILLER);
	for (i = 0; i < 400 && !refused; i++) {
		e = big_publish(pub, i);
		refused = e->body_case != CCC__V1__ENVELOPE__BODY_PUBLISH_OK;
		ccc_envelope_free(e);
	}
	ck_assert_msg(refused, "the store never filled up");
	r = h_http_get(port, "/healthz");
	ck_assert_int_eq(r.status, 503);
	ck_assert_msg(strncmp(r.body, "store: the last write failed: ", 30) == 0 &&
	    strchr(r.body, '\n') == r.body + strlen(r.body) - 1,
	    "body: %s", r.body);
	free(r.head);
	r = h_http_get(port, "/metrics");
	ck_assert_int_eq(h_series(r.body, "ccc_healthy"), 0);
	ck_assert_int_eq(h_series(r.body,
	    "ccc_publish_refused_total{code=\"store_unavailable\"}"), 1);
	free(r.head);

	/* space returns: the next write succeeds and health with it */
	ck_assert(unlink(filler) == 0);
	e = big_publish(pub, i);
	ck_assert_int_eq(e->body_case, CCC__V1__ENVELOPE__BODY_PUBLISH_OK);
	ccc_envelope_free(e);
	r = h_http_get(port, "/healthz");
	ck_assert_int_eq(r.status, 200);
	free(r.head);
	ccc_close(pub);
	h_broker_stop(b);
	ck_assert(umount(dir) == 0);
	rmdir(dir);
}
END_TEST

/*
 * A peer that resets its connection while the broker still holds output
 * for it is freed at once. It used to stay, closing, with its output for
 * the 5 s a closing session has to drain, although nothing could drain.
 * Found by fuzz_session.
 */
START_TEST(reset_with_output_queued_freed_at_once)
{
	struct h_broker *b = h_broker_start(METRICS_EXTRA
	    "limits:\n  max_output_buffer: 67108864\n");
	int port = h_metrics_port(b);
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__AdminRequest q = CCC__V1__ADMIN_REQUEST__INIT;
	Ccc__V1__AdminGet g = CCC__V1__ADMIN_GET__INIT;
	struct h_raw *op = h_raw_session(b, "ccc-operator");
	struct h_reply r;
	int64_t t0, deadline;
	double sent, ready, closing;

	/*
	 * Registry documents, unread: 1,200 of about 6 KB, well over what the
	 * socket buffers hold (4 MB at most on the broker's side here).
	 */
	q.op_case = CCC__V1__ADMIN_REQUEST__OP_GET;
	q.get = &g;
	env.body_case = CCC__V1__ENVELOPE__BODY_ADMIN;
	env.admin = &q;
	for (int i = 0; i < 1200; i++) {
		env.request_id = (uint64_t)i + 1;
		h_raw_send_env(op, &env);
	}
	t0 = h_mono_ms();
	deadline = t0 + 8 * H_WAIT_MS;
	do {	/* until every reply is queued: welcome and 1,200 */
		ck_assert_msg(h_mono_ms() < deadline, "the replies were not queued "
		    "within %d ms", 8 * H_WAIT_MS);
		usleep(50000);
		r = h_http_get(port, "/metrics");
		sent = h_series(r.body, "ccc_frames_sent_total");
		free(r.head);
	} while (sent < 1201);
	h_raw_reset(op);
	t0 = h_mono_ms();
	deadline = t0 + 2000 * h_slow();
	do {
		ck_assert_msg(h_mono_ms() < deadline, "the reset session was not "
		    "freed within %d ms", 2000 * h_slow());
		usleep(20000);
		r = h_http_get(port, "/metrics");
		ready = h_series(r.body, "ccc_sessions{state=\"ready\"}");
		closing = h_series(r.body, "ccc_sessions{state=\"closing\"}");
		free(r.head);
	} while (ready != 0 || closing != 0);
	h_broker_stop(b);
}
END_TEST

/*
 * Check each ccc_* name in the strings of node (the dashboard's queries and
 * variables) against the # TYPE lines of scrape; count them in *n.
 */
static void
dashboard_names(json_t *node, const char *scrape, size_t *n)
{
	char name[128], decl[160];
	const char *p, *key;
	size_t len, i;
	json_t *v;

	if (json_is_object(node)) {
		json_object_foreach(node, key, v)
			dashboard_names(v, scrape, n);
	} else if (json_is_array(node)) {
		json_array_foreach(node, i, v)
			dashboard_names(v, scrape, n);
	} else if (json_is_string(node)) {
		for (p = json_string_value(node); (p = strstr(p, "ccc_")) != NULL;
		    p += len) {
			len = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
			if (p > json_string_value(node) && (p[-1] == '_' ||
			    (p[-1] >= 'a' && p[-1] <= 'z')))
				continue;	/* inside another word */
			ck_assert_uint_lt(len, sizeof(name));
			snprintf(name, sizeof(name), "%.*s", (int)len, p);
			snprintf(decl, sizeof(decl), "# TYPE %s ", name);
			ck_assert_msg(strstr(scrape, decl) != NULL, "the dashboard "
			    "queries %s, which cccd does not export", name);
			(*n)++;
		}
	}
}

START_TEST(grafana_dashboard_queries_real_metrics)
{
	struct h_broker *b = h_broker_start(METRICS_EXTRA);
	json_t *dash, *vars, *v, *ds = json_string("datasource");
	json_error_t jerr;
	struct h_reply r;
	bool ds_var = false;
	char path[512];
	size_t n = 0, i;

	snprintf(path, sizeof(path), "%s/docs/grafana/ccc-dashboard.json",
	    h_srcdir());
	dash = json_load_file(path, 0, &jerr);
	ck_assert_msg(dash != NULL, "%s:%d: %s", path, jerr.line, jerr.text);
	ck_assert_uint_gt(json_array_size(json_object_get(dash, "panels")), 0);
	/* the data source is a variable, chosen at import */
	vars = json_object_get(json_object_get(dash, "templating"), "list");
	json_array_foreach(vars, i, v)
		if (json_equal(json_object_get(v, "type"), ds) &&
		    json_equal(json_object_get(v, "name"), ds))
			ds_var = true;
	ck_assert_msg(ds_var, "no datasource variable named datasource");

	r = h_http_get(h_metrics_port(b), "/metrics");
	ck_assert_int_eq(r.status, 200);
	dashboard_names(dash, r.body, &n);
	ck_assert_uint_gt(n, 20);
	free(r.head);
	json_decref(ds);
	json_decref(dash);
	h_broker_stop(b);
}
END_TEST

Suite *
metrics_suite(void)
{
	Suite *s = suite_create("12-metrics");
	TCase *tc = tcase_create("metrics");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, metrics_report_real_numbers);
	tcase_add_test(tc, metrics_off_and_port_taken);
	tcase_add_test(tc, healthz_503_when_the_store_cannot_write);
	tcase_add_test(tc, reset_with_output_queued_freed_at_once);
	tcase_add_test(tc, grafana_dashboard_queries_real_metrics);
	suite_add_tcase(s, tc);
	return s;
}
