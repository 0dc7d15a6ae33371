/* The peer of a libmicrohttpd connection, for log lines (internal to http_*.c). */
#ifndef SYNC_HTTP_PEER_H
#define SYNC_HTTP_PEER_H

#include <microhttpd.h>
#include <stddef.h>

/* The peer's numeric address for logs, or "-". */
void http_client_address(struct MHD_Connection *con, char *out, size_t len);

#endif
