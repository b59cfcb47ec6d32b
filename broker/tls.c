/*
 * tls.c — the broker's TLS context and the identity of a verified peer.
 * Must never accept a peer without a certificate verified against the
 * configured CAs (and, when tls.crl is set, checked against their CRLs), nor
 * take an identity from anything but that certificate.
 *
 * Revocation policy, when CRLs are configured: the whole chain is checked
 * (X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL), so every CA that
 * issued a certificate of the chain needs its CRL. A certificate whose
 * issuer has no CRL is refused (fail closed), and loading warns about every
 * trusted CA without one. A CRL past its nextUpdate (or before its
 * lastUpdate) is still enforced — the broker warns at load and, at most once
 * a minute, when a handshake relies on it — rather than refusing everyone.
 * A CRL that does not parse, or whose signature does not verify with the
 * key of the trusted CA it names, or whose CA may not sign CRLs, fails the
 * load: the caller keeps what it had. A CRL of a CA that is not trusted is
 * left out with a warning (a CA may be taken out of a bundle before its CRL
 * file is out of the configuration).
 *
 * Session resumption (tls.session_tickets seconds, 0: none): the context
 * remembers up to tls.session_cache_size sessions for that long, and a
 * client resumes one by the ticket (TLS 1.3) or session id (TLS 1.2) that
 * names it; nothing of a session leaves the broker. A TLS reload builds a
 * new context with an empty cache, so no session survives a reload: a
 * certificate revoked by the new CRLs cannot come back by resuming. A
 * resumed session carries the certificate verified in the full handshake
 * (the identity is taken from it as for any session); one whose certificate
 * has expired since is refused and forgotten.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "tls.h"

/* TLS 1.2 suites: ECDHE key exchange and AEAD ciphers only. */
#define TLS12_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_GROUPS	"X25519:P-256:P-384"
#define TLS_SID_CTX	"cccd"
#define TLS_MAX_CRLS	256	/* CRLs in one tls.crl file: bounds the load loop */
#define TLS_STALE_EVERY	60	/* seconds between warnings about a stale CRL in use */

/* SSL ex_data slot: the client certificate that failed verification. */
static int tls_refused_idx = -1;

static int	tls_resumption_setup(SSL_CTX *, uint32_t, uint32_t, char *,
	    size_t);

char *
tls_errors(char *buf, size_t len)
{
	unsigned long e;
	size_t off = 0;

	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0 && off < len) {
		char one[256];

		ERR_error_string_n(e, one, sizeof(one));
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    off ? "; " : "", one);
	}
	if (off == 0)
		snprintf(buf, len, "unknown error");
	return buf;
}

/* name as one line (RFC 2253), "" when it cannot be printed. */
static char *
tls_name(const X509_NAME *name, char *buf, size_t len)
{
	BIO *bio;
	int n;

	buf[0] = '\0';
	if (name == NULL || (bio = BIO_new(BIO_s_mem())) == NULL)
		return buf;
	if (X509_NAME_print_ex(bio, name, 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
	    (n = BIO_read(bio, buf, (int)len - 1)) > 0)
		buf[n] = '\0';
	BIO_free(bio);
	return buf;
}

/* t as "2026-11-30T01:46:43Z", or "never" when NULL. */
static char *
tls_time(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "never");
	return buf;
}

static void
tls_refused_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	X509_free(ptr);
}

/* Warn, at most every TLS_STALE_EVERY seconds, that crl is used out of date. */
static void
tls_stale_crl_used(const X509_CRL *crl, int error)
{
	static time_t last;
	time_t now = time(NULL);
	char issuer[256], when[32];

	if (crl == NULL || (last != 0 && now - last < TLS_STALE_EVERY))
		return;
	last = now;
	log_warn("TLS: a client certificate was checked against a CRL of "
	    "\"%s\" that is %s (%s %s); it is still enforced: install a "
	    "current CRL and reload", tls_name(X509_CRL_get_issuer(crl),
	    issuer, sizeof(issuer)), error == X509_V_ERR_CRL_HAS_EXPIRED ?
	    "out of date" : "not yet valid",
	    error == X509_V_ERR_CRL_HAS_EXPIRED ? "next update was" :
	    "valid from", tls_time(error == X509_V_ERR_CRL_HAS_EXPIRED ?
	    X509_CRL_get0_nextUpdate(crl) : X509_CRL_get0_lastUpdate(crl),
	    when, sizeof(when)));
}

/*
 * Verification callback of handshakes and re-checks: a stale CRL is
 * enforced all the same (see the policy above); any other failure stands,
 * and the certificate at fault is kept with the SSL object for the log and
 * the audit journal.
 */
static int
tls_verify_cb(int ok, X509_STORE_CTX *xctx)
{
	int error = X509_STORE_CTX_get_error(xctx);
	X509 *cert;
	SSL *ssl;

	if (ok)
		return 1;
	if (error == X509_V_ERR_CRL_HAS_EXPIRED ||
	    error == X509_V_ERR_CRL_NOT_YET_VALID) {
		tls_stale_crl_used(X509_STORE_CTX_get0_current_crl(xctx), error);
		X509_STORE_CTX_set_error(xctx, X509_V_OK);
		return 1;
	}
	ssl = X509_STORE_CTX_get_ex_data(xctx,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	cert = X509_STORE_CTX_get0_cert(xctx);
	if (ssl != NULL && tls_refused_idx >= 0 && cert != NULL &&
	    X509_up_ref(cert) == 1) {
		X509_free(SSL_get_ex_data(ssl, tls_refused_idx));
		SSL_set_ex_data(ssl, tls_refused_idx, cert);
	}
	return 0;
}

/* "certificate revoked", with the depth when not the client's own. */
static void
tls_verify_reason(long error, int depth, char *why, size_t whylen)
{
	if (depth > 0)
		snprintf(why, whylen, "%s (the CA certificate at depth %d)",
		    X509_verify_cert_error_string(error), depth);
	else
		snprintf(why, whylen, "%s", X509_verify_cert_error_string(error));
}

/*
 * Check crl, read from path, before it is trusted: signed by a CA of the
 * store that may sign CRLs. Returns 0 to use it, 1 to leave it out (its
 * issuer is not a trusted CA: warned), or -1 with err set.
 */
static int
tls_crl_check(STACK_OF(X509_OBJECT) *objs, X509_CRL *crl, const char *path,
    char *err, size_t errlen)
{
	const X509_NAME *issuer = X509_CRL_get_issuer(crl);
	X509 *ca, *signer = NULL;
	EVP_PKEY *key;
	bool named = false;
	char name[256];

	for (int i = 0; i < sk_X509_OBJECT_num(objs) && signer == NULL; i++) {
		ca = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
		if (ca == NULL ||
		    X509_NAME_cmp(X509_get_subject_name(ca), issuer) != 0)
			continue;
		named = true;
		if ((key = X509_get0_pubkey(ca)) != NULL &&
		    X509_CRL_verify(crl, key) == 1)
			signer = ca;
	}
	ERR_clear_error();
	tls_name(issuer, name, sizeof(name));
	if (!named) {	/* e.g. a CA just taken out of tls.ca */
		log_warn("tls.crl: the CRL %s is from \"%s\", which is not a CA "
		    "in tls.ca; ignored", path, name);
		return 1;
	}
	if (signer == NULL) {
		snprintf(err, errlen, "CRL %s: its signature does not verify with "
		    "the key of \"%s\"", path, name);
		return -1;
	}
	if ((X509_get_key_usage(signer) & KU_CRL_SIGN) == 0) {
		snprintf(err, errlen, "CRL %s: \"%s\" may not sign CRLs (its "
		    "keyUsage lacks cRLSign)", path, name);
		return -1;
	}
	if (X509_cmp_current_time(X509_CRL_get0_lastUpdate(crl)) > 0) {
		char when[32];

		log_warn("tls.crl: the CRL %s of \"%s\" is not valid before %s "
		    "(check the clock); it is enforced all the same", path, name,
		    tls_time(X509_CRL_get0_lastUpdate(crl), when, sizeof(when)));
	} else if (X509_CRL_get0_nextUpdate(crl) != NULL &&
	    X509_cmp_current_time(X509_CRL_get0_nextUpdate(crl)) < 0) {
		char when[32];

		log_warn("tls.crl: the CRL %s of \"%s\" is out of date (its next "
		    "update was due %s); it is enforced all the same: install a "
		    "current one and reload", path, name,
		    tls_time(X509_CRL_get0_nextUpdate(crl), when, sizeof(when)));
	}
	return 0;
}

/*
 * Load every CRL of cfg into ctx's store and turn on revocation checking of
 * the whole chain; warn about trusted CAs without a CRL. The CA bundles must
 * be loaded already. Returns 0, or -1 with err set.
 */
static int
tls_load_crls(SSL_CTX *ctx, const struct config *cfg, char *err, size_t errlen)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);
	char why[512], name[256];
	X509_CRL *crl = NULL;
	unsigned long e;
	BIO *bio;
	int n, rc;

	for (size_t i = 0; i < cfg->n_tls_crl; i++) {
		const char *path = cfg->tls_crl[i];

		ERR_clear_error();
		if ((bio = BIO_new_file(path, "r")) == NULL) {
			snprintf(err, errlen, "cannot read CRL file %s: %s", path,
			    tls_errors(why, sizeof(why)));
			return -1;
		}
		for (n = 0; n <= TLS_MAX_CRLS; n++) {
			if ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL,
			    NULL)) == NULL)
				break;
			if (n == TLS_MAX_CRLS) {
				snprintf(err, errlen, "CRL file %s holds more than "
				    "%d CRLs", path, TLS_MAX_CRLS);
				goto fail;
			}
			if ((rc = tls_crl_check(objs, crl, path, err,
			    errlen)) < 0)
				goto fail;
			if (rc == 0 && X509_STORE_add_crl(store, crl) != 1) {
				snprintf(err, errlen, "cannot use CRL %s: %s", path,
				    tls_errors(why, sizeof(why)));
				goto fail;
			}
			X509_CRL_free(crl);
		}
		/* the end of the file shows as "no start line" after a CRL */
		e = ERR_peek_last_error();
		if (n == 0 || ERR_GET_LIB(e) != ERR_LIB_PEM ||
		    ERR_GET_REASON(e) != PEM_R_NO_START_LINE) {
			if (n == 0 && ERR_GET_LIB(e) == ERR_LIB_PEM &&
			    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
				snprintf(err, errlen, "no CRL in %s (PEM \"X509 "
				    "CRL\" expected)", path);
			else
				snprintf(err, errlen, "cannot load CRL file %s: %s",
				    path, tls_errors(why, sizeof(why)));
			BIO_free(bio);
			return -1;
		}
		ERR_clear_error();
		BIO_free(bio);
	}
	/* a CA without a CRL: its certificates fail with "unable to get CRL" */
	for (int i = 0; i < sk_X509_OBJECT_num(objs); i++) {
		X509 *ca = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
		bool found = false;

		if (ca == NULL)
			continue;
		for (int k = 0; k < sk_X509_OBJECT_num(objs) && !found; k++) {
			X509_CRL *c = X509_OBJECT_get0_X509_CRL(
			    sk_X509_OBJECT_value(objs, k));

			found = c != NULL && X509_NAME_cmp(X509_CRL_get_issuer(c),
			    X509_get_subject_name(ca)) == 0;
		}
		if (!found)
			log_warn("tls.crl: no CRL of the trusted CA \"%s\": the "
			    "certificates it issued will be refused until its "
			    "CRL is added to tls.crl", tls_name(
			    X509_get_subject_name(ca), name, sizeof(name)));
	}
	X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx),
	    X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	return 0;
fail:
	X509_CRL_free(crl);
	BIO_free(bio);
	return -1;
}

SSL_CTX *
tls_server_ctx(const struct config *cfg, char *err, size_t errlen)
{
	STACK_OF(X509_NAME) *names;
	SSL_CTX *ctx;
	char why[512], groups[] = TLS_GROUPS;	/* the macro wants char * */

	ERR_clear_error();
	if (tls_refused_idx < 0)
		tls_refused_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL,
		    tls_refused_free);
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		snprintf(err, errlen, "cannot create TLS context: %s",
		    tls_errors(why, sizeof(why)));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (tls_resumption_setup(ctx, cfg->tls_tickets, cfg->tls_session_cache,
	    err, errlen) < 0)
		goto fail;
	if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, groups) != 1) {
		snprintf(err, errlen, "cannot set TLS ciphers: %s",
		    tls_errors(why, sizeof(why)));
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1) {
		snprintf(err, errlen, "cannot load certificate %s: %s",
		    cfg->tls_cert, tls_errors(why, sizeof(why)));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1) {
		snprintf(err, errlen, "cannot load private key %s: %s",
		    cfg->tls_key, tls_errors(why, sizeof(why)));
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "private key %s does not match certificate %s",
		    cfg->tls_key, cfg->tls_cert);
		goto fail;
	}
	if ((names = sk_X509_NAME_new_null()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < cfg->n_tls_ca; i++) {
		if (SSL_CTX_load_verify_locations(ctx, cfg->tls_ca[i], NULL) != 1 ||
		    SSL_add_file_cert_subjects_to_stack(names, cfg->tls_ca[i]) != 1) {
			snprintf(err, errlen, "cannot load CA bundle %s: %s",
			    cfg->tls_ca[i], tls_errors(why, sizeof(why)));
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			goto fail;
		}
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	if (cfg->n_tls_crl > 0 && tls_load_crls(ctx, cfg, err, errlen) < 0)
		goto fail;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
	    tls_verify_cb);
	SSL_CTX_set_verify_depth(ctx, 4);
	SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)TLS_SID_CTX,
	    sizeof(TLS_SID_CTX) - 1);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/*
 * The endpoint id that one SAN entry names, when it names one: a URI
 * "urn:ccc:endpoint:ID" ("urn" and the namespace "ccc" in any case, RFC
 * 8141), or a DNS name of a single label (a name with a dot is a host name
 * and names no endpoint). Returns 1 with *id and *idlen set, 0 when the entry
 * names no endpoint, -1 when it holds a NUL byte (why[] set).
 */
static int
tls_san_endpoint(const GENERAL_NAME *gn, const unsigned char **id,
    int *idlen, char *why, size_t whylen)
{
	static const char urn[] = "urn:ccc:endpoint:";
	const ASN1_IA5STRING *s;
	const unsigned char *p;
	int len;

	if (gn->type == GEN_URI)
		s = gn->d.uniformResourceIdentifier;
	else if (gn->type == GEN_DNS)
		s = gn->d.dNSName;
	else
		return 0;
	p = ASN1_STRING_get0_data(s);
	len = ASN1_STRING_length(s);
	if (memchr(p, '\0', (size_t)len) != NULL) {
		snprintf(why, whylen, "a subjectAltName %s entry contains a NUL "
		    "byte", gn->type == GEN_URI ? "URI" : "DNS");
		return -1;
	}
	if (gn->type == GEN_DNS) {
		if (memchr(p, '.', (size_t)len) != NULL)
			return 0;
		*id = p;
		*idlen = len;
		return 1;
	}
	if ((size_t)len < sizeof(urn) - 1 ||
	    strncasecmp((const char *)p, urn, 8) != 0 ||	/* "urn:ccc:" */
	    strncmp((const char *)p + 8, urn + 8, sizeof(urn) - 9) != 0)
		return 0;
	*id = p + sizeof(urn) - 1;
	*idlen = len - (int)(sizeof(urn) - 1);
	return 1;
}

/*
 * Refuse ambiguity: every SAN entry of cert that names an endpoint
 * (tls_san_endpoint) must name id. Returns 0, or -1 with why[] set.
 */
static int
tls_san_agrees(X509 *cert, const char *id, char *why, size_t whylen)
{
	GENERAL_NAMES *names;
	const unsigned char *p;
	int n, rc = 0, len, named, crit = -1;

	names = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
	ERR_clear_error();
	if (names == NULL && crit == -1)	/* no SAN: the CN alone */
		return 0;
	if (names == NULL) {
		snprintf(why, whylen, "its subjectAltName %s",
		    crit == -2 ? "extension is there twice" : "does not parse");
		return -1;
	}
	n = sk_GENERAL_NAME_num(names);
	for (int i = 0; i < n && rc == 0; i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);

		if ((named = tls_san_endpoint(gn, &p, &len, why, whylen)) < 0)
			rc = -1;
		else if (named > 0 && ((size_t)len != strlen(id) ||
		    memcmp(p, id, (size_t)len) != 0)) {
			const ASN1_STRING *e = gn->type == GEN_URI ?
			    gn->d.uniformResourceIdentifier : gn->d.dNSName;

			snprintf(why, whylen, "its subjectAltName %s:%.*s names "
			    "another endpoint than its CN \"%s\"",
			    gn->type == GEN_URI ? "URI" : "DNS",
			    ASN1_STRING_length(e) < 100 ? ASN1_STRING_length(e) :
			    100, (const char *)ASN1_STRING_get0_data(e), id);
			rc = -1;
		}
	}
	GENERAL_NAMES_free(names);
	return rc;
}

int
tls_peer_identity(SSL *ssl, char *id, size_t idlen, char *why, size_t whylen)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);
	X509_NAME *subj;
	const ASN1_STRING *data;
	const unsigned char *p;
	int idx, len;

	if (cert == NULL || SSL_get_verify_result(ssl) != X509_V_OK) {
		snprintf(why, whylen, "no verified client certificate");
		return -1;
	}
	/* a resumed session's certificate was verified when it was made */
	if (SSL_session_reused(ssl) &&
	    (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0 ||
	    X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0)) {
		SSL_CTX_remove_session(SSL_get_SSL_CTX(ssl),
		    SSL_get0_session(ssl));
		snprintf(why, whylen, "its certificate is no longer within its "
		    "validity period (a resumed session)");
		return -1;
	}
	/* a CA (or a v1 self-signed certificate) is no client */
	if (X509_check_ca(cert) != 0) {
		snprintf(why, whylen, "it is a CA certificate (basicConstraints "
		    "CA:TRUE or keyCertSign), not a client certificate");
		return -1;
	}
	/* OpenSSL refuses an EKU without clientAuth, but not a missing EKU */
	if ((X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) == 0 ||
	    (X509_get_extended_key_usage(cert) & XKU_SSL_CLIENT) == 0) {
		snprintf(why, whylen, "it has no extendedKeyUsage clientAuth");
		return -1;
	}
	subj = X509_get_subject_name(cert);
	if ((idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1)) < 0) {
		snprintf(why, whylen, "its subject has no CN");
		return -1;
	}
	if (X509_NAME_get_index_by_NID(subj, NID_commonName, idx) >= 0) {
		snprintf(why, whylen, "its subject has more than one CN");
		return -1;
	}
	data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx));
	p = ASN1_STRING_get0_data(data);
	len = ASN1_STRING_length(data);
	if (len > 0 && memchr(p, '\0', (size_t)len) != NULL) {
		snprintf(why, whylen, "its CN contains a NUL byte");
		return -1;
	}
	if (len < 1 || len > 63 || (size_t)len >= idlen) {
		snprintf(why, whylen, "its CN is not 1 to 63 characters");
		return -1;
	}
	for (int i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    (c == '-' && i > 0))) {
			snprintf(why, whylen, "its CN is not an endpoint id "
			    "(a-z, 0-9 and \"-\" only)");
			return -1;
		}
	}
	memcpy(id, p, (size_t)len);
	id[len] = '\0';
	if (tls_san_agrees(cert, id, why, whylen) < 0) {
		id[0] = '\0';
		return -1;
	}
	return 0;
}

int
tls_peer_issued_by(SSL *ssl, char *const *cas, size_t ncas, char *why,
    size_t whylen)
{
	STACK_OF(X509) *chain = SSL_get0_verified_chain(ssl);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	char fp[2 * EVP_MAX_MD_SIZE + 1], name[256] = "";
	int n = chain != NULL ? sk_X509_num(chain) : 0;

	/* depth 0 is the client's own certificate; the CAs follow */
	for (int i = 1; i < n; i++) {
		X509 *ca = sk_X509_value(chain, i);

		if (X509_digest(ca, EVP_sha256(), md, &mdlen) != 1)
			continue;
		for (unsigned int k = 0; k < mdlen; k++)
			snprintf(fp + 2 * k, 3, "%02x", md[k]);
		for (size_t k = 0; k < ncas; k++)
			if (strcmp(fp, cas[k]) == 0)
				return 0;
		if (i == 1)
			tls_name(X509_get_subject_name(ca), name, sizeof(name));
	}
	if (n < 2 && SSL_session_reused(ssl))
		snprintf(why, whylen, "a resumed TLS session does not show its "
		    "chain of CAs; an endpoint pinned to CAs (registry: ca) "
		    "must connect without session resumption");
	else if (n < 2)
		snprintf(why, whylen, "its chain of CAs is not known");
	else
		snprintf(why, whylen, "its issuer \"%s\" is not a CA the "
		    "endpoint is pinned to (registry: ca)", name);
	return -1;
}

void
tls_peer_details(SSL *ssl, char *subject, size_t sublen, char *fp, size_t fplen)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	subject[0] = fp[0] = '\0';
	if (cert == NULL && tls_refused_idx >= 0)
		cert = SSL_get_ex_data(ssl, tls_refused_idx);
	if (cert == NULL)
		return;
	tls_name(X509_get_subject_name(cert), subject, sublen);
	if (X509_digest(cert, EVP_sha256(), md, &mdlen) == 1)
		for (unsigned int i = 0; i < mdlen && 2 * i + 2 < fplen; i++)
			snprintf(fp + 2 * i, 3, "%02x", md[i]);
}

const char *
tls_verify_failure(SSL *ssl, char *buf, size_t len)
{
	long v = SSL_get_verify_result(ssl);

	if (v == X509_V_OK)
		return NULL;
	tls_verify_reason(v, 0, buf, len);
	return buf;
}

int
tls_reverify(SSL_CTX *ctx, SSL *ssl, char *why, size_t whylen)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);
	X509_STORE_CTX *xctx;
	char e[256];
	int rc = -1;

	if (cert == NULL) {
		snprintf(why, whylen, "no client certificate");
		return -1;
	}
	if ((xctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(xctx, SSL_CTX_get_cert_store(ctx), cert,
	    SSL_get_peer_cert_chain(ssl)) != 1) {
		snprintf(why, whylen, "the certificate cannot be checked: %s",
		    tls_errors(e, sizeof(e)));
		X509_STORE_CTX_free(xctx);
		return -1;
	}
	/* as OpenSSL verifies a client's chain in a handshake */
	X509_STORE_CTX_set_default(xctx, "ssl_client");
	X509_VERIFY_PARAM_set_auth_level(X509_STORE_CTX_get0_param(xctx),
	    SSL_CTX_get_security_level(ctx));
	X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(xctx),
	    SSL_CTX_get0_param(ctx));
	X509_STORE_CTX_set_verify_cb(xctx, tls_verify_cb);
	if (X509_verify_cert(xctx) == 1)
		rc = 0;
	else
		tls_verify_reason(X509_STORE_CTX_get_error(xctx),
		    X509_STORE_CTX_get_error_depth(xctx), why, whylen);
	X509_STORE_CTX_free(xctx);
	ERR_clear_error();
	return rc;
}

/* ---- session resumption --------------------------------------------------- */

/*
 * Resumption for ctx: with lifetime, a session cache of ctx's own holding
 * up to cache_size sessions for lifetime seconds (TLS 1.3: one ticket per
 * handshake naming a remembered session; TLS 1.2: session ids); without,
 * no cache and no tickets. Returns 0, or -1 with err set.
 *
 * Stateful, not stateless tickets: OpenSSL 3.0 encodes the client
 * certificate into a stateless ticket and decodes it again for every ticket
 * made and every one taken (each decode costing more than the rest of a
 * resumed handshake); a remembered session shares the certificate the
 * handshake verified. A ticket may be used more than once (no early data
 * is accepted, so there is nothing to replay): a client may resume several
 * connections with one session.
 */
static int
tls_resumption_setup(SSL_CTX *ctx, uint32_t lifetime, uint32_t cache_size,
    char *err, size_t errlen)
{
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if (lifetime == 0) {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_num_tickets(ctx, 0);
		return 0;
	}
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(ctx, (long)cache_size);
	SSL_CTX_set_timeout(ctx, (long)lifetime);
	SSL_CTX_set_options(ctx, SSL_OP_NO_ANTI_REPLAY);
	if (SSL_CTX_set_num_tickets(ctx, 1) != 1 ||
	    SSL_CTX_set_max_early_data(ctx, 0) != 1) {
		snprintf(err, errlen, "cannot set up session resumption");
		return -1;
	}
	return 0;
}
