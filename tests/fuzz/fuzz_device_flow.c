/* libFuzzer target: the bodies of the device code flow (RFC 8628) as pam_entra parses them.
 *
 * Input: "DEVICE-CODE-BODY" FUZZ_SEPARATOR "TOKEN-BODY" (without a separator the whole input is
 * used as both). The device code body goes through entra_device_code_parse, the token body through
 * authd_token_response_parse as an HTTP 200 and as an HTTP 400 answer. Besides memory safety the
 * target checks what the flow relies on: accepted values are bounded and clamped, every text
 * that reaches a log is printable ASCII, the codes shown to the user come out of
 * entra_text_safe clean, and a token is never taken from an error status. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authd/idp_flow.h"
#include "common/text_safe.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int ok)
{
	if (!ok)
		abort();
}

static void require_printable(const char *text)
{
	for (const char *c = text; *c; c++)
		require(*c >= 0x20 && *c < 0x7f);
}

static void require_bounded(const char *text, size_t max)
{
	require(text && *text && strlen(text) <= max);
}

/* The IdP's text as the prompt shows it: printable ASCII, or UTF-8 free of what the rule drops. */
static void require_shown_clean(const char *text)
{
	char ascii[1100], utf8[1100], again[1100];
	entra_text_safe(ascii, sizeof(ascii), text, ENTRA_TEXT_ASCII);
	require_printable(ascii);
	entra_text_safe(utf8, sizeof(utf8), text, 0);
	entra_text_safe(again, sizeof(again), utf8, 0);
	require(!strcmp(utf8, again));
}

static void check_device_code(const char *body, size_t len)
{
	struct entra_device_code dc;
	char why[256];
	why[0] = '\0';
	if (entra_device_code_parse(body, len, &dc, why, sizeof(why))) {
		require(why[0] != '\0' && dc.doc == NULL);
		require_printable(why);
		return;
	}
	require_bounded(dc.device_code, ENTRA_DEVICE_CODE_MAX);
	require_bounded(dc.user_code, ENTRA_USER_CODE_MAX);
	require_bounded(dc.verification_uri, ENTRA_URI_MAX);
	if (dc.verification_uri_complete)
		require_bounded(dc.verification_uri_complete, ENTRA_URI_MAX);
	require_shown_clean(dc.user_code);
	require_shown_clean(dc.verification_uri);
	require(dc.expires_in >= 1 && dc.expires_in <= 3600);
	require(dc.interval >= 1 && dc.interval <= 60);
	entra_device_code_free(&dc);
	require(dc.doc == NULL);
}

static void check_token_response(long status, const char *body, size_t len)
{
	struct authd_token_response t;
	if (authd_token_response_parse(status, body, len, &t))
		return; /* out of memory */
	require(t.outcome >= AUTHD_TOKEN_ID_TOKEN && t.outcome <= AUTHD_TOKEN_MALFORMED);
	require((t.outcome == AUTHD_TOKEN_ID_TOKEN) == (t.id_token != NULL));
	if (t.id_token)
		require(*t.id_token && status == 200);
	if (t.outcome == AUTHD_TOKEN_MALFORMED)
		require(status == 200 && t.why[0] != '\0');
	if (t.outcome != AUTHD_TOKEN_ID_TOKEN && t.outcome != AUTHD_TOKEN_MALFORMED &&
	    t.outcome != AUTHD_TOKEN_OTHER_ERROR)
		require(t.error[0] != '\0'); /* a named OAuth error comes from the body's "error" */
	require_printable(t.error);
	require_printable(t.description);
	require_printable(t.why);
	authd_token_response_free(&t);
	require(t.id_token == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *device, *token;
	size_t device_len, token_len;
	if (fuzz_split(data, size, &device, &device_len, &token, &token_len))
		return 0;
	check_device_code(device, device_len);
	const char *body = token ? token : device;
	size_t len = token ? token_len : device_len;
	check_token_response(200, body, len);
	check_token_response(400, body, len);
	free(device);
	free(token);
	return 0;
}
