/* From an id_token to a decision: signature, claims and identity binding. */
#ifndef PE_LOGIN_H
#define PE_LOGIN_H

#include "account.h"
#include "oidc.h"
#include "session.h"

/* PAM_SUCCESS when ID_TOKEN is valid for this tenant and client and names ACCOUNT's Entra
 * identity; otherwise the reason is logged and PAM_AUTH_ERR (or PAM_AUTHINFO_UNAVAIL when the
 * keys cannot be fetched) is returned. */
int pe_login_check_token(struct pe_session *s, const struct pe_oidc_provider *provider,
                         const struct pe_account *account, const char *id_token);

/* The whole auth phase for a cache account: discovery, device code flow, token checks. */
int pe_login(struct pe_session *s, const struct pe_account *account);

#endif
