#include "login.h"

#include "authd_client.h"
#include "device_flow.h"
#include "doc_memo.h"
#include "jwt.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int refuse(struct pe_session *s, const char *reason)
{
	entra_log(&s->log, LOG_NOTICE, "refusing sign-in of %s: %s", s->user, reason);
	return PAM_AUTH_ERR;
}

/* Verifies the signature, refetching the JWKS once on an unknown kid (rate-limited through the
 * cache file's age, so forged kids cannot make us hammer the IdP). */
static int signature_check(struct pe_session *s, const struct pe_oidc_provider *p, const struct pe_jwt *jwt,
                           char *reason, size_t reasonlen)
{
	bool fetched = false;
	json_t *jwks = pe_oidc_jwks(s, p->jwks_uri, false, &fetched);
	if (!jwks)
		return -2;
	int rc = pe_jwt_verify_signature(jwt, jwks, reason, reasonlen);
	if (rc == PE_JWT_UNKNOWN_KID && !fetched && s->memo) {
		/* The memo's copy may predate a refresh of the file cache by another process. */
		pe_doc_memo_forget(s->memo, p->jwks_uri);
		json_decref(jwks);
		if (!(jwks = pe_oidc_jwks(s, p->jwks_uri, false, &fetched)))
			return -2;
		rc = pe_jwt_verify_signature(jwt, jwks, reason, reasonlen);
	}
	if (rc == PE_JWT_UNKNOWN_KID && !fetched) {
		if (pe_oidc_jwks_refetch_allowed(s, p->jwks_uri)) {
			entra_log(&s->log, LOG_INFO, "unknown signing key '%.64s': refetching the JWKS", jwt->kid);
			json_decref(jwks);
			if (!(jwks = pe_oidc_jwks(s, p->jwks_uri, true, &fetched)))
				return -2;
			rc = pe_jwt_verify_signature(jwt, jwks, reason, reasonlen);
		} else {
			size_t len = strlen(reason);
			snprintf(reason + len, reasonlen - len, " (JWKS refetched less than %d s ago)",
			         PE_JWKS_REFETCH_MIN_AGE);
		}
	}
	json_decref(jwks);
	return rc == PE_JWT_OK ? 0 : -1;
}

static int claims_check(struct pe_session *s, const struct pe_oidc_provider *p, const struct pe_jwt *jwt, char *reason,
                        size_t reasonlen)
{
	char *issuer = pe_issuer_expected(p->issuer, s->cfg.tenant_id);
	if (!issuer)
		return snprintf(reason, reasonlen, "out of memory"), -1;
	struct pe_jwt_expect expect = {.issuer = issuer,
	                               .client_id = s->cfg.client_id,
	                               .tenant_id = s->cfg.tenant_id,
	                               .now = time(NULL),
	                               .leeway = PE_JWT_LEEWAY};
	int rc = pe_jwt_check_claims(jwt, &expect, reason, reasonlen);
	free(issuer);
	return rc == PE_JWT_OK ? 0 : -1;
}

int pe_token_verify(struct pe_session *s, const struct pe_oidc_provider *p, const char *id_token, json_t **claims,
                    char *reason, size_t reasonlen)
{
	struct pe_jwt jwt;
	int rc = PAM_AUTH_ERR;
	*claims = NULL;
	if (pe_jwt_parse(id_token, &jwt, reason, reasonlen) == PE_JWT_OK) {
		int sig = signature_check(s, p, &jwt, reason, reasonlen);
		if (sig == -2)
			rc = PAM_AUTHINFO_UNAVAIL;
		else if (!sig && !claims_check(s, p, &jwt, reason, reasonlen))
			rc = PAM_SUCCESS;
	}
	if (rc == PAM_SUCCESS)
		*claims = json_incref(jwt.claims);
	pe_jwt_free(&jwt);
	return rc;
}

int pe_login_accept_claims(struct pe_session *s, const struct pe_account *account, const json_t *claims)
{
	char reason[512] = "";
	const char *tid = json_string_value(json_object_get(claims, "tid"));
	if (!tid || strcasecmp(tid, s->cfg.tenant_id))
		return refuse(s, "the token is not from the configured tenant ([entra] tenant_id)");
	if (!pe_jwt_audience_matches(json_object_get(claims, "aud"), s->cfg.client_id))
		return refuse(s, "the token is not for the configured application ([entra] client_id)");
	if (pe_account_binding_check(account, s->cfg.allow_upn_binding, claims, reason, sizeof(reason)))
		return refuse(s, reason);
	const char *oid = json_string_value(json_object_get(claims, "oid"));
	entra_log(&s->log, LOG_INFO, "%s signed in with Microsoft Entra ID (oid %s, upn %s)", s->user, oid ? oid : "-",
	          account->upn);
	return PAM_SUCCESS;
}

int pe_login_check_token(struct pe_session *s, const struct pe_oidc_provider *p, const struct pe_account *account,
                         const char *id_token)
{
	char reason[512] = "";
	json_t *claims;
	int rc = pe_token_verify(s, p, id_token, &claims, reason, sizeof(reason));
	if (rc == PAM_AUTH_ERR)
		refuse(s, reason);
	else if (rc == PAM_SUCCESS)
		rc = pe_login_accept_claims(s, account, claims);
	json_decref(claims);
	return rc;
}

static int login_in_process(struct pe_session *s, const struct pe_account *account)
{
	struct pe_oidc_provider provider;
	char *id_token = NULL;
	if (pe_oidc_discover(s, &provider))
		return PAM_AUTHINFO_UNAVAIL;
	int rc = pe_device_flow(s, &provider, &id_token);
	if (rc == PAM_SUCCESS)
		rc = pe_login_check_token(s, &provider, account, id_token);
	if (id_token) {
		explicit_bzero(id_token, strlen(id_token));
		free(id_token);
	}
	pe_oidc_provider_free(&provider);
	return rc;
}

int pe_login(struct pe_session *s, const struct pe_account *account)
{
	json_t *claims = NULL;
	int rc = pe_authd_login(s, &claims);
	if (rc == PE_AUTHD_NOT_USED)
		return login_in_process(s, account);
	if (rc == PAM_SUCCESS)
		rc = pe_login_accept_claims(s, account, claims);
	json_decref(claims);
	return rc;
}
