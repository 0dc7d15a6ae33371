/* Ending a uid's sessions through systemd-logind (org.freedesktop.login1 on the system bus):
 * each session is terminated by logind, which also stops the user's service manager and
 * everything in the session scopes, root processes a sudo inside the session started included. */
#ifndef SYNC_SESSIONS_LOGIND_H
#define SYNC_SESSIONS_LOGIND_H

#include <stddef.h>

#include "common/log.h"
#include "sync/sessions/sessions.h"

struct sessions_logind;

/* A connection to logind, or NULL with WHY when logind does not run here (no
 * /run/systemd/seats, no system bus, or nobody owns org.freedesktop.login1). The system bus
 * is $DBUS_SYSTEM_BUS_ADDRESS when set, as for every sd-bus client. */
struct sessions_logind *sessions_logind_connect(char *why, size_t whylen);
void sessions_logind_close(struct sessions_logind *l);

/* Terminates each logind session of TARGET (one log line each) and then the user itself.
 * The number of sessions ended, or -1 when logind failed (logged; the caller then relies on
 * signals alone). */
int sessions_logind_end(struct sessions_logind *l, const struct sessions_target *target,
                        const struct entra_logger *log);

#endif
