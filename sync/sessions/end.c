/* Ends the targets' sessions and waits, bounded, for their processes to go. */
#include "sync/sessions/end.h"

#include <signal.h>
#include <stdbool.h>

#include "common/clock.h"
#include "sync/sessions/logind.h"
#include "sync/sessions/procs.h"

#define POLL_MS     100
#define KILL_PASSES 5 /* SIGKILL sweeps: a process may fork while the sweep runs */

struct sweep {
	const struct entra_logger *log;
	long signalled;
	const char *action, *why; /* "ending", ""; "killed", ": still running after the grace period" */
	const int *sigs;
	int nsigs;
};

static void signal_one(const struct sessions_proc *p, const struct sessions_target *t, void *arg)
{
	struct sweep *s = arg;
	if (sessions_proc_signal(p, t, s->sigs, s->nsigs))
		return; /* ended or changed owner since the scan */
	s->signalled++;
	entra_log(s->log, LOG_NOTICE, "%s process %d (%s) of %s (uid %u, %s)%s", s->action, (int)p->pid, p->comm,
	          t->name, (unsigned)t->uid, sessions_reason_text(t->reason), s->why);
}

static void count_one(const struct sessions_proc *p, const struct sessions_target *t, void *arg)
{
}

static long sweep(const struct sessions_targets *t, const struct entra_logger *log, bool kill, const int *sigs,
                  int nsigs)
{
	struct sweep s = {.log = log,
	                  .action = kill ? "killed" : "ending",
	                  .why = kill ? ": still running after the grace period" : "",
	                  .sigs = sigs,
	                  .nsigs = nsigs};
	if (sessions_procs_each(t, signal_one, &s) < 0)
		entra_log(log, LOG_ERR, "cannot read /proc: the processes of disabled accounts are not ended");
	return s.signalled;
}

static void logind_end(const struct sessions_targets *t, const struct entra_logger *log)
{
	char why[256];
	struct sessions_logind *l = sessions_logind_connect(why, sizeof(why));
	if (!l) {
		entra_log(log, LOG_INFO, "logind: %s; ending processes by signal", why);
		return;
	}
	for (size_t i = 0; i < t->n; i++)
		sessions_logind_end(l, &t->v[i], log);
	sessions_logind_close(l);
}

long sessions_end(const struct sessions_targets *t, const struct sessions_targets *fresh, int grace_ms,
                  const struct entra_logger *log)
{
	static const int term[] = {SIGHUP, SIGCONT, SIGTERM}, kill_sig[] = {SIGKILL};
	if (fresh->n)
		logind_end(fresh, log);
	if (!t->n)
		return 0;
	/* SIGHUP first: an interactive shell ignores SIGTERM; SIGCONT wakes a stopped one. */
	long signalled = sweep(t, log, false, term, 3);
	if (!signalled)
		return 0;
	long long deadline = entra_now_ms() + grace_ms;
	while (sessions_procs_each(t, count_one, NULL) > 0 && entra_now_ms() < deadline)
		entra_sleep_ms(POLL_MS);
	for (int pass = 0; pass < KILL_PASSES && sweep(t, log, true, kill_sig, 1) > 0; pass++)
		entra_sleep_ms(POLL_MS / 2);
	return signalled;
}
