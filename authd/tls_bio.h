/* A socket BIO for libssl that never raises SIGPIPE: send(MSG_NOSIGNAL) and recv() on a
 * non-blocking socket. OpenSSL's socket BIO uses write(), whose SIGPIPE would kill sshd's or
 * sudo's process on a reset peer, and the module must not change signal dispositions. */
#ifndef PE_TLS_BIO_H
#define PE_TLS_BIO_H

#include "ssl_lib.h"

/* The method, owned by the caller (one per TLS client: no process-wide state), or NULL. */
BIO_METHOD *pe_tls_bio_method_new(const struct pe_ssl_lib *lib);
void pe_tls_bio_method_free(const struct pe_ssl_lib *lib, BIO_METHOD *method);
/* A BIO of METHOD on socket FD (not closed by the BIO), or NULL. */
BIO *pe_tls_socket_bio(const struct pe_ssl_lib *lib, BIO_METHOD *method, int fd);

#endif
