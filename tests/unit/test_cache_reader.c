/* Unit tests for common/cache_reader.c: what libnss_scim and pam_entra accept as cache.db. */
/* cmocka needs these before its own header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cache_file.h"
#include "common/cache_reader.h"
#include "common/cache_schema.h"

#include "sync/publish/cache_writer.h"

#include "cache_fixture.h"

/* The project's schema, then EXTRA (more SQL, may be NULL), then MEMBERS rows of group 300001. */
static void write_cache(const struct fixture *f, const char *extra, int members)
{
	sqlite3 *db;
	unlink(f->path);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, ENTRA_CACHE_SCHEMA_SQL, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(
	        db,
	        "INSERT INTO meta VALUES('schema_version', '" ENTRA_CACHE_STR(
	            ENTRA_CACHE_SCHEMA_VERSION) "');"
	                                        "INSERT INTO groups VALUES('team', 300001, NULL, 's', 0, 0, x'');"
	                                        "BEGIN",
	        NULL, NULL, NULL),
	    SQLITE_OK);
	char *names = malloc((size_t)members * 16 + 1);
	size_t names_len = 0;
	assert_non_null(names);
	sqlite3_stmt *pw, *m;
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "INSERT INTO passwd VALUES(?1, ?2, ?2, '', '/h', '/bin/sh', '', NULL, "
	                                    "'s', 'user', 1, -1)",
	                                    -1, &pw, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO members VALUES(300001, ?1)", -1, &m, NULL), SQLITE_OK);
	for (int i = 0; i < members; i++) {
		char name[32];
		snprintf(name, sizeof(name), "user%d", i);
		names_len += (size_t)sprintf(names + names_len, "%s", name) + 1; /* and its NUL */
		sqlite3_bind_text(pw, 1, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(pw, 2, 200000 + i);
		sqlite3_bind_int(m, 1, 200000 + i);
		assert_int_equal(sqlite3_step(pw), SQLITE_DONE);
		assert_int_equal(sqlite3_step(m), SQLITE_DONE);
		sqlite3_reset(pw);
		sqlite3_reset(m);
	}
	sqlite3_finalize(pw);
	sqlite3_finalize(m);
	/* groups.member_names as the writer packs it (common/cache_schema.h). */
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "UPDATE groups SET member_uid_min = ?1, member_uid_max = ?2, "
	                                    "member_names = ?3 WHERE gid = 300001",
	                                    -1, &m, NULL),
	                 SQLITE_OK);
	sqlite3_bind_int(m, 1, members ? 200000 : 0);
	sqlite3_bind_int(m, 2, members ? 200000 + members - 1 : 0);
	sqlite3_bind_blob(m, 3, names, (int)names_len, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(m), SQLITE_DONE);
	sqlite3_finalize(m);
	free(names);
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	if (extra)
		assert_int_equal(sqlite3_exec(db, extra, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	chmod(f->path, 0644);
}

static int open_cache(const struct fixture *f, struct entra_cache *c, int *err, char *why)
{
	int rc = entra_cache_open(f->path, c, err, why, 256);
	if (rc == 0)
		entra_cache_close(c);
	return rc;
}

static void accepts_the_projects_own_file(void **state)
{
	struct fixture *f = *state;
	struct entra_cache c;
	int err = 0;
	char why[256] = "";
	write_cache(f, NULL, 3);
	assert_int_equal(open_cache(f, &c, &err, why), 0);
}

/* What entra-syncd's writer publishes (indexes created after the rows) is what the reader takes. */
static void accepts_what_entra_syncd_publishes(void **state)
{
	struct fixture *f = *state;
	struct entra_cache c;
	int err = 0;
	char why[256] = "";
	char dir[] = "/home/alice";
	struct cache_account a = {.name = "alice",
	                          .uid = 200001,
	                          .gecos = "Alice",
	                          .dir = dir,
	                          .shell = "/bin/sh",
	                          .upn = "alice@contoso.com",
	                          .scim_id = "s1",
	                          .role = "user",
	                          .login = 1,
	                          .expire = -1};
	struct cache_snapshot snap = {
	    .accounts = &a, .n_accounts = 1, .host = "web-01", .uid_min = 200000, .uid_max = 300000};
	assert_int_equal(cache_write(f->path, &snap, 7), 0);
	assert_int_equal(open_cache(f, &c, &err, why), 0);
}

static void refuses_any_other_schema(void **state)
{
	struct fixture *f = *state;
	static const char *const extra[] = {
	    "CREATE VIEW v AS SELECT 1",
	    "CREATE TRIGGER t AFTER INSERT ON meta BEGIN SELECT 1; END",
	    "CREATE TABLE evil(x)",
	    "CREATE INDEX passwd_by_role ON passwd(role)",
	    "ANALYZE",
	    "ALTER TABLE groups ADD COLUMN x TEXT",
	    "DROP INDEX members_by_uid",
	    "UPDATE meta SET value = '5' WHERE key = 'schema_version'",
	    "UPDATE meta SET value = '3' WHERE key = 'schema_version'",
	    "DROP INDEX passwd_by_name",
	    "CREATE INDEX passwd_by_name2 ON passwd(name, gid, gecos, dir, shell, role, expire)",
	    "UPDATE meta SET value = '2' WHERE key = 'schema_version'",
	    "DROP TABLE passwd_blocks",
	    "UPDATE meta SET value = '1' WHERE key = 'schema_version'",
	    "DROP TABLE ssh_keys",
	    "CREATE INDEX ssh_keys_by_key ON ssh_keys(key)",
	    "DELETE FROM meta",
	};
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		struct entra_cache c;
		int err = 0;
		char why[256] = "";
		write_cache(f, extra[i], 1);
		assert_int_equal(open_cache(f, &c, &err, why), -1);
		assert_int_equal(err, EIO);
		assert_true(why[0]);
		assert_null(c.db);
	}
}

/* A version-1 or version-3 file (entra-syncd of an older release): refused, and the reason says so. */
static void refuses_a_version_1_file_by_name(void **state)
{
	struct fixture *f = *state;
	struct entra_cache c;
	int err = 0;
	char why[256] = "";
	write_cache(f,
	            "DROP TABLE groups;"
	            "CREATE TABLE groups( name TEXT NOT NULL UNIQUE, gid INTEGER PRIMARY KEY, object_id TEXT,"
	            " scim_id TEXT NOT NULL);"
	            "UPDATE meta SET value = '1' WHERE key = 'schema_version'",
	            1);
	assert_int_equal(open_cache(f, &c, &err, why), -1);
	assert_int_equal(err, EIO);
	assert_non_null(strstr(why, "schema_version is not " ENTRA_CACHE_STR(ENTRA_CACHE_SCHEMA_VERSION)));
	/* A version-3 file: the same objects but passwd_by_name. */
	write_cache(f, "DROP INDEX passwd_by_name; UPDATE meta SET value = '3' WHERE key = 'schema_version'", 1);
	assert_int_equal(open_cache(f, &c, &err, why), -1);
	assert_int_equal(err, EIO);
	assert_non_null(strstr(why, "schema_version is not " ENTRA_CACHE_STR(ENTRA_CACHE_SCHEMA_VERSION)));
	/* The same tables with a view beside them: no meta is read, the schema is what is wrong. */
	write_cache(f,
	            "DROP TABLE groups; CREATE VIEW groups AS SELECT 1;"
	            "UPDATE meta SET value = '1' WHERE key = 'schema_version'",
	            1);
	assert_int_equal(open_cache(f, &c, &err, why), -1);
	assert_null(strstr(why, "schema_version"));
}

static void refuses_files_others_could_write(void **state)
{
	struct fixture *f = *state;
	static const mode_t file_modes[] = {0666, 0664, 0646};
	struct entra_cache c;
	int err = 0;
	char why[256] = "";
	for (size_t i = 0; i < sizeof(file_modes) / sizeof(file_modes[0]); i++) {
		write_cache(f, NULL, 1);
		chmod(f->path, file_modes[i]);
		assert_int_equal(open_cache(f, &c, &err, why), -1);
		assert_int_equal(err, EACCES);
		assert_non_null(strstr(why, "untrusted"));
	}
	write_cache(f, NULL, 1);
	chmod(f->dir, 0777);
	assert_int_equal(open_cache(f, &c, &err, why), -1);
	assert_int_equal(err, EACCES);
	chmod(f->dir, 0755);
	if (geteuid() == 0) { /* owned by someone who owns neither the file's directory nor is root */
		assert_int_equal(chown(f->path, 4321, 4321), 0);
		assert_int_equal(open_cache(f, &c, &err, why), -1);
		assert_int_equal(err, EACCES);
		assert_int_equal(chown(f->dir, 4321, 4321), 0); /* the daemon's own directory: trusted */
		assert_int_equal(open_cache(f, &c, &err, why), 0);
	}
}

static void refuses_what_is_not_a_whole_database(void **state)
{
	struct fixture *f = *state;
	struct entra_cache c;
	int err = 0;
	char why[256] = "";
	unlink(f->path);
	assert_int_equal(open_cache(f, &c, &err, why), -1);
	assert_int_equal(err, ENOENT);
	assert_int_equal(mkfifo(f->path, 0644), 0); /* must not block on open */
	assert_int_equal(open_cache(f, &c, &err, why), -1);
	assert_int_equal(err, EIO);
	unlink(f->path);
	write_cache(f, NULL, 1);
	assert_int_equal(truncate(f->path, 1000), 0);
	assert_int_equal(open_cache(f, &c, &err, why), -1);
	assert_int_equal(err, EIO);
}

/* Many schema objects cost SQLite's schema parse time that no work budget bounds: such a file is
 * refused from its first page, before SQLite opens it (no connection, budget untouched). */
static void refuses_a_bloated_schema_before_sqlite_reads_it(void **state)
{
	struct fixture *f = *state;
	struct entra_cache c;
	int err = 0;
	char why[256] = "";
	char sql[64 * 2000] = "BEGIN;";
	for (int i = 0; i < 2000; i++)
		snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), "CREATE VIEW v%d AS SELECT 1;", i);
	strcat(sql, "COMMIT;");
	write_cache(f, sql, 1);
	assert_int_equal(open_cache(f, &c, &err, why), -1);
	assert_int_equal(err, EIO);
	assert_non_null(strstr(why, "not one page of its " ENTRA_CACHE_STR(ENTRA_CACHE_SCHEMA_ROWS) " objects"));
	assert_null(c.db);
	assert_int_equal(c.budget, 0); /* no connection was ever made */
}

/* A symlink is never followed, whatever it points at: the file read must be the one checked. */
static void refuses_a_symlink(void **state)
{
	struct fixture *f = *state;
	struct entra_cache c;
	int err = 0;
	char why[256] = "", target[128];
	write_cache(f, NULL, 1);
	snprintf(target, sizeof(target), "%s/real.db", f->dir);
	assert_int_equal(rename(f->path, target), 0);
	assert_int_equal(symlink(target, f->path), 0);
	assert_int_equal(open_cache(f, &c, &err, why), -1);
	assert_int_equal(err, EACCES);
	assert_non_null(strstr(why, "symbolic link"));
	unlink(target);
}

/* Runs the module's member query for group 300001; returns sqlite3_step's last code and the rows. */
static int members_query(struct entra_cache *c, int *rows)
{
	sqlite3_stmt *q;
	assert_int_equal(
	    sqlite3_prepare_v2(c->db,
	                       "SELECT p.name FROM members m JOIN passwd p ON p.uid = m.uid"
	                       " WHERE m.gid = 300001 AND p.uid BETWEEN 200000 AND 2000000000 ORDER BY m.uid",
	                       -1, &q, NULL),
	    SQLITE_OK);
	int rc;
	*rows = 0;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		++*rows;
	sqlite3_finalize(q);
	return rc;
}

/* The budget leaves a group of 100k members far inside it, and stops a look-up that outruns it. */
static void budget_bounds_one_look_up(void **state)
{
	struct fixture *f = *state;
	struct entra_cache c;
	int err = 0, rows = 0;
	char why[256] = "";
	write_cache(f, NULL, 100000);
	assert_int_equal(entra_cache_open(f->path, &c, &err, why, sizeof(why)), 0);
	assert_int_equal(members_query(&c, &rows), SQLITE_DONE);
	assert_int_equal(rows, 100000);
	long used = ENTRA_CACHE_LOOKUP_BUDGET - c.budget;
	print_message("100k-member group: %ld of %ld budget steps\n", used, ENTRA_CACHE_LOOKUP_BUDGET);
	assert_true(used * 2 < ENTRA_CACHE_LOOKUP_BUDGET);
	assert_false(entra_cache_budget_spent(&c));
	c.budget = used / 4;
	assert_int_equal(members_query(&c, &rows), SQLITE_INTERRUPT);
	assert_true(entra_cache_budget_spent(&c));
	assert_true(rows < 100000);
	entra_cache_close(&c);
}

/* The packed member names of a 100k-member group: one row, far inside the budget. */
static void budget_leaves_packed_members_far_inside(void **state)
{
	struct fixture *f = *state;
	struct entra_cache c;
	int err = 0;
	char why[256] = "";
	sqlite3_stmt *q;
	write_cache(f, NULL, 100000);
	assert_int_equal(entra_cache_open(f->path, &c, &err, why, sizeof(why)), 0);
	assert_int_equal(sqlite3_prepare_v2(c.db, "SELECT member_names FROM groups WHERE gid = 300001", -1, &q, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_true(sqlite3_column_bytes(q, 0) > 100000 * 6);
	long used = ENTRA_CACHE_LOOKUP_BUDGET - c.budget;
	print_message("100k-member group, packed: %ld of %ld budget steps\n", used, ENTRA_CACHE_LOOKUP_BUDGET);
	assert_true(used * 10 < ENTRA_CACHE_LOOKUP_BUDGET);
	sqlite3_finalize(q);
	entra_cache_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(accepts_the_projects_own_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(accepts_what_entra_syncd_publishes, setup, teardown),
	    cmocka_unit_test_setup_teardown(refuses_any_other_schema, setup, teardown),
	    cmocka_unit_test_setup_teardown(refuses_files_others_could_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(refuses_what_is_not_a_whole_database, setup, teardown),
	    cmocka_unit_test_setup_teardown(budget_bounds_one_look_up, setup, teardown),
	    cmocka_unit_test_setup_teardown(budget_leaves_packed_members_far_inside, setup, teardown),
	    cmocka_unit_test_setup_teardown(refuses_a_version_1_file_by_name, setup, teardown),
	    cmocka_unit_test_setup_teardown(refuses_a_bloated_schema_before_sqlite_reads_it, setup, teardown),
	    cmocka_unit_test_setup_teardown(refuses_a_symlink, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
