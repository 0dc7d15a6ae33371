#include "common/text_safe.h"

#include <string.h>

/* General categories Cf, Zl and Zp of Unicode 15.1 (Cc is tested apart). U+2065, reserved
 * and default-ignorable, is taken with its neighbours. */
static const struct {
	uint32_t lo, hi;
} hidden[] = {
    {0x00ad, 0x00ad},   {0x0600, 0x0605},   {0x061c, 0x061c},   {0x06dd, 0x06dd},   {0x070f, 0x070f},
    {0x0890, 0x0891},   {0x08e2, 0x08e2},   {0x180e, 0x180e},   {0x200b, 0x200f},   {0x2028, 0x202e},
    {0x2060, 0x206f},   {0xfeff, 0xfeff},   {0xfff9, 0xfffb},   {0x110bd, 0x110bd}, {0x110cd, 0x110cd},
    {0x13430, 0x1343f}, {0x1bca0, 0x1bca3}, {0x1d173, 0x1d17a}, {0xe0001, 0xe0001}, {0xe0020, 0xe007f},
};

bool entra_text_dropped(uint32_t cp)
{
	if (cp < 0xa0) /* the common case (every display name in ASCII) without the table */
		return cp < 0x20 || cp >= 0x7f;
	for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]) && hidden[i].lo <= cp; i++)
		if (cp <= hidden[i].hi)
			return true;
	return false;
}

/* Length of the well-formed UTF-8 sequence at S (Unicode table 3-7) with its scalar value in
 * *CP, or 0. Stops at the first byte that breaks the sequence, so it never reads past a NUL. */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf; /* the bounds of the second byte */
	size_t len;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, *cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, *cp = c & 0x0f;
		lo = c == 0xe0 ? 0xa0 : lo; /* overlong */
		hi = c == 0xed ? 0x9f : hi; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, *cp = c & 0x07;
		lo = c == 0xf0 ? 0x90 : lo; /* overlong */
		hi = c == 0xf4 ? 0x8f : hi; /* above U+10FFFF */
	} else {
		return 0; /* a continuation byte, C0/C1 (overlong) or F5-FF */
	}
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	return len;
}

size_t entra_text_safe(char *dst, size_t dstlen, const char *src, unsigned flags)
{
	const unsigned char *s = (const unsigned char *)(src ? src : "");
	size_t n = 0;
	if (!dstlen)
		return 0;
	while (*s) {
		uint32_t cp;
		size_t len = utf8_next(s, &cp);
		if (!len) {
			s++;
			continue;
		}
		const char *keep = (const char *)s;
		s += len;
		if (entra_text_dropped(cp) || (cp == ':' && (flags & ENTRA_TEXT_NO_COLON)))
			continue;
		if (cp >= 0x80 && (flags & ENTRA_TEXT_ASCII))
			keep = "?", len = 1;
		if (len > dstlen - 1 - n)
			break; /* never half a character */
		memcpy(dst + n, keep, len);
		n += len;
	}
	dst[n] = '\0';
	return n;
}

bool entra_text_is_safe(const char *text, size_t max, unsigned flags)
{
	const unsigned char *s = (const unsigned char *)text;
	for (size_t n = 0; s[n];) {
		if (s[n] >= 0x20 && s[n] < 0x7f && (s[n] != ':' || !(flags & ENTRA_TEXT_NO_COLON))) {
			if (++n > max) /* printable ASCII, the usual case, without decoding */
				return false;
			continue;
		}
		uint32_t cp;
		size_t len = utf8_next(s + n, &cp);
		if (!len || entra_text_dropped(cp) || (cp == ':' && (flags & ENTRA_TEXT_NO_COLON)) ||
		    (cp >= 0x80 && (flags & ENTRA_TEXT_ASCII)) || (n += len) > max)
			return false;
	}
	return true;
}

void entra_text_printable(char *dst, size_t dstlen, const char *src)
{
	size_t i = 0;
	if (!dstlen)
		return;
	for (; src && src[i] && i + 1 < dstlen; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}
