/* https URLs as pam_entra requests them: https://host[:port][/path][?query]. */
#ifndef PE_HTTP_URL_H
#define PE_HTTP_URL_H

#include <stdbool.h>
#include <stddef.h>

#define PE_URL_MAX_HOST 253
#define PE_URL_MAX      8192

struct pe_url {
	char host[PE_URL_MAX_HOST + 1]; /* IPv6 literals without their brackets */
	bool ip_literal;                /* verified against an IP SAN, sent without SNI */
	bool ipv6;
	unsigned port;
	const char *target; /* request target (path and query) inside the parsed URL string; "/" when empty */
	size_t target_len;
};

/* Parses URL into OUT (OUT->target points into URL). Refuses anything but https, userinfo,
 * spaces and control characters, bad ports and hosts. -1 with the reason in ERR. */
int pe_url_parse(const char *url, struct pe_url *out, char *err, size_t errlen);

/* "host:port", with brackets around IPv6 literals, for messages and the Host header. */
void pe_url_authority(const struct pe_url *u, char *buf, size_t buflen);

#endif
