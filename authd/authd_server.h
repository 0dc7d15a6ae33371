/* entra-authd's socket: accepts pam_entra's connections and serves each sign-in on a thread
 * of its own. Root callers (sshd, login, su and sudo run PAM as root) may sign in anyone; any
 * other caller only as itself, within a small share of the slots, so an unprivileged user can
 * neither sign in as someone else nor starve sshd's sign-ins. */
#ifndef AUTHD_SERVER_H
#define AUTHD_SERVER_H

#include "authd/authd_signin.h"

#define AUTHD_MAX_SIGNINS      256 /* at once */
#define AUTHD_MAX_UNPRIVILEGED 32  /* of those, for callers that are not root */
#define AUTHD_MAX_PER_USER     4   /* of those, for one such caller */
#define AUTHD_LISTEN_FD        3   /* SD_LISTEN_FDS_START */

/* Binds PATH (mode 0666; a stale socket there is replaced). The listening fd, or -1 logged. */
int authd_listen(const struct entra_logger *log, const char *path);

/* Sign-ins being served right now. */
int authd_signins_running(void);

/* The listening socket systemd passed (entra-authd.socket): its fd, -1 when none was passed,
 * -2 (logged) when what was passed is not one listening AF_UNIX SOCK_SEQPACKET socket. */
int authd_listen_inherited(const struct entra_logger *log);

/* Accepts and serves connections until SIGNAL_FD (a signalfd) delivers SIGTERM or SIGINT, or,
 * with IDLE_EXIT_S > 0, until no sign-in ran nor came for that many seconds. */
void authd_serve(const struct authd_context *ctx, int listen_fd, int signal_fd, int idle_exit_s);

#endif
