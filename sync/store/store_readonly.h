/* state.db opened read-only by the admin tools (entra-sync status, users, groups; doctor): never
 * written, safe while entra-syncd runs. Every statement on state.db lives under sync/store/. */
#ifndef SYNC_STORE_READONLY_H
#define SYNC_STORE_READONLY_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "sync/store/resource_type.h"

/* Opens PATH read-only. STORE_OK with *DB; STORE_NOT_FOUND when the file does not exist (ERR:
 * the errno text); STORE_ERROR when it cannot be opened (ERR says why); STORE_INVALID when its
 * schema version is not STORE_SCHEMA_VERSION: *VERSION says which, or is -1 when it cannot be
 * read (ERR says why: permissions, not a database). */
int store_readonly_open(const char *path, sqlite3 **db, int *version, char *err, size_t errlen);

struct store_summary {
	long long users, active_users, groups;
	long long last_request; /* unix time of Entra's last request, 0 never */
};

/* The counts and the last request in one read transaction, so they agree while entra-syncd
 * writes. STORE_OK, or STORE_ERROR (sqlite3_errmsg(DB) says why). */
int store_readonly_summary(sqlite3 *db, struct store_summary *out);

/* The value of the state key KEY (e.g. "last_request") into OUT: STORE_OK, STORE_NOT_FOUND, or
 * STORE_ERROR with the reason in OUT. */
int store_readonly_kv(sqlite3 *db, const char *key, char *out, size_t outlen);

/* One row of `entra-sync users` / `groups`. Strings may be NULL; borrowed for the call only. */
struct store_listing_row {
	const char *id, *name, *external_id; /* name: userName or displayName */
	long long number;                    /* users: active (0/1); groups: member count */
};
typedef int (*store_listing_fn)(const struct store_listing_row *row, void *arg);

/* Calls FN for every user (by userName) or group (by displayName), case-insensitively ordered,
 * until FN returns non-zero. STORE_OK, STORE_ERROR (ERR says why), or FN's non-zero value. */
int store_readonly_list(sqlite3 *db, enum scim_resource_type type, store_listing_fn fn, void *arg, char *err,
                        size_t errlen);

#endif
