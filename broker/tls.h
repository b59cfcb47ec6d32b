/*
 * tls.h — the broker's TLS policy and certificate identity.
 *
 * Policy: TLS 1.2 and 1.3 only; TLS 1.2 with ECDHE and AEAD suites only; no
 * renegotiation, no compression; session resumption by stateless tickets
 * only, whose keys rotate and never outlive the context (tls.c says how the
 * identity and revocation hold on resumption); a client certificate is
 * required and verified against the configured CA bundles (several may be
 * trusted at once) for the client-authentication purpose, and, when tls.crl
 * is set, checked against the CRLs of every CA of its chain (tls.c says what
 * happens when a CRL is missing or out of date).
 * No session resumption (no tickets, no session cache): every connection
 * verifies the client certificate in full.
 * Identity: the subject Common Name of the verified client certificate, a
 * client certificate (not a CA, extendedKeyUsage clientAuth present) whose
 * subjectAltName, if any, names no other endpoint (docs/certificates.md).
 */
#ifndef CCC_TLS_H
#define CCC_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "config.h"

/*
 * A server context per cfg — certificate, key, CA bundles and CRLs read
 * from their files now — or NULL with err set (file names and OpenSSL's
 * reason). Logs a warning for each CRL out of date and each CA without one.
 */
SSL_CTX	*tls_server_ctx(const struct config *cfg, char *err, size_t errlen);
/*
 * The endpoint identity of ssl's verified peer certificate: its subject CN,
 * which must be present once, free of NUL bytes, and of the endpoint-id form
 * [a-z0-9][a-z0-9-]{0,62}. Refused as well: a CA certificate (basicConstraints
 * CA:TRUE, keyCertSign, or a v1 self-signed one), a certificate without an
 * extendedKeyUsage that lists clientAuth, and one whose subjectAltName names
 * another endpoint — a URI urn:ccc:endpoint:X or a single-label DNS name X
 * with X not the CN — or holds a NUL byte. Returns 0, or -1 with why[] set
 * (a phrase about the certificate: "it is a CA certificate ...").
 */
int	 tls_peer_identity(SSL *ssl, char *id, size_t idlen, char *why,
	    size_t whylen);
/*
 * Whether a CA certificate of ssl's verified chain (the issuer, or any CA
 * above it) has one of the ncas SHA-256 fingerprints cas (64 lower-case hex
 * digits each): the registry's pin of an endpoint to its CAs. Returns 0 when
 * one has, or -1 with why[] set (naming the issuer).
 */
int	 tls_peer_issued_by(SSL *ssl, char *const *cas, size_t ncas, char *why,
	    size_t whylen);
/*
 * The peer certificate's subject (one line, RFC 2253) and the hex SHA-256 of
 * its DER encoding, for the audit journal — after a handshake that refused
 * the certificate, those of the refused one; empty strings when there is none.
 */
void	 tls_peer_details(SSL *ssl, char *subject, size_t sublen, char *fp,
	    size_t fplen);
/*
 * Why the handshake on ssl refused the peer's certificate ("certificate
 * revoked", "certificate has expired"), in buf; NULL when it did not.
 */
const char *tls_verify_failure(SSL *ssl, char *buf, size_t len);
/*
 * Verify the certificate ssl's peer presented in its handshake again, now,
 * against ctx (its CAs, CRLs and policy), e.g. a context just reloaded.
 * Returns 0 when it still verifies, or -1 with why[] set ("certificate
 * revoked", "unable to get local issuer certificate", ...).
 */
int	 tls_reverify(SSL_CTX *ctx, SSL *ssl, char *why, size_t whylen);
/* Pop OpenSSL's error queue into buf as one line ("unknown" when empty). */
char	*tls_errors(char *buf, size_t len);

#endif
