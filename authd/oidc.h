/* OpenID Connect discovery and signing keys, cached in memory for the call and in a root-only
 * file cache across calls. */
#ifndef AUTHD_OIDC_H
#define AUTHD_OIDC_H

#include "authd/request.h"

#include <jansson.h>
#include <stdbool.h>

#define AUTHD_DISCOVERY_TTL        (24 * 3600)
#define AUTHD_JWKS_TTL             3600
#define AUTHD_JWKS_REFETCH_MIN_AGE 300 /* an unknown kid refetches the JWKS at most this often */

struct authd_oidc_provider {
	json_t *doc; /* owns the strings below */
	const char *issuer;
	const char *device_authorization_endpoint;
	const char *token_endpoint;
	const char *jwks_uri;
};

/* Fetches (or reads from the cache) {authority}/{tenant_id}/v2.0/.well-known/openid-configuration.
 * 0, or -1 after logging what went wrong. */
int authd_oidc_discover(struct authd_request *s, struct authd_oidc_provider *provider);
void authd_oidc_provider_free(struct authd_oidc_provider *provider);

/* The JWKS at JWKS_URI: from the file cache when younger than AUTHD_JWKS_TTL unless FORCE.
 * *FETCHED tells whether it came from the network in this call. NULL after logging. */
json_t *authd_oidc_jwks(struct authd_request *s, const char *jwks_uri, bool force, bool *fetched);

/* Whether an unknown kid may refetch the JWKS now (cached copy at least
 * AUTHD_JWKS_REFETCH_MIN_AGE old, or no usable cache). */
bool authd_oidc_jwks_refetch_allowed(struct authd_request *s, const char *jwks_uri);

/* The file cache's name for URL: KIND-<first 16 bytes of SHA-256(URL) in hex>.json. */
void authd_oidc_cache_name(char *out, size_t outlen, const char *kind, const char *url);

#endif
