/* cache.db publication (DESIGN.md decision 1): readers only ever see a complete file. */
#include "sync/publish/cache_writer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cache_schema.h"
#include "common/log.h"
#include "sync/publish/cache_writer_internal.h"

static const struct entra_logger logger = {"entra-syncd", LOG_DAEMON, true, false};

long long cache_generation(const char *path)
{
	char uri[PATH_MAX + 32];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long gen = 0;
	if (access(path, F_OK) != 0)
		return 0;
	if (snprintf(uri, sizeof(uri), "file:%s?immutable=1", path) >= (int)sizeof(uri))
		return 0;
	if (sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'generation'", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		gen = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return gen > 0 ? gen : 0;
}

int cache_sql_fail(struct writer *w, const char *what)
{
	entra_log(&logger, LOG_ERR,
	          "cannot write %s (%s): %s; check free space in its directory; readers keep the "
	          "previous cache.db",
	          w->tmp, what, sqlite3_errmsg(w->db));
	return -1;
}

int cache_prepare(struct writer *w, const char *sql, sqlite3_stmt **st)
{
	return sqlite3_prepare_v2(w->db, sql, -1, st, NULL) == SQLITE_OK ? 0 : cache_sql_fail(w, "prepare");
}

int cache_step_reset(struct writer *w, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : cache_sql_fail(w, what);
}

void cache_bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

void cache_bind_account(sqlite3_stmt *st, const struct cache_account *a)
{
	sqlite3_bind_text(st, 1, a->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, a->uid);
	sqlite3_bind_text(st, 3, a->gecos, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a->dir, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, a->shell, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, a->upn, -1, SQLITE_STATIC);
	cache_bind_text_or_null(st, 7, a->object_id);
	sqlite3_bind_text(st, 8, a->scim_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, a->role, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 10, a->login);
	sqlite3_bind_int64(st, 11, a->expire);
}

void cache_bind_block(sqlite3_stmt *st, const struct cache_block *b)
{
	sqlite3_bind_int64(st, 1, b->last_uid);
	sqlite3_bind_blob(st, 2, b->bytes, (int)b->len, SQLITE_STATIC);
}

void cache_bind_ssh_key(sqlite3_stmt *st, const struct cache_ssh_key *k)
{
	sqlite3_bind_int64(st, 1, k->uid);
	sqlite3_bind_int64(st, 2, k->n);
	sqlite3_bind_text(st, 3, k->key, -1, SQLITE_STATIC);
}

void cache_bind_group(sqlite3_stmt *st, const struct cache_group *g, const struct cache_packed_group *members)
{
	sqlite3_bind_text(st, 1, g->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, g->gid);
	cache_bind_text_or_null(st, 3, g->object_id);
	sqlite3_bind_text(st, 4, g->scim_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, members->uid_min);
	sqlite3_bind_int64(st, 6, members->uid_max);
	/* A zero-length blob, never NULL (the column is NOT NULL). */
	if (members->len)
		sqlite3_bind_blob(st, 7, members->names, (int)members->len, SQLITE_STATIC);
	else
		sqlite3_bind_zeroblob(st, 7, 0);
}

int cache_write_meta(struct writer *w, const struct cache_snapshot *s, long long generation)
{
	sqlite3_stmt *st = NULL;
	char vals[5][32];
	snprintf(vals[0], sizeof(vals[0]), "%d", ENTRA_CACHE_SCHEMA_VERSION);
	snprintf(vals[1], sizeof(vals[1]), "%lld", generation);
	snprintf(vals[2], sizeof(vals[2]), "%lld", (long long)time(NULL));
	snprintf(vals[3], sizeof(vals[3]), "%u", s->uid_min);
	snprintf(vals[4], sizeof(vals[4]), "%u", s->uid_max);
	const char *keys[] = {"schema_version", "generation", "published_at", "uid_min", "uid_max", "host"};
	const char *values[] = {vals[0], vals[1], vals[2], vals[3], vals[4], s->host ? s->host : ""};
	if (cache_prepare(w, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", &st))
		return -1;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		sqlite3_bind_text(st, 1, keys[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, values[i], -1, SQLITE_STATIC);
		if (cache_step_reset(w, st, "meta")) {
			sqlite3_finalize(st);
			return -1;
		}
	}
	sqlite3_finalize(st);
	return 0;
}

static int write_accounts(struct writer *w, const struct cache_snapshot *s)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;
	const struct cache_account **order = malloc((s->n_accounts + 1) * sizeof(*order));
	if (!order)
		return -1;
	for (size_t i = 0; i < s->n_accounts; i++)
		order[i] = &s->accounts[i];
	qsort(order, s->n_accounts, sizeof(*order), cache_account_uid_cmp);
	if (cache_prepare(w, CACHE_INSERT_ACCOUNT_SQL, &st))
		goto out;
	for (size_t i = 0; i < s->n_accounts; i++) {
		cache_bind_account(st, order[i]);
		if (cache_step_reset(w, st, "passwd"))
			goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	free(order);
	return rc;
}

static int write_blocks(struct writer *w, const struct cache_blocks *b)
{
	sqlite3_stmt *st = NULL;
	int rc = cache_prepare(w, CACHE_INSERT_BLOCK_SQL, &st);
	for (size_t i = 0; rc == 0 && i < b->n; i++) {
		cache_bind_block(st, &b->blocks[i]);
		rc = cache_step_reset(w, st, "passwd_blocks");
	}
	sqlite3_finalize(st);
	return rc;
}

static int write_groups(struct writer *w, const struct cache_snapshot *s, const struct cache_packs *packs)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;
	const struct cache_group **order = malloc((s->n_groups + 1) * sizeof(*order));
	if (!order)
		goto out;
	for (size_t i = 0; i < s->n_groups; i++)
		order[i] = &s->groups[i];
	qsort(order, s->n_groups, sizeof(*order), cache_group_gid_cmp);
	if (cache_prepare(w, CACHE_INSERT_GROUP_SQL, &st))
		goto out;
	for (size_t i = 0; i < s->n_groups; i++) {
		cache_bind_group(st, order[i], &packs->groups[order[i] - s->groups]);
		if (cache_step_reset(w, st, "groups"))
			goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	free(order);
	return rc;
}

static int write_members(struct writer *w, const struct cache_snapshot *s)
{
	sqlite3_stmt *st = NULL, *lst = NULL;
	int rc = -1;
	struct cache_member *sorted = cache_sorted_copy(s->members, s->n_members, sizeof(*sorted), cache_member_cmp);
	if (!sorted)
		return -1;
	if (cache_prepare(w, "INSERT OR IGNORE INTO members(gid, uid) VALUES(?, ?)", &st) ||
	    cache_prepare(w, "INSERT OR IGNORE INTO local_members(uid, gid, name) VALUES(?, ?, ?)", &lst))
		goto out;
	for (size_t i = 0; i < s->n_members; i++) {
		sqlite3_bind_int64(st, 1, sorted[i].gid);
		sqlite3_bind_int64(st, 2, sorted[i].uid);
		if (cache_step_reset(w, st, "members"))
			goto out;
	}
	for (size_t i = 0; i < s->n_local_members; i++) {
		sqlite3_bind_int64(lst, 1, s->local_members[i].uid);
		sqlite3_bind_int64(lst, 2, s->local_members[i].gid);
		sqlite3_bind_text(lst, 3, s->local_members[i].name, -1, SQLITE_STATIC);
		if (cache_step_reset(w, lst, "local_members"))
			goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	sqlite3_finalize(lst);
	free(sorted);
	return rc;
}

static int write_ssh_keys(struct writer *w, const struct cache_snapshot *s)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;
	struct cache_ssh_key *sorted =
	    cache_sorted_copy(s->ssh_keys, s->n_ssh_keys, sizeof(*sorted), cache_ssh_key_cmp);
	if (!sorted)
		return -1;
	if (cache_prepare(w, CACHE_INSERT_SSH_KEY_SQL, &st))
		goto out;
	for (size_t i = 0; i < s->n_ssh_keys; i++) {
		cache_bind_ssh_key(st, &sorted[i]);
		if (cache_step_reset(w, st, "ssh_keys"))
			goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	free(sorted);
	return rc;
}

#define MAX_DEFERRED_INDEXES 8

/* Runs the cache schema one statement at a time, except CREATE INDEX statements, which are
 * returned (prepared) in DEFERRED to run after the bulk insert: building an index from sorted
 * rows is much cheaper than updating it on every random-order insert. */
static int create_tables(struct writer *w, sqlite3_stmt *deferred[MAX_DEFERRED_INDEXES], size_t *n_deferred)
{
	const char *sql = ENTRA_CACHE_SCHEMA_SQL;
	*n_deferred = 0;
	while (sql && *sql) {
		sqlite3_stmt *st = NULL;
		const char *tail = NULL;
		if (sqlite3_prepare_v2(w->db, sql, -1, &st, &tail) != SQLITE_OK)
			return cache_sql_fail(w, "schema");
		sql = tail;
		if (!st) /* trailing whitespace */
			continue;
		if (strncmp(sqlite3_sql(st), "CREATE INDEX", 12) == 0 && *n_deferred < MAX_DEFERRED_INDEXES) {
			deferred[(*n_deferred)++] = st;
			continue;
		}
		int rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return cache_sql_fail(w, "schema");
	}
	return 0;
}

static int create_indexes(struct writer *w, sqlite3_stmt *const *deferred, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (sqlite3_step(deferred[i]) != SQLITE_DONE)
			return cache_sql_fail(w, "index");
	return 0;
}

static int write_rows(struct writer *w, const struct cache_snapshot *s, const struct cache_packs *packs,
                      long long generation)
{
	sqlite3_stmt *deferred[MAX_DEFERRED_INDEXES];
	size_t n_deferred = 0;
	int rc = -1;
	if (create_tables(w, deferred, &n_deferred) == 0 && cache_write_meta(w, s, generation) == 0 &&
	    write_accounts(w, s) == 0 && write_blocks(w, &packs->blocks) == 0 && write_groups(w, s, packs) == 0 &&
	    write_members(w, s) == 0 && write_ssh_keys(w, s) == 0 && create_indexes(w, deferred, n_deferred) == 0)
		rc = 0;
	for (size_t i = 0; i < n_deferred; i++)
		sqlite3_finalize(deferred[i]);
	return rc;
}

/* Everything inside one transaction; no journal: an incomplete temp file is never renamed. */
static int write_db(struct writer *w, const struct cache_snapshot *s, const struct cache_packs *packs,
                    long long generation)
{
	if (sqlite3_exec(w->db,
	                 "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA page_size=" ENTRA_CACHE_STR(
	                     ENTRA_CACHE_PAGE_SIZE) "; PRAGMA cache_size=-65536; BEGIN",
	                 NULL, NULL, NULL))
		return cache_sql_fail(w, "schema");
	if (write_rows(w, s, packs, generation)) {
		sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL))
		return cache_sql_fail(w, "commit");
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return -1;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* Creates the temp file, lets FILL write it, then fsync, fchmod 0644, rename, fsync the
 * directory. FILL's result other than 0 is returned as is and nothing is published. */
int cache_publish_with(const char *path, cache_fill_fn fill, void *arg)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp)) {
		entra_log(&logger, LOG_ERR, "cache_db path %s is too long; choose a shorter [accounts] cache_db", path);
		return -1;
	}
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		entra_log(&logger, LOG_ERR,
		          "cannot create a temp file next to %s: %s; create the directory and let "
		          "entra-syncd write to it",
		          path, strerror(errno));
		return -1;
	}
	struct writer w = {.tmp = tmp};
	int rc = fill(&w, fd, arg);
	if (rc)
		goto out;
	rc = -1;
	if (sqlite3_close(w.db) != SQLITE_OK) {
		cache_sql_fail(&w, "close");
		goto out;
	}
	w.db = NULL;
	if (fsync(fd) || fchmod(fd, 0644) || rename(tmp, path)) {
		entra_log(&logger, LOG_ERR, "cannot publish %s: %s; check the disk; readers keep the previous cache.db",
		          path, strerror(errno));
		goto out;
	}
	tmp[0] = '\0'; /* renamed: nothing to clean up */
	if (fsync_dir_of(path))
		entra_log(&logger, LOG_WARNING,
		          "cannot fsync the directory of %s: %s; the rename may not survive a "
		          "power loss",
		          path, strerror(errno));
	rc = 0;
out:
	if (w.db)
		sqlite3_close(w.db);
	close(fd);
	if (tmp[0])
		unlink(tmp);
	return rc;
}

int cache_open_tmp(struct writer *w)
{
	if (sqlite3_open_v2(w->tmp, &w->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		return cache_sql_fail(w, "open");
	return 0;
}

struct full_args {
	const struct cache_snapshot *snap;
	const struct cache_packs *packs;
	long long generation;
};

static int fill_full(struct writer *w, int fd, void *arg)
{
	const struct full_args *a = arg;
	(void)fd;
	return cache_open_tmp(w) || write_db(w, a->snap, a->packs, a->generation) ? -1 : 0;
}

int cache_write_packed(const char *path, const struct cache_snapshot *snap, long long generation,
                       struct cache_packs *packs)
{
	struct cache_packs built;
	if (cache_packs_build(snap, &built)) {
		entra_log(&logger, LOG_ERR, "out of memory packing group members; readers keep the previous cache.db");
		return -1;
	}
	struct full_args a = {snap, &built, generation};
	int rc = cache_publish_with(path, fill_full, &a);
	if (rc == 0 && packs)
		*packs = built;
	else
		cache_packs_free(&built);
	return rc;
}

int cache_write(const char *path, const struct cache_snapshot *snap, long long generation)
{
	return cache_write_packed(path, snap, generation, NULL);
}

void cache_remove_stale_temps(const char *path)
{
	char *dcopy = strdup(path), *bcopy = strdup(path);
	DIR *d = dcopy ? opendir(dirname(dcopy)) : NULL;
	const char *base = bcopy ? basename(bcopy) : NULL;
	size_t blen = base ? strlen(base) : 0;
	struct dirent *e;
	while (d && base && (e = readdir(d))) {
		/* Exactly what mkostemp made from "PATH.tmp.XXXXXX": nothing else is touched. */
		if (strncmp(e->d_name, base, blen) || strncmp(e->d_name + blen, ".tmp.", 5) ||
		    strlen(e->d_name + blen + 5) != 6)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			entra_log(&logger, LOG_NOTICE, "removed %s left by an interrupted publish", e->d_name);
	}
	if (d)
		closedir(d);
	free(dcopy);
	free(bcopy);
}
