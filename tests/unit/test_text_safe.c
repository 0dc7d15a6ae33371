/* Unit tests for common/text_safe.c: controls (C0, DEL, C1 with CSI), bidi and other format
 * characters, ':', invalid UTF-8 (overlong, surrogates, above U+10FFFF, stray and cut
 * sequences), the cut on a character boundary at every length, and the ASCII mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/text_safe.h"

static const char *safe(const char *in, unsigned flags)
{
	static char out[1024];
	size_t n = entra_text_safe(out, sizeof(out), in, flags);
	assert_int_equal(n, strlen(out));
	return out;
}

/* UTF-8 of CP (any value below 2^21, surrogates included) into OUT; its length. */
static size_t encode(uint32_t cp, char *out)
{
	unsigned char *o = (unsigned char *)out;
	size_t len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
	static const unsigned char lead[] = {0, 0, 0xc0, 0xe0, 0xf0};
	for (size_t i = len - 1; i > 0; i--, cp >>= 6)
		o[i] = 0x80 | (cp & 0x3f);
	o[0] = len == 1 ? (unsigned char)cp : (unsigned char)(lead[len] | cp);
	out[len] = '\0';
	return len;
}

/* An independent check: S is well-formed UTF-8 with no character entra_text_dropped names. */
static void assert_clean_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t len = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 0;
		assert_true(len > 0);
		uint32_t cp = len == 1 ? *p : *p & (0x7f >> len);
		for (size_t i = 1; i < len; i++) {
			assert_int_equal(p[i] & 0xc0, 0x80);
			cp = cp << 6 | (p[i] & 0x3f);
		}
		static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
		assert_true(cp >= min[len] && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff));
		assert_false(entra_text_dropped(cp));
		p += len;
	}
}

static void ascii_and_colon(void **state)
{
	assert_string_equal(safe("Alice Smith (Ops), x=1", 0), "Alice Smith (Ops), x=1");
	assert_string_equal(safe("a:b", 0), "a:b");
	assert_string_equal(safe("x:0:0:root", ENTRA_TEXT_NO_COLON), "x00root");
	assert_string_equal(safe(NULL, 0), "");
	char out[4] = "xyz";
	assert_int_equal(entra_text_safe(out, 0, "abc", 0), 0);
	assert_string_equal(out, "xyz"); /* DSTLEN 0: nothing written */
}

static void controls_are_dropped(void **state)
{
	assert_string_equal(safe("x\nroot:x:0:0::/:/bin/sh", ENTRA_TEXT_NO_COLON), "xrootx00//bin/sh");
	assert_string_equal(safe("\x1b[2J\x1b]0;title\x07ok\x7f\t\r", 0), "[2J]0;titleok");
	for (uint32_t cp = 1; cp < 0x20; cp++) {
		char in[8];
		encode(cp, in);
		assert_string_equal(safe(in, 0), "");
	}
	/* every C1 control as a character (U+009B is CSI, U+0085 NEL) and as a raw byte */
	for (uint32_t cp = 0x80; cp <= 0x9f; cp++) {
		char in[16] = "a", raw[4] = {'b', (char)cp, 'c', 0};
		encode(cp, in + 1);
		strcat(in, "z");
		assert_string_equal(safe(in, 0), "az");
		assert_string_equal(safe(raw, 0), "bc");
	}
	assert_string_equal(safe("\xc2\x9b"
	                         "31mred",
	                         0),
	                    "31mred");
}

static void format_characters_are_dropped(void **state)
{
	static const uint32_t dropped[] = {
	    0x061c, 0x200b, 0x200c,  0x200d,  0x200e,  0x200f, 0x202a,  0x202b,  0x202c,  0x202d,  0x202e,
	    0x2066, 0x2067, 0x2068,  0x2069,  0x2060,  0x2064, 0x206f,  0xfeff,  0x00ad,  0x180e,  0x2028,
	    0x2029, 0xfff9, 0xe0001, 0xe0041, 0xe007f, 0x0600, 0x110bd, 0x1d173, 0x1bca0, 0x13430,
	};
	for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++) {
		char in[16] = "<";
		encode(dropped[i], in + 1);
		strcat(in, ">");
		assert_true(entra_text_dropped(dropped[i]));
		assert_string_equal(safe(in, 0), "<>");
	}
	/* "evil\u202Egpj.exe" would show as "evilexe.jpg" */
	assert_string_equal(safe("evil\xe2\x80\xae"
	                         "gpj.exe",
	                         0),
	                    "evilgpj.exe");
}

static void letters_are_kept(void **state)
{
	static const char *kept[] = {
	    "J\xc3\xbcrgen M\xc3\xbcller",                       /* Latin-1 letters */
	    "\xd0\x90\xd0\xbd\xd0\xbd\xd0\xb0",                  /* Cyrillic */
	    "\xd9\x85\xd8\xad\xd9\x85\xd8\xaf",                  /* Arabic (right to left, no control) */
	    "\xe5\xb1\xb1\xe7\x94\xb0 \xe5\xa4\xaa\xe9\x83\x8e", /* CJK */
	    "\xf0\x9f\x98\x80\xef\xb8\x8f",                      /* emoji and a variation selector */
	    "\xc2\xa0\xef\xbf\xbd",                              /* NBSP and U+FFFD */
	    "\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf",          /* U+D7FF, U+E000, U+10FFFF */
	    "\xe0\xa0\x80\xf0\x90\x80\x80",                      /* U+0800, U+10000: the smallest 3-, 4-byte forms */
	};
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		assert_string_equal(safe(kept[i], 0), kept[i]);
}

static void invalid_utf8_is_dropped(void **state)
{
	static const char *const cases[][2] = {
	    {"a\xc0\xaf"
	     "b",
	     "ab"}, /* overlong '/' */
	    {"a\xc1\xbf"
	     "b",
	     "ab"},
	    {"a\xe0\x80\xaf"
	     "b",
	     "ab"}, /* 3-byte overlong */
	    {"a\xe0\x9f\xbf"
	     "b",
	     "ab"},
	    {"a\xf0\x80\x80\xaf"
	     "b",
	     "ab"}, /* 4-byte overlong */
	    {"a\xf0\x8f\xbf\xbf"
	     "b",
	     "ab"},
	    {"a\xed\xa0\x80"
	     "b",
	     "ab"}, /* U+D800 */
	    {"a\xed\xbf\xbf"
	     "b",
	     "ab"}, /* U+DFFF */
	    {"a\xf4\x90\x80\x80"
	     "b",
	     "ab"}, /* U+110000 */
	    {"a\xf5\x80\x80\x80"
	     "b",
	     "ab"},
	    {"a\xff\xfe"
	     "b",
	     "ab"},
	    {"a\x80\xbf"
	     "b",
	     "ab"}, /* stray continuation bytes */
	    {"a\xe6\x97"
	     "b",
	     "ab"}, /* a sequence cut short */
	    {"a\xe6\x97", "a"},
	    {"a\xf0\x9f\x98", "a"},
	    {"\xe6\xe6\x97\xa5", "\xe6\x97\xa5"}, /* a broken lead, then a good character */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(safe(cases[i][0], 0), cases[i][1]);
}

static void every_code_point(void **state)
{
	for (uint32_t cp = 1; cp <= 0x10ffff; cp++) {
		char in[8], out[8];
		size_t len = encode(cp, in);
		size_t n = entra_text_safe(out, sizeof(out), in, 0);
		if (cp >= 0xd800 && cp <= 0xdfff)
			assert_int_equal(n, 0);
		else if (entra_text_dropped(cp))
			assert_int_equal(n, 0);
		else
			assert_true(n == len && !memcmp(in, out, len));
	}
	assert_false(entra_text_dropped(' '));
	assert_false(entra_text_dropped(0xa0));
	assert_false(entra_text_dropped(0x202f)); /* just past the bidi overrides: a space */
}

/* A name of 2-, 3- and 4-byte characters with a CSI and a bidi override inside, cut at every
 * size: always whole characters, the longest prefix that fits. */
static void cut_at_every_length(void **state)
{
	char in[512] = "", full[512];
	static const char *const parts[] = {"\xc3\xa9", "\xe5\xb1\xb1", "\xf0\x9f\x98\x80",
	                                    "\xc2\x9b", "\xe2\x80\xae", "x"};
	for (int i = 0; strlen(in) < 300; i++)
		strcat(in, parts[i % 6]);
	size_t whole = entra_text_safe(full, sizeof(full), in, 0);
	assert_clean_utf8(full);
	for (size_t size = 1; size <= whole + 2; size++) {
		char *out = malloc(size); /* exactly SIZE bytes: ASan sees any write past the end */
		size_t n = entra_text_safe(out, size, in, 0);
		assert_int_equal(n, strlen(out));
		assert_true(n < size);
		assert_memory_equal(out, full, n);
		assert_clean_utf8(out);
		if (n < whole) { /* the next character did not fit */
			size_t next = (full[n] & 0xe0) == 0xc0   ? 2
			              : (full[n] & 0xf0) == 0xe0 ? 3
			              : (full[n] & 0x80)         ? 4
			                                         : 1;
			assert_true(n + next > size - 1);
		}
		free(out);
	}
	/* the old cut: 256 bytes of a 3-byte script split its 86th character */
	char name[400] = "", out[257];
	while (strlen(name) < 300)
		strcat(name, "\xe5\xb1\xb1");
	assert_int_equal(entra_text_safe(out, sizeof(out), name, 0), 255);
	assert_clean_utf8(out);
}

static void ascii_mode(void **state)
{
	assert_string_equal(safe("J\xc3\xbcrgen \xe5\xb1\xb1\xf0\x9f\x98\x80", ENTRA_TEXT_ASCII), "J?rgen ??");
	assert_string_equal(safe("A\xc2\x9b"
	                         "B\xe2\x80\xae"
	                         "C\x1b"
	                         "D\xed\xa0\x80"
	                         "E",
	                         ENTRA_TEXT_ASCII),
	                    "ABCDE");
	char out[3];
	assert_int_equal(entra_text_safe(out, sizeof(out), "\xc3\xbc\xc3\xbc\xc3\xbc", ENTRA_TEXT_ASCII), 2);
	assert_string_equal(out, "??");
}

static void random_bytes(void **state)
{
	srand(1);
	for (int round = 0; round < 20000; round++) {
		char in[64], out[48];
		size_t len = (size_t)rand() % (sizeof(in) - 1);
		for (size_t i = 0; i < len; i++) /* biased to the bytes of UTF-8 sequences */
			in[i] = (char)(rand() % 4 ? 0x80 + rand() % 0x78 : 1 + rand() % 0xff);
		in[len] = '\0';
		entra_text_safe(out, (size_t)rand() % sizeof(out) + 1, in, (unsigned)round & 3);
		assert_clean_utf8(out);
		if (round & ENTRA_TEXT_ASCII)
			for (const char *c = out; *c; c++)
				assert_true(*c >= 0x20 && *c < 0x7f);
		if (round & ENTRA_TEXT_NO_COLON)
			assert_null(strchr(out, ':'));
	}
}

/* The reader's check agrees with the writer: text is safe exactly when sanitizing keeps it whole. */
static void is_safe_agrees_with_the_sanitizer(void **state)
{
	srand(2);
	for (int round = 0; round < 20000; round++) {
		char in[64], out[64];
		size_t len = (size_t)rand() % (sizeof(in) - 1);
		for (size_t i = 0; i < len; i++)
			in[i] = (char)(rand() % 4 ? 0x80 + rand() % 0x78 : 1 + rand() % 0xff);
		in[len] = '\0';
		unsigned flags = (unsigned)round & 3;
		size_t kept = entra_text_safe(out, sizeof(out), in, flags);
		assert_int_equal(entra_text_is_safe(in, sizeof(in), flags), kept == len);
		assert_true(entra_text_is_safe(out, sizeof(out), flags));
	}
	assert_true(entra_text_is_safe("Alice M\xc3\xbcller", 64, ENTRA_TEXT_NO_COLON));
	assert_false(entra_text_is_safe("Alice M\xc3\xbcller", 8, ENTRA_TEXT_NO_COLON)); /* longer than MAX */
	assert_false(entra_text_is_safe("a:b", 64, ENTRA_TEXT_NO_COLON));
	assert_true(entra_text_is_safe("a:b", 64, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(ascii_and_colon),
	    cmocka_unit_test(controls_are_dropped),
	    cmocka_unit_test(format_characters_are_dropped),
	    cmocka_unit_test(letters_are_kept),
	    cmocka_unit_test(invalid_utf8_is_dropped),
	    cmocka_unit_test(every_code_point),
	    cmocka_unit_test(cut_at_every_length),
	    cmocka_unit_test(ascii_mode),
	    cmocka_unit_test(random_bytes),
	    cmocka_unit_test(is_safe_agrees_with_the_sanitizer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
