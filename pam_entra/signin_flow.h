/* The device code flow as the person at the terminal sees it (RFC 8628): entra-authd talks to
 * the IdP, this side shows the code and asks for Enter between polls. */
#ifndef PE_SIGNIN_FLOW_H
#define PE_SIGNIN_FLOW_H

#include "common/device_code.h"
#include "pam_entra/session.h"

/* What one poll of the token endpoint led to. */
enum pe_poll_result { PE_POLL_DONE, PE_POLL_PENDING, PE_POLL_SLOW_DOWN, PE_POLL_FAILED };

/* The IdP side of the flow: in this process (HTTPS to the IdP) or through entra-authd. Both
 * log what went wrong themselves. */
struct pe_flow_backend {
	/* PAM_SUCCESS with DC filled (its device_code may be NULL), or a PAM error. */
	int (*request_code)(struct pe_session *s, void *ctx, struct entra_device_code *dc);
	/* One poll; PE_POLL_DONE leaves the backend's result in CTX. */
	enum pe_poll_result (*poll)(struct pe_session *s, void *ctx, const struct entra_device_code *dc);
	void *ctx;
};

/* Gets a device code from BACKEND, shows the URL and code with a prompt, then polls each time
 * the user presses Enter, honouring interval and slow_down, until a result, a final error or
 * the deadline. */
int pe_device_flow_run(struct pe_session *s, const struct pe_flow_backend *backend);

#endif
