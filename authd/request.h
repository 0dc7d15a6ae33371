/* One sign-in the broker serves: its settings, log, deadline and what it shares with the others
 * (the HTTPS client, the parsed discovery and JWKS documents). Owned by the sign-in's thread. */
#ifndef AUTHD_REQUEST_H
#define AUTHD_REQUEST_H

#include "common/config.h"
#include "common/log.h"
#include "httpc/httpc.h"

struct authd_doc_memo;

/* What a step of a sign-in came to (the broker links no PAM: pam_entra maps these). */
enum authd_result {
	AUTHD_OK = 0,
	AUTHD_REFUSED,     /* the IdP or the token said no: logged with the reason */
	AUTHD_UNAVAILABLE, /* the IdP could not be asked: logged with what to check */
};

struct authd_request {
	struct entra_config cfg; /* a shallow copy of the broker's read-only settings: never freed here */
	struct entra_logger log;
	const char *user;            /* the account being signed in, printable, for log lines */
	long long deadline_ms;       /* CLOCK_MONOTONIC ms by which the whole sign-in must end */
	struct httpc_client *http;   /* the broker's, shared by every sign-in (thread-safe); never freed here */
	struct authd_doc_memo *memo; /* parsed discovery/JWKS documents shared by all sign-ins */
};

/* Milliseconds left before the deadline (<= 0 when it passed). */
long long authd_remaining_ms(const struct authd_request *s);
/* HTTP options for the next request: http_timeout, but never past the deadline. */
struct httpc_opts authd_http_opts(struct authd_request *s);
/* Sleeps up to MS milliseconds, never past the deadline. */
void authd_sleep_ms(const struct authd_request *s, long long ms);

#endif
