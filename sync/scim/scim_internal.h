/* Private helpers shared by the pure SCIM logic (filter, path, patch, resource). Not a public API. */
#ifndef SCIM_INTERNAL_H
#define SCIM_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "sync/scim/scim_error.h"
#include "sync/scim/scim_filter.h"
#include "sync/scim/scim_schema.h" /* scim_urn_is_core */

#define SCIM_FILTER_MAX_LEN   4096
#define SCIM_FILTER_MAX_DEPTH 32

/* --- scim_json.c --- */

/* ASCII case-insensitive equality of two byte ranges (UTF-8 beyond ASCII compares exactly). */
bool scim_ieq(const char *a, size_t alen, const char *b, size_t blen);
bool scim_ieq_str(const char *a, const char *b);
/* RFC 7643 ATTRNAME (ALPHA *(nameChar)) or "$ref", of length N. */
bool scim_valid_attr_name(const char *s, size_t n);

/* Member of OBJ whose key equals KEY case-insensitively (exact match preferred), or NULL.
 * *KEY_OUT (if given) receives the key as stored. */
json_t *scim_json_get_ci(const json_t *obj, const char *key, const char **key_out);

/* Deletes every member of OBJ whose key equals KEY case-insensitively. */
void scim_json_del_ci(json_t *obj, const char *key);

/* Returns 1 and sets *B for true/false and the strings "true"/"false" in any case, else 0. */
int scim_json_as_bool(const json_t *v, bool *b);

/* True when the string has an embedded NUL byte. */
bool scim_json_string_has_nul(const json_t *s);

/* A set of byte strings (copied), open addressing; grows as needed. */
struct scim_strset {
	char **slots;
	size_t *lens;
	size_t cap;
	size_t count; /* live strings */
	size_t used;  /* live strings and tombstones */
};
int scim_strset_init(struct scim_strset *s, size_t expected);
/* 1 added, 0 already present, -1 out of memory. */
int scim_strset_add(struct scim_strset *s, const char *str, size_t len);
bool scim_strset_contains(const struct scim_strset *s, const char *str, size_t len);
/* true when STR was present and is now removed. */
bool scim_strset_remove(struct scim_strset *s, const char *str, size_t len);
void scim_strset_free(struct scim_strset *s);

/* --- scim_filter.c --- */

/* Parses a value filter (the text inside `attr[...]`) of LEN bytes whose attribute names are
 * relative to the multi-valued attribute PARENT (used for caseExact decisions). */
struct scim_filter *scim_filter_parse_value_filter(const char *text, size_t len, const char *parent,
                                                   struct scim_error *err);

/* When F is a conjunction of `sub eq literal` clauses, stores each as OUT[sub] = literal and
 * returns 0; else -1 (the filter cannot describe a new element). */
int scim_filter_eq_clauses(const struct scim_filter *f, json_t *out);

/* --- scim_resource.c --- */

/* Validates and coerces VALUE about to be stored at URN:ATTR[.SUB] by a PATCH. ELEMENT says it
 * is one element of a multi-valued attribute. *VALUE may be replaced, or set to NULL (clear).
 * Takes ownership of *VALUE. WHERE prefixes error details. */
int scim_value_normalize(enum scim_resource_type type, const char *urn, const char *attr, const char *sub, bool element,
                         json_t **value, const char *where, struct scim_error *err);

/* scim_resource_normalize without removing the server-owned `id` and `meta` (used after PATCH). */
int scim_resource_normalize_stored(json_t *resource, enum scim_resource_type type, struct scim_error *err);

/* Canonical spelling of a known attribute (e.g. "displayname" -> "displayName"), else NAME. */
const char *scim_attr_canonical(enum scim_resource_type type, const char *urn, const char *name);

/* True when URN:ATTR (URN may be NULL) is multi-valued in the schema. */
bool scim_attr_multi_valued(enum scim_resource_type type, const char *urn, const char *attr);

#endif
