/* cache.db opened as untrusted input, libc only (common/cache_file.h). */
#include "common/cache_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/byte_order.h"
#include "common/cache_schema.h"

static int fail(int *err, int e, char *why, size_t whylen, const char *text)
{
	*err = e;
	snprintf(why, whylen, "%s", text);
	return -1;
}

/* The database header (100 bytes) and the b-tree page header of page 1 that follows it. */
#define HEAD_BYTES 108

/* Cheap checks of the SQLite header and of page 1 before SQLite sees the file: garbage and
 * truncated copies are refused here (immutable=1 would otherwise read a short file as zero
 * pages), and so is any schema that is not one leaf page of exactly the project's rows, since
 * SQLite parses every schema row, in C and unbounded by the work budget, before a query runs. */
static const char *header_problem(const unsigned char *h, const struct stat *st)
{
	if (memcmp(h, "SQLite format 3", 16) != 0)
		return "not an SQLite database";
	uint64_t page = entra_be16(h + 16) == 1 ? 65536 : entra_be16(h + 16);
	if (page < 512 || (page & (page - 1)))
		return "bad page size";
	/* The in-header page count is valid when "version-valid-for" matches the change counter. */
	if (entra_be32(h + 92) == entra_be32(h + 24) && (uint64_t)entra_be32(h + 28) * page != (uint64_t)st->st_size)
		return "size does not match its page count (truncated?)";
	if ((uint64_t)st->st_size % page)
		return "size is not a whole number of pages (truncated?)";
	unsigned rows = entra_be16(h + 103);
	if (h[100] != 0x0D || (rows != ENTRA_CACHE_SCHEMA_ROWS && rows != ENTRA_CACHE_SCHEMA_ROWS_PREV))
		return "a schema other than the one entra-syncd writes (not one page of its " ENTRA_CACHE_STR(
		    ENTRA_CACHE_SCHEMA_ROWS) " objects)";
	return NULL;
}

/* Who may have written the file: nobody but its owner, and its owner is root or the owner of
 * the directory it sits in (entra-syncd's state directory), which nobody else can write. A
 * file anyone else could have replaced or edited is not an account source. */
static const char *ownership_problem(const char *path, const struct stat *st)
{
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "the file is writable by group or others (entra-syncd publishes it 0644)";
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t len = slash ? (size_t)(slash - path) : 0;
	if (len >= sizeof(dir))
		return "its directory name is too long";
	if (!slash)
		strcpy(dir, ".");
	else if (len == 0)
		strcpy(dir, "/");
	else
		memcpy(dir, path, len), dir[len] = '\0';
	struct stat ds;
	if (stat(dir, &ds) != 0 || !S_ISDIR(ds.st_mode))
		return "its directory cannot be checked";
	if (ds.st_mode & (S_IWGRP | S_IWOTH))
		return "its directory is writable by group or others (use entra-syncd's state directory, 0755)";
	if (st->st_uid != 0 && st->st_uid != ds.st_uid)
		return "it is owned neither by root nor by the owner of its directory";
	if (ds.st_uid != 0 && ds.st_uid != st->st_uid)
		return "its directory is owned neither by root nor by the file's owner";
	return NULL;
}

/* Opens PATH for the checks that need no SQLite: type, size, header, page 1, owner and mode.
 * Never a symlink (O_NOFOLLOW), never blocking on a FIFO or device (O_NONBLOCK, then only a
 * regular file passes): the descriptor, which SQLite is then given (so the file it reads is the
 * file checked, whatever is renamed over PATH meanwhile), or -1. */
int entra_cache_file_open(const char *path, struct stat *st, int *err, char *why, size_t whylen)
{
	unsigned char h[HEAD_BYTES];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0) {
		int e = errno == ENOTDIR ? ENOENT : errno == ELOOP ? EACCES : errno;
		if (lstat(path, st) != 0)
			memset(st, 0, sizeof(*st));
		return fail(err, e, why, whylen, e == EACCES ? "untrusted file: a symbolic link" : strerror(e));
	}
	ssize_t n = fstat(fd, st) == 0 && S_ISREG(st->st_mode) ? pread(fd, h, sizeof(h), 0) : -1;
	const char *problem =
	    n != (ssize_t)sizeof(h) ? "not a regular file of at least 108 bytes" : header_problem(h, st);
	int e = EIO;
	if (!problem && (problem = ownership_problem(path, st)) != NULL)
		e = EACCES;
	if (!problem)
		return fd;
	close(fd);
	*err = e;
	snprintf(why, whylen, "%s%s", e == EACCES ? "untrusted file: " : "", problem);
	return -1;
}
