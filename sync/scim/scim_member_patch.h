/* Group PATCHes that add or remove listed members (what Entra's provisioning sends): only the
 * members the request names are loaded and written, so a 1,000-member PATCH of a 100k-member
 * group costs the same as one of a 1k-member group. Private to scim_crud.c. */
#ifndef SYNC_SCIM_MEMBER_PATCH_H
#define SYNC_SCIM_MEMBER_PATCH_H

#include <jansson.h>
#include <stdbool.h>

#include "sync/scim/scim_internal.h"
#include "sync/store/store.h"

struct member_plan {
	char **ids;   /* every member id the request names, once */
	bool *before; /* whether ids[i] was a member before the request */
	size_t n, cap;
	struct scim_strset seen;
};

/* 1 when every operation of BODY is a member add/remove naming its members, or touches an
 * attribute other than members: *PLAN then lists the named ids. 0 when the request needs the
 * whole member list (replace, bare remove, pathless ops, anything unusual; that path also
 * reports malformed requests). -1 out of memory. */
int member_plan_build(const json_t *body, struct member_plan *plan);
void member_plan_free(struct member_plan *plan);

/* The named ids that are members of GROUP_ID now, as [{"value": id}] (records plan->before). */
json_t *member_plan_current(struct store *st, const char *group_id, struct member_plan *plan);

/* Writes the difference between plan->before and the `members` of the patched RESOURCE. */
int member_plan_write(struct store *st, const char *group_id, const struct member_plan *plan, const json_t *resource);

#endif
