#include "authd_server.h"

#include "pam_entra/authd_proto.h"
#include "pam_entra/net_connect.h"

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

/* Who holds the sign-in slots: the holder's uid + 1, 0 when free. */
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static long long slots[AUTHD_MAX_SIGNINS];

struct connection {
	const struct authd_context *ctx;
	int fd;
	int slot;
};

/* A free slot for UID, or -1 when the broker or this uid's share of it is full. */
static int slot_take(long long uid)
{
	int free_slot = -1, held = 0;
	pthread_mutex_lock(&slots_lock);
	for (int i = 0; i < AUTHD_MAX_SIGNINS; i++) {
		if (!slots[i] && free_slot < 0)
			free_slot = i;
		else if (slots[i] == uid + 1)
			held++;
	}
	if (uid != 0 && held >= AUTHD_MAX_PER_NONROOT)
		free_slot = -1;
	if (free_slot >= 0)
		slots[free_slot] = uid + 1;
	pthread_mutex_unlock(&slots_lock);
	return free_slot;
}

static void slot_release(int slot)
{
	pthread_mutex_lock(&slots_lock);
	slots[slot] = 0;
	pthread_mutex_unlock(&slots_lock);
}

int authd_signins_running(void)
{
	int running = 0;
	pthread_mutex_lock(&slots_lock);
	for (int i = 0; i < AUTHD_MAX_SIGNINS; i++)
		running += slots[i] != 0;
	pthread_mutex_unlock(&slots_lock);
	return running;
}

int authd_listen(const struct entra_logger *log, const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	if (strlen(path) >= sizeof(sun.sun_path))
		return entra_log(log, LOG_ERR, "socket path %s is too long: shorten [pam] authd_socket", path), -1;
	memcpy(sun.sun_path, path, strlen(path));
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
	slot_release(c->slot);
	free(c);
	return NULL;
}

static void busy(const struct authd_context *ctx, int fd, long long uid)
{
	char err[128];
	json_t *msg = pe_authd_answer("busy", "too many sign-ins at once");
	if (msg)
		pe_authd_send(fd, msg, pe_net_now_ms() + 100, err, sizeof(err));
	json_decref(msg);
	entra_log(ctx->log, LOG_WARNING, "too many sign-ins at once (uid %lld): pam_entra signs this one in itself",
	          uid);
}

static void connection_start(const struct authd_context *ctx, int fd)
{
	long long uid = pe_authd_peer_uid(fd);
	int slot = uid >= 0 ? slot_take(uid) : -1;
	struct connection *c = slot >= 0 ? malloc(sizeof(*c)) : NULL;
	pthread_attr_t attr;
	pthread_t tid;
	if (!c) {
		if (slot >= 0)
			slot_release(slot);
		busy(ctx, fd, uid);
		close(fd);
		return;
	}
	*c = (struct connection){.ctx = ctx, .fd = fd, .slot = slot};
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&tid, &attr, connection_run, c);
	pthread_attr_destroy(&attr);
	if (rc) {
		entra_log(ctx->log, LOG_ERR, "cannot start a sign-in thread: %s", strerror(rc));
		busy(ctx, fd, uid);
		close(fd);
		slot_release(slot);
		free(c);
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
