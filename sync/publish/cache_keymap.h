/* A hash map from a 64-bit key to the first row that has it, sized once: the writers' way of
 * matching 100k rows by key without sorting them. */
#ifndef SYNC_CACHE_KEYMAP_H
#define SYNC_CACHE_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct keymap {
	uint64_t *keys;
	size_t *rows;
	unsigned char *state; /* 0 empty, 1 present, 2 present and marked (cache_delta.c: matched) */
	size_t mask;
};

/* Room for N keys. 0, or -1 when out of memory (M then holds nothing to free). */
int keymap_init(struct keymap *m, size_t n);
void keymap_free(struct keymap *m);
/* The slot of KEY: where it is, or the empty slot where it would go. */
size_t keymap_slot(const struct keymap *m, uint64_t key);
/* Adds KEY -> ROW unless KEY is there already (the first row wins, like INSERT OR IGNORE).
 * At most the N keys keymap_init was given. */
void keymap_add(struct keymap *m, uint64_t key, size_t row);
/* The row of KEY in *ROW; false when absent. */
bool keymap_get(const struct keymap *m, uint64_t key, size_t *row);

#endif
