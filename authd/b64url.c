#include "authd/b64url.h"

#include <stdint.h>
#include <stdlib.h>

#include "common/base64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int authd_b64url_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	size_t cap = ENTRA_BASE64_DECODED_MAX(len);
	unsigned char *buf = malloc(cap + 1);
	long n = buf ? entra_base64_decode(ENTRA_BASE64_URL, in, len, buf, cap) : -1;
	if (n < 0) {
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	*out = buf;
	*outlen = (size_t)n;
	return 0;
}

char *authd_b64url_encode(const unsigned char *in, size_t len)
{
	char *s = malloc(len / 3 * 4 + 5);
	if (!s)
		return NULL;
	size_t n = 0, i = 0;
	for (; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		s[n++] = alphabet[v >> 18], s[n++] = alphabet[(v >> 12) & 63];
		s[n++] = alphabet[(v >> 6) & 63], s[n++] = alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		s[n++] = alphabet[v >> 18], s[n++] = alphabet[(v >> 12) & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		s[n++] = alphabet[v >> 18], s[n++] = alphabet[(v >> 12) & 63], s[n++] = alphabet[(v >> 6) & 63];
	}
	s[n] = '\0';
	return s;
}
