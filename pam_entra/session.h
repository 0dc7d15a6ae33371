/* Per-call state of one PAM entry point. Nothing here outlives the call: the module keeps no
 * global mutable state, so any number of threads may run it at once. */
#ifndef PE_SESSION_H
#define PE_SESSION_H

#include "common/config.h"
#include "common/log.h"

#include <security/pam_modules.h>
#include <stdbool.h>

struct pe_session {
	pam_handle_t *pamh;
	struct entra_config cfg;
	struct entra_logger log; /* authpriv; also stderr with the 'debug' argument */
	const char *user;
	bool debug;
	long long deadline_ms; /* CLOCK_MONOTONIC ms by which the whole sign-in must end */
};

/* Milliseconds left before the deadline (<= 0 when it passed). */
long long pe_remaining_ms(const struct pe_session *s);
/* Sleeps up to MS milliseconds, never past the deadline. */
void pe_sleep_ms(const struct pe_session *s, long long ms);

#endif
