/* The change log of state.db that incremental publication reads (sync/publish/publish_engine.c).
 *
 * Triggers on users, groups and members append the id of every inserted, updated or deleted
 * row to publish_changes(seq INTEGER PRIMARY KEY AUTOINCREMENT, kind, id, other) inside the
 * writer's own transaction, so a reader sees a change and its log entry together or neither,
 * whoever wrote it (SCIM service, CLI, a future follower). AUTOINCREMENT keeps seq monotonic
 * even after the publisher prunes every row. The log says only WHICH rows changed; the reader
 * re-reads their current state in the same read transaction. */
#ifndef SYNC_STORE_CHANGES_H
#define SYNC_STORE_CHANGES_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct changed_user {
	char *id;
	bool exists; /* false: deleted; the fields below are NULL */
	char *external_id, *user_name, *display_name, *ssh_keys;
	bool active;
};

struct changed_group {
	char *id;
	bool exists;
	char *external_id, *display_name;
};

struct changed_member {
	char *group_id, *user_id;
	bool present;
};

/* A uid/gid allocation (unix_ids row) logged by the feed's trigger (store_feed.h): on a follower
 * the hub's allocations arrive so, and the publisher adds them without reloading all of them. */
struct changed_id {
	char *key;
	uint32_t id;
};

struct store_changes {
	long long seq; /* the log position these changes bring the reader to */
	struct changed_user *users;
	size_t n_users;
	struct changed_group *groups;
	size_t n_groups;
	struct changed_member *members;
	size_t n_members;
	struct changed_id *ids;
	size_t n_ids;
};

/* Creates the log table and its triggers once the store's tables exist (idempotent).
 * 1 when the log is in place, 0 when the store has not created its tables yet, -1 on error. */
int store_changes_install(sqlite3 *db);
/* The current log position, read inside the caller's transaction. 0 or -1. */
int store_changes_position(sqlite3 *db, long long *seq);
/* Reads what changed after SINCE, with the current state of each changed row, in one read
 * transaction. 0 on success; 1 when there are more than LIMIT entries or the log has a gap
 * (someone else pruned it): the caller must rebuild in full; -1 on error (logged). */
int store_changes_read(sqlite3 *db, long long since, size_t limit, struct store_changes *out);
void store_changes_free(struct store_changes *c);
/* Entries a prune always keeps (the newest): the follower feed serves changes from them, and a
 * follower whose cursor is older takes a new snapshot. ~60 bytes each. */
#define STORE_CHANGES_KEEP 100000

/* Drops log entries up to and including SEQ, keeping the newest KEEP (STORE_CHANGES_KEEP for
 * the feed) (a short write transaction). 0 or -1 (logged).
 * Unless WAIT, it never waits for another writer: 1 when one holds the lock (nothing done,
 * nothing logged); DB's busy timeout is then BUSY_TIMEOUT_MS again afterwards. */
int store_changes_prune(sqlite3 *db, long long seq, long long keep, bool wait, int busy_timeout_ms);

#endif
