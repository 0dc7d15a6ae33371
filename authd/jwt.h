/* id_token validation: strict compact JWS parsing, RS256 signature from a JWKS, Entra claims.
 * Done by hand with OpenSSL rather than libjwt so every check is explicit and visible here. */
#ifndef AUTHD_JWT_H
#define AUTHD_JWT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define AUTHD_JWT_MAX_LEN      16384 /* Entra id_tokens are 1-3 KiB; anything near this is not one */
#define AUTHD_JWT_LEEWAY       60    /* seconds of clock skew tolerated for exp, nbf and iat */
#define AUTHD_JWT_MIN_RSA_BITS 2048

enum authd_jwt_status { AUTHD_JWT_OK = 0, AUTHD_JWT_REFUSED = 1, AUTHD_JWT_UNKNOWN_KID = 2 };

struct authd_jwt {
	json_t *header;
	json_t *claims;
	unsigned char *sig;
	size_t sig_len;
	char *signing_input; /* "header.payload" exactly as received */
	size_t signing_input_len;
	const char *kid; /* points into header */
};

struct authd_jwt_expect {
	const char *issuer; /* discovery issuer with {tenantid} already replaced */
	const char *client_id;
	const char *tenant_id;
	time_t now;
	int leeway;
};

/* Splits and decodes TOKEN; checks header.alg is exactly RS256 and a kid is present.
 * Returns AUTHD_JWT_OK or AUTHD_JWT_REFUSED with REASON; free with authd_jwt_free in both cases. */
int authd_jwt_parse(const char *token, struct authd_jwt *jwt, char *reason, size_t reasonlen);
void authd_jwt_free(struct authd_jwt *jwt);

/* Verifies the RSASSA-PKCS1-v1_5 SHA-256 signature with the JWKS key named by the token's kid.
 * AUTHD_JWT_UNKNOWN_KID when the JWKS lacks that kid (the caller may refetch the JWKS once). */
int authd_jwt_verify_signature(const struct authd_jwt *jwt, const json_t *jwks, char *reason, size_t reasonlen);

/* Checks iss, aud, tid, exp, nbf and iat against EXPECT. */
int authd_jwt_check_claims(const struct authd_jwt *jwt, const struct authd_jwt_expect *expect, char *reason,
                           size_t reasonlen);

/* The issuer a token must carry: discovery's issuer with each "{tenantid}" replaced by TENANT_ID
 * (Entra's multi-tenant metadata uses that placeholder). New string or NULL. */
char *authd_issuer_expected(const char *discovery_issuer, const char *tenant_id);

/* The JWK in JWKS whose kid equals KID, or NULL. */
const json_t *authd_jwks_find(const json_t *jwks, const char *kid);

#endif
