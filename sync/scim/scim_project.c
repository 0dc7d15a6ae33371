/* attributes= / excludedAttributes= (RFC 7644 3.4.2.5): which attributes a response carries.
 * `id` and `schemas` are always returned and cannot be excluded. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sync/scim/scim_internal.h"
#include "sync/scim/scim_resource.h"
#include "sync/scim/scim_service_internal.h"

#define ATTR_TOKEN_MAX 512

static char *dup_range(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* "urn:...:User:name.givenName" -> urn (NULL for the core schema), attr "name", sub "givenName".
 * A bare extension URN ("urn:...:enterprise:2.0:User") names the whole extension. */
static int parse_ref(enum scim_resource_type type, const char *tok, size_t n, struct scim_attr_ref *ref)
{
	const char *rest = tok;
	size_t rest_n = n;
	memset(ref, 0, sizeof(*ref));
	if (n >= 4 && strncasecmp(tok, "urn:", 4) == 0) {
		if (scim_ieq(tok, n, SCIM_SCHEMA_ENTERPRISE, strlen(SCIM_SCHEMA_ENTERPRISE)) ||
		    scim_ieq(tok, n, SCIM_SCHEMA_LOGIN, strlen(SCIM_SCHEMA_LOGIN)))
			return (ref->urn = dup_range(tok, n)) ? 0 : -1;
		const char *colon = tok + n;
		while (colon > tok && colon[-1] != ':')
			colon--;
		if (!(ref->urn = dup_range(tok, (size_t)(colon - tok) - 1)))
			return -1;
		if (scim_urn_is_core(type, ref->urn)) {
			free(ref->urn);
			ref->urn = NULL;
		}
		rest = colon;
		rest_n = n - (size_t)(colon - tok);
	}
	const char *dot = memchr(rest, '.', rest_n);
	size_t attr_n = dot ? (size_t)(dot - rest) : rest_n;
	if (attr_n == 0)
		return 0; /* the core schema as a whole */
	ref->attr = dup_range(rest, attr_n);
	if (dot)
		ref->sub = dup_range(dot + 1, rest_n - attr_n - 1);
	return ref->attr && (!dot || ref->sub) ? 0 : -1;
}

static void ref_free(struct scim_attr_ref *r)
{
	free(r->urn);
	free(r->attr);
	free(r->sub);
}

static int parse_list(enum scim_resource_type type, const char *text, const char *param, struct scim_attr_ref *refs,
                      size_t *n, struct scim_error *err)
{
	const char *p = text;
	while (text && *p) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t len = strcspn(p, ",");
		while (len && p[len - 1] == ' ')
			len--;
		if (!len)
			break;
		if (*n == SCIM_PROJECTION_MAX)
			return scim_error_set(err, 400, "invalidValue", "%s names more than %d attributes", param,
			                      SCIM_PROJECTION_MAX);
		if (len > ATTR_TOKEN_MAX)
			return scim_error_set(err, 400, "invalidValue", "%s: attribute name longer than %d bytes",
			                      param, ATTR_TOKEN_MAX);
		if (parse_ref(type, p, len, &refs[*n]) < 0)
			return scim_error_set(err, 500, NULL, "out of memory");
		(*n)++;
		p += strcspn(p, ",");
	}
	return 0;
}

int scim_projection_parse(enum scim_resource_type type, const char *attributes, const char *excluded,
                          struct scim_projection *p, struct scim_error *err)
{
	memset(p, 0, sizeof(*p));
	if (parse_list(type, attributes, "attributes", p->include, &p->n_include, err) < 0 ||
	    parse_list(type, excluded, "excludedAttributes", p->exclude, &p->n_exclude, err) < 0) {
		scim_projection_free(p);
		return -1;
	}
	return 0;
}

void scim_projection_free(struct scim_projection *p)
{
	for (size_t i = 0; i < p->n_include; i++)
		ref_free(&p->include[i]);
	for (size_t i = 0; i < p->n_exclude; i++)
		ref_free(&p->exclude[i]);
	p->n_include = p->n_exclude = 0;
}

static bool names_core_attr(const struct scim_attr_ref *r, const char *attr)
{
	return !r->urn && (!r->attr || scim_ieq_str(r->attr, attr));
}

bool scim_projection_wants(const struct scim_projection *p, const char *attr)
{
	for (size_t i = 0; i < p->n_exclude; i++)
		if (!p->exclude[i].urn && p->exclude[i].attr && !p->exclude[i].sub &&
		    scim_ieq_str(p->exclude[i].attr, attr))
			return false;
	if (!p->n_include)
		return true;
	for (size_t i = 0; i < p->n_include; i++)
		if (names_core_attr(&p->include[i], attr))
			return true;
	return false;
}

/* OUT[KEY] as an object, created when absent. */
static json_t *out_object(json_t *out, const char *key)
{
	json_t *o = json_object_get(out, key);
	if (!json_is_object(o)) {
		o = json_object();
		json_object_set_new(out, key, o);
	}
	return o;
}

/* Copies the SUB of each element of the multi-valued V into OUT[KEY], element by element, so
 * `emails.value,emails.type` keep their pairing. */
static void include_sub_of_each(json_t *out, const char *key, const json_t *v, const char *sub)
{
	json_t *arr = json_object_get(out, key);
	if (!json_is_array(arr) || json_array_size(arr) != json_array_size(v)) {
		arr = json_array();
		for (size_t i = 0; i < json_array_size(v); i++)
			json_array_append_new(arr, json_object());
		json_object_set_new(out, key, arr);
	}
	for (size_t i = 0; i < json_array_size(v); i++) {
		const char *skey;
		json_t *sv = scim_json_get_ci(json_array_get(v, i), sub, &skey);
		if (sv && json_is_object(json_array_get(arr, i)))
			json_object_set(json_array_get(arr, i), skey, sv);
	}
}

static void include_attr(json_t *out, const json_t *src, const struct scim_attr_ref *r)
{
	const char *key, *skey;
	json_t *v = scim_json_get_ci(src, r->attr, &key);
	if (!v)
		return;
	if (!r->sub) {
		json_object_set(out, key, v);
	} else if (json_is_object(v)) {
		json_t *sv = scim_json_get_ci(v, r->sub, &skey);
		if (sv)
			json_object_set(out_object(out, key), skey, sv);
	} else if (json_is_array(v)) {
		include_sub_of_each(out, key, v, r->sub);
	}
}

static void include_core(json_t *out, const json_t *res)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)res, k, v) {
		if (strncasecmp(k, "urn:", 4) != 0)
			json_object_set(out, k, v);
	}
}

static void include_one(json_t *out, const json_t *res, const struct scim_attr_ref *r)
{
	const char *key;
	if (!r->urn) {
		if (r->attr)
			include_attr(out, res, r);
		else
			include_core(out, res);
		return;
	}
	json_t *ext = scim_json_get_ci(res, r->urn, &key);
	if (!json_is_object(ext))
		return;
	if (!r->attr)
		json_object_set(out, key, ext);
	else
		include_attr(out_object(out, key), ext, r);
}

static void exclude_one(json_t *res, const struct scim_attr_ref *r)
{
	json_t *container = r->urn ? scim_json_get_ci(res, r->urn, NULL) : res;
	if (!json_is_object(container))
		return;
	if (!r->attr) {
		if (r->urn)
			scim_json_del_ci(res, r->urn);
		return;
	}
	if (!r->urn && (scim_ieq_str(r->attr, "id") || scim_ieq_str(r->attr, "schemas")))
		return; /* returned: always */
	if (!r->sub) {
		scim_json_del_ci(container, r->attr);
		return;
	}
	json_t *v = scim_json_get_ci(container, r->attr, NULL);
	if (json_is_object(v))
		scim_json_del_ci(v, r->sub);
	for (size_t i = 0; json_is_array(v) && i < json_array_size(v); i++)
		scim_json_del_ci(json_array_get(v, i), r->sub);
}

void scim_projection_apply(const struct scim_projection *p, json_t *resource)
{
	if (p->n_include) {
		json_t *out = json_object();
		const char *key;
		json_t *v;
		if ((v = scim_json_get_ci(resource, "schemas", &key)))
			json_object_set(out, key, v);
		if ((v = scim_json_get_ci(resource, "id", &key)))
			json_object_set(out, key, v);
		for (size_t i = 0; i < p->n_include; i++)
			include_one(out, resource, &p->include[i]);
		json_object_clear(resource);
		json_object_update(resource, out);
		json_decref(out);
	}
	for (size_t i = 0; i < p->n_exclude; i++)
		exclude_one(resource, &p->exclude[i]);
}
