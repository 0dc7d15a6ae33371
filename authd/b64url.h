/* Strict base64url (RFC 4648 section 5) without padding, as JWS compact serialization uses. */
#ifndef AUTHD_B64URL_H
#define AUTHD_B64URL_H

#include <stddef.h>

/* Decodes LEN bytes of IN into a new buffer (*OUT, NUL-terminated for convenience, *OUTLEN
 * without the NUL). Refuses padding, characters outside the alphabet, impossible lengths and
 * non-zero trailing bits, so every value has exactly one encoding. Returns 0 or -1. */
int authd_b64url_decode(const char *in, size_t len, unsigned char **out, size_t *outlen);

/* Encodes LEN bytes into a new NUL-terminated string without padding; NULL when out of memory. */
char *authd_b64url_encode(const unsigned char *in, size_t len);

#endif
