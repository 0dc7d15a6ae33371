/* The [sync] listen address: parsing, the loopback test and the TLS policy, all before any
 * socket is bound so a bad configuration is refused with nothing exposed. */
#ifndef SYNC_HTTP_LISTEN_H
#define SYNC_HTTP_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/config.h"

struct http_listen {
	struct sockaddr_storage addr;
	socklen_t addr_len;
	bool ipv6;
	bool loopback; /* 127.0.0.0/8, ::1 (or ::ffff:127.x.y.z) */
	bool tls;      /* tls_cert and tls_key are set */
	uint16_t port;
	char text[80]; /* "127.0.0.1:9443" or "[::1]:9443", for logs and as the fallback Host */
};

/* Parses LISTEN: "IPV4:PORT", "[IPV6]:PORT", "localhost:PORT" or "HOSTNAME:PORT" (first
 * address it resolves to). 0 ok, -1 with the reason in ERR. */
int http_listen_parse(const char *listen, struct http_listen *out, char *err, size_t errlen);
/* Parses cfg->listen and applies the policy: plain HTTP only on loopback; tls_cert and
 * tls_key together or not at all. 0 ok, -1 with a message that says what to change. */
int http_listen_plan(const struct entra_config *cfg, struct http_listen *out, char *err, size_t errlen);

#endif
