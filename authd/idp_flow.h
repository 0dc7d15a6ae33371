/* The IdP side of the OAuth 2.0 device authorization grant (RFC 8628) as Entra ID speaks it. */
#ifndef AUTHD_IDP_FLOW_H
#define AUTHD_IDP_FLOW_H

#include "authd/oidc.h"
#include "authd/request.h"
#include "common/device_code.h"

/* What one poll of the token endpoint led to. UNAVAILABLE: the request itself failed (network,
 * TLS, proxy); FAILED: the IdP's answer ends the sign-in. */
enum authd_poll_result {
	AUTHD_POLL_DONE,
	AUTHD_POLL_PENDING,
	AUTHD_POLL_SLOW_DOWN,
	AUTHD_POLL_FAILED,
	AUTHD_POLL_UNAVAILABLE
};

/* A device authorization request (AUTHD_OK with DC filled, or AUTHD_UNAVAILABLE, logged), and one
 * token poll (on AUTHD_POLL_DONE *ID_TOKEN is a new string). */
int authd_device_code_request(struct authd_request *s, const struct authd_oidc_provider *p,
                              struct entra_device_code *dc);
enum authd_poll_result authd_token_poll(struct authd_request *s, const struct authd_oidc_provider *p,
                                        const struct entra_device_code *dc, char **id_token);

/* What one answer of the token endpoint means for the flow. */
enum authd_token_outcome {
	AUTHD_TOKEN_ID_TOKEN,    /* signed in: id_token is set */
	AUTHD_TOKEN_PENDING,     /* authorization_pending: poll again */
	AUTHD_TOKEN_SLOW_DOWN,   /* slow_down: poll again, 5 s further apart */
	AUTHD_TOKEN_DECLINED,    /* authorization_declined: the user said no */
	AUTHD_TOKEN_EXPIRED,     /* expired_token: the code timed out */
	AUTHD_TOKEN_BAD_CODE,    /* bad_verification_code: the IdP does not know the code */
	AUTHD_TOKEN_OTHER_ERROR, /* any other OAuth error, or an error status without an error code */
	AUTHD_TOKEN_MALFORMED,   /* HTTP 200 without an error but no usable id_token: see why */
};
struct authd_token_response {
	enum authd_token_outcome outcome;
	char *id_token;        /* AUTHD_TOKEN_ID_TOKEN only: a new string */
	char error[64];        /* "error", printable; "" when absent */
	char description[200]; /* start of "error_description" (Entra's AADSTS code), printable */
	bool id_token_absent;  /* AUTHD_TOKEN_MALFORMED: the body has no id_token member at all */
	char why[128];         /* AUTHD_TOKEN_MALFORMED: what is wrong, printable */
};
/* Classifies the token endpoint's answer: HTTP STATUS and BODY (LEN bytes). 0, or -1 when out of
 * memory. Free with authd_token_response_free. */
int authd_token_response_parse(long status, const char *body, size_t len, struct authd_token_response *t);
void authd_token_response_free(struct authd_token_response *t);

#endif
