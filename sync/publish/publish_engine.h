/* What one publish of cache.db does, without the publisher thread's scheduling: a full
 * rebuild from state.db, or an incremental one that applies the state.db change log to the
 * directory kept in memory, re-evaluates it, and writes only the rows that differ into a copy
 * of the previous cache.db. Both give the same rows (tests/unit/test_publish_engine.c).
 * Not thread-safe: one engine per publisher thread. */
#ifndef SYNC_PUBLISH_ENGINE_H
#define SYNC_PUBLISH_ENGINE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/config.h"
#include "sync/rules/names.h"

struct publish_engine;

struct publish_result {
	bool incremental; /* false: rebuilt in full */
	bool deferred;    /* evaluated, not written: more changes came meanwhile (publish_engine_on_more) */
	size_t changes;   /* change log entries applied (incremental) */
	size_t rows;      /* cache.db rows deleted or inserted (incremental) */
	size_t accounts, groups, refused;
	long long generation;
	double ms_changes, ms_evaluate, ms_write; /* where the time went (read + patch, AUP, cache.db) */
};

/* How long the publisher's connection waits for the SCIM writer's lock. */
#define PUBLISH_BUSY_TIMEOUT_MS 10000

struct publish_engine *publish_engine_new(void);
void publish_engine_free(struct publish_engine *e);
/* Asked once an incremental publish has evaluated the rules: true when more changes arrived
 * meanwhile. The engine then skips writing a cache.db that is already out of date (never twice
 * in a row, so a stream of changes still gets published) and the caller publishes again at once. */
typedef bool (*publish_more_fn)(void *arg);
void publish_engine_on_more(struct publish_engine *e, publish_more_fn more, void *arg);
/* Publishes cfg->cache_db from DB (the engine's own state.db connection) and LOCAL (the
 * /etc/passwd and /etc/group names, read by the caller for this publish). Rebuilds in full
 * when FULL, at the first run, when CFG is not the config of the last publish, and on any
 * doubt (change log missing or pruned by someone else, cache.db not the file it last wrote,
 * too many changes). 0 or -1 (logged; readers keep the previous cache.db). */
int publish_engine_run(struct publish_engine *e, const struct entra_config *cfg, sqlite3 *db,
                       const struct names_local *local, bool full, struct publish_result *res);

#endif
