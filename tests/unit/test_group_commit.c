/* Unit tests for group commit (sync/store/group_commit.c) on a real temp state.db: batches form
 * while the writer is busy, a member's failure undoes only its own changes, a failed COMMIT or
 * a transaction SQLite rolled back fails every member of the batch, readers see only what was
 * committed. */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sqlite_files.h"
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sync/store/group_commit.h"
#include "sync/store/store.h"

struct fixture {
	char dir[64];
	char path[128];
	struct store *writer, *reader;
	struct group_commit gc;
	pthread_mutex_t lock; /* guards the counters below, bumped from the hooks */
	int prepares, commits;
	int fail_prepare;          /* the next prepare hook fails */
	unsigned prepare_sleep_us; /* stands in for the fsync during which requests queue */
};

static int prepare_hook(struct store *writer, void *arg)
{
	struct fixture *f = arg;
	(void)writer;
	if (f->prepare_sleep_us)
		usleep(f->prepare_sleep_us);
	pthread_mutex_lock(&f->lock);
	f->prepares++;
	int fail = f->fail_prepare;
	f->fail_prepare = 0;
	pthread_mutex_unlock(&f->lock);
	return fail ? -1 : 0;
}

static void commit_hook(void *arg)
{
	struct fixture *f = arg;
	pthread_mutex_lock(&f->lock);
	f->commits++;
	pthread_mutex_unlock(&f->lock);
}

static int setup(void **state)
{
	char err[256];
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-gc-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/state.db", f->dir);
	f->writer = store_open(f->path, err, sizeof(err));
	assert_non_null(f->writer);
	f->reader = store_open_reader(f->path, err, sizeof(err));
	assert_non_null(f->reader);
	pthread_mutex_init(&f->lock, NULL);
	group_commit_init(&f->gc, f->writer, prepare_hook, commit_hook, f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	group_commit_destroy(&f->gc);
	store_close(f->reader);
	store_close(f->writer);
	pthread_mutex_destroy(&f->lock);
	sqlite_files_remove(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Inserts user NAME on the writer (the caller holds the turn). */
static int insert_user(struct fixture *f, const char *name)
{
	char id[STORE_ID_LEN + 1], now[STORE_TIME_LEN];
	json_t *u = json_pack("{s:s}", "userName", name);
	store_now(now);
	assert_int_equal(store_new_id(id), 0);
	int rc = store_insert(f->writer, SCIM_USER, id, u, now);
	json_decref(u);
	return rc;
}

/* Whether the read-only connection sees user NAME. */
static bool reader_sees(struct fixture *f, const char *name)
{
	sqlite3_stmt *s;
	assert_int_equal(
	    sqlite3_prepare_v2(store_db(f->reader), "SELECT count(*) FROM users WHERE user_name = ?1", -1, &s, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	long long n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n == 1;
}

/* One request on its own thread: enter, insert OWN and then SHARED (may conflict), leave. */
struct request {
	struct fixture *f;
	const char *own, *shared;
	enum gc_outcome outcome;
	bool lose_transaction; /* roll the whole transaction back, as SQLite does on SQLITE_FULL */
	int own_rc, shared_rc, result;
};

static void *run_request(void *arg)
{
	struct request *r = arg;
	struct gc_member m;
	assert_int_equal(group_commit_enter(&r->f->gc, &m), 0);
	r->own_rc = insert_user(r->f, r->own);
	r->shared_rc = r->shared ? insert_user(r->f, r->shared) : STORE_OK;
	if (r->lose_transaction)
		sqlite3_exec(store_db(r->f->writer), "ROLLBACK", NULL, NULL, NULL);
	r->result = group_commit_leave(&r->f->gc, &m, r->outcome);
	return NULL;
}

/* Waits until N requests queue for the writer turn. */
static void wait_for_waiters(struct fixture *f, unsigned n)
{
	for (int i = 0; i < 10000; i++) {
		pthread_mutex_lock(&f->gc.lock);
		unsigned w = f->gc.waiting;
		pthread_mutex_unlock(&f->gc.lock);
		if (w >= n)
			return;
		usleep(1000);
	}
	fail_msg("%u requests never queued for the writer", n);
}

static void lone_request_commits_at_once(void **state)
{
	struct fixture *f = *state;
	struct gc_member m;
	assert_int_equal(group_commit_enter(&f->gc, &m), 0);
	assert_int_equal(insert_user(f, "alone@contoso.com"), STORE_OK);
	assert_false(reader_sees(f, "alone@contoso.com")); /* not committed yet */
	assert_int_equal(group_commit_leave(&f->gc, &m, GC_KEEP), 0);
	assert_true(reader_sees(f, "alone@contoso.com"));
	assert_int_equal(f->prepares, 1);
	assert_int_equal(f->commits, 1);
	assert_false(store_in_transaction(f->writer));
}

/* Three requests in one batch: the first undoes its rows, the other two keep theirs; the
 * uniqueness of "dup" is judged against the batch as it stands after the undo. */
static void undo_mid_batch_keeps_the_others(void **state)
{
	struct fixture *f = *state;
	struct gc_member m;
	struct request a = {f, "a@contoso.com", "dup@contoso.com", GC_KEEP, false, 0, 0, 0};
	struct request c = {f, "c@contoso.com", "dup@contoso.com", GC_KEEP, false, 0, 0, 0};
	pthread_t ta, tc;
	assert_int_equal(group_commit_enter(&f->gc, &m), 0);
	assert_int_equal(insert_user(f, "undone@contoso.com"), STORE_OK);
	assert_int_equal(insert_user(f, "dup@contoso.com"), STORE_OK);
	pthread_create(&ta, NULL, run_request, &a);
	wait_for_waiters(f, 1);
	pthread_create(&tc, NULL, run_request, &c);
	wait_for_waiters(f, 2);
	assert_int_equal(group_commit_leave(&f->gc, &m, GC_UNDO), 0);
	pthread_join(ta, NULL);
	pthread_join(tc, NULL);
	assert_int_equal(a.own_rc, STORE_OK);
	assert_int_equal(c.own_rc, STORE_OK);
	/* exactly one of the two got "dup": the undone first row no longer holds it, the
	 * batched (uncommitted) row of the other one does */
	assert_true((a.shared_rc == STORE_OK) != (c.shared_rc == STORE_OK));
	assert_int_equal(a.shared_rc == STORE_OK ? c.shared_rc : a.shared_rc, STORE_CONFLICT);
	assert_int_equal(a.result, 0);
	assert_int_equal(c.result, 0);
	assert_int_equal(f->prepares, 1); /* one COMMIT for the whole batch */
	assert_int_equal(f->commits, 1);
	assert_false(reader_sees(f, "undone@contoso.com"));
	assert_true(reader_sees(f, "a@contoso.com"));
	assert_true(reader_sees(f, "c@contoso.com"));
	assert_true(reader_sees(f, "dup@contoso.com"));
}

/* A COMMIT that fails (here: its prepare step) fails every member, keeps nothing, and the next
 * batch works again. */
static void failed_commit_fails_every_member(void **state)
{
	struct fixture *f = *state;
	struct gc_member m;
	struct request a = {f, "fa@contoso.com", NULL, GC_KEEP, false, 0, 0, 0};
	struct request u = {f, "fu@contoso.com", NULL, GC_UNDO, false, 0, 0, 0};
	pthread_t ta, tu;
	f->fail_prepare = 1;
	assert_int_equal(group_commit_enter(&f->gc, &m), 0);
	assert_int_equal(insert_user(f, "fm@contoso.com"), STORE_OK);
	pthread_create(&ta, NULL, run_request, &a);
	pthread_create(&tu, NULL, run_request, &u);
	wait_for_waiters(f, 2);
	assert_int_equal(group_commit_leave(&f->gc, &m, GC_KEEP), -1);
	pthread_join(ta, NULL);
	pthread_join(tu, NULL);
	assert_int_equal(a.result, -1);
	assert_int_equal(u.result, -1); /* its 4xx was judged against rows that are gone */
	assert_int_equal(f->commits, 0);
	assert_false(reader_sees(f, "fm@contoso.com"));
	assert_false(reader_sees(f, "fa@contoso.com"));
	assert_false(store_in_transaction(f->writer));
	/* nothing is stuck: the same names can be written now */
	assert_int_equal(group_commit_enter(&f->gc, &m), 0);
	assert_int_equal(insert_user(f, "fm@contoso.com"), STORE_OK);
	assert_int_equal(group_commit_leave(&f->gc, &m, GC_KEEP), 0);
	assert_true(reader_sees(f, "fm@contoso.com"));
	assert_int_equal(f->commits, 1);
}

/* SQLite may roll a whole transaction back on its own (full disk, I/O error): the member that
 * notices ends the batch at once as failed, and its earlier members fail with it. */
static void transaction_lost_under_a_member_fails_the_batch(void **state)
{
	struct fixture *f = *state;
	struct gc_member m;
	struct request a = {f, "la@contoso.com", NULL, GC_KEEP, true, 0, 0, 0};
	pthread_t ta;
	assert_int_equal(group_commit_enter(&f->gc, &m), 0);
	assert_int_equal(insert_user(f, "lm@contoso.com"), STORE_OK);
	pthread_create(&ta, NULL, run_request, &a);
	wait_for_waiters(f, 1);
	assert_int_equal(group_commit_leave(&f->gc, &m, GC_KEEP), -1); /* follower of A's batch */
	pthread_join(ta, NULL);
	assert_int_equal(a.result, -1);
	assert_int_equal(f->prepares, 0);
	assert_int_equal(f->commits, 0);
	assert_false(reader_sees(f, "lm@contoso.com"));
	assert_false(reader_sees(f, "la@contoso.com"));
	/* the next request starts a fresh transaction */
	assert_int_equal(group_commit_enter(&f->gc, &m), 0);
	assert_int_equal(insert_user(f, "lm@contoso.com"), STORE_OK);
	assert_int_equal(group_commit_leave(&f->gc, &m, GC_KEEP), 0);
	assert_true(reader_sees(f, "lm@contoso.com"));
}

/* The prepare hook rolls the transaction back behind the batch's back, as SQLite does on
 * SQLITE_FULL: the batch must not commit the rest as if nothing happened. */
static int rollback_hook(struct store *writer, void *arg)
{
	(void)arg;
	sqlite3_exec(store_db(writer), "ROLLBACK", NULL, NULL, NULL);
	return 0;
}

static void transaction_lost_before_commit_fails_the_batch(void **state)
{
	struct fixture *f = *state;
	struct gc_member m;
	f->gc.prepare = rollback_hook;
	assert_int_equal(group_commit_enter(&f->gc, &m), 0);
	assert_int_equal(insert_user(f, "gone@contoso.com"), STORE_OK);
	assert_int_equal(group_commit_leave(&f->gc, &m, GC_KEEP), -1);
	assert_false(reader_sees(f, "gone@contoso.com"));
	f->gc.prepare = prepare_hook;
}

/* Many threads writing at once share COMMITs, and every acknowledged row is there. */
#define THREADS    16
#define PER_THREAD 40

struct worker {
	struct fixture *f;
	int n, failures;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	char name[64];
	for (int i = 0; i < PER_THREAD; i++) {
		struct gc_member m;
		snprintf(name, sizeof(name), "w%d-%d@contoso.com", w->n, i);
		if (group_commit_enter(&w->f->gc, &m) != 0 || insert_user(w->f, name) != STORE_OK) {
			w->failures++;
			group_commit_leave(&w->f->gc, &m, GC_UNDO);
			continue;
		}
		if (group_commit_leave(&w->f->gc, &m, GC_KEEP) != 0)
			w->failures++;
	}
	return NULL;
}

static void concurrent_writers_share_commits(void **state)
{
	struct fixture *f = *state;
	struct worker w[THREADS];
	pthread_t t[THREADS];
	long long n = 0;
	f->prepare_sleep_us = 2000;
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){f, i, 0};
		pthread_create(&t[i], NULL, worker_run, &w[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].failures, 0);
	}
	assert_int_equal(store_begin(f->reader, false), STORE_OK);
	assert_int_equal(store_count(f->reader, SCIM_USER, &n), STORE_OK);
	store_rollback(f->reader);
	assert_int_equal(n, THREADS * PER_THREAD);
	/* without group commit there would be one COMMIT per insert */
	assert_true(f->prepares < THREADS * PER_THREAD / 2);
	assert_int_equal(f->commits, f->prepares);
	printf("    %d inserts from %d threads in %d COMMITs\n", THREADS * PER_THREAD, THREADS, f->prepares);
}

/* A batch whose members all failed needs no COMMIT (and no fsync). */
static void all_undone_batch_does_not_commit(void **state)
{
	struct fixture *f = *state;
	struct gc_member m;
	assert_int_equal(group_commit_enter(&f->gc, &m), 0);
	assert_int_equal(insert_user(f, "never@contoso.com"), STORE_OK);
	assert_int_equal(group_commit_leave(&f->gc, &m, GC_UNDO), 0);
	assert_int_equal(f->prepares, 0);
	assert_int_equal(f->commits, 0);
	assert_false(reader_sees(f, "never@contoso.com"));
	/* GC_TOUCH commits (bookkeeping) without reporting a change */
	assert_int_equal(group_commit_enter(&f->gc, &m), 0);
	assert_int_equal(group_commit_leave(&f->gc, &m, GC_TOUCH), 0);
	assert_int_equal(f->prepares, 1);
	assert_int_equal(f->commits, 0);
}

static void reader_is_query_only(void **state)
{
	struct fixture *f = *state;
	char err[256];
	assert_int_not_equal(sqlite3_exec(store_db(f->reader), "DELETE FROM users", NULL, NULL, NULL), SQLITE_OK);
	/* a reader cannot be opened on a database no writer has created */
	assert_null(store_open_reader("/nonexistent-dir-entra/state.db", err, sizeof(err)));
	assert_non_null(strstr(err, "state_db"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(lone_request_commits_at_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(undo_mid_batch_keeps_the_others, setup, teardown),
	    cmocka_unit_test_setup_teardown(failed_commit_fails_every_member, setup, teardown),
	    cmocka_unit_test_setup_teardown(transaction_lost_under_a_member_fails_the_batch, setup, teardown),
	    cmocka_unit_test_setup_teardown(transaction_lost_before_commit_fails_the_batch, setup, teardown),
	    cmocka_unit_test_setup_teardown(concurrent_writers_share_commits, setup, teardown),
	    cmocka_unit_test_setup_teardown(all_undone_batch_does_not_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(reader_is_query_only, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
