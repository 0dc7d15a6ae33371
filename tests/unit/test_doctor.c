/* Unit tests for the parsers behind entra-sync doctor, and its identity check on a cache.db. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cache_schema.h"
#include "sqlite_files.h"
#include "sync/doctor/doctor.h"
#include "sync/publish/cache_writer.h"

static void sshd_seconds_accepts_sshd_time_formats(void **state)
{
	(void)state;
	assert_int_equal(doctor_sshd_seconds("120"), 120);
	assert_int_equal(doctor_sshd_seconds("2m"), 120);
	assert_int_equal(doctor_sshd_seconds("1h30m"), 5400);
	assert_int_equal(doctor_sshd_seconds("1w"), 604800);
	assert_int_equal(doctor_sshd_seconds("0"), 0);
}

static void sshd_seconds_rejects_garbage(void **state)
{
	(void)state;
	assert_int_equal(doctor_sshd_seconds(""), -1);
	assert_int_equal(doctor_sshd_seconds("2x"), -1);
	assert_int_equal(doctor_sshd_seconds("-5"), -1);
	assert_int_equal(doctor_sshd_seconds("m"), -1);
	assert_int_equal(doctor_sshd_seconds("99999999999999999999"), -1);
	assert_int_equal(doctor_sshd_seconds("999999999w"), -1);
}

static void nsswitch_finds_sources(void **state)
{
	(void)state;
	const char *text = "# passwd: scim\n"
	                   "passwd:   files systemd scim\n"
	                   "group:    files [SUCCESS=merge] scim # trailing comment\n"
	                   "shadow:   files\n"
	                   "  hosts: files scimx dns\n";
	assert_int_equal(doctor_nsswitch_has(text, "passwd", "scim"), 1);
	assert_int_equal(doctor_nsswitch_has(text, "group", "scim"), 1);
	assert_int_equal(doctor_nsswitch_has(text, "shadow", "scim"), 0);
	assert_int_equal(doctor_nsswitch_has(text, "hosts", "scim"), 0);
	assert_int_equal(doctor_nsswitch_has(text, "netgroup", "scim"), -1);
}

static void nsswitch_ignores_actions_comments_and_prefixes(void **state)
{
	(void)state;
	assert_int_equal(doctor_nsswitch_has("passwd: files [scim=return]\n", "passwd", "scim"), 0);
	assert_int_equal(doctor_nsswitch_has("passwd: files #scim\n", "passwd", "scim"), 0);
	assert_int_equal(doctor_nsswitch_has("passwdx: scim\n", "passwd", "scim"), -1);
	assert_int_equal(doctor_nsswitch_has("passwd:scim", "passwd", "scim"), 1);
	assert_int_equal(doctor_nsswitch_has("", "passwd", "scim"), -1);
}

/* --- identity: accounts without an Entra object id --- */

struct identity_fx {
	char dir[64], cache[128];
	struct entra_config cfg;
	struct doctor d;
};

static void identity_setup(struct identity_fx *f)
{
	char text[256], err[256];
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-doctor-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->cache, sizeof(f->cache), "%s/cache.db", f->dir);
	snprintf(text, sizeof(text), "[accounts]\ncache_db = %s\n", f->cache);
	assert_int_equal(entra_config_parse("doctor.conf", text, &f->cfg, err, sizeof(err)), 0);
	f->d.cfg = &f->cfg;
	assert_non_null(f->d.results = json_array());
}

static void identity_teardown(struct identity_fx *f)
{
	json_decref(f->d.results);
	entra_config_free(&f->cfg);
	sqlite_files_remove(f->cache);
	rmdir(f->dir);
}

/* Publishes N accounts user0..; those with I < WITHOUT have no object id. */
static void identity_cache(struct identity_fx *f, size_t n, size_t without)
{
	struct cache_account acc[8];
	char names[8][16], dirs[8][32];
	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "user%zu", i);
		snprintf(dirs[i], sizeof(dirs[i]), "/home/user%zu", i);
		acc[i] = (struct cache_account){names[i],
		                                (uint32_t)(200000 + i),
		                                names[i],
		                                dirs[i],
		                                "/bin/sh",
		                                names[i],
		                                i < without ? NULL : "3b0c6a6e-1111-4c1d-9d0e-000000000001",
		                                names[i],
		                                "user",
		                                1,
		                                ENTRA_EXPIRE_NEVER};
	}
	struct cache_snapshot snap = {
	    .accounts = acc, .n_accounts = n, .host = "web-01", .uid_min = 200000, .uid_max = 300000};
	assert_int_equal(cache_write(f->cache, &snap, 1), 0);
}

static json_t *identity_row(struct identity_fx *f)
{
	doctor_check_identity(&f->d);
	assert_int_equal(json_array_size(f->d.results), 1);
	json_t *row = json_array_get(f->d.results, 0);
	assert_string_equal(json_string_value(json_object_get(row, "check")), "identity");
	return row;
}

static void identity_warns_with_the_mapping_fix(void **state)
{
	struct identity_fx f;
	identity_setup(&f);
	identity_cache(&f, 8, 7);
	json_t *row = identity_row(&f);
	const char *msg = json_string_value(json_object_get(row, "message"));
	assert_string_equal(json_string_value(json_object_get(row, "status")), "warn");
	assert_non_null(
	    strstr(msg, "7 of 8 account(s) have no Entra object id (user0, user1, user2, user3, user4, ...)"));
	assert_non_null(strstr(msg, "allow_upn_binding"));
	assert_non_null(strstr(json_string_value(json_object_get(row, "fix")), "map objectId to externalId"));
	assert_int_equal(f.d.warnings, 1);
	assert_int_equal(f.d.failures, 0);
	identity_teardown(&f);
}

static void identity_ok_when_every_account_has_one(void **state)
{
	struct identity_fx f;
	identity_setup(&f);
	identity_cache(&f, 2, 0);
	json_t *row = identity_row(&f);
	assert_string_equal(json_string_value(json_object_get(row, "status")), "ok");
	assert_null(json_object_get(row, "fix"));
	assert_int_equal(f.d.warnings, 0);
	identity_teardown(&f);
}

static void identity_skips_without_a_cache(void **state)
{
	struct identity_fx f;
	identity_setup(&f);
	json_t *row = identity_row(&f);
	assert_string_equal(json_string_value(json_object_get(row, "status")), "skip");
	assert_false(access(f.cache, F_OK) == 0); /* nothing created */
	identity_teardown(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sshd_seconds_accepts_sshd_time_formats),
	    cmocka_unit_test(sshd_seconds_rejects_garbage),
	    cmocka_unit_test(nsswitch_finds_sources),
	    cmocka_unit_test(nsswitch_ignores_actions_comments_and_prefixes),
	    cmocka_unit_test(identity_warns_with_the_mapping_fix),
	    cmocka_unit_test(identity_ok_when_every_account_has_one),
	    cmocka_unit_test(identity_skips_without_a_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
