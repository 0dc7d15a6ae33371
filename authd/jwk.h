/* RSA public keys from JSON Web Keys (RFC 7517/7518). */
#ifndef AUTHD_JWK_H
#define AUTHD_JWK_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>

/* Builds the public key of an RSA JWK usable for RS256: kty "RSA", use "sig" when present,
 * alg "RS256" when present, modulus of at least AUTHD_JWT_MIN_RSA_BITS, sane exponent.
 * Returns NULL with REASON otherwise. */
EVP_PKEY *authd_jwk_rsa_public_key(const json_t *jwk, char *reason, size_t reasonlen);

#endif
