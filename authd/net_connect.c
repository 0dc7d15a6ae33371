#include "net_connect.h"

#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A look-up shared by the caller and the resolver thread; the last one to let go frees it, so
 * a caller that gave up at its deadline never waits for a slow DNS server. */
struct resolve_job {
	pthread_mutex_t lock;
	pthread_cond_t done_cv;
	int refs;
	bool done;
	int rc;
	struct addrinfo *res;
	char host[256];
	char port[8];
};

static void job_release(struct resolve_job *job)
{
	pthread_mutex_lock(&job->lock);
	bool last = --job->refs == 0;
	pthread_mutex_unlock(&job->lock);
	if (!last)
		return;
	if (job->res)
		freeaddrinfo(job->res);
	pthread_cond_destroy(&job->done_cv);
	pthread_mutex_destroy(&job->lock);
	free(job);
}

static void *resolve_thread(void *arg)
{
	struct resolve_job *job = arg;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(job->host, job->port, &hints, &res);
	pthread_mutex_lock(&job->lock);
	job->rc = rc;
	job->res = res;
	job->done = true;
	pthread_cond_signal(&job->done_cv);
	pthread_mutex_unlock(&job->lock);
	job_release(job);
	return NULL;
}

static struct resolve_job *job_new(const char *host, const char *port)
{
	struct resolve_job *job = calloc(1, sizeof(*job));
	pthread_condattr_t ca;
	if (!job)
		return NULL;
	snprintf(job->host, sizeof(job->host), "%s", host);
	snprintf(job->port, sizeof(job->port), "%s", port);
	job->refs = 2;
	pthread_mutex_init(&job->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&job->done_cv, &ca);
	pthread_condattr_destroy(&ca);
	return job;
}

static pthread_once_t pin_once = PTHREAD_ONCE_INIT;

/* A resolver abandoned at its deadline may still run when pam_end dlcloses pam_entra.so: keep
 * the module mapped until the process exits, so no thread returns into unmapped code. */
static void module_pin(void)
{
	Dl_info info;
	if (dladdr((void *)module_pin, &info) && info.dli_fname)
		(void)dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE); /* handle kept on purpose */
}

/* Starts the resolver with every signal blocked: the host program's handlers stay on its own threads. */
static int thread_start(struct resolve_job *job)
{
	pthread_once(&pin_once, module_pin);
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t all, old;
	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&tid, &attr, resolve_thread, job);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return rc;
}

/* getaddrinfo bounded by DEADLINE_MS: 0 and *RES, EAI_AGAIN-like codes, or -1 timed out. */
static int resolve_name(const char *host, const char *port, long long deadline_ms, struct addrinfo **res)
{
	struct resolve_job *job = job_new(host, port);
	if (!job)
		return EAI_MEMORY;
	if (thread_start(job)) {
		job->refs = 1;
		job_release(job);
		return EAI_SYSTEM;
	}
	struct timespec until = {.tv_sec = deadline_ms / 1000, .tv_nsec = (deadline_ms % 1000) * 1000000};
	int rc = -1;
	pthread_mutex_lock(&job->lock);
	while (!job->done && pthread_cond_timedwait(&job->done_cv, &job->lock, &until) != ETIMEDOUT)
		;
	if (job->done) {
		rc = job->rc;
		*res = job->res;
		job->res = NULL;
	}
	pthread_mutex_unlock(&job->lock);
	job_release(job);
	return rc;
}

static int resolve(const char *host, unsigned port, bool numeric, long long deadline_ms, struct addrinfo **res)
{
	char service[8];
	snprintf(service, sizeof(service), "%u", port);
	if (!numeric)
		return resolve_name(host, service, deadline_ms, res);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
	return getaddrinfo(host, service, &hints, res);
}

/* 0 connected, else an errno (ETIMEDOUT when the deadline passed). */
static int connect_one(const struct addrinfo *ai, long long deadline_ms, int *fd_out)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return errno;
	int err = 0;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) && (err = errno) == EINPROGRESS) {
		socklen_t len = sizeof(err);
		int ready = entra_wait_fd(fd, POLLOUT, deadline_ms);
		if (ready <= 0)
			err = ready == 0 ? ETIMEDOUT : errno;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
			err = errno;
	}
	if (err) {
		close(fd);
		return err;
	}
	*fd_out = fd;
	return 0;
}

int pe_net_connect(const char *host, unsigned port, bool numeric, const char *authority, long long deadline_ms,
                   bool *timed_out, char *err, size_t errlen)
{
	struct addrinfo *res = NULL;
	int rc = resolve(host, port, numeric, deadline_ms, &res);
	*timed_out = rc == -1;
	if (rc == -1)
		return snprintf(err, errlen, "connection to %s timed out resolving the name", authority), -1;
	if (rc)
		return snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(rc)), -1;
	int fd = -1, why = ENOENT;
	for (const struct addrinfo *ai = res; ai && fd < 0 && !*timed_out; ai = ai->ai_next) {
		why = connect_one(ai, deadline_ms, &fd);
		*timed_out = why == ETIMEDOUT && entra_now_ms() >= deadline_ms;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		return fd;
	if (*timed_out)
		return snprintf(err, errlen, "connection to %s timed out", authority), -1;
	return snprintf(err, errlen, "cannot connect to %s: %s", authority, strerror(why)), -1;
}
