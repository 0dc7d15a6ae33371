/* id_token validation: base64url strictness, JWS parsing, RS256 with keys made at test time,
 * claims and identity binding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include "authd/b64url.h"
#include "authd/jwk.h"
#include "authd/jwt.h"
#include "pam_entra/account.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TENANT "11111111-2222-3333-4444-555555555555"
#define CLIENT "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
#define ISSUER "https://login.example/" TENANT "/v2.0"
#define OID    "0a1b2c3d-0000-4000-8000-00000000abcd"
#define NOW    1800000000

struct keys {
	EVP_PKEY *main, *weak, *outsider;
	json_t *jwks;
};

static char *b64_bn(EVP_PKEY *k, const char *param)
{
	BIGNUM *bn = NULL;
	assert_int_equal(EVP_PKEY_get_bn_param(k, param, &bn), 1);
	unsigned char buf[1024];
	int len = BN_bn2bin(bn, buf);
	BN_free(bn);
	return authd_b64url_encode(buf, (size_t)len);
}

static json_t *jwk_of(EVP_PKEY *k, const char *kid)
{
	char *n = b64_bn(k, OSSL_PKEY_PARAM_RSA_N), *e = b64_bn(k, OSSL_PKEY_PARAM_RSA_E);
	json_t *jwk = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "RSA", "use", "sig", "kid", kid, "n", n, "e", e);
	free(n);
	free(e);
	return jwk;
}

static int setup(void **state)
{
	struct keys *k = calloc(1, sizeof(*k));
	k->main = EVP_RSA_gen(2048);
	k->weak = EVP_RSA_gen(1024);
	k->outsider = EVP_RSA_gen(2048);
	assert_non_null(k->main);
	k->jwks = json_pack("{s:[o,o]}", "keys", jwk_of(k->main, "main"), jwk_of(k->weak, "weak"));
	*state = k;
	return 0;
}

static int teardown(void **state)
{
	struct keys *k = *state;
	EVP_PKEY_free(k->main);
	EVP_PKEY_free(k->weak);
	EVP_PKEY_free(k->outsider);
	json_decref(k->jwks);
	free(k);
	return 0;
}

static char *b64_json(const char *text)
{
	return authd_b64url_encode((const unsigned char *)text, strlen(text));
}

/* "header.payload.signature" with HEADER and CLAIMS as raw JSON text, RS256-signed by KEY
 * (or no signature when KEY is NULL). */
static char *token_raw(const char *header, const char *claims, EVP_PKEY *key)
{
	char *h = b64_json(header), *p = b64_json(claims), *input = NULL;
	assert_true(asprintf(&input, "%s.%s", h, p) > 0);
	unsigned char sig[1024];
	size_t siglen = 0;
	if (key) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		siglen = sizeof(sig);
		assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
		assert_int_equal(EVP_DigestSign(md, sig, &siglen, (unsigned char *)input, strlen(input)), 1);
		EVP_MD_CTX_free(md);
	}
	char *s = authd_b64url_encode(sig, siglen), *tok = NULL;
	assert_true(asprintf(&tok, "%s.%s", input, s) > 0);
	free(h), free(p), free(input), free(s);
	return tok;
}

static char *claims_json(const char *override)
{
	char *c = NULL;
	json_t *base = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:s}", "aud", CLIENT, "iss", ISSUER, "tid",
	                         TENANT, "iat", (json_int_t)NOW, "nbf", (json_int_t)NOW, "exp", (json_int_t)NOW + 3600,
	                         "oid", OID, "preferred_username", "alice@contoso.com", "ver", "2.0");
	if (override) {
		json_t *o = json_loads(override, 0, NULL);
		assert_non_null(o);
		json_object_update(base, o);
		json_decref(o);
	}
	c = json_dumps(base, JSON_COMPACT);
	json_decref(base);
	return c;
}

static char *token(EVP_PKEY *key, const char *kid, const char *override)
{
	char header[128], *claims = claims_json(override);
	snprintf(header, sizeof(header), "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"%s\"}", kid);
	char *t = token_raw(header, claims, key);
	free(claims);
	return t;
}

static const struct authd_jwt_expect expect = {
    .issuer = ISSUER, .client_id = CLIENT, .tenant_id = TENANT, .now = NOW, .leeway = AUTHD_JWT_LEEWAY};

/* Full validation as pam_entra does it; returns the status and fills REASON. */
static int validate(struct keys *k, const char *tok, char *reason)
{
	struct authd_jwt jwt;
	int rc = authd_jwt_parse(tok, &jwt, reason, 256);
	if (rc == AUTHD_JWT_OK)
		rc = authd_jwt_verify_signature(&jwt, k->jwks, reason, 256);
	if (rc == AUTHD_JWT_OK)
		rc = authd_jwt_check_claims(&jwt, &expect, reason, 256);
	authd_jwt_free(&jwt);
	return rc;
}

static void expect_refused(struct keys *k, char *tok, const char *reason_part)
{
	char reason[256] = "";
	assert_int_equal(validate(k, tok, reason), AUTHD_JWT_REFUSED);
	if (!strstr(reason, reason_part))
		fail_msg("reason '%s' lacks '%s'", reason, reason_part);
	free(tok);
}

static void test_b64url_strict(void **state)
{
	unsigned char *out;
	size_t len;
	assert_int_equal(authd_b64url_decode("QQ", 2, &out, &len), 0);
	assert_int_equal(len, 1);
	assert_int_equal(out[0], 'A');
	free(out);
	const char *bad[] = {"QR", "QQ==", "Q", "QQ+/", "QQ/a", "QQ a", "QUJD\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(authd_b64url_decode(bad[i], strlen(bad[i]), &out, &len), -1);
		assert_null(out);
	}
	unsigned char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)(255 - i);
	for (size_t n = 0; n <= sizeof(all); n += 37) {
		char *enc = authd_b64url_encode(all, n);
		assert_int_equal(authd_b64url_decode(enc, strlen(enc), &out, &len), 0);
		assert_int_equal(len, n);
		assert_memory_equal(out, all, n);
		free(enc), free(out);
	}
}

static void test_valid_token(void **state)
{
	struct keys *k = *state;
	char reason[256] = "", *tok = token(k->main, "main", NULL);
	assert_int_equal(validate(k, tok, reason), AUTHD_JWT_OK);
	free(tok);
}

static void test_alg_must_be_rs256(void **state)
{
	struct keys *k = *state;
	char *claims = claims_json(NULL);
	const char *headers[] = {"{\"alg\":\"none\",\"kid\":\"main\"}",
	                         "{\"alg\":\"HS256\",\"kid\":\"main\"}",
	                         "{\"alg\":\"RS512\",\"kid\":\"main\"}",
	                         "{\"alg\":\"PS256\",\"kid\":\"main\"}",
	                         "{\"alg\":\"ES256\",\"kid\":\"main\"}",
	                         "{\"alg\":\"rs256\",\"kid\":\"main\"}",
	                         "{\"kid\":\"main\"}"};
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
		expect_refused(k, token_raw(headers[i], claims, k->main), "only RS256 is accepted");
	expect_refused(k, token_raw("{\"alg\":\"none\",\"kid\":\"main\"}", claims, NULL), "only RS256");
	free(claims);
}

static void test_hs256_keyed_with_public_key_refused(void **state)
{
	struct keys *k = *state;
	char *claims = claims_json(NULL), *h = b64_json("{\"alg\":\"HS256\",\"kid\":\"main\"}"), *p = b64_json(claims);
	char *input = NULL, *tok = NULL;
	assert_true(asprintf(&input, "%s.%s", h, p) > 0);
	const char *n = json_string_value(json_object_get(json_array_get(json_object_get(k->jwks, "keys"), 0), "n"));
	unsigned char mac[32];
	unsigned int maclen = 0;
	HMAC(EVP_sha256(), n, (int)strlen(n), (unsigned char *)input, strlen(input), mac, &maclen);
	char *s = authd_b64url_encode(mac, maclen);
	assert_true(asprintf(&tok, "%s.%s", input, s) > 0);
	expect_refused(k, tok, "token alg is 'HS256'");
	free(claims), free(h), free(p), free(input), free(s);
}

static void test_header_shapes_refused(void **state)
{
	struct keys *k = *state;
	char *claims = claims_json(NULL);
	expect_refused(k, token_raw("{\"alg\":\"RS256\"}", claims, k->main), "no kid");
	expect_refused(k, token_raw("{\"alg\":\"RS256\",\"kid\":\"main\",\"crit\":[\"x\"]}", claims, k->main), "crit");
	expect_refused(k, token_raw("{\"alg\":\"RS256\",\"alg\":\"none\",\"kid\":\"main\"}", claims, k->main),
	               "header is not base64url JSON");
	expect_refused(k, token_raw("[1]", claims, k->main), "header is not base64url JSON");
	free(claims);
	expect_refused(
	    k, token_raw("{\"alg\":\"RS256\",\"kid\":\"main\"}", "{\"aud\":\"x\",\"aud\":\"" CLIENT "\"}", k->main),
	    "payload is not base64url JSON");
}

static void test_structure_refused(void **state)
{
	struct keys *k = *state;
	char *tok = token(k->main, "main", NULL);
	char *dots = NULL;
	assert_true(asprintf(&dots, "%s.x", tok) > 0);
	expect_refused(k, dots, "three dot-separated parts");
	expect_refused(k, strdup("abc.def"), "three dot-separated parts");
	char *nosig = strdup(tok);
	*(strrchr(nosig, '.') + 1) = '\0';
	expect_refused(k, nosig, "signature is missing");
	char *padded = NULL;
	assert_true(asprintf(&padded, "%s=", tok) > 0);
	expect_refused(k, padded, "signature is missing or not base64url");
	char *huge = malloc(AUTHD_JWT_MAX_LEN + 10);
	memset(huge, 'a', AUTHD_JWT_MAX_LEN + 9);
	huge[AUTHD_JWT_MAX_LEN + 9] = '\0';
	expect_refused(k, huge, "longer than");
	free(tok);
}

static void test_signature_checks(void **state)
{
	struct keys *k = *state;
	char reason[256] = "";
	char *tok = token(k->outsider, "nobody", NULL);
	assert_int_equal(validate(k, tok, reason), AUTHD_JWT_UNKNOWN_KID);
	assert_non_null(strstr(reason, "is not in the JWKS"));
	free(tok);
	expect_refused(k, token(k->outsider, "main", NULL), "signature does not verify");
	tok = token(k->main, "main", NULL);
	char *sig = strrchr(tok, '.') + 1;
	sig[5] = sig[5] == 'A' ? 'B' : 'A';
	expect_refused(k, tok, "signature does not verify");
	/* payload swapped under a valid signature */
	char *good = token(k->main, "main", NULL), *other = token(k->main, "main", "{\"oid\":\"someone-else\"}");
	char *mixed = NULL, *p1 = strchr(other, '.'), *p2 = strrchr(other, '.');
	assert_true(asprintf(&mixed, "%.*s%.*s%s", (int)(strchr(good, '.') - good), good, (int)(p2 - p1), p1,
	                     strrchr(good, '.')) > 0);
	expect_refused(k, mixed, "signature does not verify");
	free(good), free(other);
	/* truncated signature */
	tok = token(k->main, "main", NULL);
	tok[strlen(tok) - 4] = '\0';
	expect_refused(k, tok, "signature");
	expect_refused(k, token(k->weak, "weak", NULL), "at least 2048");
}

static void test_jwk_shapes(void **state)
{
	struct keys *k = *state;
	char reason[256];
	const json_t *main = authd_jwks_find(k->jwks, "main");
	assert_non_null(main);
	assert_null(authd_jwks_find(k->jwks, "absent"));
	json_t *jwk = json_deep_copy(main);
	EVP_PKEY *pkey = authd_jwk_rsa_public_key(jwk, reason, sizeof(reason));
	assert_non_null(pkey);
	EVP_PKEY_free(pkey);
	json_object_set_new(jwk, "kty", json_string("EC"));
	assert_null(authd_jwk_rsa_public_key(jwk, reason, sizeof(reason)));
	assert_non_null(strstr(reason, "only RSA"));
	json_object_set_new(jwk, "kty", json_string("RSA"));
	json_object_set_new(jwk, "use", json_string("enc"));
	assert_null(authd_jwk_rsa_public_key(jwk, reason, sizeof(reason)));
	json_object_del(jwk, "use");
	json_object_set_new(jwk, "alg", json_string("RS384"));
	assert_null(authd_jwk_rsa_public_key(jwk, reason, sizeof(reason)));
	json_object_del(jwk, "alg");
	json_object_set_new(jwk, "e", json_string("AAE="));
	assert_null(authd_jwk_rsa_public_key(jwk, reason, sizeof(reason)));
	json_object_set_new(jwk, "e", json_string("Ag")); /* even exponent */
	assert_null(authd_jwk_rsa_public_key(jwk, reason, sizeof(reason)));
	json_object_del(jwk, "n");
	assert_null(authd_jwk_rsa_public_key(jwk, reason, sizeof(reason)));
	json_decref(jwk);
}

static void test_claims(void **state)
{
	struct keys *k = *state;
	char reason[256];
	expect_refused(k, token(k->main, "main", "{\"iss\":\"https://sts.windows.net/" TENANT "/\"}"), "token iss");
	expect_refused(k, token(k->main, "main", "{\"aud\":\"someone-else\"}"), "token aud");
	expect_refused(k, token(k->main, "main", "{\"aud\":[\"a\",\"b\"]}"), "token aud");
	expect_refused(k, token(k->main, "main", "{\"aud\":7}"), "token aud");
	expect_refused(k, token(k->main, "main", "{\"tid\":\"99999999-2222-3333-4444-555555555555\"}"), "token tid");
	expect_refused(k, token(k->main, "main", "{\"tid\":null}"), "token tid");
	expect_refused(k, token(k->main, "main", "{\"exp\":1799999940}"), "token expired 60 s ago");
	expect_refused(k, token(k->main, "main", "{\"exp\":\"1900000000\"}"), "no numeric exp");
	expect_refused(k, token(k->main, "main", "{\"iat\":1800000061}"), "iat is 61 s in the future");
	expect_refused(k, token(k->main, "main", "{\"nbf\":1800000061}"), "nbf");
	expect_refused(k, token(k->main, "main", "{\"nbf\":\"soon\"}"), "nbf is not a number");
	const char *accepted[] = {"{\"exp\":1799999941}", "{\"iat\":1800000060,\"nbf\":1800000060}",
	                          "{\"aud\":[\"x\",\"" CLIENT "\"]}",
	                          "{\"tid\":\"11111111-2222-3333-4444-555555555555\"}", "{\"exp\":1800003600.5}"};
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		char *tok = token(k->main, "main", accepted[i]);
		if (validate(k, tok, reason) != AUTHD_JWT_OK)
			fail_msg("%s refused: %s", accepted[i], reason);
		free(tok);
	}
}

static void test_issuer_template(void **state)
{
	char *iss = authd_issuer_expected("https://login.microsoftonline.com/{tenantid}/v2.0", TENANT);
	assert_string_equal(iss, "https://login.microsoftonline.com/" TENANT "/v2.0");
	free(iss);
	iss = authd_issuer_expected(ISSUER, TENANT);
	assert_string_equal(iss, ISSUER);
	free(iss);
}

static void test_identity_binding(void **state)
{
	char reason[256];
	struct pe_account a = {
	    .name = "alice", .uid = 200100, .upn = "alice@contoso.com", .object_id = OID, .login = 1, .expire = -1};
	json_t *c = json_pack("{s:s, s:s}", "oid", "0A1B2C3D-0000-4000-8000-00000000ABCD", "preferred_username",
	                      "someone@else.com");
	assert_int_equal(pe_account_binding_check(&a, false, c, reason, sizeof(reason)), 0); /* oid wins, any case */
	json_object_set_new(c, "oid", json_string("ffffffff-0000-4000-8000-00000000abcd"));
	json_object_set_new(c, "preferred_username", json_string("alice@contoso.com"));
	assert_int_equal(pe_account_binding_check(&a, false, c, reason, sizeof(reason)), -1); /* same UPN, other oid */
	json_object_del(c, "oid");
	assert_int_equal(pe_account_binding_check(&a, false, c, reason, sizeof(reason)), -1);
	a.object_id[0] = '\0'; /* no object id known: refused unless the admin opted in to UPN binding */
	json_object_set_new(c, "preferred_username", json_string("ALICE@Contoso.com"));
	assert_int_equal(pe_account_binding_check(&a, false, c, reason, sizeof(reason)), -1);
	assert_non_null(strstr(reason, "no Entra object id"));
	assert_int_equal(pe_account_binding_check(&a, true, c, reason, sizeof(reason)), 0);
	json_object_set_new(c, "preferred_username", json_string("alice@contoso.com.evil"));
	assert_int_equal(pe_account_binding_check(&a, true, c, reason, sizeof(reason)), -1);
	json_decref(c);
}

static void test_account_state(void **state)
{
	struct pe_account a = {.name = "alice", .uid = 200100, .login = 1, .expire = -1};
	time_t now = 1800000000; /* day 20833 */
	assert_int_equal(pe_account_state(&a, now), PE_ACCOUNT_OK);
	a.expire = 20834;
	assert_int_equal(pe_account_state(&a, now), PE_ACCOUNT_OK);
	a.expire = 20833;
	assert_int_equal(pe_account_state(&a, now), PE_ACCOUNT_EXPIRED);
	a.expire = 1;
	assert_int_equal(pe_account_state(&a, now), PE_ACCOUNT_EXPIRED);
	a.expire = -1, a.login = 0;
	assert_int_equal(pe_account_state(&a, now), PE_ACCOUNT_NO_LOGIN);
	a.login = 1, a.uid = 0;
	assert_int_equal(pe_account_state(&a, now), PE_ACCOUNT_SUPERUSER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_b64url_strict),
	    cmocka_unit_test(test_valid_token),
	    cmocka_unit_test(test_alg_must_be_rs256),
	    cmocka_unit_test(test_hs256_keyed_with_public_key_refused),
	    cmocka_unit_test(test_header_shapes_refused),
	    cmocka_unit_test(test_structure_refused),
	    cmocka_unit_test(test_signature_checks),
	    cmocka_unit_test(test_jwk_shapes),
	    cmocka_unit_test(test_claims),
	    cmocka_unit_test(test_issuer_template),
	    cmocka_unit_test(test_identity_binding),
	    cmocka_unit_test(test_account_state),
	};
	return cmocka_run_group_tests_name("jwt", tests, setup, teardown);
}
