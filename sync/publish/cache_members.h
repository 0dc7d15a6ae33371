/* The member names of each group, packed the way cache.db's groups.member_names holds them
 * (common/cache_schema.h): shared by the full and the incremental writer so both write the
 * same bytes. */
#ifndef SYNC_CACHE_MEMBERS_H
#define SYNC_CACHE_MEMBERS_H

#include <stddef.h>
#include <stdint.h>

#include "sync/publish/cache_keymap.h"
#include "sync/rules/host_snapshot.h"

struct cache_packed_group {
	const unsigned char *names; /* "name\0name\0...", in uid order; inside the pack's buffer */
	size_t len;
	uint32_t uid_min, uid_max; /* 0, 0 when the group has no member with an account */
};

struct cache_packs {
	struct cache_packed_group *groups; /* one per snapshot group, same index */
	unsigned char *buf;                /* every group's names */
};

/* Packs every group of S: members whose uid has an account in S, each once, in uid order.
 * 0, or -1 when out of memory (P then holds nothing). */
int cache_packs_build(const struct cache_snapshot *s, struct cache_packs *p);
/* The packs of NEXT from PREV's (PREV_PACKS, built for PREV): a group whose gid is in DIRTY
 * (its memberships changed, or a member's name) or that PREV did not have is packed again,
 * every other group's names are copied. So the cost follows the change, not the directory.
 * Gives exactly what cache_packs_build(NEXT) gives. 0, or -1 when out of memory. */
int cache_packs_update(const struct cache_snapshot *prev, const struct cache_packs *prev_packs,
                       const struct cache_snapshot *next, const struct keymap *dirty, struct cache_packs *p);
void cache_packs_free(struct cache_packs *p);

#endif
