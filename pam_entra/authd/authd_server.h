/* entra-authd's socket: accepts pam_entra's connections and serves each sign-in on a thread
 * of its own. Only root callers are served (sshd, login, su and sudo run PAM as root): an
 * unprivileged user can neither make the broker send requests to Entra nor take its slots. */
#ifndef AUTHD_SERVER_H
#define AUTHD_SERVER_H

#include "authd_signin.h"

#define AUTHD_MAX_SIGNINS 256 /* at once */

/* Binds PATH (mode 0666; a stale socket there is replaced). The listening fd, or -1 logged. */
int authd_listen(const struct entra_logger *log, const char *path);

/* Sign-ins being served right now. */
int authd_signins_running(void);

/* Accepts and serves connections until SIGNAL_FD (a signalfd) delivers SIGTERM or SIGINT. */
void authd_serve(const struct authd_context *ctx, int listen_fd, int signal_fd);

#endif
