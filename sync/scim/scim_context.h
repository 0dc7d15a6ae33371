/* The request context of the SCIM service (struct scim_ctx) and its error and write-batch
 * helpers: what the router (scim_service.c) and its handlers (scim_crud.c, scim_list.c,
 * scim_discovery.c) share, so the handlers never call back into the router. */
#ifndef SYNC_SCIM_CONTEXT_H
#define SYNC_SCIM_CONTEXT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "sync/scim/scim_api.h"
#include "sync/scim/scim_error.h"
#include "sync/scim/scim_filter.h"
#include "sync/store/group_commit.h"
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

/* --- scim_context.c --- */
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

#endif
