#include "authd/jwk.h"

#include "authd/b64url.h"
#include "authd/jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JWK_MAX_MODULUS_BYTES 1024 /* 8192-bit keys; larger is not a real signing key */

static BIGNUM *jwk_bignum(const json_t *jwk, const char *field, size_t max_bytes, char *reason, size_t reasonlen)
{
	const char *text = json_string_value(json_object_get(jwk, field));
	unsigned char *raw = NULL;
	size_t len = 0;
	if (!text) {
		snprintf(reason, reasonlen, "JWK has no '%s'", field);
		return NULL;
	}
	if (authd_b64url_decode(text, strlen(text), &raw, &len) || len == 0 || len > max_bytes) {
		free(raw);
		snprintf(reason, reasonlen, "JWK '%s' is not valid base64url of a sane size", field);
		return NULL;
	}
	BIGNUM *bn = BN_bin2bn(raw, (int)len, NULL);
	free(raw);
	if (!bn)
		snprintf(reason, reasonlen, "out of memory");
	return bn;
}

static int jwk_usable_for_rs256(const json_t *jwk, char *reason, size_t reasonlen)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const json_t *use = json_object_get(jwk, "use");
	const json_t *alg = json_object_get(jwk, "alg");
	if (!kty || strcmp(kty, "RSA"))
		return snprintf(reason, reasonlen, "JWK kty is '%s', only RSA is accepted", kty ? kty : "(none)"), -1;
	if (use && (!json_is_string(use) || strcmp(json_string_value(use), "sig")))
		return snprintf(reason, reasonlen, "JWK use is not 'sig'"), -1;
	if (alg && (!json_is_string(alg) || strcmp(json_string_value(alg), "RS256")))
		return snprintf(reason, reasonlen, "JWK alg is not RS256"), -1;
	return 0;
}

static EVP_PKEY *rsa_key_from_bignums(const BIGNUM *n, const BIGNUM *e)
{
	EVP_PKEY *pkey = NULL;
	OSSL_PARAM *params = NULL;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (!bld || !ctx || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) || !(params = OSSL_PARAM_BLD_to_param(bld)) ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

EVP_PKEY *authd_jwk_rsa_public_key(const json_t *jwk, char *reason, size_t reasonlen)
{
	EVP_PKEY *pkey = NULL;
	BIGNUM *n = NULL, *e = NULL;
	if (!json_is_object(jwk)) {
		snprintf(reason, reasonlen, "JWK is not a JSON object");
		goto out;
	}
	if (jwk_usable_for_rs256(jwk, reason, reasonlen))
		goto out;
	if (!(n = jwk_bignum(jwk, "n", JWK_MAX_MODULUS_BYTES, reason, reasonlen)) ||
	    !(e = jwk_bignum(jwk, "e", 8, reason, reasonlen)))
		goto out;
	if (BN_num_bits(n) < AUTHD_JWT_MIN_RSA_BITS) {
		snprintf(reason, reasonlen, "JWK modulus has %d bits, at least %d are required", BN_num_bits(n),
		         AUTHD_JWT_MIN_RSA_BITS);
		goto out;
	}
	if (!BN_is_odd(e) || BN_num_bits(e) < 2 || BN_num_bits(e) > 33) {
		snprintf(reason, reasonlen, "JWK public exponent is not a sane RSA exponent");
		goto out;
	}
	if (!(pkey = rsa_key_from_bignums(n, e)))
		snprintf(reason, reasonlen, "OpenSSL refused the JWK's RSA key");
out:
	BN_free(n);
	BN_free(e);
	return pkey;
}
