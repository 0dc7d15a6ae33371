/* Unicode simple case folding of UTF-8 text (common/casefold.h), over the generated table. */
#include "common/casefold.h"

#include <stdlib.h>
#include <string.h>

#include "common/casefold_table.h"

#define INVALID_BASE 0x110000u /* an invalid byte B decodes as INVALID_BASE + B: itself, unfolded */

uint32_t casefold_cp(uint32_t cp)
{
	if (cp < 0x80)
		return cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp;
	size_t lo = 0, hi = casefold_n_pairs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (casefold_pairs[mid].from == cp)
			return casefold_pairs[mid].to;
		if (casefold_pairs[mid].from < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return cp;
}

/* The length a UTF-8 sequence starting with byte B has, 0 when B cannot start one. */
static size_t lead_len(unsigned char b)
{
	if (b < 0x80)
		return 1;
	if (b >= 0xC2 && b <= 0xDF)
		return 2;
	if (b >= 0xE0 && b <= 0xEF)
		return 3;
	return b >= 0xF0 && b <= 0xF4 ? 4 : 0;
}

/* Length of the well-formed UTF-8 sequence at S (N > 0 bytes) and its code point in *CP; 1 and
 * INVALID_BASE + byte for anything else (overlong forms, surrogates, truncated sequences). */
static size_t decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
	size_t len = lead_len(s[0]);
	uint32_t v = len == 1 ? s[0] : s[0] & (0x7Fu >> len);
	for (size_t i = 1; len > 1 && i < len; i++) {
		if (i >= n || (s[i] & 0xC0) != 0x80) {
			len = 0;
			break;
		}
		v = v << 6 | (s[i] & 0x3Fu);
	}
	if (!len || v < min[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
		*cp = INVALID_BASE + s[0];
		return 1;
	}
	*cp = v;
	return len;
}

static size_t encode(uint32_t cp, unsigned char *out)
{
	if (cp >= INVALID_BASE) {
		out[0] = (unsigned char)(cp - INVALID_BASE);
		return 1;
	}
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xC0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xE0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (unsigned char)(0xF0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

int casefold_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
	size_t i = 0, j = 0;
	while (i < an && j < bn) {
		uint32_t p, q;
		i += decode(x + i, an - i, &p);
		j += decode(y + j, bn - j, &q);
		p = p < INVALID_BASE ? casefold_cp(p) : p;
		q = q < INVALID_BASE ? casefold_cp(q) : q;
		if (p != q)
			return p < q ? -1 : 1;
	}
	return (i < an) - (j < bn);
}

bool casefold_eq(const char *a, const char *b)
{
	return casefold_cmp(a, strlen(a), b, strlen(b)) == 0;
}

size_t casefold_utf8(const char *s, size_t n, char *out)
{
	const unsigned char *x = (const unsigned char *)s;
	size_t i = 0, len = 0;
	while (i < n) {
		uint32_t cp;
		i += decode(x + i, n - i, &cp);
		len += encode(cp < INVALID_BASE ? casefold_cp(cp) : cp, (unsigned char *)out + len);
	}
	out[len] = '\0';
	return len;
}

char *casefold_dup(const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s);
	char *out = malloc(CASEFOLD_MAX_LEN(n));
	if (out)
		casefold_utf8(s, n, out);
	return out;
}
