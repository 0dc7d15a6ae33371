/* Per-call state of one PAM entry point. Nothing here outlives the call: the module keeps no
 * global mutable state, so any number of threads may run it at once. */
#ifndef PE_SESSION_H
#define PE_SESSION_H

#include "config.h"
#include "http.h"
#include "log.h"

#include <security/pam_modules.h>
#include <stdbool.h>

struct pe_doc_memo;

struct pe_session {
	pam_handle_t *pamh;
	struct entra_config cfg;
	struct entra_logger log; /* authpriv; also stderr with the 'debug' argument */
	const char *user;
	bool debug;
	long long deadline_ms;     /* CLOCK_MONOTONIC ms by which the whole sign-in must end */
	struct pe_http_share http; /* TLS sessions, connections and ca_file shared by this call's requests */
	struct pe_doc_memo *memo;  /* entra-authd's parsed discovery/JWKS documents; NULL in pam_entra */
};

long long pe_now_ms(void);
/* Milliseconds left before the deadline (<= 0 when it passed). */
long long pe_remaining_ms(const struct pe_session *s);
/* HTTP options for the next request: http_timeout, but never past the deadline; shares the
 * call's TLS sessions and connections. */
struct pe_http_opts pe_http_opts(struct pe_session *s);
/* Sleeps up to MS milliseconds, never past the deadline. */
void pe_sleep_ms(const struct pe_session *s, long long ms);

#endif
