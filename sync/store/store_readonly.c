/* Read-only statements on state.db for the admin tools (see store_readonly.h). */
#include "sync/store/store_readonly.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sql_scalar.h"
#include "sync/store/store.h"

#define BUSY_TIMEOUT_MS 5000 /* entra-syncd's COMMITs are short: wait for them */

static int schema_version(sqlite3 *db)
{
	sqlite3_stmt *stmt = NULL;
	int version = -1;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW)
		version = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return version;
}

int store_readonly_open(const char *path, sqlite3 **db, int *version, char *err, size_t errlen)
{
	*db = NULL;
	*version = -1;
	if (access(path, F_OK) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return STORE_NOT_FOUND;
	}
	if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", *db ? sqlite3_errmsg(*db) : "out of memory");
		sqlite3_close(*db);
		*db = NULL;
		return STORE_ERROR;
	}
	sqlite3_busy_timeout(*db, BUSY_TIMEOUT_MS);
	*version = schema_version(*db);
	if (*version == STORE_SCHEMA_VERSION)
		return STORE_OK;
	snprintf(err, errlen, "%s", sqlite3_errmsg(*db));
	sqlite3_close(*db);
	*db = NULL;
	return STORE_INVALID;
}

int store_readonly_summary(sqlite3 *db, struct store_summary *s)
{
	int rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
	if (rc == 0)
		rc = entra_sql_int64(db, "SELECT count(*) FROM users", NULL, &s->users) |
		     entra_sql_int64(db, "SELECT count(*) FROM users WHERE active != 0", NULL, &s->active_users) |
		     entra_sql_int64(db, "SELECT count(*) FROM groups", NULL, &s->groups) |
		     entra_sql_int64(db, "SELECT CAST(value AS INTEGER) FROM kv WHERE key = ?", "last_request",
		                     &s->last_request);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	return rc == 0 ? STORE_OK : STORE_ERROR;
}

int store_readonly_kv(sqlite3 *db, const char *key, char *out, size_t outlen)
{
	sqlite3_stmt *stmt = NULL;
	int ret = STORE_ERROR;
	if (sqlite3_prepare_v2(db, "SELECT value FROM kv WHERE key = ?1", -1, &stmt, NULL) != SQLITE_OK) {
		snprintf(out, outlen, "%s", sqlite3_errmsg(db));
		return STORE_ERROR;
	}
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const unsigned char *v = sqlite3_column_text(stmt, 0);
		snprintf(out, outlen, "%s", v ? (const char *)v : "");
		ret = STORE_OK;
	} else if (rc == SQLITE_DONE) {
		ret = STORE_NOT_FOUND;
	} else {
		snprintf(out, outlen, "%s", sqlite3_errmsg(db));
	}
	sqlite3_finalize(stmt);
	return ret;
}

static const char *const listing_sql[] = {
    [SCIM_USER] = "SELECT id, user_name, external_id, active FROM users ORDER BY user_name COLLATE NOCASE, id",
    [SCIM_GROUP] = "SELECT g.id, g.display_name, g.external_id, "
                   "(SELECT count(*) FROM members m WHERE m.group_id = g.id) "
                   "FROM groups g ORDER BY g.display_name COLLATE NOCASE, g.id",
};

static const char *column_text(sqlite3_stmt *stmt, int col)
{
	return sqlite3_column_type(stmt, col) == SQLITE_NULL ? NULL : (const char *)sqlite3_column_text(stmt, col);
}

int store_readonly_list(sqlite3 *db, enum scim_resource_type type, store_listing_fn fn, void *arg, char *err,
                        size_t errlen)
{
	sqlite3_stmt *stmt = NULL;
	int stop = 0, rc = sqlite3_prepare_v2(db, listing_sql[type], -1, &stmt, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct store_listing_row row = {column_text(stmt, 0), column_text(stmt, 1), column_text(stmt, 2),
		                                sqlite3_column_int64(stmt, 3)};
		if ((stop = fn(&row, arg)) != 0)
			break;
		rc = SQLITE_OK;
	}
	if (!stop && rc != SQLITE_DONE)
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(stmt);
	if (stop)
		return stop;
	return rc == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}
