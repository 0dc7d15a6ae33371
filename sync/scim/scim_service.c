/* The SCIM service: open/close, routing of one request to its handler, errors, stats. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "sync/scim/scim_resource.h"
#include "sync/scim/scim_service_internal.h"

static const struct entra_logger svc_logger = {"entra-syncd", LOG_DAEMON, true, false};

#define LAST_REQUEST_KEY           "last_request"
#define LAST_REQUEST_READ_INTERVAL 5 /* seconds between persisting last_request for reads */
#define SCIM_ID_MAX                128

static void last_request_value(char *out, size_t outlen)
{
	snprintf(out, outlen, "%lld", (long long)time(NULL));
}

/* Every batch records the time of the last request in the COMMIT that acknowledges it. */
static int record_last_request(struct store *writer, void *arg)
{
	struct scim_service *svc = arg;
	char now[32];
	last_request_value(now, sizeof(now));
	if (store_kv_set(writer, LAST_REQUEST_KEY, now) != STORE_OK)
		return -1;
	atomic_store(&svc->last_request_saved, time(NULL));
	return 0;
}

static void batch_committed(void *arg)
{
	struct scim_service *svc = arg;
	if (svc->on_change)
		svc->on_change(svc->on_change_arg);
}

struct scim_service *scim_service_open(const struct entra_config *cfg, scim_change_fn on_change, void *arg)
{
	char err[512];
	struct scim_service *svc = calloc(1, sizeof(*svc));
	if (!svc) {
		entra_log(&svc_logger, LOG_ERR, "out of memory opening the SCIM service");
		return NULL;
	}
	svc->writer = store_open(cfg->state_db, err, sizeof(err));
	if (!svc->writer || store_pool_open(&svc->readers, cfg->state_db, SCIM_READERS, err, sizeof(err)) < 0) {
		entra_log(&svc_logger, LOG_ERR, "%s", err);
		store_close(svc->writer);
		free(svc);
		return NULL;
	}
	group_commit_init(&svc->commit, svc->writer, record_last_request, batch_committed, svc);
	svc->max_body = cfg->max_body;
	svc->on_change = on_change;
	svc->on_change_arg = arg;
	return svc;
}

void scim_service_close(struct scim_service *svc)
{
	if (!svc)
		return;
	group_commit_destroy(&svc->commit);
	store_pool_close(&svc->readers);
	store_close(svc->writer);
	free(svc);
}

/* Reads persist last_request only every few seconds, through a write batch of their own. */
static void note_read_request(struct scim_service *svc)
{
	struct gc_member m;
	time_t t = time(NULL), saved = atomic_load(&svc->last_request_saved);
	/* the exchange lets one reader of many do it */
	if (t - saved < LAST_REQUEST_READ_INTERVAL ||
	    !atomic_compare_exchange_strong(&svc->last_request_saved, &saved, t))
		return;
	group_commit_enter(&svc->commit, &m);
	group_commit_leave(&svc->commit, &m, GC_TOUCH);
}

static bool method_is(const struct scim_ctx *c, const char *m)
{
	return strcmp(c->req->method, m) == 0;
}

static void not_allowed(struct scim_ctx *c, const char *allowed)
{
	scim_fail(c, 405, NULL, "method %s is not allowed on %s (allowed: %s)", c->req->method, c->req->path, allowed);
}

static void route_resource(struct scim_ctx *c)
{
	if (!c->id) {
		if (method_is(c, "GET"))
			scim_list(c);
		else if (method_is(c, "POST"))
			scim_create(c);
		else
			not_allowed(c, "GET, POST");
		return;
	}
	if (method_is(c, "GET"))
		scim_get(c);
	else if (method_is(c, "PUT"))
		scim_replace(c);
	else if (method_is(c, "PATCH"))
		scim_patch(c);
	else if (method_is(c, "DELETE"))
		scim_delete(c);
	else
		not_allowed(c, "GET, PUT, PATCH, DELETE");
}

/* Splits "/Users/abc" into the endpoint "Users" (ENDPOINT, ENDLEN) and the tail "abc". */
static const char *split_path(const char *path, size_t *endlen, const char **tail)
{
	while (*path == '/')
		path++;
	const char *slash = strchr(path, '/');
	*endlen = slash ? (size_t)(slash - path) : strlen(path);
	*tail = slash ? slash + 1 : "";
	return path;
}

static bool endpoint_is(const char *ep, size_t len, const char *name)
{
	return len == strlen(name) && strncasecmp(ep, name, len) == 0;
}

static void route(struct scim_ctx *c)
{
	size_t len;
	const char *tail, *ep = split_path(c->req->path, &len, &tail);
	if (endpoint_is(ep, len, "Users") || endpoint_is(ep, len, "Groups")) {
		c->type = endpoint_is(ep, len, "Users") ? SCIM_USER : SCIM_GROUP;
		size_t tl = strlen(tail);
		if (tl && tail[tl - 1] == '/')
			tl--;
		if (memchr(tail, '/', tl) || tl > SCIM_ID_MAX) {
			scim_fail(c, 404, NULL, "no such resource: %.200s", c->req->path);
			return;
		}
		char id[SCIM_ID_MAX + 1];
		memcpy(id, tail, tl);
		id[tl] = '\0';
		c->id = tl ? id : NULL;
		route_resource(c);
		c->id = NULL;
		return;
	}
	if (endpoint_is(ep, len, "ServiceProviderConfig") || endpoint_is(ep, len, "Schemas") ||
	    endpoint_is(ep, len, "ResourceTypes")) {
		char name[32];
		snprintf(name, sizeof(name), "%.*s", (int)len, ep);
		if (method_is(c, "GET"))
			scim_discovery(c, name, tail);
		else
			not_allowed(c, "GET");
		return;
	}
	scim_fail(c, 404, NULL,
	          "unknown SCIM endpoint %.200s: this service provides /Users, /Groups, /ServiceProviderConfig, "
	          "/Schemas and /ResourceTypes",
	          c->req->path);
}

static bool request_ok(struct scim_ctx *c)
{
	const struct scim_request *r = c->req;
	if (!r->method || !r->path || r->path[0] != '/') {
		scim_fail(c, 400, NULL, "request without method or path");
		return false;
	}
	if (r->body && r->body_len > c->svc->service->max_body) {
		scim_fail(c, 413, NULL, "request body of %zu bytes exceeds max_body = %zu; raise max_body in [sync]",
		          r->body_len, c->svc->service->max_body);
		return false;
	}
	return true;
}

static bool is_read(const struct scim_request *req)
{
	return req->method && strcmp(req->method, "GET") == 0;
}

/* A GET on a pooled read-only connection: it sees only committed, synced data. */
static void handle_read(struct scim_ctx *c)
{
	struct scim_service *svc = c->svc->service;
	c->svc->st = store_pool_take(&svc->readers);
	route(c);
	store_pool_give(&svc->readers, c->svc->st);
	note_read_request(svc);
}

/* Anything else on the writer: the handler joins a batch (scim_write_begin) when it writes, and
 * the response stands only once the batch's COMMIT returned. */
static void handle_write(struct scim_ctx *c)
{
	struct scim_service *svc = c->svc->service;
	c->svc->st = NULL; /* the writer only once the request holds it (scim_write_begin) */
	route(c);
	if (group_commit_leave(&svc->commit, &c->member, c->wrote ? GC_KEEP : GC_UNDO) < 0)
		scim_fail(c, 500, NULL, "state.db could not store this request; nothing of it was kept: retry it");
}

void scim_service_handle(struct scim_service *svc, const struct scim_request *req, struct scim_response *resp)
{
	struct scim_session session = {.service = svc};
	struct scim_ctx c = {.svc = &session, .req = req, .resp = resp};
	memset(resp, 0, sizeof(*resp));
	if (request_ok(&c)) {
		if (is_read(req))
			handle_read(&c);
		else
			handle_write(&c);
	}
	if (!resp->status)
		scim_fail(&c, 500, NULL, "internal error: no response produced; see the entra-syncd log");
}

int scim_service_stats(struct scim_service *svc, struct scim_stats *out)
{
	char value[32];
	int ret = 0;
	memset(out, 0, sizeof(*out));
	struct store *st = store_pool_take(&svc->readers);
	if (store_begin(st, false) != STORE_OK) {
		store_pool_give(&svc->readers, st);
		return -1;
	}
	if (store_stats(st, &out->users, &out->active_users, &out->groups) != STORE_OK)
		ret = -1;
	int kv = store_kv_get(st, LAST_REQUEST_KEY, value, sizeof(value));
	if (kv == STORE_OK)
		out->last_request = strtoll(value, NULL, 10);
	else if (kv != STORE_NOT_FOUND)
		ret = -1;
	store_commit(st);
	store_pool_give(&svc->readers, st);
	return ret;
}
