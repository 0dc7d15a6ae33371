/* Signature and claims of an id_token (not yet its binding to an account: pam_entra decides). */
#ifndef AUTHD_TOKEN_VERIFY_H
#define AUTHD_TOKEN_VERIFY_H

#include "authd/oidc.h"
#include "authd/request.h"

#include <jansson.h>

/* Signature and claims of ID_TOKEN (iss, aud, tid, exp, nbf, iat). AUTHD_OK with *CLAIMS (a
 * new reference); AUTHD_REFUSED with REASON; AUTHD_UNAVAILABLE when the signing keys cannot be
 * fetched (logged). */
int authd_token_verify(struct authd_request *s, const struct authd_oidc_provider *provider, const char *id_token,
                       json_t **claims, char *reason, size_t reasonlen);

#endif
