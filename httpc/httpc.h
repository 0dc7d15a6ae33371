/* The HTTPS client of entra-authd and of entra-sync doctor, on libcurl: one set of rules for
 * both, so doctor cannot pass where a sign-in fails.
 *
 * - https:// URLs only, redirects never followed, HTTP/1.1, no cookies, no compression.
 * - TLS 1.2 or newer, certificate and host name always verified. Trust: the system's hashed
 *   certificate directory (HTTPC_SYSTEM_CA_DIR) plus [entra] ca_file, which adds to it.
 *   SSL_CERT_FILE, SSL_CERT_DIR and CURL_CA_BUNDLE add nothing: both sources are set explicitly.
 * - [entra] proxy (http:// or https://, host and port, credentials allowed) carries every
 *   request through an HTTP CONNECT tunnel, TLS end to end. Without it the connection is direct:
 *   https_proxy, HTTPS_PROXY, all_proxy and no_proxy in the environment are never read.
 * - At most HTTPC_MAX_RESPONSE bytes of body; one deadline per request (connect included).
 *
 * Threads: one struct httpc_client per process, shared by its threads. Connections are
 * reused across requests, sign-ins and threads through a pool of idle libcurl easy handles
 * (each keeps its own connections; a handle serves one request at a time); TLS sessions and
 * DNS answers are shared by all handles through a CURLSH guarded by mutexes. A CURLSH
 * connection cache is not used: libcurl documents it as unsafe between concurrent threads. */
#ifndef HTTPC_HTTPC_H
#define HTTPC_HTTPC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define HTTPC_MAX_RESPONSE       (1024 * 1024)
#define HTTPC_SYSTEM_CA_DIR      "/etc/ssl/certs" /* update-ca-certificates' hashed directory */
#define HTTPC_MAX_IDLE           8                /* idle handles (with their connections) kept */
#define HTTPC_MAX_IDLE_S         60               /* a connection idle longer is not reused */
#define HTTPC_CONNECT_TIMEOUT_MS 10000

/* libcurl's global set-up: once per process, before any thread starts. 0, or -1 with ERR. */
int httpc_global_init(char *err, size_t errlen);
/* At exit, once no client is left. */
void httpc_global_cleanup(void);

struct httpc_settings {
	const char *ca_file;     /* [entra] ca_file: PEM anchors added to the system's, or NULL */
	const char *proxy;       /* [entra] proxy URL, or NULL: direct connections */
	long connect_timeout_ms; /* 0: HTTPC_CONNECT_TIMEOUT_MS; a request's deadline bounds it too */
	const char *user_agent;  /* NULL: "entra-login" */
};

struct httpc_client;

/* A client with SETTINGS (copied): NULL with the reason in ERR when ca_file holds no PEM
 * certificate or proxy is not http(s)://[user[:password]@]host:port[/]. */
struct httpc_client *httpc_client_new(const struct httpc_settings *settings, char *err, size_t errlen);
/* No request may be running. */
void httpc_client_free(struct httpc_client *client);
/* The proxy as "host:port" (never its credentials), or NULL without one. */
const char *httpc_client_proxy(const struct httpc_client *client);

struct httpc_opts {
	struct httpc_client *client;
	long timeout_ms;           /* the whole request, connect included */
	const char *bearer;        /* NULL, or a token sent as `Authorization: Bearer` (the follower feed) */
	size_t max_response;       /* 0: HTTPC_MAX_RESPONSE */
	const atomic_bool *cancel; /* NULL, or set by another thread to end the request within ~1 s */
};

struct httpc_response {
	long status;
	char *body; /* NUL-terminated */
	size_t len;
};

/* 0 with RESP filled (any HTTP status), or -1 with the reason in ERR (the URL, then what failed:
 * a certificate problem names its host and what to check, a proxy problem names the proxy). */
int httpc_get(const struct httpc_opts *opts, const char *url, struct httpc_response *resp, char *err, size_t errlen);
/* POSTs application/x-www-form-urlencoded FIELDS: NULL-terminated name, value, name, value... */
int httpc_post_form(const struct httpc_opts *opts, const char *url, const char *const *fields,
                    struct httpc_response *resp, char *err, size_t errlen);
void httpc_response_free(struct httpc_response *resp);

#endif
