/* libFuzzer target: documents an OpenID provider serves, through the sign-in's real code paths.
 *
 * Input: "DISCOVERY-JSON" FUZZ_SEPARATOR "JWKS-JSON" FUZZ_SEPARATOR "ID-TOKEN". The documents are
 * placed in entra-authd's file cache (where a previous fetch would have left them), then
 * authd_oidc_discover, authd_oidc_jwks and authd_token_verify run exactly as in entra-authd, then
 * pam_entra's binding check on what it accepts. The
 * authority and the JWKS URL point at 127.0.0.1:1 and the process has its own network namespace
 * when it can, so a fuzzed URL never reaches the network. Strings the module shows the user go
 * through entra_text_safe and the QR encoder as a device code response's would.
 *
 * The device code and token poll bodies have their own target, fuzz_device_flow.c. */
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authd/file_cache.h"
#include "authd/oidc.h"
#include "authd/token_verify.h"
#include "common/clock.h"
#include "common/text_safe.h"
#include "fuzz_util.h"
#include "pam_entra/account.h"
#include "pam_entra/qr.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define AUTHORITY "https://127.0.0.1:1"
#define TENANT    "11111111-2222-3333-4444-555555555555"
#define JWKS_URL  AUTHORITY "/" TENANT "/discovery/v2.0/keys"

static char cache_dir[64];
static struct entra_config cfg;

static void cache_put(const char *kind, const char *url, const char *doc, size_t len)
{
	char name[128], err[256];
	authd_oidc_cache_name(name, sizeof(name), kind, url);
	if (authd_cache_write(cache_dir, name, doc, len, err, sizeof(err))) {
		fprintf(stderr, "fuzz_idp_json: %s\n", err);
		abort();
	}
}

static void session_init(struct authd_request *s)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->log = (struct entra_logger){.component = "entra-authd", .facility = LOG_AUTHPRIV};
	s->user = "alice";
	s->deadline_ms = entra_now_ms() + 5000;
}

static void show_like_a_prompt(const char *text)
{
	char shown[1100], again[1100];
	entra_text_safe(shown, sizeof(shown), text, ENTRA_TEXT_ASCII);
	for (const char *c = shown; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			abort(); /* nothing but printable ASCII may reach a terminal not known to be UTF-8 */
	entra_text_safe(shown, sizeof(shown), text, 0);
	entra_text_safe(again, sizeof(again), shown, 0);
	if (strcmp(shown, again))
		abort(); /* what a UTF-8 terminal gets holds nothing the rule drops */
	free(pe_qr_render(shown));
}

static int run(const char *discovery, size_t dlen, const char *jwks, size_t jlen, const char *token)
{
	struct authd_request s;
	struct authd_oidc_provider p;
	session_init(&s);
	char url[256];
	snprintf(url, sizeof(url), "%s/%s/v2.0/.well-known/openid-configuration", AUTHORITY, TENANT);
	cache_put("discovery", url, discovery, dlen);
	if (authd_oidc_discover(&s, &p))
		return -1;
	show_like_a_prompt(p.issuer);
	show_like_a_prompt(p.device_authorization_endpoint);
	if (jwks) {
		p.jwks_uri = JWKS_URL; /* never a fuzzed URL: see the file comment */
		cache_put("jwks", JWKS_URL, jwks, jlen);
		struct pe_account acct = {
		    .name = "alice", .uid = 200001, .upn = "alice@contoso.com", .login = 1, .expire = -1};
		char reason[512] = "";
		json_t *claims = NULL;
		int rc = authd_token_verify(&s, &p, token ? token : "", &claims, reason, sizeof(reason));
		if (rc != AUTHD_OK && rc != AUTHD_REFUSED && rc != AUTHD_UNAVAILABLE)
			abort();
		if (rc == AUTHD_OK) /* then pam_entra's binding, as at sign-in */
			pe_account_binding_check(&acct, false, claims, reason, sizeof(reason));
		json_decref(claims);
	}
	authd_oidc_provider_free(&p);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];
	/* Belt and braces: without a network namespace the URLs above still only name 127.0.0.1:1. */
	if (unshare(CLONE_NEWNET) != 0)
		fprintf(stderr, "fuzz_idp_json: no private network namespace (%m); URLs stay on 127.0.0.1:1\n");
	snprintf(cache_dir, sizeof(cache_dir), "/tmp/fuzz-idp-XXXXXX");
	if (!mkdtemp(cache_dir))
		abort();
	char conf[512];
	snprintf(conf, sizeof(conf),
	         "[entra]\ntenant_id = %s\nclient_id = aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\nauthority = %s\n"
	         "[pam]\ncache_dir = %s\nhttp_timeout = 1\n",
	         TENANT, AUTHORITY, cache_dir);
	if (entra_config_parse("fuzz.conf", conf, &cfg, err, sizeof(err))) {
		fprintf(stderr, "fuzz_idp_json: %s\n", err);
		abort();
	}
	/* If oidc.c ever names its cache files differently, say so instead of fuzzing nothing. */
	static const char good[] = "{\"issuer\": \"https://x/{tenantid}/v2.0\", \"token_endpoint\": \"https://x/t\","
	                           "\"device_authorization_endpoint\": \"https://x/d\", \"jwks_uri\": \"https://x/k\"}";
	if (run(good, sizeof(good) - 1, NULL, 0, NULL)) {
		fprintf(stderr, "fuzz_idp_json: a valid cached discovery document was not used\n");
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *discovery, *rest, *jwks = NULL, *token = NULL;
	size_t dlen, rlen, jlen = 0, tlen = 0;
	if (fuzz_split(data, size, &discovery, &dlen, &rest, &rlen))
		return 0;
	if (rest && fuzz_split((const uint8_t *)rest, rlen, &jwks, &jlen, &token, &tlen)) {
		free(discovery);
		free(rest);
		return 0;
	}
	run(discovery, dlen, jwks, jlen, token);
	free(discovery);
	free(rest);
	free(jwks);
	free(token);
	return 0;
}
