/* Unit tests for the entra.conf parser: defaults, every section, and bad input. */
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

static const char *const full_config = "; example from the design\n"
                                       "[entra]\n"
                                       "tenant_id = 11111111-2222-3333-4444-555555555555\n"
                                       "client_id = aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\n"
                                       "authority = https://login.microsoftonline.com   ; discovery base\n"
                                       "ca_file   = /path/ca.pem\n"
                                       "proxy     = http://user:pw@proxy.example:3128\n"
                                       "\n"
                                       "[accounts]\n"
                                       "cache_db    = /var/lib/entra/cache.db\n"
                                       "name_format = upn\n"
                                       "uid_min = 300000\n"
                                       "uid_max = 400000\n"
                                       "home  = /home/%u\n"
                                       "shell = /bin/zsh\n"
                                       "host  = web-01\n"
                                       "end_sessions = yes\n"
                                       "[pam]\n"
                                       "login_timeout = 90\n"
                                       "qr = no\n"
                                       "[sync]\n"
                                       "listen     = 127.0.0.1:9443\n"
                                       "state_db   = /var/lib/entra/state.db\n"
                                       "token_file = /etc/entra/scim.tokens\n"
                                       "max_body = 2048\n"
                                       "[role admin]\n"
                                       "rank   = 30\n"
                                       "groups = sudo, adm\n"
                                       "[role user]\n"
                                       "rank = 10\n"
                                       "# a comment\n"
                                       "[ou web]\n"
                                       "hosts = web-*, api-*\n"
                                       "[rule admins]\n"
                                       "match  = all\n"
                                       "groups = Linux Admins, SRE\n"
                                       "role   = admin\n"
                                       "ous    = global, web\n";

static void parses_every_section(void **state)
{
	struct entra_config c;
	char err[512] = "";
	assert_int_equal(entra_config_parse("t.conf", full_config, &c, err, sizeof(err)), 0);
	assert_string_equal(c.tenant_id, "11111111-2222-3333-4444-555555555555");
	assert_string_equal(c.authority, "https://login.microsoftonline.com");
	assert_string_equal(c.ca_file, "/path/ca.pem");
	assert_string_equal(c.proxy, "http://user:pw@proxy.example:3128");
	assert_int_equal(c.name_format, ENTRA_NAME_UPN);
	assert_int_equal(c.uid_min, 300000);
	assert_int_equal(c.uid_max, 400000);
	assert_string_equal(c.shell, "/bin/zsh");
	assert_string_equal(c.host, "web-01");
	assert_true(c.end_sessions);
	assert_int_equal(c.login_timeout, 90);
	assert_int_equal(c.qr, 0);
	assert_int_equal(c.max_body, 2048);
	assert_int_equal(c.n_roles, 2);
	const struct entra_role *admin = entra_config_role(&c, "admin");
	assert_non_null(admin);
	assert_int_equal(admin->rank, 30);
	assert_int_equal(admin->groups.n, 2);
	assert_string_equal(admin->groups.items[1], "adm");
	assert_true(admin->login);
	assert_int_equal(c.n_ous, 1);
	assert_string_equal(entra_config_ou(&c, "web")->hosts.items[1], "api-*");
	assert_int_equal(c.n_rules, 1);
	assert_int_equal(c.rules[0].match, ENTRA_MATCH_ALL);
	assert_string_equal(c.rules[0].groups.items[0], "Linux Admins");
	assert_string_equal(c.rules[0].groups.items[1], "SRE");
	assert_string_equal(c.rules[0].ous.items[1], "web");
	entra_config_free(&c);
}

static void empty_file_gives_defaults(void **state)
{
	struct entra_config c;
	char err[512] = "", host[256] = "";
	assert_int_equal(entra_config_parse("empty.conf", "", &c, err, sizeof(err)), 0);
	assert_string_equal(c.cache_db, "/var/lib/entra/cache.db");
	assert_string_equal(c.listen, "127.0.0.1:9443");
	assert_string_equal(c.scope, "openid profile");
	assert_int_equal(c.login_timeout, 110);
	assert_int_equal(c.uid_min, 200000);
	assert_int_equal(c.uid_max, 2000200000u);
	assert_int_equal(c.gid_min, 0); /* unset: groups share the uid range (files from before keep working) */
	assert_int_equal(c.gid_max, 0);
	assert_int_equal(c.max_body, 1024 * 1024);
	assert_int_equal(c.qr, -1);
	assert_null(c.proxy);         /* no proxy: direct connections, the environment's variables ignored */
	assert_false(c.end_sessions); /* opt-in: nobody's session ends unless the admin asks */
	gethostname(host, sizeof(host) - 1);
	assert_string_equal(c.host, host);
	entra_config_free(&c);
}

/* Each bad input must fail with a message naming file, line and (where there is one) key. */
static void expect_error(const char *text, const char *must_contain)
{
	struct entra_config c;
	char err[512] = "";
	assert_int_equal(entra_config_parse("bad.conf", text, &c, err, sizeof(err)), -1);
	if (!strstr(err, must_contain))
		fail_msg("error '%s' does not contain '%s'", err, must_contain);
	assert_null(c.roles);
	assert_null(c.cache_db);
}

static void rejects_bad_input(void **state)
{
	expect_error("[accounts]\nfoo = 1\n", "bad.conf:2: [accounts] foo: unknown key");
	expect_error("[nope]\n", "bad.conf:1: unknown section [nope]");
	expect_error("tenant_id = x\n", "key outside any section");
	expect_error("[accounts]\nuid_min = abc\n", "bad.conf:2: [accounts] uid_min: 'abc' is not a whole number");
	expect_error("[accounts]\nuid_min = 5\n", "outside");
	expect_error("[accounts]\nuid_min = 500000\nuid_max = 400000\n", "uid_min (500000) must be below uid_max");
	expect_error("[accounts]\ngid_min = 3000000000\n", "gid_min and gid_max go together");
	expect_error("[accounts]\ngid_max = 3000000000\n", "gid_min and gid_max go together");
	expect_error("[accounts]\ngid_min = 3000000009\ngid_max = 3000000001\n", "gid_min (3000000009) must be below");
	expect_error("[accounts]\ngid_min = 100000\ngid_max = 200000\n", "overlaps uid_min..uid_max");
	expect_error("[accounts]\nuid_max = 300000\ngid_min = 300000\ngid_max = 400000\n", "overlaps");
	expect_error("[accounts]\nname_format = long\n", "is not short or upn");
	expect_error("[accounts]\nend_sessions = maybe\n", "bad.conf:2: [accounts] end_sessions");
	expect_error("[accounts]\nshell = /bin/sh\nshell = /bin/bash\n", "bad.conf:3: [accounts] shell: set twice");
	expect_error("[accounts]\nshell =\n", "empty value");
	expect_error("[accounts\n", "malformed section header");
	expect_error("[accounts]\njust words\n", "bad.conf:2: expected 'key = value'");
	expect_error("[role]\n", "[role] needs a name");
	expect_error("[role a]\nrank=1\n[role a]\n", "bad.conf:3: [role a] is defined twice");
	expect_error("[role a]\nlogin = maybe\n", "'maybe' is not yes or no");
	expect_error("[rule r]\ngroups = G\nrole = ghost\nous = global\n", "role 'ghost' is not defined");
	expect_error("[role u]\n[rule r]\ngroups = G\nrole = u\nous = nowhere\n", "OU 'nowhere' is not defined");
	expect_error("[role u]\n[rule r]\ngroups = G\nrole = u\n", "needs 'ous'");
	expect_error("[role u]\n[rule r]\nrole = u\nous = global\n", "needs 'groups'");
	expect_error("[rule r]\nmatch = some\n", "'some' is not any or all");
	expect_error("[ou global]\nhosts = *\n", "[ou global] is built in");
	expect_error("[ou web]\nhosts = , ,\n", "empty list");
	expect_error("[sync]\ntls_cert = /c.pem\n", "tls_cert needs tls_key");
	expect_error("[entra]\n[sync]\nmax_body = 1\n", "bad.conf:3: [sync] max_body");
	expect_error("[entra]\nproxy = socks5://127.0.0.1:1080\n", "[entra] proxy must be an http:// or https:// URL");
	expect_error("[entra]\nproxy = proxy.example:3128\n", "[entra] proxy must be an http:// or https:// URL");
}

static const char follower_config[] =
    "[entra]\ntenant_id = t\nclient_id = c\n"
    "[accounts]\ncache_db = /var/lib/entra/cache.db\nhost = db-01\n"
    "[sync]\nstate_db = /var/lib/entra/state.db\n"
    "[follow]\nhub = https://hub.example.com:8443, https://hub2.example.com:8443 ; two\n"
    "token_file = /etc/entra/follow.token ; the token itself, 0600\n"
    "ca_file = /etc/entra/hub-ca.pem      ; optional\n";

static void follower_file_is_valid_and_takes_no_policy(void **state)
{
	(void)state;
	struct entra_config c;
	char err[512], text[2048];
	assert_int_equal(entra_config_parse("f.conf", follower_config, &c, err, sizeof(err)), 0);
	assert_true(entra_config_follower(&c));
	assert_int_equal(c.follow_hubs.n, 2);
	assert_string_equal(c.follow_hubs.items[1], "https://hub2.example.com:8443");
	assert_string_equal(c.follow_token_file, "/etc/entra/follow.token");
	assert_string_equal(c.follow_ca_file, "/etc/entra/hub-ca.pem");
	assert_int_equal(c.follow_max_silence, 300);
	entra_config_free(&c);
	const char *sections[] = {"[role admin]\nrank = 1\n", "[ou web]\nhosts = web-*\n",
	                          "[rule everyone]\ngroups = G\nrole = user\nous = global\n"};
	const char *names[] = {"[role admin]", "[ou web]", "[rule everyone]"};
	for (int i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), "%s%s", follower_config, sections[i]);
		expect_error(text, names[i]);
		expect_error(text, "takes every role, OU and rule from its hub");
	}
	expect_error("[follow]\nhub = http://hub:8443\ntoken_file = /t\n", "must be an https:// URL");
	expect_error("[follow]\nhub = https://hub:8443\n", "needs 'token_file'");
}

static void comments_and_hash_in_values(void **state)
{
	struct entra_config c;
	char err[512] = "";
	const char *text = "# top\n  ; indented\n[entra]\nauthority = https://idp.test/a#frag ; trailing\n";
	assert_int_equal(entra_config_parse("c.conf", text, &c, err, sizeof(err)), 0);
	assert_string_equal(c.authority, "https://idp.test/a#frag");
	entra_config_free(&c);
}

static void load_reports_missing_file(void **state)
{
	struct entra_config c;
	char err[512] = "";
	assert_int_equal(entra_config_load("/nonexistent/entra.conf", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/entra.conf: cannot open"));
}

static void load_reads_a_file(void **state)
{
	char path[] = "/tmp/entra-config-test-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, full_config, strlen(full_config)), (ssize_t)strlen(full_config));
	close(fd);
	struct entra_config c;
	char err[512] = "";
	assert_int_equal(entra_config_load(path, &c, err, sizeof(err)), 0);
	assert_string_equal(c.path, path);
	assert_int_equal(c.n_rules, 1);
	entra_config_free(&c);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parses_every_section),
	    cmocka_unit_test(empty_file_gives_defaults),
	    cmocka_unit_test(rejects_bad_input),
	    cmocka_unit_test(comments_and_hash_in_values),
	    cmocka_unit_test(follower_file_is_valid_and_takes_no_policy),
	    cmocka_unit_test(load_reports_missing_file),
	    cmocka_unit_test(load_reads_a_file),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
