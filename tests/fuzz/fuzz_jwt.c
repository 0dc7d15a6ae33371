/* libFuzzer target: id_token (compact JWS) parsing, RS256 verification against a JWKS, JWK to
 * RSA key conversion, claim checks and identity binding, and the strict base64url codec.
 *
 * Input: "JWKS-JSON" FUZZ_SEPARATOR "TOKEN". Without a separator the whole input is the token
 * and the JWKS is empty. The clock is fixed so the seeds (real RS256 tokens signed by a real
 * 2048-bit key, see corpus/jwt/README) reach the claim checks deterministically. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd/b64url.h"
#include "authd/jwk.h"
#include "authd/jwt.h"
#include "fuzz_util.h"
#include "pam_entra/account.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW    1700000000 /* the seeds' iat; their exp is an hour later */
#define FUZZ_TENANT "11111111-2222-3333-4444-555555555555"
#define FUZZ_CLIENT "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
#define MAX_KEYS    16

static void check_reason(const char *reason, size_t len)
{
	if (!memchr(reason, '\0', len) || !reason[0])
		abort(); /* every refusal is logged with a reason */
}

/* Canonical base64url: whatever decodes must re-encode to exactly the same text. */
static void b64url_roundtrip(const char *text, size_t len)
{
	unsigned char *raw = NULL;
	size_t rawlen = 0;
	if (authd_b64url_decode(text, len, &raw, &rawlen) == 0) {
		char *again = authd_b64url_encode(raw, rawlen);
		if (!again || strlen(again) != len || memcmp(again, text, len))
			abort();
		free(again);
	}
	free(raw);
}

static void every_key(const json_t *jwks)
{
	const json_t *keys = json_object_get(jwks, "keys");
	for (size_t i = 0; i < json_array_size(keys) && i < MAX_KEYS; i++) {
		char reason[200] = "";
		EVP_PKEY *k = authd_jwk_rsa_public_key(json_array_get(keys, i), reason, sizeof(reason));
		if (k)
			EVP_PKEY_free(k);
		else
			check_reason(reason, sizeof(reason));
	}
}

static void token_checks(const struct authd_jwt *jwt, const json_t *jwks)
{
	char reason[512] = "";
	int rc = authd_jwt_verify_signature(jwt, jwks, reason, sizeof(reason));
	if (rc != AUTHD_JWT_OK)
		check_reason(reason, sizeof(reason));
	const char *iss = json_string_value(json_object_get(jwt->claims, "iss"));
	char *issuer =
	    authd_issuer_expected(iss ? iss : "https://login.microsoftonline.com/{tenantid}/v2.0", FUZZ_TENANT);
	if (!issuer || strstr(issuer, "{tenantid}"))
		abort();
	struct authd_jwt_expect expect = {.issuer = issuer,
	                                  .client_id = FUZZ_CLIENT,
	                                  .tenant_id = FUZZ_TENANT,
	                                  .now = FUZZ_NOW,
	                                  .leeway = AUTHD_JWT_LEEWAY};
	reason[0] = '\0';
	if (authd_jwt_check_claims(jwt, &expect, reason, sizeof(reason)) != AUTHD_JWT_OK)
		check_reason(reason, sizeof(reason));
	free(issuer);
	struct pe_account acct = {.name = "alice", .uid = 200001, .upn = "alice@contoso.com", .login = 1, .expire = -1};
	for (int with_oid = 0; with_oid < 3; with_oid++) {
		if (with_oid == 2)
			snprintf(acct.object_id, sizeof(acct.object_id), "%s", "0f0e0d0c-0b0a-0908-0706-050403020100");
		reason[0] = '\0';
		if (pe_account_binding_check(&acct, with_oid == 1, jwt->claims, reason, sizeof(reason)))
			check_reason(reason, sizeof(reason));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *head, *tail;
	size_t head_len, tail_len;
	if (fuzz_split(data, size, &head, &head_len, &tail, &tail_len))
		return 0;
	const char *token = tail ? tail : head;
	json_t *jwks = tail ? json_loadb(head, head_len, JSON_REJECT_DUPLICATES, NULL) : NULL;
	if (!jwks)
		jwks = json_pack("{s:[]}", "keys");
	every_key(jwks);
	struct authd_jwt jwt;
	char reason[512] = "";
	if (authd_jwt_parse(token, &jwt, reason, sizeof(reason)) == AUTHD_JWT_OK) {
		if (!jwt.header || !jwt.claims || !jwt.kid || !jwt.signing_input)
			abort();
		token_checks(&jwt, jwks);
	} else {
		check_reason(reason, sizeof(reason));
	}
	authd_jwt_free(&jwt);
	const char *dot = strrchr(token, '.');
	b64url_roundtrip(dot ? dot + 1 : token, strlen(dot ? dot + 1 : token));
	json_decref(jwks);
	free(head);
	free(tail);
	return 0;
}
