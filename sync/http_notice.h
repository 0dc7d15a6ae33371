/* Log lines a flood of connections would repeat (internal to http_*.c): at most BURST lines per
 * window of HTTP_NOTICE_WINDOW_S; the first line after a quiet spell says how many were dropped. */
#ifndef SYNC_HTTP_NOTICE_H
#define SYNC_HTTP_NOTICE_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#define HTTP_NOTICE_WINDOW_S 10

struct http_notice {
	pthread_mutex_t lock;
	struct timespec window; /* start of the current window */
	unsigned burst, logged, held;
};

/* -1 when the lock cannot be created. */
int http_notice_init(struct http_notice *n, unsigned burst);
void http_notice_destroy(struct http_notice *n);
/* True when a line may be written now; *HELD: how many were not written since the last one. */
bool http_notice_due(struct http_notice *n, unsigned *held);

#endif
