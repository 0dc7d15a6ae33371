/* Full-jitter exponential backoff (sync/follow/follow.h). */
#include "sync/follow/follow.h"

long follow_backoff_ms(unsigned failures, unsigned random)
{
	long ceiling = FOLLOW_BACKOFF_BASE_MS;
	for (unsigned i = 1; i < failures && ceiling < FOLLOW_BACKOFF_CAP_MS; i++)
		ceiling *= 2;
	if (ceiling > FOLLOW_BACKOFF_CAP_MS)
		ceiling = FOLLOW_BACKOFF_CAP_MS;
	return (long)((unsigned long long)random * (unsigned long long)(ceiling + 1) >> 32);
}
