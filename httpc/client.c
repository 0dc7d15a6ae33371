/* The client's life cycle: libcurl's global set-up, the CURLSH of TLS sessions and DNS answers,
 * and the pool of idle easy handles that keeps connections warm between requests. */
#include "httpc/httpc_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int httpc_global_init(char *err, size_t errlen)
{
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK)
		return snprintf(err, errlen, "libcurl initialisation failed: %s", curl_easy_strerror(rc)), -1;
	return 0;
}

void httpc_global_cleanup(void)
{
	curl_global_cleanup();
}

/* One mutex per kind of shared data, as curl_share_setopt(3) asks. */
static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *userp)
{
	struct httpc_client *c = userp;
	pthread_mutex_lock(&c->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *userp)
{
	struct httpc_client *c = userp;
	pthread_mutex_unlock(&c->share_locks[data]);
}

static int share_new(struct httpc_client *c)
{
	if (!(c->share = curl_share_init()))
		return -1;
	CURLSHcode rc = curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
	if (rc == CURLSHE_OK)
		rc = curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	if (rc == CURLSHE_OK)
		rc = curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
	if (rc == CURLSHE_OK)
		rc = curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	if (rc == CURLSHE_OK)
		rc = curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	return rc == CURLSHE_OK ? 0 : -1;
}

static struct httpc_client *client_alloc(void)
{
	struct httpc_client *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
		c->share_locks[i] = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	c->pool_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	return c;
}

/* The settings that need checking (ca_file, proxy); copies them into C. */
static int settings_take(struct httpc_client *c, const struct httpc_settings *s, char *err, size_t errlen)
{
	if (s->ca_file && httpc_ca_file_check(s->ca_file, err, errlen))
		return -1;
	if (s->proxy && httpc_proxy_parse(s->proxy, c->proxy_name, sizeof(c->proxy_name), &c->proxy_https, err, errlen))
		return -1;
	c->connect_timeout_ms = s->connect_timeout_ms > 0 ? s->connect_timeout_ms : HTTPC_CONNECT_TIMEOUT_MS;
	c->ca_file = s->ca_file ? strdup(s->ca_file) : NULL;
	c->proxy = s->proxy ? strdup(s->proxy) : NULL;
	c->user_agent = strdup(s->user_agent ? s->user_agent : "entra-login");
	c->headers = curl_slist_append(NULL, "Accept: application/json");
	if ((s->ca_file && !c->ca_file) || (s->proxy && !c->proxy) || !c->user_agent || !c->headers)
		return snprintf(err, errlen, "out of memory"), -1;
	return 0;
}

struct httpc_client *httpc_client_new(const struct httpc_settings *settings, char *err, size_t errlen)
{
	struct httpc_client *c = client_alloc();
	if (!c)
		return snprintf(err, errlen, "out of memory"), NULL;
	if (settings_take(c, settings, err, errlen)) {
		httpc_client_free(c);
		return NULL;
	}
	if (share_new(c)) {
		snprintf(err, errlen, "cannot set up libcurl's shared TLS session and DNS cache");
		httpc_client_free(c);
		return NULL;
	}
	return c;
}

void httpc_client_free(struct httpc_client *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_idle; i++)
		curl_easy_cleanup(c->idle[i]); /* before the share: it is in use while they exist */
	if (c->share)
		curl_share_cleanup(c->share);
	curl_slist_free_all(c->headers);
	if (c->proxy)
		explicit_bzero(c->proxy, strlen(c->proxy)); /* may hold the proxy's password */
	free(c->proxy);
	free(c->ca_file);
	free(c->user_agent);
	for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&c->share_locks[i]);
	pthread_mutex_destroy(&c->pool_lock);
	free(c);
}

const char *httpc_client_proxy(const struct httpc_client *c)
{
	return c->proxy ? c->proxy_name : NULL;
}

/* The most recently used idle handle: the likeliest to hold a connection the server has not
 * closed yet. */
CURL *httpc_handle_take(struct httpc_client *c)
{
	CURL *h = NULL;
	pthread_mutex_lock(&c->pool_lock);
	if (c->n_idle)
		h = c->idle[--c->n_idle];
	pthread_mutex_unlock(&c->pool_lock);
	return h ? h : httpc_easy_new(c);
}

void httpc_handle_give(struct httpc_client *c, CURL *h, bool keep)
{
	pthread_mutex_lock(&c->pool_lock);
	if (keep && c->n_idle < HTTPC_MAX_IDLE) {
		c->idle[c->n_idle++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->pool_lock);
	if (h)
		curl_easy_cleanup(h); /* outside the lock: closing its connections may take a while */
}
