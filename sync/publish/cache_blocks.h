/* cache.db's passwd_blocks rows (common/cache_schema.h): every account's getpwent fields packed
 * many to a row, shared by the full and the incremental writer so both write the same blocks. */
#ifndef SYNC_CACHE_BLOCKS_H
#define SYNC_CACHE_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "sync/rules/host_snapshot.h"

struct cache_block {
	uint32_t last_uid;          /* the row's key: the uid of its last entry */
	const unsigned char *bytes; /* the entries column, inside the set's buffer */
	size_t len;
};

struct cache_blocks {
	struct cache_block *blocks; /* in key order */
	size_t n;
	unsigned char *buf;
};

/* The blocks of S's accounts, in uid order, cut where common/cache_schema.h says. 0, or -1
 * when out of memory (B then holds nothing). */
int cache_blocks_build(const struct cache_snapshot *s, struct cache_blocks *b);
void cache_blocks_free(struct cache_blocks *b);

#endif
