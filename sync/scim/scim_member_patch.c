/* Member-only group PATCHes in time proportional to the request (sync/scim/scim_member_patch.h).
 * The PATCH itself still goes through scim_patch_apply, on the group with just the named
 * members, so validation, errors and add/remove semantics are exactly the general path's. */
#include "sync/scim/scim_member_patch.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sync/scim/scim_patch.h"

enum { NOT_APPLICABLE = 0, APPLICABLE = 1, OOM = -1 };

static int plan_add(struct member_plan *pl, const char *id)
{
	int added = scim_strset_add(&pl->seen, id, strlen(id));
	if (added <= 0)
		return added < 0 ? OOM : APPLICABLE;
	if (pl->n == pl->cap) {
		size_t ncap = pl->cap ? pl->cap * 2 : 64;
		char **ids = realloc(pl->ids, ncap * sizeof(*ids));
		if (!ids)
			return OOM;
		pl->ids = ids;
		pl->cap = ncap;
	}
	if (!(pl->ids[pl->n] = strdup(id)))
		return OOM;
	pl->n++;
	return APPLICABLE;
}

/* {"value": "id"} or an array of those; anything else is left to the general path. */
static int plan_values(struct member_plan *pl, const json_t *value)
{
	const json_t *e;
	size_t i;
	if (json_is_object(value)) {
		const json_t *v = scim_json_get_ci(value, "value", NULL);
		return json_is_string(v) ? plan_add(pl, json_string_value(v)) : NOT_APPLICABLE;
	}
	if (!json_is_array(value))
		return NOT_APPLICABLE;
	json_array_foreach(value, i, e) {
		int rc = json_is_object(e) ? plan_values(pl, e) : NOT_APPLICABLE;
		if (rc != APPLICABLE)
			return rc;
	}
	return APPLICABLE;
}

/* The id of a `members[value eq "id"]` filter. */
static int plan_filter(struct member_plan *pl, const struct scim_filter *f)
{
	json_t *clauses = json_object();
	if (!clauses)
		return OOM;
	int rc = NOT_APPLICABLE;
	const json_t *v = NULL;
	if (scim_filter_eq_clauses(f, clauses) == 0 && json_object_size(clauses) == 1)
		v = scim_json_get_ci(clauses, "value", NULL);
	if (json_is_string(v))
		rc = plan_add(pl, json_string_value(v));
	json_decref(clauses);
	return rc;
}

static int plan_member_op(struct member_plan *pl, const char *op, const struct scim_path *p, const json_t *value)
{
	if (p->sub || p->urn)
		return NOT_APPLICABLE;
	if (strcasecmp(op, "add") == 0 && !p->filter)
		return plan_values(pl, value);
	if (strcasecmp(op, "remove") == 0 && !p->filter && value)
		return plan_values(pl, value);
	if (strcasecmp(op, "remove") == 0 && p->filter && !value)
		return plan_filter(pl, p->filter);
	return NOT_APPLICABLE;
}

static int plan_op(struct member_plan *pl, const json_t *op)
{
	const json_t *name = json_is_object(op) ? scim_json_get_ci(op, "op", NULL) : NULL;
	const json_t *path = json_is_object(op) ? scim_json_get_ci(op, "path", NULL) : NULL;
	const json_t *value = json_is_object(op) ? scim_json_get_ci(op, "value", NULL) : NULL;
	struct scim_error err = {0};
	struct scim_path p;
	if (!json_is_string(name) || !json_is_string(path) || strncasecmp(json_string_value(path), "urn:", 4) == 0)
		return NOT_APPLICABLE; /* pathless and schema-wide operations may set members */
	if (scim_path_parse(json_string_value(path), &p, &err) < 0)
		return NOT_APPLICABLE;
	int rc = APPLICABLE;
	if (p.attr && strcasecmp(p.attr, "members") == 0)
		rc = plan_member_op(pl, json_string_value(name), &p, value);
	else if (p.urn)
		rc = NOT_APPLICABLE;
	scim_path_free(&p);
	return rc;
}

int member_plan_build(const json_t *body, struct member_plan *pl)
{
	const json_t *ops = json_is_object(body) ? scim_json_get_ci(body, "Operations", NULL) : NULL;
	const json_t *op;
	size_t i;
	memset(pl, 0, sizeof(*pl));
	if (!json_is_array(ops) || json_array_size(ops) == 0)
		return NOT_APPLICABLE;
	if (scim_strset_init(&pl->seen, 64) < 0)
		return OOM;
	json_array_foreach(ops, i, op) {
		int rc = plan_op(pl, op);
		if (rc != APPLICABLE) {
			member_plan_free(pl);
			return rc;
		}
	}
	return APPLICABLE;
}

void member_plan_free(struct member_plan *pl)
{
	for (size_t i = 0; i < pl->n; i++)
		free(pl->ids[i]);
	free(pl->ids);
	free(pl->before);
	scim_strset_free(&pl->seen);
	memset(pl, 0, sizeof(*pl));
}

json_t *member_plan_current(struct store *st, const char *group_id, struct member_plan *pl)
{
	json_t *arr = json_array();
	if (!arr || !(pl->before = calloc(pl->n + 1, sizeof(*pl->before)))) {
		json_decref(arr);
		return NULL;
	}
	for (size_t i = 0; i < pl->n; i++) {
		if (store_member_has(st, group_id, pl->ids[i], &pl->before[i]) != STORE_OK ||
		    (pl->before[i] && json_array_append_new(arr, json_pack("{s:s}", "value", pl->ids[i])) < 0)) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* The member ids left in RESOURCE's members after the PATCH. */
static int final_set(const json_t *resource, struct scim_strset *after)
{
	const json_t *members = scim_json_get_ci(resource, "members", NULL), *e;
	size_t i;
	memset(after, 0, sizeof(*after));
	if (scim_strset_init(after, json_array_size(members) + 1) < 0)
		return -1;
	json_array_foreach(members, i, e) {
		const json_t *v = json_is_object(e) ? scim_json_get_ci(e, "value", NULL) : NULL;
		if (json_is_string(v) && scim_strset_add(after, json_string_value(v), json_string_length(v)) < 0)
			return -1;
	}
	return 0;
}

int member_plan_write(struct store *st, const char *group_id, const struct member_plan *pl, const json_t *resource)
{
	struct scim_strset after;
	int ret = STORE_ERROR;
	if (final_set(resource, &after) == 0) {
		ret = STORE_OK;
		for (size_t i = 0; i < pl->n && ret == STORE_OK; i++) {
			bool now = scim_strset_contains(&after, pl->ids[i], strlen(pl->ids[i]));
			if (now != pl->before[i])
				ret = store_member_set(st, group_id, pl->ids[i], now);
		}
	}
	scim_strset_free(&after);
	return ret;
}
