/* From an id_token to a decision: signature, claims and identity binding. */
#ifndef PE_LOGIN_H
#define PE_LOGIN_H

#include "account.h"
#include "oidc.h"
#include "session.h"

#include <jansson.h>

/* Signature and claims of ID_TOKEN (iss, aud, tid, exp, nbf, iat), not yet the binding to an
 * account. PAM_SUCCESS with *CLAIMS (a new reference); PAM_AUTH_ERR with REASON;
 * PAM_AUTHINFO_UNAVAIL when the signing keys cannot be fetched (logged). */
int pe_token_verify(struct pe_session *s, const struct pe_oidc_provider *provider, const char *id_token,
                    json_t **claims, char *reason, size_t reasonlen);

/* The last word on verified CLAIMS, wherever they were verified: tenant and audience are this
 * host's, and they name ACCOUNT's Entra identity. PAM_SUCCESS or PAM_AUTH_ERR, logged. */
int pe_login_accept_claims(struct pe_session *s, const struct pe_account *account, const json_t *claims);

/* pe_token_verify, then pe_login_accept_claims; the refusal is logged. */
int pe_login_check_token(struct pe_session *s, const struct pe_oidc_provider *provider,
                         const struct pe_account *account, const char *id_token);

/* The whole auth phase for a cache account: through entra-authd when it is there, else here:
 * discovery, device code flow, token checks. */
int pe_login(struct pe_session *s, const struct pe_account *account);

#endif
