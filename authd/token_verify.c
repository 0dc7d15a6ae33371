/* The id_token the IdP issued, verified here so pam_entra never loads libcrypto: RS256
 * signature by a key of the tenant's JWKS, then iss, aud, tid, exp, nbf and iat. */
#include "authd/token_verify.h"

#include "authd/doc_memo.h"
#include "authd/jwt.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Verifies the signature, refetching the JWKS once on an unknown kid (rate-limited through the
 * cache file's age, so forged kids cannot make us hammer the IdP). */
static int signature_check(struct authd_request *s, const struct authd_oidc_provider *p, const struct authd_jwt *jwt,
                           char *reason, size_t reasonlen)
{
	bool fetched = false;
	json_t *jwks = authd_oidc_jwks(s, p->jwks_uri, false, &fetched);
	if (!jwks)
		return -2;
	int rc = authd_jwt_verify_signature(jwt, jwks, reason, reasonlen);
	if (rc == AUTHD_JWT_UNKNOWN_KID && !fetched && s->memo) {
		/* The memo's copy may predate a refresh of the file cache by another process. */
		authd_doc_memo_forget(s->memo, p->jwks_uri);
		json_decref(jwks);
		if (!(jwks = authd_oidc_jwks(s, p->jwks_uri, false, &fetched)))
			return -2;
		rc = authd_jwt_verify_signature(jwt, jwks, reason, reasonlen);
	}
	if (rc == AUTHD_JWT_UNKNOWN_KID && !fetched) {
		if (authd_oidc_jwks_refetch_allowed(s, p->jwks_uri)) {
			entra_log(&s->log, LOG_INFO, "unknown signing key '%.64s': refetching the JWKS", jwt->kid);
			json_decref(jwks);
			if (!(jwks = authd_oidc_jwks(s, p->jwks_uri, true, &fetched)))
				return -2;
			rc = authd_jwt_verify_signature(jwt, jwks, reason, reasonlen);
		} else {
			size_t len = strlen(reason);
			snprintf(reason + len, reasonlen - len, " (JWKS refetched less than %d s ago)",
			         AUTHD_JWKS_REFETCH_MIN_AGE);
		}
	}
	json_decref(jwks);
	return rc == AUTHD_JWT_OK ? 0 : -1;
}

static int claims_check(struct authd_request *s, const struct authd_oidc_provider *p, const struct authd_jwt *jwt,
                        char *reason, size_t reasonlen)
{
	char *issuer = authd_issuer_expected(p->issuer, s->cfg.tenant_id);
	if (!issuer)
		return snprintf(reason, reasonlen, "out of memory"), -1;
	struct authd_jwt_expect expect = {.issuer = issuer,
	                                  .client_id = s->cfg.client_id,
	                                  .tenant_id = s->cfg.tenant_id,
	                                  .now = time(NULL),
	                                  .leeway = AUTHD_JWT_LEEWAY};
	int rc = authd_jwt_check_claims(jwt, &expect, reason, reasonlen);
	free(issuer);
	return rc == AUTHD_JWT_OK ? 0 : -1;
}

int authd_token_verify(struct authd_request *s, const struct authd_oidc_provider *p, const char *id_token,
                       json_t **claims, char *reason, size_t reasonlen)
{
	struct authd_jwt jwt;
	int rc = AUTHD_REFUSED;
	*claims = NULL;
	if (authd_jwt_parse(id_token, &jwt, reason, reasonlen) == AUTHD_JWT_OK) {
		int sig = signature_check(s, p, &jwt, reason, reasonlen);
		if (sig == -2)
			rc = AUTHD_UNAVAILABLE;
		else if (!sig && !claims_check(s, p, &jwt, reason, reasonlen))
			rc = AUTHD_OK;
	}
	if (rc == AUTHD_OK)
		*claims = json_incref(jwt.claims);
	authd_jwt_free(&jwt);
	return rc;
}
