/* The orders cache.db rows are written in (sync/publish/cache_writer_internal.h): rows are
 * inserted in primary key order, since appending to a B-tree is much cheaper than random
 * inserts (100k accounts). Shared by the writers and the member packing. */
#include <stdint.h>

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

int cache_member_cmp(const void *x, const void *y)
{
	const struct cache_member *a = x, *b = y;
	if (a->gid != b->gid)
		return (a->gid > b->gid) - (a->gid < b->gid);
	return (a->uid > b->uid) - (a->uid < b->uid);
}

int cache_ssh_key_cmp(const void *x, const void *y)
{
	const struct cache_ssh_key *a = x, *b = y;
	if (a->uid != b->uid)
		return (a->uid > b->uid) - (a->uid < b->uid);
	return (a->n > b->n) - (a->n < b->n);
}

int cache_member_change_cmp(const void *x, const void *y)
{
	const struct cache_member_change *a = x, *b = y;
	if (a->gid != b->gid)
		return (a->gid > b->gid) - (a->gid < b->gid);
	return (a->uid > b->uid) - (a->uid < b->uid);
}
