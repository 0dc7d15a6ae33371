#include "http.h"

#include "http_parse.h"
#include "http_pool.h"
#include "http_url.h"
#include "net_connect.h"
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *pe_http_ca_file_read(const char *path, size_t *len, char *err, size_t errlen)
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

/* The TLS client of one request: the pool's, the share's (created on first use), else a fresh
 * one (*OWNED). */
static struct pe_tls_client *client_get(const struct pe_http_opts *o, struct pe_tls_client **owned, char *err,
                                        size_t errlen)
{
	*owned = NULL;
	if (o->share && o->share->pool)
		return pe_http_pool_tls(o->share->pool);
	if (o->share && o->share->tls)
		return o->share->tls;
	struct pe_http_share none = {0}, *s = o->share ? o->share : &none;
	if (o->ca_file && !s->ca_pem && !(s->ca_pem = pe_http_ca_file_read(o->ca_file, &s->ca_pem_len, err, errlen)))
		return NULL;
	struct pe_tls_client *c = pe_tls_client_new(s->ca_pem, s->ca_pem_len, o->ca_file, err, errlen);
	if (o->share)
		return o->share->tls = c;
	free(none.ca_pem);
	return *owned = c;
}

/* The request head and body in one buffer, so it leaves in one TLS record. */
static char *request_build(const struct pe_url *u, const char *form, bool keep_alive, size_t *len)
{
	char host[PE_URL_MAX_HOST + 16];
	if (u->port == 443)
		snprintf(host, sizeof(host), u->ipv6 ? "[%s]" : "%s", u->host);
	else
		pe_url_authority(u, host, sizeof(host));
	size_t form_len = form ? strlen(form) : 0, cap = u->target_len + strlen(host) + form_len + 512;
	char *req = malloc(cap);
	if (!req)
		return NULL;
	int n = snprintf(
	    req, cap, "%s %.*s HTTP/1.1\r\nHost: %s\r\nUser-Agent: pam_entra/1.0\r\nAccept: application/json\r\n%s",
	    form ? "POST" : "GET", (int)u->target_len, u->target, host, keep_alive ? "" : "Connection: close\r\n");
	if (form)
		n += snprintf(req + n, cap - (size_t)n,
		              "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n", form_len);
	n += snprintf(req + n, cap - (size_t)n, "\r\n");
	memcpy(req + n, form ? form : "", form_len);
	*len = (size_t)n + form_len;
	return req;
}

enum exchange_result { EXCHANGE_DONE, EXCHANGE_FAILED, EXCHANGE_RETRY };

/* Reads one response into P. RETRY: a reused connection closed before any response byte. */
static enum exchange_result response_read(struct pe_tls_conn *conn, bool reused, struct pe_http_parser *p,
                                          long long deadline_ms, char *err, size_t errlen)
{
	char buf[16384];
	for (;;) {
		ssize_t n = pe_tls_read(conn, buf, sizeof(buf), deadline_ms, err, errlen);
		int rc;
		size_t used = 0;
		if (n == PE_TLS_CLOSED && reused && !p->any_byte)
			return EXCHANGE_RETRY;
		if (n == PE_TLS_CLOSED)
			rc = pe_http_parser_eof(p);
		else if (n < 0)
			return EXCHANGE_FAILED;
		else if ((rc = pe_http_parser_feed(p, buf, (size_t)n, &used)) == 1 && used < (size_t)n)
			p->keep_alive = false; /* bytes beyond the response: never reuse this connection */
		if (rc < 0)
			return snprintf(err, errlen, "%s", p->error), EXCHANGE_FAILED;
		if (rc == 1)
			return EXCHANGE_DONE;
	}
}

/* Sends REQ over *CONN (reused, or opened here) and parses the answer into P; reconnects once
 * when a reused connection turns out closed before any response byte arrived. *CONN stays
 * open only when the server lets it carry another request. */
static int exchange(struct pe_tls_client *c, struct pe_tls_conn **conn, const struct pe_url *u, const char *req,
                    size_t req_len, long long deadline_ms, struct pe_http_parser *p, char *err, size_t errlen)
{
	enum exchange_result r = EXCHANGE_RETRY;
	for (int attempt = 0; attempt < 2 && r == EXCHANGE_RETRY; attempt++) {
		bool reused = *conn != NULL;
		if (!*conn && !(*conn = pe_tls_connect(c, u, deadline_ms, err, errlen)))
			return -1;
		pe_http_parser_free(p);
		pe_http_parser_init(p, PE_HTTP_MAX_RESPONSE);
		int w = pe_tls_write(*conn, req, req_len, deadline_ms, err, errlen);
		if (w == PE_TLS_CLOSED && reused)
			r = EXCHANGE_RETRY;
		else
			r = w ? EXCHANGE_FAILED : response_read(*conn, reused, p, deadline_ms, err, errlen);
		if (r != EXCHANGE_DONE || !p->keep_alive) {
			pe_tls_close(c, *conn);
			*conn = NULL;
		}
	}
	return r == EXCHANGE_DONE ? 0 : -1;
}

/* An idle pooled connection to AUTHORITY the server has not closed meanwhile, or NULL. */
static struct pe_tls_conn *pool_conn_take(struct pe_http_pool *pool, const char *authority)
{
	struct pe_tls_conn *conn;
	while ((conn = pe_http_pool_take(pool, authority)) && !pe_tls_idle_usable(conn))
		pe_tls_close(pe_http_pool_tls(pool), conn);
	return conn;
}

/* An open connection to U to reuse: the pool's or the share's, else NULL (the share's
 * connection to another server is closed). */
static struct pe_tls_conn *share_conn_take(struct pe_http_share *s, const struct pe_url *u)
{
	char authority[300];
	if (!s || (!s->pool && !s->conn))
		return NULL;
	pe_url_authority(u, authority, sizeof(authority));
	if (s->pool)
		return pool_conn_take(s->pool, authority);
	struct pe_tls_conn *conn = s->conn;
	s->conn = NULL;
	if (!strcmp(authority, pe_tls_authority(conn)))
		return conn;
	pe_tls_close(s->tls, conn);
	return NULL;
}

/* After a request: CONN (NULL, or able to carry another request) is kept for the next one. */
static void share_conn_keep(const struct pe_http_opts *o, struct pe_tls_client *c, struct pe_tls_conn *conn)
{
	if (!o->share)
		pe_tls_close(c, conn);
	else if (!o->share->pool)
		o->share->conn = conn;
	else if (conn)
		pe_http_pool_put(o->share->pool, conn);
}

static int perform(const struct pe_http_opts *o, const char *url, const char *form, struct pe_http_response *resp,
                   char *err, size_t errlen)
{
	struct pe_url u;
	struct pe_tls_client *owned;
	struct pe_http_parser *p = NULL;
	char why[384];
	size_t req_len;
	int rc = -1;
	memset(resp, 0, sizeof(*resp));
	if (pe_url_parse(url, &u, err, errlen))
		return -1;
	long long deadline_ms = entra_now_ms() + (o->timeout_ms > 0 ? o->timeout_ms : 1);
	struct pe_tls_client *c = client_get(o, &owned, err, errlen);
	char *req = c ? request_build(&u, form, o->share != NULL, &req_len) : NULL;
	if (c && (!req || !(p = malloc(sizeof(*p))))) {
		snprintf(err, errlen, "out of memory");
	} else if (c) {
		struct pe_tls_conn *conn = share_conn_take(o->share, &u);
		pe_http_parser_init(p, PE_HTTP_MAX_RESPONSE);
		if (exchange(c, &conn, &u, req, req_len, deadline_ms, p, why, sizeof(why)) == 0) {
			resp->status = p->status;
			resp->body = pe_http_parser_take_body(p, &resp->len);
			rc = resp->body ? 0 : (snprintf(err, errlen, "out of memory"), -1);
		} else {
			snprintf(err, errlen, "%.200s: %s", url, why);
		}
		share_conn_keep(o, c, conn);
		pe_http_parser_free(p);
	}
	free(p);
	free(req);
	pe_tls_client_free(owned);
	return rc;
}

int pe_http_get(const struct pe_http_opts *opts, const char *url, struct pe_http_response *resp, char *err,
                size_t errlen)
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

/* With a pool, tls, conn and ca_pem stay NULL: nothing pool-owned is freed here. */
void pe_http_share_release(struct pe_http_share *share)
{
	if (share->conn)
		pe_tls_close(share->tls, share->conn);
	pe_tls_client_free(share->tls);
	free(share->ca_pem);
	memset(share, 0, sizeof(*share));
}
