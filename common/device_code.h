/* The device authorization response of the OAuth 2.0 device authorization grant (RFC 8628),
 * shared by entra-authd (the IdP's answer) and pam_entra (the broker's "code" message). */
#ifndef ENTRA_DEVICE_CODE_H
#define ENTRA_DEVICE_CODE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Longest values accepted from a device code response (bytes). */
#define ENTRA_DEVICE_CODE_MAX 4096
#define ENTRA_USER_CODE_MAX   64
#define ENTRA_URI_MAX         1024

/* A device authorization response (the body of its HTTP 200 answer). */
struct entra_device_code {
	json_t *doc; /* owns the strings */
	const char *device_code, *user_code, *verification_uri;
	const char *verification_uri_complete; /* NULL unless present and valid (optional) */
	long long expires_in;                  /* clamped to 1..3600 s; 900 when absent */
	long long interval;                    /* clamped to 1..60 s; 5 when absent (RFC 8628) */
};
/* Parses BODY (LEN bytes, NUL not needed). 0: DC is filled, free it with entra_device_code_free.
 * -1: not a valid device code response; DC holds nothing to free and WHY names what the body
 * lacks, e.g. "user_code (it is a number, not a string)", in printable ASCII. */
int entra_device_code_parse(const char *body, size_t len, struct entra_device_code *dc, char *why, size_t whylen);
/* The same for a parsed object DOC (DC takes the reference, also on failure). Without
 * NEED_DEVICE_CODE the device_code may be absent: entra-authd keeps it to itself. */
int entra_device_code_from_json(json_t *doc, bool need_device_code, struct entra_device_code *dc, char *why,
                                size_t whylen);
void entra_device_code_free(struct entra_device_code *dc);

/* "an object", "a string", ... for messages about a JSON value of the wrong kind. */
const char *entra_json_kind(const json_t *v);

#endif
