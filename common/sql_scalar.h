/* One number from SQLite: the first column of a statement's first row. */
#ifndef ENTRA_SQL_SCALAR_H
#define ENTRA_SQL_SCALAR_H

#include <sqlite3.h>

/* Prepares SQL on DB (one bound text ARG as ?1, may be NULL), sets *OUT to the first column of
 * the first row as an integer, or 0 when there is no row. 0, or -1 on an SQLite error. */
int entra_sql_int64(sqlite3 *db, const char *sql, const char *arg, long long *out);

#endif
