#include "http.h"

#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT; /* written once under curl_once */

/* curl_global_init is thread-safe since 7.84; pthread_once keeps it to one call anyway. It is
 * never paired with curl_global_cleanup: the host program may use libcurl too. */
static void curl_init_once(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct body_buffer {
	char *data;
	size_t len;
	int too_large;
};

static size_t body_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct body_buffer *b = userdata;
	size_t n = size * nmemb;
	if (n > PE_HTTP_MAX_RESPONSE - b->len) {
		b->too_large = 1;
		return 0; /* aborts the transfer */
	}
	char *grown = realloc(b->data, b->len + n + 1);
	if (!grown)
		return 0;
	memcpy(grown + b->len, ptr, n);
	b->data = grown;
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* Adds every certificate of the ca_file to the store libcurl filled from the system bundle,
 * so ca_file is an additional anchor rather than a replacement. */
static CURLcode ssl_ctx_add_ca(CURL *curl, void *sslctx, void *userdata)
{
	const char *ca_file = userdata;
	X509_STORE *store = SSL_CTX_get_cert_store(sslctx);
	BIO *bio = BIO_new_file(ca_file, "r");
	int added = 0;
	X509 *cert;
	if (!bio)
		return CURLE_SSL_CACERT_BADFILE;
	while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		if (X509_STORE_add_cert(store, cert) == 1)
			added++;
		X509_free(cert);
	}
	BIO_free(bio);
	return added ? CURLE_OK : CURLE_SSL_CACERT_BADFILE;
}

static int handle_setup(CURL *c, const struct pe_http_opts *o, const char *url, struct body_buffer *b)
{
	long timeout = o->timeout_ms > 0 ? o->timeout_ms : 1;
	int bad = 0;
	bad |= curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https") != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)PE_HTTP_MAX_RESPONSE) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_USERAGENT, "pam_entra/1.0") != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_WRITEDATA, b) != CURLE_OK;
	if (o->ca_file) {
		/* The CA store cache would share a store we modify across handles: keep it off. */
		bad |= curl_easy_setopt(c, CURLOPT_CA_CACHE_TIMEOUT, 0L) != CURLE_OK;
		bad |= curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_add_ca) != CURLE_OK;
		bad |= curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, (void *)o->ca_file) != CURLE_OK;
	}
	return bad ? -1 : 0;
}

static int perform(const struct pe_http_opts *o, const char *url, const char *form, struct pe_http_response *resp,
                   char *err, size_t errlen)
{
	memset(resp, 0, sizeof(*resp));
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_result != CURLE_OK)
		return snprintf(err, errlen, "libcurl initialisation failed"), -1;
	struct body_buffer b = {0};
	char curl_err[CURL_ERROR_SIZE] = "";
	CURL *c = curl_easy_init();
	int rc = -1;
	if (!c || handle_setup(c, o, url, &b) || curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err) != CURLE_OK ||
	    (form && curl_easy_setopt(c, CURLOPT_POSTFIELDS, form) != CURLE_OK)) {
		snprintf(err, errlen, "cannot set up a libcurl request");
		goto out;
	}
	CURLcode res = curl_easy_perform(c);
	if (b.too_large) {
		snprintf(err, errlen, "%s: response larger than %d bytes", url, PE_HTTP_MAX_RESPONSE);
	} else if (res != CURLE_OK) {
		snprintf(err, errlen, "%s: %s", url, curl_err[0] ? curl_err : curl_easy_strerror(res));
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
		resp->body = b.data ? b.data : strdup("");
		resp->len = b.len;
		b.data = NULL;
		rc = resp->body ? 0 : -1;
	}
out:
	free(b.data);
	if (c)
		curl_easy_cleanup(c);
	return rc;
}

int pe_http_get(const struct pe_http_opts *opts, const char *url, struct pe_http_response *resp, char *err,
                size_t errlen)
{
	return perform(opts, url, NULL, resp, err, errlen);
}

static char *form_encode(const char *const *fields)
{
	size_t cap = 1, len = 0;
	char *out = calloc(1, 1);
	for (size_t i = 0; out && fields[i] && fields[i + 1]; i += 2) {
		char *name = curl_easy_escape(NULL, fields[i], 0), *value = curl_easy_escape(NULL, fields[i + 1], 0);
		size_t need = (name ? strlen(name) : 0) + (value ? strlen(value) : 0) + 2;
		char *grown = name && value ? realloc(out, cap + need) : NULL;
		if (!grown) {
			free(out);
			out = NULL;
		} else {
			out = grown;
			cap += need;
			len += (size_t)sprintf(out + len, "%s%s=%s", len ? "&" : "", name, value);
		}
		curl_free(name);
		curl_free(value);
	}
	return out;
}

int pe_http_post_form(const struct pe_http_opts *opts, const char *url, const char *const *fields,
                      struct pe_http_response *resp, char *err, size_t errlen)
{
	pthread_once(&curl_once, curl_init_once);
	char *form = form_encode(fields);
	if (!form) {
		memset(resp, 0, sizeof(*resp));
		return snprintf(err, errlen, "out of memory"), -1;
	}
	int rc = perform(opts, url, form, resp, err, errlen);
	free(form);
	return rc;
}

void pe_http_response_free(struct pe_http_response *resp)
{
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}
