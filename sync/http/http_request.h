/* One HTTP request through libmicrohttpd's callbacks (internal to http_server.c). */
#ifndef SYNC_HTTP_REQUEST_H
#define SYNC_HTTP_REQUEST_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#include "sync/http/http_deadline.h"
#include "sync/http/http_route.h"
#include "sync/scim/scim_api.h"
#include "sync/tokens/tokens.h"

struct http_ctx {
	struct scim_service *svc;
	struct token_store *tokens;
	const struct http_route *route; /* NULL: SCIM only */
	size_t max_body;
	struct http_deadline *deadline; /* [sync] request_timeout watchdog */
	bool tls;
	bool loopback;          /* only a local reverse proxy can reach us: trust X-Forwarded-Proto */
	char fallback_host[80]; /* listen address, for base_url when Host is missing or unusable */
};

/* MHD_OPTION_URI_LOG_CALLBACK: allocates the request state (start time, URI for the log). */
void *http_request_begin(void *cls, const char *uri, struct MHD_Connection *con);
/* MHD_AccessHandlerCallback. */
enum MHD_Result http_request_handle(void *cls, struct MHD_Connection *con, const char *url, const char *method,
                                    const char *version, const char *upload_data, size_t *upload_data_size,
                                    void **req_cls);
/* MHD_OPTION_NOTIFY_COMPLETED: writes the access-log line and frees the request state. */
void http_request_completed(void *cls, struct MHD_Connection *con, void **req_cls, enum MHD_RequestTerminationCode toe);

#endif
