/* Unit tests for the parsers behind entra-sync doctor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "sync/doctor.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sshd_seconds_accepts_sshd_time_formats),
	    cmocka_unit_test(sshd_seconds_rejects_garbage),
	    cmocka_unit_test(nsswitch_finds_sources),
	    cmocka_unit_test(nsswitch_ignores_actions_comments_and_prefixes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
