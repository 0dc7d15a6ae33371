/* cache.db: opened read-only and immutable (no locks, no journal), checked, and reopened when
 * the published file is replaced (new inode) or when a forked child first uses it. */
#include "nss_scim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cache_schema.h"

#define PW_COLUMNS "SELECT name, uid, gid, gecos, dir, shell, expire, role FROM passwd "
/* ?2 is the configured uid_max: besides skipping ids nobody may see, the upper bound keeps out
 * the text and blob keys of a tampered cache (they sort after every number), without a per-row
 * typeof() call, and it lets SQLite read one rowid range. */
#define PW_SCAN PW_COLUMNS "WHERE uid > ?1 AND uid <= ?2 ORDER BY uid"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_PW_BY_NAME] = PW_COLUMNS "WHERE name = ?1",
    [ST_PW_BY_UID] = PW_COLUMNS "WHERE uid = ?1",
    [ST_GR_BY_NAME] = "SELECT name, gid FROM groups WHERE name = ?1",
    [ST_GR_BY_GID] = "SELECT name, gid FROM groups WHERE gid = ?1",
    /* members is keyed (gid, uid): one range read, one rowid seek into passwd per member. */
    [ST_GR_MEMBERS] = ("SELECT p.name FROM members m JOIN passwd p ON p.uid = m.uid"
                       " WHERE m.gid = ?1 AND p.uid BETWEEN ?2 AND ?3 ORDER BY m.uid"),
    [ST_USER_GROUPS] = "SELECT g.gid FROM members m JOIN groups g ON g.gid = m.gid WHERE m.uid = ?1",
    [ST_USER_LOCAL_GROUPS] = "SELECT gid, name FROM local_members WHERE uid = ?1",
    [ST_SCAN_PASSWD] = PW_SCAN,
    [ST_SCAN_SHADOW] = PW_SCAN,
    [ST_SCAN_PRIVATE_GROUPS] = PW_SCAN,
    [ST_SCAN_GROUPS] = "SELECT name, gid FROM groups WHERE gid > ?1 AND gid <= ?2 ORDER BY gid",
};

/* Memory held per connection: the module lives in every process that resolves a name. The page
 * cache is capped at 1 MiB (SQLite's default is 2 MiB; 256 pages keep the interior pages and the
 * recently used leaves of a 100k-user cache, below that a look-up costs extra pread() calls), and
 * the lookaside at 4 KiB instead of 120 KiB (all of it written at open). No mmap: a cache.db
 * truncated in place by mistake would then kill the host process with SIGBUS, not fail a look-up. */
#define CACHE_PAGES     "256"
#define LOOKASIDE_SLOT  128
#define LOOKASIDE_SLOTS 32

/* Connection generations: only touched under the module lock. */
static uint64_t epoch_counter;

int64_t scim_coarse_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void scim_db_close(struct scim_db *d)
{
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(d->st[i]);
	/* An immutable read-only connection holds no locks, so closing it in a forked child only
	 * releases the child's copy of the descriptor and memory. */
	sqlite3_close(d->db);
	free(d->path);
	memset(d, 0, sizeof(*d));
}

void scim_db_broken(struct scim_db *d, int rc)
{
	if (d->err == 0)
		scim_syslog(LOG_ERR, "%s: read error (%s); the file is damaged: restart entra-syncd to republish it",
		            d->path, sqlite3_errstr(rc));
	d->err = EIO;
}

static unsigned be16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Cheap check of the SQLite header before SQLite sees the file: garbage and truncated copies
 * are refused here (immutable=1 would otherwise read a short file as zero pages). Fills ST with
 * the identity of the file actually checked. */
static const char *header_check(const char *path, struct stat *st, int *err)
{
	unsigned char h[100];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		*err = errno == ENOTDIR ? ENOENT : errno;
		return *err == ENOENT ? NULL : strerror(*err);
	}
	ssize_t n = fstat(fd, st) == 0 ? pread(fd, h, sizeof(h), 0) : -1;
	close(fd);
	*err = EIO;
	if (n != (ssize_t)sizeof(h) || !S_ISREG(st->st_mode))
		return "not a regular file of at least 100 bytes";
	if (memcmp(h, "SQLite format 3", 16) != 0)
		return "not an SQLite database";
	uint64_t page = be16(h + 16) == 1 ? 65536 : be16(h + 16);
	if (page < 512 || (page & (page - 1)))
		return "bad page size";
	/* The in-header page count is valid when "version-valid-for" matches the change counter. */
	if (be32(h + 92) == be32(h + 24) && (uint64_t)be32(h + 28) * page != (uint64_t)st->st_size)
		return "size does not match its page count (truncated?)";
	if ((uint64_t)st->st_size % page)
		return "size is not a whole number of pages (truncated?)";
	*err = 0;
	return NULL;
}

/* "file:" URI for PATH with everything but unreserved characters percent-encoded. */
static char *uri_for(const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(path);
	char *uri = malloc(5 + 3 * len + sizeof("?immutable=1&mode=ro"));
	if (!uri)
		return NULL;
	char *o = stpcpy(uri, "file:");
	for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		    strchr("/._-~", *c)) {
			*o++ = (char)*c;
		} else {
			*o++ = '%', *o++ = hex[*c >> 4], *o++ = hex[*c & 15];
		}
	}
	strcpy(o, "?immutable=1&mode=ro");
	return uri;
}

static const char *schema_check(sqlite3 *db)
{
	sqlite3_stmt *q = NULL;
	const char *why = NULL;
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &q, NULL) != SQLITE_OK)
		return sqlite3_errmsg(db);
	int rc = sqlite3_step(q);
	if (rc != SQLITE_ROW)
		why = rc == SQLITE_DONE ? "no schema_version in meta" : sqlite3_errstr(rc);
	else if (!sqlite3_column_text(q, 0) ||
	         strcmp((const char *)sqlite3_column_text(q, 0), NSS_SCIM_STR(ENTRA_CACHE_SCHEMA_VERSION)))
		why = "schema_version is not " NSS_SCIM_STR(
		    ENTRA_CACHE_SCHEMA_VERSION) " (entra-syncd and libnss_scim are from different releases: install "
		                                "matching versions)";
	sqlite3_finalize(q);
	return why;
}

static const char *db_open(struct scim_db *d, const char *path)
{
	char *uri = uri_for(path);
	if (!uri || !(d->path = strdup(path))) {
		free(uri);
		return "out of memory";
	}
	int rc = sqlite3_open_v2(uri, &d->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
	free(uri);
	if (rc != SQLITE_OK)
		return d->db ? sqlite3_errmsg(d->db) : sqlite3_errstr(rc);
	/* Both fail only for want of memory; the defaults then stay, which is merely larger. */
	sqlite3_db_config(d->db, SQLITE_DBCONFIG_LOOKASIDE, NULL, LOOKASIDE_SLOT, LOOKASIDE_SLOTS);
	sqlite3_exec(d->db, "PRAGMA cache_size = " CACHE_PAGES, NULL, NULL, NULL);
	d->epoch = ++epoch_counter;
	return schema_check(d->db);
}

sqlite3_stmt *scim_stmt(struct scim_view *v, enum scim_stmt which, int *errnop)
{
	struct scim_db *d = v->db;
	if (d->st[which])
		return d->st[which];
	if (sqlite3_prepare_v3(d->db, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT, &d->st[which], NULL) == SQLITE_OK)
		return d->st[which];
	if (d->err == 0)
		scim_syslog(LOG_ERR, "%s: unusable cache (%s); restart entra-syncd to republish it", d->path,
		            sqlite3_errmsg(d->db));
	d->err = EIO;
	*errnop = EIO;
	return NULL;
}

int scim_db_refresh(struct scim_db *d, const char *path)
{
	struct stat st;
	pid_t pid = getpid();
	if (stat(path, &st) != 0) {
		int err = errno == ENOTDIR ? ENOENT : errno;
		scim_db_close(d); /* a removed cache removes its accounts */
		return err;
	}
	if (d->pid == pid && d->path && !strcmp(d->path, path) && scim_file_id_same(&d->id, &st)) {
		d->checked_ns = scim_coarse_ns();
		return d->err;
	}
	scim_db_close(d);
	int err;
	const char *why = header_check(path, &st, &err);
	if (!err && (why = db_open(d, path)) != NULL)
		err = EIO;
	if (err) {
		char msg[384];
		snprintf(msg, sizeof(msg), "%s", why ? why : strerror(err)); /* closing frees sqlite's text */
		scim_db_close(d);
		scim_syslog(LOG_ERR, "%s: unusable cache (%s); restart entra-syncd to republish it", path, msg);
		d->path = strdup(path); /* remember the bad file: no retry until it changes */
	}
	d->pid = pid;
	d->checked_ns = scim_coarse_ns();
	scim_file_id_set(&d->id, &st);
	d->err = err;
	return err;
}
