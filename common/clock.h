/* The monotonic clock in milliseconds, for deadlines that wall-clock steps must not move. */
#ifndef ENTRA_CLOCK_H
#define ENTRA_CLOCK_H

/* CLOCK_MONOTONIC in ms. */
long long entra_now_ms(void);
/* Sleeps MS milliseconds (nothing when MS <= 0), resuming after signals. */
void entra_sleep_ms(long long ms);

/* Waits until FD is ready for EVENTS (poll(2)) or DEADLINE_MS (entra_now_ms) passes: 1 ready,
 * 0 timed out, -1 error (errno). */
int entra_wait_fd(int fd, short events, long long deadline_ms);

#endif
