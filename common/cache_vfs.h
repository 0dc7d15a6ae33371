/* SQLite reading exactly an already opened, checked file (common/cache_reader.c's use). */
#ifndef ENTRA_CACHE_VFS_H
#define ENTRA_CACHE_VFS_H

#include <sqlite3.h>

/* Opens *DB read-only on the file behind FD (the caller keeps and may close FD: the connection
 * has a duplicate), never by name. An SQLite result code; *DB as sqlite3_open_v2 leaves it. */
int entra_cache_vfs_open(int fd, sqlite3 **db);

#endif
