/* state.db: entra-syncd's private SQLite store of SCIM users, groups and memberships.
 *
 * WAL, synchronous=FULL (an acknowledged write survives kill -9), foreign keys on, mode 0600.
 * The schema is versioned with PRAGMA user_version and an ordered list of migration steps.
 * Every statement is prepared once at open and reset after use; a struct store is NOT
 * thread-safe on its own: scim_service gives its one writer connection to one request at a
 * time (group_commit.c) and each reader its own pooled read-only connection (store_pool.c).
 *
 * Schema (version 2), for readers such as `entra-sync users`:
 *   users(id TEXT PK, user_name TEXT UNIQUE NOCASE, external_id, display_name, active INTEGER,
 *         json TEXT, created TEXT, last_modified TEXT, version INTEGER,
 *         user_key TEXT UNIQUE, display_key TEXT)
 *   groups(id TEXT PK, display_name TEXT NOCASE (not unique: Entra allows duplicates),
 *          external_id, json, created, last_modified, version, display_key TEXT)
 * The *_key columns hold the name's Unicode simple case folding (casefold.h): userName is unique
 * by it, and look-ups by userName or displayName use it.
 *   members(group_id -> groups.id, user_id -> users.id, both ON DELETE CASCADE)
 *   kv(key TEXT PK, value TEXT)          e.g. "last_request" = unix seconds
 * `json` is the resource as received and normalised, without id, meta and (groups) members.
 */
#ifndef SYNC_STORE_H
#define SYNC_STORE_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "sync/store/resource_type.h"

#define STORE_SCHEMA_VERSION 3
#define STORE_ID_LEN         36 /* a UUID v4 in text form */
#define STORE_TIME_LEN       32 /* "2024-05-01T12:00:00.123Z" */

enum store_status {
	STORE_OK = 0,
	STORE_ERROR = -1,     /* SQLite or memory failure (logged) */
	STORE_NOT_FOUND = -2, /* no resource with that id */
	STORE_CONFLICT = -3,  /* userName already taken (compared with Unicode case folding) */
	STORE_INVALID = -4,   /* the resource lacks its required name attribute */
};

/* One stored resource. */
struct store_record {
	char id[STORE_ID_LEN + 1];
	json_t *resource; /* owned: the stored JSON object */
	char created[STORE_TIME_LEN];
	char last_modified[STORE_TIME_LEN];
	long long version;
};

enum store_lookup {
	STORE_ALL,             /* every resource, oldest first */
	STORE_BY_ID,           /* exact */
	STORE_BY_USER_NAME,    /* case-insensitive (Unicode simple case folding); users only */
	STORE_BY_EXTERNAL_ID,  /* exact */
	STORE_BY_DISPLAY_NAME, /* case-insensitive (Unicode simple case folding) */
};

struct store;

/* Opens or creates PATH (mode 0600), applies pending migrations and prepares every statement.
 * NULL on error with a message in ERR. */
struct store *store_open(const char *path, char *err, size_t errlen);
/* A read-only (query_only) connection to the existing, migrated PATH, with a smaller page
 * cache. In WAL mode it sees only committed transactions, and with synchronous=FULL a commit
 * becomes visible only after its fsync: a reader never sees data that a crash could lose. */
struct store *store_open_reader(const char *path, char *err, size_t errlen);
void store_close(struct store *st);
/* The connection, for read-only helpers such as store_directory_load. */
sqlite3 *store_db(struct store *st);

/* Transactions: WRITE takes BEGIN IMMEDIATE so two writers never deadlock on upgrade. */
int store_begin(struct store *st, bool write);
int store_commit(struct store *st);
void store_rollback(struct store *st);
/* False when no transaction is open, also after SQLite rolled one back on its own (a full disk,
 * an I/O error): a batch of requests sharing the transaction must then fail as a whole. */
bool store_in_transaction(struct store *st);
/* One savepoint per request inside a shared write transaction: RELEASE keeps its changes,
 * ROLLBACK undoes only them (ROLLBACK TO, then RELEASE). */
int store_savepoint(struct store *st);
int store_savepoint_release(struct store *st);
int store_savepoint_rollback(struct store *st);

/* A random UUID v4 (getrandom) and the current UTC time in RFC 3339 form. */
int store_new_id(char out[STORE_ID_LEN + 1]);
void store_now(char out[STORE_TIME_LEN]);

/* Inserts RES (a group's `members` are not part of the stored JSON) with version 1.
 * STORE_OK, STORE_CONFLICT, STORE_INVALID or STORE_ERROR. */
int store_insert(struct store *st, enum scim_resource_type type, const char *id, const json_t *res, const char *now);
/* Replaces the JSON of ID, keeps `created`, bumps the version. Also STORE_NOT_FOUND. */
int store_update(struct store *st, enum scim_resource_type type, const char *id, const json_t *res, const char *now);
/* Touches lastModified and version only (a group whose members changed). */
int store_touch(struct store *st, enum scim_resource_type type, const char *id, const char *now);
int store_get(struct store *st, enum scim_resource_type type, const char *id, struct store_record *rec);
int store_delete(struct store *st, enum scim_resource_type type, const char *id);
int store_count(struct store *st, enum scim_resource_type type, long long *n);

/* Calls FN for each record found by BY (VALUE its argument, ignored for STORE_ALL), skipping
 * OFFSET rows and stopping after LIMIT (-1: no limit). FN returns 0 to go on, 1 to stop, -1 on
 * error. The record is cleared after FN returns; FN may steal rec->resource (set it to NULL).
 * Returns STORE_OK, STORE_ERROR, or -1 when FN failed. A lookup that TYPE has no index for
 * (userName on groups) is STORE_ERROR: callers fall back to STORE_ALL. */
typedef int (*store_record_fn)(struct store_record *rec, void *arg);
int store_scan(struct store *st, enum scim_resource_type type, enum store_lookup by, const char *value, long long limit,
               long long offset, store_record_fn fn, void *arg);
bool store_has_lookup(enum scim_resource_type type, enum store_lookup by);

/* Members of GROUP_ID in a stable order: FN(user_id, user_name, arg), 0 go on, -1 error. */
typedef int (*store_member_fn)(const char *user_id, const char *user_name, void *arg);
int store_members_each(struct store *st, const char *group_id, store_member_fn fn, void *arg);
/* Makes the member set of GROUP_ID exactly USER_IDS (duplicates ignored, ids of no existing
 * user silently skipped): set difference in SQL, so unchanged rows are not rewritten.
 * *CHANGED (may be NULL) says whether any row was added or removed. */
int store_members_replace(struct store *st, const char *group_id, const char *const *user_ids, size_t n, bool *changed);

/* One membership, for PATCHes that name their members: O(log n) whatever the group's size.
 * store_member_set adds USER_ID only if that user exists (like store_members_replace). */
int store_member_has(struct store *st, const char *group_id, const char *user_id, bool *has);
int store_member_set(struct store *st, const char *group_id, const char *user_id, bool present);

int store_kv_set(struct store *st, const char *key, const char *value);
/* STORE_OK with OUT filled, STORE_NOT_FOUND, or STORE_ERROR. */
int store_kv_get(struct store *st, const char *key, char *out, size_t outlen);

int store_stats(struct store *st, long *users, long *active_users, long *groups);

void store_record_clear(struct store_record *rec);

#endif
