/* Small jansson helpers for SCIM: case-insensitive keys, boolean strings, a string set. */
#include "sync/scim/scim_internal.h"
#include <ctype.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static unsigned char ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

bool scim_ieq(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
			return false;
	return true;
}

bool scim_ieq_str(const char *a, const char *b)
{
	return scim_ieq(a, strlen(a), b, strlen(b));
}

json_t *scim_json_get_ci(const json_t *obj, const char *key, const char **key_out)
{
	const char *k;
	json_t *v;

	if (!json_is_object(obj))
		return NULL;
	v = json_object_get(obj, key);
	if (v) {
		if (key_out)
			*key_out = json_object_iter_key(json_object_iter_at((json_t *)obj, key));
		return v;
	}
	json_object_foreach((json_t *)obj, k, v) {
		if (scim_ieq_str(k, key)) {
			if (key_out)
				*key_out = k;
			return v;
		}
	}
	return NULL;
}

void scim_json_del_ci(json_t *obj, const char *key)
{
	const char *k;
	json_t *v;
	void *tmp;

	if (!json_is_object(obj))
		return;
	json_object_foreach_safe(obj, tmp, k, v) {
		if (scim_ieq_str(k, key))
			json_object_del(obj, k);
	}
}

int scim_json_as_bool(const json_t *v, bool *b)
{
	if (json_is_boolean(v)) {
		*b = json_is_true(v);
		return 1;
	}
	if (!json_is_string(v))
		return 0;
	if (scim_ieq(json_string_value(v), json_string_length(v), "true", 4)) {
		*b = true;
		return 1;
	}
	if (scim_ieq(json_string_value(v), json_string_length(v), "false", 5)) {
		*b = false;
		return 1;
	}
	return 0;
}

bool scim_json_string_has_nul(const json_t *s)
{
	return json_is_string(s) && strlen(json_string_value(s)) != json_string_length(s);
}

static uint64_t fnv1a(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* Marks a removed slot so probe chains stay intact. */
static const char tombstone_mark;
#define tombstone ((char *)&tombstone_mark)

static int strset_alloc(struct scim_strset *s, size_t expected)
{
	size_t cap = 16;
	while (cap < expected * 2 && cap < (SIZE_MAX / 4))
		cap *= 2;
	s->slots = calloc(cap, sizeof(*s->slots));
	s->lens = calloc(cap, sizeof(*s->lens));
	s->cap = cap;
	s->count = s->used = 0;
	if (!s->slots || !s->lens) {
		free(s->slots);
		free(s->lens);
		s->slots = NULL;
		s->lens = NULL;
		s->cap = 0;
		return -1;
	}
	return 0;
}

int scim_strset_init(struct scim_strset *s, size_t expected)
{
	return strset_alloc(s, expected);
}

/* Index of STR's slot, or of the empty slot where it belongs. */
static size_t strset_probe(const struct scim_strset *s, const char *str, size_t len)
{
	size_t i = fnv1a(str, len) & (s->cap - 1);
	while (s->slots[i] && (s->slots[i] == tombstone || !(s->lens[i] == len && memcmp(s->slots[i], str, len) == 0)))
		i = (i + 1) & (s->cap - 1);
	return i;
}

/* Rehashes into a table sized for the live strings, dropping tombstones. */
static int strset_rehash(struct scim_strset *s)
{
	struct scim_strset fresh;
	if (strset_alloc(&fresh, s->count + 1) < 0)
		return -1;
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->slots[i] || s->slots[i] == tombstone)
			continue;
		size_t j = strset_probe(&fresh, s->slots[i], s->lens[i]);
		fresh.slots[j] = s->slots[i];
		fresh.lens[j] = s->lens[i];
	}
	fresh.count = fresh.used = s->count;
	free(s->slots);
	free(s->lens);
	*s = fresh;
	return 0;
}

int scim_strset_add(struct scim_strset *s, const char *str, size_t len)
{
	size_t i;
	char *copy;

	if (!s->slots)
		return -1;
	if ((s->used + 1) * 2 > s->cap && strset_rehash(s) < 0)
		return -1;
	i = strset_probe(s, str, len);
	if (s->slots[i])
		return 0;
	copy = malloc(len + 1);
	if (!copy)
		return -1;
	memcpy(copy, str, len);
	copy[len] = '\0';
	s->slots[i] = copy;
	s->lens[i] = len;
	s->count++;
	s->used++;
	return 1;
}

bool scim_strset_contains(const struct scim_strset *s, const char *str, size_t len)
{
	return s->slots && s->slots[strset_probe(s, str, len)] != NULL;
}

bool scim_strset_remove(struct scim_strset *s, const char *str, size_t len)
{
	size_t i;

	if (!s->slots)
		return false;
	i = strset_probe(s, str, len);
	if (!s->slots[i])
		return false;
	free(s->slots[i]);
	s->slots[i] = tombstone;
	s->count--;
	return true;
}

void scim_strset_free(struct scim_strset *s)
{
	if (s->slots)
		for (size_t i = 0; i < s->cap; i++)
			if (s->slots[i] != tombstone)
				free(s->slots[i]);
	free(s->slots);
	free(s->lens);
	s->slots = NULL;
	s->lens = NULL;
	s->cap = s->count = s->used = 0;
}

bool scim_valid_attr_name(const char *s, size_t n)
{
	if (n == 4 && scim_ieq(s, n, "$ref", 4))
		return true;
	if (n == 0 || !isalpha((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}
