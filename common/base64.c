/* Strict RFC 4648 base64 decoding (common/base64.h). */
#include "common/base64.h"

#include <stdint.h>

static int sextet(enum entra_base64 kind, unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (kind == ENTRA_BASE64_URL ? '-' : '+'))
		return 62;
	if (c == (kind == ENTRA_BASE64_URL ? '_' : '/'))
		return 63;
	return -1;
}

/* The characters of IN that carry data (the padding taken off), or -1 for a length or padding
 * KIND does not allow. */
static long data_length(enum entra_base64 kind, const char *in, size_t len)
{
	if (kind == ENTRA_BASE64_URL)
		return len % 4 == 1 ? -1 : (long)len;
	if (len == 0 || len % 4)
		return -1;
	size_t pad = in[len - 1] == '=' ? (in[len - 2] == '=' ? 2 : 1) : 0;
	return (long)(len - pad);
}

long entra_base64_decode(enum entra_base64 kind, const char *in, size_t len, unsigned char *out, size_t outlen)
{
	long data = data_length(kind, in, len);
	if (data < 0 || (size_t)data * 6 / 8 > outlen)
		return -1;
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t n = 0;
	for (long i = 0; i < data; i++) {
		int v = sextet(kind, (unsigned char)in[i]);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return acc ? -1 : (long)n; /* unused bits must be zero: one encoding per value */
}
