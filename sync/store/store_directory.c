/* store_directory_load: the whole directory in one read transaction and three queries, with
 * memberships resolved through hash maps (no per-row query), so 100k users load in well under
 * a second. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "sync/store/directory.h"
#include "sync/store/store_changes.h"

static const struct entra_logger dir_logger = {"entra-syncd", LOG_DAEMON, true, false};

/* Open addressing map from an id string (owned by the directory) to its index. */
struct id_map {
	const char **keys;
	size_t *vals;
	size_t mask;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static int map_init(struct id_map *m, size_t n)
{
	size_t cap = 16;
	while (cap < n * 2)
		cap *= 2;
	m->keys = calloc(cap, sizeof(*m->keys));
	m->vals = calloc(cap, sizeof(*m->vals));
	m->mask = cap - 1;
	return m->keys && m->vals ? 0 : -1;
}

static void map_free(struct id_map *m)
{
	free(m->keys);
	free(m->vals);
}

static void map_put(struct id_map *m, const char *key, size_t val)
{
	size_t i = hash_str(key) & m->mask;
	while (m->keys[i] && strcmp(m->keys[i], key) != 0)
		i = (i + 1) & m->mask;
	m->keys[i] = key;
	m->vals[i] = val;
}

static bool map_get(const struct id_map *m, const char *key, size_t *val)
{
	size_t i = hash_str(key) & m->mask;
	while (m->keys[i]) {
		if (strcmp(m->keys[i], key) == 0) {
			*val = m->vals[i];
			return true;
		}
		i = (i + 1) & m->mask;
	}
	return false;
}

static char *col_dup(sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	return t ? strdup((const char *)t) : NULL;
}

/* Grows *ARR (of SIZE-byte elements) so it has room for one more after N. */
static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 256;
	void *p = realloc(*arr, ncap * size);
	if (!p)
		return -1;
	memset((char *)p + *cap * size, 0, (ncap - *cap) * size);
	*arr = p;
	*cap = ncap;
	return 0;
}

static int load_users(sqlite3_stmt *s, struct directory *d)
{
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (grow((void **)&d->users, &cap, d->n_users, sizeof(*d->users)) < 0)
			return -1;
		struct dir_user *u = &d->users[d->n_users++];
		u->scim_id = col_dup(s, 0);
		u->external_id = col_dup(s, 1);
		u->user_name = col_dup(s, 2);
		u->display_name = col_dup(s, 3);
		u->active = sqlite3_column_int(s, 4) != 0;
		u->ssh_keys = col_dup(s, 5);
		if (!u->scim_id || !u->user_name || (!u->ssh_keys && sqlite3_column_type(s, 5) != SQLITE_NULL))
			return -1;
	}
	return rc == SQLITE_DONE ? 0 : -1;
}

static int load_groups(sqlite3_stmt *s, struct directory *d)
{
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (grow((void **)&d->groups, &cap, d->n_groups, sizeof(*d->groups)) < 0)
			return -1;
		struct dir_group *g = &d->groups[d->n_groups++];
		g->scim_id = col_dup(s, 0);
		g->external_id = col_dup(s, 1);
		g->display_name = col_dup(s, 2);
		if (!g->scim_id || !g->display_name)
			return -1;
	}
	return rc == SQLITE_DONE ? 0 : -1;
}

struct pair {
	size_t group, user;
};

/* Reads memberships as index pairs, then sizes and fills both sides' arrays. */
static int collect_pairs(sqlite3_stmt *s, const struct id_map *um, const struct id_map *gm, struct pair **out,
                         size_t *n)
{
	size_t cap = 0;
	int rc;
	*out = NULL;
	*n = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct pair p;
		const char *gid = (const char *)sqlite3_column_text(s, 0);
		const char *uid = (const char *)sqlite3_column_text(s, 1);
		if (!gid || !uid || !map_get(gm, gid, &p.group) || !map_get(um, uid, &p.user))
			continue; /* cannot happen with foreign keys on; never index out of range */
		if (grow((void **)out, &cap, *n, sizeof(**out)) < 0)
			return -1;
		(*out)[(*n)++] = p;
	}
	return rc == SQLITE_DONE ? 0 : -1;
}

static int link_pairs(struct directory *d, const struct pair *pairs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		d->groups[pairs[i].group].n_members++;
		d->users[pairs[i].user].n_groups++;
	}
	for (size_t i = 0; i < d->n_groups; i++) {
		if (d->groups[i].n_members && !(d->groups[i].members = calloc(d->groups[i].n_members, sizeof(size_t))))
			return -1;
		d->groups[i].n_members = 0;
	}
	for (size_t i = 0; i < d->n_users; i++) {
		if (d->users[i].n_groups && !(d->users[i].groups = calloc(d->users[i].n_groups, sizeof(size_t))))
			return -1;
		d->users[i].n_groups = 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct dir_group *g = &d->groups[pairs[i].group];
		struct dir_user *u = &d->users[pairs[i].user];
		g->members[g->n_members++] = pairs[i].user;
		u->groups[u->n_groups++] = pairs[i].group;
	}
	return 0;
}

static int load_memberships(sqlite3_stmt *s, struct directory *d)
{
	struct id_map um = {0}, gm = {0};
	struct pair *pairs = NULL;
	size_t n = 0;
	int ret = -1;
	if (map_init(&um, d->n_users) == 0 && map_init(&gm, d->n_groups) == 0) {
		for (size_t i = 0; i < d->n_users; i++)
			map_put(&um, d->users[i].scim_id, i);
		for (size_t i = 0; i < d->n_groups; i++)
			map_put(&gm, d->groups[i].scim_id, i);
		if (collect_pairs(s, &um, &gm, &pairs, &n) == 0)
			ret = link_pairs(d, pairs, n);
	}
	free(pairs);
	map_free(&um);
	map_free(&gm);
	return ret;
}

static const char *const load_sql[3] = {
    "SELECT id, external_id, user_name, display_name, active, ssh_keys FROM users ORDER BY rowid",
    "SELECT id, external_id, display_name FROM groups ORDER BY rowid",
    "SELECT group_id, user_id FROM members",
};

static int load_all(sqlite3 *db, struct directory *out)
{
	sqlite3_stmt *s[3] = {NULL, NULL, NULL};
	int ret = -1;
	for (int i = 0; i < 3; i++)
		if (sqlite3_prepare_v2(db, load_sql[i], -1, &s[i], NULL) != SQLITE_OK)
			goto done;
	if (load_users(s[0], out) == 0 && load_groups(s[1], out) == 0 && load_memberships(s[2], out) == 0)
		ret = 0;
done:
	for (int i = 0; i < 3; i++)
		sqlite3_finalize(s[i]);
	return ret;
}

int store_directory_load(sqlite3 *db, struct directory *out)
{
	bool own_txn = sqlite3_get_autocommit(db) != 0;
	int ret;
	memset(out, 0, sizeof(*out));
	if (own_txn && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		entra_log(&dir_logger, LOG_ERR, "state.db: cannot begin read transaction: %s", sqlite3_errmsg(db));
		return -1;
	}
	ret = load_all(db, out);
	if (ret < 0)
		entra_log(&dir_logger, LOG_ERR,
		          "state.db: cannot load the directory: %s (is entra-syncd's state_db "
		          "initialised and readable?)",
		          sqlite3_errmsg(db));
	if (own_txn)
		sqlite3_exec(db, ret == 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
	if (ret < 0)
		directory_free(out);
	return ret;
}

void directory_free(struct directory *dir)
{
	for (size_t i = 0; i < dir->n_users; i++) {
		free(dir->users[i].scim_id);
		free(dir->users[i].external_id);
		free(dir->users[i].user_name);
		free(dir->users[i].display_name);
		free(dir->users[i].ssh_keys);
		free(dir->users[i].groups);
	}
	for (size_t i = 0; i < dir->n_groups; i++) {
		free(dir->groups[i].scim_id);
		free(dir->groups[i].external_id);
		free(dir->groups[i].display_name);
		free(dir->groups[i].members);
	}
	free(dir->users);
	free(dir->groups);
	memset(dir, 0, sizeof(*dir));
}

static bool table_exists(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st = NULL;
	bool exists = false;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		exists = sqlite3_step(st) == SQLITE_ROW;
	}
	sqlite3_finalize(st);
	return exists;
}

/* The whole directory and the log position it corresponds to, in one read transaction. Before
 * the SCIM store created its schema (a fresh install) the directory is simply empty. */
int store_directory_snapshot(sqlite3 *db, bool log_ready, struct directory *dir, long long *seq)
{
	memset(dir, 0, sizeof(*dir));
	*seq = 0;
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		entra_log(&dir_logger, LOG_ERR, "state.db: cannot begin a read: %s", sqlite3_errmsg(db));
		return -1;
	}
	int rc = 0;
	if (log_ready)
		rc = store_changes_position(db, seq);
	if (rc == 0 && table_exists(db, "users"))
		rc = store_directory_load(db, dir);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	return rc;
}

sqlite3 *store_directory_open(const char *path, int busy_timeout_ms)
{
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(db, busy_timeout_ms) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456", NULL,
	                 NULL, NULL) != SQLITE_OK) {
		entra_log(&dir_logger, LOG_ERR, "cannot open %s: %s; check the file and its permissions", path,
		          db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	return db;
}
