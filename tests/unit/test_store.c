/* Unit tests for state.db (sync/store*.c): a real SQLite file in a temp directory. */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sqlite_files.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sync/store/directory.h"
#include "sync/store/store.h"
#include "sync/store/store_changes.h"

#include "store_fixture.h"

static json_t *user(const char *upn, const char *ext)
{
	return json_pack("{s:s, s:s, s:b, s:s, s:{s:s}}", "userName", upn, "externalId", ext, "active", 1,
	                 "displayName", "Test User", "custom", "k", "v");
}

static void add_user(struct store *st, const char *upn, char id[STORE_ID_LEN + 1])
{
	char now[STORE_TIME_LEN];
	json_t *u = user(upn, upn);
	store_now(now);
	assert_int_equal(store_new_id(id), 0);
	assert_int_equal(store_insert(st, SCIM_USER, id, u, now), STORE_OK);
	json_decref(u);
}

static void add_group(struct store *st, const char *name, char id[STORE_ID_LEN + 1])
{
	char now[STORE_TIME_LEN];
	json_t *g = json_pack("{s:s, s:s, s:[{s:s}]}", "displayName", name, "externalId", name, "members", "value",
	                      "ignored-here");
	store_now(now);
	assert_int_equal(store_new_id(id), 0);
	assert_int_equal(store_insert(st, SCIM_GROUP, id, g, now), STORE_OK);
	json_decref(g);
}

static int pragma_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

static void open_creates_private_wal_db(void **state)
{
	struct fixture *f = *state;
	struct stat sb;
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(pragma_int(store_db(f->st), "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	assert_int_equal(pragma_int(store_db(f->st), "PRAGMA foreign_keys"), 1);
	assert_int_equal(pragma_int(store_db(f->st), "PRAGMA synchronous"), 2); /* FULL */
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(store_db(f->st), "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
}

static void reopen_keeps_data_and_tightens_mode(void **state)
{
	struct fixture *f = *state;
	char id[STORE_ID_LEN + 1], err[512];
	struct store_record rec;
	add_user(f->st, "alice@contoso.com", id);
	store_close(f->st);
	chmod(f->path, 0644);
	f->st = store_open(f->path, err, sizeof(err));
	assert_non_null(f->st);
	struct stat sb;
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(store_get(f->st, SCIM_USER, id, &rec), STORE_OK);
	assert_string_equal(json_string_value(json_object_get(rec.resource, "userName")), "alice@contoso.com");
	store_record_clear(&rec);
}

static void newer_schema_is_refused(void **state)
{
	struct fixture *f = *state;
	char err[512] = "";
	assert_int_equal(sqlite3_exec(store_db(f->st), "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	store_close(f->st);
	f->st = store_open(f->path, err, sizeof(err));
	assert_null(f->st);
	assert_non_null(strstr(err, "newer"));
	/* Put it back so teardown and later opens work. */
	sqlite3 *db;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
	sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	f->st = store_open(f->path, err, sizeof(err));
	assert_non_null(f->st);
}

static void missing_directory_is_a_clear_error(void **state)
{
	char err[512] = "";
	assert_null(store_open("/nonexistent-dir-entra/state.db", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent-dir-entra/state.db"));
	assert_non_null(strstr(err, "directory"));
}

static void uuid_v4_format(void **state)
{
	char a[STORE_ID_LEN + 1], b[STORE_ID_LEN + 1];
	assert_int_equal(store_new_id(a), 0);
	assert_int_equal(store_new_id(b), 0);
	assert_int_equal(strlen(a), 36);
	assert_int_equal(a[14], '4');
	assert_non_null(strchr("89ab", a[19]));
	assert_string_not_equal(a, b);
}

static void insert_update_version_and_conflicts(void **state)
{
	struct fixture *f = *state;
	char id[STORE_ID_LEN + 1], id2[STORE_ID_LEN + 1], now[STORE_TIME_LEN];
	struct store_record rec;
	add_user(f->st, "alice@contoso.com", id);
	store_new_id(id2);
	store_now(now);
	json_t *dup = user("ALICE@contoso.com", "x");
	assert_int_equal(store_insert(f->st, SCIM_USER, id2, dup, now), STORE_CONFLICT);
	json_t *noname = json_pack("{s:s}", "displayName", "x");
	assert_int_equal(store_insert(f->st, SCIM_USER, id2, noname, now), STORE_INVALID);
	assert_int_equal(store_update(f->st, SCIM_USER, "no-such-id", dup, now), STORE_NOT_FOUND);

	json_t *renamed = user("alice2@contoso.com", "alice");
	json_object_set_new(renamed, "active", json_false());
	assert_int_equal(store_update(f->st, SCIM_USER, id, renamed, now), STORE_OK);
	assert_int_equal(store_get(f->st, SCIM_USER, id, &rec), STORE_OK);
	assert_int_equal(rec.version, 2);
	assert_string_equal(json_string_value(json_object_get(rec.resource, "userName")), "alice2@contoso.com");
	assert_string_equal(json_string_value(json_object_get(json_object_get(rec.resource, "custom"), "k")), "v");
	store_record_clear(&rec);
	long users, active, groups;
	assert_int_equal(store_stats(f->st, &users, &active, &groups), STORE_OK);
	assert_int_equal(users, 1);
	assert_int_equal(active, 0);
	json_decref(dup);
	json_decref(noname);
	json_decref(renamed);

	char g1[STORE_ID_LEN + 1], g2[STORE_ID_LEN + 1];
	add_group(f->st, "Web Team", g1);
	store_new_id(g2);
	json_t *g = json_pack("{s:s}", "displayName", "web team");
	assert_int_equal(store_insert(f->st, SCIM_GROUP, g2, g, now), STORE_OK); /* Entra allows duplicates */
	json_decref(g);
	/* userName is unique by Unicode case folding, not by ASCII case alone */
	add_user(f->st, "m\xc3\xbcller@contoso.com", id2);
	store_new_id(id2);
	json_t *folded = user("M\xc3\x9cLLER@contoso.com", "mueller");
	assert_int_equal(store_insert(f->st, SCIM_USER, id2, folded, now), STORE_CONFLICT);
	json_decref(folded);
	assert_int_equal(store_get(f->st, SCIM_GROUP, g1, &rec), STORE_OK);
	assert_null(json_object_get(rec.resource, "members")); /* kept in the members table only */
	store_record_clear(&rec);
}

static int collect_member(const char *user_id, const char *user_name, void *arg)
{
	json_t *arr = arg;
	json_array_append_new(arr, json_pack("{s:s, s:s}", "value", user_id, "display", user_name));
	return 0;
}

static size_t member_count(struct store *st, const char *gid)
{
	json_t *arr = json_array();
	assert_int_equal(store_members_each(st, gid, collect_member, arr), STORE_OK);
	size_t n = json_array_size(arr);
	json_decref(arr);
	return n;
}

static void members_replace_diffs_and_cascades(void **state)
{
	struct fixture *f = *state;
	char a[STORE_ID_LEN + 1], b[STORE_ID_LEN + 1], c[STORE_ID_LEN + 1], g[STORE_ID_LEN + 1];
	bool changed;
	add_user(f->st, "a@x", a);
	add_user(f->st, "b@x", b);
	add_user(f->st, "c@x", c);
	add_group(f->st, "G", g);
	const char *set1[] = {a, b, "unknown-user", a};
	assert_int_equal(store_members_replace(f->st, g, set1, 4, &changed), STORE_OK);
	assert_true(changed);
	assert_int_equal(member_count(f->st, g), 2);
	assert_int_equal(store_members_replace(f->st, g, set1, 4, &changed), STORE_OK);
	assert_false(changed);
	const char *set2[] = {b, c};
	assert_int_equal(store_members_replace(f->st, g, set2, 2, &changed), STORE_OK);
	assert_true(changed);
	assert_int_equal(member_count(f->st, g), 2);
	assert_int_equal(store_delete(f->st, SCIM_USER, b), STORE_OK);
	assert_int_equal(member_count(f->st, g), 1);
	assert_int_equal(store_delete(f->st, SCIM_USER, b), STORE_NOT_FOUND);
	assert_int_equal(store_delete(f->st, SCIM_GROUP, g), STORE_OK);
	assert_int_equal(member_count(f->st, g), 0);
}

static int count_rows(struct store_record *rec, void *arg)
{
	(*(int *)arg)++;
	assert_non_null(rec->resource);
	return 0;
}

static void lookups_and_pages(void **state)
{
	struct fixture *f = *state;
	char id[STORE_ID_LEN + 1], name[64];
	int n;
	for (int i = 0; i < 25; i++) {
		snprintf(name, sizeof(name), "user%02d@contoso.com", i);
		add_user(f->st, name, id);
	}
	n = 0;
	assert_int_equal(store_scan(f->st, SCIM_USER, STORE_BY_USER_NAME, "USER07@CONTOSO.COM", -1, 0, count_rows, &n),
	                 STORE_OK);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(
	    store_scan(f->st, SCIM_USER, STORE_BY_EXTERNAL_ID, "USER07@CONTOSO.COM", -1, 0, count_rows, &n), STORE_OK);
	assert_int_equal(n, 0); /* externalId is caseExact */
	n = 0;
	assert_int_equal(store_scan(f->st, SCIM_USER, STORE_BY_ID, id, -1, 0, count_rows, &n), STORE_OK);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(store_scan(f->st, SCIM_USER, STORE_ALL, NULL, 10, 20, count_rows, &n), STORE_OK);
	assert_int_equal(n, 5);
	assert_false(store_has_lookup(SCIM_GROUP, STORE_BY_USER_NAME));
	long long total;
	assert_int_equal(store_count(f->st, SCIM_USER, &total), STORE_OK);
	assert_int_equal(total, 25);
}

static void kv_and_transactions(void **state)
{
	struct fixture *f = *state;
	char out[64], id[STORE_ID_LEN + 1];
	assert_int_equal(store_kv_get(f->st, "last_request", out, sizeof(out)), STORE_NOT_FOUND);
	assert_int_equal(store_kv_set(f->st, "last_request", "123"), STORE_OK);
	assert_int_equal(store_kv_set(f->st, "last_request", "456"), STORE_OK);
	assert_int_equal(store_kv_get(f->st, "last_request", out, sizeof(out)), STORE_OK);
	assert_string_equal(out, "456");
	assert_int_equal(store_begin(f->st, true), STORE_OK);
	add_user(f->st, "rolled@back", id);
	store_rollback(f->st);
	long long n;
	assert_int_equal(store_count(f->st, SCIM_USER, &n), STORE_OK);
	assert_int_equal(n, 0);
}

static void directory_load_small(void **state)
{
	struct fixture *f = *state;
	char a[STORE_ID_LEN + 1], b[STORE_ID_LEN + 1], g1[STORE_ID_LEN + 1], g2[STORE_ID_LEN + 1];
	struct directory d;
	add_user(f->st, "a@x", a);
	add_user(f->st, "b@x", b);
	add_group(f->st, "G1", g1);
	add_group(f->st, "G2", g2);
	const char *m1[] = {a, b}, *m2[] = {b};
	assert_int_equal(store_members_replace(f->st, g1, m1, 2, NULL), STORE_OK);
	assert_int_equal(store_members_replace(f->st, g2, m2, 1, NULL), STORE_OK);
	assert_int_equal(store_directory_load(store_db(f->st), &d), 0);
	assert_int_equal(d.n_users, 2);
	assert_int_equal(d.n_groups, 2);
	assert_string_equal(d.users[0].scim_id, a);
	assert_string_equal(d.users[0].user_name, "a@x");
	assert_string_equal(d.users[0].external_id, "a@x");
	assert_true(d.users[0].active);
	assert_int_equal(d.users[0].n_groups, 1);
	assert_int_equal(d.users[1].n_groups, 2);
	assert_int_equal(d.groups[0].n_members, 2);
	assert_int_equal(d.groups[1].n_members, 1);
	assert_int_equal(d.groups[1].members[0], 1);
	assert_string_equal(d.groups[1].display_name, "G2");
	directory_free(&d);
}

#define LOGIN_URN "urn:ietf:params:scim:schemas:extension:entra-login:2.0:User"

/* The schema of version 1, as entra-syncd wrote it until group display names could repeat;
 * its users carry SSH keys in their JSON (as a string and as an array) for migration 3. */
static const char v1_schema[] =
    "CREATE TABLE users(id TEXT PRIMARY KEY NOT NULL, user_name TEXT NOT NULL COLLATE NOCASE UNIQUE,"
    " external_id TEXT, display_name TEXT, active INTEGER NOT NULL DEFAULT 1, json TEXT NOT NULL,"
    " created TEXT NOT NULL, last_modified TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1);"
    "CREATE INDEX users_external_id ON users(external_id);"
    "CREATE INDEX users_display_name ON users(display_name COLLATE NOCASE);"
    "CREATE TABLE groups(id TEXT PRIMARY KEY NOT NULL, display_name TEXT NOT NULL COLLATE NOCASE UNIQUE,"
    " external_id TEXT, json TEXT NOT NULL, created TEXT NOT NULL, last_modified TEXT NOT NULL,"
    " version INTEGER NOT NULL DEFAULT 1);"
    "CREATE INDEX groups_external_id ON groups(external_id);"
    "CREATE TABLE members(group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,"
    " user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, PRIMARY KEY(group_id, user_id)) WITHOUT ROWID;"
    "CREATE INDEX members_by_user ON members(user_id, group_id);"
    "CREATE TABLE kv(key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;"
    "PRAGMA user_version = 1;"
    "INSERT INTO users(id, user_name, display_name, json, created, last_modified) VALUES"
    " ('u1', 'm\xc3\xbcller@x', 'M', '{\"userName\":\"m\xc3\xbcller@x\",\"" LOGIN_URN "\":"
    "{\"sshPublicKey\":\"k1\\nk2\"}}', 't', 't'),"
    " ('u2', 'M\xc3\x9cLLER@x', 'M', '{\"userName\":\"M\xc3\x9cLLER@x\",\"" LOGIN_URN "\":"
    "{\"sshPublicKey\":[\"k3\",7,\"k4\"]}}', 't', 't');"
    "INSERT INTO groups(id, display_name, json, created, last_modified, version) VALUES"
    " ('g2', 'Second', '{\"displayName\":\"Second\"}', 't', 't', 7),"
    " ('g1', 'First', '{\"displayName\":\"First\"}', 't', 't', 3);"
    "INSERT INTO members VALUES ('g2', 'u1'), ('g1', 'u1'), ('g1', 'u2');";

/* Version 1 -> 3: groups is rebuilt without its UNIQUE; nothing else may change on the way:
 * memberships (a DROP with foreign keys on would cascade), rowid order, versions, and the
 * change log's triggers on groups (dropped with the table). */
static void migration_from_v1_keeps_everything(void **state)
{
	char dir[64] = "/tmp/test-store-XXXXXX", path[128], err[512];
	sqlite3 *db;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, v1_schema, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(store_changes_install(db), 1);
	sqlite3_close(db);

	struct store *st = store_open(path, err, sizeof(err));
	assert_non_null(st);
	db = store_db(st);
	assert_int_equal(pragma_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	assert_int_equal(pragma_int(db, "PRAGMA foreign_keys"), 1);
	assert_int_equal(pragma_int(db, "SELECT count(*) FROM members"), 3);
	assert_int_equal(pragma_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND"
	                                " tbl_name = 'groups'"),
	                 3);
	assert_int_equal(store_changes_install(db), 1); /* the log stays valid: no full rebuild needed */
	assert_int_equal(pragma_int(db, "SELECT version FROM groups WHERE id = 'g2'"), 7);
	assert_int_equal(pragma_int(db, "SELECT rowid FROM groups WHERE id = 'g1'"), 2);
	/* the older of two userNames equal under folding keeps the key, the other none (logged) */
	assert_int_equal(pragma_int(db, "SELECT count(*) FROM users WHERE user_key = 'm\xc3\xbcller@x'"), 1);
	assert_int_equal(pragma_int(db, "SELECT user_key IS NULL FROM users WHERE id = 'u2'"), 1);
	/* version 3 took the SSH keys out of the JSON: a string as is, an array's strings a line each */
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT ssh_keys FROM users ORDER BY id", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "k1\nk2");
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "k3\nk4");
	sqlite3_finalize(q);
	/* and the new schema takes a second group of an existing name */
	char id[STORE_ID_LEN + 1], now[STORE_TIME_LEN];
	json_t *g = json_pack("{s:s}", "displayName", "FIRST");
	store_now(now);
	store_new_id(id);
	assert_int_equal(store_insert(st, SCIM_GROUP, id, g, now), STORE_OK);
	json_decref(g);
	assert_int_equal(pragma_int(db, "SELECT count(*) FROM publish_changes WHERE kind = 2"), 1);
	store_close(st);
	sqlite_files_remove(path);
	rmdir(dir);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 100k users, 1k groups, 200k memberships: the publisher reloads this after every change. */
static void directory_load_100k(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db = store_db(f->st);
	assert_int_equal(
	    sqlite3_exec(db,
	                 "BEGIN;"
	                 "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99999)"
	                 " INSERT INTO users(id, user_name, external_id, display_name, active, json, created,"
	                 " last_modified) SELECT 'u' || i, 'user' || i || '@contoso.com', 'x' || i, 'U', 1,"
	                 " '{}', 't', 't' FROM n;"
	                 "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999)"
	                 " INSERT INTO groups(id, display_name, json, created, last_modified)"
	                 " SELECT 'g' || i, 'group ' || i, '{}', 't', 't' FROM n;"
	                 "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99999)"
	                 " INSERT INTO members SELECT 'g' || (i % 1000), 'u' || i FROM n"
	                 " UNION ALL SELECT 'g' || ((i + 1) % 1000), 'u' || i FROM n;"
	                 "COMMIT;",
	                 NULL, NULL, NULL),
	    SQLITE_OK);
	struct directory d;
	double t0 = now_s();
	assert_int_equal(store_directory_load(db, &d), 0);
	double took = now_s() - t0;
	print_message("store_directory_load: 100000 users, 1000 groups, 200000 memberships in %.3f s\n", took);
	assert_int_equal(d.n_users, 100000);
	assert_int_equal(d.n_groups, 1000);
	size_t total = 0;
	for (size_t i = 0; i < d.n_groups; i++)
		total += d.groups[i].n_members;
	assert_int_equal(total, 200000);
	assert_int_equal(d.users[5].n_groups, 2);
	assert_true(took < 5.0);
	directory_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(open_creates_private_wal_db, setup, teardown),
	    cmocka_unit_test_setup_teardown(reopen_keeps_data_and_tightens_mode, setup, teardown),
	    cmocka_unit_test_setup_teardown(newer_schema_is_refused, setup, teardown),
	    cmocka_unit_test(missing_directory_is_a_clear_error),
	    cmocka_unit_test(uuid_v4_format),
	    cmocka_unit_test_setup_teardown(insert_update_version_and_conflicts, setup, teardown),
	    cmocka_unit_test(migration_from_v1_keeps_everything),
	    cmocka_unit_test_setup_teardown(members_replace_diffs_and_cascades, setup, teardown),
	    cmocka_unit_test_setup_teardown(lookups_and_pages, setup, teardown),
	    cmocka_unit_test_setup_teardown(kv_and_transactions, setup, teardown),
	    cmocka_unit_test_setup_teardown(directory_load_small, setup, teardown),
	    cmocka_unit_test_setup_teardown(directory_load_100k, setup, teardown),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
