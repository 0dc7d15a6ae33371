/* The certificate and key entra-syncd serves over TLS, replaceable while it runs (SIGHUP), so
 * a renewed certificate is served without a restart.
 *
 * Every TLS handshake gets its own copy of the pair in use (GnuTLS frees it with the session),
 * so a reload never pulls a certificate from under a live connection; connections opened after
 * the reload get the new pair. A new pair replaces the old one only when both files read, parse
 * and match (GnuTLS checks the key against the certificate) and the certificate is valid now;
 * otherwise the pair in use stays and the caller gets the reason.
 *
 * One pair per process: GnuTLS's certificate callback carries no user pointer, and entra-syncd
 * has one listener. */
#ifndef SYNC_HTTP_TLS_H
#define SYNC_HTTP_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <gnutls/abstract.h>

/* Reads CERT_PATH (PEM, the server certificate first, then its chain) and KEY_PATH (PEM) and
 * serves them from now on. AT_START accepts a certificate outside its validity period (with a
 * warning in WARN, "" otherwise): a daemon that does not start helps nobody; a reload refuses
 * it and keeps the pair in use. 0 ok, -1 with the reason in ERR and nothing changed. */
int http_tls_load(const char *cert_path, const char *key_path, bool at_start, char *err, size_t errlen, char *warn,
                  size_t warnlen);

/* The certificate in use, for logs: "CN=scim.example.com, valid until 2027-01-31 12:00 UTC". */
void http_tls_describe(char *out, size_t outlen);

/* Forgets the pair (after the listener stopped). */
void http_tls_clear(void);

/* For MHD_OPTION_HTTPS_CERT_CALLBACK2: hands GnuTLS a copy of the pair in use. */
int http_tls_retrieve(gnutls_session_t session, const struct gnutls_cert_retr_st *info, gnutls_pcert_st **certs,
                      unsigned int *certs_length, gnutls_ocsp_data_st **ocsp, unsigned int *ocsp_length,
                      gnutls_privkey_t *privkey, unsigned int *flags);

#endif
