/* A per-window cap on repeated log lines (see http_notice.h). */
#include "http_notice.h"

#include <string.h>

int http_notice_init(struct http_notice *n, unsigned burst)
{
	memset(n, 0, sizeof(*n));
	n->burst = burst;
	return pthread_mutex_init(&n->lock, NULL) == 0 ? 0 : -1;
}

void http_notice_destroy(struct http_notice *n)
{
	pthread_mutex_destroy(&n->lock);
}

bool http_notice_due(struct http_notice *n, unsigned *held)
{
	struct timespec at;
	clock_gettime(CLOCK_MONOTONIC, &at);
	pthread_mutex_lock(&n->lock);
	if (n->logged == 0 || at.tv_sec - n->window.tv_sec >= HTTP_NOTICE_WINDOW_S) {
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
