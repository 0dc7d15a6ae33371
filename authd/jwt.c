#include "authd/jwt.h"

#include "authd/b64url.h"
#include "authd/jwk.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *decode_json_part(const char *text, size_t len)
{
	unsigned char *raw = NULL;
	size_t rawlen = 0;
	if (authd_b64url_decode(text, len, &raw, &rawlen))
		return NULL;
	/* Duplicate member names are refused: two parsers must never see two different tokens. */
	json_t *value = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	if (value && !json_is_object(value)) {
		json_decref(value);
		return NULL;
	}
	return value;
}

static int header_check(struct authd_jwt *jwt, char *reason, size_t reasonlen)
{
	const char *alg = json_string_value(json_object_get(jwt->header, "alg"));
	if (!alg || strcmp(alg, "RS256"))
		return snprintf(reason, reasonlen, "token alg is '%s', only RS256 is accepted", alg ? alg : "(none)"),
		       AUTHD_JWT_REFUSED;
	if (json_object_get(jwt->header, "crit"))
		return snprintf(reason, reasonlen, "token header has 'crit' extensions, none are understood"),
		       AUTHD_JWT_REFUSED;
	jwt->kid = json_string_value(json_object_get(jwt->header, "kid"));
	if (!jwt->kid || !*jwt->kid)
		return snprintf(reason, reasonlen, "token header has no kid"), AUTHD_JWT_REFUSED;
	return AUTHD_JWT_OK;
}

int authd_jwt_parse(const char *token, struct authd_jwt *jwt, char *reason, size_t reasonlen)
{
	memset(jwt, 0, sizeof(*jwt));
	size_t len = strnlen(token, AUTHD_JWT_MAX_LEN + 1);
	if (len > AUTHD_JWT_MAX_LEN)
		return snprintf(reason, reasonlen, "token longer than %d bytes", AUTHD_JWT_MAX_LEN), AUTHD_JWT_REFUSED;
	const char *dot1 = memchr(token, '.', len);
	const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
	if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
		return snprintf(reason, reasonlen, "token is not three dot-separated parts"), AUTHD_JWT_REFUSED;
	if (!(jwt->header = decode_json_part(token, (size_t)(dot1 - token))))
		return snprintf(reason, reasonlen, "token header is not base64url JSON"), AUTHD_JWT_REFUSED;
	if (header_check(jwt, reason, reasonlen))
		return AUTHD_JWT_REFUSED;
	if (!(jwt->claims = decode_json_part(dot1 + 1, (size_t)(dot2 - dot1 - 1))))
		return snprintf(reason, reasonlen, "token payload is not base64url JSON"), AUTHD_JWT_REFUSED;
	const char *sig = dot2 + 1;
	if (!*sig || authd_b64url_decode(sig, len - (size_t)(sig - token), &jwt->sig, &jwt->sig_len))
		return snprintf(reason, reasonlen, "token signature is missing or not base64url"), AUTHD_JWT_REFUSED;
	jwt->signing_input_len = (size_t)(dot2 - token);
	if (!(jwt->signing_input = strndup(token, jwt->signing_input_len)))
		return snprintf(reason, reasonlen, "out of memory"), AUTHD_JWT_REFUSED;
	return AUTHD_JWT_OK;
}

void authd_jwt_free(struct authd_jwt *jwt)
{
	json_decref(jwt->header);
	json_decref(jwt->claims);
	free(jwt->sig);
	free(jwt->signing_input);
	memset(jwt, 0, sizeof(*jwt));
}

const json_t *authd_jwks_find(const json_t *jwks, const char *kid)
{
	const json_t *keys = json_object_get(jwks, "keys");
	size_t i;
	const json_t *key;
	if (!json_is_array(keys))
		return NULL;
	json_array_foreach(keys, i, key) {
		const char *k = json_string_value(json_object_get(key, "kid"));
		if (k && !strcmp(k, kid))
			return key;
	}
	return NULL;
}

static int rs256_verify(EVP_PKEY *pkey, const struct authd_jwt *jwt)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = md && (size_t)EVP_PKEY_get_size(pkey) == jwt->sig_len &&
	         EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
	         EVP_DigestVerify(md, jwt->sig, jwt->sig_len, (const unsigned char *)jwt->signing_input,
	                          jwt->signing_input_len) == 1;
	EVP_MD_CTX_free(md);
	return ok;
}

int authd_jwt_verify_signature(const struct authd_jwt *jwt, const json_t *jwks, char *reason, size_t reasonlen)
{
	const json_t *jwk = authd_jwks_find(jwks, jwt->kid);
	if (!jwk)
		return snprintf(reason, reasonlen, "token kid '%.64s' is not in the JWKS", jwt->kid),
		       AUTHD_JWT_UNKNOWN_KID;
	char why[200] = "";
	EVP_PKEY *pkey = authd_jwk_rsa_public_key(jwk, why, sizeof(why));
	if (!pkey)
		return snprintf(reason, reasonlen, "signing key '%.64s' unusable: %s", jwt->kid, why),
		       AUTHD_JWT_REFUSED;
	int ok = rs256_verify(pkey, jwt);
	EVP_PKEY_free(pkey);
	if (!ok)
		return snprintf(reason, reasonlen, "token signature does not verify with key '%.64s'", jwt->kid),
		       AUTHD_JWT_REFUSED;
	return AUTHD_JWT_OK;
}
