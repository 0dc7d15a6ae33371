/* Validation and normalisation of SCIM Users and Groups against the RFC 7643 attributes we know. */
#include "sync/scim/scim_resource.h"
#include "sync/scim/scim_depth.h"
#include "sync/scim/scim_internal.h"
#include "sync/scim/scim_ssh_keys.h"

#include <stdio.h>
#include <string.h>

/* How a value is checked, from its attribute's entry in the schema table (scim_schema.c). */
enum attr_kind { K_STRING, K_BOOL, K_COMPLEX, K_MULTI, K_MANAGER, K_NEVER, K_SSH_KEYS };

/* K_NEVER: RFC 7643 mutability writeOnly, returned never (password). Such a value is accepted and
 * discarded at once, so it is neither stored in state.db nor ever returned. */
static enum attr_kind kind_of(const struct scim_attr *def)
{
	if (def->returned == SCIM_RETURNED_NEVER)
		return K_NEVER;
	if (def->check == SCIM_CHECK_SINGLE_REFERENCE)
		return K_MANAGER;
	if (def->check == SCIM_CHECK_SSH_KEYS)
		return K_SSH_KEYS;
	if (def->type == SCIM_TYPE_COMPLEX)
		return def->multi_valued ? K_MULTI : K_COMPLEX;
	return def->type == SCIM_TYPE_BOOLEAN ? K_BOOL : K_STRING;
}

/* ---------- schema look-ups ---------- */

const char *scim_attr_canonical(enum scim_resource_type type, const char *urn, const char *name)
{
	const struct scim_attr *def = scim_attr_writable(type, urn, name);
	return def ? def->name : name;
}

bool scim_attr_multi_valued(enum scim_resource_type type, const char *urn, const char *attr)
{
	const struct scim_attr *def = scim_attr_writable(type, urn, attr);
	return def && kind_of(def) == K_MULTI;
}

const char *scim_attr_write_only(enum scim_resource_type type, const char *key)
{
	const char *core = type == SCIM_GROUP ? SCIM_SCHEMA_GROUP : SCIM_SCHEMA_USER;
	size_t n = strlen(core);
	if (strlen(key) > n && key[n] == ':' && scim_ieq(key, n, core, n))
		key += n + 1; /* urn:ietf:params:scim:schemas:core:2.0:User:password */
	const struct scim_attr *def = scim_attr_writable(type, NULL, key);
	return def && kind_of(def) == K_NEVER ? def->name : NULL;
}

/* ---------- value checks ---------- */

static int invalid(struct scim_error *err, const char *where, const char *what)
{
	return scim_error_set(err, 400, "invalidValue", "%s %s", where, what);
}

/* Rejects strings with embedded NUL anywhere in V. */
static int check_no_nul(const json_t *v, const char *where, struct scim_error *err)
{
	const char *k;
	json_t *e;
	size_t i;

	if (scim_json_string_has_nul(v))
		return invalid(err, where, "must not contain NUL characters");
	json_array_foreach(v, i, e)
		if (check_no_nul(e, where, err) < 0)
			return -1;
	json_object_foreach((json_t *)v, k, e)
		if (check_no_nul(e, where, err) < 0)
			return -1;
	return 0;
}

static void replace_value(json_t **v, json_t *with)
{
	json_decref(*v);
	*v = with;
}

static int normalize_value(const struct scim_attr *def, json_t **v, const char *where, struct scim_error *err);

/* Notes in ERR, for the log, that the write-only attribute NAME was discarded (never its value). */
static int note_dropped(struct scim_error *err, const char *name)
{
	if (err)
		err->dropped = name;
	return 0;
}

/* Normalises the members of OBJ against SUBS into a new object (canonical key spelling, nulls dropped). */
static int normalize_object(json_t **obj, const struct scim_attr *subs, const char *where, struct scim_error *err)
{
	json_t *out = json_object(), *v;
	const char *k;
	char at[256];

	if (!out)
		return scim_error_set(err, 500, NULL, "out of memory");
	json_object_foreach(*obj, k, v) {
		const struct scim_attr *def = scim_attr_find(subs, k);
		const char *name = def ? def->name : k;
		snprintf(at, sizeof(at), "%s.%s", where, name);
		if (!def && scim_ieq_str(k, "password")) { /* in an extension too: a secret is never kept */
			note_dropped(err, "password");
			continue;
		}
		if (json_object_get(out, name)) {
			json_decref(out);
			return invalid(err, at, "appears more than once");
		}
		json_incref(v);
		if (normalize_value(def, &v, at, err) < 0) {
			json_decref(v);
			json_decref(out);
			return -1;
		}
		if (v)
			json_object_set_new(out, name, v);
	}
	replace_value(obj, out);
	return 0;
}

static int normalize_element(const struct scim_attr *def, json_t **v, const char *where, struct scim_error *err)
{
	if (json_is_null(*v)) {
		replace_value(v, NULL);
		return 0;
	}
	if (!json_is_object(*v))
		return invalid(err, where, "must be an object");
	return normalize_object(v, def->subs, where, err);
}

/* Whether each element must carry a string `value` (a group's members: the member's id). */
static bool value_required(const struct scim_attr *def)
{
	const struct scim_attr *value = scim_attr_find(def->subs, "value");
	return value && value->required;
}

static int normalize_multi(const struct scim_attr *def, json_t **v, const char *where, struct scim_error *err)
{
	json_t *out, *e;
	char at[256];
	size_t i;

	if (!json_is_array(*v))
		return invalid(err, where, "must be an array");
	out = json_array();
	if (!out)
		return scim_error_set(err, 500, NULL, "out of memory");
	json_array_foreach(*v, i, e) {
		snprintf(at, sizeof(at), "%s[%zu]", where, i);
		json_incref(e);
		if (normalize_element(def, &e, at, err) < 0) {
			json_decref(e);
			json_decref(out);
			return -1;
		}
		if (value_required(def) && e && !json_is_string(json_object_get(e, "value"))) {
			json_decref(e);
			json_decref(out);
			return invalid(err, at, "needs a string 'value'");
		}
		if (e)
			json_array_append_new(out, e);
	}
	replace_value(v, out);
	return 0;
}

/* Enterprise manager: "id", {"value": "id"} or [{"value": "id"}] -> {"value": "id"}; empty clears it. */
static int normalize_manager(const struct scim_attr *def, json_t **v, const char *where, struct scim_error *err)
{
	json_t *value;

	if (json_is_array(*v)) {
		if (json_array_size(*v) > 1)
			return invalid(err, where, "must be a single manager");
		replace_value(v, json_incref(json_array_get(*v, 0)));
		if (!*v)
			return 0;
	}
	if (json_is_string(*v)) {
		if (scim_json_string_has_nul(*v))
			return invalid(err, where, "must not contain NUL characters");
		replace_value(v, json_string_length(*v) ? json_pack("{sO}", "value", *v) : NULL);
		return 0;
	}
	if (json_is_null(*v)) {
		replace_value(v, NULL);
		return 0;
	}
	if (!json_is_object(*v))
		return invalid(err, where, "must be a string or an object with a 'value'");
	if (normalize_object(v, def->subs, where, err) < 0)
		return -1;
	value = json_object_get(*v, "value");
	if (!value || (json_is_string(value) && json_string_length(value) == 0))
		replace_value(v, NULL);
	return 0;
}

/* Checks and coerces *V for DEF (NULL: unknown attribute, kept as sent). Sets *V = NULL to drop it. */
static int normalize_value(const struct scim_attr *def, json_t **v, const char *where, struct scim_error *err)
{
	bool b;

	if (json_is_null(*v)) {
		replace_value(v, NULL);
		return 0;
	}
	if (!def)
		return check_no_nul(*v, where, err);
	switch (kind_of(def)) {
	case K_STRING:
		if (!json_is_string(*v))
			return invalid(err, where, "must be a string");
		return check_no_nul(*v, where, err);
	case K_BOOL:
		if (scim_json_as_bool(*v, &b) != 1)
			return invalid(err, where, "must be a boolean");
		replace_value(v, json_boolean(b));
		return 0;
	case K_COMPLEX:
		if (!json_is_object(*v))
			return invalid(err, where, "must be an object");
		return normalize_object(v, def->subs, where, err);
	case K_MULTI:
		return normalize_multi(def, v, where, err);
	case K_MANAGER:
		return normalize_manager(def, v, where, err);
	case K_NEVER: /* whatever its type: a value never kept needs no check */
		replace_value(v, NULL);
		return note_dropped(err, def->name);
	case K_SSH_KEYS:
		return scim_ssh_keys_normalize(v, where, err);
	}
	return 0;
}

int scim_value_normalize(enum scim_resource_type type, const char *urn, const char *attr, const char *sub, bool element,
                         json_t **value, const char *where, struct scim_error *err)
{
	const struct scim_attr *def = scim_attr_writable(type, urn, attr);

	if (sub)
		return normalize_value(def ? scim_attr_find(def->subs, sub) : NULL, value, where, err);
	if (element && def && kind_of(def) == K_MULTI)
		return normalize_element(def, value, where, err);
	return normalize_value(def, value, where, err);
}

/* ---------- whole resources ---------- */

static bool is_server_attr(const char *key)
{
	return scim_ieq_str(key, "id") || scim_ieq_str(key, "meta");
}

static int normalize_extension(json_t **ext, enum scim_resource_type type, const char *urn, struct scim_error *err)
{
	if (json_is_null(*ext)) {
		replace_value(ext, NULL);
		return 0;
	}
	if (!json_is_object(*ext))
		return invalid(err, urn, "must be an object");
	if (normalize_object(ext, scim_schema_attrs(type, urn), urn, err) < 0)
		return -1;
	if (json_object_size(*ext) == 0)
		replace_value(ext, NULL);
	return 0;
}

static int normalize_top(json_t *out, enum scim_resource_type type, const char *key, json_t *v, struct scim_error *err);

/* {"urn:...:core:2.0:User": {...}}: the core schema's attributes under its URN, as a PATCH value
 * may name them; each is normalised as if at the top (so a password in it is dropped too). */
static int normalize_core_object(json_t *out, enum scim_resource_type type, json_t *obj, struct scim_error *err)
{
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v) {
		if (normalize_top(out, type, k, v, err) < 0)
			return -1;
	}
	return 0;
}

/* Normalises one top-level member into OUT under its canonical name. */
static int normalize_top(json_t *out, enum scim_resource_type type, const char *key, json_t *v, struct scim_error *err)
{
	const struct scim_attr *def = scim_attr_writable(type, NULL, key);
	const char *name = def ? def->name : key;
	const char *extension = scim_extension_urn(type, key);
	int rc;

	const char *never = scim_attr_write_only(type, key);
	if (never) /* also under its fully qualified name, which the table does not list */
		return json_is_null(v) ? 0 : note_dropped(err, never);
	if (json_is_object(v) && scim_ieq_str(key, type == SCIM_GROUP ? SCIM_SCHEMA_GROUP : SCIM_SCHEMA_USER))
		return normalize_core_object(out, type, v, err);
	if (extension)
		name = extension;
	else if (scim_ieq_str(key, "schemas"))
		name = "schemas";
	if (json_object_get(out, name))
		return invalid(err, name, "appears more than once");
	json_incref(v);
	if (extension)
		rc = normalize_extension(&v, type, name, err);
	else if (strcmp(name, "schemas") == 0)
		rc = check_no_nul(v, name, err);
	else
		rc = normalize_value(def, &v, name, err);
	if (rc < 0) {
		json_decref(v);
		return -1;
	}
	if (v)
		json_object_set_new(out, name, v);
	return 0;
}

static bool array_has_string_ci(const json_t *arr, const char *s)
{
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e)
		if (json_is_string(e) && scim_ieq_str(json_string_value(e), s))
			return true;
	return false;
}

static int ensure_schemas(json_t *r, enum scim_resource_type type, struct scim_error *err)
{
	json_t *schemas = json_object_get(r, "schemas");
	const char *core = type == SCIM_GROUP ? SCIM_SCHEMA_GROUP : SCIM_SCHEMA_USER;
	size_t i;
	json_t *e;

	if (!schemas) {
		schemas = json_array();
		json_object_set_new(r, "schemas", schemas);
	}
	if (!json_is_array(schemas))
		return invalid(err, "schemas", "must be an array of strings");
	json_array_foreach(schemas, i, e)
		if (!json_is_string(e))
			return invalid(err, "schemas", "must be an array of strings");
	if (!array_has_string_ci(schemas, core))
		json_array_insert_new(schemas, 0, json_string(core));
	static const char *const extensions[] = {SCIM_SCHEMA_ENTERPRISE, SCIM_SCHEMA_LOGIN};
	for (i = 0; type == SCIM_USER && i < sizeof(extensions) / sizeof(extensions[0]); i++)
		if (json_object_get(r, extensions[i]) && !array_has_string_ci(schemas, extensions[i]))
			json_array_append_new(schemas, json_string(extensions[i]));
	return 0;
}

static int check_required(const json_t *r, enum scim_resource_type type, struct scim_error *err)
{
	const char *name = type == SCIM_GROUP ? "displayName" : "userName";
	const json_t *v = json_object_get(r, name);

	if (!json_is_string(v) || json_string_length(v) == 0)
		return scim_error_set(err, 400, "invalidValue", "%s is required", name);
	return 0;
}

static int normalize_resource(json_t *r, enum scim_resource_type type, bool keep_server_attrs, struct scim_error *err)
{
	json_t *out, *v;
	const char *k;

	if (!json_is_object(r))
		return scim_error_set(err, 400, "invalidSyntax", "the resource must be a JSON object");
	if (scim_json_deeper_than(r, SCIM_MAX_DEPTH))
		return scim_error_set(err, 400, "invalidValue",
		                      "the resource is nested deeper than %d levels (SCIM attributes are shallow: "
		                      "flatten the custom attribute)",
		                      SCIM_MAX_DEPTH);
	out = json_object();
	if (!out)
		return scim_error_set(err, 500, NULL, "out of memory");
	json_object_foreach(r, k, v) {
		if (is_server_attr(k)) {
			if (keep_server_attrs)
				json_object_set(out, k, v);
			continue;
		}
		if (normalize_top(out, type, k, v, err) < 0)
			goto fail;
	}
	if (check_required(out, type, err) < 0 || ensure_schemas(out, type, err) < 0)
		goto fail;
	json_object_clear(r);
	json_object_update(r, out);
	json_decref(out);
	return 0;
fail:
	json_decref(out);
	return -1;
}

int scim_resource_normalize(json_t *resource, enum scim_resource_type type, struct scim_error *err)
{
	return normalize_resource(resource, type, false, err);
}

int scim_resource_normalize_stored(json_t *resource, enum scim_resource_type type, struct scim_error *err)
{
	return normalize_resource(resource, type, true, err);
}
