/* Unit tests for common/base64.c: both alphabets decode the RFC 4648 test vectors, and every
 * non-canonical form is refused (wrong alphabet, padding where it does not belong or missing,
 * impossible lengths, non-zero unused bits, output that does not fit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "common/base64.h"

static long decode(enum entra_base64 kind, const char *s, unsigned char *out, size_t outlen)
{
	return entra_base64_decode(kind, s, strlen(s), out, outlen);
}

static void padded_decodes_rfc_4648_vectors(void **state)
{
	/* RFC 4648 section 10 */
	const char *enc[] = {"Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	unsigned char out[8];
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(decode(ENTRA_BASE64_PADDED, enc[i], out, sizeof(out)), (long)i + 1);
		assert_memory_equal(out, "foobar", i + 1);
	}
	assert_int_equal(decode(ENTRA_BASE64_PADDED, "+/+/", out, sizeof(out)), 3);
	assert_memory_equal(out, "\xfb\xff\xbf", 3);
}

static void url_decodes_without_padding(void **state)
{
	const char *enc[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
	unsigned char out[8];
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(decode(ENTRA_BASE64_URL, enc[i], out, sizeof(out)), (long)i);
		assert_memory_equal(out, "foobar", i);
	}
	assert_int_equal(decode(ENTRA_BASE64_URL, "-_-_", out, sizeof(out)), 3);
	assert_memory_equal(out, "\xfb\xff\xbf", 3);
}

static void non_canonical_forms_are_refused(void **state)
{
	unsigned char out[16];
	const char *padded[] = {"",
	                        "Zg",
	                        "Zg=",
	                        "Zg=a",
	                        "Zh==",
	                        "Zm9=",
	                        "-_-_",
	                        "Zm9v\n",
	                        "Zm 9",
	                        "====",
	                        "Z===",
	                        "Zg==Zg==",
	                        "Zm9vYmFyZm9vYmFy"};
	for (size_t i = 0; i < sizeof(padded) / sizeof(padded[0]); i++)
		assert_int_equal(decode(ENTRA_BASE64_PADDED, padded[i], out, 11), -1);
	const char *url[] = {"Z", "Zg==", "Zh", "Zm9", "+/+/", "Zm9v=", "Zm 9", "Zm9vY"};
	for (size_t i = 0; i < sizeof(url) / sizeof(url[0]); i++)
		assert_int_equal(decode(ENTRA_BASE64_URL, url[i], out, sizeof(out)), -1);
}

static void output_never_passes_its_room(void **state)
{
	unsigned char out[4] = {0, 0, 0, 0xAA};
	assert_int_equal(decode(ENTRA_BASE64_PADDED, "Zm9vYg==", out, 3), -1);
	assert_int_equal(decode(ENTRA_BASE64_URL, "Zm9vYg", out, 3), -1);
	assert_int_equal(decode(ENTRA_BASE64_URL, "Zm9v", out, 3), 3);
	assert_int_equal(out[3], 0xAA);
	assert_true(ENTRA_BASE64_DECODED_MAX(strlen("Zm9vYmE")) >= 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(padded_decodes_rfc_4648_vectors),
	    cmocka_unit_test(url_decodes_without_padding),
	    cmocka_unit_test(non_canonical_forms_are_refused),
	    cmocka_unit_test(output_never_passes_its_room),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
