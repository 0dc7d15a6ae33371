/* Test clean-up: an SQLite database in WAL mode is three files. */
#ifndef TEST_SQLITE_FILES_H
#define TEST_SQLITE_FILES_H

#include <stdio.h>
#include <unistd.h>

/* Removes PATH and its -wal and -shm companions (missing ones are fine). */
static inline void sqlite_files_remove(const char *path)
{
	const char *const suffix[] = {"", "-wal", "-shm"};
	char name[512];
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(name, sizeof(name), "%s%s", path, suffix[i]);
		unlink(name);
	}
}

#endif
