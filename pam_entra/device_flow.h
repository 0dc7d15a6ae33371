/* OAuth 2.0 device authorization grant (RFC 8628) as Entra ID speaks it. */
#ifndef PE_DEVICE_FLOW_H
#define PE_DEVICE_FLOW_H

#include "oidc.h"
#include "session.h"

/* Requests a device code, shows the URL and code with a prompt, then polls the token endpoint
 * each time the user presses Enter, honouring interval and slow_down, until a token, a final
 * error or the deadline. On PAM_SUCCESS *ID_TOKEN is a new string (free it). */
int pe_device_flow(struct pe_session *s, const struct pe_oidc_provider *provider, char **id_token);

#endif
