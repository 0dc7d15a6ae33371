/* Private to the SCIM service files: the handlers the router (scim_service.c) calls
 * (scim_crud.c, scim_list.c, scim_discovery.c) and their helpers (scim_render.c, scim_project.c).
 * The request context they share is scim_context.h. */
#ifndef SYNC_SCIM_SERVICE_INTERNAL_H
#define SYNC_SCIM_SERVICE_INTERNAL_H

#include <stdbool.h>

#include "sync/scim/scim_context.h"

/* --- scim_crud.c --- */
void scim_create(struct scim_ctx *c);
void scim_get(struct scim_ctx *c);
void scim_replace(struct scim_ctx *c);
void scim_patch(struct scim_ctx *c);
void scim_delete(struct scim_ctx *c);

/* --- scim_list.c --- */
void scim_list(struct scim_ctx *c);

/* --- scim_discovery.c --- */
/* GET /ServiceProviderConfig, /Schemas[/URN], /ResourceTypes[/NAME]; TAIL is what follows. */
void scim_discovery(struct scim_ctx *c, const char *endpoint, const char *tail);

/* --- scim_project.c: attributes= / excludedAttributes= (RFC 7644 3.4.2.5, 3.9) --- */
struct scim_attr_ref {
	char *urn;  /* extension URN, or NULL for the core schema */
	char *attr; /* NULL when the whole extension is named */
	char *sub;  /* sub-attribute or NULL */
};
struct scim_projection {
	struct scim_attr_ref include[SCIM_PROJECTION_MAX];
	size_t n_include;
	struct scim_attr_ref exclude[SCIM_PROJECTION_MAX];
	size_t n_exclude;
};
int scim_projection_parse(enum scim_resource_type type, const char *attributes, const char *excluded,
                          struct scim_projection *p, struct scim_error *err);
void scim_projection_free(struct scim_projection *p);
/* False when the projection drops ATTR (core schema), so it need not be loaded at all. */
bool scim_projection_wants(const struct scim_projection *p, const char *attr);
void scim_projection_apply(const struct scim_projection *p, json_t *resource);

/* --- scim_render.c --- */
/* The resource as returned: schemas and id first, the stored attributes, members (groups, when
 * WITH_MEMBERS), then meta. NULL on error (logged). */
json_t *scim_render(struct scim_ctx *c, const struct store_record *rec, bool with_members);
/* meta.location / Location header: BASE_URL/Users/ID. */
void scim_location(struct scim_ctx *c, const char *id, char *out, size_t outlen);
/* The group's members as [{"value": id}] for PATCH, or with display and $ref for output. */
json_t *scim_members_json(struct scim_ctx *c, const char *group_id, bool full);
/* Collects the distinct `value` strings of a members array (borrowed from MEMBERS). *IDS is
 * malloc'd (free it); -1 with ERR when an element is not {"value": "..."}. */
int scim_member_ids(const json_t *members, const char ***ids, size_t *n, struct scim_error *err);

#endif
