/* entra-sync sessions --watch: follows cache.db and ends the sessions of accounts that become
 * disabled or leave this host. One watcher per host: it holds a lock on SESSIONS_LOCK, which
 * is also how entra-sync doctor knows it runs. */
#ifndef SYNC_SESSIONS_WATCH_H
#define SYNC_SESSIONS_WATCH_H

#include <sys/types.h>

#include "common/config.h"

#define SESSIONS_LOCK               "/run/entra-sessions/watch.lock"
#define SESSIONS_PASSWD             "/etc/passwd"
#define SESSIONS_INTERVAL_S_DEFAULT 10

struct sessions_watch_opts {
	const struct entra_config *cfg;
	int interval_s; /* periodic check besides inotify */
	int grace_ms;   /* SIGTERM to SIGKILL */
};

/* Runs until SIGTERM or SIGINT: 0 then, 1 when it cannot start (logged). */
int sessions_watch(const struct sessions_watch_opts *o);

/* The pid of the watcher holding LOCK_PATH, 0 when none does, -1 when it cannot be told (errno). */
pid_t sessions_watcher_pid(const char *lock_path);

#endif
