/* Writes cache.db (common/cache_schema.h) atomically: temp file in the same directory, one
 * transaction, fsync, fchmod 0644, rename over the old file, fsync the directory. */
#ifndef SYNC_CACHE_WRITER_H
#define SYNC_CACHE_WRITER_H

#include <stddef.h>

#include "sync/rules/host_snapshot.h"

long long cache_generation(const char *path);
/* Removes temp files a crashed publish left next to PATH ("PATH.tmp.XXXXXX"). */
void cache_remove_stale_temps(const char *path);
/* Publishes SNAP as PATH with generation GENERATION. 0, or -1 (logged; PATH untouched). */
int cache_write(const char *path, const struct cache_snapshot *snap, long long generation);
/* Publishes NEXT as PATH with generation GENERATION by copying the current PATH and applying
 * only the rows that differ from PREV, in one transaction, with the same guarantees as
 * cache_write. PATH must be the file PREV was published as, with PREV_GENERATION. *ROWS (may
 * be NULL) gets the number of rows deleted or inserted. 0 on success, 1 when PATH is missing
 * or not that file (the caller writes in full), -1 on error (logged; PATH untouched). */
int cache_write_delta(const char *path, const struct cache_snapshot *prev, long long prev_generation,
                      const struct cache_snapshot *next, long long generation, size_t *rows);

#endif
