/* Unit tests for common/casefold.c: Unicode simple case folding over the generated table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/casefold.h"
#include "common/casefold_table.h"

static void table_is_sorted_and_complete(void **state)
{
	size_t bmp = 0;
	assert_true(casefold_n_pairs > 1400);
	for (size_t i = 0; i < casefold_n_pairs; i++) {
		assert_true(casefold_pairs[i].from != casefold_pairs[i].to);
		if (i)
			assert_true(casefold_pairs[i - 1].from < casefold_pairs[i].from);
		bmp += casefold_pairs[i].from < 0x10000;
		/* a folded code point folds to itself: comparing folded text twice changes nothing */
		assert_int_equal(casefold_cp(casefold_pairs[i].to), casefold_pairs[i].to);
	}
	assert_true(bmp > 1150);
	assert_non_null(strchr(casefold_unicode_version, '.'));
}

static void code_points(void **state)
{
	static const uint32_t pairs[][2] = {
	    {'A', 'a'},         {'z', 'z'},           {'@', '@'},       {0x00DC, 0x00FC}, /* Ü */
	    {0x00DF, 0x00DF},                                           /* ß: only full folding makes it ss */
	    {0x1E9E, 0x00DF},                                           /* ẞ (status S) */
	    {0x03A3, 0x03C3},   {0x03C2, 0x03C3},                       /* Σ, final ς */
	    {0x0410, 0x0430},   {0x0401, 0x0451},                       /* А, Ё */
	    {0x212A, 'k'},      {0x017F, 's'},                          /* Kelvin sign, long s */
	    {0x0130, 0x0130},                                           /* İ: no simple folding (only T and F) */
	    {0x1F88, 0x1F80},   {0x13F8, 0x13F0},     {0xAB70, 0x13A0}, /* Greek S, Cherokee */
	    {0x10400, 0x10428},                                         /* Deseret, beyond the BMP */
	    {0x4E2D, 0x4E2D},   {0x10FFFF, 0x10FFFF},
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		assert_int_equal(casefold_cp(pairs[i][0]), pairs[i][1]);
}

static void strings(void **state)
{
	assert_true(casefold_eq("M\xc3\x9cLLER", "M\xc3\xbcller"));
	assert_true(
	    casefold_eq("\xce\xa3\xce\x9f\xce\xa6\xce\x99\xce\x91", "\xcf\x83\xce\xbf\xcf\x86\xce\xb9\xce\xb1"));
	assert_true(casefold_eq("\xd0\x94\xd0\x9e\xd0\x9c", "\xd0\xb4\xd0\xbe\xd0\xbc")); /* ДОМ, дом */
	assert_false(casefold_eq("stra\xc3\x9f"
	                         "e",
	                         "STRASSE"));
	assert_false(casefold_eq("abc", "abcd"));
	assert_true(casefold_cmp("a", 1, "B", 1) < 0);
	assert_true(casefold_cmp("\xc3\xa9", 2, "F", 1) > 0); /* é after f: code point order */
	assert_int_equal(casefold_cmp("", 0, "", 0), 0);
	/* bytes that are not UTF-8 compare as themselves, never as a character */
	assert_false(casefold_eq("\xc3", "\xc3\xa9"));
	assert_true(casefold_eq("a\xff", "A\xff"));
	assert_false(casefold_eq("\xc0\xaf", "/")); /* overlong */
	assert_false(casefold_eq("\xed\xa0\x80", "\xed\xa0\x81"));
}

static void folded_text(void **state)
{
	char out[64];
	/* U+023A (2 bytes) folds to U+2C65 (3 bytes): the worst growth CASEFOLD_MAX_LEN allows */
	size_t n = casefold_utf8("\xc8\xba\xc8\xba", 4, out);
	assert_int_equal(n, 6);
	assert_true(n + 1 <= CASEFOLD_MAX_LEN(4));
	assert_string_equal(out, "\xe2\xb1\xa5\xe2\xb1\xa5");
	n = casefold_utf8("\xe2\x84\xaaM\xc3\x9c", 6, out); /* Kelvin sign shrinks to one byte */
	assert_string_equal(out, "km\xc3\xbc");
	assert_int_equal(n, 4);
	char *d = casefold_dup("Web TEAM \xce\xa3");
	assert_string_equal(d, "web team \xcf\x83");
	free(d);
	assert_null(casefold_dup(NULL));
	casefold_utf8("x\xff\xc3", 3, out);
	assert_string_equal(out, "x\xff\xc3");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(table_is_sorted_and_complete),
	    cmocka_unit_test(code_points),
	    cmocka_unit_test(strings),
	    cmocka_unit_test(folded_text),
	};
	return cmocka_run_group_tests_name("casefold", tests, NULL, NULL);
}
