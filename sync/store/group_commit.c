/* Leader/follower group commit on state.db's writer connection: see group_commit.h. */
#include "sync/store/group_commit.h"

#include <string.h>

#include "common/log.h"

static const struct entra_logger gc_logger = {"entra-syncd", LOG_DAEMON, true, false};

void group_commit_init(struct group_commit *gc, struct store *writer, gc_prepare_fn prepare, gc_commit_fn on_commit,
                       void *arg)
{
	memset(gc, 0, sizeof(*gc));
	pthread_mutex_init(&gc->lock, NULL);
	pthread_cond_init(&gc->turn_free, NULL);
	pthread_cond_init(&gc->batch_done, NULL);
	gc->writer = writer;
	gc->prepare = prepare;
	gc->on_commit = on_commit;
	gc->arg = arg;
}

void group_commit_destroy(struct group_commit *gc)
{
	pthread_mutex_destroy(&gc->lock);
	pthread_cond_destroy(&gc->turn_free);
	pthread_cond_destroy(&gc->batch_done);
}

/* Called with the lock held. */
static void give_turn(struct group_commit *gc)
{
	gc->turn_taken = false;
	pthread_cond_signal(&gc->turn_free);
}

int group_commit_enter(struct group_commit *gc, struct gc_member *m)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_lock(&gc->lock);
	gc->waiting++;
	while (gc->turn_taken)
		pthread_cond_wait(&gc->turn_free, &gc->lock);
	gc->waiting--;
	gc->turn_taken = true;
	bool open = gc->open;
	pthread_mutex_unlock(&gc->lock);
	/* Only the turn's holder touches the writer and the batch's open flag from here on. */
	if (!open && store_begin(gc->writer, true) != STORE_OK) {
		pthread_mutex_lock(&gc->lock);
		give_turn(gc);
		pthread_mutex_unlock(&gc->lock);
		return -1;
	}
	m->entered = true;
	pthread_mutex_lock(&gc->lock);
	gc->open = true;
	pthread_mutex_unlock(&gc->lock);
	if (store_savepoint(gc->writer) != STORE_OK)
		return -1;
	m->has_savepoint = true;
	return 0;
}

/* Ends M's part in the transaction; false when the batch can no longer commit. */
static bool end_savepoint(struct group_commit *gc, struct gc_member *m)
{
	int rc = STORE_OK;
	if (m->has_savepoint)
		rc = m->outcome == GC_UNDO ? store_savepoint_rollback(gc->writer) : store_savepoint_release(gc->writer);
	return rc == STORE_OK && store_in_transaction(gc->writer);
}

/* COMMIT (or ROLLBACK) of the batch taken off GC; 0 or -1. Runs without the lock, holding the
 * turn, so new requests keep queueing for the next batch meanwhile. */
static int end_transaction(struct group_commit *gc, bool broken, bool any_keep, size_t n)
{
	if (broken) {
		store_rollback(gc->writer);
		entra_log(&gc_logger, LOG_ERR,
		          "state.db rolled back a batch of %zu write request(s) after an SQLite error (logged above): "
		          "each was answered 500 and nothing acknowledged was lost; check disk space and state.db",
		          n);
		return -1;
	}
	if (!any_keep) {
		store_rollback(gc->writer); /* every member failed: nothing to make durable, no fsync */
		return 0;
	}
	if ((gc->prepare && gc->prepare(gc->writer, gc->arg) != 0) || store_commit(gc->writer) != STORE_OK) {
		store_rollback(gc->writer);
		entra_log(&gc_logger, LOG_ERR,
		          "state.db COMMIT of a batch of %zu write request(s) failed: each was answered 500 and "
		          "nothing acknowledged was lost; check disk space and the state.db error above, then let "
		          "the SCIM client retry",
		          n);
		return -1;
	}
	return 0;
}

/* The leader's part, called with the lock held and the turn taken; returns with the lock held. */
static void commit_batch(struct group_commit *gc)
{
	struct gc_member *list = gc->members;
	bool broken = gc->broken, any_keep = gc->any_keep, any_change = gc->any_change;
	size_t n = gc->n_members;
	gc->members = NULL;
	gc->n_members = 0;
	gc->open = gc->broken = gc->any_keep = gc->any_change = false;
	pthread_mutex_unlock(&gc->lock);
	int rc = end_transaction(gc, broken, any_keep, n);
	pthread_mutex_lock(&gc->lock);
	for (struct gc_member *m = list; m; m = m->next) {
		m->result = rc;
		m->done = true;
	}
	give_turn(gc);
	pthread_cond_broadcast(&gc->batch_done);
	if (rc == 0 && any_change && gc->on_commit) {
		pthread_mutex_unlock(&gc->lock);
		gc->on_commit(gc->arg);
		pthread_mutex_lock(&gc->lock);
	}
}

int group_commit_leave(struct group_commit *gc, struct gc_member *m, enum gc_outcome outcome)
{
	if (!m->entered)
		return 0;
	m->outcome = m->has_savepoint ? outcome : GC_UNDO;
	bool intact = end_savepoint(gc, m);
	pthread_mutex_lock(&gc->lock);
	m->next = gc->members;
	gc->members = m;
	gc->n_members++;
	gc->broken |= !intact;
	gc->any_keep |= m->outcome != GC_UNDO;
	gc->any_change |= m->outcome == GC_KEEP;
	/* Nobody queued to join (or the batch is full or broken): commit now, without delay. */
	if (gc->broken || gc->waiting == 0 || gc->n_members >= GROUP_COMMIT_BATCH_MAX) {
		commit_batch(gc);
	} else {
		give_turn(gc);
		while (!m->done)
			pthread_cond_wait(&gc->batch_done, &gc->lock);
	}
	int result = m->result;
	pthread_mutex_unlock(&gc->lock);
	return result;
}
