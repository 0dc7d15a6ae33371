/* Applying the state.db change log to an in-memory directory (sync/publish/dir_patch.h). Deletions
 * swap the last entry into the hole, so every index array stays dense. */
#include "sync/publish/dir_patch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* --- the id map --- */

static int map_init(struct dir_id_map *m, size_t n)
{
	size_t cap = 16;
	while (cap < n * 2 + 2)
		cap *= 2;
	m->keys = calloc(cap, sizeof(*m->keys));
	m->vals = calloc(cap, sizeof(*m->vals));
	m->mask = cap - 1;
	m->count = 0;
	return m->keys && m->vals ? 0 : -1;
}

static void map_free(struct dir_id_map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

static size_t map_slot(const struct dir_id_map *m, const char *key)
{
	size_t i = hash_str(key) & m->mask;
	while (m->keys[i] && strcmp(m->keys[i], key) != 0)
		i = (i + 1) & m->mask;
	return i;
}

static bool map_get(const struct dir_id_map *m, const char *key, size_t *val)
{
	size_t i = map_slot(m, key);
	if (!m->keys[i])
		return false;
	*val = m->vals[i];
	return true;
}

static int map_put(struct dir_id_map *m, const char *key, size_t val);

static int map_grow(struct dir_id_map *m)
{
	struct dir_id_map old = *m;
	if (map_init(m, (old.mask + 1)))
		return map_free(m), *m = old, -1;
	for (size_t i = 0; i <= old.mask; i++)
		if (old.keys[i])
			map_put(m, old.keys[i], old.vals[i]);
	map_free(&old);
	return 0;
}

static int map_put(struct dir_id_map *m, const char *key, size_t val)
{
	if ((m->count + 1) * 2 > m->mask + 1 && map_grow(m))
		return -1;
	size_t i = map_slot(m, key);
	if (!m->keys[i])
		m->count++;
	m->keys[i] = key;
	m->vals[i] = val;
	return 0;
}

/* Backward-shift deletion keeps every probe chain unbroken without tombstones. */
static void map_del(struct dir_id_map *m, const char *key)
{
	size_t i = map_slot(m, key);
	if (!m->keys[i])
		return;
	for (size_t j = (i + 1) & m->mask; m->keys[j]; j = (j + 1) & m->mask) {
		size_t home = hash_str(m->keys[j]) & m->mask;
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			i = j;
		}
	}
	m->keys[i] = NULL;
	m->count--;
}

int dir_index_build(const struct directory *dir, struct dir_index *idx)
{
	memset(idx, 0, sizeof(*idx));
	if (map_init(&idx->users, dir->n_users) || map_init(&idx->groups, dir->n_groups))
		return dir_index_free(idx), -1;
	for (size_t i = 0; i < dir->n_users; i++)
		if (map_put(&idx->users, dir->users[i].scim_id, i))
			return dir_index_free(idx), -1;
	for (size_t i = 0; i < dir->n_groups; i++)
		if (map_put(&idx->groups, dir->groups[i].scim_id, i))
			return dir_index_free(idx), -1;
	idx->cap_users = dir->n_users, idx->cap_groups = dir->n_groups;
	return 0;
}

void dir_index_free(struct dir_index *idx)
{
	map_free(&idx->users);
	map_free(&idx->groups);
}

/* --- garbage --- */

static int discard(struct dir_garbage *g, char *s)
{
	if (!s)
		return 0;
	if (g->n == g->cap) {
		size_t ncap = g->cap ? g->cap * 2 : 64;
		char **p = realloc(g->items, ncap * sizeof(*p));
		if (!p) {
			free(s); /* nothing can point at it once the snapshot is rebuilt in full */
			return -1;
		}
		g->items = p, g->cap = ncap;
	}
	g->items[g->n++] = s;
	return 0;
}

void dir_garbage_free(struct dir_garbage *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->items[i]);
	free(g->items);
	memset(g, 0, sizeof(*g));
}

/* --- index arrays --- */

static int index_append(size_t **arr, size_t *n, size_t v)
{
	size_t *p = realloc(*arr, (*n + 1) * sizeof(*p));
	if (!p)
		return -1;
	p[(*n)++] = v;
	*arr = p;
	return 0;
}

/* Removes one occurrence of V (order does not matter to the AUP engine). */
static void index_remove(size_t *arr, size_t *n, size_t v)
{
	for (size_t k = 0; k < *n; k++)
		if (arr[k] == v) {
			arr[k] = arr[--*n];
			return;
		}
}

static void index_rename(size_t *arr, size_t n, size_t from, size_t to)
{
	for (size_t k = 0; k < n; k++)
		if (arr[k] == from) {
			arr[k] = to;
			return;
		}
}

static bool index_has(const size_t *arr, size_t n, size_t v)
{
	for (size_t k = 0; k < n; k++)
		if (arr[k] == v)
			return true;
	return false;
}

static int grow_array(void **arr, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 16;
	void *p = realloc(*arr, ncap * size);
	if (!p)
		return -1;
	*arr = p, *cap = ncap;
	return 0;
}

/* --- users --- */

static void user_delete(struct directory *dir, struct dir_index *idx, size_t i, struct dir_garbage *gb)
{
	struct dir_user *u = &dir->users[i];
	for (size_t k = 0; k < u->n_groups; k++) {
		struct dir_group *g = &dir->groups[u->groups[k]];
		index_remove(g->members, &g->n_members, i);
	}
	map_del(&idx->users, u->scim_id);
	discard(gb, u->scim_id), discard(gb, u->external_id), discard(gb, u->user_name), discard(gb, u->display_name);
	discard(gb, u->ssh_keys);
	free(u->groups);
	size_t last = --dir->n_users;
	if (i == last)
		return;
	*u = dir->users[last];
	for (size_t k = 0; k < u->n_groups; k++) {
		struct dir_group *g = &dir->groups[u->groups[k]];
		index_rename(g->members, g->n_members, last, i);
	}
	map_put(&idx->users, u->scim_id, i); /* replaces an existing key: cannot fail */
}

static int user_apply(struct directory *dir, struct dir_index *idx, struct changed_user *c, struct dir_garbage *gb)
{
	size_t i;
	bool known = map_get(&idx->users, c->id, &i);
	if (!c->exists) {
		if (known)
			user_delete(dir, idx, i, gb);
		return 0;
	}
	if (!known) {
		if (grow_array((void **)&dir->users, &idx->cap_users, dir->n_users, sizeof(*dir->users)))
			return -1;
		i = dir->n_users;
		memset(&dir->users[i], 0, sizeof(dir->users[i]));
		dir->users[i].scim_id = c->id, c->id = NULL;
		if (map_put(&idx->users, dir->users[i].scim_id, i)) {
			free(dir->users[i].scim_id);
			return -1;
		}
		dir->n_users++;
	}
	struct dir_user *u = &dir->users[i];
	int rc = discard(gb, u->external_id) | discard(gb, u->user_name) | discard(gb, u->display_name) |
	         discard(gb, u->ssh_keys);
	u->external_id = c->external_id, u->user_name = c->user_name, u->display_name = c->display_name;
	u->ssh_keys = c->ssh_keys;
	c->external_id = c->user_name = c->display_name = c->ssh_keys = NULL;
	u->active = c->active;
	return rc;
}

/* --- groups --- */

static void group_delete(struct directory *dir, struct dir_index *idx, size_t gi, struct dir_garbage *gb)
{
	struct dir_group *g = &dir->groups[gi];
	for (size_t k = 0; k < g->n_members; k++) {
		struct dir_user *u = &dir->users[g->members[k]];
		index_remove(u->groups, &u->n_groups, gi);
	}
	map_del(&idx->groups, g->scim_id);
	discard(gb, g->scim_id), discard(gb, g->external_id), discard(gb, g->display_name);
	free(g->members);
	size_t last = --dir->n_groups;
	if (gi == last)
		return;
	*g = dir->groups[last];
	for (size_t k = 0; k < g->n_members; k++) {
		struct dir_user *u = &dir->users[g->members[k]];
		index_rename(u->groups, u->n_groups, last, gi);
	}
	map_put(&idx->groups, g->scim_id, gi);
}

static int group_apply(struct directory *dir, struct dir_index *idx, struct changed_group *c, struct dir_garbage *gb)
{
	size_t gi;
	bool known = map_get(&idx->groups, c->id, &gi);
	if (!c->exists) {
		if (known)
			group_delete(dir, idx, gi, gb);
		return 0;
	}
	if (!known) {
		if (grow_array((void **)&dir->groups, &idx->cap_groups, dir->n_groups, sizeof(*dir->groups)))
			return -1;
		gi = dir->n_groups;
		memset(&dir->groups[gi], 0, sizeof(dir->groups[gi]));
		dir->groups[gi].scim_id = c->id, c->id = NULL;
		if (map_put(&idx->groups, dir->groups[gi].scim_id, gi)) {
			free(dir->groups[gi].scim_id);
			return -1;
		}
		dir->n_groups++;
	}
	struct dir_group *g = &dir->groups[gi];
	int rc = discard(gb, g->external_id) | discard(gb, g->display_name);
	g->external_id = c->external_id, g->display_name = c->display_name;
	c->external_id = c->display_name = NULL;
	return rc;
}

/* --- memberships --- */

static int member_apply(struct directory *dir, struct dir_index *idx, const struct changed_member *c)
{
	size_t ui, gi;
	if (!map_get(&idx->users, c->user_id, &ui) || !map_get(&idx->groups, c->group_id, &gi))
		return 0; /* one end is gone: its deletion removed the membership */
	struct dir_user *u = &dir->users[ui];
	struct dir_group *g = &dir->groups[gi];
	bool has = index_has(u->groups, u->n_groups, gi); /* a user's list is the short side */
	if (c->present && !has) {
		if (index_append(&u->groups, &u->n_groups, gi))
			return -1;
		if (index_append(&g->members, &g->n_members, ui)) {
			u->n_groups--;
			return -1;
		}
	} else if (!c->present && has) {
		index_remove(u->groups, &u->n_groups, gi);
		index_remove(g->members, &g->n_members, ui);
	}
	return 0;
}

int dir_patch_apply(struct directory *dir, struct dir_index *idx, struct store_changes *ch, struct dir_garbage *garbage)
{
	for (size_t i = 0; i < ch->n_users; i++)
		if (user_apply(dir, idx, &ch->users[i], garbage))
			return -1;
	for (size_t i = 0; i < ch->n_groups; i++)
		if (group_apply(dir, idx, &ch->groups[i], garbage))
			return -1;
	for (size_t i = 0; i < ch->n_members; i++)
		if (member_apply(dir, idx, &ch->members[i]))
			return -1;
	return 0;
}
