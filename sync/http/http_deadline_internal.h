/* The tracked connections, shared by the watchdog (http_deadline.c) and the share of slots left
 * to unauthenticated connections (http_admit.c). Every field is guarded by http_deadline.lock. */
#ifndef SYNC_HTTP_DEADLINE_INTERNAL_H
#define SYNC_HTTP_DEADLINE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "common/log_limit.h"
#include "sync/http/http_deadline.h"
#include "sync/http/http_source.h"

enum conn_phase {
	CONN_WAITING,   /* no request line yet: first request, or between keep-alive requests */
	CONN_RECEIVING, /* request line seen, headers or body still arriving */
	CONN_RESPONDING /* the whole request arrived (or was refused early): out of our hands */
};

struct http_deadline_conn {
	struct http_deadline *owner;
	struct http_deadline_conn *prev, *next; /* newer, older */
	int fd;
	enum conn_phase phase;
	struct timespec since; /* when the current phase began */
	bool cut;
	bool authed;  /* a request on it carried a valid bearer token: request_timeout applies */
	bool counted; /* in the unauthenticated share (and in its source's count) */
	struct http_source source;
	char client[64];
};

struct http_deadline {
	pthread_mutex_t lock; /* guards the list, every entry, the counts and stopping */
	pthread_cond_t wake;
	pthread_t thread;
	struct http_deadline_conn *head, *tail; /* newest, oldest */
	bool stopping;
	bool tls;
	int timeout_s;   /* [sync] request_timeout */
	int preauth_s;   /* before a valid bearer token */
	unsigned limit;  /* [sync] max_connections */
	unsigned share;  /* most unauthenticated connections at once */
	unsigned open;   /* tracked connections */
	unsigned dying;  /* cut, not yet closed by libmicrohttpd */
	unsigned unauth; /* counted in the share */
	struct http_source_counts *sources;
	struct log_limit evicted, preauth_cut; /* one line per window each */
	char *reply_408;                       /* whole HTTP responses, built once */
	size_t reply_len;
	char *reply_preauth;
	size_t reply_preauth_len;
};

/* http_admit.c, caller holds the lock. Shuts C down and frees its slot; libmicrohttpd then
 * closes it in its own thread. */
void http_admit_cut_locked(struct http_deadline *d, struct http_deadline_conn *c);
/* A new connection enters the unauthenticated share; when the share (or the last free slot) is
 * taken, the oldest connection of the source holding the most is cut to make room, so a
 * newcomer from any other source always gets in. */
void http_admit_enter(struct http_deadline *d, struct http_deadline_conn *c);
/* C leaves the share: authenticated, cut or closed. Idempotent. */
void http_admit_leave(struct http_deadline *d, struct http_deadline_conn *c);

#endif
