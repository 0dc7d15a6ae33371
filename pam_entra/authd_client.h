/* pam_entra's side of entra-authd (common/authd_proto.h), the one sign-in path: the broker talks
 * to Entra and verifies the token, so the PAM process loads no network, TLS or JWT code. */
#ifndef ENTRA_AUTHD_CLIENT_H
#define ENTRA_AUTHD_CLIENT_H

#include "pam_entra/session.h"

#include <jansson.h>

/* Signs the PAM user in through entra-authd. PAM_AUTHINFO_UNAVAIL, logged with what to do, when
 * the broker cannot be used (nothing listening, its server not root, busy, configured for
 * another tenant); else a PAM code, logged; on PAM_SUCCESS *CLAIMS holds the claims of the
 * id_token the broker verified (a new reference). */
int entra_authd_login(struct pe_session *s, json_t **claims);

#endif
