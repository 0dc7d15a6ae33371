/* Private to sync/feed: the feed's state shared by its thread (feed.c) and the requests
 * (feed_http.c). */
#ifndef SYNC_FEED_INTERNAL_H
#define SYNC_FEED_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "sync/feed/feed.h"
#include "sync/feed/feed_policy.h"
#include "sync/store/store.h"

/* One held long-poll: listed while its connection is suspended. */
struct feed_waiter {
	struct MHD_Connection *con;
	long long after;
	struct timespec deadline; /* CLOCK_MONOTONIC */
	bool listed;
	struct feed_waiter *prev, *next;
};

/* Per request (the route's *state). */
struct feed_request {
	struct feed_waiter waiter;
	bool waited; /* was suspended once: answer now, whatever there is */
};

struct feed {
	struct http_route route;
	char hub_id[STORE_ID_LEN + 1];

	pthread_mutex_t db_lock; /* the requests' connection */
	struct store *db;
	struct store *watch_db; /* the waiter thread's own: a long snapshot never delays a wake-up */
	/* The last snapshot answer (under db_lock), queued again to every follower that asks while
	 * the log and the policy stay where they were: a fleet bootstrapping at once costs one
	 * snapshot in memory, not one per follower. */
	struct MHD_Response *snap;
	long long snap_cursor;
	char snap_hash[FEED_POLICY_HASH_LEN + 1];

	pthread_mutex_t lock; /* everything below */
	pthread_cond_t wake;
	json_t *policy;
	char policy_hash[FEED_POLICY_HASH_LEN + 1];
	bool dirty;    /* feed_notify since the thread last looked */
	bool flush;    /* answer every waiter now (reload, shutdown) */
	bool stopping; /* hold no more requests */
	bool quit;
	struct feed_waiter *waiters;
	unsigned n_waiting, max_waiting;
	pthread_t thread;
	bool thread_started;
};

enum MHD_Result feed_http_handle(void *arg, struct MHD_Connection *con, const char *url, void **state, int *status);
void feed_http_done(void *arg, void *state);

/* Lists W (suspending its connection) unless the feed is stopping or full: false then. */
bool feed_wait_add(struct feed *f, struct feed_waiter *w);
/* Takes W off the list; F->lock held. */
void feed_wait_unlist_locked(struct feed *f, struct feed_waiter *w);
/* Unlists W if it is still listed (its connection closed while held: a daemon stop). */
void feed_wait_forget(struct feed *f, struct feed_waiter *w);
/* The current policy and its hash, referenced (json_decref it). */
json_t *feed_policy_get(struct feed *f, char hash[FEED_POLICY_HASH_LEN + 1]);

#endif
