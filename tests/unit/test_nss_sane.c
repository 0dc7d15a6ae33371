/* Unit tests for libnss_scim's tamper checks and buffer packing (nss_scim/sane.c, pack.c). */
/* cmocka needs these before its own header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nss_scim/nss_scim.h"

static void names(void **state)
{
	char longest[NSS_NAME_MAX + 2];
	assert_true(nss_name_ok("alice"));
	assert_true(nss_name_ok("alice@contoso.com"));
	assert_true(nss_name_ok("web-team"));
	assert_true(nss_name_ok("a1"));
	const char *bad[] = {NULL,
	                     "",
	                     "-rf",
	                     ".",
	                     "..",
	                     "12345",
	                     "a:b",
	                     "a,b",
	                     "a b",
	                     "a\tb",
	                     "a\nb",
	                     "a\x7f",
	                     "root",
	                     "daemon",
	                     "sudo",
	                     "systemd-network",
	                     "Root",
	                     "Alice",
	                     "x\xc2\x9b"
	                     "31m",
	                     "ro\xd0\xbet",
	                     "evil\xe2\x80\xae"
	                     "exe"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(nss_name_ok(bad[i]));
	memset(longest, 'a', sizeof(longest));
	longest[NSS_NAME_MAX] = '\0';
	assert_true(nss_name_ok(longest));
	longest[NSS_NAME_MAX] = 'a';
	longest[NSS_NAME_MAX + 1] = '\0';
	assert_false(nss_name_ok(longest));
	/* Local groups a role grants are the system's own: reserved names are fine there. */
	assert_true(nss_local_group_name_ok("sudo"));
	assert_true(nss_local_group_name_ok("adm"));
	assert_false(nss_local_group_name_ok("a:b"));
	assert_false(nss_local_group_name_ok("-rf"));
}

static void fields_and_paths(void **state)
{
	assert_true(nss_field_ok(""));
	assert_true(nss_field_ok("Alice Admin,Room 1,,"));
	assert_false(nss_field_ok(NULL));
	assert_false(nss_field_ok("x\nroot:x:0:0::/:/bin/sh"));
	assert_false(nss_field_ok("a:b"));
	/* Past the first 16 bytes (the vector check's second block and its tail). */
	assert_true(nss_field_ok("Alice Admin, Room 1234, Building 7"));
	assert_false(nss_field_ok("Alice Admin, Room 1234:5"));
	assert_false(nss_field_ok("Alice Admin, Room 1234, Building 7\x1b[2J"));
	assert_false(nss_field_ok("Alice Admin, Room\x7f"));
	assert_true(nss_field_ok("M\xc3\xbcller")); /* UTF-8 letters are fine */
	assert_false(nss_field_ok("Mallory\xc2\x9b"
	                          "31m")); /* U+009B, CSI */
	assert_false(nss_field_ok("Red\xe2\x80\xae"
	                          "evil"));     /* U+202E, a bidi override */
	assert_false(nss_field_ok("cut \xc3")); /* half a character */
	assert_false(nss_field_ok("\xc0\xaf")); /* an overlong '/' */
	assert_true(nss_path_ok("/home/alice"));
	assert_false(nss_path_ok("home/alice"));
	assert_false(nss_path_ok(""));
}

static void id_range(void **state)
{
	struct nss_view v = {.id_min = 200000, .id_max = 300000};
	assert_true(nss_id_ok(&v, 200000));
	assert_true(nss_id_ok(&v, 300000));
	assert_false(nss_id_ok(&v, 199999));
	assert_false(nss_id_ok(&v, 300001));
	assert_false(nss_id_ok(&v, -1));
	v.id_min = 0;
	assert_false(nss_id_ok(&v, 0)); /* never 0, whatever the range says */
}

static void pack_strings(void **state)
{
	char buf[8];
	struct nss_pack p = {buf, sizeof(buf)};
	char *a = nss_pack_str(&p, "abc");
	assert_ptr_equal(a, buf);
	assert_string_equal(a, "abc");
	assert_null(nss_pack_str(&p, "abcd")); /* needs 5, 4 left */
	assert_int_equal(p.left, 4);
	assert_non_null(nss_pack_str(&p, "abc"));
	assert_int_equal(p.left, 0);
	assert_null(nss_pack_str(&p, ""));
}

static void pack_pointer_arrays(void **state)
{
	alignas(char *) char buf[64];
	struct nss_pack p = {buf + 1, sizeof(buf) - 1};
	char **ptrs = nss_pack_ptrs(&p, 3);
	assert_non_null(ptrs);
	assert_int_equal((uintptr_t)ptrs % alignof(char *), 0);
	assert_ptr_equal((char *)ptrs, buf + alignof(char *));
	assert_int_equal(p.left, sizeof(buf) - alignof(char *) - 3 * sizeof(char *));
	assert_null(nss_pack_ptrs(&p, 6)); /* 32 bytes left, 48 asked */
	assert_non_null(nss_pack_ptrs(&p, 4));
	assert_int_equal(p.left, 0);
	struct nss_pack huge = {buf, sizeof(buf)};
	assert_null(nss_pack_ptrs(&huge, SIZE_MAX / 4)); /* no overflow in the size check */
}

/* The byte table and the vector form (nss_name_ok_n) behind the name checks agree with the rule
 * in words, for every byte. */
static void name_bytes_follow_the_rule(void **state)
{
	for (int c = 1; c < 256; c++) {
		char name[3] = {'a', (char)c, '\0'};
		bool ours =
		    (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-' || c == '@';
		bool local = c > 0x20 && c < 0x7f && c != ':' && c != ',';
		assert_int_equal(nss_name_ok(name), ours);
		assert_int_equal(nss_name_ok_n(name, 2), ours);
		assert_int_equal(nss_local_group_name_ok(name), local);
	}
}

/* Packed member names: the good ones kept in order with their pointers, the rest dropped. */
static void packed_names_are_filtered_in_place(void **state)
{
	static const char packed[] = "alice\0root\0\0-rf\0"
	                             "12345\0bob.smith\0..\0Eve\0sudo\0carol@x.org\0";
	char buf[sizeof(packed)], *mem[8];
	size_t dropped = 0;
	memcpy(buf, packed, sizeof(packed) - 1);
	size_t n = nss_names_filter(buf, sizeof(packed) - 1, mem, 8, &dropped);
	assert_int_equal(n, 3);
	assert_int_equal(dropped, 7);
	assert_string_equal(mem[0], "alice");
	assert_string_equal(mem[1], "bob.smith");
	assert_string_equal(mem[2], "carol@x.org");
	assert_ptr_equal(mem[0], buf);
	assert_ptr_equal(mem[1], buf + 6);
	assert_ptr_equal(mem[2], buf + 16);
	/* Too few pointer slots: the caller's buffer is too small. */
	memcpy(buf, packed, sizeof(packed) - 1);
	assert_int_equal(nss_names_filter(buf, sizeof(packed) - 1, mem, 2, &dropped), SIZE_MAX);
	assert_int_equal(nss_names_filter(buf, 0, mem, 0, &dropped), 0);
	/* Only bytes of our names (the vector path): the shapes and reserved names still count. */
	static const char clean[] = "alice\0root\0\0-rf\0..\0.\0"
	                            "12345\0"
	                            "1a1\0systemd-x\0bob\0";
	memcpy(buf, clean, sizeof(clean) - 1);
	assert_int_equal(nss_names_filter(buf, sizeof(clean) - 1, mem, 8, &dropped), 3);
	assert_int_equal(dropped, 7);
	assert_string_equal(mem[0], "alice");
	assert_string_equal(mem[1], "1a1");
	assert_string_equal(mem[2], "bob");
	/* A name longer than NSS_NAME_MAX is dropped, its neighbours kept. */
	char big[NSS_NAME_MAX + 12];
	memset(big, 'a', sizeof(big));
	memcpy(big, "x\0", 2);
	big[sizeof(big) - 4] = '\0';
	memcpy(big + sizeof(big) - 3, "y\0", 2);
	assert_int_equal(nss_names_filter(big, sizeof(big) - 1, mem, 8, &dropped), 2);
	assert_int_equal(dropped, 1);
	assert_string_equal(mem[1], "y");
}

/* Clean names of every length from 1 to 40 bytes, packed back to back: each one's end falls at
 * every offset of the 16-byte blocks the vector path reads, and each comes back whole. */
static void packed_names_of_every_length(void **state)
{
	(void)state;
	char packed[40 * 41 / 2 + 40], *mem[40];
	size_t len = 0, dropped = 0;
	for (size_t k = 1; k <= 40; k++) {
		for (size_t i = 0; i < k; i++)
			packed[len + i] = (char)('a' + (k + i) % 26);
		packed[len + k] = '\0';
		len += k + 1;
	}
	assert_int_equal(nss_names_filter(packed, len, mem, 40, &dropped), 40);
	assert_int_equal(dropped, 0);
	for (size_t k = 1; k <= 40; k++) {
		assert_int_equal(strlen(mem[k - 1]), k);
		assert_int_equal(mem[k - 1][k - 1], (char)('a' + (k + k - 1) % 26));
	}
}

/* nss_names_filter on BLOB (LEN bytes, COUNT names) keeps exactly the names nss_name_ok
 * accepts, in order, and counts the others dropped. With TIGHT, it gets a random number of
 * pointer slots from none to one more than it needs, and must answer SIZE_MAX (ERANGE) exactly
 * when the kept names do not fit. */
static void filter_check(char *blob, size_t len, size_t count, unsigned *tight)
{
	static char copy[32768];
	static char *mem[1200];
	static const char *want[1200];
	size_t nwant = 0, dropped = 0;
	assert_true(len <= sizeof(copy) && count <= 1200);
	memcpy(copy, blob, len);
	for (size_t off = 0; off < len; off += strlen(copy + off) + 1)
		if (nss_name_ok(copy + off))
			want[nwant++] = copy + off;
	size_t max = tight ? (size_t)rand_r(tight) % (nwant + 2) : 1200;
	size_t n = nss_names_filter(blob, len, mem, max, &dropped);
	if (max < nwant) {
		assert_int_equal(n, SIZE_MAX);
		return;
	}
	assert_int_equal(n, nwant);
	assert_int_equal(dropped, count - nwant);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(mem[i], want[i]);
}

/* Random packed blobs (names of our bytes, with reserved, all-digit, dotted and too long ones
 * mixed in, some blobs with a foreign byte): the filter keeps exactly the names nss_name_ok
 * accepts, in order, whatever the 64-byte chunk boundaries fall on, and moves nothing else. */
static void packed_names_match_the_one_name_rule(void **state)
{
	(void)state;
	/* Every byte value at every place of a 48-byte blob (the vector checks and the tail). */
	for (int c = 1; c < 256; c++) {
		for (size_t at = 0; at < 47; at++) {
			char blob[48], *mem[4];
			size_t dropped = 0;
			memset(blob, 'q', sizeof(blob));
			blob[15] = blob[31] = blob[47] = '\0';
			blob[at] = (char)c;
			char copy[48];
			memcpy(copy, blob, sizeof(blob));
			size_t want = 0;
			for (size_t off = 0; off < sizeof(copy); off += strlen(copy + off) + 1)
				want += nss_name_ok(copy + off);
			assert_int_equal(nss_names_filter(blob, sizeof(blob), mem, 4, &dropped), want);
		}
	}
	static const char *const pieces[] = {"alice", "root",      "12345", "1a1",   "-rf", ".", "..", ".x",
	                                     "a@b.c", "systemd-x", "sudo",  "bob_2", "Zed", "x", "0"};
	unsigned seed = 12345;
	for (int round = 0; round < 3000; round++) {
		static char blob[60 * (NSS_NAME_MAX + 4)];
		size_t len = 0, count = 1 + (size_t)(rand_r(&seed) % 60);
		for (size_t i = 0; i < count; i++) {
			char name[NSS_NAME_MAX + 4];
			size_t k;
			if (rand_r(&seed) % 3 == 0) {
				snprintf(name, sizeof(name), "%s",
				         pieces[rand_r(&seed) % (sizeof(pieces) / sizeof(*pieces))]);
				k = strlen(name);
			} else {
				k = 1 + (size_t)(rand_r(&seed) % (NSS_NAME_MAX + 3));
				for (size_t j = 0; j < k; j++)
					name[j] = "abcdefghijklmnopqrstuvwxyz0123456789._-"[rand_r(&seed) % 39];
				name[k] = '\0';
			}
			if (round % 10 == 0 && i == count / 2)
				name[0] = (char)0xc3; /* a foreign byte: the per-name path */
			memcpy(blob + len, name, k + 1);
			len += k + 1;
		}
		filter_check(blob, len, count, NULL);
	}
}

/* Blobs of plain names (what a directory holds: a letter first, realistic lengths), each with
 * at most one name that needs the full check somewhere in it, and pointer room from too little to
 * plenty: the one-pass path for plain blobs and the name-by-name path it hands over to agree
 * with nss_name_ok name by name, and a short MEM is ERANGE exactly when the kept names do not
 * fit. */
static void plain_blobs_with_one_odd_name_match_the_one_name_rule(void **state)
{
	(void)state;
	static const char *const odd[] = {"root", "sudo",     "daemon",    "12345",    "-rf",     ".",
	                                  "..",   "",         "systemd-x", "Zed",      "a:b",     "7up",
	                                  "man",  "www-data", "ntp",       "\xc3\xa9", "systemd", "lp"};
	unsigned seed = 4242;
	for (int round = 0; round < 20000; round++) {
		static char blob[1200 * 24];
		size_t len = 0, count = 1 + (size_t)(rand_r(&seed) % (round % 50 ? 40 : 1100));
		size_t odd_at = rand_r(&seed) % 2 ? (size_t)rand_r(&seed) % count : SIZE_MAX;
		for (size_t i = 0; i < count; i++) {
			char name[32];
			size_t k;
			if (i == odd_at) {
				snprintf(name, sizeof(name), "%s", odd[rand_r(&seed) % (sizeof(odd) / sizeof(*odd))]);
				k = strlen(name);
			} else {
				k = 1 + (size_t)(rand_r(&seed) % 23);
				name[0] = "abcdefghijklmnopqrstuvwxyz_@"[rand_r(&seed) % 28];
				for (size_t j = 1; j < k; j++)
					name[j] = "abcdefghijklmnopqrstuvwxyz0123456789._-"[rand_r(&seed) % 39];
				name[k] = '\0';
			}
			memcpy(blob + len, name, k + 1);
			len += k + 1;
		}
		filter_check(blob, len, count, round % 3 ? NULL : &seed);
	}
}

/* The length-aware checks the block enumeration uses (nss_name_ok_n, nss_field_ok_n,
 * nss_path_ok_n) answer exactly as the row checks do, for every string of up to 3 bytes from a
 * set of telling bytes, and for random strings of every length up to past the limits, drawn
 * from alphabets that make each rule matter (names, printable ASCII, UTF-8, controls). */
static void length_aware_checks_equal_the_row_checks(void **state)
{
	static const char telling[] = {'a',        'z',        '0',        '9',        '-',        '.',       '_',
	                               '@',        '/',        ':',        ' ',        'A',        '\x1b',    '\x7f',
	                               (char)0xc3, (char)0xab, (char)0xe2, (char)0x80, (char)0xae, (char)0xff};
	const size_t nt = sizeof(telling);
	char s[5000];
	for (size_t len = 0; len <= 3; len++) {
		size_t combos = 1;
		for (size_t k = 0; k < len; k++)
			combos *= nt;
		for (size_t c = 0; c < combos; c++) {
			for (size_t k = 0, x = c; k < len; k++, x /= nt)
				s[k] = telling[x % nt];
			s[len] = '\0';
			assert_int_equal(nss_name_ok_n(s, len), nss_name_ok(s));
			assert_int_equal(nss_field_ok_n(s, len), nss_field_ok(s));
			assert_int_equal(nss_path_ok_n(s, len), nss_path_ok(s));
		}
	}
	static const char *const alphabets[] = {"abcdefghijklmnopqrstuvwxyz0123456789._-@", "abc/ XYZ:.-019~!",
	                                        "ab/\xc3\xab\xe2\x80\xae\xe2\x81\xa6 ", "abc\x1b\x7f\xc2\x9b/",
	                                        "0123456789"};
	uint64_t r = 88172645463325252ULL;
	for (int i = 0; i < 200000; i++) {
		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		const char *alpha = alphabets[r % 5];
		size_t na = strlen(alpha), len = (r >> 8) % (i % 50 ? 40 : 4200);
		for (size_t k = 0; k < len; k++) {
			r ^= r << 13, r ^= r >> 7, r ^= r << 17;
			s[k] = alpha[r % na];
		}
		s[len] = '\0';
		if (i % 7 == 0 && len)
			s[0] = '/';
		assert_int_equal(nss_name_ok_n(s, len), nss_name_ok(s));
		assert_int_equal(nss_field_ok_n(s, len), nss_field_ok(s));
		assert_int_equal(nss_path_ok_n(s, len), nss_path_ok(s));
	}
	static const char *const named[] = {"root", "daemon", "sudo",  "systemd-network", "nobody", "..", "-x",
	                                    "007",  "alice",  "a.b@c", "www-data",        "Root",   ""};
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		assert_int_equal(nss_name_ok_n(named[i], strlen(named[i])), nss_name_ok(named[i]));
	/* the limits: a 256-byte name and a 4096-byte text are served, one byte more is not */
	memset(s, 'a', 4097);
	s[256] = '\0';
	assert_true(nss_name_ok_n(s, 256));
	s[256] = 'a', s[257] = '\0';
	assert_false(nss_name_ok_n(s, 257));
	s[257] = 'a', s[0] = '/', s[4096] = '\0';
	assert_true(nss_path_ok_n(s, 4096));
	s[4096] = 'a', s[4097] = '\0';
	assert_false(nss_path_ok_n(s, 4097));
	assert_false(nss_field_ok_n(s, 4097));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(names),
	    cmocka_unit_test(plain_blobs_with_one_odd_name_match_the_one_name_rule),
	    cmocka_unit_test(fields_and_paths),
	    cmocka_unit_test(id_range),
	    cmocka_unit_test(pack_strings),
	    cmocka_unit_test(pack_pointer_arrays),
	    cmocka_unit_test(name_bytes_follow_the_rule),
	    cmocka_unit_test(packed_names_are_filtered_in_place),
	    cmocka_unit_test(packed_names_of_every_length),
	    cmocka_unit_test(packed_names_match_the_one_name_rule),
	    cmocka_unit_test(length_aware_checks_equal_the_row_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
