/* sqlite_baseline: the floor for a durable SCIM create on this disk. Inserts N user rows
 * (the same Entra-shaped JSON body scim_load sends), each in its own transaction, into a WAL
 * database with synchronous=FULL: what any service that acknowledges a create only once it is
 * on disk must at least pay. Prints one JSON object like scim_load's.
 *
 *   sqlite_baseline --db PATH --count N
 */
#include <inttypes.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_COUNT 1000000

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "sqlite_baseline: %s: %s\n", sql, err ? err : sqlite3_errmsg(db));
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

static sqlite3 *open_db(const char *path)
{
	sqlite3 *db = NULL;
	if (sqlite3_open(path, &db) != SQLITE_OK) {
		fprintf(stderr, "sqlite_baseline: cannot open %s: %s\n", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return NULL;
	}
	if (exec(db, "PRAGMA journal_mode=WAL") || exec(db, "PRAGMA synchronous=FULL") ||
	    exec(db, "CREATE TABLE IF NOT EXISTS users(id TEXT PRIMARY KEY, user_name TEXT NOT NULL UNIQUE,"
	             " body TEXT NOT NULL)")) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

static int insert_one(sqlite3_stmt *st, size_t i)
{
	char id[64], upn[96], body[1024];
	snprintf(id, sizeof(id), "00000000-0000-4000-b000-%012zu", i);
	snprintf(upn, sizeof(upn), "base%zu@contoso.com", i);
	snprintf(body, sizeof(body),
	         "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"externalId\":\"base%zu\","
	         "\"userName\":\"%s\",\"active\":true,\"displayName\":\"Bench User %zu\","
	         "\"emails\":[{\"primary\":true,\"type\":\"work\",\"value\":\"%s\"}],"
	         "\"name\":{\"formatted\":\"Bench User %zu\",\"familyName\":\"User\",\"givenName\":\"Bench\"}}",
	         i, upn, i, upn, i);
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, upn, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, body, -1, SQLITE_TRANSIENT);
	return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	size_t count = 0;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--db"))
			path = argv[i + 1];
		else if (!strcmp(argv[i], "--count"))
			count = strtoul(argv[i + 1], NULL, 10);
	}
	if (!path || count == 0 || count > MAX_COUNT) {
		fprintf(stderr, "usage: sqlite_baseline --db PATH --count N (N <= %d)\n", MAX_COUNT);
		return 1;
	}
	sqlite3 *db = open_db(path);
	sqlite3_stmt *st = NULL;
	uint64_t *lat = calloc(count, sizeof(*lat));
	if (!db || !lat || sqlite3_prepare_v2(db, "INSERT INTO users VALUES(?,?,?)", -1, &st, NULL) != SQLITE_OK)
		return 1;
	uint64_t t0 = now_ns();
	for (size_t i = 0; i < count; i++) {
		uint64_t s = now_ns();
		if (insert_one(st, i) != 0) {
			fprintf(stderr, "sqlite_baseline: insert %zu: %s\n", i, sqlite3_errmsg(db));
			return 2;
		}
		lat[i] = now_ns() - s;
	}
	double seconds = (double)(now_ns() - t0) / 1e9;
	qsort(lat, count, sizeof(*lat), compare_u64);
	json_t *j = json_pack("{s:s, s:I, s:f, s:f, s:f, s:f}", "op", "sqlite-insert-full", "requests",
	                      (json_int_t)count, "seconds", seconds, "req_per_s", count / seconds, "p50_ms",
	                      lat[count / 2] / 1e6, "p99_ms", lat[(count * 99 + 99) / 100 - 1] / 1e6);
	json_dumpf(j, stdout, 0);
	putchar('\n');
	json_decref(j);
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(lat);
	return 0;
}
