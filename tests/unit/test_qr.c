/* The QR encoder, checked by reading codes back with an independent reader written from the
 * ISO/IEC 18004 tables (function pattern positions, block structure, format and version info
 * values): format bits, Reed-Solomon syndromes of every block and the byte-mode payload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include "pam_entra/qr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ISO 18004 table 9 (level L) and annex E, versions 1-10. */
static const struct {
	int blocks1, total1, data1, blocks2, total2, data2;
	int align[3];
} spec[] = {
    {0},
    {1, 26, 19, 0, 0, 0, {0}},
    {1, 44, 34, 0, 0, 0, {6, 18}},
    {1, 70, 55, 0, 0, 0, {6, 22}},
    {1, 100, 80, 0, 0, 0, {6, 26}},
    {1, 134, 108, 0, 0, 0, {6, 30}},
    {2, 86, 68, 0, 0, 0, {6, 34}},
    {2, 98, 78, 0, 0, 0, {6, 22, 38}},
    {2, 121, 97, 0, 0, 0, {6, 24, 42}},
    {2, 146, 116, 0, 0, 0, {6, 26, 46}},
    {2, 86, 68, 2, 87, 69, {6, 28, 50}},
};
/* Annex C table C.1: format information for level L, masks 0-7 (already XORed with 0x5412). */
static const int format_l[] = {0x77C4, 0x72F3, 0x7DAA, 0x789D, 0x662F, 0x6318, 0x6C41, 0x6976};
/* Annex D table D.1: version information for versions 7-10. */
static const long version_info[] = {0x07C94, 0x085BC, 0x09A99, 0x0A4D3};

typedef bool modmap[PE_QR_MAX_SIZE][PE_QR_MAX_SIZE];

static void reserve(modmap fn, int size, int x0, int y0, int w, int h)
{
	for (int y = y0; y < y0 + h; y++)
		for (int x = x0; x < x0 + w; x++)
			if (x >= 0 && y >= 0 && x < size && y < size)
				fn[y][x] = true;
}

static void function_map(int ver, modmap fn)
{
	int size = 17 + 4 * ver, n = 0;
	memset(fn, 0, sizeof(modmap));
	reserve(fn, size, 0, 0, 9, 9);        /* finder, separator, format */
	reserve(fn, size, size - 8, 0, 8, 9); /* finder, separator, format */
	reserve(fn, size, 0, size - 8, 9, 8); /* finder, separator, format, dark module */
	reserve(fn, size, 6, 0, 1, size);     /* timing */
	reserve(fn, size, 0, 6, size, 1);
	while (n < 3 && spec[ver].align[n])
		n++;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			if (!((i == 0 && j == 0) || (i == 0 && j == n - 1) || (i == n - 1 && j == 0)))
				reserve(fn, size, spec[ver].align[i] - 2, spec[ver].align[j] - 2, 5, 5);
	if (ver >= 7) {
		reserve(fn, size, size - 11, 0, 3, 6);
		reserve(fn, size, 0, size - 11, 6, 3);
	}
}

static bool mask_at(int mask, int x, int y)
{
	/* ISO 18004 table 10, with i = row (y) and j = column (x) */
	int i = y, j = x;
	switch (mask) {
	case 0:
		return (i + j) % 2 == 0;
	case 1:
		return i % 2 == 0;
	case 2:
		return j % 3 == 0;
	case 3:
		return (i + j) % 3 == 0;
	case 4:
		return (i / 2 + j / 3) % 2 == 0;
	case 5:
		return (i * j) % 2 + (i * j) % 3 == 0;
	case 6:
		return ((i * j) % 2 + (i * j) % 3) % 2 == 0;
	default:
		return ((i * j) % 3 + (i + j) % 2) % 2 == 0;
	}
}

static int format_read(const struct pe_qr *qr)
{
	int bits = 0;
	/* first copy, bits 14..0: row 8 left to right (skipping the timing column), then column 8 up */
	static const int xs[] = {0, 1, 2, 3, 4, 5, 7, 8, 8, 8, 8, 8, 8, 8, 8};
	static const int ys[] = {8, 8, 8, 8, 8, 8, 8, 8, 7, 5, 4, 3, 2, 1, 0};
	for (int k = 0; k < 15; k++)
		bits = bits << 1 | qr->dark[ys[k]][xs[k]];
	return bits;
}

static uint8_t gf_mul(uint8_t a, uint8_t b)
{
	uint8_t p = 0;
	while (b) {
		if (b & 1)
			p ^= a;
		a = (uint8_t)((a << 1) ^ ((a & 0x80) ? 0x1D : 0));
		b >>= 1;
	}
	return p;
}

/* Every Reed-Solomon syndrome of a block (generator roots alpha^0..alpha^(ecc-1)) is zero. */
static void rs_check(const uint8_t *block, int len, int ecc)
{
	uint8_t root = 1;
	for (int i = 0; i < ecc; i++) {
		uint8_t s = 0;
		for (int k = 0; k < len; k++)
			s = gf_mul(s, root) ^ block[k];
		assert_int_equal(s, 0);
		root = gf_mul(root, 2);
	}
}

/* Reads the payload of QR back into OUT; returns its length. */
static int qr_read(const struct pe_qr *qr, unsigned char *out)
{
	static modmap fn;
	int ver = qr->version, size = qr->size, nbits = 0;
	uint8_t raw[400] = {0}, blocks[4][160];
	function_map(ver, fn);
	for (int right = size - 1; right >= 1; right -= 2) {
		if (right == 6)
			right = 5;
		for (int v = 0; v < size; v++)
			for (int j = 0; j < 2; j++) {
				int x = right - j, y = ((right + 1) & 2) ? v : size - 1 - v;
				if (fn[y][x])
					continue;
				if (qr->dark[y][x] ^ mask_at(qr->mask, x, y))
					raw[nbits / 8] |= (uint8_t)(0x80 >> (nbits % 8));
				nbits++;
			}
	}
	int nb = spec[ver].blocks1 + spec[ver].blocks2, total = 0, len[4], dlen[4],
	    ecc = spec[ver].total1 - spec[ver].data1;
	for (int b = 0; b < nb; b++) {
		bool second = b >= spec[ver].blocks1;
		len[b] = second ? spec[ver].total2 : spec[ver].total1;
		dlen[b] = second ? spec[ver].data2 : spec[ver].data1;
		total += len[b];
	}
	assert_true(nbits / 8 >= total);
	int k = 0;
	for (int i = 0; i < 160; i++)
		for (int b = 0; b < nb; b++)
			if (i < dlen[b])
				blocks[b][i] = raw[k++];
	for (int i = 0; i < ecc; i++)
		for (int b = 0; b < nb; b++)
			blocks[b][dlen[b] + i] = raw[k++];
	uint8_t data[300];
	int n = 0;
	for (int b = 0; b < nb; b++) {
		rs_check(blocks[b], len[b], ecc);
		memcpy(data + n, blocks[b], (size_t)dlen[b]);
		n += dlen[b];
	}
	assert_int_equal(data[0] >> 4, 0x4); /* byte mode */
	int count =
	    ver <= 9 ? ((data[0] & 15) << 4 | data[1] >> 4) : ((data[0] & 15) << 12 | data[1] << 4 | data[2] >> 4);
	int off = ver <= 9 ? 1 : 2;
	for (int i = 0; i < count; i++)
		out[i] = (unsigned char)((data[off + i] & 15) << 4 | data[off + i + 1] >> 4);
	return count;
}

static void check_fixed_patterns(const struct pe_qr *qr)
{
	int s = qr->size;
	int corners[3][2] = {{0, 0}, {s - 7, 0}, {0, s - 7}};
	for (int c = 0; c < 3; c++)
		for (int y = 0; y < 7; y++)
			for (int x = 0; x < 7; x++) {
				int d = abs(x - 3) > abs(y - 3) ? abs(x - 3) : abs(y - 3);
				assert_int_equal(qr->dark[corners[c][1] + y][corners[c][0] + x], d != 2);
			}
	for (int i = 8; i < s - 8; i++) {
		assert_int_equal(qr->dark[6][i], i % 2 == 0);
		assert_int_equal(qr->dark[i][6], i % 2 == 0);
	}
	assert_true(qr->dark[s - 8][8]);
	assert_int_equal(format_read(qr), format_l[qr->mask]);
	if (qr->version >= 7) {
		long v = 0;
		for (int i = 17; i >= 0; i--) /* bottom-left block: bit i at (i/3, s-11+i%3) */
			v = v << 1 | qr->dark[s - 11 + i % 3][i / 3];
		assert_int_equal(v, version_info[qr->version - 7]);
	}
}

static void roundtrip(const char *text, int mask, int expect_version)
{
	struct pe_qr *qr = malloc(sizeof(*qr));
	unsigned char back[400];
	size_t len = strlen(text);
	assert_int_equal(pe_qr_encode((const unsigned char *)text, len, mask, qr), 0);
	assert_int_equal(qr->version, expect_version);
	if (mask >= 0)
		assert_int_equal(qr->mask, mask);
	check_fixed_patterns(qr);
	assert_int_equal(qr_read(qr, back), (int)len);
	assert_memory_equal(back, text, len);
	free(qr);
}

static char *repeat(size_t n)
{
	char *s = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		s[i] = "https://login.example/device?code=ABCDEFGH"[i % 42];
	s[n] = '\0';
	return s;
}

static void test_every_mask(void **state)
{
	for (int m = 0; m < 8; m++)
		roundtrip("https://microsoft.com/devicelogin", m, 3);
}

static void test_version_boundaries(void **state)
{
	/* byte-mode capacities at level L: 17, 32, 53, 78, 106, 134, 154, 192, 230, 271 */
	static const int cap[] = {0, 17, 32, 53, 78, 106, 134, 154, 192, 230, 271};
	for (int v = 1; v <= 10; v++) {
		char *s = repeat((size_t)cap[v]);
		roundtrip(s, -1, v);
		if (v < 10) {
			char *t = repeat((size_t)cap[v] + 1);
			roundtrip(t, -1, v + 1);
			free(t);
		}
		free(s);
	}
}

static void test_too_long_refused(void **state)
{
	struct pe_qr *qr = malloc(sizeof(*qr));
	char *s = repeat(272);
	assert_int_equal(pe_qr_encode((const unsigned char *)s, 272, -1, qr), -1);
	assert_null(pe_qr_render(s));
	free(s);
	free(qr);
}

static void test_render_half_blocks(void **state)
{
	char *out = pe_qr_render("https://microsoft.com/devicelogin");
	assert_non_null(out);
	/* version 3: 29 modules + 2x2 quiet = 33 columns, 17 lines of half blocks */
	int lines = 0;
	for (char *line = out, *nl; (nl = strchr(line, '\n')); line = nl + 1, lines++) {
		int cols = 0;
		for (char *c = line; c < nl; c++)
			cols += ((unsigned char)*c & 0xC0) != 0x80; /* count UTF-8 characters */
		assert_int_equal(cols, 33);
	}
	assert_int_equal(lines, 17);
	assert_non_null(strstr(out, "\u2588\u2588\u2588"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_mask),
	    cmocka_unit_test(test_version_boundaries),
	    cmocka_unit_test(test_too_long_refused),
	    cmocka_unit_test(test_render_half_blocks),
	};
	return cmocka_run_group_tests_name("qr", tests, NULL, NULL);
}
