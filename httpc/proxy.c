/* [entra] proxy: an HTTP proxy that opens CONNECT tunnels, named by http:// or https://, a host
 * and a port. The value may hold a password, so no message here quotes it. */
#include "httpc/httpc_internal.h"

#include <stdio.h>
#include <string.h>

struct proxy_parts {
	char *scheme, *host, *port, *path, *query, *fragment;
};

static void parts_free(struct proxy_parts *p)
{
	curl_free(p->scheme);
	curl_free(p->host);
	curl_free(p->port);
	curl_free(p->path);
	curl_free(p->query);
	curl_free(p->fragment);
}

/* The parts of URL (absent ones stay NULL); -1 when URL is not a URL libcurl knows. */
static int parts_get(const char *url, struct proxy_parts *p)
{
	CURLU *u = curl_url();
	int rc = -1;
	memset(p, 0, sizeof(*p));
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &p->scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &p->host, 0) == CURLUE_OK) {
		curl_url_get(u, CURLUPART_PORT, &p->port, 0); /* NULL unless written in URL */
		curl_url_get(u, CURLUPART_PATH, &p->path, 0);
		curl_url_get(u, CURLUPART_QUERY, &p->query, 0);
		curl_url_get(u, CURLUPART_FRAGMENT, &p->fragment, 0);
		rc = 0;
	}
	curl_url_cleanup(u);
	return rc;
}

int httpc_proxy_parse(const char *url, char *name, size_t namelen, bool *https, char *err, size_t errlen)
{
	struct proxy_parts p;
	int rc = -1;
	if (parts_get(url, &p) || (strcmp(p.scheme, "http") && strcmp(p.scheme, "https")))
		snprintf(err, errlen,
		         "[entra] proxy is not an http:// or https:// URL (an HTTP proxy that opens CONNECT tunnels, "
		         "e.g. http://proxy.example:3128)");
	else if (!p.port)
		snprintf(err, errlen, "[entra] proxy names no port: write %s://HOST:PORT", p.scheme);
	else if ((p.path && strcmp(p.path, "/")) || p.query || p.fragment)
		snprintf(err, errlen, "[entra] proxy takes no path, query or fragment: write %s://HOST:PORT", p.scheme);
	else if (snprintf(name, namelen, "%s:%s", p.host, p.port) >= (int)namelen)
		snprintf(err, errlen, "[entra] proxy host name is too long");
	else
		*https = !strcmp(p.scheme, "https"), rc = 0;
	parts_free(&p);
	return rc;
}
