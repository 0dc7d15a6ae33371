/* Strict base64 decoding (RFC 4648): one decoder for the standard alphabet with padding (SSH
 * key blobs) and the URL alphabet without (JWS compact serialization). Strict means every
 * value has exactly one encoding: characters outside the alphabet, padding where it does not
 * belong, impossible lengths and non-zero unused bits are refused. */
#ifndef ENTRA_BASE64_H
#define ENTRA_BASE64_H

#include <stddef.h>

enum entra_base64 {
	ENTRA_BASE64_PADDED, /* section 4: '+' and '/', a non-empty multiple of 4 with '=' padding */
	ENTRA_BASE64_URL,    /* section 5: '-' and '_', no padding */
};

/* The most bytes LEN characters can decode to. */
#define ENTRA_BASE64_DECODED_MAX(len) ((len) / 4 * 3 + 2)

/* Decodes IN[0..LEN) of KIND into OUT (room for OUTLEN bytes): the decoded length, or -1 when
 * IN is not a strict encoding or does not fit. */
long entra_base64_decode(enum entra_base64 kind, const char *in, size_t len, unsigned char *out, size_t outlen);

#endif
