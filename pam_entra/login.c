#include "pam_entra/login.h"

#include "common/token_claims.h"
#include "pam_entra/authd_client.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int refuse(struct pe_session *s, const char *reason)
{
	entra_log(&s->log, LOG_NOTICE, "refusing sign-in of %s: %s", s->user, reason);
	return PAM_AUTH_ERR;
}

int pe_login_accept_claims(struct pe_session *s, const struct pe_account *account, const json_t *claims)
{
	char reason[512] = "";
	const char *tid = json_string_value(json_object_get(claims, "tid"));
	if (!tid || strcasecmp(tid, s->cfg.tenant_id))
		return refuse(s, "the token is not from the configured tenant ([entra] tenant_id)");
	if (!entra_audience_matches(json_object_get(claims, "aud"), s->cfg.client_id))
		return refuse(s, "the token is not for the configured application ([entra] client_id)");
	if (pe_account_binding_check(account, s->cfg.allow_upn_binding, claims, reason, sizeof(reason)))
		return refuse(s, reason);
	const char *oid = json_string_value(json_object_get(claims, "oid"));
	entra_log(&s->log, LOG_INFO, "%s signed in with Microsoft Entra ID (oid %s, upn %s)", s->user, oid ? oid : "-",
	          account->upn);
	return PAM_SUCCESS;
}

int pe_login(struct pe_session *s, const struct pe_account *account)
{
	json_t *claims = NULL;
	int rc = entra_authd_login(s, &claims);
	if (rc == PAM_SUCCESS)
		rc = pe_login_accept_claims(s, account, claims);
	json_decref(claims);
	return rc;
}
