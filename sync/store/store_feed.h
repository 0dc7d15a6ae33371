/* The hub's side of the follower feed in state.db: the hub id, the uid/gid allocations in the
 * change log, a consistent snapshot and the changes after a cursor (sync/feed serves them).
 *
 * The cursor is the change log's seq (store_changes.h). Besides the triggers on users, groups
 * and members, one trigger logs every new uid/gid allocation (kind 4: id = key, other = the
 * number), so followers receive the hub's ids in order with the rest. */
#ifndef SYNC_STORE_FEED_H
#define SYNC_STORE_FEED_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "sync/store/store.h"

#define STORE_FEED_HUB_KEY "feed_hub_id" /* kv key of the hub id */

/* Logs allocations once the change log and unix_ids exist (idempotent). 0 or -1 (logged). */
int store_feed_install(sqlite3 *db);
/* The hub id: a random UUID created once with this state.db (a re-created directory or another
 * hub has another). 0 or -1 (logged). */
int store_feed_hub_id(sqlite3 *db, char out[STORE_ID_LEN + 1]);
/* The change log's position now. 0 or -1. */
int store_feed_position(sqlite3 *db, long long *cursor);
/* Everything a follower needs, read in one transaction: {"cursor":N, "users":[...],
 * "groups":[...], "members":[[group,user],...], "ids":[[key,id],...]}. 0 or -1 (logged). */
int store_feed_snapshot(sqlite3 *db, json_t **out);
/* The changes after AFTER, at most LIMIT log entries, in one read transaction: *CHANGES an array
 * (empty when nothing is after AFTER, *CURSOR then AFTER), *CURSOR the position they bring a
 * follower to, *MORE whether the log holds more after it. 1 when AFTER is gone (pruned, beyond the log's end, or the
 * log is incomplete): the follower must take a new snapshot. 0, 1 or -1 (logged). */
int store_feed_changes(sqlite3 *db, long long after, size_t limit, json_t **changes, long long *cursor, bool *more);

#endif
