/* POST, GET by id, PUT, PATCH, DELETE of /Users and /Groups. A write runs under its own savepoint
 * inside a batch transaction shared with concurrent writes (scim_write_begin, group_commit.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/log_limit.h"
#include "sync/scim/scim_etag.h"
#include "sync/scim/scim_internal.h"
#include "sync/scim/scim_member_patch.h"
#include "sync/scim/scim_patch.h"
#include "sync/scim/scim_resource.h"
#include "sync/scim/scim_service_internal.h"

static const struct entra_logger crud_logger = {"entra-syncd", LOG_DAEMON, true, true};

#define DROPPED_LOG_INTERVAL 60 /* seconds: Entra may send a mapped password with every user */

/* After a successful write that carried the write-only attribute ATTR (NULL: none), logs that
 * it was discarded: its name, never its value; at most one line a minute, counting the rest. */
static void log_dropped(struct scim_ctx *c, const char *id, const char *attr)
{
	static struct log_limit limit = LOG_LIMIT_INIT(1, DROPPED_LOG_INTERVAL);
	unsigned held = 0;
	char more[80] = "";
	if (!attr || c->resp->status < 200 || c->resp->status > 299 || !log_limit_due(&limit, &held))
		return;
	if (held)
		snprintf(more, sizeof(more), " (and from %u more writes since the last report)", held);
	entra_log(&crud_logger, LOG_WARNING,
	          "%s /%s/%s: dropped its %s attribute%s: entra-syncd never stores or returns one (RFC 7643 "
	          "writeOnly, returned never); remove the %s mapping from the enterprise application's attribute "
	          "mappings",
	          c->req->method, scim_type_endpoint(c->type), id, attr, more, attr);
}

/* The request body as a JSON object, or NULL with the 400 already set. */
static json_t *parse_body(struct scim_ctx *c)
{
	json_error_t jerr;
	json_t *body;
	if (!c->req->body || c->req->body_len == 0) {
		scim_fail(c, 400, "invalidSyntax", "the request body is empty: send a JSON object");
		return NULL;
	}
	body = json_loadb(c->req->body, c->req->body_len, 0, &jerr);
	if (!body) {
		scim_fail(c, 400, "invalidSyntax", "malformed JSON at line %d, column %d: %s", jerr.line, jerr.column,
		          jerr.text);
		return NULL;
	}
	if (!json_is_object(body)) {
		scim_fail(c, 400, "invalidSyntax", "the request body must be a JSON object");
		json_decref(body);
		return NULL;
	}
	return body;
}

static bool parse_projection(struct scim_ctx *c, struct scim_projection *proj)
{
	struct scim_error err = {0};
	if (scim_projection_parse(c->type, c->req->attributes, c->req->excluded_attributes, proj, &err) == 0)
		return true;
	scim_fail_err(c, &err);
	return false;
}

/* 409 naming the value that is taken, or another store failure. */
static void fail_write(struct scim_ctx *c, int rc, const json_t *res)
{
	const char *attr = c->type == SCIM_USER ? "userName" : "displayName";
	const json_t *v = scim_json_get_ci(res, attr, NULL);
	if (rc == STORE_CONFLICT && json_is_string(v))
		scim_fail(c, 409, "uniqueness", "%s \"%.256s\" is already used by another %s", attr,
		          json_string_value(v), scim_type_name(c->type));
	else
		scim_fail_store(c, rc);
}

static bool has_preconditions(const struct scim_ctx *c)
{
	return c->req->if_match || c->req->if_none_match;
}

/* RFC 7644 3.14 against the resource at VERSION: 0 to go on, else -1 with the 304 or 412 set. */
static int preconditions(struct scim_ctx *c, long long version)
{
	bool get = strcmp(c->req->method, "GET") == 0;
	switch (scim_etag_evaluate(c->req->if_match, c->req->if_none_match, get, version)) {
	case SCIM_PRECONDITION_OK:
		return 0;
	case SCIM_NOT_MODIFIED:
		scim_response_clear(c->resp);
		c->resp->status = 304;
		snprintf(c->resp->etag, sizeof(c->resp->etag), "W/\"%lld\"", version);
		return -1;
	case SCIM_PRECONDITION_FAIL:
		break;
	}
	if (c->req->if_match && !scim_etag_list_matches(c->req->if_match, version))
		scim_fail(c, 412, NULL,
		          "If-Match does not name the current version of %s %s, which is W/\"%lld\": it changed "
		          "since it was read; read it again and retry",
		          scim_type_name(c->type), c->id, version);
	else
		scim_fail(c, 412, NULL, "If-None-Match names the current version of %s %s (W/\"%lld\")",
		          scim_type_name(c->type), c->id, version);
	return -1;
}

/* The preconditions of a request on C->id, read inside its transaction: 0 to go on (also when
 * there are none), else -1 with the 304, 404 or 412 set. */
static int check_preconditions(struct scim_ctx *c)
{
	struct store_record rec;
	if (!has_preconditions(c))
		return 0;
	int rc = store_get(c->svc->st, c->type, c->id, &rec);
	if (rc != STORE_OK) {
		scim_fail_store(c, rc);
		return -1;
	}
	long long version = rec.version;
	store_record_clear(&rec);
	return preconditions(c, version);
}

/* Sets the response to the stored resource ID (read inside the current transaction). */
static int respond_with(struct scim_ctx *c, const char *id, int status, const struct scim_projection *proj)
{
	struct store_record rec;
	int rc = store_get(c->svc->st, c->type, id, &rec);
	if (rc != STORE_OK) {
		scim_fail_store(c, rc);
		return -1;
	}
	json_t *body = scim_render(c, &rec, c->type == SCIM_GROUP && scim_projection_wants(proj, "members"));
	if (!body) {
		store_record_clear(&rec);
		scim_fail_store(c, STORE_ERROR);
		return -1;
	}
	scim_projection_apply(proj, body);
	scim_response_clear(c->resp);
	c->resp->status = status;
	c->resp->body = body;
	snprintf(c->resp->etag, sizeof(c->resp->etag), "W/\"%lld\"", rec.version);
	if (status == 201)
		scim_location(c, id, c->resp->location, sizeof(c->resp->location));
	store_record_clear(&rec);
	return 0;
}

/* Makes the group's member set exactly the `members` of RES (unknown users skipped). */
static int write_members(struct scim_ctx *c, const char *id, const json_t *res)
{
	struct scim_error err = {0};
	const char **ids;
	size_t n;
	if (scim_member_ids(scim_json_get_ci(res, "members", NULL), &ids, &n, &err) < 0) {
		scim_fail_err(c, &err);
		return -1;
	}
	int rc = store_members_replace(c->svc->st, id, ids, n, NULL);
	free(ids);
	if (rc != STORE_OK) {
		scim_fail_store(c, rc);
		return -1;
	}
	return 0;
}

/* Parses and validates a POST/PUT body; *DROPPED names a write-only attribute it discarded. */
static json_t *resource_body(struct scim_ctx *c, const char **dropped)
{
	struct scim_error err = {0};
	json_t *res = parse_body(c);
	if (res && scim_resource_normalize(res, c->type, &err) < 0) {
		scim_fail_err(c, &err);
		json_decref(res);
		return NULL;
	}
	*dropped = err.dropped;
	return res;
}

/* Insert or update RES as ID, its members, and the response; then commit. */
static void write_resource(struct scim_ctx *c, const char *id, json_t *res, bool insert, int status,
                           const struct scim_projection *proj)
{
	char now[STORE_TIME_LEN];
	store_now(now);
	if (scim_write_begin(c) < 0 || (!insert && check_preconditions(c) < 0))
		return;
	int rc =
	    insert ? store_insert(c->svc->st, c->type, id, res, now) : store_update(c->svc->st, c->type, id, res, now);
	if (rc != STORE_OK) {
		fail_write(c, rc, res);
		return; /* rolled back to its savepoint by scim_service_handle */
	}
	if (c->type == SCIM_GROUP && write_members(c, id, res) < 0)
		return;
	if (respond_with(c, id, status, proj) == 0)
		scim_commit_write(c);
}

void scim_create(struct scim_ctx *c)
{
	struct scim_projection proj;
	char id[STORE_ID_LEN + 1];
	const char *dropped = NULL;
	json_t *res = resource_body(c, &dropped);
	if (!res)
		return;
	if (store_new_id(id) < 0)
		scim_fail(c, 500, NULL, "no randomness for a new id (getrandom failed)");
	else if (parse_projection(c, &proj)) {
		write_resource(c, id, res, true, 201, &proj);
		scim_projection_free(&proj);
		log_dropped(c, id, dropped);
	}
	json_decref(res);
}

void scim_replace(struct scim_ctx *c)
{
	struct scim_projection proj;
	const char *dropped = NULL;
	json_t *res = resource_body(c, &dropped);
	if (!res)
		return;
	if (parse_projection(c, &proj)) {
		write_resource(c, c->id, res, false, 200, &proj);
		scim_projection_free(&proj);
		log_dropped(c, c->id, dropped);
	}
	json_decref(res);
}

void scim_get(struct scim_ctx *c)
{
	struct scim_projection proj;
	if (!parse_projection(c, &proj))
		return;
	if (store_begin(c->svc->st, false) != STORE_OK)
		scim_fail_store(c, STORE_ERROR);
	else if (check_preconditions(c) == 0 && respond_with(c, c->id, 200, &proj) == 0)
		store_commit(c->svc->st);
	scim_projection_free(&proj);
}

void scim_delete(struct scim_ctx *c)
{
	if (scim_write_begin(c) < 0 || check_preconditions(c) < 0)
		return;
	int rc = store_delete(c->svc->st, c->type, c->id); /* memberships go with it (ON DELETE CASCADE) */
	if (rc != STORE_OK) {
		scim_fail_store(c, rc);
		return;
	}
	c->resp->status = 204;
	scim_commit_write(c);
}

/* The stored resource as PATCH sees it: with its id and, for groups, its member values (only
 * the ones PLAN names, when it has a plan). */
static json_t *patch_target(struct scim_ctx *c, long long *version, struct member_plan *plan)
{
	struct store_record rec;
	int rc = store_get(c->svc->st, c->type, c->id, &rec);
	if (rc != STORE_OK) {
		scim_fail_store(c, rc);
		return NULL;
	}
	json_t *res = rec.resource;
	rec.resource = NULL;
	*version = rec.version;
	json_object_set_new(res, "id", json_string(rec.id));
	if (c->type == SCIM_GROUP) {
		json_t *members =
		    plan ? member_plan_current(c->svc->st, c->id, plan) : scim_members_json(c, c->id, false);
		if (!members) {
			json_decref(res);
			scim_fail_store(c, STORE_ERROR);
			return NULL;
		}
		json_object_set_new(res, "members", members);
	}
	return res;
}

/* Groups answer 204 unless the client asked for attributes: a 10k-member group is not sent back
 * for every membership change (RFC 7644 3.5.2 allows either). */
static bool patch_returns_body(const struct scim_ctx *c)
{
	return c->type == SCIM_USER || c->req->attributes || c->req->excluded_attributes;
}

/* The group's new members: only the named ones with a plan, else the whole set. */
static int write_patched_members(struct scim_ctx *c, const json_t *res, const struct member_plan *plan)
{
	if (!plan)
		return write_members(c, c->id, res);
	int rc = member_plan_write(c->svc->st, c->id, plan, res);
	if (rc != STORE_OK)
		scim_fail_store(c, rc);
	return rc == STORE_OK ? 0 : -1;
}

static void apply_patch(struct scim_ctx *c, const json_t *ops, const struct scim_projection *proj,
                        struct member_plan *plan)
{
	struct scim_error err = {0};
	char now[STORE_TIME_LEN];
	long long version = 0;
	json_t *res = patch_target(c, &version, plan);
	if (!res)
		return;
	if (preconditions(c, version) < 0) {
		json_decref(res);
		return;
	}
	if (scim_patch_apply(res, c->type, ops, &err) < 0) {
		scim_fail_err(c, &err);
		json_decref(res);
		return;
	}
	store_now(now);
	int rc = store_update(c->svc->st, c->type, c->id, res, now);
	if (rc != STORE_OK)
		fail_write(c, rc, res);
	else if (c->type != SCIM_GROUP || write_patched_members(c, res, plan) == 0) {
		if (patch_returns_body(c)) {
			if (respond_with(c, c->id, 200, proj) == 0)
				scim_commit_write(c);
		} else if (scim_commit_write(c) == 0) {
			c->resp->status = 204;
			/* store_update bumped the version by one while this request held the writer */
			snprintf(c->resp->etag, sizeof(c->resp->etag), "W/\"%lld\"", version + 1);
		}
	}
	log_dropped(c, c->id, err.dropped);
	json_decref(res);
}

void scim_patch(struct scim_ctx *c)
{
	struct scim_projection proj;
	struct member_plan plan;
	int planned = 0;
	json_t *ops = parse_body(c);
	if (!ops)
		return;
	if (c->type == SCIM_GROUP && (planned = member_plan_build(ops, &plan)) < 0)
		scim_fail_store(c, STORE_ERROR);
	else if (parse_projection(c, &proj)) {
		if (scim_write_begin(c) == 0)
			apply_patch(c, ops, &proj, planned ? &plan : NULL);
		scim_projection_free(&proj);
	}
	if (planned > 0)
		member_plan_free(&plan);
	json_decref(ops);
}
