/* One more route beside /scim/v2 on the same listener, served by a higher layer (the follower
 * feed, sync/feed) through these callbacks so that sync/http never includes it. The HTTP layer
 * checks the bearer token's scope first: no or an unknown token 401, a token of another scope
 * 403. Only GET and HEAD reach the route (others get 405). The route may suspend the connection
 * (MHD_suspend_connection) and resume it later from any thread: HANDLE is then called again with
 * the same *STATE. */
#ifndef SYNC_HTTP_ROUTE_H
#define SYNC_HTTP_ROUTE_H

#include <microhttpd.h>

#include "sync/tokens/tokens.h"

/* Queues a response (setting *STATUS) or suspends CON and leaves *STATUS 0. */
typedef enum MHD_Result (*http_route_handle_fn)(void *arg, struct MHD_Connection *con, const char *url, void **state,
                                                int *status);
/* The request ended (answered or its connection closed): frees *STATE. */
typedef void (*http_route_done_fn)(void *arg, void *state);

struct http_route {
	const char *prefix;     /* e.g. "/feed/v1/" */
	enum token_scope scope; /* the only scope allowed */
	http_route_handle_fn handle;
	http_route_done_fn done;
	void *arg;
};

#endif
