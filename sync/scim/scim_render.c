/* Stored record -> SCIM resource as returned (id, members, meta), and group member lists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "sync/scim/scim_internal.h"
#include "sync/scim/scim_resource.h"
#include "sync/scim/scim_service_internal.h"

void scim_location(struct scim_ctx *c, const char *id, char *out, size_t outlen)
{
	const char *base = c->req->base_url ? c->req->base_url : "";
	snprintf(out, outlen, "%s/%s/%s", base, scim_type_endpoint(c->type), id);
}

struct members_acc {
	struct scim_ctx *ctx;
	json_t *arr;
	bool full;
};

static int add_member(const char *user_id, const char *user_name, void *arg)
{
	struct members_acc *a = arg;
	char ref[768];
	json_t *m = json_pack("{s:s}", "value", user_id);
	if (!m)
		return -1;
	if (a->full) {
		const char *base = a->ctx->req->base_url ? a->ctx->req->base_url : "";
		snprintf(ref, sizeof(ref), "%s/Users/%s", base, user_id);
		json_object_set_new(m, "display", json_string(user_name));
		json_object_set_new(m, "$ref", json_string(ref));
	}
	return json_array_append_new(a->arr, m);
}

json_t *scim_members_json(struct scim_ctx *c, const char *group_id, bool full)
{
	struct members_acc a = {c, json_array(), full};
	if (!a.arr || store_members_each(c->svc->st, group_id, add_member, &a) != STORE_OK) {
		json_decref(a.arr);
		return NULL;
	}
	return a.arr;
}

static json_t *default_schemas(enum scim_resource_type type, const json_t *res)
{
	json_t *s = json_array();
	json_array_append_new(s, json_string(type == SCIM_USER ? SCIM_SCHEMA_USER : SCIM_SCHEMA_GROUP));
	if (type == SCIM_USER && scim_json_get_ci(res, SCIM_SCHEMA_ENTERPRISE, NULL))
		json_array_append_new(s, json_string(SCIM_SCHEMA_ENTERPRISE));
	if (type == SCIM_USER && scim_json_get_ci(res, SCIM_SCHEMA_LOGIN, NULL))
		json_array_append_new(s, json_string(SCIM_SCHEMA_LOGIN));
	return s;
}

static json_t *render_meta(struct scim_ctx *c, const struct store_record *rec)
{
	char location[768], version[48];
	scim_location(c, rec->id, location, sizeof(location));
	snprintf(version, sizeof(version), "W/\"%lld\"", rec->version);
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "resourceType", scim_type_name(c->type), "created", rec->created,
	                 "lastModified", rec->last_modified, "location", location, "version", version);
}

static bool server_owned(const char *key)
{
	return scim_ieq_str(key, "schemas") || scim_ieq_str(key, "id") || scim_ieq_str(key, "meta") ||
	       scim_ieq_str(key, "members");
}

/* Returned never (RFC 7643): nothing stores a password now, but a state.db written by an
 * older entra-syncd may still hold one. */
static bool never_returned(enum scim_resource_type type, const char *key)
{
	return scim_attr_write_only(type, key) != NULL;
}

json_t *scim_render(struct scim_ctx *c, const struct store_record *rec, bool with_members)
{
	const char *k;
	json_t *v, *out = json_object();
	json_t *schemas = scim_json_get_ci(rec->resource, "schemas", NULL);
	if (!out)
		return NULL;
	json_object_set_new(out, "schemas",
	                    json_is_array(schemas) ? json_incref(schemas) : default_schemas(c->type, rec->resource));
	json_object_set_new(out, "id", json_string(rec->id));
	json_object_foreach(rec->resource, k, v) {
		if (!server_owned(k) && !never_returned(c->type, k))
			json_object_set(out, k, v);
	}
	if (c->type == SCIM_GROUP && with_members) {
		json_t *members = scim_members_json(c, rec->id, true);
		if (!members) {
			json_decref(out);
			return NULL;
		}
		json_object_set_new(out, "members", members);
	}
	json_object_set_new(out, "meta", render_meta(c, rec));
	return out;
}

int scim_member_ids(const json_t *members, const char ***ids, size_t *n, struct scim_error *err)
{
	*ids = NULL;
	*n = 0;
	if (!members || json_is_null(members))
		return 0;
	if (!json_is_array(members))
		return scim_error_set(err, 400, "invalidValue",
		                      "members must be an array of {\"value\": \"<user id>\"}");
	if (!json_array_size(members))
		return 0;
	*ids = calloc(json_array_size(members), sizeof(**ids));
	if (!*ids)
		return scim_error_set(err, 500, NULL, "out of memory");
	for (size_t i = 0; i < json_array_size(members); i++) {
		json_t *value = scim_json_get_ci(json_array_get(members, i), "value", NULL);
		if (!json_is_string(value)) {
			free(*ids);
			*ids = NULL;
			return scim_error_set(err, 400, "invalidValue",
			                      "members[%zu] needs a string \"value\" (a user id)", i);
		}
		(*ids)[(*n)++] = json_string_value(value);
	}
	return 0;
}
