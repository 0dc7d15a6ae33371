/* A fresh state.db in a temp directory for each cmocka test (include after cmocka.h). */
#ifndef TESTS_UNIT_STORE_FIXTURE_H
#define TESTS_UNIT_STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sqlite_files.h"
#include "sync/store/store.h"

struct fixture {
	char dir[64];
	char path[128];
	struct store *st;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[512];
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/state.db", f->dir);
	f->st = store_open(f->path, err, sizeof(err));
	assert_non_null(f->st);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_close(f->st);
	sqlite_files_remove(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

#endif
