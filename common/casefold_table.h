/* The generated table behind casefold.c (common/casefold_table.c, tests/tools/gen_casefold.py). */
#ifndef SYNC_CASEFOLD_TABLE_H
#define SYNC_CASEFOLD_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct casefold_pair {
	uint32_t from, to;
};

/* Every code point whose simple case folding is another one, sorted by FROM. */
extern const struct casefold_pair casefold_pairs[];
extern const size_t casefold_n_pairs;
extern const char casefold_unicode_version[];

#endif
