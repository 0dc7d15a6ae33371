/* entra-authd's socket: accepts pam_entra's connections and serves each sign-in on a thread
 * of its own, within limits a local user cannot exhaust for everyone else. */
#ifndef AUTHD_SERVER_H
#define AUTHD_SERVER_H

#include "authd_signin.h"

#define AUTHD_MAX_SIGNINS     256 /* at once, in all */
#define AUTHD_MAX_PER_NONROOT 8   /* at once, per uid other than root (sshd and login run as root) */

/* Binds PATH (mode 0666; a stale socket there is replaced). The listening fd, or -1 logged. */
int authd_listen(const struct entra_logger *log, const char *path);

/* Sign-ins being served right now. */
int authd_signins_running(void);

/* Accepts and serves connections until SIGNAL_FD (a signalfd) delivers SIGTERM or SIGINT. */
void authd_serve(const struct authd_context *ctx, int listen_fd, int signal_fd);

#endif
