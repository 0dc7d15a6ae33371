/* Ending the sessions of a list of targets: logind first when it runs, then every process of
 * theirs that is left gets SIGHUP and SIGTERM, and SIGKILL after the grace period. */
#ifndef SYNC_SESSIONS_END_H
#define SYNC_SESSIONS_END_H

#include "common/log.h"
#include "sync/sessions/sessions.h"

#define SESSIONS_GRACE_MS_DEFAULT 5000

/* Ends the sessions of FRESH (targets new since the last round) through logind when it runs,
 * then signals every process left of ALL. Logs each session and process it ends, with the
 * account's name. Returns the number of processes signalled. */
long sessions_end(const struct sessions_targets *all, const struct sessions_targets *fresh, int grace_ms,
                  const struct entra_logger *log);

#endif
