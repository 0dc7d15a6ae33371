/* From entra-authd's verified claims to a decision: tenant, audience and identity binding. */
#ifndef PE_LOGIN_H
#define PE_LOGIN_H

#include "pam_entra/account.h"
#include "pam_entra/session.h"

#include <jansson.h>

/* The last word on verified CLAIMS: tenant and audience are this host's, and they name
 * ACCOUNT's Entra identity. PAM_SUCCESS or PAM_AUTH_ERR, logged. */
int pe_login_accept_claims(struct pe_session *s, const struct pe_account *account, const json_t *claims);
/* The whole auth phase for a cache account: the device code flow through entra-authd, then
 * pe_login_accept_claims. */
int pe_login(struct pe_session *s, const struct pe_account *account);

#endif
