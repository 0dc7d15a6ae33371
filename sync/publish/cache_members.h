/* The member names of each group, packed the way cache.db's groups.member_names holds them
 * (common/cache_schema.h): shared by the full and the incremental writer so both write the
 * same bytes. */
#ifndef SYNC_CACHE_MEMBERS_H
#define SYNC_CACHE_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sync/publish/cache_blocks.h"
#include "sync/publish/cache_keymap.h"
#include "sync/rules/host_snapshot.h"

struct cache_packed_group {
	const unsigned char *names; /* "name\0name\0...", in uid order; inside the pack's buffer */
	size_t len;
	const uint32_t *uids; /* the members' uids, ascending, one per name */
	size_t n;
	uint32_t uid_min, uid_max; /* 0, 0 when the group has no member with an account */
};

struct cache_packs {
	struct cache_packed_group *groups; /* one per snapshot group, same index */
	unsigned char *buf;                /* every group's names */
	uint32_t *uids;                    /* every group's uids */
	struct cache_blocks blocks;        /* the passwd_blocks rows, kept with the packs */
};

/* Packs every group of S: members whose uid has an account in S, each once, in uid order; and
 * S's passwd blocks. 0, or -1 when out of memory (P then holds nothing). */
int cache_packs_build(const struct cache_snapshot *s, struct cache_packs *p);

/* A membership (a members row) that one snapshot has and the other has not. */
struct cache_member_change {
	uint32_t gid, uid;
	bool added; /* true: only in the newer snapshot; false: only in the older */
};

/* What changed between two snapshots, as far as packed member names go. */
struct cache_pack_delta {
	const struct cache_member_change *changes; /* sorted by (gid, uid) */
	size_t n_changes;
	const struct keymap *renamed;  /* uids whose account's name changed */
	const struct keymap *touched;  /* gids with a renamed member */
	const struct keymap *accounts; /* the newer snapshot's accounts: uid -> index */
	const uint32_t *changed_uids;  /* uids whose passwd row differs, sorted, distinct */
	size_t n_changed_uids;
};

/* The packs of NEXT from PREV's (PREV_PACKS, built for PREV) and D: a group D leaves alone is
 * copied, one with changed memberships or a renamed member is spliced (PREV's names with those
 * members added, removed or renamed, no sorting, no look-up per kept member), one PREV did not
 * have is packed. So the cost follows the change, not the directory. Gives exactly what
 * cache_packs_build(NEXT) gives (NEXT's passwd blocks too: PREV's copied, cut again only where
 * D's changed_uids fall, sync/publish/cache_blocks.h). 0, or -1 when out of memory. */
int cache_packs_update(const struct cache_snapshot *prev, const struct cache_packs *prev_packs,
                       const struct cache_snapshot *next, const struct cache_pack_delta *d, struct cache_packs *p);
void cache_packs_free(struct cache_packs *p);

#endif
