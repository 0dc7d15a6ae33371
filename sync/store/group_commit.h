/* Group commit on state.db's one writer connection (leader/follower).
 *
 * A write request takes the writer turn (group_commit_enter), does its SQL inside the open
 * batch transaction under its own savepoint, and gives the turn back (group_commit_leave).
 * If nobody is waiting for the turn, it commits the batch at once (no fixed delay, so a lone
 * request costs what it did before); otherwise it hands the turn on and sleeps until a later
 * member commits. Requests arriving during a COMMIT's fsync queue and form the next batch,
 * so one fsync covers them all. group_commit_leave returns only after the COMMIT that holds
 * the request's changes has returned: answer the client after it, never before.
 * Thread-safe; the writer connection may be touched only between enter and leave. */
#ifndef SYNC_GROUP_COMMIT_H
#define SYNC_GROUP_COMMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "sync/store/store.h"

#define GROUP_COMMIT_BATCH_MAX 256 /* bounds the wait of a batch's first member under load */

enum gc_outcome {
	GC_UNDO,  /* the request failed: roll back to its savepoint */
	GC_KEEP,  /* the request changed data: keep it, and call on_commit after the COMMIT */
	GC_TOUCH, /* keep it, but nothing visible changed (the prepare hook's bookkeeping only) */
};

/* One request's place in a batch; lives on the request's stack. */
struct gc_member {
	bool entered, has_savepoint;
	enum gc_outcome outcome;
	bool done; /* the batch ended: RESULT is final */
	int result;
	struct gc_member *next;
};

/* PREPARE runs on the writer just before each COMMIT (bookkeeping rows; non-zero fails the
 * batch). ON_COMMIT runs once per committed batch in which some member kept GC_KEEP changes,
 * outside every lock. Either may be NULL. */
typedef int (*gc_prepare_fn)(struct store *writer, void *arg);
typedef void (*gc_commit_fn)(void *arg);

struct group_commit {
	pthread_mutex_t lock;
	pthread_cond_t turn_free;  /* the writer turn was given back */
	pthread_cond_t batch_done; /* a batch ended: its members may answer */
	struct store *writer;
	bool turn_taken;  /* a member runs SQL on the writer, or a leader commits */
	unsigned waiting; /* requests waiting for the turn: while any, the batch stays open */
	bool open;        /* the batch transaction has begun */
	bool broken;      /* SQLite rolled the batch back under a member: it fails as a whole */
	bool any_keep, any_change;
	struct gc_member *members; /* the open batch's members */
	size_t n_members;
	gc_prepare_fn prepare;
	gc_commit_fn on_commit;
	void *arg;
};

void group_commit_init(struct group_commit *gc, struct store *writer, gc_prepare_fn prepare, gc_commit_fn on_commit,
                       void *arg);
void group_commit_destroy(struct group_commit *gc);
/* Waits for the writer turn, begins or joins the batch transaction and sets M's savepoint.
 * 0, or -1 (logged) when the writer cannot start: call group_commit_leave in both cases. */
int group_commit_enter(struct group_commit *gc, struct gc_member *m);
/* Keeps or undoes M's changes, gives the turn back and waits until M's batch ended.
 * 0 when the batch committed (or M had nothing to commit), -1 when it failed: every member
 * of a failed batch must answer with an error, since none of its changes is stored. */
int group_commit_leave(struct group_commit *gc, struct gc_member *m, enum gc_outcome outcome);

#endif
