/*
 * tls.c — the broker's TLS context and the identity of a verified peer.
 * Must never accept a peer without a certificate verified against the
 * configured CAs, nor take an identity from anything but that certificate.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls.h"

/* TLS 1.2 suites: ECDHE key exchange and AEAD ciphers only. */
#define TLS12_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_GROUPS	"X25519:P-256:P-384"
#define TLS_SID_CTX	"cccd"

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

SSL_CTX *
tls_server_ctx(const struct config *cfg, char *err, size_t errlen)
{
	STACK_OF(X509_NAME) *names;
	SSL_CTX *ctx;
	char why[512], groups[] = TLS_GROUPS;	/* the macro wants char * */

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		snprintf(err, errlen, "cannot create TLS context: %s",
		    tls_errors(why, sizeof(why)));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
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
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
	    NULL);
	SSL_CTX_set_verify_depth(ctx, 4);
	SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)TLS_SID_CTX,
	    sizeof(TLS_SID_CTX) - 1);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
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
	subj = X509_get_subject_name(cert);
	if ((idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1)) < 0) {
		snprintf(why, whylen, "the certificate subject has no CN");
		return -1;
	}
	if (X509_NAME_get_index_by_NID(subj, NID_commonName, idx) >= 0) {
		snprintf(why, whylen, "the certificate subject has more than one CN");
		return -1;
	}
	data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx));
	p = ASN1_STRING_get0_data(data);
	len = ASN1_STRING_length(data);
	if (len < 1 || len > 63 || (size_t)len >= idlen) {
		snprintf(why, whylen, "the certificate CN is not 1 to 63 characters");
		return -1;
	}
	for (int i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    (c == '-' && i > 0))) {
			snprintf(why, whylen, "the certificate CN is not an "
			    "endpoint id (a-z, 0-9 and \"-\" only)");
			return -1;
		}
	}
	memcpy(id, p, (size_t)len);
	id[len] = '\0';
	return 0;
}

void
tls_peer_details(SSL *ssl, char *subject, size_t sublen, char *fp, size_t fplen)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	BIO *bio;
	long n;

	subject[0] = fp[0] = '\0';
	if (cert == NULL)
		return;
	if ((bio = BIO_new(BIO_s_mem())) != NULL) {
		if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0,
		    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
		    (n = BIO_read(bio, subject, (int)sublen - 1)) > 0)
			subject[n] = '\0';
		BIO_free(bio);
	}
	if (X509_digest(cert, EVP_sha256(), md, &mdlen) == 1)
		for (unsigned int i = 0; i < mdlen && 2 * i + 2 < fplen; i++)
			snprintf(fp + 2 * i, 3, "%02x", md[i]);
}
