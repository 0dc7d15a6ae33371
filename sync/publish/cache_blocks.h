/* cache.db's passwd_blocks rows (common/cache_schema.h): every account's getpwent fields packed
 * many to a row, shared by the full and the incremental writer so both write the same blocks. */
#ifndef SYNC_CACHE_BLOCKS_H
#define SYNC_CACHE_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "sync/publish/cache_keymap.h"
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
/* NEXT's blocks from PREV's (PREV_BLOCKS) when the accounts whose passwd rows differ are those
 * of the uids CHANGED[0..N) (sorted, distinct; removed, added or altered): blocks before, after
 * and between them are copied, and entries are cut again only from the block holding a change
 * until the cuts meet PREV's again. ACCOUNTS maps NEXT's uids to its accounts. Gives exactly
 * what cache_blocks_build(NEXT) gives, at the cost of the change plus one copy of the bytes.
 * 0, or -1 when out of memory (B then holds nothing). */
int cache_blocks_update(const struct cache_blocks *prev_blocks, const struct cache_snapshot *next,
                        const struct keymap *accounts, const uint32_t *changed, size_t n, struct cache_blocks *b);
void cache_blocks_free(struct cache_blocks *b);

#endif
