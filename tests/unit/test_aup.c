/* Unit tests for the AUP evaluation (sync/rules/aup.c) and the account verdicts built on it
 * (sync/rules/accounts.c): any/all, lowest rank wins, OU union and globs, ambiguous display names
 * fail closed, matching by object id and SCIM id, disabled users, role groups. */
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

#include "common/cache_schema.h"
#include "common/config.h"
#include "dir_fixture.h"
#include "sync/rules/accounts.h"
#include "sync/rules/aup.h"

#define GUID_ADMINS "0f5e2b8c-1111-4a2b-9c3d-aaaaaaaaaaaa"
#define GUID_USERS  "0f5e2b8c-2222-4a2b-9c3d-bbbbbbbbbbbb"

static const char *const policy =
    "[accounts]\nhost = web-01\nuid_min = 200000\nuid_max = 300000\n"
    "[role admin]\nrank = 30\ngroups = sudo, nosuchgroup\n"
    "[role user]\nrank = 10\n"
    "[role guest]\nrank = 5\nlogin = no\n"
    "[ou web]\nhosts = web-*, api-*\n"
    "[ou db]\nhosts = DB-*\n"
    "[rule everyone]\nmatch = any\ngroups = Linux Users, Contractors\nrole = user\nous = web\n"
    "[rule admins]\nmatch = any\ngroups = " GUID_ADMINS "\nrole = admin\nous = global\n"
    "[rule both]\nmatch = all\ngroups = Linux Users, scim-g-sre\nrole = admin\nous = db\n"
    "[rule dup]\nmatch = any\ngroups = Dup Name\nrole = guest\nous = global\n";

struct fx {
	struct entra_config cfg;
	struct directory dir;
	struct aup_plan plan;
	bool matched[8];
	const char *ous[16];
	struct aup_user res;
	size_t g_users, g_admins, g_sre, g_contractors, g_dup1, g_dup2;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];
	assert_int_equal(entra_config_parse("aup.conf", policy, &f->cfg, err, sizeof(err)), 0);
	f->g_users = fx_group(&f->dir, "scim-g-users", GUID_USERS, "Linux Users");
	f->g_admins = fx_group(&f->dir, "scim-g-admins", GUID_ADMINS, "Renamed Admins");
	f->g_sre = fx_group(&f->dir, "scim-g-sre", "sre", "SRE");
	f->g_contractors = fx_group(&f->dir, "scim-g-contr", NULL, "contractors");
	f->g_dup1 = fx_group(&f->dir, "scim-g-dup1", NULL, "Dup Name");
	f->g_dup2 = fx_group(&f->dir, "scim-g-dup2", NULL, "dup name");
	f->res.matched = f->matched;
	f->res.ous = f->ous;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	aup_plan_free(&f->plan);
	directory_free(&f->dir);
	entra_config_free(&f->cfg);
	free(f);
	return 0;
}

static size_t user_in(struct fx *f, const char *upn, size_t n, const size_t *groups)
{
	size_t u = fx_user(&f->dir, upn, NULL, upn, true);
	for (size_t i = 0; i < n; i++)
		fx_member(&f->dir, u, groups[i]);
	return u;
}

static void evaluate(struct fx *f, size_t u)
{
	aup_plan_free(&f->plan);
	assert_int_equal(aup_prepare(&f->cfg, &f->dir, true, &f->plan), 0);
	assert_true(aup_max_ous(&f->plan) <= 16);
	aup_evaluate(&f->plan, u, &f->res);
}

static void test_any_matches_one_group(void **state)
{
	struct fx *f = *state;
	size_t u = user_in(f, "a@x.com", 1, (size_t[]){f->g_contractors}); /* case-insensitive name */
	evaluate(f, u);
	assert_true(f->matched[0]);
	assert_false(f->matched[2]);
	assert_string_equal(f->res.role->name, "user");
	assert_string_equal(f->res.covering_ou, "web");
}

static void test_all_needs_every_group(void **state)
{
	struct fx *f = *state;
	size_t one = user_in(f, "one@x.com", 1, (size_t[]){f->g_sre});
	size_t both = user_in(f, "both@x.com", 2, (size_t[]){f->g_users, f->g_sre});
	evaluate(f, one);
	assert_false(f->matched[2]);
	assert_null(f->res.role);
	assert_int_equal(f->res.n_ous, 0);
	evaluate(f, both);
	assert_true(f->matched[2]); /* "scim-g-sre" names the group by SCIM id */
	assert_true(f->matched[0]);
}

static void test_lowest_rank_wins_and_ous_union(void **state)
{
	struct fx *f = *state;
	size_t u = user_in(f, "b@x.com", 3, (size_t[]){f->g_users, f->g_sre, f->g_admins});
	evaluate(f, u);
	assert_true(f->matched[0] && f->matched[1] && f->matched[2]);
	assert_string_equal(f->res.role->name, "user"); /* rank 10 < 30 */
	assert_int_equal(f->res.n_ous, 3);              /* web, global, db */
	assert_string_equal(f->ous[0], "web");
	assert_string_equal(f->ous[1], "global");
	assert_string_equal(f->ous[2], "db");
}

static void test_match_by_object_id_survives_rename(void **state)
{
	struct fx *f = *state;
	size_t u = user_in(f, "c@x.com", 1, (size_t[]){f->g_admins});
	evaluate(f, u); /* the rule names the GUID; the group is now called "Renamed Admins" */
	assert_true(f->matched[1]);
	assert_string_equal(f->res.role->name, "admin");
	assert_string_equal(f->res.covering_ou, "global");
	/* The object id matches case-insensitively. */
	free(f->dir.groups[f->g_admins].external_id);
	f->dir.groups[f->g_admins].external_id = strdup("0F5E2B8C-1111-4A2B-9C3D-AAAAAAAAAAAA");
	evaluate(f, u);
	assert_true(f->matched[1]);
}

static void test_ambiguous_display_name_matches_none(void **state)
{
	struct fx *f = *state;
	size_t u = user_in(f, "d@x.com", 1, (size_t[]){f->g_dup1});
	evaluate(f, u);
	assert_false(f->matched[3]);
	assert_null(f->res.role);
	assert_int_equal(f->plan.rules[3].refs[0].n_same_name, 2);
	assert_int_equal(f->plan.rules[3].refs[0].n_groups, 0);
	/* Once the look-alike is gone, the name is unique again and matches. */
	free(f->dir.groups[f->g_dup2].display_name);
	f->dir.groups[f->g_dup2].display_name = strdup("Other");
	evaluate(f, u);
	assert_true(f->matched[3]);
	assert_string_equal(f->res.role->name, "guest");
}

static void test_ou_globs(void **state)
{
	struct fx *f = *state;
	assert_true(aup_ou_covers(&f->cfg, "web", "web-01"));
	assert_true(aup_ou_covers(&f->cfg, "web", "API-7"));
	assert_false(aup_ou_covers(&f->cfg, "web", "db-01"));
	assert_true(aup_ou_covers(&f->cfg, "db", "db-01")); /* glob "DB-*" is case-insensitive */
	assert_true(aup_ou_covers(&f->cfg, "global", "anything"));
	assert_false(aup_ou_covers(&f->cfg, "nosuch", "web-01"));
	size_t u = user_in(f, "e@x.com", 1, (size_t[]){f->g_users});
	free(f->cfg.host);
	f->cfg.host = strdup("db-01");
	evaluate(f, u);
	assert_string_equal(f->res.role->name, "user");
	assert_null(f->res.covering_ou); /* rule everyone only covers web */
}

static void test_no_rule_no_account(void **state)
{
	struct fx *f = *state;
	size_t u = user_in(f, "f@x.com", 0, NULL);
	evaluate(f, u);
	assert_null(f->res.role);
	for (size_t i = 0; i < f->plan.n_rules; i++)
		assert_false(f->matched[i]);
}

/* --- accounts: verdicts and snapshot rows --- */

static char *write_temp(const char *text)
{
	char *path = strdup("/tmp/test_aup_XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_accounts_snapshot(void **state)
{
	struct fx *f = *state;
	char *pw = write_temp("root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1000::/home/bob:/bin/sh\n");
	char *gr = write_temp("root:x:0:\nsudo:x:27:bob\n");
	struct names_local local;
	struct idalloc ids;
	struct accounts acc;
	sqlite3 *db;
	assert_int_equal(names_local_load(pw, gr, &local), 0);
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(idalloc_init_schema(db), 0);
	assert_int_equal(idalloc_load(db, f->cfg.uid_min, f->cfg.uid_max, &ids), 0);
	size_t admin = user_in(f, "Admin.One@x.com", 1, (size_t[]){f->g_admins});
	size_t off = fx_user(&f->dir, "scim-off", NULL, "off@x.com", false);
	fx_member(&f->dir, off, f->g_users);
	size_t bob = user_in(f, "bob@x.com", 1, (size_t[]){f->g_users});
	size_t nobody = user_in(f, "nobody2@x.com", 0, NULL);
	assert_int_equal(accounts_build(&f->cfg, &f->dir, &local, &ids, db, true, &acc), 0);
	assert_int_equal(acc.users[admin].verdict, ACCOUNT_OK);
	assert_int_equal(acc.users[off].verdict, ACCOUNT_OK);
	assert_int_equal(acc.users[bob].verdict, ACCOUNT_NAME_LOCAL);
	assert_int_equal(acc.users[nobody].verdict, ACCOUNT_NO_RULE);
	assert_int_equal(acc.snap.n_accounts, 2);
	const struct cache_account *a0 = &acc.snap.accounts[acc.users[admin].snapshot];
	const struct cache_account *a1 = &acc.snap.accounts[acc.users[off].snapshot];
	assert_string_equal(a0->name, "admin.one");
	assert_string_equal(a0->dir, "/home/admin.one");
	assert_string_equal(a0->role, "admin");
	assert_int_equal(a0->expire, ENTRA_EXPIRE_NEVER);
	assert_int_equal(a1->expire, ENTRA_EXPIRE_DISABLED);
	assert_true(a0->uid >= 200000 && a0->uid <= 300000 && a0->uid != a1->uid);
	/* Only the active admin gets sudo; the missing local group is skipped. */
	assert_int_equal(acc.snap.n_local_members, 1);
	assert_int_equal(acc.snap.local_members[0].uid, a0->uid);
	assert_int_equal(acc.snap.local_members[0].gid, 27);
	/* Groups with an account as member: renamed-admins and linux-users. bob's membership is dropped. */
	assert_int_equal(acc.snap.n_groups, 2);
	assert_int_equal(acc.snap.n_members, 2);
	assert_int_equal(acc.groups[f->g_sre].snapshot, -1);
	assert_string_equal(acc.snap.groups[acc.groups[f->g_admins].snapshot].name, "renamed-admins");
	assert_string_equal(acc.snap.groups[acc.groups[f->g_admins].snapshot].object_id, GUID_ADMINS);
	accounts_free(&acc);
	idalloc_free(&ids);
	names_local_free(&local);
	sqlite3_close(db);
	unlink(pw), unlink(gr);
	free(pw), free(gr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_any_matches_one_group, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_all_needs_every_group, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lowest_rank_wins_and_ous_union, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_match_by_object_id_survives_rename, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ambiguous_display_name_matches_none, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ou_globs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_rule_no_account, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_accounts_snapshot, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
