#include "authd_server.h"

#include "pam_entra/authd_proto.h"
#include "pam_entra/net_connect.h"
#include "unix_socket.h"

#include <errno.h>
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
};

/* Sign-ins being served. */
static pthread_mutex_t running_lock = PTHREAD_MUTEX_INITIALIZER;
static int running;

static bool slot_take(void)
{
	pthread_mutex_lock(&running_lock);
	bool taken = running < AUTHD_MAX_SIGNINS;
	running += taken;
	pthread_mutex_unlock(&running_lock);
	return taken;
}

static void slot_release(void)
{
	pthread_mutex_lock(&running_lock);
	running--;
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
	authd_signin_serve(c->ctx, c->fd);
	close(c->fd);
	slot_release();
	free(c);
	return NULL;
}

/* Refuses FD at once with RESULT: pam_entra then signs in itself. */
static void turn_away(const struct authd_context *ctx, int fd, const char *result, const char *why)
{
	char err[128];
	json_t *msg = pe_authd_answer(result, why);
	if (msg)
		pe_authd_send(fd, msg, pe_net_now_ms() + 100, err, sizeof(err));
	json_decref(msg);
	close(fd);
}

static void connection_start(const struct authd_context *ctx, int fd)
{
	long long uid = pe_authd_peer_uid(fd);
	if (uid != 0)
		return turn_away(ctx, fd, "not_served", "entra-authd serves root callers only");
	if (!slot_take()) {
		entra_log(ctx->log, LOG_WARNING, "%d sign-ins at once: pam_entra signs this one in itself",
		          AUTHD_MAX_SIGNINS);
		return turn_away(ctx, fd, "busy", "too many sign-ins at once");
	}
	struct connection *c = malloc(sizeof(*c));
	pthread_attr_t attr;
	pthread_t tid;
	if (!c) {
		slot_release();
		return turn_away(ctx, fd, "busy", "out of memory");
	}
	*c = (struct connection){.ctx = ctx, .fd = fd};
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&tid, &attr, connection_run, c);
	pthread_attr_destroy(&attr);
	if (rc) {
		entra_log(ctx->log, LOG_ERR, "cannot start a sign-in thread: %s", strerror(rc));
		slot_release();
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

void authd_serve(const struct authd_context *ctx, int listen_fd, int signal_fd)
{
	for (;;) {
		struct pollfd p[2] = {{.fd = listen_fd, .events = POLLIN}, {.fd = signal_fd, .events = POLLIN}};
		if (poll(p, 2, -1) < 0)
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
