/* Unit tests for sync/store/store_readonly.c: state.db as entra-sync reads it, a real SQLite
 * file that store_open created, opened read-only beside the writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sqlite_files.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sync/store/store.h"
#include "sync/store/store_readonly.h"

#include "store_fixture.h"

static void insert(struct store *st, enum scim_resource_type type, const char *name, bool active,
                   char id[STORE_ID_LEN + 1])
{
	char now[STORE_TIME_LEN];
	json_t *r = type == SCIM_USER ? json_pack("{s:s, s:b}", "userName", name, "active", active)
	                              : json_pack("{s:s}", "displayName", name);
	store_now(now);
	assert_int_equal(store_new_id(id), 0);
	assert_int_equal(store_insert(st, type, id, r, now), STORE_OK);
	json_decref(r);
}

struct seen {
	char names[4][32];
	long long numbers[4];
	size_t n;
};

static int remember(const struct store_listing_row *row, void *arg)
{
	struct seen *s = arg;
	snprintf(s->names[s->n], sizeof(s->names[s->n]), "%s", row->name);
	s->numbers[s->n++] = row->number;
	return s->n == 4 ? 7 : 0; /* a callback's non-zero stops the listing and is returned */
}

static void test_summary_listing_and_kv(void **state)
{
	struct fixture *f = *state;
	char u1[STORE_ID_LEN + 1], u2[STORE_ID_LEN + 1], g[STORE_ID_LEN + 1], why[256];
	insert(f->st, SCIM_USER, "zoe@contoso.com", true, u1);
	insert(f->st, SCIM_USER, "Adam@contoso.com", false, u2);
	insert(f->st, SCIM_GROUP, "Ops", true, g);
	const char *members[] = {u1, u2};
	bool changed;
	assert_int_equal(store_members_replace(f->st, g, members, 2, &changed), STORE_OK);
	assert_int_equal(store_kv_set(f->st, "last_request", "1700000000"), STORE_OK);

	sqlite3 *db;
	int version;
	assert_int_equal(store_readonly_open(f->path, &db, &version, why, sizeof(why)), STORE_OK);
	assert_int_equal(version, STORE_SCHEMA_VERSION);
	struct store_summary sum;
	assert_int_equal(store_readonly_summary(db, &sum), STORE_OK);
	assert_int_equal(sum.users, 2);
	assert_int_equal(sum.active_users, 1);
	assert_int_equal(sum.groups, 1);
	assert_int_equal(sum.last_request, 1700000000);

	struct seen seen = {0};
	assert_int_equal(store_readonly_list(db, SCIM_USER, remember, &seen, why, sizeof(why)), STORE_OK);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.names[0], "Adam@contoso.com"); /* ordered without regard to case */
	assert_int_equal(seen.numbers[0], 0);
	assert_int_equal(seen.numbers[1], 1);
	assert_int_equal(store_readonly_list(db, SCIM_GROUP, remember, &seen, why, sizeof(why)), STORE_OK);
	assert_string_equal(seen.names[2], "Ops");
	assert_int_equal(seen.numbers[2], 2); /* its member count */
	insert(f->st, SCIM_GROUP, "Web", true, g);
	assert_int_equal(store_readonly_list(db, SCIM_GROUP, remember, &seen, why, sizeof(why)), 7);

	char value[64];
	assert_int_equal(store_readonly_kv(db, "last_request", value, sizeof(value)), STORE_OK);
	assert_string_equal(value, "1700000000");
	assert_int_equal(store_readonly_kv(db, "nothing", value, sizeof(value)), STORE_NOT_FOUND);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE x(a)", NULL, NULL, NULL), SQLITE_READONLY);
	sqlite3_close(db);
}

static void test_open_failures_say_which(void **state)
{
	struct fixture *f = *state;
	char path[160], why[256];
	sqlite3 *db;
	int version;

	snprintf(path, sizeof(path), "%s/missing.db", f->dir);
	assert_int_equal(store_readonly_open(path, &db, &version, why, sizeof(why)), STORE_NOT_FOUND);
	assert_null(db);
	assert_string_equal(why, "No such file or directory");

	snprintf(path, sizeof(path), "%s/other.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_readonly_open(path, &db, &version, why, sizeof(why)), STORE_INVALID);
	assert_int_equal(version, 99);

	FILE *text = fopen(path, "w");
	assert_non_null(text);
	fputs("this is not an SQLite database, but long enough to have a header of one.......\n", text);
	fclose(text);
	assert_int_equal(store_readonly_open(path, &db, &version, why, sizeof(why)), STORE_INVALID);
	assert_int_equal(version, -1);
	assert_non_null(strstr(why, "not a database"));
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_summary_listing_and_kv, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_failures_say_which, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
