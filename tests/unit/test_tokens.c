/* Unit tests for the bearer token file: create, verify, revoke, the daemon's store, bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* needs the four headers above first */

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sync/tokens/tokens.h"

#define HASH_A "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" /* sha256("hello") */

struct fixture {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_tokens.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/scim.tokens", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	unlink(f->path);
	assert_int_equal(rmdir(f->dir), 0); /* no temp file left behind */
	free(f);
	return 0;
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void parses_lines_comments_and_labels(void **state)
{
	const char *text = "# comment\n\n"
	                   "0a1b2c3d " HASH_A " 1700000000 Entra provisioning  \n"
	                   "  ffffffff " HASH_A " 0\r\n";
	struct token_set set;
	char err[256] = "";
	assert_int_equal(token_set_parse("t", text, strlen(text), &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 2);
	assert_string_equal(set.items[0].id, "0a1b2c3d");
	assert_int_equal(set.items[0].created, 1700000000LL);
	assert_string_equal(set.items[0].label, "Entra provisioning");
	assert_string_equal(set.items[1].label, "");
	assert_true(token_set_verify(&set, "hello", 5));
	assert_false(token_set_verify(&set, "hellO", 5));
	assert_false(token_set_verify(&set, "hello!", 6));
	assert_false(token_set_verify(&set, "", 0));
	char *round = token_set_format(&set);
	assert_non_null(round);
	assert_string_equal(round, "0a1b2c3d " HASH_A " 1700000000 Entra provisioning\nffffffff " HASH_A " 0\n");
	free(round);
	token_set_free(&set);
}

static void expect_parse_error(const char *text, const char *needle)
{
	struct token_set set;
	char err[256] = "";
	assert_int_equal(token_set_parse("scim.tokens", text, strlen(text), &set, err, sizeof(err)), -1);
	assert_int_equal(set.n, 0);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not contain '%s'", err, needle);
}

static void malformed_lines_are_clear_errors(void **state)
{
	expect_parse_error("abc " HASH_A " 1\n", "scim.tokens:1: the ID must be 8 hex digits");
	expect_parse_error("\n0a1b2c3z " HASH_A " 1\n", "scim.tokens:2: the ID");
	expect_parse_error("0a1b2c3d deadbeef 1\n", ":1: the hash must be 64 hex digits");
	expect_parse_error("0a1b2c3d " HASH_A "\n", ":1: the creation time must be a unix timestamp");
	expect_parse_error("0a1b2c3d " HASH_A " -5\n", "creation time");
	expect_parse_error("0a1b2c3d " HASH_A " 12x\n", "creation time");
	expect_parse_error("0a1b2c3d " HASH_A " 1 bad\x01label\n", "label");
	expect_parse_error("0a1b2c3d " HASH_A " 1\n0A1B2C3D " HASH_A " 2\n", ":2: duplicate token ID");
	struct token_set set;
	char err[256] = "";
	assert_int_equal(token_set_parse("t", "0a1b\0x\n", 7, &set, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "NUL byte"));
	char longlabel[400];
	snprintf(longlabel, sizeof(longlabel), "0a1b2c3d " HASH_A " 1 %0200d\n", 0);
	expect_parse_error(longlabel, "at most 128 bytes");
}

static void create_verify_revoke(void **state)
{
	struct fixture *f = *state;
	char tok1[TOKEN_TEXT_LEN + 1], tok2[TOKEN_TEXT_LEN + 1], err[512] = "";
	struct token_entry e1, e2;
	assert_int_equal(token_file_create(f->path, "first", TOKEN_SCOPE_SCIM, tok1, &e1, err, sizeof(err)), 0);
	assert_int_equal(token_file_create(f->path, NULL, TOKEN_SCOPE_SCIM, tok2, &e2, err, sizeof(err)), 0);
	assert_int_equal(strlen(tok1), TOKEN_TEXT_LEN);
	assert_int_equal(strspn(tok1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
	                 TOKEN_TEXT_LEN);
	assert_string_not_equal(tok1, tok2);
	assert_string_not_equal(e1.id, e2.id);

	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(token_file_check(f->path, err, sizeof(err)), 0);

	struct token_set set;
	assert_int_equal(token_file_read(f->path, &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 2);
	assert_string_equal(set.items[0].label, "first");
	assert_true(token_set_verify(&set, tok1, strlen(tok1)));
	assert_true(token_set_verify(&set, tok2, strlen(tok2)));
	assert_false(token_set_verify(&set, tok1, strlen(tok1) - 1));
	token_set_free(&set);

	/* The file never holds the token itself. */
	FILE *fp = fopen(f->path, "r");
	char buf[4096] = "";
	size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	assert_null(strstr(buf, tok1));

	assert_int_equal(token_file_revoke(f->path, e1.id, err, sizeof(err)), 0);
	assert_int_equal(token_file_revoke(f->path, e1.id, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "no token with ID"));
	assert_int_equal(token_file_read(f->path, &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 1);
	assert_false(token_set_verify(&set, tok1, strlen(tok1)));
	assert_true(token_set_verify(&set, tok2, strlen(tok2)));
	token_set_free(&set);
}

static void create_refuses_bad_label_and_missing_directory(void **state)
{
	struct fixture *f = *state;
	char tok[TOKEN_TEXT_LEN + 1], err[512] = "", path[256];
	assert_int_equal(token_file_create(f->path, "two\nlines", TOKEN_SCOPE_SCIM, tok, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "control characters"));
	assert_int_equal(access(f->path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/missing/scim.tokens", f->dir);
	assert_int_equal(token_file_create(path, NULL, TOKEN_SCOPE_SCIM, tok, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "create it first"));
}

static void update_keeps_a_malformed_file_untouched(void **state)
{
	struct fixture *f = *state;
	const char *bad = "0a1b2c3d " HASH_A " 1\ngarbage\n";
	char tok[TOKEN_TEXT_LEN + 1], err[512] = "";
	write_text(f->path, bad, 0600);
	assert_int_equal(token_file_create(f->path, NULL, TOKEN_SCOPE_SCIM, tok, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":2:"));
	assert_non_null(strstr(err, "nothing was changed"));
	assert_int_equal(token_file_revoke(f->path, "0a1b2c3d", err, sizeof(err)), -1);
	FILE *fp = fopen(f->path, "r");
	char buf[512] = "";
	size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	assert_string_equal(buf, bad);
}

static void mode_check_names_mode_and_fix(void **state)
{
	struct fixture *f = *state;
	char err[512] = "";
	assert_int_equal(token_file_check(f->path, err, sizeof(err)), 1);
	write_text(f->path, "", 0644);
	assert_int_equal(token_file_check(f->path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "mode 0644"));
	assert_non_null(strstr(err, "chmod 600"));
	struct token_set set;
	assert_int_equal(token_file_read(f->path, &set, err, sizeof(err)), -1);
	chmod(f->path, 0620);
	assert_int_equal(token_file_check(f->path, err, sizeof(err)), -1);
	chmod(f->path, 0600);
	assert_int_equal(token_file_check(f->path, err, sizeof(err)), 0);
}

static void store_follows_the_file(void **state)
{
	struct fixture *f = *state;
	char tok1[TOKEN_TEXT_LEN + 1], tok2[TOKEN_TEXT_LEN + 1], err[512] = "";
	struct token_entry e1;
	struct token_store *st = token_store_open(f->path);
	assert_non_null(st);
	assert_false(token_store_verify(st, "anything", 8));

	assert_int_equal(token_file_create(f->path, "a", TOKEN_SCOPE_SCIM, tok1, &e1, err, sizeof(err)), 0);
	assert_true(token_store_verify(st, tok1, strlen(tok1)));
	assert_int_equal(token_file_create(f->path, "b", TOKEN_SCOPE_SCIM, tok2, NULL, err, sizeof(err)), 0);
	assert_true(token_store_verify(st, tok2, strlen(tok2)));
	assert_int_equal(token_file_revoke(f->path, e1.id, err, sizeof(err)), 0);
	assert_false(token_store_verify(st, tok1, strlen(tok1)));
	assert_true(token_store_verify(st, tok2, strlen(tok2)));

	/* Group-readable or malformed: fail closed until fixed. */
	chmod(f->path, 0640);
	assert_false(token_store_verify(st, tok2, strlen(tok2)));
	chmod(f->path, 0600);
	assert_true(token_store_verify(st, tok2, strlen(tok2)));
	unlink(f->path);
	assert_false(token_store_verify(st, tok2, strlen(tok2)));
	token_store_close(st);
}

static void follower_tokens_have_their_scope(void **state)
{
	struct fixture *f = *state;
	char scim[TOKEN_TEXT_LEN + 1], follow[TOKEN_TEXT_LEN + 1], err[512] = "";
	struct token_entry e;
	assert_int_equal(token_file_create(f->path, "scim", TOKEN_SCOPE_SCIM, scim, NULL, err, sizeof(err)), 0);
	assert_int_equal(token_file_create(f->path, "db fleet", TOKEN_SCOPE_FOLLOW, follow, &e, err, sizeof(err)), 0);
	assert_int_equal(e.scope, TOKEN_SCOPE_FOLLOW);
	struct token_set set;
	assert_int_equal(token_file_read(f->path, &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 2);
	assert_int_equal(set.items[0].scope, TOKEN_SCOPE_SCIM);
	assert_int_equal(set.items[1].scope, TOKEN_SCOPE_FOLLOW);
	assert_string_equal(set.items[1].label, "db fleet");
	assert_int_equal(token_set_scope(&set, scim, strlen(scim)), TOKEN_SCOPE_SCIM);
	assert_int_equal(token_set_scope(&set, follow, strlen(follow)), TOKEN_SCOPE_FOLLOW);
	assert_int_equal(token_set_scope(&set, "nope", 4), TOKEN_SCOPE_NONE);
	/* the scope survives a rewrite (revoking the other token) */
	assert_int_equal(token_file_revoke(f->path, set.items[0].id, err, sizeof(err)), 0);
	token_set_free(&set);
	assert_int_equal(token_file_read(f->path, &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 1);
	assert_int_equal(token_set_scope(&set, follow, strlen(follow)), TOKEN_SCOPE_FOLLOW);
	token_set_free(&set);
	struct token_store *st = token_store_open(f->path);
	assert_int_equal(token_store_scope(st, follow, strlen(follow)), TOKEN_SCOPE_FOLLOW);
	assert_int_equal(token_store_scope(st, scim, strlen(scim)), TOKEN_SCOPE_NONE);
	token_store_close(st);
	/* a label alone, an unknown scope */
	const char *scoped = "0a1b2c3d " HASH_A " 1 scope=follow\n";
	assert_int_equal(token_set_parse("t", scoped, strlen(scoped), &set, err, sizeof(err)), 0);
	assert_int_equal(set.items[0].scope, TOKEN_SCOPE_FOLLOW);
	assert_string_equal(set.items[0].label, "");
	token_set_free(&set);
	expect_parse_error("0a1b2c3d " HASH_A " 1 scope=admin x\n", "unknown scope");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parses_lines_comments_and_labels),
	    cmocka_unit_test(malformed_lines_are_clear_errors),
	    cmocka_unit_test_setup_teardown(create_verify_revoke, setup, teardown),
	    cmocka_unit_test_setup_teardown(create_refuses_bad_label_and_missing_directory, setup, teardown),
	    cmocka_unit_test_setup_teardown(update_keeps_a_malformed_file_untouched, setup, teardown),
	    cmocka_unit_test_setup_teardown(mode_check_names_mode_and_fix, setup, teardown),
	    cmocka_unit_test_setup_teardown(store_follows_the_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(follower_tokens_have_their_scope, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
