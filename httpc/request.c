/* One request: a handle from the client's pool, the request's own options (URL, deadline,
 * body), the answer collected up to HTTPC_MAX_RESPONSE bytes, the handle back. */
#include "httpc/httpc_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOST_MAX 256

struct body {
	char *data;
	size_t len, cap, max;
	bool too_large;
};

/* Returning less than it was given makes libcurl end the transfer (CURLE_WRITE_ERROR). */
static size_t body_write(char *ptr, size_t size, size_t n, void *userp)
{
	struct body *b = userp;
	size_t add = size * n; /* size is always 1 */
	if (add > b->max - b->len) {
		b->too_large = true;
		return 0;
	}
	if (b->len + add + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + add + 1)
			cap *= 2;
		char *grown = realloc(b->data, cap);
		if (!grown)
			return 0;
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, add);
	b->len += add;
	return add;
}

/* HOST of URL when URL is https://, else -1 with ERR. libcurl refuses other schemes too
 * (CURLOPT_PROTOCOLS_STR); this check gives the clearer message. */
static int url_host(const char *url, char *host, size_t hostlen, char *err, size_t errlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *h = NULL;
	int rc = -1;
	if (!u)
		snprintf(err, errlen, "out of memory");
	else if (curl_url_set(u, CURLUPART_URL, url, 0) || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0))
		snprintf(err, errlen, "not a valid URL");
	else if (strcmp(scheme, "https"))
		snprintf(err, errlen, "only https URLs are allowed");
	else if (curl_url_get(u, CURLUPART_HOST, &h, 0))
		snprintf(err, errlen, "the URL names no host");
	else if (snprintf(host, hostlen, "%s", h) >= (int)hostlen)
		snprintf(err, errlen, "the host name is too long");
	else
		rc = 0;
	curl_free(scheme);
	curl_free(h);
	curl_url_cleanup(u);
	return rc;
}

/* libcurl calls it at least once a second: non-zero ends the transfer (a daemon stopping). */
static int cancel_check(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	return atomic_load((const atomic_bool *)userp) ? 1 : 0;
}

static CURLcode cancel_set(CURL *h, const atomic_bool *cancel)
{
	CURLcode rc = curl_easy_setopt(h, CURLOPT_NOPROGRESS, cancel ? 0L : 1L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, cancel ? cancel_check : NULL);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)cancel);
	return rc;
}

/* The request's own options; FORM NULL: a GET. HEADERS NULL: the client's. */
static CURLcode request_set(CURL *h, const char *url, const char *form, long timeout_ms, struct body *b, char *curl_err,
                            struct curl_slist *headers)
{
	CURLcode rc = curl_easy_setopt(h, CURLOPT_URL, url);
	if (rc == CURLE_OK && headers)
		rc = curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)b->max);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 1L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	if (rc == CURLE_OK && form)
		rc = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(form));
	if (rc == CURLE_OK && form)
		rc = curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
	return rc;
}

/* Nothing of a finished request (its buffers, its body, its headers) stays reachable from the handle. */
static void request_unset(const struct httpc_client *c, CURL *h)
{
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HTTPC_MAX_RESPONSE);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
}

static int body_finish(struct body *b, struct httpc_response *resp)
{
	if (!b->data && !(b->data = malloc(1)))
		return -1;
	b->data[b->len] = '\0';
	resp->body = b->data;
	resp->len = b->len;
	return 0;
}

/* The client's Accept header and `Authorization: Bearer TOKEN` (wiped when freed is not
 * possible through curl_slist: the list lives only for the request). */
static int bearer_headers(const char *token, struct curl_slist **out)
{
	char line[256];
	if (snprintf(line, sizeof(line), "Authorization: Bearer %s", token) >= (int)sizeof(line))
		return -1;
	struct curl_slist *l = curl_slist_append(NULL, "Accept: application/json");
	struct curl_slist *both = l ? curl_slist_append(l, line) : NULL;
	explicit_bzero(line, sizeof(line));
	if (!both) {
		curl_slist_free_all(l);
		return -1;
	}
	*out = both;
	return 0;
}

static int perform(const struct httpc_opts *o, const char *url, const char *form, struct httpc_response *resp,
                   char *err, size_t errlen)
{
	char host[HOST_MAX], why[512] = "", curl_err[CURL_ERROR_SIZE] = "";
	struct body b = {.max = o->max_response ? o->max_response : HTTPC_MAX_RESPONSE};
	struct curl_slist *headers = NULL;
	memset(resp, 0, sizeof(*resp));
	if (!o->client)
		return snprintf(err, errlen, "%.200s: no HTTPS client", url), -1;
	if (url_host(url, host, sizeof(host), why, sizeof(why)))
		return snprintf(err, errlen, "%.200s: %s", url, why), -1;
	if (o->bearer && bearer_headers(o->bearer, &headers) != 0)
		return snprintf(err, errlen, "%.200s: out of memory", url), -1;
	CURL *h = httpc_handle_take(o->client);
	if (!h) {
		curl_slist_free_all(headers);
		return snprintf(err, errlen, "%.200s: cannot set up a libcurl handle", url), -1;
	}
	CURLcode rc = request_set(h, url, form, o->timeout_ms, &b, curl_err, headers);
	if (rc == CURLE_OK)
		rc = cancel_set(h, o->cancel);
	if (rc == CURLE_OK)
		rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	else
		httpc_error_text(o->client, h, rc, curl_err, host, b.too_large, why, sizeof(why));
	request_unset(o->client, h);
	cancel_set(h, NULL);
	httpc_handle_give(o->client, h, rc == CURLE_OK);
	curl_slist_free_all(headers);
	if (rc == CURLE_OK && body_finish(&b, resp) == 0)
		return 0;
	free(b.data);
	memset(resp, 0, sizeof(*resp));
	return snprintf(err, errlen, "%.200s: %s", url, rc == CURLE_OK ? "out of memory" : why), -1;
}

int httpc_get(const struct httpc_opts *opts, const char *url, struct httpc_response *resp, char *err, size_t errlen)
{
	return perform(opts, url, NULL, resp, err, errlen);
}

/* RFC 3986 percent-encoding of everything but the unreserved characters. */
static char *percent_encode(char *out, const char *in)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		    *p == '.' || *p == '_' || *p == '~') {
			*out++ = (char)*p;
		} else {
			*out++ = '%';
			*out++ = hex[*p >> 4];
			*out++ = hex[*p & 15];
		}
	}
	return out;
}

static char *form_encode(const char *const *fields)
{
	size_t need = 1;
	for (size_t i = 0; fields[i] && fields[i + 1]; i += 2) {
		size_t name = strlen(fields[i]), value = strlen(fields[i + 1]);
		if (name > HTTPC_MAX_RESPONSE || value > HTTPC_MAX_RESPONSE)
			return NULL; /* far beyond any OAuth field; keeps the size arithmetic bounded */
		need += 3 * (name + value) + 2;
	}
	char *form = malloc(need), *end = form;
	for (size_t i = 0; form && fields[i] && fields[i + 1]; i += 2) {
		if (i)
			*end++ = '&';
		end = percent_encode(end, fields[i]);
		*end++ = '=';
		end = percent_encode(end, fields[i + 1]);
	}
	if (form)
		*end = '\0';
	return form;
}

int httpc_post_form(const struct httpc_opts *opts, const char *url, const char *const *fields,
                    struct httpc_response *resp, char *err, size_t errlen)
{
	char *form = form_encode(fields);
	if (!form) {
		memset(resp, 0, sizeof(*resp));
		return snprintf(err, errlen, "out of memory"), -1;
	}
	int rc = perform(opts, url, form, resp, err, errlen);
	explicit_bzero(form, strlen(form)); /* the device code */
	free(form);
	return rc;
}

void httpc_response_free(struct httpc_response *resp)
{
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}
