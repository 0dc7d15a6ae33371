/* The feed's life and its waiter thread (sync/feed/feed.h). Requests: feed_http.c. */
#include "sync/feed/feed_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "sync/rules/idalloc.h"
#include "sync/store/store_changes.h"
#include "sync/store/store_feed.h"

static const struct entra_logger logger = {"entra-syncd", LOG_DAEMON, true, true};

#define FEED_TICK_MS 200 /* how often the thread looks at the log without a notify (uid allocations) */

static int policy_set(struct feed *f, const struct entra_config *cfg)
{
	char hash[FEED_POLICY_HASH_LEN + 1];
	json_t *policy = feed_policy_json(cfg);
	if (!policy || feed_policy_hash(policy, hash) != 0) {
		json_decref(policy);
		entra_log(&logger, LOG_ERR, "out of memory rendering the policy for followers; they keep the old one");
		return -1;
	}
	pthread_mutex_lock(&f->lock);
	json_decref(f->policy);
	f->policy = policy;
	memcpy(f->policy_hash, hash, sizeof(hash));
	f->flush = true;
	pthread_cond_signal(&f->wake);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static bool due(const struct feed_waiter *w, long long position, const struct timespec *now, bool all)
{
	return all || position > w->after || now->tv_sec > w->deadline.tv_sec ||
	       (now->tv_sec == w->deadline.tv_sec && now->tv_nsec >= w->deadline.tv_nsec);
}

/* Unlists the due waiters (under the lock) and resumes them after it: a resumed connection may
 * complete at once, and its done callback takes the lock. */
static void wake_due(struct feed *f, long long position, bool all)
{
	struct MHD_Connection *batch[256];
	size_t n;
	do {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		n = 0;
		pthread_mutex_lock(&f->lock);
		for (struct feed_waiter *w = f->waiters, *next; w && n < 256; w = next) {
			next = w->next;
			if (due(w, position, &now, all)) {
				batch[n++] = w->con;
				feed_wait_unlist_locked(f, w);
			}
		}
		pthread_mutex_unlock(&f->lock);
		for (size_t i = 0; i < n; i++)
			MHD_resume_connection(batch[i]);
	} while (n == 256);
}

static long long position_now(struct feed *f)
{
	long long pos = -1;
	if (store_feed_position(store_db(f->watch_db), &pos) != 0)
		pos = -1;
	return pos;
}

static void *waiter_thread(void *arg)
{
	struct feed *f = arg;
	for (;;) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += FEED_TICK_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&f->lock);
		while (!f->dirty && !f->flush && !f->quit)
			if (pthread_cond_timedwait(&f->wake, &f->lock, &until) == ETIMEDOUT)
				break;
		bool all = f->flush || f->stopping, quit = f->quit, any = f->waiters != NULL;
		f->dirty = f->flush = false;
		pthread_mutex_unlock(&f->lock);
		if (quit)
			return NULL;
		if (any || all) {
			long long pos = position_now(f);
			wake_due(f, pos < 0 ? 0 : pos, all);
		}
	}
}

static int db_open(struct feed *f, const struct entra_config *cfg)
{
	char err[512];
	if (!(f->db = store_open(cfg->state_db, err, sizeof(err)))) {
		entra_log(&logger, LOG_ERR, "feed: %s", err);
		return -1;
	}
	sqlite3 *db = store_db(f->db);
	if (store_changes_install(db) != 1 || idalloc_init_schema(db) != 0 || store_feed_install(db) != 0 ||
	    store_feed_hub_id(db, f->hub_id) != 0)
		return -1;
	if (!(f->watch_db = store_open_reader(cfg->state_db, err, sizeof(err)))) {
		entra_log(&logger, LOG_ERR, "feed: %s", err);
		return -1;
	}
	return 0;
}

struct feed *feed_open(const struct entra_config *cfg, unsigned max_waiting)
{
	struct feed *f = calloc(1, sizeof(*f));
	if (!f) {
		entra_log(&logger, LOG_ERR, "feed: out of memory");
		return NULL;
	}
	pthread_mutex_init(&f->db_lock, NULL);
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->wake, NULL);
	f->max_waiting = max_waiting ? max_waiting : 1;
	f->route = (struct http_route){FEED_PREFIX, TOKEN_SCOPE_FOLLOW, feed_http_handle, feed_http_done, f};
	if (db_open(f, cfg) != 0 || policy_set(f, cfg) != 0) {
		feed_close(f);
		return NULL;
	}
	if (pthread_create(&f->thread, NULL, waiter_thread, f) != 0) {
		entra_log(&logger, LOG_ERR, "feed: cannot start its thread: %s", strerror(errno));
		feed_close(f);
		return NULL;
	}
	f->thread_started = true;
	entra_log(&logger, LOG_INFO, "serving the follower feed under " FEED_PREFIX " as hub %s (at most %u waiting)",
	          f->hub_id, f->max_waiting);
	return f;
}

const struct http_route *feed_route(struct feed *f)
{
	return &f->route;
}

void feed_notify(struct feed *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->dirty = true;
	pthread_cond_signal(&f->wake);
	pthread_mutex_unlock(&f->lock);
}

void feed_reload(struct feed *f, const struct entra_config *cfg)
{
	if (f)
		policy_set(f, cfg);
}

void feed_shutdown(struct feed *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->stopping = true;
	pthread_mutex_unlock(&f->lock);
	wake_due(f, 0, true);
}

void feed_close(struct feed *f)
{
	if (!f)
		return;
	if (f->thread_started) {
		pthread_mutex_lock(&f->lock);
		f->quit = true;
		pthread_cond_signal(&f->wake);
		pthread_mutex_unlock(&f->lock);
		pthread_join(f->thread, NULL);
	}
	if (f->snap)
		MHD_destroy_response(f->snap);
	store_close(f->watch_db);
	store_close(f->db);
	json_decref(f->policy);
	pthread_cond_destroy(&f->wake);
	pthread_mutex_destroy(&f->lock);
	pthread_mutex_destroy(&f->db_lock);
	free(f);
}
