/* state.db: open, migrations, prepared statements, transactions, key/value, stats. */
#include "sync/store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/casefold.h"
#include "common/errmsg.h"
#include "common/ssh_key.h"
#include "sync/store/store_internal.h"

const struct entra_logger store_logger = {"entra-syncd", LOG_DAEMON, true, false};

/* Step N migrates user_version N to N+1; each step sets the version it reaches. Append only. */
static const char *const migrations[] = {
    "CREATE TABLE users("
    " id TEXT PRIMARY KEY NOT NULL,"
    " user_name TEXT NOT NULL COLLATE NOCASE UNIQUE,"
    " external_id TEXT,"
    " display_name TEXT,"
    " active INTEGER NOT NULL DEFAULT 1,"
    " json TEXT NOT NULL,"
    " created TEXT NOT NULL,"
    " last_modified TEXT NOT NULL,"
    " version INTEGER NOT NULL DEFAULT 1);"
    "CREATE INDEX users_external_id ON users(external_id);"
    "CREATE INDEX users_display_name ON users(display_name COLLATE NOCASE);"
    "CREATE TABLE groups("
    " id TEXT PRIMARY KEY NOT NULL,"
    " display_name TEXT NOT NULL COLLATE NOCASE UNIQUE,"
    " external_id TEXT,"
    " json TEXT NOT NULL,"
    " created TEXT NOT NULL,"
    " last_modified TEXT NOT NULL,"
    " version INTEGER NOT NULL DEFAULT 1);"
    "CREATE INDEX groups_external_id ON groups(external_id);"
    "CREATE TABLE members("
    " group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,"
    " user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " PRIMARY KEY(group_id, user_id)) WITHOUT ROWID;"
    "CREATE INDEX members_by_user ON members(user_id, group_id);"
    "CREATE TABLE kv(key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;"
    "PRAGMA user_version = 1;",
    /* 2: userName uniqueness and name look-ups by Unicode case folding (entra_fold, casefold.h);
     * group display names need not be unique (RFC 7643 uniqueness none: Entra allows duplicates),
     * so groups is rebuilt without the constraint, rowids kept (they are the creation order). An
     * older row whose folded userName another already has keeps a NULL key (logged at open). */
    "ALTER TABLE users ADD COLUMN user_key TEXT;"
    "ALTER TABLE users ADD COLUMN display_key TEXT;"
    "UPDATE users SET user_key = entra_fold(user_name), display_key = entra_fold(display_name);"
    "UPDATE users SET user_key = NULL WHERE rowid NOT IN (SELECT min(rowid) FROM users GROUP BY user_key);"
    "CREATE UNIQUE INDEX users_user_key ON users(user_key);"
    "CREATE INDEX users_display_key ON users(display_key);"
    "CREATE TABLE groups_v2("
    " id TEXT PRIMARY KEY NOT NULL,"
    " display_name TEXT NOT NULL COLLATE NOCASE,"
    " external_id TEXT,"
    " json TEXT NOT NULL,"
    " created TEXT NOT NULL,"
    " last_modified TEXT NOT NULL,"
    " version INTEGER NOT NULL DEFAULT 1,"
    " display_key TEXT);"
    "INSERT INTO groups_v2(rowid, id, display_name, external_id, json, created, last_modified, version,"
    " display_key) SELECT rowid, id, display_name, external_id, json, created, last_modified, version,"
    " entra_fold(display_name) FROM groups ORDER BY rowid;"
    "DROP TABLE groups;"
    "ALTER TABLE groups_v2 RENAME TO groups;"
    "CREATE INDEX groups_external_id ON groups(external_id);"
    "CREATE INDEX groups_display_key ON groups(display_key);"
    "PRAGMA user_version = 2;",
    /* 3: the SSH public keys of the entra-login extension (common/ssh_key.h), one per line, as
     * a column the publisher reads without parsing every user's JSON; filled from the JSON of
     * users stored before (an array is joined with newlines). */
    "ALTER TABLE users ADD COLUMN ssh_keys TEXT;"
    "UPDATE users SET ssh_keys = CASE json_type(json, '$.\"" ENTRA_SCIM_SCHEMA_LOGIN "\".sshPublicKey')"
    " WHEN 'text' THEN json_extract(json, '$.\"" ENTRA_SCIM_SCHEMA_LOGIN "\".sshPublicKey')"
    " WHEN 'array' THEN (SELECT group_concat(value, char(10)) FROM json_each(users.json,"
    " '$.\"" ENTRA_SCIM_SCHEMA_LOGIN "\".sshPublicKey') WHERE type = 'text') END;"
    "PRAGMA user_version = 3;",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_SCHEMA_VERSION, "one step per schema version");

#define U_COLS "SELECT id, json, created, last_modified, version FROM users "
#define G_COLS "SELECT id, json, created, last_modified, version FROM groups "
#define PAGE   " ORDER BY rowid LIMIT ?2 OFFSET ?3"

/* Parameters shared by insert/update of both types: ?1 id, ?2 userName, ?3 externalId,
 * ?4 displayName, ?5 active, ?6 json, ?7 now, ?8 folded userName, ?9 folded displayName; users
 * also ?10 their SSH public keys (one per line, NULL for none). */
static const char *const stmt_sql[S_COUNT_STMTS] = {
    [S_BEGIN_READ] = "BEGIN",
    [S_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_SAVEPOINT] = "SAVEPOINT request",
    [S_SAVEPOINT_RELEASE] = "RELEASE request",
    [S_SAVEPOINT_ROLLBACK] = "ROLLBACK TO request",
    [S_U_INSERT] = "INSERT INTO users(id, user_name, external_id, display_name, active, json, created,"
                   " last_modified, version, user_key, display_key, ssh_keys)"
                   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 1, ?8, ?9, ?10)",
    [S_G_INSERT] = "INSERT INTO groups(id, display_name, external_id, json, created, last_modified, version,"
                   " display_key) VALUES(?1, ?4, ?3, ?6, ?7, ?7, 1, ?9)",
    [S_U_UPDATE] = "UPDATE users SET user_name = ?2, external_id = ?3, display_name = ?4, active = ?5,"
                   " json = ?6, last_modified = ?7, version = version + 1, user_key = ?8, display_key = ?9,"
                   " ssh_keys = ?10 WHERE id = ?1",
    [S_G_UPDATE] = "UPDATE groups SET display_name = ?4, external_id = ?3, json = ?6, last_modified = ?7,"
                   " version = version + 1, display_key = ?9 WHERE id = ?1",
    [S_U_TOUCH] = "UPDATE users SET last_modified = ?2, version = version + 1 WHERE id = ?1",
    [S_G_TOUCH] = "UPDATE groups SET last_modified = ?2, version = version + 1 WHERE id = ?1",
    [S_U_DELETE] = "DELETE FROM users WHERE id = ?1",
    [S_G_DELETE] = "DELETE FROM groups WHERE id = ?1",
    [S_U_COUNT] = "SELECT count(*) FROM users",
    [S_G_COUNT] = "SELECT count(*) FROM groups",
    [S_U_ALL] = U_COLS PAGE,
    [S_G_ALL] = G_COLS PAGE,
    [S_U_BY_ID] = U_COLS "WHERE id = ?1" PAGE,
    [S_G_BY_ID] = G_COLS "WHERE id = ?1" PAGE,
    [S_U_BY_USER_NAME] = U_COLS "WHERE user_key = ?1" PAGE,
    [S_U_BY_EXTERNAL_ID] = U_COLS "WHERE external_id = ?1" PAGE,
    [S_G_BY_EXTERNAL_ID] = G_COLS "WHERE external_id = ?1" PAGE,
    [S_U_BY_DISPLAY_NAME] = U_COLS "WHERE display_key = ?1" PAGE,
    [S_G_BY_DISPLAY_NAME] = G_COLS "WHERE display_key = ?1" PAGE,
    [S_M_EACH] = "SELECT m.user_id, u.user_name FROM members m JOIN users u ON u.id = m.user_id"
                 " WHERE m.group_id = ?1 ORDER BY m.user_id",
    [S_M_SET_CLEAR] = "DELETE FROM temp.member_set",
    [S_M_SET_ADD] = "INSERT OR IGNORE INTO temp.member_set(user_id) VALUES(?1)",
    [S_M_DELETE_GONE] = "DELETE FROM members WHERE group_id = ?1"
                        " AND user_id NOT IN (SELECT user_id FROM temp.member_set)",
    [S_M_INSERT_NEW] = "INSERT OR IGNORE INTO members(group_id, user_id)"
                       " SELECT ?1, s.user_id FROM temp.member_set s JOIN main.users u ON u.id = s.user_id",
    [S_M_HAS] = "SELECT 1 FROM members WHERE group_id = ?1 AND user_id = ?2",
    [S_M_ADD_ONE] = "INSERT OR IGNORE INTO members(group_id, user_id) SELECT ?1, id FROM users WHERE id = ?2",
    [S_M_DELETE_ONE] = "DELETE FROM members WHERE group_id = ?1 AND user_id = ?2",
    [S_KV_SET] = "INSERT INTO kv(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [S_KV_GET] = "SELECT value FROM kv WHERE key = ?1",
    [S_STATS] = "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM users WHERE active),"
                " (SELECT count(*) FROM groups)",
};

int store_fail(struct store *st, const char *what)
{
	entra_log(&store_logger, LOG_ERR, "state.db %s: %s: %s (check disk space and permissions of %s)", st->path,
	          what, sqlite3_errmsg(st->db), st->path);
	return STORE_ERROR;
}

/* Creates PATH with mode 0600 before SQLite sees it; an existing file is tightened to 0600. */
static int create_private_file(const char *path, char *err, size_t errlen)
{
	struct stat sb;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		return entra_errf(err, errlen,
		                  "cannot open state_db %s: %s (does its directory exist and is it writable?)", path,
		                  strerror(errno));
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "state_db %s is not a regular file", path);
		close(fd);
		return -1;
	}
	if ((sb.st_mode & 077) && fchmod(fd, 0600) < 0) {
		snprintf(err, errlen, "cannot make state_db %s private (chmod 600): %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int exec_sql(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return -1;
}

static int query_int(sqlite3 *db, const char *sql, int *out)
{
	sqlite3_stmt *s;
	int rc;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int set_pragmas(sqlite3 *db, bool reader, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int wal = 0;
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &s, NULL) != SQLITE_OK) {
		return entra_errf(err, errlen, "%s", sqlite3_errmsg(db));
	}
	if (sqlite3_step(s) == SQLITE_ROW)
		wal = sqlite3_stricmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
	sqlite3_finalize(s);
	if (!wal) {
		return entra_errf(err, errlen, "cannot switch to WAL journal mode: %s", sqlite3_errmsg(db));
	}
	if (exec_sql(db,
	             /* a 100k-user state.db is ~80 MB: keep its hot index pages in memory and read
	              * the rest through mmap instead of a pread per page */
	             "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;"
	             "PRAGMA cache_size = -65536; PRAGMA mmap_size = 268435456;"
	             "CREATE TEMP TABLE member_set(user_id TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;",
	             err, errlen) < 0)
		return -1;
	/* several readers share the OS page cache through mmap: a smaller private cache each */
	return reader ? exec_sql(db, "PRAGMA cache_size = -16384; PRAGMA query_only = 1;", err, errlen) : 0;
}

/* A reader opens a database the writer has already migrated: it only checks the version. */
static int check_version(sqlite3 *db, char *err, size_t errlen)
{
	int version = -1;
	if (query_int(db, "PRAGMA user_version", &version) == 0 && version == N_MIGRATIONS)
		return 0;
	return entra_errf(err, errlen, "schema version %d, expected %d: open the writer connection first", version,
	                  N_MIGRATIONS);
}

/* entra_fold(text): its Unicode simple case folding, for the migration that fills the key columns. */
static void fold_sql(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *s = (const char *)sqlite3_value_text(argv[0]);
	size_t n = (size_t)sqlite3_value_bytes(argv[0]);
	char *out = s ? sqlite3_malloc64(CASEFOLD_MAX_LEN(n)) : NULL;
	if (!s)
		sqlite3_result_null(ctx);
	else if (!out)
		sqlite3_result_error_nomem(ctx);
	else
		sqlite3_result_text64(ctx, out, casefold_utf8(s, n, out), sqlite3_free, SQLITE_UTF8);
}

#define SAVED_TRIGGERS_MAX 32

/* Triggers others installed (the publisher's change log) on the tables a step rebuilds. */
struct saved_triggers {
	char *name[SAVED_TRIGGERS_MAX], *sql[SAVED_TRIGGERS_MAX];
	size_t n;
};

static int triggers_save(sqlite3 *db, struct saved_triggers *t)
{
	sqlite3_stmt *s;
	int rc;
	memset(t, 0, sizeof(*t));
	if (sqlite3_prepare_v2(db, "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND sql IS NOT NULL", -1,
	                       &s, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && t->n < SAVED_TRIGGERS_MAX) {
		size_t i = t->n++;
		t->name[i] = strdup((const char *)sqlite3_column_text(s, 0));
		t->sql[i] = strdup((const char *)sqlite3_column_text(s, 1));
		if (!t->name[i] || !t->sql[i])
			break;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1; /* a row left over: more triggers than we keep */
}

/* Creates again the saved triggers a DROP TABLE took with it. */
static int triggers_restore(sqlite3 *db, const struct saved_triggers *t, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?1", -1, &s, NULL) !=
	    SQLITE_OK) {
		return entra_errf(err, errlen, "%s", sqlite3_errmsg(db));
	}
	int rc = 0;
	for (size_t i = 0; i < t->n && rc == 0; i++) {
		sqlite3_bind_text(s, 1, t->name[i], -1, SQLITE_STATIC);
		bool gone = sqlite3_step(s) == SQLITE_DONE;
		sqlite3_reset(s);
		if (gone)
			rc = exec_sql(db, t->sql[i], err, errlen);
	}
	sqlite3_finalize(s);
	return rc;
}

static void triggers_free(struct saved_triggers *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->name[i]), free(t->sql[i]);
	t->n = 0;
}

static void log_unkeyed_users(sqlite3 *db, const char *path)
{
	int n = 0;
	if (query_int(db, "SELECT count(*) FROM users WHERE user_key IS NULL", &n) == 0 && n > 0)
		entra_log(&store_logger, LOG_WARNING,
		          "state.db %s: %d users have a userName another user has when case is folded (Unicode); "
		          "Entra's look-ups by userName find only the older one: delete the duplicates in Entra",
		          path, n);
}

/* Applies the steps in one write transaction, foreign keys off (a rebuilt table is dropped). */
static int migrate_steps(sqlite3 *db, int version, char *err, size_t errlen)
{
	char why[256];
	struct saved_triggers saved;
	if (triggers_save(db, &saved) < 0) {
		snprintf(err, errlen, "cannot read the schema: %s", sqlite3_errmsg(db));
		triggers_free(&saved);
		return -1;
	}
	for (int v = version; v < N_MIGRATIONS; v++) {
		if (exec_sql(db, migrations[v], why, sizeof(why)) < 0) {
			snprintf(err, errlen, "migration to schema version %d failed: %s", v + 1, why);
			triggers_free(&saved);
			return -1;
		}
	}
	int rc = triggers_restore(db, &saved, why, sizeof(why));
	if (rc < 0)
		snprintf(err, errlen, "migration could not keep the change log's triggers: %s", why);
	triggers_free(&saved);
	return rc;
}

/* Applies every migration step above the file's user_version in one write transaction. */
static int migrate(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	int version = 0;
	if (sqlite3_create_function_v2(db, "entra_fold", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY,
	                               NULL, fold_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    exec_sql(db, "PRAGMA foreign_keys = OFF", err, errlen) < 0)
		return -1;
	if (exec_sql(db, "BEGIN IMMEDIATE", err, errlen) < 0)
		goto out;
	if (query_int(db, "PRAGMA user_version", &version) < 0) {
		snprintf(err, errlen, "cannot read schema version: %s", sqlite3_errmsg(db));
		goto fail;
	}
	if (version > N_MIGRATIONS) {
		snprintf(err, errlen,
		         "schema version %d is newer than this entra-syncd knows (%d): upgrade entra-syncd", version,
		         N_MIGRATIONS);
		goto fail;
	}
	if (version < N_MIGRATIONS && migrate_steps(db, version, err, errlen) < 0)
		goto fail;
	if (exec_sql(db, "COMMIT", err, errlen) == 0) {
		if (version < 2)
			log_unkeyed_users(db, path);
		return exec_sql(db, "PRAGMA foreign_keys = ON", err, errlen);
	}
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out:
	sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	return -1;
}

static int prepare_all(struct store *st, char *err, size_t errlen)
{
	for (int i = 0; i < S_COUNT_STMTS; i++) {
		if (sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[i], NULL) !=
		    SQLITE_OK) {
			return entra_errf(err, errlen, "cannot prepare statement %d: %s", i, sqlite3_errmsg(st->db));
		}
	}
	return 0;
}

static struct store *open_connection(const char *path, bool reader, char *err, size_t errlen)
{
	char why[384] = "";
	struct store *st = calloc(1, sizeof(*st));
	if (!st || !(st->path = strdup(path))) {
		snprintf(err, errlen, "out of memory");
		free(st);
		return NULL;
	}
	if (!reader && create_private_file(path, err, errlen) < 0) {
		store_close(st);
		return NULL;
	}
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    set_pragmas(st->db, reader, why, sizeof(why)) < 0 ||
	    (reader ? check_version(st->db, why, sizeof(why)) : migrate(st->db, path, why, sizeof(why))) < 0 ||
	    prepare_all(st, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "state_db %s: %s", path, why[0] ? why : sqlite3_errmsg(st->db));
		store_close(st);
		return NULL;
	}
	return st;
}

struct store *store_open(const char *path, char *err, size_t errlen)
{
	return open_connection(path, false, err, errlen);
}

struct store *store_open_reader(const char *path, char *err, size_t errlen)
{
	return open_connection(path, true, err, errlen);
}

void store_close(struct store *st)
{
	if (!st)
		return;
	for (int i = 0; i < S_COUNT_STMTS; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

sqlite3 *store_db(struct store *st)
{
	return st->db;
}

static int step_done(struct store *st, enum store_stmt id, const char *what)
{
	sqlite3_stmt *s = store_stmt(st, id);
	int rc = sqlite3_step(s);
	store_release(s);
	return rc == SQLITE_DONE ? STORE_OK : store_fail(st, what);
}

int store_begin(struct store *st, bool write)
{
	return step_done(st, write ? S_BEGIN_WRITE : S_BEGIN_READ, "begin transaction");
}

int store_commit(struct store *st)
{
	return step_done(st, S_COMMIT, "commit");
}

void store_rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		step_done(st, S_ROLLBACK, "rollback");
}

bool store_in_transaction(struct store *st)
{
	return !sqlite3_get_autocommit(st->db);
}

int store_savepoint(struct store *st)
{
	return step_done(st, S_SAVEPOINT, "savepoint");
}

int store_savepoint_release(struct store *st)
{
	return step_done(st, S_SAVEPOINT_RELEASE, "release savepoint");
}

int store_savepoint_rollback(struct store *st)
{
	if (step_done(st, S_SAVEPOINT_ROLLBACK, "roll back to savepoint") != STORE_OK)
		return STORE_ERROR;
	return store_savepoint_release(st);
}

int store_new_id(char out[STORE_ID_LEN + 1])
{
	unsigned char b[16];
	size_t got = 0;
	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		got += (size_t)n;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, STORE_ID_LEN + 1, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
	         b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

void store_now(char out[STORE_TIME_LEN])
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, STORE_TIME_LEN - 6, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, STORE_TIME_LEN - n, ".%03dZ", (int)(ts.tv_nsec / 1000000) % 1000);
}

int store_kv_set(struct store *st, const char *key, const char *value)
{
	sqlite3_stmt *s = store_stmt(st, S_KV_SET);
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	store_release(s);
	return rc == SQLITE_DONE ? STORE_OK : store_fail(st, "write kv");
}

int store_kv_get(struct store *st, const char *key, char *out, size_t outlen)
{
	sqlite3_stmt *s = store_stmt(st, S_KV_GET);
	int ret = STORE_NOT_FOUND;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(s, 0));
		ret = STORE_OK;
	} else if (rc != SQLITE_DONE) {
		ret = store_fail(st, "read kv");
	}
	store_release(s);
	return ret;
}

int store_stats(struct store *st, long *users, long *active_users, long *groups)
{
	sqlite3_stmt *s = store_stmt(st, S_STATS);
	int ret = STORE_OK;
	if (sqlite3_step(s) == SQLITE_ROW) {
		*users = (long)sqlite3_column_int64(s, 0);
		*active_users = (long)sqlite3_column_int64(s, 1);
		*groups = (long)sqlite3_column_int64(s, 2);
	} else {
		ret = store_fail(st, "count resources");
	}
	store_release(s);
	return ret;
}
