/* The SCIM HTTP(S) endpoint: libmicrohttpd in front of scim_service_handle. Serves
 * /scim/v2/..., checks the bearer token before reading any body, caps bodies at max_body
 * (413), and writes one access-log line per request (never the Authorization header).
 * Connections without a valid token yet get a short deadline and at most half of the slots
 * (http_deadline.h), so slow strangers cannot keep Entra out. */
#ifndef SYNC_HTTP_SERVER_H
#define SYNC_HTTP_SERVER_H

#include <stddef.h>

#include "common/config.h"
#include "sync/http/http_listen.h"
#include "sync/http/http_route.h"
#include "sync/scim/scim_api.h"
#include "sync/tokens/tokens.h"

#define HTTP_SCIM_PREFIX "/scim/v2"

struct http_server_opts {
	const struct http_listen *listen; /* from http_listen_plan */
	const char *tls_cert;             /* PEM file paths when listen->tls */
	const char *tls_key;
	size_t max_body;
	int max_connections;
	int connection_timeout;         /* seconds */
	int request_timeout;            /* seconds for a whole request; then 408 and closed */
	struct scim_service *svc;       /* not owned; must outlive the server */
	struct token_store *tokens;     /* not owned; must outlive the server */
	const struct http_route *route; /* optional second route (the feed); must outlive the server */
};

struct http_server;

/* Binds and starts serving. NULL with the reason in ERR (port in use, bad TLS files, ...). */
struct http_server *http_server_start(const struct http_server_opts *opts, char *err, size_t errlen);
/* SIGHUP: reads TLS_CERT and TLS_KEY again (the same paths or new ones) and serves them to
 * every connection opened from now on. A pair that cannot be read, does not match or is not
 * valid now is not used: the certificate in use stays and the reason is logged. Nothing to do
 * on a plain HTTP listener. 0 reloaded (or plain HTTP), -1 kept the old pair. */
int http_server_reload_tls(struct http_server *srv, const char *tls_cert, const char *tls_key);
/* Stops accepting, lets requests in progress finish, closes every connection. */
void http_server_stop(struct http_server *srv);

#endif
