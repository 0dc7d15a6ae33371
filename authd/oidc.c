#include "authd/oidc.h"

#include "authd/doc_memo.h"
#include "authd/file_cache.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void authd_oidc_cache_name(char *out, size_t outlen, const char *kind, const char *url)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[33] = "";
	if (EVP_Digest(url, strlen(url), md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen >= 16)
		for (int i = 0; i < 16; i++)
			sprintf(hex + 2 * i, "%02x", md[i]);
	snprintf(out, outlen, "%s-%s.json", kind, hex);
}

static bool cache_usable(struct authd_request *s)
{
	char err[512];
	if (authd_cache_dir_ready(s->cfg.pam_cache_dir, err, sizeof(err)) == 0)
		return true;
	entra_log(&s->log, LOG_WARNING, "not caching discovery and keys: %s", err);
	return false;
}

static json_t *json_object_parse(const char *text, size_t len)
{
	json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (v && !json_is_object(v)) {
		json_decref(v);
		v = NULL;
	}
	return v;
}

/* The file cache's copy of URL when younger than TTL; also kept in the session's memo. */
static json_t *cached_json(struct authd_request *s, const char *name, const char *url, long ttl)
{
	char *text = authd_cache_read(s->cfg.pam_cache_dir, name, ttl, HTTPC_MAX_RESPONSE);
	json_t *doc = text ? json_object_parse(text, strlen(text)) : NULL;
	free(text);
	if (doc && s->memo)
		authd_doc_memo_put(s->memo, url, doc, time(NULL) - authd_cache_age(s->cfg.pam_cache_dir, name));
	return doc;
}

static json_t *fetch_json(struct authd_request *s, const char *url, const char *kind, long ttl, bool force,
                          bool *fetched)
{
	char name[64], err[512];
	json_t *doc;
	*fetched = false;
	if (s->memo && !force && (doc = authd_doc_memo_get(s->memo, url, ttl)))
		return doc;
	bool cache = cache_usable(s);
	authd_oidc_cache_name(name, sizeof(name), kind, url);
	if (cache && !force && (doc = cached_json(s, name, url, ttl)))
		return doc;
	struct httpc_opts opts = authd_http_opts(s);
	struct httpc_response resp;
	if (httpc_get(&opts, url, &resp, err, sizeof(err))) {
		entra_log(&s->log, LOG_ERR,
		          "cannot fetch the %s document: %s; check [entra] authority, ca_file, proxy and the "
		          "network",
		          kind, err);
		return NULL;
	}
	doc = resp.status == 200 ? json_object_parse(resp.body, resp.len) : NULL;
	if (doc && s->memo)
		authd_doc_memo_put(s->memo, url, doc, time(NULL));
	if (!doc)
		entra_log(&s->log, LOG_ERR,
		          "%s answered HTTP %ld without a JSON object; check [entra] authority and "
		          "tenant_id",
		          url, resp.status);
	else if (cache && authd_cache_write(s->cfg.pam_cache_dir, name, resp.body, resp.len, err, sizeof(err)))
		entra_log(&s->log, LOG_WARNING, "cannot cache %s: %s", url, err);
	*fetched = doc != NULL;
	httpc_response_free(&resp);
	return doc;
}

static const char *https_field(struct authd_request *s, const json_t *doc, const char *field)
{
	const char *v = json_string_value(json_object_get(doc, field));
	if (!v || strncmp(v, "https://", 8)) {
		entra_log(&s->log, LOG_ERR,
		          "discovery document has no https '%s'; is [entra] authority an OpenID "
		          "provider?",
		          field);
		return NULL;
	}
	return v;
}

int authd_oidc_discover(struct authd_request *s, struct authd_oidc_provider *p)
{
	char url[2048];
	bool fetched;
	memset(p, 0, sizeof(*p));
	if (!s->cfg.tenant_id || !s->cfg.client_id) {
		entra_log(&s->log, LOG_ERR, "%s: set [entra] tenant_id and client_id", s->cfg.path);
		return -1;
	}
	const char *authority = s->cfg.authority;
	size_t alen = strlen(authority);
	while (alen && authority[alen - 1] == '/')
		alen--;
	if (snprintf(url, sizeof(url), "%.*s/%s/v2.0/.well-known/openid-configuration", (int)alen, authority,
	             s->cfg.tenant_id) >= (int)sizeof(url))
		return entra_log(&s->log, LOG_ERR, "[entra] authority is too long"), -1;
	if (!(p->doc = fetch_json(s, url, "discovery", AUTHD_DISCOVERY_TTL, false, &fetched)))
		return -1;
	p->issuer = json_string_value(json_object_get(p->doc, "issuer"));
	p->device_authorization_endpoint = https_field(s, p->doc, "device_authorization_endpoint");
	p->token_endpoint = https_field(s, p->doc, "token_endpoint");
	p->jwks_uri = https_field(s, p->doc, "jwks_uri");
	if (!p->issuer || !*p->issuer)
		entra_log(&s->log, LOG_ERR, "discovery document at %s has no issuer", url);
	if (!p->issuer || !*p->issuer || !p->device_authorization_endpoint || !p->token_endpoint || !p->jwks_uri) {
		authd_oidc_provider_free(p);
		return -1;
	}
	return 0;
}

void authd_oidc_provider_free(struct authd_oidc_provider *p)
{
	json_decref(p->doc);
	memset(p, 0, sizeof(*p));
}

json_t *authd_oidc_jwks(struct authd_request *s, const char *jwks_uri, bool force, bool *fetched)
{
	json_t *jwks = fetch_json(s, jwks_uri, "jwks", AUTHD_JWKS_TTL, force, fetched);
	if (jwks && !json_is_array(json_object_get(jwks, "keys"))) {
		entra_log(&s->log, LOG_ERR, "%s is not a JWKS (no 'keys' array)", jwks_uri);
		json_decref(jwks);
		return NULL;
	}
	return jwks;
}

bool authd_oidc_jwks_refetch_allowed(struct authd_request *s, const char *jwks_uri)
{
	char name[64];
	authd_oidc_cache_name(name, sizeof(name), "jwks", jwks_uri);
	long age = authd_cache_age(s->cfg.pam_cache_dir, name);
	return age < 0 || age >= AUTHD_JWKS_REFETCH_MIN_AGE;
}
