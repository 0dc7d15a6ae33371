#include "session.h"

#include <errno.h>
#include <time.h>

long long pe_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long pe_remaining_ms(const struct pe_session *s)
{
	return s->deadline_ms - pe_now_ms();
}

struct pe_http_opts pe_http_opts(struct pe_session *s)
{
	long long timeout = (long long)s->cfg.http_timeout * 1000, left = pe_remaining_ms(s);
	if (left < timeout)
		timeout = left > 1 ? left : 1;
	return (struct pe_http_opts){.ca_file = s->cfg.ca_file, .timeout_ms = (long)timeout, .share = &s->http};
}

void pe_sleep_ms(const struct pe_session *s, long long ms)
{
	long long left = pe_remaining_ms(s);
	if (ms > left)
		ms = left;
	if (ms <= 0)
		return;
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}
