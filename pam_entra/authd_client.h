/* pam_entra's side of entra-authd (authd_proto.h): the broker keeps warm TLS connections to
 * Entra, so a sign-in through it costs no OpenSSL start-up in the PAM process. */
#ifndef PE_AUTHD_CLIENT_H
#define PE_AUTHD_CLIENT_H

#include "session.h"

#include <jansson.h>

#define PE_AUTHD_NOT_USED (-1000) /* never a PAM code */

/* Signs the PAM user in through entra-authd. PE_AUTHD_NOT_USED when the broker cannot be used
 * (authd_socket = none, nothing listening, its server not root, busy, configured for another
 * tenant): the caller signs in itself. Else a PAM code, logged; on PAM_SUCCESS *CLAIMS holds
 * the claims of the id_token the broker verified (a new reference). */
int pe_authd_login(struct pe_session *s, json_t **claims);

#endif
