/* The systemd readiness protocol (sd_notify(3)) without libsystemd: one datagram to
 * $NOTIFY_SOCKET. A no-op when the variable is unset. */
#ifndef ENTRA_SD_NOTIFY_H
#define ENTRA_SD_NOTIFY_H

/* Sends STATE (e.g. "READY=1"). 0 sent or nothing to do, -1 on error (errno set). */
int entra_notify_systemd(const char *state);

#endif
