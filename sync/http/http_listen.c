/* Listen address parsing and the plain-HTTP-only-on-loopback policy. */
#include "sync/http/http_listen.h"
#include "common/errmsg.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}

static int parse_port(const char *s, uint16_t *port)
{
	char *end = NULL;
	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 5)
		return -1;
	long v = strtol(s, &end, 10);
	if (v < 1 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* Splits LISTEN into HOST (brackets removed) and PORT text. */
static int split_host_port(const char *listen, char *host, size_t hostlen, const char **port, bool *bracketed,
                           char *err, size_t errlen)
{
	const char *colon;
	*bracketed = listen[0] == '[';
	if (*bracketed) {
		const char *close = strchr(listen, ']');
		if (!close || close[1] != ':')
			return entra_errf(err, errlen,
			                  "listen = %s: write IPv6 addresses as [ADDRESS]:PORT, e.g. [::1]:9443",
			                  listen);
		if ((size_t)(close - listen - 1) >= hostlen)
			return entra_errf(err, errlen, "listen = %s: address too long", listen);
		memcpy(host, listen + 1, (size_t)(close - listen - 1));
		host[close - listen - 1] = '\0';
		*port = close + 2;
		return 0;
	}
	colon = strrchr(listen, ':');
	if (!colon || colon == listen)
		return entra_errf(err, errlen, "listen = %s: expected HOST:PORT, e.g. 127.0.0.1:9443", listen);
	if (memchr(listen, ':', (size_t)(colon - listen)))
		return entra_errf(err, errlen, "listen = %s: write IPv6 addresses in brackets, e.g. [::1]:9443",
		                  listen);
	if ((size_t)(colon - listen) >= hostlen)
		return entra_errf(err, errlen, "listen = %s: host name too long", listen);
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	*port = colon + 1;
	return 0;
}

static int resolve(const char *listen, const char *host, bool bracketed, struct http_listen *out, char *err,
                   size_t errlen)
{
	struct addrinfo hints = {0}, *res = NULL;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = bracketed ? AF_INET6 : AF_UNSPEC;
	hints.ai_flags = bracketed ? AI_NUMERICHOST : 0;
	/* "localhost" always means IPv4 loopback here, whatever /etc/hosts says. */
	int rc = getaddrinfo(strcmp(host, "localhost") == 0 ? "127.0.0.1" : host, NULL, &hints, &res);
	if (rc != 0 || !res)
		return entra_errf(err, errlen, "listen = %s: cannot resolve %s: %s", listen, host, gai_strerror(rc));
	memcpy(&out->addr, res->ai_addr, res->ai_addrlen);
	out->addr_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int http_listen_parse(const char *listen, struct http_listen *out, char *err, size_t errlen)
{
	char host[256];
	const char *port_text = NULL;
	bool bracketed = false;
	memset(out, 0, sizeof(*out));
	if (!listen || !*listen)
		return entra_errf(err, errlen, "[sync] listen is empty: set it to HOST:PORT, e.g. 127.0.0.1:9443");
	if (split_host_port(listen, host, sizeof(host), &port_text, &bracketed, err, errlen) != 0)
		return -1;
	if (parse_port(port_text, &out->port) != 0)
		return entra_errf(err, errlen, "listen = %s: the port must be a number from 1 to 65535", listen);
	if (resolve(listen, host, bracketed, out, err, errlen) != 0)
		return -1;
	struct sockaddr *sa = (struct sockaddr *)&out->addr;
	char numeric[INET6_ADDRSTRLEN] = "";
	out->ipv6 = sa->sa_family == AF_INET6;
	if (out->ipv6) {
		((struct sockaddr_in6 *)sa)->sin6_port = htons(out->port);
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, numeric, sizeof(numeric));
		snprintf(out->text, sizeof(out->text), "[%s]:%u", numeric, out->port);
	} else {
		((struct sockaddr_in *)sa)->sin_port = htons(out->port);
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, numeric, sizeof(numeric));
		snprintf(out->text, sizeof(out->text), "%s:%u", numeric, out->port);
	}
	out->loopback = is_loopback(sa);
	return 0;
}

int http_listen_plan(const struct entra_config *cfg, struct http_listen *out, char *err, size_t errlen)
{
	bool cert = cfg->tls_cert && *cfg->tls_cert, key = cfg->tls_key && *cfg->tls_key;
	if (http_listen_parse(cfg->listen, out, err, errlen) != 0)
		return -1;
	if (cert != key)
		return entra_errf(err, errlen, "[sync] sets %s but not %s: set both (PEM files) for HTTPS, or neither",
		                  cert ? "tls_cert" : "tls_key", cert ? "tls_key" : "tls_cert");
	out->tls = cert && key;
	if (!out->tls && !out->loopback)
		return entra_errf(
		    err, errlen,
		    "listen = %s is not a loopback address and [sync] has no tls_cert/tls_key: refusing to "
		    "accept bearer tokens over plain HTTP; set tls_cert and tls_key, or listen on 127.0.0.1 "
		    "behind a TLS reverse proxy",
		    cfg->listen);
	return 0;
}
