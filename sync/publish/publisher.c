/* The publisher thread (sync/publish/publisher.h): debounces change notifications and publishes
 * cache.db from its own state.db connection through a publish engine (sync/publish/publish_engine.h):
 * incremental after a SCIM change or a change of /etc/passwd or /etc/group (polled), in full
 * at start, after SIGHUP and on any doubt. */
#include "sync/publish/publisher.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "sync/publish/cache_writer.h"
#include "sync/publish/publish_engine.h"
#include "sync/rules/idalloc.h"
#include "sync/rules/names.h"
#include "sync/store/directory.h"

static const struct entra_logger logger = {"entra-syncd", LOG_DAEMON, true, false};

#define FIRST_CHANGE_DELAY_MS 50   /* lets the rest of a burst arrive before the first publish */
#define RETRY_DELAY_MS        5000 /* after a failed publish, unless a change comes first */
/* How often the thread stats /etc/passwd and /etc/group: two stat(2) calls, so a name that
 * became local (useradd, vipw, a config manager) leaves the cache within about a second. A
 * poll, not inotify: it also sees a file bind-mounted or replaced in a container, and needs no
 * watch to re-arm when useradd renames a new file into place. */
#define LOCAL_POLL_MS 1000
/* A lone change (a client that waits for the previous one to become visible) is published
 * FIRST_CHANGE_DELAY_MS after it arrives, but no sooner than half the last publish's duration
 * after it ended (an incremental publish is short, so that is soon) nor later than one
 * publish_interval_ms after the last publish started. A burst (BURST_MIN_CHANGES or more since
 * the last publish started) waits that interval, and during a sustained burst (several changes
 * while a publish runs) also BURST_BACKOFF_FACTOR times that duration, so the publisher takes
 * at most a third of a core and SCIM ingest is not starved. Once no change has come for
 * BURST_QUIET_MS the burst is over: what is pending is published like a lone change, so the
 * last changes of a burst (and the first one after it) do not wait out a back-off. */
#define LONE_PAUSE_DIVISOR   2
#define BURST_BACKOFF_FACTOR 2
#define BURST_MIN_CHANGES    2
#define BURST_QUIET_MS       100

struct publisher {
	pthread_mutex_t lock;
	pthread_cond_t wake; /* to the thread: something to do */
	pthread_cond_t done; /* from the thread: a publish finished */
	pthread_t thread;
	const struct entra_config *cfg;
	bool pending, urgent, busy, stop;
	bool resume;                  /* the last publish was deferred: the next one starts at once */
	bool reload;                  /* the next publish rebuilds everything (SIGHUP) */
	long long pending_since_ms;   /* monotonic ms of the first unpublished change */
	long long last_change_ms;     /* ... and of the last notification */
	long long last_publish_ms;    /* monotonic ms of the last publish start, 0 = never */
	long long last_end_ms;        /* ... and of its end */
	unsigned changes_while_busy;  /* notifications during the running (or last) publish */
	unsigned changes_since_start; /* notifications since the last publish started */
	unsigned long long started, finished;
	/* owned by the thread */
	sqlite3 *db;
	struct publish_engine *engine;
	struct names_local_stamp local_seen; /* the local files the last publish read */
	bool local_stamped;
	long long next_poll_ms;
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timespec deadline_of(long long ms)
{
	return (struct timespec){.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
}

/* The engine's question after the rules ran (publish_engine_on_more): did a lone change come
 * meanwhile? Not during a burst, which the back-off paces instead (skipping writes there would
 * only add evaluations), nor at shutdown, whose last publish must be written. */
static bool more_pending(void *arg)
{
	struct publisher *p = arg;
	pthread_mutex_lock(&p->lock);
	bool more = p->pending && !p->stop && p->changes_while_busy < BURST_MIN_CHANGES;
	pthread_mutex_unlock(&p->lock);
	return more;
}

static int publish_once(struct publisher *p, const struct entra_config *cfg, bool full)
{
	struct names_local local;
	struct publish_result res;
	long long t0 = now_ms();
	int rc = -1;
	names_local_stamp(NAMES_PASSWD_FILE, NAMES_GROUP_FILE, &p->local_seen);
	p->local_stamped = true;
	if (names_local_load(NAMES_PASSWD_FILE, NAMES_GROUP_FILE, &local) == 0) {
		rc = publish_engine_run(p->engine, cfg, p->db, &local, full, &res);
		names_local_free(&local);
	}
	if (rc == 0 && res.deferred) {
		entra_log(&logger, LOG_DEBUG, "publish of %s deferred: more changes came while the rules ran (%.0f ms)",
		          cfg->cache_db, res.ms_evaluate);
		pthread_mutex_lock(&p->lock);
		p->resume = true;
		pthread_mutex_unlock(&p->lock);
	} else if (rc == 0 && res.incremental)
		entra_log(&logger, LOG_INFO,
		          "published %s generation %lld: %zu accounts, %zu groups, %zu refused (incremental: %zu "
		          "changes, %zu rows; %lld ms: changes %.0f, rules %.0f, write %.0f)",
		          cfg->cache_db, res.generation, res.accounts, res.groups, res.refused, res.changes, res.rows,
		          now_ms() - t0, res.ms_changes, res.ms_evaluate, res.ms_write);
	else if (rc == 0)
		entra_log(&logger, LOG_INFO,
		          "published %s generation %lld: %zu accounts, %zu groups, %zu refused (%lld ms)",
		          cfg->cache_db, res.generation, res.accounts, res.groups, res.refused, now_ms() - t0);
	else
		entra_log(&logger, LOG_ERR,
		          "cache.db not published; readers keep the previous snapshot; entra-syncd "
		          "retries on the next change or in %d s",
		          RETRY_DELAY_MS / 1000);
	return rc;
}

/* When the pending changes may be published (see BURST_BACKOFF_FACTOR). */
static long long due_ms(const struct publisher *p)
{
	if (p->urgent || p->resume)
		return 0;
	long long interval = p->cfg->publish_interval_ms;
	long long first = p->pending_since_ms + (interval < FIRST_CHANGE_DELAY_MS ? interval : FIRST_CHANGE_DELAY_MS);
	if (!p->last_publish_ms)
		return first;
	long long took = p->last_end_ms - p->last_publish_ms;
	long long rest = p->last_end_ms + BURST_BACKOFF_FACTOR * took;
	long long next_interval = p->last_publish_ms + interval;
	long long pause = p->last_end_ms + took / LONE_PAUSE_DIVISOR;
	/* A lone change never waits longer than the interval would make it (after a long full publish). */
	long long spaced = pause < next_interval ? pause : next_interval;
	if (p->changes_since_start >= BURST_MIN_CHANGES) {
		long long burst =
		    p->changes_while_busy >= BURST_MIN_CHANGES && rest > next_interval ? rest : next_interval;
		long long quiet = p->last_change_ms + BURST_QUIET_MS; /* the burst is over then */
		if (quiet < spaced)
			quiet = spaced;
		spaced = burst < quiet ? burst : quiet;
	}
	return first > spaced ? first : spaced;
}

static void run_one(struct publisher *p)
{
	const struct entra_config *cfg = p->cfg;
	bool full = p->reload;
	p->pending = p->urgent = p->reload = p->resume = false;
	p->busy = true;
	p->changes_while_busy = p->changes_since_start = 0;
	p->started++;
	p->last_publish_ms = now_ms();
	pthread_mutex_unlock(&p->lock);
	int rc = publish_once(p, cfg, full);
	pthread_mutex_lock(&p->lock);
	p->last_end_ms = now_ms();
	p->busy = false;
	if (!p->resume) /* else nothing was written: publisher_flush waits for the publish that follows */
		p->finished = p->started;
	if (rc && !p->pending) {
		p->pending = true;
		p->pending_since_ms = now_ms() + RETRY_DELAY_MS;
	}
	pthread_cond_broadcast(&p->done);
}

/* Marks a change pending, to be published like a lone SCIM change; it cancels a retry
 * back-off. Lock held. */
static void pending_mark(struct publisher *p)
{
	if (!p->pending || p->pending_since_ms > now_ms()) {
		p->pending = true;
		p->pending_since_ms = now_ms();
	}
}

/* With the lock held (released while stat runs): when /etc/passwd or /etc/group changed since
 * the last publish read them, publish again, so the cache stops serving a name or id that has
 * become local (names_local_load refuses those) without waiting for the next SCIM change. */
static void local_poll(struct publisher *p)
{
	struct names_local_stamp now;
	p->next_poll_ms = now_ms() + LOCAL_POLL_MS;
	if (!p->local_stamped)
		return; /* the first publish is pending and will read them */
	pthread_mutex_unlock(&p->lock);
	names_local_stamp(NAMES_PASSWD_FILE, NAMES_GROUP_FILE, &now);
	pthread_mutex_lock(&p->lock);
	const char *changed = names_local_changed(&p->local_seen, &now);
	if (!changed)
		return;
	entra_log(&logger, LOG_NOTICE,
	          "%s changed since the last publish; publishing again so that no Entra account or group "
	          "keeps a name or id that is now local",
	          changed);
	p->local_seen = now; /* one line per change, however long the publish waits */
	pending_mark(p);
}

static void *publisher_main(void *arg)
{
	struct publisher *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		if (now_ms() >= p->next_poll_ms) {
			local_poll(p);
			continue; /* it released the lock: stop and pending may have changed */
		}
		long long wake = p->next_poll_ms;
		if (p->pending) {
			long long due = due_ms(p);
			if (now_ms() >= due) {
				run_one(p);
				continue;
			}
			wake = due < wake ? due : wake;
		}
		struct timespec ts = deadline_of(wake);
		pthread_cond_timedwait(&p->wake, &p->lock, &ts);
	}
	if (p->pending) /* the last change before shutdown still reaches the readers */
		run_one(p);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static int db_open(struct publisher *p, const char *path)
{
	/* Created 0600 here if the SCIM store has not created it yet: state.db holds token hashes. */
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		entra_log(&logger, LOG_ERR,
		          "cannot open %s: %s; create its directory (mode 0700, owned by the "
		          "entra-syncd user)",
		          path, strerror(errno));
		return -1;
	}
	close(fd);
	if (!(p->db = store_directory_open(path, PUBLISH_BUSY_TIMEOUT_MS)))
		return -1;
	return idalloc_init_schema(p->db);
}

static int sync_init(struct publisher *p)
{
	pthread_condattr_t attr;
	if (pthread_condattr_init(&attr))
		return -1;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	int rc = pthread_mutex_init(&p->lock, NULL) || pthread_cond_init(&p->wake, &attr) ||
	         pthread_cond_init(&p->done, NULL);
	pthread_condattr_destroy(&attr);
	return rc ? -1 : 0;
}

/* What publisher_start set up, once its thread is gone (or never started). */
static void publisher_free(struct publisher *p)
{
	publish_engine_free(p->engine);
	sqlite3_close(p->db);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->wake);
	pthread_cond_destroy(&p->done);
	free(p);
}

struct publisher *publisher_start(const struct entra_config *cfg)
{
	struct publisher *p = calloc(1, sizeof(*p));
	if (!p) {
		entra_log(&logger, LOG_ERR, "out of memory starting the publisher");
		return NULL;
	}
	p->cfg = cfg;
	if (sync_init(p)) {
		free(p);
		return NULL;
	}
	if ((p->engine = publish_engine_new()))
		publish_engine_on_more(p->engine, more_pending, p);
	if (!p->engine || db_open(p, cfg->state_db) || pthread_create(&p->thread, NULL, publisher_main, p)) {
		entra_log(&logger, LOG_ERR, "cannot start the publisher (out of memory or state.db unusable)");
		publisher_free(p);
		return NULL;
	}
	cache_remove_stale_temps(cfg->cache_db);
	pthread_mutex_lock(&p->lock);
	p->pending = p->urgent = true;
	pthread_mutex_unlock(&p->lock);
	publisher_flush(p);
	return p;
}

void publisher_notify(struct publisher *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	if (p->busy)
		p->changes_while_busy++;
	p->changes_since_start++;
	p->last_change_ms = now_ms();
	pending_mark(p);
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

void publisher_reload(struct publisher *p, const struct entra_config *cfg)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	while (p->busy) /* the running publish may still read the old config */
		pthread_cond_wait(&p->done, &p->lock);
	p->cfg = cfg;
	p->pending = p->urgent = p->reload = true;
	p->pending_since_ms = now_ms();
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

void publisher_flush(struct publisher *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	unsigned long long target = p->pending ? p->started + 1 : p->busy ? p->started : p->finished;
	if (p->pending) {
		p->urgent = true;
		pthread_cond_signal(&p->wake);
	}
	while (p->finished < target && !p->stop)
		pthread_cond_wait(&p->done, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

void publisher_stop(struct publisher *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->wake);
	pthread_cond_broadcast(&p->done);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	publisher_free(p);
}
