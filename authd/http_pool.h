/* One TLS context and the idle keep-alive connections of a long-lived process (entra-authd),
 * shared by its threads: the TLS context is created once at start-up, and a connection to Entra
 * that one sign-in used serves the next sign-in's requests. Thread-safe.
 *
 * Use: pool = pe_http_pool_new(cfg.ca_file, err, sizeof(err)) once; per sign-in, a
 * struct pe_http_share share = {.pool = pool}, requests with opts.share = &share, then
 * pe_http_share_release(&share); pe_http_pool_free(pool) once every request has returned. */
#ifndef PE_HTTP_POOL_H
#define PE_HTTP_POOL_H

#include <stddef.h>

#define PE_HTTP_POOL_MAX_IDLE    8     /* idle connections kept, any server; the oldest goes first */
#define PE_HTTP_POOL_MAX_IDLE_MS 60000 /* idle longer: closed instead of reused (servers drop them) */

struct pe_tls_client;
struct pe_tls_conn;
struct pe_http_pool;

/* Loads libssl, reads CA_FILE (extra trust anchor, or NULL) and creates the TLS context now;
 * NULL with the reason in ERR. */
struct pe_http_pool *pe_http_pool_new(const char *ca_file, char *err, size_t errlen);
/* Closes the idle connections and frees the TLS context; no request may be running. */
void pe_http_pool_free(struct pe_http_pool *pool);
/* Keeps at most MAX_IDLE connections, each idle at most MAX_IDLE_MS (tests shorten these). */
void pe_http_pool_set_limits(struct pe_http_pool *pool, size_t max_idle, long long max_idle_ms);

/* For http.c. The shared TLS client (owned by the pool). */
struct pe_tls_client *pe_http_pool_tls(struct pe_http_pool *pool);
/* The most recently used idle connection to AUTHORITY ("host:port"), now the caller's, or NULL. */
struct pe_tls_conn *pe_http_pool_take(struct pe_http_pool *pool, const char *authority);
/* Gives CONN (able to carry another request) back to POOL. */
void pe_http_pool_put(struct pe_http_pool *pool, struct pe_tls_conn *conn);

#endif
