/* One number from SQLite (common/sql_scalar.h). */
#include "common/sql_scalar.h"

#include <stddef.h>

int entra_sql_int64(sqlite3 *db, const char *sql, const char *arg, long long *out)
{
	sqlite3_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
	if (rc == SQLITE_OK && arg)
		rc = sqlite3_bind_text(stmt, 1, arg, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(stmt, 0);
	else if (rc == SQLITE_DONE)
		*out = 0;
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}
