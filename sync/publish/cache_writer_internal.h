/* What cache_writer.c shares with cache_delta.c: the temp-file publication and SQL helpers. */
#ifndef SYNC_CACHE_WRITER_INTERNAL_H
#define SYNC_CACHE_WRITER_INTERNAL_H

#include <sqlite3.h>

#include "sync/publish/cache_members.h"
#include "sync/publish/cache_writer.h"

struct writer {
	sqlite3 *db;     /* opened by the fill function, closed by cache_publish_with */
	const char *tmp; /* the temp file's path */
};

/* Writes the temp file through W (FD is open on it); 0 to publish, anything else to abandon. */
typedef int (*cache_fill_fn)(struct writer *w, int fd, void *arg);
int cache_publish_with(const char *path, cache_fill_fn fill, void *arg);
int cache_open_tmp(struct writer *w);

int cache_sql_fail(struct writer *w, const char *what);
int cache_prepare(struct writer *w, const char *sql, sqlite3_stmt **st);
int cache_step_reset(struct writer *w, sqlite3_stmt *st, const char *what);
void cache_bind_text_or_null(sqlite3_stmt *st, int i, const char *s);

/* One passwd row: CACHE_INSERT_ACCOUNT_SQL with cache_bind_account's parameters. */
#define CACHE_INSERT_ACCOUNT_SQL                                                                                       \
	("INSERT INTO passwd(name, uid, gid, gecos, dir, shell, upn, object_id, scim_id, role, login, expire)"         \
	 " VALUES(?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")
void cache_bind_account(sqlite3_stmt *st, const struct cache_account *a);
/* One groups row: CACHE_INSERT_GROUP_SQL with cache_bind_group's parameters (G and its members
 * packed by cache_packs_build). */
#define CACHE_INSERT_GROUP_SQL                                                                                         \
	("INSERT INTO groups(name, gid, object_id, scim_id, member_uid_min, member_uid_max, member_names)"             \
	 " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)")
void cache_bind_group(sqlite3_stmt *st, const struct cache_group *g, const struct cache_packed_group *members);
/* One passwd_blocks row (sync/publish/cache_blocks.h). */
#define CACHE_INSERT_BLOCK_SQL "INSERT INTO passwd_blocks(last_uid, entries) VALUES(?1, ?2)"
void cache_bind_block(sqlite3_stmt *st, const struct cache_block *b);
/* One ssh_keys row: CACHE_INSERT_SSH_KEY_SQL with cache_bind_ssh_key's parameters. */
#define CACHE_INSERT_SSH_KEY_SQL "INSERT INTO ssh_keys(uid, n, key) VALUES(?1, ?2, ?3)"
void cache_bind_ssh_key(sqlite3_stmt *st, const struct cache_ssh_key *k);
/* Writes (or replaces) every meta row. */
int cache_write_meta(struct writer *w, const struct cache_snapshot *s, long long generation);

/* qsort comparators: pointers to accounts by uid, pointers to groups by gid, members and SSH keys by key. */
int cache_account_uid_cmp(const void *x, const void *y);
int cache_group_gid_cmp(const void *x, const void *y);
int cache_member_cmp(const void *x, const void *y);
int cache_ssh_key_cmp(const void *x, const void *y);       /* by (uid, n) */
int cache_member_change_cmp(const void *x, const void *y); /* by (gid, uid) */
/* A copy of the N rows of SIZE bytes at ROWS in CMP's order (rows go in in key order), or NULL
 * when out of memory. */
void *cache_sorted_copy(const void *rows, size_t n, size_t size, int (*cmp)(const void *, const void *));

#endif
