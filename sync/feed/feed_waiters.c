/* The feed's list of held long-polls and its current policy: the state both the waiter thread
 * (feed.c) and the requests (feed_http.c) use, below both. */
#include "sync/feed/feed_internal.h"

#include <string.h>

json_t *feed_policy_get(struct feed *f, char hash[FEED_POLICY_HASH_LEN + 1])
{
	pthread_mutex_lock(&f->lock);
	json_t *p = json_incref(f->policy);
	memcpy(hash, f->policy_hash, FEED_POLICY_HASH_LEN + 1);
	pthread_mutex_unlock(&f->lock);
	return p;
}

void feed_wait_unlist_locked(struct feed *f, struct feed_waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		f->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	w->listed = false;
	f->n_waiting--;
}

bool feed_wait_add(struct feed *f, struct feed_waiter *w)
{
	pthread_mutex_lock(&f->lock);
	bool ok = !f->stopping && f->n_waiting < f->max_waiting;
	if (ok) {
		w->prev = NULL;
		w->next = f->waiters;
		if (f->waiters)
			f->waiters->prev = w;
		f->waiters = w;
		w->listed = true;
		f->n_waiting++;
		/* under the lock: the thread can only resume it once it is suspended */
		MHD_suspend_connection(w->con);
	}
	pthread_mutex_unlock(&f->lock);
	return ok;
}

void feed_wait_forget(struct feed *f, struct feed_waiter *w)
{
	pthread_mutex_lock(&f->lock);
	if (w->listed)
		feed_wait_unlist_locked(f, w);
	pthread_mutex_unlock(&f->lock);
}
