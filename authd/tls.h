/* TLS client connections on libssl (loaded on first use): TLS 1.2 or newer, the peer's
 * certificate verified against the system's hashed certificate directory plus [entra] ca_file,
 * its name or IP address checked, every step bounded by a deadline, no SIGPIPE. */
#ifndef PE_TLS_H
#define PE_TLS_H

#include "http_url.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* An SSL_CTX and the last TLS session: one PAM call's, or a long-lived process's shared by its
 * threads (connections may be opened and closed by several threads at once). */
struct pe_tls_client;
struct pe_tls_conn; /* one open TLS connection */

/* CA_PEM (CA_LEN bytes from CA_FILE, or CA_LEN 0) is added to the system's anchors. */
struct pe_tls_client *pe_tls_client_new(const char *ca_pem, size_t ca_len, const char *ca_file, char *err,
                                        size_t errlen);
void pe_tls_client_free(struct pe_tls_client *c);

/* Connects to U and completes a verified handshake by DEADLINE_MS (CLOCK_MONOTONIC ms). */
struct pe_tls_conn *pe_tls_connect(struct pe_tls_client *c, const struct pe_url *u, long long deadline_ms, char *err,
                                   size_t errlen);
/* Closes CONN, keeping its session in C for a quicker handshake on the next connection. */
void pe_tls_close(struct pe_tls_client *c, struct pe_tls_conn *conn);
/* "host:port" CONN goes to. */
const char *pe_tls_authority(const struct pe_tls_conn *conn);
/* False when the peer closed an idle CONN or sent it anything but TLS session tickets: do not
 * reuse it. */
bool pe_tls_idle_usable(struct pe_tls_conn *conn);

#define PE_TLS_CLOSED (-2) /* the peer closed or reset the connection */
/* 0 all written, PE_TLS_CLOSED, or -1 (timeout, TLS error) with the reason in ERR. */
int pe_tls_write(struct pe_tls_conn *conn, const char *buf, size_t len, long long deadline_ms, char *err,
                 size_t errlen);
/* Bytes read (> 0), PE_TLS_CLOSED, or -1 with the reason in ERR. */
ssize_t pe_tls_read(struct pe_tls_conn *conn, char *buf, size_t cap, long long deadline_ms, char *err, size_t errlen);

#endif
