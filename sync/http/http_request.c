/* Request handling: prefix check, bearer token and its scope, body limit, SCIM or feed dispatch,
 * access log. */
#include "sync/http/http_request.h"
#include "sync/http/http_peer.h"

#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/log.h"
#include "sync/http/http_server.h"

static const struct entra_logger logger = {"entra-syncd", LOG_DAEMON, true, true};

#define LOG_URI_MAX 1024

struct request {
	struct http_deadline_conn *conn; /* NULL: the connection is untracked, refuse the request */
	struct timespec start;
	char uri[LOG_URI_MAX]; /* as received, control characters replaced, for the access log */
	char method[16];
	bool started;   /* the access handler has seen this request */
	bool responded; /* a response is queued: ignore any further body */
	bool too_large;
	bool routed;       /* for ctx->route (the feed), not SCIM */
	bool route_called; /* the route's handler ran once: later calls follow a resume */
	void *route_state; /* the route's, freed through route->done */
	int status;
	char *body;
	size_t len, cap;
};

static void copy_printable(char *dst, size_t dstlen, const char *src)
{
	size_t i = 0;
	for (; src && src[i] && i + 1 < dstlen; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

void *http_request_begin(void *cls, const char *uri, struct MHD_Connection *con)
{
	struct request *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	copy_printable(r->uri, sizeof(r->uri), uri);
	r->conn = http_deadline_conn_of(con);
	http_deadline_request_begins(r->conn);
	return r;
}

static enum MHD_Result queue(struct MHD_Connection *con, struct request *r, const struct scim_response *resp,
                             const char *challenge)
{
	char *text = resp->body ? json_dumps(resp->body, JSON_COMPACT) : NULL;
	int status = resp->status;
	struct MHD_Response *m;
	if (resp->body && !text) {
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		m = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	} else if (text) {
		m = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	} else {
		m = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	if (!m) {
		free(text);
		return MHD_NO;
	}
	if (text)
		MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE, "application/scim+json");
	MHD_add_response_header(m, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (resp->location[0])
		MHD_add_response_header(m, MHD_HTTP_HEADER_LOCATION, resp->location);
	if (resp->etag[0])
		MHD_add_response_header(m, MHD_HTTP_HEADER_ETAG, resp->etag);
	if (challenge)
		MHD_add_response_header(m, MHD_HTTP_HEADER_WWW_AUTHENTICATE, challenge);
	enum MHD_Result ok = MHD_queue_response(con, (unsigned)status, m);
	MHD_destroy_response(m);
	if (ok == MHD_YES) {
		r->status = status;
		r->responded = true;
	}
	return ok;
}

static enum MHD_Result queue_error(struct MHD_Connection *con, struct request *r, int status, const char *scim_type,
                                   const char *detail, const char *challenge)
{
	struct scim_response resp;
	memset(&resp, 0, sizeof(resp));
	scim_response_error(&resp, status, scim_type, detail);
	enum MHD_Result ok = queue(con, r, &resp, challenge);
	scim_response_clear(&resp);
	return ok;
}

/* Checks `Authorization: Bearer TOKEN` and its scope; queues 401 (no valid token) or 403 (a
 * token of another scope: a follower token never writes SCIM) and returns false when it does
 * not pass. */
static bool authorized(const struct http_ctx *ctx, struct MHD_Connection *con, struct request *r, enum token_scope want)
{
	const char *h = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
		queue_error(con, r, 401, NULL, "missing bearer token: send `Authorization: Bearer <token>`",
		            "Bearer realm=\"scim\"");
		return false;
	}
	const char *tok = h + 7;
	while (*tok == ' ')
		tok++;
	size_t len = strlen(tok);
	while (len > 0 && tok[len - 1] == ' ')
		len--;
	enum token_scope scope = token_store_scope(ctx->tokens, tok, len);
	if (scope == TOKEN_SCOPE_NONE) {
		queue_error(con, r, 401, NULL, "invalid bearer token",
		            "Bearer realm=\"scim\", error=\"invalid_token\"");
		return false;
	}
	if (scope != want) {
		queue_error(con, r, 403, NULL,
		            want == TOKEN_SCOPE_SCIM ? "a follower token reads the change feed only: it cannot use SCIM"
		                                     : "a SCIM token cannot read the change feed: use a follower token "
		                                       "(entra-sync token new --follow)",
		            NULL);
		return false;
	}
	return true;
}

static bool route_matches(const struct http_ctx *ctx, const char *url)
{
	return ctx->route && strncmp(url, ctx->route->prefix, strlen(ctx->route->prefix)) == 0;
}

static bool declared_too_large(const struct http_ctx *ctx, struct MHD_Connection *con)
{
	const char *cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (!cl)
		return false;
	char *end = NULL;
	unsigned long long v = strtoull(cl, &end, 10);
	return end != cl && v > ctx->max_body;
}

static void too_large_detail(const struct http_ctx *ctx, char *buf, size_t len)
{
	snprintf(buf, len, "request body larger than %zu bytes ([sync] max_body)", ctx->max_body);
}

/* First call for a request: everything that can be refused before reading a body. */
static enum MHD_Result begin(const struct http_ctx *ctx, struct MHD_Connection *con, const char *url,
                             const char *method, struct request *r)
{
	char detail[128];
	r->started = true;
	copy_printable(r->method, sizeof(r->method), method);
	size_t plen = strlen(HTTP_SCIM_PREFIX);
	r->routed = route_matches(ctx, url);
	if (!r->routed && (strncmp(url, HTTP_SCIM_PREFIX, plen) != 0 || (url[plen] != '\0' && url[plen] != '/')))
		return queue_error(con, r, 404, NULL, "not found: the SCIM API is served under " HTTP_SCIM_PREFIX,
		                   NULL);
	if (!authorized(ctx, con, r, r->routed ? ctx->route->scope : TOKEN_SCOPE_SCIM))
		return r->responded ? MHD_YES : MHD_NO;
	http_deadline_authenticated(r->conn);
	if (r->routed && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return queue_error(con, r, 405, NULL, "the change feed answers GET only", NULL);
	if (declared_too_large(ctx, con)) {
		too_large_detail(ctx, detail, sizeof(detail));
		return queue_error(con, r, 413, NULL, detail, NULL);
	}
	return MHD_YES;
}

/* Appends a body chunk; past max_body the rest is dropped, never buffered. */
static enum MHD_Result absorb(const struct http_ctx *ctx, struct MHD_Connection *con, struct request *r,
                              const char *data, size_t size)
{
	if (r->too_large || size > ctx->max_body - r->len) {
		if (!r->too_large) {
			char detail[128];
			r->too_large = true;
			free(r->body);
			r->body = NULL;
			r->len = r->cap = 0;
			too_large_detail(ctx, detail, sizeof(detail));
			queue_error(con, r, 413, NULL, detail, NULL); /* may wait until the body ends */
		}
		return MHD_YES;
	}
	if (r->len + size + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		while (cap < r->len + size + 1)
			cap *= 2;
		if (cap > ctx->max_body + 1)
			cap = ctx->max_body + 1;
		char *grown = realloc(r->body, cap);
		if (!grown)
			return MHD_NO;
		r->body = grown;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, size);
	r->len += size;
	r->body[r->len] = '\0';
	return MHD_YES;
}

/* A decoded query argument; false when it holds a NUL byte (it would be silently cut). */
static bool query_arg(struct MHD_Connection *con, const char *name, const char **out)
{
	const char *v = NULL;
	size_t len = 0;
	*out = NULL;
	if (MHD_lookup_connection_value_n(con, MHD_GET_ARGUMENT_KIND, name, strlen(name), &v, &len) != MHD_YES)
		return true;
	if (v && memchr(v, '\0', len))
		return false;
	*out = v ? v : "";
	return true;
}

#define PRECONDITION_MAX 1024 /* bytes of one precondition header, all its lines joined */

struct header_join {
	const char *name;
	char *out;
	size_t len;
	bool seen;
};

static enum MHD_Result join_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct header_join *j = cls;
	if (!key || !value || strcasecmp(key, j->name) != 0)
		return MHD_YES;
	/* RFC 7230 3.2.2: several lines of a list header are one comma-separated list; one too long
	 * for the buffer is cut, which leaves a malformed list that names nothing */
	int n = snprintf(j->out + j->len, PRECONDITION_MAX - j->len, "%s%s", j->seen ? ", " : "", value);
	j->len += n < 0 ? 0 : (size_t)n >= PRECONDITION_MAX - j->len ? PRECONDITION_MAX - 1 - j->len : (size_t)n;
	j->seen = true;
	return MHD_YES;
}

/* Every NAME header line joined into OUT (PRECONDITION_MAX bytes); NULL when there is none. */
static const char *precondition_header(struct MHD_Connection *con, const char *name, char *out)
{
	struct header_join j = {name, out, 0, false};
	out[0] = '\0';
	MHD_get_connection_values(con, MHD_HEADER_KIND, join_header, &j);
	return j.seen ? out : NULL;
}

static bool host_usable(const char *h)
{
	size_t n = h ? strlen(h) : 0;
	return n > 0 && n < 256 &&
	       strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") == n;
}

static void base_url(const struct http_ctx *ctx, struct MHD_Connection *con, char *out, size_t len)
{
	const char *host = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	const char *proto = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "X-Forwarded-Proto");
	bool https = ctx->tls || (ctx->loopback && proto && strcmp(proto, "https") == 0);
	snprintf(out, len, "%s://%s" HTTP_SCIM_PREFIX, https ? "https" : "http",
	         host_usable(host) ? host : ctx->fallback_host);
}

static enum MHD_Result dispatch(const struct http_ctx *ctx, struct MHD_Connection *con, const char *url,
                                struct request *r)
{
	struct scim_request req;
	struct scim_response resp;
	char base[320], if_match[PRECONDITION_MAX], if_none_match[PRECONDITION_MAX];
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	const char *path = url + strlen(HTTP_SCIM_PREFIX);
	req.method = r->method;
	req.path = *path ? path : "/";
	if (!query_arg(con, "filter", &req.filter) || !query_arg(con, "startIndex", &req.start_index) ||
	    !query_arg(con, "count", &req.count) || !query_arg(con, "attributes", &req.attributes) ||
	    !query_arg(con, "excludedAttributes", &req.excluded_attributes))
		return queue_error(con, r, 400, "invalidValue", "a query argument contains a NUL byte (%00)", NULL);
	req.if_match = precondition_header(con, MHD_HTTP_HEADER_IF_MATCH, if_match);
	req.if_none_match = precondition_header(con, MHD_HTTP_HEADER_IF_NONE_MATCH, if_none_match);
	req.body = r->body;
	req.body_len = r->len;
	base_url(ctx, con, base, sizeof(base));
	req.base_url = base;
	scim_service_handle(ctx->svc, &req, &resp);
	enum MHD_Result ok = queue(con, r, &resp, NULL);
	scim_response_clear(&resp);
	return ok;
}

/* The feed's turn: its handler queues an answer or suspends the connection until it has one. */
static enum MHD_Result route_dispatch(const struct http_ctx *ctx, struct MHD_Connection *con, const char *url,
                                      struct request *r)
{
	int status = 0;
	if (!r->route_called && !http_deadline_responding(r->conn))
		return MHD_NO;
	r->route_called = true;
	enum MHD_Result ok = ctx->route->handle(ctx->route->arg, con, url, &r->route_state, &status);
	if (ok == MHD_YES && status) {
		r->status = status;
		r->responded = true;
	}
	return ok;
}

enum MHD_Result http_request_handle(void *cls, struct MHD_Connection *con, const char *url, const char *method,
                                    const char *version, const char *upload_data, size_t *upload_data_size,
                                    void **req_cls)
{
	const struct http_ctx *ctx = cls;
	struct request *r = *req_cls;
	if (!r || !r->conn)
		return MHD_NO; /* out of memory in http_request_begin or http_deadline_notify */
	if (!r->started) {
		enum MHD_Result ok = begin(ctx, con, url, method, r);
		/* Refused before the body: the deadline no longer applies. */
		if (ok == MHD_YES && r->responded && !http_deadline_responding(r->conn))
			return MHD_NO;
		return ok;
	}
	if (*upload_data_size) {
		size_t size = *upload_data_size;
		*upload_data_size = 0;
		return r->responded ? MHD_YES : absorb(ctx, con, r, upload_data, size);
	}
	if (r->routed && !r->responded)
		return route_dispatch(ctx, con, url, r);
	/* The whole request is here: past this point the watchdog cannot cut it (it may have just now). */
	if (!http_deadline_responding(r->conn))
		return MHD_NO;
	if (r->responded)
		return MHD_YES;
	if (r->too_large) {
		char detail[128];
		too_large_detail(ctx, detail, sizeof(detail));
		return queue_error(con, r, 413, NULL, detail, NULL);
	}
	return dispatch(ctx, con, url, r);
}

void http_request_completed(void *cls, struct MHD_Connection *con, void **req_cls, enum MHD_RequestTerminationCode toe)
{
	const struct http_ctx *ctx = cls;
	struct request *r = *req_cls;
	struct timespec now;
	char client[64];
	if (!r)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long ms = (now.tv_sec - r->start.tv_sec) * 1000L + (now.tv_nsec - r->start.tv_nsec) / 1000000L;
	int status = r->status;
	if (http_deadline_request_ends(r->conn) && !status)
		status = MHD_HTTP_REQUEST_TIMEOUT;
	if (!status) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_HTTP_STATUS);
		status = ci ? (int)ci->http_status : 0;
	}
	char status_text[16] = "-";
	if (status > 0)
		snprintf(status_text, sizeof(status_text), "%d", status);
	http_client_address(con, client, sizeof(client));
	entra_log(&logger, LOG_INFO, "%s %s %s %ldms %s%s", r->method[0] ? r->method : "-", r->uri, status_text, ms,
	          client, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection closed before the end)");
	if (r->routed && ctx->route)
		ctx->route->done(ctx->route->arg, r->route_state);
	free(r->body);
	free(r);
	*req_cls = NULL;
}
