/* The orders cache.db rows are written in (sync/publish/cache_writer_internal.h): rows are
 * inserted in primary key order, since appending to a B-tree is much cheaper than random
 * inserts (100k accounts). Shared by the writers and the member packing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sync/publish/cache_writer_internal.h"

int cache_account_uid_cmp(const void *x, const void *y)
{
	uint32_t a = (*(const struct cache_account *const *)x)->uid, b = (*(const struct cache_account *const *)y)->uid;
	return (a > b) - (a < b);
}

int cache_group_gid_cmp(const void *x, const void *y)
{
	uint32_t a = (*(const struct cache_group *const *)x)->gid, b = (*(const struct cache_group *const *)y)->gid;
	return (a > b) - (a < b);
}

/* Two keys compared in turn: (A1, A2) against (B1, B2). */
static int pair_cmp(uint32_t a1, uint32_t a2, uint32_t b1, uint32_t b2)
{
	if (a1 != b1)
		return (a1 > b1) - (a1 < b1);
	return (a2 > b2) - (a2 < b2);
}

int cache_member_cmp(const void *x, const void *y)
{
	const struct cache_member *a = x, *b = y;
	return pair_cmp(a->gid, a->uid, b->gid, b->uid);
}

int cache_ssh_key_cmp(const void *x, const void *y)
{
	const struct cache_ssh_key *a = x, *b = y;
	return pair_cmp(a->uid, a->n, b->uid, b->n);
}

int cache_member_change_cmp(const void *x, const void *y)
{
	const struct cache_member_change *a = x, *b = y;
	return pair_cmp(a->gid, a->uid, b->gid, b->uid);
}

void *cache_sorted_copy(const void *rows, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	void *copy = malloc((n + 1) * size);
	if (copy && n) {
		memcpy(copy, rows, n * size);
		qsort(copy, n, size, cmp);
	}
	return copy;
}
