/* The module's shared state and its lock: settings, cache connection, fork handling. */
#include "nss_scim/nss_scim.h"

#include <errno.h>
#include <pthread.h>
#include <unistd.h>

/* glibc calls NSS from any thread: everything below is touched only with scim_lock held. */
static pthread_mutex_t scim_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t scim_atfork_once = PTHREAD_ONCE_INIT;
static struct scim_settings scim_settings;
static struct scim_db scim_db;

/* Holding the lock across fork() means the child never inherits it locked mid-lookup; the child
 * then notices the pid change and reopens the cache instead of sharing the parent's handle. */
static void fork_prepare(void)
{
	pthread_mutex_lock(&scim_lock);
}

static void fork_release(void)
{
	pthread_mutex_unlock(&scim_lock);
}

/* The child's next call reopens (scim_db_refresh compares the pid), and its enumerations take
 * the slow path at once rather than after SCIM_SCAN_RECHECK_MS. */
static void fork_child(void)
{
	scim_db.pid = 0;
	pthread_mutex_unlock(&scim_lock);
}

static void atfork_register(void)
{
	pthread_atfork(fork_prepare, fork_release, fork_child);
}

/* Every entry point starts with a fresh work budget for the cache's queries. */
static void view_fill(struct scim_view *v)
{
	scim_db.cache.budget = ENTRA_CACHE_LOOKUP_BUDGET;
	v->db = &scim_db;
	v->settings = &scim_settings;
	v->id_min = scim_settings.cfg.uid_min;
	v->id_max = scim_settings.cfg.uid_max;
}

enum nss_status scim_begin(struct scim_view *v, int *errnop)
{
	pthread_once(&scim_atfork_once, atfork_register);
	pthread_mutex_lock(&scim_lock);
	int err = scim_settings_refresh(&scim_settings, ENTRA_DEFAULT_CONFIG);
	if (!err)
		err = scim_db_refresh(&scim_db, scim_settings.cfg.cache_db);
	if (err) {
		pthread_mutex_unlock(&scim_lock);
		*errnop = err;
		return NSS_STATUS_UNAVAIL;
	}
	view_fill(v);
	return NSS_STATUS_SUCCESS;
}

enum nss_status scim_begin_scan(struct scim_view *v, const struct scim_cursor *c, size_t n, int *errnop)
{
	pthread_once(&scim_atfork_once, atfork_register);
	pthread_mutex_lock(&scim_lock);
	while (n > 1 && c->done)
		c++, n--;
	if (c->epoch && c->epoch == scim_db.epoch && scim_db.pid && !scim_db.err &&
	    scim_coarse_ns() - scim_db.checked_ns < SCIM_SCAN_RECHECK_MS * (int64_t)1000000) {
		view_fill(v);
		return NSS_STATUS_SUCCESS;
	}
	pthread_mutex_unlock(&scim_lock);
	return scim_begin(v, errnop);
}

void scim_end(struct scim_view *v)
{
	for (int i = 0; v->db->cache.db && i < ST_LOOKUP_COUNT; i++) {
		if (v->db->st[i]) {
			sqlite3_reset(v->db->st[i]);
			sqlite3_clear_bindings(v->db->st[i]);
		}
	}
	pthread_mutex_unlock(&scim_lock);
}

int scim_step(struct scim_view *v, sqlite3_stmt *q, int *errnop)
{
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	scim_db_broken(v->db, rc);
	*errnop = EIO;
	return -1;
}

int scim_corrupt(struct scim_view *v, int *errnop)
{
	scim_db_broken(v->db, SQLITE_CORRUPT);
	*errnop = EIO;
	return -1;
}

void scim_cursor_rewind(struct scim_cursor *c)
{
	pthread_mutex_lock(&scim_lock);
	/* Releases the pages the scan holds; the statement stays compiled for the next pass. */
	if (c->epoch && c->epoch == scim_db.epoch && scim_db.st[c->scan])
		sqlite3_reset(scim_db.st[c->scan]);
	*c = (struct scim_cursor)SCIM_CURSOR_INIT(c->scan);
	pthread_mutex_unlock(&scim_lock);
}

/* Runs at dlclose and at exit (glibc's __libc_freeres unloads NSS modules, e.g. under valgrind),
 * so the config and the cache.db connection do not outlive the module. trylock, never lock: if
 * another thread is inside a look-up, or a thread died holding the lock, the state is in use or
 * half-updated; leaving it alone is then the only safe choice, and waiting could hang exit(). */
__attribute__((destructor)) static void module_unload(void)
{
	if (pthread_mutex_trylock(&scim_lock) != 0)
		return;
	scim_db_close(&scim_db);
	scim_settings_drop(&scim_settings);
	pthread_mutex_unlock(&scim_lock);
}
