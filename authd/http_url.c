#include "http_url.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static bool url_chars_ok(const char *url, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)url[i];
		if (c <= 0x20 || c >= 0x7f) /* controls, CR, LF, space, DEL and non-ASCII */
			return false;
	}
	return true;
}

static bool host_name_ok(const char *host)
{
	size_t label = 0;
	if (!*host)
		return false;
	for (const char *p = host; *p; p++) {
		char c = *p;
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		           c == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

static int port_parse(const char *p, size_t len, unsigned *port)
{
	unsigned v = 0;
	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = v;
	return 0;
}

/* HOST[:PORT] or [IPV6][:PORT] of AUTH (LEN bytes) into OUT. */
static int authority_parse(const char *auth, size_t len, struct pe_url *out)
{
	const char *host = auth, *port = NULL;
	size_t host_len = len;
	if (len && auth[0] == '[') {
		const char *close = memchr(auth, ']', len);
		if (!close)
			return -1;
		host = auth + 1;
		host_len = (size_t)(close - host);
		if (close + 1 < auth + len) {
			if (close[1] != ':')
				return -1;
			port = close + 2;
		}
		out->ipv6 = true;
	} else {
		const char *colon = memchr(auth, ':', len);
		if (colon) {
			host_len = (size_t)(colon - auth);
			port = colon + 1;
		}
	}
	if (host_len == 0 || host_len > PE_URL_MAX_HOST)
		return -1;
	memcpy(out->host, host, host_len);
	out->host[host_len] = '\0';
	out->port = 443;
	if (port && port_parse(port, (size_t)(auth + len - port), &out->port))
		return -1;
	unsigned char addr[16];
	if (out->ipv6)
		return inet_pton(AF_INET6, out->host, addr) == 1 ? (out->ip_literal = true, 0) : -1;
	if (inet_pton(AF_INET, out->host, addr) == 1)
		return out->ip_literal = true, 0;
	return host_name_ok(out->host) ? 0 : -1;
}

int pe_url_parse(const char *url, struct pe_url *out, char *err, size_t errlen)
{
	static const char scheme[] = "https://";
	memset(out, 0, sizeof(*out));
	size_t len = strnlen(url, PE_URL_MAX + 1);
	if (len > PE_URL_MAX)
		return snprintf(err, errlen, "URL longer than %d bytes", PE_URL_MAX), -1;
	if (!url_chars_ok(url, len))
		return snprintf(err, errlen, "%.200s: URL has spaces or control characters", url), -1;
	if (strncasecmp(url, scheme, sizeof(scheme) - 1))
		return snprintf(err, errlen, "%.200s: only https URLs are allowed", url), -1;
	const char *auth = url + sizeof(scheme) - 1;
	size_t auth_len = strcspn(auth, "/?#");
	const char *rest = auth + auth_len;
	if (memchr(auth, '@', auth_len))
		return snprintf(err, errlen, "%.200s: user names or passwords in URLs are refused", url), -1;
	if (authority_parse(auth, auth_len, out))
		return snprintf(err, errlen, "%.200s: bad host or port", url), -1;
	if (*rest == '?')
		return snprintf(err, errlen, "%.200s: query without a path", url), -1;
	out->target = *rest == '/' ? rest : "/";
	out->target_len = *rest == '/' ? strcspn(rest, "#") : 1; /* a fragment is never sent */
	return 0;
}

void pe_url_authority(const struct pe_url *u, char *buf, size_t buflen)
{
	snprintf(buf, buflen, u->ipv6 ? "[%s]:%u" : "%s:%u", u->host, u->port);
}
