/* cache.db: opened read-only as untrusted input (common/cache_file.h, then nss_scim/cachefile.h)
 * and reopened when the published file is replaced (new inode) or when a forked child first
 * uses it. */
#include "nss_scim/nss_scim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/cache_file.h"

/* The lowest descriptor number the module keeps cache.db on. */
#define NSS_FD_FLOOR 256

/* Openings: only touched under the module lock. */
static uint64_t epoch_counter;

int64_t nss_coarse_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Whether D's descriptor still is the file it opened: the process may have closed the number
 * (closefrom in a daemon, a forked child tidying up) and reused it for a file of its own. */
static bool fd_ours(const struct nss_db *d)
{
	struct stat st;
	return d->open && fstat(d->file.bt.fd, &st) == 0 && nss_file_id_same(&d->id, &st);
}

void nss_db_close(struct nss_db *d)
{
	/* Closing in a forked child only releases the child's copy of the descriptor and memory;
	 * a number the process reused for another file is left alone. */
	if (d->open && !fd_ours(d))
		cf_disown(&d->file);
	if (d->open)
		cf_close(&d->file);
	free(d->path);
	memset(d, 0, sizeof(*d));
}

int nss_failed(struct nss_view *v, int *errnop)
{
	struct nss_db *d = v->db;
	enum bt_error e = v->bt->err;
	if (e == BT_ERR_NOMEM) {
		*errnop = ENOMEM;
		return -1;
	}
	if (d->err == 0 && e == BT_ERR_BUDGET)
		nss_syslog(LOG_ERR,
		           "%s: a look-up exceeded its work bound (damaged or hostile file); serving nothing "
		           "from it until entra-syncd republishes it",
		           d->path);
	else if (d->err == 0)
		nss_syslog(LOG_ERR, "%s: read error (%s); the file is damaged: restart entra-syncd to republish it",
		           d->path, e == BT_ERR_IO ? "I/O error or file truncated" : "malformed b-tree page or record");
	d->err = EIO;
	*errnop = EIO;
	return -1;
}

int nss_corrupt(struct nss_view *v, int *errnop)
{
	if (v->bt->err == BT_OK)
		v->bt->err = BT_ERR_CORRUPT;
	return nss_failed(v, errnop);
}

/* Opens the checked descriptor's file into D: 0, or an errno with WHY. */
static int db_open(struct nss_db *d, const char *path, struct stat *st, char *why, size_t whylen)
{
	int err = 0;
	int fd = entra_cache_file_open(path, st, &err, why, whylen);
	if (fd < 0)
		return err;
	/* Above the numbers programs hand out first and close in bulk (best effort). */
	int high = fcntl(fd, F_DUPFD_CLOEXEC, NSS_FD_FLOOR);
	if (high >= 0) {
		close(fd);
		fd = high;
	}
	int rc = cf_open(&d->file, fd, st, why, whylen);
	if (rc != 0)
		return rc == CF_NOMEM ? ENOMEM : EIO;
	d->open = true;
	return 0;
}

int nss_db_refresh(struct nss_db *d, const char *path, pid_t pid)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		int err = errno == ENOTDIR ? ENOENT : errno;
		nss_db_close(d); /* a removed cache removes its accounts */
		return err;
	}
	if (d->pid == pid && d->path && !strcmp(d->path, path) && nss_file_id_same(&d->id, &st) &&
	    (!d->open || fd_ours(d))) {
		d->checked_ns = nss_coarse_ns();
		return d->err;
	}
	nss_db_close(d);
	char why[384];
	struct stat opened;
	int err = ENOMEM;
	memset(&opened, 0, sizeof(opened));
	if ((d->path = strdup(path)) != NULL && (err = db_open(d, path, &opened, why, sizeof(why))) == 0) {
		d->epoch = ++epoch_counter;
		st = opened;
	} else if (d->path && err == ENOMEM) {
		nss_syslog(LOG_ERR, "%s: out of memory opening it; trying again at the next look-up", path);
	} else if (d->path) {
		/* The refused file is remembered (its identity below, as stat() saw it, as it is
		 * compared: a refused symlink's own lstat identity would never match and every look-up
		 * would retry and log): no retry until it changes. */
		nss_syslog(LOG_ERR, "%s: unusable cache (%s); restart entra-syncd to republish it", path, why);
	}
	d->pid = pid;
	d->checked_ns = nss_coarse_ns();
	if (err != ENOMEM) /* a passing shortage says nothing of the file: the next call tries again */
		nss_file_id_set(&d->id, &st);
	d->err = err;
	return err;
}
