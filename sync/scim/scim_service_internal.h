/* Private to the SCIM service files (scim_service.c, scim_crud.c, scim_list.c, scim_render.c,
 * scim_project.c, scim_discovery.c). */
#ifndef SYNC_SCIM_SERVICE_INTERNAL_H
#define SYNC_SCIM_SERVICE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "sync/store/group_commit.h"
#include "sync/scim/scim_api.h"
#include "sync/scim/scim_error.h"
#include "sync/scim/scim_filter.h"
#include "sync/store/store.h"
#include "sync/store/store_pool.h"

#define SCIM_COUNT_DEFAULT  100
#define SCIM_COUNT_MAX      1000
#define SCIM_PROJECTION_MAX 64 /* attributes named in attributes= / excludedAttributes= */

#define SCIM_READERS 8 /* read-only state.db connections: at least libmicrohttpd's thread count */

struct scim_service {
	struct store *writer;       /* touched only by the request holding the group commit's turn */
	struct group_commit commit; /* write requests share COMMITs (group_commit.h) */
	struct store_pool readers;  /* GET requests and stats: committed data only */
	size_t max_body;
	scim_change_fn on_change;
	void *on_change_arg;
	_Atomic(time_t) last_request_saved; /* reads persist last_request at most every few seconds */
};

/* What a handler reaches through c->svc: the connection this request must use. A write request
 * gets the writer from scim_write_begin on (NULL before); a GET a pooled read-only one. */
struct scim_session {
	struct scim_service *service;
	struct store *st;
};

/* One request being served. */
struct scim_ctx {
	struct scim_session *svc;
	const struct scim_request *req;
	struct scim_response *resp;
	enum scim_resource_type type;
	const char *id;          /* NULL for the collection */
	struct gc_member member; /* its place in a write batch (scim_write_begin) */
	bool wrote;              /* its changes are to be kept (scim_commit_write) */
};

/* --- scim_service.c --- */
void scim_fail(struct scim_ctx *c, int status, const char *scim_type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void scim_fail_err(struct scim_ctx *c, const struct scim_error *err);
/* Maps a store status (not STORE_OK) to its SCIM error. */
void scim_fail_store(struct scim_ctx *c, int store_status);
/* Joins the write batch: from here on c->svc->st may be written. 0, or -1 with a 500 set. */
int scim_write_begin(struct scim_ctx *c);
/* Keeps the request's changes; they are committed with its batch before the response is sent. */
int scim_commit_write(struct scim_ctx *c);
const char *scim_type_name(enum scim_resource_type type);     /* "User" / "Group" */
const char *scim_type_endpoint(enum scim_resource_type type); /* "Users" / "Groups" */

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
