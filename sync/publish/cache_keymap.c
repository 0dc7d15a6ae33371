/* Open addressing with linear probing, at most half full (sync/publish/cache_keymap.h). */
#include "sync/publish/cache_keymap.h"

#include <stdlib.h>

static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	return k ^ (k >> 33);
}

int keymap_init(struct keymap *m, size_t n)
{
	size_t cap = 16;
	while (cap < n * 2)
		cap *= 2;
	m->keys = malloc(cap * sizeof(*m->keys));
	m->rows = malloc(cap * sizeof(*m->rows));
	m->state = calloc(cap, 1);
	m->mask = cap - 1;
	if (m->keys && m->rows && m->state)
		return 0;
	keymap_free(m);
	return -1;
}

void keymap_free(struct keymap *m)
{
	free(m->keys);
	free(m->rows);
	free(m->state);
	m->keys = NULL, m->rows = NULL, m->state = NULL, m->mask = 0;
}

size_t keymap_slot(const struct keymap *m, uint64_t key)
{
	size_t i = mix(key) & m->mask;
	while (m->state[i] && m->keys[i] != key)
		i = (i + 1) & m->mask;
	return i;
}

void keymap_add(struct keymap *m, uint64_t key, size_t row)
{
	size_t i = keymap_slot(m, key);
	if (!m->state[i])
		m->state[i] = 1, m->keys[i] = key, m->rows[i] = row;
}

bool keymap_get(const struct keymap *m, uint64_t key, size_t *row)
{
	size_t i = keymap_slot(m, key);
	if (!m->state[i])
		return false;
	*row = m->rows[i];
	return true;
}
