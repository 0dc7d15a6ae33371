/* RFC 7644 3.5.2 PATCH, plus every form Entra's provisioning service sends. */
#ifndef SCIM_PATCH_H
#define SCIM_PATCH_H

#include <jansson.h>

#include "sync/scim/scim_error.h"
#include "sync/scim/scim_filter.h"

/* A parsed PATCH path: [URN:]attr[.sub] | attr[filter][.sub]. */
struct scim_path {
	char *urn;                  /* schema URN prefix or NULL */
	char *attr;                 /* top-level attribute as written */
	struct scim_filter *filter; /* value filter inside [...], or NULL */
	char *sub;                  /* sub-attribute or NULL */
};

int scim_path_parse(const char *text, struct scim_path *out, struct scim_error *err);
void scim_path_free(struct scim_path *p);

/* Applies the PATCH request BODY (the whole PatchOp message) to RESOURCE, atomically: on error
 * RESOURCE is unchanged and ERR says which operation failed and why. Operations on `id` (other
 * than setting it to itself), `meta` and `schemas` are not applied (mutability). The result is
 * then re-normalised as a PUT body would be, so `schemas` can still change: it gains the
 * enterprise extension URN when the PATCH adds the first enterprise attribute (and keeps it when
 * the last one is removed), and the core URN if it was missing. Operation values nested deeper
 * than SCIM_MAX_DEPTH levels are refused (400 invalidValue). Group member removal follows Entra:
 * a `value` array removes those members only, `members[value eq "x"]` that one, a bare path all. */
int scim_patch_apply(json_t *resource, enum scim_resource_type type, const json_t *body, struct scim_error *err);

#endif
