/* Log lines that a flood (of connections, of writes) would repeat: at most BURST lines per
 * window of WINDOW_S seconds; the first line after a quiet spell says how many were held back.
 * Thread-safe. */
#ifndef SYNC_LOG_LIMIT_H
#define SYNC_LOG_LIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#define LOG_LIMIT_FLOOD_WINDOW_S 10 /* seconds: the window of the HTTP layer's flood notices */

struct log_limit {
	pthread_mutex_t lock;
	struct timespec window; /* start of the current window */
	unsigned window_s, burst, logged, held;
};

/* For a static limit: needs no init and no destroy. */
#define LOG_LIMIT_INIT(burst_, window_s_)                                                                              \
	{                                                                                                              \
		.lock = PTHREAD_MUTEX_INITIALIZER, .window_s = (window_s_), .burst = (burst_)                          \
	}

/* -1 when the lock cannot be created. */
int log_limit_init(struct log_limit *n, unsigned burst, unsigned window_s);
void log_limit_destroy(struct log_limit *n);
/* True when a line may be written now; *HELD: how many were not written since the last one. */
bool log_limit_due(struct log_limit *n, unsigned *held);

#endif
