/* A read-only SQLite VFS over a descriptor that was already opened and checked, so SQLite reads
 * exactly that file. SQLite's own unix VFS opens by name, and even a /proc/self/fd/N name is
 * resolved to the file's path first: a file renamed over the path in between (a FIFO, on which
 * open() blocks forever) would be what SQLite opens. Here nothing is opened by name at all. */
#include "common/cache_vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FD_NAME "/entra-cache-fd/" /* + the descriptor's number: the only names xOpen takes */

struct fd_file {
	sqlite3_file base; /* first: SQLite sees a sqlite3_file */
	int fd;            /* a dup() of the caller's checked descriptor, ours to close */
};

static int fd_close(sqlite3_file *f)
{
	close(((struct fd_file *)f)->fd);
	return SQLITE_OK;
}

static int fd_read(sqlite3_file *f, void *buf, int amount, sqlite3_int64 offset)
{
	int fd = ((struct fd_file *)f)->fd;
	char *out = buf;
	for (int got = 0; got < amount;) {
		ssize_t n = pread(fd, out + got, (size_t)(amount - got), offset + got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return SQLITE_IOERR_READ;
		if (n == 0) { /* SQLite wants the rest zeroed on a short read */
			memset(out + got, 0, (size_t)(amount - got));
			return SQLITE_IOERR_SHORT_READ;
		}
		got += (int)n;
	}
	return SQLITE_OK;
}

static int fd_write(sqlite3_file *f, const void *buf, int amount, sqlite3_int64 offset)
{
	return SQLITE_READONLY;
}

static int fd_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return SQLITE_READONLY;
}

static int fd_sync(sqlite3_file *f, int flags)
{
	return SQLITE_OK;
}

static int fd_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct stat st;
	if (fstat(((struct fd_file *)f)->fd, &st) != 0)
		return SQLITE_IOERR_FSTAT;
	*size = st.st_size;
	return SQLITE_OK;
}

/* Immutable: no reader takes a lock (the publisher replaces the file, never edits it). */
static int fd_lock(sqlite3_file *f, int level)
{
	return SQLITE_OK;
}

static int fd_reserved(sqlite3_file *f, int *out)
{
	*out = 0;
	return SQLITE_OK;
}

static int fd_control(sqlite3_file *f, int op, void *arg)
{
	return SQLITE_NOTFOUND;
}

static int fd_sector(sqlite3_file *f)
{
	return 4096;
}

static int fd_device(sqlite3_file *f)
{
	return SQLITE_IOCAP_IMMUTABLE;
}

static const sqlite3_io_methods fd_methods = {
    .iVersion = 1,
    .xClose = fd_close,
    .xRead = fd_read,
    .xWrite = fd_write,
    .xTruncate = fd_truncate,
    .xSync = fd_sync,
    .xFileSize = fd_size,
    .xLock = fd_lock,
    .xUnlock = fd_lock,
    .xCheckReservedLock = fd_reserved,
    .xFileControl = fd_control,
    .xSectorSize = fd_sector,
    .xDeviceCharacteristics = fd_device,
};

/* The descriptor named by NAME (FD_NAME + number), or -1. */
static int name_fd(const char *name)
{
	size_t len = strlen(FD_NAME);
	if (!name || strncmp(name, FD_NAME, len) || !name[len])
		return -1;
	char *end;
	long fd = strtol(name + len, &end, 10);
	return *end || fd < 0 || fd > 1 << 30 ? -1 : (int)fd;
}

static int vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
	struct fd_file *f = (struct fd_file *)file;
	int fd = name_fd(name);
	f->base.pMethods = NULL; /* SQLite calls no method of a file that failed to open */
	if (fd < 0 || !(flags & SQLITE_OPEN_MAIN_DB) || !(flags & SQLITE_OPEN_READONLY))
		return SQLITE_CANTOPEN;
	if ((f->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)
		return SQLITE_CANTOPEN;
	f->base.pMethods = &fd_methods;
	if (out_flags)
		*out_flags = SQLITE_OPEN_READONLY;
	return SQLITE_OK;
}

static int vfs_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	return SQLITE_READONLY;
}

/* No journal, WAL or anything else ever exists beside the file. */
static int vfs_access(sqlite3_vfs *vfs, const char *name, int what, int *out)
{
	*out = 0;
	return SQLITE_OK;
}

static int vfs_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	return snprintf(out, (size_t)n, "%s", name) < n ? SQLITE_OK : SQLITE_CANTOPEN;
}

/* Randomness, sleep and time come from the default VFS, which pAppData holds. */
static int vfs_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	sqlite3_vfs *base = vfs->pAppData;
	return base->xRandomness(base, n, out);
}

static int vfs_sleep(sqlite3_vfs *vfs, int us)
{
	sqlite3_vfs *base = vfs->pAppData;
	return base->xSleep(base, us);
}

static int vfs_time(sqlite3_vfs *vfs, double *now)
{
	sqlite3_vfs *base = vfs->pAppData;
	return base->xCurrentTime(base, now);
}

static int vfs_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	return 0;
}

/* Each module that links this file (libnss_scim, pam_entra) registers its own copy under a name
 * of its own: SQLite must never hand one module's connection the other's VFS, whose code goes
 * away when PAM unloads pam_entra.so. */
static char vfs_name[48];

static sqlite3_vfs fd_vfs = {
    .iVersion = 1,
    .szOsFile = sizeof(struct fd_file),
    .mxPathname = 64,
    .zName = vfs_name,
    .xOpen = vfs_open,
    .xDelete = vfs_delete,
    .xAccess = vfs_access,
    .xFullPathname = vfs_full_pathname,
    .xRandomness = vfs_randomness,
    .xSleep = vfs_sleep,
    .xCurrentTime = vfs_time,
    .xGetLastError = vfs_last_error,
};

static pthread_once_t register_once = PTHREAD_ONCE_INIT;
static int register_rc = SQLITE_ERROR;

/* Runs once per process: the VFS table above is written here only, then read-only. */
static void vfs_register(void)
{
	snprintf(vfs_name, sizeof(vfs_name), "entra-cache-fd-%p", (void *)&fd_vfs);
	fd_vfs.pAppData = sqlite3_vfs_find(NULL);
	if (fd_vfs.pAppData)
		register_rc = sqlite3_vfs_register(&fd_vfs, 0);
}

/* At dlclose (PAM unloads pam_entra.so after each transaction) or exit: SQLite, which may stay
 * loaded, must not keep a VFS whose code and table are unmapped. Priority 101 runs it after the
 * module's other destructors, which close its connections. */
__attribute__((destructor(101))) static void vfs_unregister(void)
{
	if (register_rc == SQLITE_OK)
		sqlite3_vfs_unregister(&fd_vfs);
}

int entra_cache_vfs_open(int fd, sqlite3 **db)
{
	char name[64];
	*db = NULL;
	pthread_once(&register_once, vfs_register);
	if (register_rc != SQLITE_OK)
		return register_rc;
	snprintf(name, sizeof(name), FD_NAME "%d", fd);
	return sqlite3_open_v2(name, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, vfs_name);
}
