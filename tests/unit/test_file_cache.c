/* Unit tests for authd/file_cache.c: the broker's root-only file cache of discovery and JWKS documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include "authd/file_cache.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct dirs {
	char base[64];
	char cache[96];
};

static int setup(void **state)
{
	struct dirs *d = calloc(1, sizeof(*d));
	strcpy(d->base, "/tmp/pam-cache-test-XXXXXX");
	assert_non_null(mkdtemp(d->base));
	snprintf(d->cache, sizeof(d->cache), "%s/cache", d->base);
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct dirs *d = *state;
	char path[160];
	const char *names[] = {"doc.json", "link.json", "wide.json"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", d->cache, names[i]);
		unlink(path);
	}
	rmdir(d->cache);
	rmdir(d->base);
	free(d);
	return 0;
}

static void test_dir_created_private(void **state)
{
	struct dirs *d = *state;
	char err[256];
	struct stat sb;
	assert_int_equal(authd_cache_dir_ready(d->cache, err, sizeof(err)), 0);
	assert_int_equal(stat(d->cache, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	chmod(d->cache, 0777);
	assert_int_equal(authd_cache_dir_ready(d->cache, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "chmod 0700"));
	chmod(d->cache, 0700);
}

static void test_write_read_ttl(void **state)
{
	struct dirs *d = *state;
	char err[256], path[160];
	struct stat sb;
	assert_int_equal(authd_cache_dir_ready(d->cache, err, sizeof(err)), 0);
	assert_int_equal(authd_cache_write(d->cache, "doc.json", "{\"a\":1}", 7, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/doc.json", d->cache);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	char *text = authd_cache_read(d->cache, "doc.json", 60, 1024);
	assert_string_equal(text, "{\"a\":1}");
	free(text);
	assert_null(authd_cache_read(d->cache, "doc.json", 60, 6)); /* larger than allowed */
	assert_true(authd_cache_age(d->cache, "doc.json") <= 1);
	struct timeval old[2] = {{.tv_sec = time(NULL) - 120}, {.tv_sec = time(NULL) - 120}};
	assert_int_equal(utimes(path, old), 0);
	assert_null(authd_cache_read(d->cache, "doc.json", 60, 1024)); /* older than its TTL */
	assert_true(authd_cache_age(d->cache, "doc.json") >= 120);
	assert_null(authd_cache_read(d->cache, "missing.json", 60, 1024));
	assert_int_equal(authd_cache_age(d->cache, "missing.json"), -1);
}

static void test_untrusted_files_ignored(void **state)
{
	struct dirs *d = *state;
	char err[256], path[160], link[160];
	assert_int_equal(authd_cache_dir_ready(d->cache, err, sizeof(err)), 0);
	assert_int_equal(authd_cache_write(d->cache, "wide.json", "{}", 2, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/wide.json", d->cache);
	chmod(path, 0666);
	assert_null(authd_cache_read(d->cache, "wide.json", 60, 1024));
	assert_int_equal(authd_cache_age(d->cache, "wide.json"), -1);
	snprintf(link, sizeof(link), "%s/link.json", d->cache);
	chmod(path, 0600);
	assert_int_equal(symlink(path, link), 0);
	assert_null(authd_cache_read(d->cache, "link.json", 60, 1024)); /* never follows symlinks */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_dir_created_private, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_read_ttl, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_untrusted_files_ignored, setup, teardown),
	};
	return cmocka_run_group_tests_name("file_cache", tests, NULL, NULL);
}
