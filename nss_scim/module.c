/* The module's shared state and its lock: settings, the open cache.db, fork handling. */
#include "nss_scim/nss_scim.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

/* glibc calls NSS from any thread: everything below is touched only with nss_lock held. */
static pthread_mutex_t nss_lock = PTHREAD_MUTEX_INITIALIZER;
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

/* At load, before any thread can hold the lock: a fork racing the first rewind or look-up
 * must find the handlers in place, or the child could inherit the lock held. */
__attribute__((constructor)) static void atfork_register(void)
{
	pthread_atfork(fork_prepare, fork_release, fork_child);
}

/* The lock is held across reads, syslog and the config's stdio, all cancellation points: a
 * thread cancelled there would leave it held, and every later look-up and fork() would hang.
 * So no cancellation while it is held; the caller's state comes back at the unlock. */
static int lock_uncancellable(void)
{
	int old = PTHREAD_CANCEL_ENABLE;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	pthread_mutex_lock(&nss_lock);
	return old;
}

static void unlock_restore(int cancel_state)
{
	pthread_mutex_unlock(&nss_lock);
	pthread_setcancelstate(cancel_state, NULL);
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
	v->gid_min = nss_settings.cfg.gid_min;
	v->gid_max = nss_settings.cfg.gid_max;
}

/* nss_begin with the lock already held (CANCEL_STATE to restore at the unlock). */
static enum nss_status begin_locked(struct nss_view *v, int cancel_state, int *errnop)
{
	int err = nss_settings_refresh(&nss_settings, ENTRA_DEFAULT_CONFIG);
	if (!err)
		err = nss_db_refresh(&nss_db, nss_settings.cfg.cache_db, nss_pid ? nss_pid : (nss_pid = getpid()));
	if (err) {
		unlock_restore(cancel_state);
		*errnop = err;
		return NSS_STATUS_UNAVAIL;
	}
	view_fill(v);
	v->cancel_state = cancel_state;
	return NSS_STATUS_SUCCESS;
}

enum nss_status nss_begin(struct nss_view *v, int *errnop)
{
	return begin_locked(v, lock_uncancellable(), errnop);
}

enum nss_status nss_begin_scan(struct nss_view *v, const struct nss_cursor *c, size_t n, int *errnop)
{
	int cancel_state = lock_uncancellable();
	while (n > 1 && c->done)
		c++, n--;
	enum nss_status st = NSS_STATUS_SUCCESS;
	if (c->epoch && c->epoch == nss_db.epoch && nss_db.pid && !nss_db.err &&
	    nss_coarse_ns() - nss_db.checked_ns < NSS_SCAN_RECHECK_MS * (int64_t)1000000) {
		view_fill(v);
		v->cancel_state = cancel_state;
	} else {
		st = begin_locked(v, cancel_state, errnop);
	}
	if (st == NSS_STATUS_SUCCESS)
		bt_stream(v->bt, true);
	return st;
}

void nss_end(struct nss_view *v)
{
	bt_trim(v->bt); /* keeps an enumeration's window between its steps */
	bt_stream(v->bt, false);
	unlock_restore(v->cancel_state);
}

static void cursor_reset(struct nss_cursor *c)
{
	free(c->blk.buf);
	*c = (struct nss_cursor)NSS_CURSOR_INIT(c->tree);
}

void nss_cursor_rewind(struct nss_cursor *c)
{
	int cancel_state = lock_uncancellable();
	cursor_reset(c);
	bt_trim(&nss_db.file.bt); /* set/end*ent: the window goes with the enumeration */
	unlock_restore(cancel_state);
}

void nss_cursor_drop(struct nss_cursor *c)
{
	if (pthread_mutex_trylock(&nss_lock) != 0)
		return; /* in use (see module_unload) */
	cursor_reset(c);
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
