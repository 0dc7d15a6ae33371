#include "http.h"

#include "curl_lib.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static char *ca_file_read(const char *path, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return snprintf(err, errlen, "cannot open [entra] ca_file %s: %s", path, strerror(errno)), NULL;
	struct stat st;
	char *data = NULL;
	size_t got = 0;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > PE_HTTP_MAX_CA_FILE) {
		snprintf(err, errlen, "[entra] ca_file %s is not a PEM file of 1 to %d bytes", path,
		         PE_HTTP_MAX_CA_FILE);
	} else if ((data = malloc((size_t)st.st_size + 1))) {
		while (got < (size_t)st.st_size) {
			ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		if (got != (size_t)st.st_size) {
			snprintf(err, errlen, "cannot read [entra] ca_file %s", path);
			free(data);
			data = NULL;
		} else {
			data[got] = '\0';
			*len = got;
		}
	}
	close(fd);
	return data;
}

/* The ca_file's PEM for one request: read once per share, else per request (*OWNED set). */
static const char *ca_pem_get(const struct pe_http_opts *o, size_t *len, char **owned, char *err, size_t errlen)
{
	*owned = NULL;
	*len = 0;
	if (!o->ca_file)
		return "";
	if (!o->share)
		return *owned = ca_file_read(o->ca_file, len, err, errlen);
	if (!o->share->ca_pem)
		o->share->ca_pem = ca_file_read(o->ca_file, &o->share->ca_pem_len, err, errlen);
	*len = o->share->ca_pem_len;
	return o->share->ca_pem;
}

/* One libcurl share per PAM call: the token polls resume the device code request's TLS
 * session, or reuse its connection, instead of a full handshake each. NULL: unshared. */
static CURLSH *share_get(const struct pe_curl_lib *lib, struct pe_http_share *s)
{
	if (!s)
		return NULL;
	if (!s->curl_share) {
		CURLSH *sh = lib->share_init();
		if (sh && (lib->share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
		           lib->share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK)) {
			lib->share_cleanup(sh);
			sh = NULL;
		}
		s->curl_share = sh;
	}
	return s->curl_share;
}

/* System anchors come from the hashed certificate directory libcurl was built with (Debian:
 * /etc/ssl/certs), where OpenSSL reads only the anchor a chain needs; the bundle file would
 * cost a parse of every system CA (~20 ms of CPU) per handshake. Without a built-in directory
 * libcurl's bundle stays. ca_file is added as a blob: an extra anchor, never a replacement. */
static int trust_setup(const struct pe_curl_lib *lib, CURL *c, const char *ca_pem, size_t ca_len)
{
	char *capath = NULL;
	int bad = 0;
	if (lib->easy_getinfo(c, CURLINFO_CAPATH, &capath) == CURLE_OK && capath && *capath)
		bad |= lib->easy_setopt(c, CURLOPT_CAINFO, (char *)NULL) != CURLE_OK;
	if (ca_len) {
		struct curl_blob blob = {.data = (void *)ca_pem, .len = ca_len, .flags = CURL_BLOB_COPY};
		bad |= lib->easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob) != CURLE_OK;
	}
	return bad ? -1 : 0;
}

static int handle_setup(const struct pe_curl_lib *lib, CURL *c, const struct pe_http_opts *o, const char *url,
                        struct body_buffer *b, char *curl_err)
{
	long timeout = o->timeout_ms > 0 ? o->timeout_ms : 1;
	CURLSH *share = share_get(lib, o->share);
	int bad = 0;
	bad |= lib->easy_setopt(c, CURLOPT_URL, url) != CURLE_OK;
	bad |= lib->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK;
	bad |= lib->easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https") != CURLE_OK;
	bad |= lib->easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	bad |= lib->easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= lib->easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout) != CURLE_OK;
	bad |= lib->easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout) != CURLE_OK;
	bad |= lib->easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
	bad |= lib->easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
	bad |= lib->easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)PE_HTTP_MAX_RESPONSE) != CURLE_OK;
	bad |= lib->easy_setopt(c, CURLOPT_USERAGENT, "pam_entra/1.0") != CURLE_OK;
	bad |= lib->easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write) != CURLE_OK;
	bad |= lib->easy_setopt(c, CURLOPT_WRITEDATA, b) != CURLE_OK;
	bad |= lib->easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err) != CURLE_OK;
	if (share)
		bad |= lib->easy_setopt(c, CURLOPT_SHARE, share) != CURLE_OK;
	return bad ? -1 : 0;
}

static int transfer(const struct pe_curl_lib *lib, CURL *c, const char *url, struct body_buffer *b,
                    const char *curl_err, struct pe_http_response *resp, char *err, size_t errlen)
{
	CURLcode res = lib->easy_perform(c);
	if (b->too_large)
		return snprintf(err, errlen, "%s: response larger than %d bytes", url, PE_HTTP_MAX_RESPONSE), -1;
	if (res != CURLE_OK)
		return snprintf(err, errlen, "%s: %s", url, curl_err[0] ? curl_err : lib->easy_strerror(res)), -1;
	lib->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	resp->body = b->data ? b->data : strdup("");
	resp->len = b->len;
	b->data = NULL;
	return resp->body ? 0 : -1;
}

static int perform(const struct pe_http_opts *o, const char *url, const char *form, struct pe_http_response *resp,
                   char *err, size_t errlen)
{
	memset(resp, 0, sizeof(*resp));
	const struct pe_curl_lib *lib = pe_curl_lib(err, errlen);
	if (!lib)
		return -1;
	char *ca_owned, curl_err[CURL_ERROR_SIZE] = "";
	size_t ca_len;
	const char *ca_pem = ca_pem_get(o, &ca_len, &ca_owned, err, errlen);
	if (!ca_pem)
		return -1;
	struct body_buffer b = {0};
	CURL *c = lib->easy_init();
	int rc = -1;
	if (!c || handle_setup(lib, c, o, url, &b, curl_err) || trust_setup(lib, c, ca_pem, ca_len) ||
	    (form && lib->easy_setopt(c, CURLOPT_POSTFIELDS, form) != CURLE_OK))
		snprintf(err, errlen, "cannot set up a libcurl request");
	else
		rc = transfer(lib, c, url, &b, curl_err, resp, err, errlen);
	free(b.data);
	if (c)
		lib->easy_cleanup(c);
	free(ca_owned);
	return rc;
}

int pe_http_get(const struct pe_http_opts *opts, const char *url, struct pe_http_response *resp, char *err,
                size_t errlen)
{
	return perform(opts, url, NULL, resp, err, errlen);
}

/* RFC 3986 percent-encoding of everything but the unreserved characters, as curl_easy_escape. */
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
		if (name > PE_HTTP_MAX_RESPONSE || value > PE_HTTP_MAX_RESPONSE)
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

int pe_http_post_form(const struct pe_http_opts *opts, const char *url, const char *const *fields,
                      struct pe_http_response *resp, char *err, size_t errlen)
{
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

void pe_http_share_release(struct pe_http_share *share)
{
	char err[256];
	const struct pe_curl_lib *lib = share->curl_share ? pe_curl_lib(err, sizeof(err)) : NULL;
	if (lib)
		lib->share_cleanup(share->curl_share);
	free(share->ca_pem);
	memset(share, 0, sizeof(*share));
}
