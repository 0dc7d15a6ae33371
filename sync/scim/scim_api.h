/* The SCIM 2.0 service provider, independent of HTTP: one request in, one response out.
 * http_server.c turns libmicrohttpd requests into scim_request and writes scim_response. */
#ifndef SCIM_API_H
#define SCIM_API_H

#include <jansson.h>
#include <stddef.h>

#include "common/config.h"

struct scim_service;

/* Called after every committed write (e.g. publisher_notify); must not block. */
typedef void (*scim_change_fn)(void *arg);

struct scim_request {
	const char *method; /* "GET", "POST", "PUT", "PATCH", "DELETE" */
	const char *path;   /* below the mount point, e.g. "/Users/abc" (no "/scim/v2") */
	/* Query arguments, already percent-decoded ('+' and "%20" as space); NULL when absent. */
	const char *filter;
	const char *start_index;
	const char *count;
	const char *attributes;
	const char *excluded_attributes;
	/* Preconditions (RFC 7232, RFC 7644 3.14): every If-Match / If-None-Match header line,
	 * comma-joined; NULL when absent. */
	const char *if_match;
	const char *if_none_match;
	const char *body; /* NULL or the raw request body */
	size_t body_len;
	const char *base_url; /* "https://host:port/scim/v2", for meta.location */
};

struct scim_response {
	int status;
	json_t *body;       /* owned; NULL for 204 */
	char location[512]; /* Location header for 201, else "" */
	char etag[64];      /* ETag (W/"version"), else ""; a 304 has one and no body */
};

/* Opens (creating or migrating) state.db and prepares every statement. ON_CHANGE may be NULL;
 * when set it is called with ARG after every committed write. NULL on error (logged). */
struct scim_service *scim_service_open(const struct entra_config *cfg, scim_change_fn on_change, void *arg);
/* Thread-safe: libmicrohttpd may call it from several threads. */
void scim_service_handle(struct scim_service *svc, const struct scim_request *req, struct scim_response *resp);
void scim_response_clear(struct scim_response *resp);
/* Status for `entra-sync status`: counts and last request time (unix s, 0 = never). */
struct scim_stats {
	long users, active_users, groups;
	long long last_request;
};
int scim_service_stats(struct scim_service *svc, struct scim_stats *out);
void scim_service_close(struct scim_service *svc);

/* Renders a SCIM error body (urn:ietf:params:scim:api:messages:2.0:Error) into RESP. */
void scim_response_error(struct scim_response *resp, int status, const char *scim_type, const char *detail);

#endif
