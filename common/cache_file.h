/* Opening cache.db as untrusted input, libc only: shared by common/cache_reader.c (SQLite, for
 * pam_entra and the tools) and libnss_scim's own file-format reader (nss_scim/cachefile.c).
 * The file is written by the unprivileged entra-syncd and read inside every process that
 * resolves a user: it must be a regular file (never a symlink, FIFO or device) nobody else can
 * have written (owner and mode of the file and of its directory), and start like a whole SQLite
 * file whose schema page holds the project's 11 objects. */
#ifndef ENTRA_CACHE_FILE_H
#define ENTRA_CACHE_FILE_H

#include <stddef.h>
#include <sys/stat.h>

/* Rows of sqlite_schema in the project's file: 9 statements and 2 UNIQUE auto-indexes. The
 * previous release's file (schema version 3) had one index less: it passes this first check so
 * that readers refuse it by its schema_version, in words an admin can act on. */
#define ENTRA_CACHE_SCHEMA_ROWS      11
#define ENTRA_CACHE_SCHEMA_ROWS_PREV 10

/* Opens PATH read-only (O_NOFOLLOW, O_NONBLOCK, close-on-exec) and checks type, size, header,
 * the schema page's row count, owner and mode. Returns the descriptor, whose file is the one
 * checked whatever is renamed over PATH meanwhile; or -1 with *ERR an errno for NSS callers
 * (ENOENT: no such file; EACCES: untrusted owner, mode or a symlink; EIO: anything else), WHY the
 * reason in words, and *ST the refused file's identity (zeroed when it could not be stat()ed). */
int entra_cache_file_open(const char *path, struct stat *st, int *err, char *why, size_t whylen);

#endif
