/* The hub's feed in state.db (sync/store/store_feed.h): hub id, snapshot, changes. */
#include "sync/store/store_feed.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "sync/store/store_changes.h"

static const struct entra_logger logger = {"entra-syncd", LOG_DAEMON, true, false};

enum { KIND_USER = 1, KIND_GROUP = 2, KIND_MEMBER = 3, KIND_ID = 4 };

#define USER_COLS                                                                                                      \
	"SELECT id, user_name, external_id, display_name, active, json, created, last_modified, version, ssh_keys"
#define GROUP_COLS "SELECT id, display_name, external_id, json, created, last_modified, version"

static const char ids_trigger_sql[] =
    "CREATE TRIGGER IF NOT EXISTS feed_unix_ids_ins AFTER INSERT ON unix_ids BEGIN"
    " INSERT INTO publish_changes(kind, id, other) VALUES(4, NEW.key, CAST(NEW.id AS TEXT)); END;";

static int fail(sqlite3 *db, const char *what)
{
	entra_log(&logger, LOG_ERR, "state.db feed: cannot %s: %s; followers retry (check the disk and state.db)", what,
	          sqlite3_errmsg(db));
	return -1;
}

static bool table_exists(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st = NULL;
	bool found = false;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		found = sqlite3_step(st) == SQLITE_ROW;
	}
	sqlite3_finalize(st);
	return found;
}

int store_feed_install(sqlite3 *db)
{
	if (!table_exists(db, "publish_changes") || !table_exists(db, "unix_ids")) {
		entra_log(&logger, LOG_ERR, "state.db feed: the change log or the uid table is missing");
		return -1;
	}
	return sqlite3_exec(db, ids_trigger_sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : fail(db, "log uid allocations");
}

static int kv_read(sqlite3 *db, const char *key, char *out, size_t outlen)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "SELECT value FROM kv WHERE key = ?1", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int store_feed_hub_id(sqlite3 *db, char out[STORE_ID_LEN + 1])
{
	char fresh[STORE_ID_LEN + 1];
	sqlite3_stmt *st = NULL;
	int rc = kv_read(db, STORE_FEED_HUB_KEY, out, STORE_ID_LEN + 1);
	if (rc <= 0)
		return rc < 0 ? fail(db, "read the hub id") : 0;
	if (store_new_id(fresh) != 0)
		return fail(db, "make a hub id (getrandom)");
	/* OR IGNORE: another connection may have created it meanwhile; then its id stands */
	if (sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO kv(key, value) VALUES(?1, ?2)", -1, &st, NULL) != SQLITE_OK)
		return fail(db, "store the hub id");
	sqlite3_bind_text(st, 1, STORE_FEED_HUB_KEY, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, fresh, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE || kv_read(db, STORE_FEED_HUB_KEY, out, STORE_ID_LEN + 1) != 0)
		return fail(db, "store the hub id");
	return 0;
}

int store_feed_position(sqlite3 *db, long long *cursor)
{
	return store_changes_position(db, cursor);
}

static json_t *text_or_null(sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	return t ? json_string((const char *)t) : json_null();
}

static json_t *user_row(sqlite3_stmt *s)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:o, s:I, s:o}", "id", text_or_null(s, 0), "userName",
	                 text_or_null(s, 1), "externalId", text_or_null(s, 2), "displayName", text_or_null(s, 3),
	                 "active", sqlite3_column_int(s, 4) != 0, "json", text_or_null(s, 5), "created",
	                 text_or_null(s, 6), "lastModified", text_or_null(s, 7), "version",
	                 (json_int_t)sqlite3_column_int64(s, 8), "sshKeys", text_or_null(s, 9));
}

static json_t *group_row(sqlite3_stmt *s)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:I}", "id", text_or_null(s, 0), "displayName",
	                 text_or_null(s, 1), "externalId", text_or_null(s, 2), "json", text_or_null(s, 3), "created",
	                 text_or_null(s, 4), "lastModified", text_or_null(s, 5), "version",
	                 (json_int_t)sqlite3_column_int64(s, 6));
}

static json_t *pair_row(sqlite3_stmt *s)
{
	if (sqlite3_column_type(s, 1) == SQLITE_INTEGER)
		return json_pack("[o, I]", text_or_null(s, 0), (json_int_t)sqlite3_column_int64(s, 1));
	return json_pack("[o, o]", text_or_null(s, 0), text_or_null(s, 1));
}

/* Appends ROW(s) of every result of SQL to a new array stored as NAME in OUT. */
static int rows_add(sqlite3 *db, json_t *out, const char *name, const char *sql, json_t *(*row)(sqlite3_stmt *))
{
	sqlite3_stmt *st = NULL;
	json_t *arr = json_array();
	int rc = arr ? sqlite3_prepare_v2(db, sql, -1, &st, NULL) : SQLITE_NOMEM;
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		if ((rc = sqlite3_step(st)) != SQLITE_ROW)
			break;
		if (json_array_append_new(arr, row(st)) != 0)
			rc = SQLITE_NOMEM;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE || json_object_set_new(out, name, arr) != 0) {
		if (rc == SQLITE_DONE)
			arr = NULL; /* json_object_set_new took it */
		json_decref(arr);
		return -1;
	}
	return 0;
}

int store_feed_snapshot(sqlite3 *db, json_t **out)
{
	long long cursor = 0;
	*out = json_object();
	if (!*out || sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		json_decref(*out), *out = NULL;
		return fail(db, "begin the snapshot's read");
	}
	int rc = store_changes_position(db, &cursor) || json_object_set_new(*out, "cursor", json_integer(cursor)) ||
	                 rows_add(db, *out, "users", USER_COLS " FROM users ORDER BY rowid", user_row) ||
	                 rows_add(db, *out, "groups", GROUP_COLS " FROM groups ORDER BY rowid", group_row) ||
	                 rows_add(db, *out, "members", "SELECT group_id, user_id FROM members", pair_row) ||
	                 rows_add(db, *out, "ids", "SELECT key, id FROM unix_ids ORDER BY id", pair_row)
	             ? -1
	             : 0;
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc) {
		json_decref(*out), *out = NULL;
		return fail(db, "read the snapshot");
	}
	return 0;
}

/* 0 when every entry in (AFTER, *LAST] is in the log, 1 when AFTER is gone, -1 on error. *LAST
 * is the log's end, at most AFTER + LIMIT. */
static int range_usable(sqlite3 *db, long long after, size_t limit, long long *last, bool *more)
{
	sqlite3_stmt *st = NULL;
	long long end = 0, count = -1;
	if (store_changes_position(db, &end))
		return -1;
	*more = end - after > (long long)limit;
	if (after > end || after < 0)
		return 1;
	*last = end - after > (long long)limit ? after + (long long)limit : end;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM publish_changes WHERE seq > ?1 AND seq <= ?2", -1, &st,
	                       NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, *last);
	if (sqlite3_step(st) == SQLITE_ROW)
		count = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (count < 0)
		return -1;
	/* seq has no gaps: a missing entry was pruned (or state.db replaced) */
	return count == *last - after ? 0 : 1;
}

struct change_readers {
	sqlite3_stmt *log, *user, *group, *member;
};

static json_t *row_change(const char *kind, const char *id, sqlite3_stmt *s, json_t *(*row)(sqlite3_stmt *))
{
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	json_t *state = rc == SQLITE_ROW ? row(s) : rc == SQLITE_DONE ? json_null() : NULL;
	sqlite3_reset(s);
	return state ? json_pack("{s:s, s:s, s:o}", "kind", kind, "id", id, "row", state) : NULL;
}

static json_t *member_change(struct change_readers *r, const char *group, const char *user)
{
	sqlite3_bind_text(r->member, 1, group, -1, SQLITE_STATIC);
	sqlite3_bind_text(r->member, 2, user, -1, SQLITE_STATIC);
	int rc = sqlite3_step(r->member);
	sqlite3_reset(r->member);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:b}", "kind", "member", "group", group, "user", user, "present",
	                 rc == SQLITE_ROW);
}

/* One log entry with the current state of its row. NULL on error; json_null() to skip. */
static json_t *change_of(struct change_readers *r, int kind, const char *id, const char *other)
{
	if (kind == KIND_USER)
		return row_change("user", id, r->user, user_row);
	if (kind == KIND_GROUP)
		return row_change("group", id, r->group, group_row);
	if (kind == KIND_MEMBER && other)
		return member_change(r, id, other);
	if (kind == KIND_ID && other)
		return json_pack("{s:s, s:s, s:I}", "kind", "id", "key", id, "id",
		                 (json_int_t)strtoll(other, NULL, 10));
	return json_null();
}

static int readers_prepare(sqlite3 *db, struct change_readers *r)
{
	/* each distinct row once, at its last position in the range */
	return sqlite3_prepare_v2(db,
	                          "SELECT kind, id, other FROM publish_changes WHERE seq > ?1 AND seq <= ?2"
	                          " GROUP BY kind, id, other ORDER BY max(seq)",
	                          -1, &r->log, NULL) != SQLITE_OK ||
	               sqlite3_prepare_v2(db, USER_COLS " FROM users WHERE id = ?1", -1, &r->user, NULL) != SQLITE_OK ||
	               sqlite3_prepare_v2(db, GROUP_COLS " FROM groups WHERE id = ?1", -1, &r->group, NULL) !=
	                   SQLITE_OK ||
	               sqlite3_prepare_v2(db, "SELECT 1 FROM members WHERE group_id = ?1 AND user_id = ?2", -1,
	                                  &r->member, NULL) != SQLITE_OK
	           ? -1
	           : 0;
}

static void readers_finalize(struct change_readers *r)
{
	sqlite3_finalize(r->log);
	sqlite3_finalize(r->user);
	sqlite3_finalize(r->group);
	sqlite3_finalize(r->member);
}

static int changes_collect(sqlite3 *db, long long after, long long last, json_t *arr)
{
	struct change_readers r = {0};
	int rc = -1, step = SQLITE_ERROR;
	if (readers_prepare(db, &r) == 0) {
		sqlite3_bind_int64(r.log, 1, after);
		sqlite3_bind_int64(r.log, 2, last);
		while ((step = sqlite3_step(r.log)) == SQLITE_ROW) {
			const char *id = (const char *)sqlite3_column_text(r.log, 1);
			json_t *c = id ? change_of(&r, sqlite3_column_int(r.log, 0), id,
			                           (const char *)sqlite3_column_text(r.log, 2))
			               : json_null();
			if (!c || (!json_is_null(c) && json_array_append(arr, c) != 0)) {
				json_decref(c);
				break;
			}
			json_decref(c);
		}
		rc = step == SQLITE_DONE ? 0 : -1;
	}
	readers_finalize(&r);
	return rc;
}

int store_feed_changes(sqlite3 *db, long long after, size_t limit, json_t **changes, long long *cursor, bool *more)
{
	long long last = after;
	*more = false;
	*changes = json_array();
	*cursor = after;
	if (!*changes || sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		json_decref(*changes), *changes = NULL;
		return fail(db, "begin a read of the changes");
	}
	int rc = range_usable(db, after, limit, &last, more);
	if (rc == 0 && last > after && changes_collect(db, after, last, *changes) != 0)
		rc = -1;
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc) {
		json_decref(*changes), *changes = NULL;
		return rc < 0 ? fail(db, "read the changes") : 1;
	}
	*cursor = last;
	return 0;
}
