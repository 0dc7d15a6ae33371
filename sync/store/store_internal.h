/* Private to store.c and store_resources.c: the prepared statement table. */
#ifndef SYNC_STORE_INTERNAL_H
#define SYNC_STORE_INTERNAL_H

#include <sqlite3.h>

#include "common/log.h"
#include "sync/store/store.h"

enum store_stmt {
	S_BEGIN_READ,
	S_BEGIN_WRITE,
	S_COMMIT,
	S_ROLLBACK,
	S_SAVEPOINT,
	S_SAVEPOINT_RELEASE,
	S_SAVEPOINT_ROLLBACK,
	S_U_INSERT,
	S_G_INSERT,
	S_U_UPDATE,
	S_G_UPDATE,
	S_U_TOUCH,
	S_G_TOUCH,
	S_U_DELETE,
	S_G_DELETE,
	S_U_COUNT,
	S_G_COUNT,
	S_U_ALL,
	S_G_ALL,
	S_U_BY_ID,
	S_G_BY_ID,
	S_U_BY_USER_NAME,
	S_U_BY_EXTERNAL_ID,
	S_G_BY_EXTERNAL_ID,
	S_U_BY_DISPLAY_NAME,
	S_G_BY_DISPLAY_NAME,
	S_M_EACH,
	S_M_SET_CLEAR,
	S_M_SET_ADD,
	S_M_DELETE_GONE,
	S_M_INSERT_NEW,
	S_M_HAS,
	S_M_ADD_ONE,
	S_M_DELETE_ONE,
	S_KV_SET,
	S_KV_GET,
	S_STATS,
	S_COUNT_STMTS
};

struct store {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmt[S_COUNT_STMTS];
};

extern const struct entra_logger store_logger;

/* The prepared statement ID, ready to bind. Give it back with store_release. */
static inline sqlite3_stmt *store_stmt(struct store *st, enum store_stmt id)
{
	return st->stmt[id];
}

static inline void store_release(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Logs the connection's last error for WHAT and returns STORE_ERROR. */
int store_fail(struct store *st, const char *what);

#endif
