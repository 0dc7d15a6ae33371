#include "authd/authd_server.h"

#include "common/authd_proto.h"
#include "common/clock.h"
#include "common/unix_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define THREAD_STACK (256 * 1024)

struct connection {
	const struct authd_context *ctx;
	int fd;
	uid_t uid;
};

/* Sign-ins being served: all of them, those of callers that are not root, and per such uid. */
static pthread_mutex_t running_lock = PTHREAD_MUTEX_INITIALIZER;
static int running, running_unprivileged;
static struct {
	uid_t uid;
	int n;
} running_by_uid[AUTHD_MAX_UNPRIVILEGED];

/* The slot of UID in running_by_uid (a free one when it has none), or NULL: all are taken. */
static int *uid_count(uid_t uid)
{
	int *free_slot = NULL;
	for (size_t i = 0; i < AUTHD_MAX_UNPRIVILEGED; i++) {
		if (running_by_uid[i].n && running_by_uid[i].uid == uid)
			return &running_by_uid[i].n;
		if (!running_by_uid[i].n && !free_slot) {
			running_by_uid[i].uid = uid;
			free_slot = &running_by_uid[i].n;
		}
	}
	return free_slot;
}

/* Root's sign-ins share all AUTHD_MAX_SIGNINS slots; other callers (screen lockers) hold at most
 * AUTHD_MAX_UNPRIVILEGED of them, AUTHD_MAX_PER_USER each, so no user can starve sshd. */
static bool slot_take(uid_t uid)
{
	pthread_mutex_lock(&running_lock);
	bool taken = running < AUTHD_MAX_SIGNINS;
	if (taken && uid != 0) {
		int *n = running_unprivileged < AUTHD_MAX_UNPRIVILEGED ? uid_count(uid) : NULL;
		taken = n && *n < AUTHD_MAX_PER_USER;
		if (taken)
			++*n, running_unprivileged++;
	}
	running += taken;
	pthread_mutex_unlock(&running_lock);
	return taken;
}

static void slot_release(uid_t uid)
{
	pthread_mutex_lock(&running_lock);
	running--;
	if (uid != 0) {
		--*uid_count(uid);
		running_unprivileged--;
	}
	pthread_mutex_unlock(&running_lock);
}

int authd_signins_running(void)
{
	pthread_mutex_lock(&running_lock);
	int now = running;
	pthread_mutex_unlock(&running_lock);
	return now;
}

int authd_listen(const struct entra_logger *log, const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	if (entra_unix_address(path, &sun))
		return entra_log(log, LOG_ERR, "socket path %s is too long: shorten [pam] authd_socket", path), -1;
	if (!lstat(path, &st) && S_ISSOCK(st.st_mode))
		unlink(path); /* left by a daemon that did not exit cleanly */
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) || chmod(path, 0666) || listen(fd, 128)) {
		entra_log(log, LOG_ERR,
		          "cannot listen on %s: %s; check that its directory exists (systemd's "
		          "RuntimeDirectory=entra-authd) and that nothing else uses it",
		          path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void *connection_run(void *arg)
{
	struct connection *c = arg;
	authd_signin_serve(c->ctx, c->fd, c->uid);
	close(c->fd);
	slot_release(c->uid);
	free(c);
	return NULL;
}

/* Refuses FD at once with RESULT: the sign-in fails, pam_entra logs WHY. The caller's request
 * is never read: reads are shut first and what already arrived is dropped before the close,
 * since closing a socket with unread data makes the kernel reset the caller's end, and the
 * caller would see ECONNRESET instead of the answer. */
static void turn_away(const struct authd_context *ctx, int fd, const char *result, const char *why)
{
	char err[128], drop[512];
	json_t *msg = entra_authd_answer(result, why);
	if (msg)
		entra_authd_send(fd, msg, entra_now_ms() + 100, err, sizeof(err));
	json_decref(msg);
	shutdown(fd, SHUT_RD);
	for (int i = 0; i < 16 && recv(fd, drop, sizeof(drop), MSG_DONTWAIT | MSG_TRUNC) > 0; i++)
		;
	close(fd);
}

static void connection_start(const struct authd_context *ctx, int fd)
{
	long long uid = entra_authd_peer_uid(fd);
	if (uid < 0)
		return turn_away(ctx, fd, "not_served", "the caller's credentials cannot be read");
	if (!slot_take((uid_t)uid)) {
		entra_log(ctx->log, LOG_WARNING,
		          "sign-in from uid %lld refused: too many at once (%d in all, %d for "
		          "callers that are not root, %d per such user)",
		          uid, AUTHD_MAX_SIGNINS, AUTHD_MAX_UNPRIVILEGED, AUTHD_MAX_PER_USER);
		return turn_away(ctx, fd, "busy", "too many sign-ins at once");
	}
	struct connection *c = malloc(sizeof(*c));
	pthread_attr_t attr;
	pthread_t tid;
	if (!c) {
		slot_release((uid_t)uid);
		return turn_away(ctx, fd, "busy", "out of memory");
	}
	*c = (struct connection){.ctx = ctx, .fd = fd, .uid = (uid_t)uid};
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&tid, &attr, connection_run, c);
	pthread_attr_destroy(&attr);
	if (rc) {
		entra_log(ctx->log, LOG_ERR, "cannot start a sign-in thread: %s", strerror(rc));
		slot_release((uid_t)uid);
		free(c);
		turn_away(ctx, fd, "busy", "cannot start a sign-in thread");
	}
}

/* Whether the signal waiting on SIGNAL_FD asks us to stop (SIGHUP only says how to reload). */
static bool stop_requested(const struct authd_context *ctx, int signal_fd)
{
	struct signalfd_siginfo si;
	if (read(signal_fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return false;
	if (si.ssi_signo == SIGHUP)
		entra_log(ctx->log, LOG_NOTICE, "SIGHUP ignored: restart entra-authd to apply a changed entra.conf");
	return si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT;
}

void authd_serve(const struct authd_context *ctx, int listen_fd, int signal_fd, int idle_exit_s)
{
	for (;;) {
		struct pollfd p[2] = {{.fd = listen_fd, .events = POLLIN}, {.fd = signal_fd, .events = POLLIN}};
		int n = poll(p, 2, idle_exit_s > 0 ? idle_exit_s * 1000 : -1);
		if (n == 0 && !authd_signins_running()) {
			entra_log(ctx->log, LOG_INFO,
			          "idle for %d s: exiting (systemd starts it again on the next sign-in)", idle_exit_s);
			return;
		}
		if (n <= 0)
			continue;
		if (p[1].revents && stop_requested(ctx, signal_fd))
			return;
		if (!p[0].revents)
			continue;
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0)
			connection_start(ctx, fd);
		else if (errno == EMFILE || errno == ENFILE)
			entra_log(ctx->log, LOG_ERR, "out of file descriptors: raise LimitNOFILE"), sleep(1);
	}
}

/* sd_listen_fds(3) without libsystemd: exactly one descriptor, fd 3, meant for this process. */
int authd_listen_inherited(const struct entra_logger *log)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	if (!pid || !fds || strtol(pid, NULL, 10) != (long)getpid())
		return -1;
	unsetenv("LISTEN_PID"), unsetenv("LISTEN_FDS"), unsetenv("LISTEN_FDNAMES");
	int type = 0, domain = 0, listening = 0;
	socklen_t len = sizeof(int);
	if (strcmp(fds, "1") || getsockopt(AUTHD_LISTEN_FD, SOL_SOCKET, SO_TYPE, &type, &len) ||
	    getsockopt(AUTHD_LISTEN_FD, SOL_SOCKET, SO_DOMAIN, &domain, &len) ||
	    getsockopt(AUTHD_LISTEN_FD, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) || type != SOCK_SEQPACKET ||
	    domain != AF_UNIX || !listening) {
		entra_log(log, LOG_ERR,
		          "systemd passed %s descriptor(s), not one listening AF_UNIX SOCK_SEQPACKET socket: "
		          "use the shipped entra-authd.socket (ListenSequentialPacket=)",
		          fds);
		return -2;
	}
	fcntl(AUTHD_LISTEN_FD, F_SETFD, FD_CLOEXEC);
	return AUTHD_LISTEN_FD;
}
