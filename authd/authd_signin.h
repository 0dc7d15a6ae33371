/* One sign-in conversation of entra-authd with pam_entra (common/authd_proto.h): a device
 * code from the IdP, paced token polls, and the id_token verified before its claims go back. */
#ifndef AUTHD_SIGNIN_H
#define AUTHD_SIGNIN_H

#include "common/config.h"
#include "common/log.h"

#include <sys/types.h>

struct httpc_client;
struct authd_doc_memo;

/* Read-only after start-up: shared by every sign-in thread. */
struct authd_context {
	const struct entra_config *cfg;
	const struct entra_logger *log;
	struct httpc_client *http;   /* libcurl with warm connections, trust and proxy (thread-safe) */
	struct authd_doc_memo *memo; /* parsed discovery and JWKS documents (thread-safe) */
};

/* Serves one connection from a process running as CALLER_UID until the sign-in ends or the
 * peer hangs up; does not close FD. A caller that is not root (a screen locker) is served only
 * for the account NSS resolves to its own uid. */
void authd_signin_serve(const struct authd_context *ctx, int fd, uid_t caller_uid);

#endif
