/* Writes cache.db (common/cache_schema.h) atomically: temp file in the same directory, one
 * transaction, fsync, fchmod 0644, rename over the old file, fsync the directory. */
#ifndef SYNC_CACHE_WRITER_H
#define SYNC_CACHE_WRITER_H

#include <stddef.h>

#include "sync/publish/cache_members.h"
#include "sync/rules/host_snapshot.h"

long long cache_generation(const char *path);
/* Removes temp files a crashed publish left next to PATH ("PATH.tmp.XXXXXX"). */
void cache_remove_stale_temps(const char *path);
/* Publishes SNAP as PATH with generation GENERATION. 0, or -1 (logged; PATH untouched). */
int cache_write(const char *path, const struct cache_snapshot *snap, long long generation);
/* cache_write that also hands back the groups' packed member names it wrote (PACKS, the
 * caller's to free with cache_packs_free; untouched on failure), for the next cache_write_delta. */
int cache_write_packed(const char *path, const struct cache_snapshot *snap, long long generation,
                       struct cache_packs *packs);
/* Publishes NEXT as PATH with generation GENERATION by copying the current PATH and applying
 * only the rows that differ from PREV, in one transaction, with the same guarantees as
 * cache_write. PATH must be the file PREV was published as, with PREV_GENERATION, and
 * PREV_PACKS PREV's packed member names. *ROWS (may be NULL) gets the number of rows deleted or
 * inserted; NEXT_PACKS (may be NULL) NEXT's packed member names on success. 0 on success, 1
 * when PATH is missing or not that file (the caller writes in full), -1 on error (logged; PATH
 * untouched). */
int cache_write_delta(const char *path, const struct cache_snapshot *prev, const struct cache_packs *prev_packs,
                      long long prev_generation, const struct cache_snapshot *next, long long generation, size_t *rows,
                      struct cache_packs *next_packs);

#endif
