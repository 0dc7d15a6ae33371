/* GET /ServiceProviderConfig, /Schemas, /ResourceTypes (RFC 7643 sections 5-7). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sync/scim/scim_resource.h"
#include "sync/scim/scim_service_internal.h"

#define SCHEMA_SPC           "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
#define SCHEMA_SCHEMA        "urn:ietf:params:scim:schemas:core:2.0:Schema"
#define SCHEMA_RESOURCE_TYPE "urn:ietf:params:scim:schemas:core:2.0:ResourceType"

static json_t *attr_json(const struct scim_attr *d)
{
	json_t *a =
	    json_pack("{s:s, s:s, s:b, s:s, s:b, s:b, s:s, s:s, s:s}", "name", d->name, "type",
	              scim_attr_type_name(d->type), "multiValued", d->multi_valued, "description", d->name, "required",
	              d->required, "caseExact", d->case_exact, "mutability", scim_mutability_name(d->mutability),
	              "returned", scim_returned_name(d->returned), "uniqueness", scim_uniqueness_name(d->uniqueness));
	if (a && d->subs) {
		json_t *subs = json_array();
		for (const struct scim_attr *s = d->subs; s->name; s++)
			json_array_append_new(subs, attr_json(s));
		json_object_set_new(a, "subAttributes", subs);
	}
	return a;
}

static void location(struct scim_ctx *c, const char *what, const char *id, char *out, size_t outlen)
{
	const char *base = c->req->base_url ? c->req->base_url : "";
	snprintf(out, outlen, "%s/%s%s%s", base, what, id ? "/" : "", id ? id : "");
}

static json_t *schema_json(struct scim_ctx *c, size_t i)
{
	char loc[768];
	json_t *attrs = json_array();
	const struct scim_schema *schema = &scim_schemas[i];
	for (const struct scim_attr *d = schema->attrs; d->name; d++)
		json_array_append_new(attrs, attr_json(d));
	location(c, "Schemas", schema->id, loc, sizeof(loc));
	return json_pack("{s:[s], s:s, s:s, s:s, s:o, s:{s:s, s:s}}", "schemas", SCHEMA_SCHEMA, "id", schema->id,
	                 "name", schema->name, "description", schema->description, "attributes", attrs, "meta",
	                 "resourceType", "Schema", "location", loc);
}

static json_t *resource_type_json(struct scim_ctx *c, enum scim_resource_type type)
{
	char loc[768], endpoint[16];
	const char *name = scim_type_name(type);
	location(c, "ResourceTypes", name, loc, sizeof(loc));
	snprintf(endpoint, sizeof(endpoint), "/%s", scim_type_endpoint(type));
	json_t *rt = json_pack("{s:[s], s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "schemas", SCHEMA_RESOURCE_TYPE, "id",
	                       name, "name", name, "endpoint", endpoint, "description", name, "schema",
	                       type == SCIM_USER ? SCIM_SCHEMA_USER : SCIM_SCHEMA_GROUP, "meta", "resourceType",
	                       "ResourceType", "location", loc);
	if (rt && type == SCIM_USER)
		json_object_set_new(rt, "schemaExtensions",
		                    json_pack("[{s:s, s:b}, {s:s, s:b}]", "schema", SCIM_SCHEMA_ENTERPRISE, "required",
		                              0, "schema", SCIM_SCHEMA_LOGIN, "required", 0));
	return rt;
}

static json_t *service_provider_config(struct scim_ctx *c)
{
	char loc[768];
	location(c, "ServiceProviderConfig", NULL, loc, sizeof(loc));
	return json_pack("{s:[s], s:{s:b}, s:{s:b, s:i, s:i}, s:{s:b, s:i}, s:{s:b}, s:{s:b}, s:{s:b},"
	                 " s:[{s:s, s:s, s:s, s:b}], s:{s:s, s:s}}",
	                 "schemas", SCHEMA_SPC, "patch", "supported", 1, "bulk", "supported", 0, "maxOperations", 0,
	                 "maxPayloadSize", 0, "filter", "supported", 1, "maxResults", SCIM_COUNT_MAX, "changePassword",
	                 "supported", 0, "sort", "supported", 0, "etag", "supported", 1, "authenticationSchemes",
	                 "type", "oauthbearertoken", "name", "OAuth Bearer Token", "description",
	                 "Bearer token created with `entra-sync token new`", "primary", 1, "meta", "resourceType",
	                 "ServiceProviderConfig", "location", loc);
}

static json_t *list_of(json_t *resources)
{
	size_t n = json_array_size(resources);
	return json_pack("{s:[s], s:I, s:i, s:I, s:o}", "schemas", SCIM_SCHEMA_LIST, "totalResults", (json_int_t)n,
	                 "startIndex", 1, "itemsPerPage", (json_int_t)n, "Resources", resources);
}

static json_t *schemas_response(struct scim_ctx *c, const char *tail)
{
	if (!*tail) {
		json_t *all = json_array();
		for (size_t i = 0; i < scim_schema_count; i++)
			json_array_append_new(all, schema_json(c, i));
		return list_of(all);
	}
	for (size_t i = 0; i < scim_schema_count; i++)
		if (strcasecmp(tail, scim_schemas[i].id) == 0)
			return schema_json(c, i);
	return NULL;
}

static json_t *resource_types_response(struct scim_ctx *c, const char *tail)
{
	if (!*tail)
		return list_of(
		    json_pack("[o, o]", resource_type_json(c, SCIM_USER), resource_type_json(c, SCIM_GROUP)));
	if (strcasecmp(tail, "User") == 0)
		return resource_type_json(c, SCIM_USER);
	if (strcasecmp(tail, "Group") == 0)
		return resource_type_json(c, SCIM_GROUP);
	return NULL;
}

void scim_discovery(struct scim_ctx *c, const char *endpoint, const char *tail)
{
	json_t *body = NULL;
	if (strcasecmp(endpoint, "ServiceProviderConfig") == 0)
		body = *tail ? NULL : service_provider_config(c);
	else if (strcasecmp(endpoint, "Schemas") == 0)
		body = schemas_response(c, tail);
	else
		body = resource_types_response(c, tail);
	if (!body) {
		scim_fail(c, 404, NULL, "no such %s: %.200s", endpoint, tail);
		return;
	}
	c->resp->status = 200;
	c->resp->body = body;
}
