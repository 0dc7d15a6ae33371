/* Unit tests for uid/gid allocation (sync/rules/idalloc.c): deterministic from the object id, stored,
 * collisions resolved the same way whatever the order, never reused after delete, stable across
 * renames, users and groups in one id space, local ids avoided. Real SQLite (in memory). */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dir_fixture.h"
#include "sync/rules/accounts.h"
#include "sync/rules/idalloc.h"

#define GUID_A "6a1b2c3d-0000-4000-8000-00000000000a"

static sqlite3 *db_new(void)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(idalloc_init_schema(db), 0);
	assert_int_equal(idalloc_init_schema(db), 0); /* idempotent */
	return db;
}

static uint32_t alloc_one(sqlite3 *db, uint32_t min, uint32_t max, const char *key)
{
	struct idalloc a;
	struct idalloc_request r = {.key = key};
	assert_int_equal(idalloc_load(db, min, max, &a), 0);
	assert_int_equal(idalloc_assign(&a, db, &r, 1, NULL), 0);
	idalloc_free(&a);
	return r.id;
}

static void test_key_prefers_guid(void **state)
{
	char key[IDALLOC_KEY_MAX];
	assert_int_equal(idalloc_key('u', "6A1B2C3D-0000-4000-8000-00000000000A", "scim-1", key, sizeof(key)), 0);
	assert_string_equal(key, "u:" GUID_A);
	assert_int_equal(idalloc_key('u', "alice", "Scim-1", key, sizeof(key)), 0); /* mailNickname: SCIM id */
	assert_string_equal(key, "u:scim-1");
	assert_int_equal(idalloc_key('g', NULL, "G-1", key, sizeof(key)), 0);
	assert_string_equal(key, "g:g-1");
	assert_int_equal(idalloc_key('u', NULL, NULL, key, sizeof(key)), -1);
	assert_false(idalloc_is_guid("6a1b2c3d-0000-4000-8000-00000000000"));
	assert_false(idalloc_is_guid("6a1b2c3d_0000-4000-8000-00000000000a"));
	assert_false(idalloc_is_guid("6a1b2c3d-0000-4000-8000-00000000000a0")); /* one digit too many */
	assert_false(idalloc_is_guid("6a1b2c3d-0000-4000-8000-00000000000g"));
	assert_true(idalloc_is_guid("6A1B2C3D-0000-4000-8000-00000000000A"));
}

/* A follower adds the hub's allocations one by one: as a load would, the first id of a key stays,
 * and every id is taken, in range or not. */
static void test_add_is_what_load_gives(void **state)
{
	struct idalloc a;
	memset(&a, 0, sizeof(a));
	a.min = 200000, a.max = 300000;
	assert_int_equal(idalloc_add(&a, "u:" GUID_A, 200500), 0);
	assert_int_equal(idalloc_add(&a, "u:" GUID_A, 200600), 0);
	assert_int_equal(idalloc_add(&a, "u:old", 100), 0);
	assert_int_equal(idalloc_find(&a, "u:" GUID_A), 200500);
	assert_int_equal(idalloc_find(&a, "u:old"), 0); /* out of range: reserved, not an entry */
	assert_int_equal(a.n_entries, 1);
	assert_int_equal(a.used_count, 3); /* 200600 too: an id once stored is never handed out again */
	idalloc_free(&a);
}

static void test_deterministic_and_stored(void **state)
{
	sqlite3 *one = db_new(), *two = db_new();
	uint32_t id1 = alloc_one(one, 200000, 2000200000, "u:" GUID_A);
	uint32_t id2 = alloc_one(two, 200000, 2000200000, "u:" GUID_A);
	struct idalloc a;
	assert_int_equal(id1, id2); /* two hosts provisioned separately agree */
	assert_true(id1 >= 200000 && id1 <= 2000200000);
	assert_int_equal(idalloc_load(one, 200000, 2000200000, &a), 0);
	assert_int_equal(idalloc_candidate(&a, "u:" GUID_A, 0), id1);
	assert_int_equal(idalloc_find(&a, "u:" GUID_A), id1);
	assert_int_equal(idalloc_find(&a, "u:other"), 0);
	idalloc_free(&a);
	/* Stored: asking again returns the same id without a new row. */
	assert_int_equal(alloc_one(one, 200000, 2000200000, "u:" GUID_A), id1);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(one, "SELECT count(*) FROM unix_ids", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	sqlite3_close(one);
	sqlite3_close(two);
}

/* Two keys whose first candidates collide in a range of 16 ids. */
static void colliding_keys(char k1[32], char k2[32])
{
	struct idalloc a = {.min = 1000, .max = 1015};
	for (int i = 0; i < 1000; i++)
		for (int j = i + 1; j < 1000; j++) {
			snprintf(k1, 32, "u:key%03d", i);
			snprintf(k2, 32, "u:key%03d", j);
			if (idalloc_candidate(&a, k1, 0) == idalloc_candidate(&a, k2, 0))
				return;
		}
	fail_msg("no colliding keys found");
}

static void test_collisions_resolve_in_any_order(void **state)
{
	char k1[32], k2[32];
	colliding_keys(k1, k2);
	uint32_t ids[2][2];
	for (int order = 0; order < 2; order++) {
		sqlite3 *db = db_new();
		struct idalloc a;
		struct idalloc_request r[2] = {{.key = order ? k2 : k1}, {.key = order ? k1 : k2}};
		assert_int_equal(idalloc_load(db, 1000, 1015, &a), 0);
		assert_int_equal(idalloc_assign(&a, db, r, 2, NULL), 0);
		ids[order][0] = order ? r[1].id : r[0].id; /* id of k1 */
		ids[order][1] = order ? r[0].id : r[1].id; /* id of k2 */
		assert_int_not_equal(ids[order][0], ids[order][1]);
		/* The key that sorts first keeps its hash candidate; the other probed on. */
		assert_int_equal(ids[order][0], idalloc_candidate(&a, k1, 0));
		idalloc_free(&a);
		sqlite3_close(db);
	}
	assert_int_equal(ids[0][0], ids[1][0]);
	assert_int_equal(ids[0][1], ids[1][1]);
}

static void test_never_reused_and_shared_space(void **state)
{
	sqlite3 *db = db_new();
	struct idalloc a;
	uint32_t deleted = alloc_one(db, 1000, 1003, "u:deleted-user");
	/* The user is gone from the directory; three more objects (users and a group) fill the range. */
	struct idalloc_request r[4] = {{.key = "u:b"}, {.key = "g:c"}, {.key = "u:d"}, {.key = "g:e"}};
	assert_int_equal(idalloc_load(db, 1000, 1003, &a), 0);
	assert_int_equal(idalloc_assign(&a, db, r, 4, NULL), 0);
	uint32_t seen[4] = {deleted, 0, 0, 0};
	size_t n = 1, none = 0;
	for (size_t i = 0; i < 4; i++) {
		if (!r[i].id) {
			none++;
			continue;
		}
		for (size_t k = 0; k < n; k++)
			assert_int_not_equal(r[i].id, seen[k]);
		seen[n++] = r[i].id;
	}
	assert_int_equal(none, 1); /* range full: one object gets nothing rather than a reused id */
	idalloc_free(&a);
	sqlite3_close(db);
}

static void test_avoids_local_ids_and_read_only(void **state)
{
	sqlite3 *db = db_new();
	struct idalloc a;
	struct local_entry lu = {.name = "x", .id = 1000};
	uint32_t local_ids[] = {1000};
	struct names_local local = {.users = &lu, .n_users = 1, .ids = local_ids, .n_ids = 1};
	struct idalloc_request r[2] = {{.key = "u:one"}, {.key = "u:two"}};
	assert_int_equal(idalloc_load(db, 1000, 1002, &a), 0);
	assert_int_equal(idalloc_assign(&a, NULL, r, 2, &local), 0); /* read-only: nothing allocated */
	assert_int_equal(r[0].id, 0);
	assert_int_equal(idalloc_assign(&a, db, r, 2, &local), 0);
	assert_true(r[0].id == 1001 || r[0].id == 1002);
	assert_true(r[1].id == 1001 || r[1].id == 1002);
	assert_int_not_equal(r[0].id, r[1].id);
	idalloc_free(&a);
	sqlite3_close(db);
}

static long long count_rows(sqlite3 *db)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM unix_ids", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	long long n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* A batch whose insert fails (another writer took the id since the load) is rolled back whole:
 * no row kept, no id handed out, and the next load sees the other writer's allocation. */
static void test_failed_batch_rolls_back(void **state)
{
	sqlite3 *db = db_new();
	struct idalloc a;
	struct idalloc_request r[2] = {{.key = "u:one"}, {.key = "u:two"}};
	assert_int_equal(idalloc_load(db, 1000, 1001, &a), 0);
	assert_int_equal(sqlite3_exec(db,
	                              "INSERT INTO unix_ids(id, key, allocated_at) VALUES(1000, 'u:x', 0),"
	                              " (1001, 'u:y', 0)",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(idalloc_assign(&a, db, r, 2, NULL), -1);
	assert_int_equal(r[0].id, 0);
	assert_int_equal(r[1].id, 0);
	assert_int_equal(count_rows(db), 2);
	assert_int_equal(sqlite3_get_autocommit(db), 1); /* no transaction left open */
	idalloc_free(&a);
	assert_int_equal(idalloc_load(db, 1000, 1001, &a), 0);
	assert_int_equal(idalloc_find(&a, "u:x"), 1000);
	idalloc_free(&a);
	sqlite3_close(db);
}

static void test_range_change_keeps_old_ids_reserved(void **state)
{
	sqlite3 *db = db_new();
	uint32_t old = alloc_one(db, 1000, 1001, "u:a");
	uint32_t fresh = alloc_one(db, 1000, 1003, "u:b");
	assert_true(fresh != old);
	/* Narrowed to exclude the old id: "u:a" gets a new one, and the old stays reserved. */
	uint32_t lo = old + 1;
	uint32_t moved = alloc_one(db, lo, lo + 2, "u:a");
	assert_true(moved >= lo && moved <= lo + 2 && moved != old && moved != fresh);
	sqlite3_close(db);
}

static void test_uid_stable_across_rename(void **state)
{
	const char *policy = "[accounts]\nhost = h\n[role user]\nrank = 10\n"
	                     "[rule all]\ngroups = 7a1b2c3d-0000-4000-8000-00000000000b\nrole = user\nous = global\n";
	char err[256];
	struct entra_config cfg;
	struct directory dir = {0};
	struct names_local local = {0};
	struct idalloc ids;
	struct accounts acc;
	sqlite3 *db = db_new();
	assert_int_equal(entra_config_parse("t.conf", policy, &cfg, err, sizeof(err)), 0);
	size_t g = fx_group(&dir, "g1", "7a1b2c3d-0000-4000-8000-00000000000b", "Linux Users");
	size_t u = fx_user(&dir, "scim-u1", GUID_A, "alice@contoso.com", true);
	fx_member(&dir, u, g);
	assert_int_equal(idalloc_load(db, cfg.uid_min, cfg.uid_max, &ids), 0);
	assert_int_equal(accounts_build(&cfg, &dir, &local, &ids, db, true, &acc), 0);
	uint32_t uid = acc.users[u].uid, gid = acc.groups[g].gid;
	assert_true(uid && gid && uid != gid);
	accounts_free(&acc);
	/* Renamed user and group (Entra keeps the object ids). */
	free(dir.users[u].user_name);
	dir.users[u].user_name = strdup("alice.smith@contoso.com");
	free(dir.groups[g].display_name);
	dir.groups[g].display_name = strdup("Linux People");
	assert_int_equal(accounts_build(&cfg, &dir, &local, &ids, db, true, &acc), 0);
	assert_int_equal(acc.users[u].uid, uid);
	assert_int_equal(acc.groups[g].gid, gid);
	assert_int_equal(acc.users[u].verdict, ACCOUNT_OK);
	assert_int_equal(acc.snap.n_accounts, 1);
	assert_string_equal(acc.snap.accounts[0].name, "alice.smith");
	accounts_free(&acc);
	idalloc_free(&ids);
	directory_free(&dir);
	entra_config_free(&cfg);
	sqlite3_close(db);
}

/* With [accounts] gid_min..gid_max set, new groups get their gids there and users stay in the
 * uid range; a group allocated in the uid range before the group range was set keeps its gid. */
static void test_groups_get_their_own_range(void **state)
{
	sqlite3 *db = db_new();
	struct entra_config cfg;
	char err[256];
	uint32_t legacy = alloc_one(db, 200000, 2000200000, "g:legacy");
	assert_true(legacy >= 200000 && legacy <= 2000200000);
	assert_int_equal(entra_config_parse("t.conf", "[accounts]\ngid_min = 2001000000\ngid_max = 2147000000\n", &cfg,
	                                    err, sizeof(err)),
	                 0);
	struct idalloc a;
	struct idalloc_request r[3] = {{.key = "g:new"}, {.key = "u:" GUID_A}, {.key = "g:legacy"}};
	assert_int_equal(idalloc_load_config(db, &cfg, &a), 0);
	assert_true(idalloc_ranges_are(&a, &cfg));
	assert_int_equal(idalloc_assign(&a, db, r, 3, NULL), 0);
	assert_true(r[0].id >= 2001000000 && r[0].id <= 2147000000);
	assert_int_equal(idalloc_candidate(&a, "g:new", 0), r[0].id);
	assert_true(r[1].id >= 200000 && r[1].id <= 2000200000);
	assert_int_equal(r[2].id, legacy);
	idalloc_free(&a);
	/* Reloaded: the same answers; and a load for the shared range is not this one. */
	assert_int_equal(idalloc_load_config(db, &cfg, &a), 0);
	assert_int_equal(idalloc_find(&a, "g:new"), r[0].id);
	assert_int_equal(idalloc_find(&a, "g:legacy"), legacy);
	idalloc_free(&a);
	assert_int_equal(idalloc_load(db, 200000, 2000200000, &a), 0);
	assert_false(idalloc_ranges_are(&a, &cfg));
	assert_int_equal(idalloc_find(&a, "g:new"), 0); /* outside the shared range: a fresh id there */
	idalloc_free(&a);
	entra_config_free(&cfg);
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_key_prefers_guid),
	    cmocka_unit_test(test_add_is_what_load_gives),
	    cmocka_unit_test(test_deterministic_and_stored),
	    cmocka_unit_test(test_collisions_resolve_in_any_order),
	    cmocka_unit_test(test_never_reused_and_shared_space),
	    cmocka_unit_test(test_avoids_local_ids_and_read_only),
	    cmocka_unit_test(test_failed_batch_rolls_back),
	    cmocka_unit_test(test_range_change_keeps_old_ids_reserved),
	    cmocka_unit_test(test_uid_stable_across_rename),
	    cmocka_unit_test(test_groups_get_their_own_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
