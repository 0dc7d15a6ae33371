#include "authd/request.h"

#include "common/clock.h"

long long authd_remaining_ms(const struct authd_request *s)
{
	return s->deadline_ms - entra_now_ms();
}

struct httpc_opts authd_http_opts(struct authd_request *s)
{
	long long timeout = (long long)s->cfg.http_timeout * 1000, left = authd_remaining_ms(s);
	if (left < timeout)
		timeout = left > 1 ? left : 1;
	return (struct httpc_opts){.client = s->http, .timeout_ms = (long)timeout};
}

void authd_sleep_ms(const struct authd_request *s, long long ms)
{
	long long left = authd_remaining_ms(s);
	entra_sleep_ms(ms < left ? ms : left);
}
