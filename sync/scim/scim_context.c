/* One SCIM request's context: its error responses and its place in a write batch. Below the
 * router (scim_service.c) and beside the handlers, which reach it without calling back up. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sync/scim/scim_context.h"
#include "sync/scim/scim_resource.h"

void scim_response_clear(struct scim_response *resp)
{
	json_decref(resp->body);
	memset(resp, 0, sizeof(*resp));
}

void scim_response_error(struct scim_response *resp, int status, const char *scim_type, const char *detail)
{
	char code[16];
	json_decref(resp->body);
	memset(resp, 0, sizeof(*resp));
	snprintf(code, sizeof(code), "%d", status);
	resp->status = status;
	/* RFC 7644 3.12: "status" is a string. */
	resp->body = json_pack("{s:[s], s:s, s:s}", "schemas", SCIM_SCHEMA_ERROR, "status", code, "detail",
	                       detail ? detail : "");
	if (resp->body && scim_type)
		json_object_set_new(resp->body, "scimType", json_string(scim_type));
}

void scim_fail(struct scim_ctx *c, int status, const char *scim_type, const char *fmt, ...)
{
	char detail[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	scim_response_error(c->resp, status, scim_type, detail);
}

void scim_fail_err(struct scim_ctx *c, const struct scim_error *err)
{
	scim_response_error(c->resp, err->status ? err->status : 400, err->scim_type, err->detail);
}

void scim_fail_store(struct scim_ctx *c, int store_status)
{
	const char *name = scim_type_name(c->type);
	switch (store_status) {
	case STORE_NOT_FOUND:
		scim_fail(c, 404, NULL, "%s %s not found", name, c->id ? c->id : "");
		break;
	case STORE_CONFLICT:
		scim_fail(c, 409, "uniqueness", "another %s already has this %s", name,
		          c->type == SCIM_USER ? "userName" : "displayName");
		break;
	case STORE_INVALID:
		scim_fail(c, 400, "invalidValue", "%s needs a string %s", name,
		          c->type == SCIM_USER ? "userName" : "displayName");
		break;
	default:
		scim_fail(c, 500, NULL, "state.db failed; see the entra-syncd log");
	}
}

const char *scim_type_name(enum scim_resource_type type)
{
	return type == SCIM_USER ? "User" : "Group";
}

const char *scim_type_endpoint(enum scim_resource_type type)
{
	return type == SCIM_USER ? "Users" : "Groups";
}

int scim_write_begin(struct scim_ctx *c)
{
	struct scim_service *svc = c->svc->service;
	if (group_commit_enter(&svc->commit, &c->member) == 0) {
		c->svc->st = svc->writer;
		return 0;
	}
	scim_fail_store(c, STORE_ERROR);
	return -1;
}

int scim_commit_write(struct scim_ctx *c)
{
	c->wrote = true;
	return 0;
}
