/* cache.db: opened read-only and immutable as untrusted input (common/cache_reader.h), and
 * reopened when the published file is replaced (new inode) or when a forked child first uses it. */
#include "nss_scim/nss_scim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/cache_reader.h"

#define PW_COLUMNS "SELECT name, uid, gid, gecos, dir, shell, expire, role FROM passwd "
/* ?2 is the configured uid_max: besides skipping ids nobody may see, the upper bound keeps out
 * the text and blob keys of a tampered cache (they sort after every number), without a per-row
 * typeof() call, and it lets SQLite read one rowid range. */
#define GR_COLUMNS "SELECT name, gid, member_uid_min, member_uid_max, member_names FROM groups "
#define PW_SCAN    PW_COLUMNS "WHERE uid > ?1 AND uid <= ?2 ORDER BY uid"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_PW_BY_NAME] = PW_COLUMNS "WHERE name = ?1",
    [ST_PW_BY_UID] = PW_COLUMNS "WHERE uid = ?1",
    [ST_GR_BY_NAME] = GR_COLUMNS "WHERE name = ?1",
    [ST_GR_BY_GID] = GR_COLUMNS "WHERE gid = ?1",
    /* Only for a group with members outside the configured uid range (group.c): members is
     * keyed (gid, uid), one range read, one rowid seek into passwd per member. */
    [ST_GR_MEMBERS] = ("SELECT p.name FROM members m JOIN passwd p ON p.uid = m.uid"
                       " WHERE m.gid = ?1 AND p.uid BETWEEN ?2 AND ?3 ORDER BY m.uid"),
    /* The covering index alone: every gid is checked against the configured range anyway. */
    [ST_USER_GROUPS] = "SELECT gid FROM members WHERE uid = ?1",
    [ST_USER_LOCAL_GROUPS] = "SELECT gid, name FROM local_members WHERE uid = ?1",
    [ST_SCAN_PASSWD] = PW_SCAN,
    [ST_SCAN_SHADOW] = PW_SCAN,
    [ST_SCAN_PRIVATE_GROUPS] = PW_SCAN,
    [ST_SCAN_GROUPS] = GR_COLUMNS "WHERE gid > ?1 AND gid <= ?2 ORDER BY gid",
};

/* Connection generations: only touched under the module lock. */
static uint64_t epoch_counter;

int64_t nss_coarse_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void nss_db_close(struct nss_db *d)
{
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(d->st[i]);
	/* An immutable read-only connection holds no locks, so closing it in a forked child only
	 * releases the child's copy of the descriptor and memory. */
	entra_cache_close(&d->cache);
	free(d->path);
	memset(d, 0, sizeof(*d));
}

void nss_db_broken(struct nss_db *d, int rc)
{
	if (d->err == 0 && rc == SQLITE_INTERRUPT && entra_cache_budget_spent(&d->cache))
		nss_syslog(LOG_ERR,
		           "%s: a look-up exceeded its work bound (damaged or hostile file); serving nothing "
		           "from it until entra-syncd republishes it",
		           d->path);
	else if (d->err == 0)
		nss_syslog(LOG_ERR, "%s: read error (%s); the file is damaged: restart entra-syncd to republish it",
		           d->path, sqlite3_errstr(rc));
	d->err = EIO;
}

sqlite3_stmt *nss_stmt(struct nss_view *v, enum nss_stmt which, int *errnop)
{
	struct nss_db *d = v->db;
	if (which < ST_LOOKUP_COUNT)
		v->used |= 1u << which;
	if (d->st[which])
		return d->st[which];
	if (sqlite3_prepare_v3(d->cache.db, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT, &d->st[which], NULL) ==
	    SQLITE_OK)
		return d->st[which];
	if (d->err == 0)
		nss_syslog(LOG_ERR, "%s: unusable cache (%s); restart entra-syncd to republish it", d->path,
		           sqlite3_errmsg(d->cache.db));
	d->err = EIO;
	*errnop = EIO;
	return NULL;
}

int nss_db_refresh(struct nss_db *d, const char *path, pid_t pid)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		int err = errno == ENOTDIR ? ENOENT : errno;
		nss_db_close(d); /* a removed cache removes its accounts */
		return err;
	}
	if (d->pid == pid && d->path && !strcmp(d->path, path) && nss_file_id_same(&d->id, &st)) {
		d->checked_ns = nss_coarse_ns();
		return d->err;
	}
	nss_db_close(d);
	char why[384];
	int err = 0;
	if (!(d->path = strdup(path))) {
		err = ENOMEM;
	} else if (entra_cache_open(path, &d->cache, &err, why, sizeof(why)) == 0) {
		d->epoch = ++epoch_counter;
		st = d->cache.st;
	} else {
		/* Remember the refused file (its identity below): no retry until it changes. */
		nss_syslog(LOG_ERR, "%s: unusable cache (%s); restart entra-syncd to republish it", path, why);
		if (d->cache.st.st_ino)
			st = d->cache.st;
	}
	d->pid = pid;
	d->checked_ns = nss_coarse_ns();
	nss_file_id_set(&d->id, &st);
	d->err = err;
	return err;
}
