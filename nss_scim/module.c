/* The module's shared state and its lock: settings, the open cache.db, fork handling. */
#include "nss_scim/nss_scim.h"

#include <errno.h>
#include <pthread.h>
#include <unistd.h>

/* glibc calls NSS from any thread: everything below is touched only with nss_lock held. */
static pthread_mutex_t nss_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t nss_atfork_once = PTHREAD_ONCE_INIT;
static struct nss_settings nss_settings;
static struct nss_db nss_db;
/* This process's id, kept so a look-up costs no getpid() system call: 0 until the first call,
 * and set again in a forked child by fork_child. */
static pid_t nss_pid;

/* Holding the lock across fork() means the child never inherits it locked mid-lookup; the child
 * then notices the pid change and reopens the cache instead of sharing the parent's handle. */
static void fork_prepare(void)
{
	pthread_mutex_lock(&nss_lock);
}

static void fork_release(void)
{
	pthread_mutex_unlock(&nss_lock);
}

/* The child's next call reopens (nss_db_refresh compares the pid), and its enumerations take
 * the slow path at once rather than after NSS_SCAN_RECHECK_MS. */
static void fork_child(void)
{
	nss_db.pid = 0;
	nss_pid = getpid();
	pthread_mutex_unlock(&nss_lock);
}

static void atfork_register(void)
{
	pthread_atfork(fork_prepare, fork_release, fork_child);
}

/* Every entry point starts with a fresh work budget for the cache's reads. */
static void view_fill(struct nss_view *v)
{
	bt_budget_reset(&nss_db.file.bt);
	v->db = &nss_db;
	v->bt = &nss_db.file.bt;
	v->settings = &nss_settings;
	v->id_min = nss_settings.cfg.uid_min;
	v->id_max = nss_settings.cfg.uid_max;
}

enum nss_status nss_begin(struct nss_view *v, int *errnop)
{
	pthread_once(&nss_atfork_once, atfork_register);
	pthread_mutex_lock(&nss_lock);
	int err = nss_settings_refresh(&nss_settings, ENTRA_DEFAULT_CONFIG);
	if (!err)
		err = nss_db_refresh(&nss_db, nss_settings.cfg.cache_db, nss_pid ? nss_pid : (nss_pid = getpid()));
	if (err) {
		pthread_mutex_unlock(&nss_lock);
		*errnop = err;
		return NSS_STATUS_UNAVAIL;
	}
	view_fill(v);
	return NSS_STATUS_SUCCESS;
}

enum nss_status nss_begin_scan(struct nss_view *v, const struct nss_cursor *c, size_t n, int *errnop)
{
	pthread_once(&nss_atfork_once, atfork_register);
	pthread_mutex_lock(&nss_lock);
	while (n > 1 && c->done)
		c++, n--;
	if (c->epoch && c->epoch == nss_db.epoch && nss_db.pid && !nss_db.err &&
	    nss_coarse_ns() - nss_db.checked_ns < NSS_SCAN_RECHECK_MS * (int64_t)1000000) {
		view_fill(v);
		return NSS_STATUS_SUCCESS;
	}
	pthread_mutex_unlock(&nss_lock);
	return nss_begin(v, errnop);
}

void nss_end(struct nss_view *v)
{
	bt_trim(v->bt);
	pthread_mutex_unlock(&nss_lock);
}

void nss_cursor_rewind(struct nss_cursor *c)
{
	pthread_mutex_lock(&nss_lock);
	*c = (struct nss_cursor)NSS_CURSOR_INIT(c->tree);
	pthread_mutex_unlock(&nss_lock);
}

/* Runs at dlclose and at exit (glibc's __libc_freeres unloads NSS modules, e.g. under valgrind),
 * so the config and the open cache.db do not outlive the module. trylock, never lock: if
 * another thread is inside a look-up, or a thread died holding the lock, the state is in use or
 * half-updated; leaving it alone is then the only safe choice, and waiting could hang exit(). */
__attribute__((destructor)) static void module_unload(void)
{
	if (pthread_mutex_trylock(&nss_lock) != 0)
		return;
	nss_db_close(&nss_db);
	nss_settings_drop(&nss_settings);
	pthread_mutex_unlock(&nss_lock);
}
