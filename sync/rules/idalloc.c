/* uid/gid allocation in state.db: deterministic from the object id, stored, never reused. */
#include "sync/rules/idalloc.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "sync/store/store_unix_ids.h"

static const struct entra_logger logger = {"entra-syncd", LOG_DAEMON, true, false};

int idalloc_init_schema(sqlite3 *db)
{
	return store_unix_ids_init(db);
}

static bool hex_digit(char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

bool idalloc_is_guid(const char *s)
{
	if (!s)
		return false;
	/* Checked up to the first mismatch, so a NUL ends it before 36 bytes are read. */
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !hex_digit(s[i]))
			return false;
	}
	return s[36] == '\0';
}

int idalloc_key(char kind, const char *external_id, const char *scim_id, char *out, size_t outlen)
{
	const char *oid = idalloc_is_guid(external_id) ? external_id : scim_id;
	if (!oid || !*oid || outlen < 3 || strlen(oid) > outlen - 3)
		return -1;
	out[0] = kind, out[1] = ':';
	size_t i = 0;
	for (; oid[i]; i++)
		out[2 + i] = (char)tolower((unsigned char)oid[i]);
	out[2 + i] = '\0';
	return 0;
}

/* --- the set of used ids: open addressing, 0 marks an empty slot (ids are >= 1000) --- */

static size_t id_slot(uint32_t id, size_t cap)
{
	return (size_t)(id * 2654435761u) & (cap - 1);
}

static bool used_has(const struct idalloc *a, uint32_t id)
{
	if (!a->used_cap)
		return false;
	for (size_t i = id_slot(id, a->used_cap);; i = (i + 1) & (a->used_cap - 1)) {
		if (a->used[i] == id)
			return true;
		if (a->used[i] == 0)
			return false;
	}
}

static void used_put_raw(uint32_t *slots, size_t cap, uint32_t id)
{
	size_t i = id_slot(id, cap);
	while (slots[i] && slots[i] != id)
		i = (i + 1) & (cap - 1);
	slots[i] = id;
}

static int used_add(struct idalloc *a, uint32_t id)
{
	if (used_has(a, id))
		return 0;
	if ((a->used_count + 1) * 2 > a->used_cap) {
		size_t ncap = a->used_cap ? a->used_cap * 2 : 1024;
		uint32_t *slots = calloc(ncap, sizeof(*slots));
		if (!slots)
			return -1;
		for (size_t i = 0; i < a->used_cap; i++)
			if (a->used[i])
				used_put_raw(slots, ncap, a->used[i]);
		free(a->used);
		a->used = slots, a->used_cap = ncap;
	}
	used_put_raw(a->used, a->used_cap, id);
	a->used_count++;
	return 0;
}

/* --- loading --- */

static uint64_t key_hash(const char *key)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h ^ (h >> 29); /* FNV's multiply moves bits only upward; the index masks the low ones */
}

/* The index slot holding KEY, or the empty slot where it belongs. by_key_cap must be > 0. */
static size_t key_slot(const struct idalloc *a, const char *key, uint64_t hash)
{
	size_t mask = a->by_key_cap - 1, i = (size_t)hash & mask;
	for (;; i = (i + 1) & mask) {
		size_t pos = a->by_key[i];
		if (!pos || (a->entries[pos - 1].hash == hash && !strcmp(a->entries[pos - 1].key, key)))
			return i;
	}
}

/* Keeps the index at most half full: look-ups stay O(1) for any directory size. */
static int index_reserve(struct idalloc *a, size_t n)
{
	if (n * 2 <= a->by_key_cap)
		return 0;
	size_t ncap = a->by_key_cap ? a->by_key_cap : 1024;
	while (n * 2 > ncap)
		ncap *= 2;
	size_t *slots = calloc(ncap, sizeof(*slots));
	if (!slots)
		return -1;
	free(a->by_key);
	a->by_key = slots, a->by_key_cap = ncap;
	for (size_t k = 0; k < a->n_entries; k++)
		a->by_key[key_slot(a, a->entries[k].key, a->entries[k].hash)] = k + 1;
	return 0;
}

/* Adds KEY -> ID unless KEY has an id already (the first one stays). */
static int entry_append(struct idalloc *a, const char *key, uint32_t id)
{
	if (a->n_entries == a->cap_entries) {
		size_t ncap = a->cap_entries ? a->cap_entries * 2 : 256;
		struct idalloc_entry *grown = realloc(a->entries, ncap * sizeof(*grown));
		if (!grown)
			return -1;
		a->entries = grown, a->cap_entries = ncap;
	}
	if (index_reserve(a, a->n_entries + 1))
		return -1;
	uint64_t hash = key_hash(key);
	size_t slot = key_slot(a, key, hash);
	if (a->by_key[slot])
		return 0;
	if (!(a->entries[a->n_entries].key = strdup(key)))
		return -1;
	a->entries[a->n_entries].hash = hash;
	a->entries[a->n_entries++].id = id;
	a->by_key[slot] = a->n_entries;
	return 0;
}

static bool is_group_key(const char *key)
{
	return key[0] == 'g' && key[1] == ':';
}

/* The range new ids for KEY come from. */
static void key_range(const struct idalloc *a, const char *key, uint32_t *lo, uint32_t *hi)
{
	bool group = is_group_key(key) && a->gmin && a->gmax;
	*lo = group ? a->gmin : a->min;
	*hi = group ? a->gmax : a->max;
}

/* Whether a stored ID still serves KEY: in its kind's range, or for a group in the uid range
 * (allocated there before gid_min..gid_max was set: its gid stays). */
static bool id_serves(const struct idalloc *a, const char *key, long long id)
{
	uint32_t lo, hi;
	key_range(a, key, &lo, &hi);
	return (id >= lo && id <= hi) || (is_group_key(key) && id >= a->min && id <= a->max);
}

/* One stored allocation into OUT; 1 when out of memory (stops the load). */
static int load_one(long long id, const char *key, void *arg)
{
	struct idalloc *out = arg;
	if (id <= 0 || id > UINT32_MAX || !key)
		return 0;
	if (used_add(out, (uint32_t)id))
		return 1;
	if (id_serves(out, key, id) && entry_append(out, key, (uint32_t)id))
		return 1;
	return 0;
}

int idalloc_add(struct idalloc *a, const char *key, uint32_t id)
{
	return load_one(id, key, a) ? -1 : 0;
}

static int load_ranges(sqlite3 *db, uint32_t min, uint32_t max, uint32_t gmin, uint32_t gmax, struct idalloc *out)
{
	memset(out, 0, sizeof(*out));
	out->min = min, out->max = max, out->gmin = gmin, out->gmax = gmax;
	int rc = store_unix_ids_each(db, load_one, out);
	if (rc == 0)
		return 0;
	idalloc_free(out);
	if (rc == 1)
		entra_log(&logger, LOG_ERR, "out of memory loading uid allocations");
	return -1;
}

int idalloc_load(sqlite3 *db, uint32_t min, uint32_t max, struct idalloc *out)
{
	return load_ranges(db, min, max, min, max, out);
}

/* Where CFG has new groups' gids come from: gid_min..gid_max when set, else the uid range. */
static void config_group_range(const struct entra_config *cfg, uint32_t *lo, uint32_t *hi)
{
	bool apart = cfg->gid_min && cfg->gid_max;
	*lo = apart ? cfg->gid_min : cfg->uid_min;
	*hi = apart ? cfg->gid_max : cfg->uid_max;
}

int idalloc_load_config(sqlite3 *db, const struct entra_config *cfg, struct idalloc *out)
{
	uint32_t lo, hi;
	config_group_range(cfg, &lo, &hi);
	return load_ranges(db, cfg->uid_min, cfg->uid_max, lo, hi, out);
}

bool idalloc_ranges_are(const struct idalloc *a, const struct entra_config *cfg)
{
	uint32_t lo, hi;
	config_group_range(cfg, &lo, &hi);
	return a->min == cfg->uid_min && a->max == cfg->uid_max && a->gmin == lo && a->gmax == hi;
}

void idalloc_free(struct idalloc *a)
{
	for (size_t i = 0; i < a->n_entries; i++)
		free(a->entries[i].key);
	free(a->entries);
	free(a->by_key);
	free(a->used);
	memset(a, 0, sizeof(*a));
}

uint32_t idalloc_find(const struct idalloc *a, const char *key)
{
	if (!a->by_key_cap)
		return 0;
	size_t pos = a->by_key[key_slot(a, key, key_hash(key))];
	return pos ? a->entries[pos - 1].id : 0;
}

uint32_t idalloc_candidate(const struct idalloc *a, const char *key, unsigned probe)
{
	char text[IDALLOC_KEY_MAX + 16];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int len = probe ? snprintf(text, sizeof(text), "%s#%u", key, probe) : snprintf(text, sizeof(text), "%s", key);
	if (len < 0 || (size_t)len >= sizeof(text))
		len = (int)sizeof(text) - 1;
	uint32_t lo, hi;
	key_range(a, key, &lo, &hi);
	if (!EVP_Digest(text, (size_t)len, md, &mdlen, EVP_sha256(), NULL) || mdlen < 8)
		return lo; /* cannot happen with a working libcrypto; probing continues from here */
	uint64_t h = 0;
	for (int i = 0; i < 8; i++)
		h = h << 8 | md[i];
	uint64_t span = (uint64_t)hi - lo + 1;
	return (uint32_t)(lo + h % span);
}

static bool id_taken(const struct idalloc *a, uint32_t id, const struct names_local *local)
{
	return used_has(a, id) || (local && names_local_id_used(local, id));
}

/* Probes the hash sequence, then walks up from the last candidate (a nearly full range). */
static uint32_t id_pick(const struct idalloc *a, const char *key, const struct names_local *local)
{
	uint32_t id = 0;
	for (unsigned probe = 0; probe < IDALLOC_MAX_PROBES; probe++) {
		id = idalloc_candidate(a, key, probe);
		if (!id_taken(a, id, local)) {
			if (probe)
				entra_log(&logger, LOG_NOTICE, "id %u for %s after %u collision(s)", id, key, probe);
			return id;
		}
	}
	uint32_t lo, hi;
	key_range(a, key, &lo, &hi);
	uint64_t span = (uint64_t)hi - lo + 1;
	for (uint64_t step = 1; step <= span; step++) {
		uint32_t next = (uint32_t)(lo + ((uint64_t)id - lo + step) % span);
		if (!id_taken(a, next, local))
			return next;
	}
	return 0;
}

static int req_key_cmp(const void *x, const void *y)
{
	return strcmp((*(struct idalloc_request *const *)x)->key, (*(struct idalloc_request *const *)y)->key);
}

static int insert_new(struct idalloc *a, struct store_unix_ids_batch *batch, struct idalloc_request **fresh,
                      size_t n_fresh, const struct names_local *local)
{
	const char *prev = NULL;
	uint32_t prev_id = 0;
	for (size_t i = 0; i < n_fresh; i++) {
		struct idalloc_request *r = fresh[i];
		if (prev && !strcmp(prev, r->key)) { /* the same object asked twice */
			r->id = prev_id;
			continue;
		}
		if (!(r->id = id_pick(a, r->key, local))) {
			entra_log(&logger, LOG_ERR, "no free id left in %s for %s; widen the range",
			          is_group_key(r->key) && a->gmin != a->min ? "gid_min..gid_max" : "uid_min..uid_max",
			          r->key);
			continue;
		}
		if (store_unix_ids_insert(batch, r->id, r->key) || used_add(a, r->id))
			return -1;
		prev = r->key, prev_id = r->id;
	}
	return 0;
}

/* After a commit: remember the new allocations so the next lookups find them. */
static int entries_merge(struct idalloc *a, struct idalloc_request **fresh, size_t n_fresh)
{
	for (size_t i = 0; i < n_fresh; i++)
		if (fresh[i]->id && entry_append(a, fresh[i]->key, fresh[i]->id))
			return -1;
	return 0;
}

static int fresh_commit(struct idalloc *a, sqlite3 *db, struct idalloc_request **fresh, size_t n_fresh,
                        const struct names_local *local)
{
	struct idalloc snapshot_used = {.used = NULL};
	struct store_unix_ids_batch batch;
	if (store_unix_ids_begin(&batch, db))
		return -1;
	/* Keep a copy of the used set: a rolled-back transaction must not leave ids marked. */
	snapshot_used.used = a->used_cap ? malloc(a->used_cap * sizeof(*a->used)) : NULL;
	if (a->used_cap && !snapshot_used.used) {
		store_unix_ids_abandon(&batch);
		return -1;
	}
	if (a->used_cap)
		memcpy(snapshot_used.used, a->used, a->used_cap * sizeof(*a->used));
	snapshot_used.used_cap = a->used_cap, snapshot_used.used_count = a->used_count;
	int failed = insert_new(a, &batch, fresh, n_fresh, local);
	if (failed)
		store_unix_ids_abandon(&batch);
	if (failed || store_unix_ids_end(&batch)) {
		free(a->used);
		a->used = snapshot_used.used, a->used_cap = snapshot_used.used_cap;
		a->used_count = snapshot_used.used_count;
		for (size_t i = 0; i < n_fresh; i++)
			fresh[i]->id = 0;
		return -1;
	}
	free(snapshot_used.used);
	return entries_merge(a, fresh, n_fresh);
}

int idalloc_assign(struct idalloc *a, sqlite3 *db, struct idalloc_request *req, size_t n,
                   const struct names_local *local)
{
	struct idalloc_request **fresh = NULL;
	size_t n_fresh = 0;
	for (size_t i = 0; i < n; i++)
		if (!(req[i].id = idalloc_find(a, req[i].key)))
			n_fresh++;
	if (!n_fresh || !db)
		return 0;
	if (!(fresh = malloc(n_fresh * sizeof(*fresh))))
		return -1;
	n_fresh = 0;
	for (size_t i = 0; i < n; i++)
		if (!req[i].id)
			fresh[n_fresh++] = &req[i];
	/* Key order makes collisions among new objects resolve the same way on every host. */
	qsort(fresh, n_fresh, sizeof(*fresh), req_key_cmp);
	int rc = fresh_commit(a, db, fresh, n_fresh, local);
	free(fresh);
	return rc;
}
