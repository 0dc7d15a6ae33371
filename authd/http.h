/* HTTPS requests: a small HTTP/1.1 client on libssl (loaded on first use). TLS always verified,
 * https only, redirects never followed, bounded time and response size. The requests of one
 * sign-in share one TLS context, one keep-alive connection and the ca_file through a struct
 * pe_http_share; a long-lived process shares them across sign-ins and threads through a
 * struct pe_http_pool (http_pool.h). */
#ifndef PE_HTTP_H
#define PE_HTTP_H

#include <stddef.h>

#define PE_HTTP_MAX_RESPONSE (1024 * 1024)
#define PE_HTTP_MAX_CA_FILE  (1024 * 1024)

/* State shared by the requests of one PAM call, never across calls. Zero-initialise it;
 * everything in it is created on first use; pe_http_share_release frees it. With POOL set the
 * pool's TLS context and idle connections are used instead (the other fields stay NULL). */
struct pe_tls_client;
struct pe_tls_conn;
struct pe_http_pool;
struct pe_http_share {
	struct pe_tls_client *tls; /* TLS context (trust loaded once) and the last TLS session */
	struct pe_tls_conn *conn;  /* the open keep-alive connection, or NULL */
	char *ca_pem;              /* contents of ca_file, read once */
	size_t ca_pem_len;
	struct pe_http_pool *pool; /* NULL, or the process's pool (not freed by pe_http_share_release) */
};

struct pe_http_opts {
	const char *ca_file;         /* extra trust anchor added to the system's, or NULL (unused with a pool) */
	long timeout_ms;             /* whole request, connect included */
	struct pe_http_share *share; /* NULL: the request shares nothing */
};

struct pe_http_response {
	long status;
	char *body; /* NUL-terminated */
	size_t len;
};

int pe_http_get(const struct pe_http_opts *opts, const char *url, struct pe_http_response *resp, char *err,
                size_t errlen);
/* POSTs application/x-www-form-urlencoded FIELDS: NULL-terminated name, value, name, value... */
int pe_http_post_form(const struct pe_http_opts *opts, const char *url, const char *const *fields,
                      struct pe_http_response *resp, char *err, size_t errlen);
void pe_http_response_free(struct pe_http_response *resp);
/* Closes the shared connections and frees SHARE's contents (SHARE itself is the caller's). */
void pe_http_share_release(struct pe_http_share *share);
/* The contents of [entra] ca_file PATH (a regular file of 1 to PE_HTTP_MAX_CA_FILE bytes),
 * NUL-terminated, its length in *LEN; NULL with the reason in ERR. */
char *pe_http_ca_file_read(const char *path, size_t *len, char *err, size_t errlen);

#endif
