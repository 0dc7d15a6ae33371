/* entra-sync sessions --watch: follows cache.db and ends the sessions of accounts that become
 * disabled or leave this host. One watcher per host: it holds an OFD write lock on SESSIONS_LOCK,
 * which entra-sync doctor (as root) asks about without taking it. */
#ifndef SYNC_SESSIONS_WATCH_H
#define SYNC_SESSIONS_WATCH_H

#include <sys/types.h>

#include "common/config.h"
#include "sync/sessions/sessions.h"

/* Root's alone (0600): only the watcher and root may open it. */
#define SESSIONS_LOCK "/run/entra-sessions/watch.lock"
/* The watcher's pid, world-readable, for entra-sync doctor. */
#define SESSIONS_PID_FILE           "/run/entra-sessions/watch.pid"
#define SESSIONS_PASSWD             "/etc/passwd"
#define SESSIONS_SUBUID             "/etc/subuid"
#define SESSIONS_SUBGID             "/etc/subgid"
#define SESSIONS_INTERVAL_S_DEFAULT 10

struct sessions_watch_opts {
	const struct entra_config *cfg;
	int interval_s; /* periodic check besides inotify */
	int grace_ms;   /* SIGTERM to SIGKILL */
};

/* What this host owns and the watcher never touches: the accounts of SESSIONS_PASSWD and the
 * ranges of SESSIONS_SUBUID and SESSIONS_SUBGID. 0, or -1 with WHY. */
int sessions_host_read(struct sessions_local *out, char *why, size_t whylen);

/* Runs until SIGTERM or SIGINT: 0 then, 1 when it cannot start (logged). */
int sessions_watch(const struct sessions_watch_opts *o);

/* The pid of the watcher holding LOCK_PATH (from SESSIONS_PID_FILE; 1 when unreadable), 0 when
 * none does, -1 when it cannot be told (errno: EACCES when not run as root). Takes no lock. */
pid_t sessions_watcher_pid(const char *lock_path);

#endif
