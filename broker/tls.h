/*
 * tls.h — the broker's TLS policy and certificate identity.
 *
 * Policy: TLS 1.2 and 1.3 only; TLS 1.2 with ECDHE and AEAD suites only; no
 * renegotiation, no compression, no session tickets; a client certificate is
 * required and verified against the configured CA bundles (several may be
 * trusted at once) for the client-authentication purpose.
 * Identity: the subject Common Name of the verified client certificate.
 */
#ifndef CCC_TLS_H
#define CCC_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "config.h"

/* A server context per cfg, or NULL with err set (file names and OpenSSL's reason). */
SSL_CTX	*tls_server_ctx(const struct config *cfg, char *err, size_t errlen);
/*
 * The endpoint identity of ssl's verified peer certificate: its subject CN,
 * which must be present once, free of NUL bytes, and of the endpoint-id form
 * [a-z0-9][a-z0-9-]{0,62}. Returns 0, or -1 with why[] set.
 */
int	 tls_peer_identity(SSL *ssl, char *id, size_t idlen, char *why,
	    size_t whylen);
/*
 * The peer certificate's subject (one line, RFC 2253) and the hex SHA-256 of
 * its DER encoding, for the audit journal; empty strings when there is none.
 */
void	 tls_peer_details(SSL *ssl, char *subject, size_t sublen, char *fp,
	    size_t fplen);
/* Pop OpenSSL's error queue into buf as one line ("unknown" when empty). */
char	*tls_errors(char *buf, size_t len);

#endif
