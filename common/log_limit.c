/* A per-window cap on repeated log lines (see log_limit.h). */
#include "common/log_limit.h"

#include <string.h>

int log_limit_init(struct log_limit *n, unsigned burst, unsigned window_s)
{
	memset(n, 0, sizeof(*n));
	n->burst = burst;
	n->window_s = window_s;
	return pthread_mutex_init(&n->lock, NULL) == 0 ? 0 : -1;
}

void log_limit_destroy(struct log_limit *n)
{
	pthread_mutex_destroy(&n->lock);
}

bool log_limit_due(struct log_limit *n, unsigned *held)
{
	struct timespec at;
	clock_gettime(CLOCK_MONOTONIC, &at);
	pthread_mutex_lock(&n->lock);
	if (n->logged == 0 || at.tv_sec - n->window.tv_sec >= (time_t)n->window_s) {
		n->window = at;
		n->logged = 0;
	}
	bool due = n->logged < n->burst;
	if (due) {
		n->logged++;
		*held = n->held;
		n->held = 0;
	} else {
		n->held++;
	}
	pthread_mutex_unlock(&n->lock);
	return due;
}
