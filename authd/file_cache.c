#include "authd/file_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int trusted(const struct stat *sb)
{
	return sb->st_uid == geteuid() && !(sb->st_mode & (S_IWGRP | S_IWOTH));
}

int authd_cache_dir_ready(const char *dir, char *err, size_t errlen)
{
	struct stat sb;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno)), -1;
	if (lstat(dir, &sb) != 0)
		return snprintf(err, errlen, "cannot stat %s: %s", dir, strerror(errno)), -1;
	if (!S_ISDIR(sb.st_mode) || !trusted(&sb))
		return snprintf(err, errlen,
		                "%s is not a directory owned by uid %u and writable only by it; fix it with "
		                "'chown root: %s && chmod 0700 %s'",
		                dir, (unsigned)geteuid(), dir, dir),
		       -1;
	return 0;
}

static int path_join(char *out, size_t outlen, const char *dir, const char *name)
{
	int n = snprintf(out, outlen, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

long authd_cache_age(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat sb;
	if (path_join(path, sizeof(path), dir, name) || lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || !trusted(&sb))
		return -1;
	time_t now = time(NULL);
	return now >= sb.st_mtime ? (long)(now - sb.st_mtime) : 0;
}

char *authd_cache_read(const char *dir, const char *name, long max_age, size_t max_len)
{
	char path[PATH_MAX];
	struct stat sb;
	if (path_join(path, sizeof(path), dir, name))
		return NULL;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *buf = NULL;
	time_t now = time(NULL);
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || !trusted(&sb) || (size_t)sb.st_size > max_len ||
	    sb.st_mtime > now || now - sb.st_mtime >= max_age || !(buf = malloc((size_t)sb.st_size + 1)))
		goto out;
	size_t got = 0;
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got != (size_t)sb.st_size) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[got] = '\0';
out:
	close(fd);
	return buf;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t w = write(fd, data, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		data += w, len -= (size_t)w;
	}
	return 0;
}

int authd_cache_write(const char *dir, const char *name, const char *data, size_t len, char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	if (path_join(path, sizeof(path), dir, name) ||
	    snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return snprintf(err, errlen, "cache path too long"), -1;
	int fd = mkostemp(tmp, O_CLOEXEC); /* mkostemp creates 0600 */
	if (fd < 0)
		return snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno)), -1;
	if (fchmod(fd, 0600) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}
