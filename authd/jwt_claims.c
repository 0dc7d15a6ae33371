/* Claim checks for Entra v2.0 id_tokens. */
#include "authd/jwt.h"
#include "common/token_claims.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *authd_issuer_expected(const char *discovery_issuer, const char *tenant_id)
{
	static const char placeholder[] = "{tenantid}";
	const size_t plen = sizeof(placeholder) - 1, tlen = strlen(tenant_id);
	size_t count = 0;
	for (const char *p = discovery_issuer; (p = strstr(p, placeholder)); p += plen)
		count++;
	char *out = malloc(strlen(discovery_issuer) + count * tlen + 1);
	if (!out)
		return NULL;
	char *w = out;
	for (const char *p = discovery_issuer; *p;) {
		if (!strncmp(p, placeholder, plen)) {
			memcpy(w, tenant_id, tlen), w += tlen, p += plen;
		} else {
			*w++ = *p++;
		}
	}
	*w = '\0';
	return out;
}

/* A NumericDate claim as whole seconds; -1 if missing or not a number. */
static int numeric_date(const json_t *claims, const char *name, long long *out)
{
	const json_t *v = json_object_get(claims, name);
	/* Same bound as for reals: keeps "now - exp" and friends far from overflow. */
	if (json_is_integer(v) && json_integer_value(v) > -1000000000000000LL &&
	    json_integer_value(v) < 1000000000000000LL)
		*out = json_integer_value(v);
	else if (json_is_real(v) && json_real_value(v) > -1e15 && json_real_value(v) < 1e15)
		*out = (long long)json_real_value(v);
	else
		return -1;
	return 0;
}

static int times_check(const json_t *claims, const struct authd_jwt_expect *ex, char *reason, size_t reasonlen)
{
	long long exp, iat, nbf, now = (long long)ex->now;
	if (numeric_date(claims, "exp", &exp))
		return snprintf(reason, reasonlen, "token has no numeric exp"), AUTHD_JWT_REFUSED;
	if (numeric_date(claims, "iat", &iat))
		return snprintf(reason, reasonlen, "token has no numeric iat"), AUTHD_JWT_REFUSED;
	if (exp <= now - ex->leeway)
		return snprintf(reason, reasonlen, "token expired %lld s ago", now - exp), AUTHD_JWT_REFUSED;
	if (iat > now + ex->leeway)
		return snprintf(reason, reasonlen, "token iat is %lld s in the future (check the clock)", iat - now),
		       AUTHD_JWT_REFUSED;
	if (json_object_get(claims, "nbf")) {
		if (numeric_date(claims, "nbf", &nbf))
			return snprintf(reason, reasonlen, "token nbf is not a number"), AUTHD_JWT_REFUSED;
		if (nbf > now + ex->leeway)
			return snprintf(reason, reasonlen,
			                "token not valid before %lld s from now (nbf; check the clock)", nbf - now),
			       AUTHD_JWT_REFUSED;
	}
	return AUTHD_JWT_OK;
}

int authd_jwt_check_claims(const struct authd_jwt *jwt, const struct authd_jwt_expect *ex, char *reason,
                           size_t reasonlen)
{
	const json_t *c = jwt->claims;
	const char *iss = json_string_value(json_object_get(c, "iss"));
	const char *tid = json_string_value(json_object_get(c, "tid"));
	if (!iss || strcmp(iss, ex->issuer))
		return snprintf(reason, reasonlen, "token iss '%.128s' is not the expected '%.128s'",
		                iss ? iss : "(none)", ex->issuer),
		       AUTHD_JWT_REFUSED;
	if (!entra_audience_matches(json_object_get(c, "aud"), ex->client_id))
		return snprintf(reason, reasonlen, "token aud is not this client_id %.64s", ex->client_id),
		       AUTHD_JWT_REFUSED;
	/* Tenant ids are GUIDs; their case carries no meaning. */
	if (!tid || strcasecmp(tid, ex->tenant_id))
		return snprintf(reason, reasonlen, "token tid '%.64s' is not the configured tenant %.64s",
		                tid ? tid : "(none)", ex->tenant_id),
		       AUTHD_JWT_REFUSED;
	return times_check(c, ex, reason, reasonlen);
}
