/* The uid/gid allocations in state.db (tables unix_ids, unix_ids_meta): every statement on them.
 * What to allocate is sync/rules/idalloc.c's; failures are logged here ("state.db: ..."). */
#ifndef SYNC_STORE_UNIX_IDS_H
#define SYNC_STORE_UNIX_IDS_H

#include <sqlite3.h>
#include <stdint.h>

/* Creates the tables when missing and checks their schema version. 0, or -1 (logged). */
int store_unix_ids_init(sqlite3 *db);

/* Calls FN for every allocation, ordered by key then id (the first in-range row of a key is its
 * id); none before the tables exist. 0, -1 (logged), or FN's non-zero value (FN stops it). */
typedef int (*store_unix_id_fn)(long long id, const char *key, void *arg);
int store_unix_ids_each(sqlite3 *db, store_unix_id_fn fn, void *arg);

/* New allocations, in one write transaction: begin, insert any number, then end (commit) or
 * abandon (roll back). 0, or -1 (logged). */
struct store_unix_ids_batch {
	sqlite3 *db;
	sqlite3_stmt *insert;
	long long now;
};
int store_unix_ids_begin(struct store_unix_ids_batch *b, sqlite3 *db);
int store_unix_ids_insert(struct store_unix_ids_batch *b, uint32_t id, const char *key);
int store_unix_ids_end(struct store_unix_ids_batch *b);
void store_unix_ids_abandon(struct store_unix_ids_batch *b);

#endif
