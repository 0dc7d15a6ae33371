/* Keeps an in-memory struct directory in step with state.db by applying the change log
 * (sync/store/store_changes.h) instead of reloading every user: O(changes), plus O(group size) for a
 * membership change of a large group. */
#ifndef SYNC_DIR_PATCH_H
#define SYNC_DIR_PATCH_H

#include <stddef.h>

#include "sync/store/directory.h"
#include "sync/store/store_changes.h"

/* Open addressing map from a SCIM id (a string owned by the directory) to its index. */
struct dir_id_map {
	const char **keys;
	size_t *vals;
	size_t mask, count;
};

struct dir_index {
	struct dir_id_map users, groups;
	size_t cap_users, cap_groups; /* allocated elements of dir->users / dir->groups */
};

/* Strings the directory no longer uses but a previous snapshot may still point at. */
struct dir_garbage {
	char **items;
	size_t n, cap;
};

int dir_index_build(const struct directory *dir, struct dir_index *idx);
void dir_index_free(struct dir_index *idx);
/* Applies CH to DIR (taking over CH's strings). Replaced strings go to GARBAGE. 0, or -1 when
 * out of memory: DIR may then be half patched and must be rebuilt from state.db. */
int dir_patch_apply(struct directory *dir, struct dir_index *idx, struct store_changes *ch,
                    struct dir_garbage *garbage);
void dir_garbage_free(struct dir_garbage *g);

#endif
