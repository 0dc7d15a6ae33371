/* Opening cache.db as untrusted input, with SQLite: pam_entra, entra-sync and the tools
 * (libnss_scim reads the file format itself: nss_scim/cachefile.h). The file is written by the
 * unprivileged entra-syncd, and pam_entra reads it inside sshd, sudo and login: a compromised
 * daemon or a misplaced file must never make them hang, crash or serve an account the project
 * did not write. So before a row is read the file must be a regular file (never a symlink,
 * FIFO or device) nobody else can have written (owner and mode of the file and its directory;
 * common/cache_file.h), a whole SQLite file whose schema is one page of exactly the objects
 * common/cache_schema.h creates (no views, no triggers, no extra tables or indexes); SQLite
 * reads that very file (the checked descriptor, common/cache_vfs.c), in defensive mode with
 * an untrusted schema, tight limits, and a work budget that stops any one look-up. */
#ifndef ENTRA_CACHE_READER_H
#define ENTRA_CACHE_READER_H

#include <sqlite3.h>
#include <stddef.h>
#include <sys/stat.h>

/* SQLite calls the budget's progress handler every ENTRA_CACHE_BUDGET_STEP virtual machine
 * instructions; a statement that runs ENTRA_CACHE_LOOKUP_BUDGET of those calls fails with
 * SQLITE_INTERRUPT. 2k x 1k instructions is about 2M, a tenth of a second at most: the largest
 * honest look-up (a group of 100k members) needs about 900 steps (tests/unit/test_cache_reader.c),
 * so groups of up to about 200k members are served. */
#define ENTRA_CACHE_BUDGET_STEP   1024
#define ENTRA_CACHE_LOOKUP_BUDGET 2048L

struct entra_cache {
	sqlite3 *db;
	struct stat st; /* identity of the file that was checked */
	long budget;    /* progress handler calls left; reset before each look-up */
};

/* Opens PATH read-only and immutable (no locks, no journal) into C and checks everything the
 * header comment lists. 0 on success. Otherwise -1 with *ERR an errno for NSS callers (ENOENT:
 * no such file, which means "not configured yet"; EACCES for an untrusted owner or mode; EIO for
 * anything else) and WHY the reason in words; C->db is then closed and C->st still describes
 * the file that was refused (when it could be stat()ed), so callers can wait for it to change.
 * BUDGET starts at ENTRA_CACHE_LOOKUP_BUDGET. */
int entra_cache_open(const char *path, struct entra_cache *c, int *err, char *why, size_t whylen);
void entra_cache_close(struct entra_cache *c);

/* True for SQLITE_INTERRUPT after the budget ran out, so callers can say so in their log. */
int entra_cache_budget_spent(const struct entra_cache *c);

/* Checks DB's schema against common/cache_schema.h (exported for the tests): NULL when it is
 * exactly the project's, else why not. */
const char *entra_cache_schema_check(sqlite3 *db);

#endif
