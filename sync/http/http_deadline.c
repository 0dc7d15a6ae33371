/* Whole-request and pre-auth deadlines: a watchdog thread over the live connections (see
 * http_deadline.h). The share of slots for unauthenticated connections: http_admit.c. */
#include "sync/http/http_deadline.h"
#include "sync/http/http_deadline_internal.h"
#include "sync/http/http_peer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/errmsg.h"
#include "common/log.h"
#include "sync/scim/scim_api.h"

static const struct entra_logger logger = {"entra-syncd", LOG_DAEMON, true, true};

#define TICK_MS 100

static void now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

static long long ms_between(const struct timespec *from, const struct timespec *to)
{
	return (to->tv_sec - from->tv_sec) * 1000LL + (to->tv_nsec - from->tv_nsec) / 1000000LL;
}

/* Seconds C may spend in its current phase; 0: no limit. Before a valid bearer token every phase
 * (waiting, receiving, being answered) has the short pre-auth deadline. */
static int phase_limit(const struct http_deadline *d, const struct http_deadline_conn *c)
{
	if (!c->authed)
		return d->preauth_s;
	return c->phase == CONN_RESPONDING ? 0 : d->timeout_s;
}

/* Writes REPLY without blocking (a slow client must not stall the watchdog); best effort. */
static void send_nowait(int fd, const char *reply, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = send(fd, reply + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		off += (size_t)n;
	}
}

static void log_late(struct http_deadline *d, const struct http_deadline_conn *c)
{
	unsigned held = 0;
	char more[64] = "";
	if (c->authed) {
		entra_log(&logger, LOG_NOTICE,
		          "request from %s not complete within %d s ([sync] request_timeout): answered 408 and closed "
		          "(a slow or stalled client; raise request_timeout if legitimate requests are this slow)",
		          c->client, d->timeout_s);
		return;
	}
	if (!log_limit_due(&d->preauth_cut, &held))
		return;
	if (held)
		snprintf(more, sizeof(more), "; %u more cut like this since the last message", held);
	entra_log(&logger, LOG_NOTICE,
	          "request from %s not complete within %d s and not authenticated yet (before a valid bearer token, "
	          "[sync] request_timeout but at most %d s): answered 408 and closed (a slow client or a slowloris%s)",
	          c->client, d->preauth_s, HTTP_PREAUTH_TIMEOUT_MAX, more);
}

/* The deadline of C's phase passed: a request still arriving gets a 408 first (plain HTTP). */
static void expire(struct http_deadline *d, struct http_deadline_conn *c)
{
	if (c->phase == CONN_RECEIVING) {
		if (!d->tls && c->authed)
			send_nowait(c->fd, d->reply_408, d->reply_len);
		else if (!d->tls)
			send_nowait(c->fd, d->reply_preauth, d->reply_preauth_len);
		log_late(d, c);
	}
	http_admit_cut_locked(d, c);
}

static void sweep(struct http_deadline *d)
{
	struct timespec at;
	now(&at);
	for (struct http_deadline_conn *c = d->head; c; c = c->next) {
		int limit = c->cut ? 0 : phase_limit(d, c);
		if (limit > 0 && ms_between(&c->since, &at) >= limit * 1000LL)
			expire(d, c);
	}
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

/* The whole HTTP 408 response with DETAIL as its SCIM error. */
static char *build_408(const char *detail, size_t *len)
{
	struct scim_response resp;
	char *body, *out = NULL;
	memset(&resp, 0, sizeof(resp));
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

static bool build_replies(struct http_deadline *d)
{
	char detail[256];
	snprintf(detail, sizeof(detail),
	         "request not complete within %d s ([sync] request_timeout): send the whole request at once",
	         d->timeout_s);
	d->reply_408 = build_408(detail, &d->reply_len);
	snprintf(detail, sizeof(detail),
	         "request not complete within %d s and no valid bearer token yet ([sync] request_timeout, at most "
	         "%d s before authentication): send the whole request at once",
	         d->preauth_s, HTTP_PREAUTH_TIMEOUT_MAX);
	d->reply_preauth = build_408(detail, &d->reply_preauth_len);
	return d->reply_408 && d->reply_preauth;
}

static int init_sync(struct http_deadline *d)
{
	pthread_condattr_t attr;
	if (pthread_condattr_init(&attr) != 0)
		return -1;
	int rc =
	    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 && pthread_cond_init(&d->wake, &attr) == 0 ? 0 : -1;
	pthread_condattr_destroy(&attr);
	if (rc != 0)
		return -1;
	if (pthread_mutex_init(&d->lock, NULL) != 0)
		goto no_lock;
	if (log_limit_init(&d->evicted, 1, LOG_LIMIT_FLOOD_WINDOW_S) != 0)
		goto no_evicted;
	if (log_limit_init(&d->preauth_cut, 1, LOG_LIMIT_FLOOD_WINDOW_S) == 0)
		return 0;
	log_limit_destroy(&d->evicted);
no_evicted:
	pthread_mutex_destroy(&d->lock);
no_lock:
	pthread_cond_destroy(&d->wake);
	return -1;
}

static void destroy_sync(struct http_deadline *d)
{
	log_limit_destroy(&d->preauth_cut);
	log_limit_destroy(&d->evicted);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->wake);
}

/* Everything but the lock and the thread; false when out of memory. */
static bool fill(struct http_deadline *d, const struct http_deadline_opts *o)
{
	d->timeout_s = o->timeout_s;
	d->preauth_s = o->preauth_s;
	d->limit = o->limit;
	d->share = o->share;
	d->tls = o->tls;
	/* The share is at most SHARE connections, plus the newcomer that is about to make room. */
	d->sources = http_source_counts_new(o->share + 1);
	return d->sources && build_replies(d);
}

static void free_parts(struct http_deadline *d)
{
	if (!d)
		return;
	http_source_counts_free(d->sources);
	free(d->reply_408);
	free(d->reply_preauth);
	free(d);
}

struct http_deadline *http_deadline_start(const struct http_deadline_opts *o, char *err, size_t errlen)
{
	struct http_deadline *d = calloc(1, sizeof(*d));
	if (!d || !fill(d, o) || init_sync(d) != 0) {
		free_parts(d);
		entra_errf(err, errlen, "out of memory starting the request_timeout watchdog");
		return NULL;
	}
	int rc = pthread_create(&d->thread, NULL, watchdog, d);
	if (rc != 0) {
		entra_errf(err, errlen, "cannot start the request_timeout watchdog thread: %s", strerror(rc));
		destroy_sync(d);
		free_parts(d);
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
	destroy_sync(d);
	free_parts(d);
}

static void source_of(struct MHD_Connection *con, struct http_source *out)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	http_source_of(ci ? ci->client_addr : NULL, out);
}

static void link_newest(struct http_deadline *d, struct http_deadline_conn *c)
{
	c->next = d->head;
	if (d->head)
		d->head->prev = c;
	else
		d->tail = c;
	d->head = c;
	d->open++;
}

static void unlink_conn(struct http_deadline *d, struct http_deadline_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		d->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		d->tail = c->prev;
	d->open--;
	if (c->cut)
		d->dying--;
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
	source_of(con, &c->source);
	now(&c->since);
	pthread_mutex_lock(&d->lock);
	link_newest(d, c);
	http_admit_enter(d, c);
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
	unlink_conn(d, c);
	http_admit_leave(d, c);
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

void http_deadline_authenticated(struct http_deadline_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->owner->lock);
	if (!c->cut && !c->authed) {
		c->authed = true;
		http_admit_leave(c->owner, c);
	}
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
