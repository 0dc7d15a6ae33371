/* RFC 7644 3.5.2 PATCH on a copy of the resource, swapped in only when every operation succeeded. */
#include "sync/scim/scim_patch.h"
#include "sync/scim/scim_depth.h"
#include "sync/scim/scim_internal.h"
#include "sync/scim/scim_resource.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Operations plus values of one request; 10k members in one PATCH is routine for Entra. */
#define SCIM_PATCH_MAX_VALUES 100000

enum patch_kind { PATCH_ADD, PATCH_REPLACE, PATCH_REMOVE };

/* A Group's member values, kept across the operations of one request so that adding or removing
 * members costs O(1) each instead of a scan of the array. Removed members leave the JSON array
 * in one compaction pass (members_flush). */
struct member_index {
	bool built;
	struct scim_strset live;    /* member values present once pending removals are applied */
	struct scim_strset removed; /* values still in the JSON array but removed */
};

struct patch_ctx {
	json_t *work;
	enum scim_resource_type type;
	struct scim_error *err;
	struct member_index members;
};

static int oom(struct patch_ctx *ctx)
{
	return scim_error_set(ctx->err, 500, NULL, "out of memory");
}

/* ---------- JSON helpers ---------- */

/* Sets OBJ[KEY] (reusing the spelling of a case-insensitively equal key); V NULL deletes. Steals V. */
static void set_ci(json_t *obj, const char *key, json_t *v)
{
	const char *actual = NULL;

	if (!v) {
		scim_json_del_ci(obj, key);
		return;
	}
	if (scim_json_get_ci(obj, key, &actual))
		json_object_set_new(obj, actual, v);
	else
		json_object_set_new(obj, key, v);
}

/* Copies every member of SRC into DST (RFC 7644: sub-attributes not given are left unchanged). */
static void merge_into(json_t *dst, const json_t *src)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)src, k, v)
		set_ci(dst, k, json_is_null(v) ? NULL : json_incref(v));
}

static const char *member_value(const json_t *e, size_t *len)
{
	const json_t *v = json_is_object(e) ? scim_json_get_ci(e, "value", NULL) : NULL;
	if (!json_is_string(v))
		return NULL;
	*len = json_string_length(v);
	return json_string_value(v);
}

/* Identity of an element for de-duplication and removal: its "value" when BY_VALUE, else its JSON. */
static char *element_key(const json_t *e, bool by_value, size_t *len)
{
	const char *v = by_value ? member_value(e, len) : NULL;
	char *key;

	if (v) {
		key = malloc(*len + 2);
		if (key) {
			key[0] = 'v';
			memcpy(key + 1, v, *len);
			key[++*len] = '\0';
		}
		return key;
	}
	key = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	*len = key ? strlen(key) : 0;
	return key;
}

static int keyset_add(struct scim_strset *set, const json_t *e, bool by_value)
{
	size_t len;
	char *key = element_key(e, by_value, &len);
	int rc = key ? scim_strset_add(set, key, len) : -1;
	free(key);
	return rc;
}

static int keyset_has(const struct scim_strset *set, const json_t *e, bool by_value, bool *has)
{
	size_t len;
	char *key = element_key(e, by_value, &len);
	if (!key)
		return -1;
	*has = scim_strset_contains(set, key, len);
	free(key);
	return 0;
}

/* ---------- the member index ---------- */

static bool is_members(const struct patch_ctx *ctx, const struct scim_path *p)
{
	return ctx->type == SCIM_GROUP && (!p->urn || scim_urn_is_core(SCIM_GROUP, p->urn)) &&
	       scim_ieq_str(p->attr, "members");
}

static int members_build(struct patch_ctx *ctx)
{
	struct member_index *m = &ctx->members;
	json_t *arr = scim_json_get_ci(ctx->work, "members", NULL), *e;
	const char *v;
	size_t i, len;

	if (m->built)
		return 0;
	if (scim_strset_init(&m->live, json_array_size(arr)) < 0 || scim_strset_init(&m->removed, 16) < 0)
		goto fail;
	json_array_foreach(arr, i, e)
		if ((v = member_value(e, &len)) && scim_strset_add(&m->live, v, len) < 0)
			goto fail;
	m->built = true;
	return 0;
fail:
	scim_strset_free(&m->live);
	scim_strset_free(&m->removed);
	return oom(ctx);
}

static void members_forget(struct member_index *m)
{
	scim_strset_free(&m->live);
	scim_strset_free(&m->removed);
	m->built = false;
}

/* Drops removed members from the JSON array in one pass and forgets the index. */
static int members_flush(struct patch_ctx *ctx)
{
	struct member_index *m = &ctx->members;
	const char *key = NULL, *v;
	json_t *arr, *kept, *e;
	size_t i, len;

	if (!m->built)
		return 0;
	arr = scim_json_get_ci(ctx->work, "members", &key);
	if (m->removed.count && json_is_array(arr)) {
		kept = json_array();
		if (!kept)
			return oom(ctx);
		json_array_foreach(arr, i, e)
			if (!(v = member_value(e, &len)) || !scim_strset_contains(&m->removed, v, len))
				json_array_append(kept, e);
		if (json_array_size(kept))
			json_object_set_new(ctx->work, key, kept);
		else {
			json_decref(kept);
			json_object_del(ctx->work, key);
		}
	}
	members_forget(m);
	return 0;
}

/* Appends the members in ITEMS (normalised elements) that are not members yet. */
static int members_add(struct patch_ctx *ctx, const json_t *items)
{
	struct member_index *m = &ctx->members;
	json_t *arr, *e;
	const char *v;
	size_t i, len = 0;

	if (members_build(ctx) < 0)
		return -1;
	arr = scim_json_get_ci(ctx->work, "members", NULL);
	if (!json_is_array(arr)) {
		arr = json_array();
		json_object_set_new(ctx->work, "members", arr);
	}
	json_array_foreach(items, i, e) {
		v = member_value(e, &len);
		if (scim_strset_remove(&m->removed, v, len)) { /* removed earlier in this request: still in the array */
			if (scim_strset_add(&m->live, v, len) < 0)
				return oom(ctx);
			continue;
		}
		int added = scim_strset_add(&m->live, v, len);
		if (added < 0)
			return oom(ctx);
		if (added)
			json_array_append(arr, e);
	}
	return 0;
}

static int members_remove(struct patch_ctx *ctx, const char *v, size_t len)
{
	struct member_index *m = &ctx->members;

	if (members_build(ctx) < 0)
		return -1;
	if (scim_strset_remove(&m->live, v, len) && scim_strset_add(&m->removed, v, len) < 0)
		return oom(ctx);
	return 0;
}

/* remove members with value [{"value": id}, ...]: only those. */
static int members_remove_listed(struct patch_ctx *ctx, const json_t *value)
{
	json_t *e;
	size_t i, len;
	const char *v;

	if (json_is_object(value))
		return (v = member_value(value, &len))
		           ? members_remove(ctx, v, len)
		           : scim_error_set(ctx->err, 400, "invalidValue", "members to remove need a string 'value'");
	json_array_foreach(value, i, e) {
		if (!(v = member_value(e, &len)))
			return scim_error_set(ctx->err, 400, "invalidValue", "value[%zu] needs a string 'value'", i);
		if (members_remove(ctx, v, len) < 0)
			return -1;
	}
	return 0;
}

/* The member id of a `members[value eq "id"]` filter, or NULL. */
static const char *members_filter_value(const struct scim_filter *f, json_t *tmp, size_t *len)
{
	const char *k;
	json_t *v;

	if (scim_filter_eq_clauses(f, tmp) < 0 || json_object_size(tmp) != 1)
		return NULL;
	json_object_foreach(tmp, k, v)
		if (scim_ieq_str(k, "value") && json_is_string(v)) {
			*len = json_string_length(v);
			return json_string_value(v);
		}
	return NULL;
}

/* ---------- generic operations ---------- */

static int normalize(struct patch_ctx *ctx, const struct scim_path *p, const char *sub, bool element, json_t **v)
{
	char where[256];
	snprintf(where, sizeof(where), "%s%s%s", p->attr, sub ? "." : "", sub ? sub : "");
	return scim_value_normalize(ctx->type, p->urn, p->attr, sub, element, v, where, ctx->err);
}

/* The object holding P's attribute: the resource, or its extension object (created when CREATE). */
static int container_for(struct patch_ctx *ctx, const struct scim_path *p, bool create, json_t **out)
{
	const char *key;
	json_t *ext;

	*out = ctx->work;
	if (!p->urn || scim_urn_is_core(ctx->type, p->urn))
		return 0;
	if (scim_urn_is_core(SCIM_USER, p->urn) || scim_urn_is_core(SCIM_GROUP, p->urn))
		return scim_error_set(ctx->err, 400, "invalidPath", "schema '%s' does not apply to this resource",
		                      p->urn);
	ext = scim_json_get_ci(ctx->work, p->urn, NULL);
	*out = json_is_object(ext) ? ext : NULL;
	if (*out || !create)
		return 0;
	key = scim_extension_urn(ctx->type, p->urn) ? scim_extension_urn(ctx->type, p->urn) : p->urn;
	*out = json_object();
	if (!*out)
		return oom(ctx);
	set_ci(ctx->work, key, *out);
	return 0;
}

/* Elements of ARR whose key is not in the listed VALUE (array or single element). */
static int remove_listed(struct patch_ctx *ctx, json_t *arr, const json_t *value, bool by_value)
{
	struct scim_strset gone;
	json_t *kept, *e;
	size_t i;
	bool has;

	if (scim_strset_init(&gone, json_is_array(value) ? json_array_size(value) : 1) < 0)
		return oom(ctx);
	if (json_is_array(value)) {
		json_array_foreach(value, i, e)
			if (keyset_add(&gone, e, by_value) < 0)
				goto fail;
	} else if (keyset_add(&gone, value, by_value) < 0) {
		goto fail;
	}
	kept = json_array();
	json_array_foreach(arr, i, e) {
		if (keyset_has(&gone, e, by_value, &has) < 0) {
			json_decref(kept);
			goto fail;
		}
		if (!has)
			json_array_append(kept, e);
	}
	json_array_clear(arr);
	json_array_extend(arr, kept);
	json_decref(kept);
	scim_strset_free(&gone);
	return 0;
fail:
	scim_strset_free(&gone);
	return oom(ctx);
}

/* Appends the ITEMS not already present (exact duplicates; members by value). */
static int append_unique(struct patch_ctx *ctx, json_t *arr, const json_t *items, bool by_value)
{
	struct scim_strset seen;
	json_t *e;
	size_t i;
	int added;

	if (scim_strset_init(&seen, json_array_size(arr) + json_array_size(items)) < 0)
		return oom(ctx);
	json_array_foreach(arr, i, e)
		if (keyset_add(&seen, e, by_value) < 0)
			goto fail;
	json_array_foreach(items, i, e) {
		if ((added = keyset_add(&seen, e, by_value)) < 0)
			goto fail;
		if (added)
			json_array_append(arr, e);
	}
	scim_strset_free(&seen);
	return 0;
fail:
	scim_strset_free(&seen);
	return oom(ctx);
}

static void drop_if_empty(json_t *container, const char *attr)
{
	json_t *v = scim_json_get_ci(container, attr, NULL);
	if ((json_is_array(v) && json_array_size(v) == 0) || (json_is_object(v) && json_object_size(v) == 0))
		scim_json_del_ci(container, attr);
}

static int remove_attr(struct patch_ctx *ctx, const struct scim_path *p, json_t *container, const json_t *value)
{
	json_t *existing = scim_json_get_ci(container, p->attr, NULL);

	if (!existing)
		return 0;
	if (json_is_array(existing) && value && !json_is_null(value)) {
		if (remove_listed(ctx, existing, value, true) < 0)
			return -1;
		drop_if_empty(container, p->attr);
		return 0;
	}
	scim_json_del_ci(container, p->attr);
	return 0;
}

/* add/replace of a whole attribute (no filter, no sub-attribute). Steals VALUE. */
static int set_attr(struct patch_ctx *ctx, enum patch_kind kind, const struct scim_path *p, json_t *container,
                    json_t *value)
{
	const char *name = scim_attr_canonical(ctx->type, p->urn, p->attr);
	json_t *existing = scim_json_get_ci(container, p->attr, NULL);
	bool multi = scim_attr_multi_valued(ctx->type, p->urn, p->attr) || json_is_array(existing);
	int rc = 0;

	if (multi && value && !json_is_null(value) && !json_is_array(value)) {
		json_t *wrapped = json_array();
		json_array_append_new(wrapped, value);
		value = wrapped;
	}
	if (normalize(ctx, p, NULL, false, &value) < 0) {
		json_decref(value);
		return -1;
	}
	if (!value) {
		if (kind == PATCH_REPLACE)
			scim_json_del_ci(container, p->attr);
		return 0;
	}
	if (multi && kind == PATCH_ADD && json_is_array(existing))
		rc = append_unique(ctx, existing, value, ctx->type == SCIM_GROUP);
	else if (!multi && json_is_object(existing) && json_is_object(value) && !scim_ieq_str(name, "manager"))
		merge_into(existing, value);
	else
		set_ci(container, name, json_incref(value));
	json_decref(value);
	if (rc == 0 && multi)
		drop_if_empty(container, p->attr);
	return rc;
}

/* attr.sub on a complex attribute, or on every element of a multi-valued one. Steals VALUE. */
static int apply_sub(struct patch_ctx *ctx, enum patch_kind kind, const struct scim_path *p, json_t *container,
                     json_t *value)
{
	const char *name = scim_attr_canonical(ctx->type, p->urn, p->attr);
	json_t *existing = scim_json_get_ci(container, p->attr, NULL), *e;
	bool multi = scim_attr_multi_valued(ctx->type, p->urn, p->attr);
	size_t i;

	if (kind == PATCH_REMOVE) {
		json_decref(value);
		value = NULL;
	} else if (normalize(ctx, p, p->sub, false, &value) < 0) {
		json_decref(value);
		return -1;
	}
	if (existing && !json_is_object(existing) && !json_is_array(existing)) {
		json_decref(value);
		return scim_error_set(ctx->err, 400, "invalidPath", "'%s' has no sub-attributes", p->attr);
	}
	if (!existing && value) {
		existing = (multi ? json_array() : json_object());
		set_ci(container, name, existing);
	}
	if (json_is_object(existing))
		set_ci(existing, p->sub, json_incref(value));
	else if (json_is_array(existing) && json_array_size(existing) == 0 && value)
		json_array_append_new(existing, json_pack("{sO}", p->sub, value));
	else
		json_array_foreach(existing, i, e)
			if (json_is_object(e))
				set_ci(e, p->sub, json_incref(value));
	json_decref(value);
	drop_if_empty(container, p->attr);
	return 0;
}

static int remove_filtered(struct patch_ctx *ctx, const struct scim_path *p, json_t *container)
{
	json_t *arr = scim_json_get_ci(container, p->attr, NULL), *kept, *e;
	size_t i;
	int r;

	if (!json_is_array(arr))
		return 0; /* nothing matches: removal is idempotent */
	kept = json_array();
	if (!kept)
		return oom(ctx);
	json_array_foreach(arr, i, e) {
		r = json_is_object(e) ? scim_filter_match(p->filter, ctx->type, e, ctx->err) : 0;
		if (r < 0) {
			json_decref(kept);
			return -1;
		}
		if (r && p->sub)
			scim_json_del_ci(e, p->sub);
		if (!r || p->sub)
			json_array_append(kept, e);
	}
	json_array_clear(arr);
	json_array_extend(arr, kept);
	json_decref(kept);
	drop_if_empty(container, p->attr);
	return 0;
}

/* Writes VALUE into element E: as sub-attribute P->sub, or merged when there is none. */
static void write_element(const struct scim_path *p, json_t *e, json_t *value)
{
	if (p->sub)
		set_ci(e, p->sub, json_incref(value));
	else if (value)
		merge_into(e, value);
}

/* A new element built from the filter's eq clauses, e.g. emails[type eq "work"] -> {"type": "work"}. */
static int create_element(struct patch_ctx *ctx, const struct scim_path *p, json_t *arr, json_t *value)
{
	json_t *e = json_object();

	if (!e)
		return oom(ctx);
	if (scim_filter_eq_clauses(p->filter, e) < 0) {
		json_decref(e);
		return scim_error_set(ctx->err, 400, "noTarget",
		                      "no value of '%s' matches the filter, and the filter does not describe a new one",
		                      p->attr);
	}
	write_element(p, e, value);
	if (normalize(ctx, p, NULL, true, &e) < 0) {
		json_decref(e);
		return -1;
	}
	if (e)
		json_array_append_new(arr, e);
	return 0;
}

/* attr[filter][.sub]: updates the matching elements, or creates one when none matches. Steals VALUE. */
static int set_filtered(struct patch_ctx *ctx, const struct scim_path *p, json_t *container, json_t *value)
{
	json_t *arr = scim_json_get_ci(container, p->attr, NULL), *e;
	size_t i, matched = 0;
	int r, rc = 0;

	if (arr && !json_is_array(arr)) {
		json_decref(value);
		return scim_error_set(ctx->err, 400, "invalidPath", "'%s' is not multi-valued", p->attr);
	}
	if (normalize(ctx, p, p->sub, !p->sub, &value) < 0) {
		json_decref(value);
		return -1;
	}
	if (!p->sub && value && !json_is_object(value)) {
		json_decref(value);
		return scim_error_set(ctx->err, 400, "invalidValue", "'%s' needs an object value", p->attr);
	}
	if (!arr) {
		arr = json_array();
		set_ci(container, scim_attr_canonical(ctx->type, p->urn, p->attr), arr);
	}
	json_array_foreach(arr, i, e) {
		r = json_is_object(e) ? scim_filter_match(p->filter, ctx->type, e, ctx->err) : 0;
		if (r < 0) {
			rc = -1;
			goto out;
		}
		if (r) {
			matched++;
			write_element(p, e, value);
		}
	}
	if (!matched && value)
		rc = create_element(ctx, p, arr, value);
out:
	json_decref(value);
	drop_if_empty(container, p->attr);
	return rc;
}

/* Fast paths for Entra's member operations; 1 when handled, 0 when not applicable, -1 on error. */
static int members_fast(struct patch_ctx *ctx, enum patch_kind kind, const struct scim_path *p, json_t **value)
{
	json_t *tmp;
	const char *v;
	size_t len;
	int rc;

	if (p->sub)
		return 0;
	if (kind == PATCH_ADD && !p->filter && *value && !json_is_null(*value)) {
		if (!json_is_array(*value)) {
			tmp = json_array();
			json_array_append_new(tmp, *value);
			*value = tmp;
		}
		if (normalize(ctx, p, NULL, false, value) < 0)
			return -1;
		return *value ? (members_add(ctx, *value) < 0 ? -1 : 1) : 1;
	}
	if (kind == PATCH_REMOVE && !p->filter && *value && (json_is_array(*value) || json_is_object(*value)))
		return members_remove_listed(ctx, *value) < 0 ? -1 : 1;
	if (kind == PATCH_REMOVE && p->filter) {
		tmp = json_object();
		v = tmp ? members_filter_value(p->filter, tmp, &len) : NULL;
		rc = v ? (members_remove(ctx, v, len) < 0 ? -1 : 1) : 0;
		json_decref(tmp);
		return rc;
	}
	return 0;
}

static bool is_top_level(const struct patch_ctx *ctx, const struct scim_path *p)
{
	return !p->urn || scim_urn_is_core(ctx->type, p->urn);
}

/* id, meta and schemas belong to the server: id may only be "set" to itself, the others are ignored. */
static int server_owned(struct patch_ctx *ctx, enum patch_kind kind, const struct scim_path *p, const json_t *value)
{
	if (!is_top_level(ctx, p))
		return 0;
	if (scim_ieq_str(p->attr, "id")) {
		if (kind != PATCH_REMOVE && !p->sub && !p->filter &&
		    json_equal(value, json_object_get(ctx->work, "id")))
			return 1;
		return scim_error_set(ctx->err, 400, "mutability", "'id' cannot be changed");
	}
	return (scim_ieq_str(p->attr, "meta") || scim_ieq_str(p->attr, "schemas")) ? 1 : 0;
}

/* Applies one operation at the parsed path P. Steals VALUE (NULL when the operation has none). */
static int apply_at(struct patch_ctx *ctx, enum patch_kind kind, const struct scim_path *p, json_t *value)
{
	json_t *container;
	int rc;

	rc = server_owned(ctx, kind, p, value);
	if (rc == 0 && is_members(ctx, p)) {
		rc = members_fast(ctx, kind, p, &value);
		if (rc == 0 && members_flush(ctx) < 0)
			rc = -1;
	}
	if (rc == 0 && container_for(ctx, p, kind != PATCH_REMOVE, &container) < 0)
		rc = -1;
	if (rc != 0) { /* error, or fully handled above */
		json_decref(value);
		return rc < 0 ? -1 : 0;
	}
	if (kind == PATCH_REMOVE) {
		rc = !container  ? 0
		     : p->filter ? remove_filtered(ctx, p, container)
		     : p->sub    ? apply_sub(ctx, kind, p, container, NULL)
		                 : remove_attr(ctx, p, container, value);
		json_decref(value);
		return rc;
	}
	if (p->filter)
		return set_filtered(ctx, p, container, value);
	if (p->sub)
		return apply_sub(ctx, kind, p, container, value);
	return set_attr(ctx, kind, p, container, value);
}

/* ---------- operations without a path ---------- */

static bool is_schema_urn(const struct patch_ctx *ctx, const char *key)
{
	const json_t *schemas = json_object_get(ctx->work, "schemas"), *s;
	size_t i;

	if (scim_ieq_str(key, SCIM_SCHEMA_USER) || scim_ieq_str(key, SCIM_SCHEMA_GROUP) ||
	    scim_extension_urn(ctx->type, key))
		return true;
	json_array_foreach(schemas, i, s)
		if (json_is_string(s) && scim_ieq_str(json_string_value(s), key))
			return true;
	return false;
}

static int apply_key(struct patch_ctx *ctx, enum patch_kind kind, const char *urn, const char *key, const json_t *v)
{
	struct scim_path p;
	char *text = NULL;
	int rc;

	if (asprintf(&text, "%s%s%s", urn ? urn : "", urn ? ":" : "", key) < 0)
		return oom(ctx);
	rc = scim_path_parse(text, &p, ctx->err);
	free(text);
	if (rc < 0)
		return -1;
	rc = apply_at(ctx, kind, &p, json_deep_copy(v));
	scim_path_free(&p);
	return rc;
}

static int apply_pathless(struct patch_ctx *ctx, enum patch_kind kind, const json_t *value, bool nested);

/* A key that is a whole schema URN: {"urn:...:enterprise:2.0:User": {"department": "x"}}. */
static int apply_schema_object(struct patch_ctx *ctx, enum patch_kind kind, const char *urn, const json_t *v,
                               bool nested)
{
	const char *k;
	json_t *sv;

	if (scim_urn_is_core(ctx->type, urn) && !nested)
		return apply_pathless(ctx, kind, v, true);
	if (json_is_null(v) && kind == PATCH_REPLACE) {
		scim_json_del_ci(ctx->work, urn);
		return 0;
	}
	if (!json_is_object(v) || scim_urn_is_core(ctx->type, urn))
		return scim_error_set(ctx->err, 400, "invalidValue", "'%s' must be an object of attributes", urn);
	json_object_foreach((json_t *)v, k, sv)
		if (apply_key(ctx, kind, urn, k, sv) < 0)
			return -1;
	return 0;
}

static int apply_pathless(struct patch_ctx *ctx, enum patch_kind kind, const json_t *value, bool nested)
{
	const char *k;
	json_t *v;

	if (!json_is_object(value))
		return scim_error_set(ctx->err, 400, "invalidValue",
		                      "an operation without a path needs an object value");
	json_object_foreach((json_t *)value, k, v) {
		int rc = is_schema_urn(ctx, k) ? apply_schema_object(ctx, kind, k, v, nested)
		                               : apply_key(ctx, kind, NULL, k, v);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* ---------- the request ---------- */

static int parse_kind(const json_t *op, enum patch_kind *kind, struct scim_error *err)
{
	const json_t *name = scim_json_get_ci(op, "op", NULL);
	const char *s = json_string_value(name);

	if (s && scim_ieq_str(s, "add"))
		*kind = PATCH_ADD;
	else if (s && scim_ieq_str(s, "replace"))
		*kind = PATCH_REPLACE;
	else if (s && scim_ieq_str(s, "remove"))
		*kind = PATCH_REMOVE;
	else
		return scim_error_set(err, 400, "invalidSyntax", "'op' must be \"add\", \"replace\" or \"remove\"");
	return 0;
}

static int apply_op(struct patch_ctx *ctx, const json_t *op)
{
	const json_t *path = NULL, *value;
	const char *path_text;
	struct scim_path p;
	enum patch_kind kind = PATCH_ADD;
	int rc;

	if (!json_is_object(op))
		return scim_error_set(ctx->err, 400, "invalidSyntax", "an operation must be an object");
	if (parse_kind(op, &kind, ctx->err) < 0)
		return -1;
	path = scim_json_get_ci(op, "path", NULL);
	value = scim_json_get_ci(op, "value", NULL);
	if (path && !json_is_null(path) && !json_is_string(path))
		return scim_error_set(ctx->err, 400, "invalidPath", "'path' must be a string");
	path_text = json_string_value(path);
	if (path_text && !*path_text)
		path_text = NULL;
	if (!path_text && kind == PATCH_REMOVE)
		return scim_error_set(ctx->err, 400, "noTarget", "remove needs a path");
	if (kind != PATCH_REMOVE && !value)
		return scim_error_set(ctx->err, 400, "invalidValue", "%s needs a value",
		                      kind == PATCH_ADD ? "add" : "replace");
	if (scim_json_deeper_than(value, SCIM_MAX_DEPTH))
		return scim_error_set(ctx->err, 400, "invalidValue",
		                      "'value' is nested deeper than %d levels (SCIM attributes are shallow)",
		                      SCIM_MAX_DEPTH);
	if (!path_text)
		return apply_pathless(ctx, kind, value, false);
	if (is_schema_urn(ctx, path_text)) {
		if (kind == PATCH_REMOVE) {
			scim_json_del_ci(ctx->work, path_text);
			return 0;
		}
		return apply_schema_object(ctx, kind, path_text, value, false);
	}
	if (scim_path_parse(path_text, &p, ctx->err) < 0)
		return -1;
	rc = apply_at(ctx, kind, &p, value ? json_deep_copy(value) : NULL);
	scim_path_free(&p);
	return rc;
}

/* Operations plus the elements of array values: bounds the work one request can ask for. */
static size_t count_values(const json_t *ops)
{
	size_t total = json_array_size(ops), i;
	const json_t *op, *v, *member;
	const char *k;

	json_array_foreach(ops, i, op) {
		v = scim_json_get_ci(op, "value", NULL);
		total += json_array_size(v) + json_object_size(v);
		json_object_foreach((json_t *)v, k, member)
			total += json_array_size(member);
	}
	return total;
}

static const json_t *check_body(const json_t *body, struct scim_error *err)
{
	const json_t *schemas = scim_json_get_ci(body, "schemas", NULL), *ops, *s;
	bool is_patch = false;
	size_t i;

	if (!json_is_object(body))
		return scim_error_set(err, 400, "invalidSyntax", "the PATCH body must be a JSON object"), NULL;
	json_array_foreach(schemas, i, s)
		is_patch |= json_is_string(s) && scim_ieq_str(json_string_value(s), SCIM_SCHEMA_PATCH);
	if (!is_patch)
		return scim_error_set(err, 400, "invalidSyntax", "'schemas' must contain " SCIM_SCHEMA_PATCH), NULL;
	ops = scim_json_get_ci(body, "Operations", NULL);
	if (!json_is_array(ops) || json_array_size(ops) == 0)
		return scim_error_set(err, 400, "invalidSyntax", "'Operations' must be a non-empty array"), NULL;
	if (count_values(ops) > SCIM_PATCH_MAX_VALUES)
		return scim_error_set(err, 413, "tooMany", "more than %d operations and values in one PATCH",
		                      SCIM_PATCH_MAX_VALUES),
		       NULL;
	return ops;
}

/* Prefixes ERR's detail with the failing operation's index. */
static int op_failed(struct scim_error *err, size_t i)
{
	char detail[sizeof(err->detail)];

	memcpy(detail, err->detail, sizeof(detail));
	return scim_error_set(err, err->status, err->scim_type, "Operations[%zu]: %s", i, detail);
}

static int apply_all(struct patch_ctx *ctx, const json_t *ops)
{
	const json_t *op;
	char detail[sizeof(ctx->err->detail)];
	size_t i;

	json_array_foreach(ops, i, op)
		if (apply_op(ctx, op) < 0)
			return op_failed(ctx->err, i);
	if (members_flush(ctx) < 0)
		return -1;
	if (scim_resource_normalize_stored(ctx->work, ctx->type, ctx->err) < 0) {
		memcpy(detail, ctx->err->detail, sizeof(detail));
		return scim_error_set(ctx->err, ctx->err->status, ctx->err->scim_type, "after PATCH: %s", detail);
	}
	return 0;
}

int scim_patch_apply(json_t *resource, enum scim_resource_type type, const json_t *body, struct scim_error *err)
{
	struct patch_ctx ctx = {.type = type, .err = err};
	const json_t *ops;
	int rc;

	if (!json_is_object(resource))
		return scim_error_set(err, 500, NULL, "no resource to patch");
	ops = check_body(body, err);
	if (!ops)
		return -1;
	ctx.work = json_deep_copy(resource);
	if (!ctx.work)
		return scim_error_set(err, 500, NULL, "out of memory");
	rc = apply_all(&ctx, ops);
	members_forget(&ctx.members);
	if (rc == 0) {
		json_object_clear(resource);
		json_object_update(resource, ctx.work);
	}
	json_decref(ctx.work);
	return rc;
}
