/* The share of the connection slots that unauthenticated connections may hold, who makes room
 * when it is full, and the cut that frees a slot (see http_deadline_internal.h). Below the
 * watchdog (http_deadline.c), which calls in here and is never called back. */
#include "sync/http/http_deadline_internal.h"

#include <stdio.h>
#include <sys/socket.h>

#include "common/log.h"

static const struct entra_logger logger = {"entra-syncd", LOG_DAEMON, true, true};

/* Shutting the socket down (never closing it: libmicrohttpd owns the descriptor) makes
 * libmicrohttpd see the end of the stream and close the connection in its own thread. */
void http_admit_cut_locked(struct http_deadline *d, struct http_deadline_conn *c)
{
	c->cut = true;
	d->dying++;
	http_admit_leave(d, c);
	shutdown(c->fd, SHUT_RDWR);
}

/* Over the share, or holding the last slot libmicrohttpd has: the next connection could not be
 * accepted, and it may be Entra's. Connections already cut free their slots on their own. */
static bool over_share(const struct http_deadline *d)
{
	if (d->unauth > d->share)
		return true;
	return d->unauth > 1 && d->open - d->dying >= d->limit;
}

/* The oldest counted connection of a source that holds the most. */
static struct http_deadline_conn *victim(const struct http_deadline *d)
{
	unsigned most = http_source_counts_max(d->sources);
	for (struct http_deadline_conn *c = d->tail; c; c = c->prev)
		if (c->counted && http_source_counts_get(d->sources, &c->source) == most)
			return c;
	return NULL;
}

static void evict(struct http_deadline *d, struct http_deadline_conn *v)
{
	unsigned held = 0, from_source = http_source_counts_get(d->sources, &v->source);
	char more[64] = "";
	if (log_limit_due(&d->evicted, &held)) {
		if (held)
			snprintf(more, sizeof(more), "; %u more closed like this since the last message", held);
		entra_log(&logger, LOG_NOTICE,
		          "no slot left for connections without a valid bearer token (at most %u of the %u of [sync] "
		          "max_connections, and never the last free one): closed the oldest from %s, whose %s held "
		          "%u (a flood of connections or a slowloris%s)",
		          d->share, d->limit, v->client, v->source.len == 8 ? "/64" : "address", from_source, more);
	}
	http_admit_cut_locked(d, v);
}

void http_admit_enter(struct http_deadline *d, struct http_deadline_conn *c)
{
	if (http_source_counts_add(d->sources, &c->source) == 0) {
		http_admit_cut_locked(d, c); /* cannot happen: the counts hold share + 1 */
		return;
	}
	c->counted = true;
	d->unauth++;
	while (over_share(d)) {
		struct http_deadline_conn *v = victim(d);
		if (!v)
			break;
		evict(d, v);
	}
}

void http_admit_leave(struct http_deadline *d, struct http_deadline_conn *c)
{
	if (!c->counted)
		return;
	c->counted = false;
	d->unauth--;
	http_source_counts_remove(d->sources, &c->source);
}
