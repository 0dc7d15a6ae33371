/* The watcher's loop: inotify on cache.db's directory (entra-syncd renames each new snapshot
 * into place) plus a periodic round that also catches processes started since the last one. */
#include "sync/sessions/watch.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/account_name.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/sd_notify.h"
#include "common/text_safe.h"
#include "sync/sessions/end.h"
#include "sync/sessions/sessions.h"

static const struct entra_logger logger = {"entra-sessions", LOG_AUTHPRIV, true, true};

#define INOTIFY_MASK (IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_ATTRIB)

struct watcher {
	const struct sessions_watch_opts *o;
	char dir[PATH_MAX], base[NAME_MAX + 1];
	int inotify, watch, sig, lock;
	struct stat cache_id;           /* the cache.db last read (all zero: it was missing) */
	bool cache_seen;                /* CACHE_ID is set */
	bool cache_broken;              /* its last read failed (logged once per file) */
	struct sessions_snapshot cur;   /* accounts of the current cache.db */
	struct sessions_snapshot known; /* what the next round compares with (sessions_remember) */
	struct sessions_targets last;   /* last round's targets, for telling the new ones */
	bool first;
	bool removal_held; /* the mass-removal guard holds (logged once) */
};

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Re-reads cache.db when it is another file than last time; false when there is no usable one
 * (then nothing is decided: a missing or broken cache must never look like "everyone left"). */
static bool cache_refresh(struct watcher *w)
{
	const struct entra_config *cfg = w->o->cfg;
	struct stat st;
	if (stat(cfg->cache_db, &st))
		memset(&st, 0, sizeof(st));
	if (w->cache_seen && same_file(&st, &w->cache_id))
		return !w->cache_broken;
	struct sessions_snapshot next;
	char why[512];
	long long today = (long long)(time(NULL) / 86400);
	w->cache_id = st;
	w->cache_seen = true;
	if (sessions_snapshot_read(cfg->cache_db, cfg->uid_min, cfg->uid_max, today, &next, why, sizeof(why))) {
		entra_log(&logger, LOG_WARNING, "%s: %s; no session is ended until entra-syncd publishes a usable one",
		          cfg->cache_db, why);
		w->cache_broken = true;
		return false;
	}
	sessions_snapshot_free(&w->cur);
	w->cur = next;
	w->cache_broken = false;
	return true;
}

/* The targets of ALL that were not targets last round; each is logged once. */
static int fresh_targets(struct watcher *w, const struct sessions_targets *all, struct sessions_targets *fresh)
{
	fresh->n = 0;
	for (size_t i = 0; i < all->n; i++) {
		const struct sessions_target *t = &all->v[i];
		if (sessions_targets_find(&w->last, t->uid))
			continue;
		if (fresh->n == fresh->cap) {
			size_t cap = fresh->cap ? fresh->cap * 2 : 16;
			struct sessions_target *v = realloc(fresh->v, cap * sizeof(*v));
			if (!v)
				return -1;
			fresh->v = v, fresh->cap = cap;
		}
		fresh->v[fresh->n++] = *t;
		char shown[ENTRA_ACCOUNT_NAME_MAX + 1];
		entra_text_printable(shown, sizeof(shown), t->name);
		entra_log(&logger, LOG_NOTICE, "%s (uid %u) was %s: ending its sessions", shown, (unsigned)t->uid,
		          sessions_reason_text(t->reason));
	}
	return 0;
}

static int targets_copy(struct sessions_targets *dst, const struct sessions_targets *src)
{
	struct sessions_target *v = src->n ? malloc(src->n * sizeof(*v)) : NULL;
	if (src->n && !v)
		return -1;
	if (src->n)
		memcpy(v, src->v, src->n * sizeof(*v));
	free(dst->v);
	*dst = (struct sessions_targets){.v = v, .n = src->n, .cap = src->n};
	return 0;
}

/* The mass-removal guard: true (and the removed targets of ALL dropped) when too many accounts
 * left cache.db at once to be believed. KNOWN is then kept as it is, so the guard holds until
 * they come back or the watcher is restarted. Logged once while it holds. */
static bool removal_held(struct watcher *w, struct sessions_targets *all)
{
	size_t removed = 0;
	for (size_t i = 0; i < all->n; i++)
		removed += all->v[i].reason == SESSIONS_REMOVED && !sessions_targets_find(&w->last, all->v[i].uid);
	if (!sessions_mass_removal(w->known.n, removed)) {
		w->removal_held = false;
		return false;
	}
	if (!w->removal_held)
		entra_log(&logger, LOG_ERR,
		          "%zu of the %zu accounts known left %s at once: taken for a damaged or truncated cache, "
		          "no session of theirs is ended. Check entra-syncd (`entra-sync doctor`); if Entra really "
		          "removed them, restart entra-sessions.service to accept it and end their sessions with "
		          "`loginctl terminate-user UID`",
		          removed, w->known.n, w->o->cfg->cache_db);
	w->removal_held = true;
	sessions_targets_drop_removed(all);
	return true;
}

static int round_decide(struct watcher *w, const struct sessions_local *local)
{
	const struct entra_config *cfg = w->o->cfg;
	struct sessions_policy policy = {
	    .uid_min = cfg->uid_min, .uid_max = cfg->uid_max, .local = local, .owner_ok = sessions_owner_ok};
	struct sessions_targets all = {0}, fresh = {0};
	int rc = sessions_decide(&w->known, &w->cur, &policy, &all);
	bool held = !rc && removal_held(w, &all);
	/* At start every disabled account would be new: without a line each and without logind
	 * (thousands of calls on a large tenant), their processes are signalled, each one logged. */
	if (!rc && w->first)
		rc = targets_copy(&w->last, &all);
	if (!rc)
		rc = fresh_targets(w, &all, &fresh);
	if (!rc)
		sessions_end(&all, &fresh, w->o->grace_ms, &logger);
	/* LAST points into KNOWN's names, which sessions_remember replaces: keep uids only. */
	if (!rc && !held)
		rc = sessions_remember(&w->cur, &all, &w->known);
	if (!rc)
		rc = targets_copy(&w->last, &all);
	for (size_t i = 0; !rc && i < w->last.n; i++)
		w->last.v[i].name = NULL;
	sessions_targets_free(&all);
	sessions_targets_free(&fresh);
	return rc;
}

int sessions_host_read(struct sessions_local *out, char *why, size_t whylen)
{
	if (sessions_local_read(SESSIONS_PASSWD, out, why, whylen))
		return -1;
	if (sessions_subids_read(SESSIONS_SUBUID, out, why, whylen) ||
	    sessions_subids_read(SESSIONS_SUBGID, out, why, whylen)) {
		sessions_local_free(out);
		return -1;
	}
	return 0;
}

static void round_run(struct watcher *w)
{
	struct sessions_local local;
	char why[512];
	if (!cache_refresh(w))
		return;
	if (sessions_host_read(&local, why, sizeof(why))) {
		entra_log(&logger, LOG_ERR, "%s; no session is ended until the local accounts can be read", why);
		return;
	}
	if (round_decide(w, &local))
		entra_log(&logger, LOG_ERR, "out of memory deciding whose sessions end; trying again next round");
	w->first = false;
	sessions_local_free(&local);
}

/* A write lock (open file description lock) on all of the lock file FD; F_OFD_GETLK with
 * FL asks who holds it without taking anything. */
static struct flock whole_file(short type)
{
	return (struct flock){.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
}

/* Publishes the pid for entra-sync doctor in its own world-readable file (temp + rename): the
 * lock file itself is root's alone, so no other user can open it, let alone lock it. */
static void pid_publish(const char *path)
{
	char tmp[PATH_MAX], pid[32];
	int len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	bool ok = fd >= 0 && write(fd, pid, (size_t)len) == len && !fchmod(fd, 0644);
	if (fd >= 0)
		close(fd);
	if (!ok || rename(tmp, path)) {
		entra_log(&logger, LOG_WARNING, "cannot write the pid to %s: %s (entra-sync doctor shows pid 1)", path,
		          strerror(errno));
		unlink(tmp);
	}
}

/* One watcher per host: an OFD write lock on a file only root may open (0600 in a root-owned
 * 0755 directory), so no other user can keep the watcher from starting. */
static int lock_take(const char *path)
{
	char dir[PATH_MAX];
	struct stat st;
	snprintf(dir, sizeof(dir), "%s", path);
	if (mkdir(dirname(dir), 0755) && errno != EEXIST) {
		entra_log(&logger, LOG_ERR, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	/* A file left by an older watcher may be 0644: descriptors opened from now on are root's. */
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || fchmod(fd, 0600)) {
		entra_log(&logger, LOG_ERR, "cannot open %s as a regular file of root's: %s; remove it and restart",
		          path, fd < 0 ? strerror(errno) : "another owner or type");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct flock fl = whole_file(F_WRLCK);
	if (fcntl(fd, F_OFD_SETLK, &fl)) {
		pid_t other = sessions_watcher_pid(path);
		entra_log(&logger, LOG_ERR, "another watcher runs (pid %d, it holds %s); stop it first", (int)other,
		          path);
		close(fd);
		return -1;
	}
	pid_publish(SESSIONS_PID_FILE);
	return fd;
}

/* The pid SESSIONS_PID_FILE names; 1 when it cannot be read (a watcher runs all the same). */
static pid_t pid_published(void)
{
	char text[32] = "";
	int fd = open(SESSIONS_PID_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;
	if (fd >= 0)
		close(fd);
	long v = n > 0 ? strtol(text, NULL, 10) : 0;
	return v > 0 && v <= INT_MAX ? (pid_t)v : 1;
}

pid_t sessions_watcher_pid(const char *lock_path)
{
	int fd = open(lock_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	/* Asks only: a lock taken here, even a shared one for a moment, could stop a watcher starting. */
	struct flock fl = whole_file(F_WRLCK);
	int rc = fcntl(fd, F_OFD_GETLK, &fl), saved = errno;
	close(fd);
	errno = saved;
	if (rc)
		return -1;
	return fl.l_type == F_UNLCK ? 0 : pid_published();
}

/* Watches cache.db's directory; retried each round while it is missing. */
static void inotify_arm(struct watcher *w)
{
	if (w->watch >= 0)
		return;
	w->watch = inotify_add_watch(w->inotify, w->dir, INOTIFY_MASK);
	if (w->watch < 0)
		entra_log(&logger, LOG_WARNING, "cannot watch %s (%s): checking every %d s only", w->dir,
		          strerror(errno), w->o->interval_s);
}

/* Drains the inotify queue: whether an event named cache.db (or the watch went away). */
static bool inotify_drain(struct watcher *w)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool hit = false;
	ssize_t n;
	while ((n = read(w->inotify, buf, sizeof(buf))) > 0)
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			if (ev->mask & IN_IGNORED)
				w->watch = -1, hit = true;
			else if (ev->len && !strcmp(ev->name, w->base))
				hit = true;
			p += sizeof(*ev) + ev->len;
		}
	return hit;
}

static int signals_open(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* True when asked to stop. */
static bool signal_stop(int sfd)
{
	struct signalfd_siginfo si;
	bool stop = false;
	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			entra_log(&logger, LOG_INFO,
			          "SIGHUP: nothing to reload (restart the watcher to re-read entra.conf)");
			continue;
		}
		entra_log(&logger, LOG_INFO, "%s: stopping", strsignal((int)si.ssi_signo));
		stop = true;
	}
	return stop;
}

static int watcher_open(struct watcher *w, const struct sessions_watch_opts *o)
{
	char copy[PATH_MAX];
	*w = (struct watcher){.o = o, .inotify = -1, .watch = -1, .sig = -1, .lock = -1, .first = true};
	if (snprintf(copy, sizeof(copy), "%s", o->cfg->cache_db) >= (int)sizeof(copy) ||
	    strlen(basename(copy)) > NAME_MAX) {
		entra_log(&logger, LOG_ERR, "cache_db %s: name too long", o->cfg->cache_db);
		return -1;
	}
	snprintf(w->base, sizeof(w->base), "%s", basename(copy));
	snprintf(copy, sizeof(copy), "%s", o->cfg->cache_db);
	snprintf(w->dir, sizeof(w->dir), "%s", dirname(copy));
	if ((w->lock = lock_take(SESSIONS_LOCK)) < 0)
		return -1;
	w->sig = signals_open();
	w->inotify = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (w->sig < 0 || w->inotify < 0) {
		entra_log(&logger, LOG_ERR, "cannot set up signals or inotify: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void watcher_close(struct watcher *w)
{
	sessions_snapshot_free(&w->cur);
	sessions_snapshot_free(&w->known);
	sessions_targets_free(&w->last);
	if (w->inotify >= 0)
		close(w->inotify);
	if (w->sig >= 0)
		close(w->sig);
	if (w->lock >= 0)
		close(w->lock); /* the lock goes with it */
}

static void watch_loop(struct watcher *w)
{
	long long period = (long long)w->o->interval_s * 1000, next = entra_now_ms() + period;
	for (;;) {
		struct pollfd fds[2] = {{.fd = w->sig, .events = POLLIN}, {.fd = w->inotify, .events = POLLIN}};
		long long wait = next - entra_now_ms();
		int n = poll(fds, 2, wait > 0 ? (int)wait : 0);
		if (n < 0 && errno != EINTR) {
			entra_log(&logger, LOG_ERR, "poll: %s; stopping", strerror(errno));
			return;
		}
		if (n > 0 && (fds[0].revents & POLLIN) && signal_stop(w->sig))
			return;
		bool due = entra_now_ms() >= next;
		if ((n > 0 && (fds[1].revents & POLLIN) && inotify_drain(w)) || due) {
			inotify_arm(w);
			round_run(w);
		}
		if (due)
			next = entra_now_ms() + period;
	}
}

int sessions_watch(const struct sessions_watch_opts *o)
{
	struct watcher w;
	if (watcher_open(&w, o)) {
		watcher_close(&w);
		return 1;
	}
	inotify_arm(&w);
	entra_log(&logger, LOG_INFO,
	          "watching %s: sessions of accounts with uid %u-%u that are disabled or leave "
	          "this host end (SIGKILL %d ms after SIGTERM; a full check every %d s)",
	          o->cfg->cache_db, (unsigned)o->cfg->uid_min, (unsigned)o->cfg->uid_max, o->grace_ms, o->interval_s);
	round_run(&w);
	entra_notify_systemd("READY=1");
	watch_loop(&w);
	entra_notify_systemd("STOPPING=1");
	watcher_close(&w);
	return 0;
}
