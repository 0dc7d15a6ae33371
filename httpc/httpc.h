/* The HTTPS client of entra-authd and of entra-sync doctor, on libcurl: one set of rules for
 * both, so doctor cannot pass where a sign-in fails.
 *
 * - https:// URLs only, redirects never followed, HTTP/1.1, no cookies, no compression.
 * - TLS 1.2 or newer, certificate and host name always verified. Trust: the system's hashed
 *   certificate directory (PE_HTTP_SYSTEM_CA_DIR) plus [entra] ca_file, which adds to it.
 *   SSL_CERT_FILE, SSL_CERT_DIR and CURL_CA_BUNDLE add nothing: both sources are set explicitly.
 * - [entra] proxy (http:// or https://, host and port, credentials allowed) carries every
 *   request through an HTTP CONNECT tunnel, TLS end to end. Without it the connection is direct:
 *   https_proxy, HTTPS_PROXY, all_proxy and no_proxy in the environment are never read.
 * - At most PE_HTTP_MAX_RESPONSE bytes of body; one deadline per request (connect included).
 *
 * Threads: one struct pe_http_client per process, shared by its threads. Connections are
 * reused across requests, sign-ins and threads through a pool of idle libcurl easy handles
 * (each keeps its own connections; a handle serves one request at a time); TLS sessions and
 * DNS answers are shared by all handles through a CURLSH guarded by mutexes. A CURLSH
 * connection cache is not used: libcurl documents it as unsafe between concurrent threads. */
#ifndef PE_HTTPC_H
#define PE_HTTPC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define PE_HTTP_MAX_RESPONSE       (1024 * 1024)
#define PE_HTTP_SYSTEM_CA_DIR      "/etc/ssl/certs" /* update-ca-certificates' hashed directory */
#define PE_HTTP_MAX_IDLE           8                /* idle handles (with their connections) kept */
#define PE_HTTP_MAX_IDLE_S         60               /* a connection idle longer is not reused */
#define PE_HTTP_CONNECT_TIMEOUT_MS 10000

/* libcurl's global set-up: once per process, before any thread starts. 0, or -1 with ERR. */
int pe_http_global_init(char *err, size_t errlen);
/* At exit, once no client is left. */
void pe_http_global_cleanup(void);

struct pe_http_settings {
	const char *ca_file;     /* [entra] ca_file: PEM anchors added to the system's, or NULL */
	const char *proxy;       /* [entra] proxy URL, or NULL: direct connections */
	long connect_timeout_ms; /* 0: PE_HTTP_CONNECT_TIMEOUT_MS; a request's deadline bounds it too */
	const char *user_agent;  /* NULL: "entra-login" */
};

struct pe_http_client;

/* A client with SETTINGS (copied): NULL with the reason in ERR when ca_file holds no PEM
 * certificate or proxy is not http(s)://[user[:password]@]host:port[/]. */
struct pe_http_client *pe_http_client_new(const struct pe_http_settings *settings, char *err, size_t errlen);
/* No request may be running. */
void pe_http_client_free(struct pe_http_client *client);
/* The proxy as "host:port" (never its credentials), or NULL without one. */
const char *pe_http_client_proxy(const struct pe_http_client *client);

struct pe_http_opts {
	struct pe_http_client *client;
	long timeout_ms;           /* the whole request, connect included */
	const char *bearer;        /* NULL, or a token sent as `Authorization: Bearer` (the follower feed) */
	size_t max_response;       /* 0: PE_HTTP_MAX_RESPONSE */
	const atomic_bool *cancel; /* NULL, or set by another thread to end the request within ~1 s */
};

struct pe_http_response {
	long status;
	char *body; /* NUL-terminated */
	size_t len;
};

/* 0 with RESP filled (any HTTP status), or -1 with the reason in ERR (the URL, then what failed:
 * a certificate problem names its host and what to check, a proxy problem names the proxy). */
int pe_http_get(const struct pe_http_opts *opts, const char *url, struct pe_http_response *resp, char *err,
                size_t errlen);
/* POSTs application/x-www-form-urlencoded FIELDS: NULL-terminated name, value, name, value... */
int pe_http_post_form(const struct pe_http_opts *opts, const char *url, const char *const *fields,
                      struct pe_http_response *resp, char *err, size_t errlen);
void pe_http_response_free(struct pe_http_response *resp);

#endif
