/* A uid's processes in /proc, and signalling one of them without ever hitting a reused pid. */
#ifndef SYNC_SESSIONS_PROCS_H
#define SYNC_SESSIONS_PROCS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sync/sessions/sessions.h"

/* Processes looked at in one scan: bounds the work of a scan (pid_max is at most 4M). */
#define SESSIONS_PROCS_MAX (1 << 22)

struct sessions_proc {
	pid_t pid;
	uint32_t ruid, euid, suid, fsuid;
	bool dead;     /* State: Z or X, a zombie waiting for its parent: nothing left to end */
	char comm[64]; /* Name: of /proc/PID/status, printable ASCII only */
};

/* Parses the text of /proc/PID/status into P (pid not set): 0, or -1 when Name: or Uid: is
 * missing or malformed. */
int sessions_status_parse(const char *text, struct sessions_proc *p);

/* The target P belongs to: its real or effective uid is a target's, and none of its uids is 0
 * (a process that is root in any way is never touched). NULL when none, and for a zombie. */
const struct sessions_target *sessions_proc_target(const struct sessions_proc *p, const struct sessions_targets *t);

/* Calls FN for each process of a target (sessions_proc_target), never pid 1 nor this process.
 * Returns the number of calls, or -1 when /proc cannot be read. */
long sessions_procs_each(const struct sessions_targets *t,
                         void (*fn)(const struct sessions_proc *p, const struct sessions_target *target, void *arg),
                         void *arg);

/* Sends each of SIGS to P->pid if that pid is still a process of TARGET: a pidfd is taken
 * first and the uids read again after, so a pid reused meanwhile is never signalled. 0 sent,
 * -1 gone or no longer the target's. */
int sessions_proc_signal(const struct sessions_proc *p, const struct sessions_target *target, const int *sigs,
                         int nsigs);

#endif
