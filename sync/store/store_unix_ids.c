/* Statements on state.db's uid/gid allocation tables (see store_unix_ids.h). */
#include "sync/store/store_unix_ids.h"

#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "common/log.h"

static const struct entra_logger logger = {"entra-syncd", LOG_DAEMON, true, false};

#define UNIX_IDS_SCHEMA_VERSION 1

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS unix_ids_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS unix_ids(id INTEGER PRIMARY KEY, key TEXT NOT NULL,"
    " allocated_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS unix_ids_by_key ON unix_ids(key, id);" /* covering: loads read no table pages */
    "INSERT OR IGNORE INTO unix_ids_meta(key, value) VALUES('schema_version', '1');";

static int db_fail(sqlite3 *db, const char *what)
{
	entra_log(&logger, LOG_ERR, "state.db: %s: %s; check the disk and the file's permissions", what,
	          sqlite3_errmsg(db));
	return -1;
}

static int schema_version(sqlite3 *db, int *version)
{
	sqlite3_stmt *st = NULL;
	*version = 0;
	if (sqlite3_prepare_v2(db, "SELECT value FROM unix_ids_meta WHERE key = 'schema_version'", -1, &st, NULL))
		return db_fail(db, "reading the id schema version");
	if (sqlite3_step(st) == SQLITE_ROW)
		*version = atoi((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return 0;
}

int store_unix_ids_init(sqlite3 *db)
{
	char *msg = NULL;
	int version;
	if (sqlite3_exec(db, schema_sql, NULL, NULL, &msg) != SQLITE_OK) {
		entra_log(&logger, LOG_ERR,
		          "state.db: cannot create the uid tables: %s; check the disk and permissions",
		          msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	if (schema_version(db, &version))
		return -1;
	if (version > UNIX_IDS_SCHEMA_VERSION) {
		entra_log(&logger, LOG_ERR,
		          "state.db: uid tables have schema version %d, this entra-syncd knows %d; "
		          "install the newer entra-syncd again",
		          version, UNIX_IDS_SCHEMA_VERSION);
		return -1;
	}
	return 0;
}

static bool table_exists(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	bool found = false;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'unix_ids'", -1, &st,
	                       NULL) == SQLITE_OK)
		found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

int store_unix_ids_each(sqlite3 *db, store_unix_id_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc, stop = 0;
	if (!table_exists(db))
		return 0;
	if (sqlite3_prepare_v2(db, "SELECT id, key FROM unix_ids ORDER BY key, id", -1, &st, NULL))
		return db_fail(db, "reading uid allocations");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((stop = fn(sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1), arg)) != 0)
			break;
	sqlite3_finalize(st);
	if (stop)
		return stop;
	return rc == SQLITE_DONE ? 0 : db_fail(db, "reading uid allocations");
}

int store_unix_ids_begin(struct store_unix_ids_batch *b, sqlite3 *db)
{
	b->db = db;
	b->insert = NULL;
	b->now = (long long)time(NULL);
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(db, "starting the uid allocation transaction");
	if (sqlite3_prepare_v2(db, "INSERT INTO unix_ids(id, key, allocated_at) VALUES(?, ?, ?)", -1, &b->insert,
	                       NULL)) {
		db_fail(db, "preparing the uid insert");
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

int store_unix_ids_insert(struct store_unix_ids_batch *b, uint32_t id, const char *key)
{
	sqlite3_bind_int64(b->insert, 1, id);
	sqlite3_bind_text(b->insert, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(b->insert, 3, b->now);
	int rc = sqlite3_step(b->insert);
	sqlite3_reset(b->insert);
	return rc == SQLITE_DONE ? 0 : db_fail(b->db, "storing a uid allocation");
}

int store_unix_ids_end(struct store_unix_ids_batch *b)
{
	sqlite3_finalize(b->insert);
	b->insert = NULL;
	if (sqlite3_exec(b->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	db_fail(b->db, "committing uid allocations");
	sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

void store_unix_ids_abandon(struct store_unix_ids_batch *b)
{
	sqlite3_finalize(b->insert);
	b->insert = NULL;
	sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
}
