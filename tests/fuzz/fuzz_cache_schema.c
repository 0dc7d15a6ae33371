/* libFuzzer target: cache.db files of any schema, not only of any rows. A compromised
 * entra-syncd can write views, triggers, extra tables and indexes, planner statistics, a schema
 * edited through writable_schema, columns of other types: every reader must refuse or serve
 * them without hanging, crashing or handing out ids outside the range.
 *
 * Input: byte 0 picks the starting point (even: the project's schema with a few rows; odd: an
 * empty file), the rest is SQL run statement by statement (errors skipped) on a builder
 * connection that can only touch that file (no ATTACH, VACUUM INTO or file-level pragmas) and
 * is bounded in work. The file is then published at CACHE_DB (tests/fuzz/cache_readers.h) and
 * every reader runs. When common/cache_reader.c accepts it, an independent look at the file
 * must agree that it has exactly the project's objects. Needs root (mount namespace). */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "cache_readers.h"
#include "common/cache_reader.h"
#include "common/cache_schema.h"
#include "fuzz_util.h"

#define BUILD_TMP      ETC_ENTRA "/build.db"
#define BUILD_BUDGET   20000 /* progress calls of 1,000 instructions for the whole build */
#define SCHEMA_OBJECTS 9     /* 7 statements of ENTRA_CACHE_SCHEMA_SQL + 2 UNIQUE auto-indexes */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char seed_rows[] = "INSERT INTO meta VALUES('schema_version','2');"
                                "INSERT INTO passwd VALUES('alice',200001,200001,'Alice','/home/alice','/bin/sh',"
                                "'alice@contoso.com',NULL,'s1','user',1,-1);"
                                "INSERT INTO groups VALUES('web-team',300001,NULL,'g1');"
                                "INSERT INTO members VALUES(300001,200001);"
                                "INSERT INTO local_members VALUES(200001,27,'sudo');";

static int build_tick(void *arg)
{
	long *left = arg;
	return --*left < 0;
}

/* Only what changes this one file: no other files, no extensions, no journal games. */
static int build_authorizer(void *arg, int action, const char *a, const char *b, const char *db, const char *trigger)
{
	static const char *const pragmas[] = {"writable_schema", "schema_version", "user_version",  "page_size",
	                                      "auto_vacuum",     "encoding",       "application_id"};
	if (action == SQLITE_ATTACH || action == SQLITE_DETACH)
		return SQLITE_DENY;
	if (action == SQLITE_FUNCTION && a &&
	    (!strcasecmp(a, "load_extension") || !strcasecmp(a, "readfile") || !strcasecmp(a, "writefile")))
		return SQLITE_DENY;
	if (action != SQLITE_PRAGMA)
		return SQLITE_OK;
	for (size_t i = 0; i < sizeof(pragmas) / sizeof(pragmas[0]); i++)
		if (a && !strcasecmp(a, pragmas[i]))
			return SQLITE_OK;
	return SQLITE_DENY;
}

static void run_statements(sqlite3 *db, const char *sql)
{
	while (sql && *sql) {
		sqlite3_stmt *st = NULL;
		const char *tail = NULL;
		if (sqlite3_prepare_v2(db, sql, -1, &st, &tail) != SQLITE_OK) {
			/* Skip the broken statement: to the next ';', or stop. */
			const char *semi = strchr(sql, ';');
			sql = semi ? semi + 1 : NULL;
			continue;
		}
		/* VACUUM INTO writes another file; plain VACUUM is harmless but slow. */
		if (st && !strcasestr(sqlite3_sql(st), "vacuum"))
			while (sqlite3_step(st) == SQLITE_ROW)
				;
		sqlite3_finalize(st);
		if (tail == sql)
			break;
		sql = tail;
	}
}

static int build(const uint8_t *data, size_t size)
{
	long budget = BUILD_BUDGET;
	sqlite3 *db = NULL;
	char *sql = fuzz_strndup(data + 1, size - 1);
	unlink(BUILD_TMP);
	if (!sql || sqlite3_open(BUILD_TMP, &db) != SQLITE_OK) {
		free(sql);
		sqlite3_close(db);
		return -1;
	}
	sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
	sqlite3_limit(db, SQLITE_LIMIT_LENGTH, 1 << 20);
	sqlite3_progress_handler(db, 1000, build_tick, &budget);
	sqlite3_exec(db, "PRAGMA journal_mode=OFF", NULL, NULL, NULL);
	if (data[0] % 2 == 0) {
		sqlite3_exec(db, ENTRA_CACHE_SCHEMA_SQL, NULL, NULL, NULL);
		sqlite3_exec(db, seed_rows, NULL, NULL, NULL);
	}
	sqlite3_set_authorizer(db, build_authorizer, NULL);
	run_statements(db, sql);
	sqlite3_close(db);
	free(sql);
	chmod(BUILD_TMP, 0644);
	return rename(BUILD_TMP, CACHE_DB);
}

static long long count(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long n = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* What the reader accepts must, seen without its help, hold the project's objects and no other. */
static void acceptance_agrees(void)
{
	struct entra_cache c;
	int err;
	char why[256];
	if (entra_cache_open(CACHE_DB, &c, &err, why, sizeof(why)) != 0)
		return;
	entra_cache_close(&c);
	sqlite3 *db = NULL;
	if (sqlite3_open_v2("file:" CACHE_DB "?immutable=1", &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) ==
	    SQLITE_OK) {
		long long views = count(db, "SELECT count(*) FROM sqlite_schema WHERE type IN ('view', 'trigger')");
		long long all = count(db, "SELECT count(*) FROM sqlite_schema");
		if (views > 0 || (all >= 0 && all != SCHEMA_OBJECTS))
			abort();
	}
	sqlite3_close(db);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	cache_readers_setup();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536 || build(data, size))
		return 0;
	acceptance_agrees();
	cache_readers_run(1);
	return 0;
}
