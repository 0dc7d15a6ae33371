/* OAuth 2.0 device authorization grant (RFC 8628) as Entra ID speaks it. */
#ifndef PE_DEVICE_FLOW_H
#define PE_DEVICE_FLOW_H

#include "oidc.h"
#include "session.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct pe_device_code;

/* What one poll of the token endpoint led to. */
enum pe_poll_result { PE_POLL_DONE, PE_POLL_PENDING, PE_POLL_SLOW_DOWN, PE_POLL_FAILED };

/* The IdP side of the flow: in this process (HTTPS to the IdP) or through entra-authd. Both
 * log what went wrong themselves. */
struct pe_flow_backend {
	/* PAM_SUCCESS with DC filled (its device_code may be NULL), or a PAM error. */
	int (*request_code)(struct pe_session *s, void *ctx, struct pe_device_code *dc);
	/* One poll; PE_POLL_DONE leaves the backend's result in CTX. */
	enum pe_poll_result (*poll)(struct pe_session *s, void *ctx, const struct pe_device_code *dc);
	void *ctx;
};

/* Gets a device code from BACKEND, shows the URL and code with a prompt, then polls each time
 * the user presses Enter, honouring interval and slow_down, until a result, a final error or
 * the deadline. */
int pe_device_flow_run(struct pe_session *s, const struct pe_flow_backend *backend);

/* The in-process flow: on PAM_SUCCESS *ID_TOKEN is a new string (free it). */
int pe_device_flow(struct pe_session *s, const struct pe_oidc_provider *provider, char **id_token);

/* The in-process IdP requests: a device authorization request, and one token poll (on
 * PE_POLL_DONE *ID_TOKEN is a new string). */
int pe_device_code_request(struct pe_session *s, const struct pe_oidc_provider *p, struct pe_device_code *dc);
enum pe_poll_result pe_token_poll(struct pe_session *s, const struct pe_oidc_provider *p,
                                  const struct pe_device_code *dc, char **id_token);

/* Longest values accepted from a device code response (bytes). */
#define PE_DEVICE_CODE_MAX 4096
#define PE_USER_CODE_MAX   64
#define PE_URI_MAX         1024

/* A device authorization response (the body of its HTTP 200 answer). */
struct pe_device_code {
	json_t *doc; /* owns the strings */
	const char *device_code, *user_code, *verification_uri;
	const char *verification_uri_complete; /* NULL unless present and valid (optional) */
	long long expires_in;                  /* clamped to 1..3600 s; 900 when absent */
	long long interval;                    /* clamped to 1..60 s; 5 when absent (RFC 8628) */
};
/* Parses BODY (LEN bytes, NUL not needed). 0: DC is filled, free it with pe_device_code_free.
 * -1: not a valid device code response; DC holds nothing to free and WHY names what the body
 * lacks, e.g. "user_code (it is a number, not a string)", in printable ASCII. */
int pe_device_code_parse(const char *body, size_t len, struct pe_device_code *dc, char *why, size_t whylen);
/* The same for a parsed object DOC (DC takes the reference, also on failure). Without
 * NEED_DEVICE_CODE the device_code may be absent: entra-authd keeps it to itself. */
int pe_device_code_from_json(json_t *doc, bool need_device_code, struct pe_device_code *dc, char *why, size_t whylen);
void pe_device_code_free(struct pe_device_code *dc);

/* What one answer of the token endpoint means for the flow. */
enum pe_token_outcome {
	PE_TOKEN_ID_TOKEN,    /* signed in: id_token is set */
	PE_TOKEN_PENDING,     /* authorization_pending: poll again */
	PE_TOKEN_SLOW_DOWN,   /* slow_down: poll again, 5 s further apart */
	PE_TOKEN_DECLINED,    /* authorization_declined: the user said no */
	PE_TOKEN_EXPIRED,     /* expired_token: the code timed out */
	PE_TOKEN_BAD_CODE,    /* bad_verification_code: the IdP does not know the code */
	PE_TOKEN_OTHER_ERROR, /* any other OAuth error, or an error status without an error code */
	PE_TOKEN_MALFORMED,   /* HTTP 200 without an error but no usable id_token: see why */
};
struct pe_token_response {
	enum pe_token_outcome outcome;
	char *id_token;        /* PE_TOKEN_ID_TOKEN only: a new string */
	char error[64];        /* "error", printable; "" when absent */
	char description[200]; /* start of "error_description" (Entra's AADSTS code), printable */
	bool id_token_absent;  /* PE_TOKEN_MALFORMED: the body has no id_token member at all */
	char why[128];         /* PE_TOKEN_MALFORMED: what is wrong, printable */
};
/* Classifies the token endpoint's answer: HTTP STATUS and BODY (LEN bytes). 0, or -1 when out of
 * memory. Free with pe_token_response_free. */
int pe_token_response_parse(long status, const char *body, size_t len, struct pe_token_response *t);
void pe_token_response_free(struct pe_token_response *t);

#endif
