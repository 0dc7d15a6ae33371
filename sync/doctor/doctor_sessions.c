/* doctor: with [accounts] end_sessions = yes, the watcher that ends the sessions of disabled
 * and removed accounts (entra-sync sessions --watch) must be running. */
#include <errno.h>
#include <string.h>

#include "sync/doctor/doctor.h"
#include "sync/sessions/watch.h"

#define CHECK "sessions"

void doctor_check_sessions(struct doctor *d)
{
	if (!d->cfg->end_sessions) {
		doctor_report(d, CHECK, DOCTOR_OK, NULL,
		              "end_sessions = no: a disabled or removed account cannot sign in again, but its open "
		              "sessions go on");
		return;
	}
	pid_t pid = sessions_watcher_pid(SESSIONS_LOCK);
	if (pid > 0)
		doctor_report(d, CHECK, DOCTOR_OK, NULL,
		              "the session watcher runs (pid %d): sessions of disabled or removed accounts end",
		              (int)pid);
	else if (pid == 0)
		doctor_report(d, CHECK, DOCTOR_FAIL, "systemctl enable --now entra-sessions.service",
		              "end_sessions = yes but no session watcher runs (nobody holds %s): the sessions of "
		              "disabled accounts go on",
		              SESSIONS_LOCK);
	else
		doctor_report(d, CHECK, DOCTOR_WARN, "run entra-sync doctor as root",
		              "cannot tell whether the session watcher runs (%s: %s)", SESSIONS_LOCK, strerror(errno));
}
