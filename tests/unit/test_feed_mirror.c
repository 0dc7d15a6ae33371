/* Unit tests for the fleet's data path without HTTP: a hub's state.db read through the feed
 * (sync/store/store_feed.c) and mirrored into a follower's (sync/store/store_mirror.c), the
 * policy round trip (sync/feed/feed_policy.c, sync/follow/follow_policy.c) and the backoff. */
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
#include <unistd.h>

#include "common/config.h"
#include "sync/feed/feed_policy.h"
#include "sync/follow/follow.h"
#include "sync/follow/follow_policy.h"
#include "sync/rules/idalloc.h"
#include "sync/store/store.h"
#include "sync/store/store_changes.h"
#include "sync/store/store_feed.h"
#include "sync/store/store_mirror.h"

struct fixture {
	char dir[64], hub_path[128], follower_path[128];
	struct store *hub, *follower;
};

static struct store *open_store(const char *path)
{
	char err[512];
	struct store *st = store_open(path, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(store_changes_install(store_db(st)), 1);
	assert_int_equal(idalloc_init_schema(store_db(st)), 0);
	return st;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-feed-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->hub_path, sizeof(f->hub_path), "%s/hub.db", f->dir);
	snprintf(f->follower_path, sizeof(f->follower_path), "%s/follower.db", f->dir);
	f->hub = open_store(f->hub_path);
	assert_int_equal(store_feed_install(store_db(f->hub)), 0);
	f->follower = open_store(f->follower_path);
	assert_int_equal(store_feed_install(store_db(f->follower)), 0); /* as sync/follow does */
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_close(f->hub);
	store_close(f->follower);
	sqlite_files_remove(f->hub_path);
	sqlite_files_remove(f->follower_path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void add_user(struct store *st, const char *upn, bool active, char id[STORE_ID_LEN + 1])
{
	char now[STORE_TIME_LEN];
	json_t *u = json_pack("{s:s, s:s, s:b, s:s}", "userName", upn, "externalId", upn, "active", active,
	                      "displayName", "Test User");
	store_now(now);
	assert_int_equal(store_new_id(id), 0);
	assert_int_equal(store_insert(st, SCIM_USER, id, u, now), STORE_OK);
	json_decref(u);
}

static void allocate(struct store *st, const char *key, long long uid)
{
	char sql[256];
	snprintf(sql, sizeof(sql), "INSERT INTO unix_ids(id, key, allocated_at) VALUES(%lld, '%s', 0)", uid, key);
	assert_int_equal(sqlite3_exec(store_db(st), sql, NULL, NULL, NULL), SQLITE_OK);
}

static long long count(struct store *st, const char *sql)
{
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	long long n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

static json_t *snapshot_of(struct store *hub, const char *hub_id)
{
	json_t *snap = NULL;
	assert_int_equal(store_feed_snapshot(store_db(hub), &snap), 0);
	json_object_set_new(snap, "hub", json_string(hub_id));
	json_object_set_new(snap, "policy", json_pack("{s:s}", "name_format", "short"));
	json_object_set_new(snap, "policy_hash", json_string("0123456789abcdef"));
	return snap;
}

static void hub_id_is_stable_and_per_database(void **state)
{
	struct fixture *f = *state;
	char a[STORE_ID_LEN + 1], b[STORE_ID_LEN + 1], c[STORE_ID_LEN + 1];
	assert_int_equal(store_feed_hub_id(store_db(f->hub), a), 0);
	assert_int_equal(store_feed_hub_id(store_db(f->hub), b), 0);
	assert_string_equal(a, b);
	assert_int_equal(store_feed_hub_id(store_db(f->follower), c), 0);
	assert_string_not_equal(a, c);
}

static void snapshot_and_changes_mirror_the_hub(void **state)
{
	struct fixture *f = *state;
	char alice[STORE_ID_LEN + 1], bob[STORE_ID_LEN + 1], hub_id[STORE_ID_LEN + 1], now[STORE_TIME_LEN],
	    group[STORE_ID_LEN + 1];
	assert_int_equal(store_feed_hub_id(store_db(f->hub), hub_id), 0);
	add_user(f->hub, "alice@contoso.com", true, alice);
	add_user(f->hub, "bob@contoso.com", true, bob);
	json_t *g = json_pack("{s:s, s:s}", "displayName", "Linux Users", "externalId", "g1");
	store_now(now);
	assert_int_equal(store_new_id(group), 0);
	assert_int_equal(store_insert(f->hub, SCIM_GROUP, group, g, now), STORE_OK);
	json_decref(g);
	assert_int_equal(store_member_set(f->hub, group, alice, true), STORE_OK);
	allocate(f->hub, "u:a", 200100);

	json_t *snap = snapshot_of(f->hub, hub_id);
	long long cursor = json_integer_value(json_object_get(snap, "cursor"));
	assert_true(cursor > 0);
	assert_int_equal(store_mirror_snapshot(f->follower, snap), 0);
	json_decref(snap);
	assert_int_equal(count(f->follower, "SELECT count(*) FROM users"), 2);
	assert_int_equal(count(f->follower, "SELECT count(*) FROM members"), 1);
	assert_int_equal(count(f->follower, "SELECT id FROM unix_ids WHERE key = 'u:a'"), 200100);
	struct mirror_state ms;
	assert_int_equal(store_mirror_state(f->follower, &ms), 0);
	assert_string_equal(ms.hub, hub_id);
	assert_int_equal(ms.cursor, cursor);
	assert_int_equal(ms.policy_cursor, cursor);

	/* bob disabled, alice deleted, a new allocation: one batch, in order */
	json_t *b = json_pack("{s:s, s:s, s:b}", "userName", "bob@contoso.com", "externalId", "bob", "active", 0);
	assert_int_equal(store_update(f->hub, SCIM_USER, bob, b, now), STORE_OK);
	json_decref(b);
	assert_int_equal(store_delete(f->hub, SCIM_USER, alice), STORE_OK);
	allocate(f->hub, "u:b", 200200);
	json_t *changes = NULL;
	long long next = 0, gen_before = 0, gen_after = 0, log_at = 0;
	bool more = true, ids = false;
	assert_int_equal(store_feed_changes(store_db(f->hub), cursor, 5000, &changes, &next, &more), 0);
	assert_false(more);
	assert_true(next > cursor);
	assert_int_equal(store_mirror_ids_generation(store_db(f->follower), &gen_before), 0);
	assert_int_equal(store_changes_position(store_db(f->follower), &log_at), 0);
	assert_int_equal(store_mirror_changes(f->follower, changes, next, &ids), 0);
	assert_true(ids);
	json_decref(changes);
	/* The allocation reaches the follower's publisher through its change log, alone: the
	 * generation that makes it reload every allocation moves only with a snapshot. */
	struct store_changes logged;
	assert_int_equal(store_changes_read(store_db(f->follower), log_at, 1000, &logged), 0);
	assert_int_equal(logged.n_ids, 1);
	assert_string_equal(logged.ids[0].key, "u:b");
	assert_int_equal(logged.ids[0].id, 200200);
	store_changes_free(&logged);
	assert_int_equal(store_mirror_ids_generation(store_db(f->follower), &gen_after), 0);
	assert_int_equal(gen_after, gen_before);
	assert_int_equal(count(f->follower, "SELECT count(*) FROM users"), 1);
	assert_int_equal(count(f->follower, "SELECT active FROM users"), 0);
	assert_int_equal(count(f->follower, "SELECT count(*) FROM members"), 0);
	assert_int_equal(count(f->follower, "SELECT id FROM unix_ids WHERE key = 'u:b'"), 200200);
	assert_int_equal(store_mirror_state(f->follower, &ms), 0);
	assert_int_equal(ms.cursor, next);

	/* nothing after the end: empty, cursor unchanged; a limit leaves more */
	assert_int_equal(store_feed_changes(store_db(f->hub), next, 5000, &changes, &cursor, &more), 0);
	assert_int_equal(json_array_size(changes), 0);
	assert_int_equal(cursor, next);
	json_decref(changes);
	assert_int_equal(store_feed_changes(store_db(f->hub), 0, 1, &changes, &cursor, &more), 0);
	assert_true(more);
	assert_int_equal(cursor, 1);
	json_decref(changes);
}

static void gone_cursors_ask_for_a_snapshot(void **state)
{
	struct fixture *f = *state;
	char a[STORE_ID_LEN + 1], b[STORE_ID_LEN + 1];
	json_t *changes = NULL;
	long long cursor = 0, end = 0;
	bool more;
	add_user(f->hub, "a@contoso.com", true, a);
	add_user(f->hub, "b@contoso.com", true, b);
	assert_int_equal(store_feed_position(store_db(f->hub), &end), 0);
	assert_int_equal(store_feed_changes(store_db(f->hub), end + 1, 10, &changes, &cursor, &more), 1);
	assert_int_equal(store_changes_prune(store_db(f->hub), end - 1, 0, true, 5000), 0);
	assert_int_equal(store_feed_changes(store_db(f->hub), 0, 10, &changes, &cursor, &more), 1);
	assert_int_equal(store_feed_changes(store_db(f->hub), end - 1, 10, &changes, &cursor, &more), 0);
	assert_int_equal(cursor, end);
	json_decref(changes);
}

static void policy_round_trip(void **state)
{
	(void)state;
	const char *hub_text =
	    "[accounts]\nname_format = upn\nuid_min = 300000\nuid_max = 400000\nhome = /srv/%u\n"
	    "[role admin]\nrank = 30\ngroups = sudo, adm\n[role user]\nrank = 1\nlogin = no\n"
	    "[ou db]\nhosts = db-*\n[rule a]\nmatch = all\ngroups = G1, G2\nrole = admin\nous = db\n";
	struct entra_config hub, follower;
	char err[512], h1[FEED_POLICY_HASH_LEN + 1], h2[FEED_POLICY_HASH_LEN + 1];
	assert_int_equal(entra_config_parse("hub.conf", hub_text, &hub, err, sizeof(err)), 0);
	json_t *policy = feed_policy_json(&hub);
	assert_non_null(policy);
	assert_int_equal(
	    entra_config_parse("f.conf", "[follow]\nhub = https://h\ntoken_file = /t\n", &follower, err, sizeof(err)),
	    0);
	assert_int_equal(follow_policy_apply(policy, &follower, err, sizeof(err)), 0);
	assert_int_equal(follower.name_format, ENTRA_NAME_UPN);
	assert_int_equal(follower.uid_min, 300000);
	assert_string_equal(follower.home, "/srv/%u");
	assert_int_equal(follower.n_roles, 2);
	assert_int_equal(follower.roles[0].groups.n, 2);
	assert_false(follower.roles[1].login);
	assert_int_equal(follower.n_rules, 1);
	assert_int_equal(follower.rules[0].match, ENTRA_MATCH_ALL);
	json_t *again = feed_policy_json(&follower);
	assert_int_equal(feed_policy_hash(policy, h1), 0);
	assert_int_equal(feed_policy_hash(again, h2), 0);
	assert_string_equal(h1, h2);
	json_decref(again);
	json_object_set_new(policy, "uid_min", json_integer(5)); /* below 1000: refused */
	entra_config_free(&follower);
	assert_int_equal(
	    entra_config_parse("f.conf", "[follow]\nhub = https://h\ntoken_file = /t\n", &follower, err, sizeof(err)),
	    0);
	assert_int_equal(follow_policy_apply(policy, &follower, err, sizeof(err)), -1);
	json_decref(policy);
	entra_config_free(&follower);
	entra_config_free(&hub);
}

/* The group range travels with the policy only when the hub sets it: a hub without one keeps the
 * policy hash it had, and a follower of it keeps groups in the uid range. */
static void policy_carries_the_group_range(void **state)
{
	(void)state;
	struct entra_config hub, follower;
	char err[512];
	const char *follow_text = "[follow]\nhub = https://h\ntoken_file = /t\n";
	assert_int_equal(
	    entra_config_parse("hub.conf", "[accounts]\nuid_min = 300000\nuid_max = 400000\n", &hub, err, sizeof(err)),
	    0);
	json_t *policy = feed_policy_json(&hub);
	assert_null(json_object_get(policy, "gid_min"));
	assert_int_equal(entra_config_parse("f.conf", follow_text, &follower, err, sizeof(err)), 0);
	assert_int_equal(follow_policy_apply(policy, &follower, err, sizeof(err)), 0);
	assert_int_equal(follower.gid_min, 0);
	json_decref(policy);
	entra_config_free(&hub);
	assert_int_equal(entra_config_parse("hub.conf",
	                                    "[accounts]\nuid_min = 300000\nuid_max = 400000\ngid_min = 500000\n"
	                                    "gid_max = 600000\n",
	                                    &hub, err, sizeof(err)),
	                 0);
	policy = feed_policy_json(&hub);
	entra_config_free(&follower);
	assert_int_equal(entra_config_parse("f.conf", follow_text, &follower, err, sizeof(err)), 0);
	assert_int_equal(follow_policy_apply(policy, &follower, err, sizeof(err)), 0);
	assert_int_equal(follower.gid_min, 500000);
	assert_int_equal(follower.gid_max, 600000);
	/* A range that overlaps the uids' is refused like any invalid policy. */
	json_object_set_new(policy, "gid_min", json_integer(27)); /* below 1000: a system group's */
	entra_config_free(&follower);
	assert_int_equal(entra_config_parse("f.conf", follow_text, &follower, err, sizeof(err)), 0);
	assert_int_equal(follow_policy_apply(policy, &follower, err, sizeof(err)), -1);
	json_object_set_new(policy, "gid_min", json_integer(350000));
	entra_config_free(&follower);
	assert_int_equal(entra_config_parse("f.conf", follow_text, &follower, err, sizeof(err)), 0);
	assert_int_equal(follow_policy_apply(policy, &follower, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "overlaps"));
	json_decref(policy);
	entra_config_free(&follower);
	entra_config_free(&hub);
}

static void backoff_is_full_jitter_and_capped(void **state)
{
	(void)state;
	assert_int_equal(follow_backoff_ms(1, 0), 0);
	assert_int_equal(follow_backoff_ms(1, 0xffffffffu), FOLLOW_BACKOFF_BASE_MS);
	assert_int_equal(follow_backoff_ms(2, 0xffffffffu), 2 * FOLLOW_BACKOFF_BASE_MS);
	assert_int_equal(follow_backoff_ms(40, 0xffffffffu), FOLLOW_BACKOFF_CAP_MS);
	assert_true(follow_backoff_ms(40, 0x80000000u) <= FOLLOW_BACKOFF_CAP_MS / 2 + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(hub_id_is_stable_and_per_database, setup, teardown),
	    cmocka_unit_test_setup_teardown(snapshot_and_changes_mirror_the_hub, setup, teardown),
	    cmocka_unit_test_setup_teardown(gone_cursors_ask_for_a_snapshot, setup, teardown),
	    cmocka_unit_test(policy_round_trip),
	    cmocka_unit_test(policy_carries_the_group_range),
	    cmocka_unit_test(backoff_is_full_jitter_and_capped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
