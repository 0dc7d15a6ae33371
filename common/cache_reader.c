#include "common/cache_reader.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cache_file.h"
#include "common/cache_schema.h"
#include "common/cache_vfs.h"

/* Memory held per connection: readers live in every process that resolves a name. The page
 * cache is capped at 1 MiB (SQLite's default is 2 MiB; 256 pages of ENTRA_CACHE_PAGE_SIZE keep
 * the interior pages and the recently used leaves of a 100k-user cache), and the lookaside at
 * 4 KiB instead of 120 KiB
 * (all of it written at open). No mmap: a cache.db truncated in place by mistake would then
 * kill the host process with SIGBUS, not fail a look-up. */
#define CACHE_PAGES     "256"
#define LOOKASIDE_SLOT  128
#define LOOKASIDE_SLOTS 32

/* The auto-indexes SQLite makes for the UNIQUE columns of passwd and groups: rows of
 * sqlite_schema with no SQL text. */
#define SCHEMA_AUTOINDEXES 2

static int fail(int *err, int e, char *why, size_t whylen, const char *text)
{
	*err = e;
	snprintf(why, whylen, "%s", text);
	return -1;
}

static int budget_tick(void *arg)
{
	long *left = arg;
	return --*left < 0;
}

/* Defensive mode, an untrusted schema, no views or triggers, and limits far below SQLite's
 * defaults but far above anything the project's queries and rows need. */
static void harden(struct entra_cache *c)
{
	sqlite3 *db = c->db;
	static const int off[] = {SQLITE_DBCONFIG_TRUSTED_SCHEMA, SQLITE_DBCONFIG_ENABLE_VIEW,
	                          SQLITE_DBCONFIG_ENABLE_TRIGGER, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION,
	                          SQLITE_DBCONFIG_DQS_DDL,        SQLITE_DBCONFIG_DQS_DML};
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++)
		sqlite3_db_config(db, off[i], 0, NULL);
	static const int limits[][2] = {
	    /* A group's packed member names: 16 MiB is some 500k members of 30-byte names. */
	    {SQLITE_LIMIT_LENGTH, 1 << 24},
	    {SQLITE_LIMIT_SQL_LENGTH, 16384},
	    {SQLITE_LIMIT_COLUMN, 64},
	    {SQLITE_LIMIT_EXPR_DEPTH, 64},
	    {SQLITE_LIMIT_COMPOUND_SELECT, 2},
	    {SQLITE_LIMIT_VDBE_OP, 25000},
	    {SQLITE_LIMIT_FUNCTION_ARG, 8},
	    {SQLITE_LIMIT_ATTACHED, 0},
	    {SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 64},
	    {SQLITE_LIMIT_VARIABLE_NUMBER, 16},
	    {SQLITE_LIMIT_TRIGGER_DEPTH, 1},
	    {SQLITE_LIMIT_WORKER_THREADS, 0},
	};
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		sqlite3_limit(db, limits[i][0], limits[i][1]);
	/* Both fail only for want of memory; the defaults then stay, which is merely larger. */
	sqlite3_db_config(db, SQLITE_DBCONFIG_LOOKASIDE, NULL, LOOKASIDE_SLOT, LOOKASIDE_SLOTS);
	sqlite3_exec(db, "PRAGMA cache_size = " CACHE_PAGES, NULL, NULL, NULL);
	c->budget = ENTRA_CACHE_LOOKUP_BUDGET;
	sqlite3_progress_handler(db, ENTRA_CACHE_BUDGET_STEP, budget_tick, &c->budget);
}

/* Statements of ENTRA_CACHE_SCHEMA_SQL (one ';' after each). */
#define SCHEMA_STATEMENTS_MAX 16

struct schema_statement {
	const char *text;
	size_t len;
	bool seen;
};

static size_t schema_statements(struct schema_statement *out)
{
	size_t n = 0;
	for (const char *p = ENTRA_CACHE_SCHEMA_SQL, *end; (end = strchr(p, ';')) && n < SCHEMA_STATEMENTS_MAX;
	     p = end + 1)
		out[n++] = (struct schema_statement){.text = p, .len = (size_t)(end - p)};
	return n;
}

/* Marks the statement whose text is SQL as seen: false when there is none, or it was seen. */
static bool schema_statement_take(struct schema_statement *st, size_t n, const char *sql)
{
	size_t len = strlen(sql);
	for (size_t i = 0; i < n; i++)
		if (st[i].len == len && !memcmp(st[i].text, sql, len))
			return !st[i].seen && (st[i].seen = true);
	return false;
}

/* Each row of sqlite_schema must be one of the statements the project writes (in any order:
 * the writer creates indexes after the rows), or one of the UNIQUE columns' auto-indexes;
 * nothing else, nothing twice, nothing missing. */
static const char *schema_rows_check(sqlite3_stmt *q, bool *meta_ours)
{
	struct schema_statement want[SCHEMA_STATEMENTS_MAX];
	size_t n = schema_statements(want), matched = 0;
	int autoindexes = 0, rc;
	const char *why = NULL;
	bool only_tables = true; /* every row we do not know is a plain table */
	/* Every row is looked at (page 1 holds a handful), so *META_OURS can be told. */
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(q, 0);
		const char *name = (const char *)sqlite3_column_text(q, 1);
		const char *sql = (const char *)sqlite3_column_text(q, 2);
		if (!sql) {
			if (!type || strcmp(type, "index") || !name || strncmp(name, "sqlite_autoindex_", 17) ||
			    ++autoindexes > SCHEMA_AUTOINDEXES)
				why = why ? why : "an unexpected object in its schema";
			continue;
		}
		if (schema_statement_take(want, n, sql)) {
			matched++;
			continue;
		}
		only_tables = only_tables && type && !strcmp(type, "table");
		why = why ? why : "a schema other than the one entra-syncd writes (views, triggers or other objects)";
	}
	/* The first statement creates meta: it can be read when nothing else could run code. */
	*meta_ours = n > 0 && want[0].seen && only_tables;
	if (rc != SQLITE_DONE)
		return sqlite3_errstr(rc);
	if (!why && (matched != n || autoindexes != SCHEMA_AUTOINDEXES))
		why = "an incomplete schema";
	return why;
}

static const char version_mismatch[] = "schema_version is not " ENTRA_CACHE_STR(
    ENTRA_CACHE_SCHEMA_VERSION) " (entra-syncd and the modules are from different releases: install matching versions)";

static const char *version_check(sqlite3 *db)
{
	sqlite3_stmt *q = NULL;
	const char *why = NULL;
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &q, NULL) != SQLITE_OK)
		return "its meta table cannot be read";
	int rc = sqlite3_step(q);
	const char *v = rc == SQLITE_ROW && sqlite3_column_type(q, 0) == SQLITE_TEXT
	                    ? (const char *)sqlite3_column_text(q, 0)
	                    : NULL;
	if (rc != SQLITE_ROW)
		why = rc == SQLITE_DONE ? "no schema_version in meta" : sqlite3_errstr(rc);
	else if (!v || strcmp(v, ENTRA_CACHE_STR(ENTRA_CACHE_SCHEMA_VERSION)))
		why = version_mismatch;
	sqlite3_finalize(q);
	return why;
}

const char *entra_cache_schema_check(sqlite3 *db)
{
	sqlite3_stmt *q = NULL;
	bool meta_ours = false;
	if (sqlite3_prepare_v2(db, "SELECT type, name, sql FROM sqlite_schema", -1, &q, NULL) != SQLITE_OK)
		return "its schema cannot be read (damaged or hostile)";
	const char *why = schema_rows_check(q, &meta_ours);
	sqlite3_finalize(q);
	if (!why)
		return version_check(db);
	/* Another release's file (e.g. version 1) has other tables but our meta table: say so
	 * rather than call it hostile (still refused: the version cannot match ours). */
	const char *version = meta_ours ? version_check(db) : NULL;
	return version == version_mismatch ? version : why;
}

/* SQLite reads the checked descriptor's file (common/cache_vfs.c), never a name. */
static int sqlite_open_fd(int fd, struct entra_cache *c, int *err, char *why, size_t whylen)
{
	int rc = entra_cache_vfs_open(fd, &c->db);
	if (rc == SQLITE_OK)
		return 0;
	fail(err, EIO, why, whylen, c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
	entra_cache_close(c);
	return -1;
}

int entra_cache_open(const char *path, struct entra_cache *c, int *err, char *why, size_t whylen)
{
	memset(c, 0, sizeof(*c));
	int fd = entra_cache_file_open(path, &c->st, err, why, whylen);
	if (fd < 0)
		return -1;
	int rc = sqlite_open_fd(fd, c, err, why, whylen);
	close(fd);
	if (rc)
		return -1;
	harden(c);
	const char *problem = entra_cache_schema_check(c->db);
	if (problem) {
		fail(err, EIO, why, whylen, entra_cache_budget_spent(c) ? "its schema is too large" : problem);
		entra_cache_close(c);
		return -1;
	}
	c->budget = ENTRA_CACHE_LOOKUP_BUDGET;
	*err = 0;
	return 0;
}

int entra_cache_budget_spent(const struct entra_cache *c)
{
	return c->budget < 0;
}

void entra_cache_close(struct entra_cache *c)
{
	sqlite3_close(c->db);
	c->db = NULL;
}
