#include "pam_entra/qr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CODEWORDS 346 /* raw codewords of version 10 */
#define QUIET         2   /* quiet zone in modules; scanners cope with 2 on a terminal */

/* Error correction level L, versions 1-10 (index 0 unused). */
static const int8_t ecc_per_block[] = {0, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18};
static const int8_t num_blocks[] = {0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4};

struct grid {
	struct pe_qr *qr;
	bool function[PE_QR_MAX_SIZE][PE_QR_MAX_SIZE];
};

static int raw_codewords(int ver)
{
	int bits = (16 * ver + 128) * ver + 64;
	if (ver >= 2) {
		int align = ver / 7 + 2;
		bits -= (25 * align - 10) * align - 55;
		if (ver >= 7)
			bits -= 36;
	}
	return bits / 8;
}

static int data_codewords(int ver)
{
	return raw_codewords(ver) - ecc_per_block[ver] * num_blocks[ver];
}

static uint8_t gf_mul(uint8_t x, uint8_t y)
{
	unsigned z = 0;
	for (int i = 7; i >= 0; i--) {
		z = (z << 1) ^ ((z >> 7) * 0x11D);
		z ^= ((y >> i) & 1u) * x;
	}
	return (uint8_t)z;
}

static void rs_divisor(int degree, uint8_t *div)
{
	memset(div, 0, (size_t)degree);
	div[degree - 1] = 1;
	uint8_t root = 1;
	for (int i = 0; i < degree; i++) {
		for (int j = 0; j < degree; j++) {
			div[j] = gf_mul(div[j], root);
			if (j + 1 < degree)
				div[j] ^= div[j + 1];
		}
		root = gf_mul(root, 0x02);
	}
}

static void rs_remainder(const uint8_t *data, int len, const uint8_t *div, int degree, uint8_t *out)
{
	memset(out, 0, (size_t)degree);
	for (int i = 0; i < len; i++) {
		uint8_t factor = data[i] ^ out[0];
		memmove(out, out + 1, (size_t)degree - 1);
		out[degree - 1] = 0;
		for (int j = 0; j < degree; j++)
			out[j] ^= gf_mul(div[j], factor);
	}
}

static void bits_put(uint8_t *buf, int *bitlen, unsigned value, int n)
{
	for (int i = n - 1; i >= 0; i--, (*bitlen)++)
		if ((value >> i) & 1)
			buf[*bitlen >> 3] |= (uint8_t)(0x80 >> (*bitlen & 7));
}

/* Mode indicator, count, data, terminator and pad bytes: DATA_CODEWORDS(ver) bytes. */
static void data_stream(const unsigned char *data, size_t len, int ver, uint8_t *out)
{
	int cap = data_codewords(ver), bitlen = 0;
	memset(out, 0, (size_t)cap);
	bits_put(out, &bitlen, 0x4, 4);
	bits_put(out, &bitlen, (unsigned)len, ver <= 9 ? 8 : 16);
	for (size_t i = 0; i < len; i++)
		bits_put(out, &bitlen, data[i], 8);
	int term = cap * 8 - bitlen < 4 ? cap * 8 - bitlen : 4;
	bitlen += term;
	bitlen = (bitlen + 7) / 8 * 8;
	for (uint8_t pad = 0xEC; bitlen < cap * 8; pad ^= 0xEC ^ 0x11)
		bits_put(out, &bitlen, pad, 8);
}

/* Splits into blocks, appends Reed-Solomon codewords and interleaves (ISO 18004 7.6). */
static int codewords(const uint8_t *dat, int ver, uint8_t *out)
{
	int nb = num_blocks[ver], ecc = ecc_per_block[ver], raw = raw_codewords(ver);
	int short_count = nb - raw % nb, short_len = raw / nb;
	uint8_t blocks[4][160], div[30]; /* longest block: version 9, 146 + 1 dummy */
	rs_divisor(ecc, div);
	for (int i = 0, k = 0; i < nb; i++) {
		int dlen = short_len - ecc + (i < short_count ? 0 : 1);
		memset(blocks[i], 0, sizeof(blocks[i]));
		memcpy(blocks[i], dat + k, (size_t)dlen);
		k += dlen;
		/* Short blocks keep a dummy byte at dlen so every block has the same layout. */
		rs_remainder(blocks[i], dlen, div, ecc, blocks[i] + short_len + 1 - ecc);
	}
	int n = 0;
	for (int i = 0; i <= short_len; i++)
		for (int j = 0; j < nb; j++)
			if (i != short_len - ecc || j >= short_count)
				out[n++] = blocks[j][i];
	return n;
}

static void set_function(struct grid *g, int x, int y, bool dark)
{
	g->qr->dark[y][x] = dark;
	g->function[y][x] = true;
}

static void draw_finder(struct grid *g, int cx, int cy)
{
	for (int dy = -4; dy <= 4; dy++)
		for (int dx = -4; dx <= 4; dx++) {
			int x = cx + dx, y = cy + dy, d = abs(dx) > abs(dy) ? abs(dx) : abs(dy);
			if (x >= 0 && x < g->qr->size && y >= 0 && y < g->qr->size)
				set_function(g, x, y, d != 2 && d != 4);
		}
}

static void draw_alignment(struct grid *g)
{
	int ver = g->qr->version, size = g->qr->size;
	if (ver == 1)
		return;
	int count = ver / 7 + 2, step = (ver * 4 + count * 2 + 1) / (count * 2 - 2) * 2, pos[7];
	pos[0] = 6;
	for (int i = count - 1, p = size - 7; i >= 1; i--, p -= step)
		pos[i] = p;
	for (int i = 0; i < count; i++)
		for (int j = 0; j < count; j++) {
			if ((i == 0 && j == 0) || (i == 0 && j == count - 1) || (i == count - 1 && j == 0))
				continue; /* finder corners */
			for (int dy = -2; dy <= 2; dy++)
				for (int dx = -2; dx <= 2; dx++)
					set_function(g, pos[i] + dx, pos[j] + dy,
					             (abs(dx) > abs(dy) ? abs(dx) : abs(dy)) != 1);
		}
}

static void draw_format(struct grid *g, int mask)
{
	int size = g->qr->size, data = 1 << 3 | mask, rem = data; /* level L = 01 */
	for (int i = 0; i < 10; i++)
		rem = (rem << 1) ^ ((rem >> 9) * 0x537);
	int bits = (data << 10 | rem) ^ 0x5412;
#define BIT(i) (((bits >> (i)) & 1) != 0)
	for (int i = 0; i <= 5; i++)
		set_function(g, 8, i, BIT(i));
	set_function(g, 8, 7, BIT(6));
	set_function(g, 8, 8, BIT(7));
	set_function(g, 7, 8, BIT(8));
	for (int i = 9; i < 15; i++)
		set_function(g, 14 - i, 8, BIT(i));
	for (int i = 0; i < 8; i++)
		set_function(g, size - 1 - i, 8, BIT(i));
	for (int i = 8; i < 15; i++)
		set_function(g, 8, size - 15 + i, BIT(i));
#undef BIT
	set_function(g, 8, size - 8, true); /* the dark module */
}

static void draw_version(struct grid *g)
{
	int ver = g->qr->version, rem = ver;
	if (ver < 7)
		return;
	for (int i = 0; i < 12; i++)
		rem = (rem << 1) ^ ((rem >> 11) * 0x1F25);
	long bits = (long)ver << 12 | rem;
	for (int i = 0; i < 18; i++) {
		bool bit = (bits >> i) & 1;
		int a = g->qr->size - 11 + i % 3, b = i / 3;
		set_function(g, a, b, bit);
		set_function(g, b, a, bit);
	}
}

static void draw_function_patterns(struct grid *g)
{
	int size = g->qr->size;
	for (int i = 0; i < size; i++) {
		set_function(g, 6, i, i % 2 == 0);
		set_function(g, i, 6, i % 2 == 0);
	}
	draw_finder(g, 3, 3);
	draw_finder(g, size - 4, 3);
	draw_finder(g, 3, size - 4);
	draw_alignment(g);
	draw_format(g, 0); /* reserves the area; redrawn with the chosen mask */
	draw_version(g);
}

static void draw_codewords(struct grid *g, const uint8_t *cw, int n)
{
	int size = g->qr->size, i = 0;
	for (int right = size - 1; right >= 1; right -= 2) {
		if (right == 6)
			right = 5; /* skip the vertical timing pattern */
		for (int vert = 0; vert < size; vert++)
			for (int j = 0; j < 2; j++) {
				int x = right - j, y = ((right + 1) & 2) == 0 ? size - 1 - vert : vert;
				if (!g->function[y][x] && i < n * 8) {
					g->qr->dark[y][x] = (cw[i >> 3] >> (7 - (i & 7))) & 1;
					i++;
				}
			}
	}
}

static bool mask_bit(int mask, int x, int y)
{
	switch (mask) {
	case 0:
		return (x + y) % 2 == 0;
	case 1:
		return y % 2 == 0;
	case 2:
		return x % 3 == 0;
	case 3:
		return (x + y) % 3 == 0;
	case 4:
		return (x / 3 + y / 2) % 2 == 0;
	case 5:
		return x * y % 2 + x * y % 3 == 0;
	case 6:
		return (x * y % 2 + x * y % 3) % 2 == 0;
	default:
		return ((x + y) % 2 + x * y % 3) % 2 == 0;
	}
}

static void apply_mask(struct grid *g, int mask)
{
	for (int y = 0; y < g->qr->size; y++)
		for (int x = 0; x < g->qr->size; x++)
			if (!g->function[y][x] && mask_bit(mask, x, y))
				g->qr->dark[y][x] = !g->qr->dark[y][x];
}

/* Penalty rules 1 (runs), 2 (2x2 blocks) and 4 (balance) of ISO 18004 7.8.3; rule 3 is left out,
 * so the choice may differ from other encoders, but any mask decodes. */
static long penalty(const struct pe_qr *qr)
{
	long score = 0, dark = 0;
	int n = qr->size;
	for (int a = 0; a < n; a++)
		for (int pass = 0; pass < 2; pass++) {
			int run = 1;
			for (int b = 1; b <= n; b++) {
				bool same = b < n && (pass ? qr->dark[b][a] == qr->dark[b - 1][a]
				                           : qr->dark[a][b] == qr->dark[a][b - 1]);
				if (same) {
					run++;
					continue;
				}
				if (run >= 5)
					score += run - 2;
				run = 1;
			}
		}
	for (int y = 0; y < n; y++)
		for (int x = 0; x < n; x++) {
			dark += qr->dark[y][x];
			if (x + 1 < n && y + 1 < n && qr->dark[y][x] == qr->dark[y][x + 1] &&
			    qr->dark[y][x] == qr->dark[y + 1][x] && qr->dark[y][x] == qr->dark[y + 1][x + 1])
				score += 3;
		}
	long total = (long)n * n, k = (labs(dark * 20 - total * 10) + total - 1) / total - 1;
	return score + (k > 0 ? k * 10 : 0);
}

int pe_qr_encode(const unsigned char *data, size_t len, int mask, struct pe_qr *qr)
{
	int ver = 1;
	while (ver <= PE_QR_MAX_VERSION && (size_t)data_codewords(ver) * 8 < 4 + (ver <= 9 ? 8 : 16) + len * 8)
		ver++;
	if (ver > PE_QR_MAX_VERSION || mask < -1 || mask > 7)
		return -1;
	struct grid *g = calloc(1, sizeof(*g));
	if (!g)
		return -1;
	uint8_t dat[MAX_CODEWORDS], cw[MAX_CODEWORDS];
	memset(qr, 0, sizeof(*qr));
	qr->version = ver, qr->size = 17 + 4 * ver, g->qr = qr;
	data_stream(data, len, ver, dat);
	int n = codewords(dat, ver, cw);
	draw_function_patterns(g);
	draw_codewords(g, cw, n);
	long best = -1;
	for (int m = 0; m < 8 && mask < 0; m++) {
		apply_mask(g, m);
		draw_format(g, m);
		long p = penalty(qr);
		if (best < 0 || p < best)
			best = p, qr->mask = m;
		apply_mask(g, m); /* XOR again undoes it */
	}
	if (mask >= 0)
		qr->mask = mask;
	apply_mask(g, qr->mask);
	draw_format(g, qr->mask);
	free(g);
	return 0;
}

static bool light_at(const struct pe_qr *qr, int x, int y)
{
	if (x < 0 || y < 0 || x >= qr->size || y >= qr->size)
		return true; /* quiet zone */
	return !qr->dark[y][x];
}

char *pe_qr_render(const char *text)
{
	struct pe_qr *qr = malloc(sizeof(*qr));
	if (!qr || pe_qr_encode((const unsigned char *)text, strlen(text), -1, qr)) {
		free(qr);
		return NULL;
	}
	int width = qr->size + 2 * QUIET, rows = (width + 1) / 2;
	char *out = malloc((size_t)rows * ((size_t)width * 3 + 1) + 1), *w = out;
	for (int r = 0; out && r < rows; r++) {
		for (int x = -QUIET; x < qr->size + QUIET; x++) {
			bool top = light_at(qr, x, 2 * r - QUIET), bottom = light_at(qr, x, 2 * r + 1 - QUIET);
			const char *glyph = top && bottom ? "\u2588" : top ? "\u2580" : bottom ? "\u2584" : " ";
			size_t gl = strlen(glyph);
			memcpy(w, glyph, gl);
			w += gl;
		}
		*w++ = '\n';
	}
	if (out)
		*w = '\0';
	free(qr);
	return out;
}
