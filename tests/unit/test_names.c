/* Unit tests for Unix names (sync/rules/names.c) and name clashes (sync/rules/accounts.c): short and upn
 * formats, group name sanitising, reserved names, /etc/passwd and /etc/group and their changes,
 * shared names. */
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

#include "common/config.h"
#include "dir_fixture.h"
#include "sync/rules/accounts.h"
#include "sync/rules/names.h"

static void test_user_short_and_upn(void **state)
{
	char out[NAMES_LONG_MAX + 1];
	assert_int_equal(names_user("Alice.Smith@Contoso.com", ENTRA_NAME_SHORT, out, sizeof(out)), 0);
	assert_string_equal(out, "alice.smith");
	assert_int_equal(names_user("Alice.Smith@Contoso.com", ENTRA_NAME_UPN, out, sizeof(out)), 0);
	assert_string_equal(out, "alice.smith@contoso.com");
	assert_int_equal(names_user("_svc-x@contoso.com", ENTRA_NAME_SHORT, out, sizeof(out)), 0);
	assert_string_equal(out, "_svc-x");
}

static void test_user_invalid(void **state)
{
	char out[NAMES_LONG_MAX + 1];
	const char *bad[] = {
	    "nodomain",  "@contoso.com", "a@",       "a@b@c",     "1alice@x.com",
	    "a+b@x.com", "a b@x.com",    "-a@x.com", "a:b@x.com", "abcdefghijabcdefghijabcdefghijabc@x.com" /* 33 */,
	    NULL};
	for (size_t i = 0; bad[i]; i++)
		assert_int_equal(names_user(bad[i], ENTRA_NAME_SHORT, out, sizeof(out)), -1);
	assert_int_equal(names_user(NULL, ENTRA_NAME_SHORT, out, sizeof(out)), -1);
	assert_int_equal(names_user("abcdefghijabcdefghijabcdefghijab@x.com", ENTRA_NAME_SHORT, out, sizeof(out)), 0);
	/* upn keeps '@' but still refuses other characters */
	assert_int_equal(names_user("a+b@x.com", ENTRA_NAME_UPN, out, sizeof(out)), -1);
	/* a too small buffer is an error, never a truncated name */
	assert_int_equal(names_user("alice@x.com", ENTRA_NAME_SHORT, out, 4), -1);
}

static void test_group_sanitising(void **state)
{
	char out[NAMES_LONG_MAX + 1];
	const char *cases[][2] = {{"Web Team", "web-team"},
	                          {"  Linux  Admins!! ", "linux-admins"},
	                          {"Ops/Dev & QA", "ops-dev-qa"},
	                          {"a--b", "a-b"},
	                          {"SRE_on.call", "sre_on.call"},
	                          {"\xc3\x9c"
	                           "n\xc3\xaf"
	                           "code Team",
	                           "n-code-team"},
	                          {"2024 Interns", "2024-interns"},
	                          {NULL, NULL}};
	for (size_t i = 0; cases[i][0]; i++) {
		assert_int_equal(names_group(cases[i][0], out, sizeof(out)), 0);
		assert_string_equal(out, cases[i][1]);
	}
	const char *bad[] = {"", "---", "!!!", "2024", ".hidden", NULL};
	for (size_t i = 0; bad[i]; i++)
		assert_int_equal(names_group(bad[i], out, sizeof(out)), -1);
	char long_name[400];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(names_group(long_name, out, sizeof(out)), -1);
}

static void test_reserved(void **state)
{
	const char *yes[] = {"root",     "daemon",          "bin",  "sys",        "adm",  "sudo",  "wheel", "nobody",
	                     "www-data", "systemd-network", "_apt", "messagebus", "sshd", "admin", "dip",   "uucp",
	                     "voice",    "landscape",       NULL};
	for (size_t i = 0; yes[i]; i++)
		assert_true(entra_name_reserved(yes[i]));
	assert_false(entra_name_reserved("alice"));
	assert_false(entra_name_reserved("rootless"));
	assert_false(entra_name_reserved("systemd"));
	assert_false(entra_name_reserved("a"));
	assert_false(entra_name_reserved("zz"));
	assert_false(entra_name_reserved("_"));
}

static char *write_temp(const char *text)
{
	char *path = strdup("/tmp/test_names_XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_local_files(void **state)
{
	char *pw = write_temp("root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1000:Bob:/home/bob:/bin/sh\n");
	char *gr = write_temp("root:x:0:\nsudo:x:27:bob\ndevs:x:1500:\n");
	struct names_local l;
	assert_int_equal(names_local_load(pw, gr, &l), 0);
	assert_true(names_local_has(&l, "bob"));
	assert_true(names_local_has(&l, "devs"));
	assert_false(names_local_has(&l, "alice"));
	assert_int_equal(names_local_gid(&l, "sudo"), 27);
	assert_int_equal(names_local_gid(&l, "bob"), -1); /* a user, not a group */
	assert_true(names_local_id_used(&l, 1500));
	assert_false(names_local_id_used(&l, 1501));
	names_local_free(&l);
	/* A missing file counts as empty. */
	assert_int_equal(names_local_load("/nonexistent/passwd", gr, &l), 0);
	assert_false(names_local_has(&l, "bob"));
	assert_true(names_local_has(&l, "sudo"));
	names_local_free(&l);
	unlink(pw), unlink(gr);
	free(pw), free(gr);
}

/* The publisher republishes when a stamp changes: an edit in place, a file renamed into place
 * (useradd, vipw), a file that appears or goes. */
static void test_local_stamp_sees_edits(void **state)
{
	char *pw = write_temp("root:x:0:0:root:/root:/bin/bash\n");
	char *gr = write_temp("root:x:0:\n");
	char fresh[64];
	struct names_local_stamp was, now;
	names_local_stamp(pw, gr, &was);
	names_local_stamp(pw, gr, &now);
	assert_null(names_local_changed(&was, &now));
	FILE *f = fopen(pw, "a");
	assert_non_null(f);
	fputs("bob:x:1500:1500::/home/bob:/bin/sh\n", f);
	fclose(f);
	names_local_stamp(pw, gr, &now);
	assert_string_equal(names_local_changed(&was, &now), pw);
	was = now;
	snprintf(fresh, sizeof(fresh), "%s.new", gr);
	FILE *g = fopen(fresh, "w"); /* the same bytes, another inode */
	assert_non_null(g);
	fputs("root:x:0:\n", g);
	fclose(g);
	assert_int_equal(rename(fresh, gr), 0);
	names_local_stamp(pw, gr, &now);
	assert_string_equal(names_local_changed(&was, &now), gr);
	was = now;
	unlink(gr);
	names_local_stamp(pw, gr, &now);
	assert_string_equal(names_local_changed(&was, &now), gr);
	was = now;
	names_local_stamp(pw, gr, &now);
	assert_null(names_local_changed(&was, &now)); /* still missing: no change */
	unlink(pw);
	free(pw), free(gr);
}

/* --- clashes, through the account builder --- */

static const char *const policy = "[accounts]\nhost = web-01\nname_format = %s\n"
                                  "[role user]\nrank = 10\n"
                                  "[rule all]\ngroups = Linux Users\nrole = user\nous = global\n";

struct clash_fx {
	struct entra_config cfg;
	struct directory dir;
	struct names_local local;
	struct idalloc ids;
	struct accounts acc;
	sqlite3 *db;
	char *pw, *gr;
};

static void clash_setup(struct clash_fx *f, const char *format)
{
	char text[512], err[256];
	memset(f, 0, sizeof(*f));
	snprintf(text, sizeof(text), policy, format);
	assert_int_equal(entra_config_parse("names.conf", text, &f->cfg, err, sizeof(err)), 0);
	f->pw = write_temp("root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1000::/home/bob:/bin/sh\n");
	f->gr = write_temp("root:x:0:\ndevs:x:1500:\n");
	assert_int_equal(names_local_load(f->pw, f->gr, &f->local), 0);
	assert_int_equal(sqlite3_open(":memory:", &f->db), SQLITE_OK);
	assert_int_equal(idalloc_init_schema(f->db), 0);
	assert_int_equal(idalloc_load(f->db, f->cfg.uid_min, f->cfg.uid_max, &f->ids), 0);
}

static void clash_build(struct clash_fx *f)
{
	assert_int_equal(accounts_build(&f->cfg, &f->dir, &f->local, &f->ids, f->db, true, &f->acc), 0);
}

static void clash_teardown(struct clash_fx *f)
{
	accounts_free(&f->acc);
	idalloc_free(&f->ids);
	names_local_free(&f->local);
	directory_free(&f->dir);
	entra_config_free(&f->cfg);
	sqlite3_close(f->db);
	unlink(f->pw), unlink(f->gr);
	free(f->pw), free(f->gr);
}

static size_t member(struct clash_fx *f, size_t g, const char *scim_id, const char *upn)
{
	size_t u = fx_user(&f->dir, scim_id, NULL, upn, true);
	fx_member(&f->dir, u, g);
	return u;
}

static void test_clashes_short(void **state)
{
	struct clash_fx f;
	clash_setup(&f, "short");
	size_t g = fx_group(&f.dir, "g1", NULL, "Linux Users");
	size_t g_web = fx_group(&f.dir, "g2", NULL, "Web Team");
	size_t g_devs = fx_group(&f.dir, "g3", NULL, "Devs");
	size_t g_sudo = fx_group(&f.dir, "g4", NULL, "SUDO");
	size_t a1 = member(&f, g, "u1", "alice@a.com");
	size_t a2 = member(&f, g, "u2", "Alice@b.com");
	size_t root = member(&f, g, "u3", "root@contoso.com");
	size_t daemon = member(&f, g, "u4", "daemon@contoso.com");
	size_t bob = member(&f, g, "u5", "bob@contoso.com");
	size_t web = member(&f, g, "u6", "web-team@contoso.com");
	size_t carol = member(&f, g, "u7", "carol@contoso.com");
	size_t devs = member(&f, g, "u8", "devs@contoso.com");
	fx_member(&f.dir, carol, g_web);
	fx_member(&f.dir, carol, g_devs);
	fx_member(&f.dir, carol, g_sudo);
	clash_build(&f);
	assert_int_equal(f.acc.users[a1].verdict, ACCOUNT_NAME_SHARED);
	assert_int_equal(f.acc.users[a2].verdict, ACCOUNT_NAME_SHARED);
	assert_int_equal(f.acc.users[root].verdict, ACCOUNT_NAME_RESERVED);
	assert_int_equal(f.acc.users[daemon].verdict, ACCOUNT_NAME_RESERVED);
	assert_int_equal(f.acc.users[bob].verdict, ACCOUNT_NAME_LOCAL);
	assert_int_equal(f.acc.users[devs].verdict, ACCOUNT_NAME_LOCAL); /* a local group's name */
	assert_int_equal(f.acc.users[web].verdict, ACCOUNT_OK);          /* a user's name wins over a group's */
	assert_int_equal(f.acc.groups[g_web].name_state, NAME_CLASH);
	assert_int_equal(f.acc.groups[g_devs].name_state, NAME_LOCAL);
	assert_int_equal(f.acc.groups[g_sudo].name_state, NAME_RESERVED);
	assert_int_equal(f.acc.users[carol].verdict, ACCOUNT_OK);
	/* carol, web-team and the group "linux-users" (both members) are published. */
	assert_int_equal(f.acc.snap.n_accounts, 2);
	assert_string_equal(f.acc.snap.accounts[f.acc.users[carol].snapshot].name, "carol");
	assert_string_equal(f.acc.snap.accounts[f.acc.users[web].snapshot].name, "web-team");
	assert_int_equal(f.acc.snap.n_groups, 1);
	assert_string_equal(f.acc.snap.groups[0].name, "linux-users");
	assert_int_equal(f.acc.snap.n_members, 2);
	clash_teardown(&f);
}

/* Any tenant user may create a security group: one that takes a user's Unix name must never
 * take the account away, whether it is empty or its members have no account here. */
static void test_group_never_takes_a_users_name(void **state)
{
	struct clash_fx f;
	clash_setup(&f, "short");
	size_t g = fx_group(&f.dir, "g1", NULL, "Linux Users");
	size_t dave = member(&f, g, "u1", "dave@contoso.com");
	size_t empty = fx_group(&f.dir, "g2", "00000000-0000-4000-8000-000000000002", "Dave!");
	size_t elsewhere = fx_group(&f.dir, "g3", NULL, "DAVE");
	size_t erin = fx_user(&f.dir, "u2", NULL, "erin@contoso.com", true); /* matches no rule */
	fx_member(&f.dir, erin, elsewhere);
	size_t own = fx_group(&f.dir, "g4", NULL, "dave"); /* dave himself is a member */
	fx_member(&f.dir, dave, own);
	clash_build(&f);
	assert_int_equal(f.acc.users[dave].verdict, ACCOUNT_OK);
	assert_string_equal(f.acc.snap.accounts[f.acc.users[dave].snapshot].name, "dave");
	assert_int_equal(f.acc.users[erin].verdict, ACCOUNT_NO_RULE);
	for (size_t k = 0; k < 3; k++) {
		size_t grp = (size_t[]){empty, elsewhere, own}[k];
		assert_int_equal(f.acc.groups[grp].name_state, NAME_CLASH);
		assert_int_equal(f.acc.groups[grp].snapshot, -1);
	}
	assert_int_equal(f.acc.snap.n_accounts, 1);
	assert_int_equal(f.acc.snap.n_groups, 1);
	assert_string_equal(f.acc.snap.groups[0].name, "linux-users");
	assert_int_equal(f.acc.n_refused, 0);
	clash_teardown(&f);
}

/* What would not be published here knocks nobody out: a user without an account here, a
 * disabled account against an active one, a group without members here. */
static void test_only_what_is_published_clashes(void **state)
{
	struct clash_fx f;
	clash_setup(&f, "short");
	size_t g = fx_group(&f.dir, "g1", NULL, "Linux Users");
	size_t carol = member(&f, g, "u1", "carol@contoso.com");
	size_t frank = fx_user(&f.dir, "u2", NULL, "frank@contoso.com", true); /* no rule: no account */
	size_t g_frank = fx_group(&f.dir, "g2", NULL, "Frank");
	fx_member(&f.dir, carol, g_frank);
	size_t alice = member(&f, g, "u3", "alice@a.com");
	size_t alice_b = fx_user(&f.dir, "u4", NULL, "alice@b.com", true); /* no rule */
	size_t ann_on = member(&f, g, "u5", "ann@a.com");
	size_t ann_off = fx_user(&f.dir, "u6", NULL, "ann@b.com", false);
	fx_member(&f.dir, ann_off, g);
	size_t old1 = fx_user(&f.dir, "u7", NULL, "old@a.com", false),
	       old2 = fx_user(&f.dir, "u8", NULL, "old@b.com", false);
	fx_member(&f.dir, old1, g), fx_member(&f.dir, old2, g);
	size_t ops_used = fx_group(&f.dir, "g3", NULL, "Ops"), ops_empty = fx_group(&f.dir, "g4", NULL, "OPS!");
	fx_member(&f.dir, carol, ops_used);
	size_t web1 = fx_group(&f.dir, "g5", NULL, "Web"), web2 = fx_group(&f.dir, "g6", NULL, "web!");
	fx_member(&f.dir, carol, web1), fx_member(&f.dir, alice, web2);
	clash_build(&f);
	assert_int_equal(f.acc.users[frank].verdict, ACCOUNT_NO_RULE);
	assert_int_equal(f.acc.groups[g_frank].name_state, NAME_OK);
	assert_true(f.acc.groups[g_frank].snapshot >= 0);
	assert_int_equal(f.acc.users[alice].verdict, ACCOUNT_OK);
	assert_int_equal(f.acc.users[alice_b].verdict, ACCOUNT_NO_RULE);
	assert_int_equal(f.acc.users[ann_on].verdict, ACCOUNT_OK);
	assert_int_equal(f.acc.users[ann_off].verdict, ACCOUNT_NAME_SHARED);
	assert_int_equal(f.acc.users[old1].verdict, ACCOUNT_NAME_SHARED); /* two of a kind: neither */
	assert_int_equal(f.acc.users[old2].verdict, ACCOUNT_NAME_SHARED);
	assert_int_equal(f.acc.groups[ops_used].name_state, NAME_OK);
	assert_true(f.acc.groups[ops_used].snapshot >= 0);
	assert_int_equal(f.acc.groups[ops_empty].snapshot, -1);
	assert_int_equal(f.acc.groups[web1].name_state, NAME_SHARED); /* two published groups: neither */
	assert_int_equal(f.acc.groups[web2].name_state, NAME_SHARED);
	assert_int_equal(f.acc.n_refused, 3);
	clash_teardown(&f);
}

static void test_upn_format_keeps_domains_apart(void **state)
{
	struct clash_fx f;
	clash_setup(&f, "upn");
	size_t g = fx_group(&f.dir, "g1", NULL, "Linux Users");
	size_t a1 = member(&f, g, "u1", "alice@a.com");
	size_t a2 = member(&f, g, "u2", "alice@b.com");
	clash_build(&f);
	assert_int_equal(f.acc.users[a1].verdict, ACCOUNT_OK);
	assert_int_equal(f.acc.users[a2].verdict, ACCOUNT_OK);
	assert_string_equal(f.acc.users[a1].name, "alice@a.com");
	assert_string_equal(f.acc.snap.accounts[f.acc.users[a1].snapshot].dir, "/home/alice@a.com");
	clash_teardown(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_user_short_and_upn),
	    cmocka_unit_test(test_user_invalid),
	    cmocka_unit_test(test_group_sanitising),
	    cmocka_unit_test(test_reserved),
	    cmocka_unit_test(test_local_files),
	    cmocka_unit_test(test_local_stamp_sees_edits),
	    cmocka_unit_test(test_clashes_short),
	    cmocka_unit_test(test_group_never_takes_a_users_name),
	    cmocka_unit_test(test_only_what_is_published_clashes),
	    cmocka_unit_test(test_upn_format_keeps_domains_apart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
