/* Inside httpc/: the client's state and the helpers its files share. Other folders use httpc.h. */
#ifndef HTTPC_INTERNAL_H
#define HTTPC_INTERNAL_H

#include "httpc/httpc.h"

#include <curl/curl.h>
#include <pthread.h>

#define HTTPC_PROXY_NAME_MAX 300

struct httpc_client {
	/* Read-only after httpc_client_new: */
	char *ca_file;                         /* NULL: system anchors only */
	char *proxy;                           /* the URL libcurl gets, or NULL: no proxy at all */
	char proxy_name[HTTPC_PROXY_NAME_MAX]; /* "host:port", "" without a proxy */
	bool proxy_https;                      /* TLS to the proxy too */
	char *user_agent;
	long connect_timeout_ms;
	struct curl_slist *headers; /* sent with every request */
	CURLSH *share;              /* TLS sessions and DNS, locked through share_locks */
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	/* Guarded by pool_lock: */
	pthread_mutex_t pool_lock;
	size_t n_idle;
	CURL *idle[HTTPC_MAX_IDLE]; /* most recently used last */
};

/* An easy handle with every option that never changes between requests (easy.c). */
CURL *httpc_easy_new(const struct httpc_client *c);

/* A handle for one request, warm if one is idle (client.c); back after the request: KEEP
 * false (the transfer failed) drops it and its connections. */
CURL *httpc_handle_take(struct httpc_client *c);
void httpc_handle_give(struct httpc_client *c, CURL *h, bool keep);

/* Checks an [entra] proxy URL and writes "host:port" to NAME (proxy.c). */
int httpc_proxy_parse(const char *url, char *name, size_t namelen, bool *https, char *err, size_t errlen);

/* Whether PATH is a regular file of 1 byte to 1 MiB holding at least one PEM certificate
 * (ca_file.c). 0, or -1 with ERR. */
int httpc_ca_file_check(const char *path, char *err, size_t errlen);

/* What went wrong with a transfer, for a log line: names the host or proxy and what to check
 * (errors.c). TOO_LARGE: the write callback stopped the body. */
void httpc_error_text(const struct httpc_client *c, CURL *h, CURLcode rc, const char *curl_err, const char *host,
                      bool too_large, char *err, size_t errlen);

#endif
