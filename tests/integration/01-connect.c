/*
 * 01-connect.c — opening a session: Hello/Welcome, the identity and limits
 * the broker announces, the registry's names when asked for, Ping/Pong, and the session-order errors (a second
 * Hello, a request before Hello, an unsupported protocol version).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "harness.h"

/* True when the Welcome lists exactly these roles, in any order. */
static bool
roles_are(const Ccc__V1__Welcome *w, const char *const *roles, size_t n)
{
	if (w->n_roles != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool found = false;

		for (size_t k = 0; k < w->n_roles; k++)
			found = found || strcmp(w->roles[k], roles[i]) == 0;
		if (!found)
			return false;
	}
	return true;
}

START_TEST(welcome_identity_and_defaults)
{
	static const char *const roles[] = { "publisher", "subscriber" };
	struct h_broker *b = h_broker_start(NULL);
	struct h_raw *r = h_raw_connect(b, "tr-police");
	Ccc__V1__Envelope *env;
	const Ccc__V1__Welcome *w;

	h_raw_send_hello(r, 1, 7);
	env = h_raw_expect(r, CCC__V1__ENVELOPE__BODY_WELCOME);
	w = env->welcome;
	ck_assert_uint_eq(env->request_id, 7);
	ck_assert_uint_eq(w->protocol_version, 1);
	ck_assert_str_eq(w->endpoint, "tr-police");
	ck_assert_msg(roles_are(w, roles, 2), "tr-police roles: %zu roles",
	    w->n_roles);
	ck_assert_msg(strncmp(w->server_version, "cccd/", 5) == 0,
	    "server_version \"%s\"", w->server_version);
	ck_assert_uint_eq(w->max_frame_size, FRAME_MAX_DEFAULT);
	ck_assert_uint_eq(w->ping_interval, 30);
	frame_free(env);
	h_raw_close(r);
	ck_assert(h_log_wait(b, "tr-police connected from", H_WAIT_MS));
	h_broker_stop(b);
}
END_TEST

START_TEST(welcome_configured_limits)
{
	static const char *const roles[] = { "operator" };
	struct h_broker *b = h_broker_start("limits:\n  max_frame_size: 4096\n"
	    "timeouts:\n  ping_interval: 7\n");
	struct h_raw *r = h_raw_connect(b, "ccc-operator");
	Ccc__V1__Envelope *env;
	ccc_client *c;

	h_raw_send_hello(r, 1, 1);
	env = h_raw_expect(r, CCC__V1__ENVELOPE__BODY_WELCOME);
	ck_assert_str_eq(env->welcome->endpoint, "ccc-operator");
	ck_assert_msg(roles_are(env->welcome, roles, 1),
	    "ccc-operator should have only the operator role");
	ck_assert_uint_eq(env->welcome->max_frame_size, 4096);
	ck_assert_uint_eq(env->welcome->ping_interval, 7);
	frame_free(env);
	h_raw_close(r);

	/* the library takes the same values */
	c = h_connect(b, "gr-police");
	ck_assert_uint_eq(ccc_max_frame_size(c), 4096);
	ccc_close(c);
	h_broker_stop(b);
}
END_TEST

START_TEST(ping_pong_echoes_request_id)
{
	struct h_broker *b = h_broker_start(NULL);
	struct h_raw *r = h_raw_session(b, "gr-police");
	Ccc__V1__Envelope *env;

	h_raw_send_ping(r, 42);
	env = h_raw_expect(r, CCC__V1__ENVELOPE__BODY_PONG);
	ck_assert_uint_eq(env->request_id, 42);
	frame_free(env);
	/* a large id comes back unchanged, and pings may be pipelined */
	h_raw_send_ping(r, UINT64_C(0xfedcba9876543210));
	h_raw_send_ping(r, 3);
	env = h_raw_expect(r, CCC__V1__ENVELOPE__BODY_PONG);
	ck_assert(env->request_id == UINT64_C(0xfedcba9876543210));
	frame_free(env);
	env = h_raw_expect(r, CCC__V1__ENVELOPE__BODY_PONG);
	ck_assert_uint_eq(env->request_id, 3);
	frame_free(env);
	h_raw_close(r);
	h_broker_stop(b);
}
END_TEST

START_TEST(second_hello_is_fatal)
{
	struct h_broker *b = h_broker_start(NULL);
	struct h_raw *r = h_raw_session(b, "gr-police");
	Ccc__V1__Envelope *env;

	h_raw_send_hello(r, 1, 9);
	env = h_raw_expect(r, CCC__V1__ENVELOPE__BODY_ERROR);
	ck_assert_uint_eq(env->request_id, 9);
	h_expect_error(env, CCC__V1__ERROR_CODE__ERROR_CODE_PROTOCOL, true,
	    "hello");
	frame_free(env);
	ck_assert(h_raw_closed(r, H_WAIT_MS));
	h_raw_close(r);
	h_broker_stop(b);
}
END_TEST

START_TEST(publish_before_hello_is_fatal)
{
	struct h_broker *b = h_broker_start(NULL);
	struct h_raw *r = h_raw_connect(b, "tr-police");
	Ccc__V1__Alert *a = h_alert("drugs", "tr-bg/kapikule", "high", "h1",
	    "Heroin in a lorry");
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT, *got;
	Ccc__V1__Publish pub = CCC__V1__PUBLISH__INIT;

	pub.alert = a;
	env.request_id = 3;
	env.body_case = CCC__V1__ENVELOPE__BODY_PUBLISH;
	env.publish = &pub;
	h_raw_send_env(r, &env);
	got = h_raw_expect(r, CCC__V1__ENVELOPE__BODY_ERROR);
	ck_assert_uint_eq(got->request_id, 3);
	h_expect_error(got, CCC__V1__ERROR_CODE__ERROR_CODE_PROTOCOL, true,
	    "must be hello");
	frame_free(got);
	ck_assert(h_raw_closed(r, H_WAIT_MS));
	h_raw_close(r);
	h_alert_free(a);
	h_broker_stop(b);
}
END_TEST

START_TEST(ping_before_hello_is_fatal)
{
	struct h_broker *b = h_broker_start(NULL);
	struct h_raw *r = h_raw_connect(b, "tr-police");

	h_raw_send_ping(r, 1);
	h_raw_expect_error(r, CCC__V1__ERROR_CODE__ERROR_CODE_PROTOCOL, true,
	    "must be hello");
	h_raw_close(r);
	h_broker_stop(b);
}
END_TEST

START_TEST(unsupported_version)
{
	struct h_broker *b = h_broker_start(NULL);
	struct h_raw *r = h_raw_connect(b, "tr-police");
	Ccc__V1__Envelope *env;

	h_raw_send_hello(r, 2, 1);
	env = h_raw_expect(r, CCC__V1__ENVELOPE__BODY_ERROR);
	ck_assert_uint_eq(env->request_id, 1);
	h_expect_error(env, CCC__V1__ERROR_CODE__ERROR_CODE_UNSUPPORTED_VERSION,
	    true, "version 2");
	frame_free(env);
	ck_assert(h_raw_closed(r, H_WAIT_MS));
	h_raw_close(r);
	h_broker_stop(b);
}
END_TEST

START_TEST(client_name_too_long)
{
	struct h_broker *b = h_broker_start(NULL);
	struct h_raw *r = h_raw_connect(b, "tr-police");
	Ccc__V1__Envelope env = CCC__V1__ENVELOPE__INIT;
	Ccc__V1__Hello hello = CCC__V1__HELLO__INIT;
	char name[200];

	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	hello.protocol_version = 1;
	hello.client_name = name;
	env.request_id = 1;
	env.body_case = CCC__V1__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	h_raw_send_env(r, &env);
	h_raw_expect_error(r, CCC__V1__ERROR_CODE__ERROR_CODE_INVALID_REQUEST,
	    true, "client_name");
	h_raw_close(r);
	h_broker_stop(b);
}
END_TEST

START_TEST(library_connects)
{
	struct h_broker *b = h_broker_start(NULL);
	ccc_client *c1 = h_connect(b, "tr-police");
	ccc_client *c2 = h_connect(b, "tr-police");	/* one endpoint, two sessions */

	ck_assert_str_eq(ccc_endpoint(c1), "tr-police");
	ck_assert_uint_eq(ccc_max_frame_size(c1), FRAME_MAX_DEFAULT);
	ck_assert_int_ge(ccc_fd(c1), 0);
	ck_assert(!ccc_pending(c1));
	ccc_close(c1);
	ccc_close(c2);
	h_broker_stop(b);
}
END_TEST

/* Connect as tr-police, asking for the registry's names or not. */
static ccc_client *
connect_names(const struct h_broker *b, bool names)
{
	struct ccc_options o;
	struct ccc_error err;
	ccc_client *c = NULL;

	memset(&o, 0, sizeof(o));
	o.server = b->server;
	o.cert = h_pki("tr-police.pem");
	o.key = h_pki("tr-police.key");
	o.ca = h_pki("ca.pem");
	o.timeout_ms = H_WAIT_MS;
	o.names = names;
	ck_assert_msg(ccc_connect(&o, &c, &err) == 0, "connect: %s", err.message);
	return c;
}

/*
 * A broker of the time before Hello.names, played by a thread: it refuses
 * a Hello with a field it does not know (fatal MALFORMED_FRAME, as
 * frame_decode() did), and welcomes one without. Two connections.
 */
struct old_broker {
	int		 lfd;
	int		 port;
	SSL_CTX		*ctx;
	int		 with_names;	/* Hellos that asked for names */
	int		 hellos;
};

/* Read one envelope from ssl; NULL at the end or on an error. */
static Ccc__V1__Envelope *
old_read(SSL *ssl)
{
	uint8_t buf[4096];
	Ccc__V1__Envelope *env = NULL;
	size_t len = 0, used;
	int n;

	while (len < sizeof(buf) && (n = SSL_read(ssl, buf + len,
	    (int)(sizeof(buf) - len))) > 0) {
		len += (size_t)n;
		if (frame_decode(buf, len, FRAME_MAX_DEFAULT, &env, &used, NULL,
		    0) != FRAME_NEED_MORE)
			break;
	}
	return env;
}

static void
old_send(SSL *ssl, const Ccc__V1__Envelope *env)
{
	uint8_t buf[4096];
	size_t n = frame_encode(env, buf);

	(void)SSL_write(ssl, buf, (int)n);
}

static void *
old_broker_run(void *arg)
{
	struct old_broker *ob = arg;
	Ccc__V1__Envelope out = CCC__V1__ENVELOPE__INIT, *in;
	Ccc__V1__Welcome w = CCC__V1__WELCOME__INIT;
	Ccc__V1__Error e = CCC__V1__ERROR__INIT;
	SSL *ssl;
	int fd;

	for (int k = 0; k < 2 && (fd = accept(ob->lfd, NULL, NULL)) >= 0; k++) {
		ssl = SSL_new(ob->ctx);
		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) == 1 && (in = old_read(ssl)) != NULL) {
			ob->hellos++;
			out.request_id = in->request_id;
			if (in->body_case == CCC__V1__ENVELOPE__BODY_HELLO &&
			    in->hello->names) {
				ob->with_names++;
				e.code = CCC__V1__ERROR_CODE__ERROR_CODE_MALFORMED_FRAME;
				e.fatal = true;
				e.message = (char *)(uintptr_t)"envelope carries "
				    "fields unknown to ccc.v1";
				out.body_case = CCC__V1__ENVELOPE__BODY_ERROR;
				out.error = &e;
			} else {
				w.protocol_version = 1;
				w.endpoint = (char *)(uintptr_t)"tr-police";
				w.max_frame_size = FRAME_MAX_DEFAULT;
				out.body_case = CCC__V1__ENVELOPE__BODY_WELCOME;
				out.welcome = &w;
			}
			old_send(ssl, &out);
			frame_free(in);
			frame_free(old_read(ssl));	/* until the client closes */
		}
		SSL_free(ssl);
		close(fd);
	}
	return NULL;
}

START_TEST(names_from_a_broker_without_them)
{
	struct old_broker ob = { .lfd = -1 };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t salen = sizeof(sa);
	struct ccc_options o;
	struct ccc_error err;
	char server[32];
	ccc_client *c = NULL;
	pthread_t t;

	ob.ctx = SSL_CTX_new(TLS_server_method());
	ck_assert(SSL_CTX_use_certificate_chain_file(ob.ctx,
	    h_pki("cccd.pem")) == 1);
	ck_assert(SSL_CTX_use_PrivateKey_file(ob.ctx, h_pki("cccd.key"),
	    SSL_FILETYPE_PEM) == 1);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert((ob.lfd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	ck_assert(bind(ob.lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	ck_assert(listen(ob.lfd, 4) == 0);
	ck_assert(getsockname(ob.lfd, (struct sockaddr *)&sa, &salen) == 0);
	snprintf(server, sizeof(server), "127.0.0.1:%d", ntohs(sa.sin_port));
	ck_assert(pthread_create(&t, NULL, old_broker_run, &ob) == 0);

	memset(&o, 0, sizeof(o));
	o.server = server;
	o.cert = h_pki("tr-police.pem");
	o.key = h_pki("tr-police.key");
	o.ca = h_pki("ca.pem");
	o.timeout_ms = H_WAIT_MS;
	o.names = true;
	ck_assert_msg(ccc_connect(&o, &c, &err) == 0, "connect: %s", err.message);
	ck_assert_str_eq(ccc_endpoint(c), "tr-police");
	ck_assert_ptr_null(ccc_section_name(c, "tr-bg/kapikule"));
	ccc_close(c);
	pthread_join(t, NULL);
	ck_assert_int_eq(ob.hellos, 2);
	ck_assert_int_eq(ob.with_names, 1);
	close(ob.lfd);
	SSL_CTX_free(ob.ctx);
}
END_TEST

START_TEST(welcome_names_when_asked)
{
	struct h_broker *b = h_broker_start(NULL);
	struct h_raw *r = h_raw_connect(b, "tr-police");
	Ccc__V1__Envelope *env;
	ccc_client *c;

	/* a Hello without names: a Welcome without them */
	h_raw_send_hello(r, 1, 1);
	env = h_raw_expect(r, CCC__V1__ENVELOPE__BODY_WELCOME);
	ck_assert_uint_eq(env->welcome->n_section_names, 0);
	ck_assert_uint_eq(env->welcome->n_endpoint_names, 0);
	frame_free(env);
	h_raw_close(r);
	c = connect_names(b, false);
	ck_assert_ptr_null(ccc_section_name(c, "tr-bg/kapikule"));
	ck_assert_ptr_null(ccc_endpoint_name(c, "tr-police"));
	ccc_close(c);

	/* asked for: every section and endpoint of the registry, by id */
	c = connect_names(b, true);
	ck_assert_str_eq(ccc_section_name(c, "tr-bg/kapikule"),
	    "Kapıkule – Kapitan Andreevo (road and rail)");
	ck_assert_str_eq(ccc_section_name(c, "bg-gr/kulata"),
	    "Kulata – Promachonas");
	ck_assert_str_eq(ccc_endpoint_name(c, "tr-police"),
	    "Turkish National Police (Emniyet Genel Müdürlüğü)");
	ck_assert_ptr_null(ccc_section_name(c, "tr-bg/nowhere"));
	ck_assert_ptr_null(ccc_endpoint_name(c, "tr-bg/kapikule"));
	ck_assert_ptr_null(ccc_endpoint_name(c, NULL));

	/* a new session takes the names in force then */
	h_registry_edit(b, "Kulata – Promachonas", "Kulata – Promachonas (road)");
	h_broker_reload(b);
	ck_assert_int_eq(ccc_reconnect(c, NULL), 0);
	ck_assert_str_eq(ccc_section_name(c, "bg-gr/kulata"),
	    "Kulata – Promachonas (road)");
	ccc_close(c);
	h_broker_stop(b);
}
END_TEST

Suite *
connect_suite(void)
{
	Suite *s = suite_create("01-connect");
	TCase *tc = tcase_create("hello");

	tcase_add_test(tc, welcome_identity_and_defaults);
	tcase_add_test(tc, welcome_configured_limits);
	tcase_add_test(tc, ping_pong_echoes_request_id);
	tcase_add_test(tc, second_hello_is_fatal);
	tcase_add_test(tc, publish_before_hello_is_fatal);
	tcase_add_test(tc, ping_before_hello_is_fatal);
	tcase_add_test(tc, unsupported_version);
	tcase_add_test(tc, client_name_too_long);
	tcase_add_test(tc, library_connects);
	tcase_add_test(tc, welcome_names_when_asked);
	tcase_add_test(tc, names_from_a_broker_without_them);
	tcase_set_timeout(tc, H_TEST_TIMEOUT);
	suite_add_tcase(s, tc);
	return s;
}
