#include "pam_entra/session.h"

#include "common/clock.h"

long long pe_remaining_ms(const struct pe_session *s)
{
	return s->deadline_ms - entra_now_ms();
}

void pe_sleep_ms(const struct pe_session *s, long long ms)
{
	long long left = pe_remaining_ms(s);
	entra_sleep_ms(ms < left ? ms : left);
}
