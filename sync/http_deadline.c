/* Whole-request deadline: a watchdog thread over the live connections (see http_deadline.h). */
#include "http_deadline.h"
#include "http_request.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "errmsg.h"
#include "log.h"
#include "scim_api.h"

static const struct entra_logger logger = {"entra-syncd", LOG_DAEMON, true, true};

#define TICK_MS 100

enum conn_phase {
	CONN_WAITING,   /* no request line yet: first request, or between keep-alive requests */
	CONN_RECEIVING, /* request line seen, headers or body still arriving */
	CONN_RESPONDING /* the whole request arrived (or was refused early): out of our hands */
};

struct http_deadline_conn {
	struct http_deadline *owner;
	struct http_deadline_conn *prev, *next;
	int fd;
	enum conn_phase phase;
	struct timespec since; /* when the current phase began */
	bool cut;
	char client[64];
};

struct http_deadline {
	pthread_mutex_t lock; /* guards the list, every entry, and stopping */
	pthread_cond_t wake;
	pthread_t thread;
	struct http_deadline_conn *head;
	bool stopping;
	bool tls;
	int timeout_s;
	char *reply_408; /* the whole HTTP response, built once */
	size_t reply_len;
};

static void now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

static bool expired(const struct http_deadline *d, const struct timespec *since, const struct timespec *at)
{
	long long ms = (at->tv_sec - since->tv_sec) * 1000LL + (at->tv_nsec - since->tv_nsec) / 1000000LL;
	return ms >= d->timeout_s * 1000LL;
}

/* Writes the 408 without blocking (a slow client must not stall the watchdog); best effort. */
static void send_408(const struct http_deadline *d, int fd)
{
	size_t off = 0;
	while (off < d->reply_len) {
		ssize_t n = send(fd, d->reply_408 + off, d->reply_len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		off += (size_t)n;
	}
}

/* Shutting the socket down (never closing it: libmicrohttpd owns the descriptor) makes
 * libmicrohttpd see the end of the stream and close the connection in its own thread. */
static void cut(struct http_deadline *d, struct http_deadline_conn *c)
{
	c->cut = true;
	if (c->phase == CONN_RECEIVING) {
		if (!d->tls)
			send_408(d, c->fd);
		entra_log(&logger, LOG_NOTICE,
		          "request from %s not complete within %d s ([sync] request_timeout): answered 408 and closed "
		          "(a slow or stalled client; raise request_timeout if legitimate requests are this slow)",
		          c->client, d->timeout_s);
	}
	shutdown(c->fd, SHUT_RDWR);
}

static void sweep(struct http_deadline *d)
{
	struct timespec at;
	now(&at);
	for (struct http_deadline_conn *c = d->head; c; c = c->next)
		if (!c->cut && c->phase != CONN_RESPONDING && expired(d, &c->since, &at))
			cut(d, c);
}

static void *watchdog(void *arg)
{
	struct http_deadline *d = arg;
	struct timespec until;
	pthread_mutex_lock(&d->lock);
	while (!d->stopping) {
		now(&until);
		until.tv_nsec += TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&d->wake, &d->lock, &until);
		if (!d->stopping)
			sweep(d);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

static char *build_408(int timeout_s, size_t *len)
{
	struct scim_response resp;
	char detail[200], *body, *out = NULL;
	memset(&resp, 0, sizeof(resp));
	snprintf(detail, sizeof(detail),
	         "request not complete within %d s ([sync] request_timeout): send the whole request at once",
	         timeout_s);
	scim_response_error(&resp, 408, NULL, detail);
	body = resp.body ? json_dumps(resp.body, JSON_COMPACT) : NULL;
	scim_response_clear(&resp);
	if (body && asprintf(&out,
	                     "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/scim+json\r\n"
	                     "Cache-Control: no-store\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n%s",
	                     strlen(body), body) < 0)
		out = NULL;
	free(body);
	*len = out ? strlen(out) : 0;
	return out;
}

static int init_sync(struct http_deadline *d)
{
	pthread_condattr_t attr;
	if (pthread_condattr_init(&attr) != 0)
		return -1;
	int rc =
	    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 && pthread_cond_init(&d->wake, &attr) == 0 ? 0 : -1;
	pthread_condattr_destroy(&attr);
	if (rc == 0 && pthread_mutex_init(&d->lock, NULL) != 0) {
		pthread_cond_destroy(&d->wake);
		rc = -1;
	}
	return rc;
}

struct http_deadline *http_deadline_start(int timeout_s, bool tls, char *err, size_t errlen)
{
	struct http_deadline *d = calloc(1, sizeof(*d));
	if (!d || !(d->reply_408 = build_408(timeout_s, &d->reply_len)) || init_sync(d) != 0) {
		if (d)
			free(d->reply_408);
		free(d);
		entra_errf(err, errlen, "out of memory starting the request_timeout watchdog");
		return NULL;
	}
	d->timeout_s = timeout_s;
	d->tls = tls;
	int rc = pthread_create(&d->thread, NULL, watchdog, d);
	if (rc != 0) {
		entra_errf(err, errlen, "cannot start the request_timeout watchdog thread: %s", strerror(rc));
		pthread_cond_destroy(&d->wake);
		pthread_mutex_destroy(&d->lock);
		free(d->reply_408);
		free(d);
		return NULL;
	}
	return d;
}

void http_deadline_stop(struct http_deadline *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->stopping = true;
	pthread_cond_signal(&d->wake);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	while (d->head) { /* none left after MHD_stop_daemon; freed for safety */
		struct http_deadline_conn *c = d->head;
		d->head = c->next;
		free(c);
	}
	pthread_cond_destroy(&d->wake);
	pthread_mutex_destroy(&d->lock);
	free(d->reply_408);
	free(d);
}

static void track(struct http_deadline *d, struct MHD_Connection *con, void **socket_context)
{
	const union MHD_ConnectionInfo *fd = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct http_deadline_conn *c = fd ? calloc(1, sizeof(*c)) : NULL;
	*socket_context = c;
	if (!c)
		return; /* untracked: http_request refuses its requests */
	c->owner = d;
	c->fd = fd->connect_fd;
	c->phase = CONN_WAITING;
	http_client_address(con, c->client, sizeof(c->client));
	now(&c->since);
	pthread_mutex_lock(&d->lock);
	c->next = d->head;
	if (d->head)
		d->head->prev = c;
	d->head = c;
	pthread_mutex_unlock(&d->lock);
}

/* libmicrohttpd closes the descriptor only after this notification: once the entry is unlinked
 * under the lock, the watchdog can never shut down a descriptor number reused by another socket. */
static void untrack(struct http_deadline *d, void **socket_context)
{
	struct http_deadline_conn *c = *socket_context;
	if (!c)
		return;
	pthread_mutex_lock(&d->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		d->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&d->lock);
	free(c);
	*socket_context = NULL;
}

void http_deadline_notify(void *cls, struct MHD_Connection *con, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		track(cls, con, socket_context);
	else if (code == MHD_CONNECTION_NOTIFY_CLOSED)
		untrack(cls, socket_context);
}

struct http_deadline_conn *http_deadline_conn_of(struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

static void enter(struct http_deadline_conn *c, enum conn_phase phase)
{
	c->phase = phase;
	now(&c->since);
}

void http_deadline_request_begins(struct http_deadline_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->owner->lock);
	if (!c->cut)
		enter(c, CONN_RECEIVING);
	pthread_mutex_unlock(&c->owner->lock);
}

bool http_deadline_responding(struct http_deadline_conn *c)
{
	if (!c)
		return false;
	pthread_mutex_lock(&c->owner->lock);
	bool ok = !c->cut;
	if (ok)
		enter(c, CONN_RESPONDING);
	pthread_mutex_unlock(&c->owner->lock);
	return ok;
}

bool http_deadline_request_ends(struct http_deadline_conn *c)
{
	if (!c)
		return false;
	pthread_mutex_lock(&c->owner->lock);
	bool was_cut = c->cut;
	if (!was_cut)
		enter(c, CONN_WAITING);
	pthread_mutex_unlock(&c->owner->lock);
	return was_cut;
}
