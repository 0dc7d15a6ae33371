/* A SCIM error (RFC 7644 3.12), rendered with the urn:ietf:params:scim:api:messages:2.0:Error schema. */
#ifndef SCIM_ERROR_H
#define SCIM_ERROR_H

#include <stdarg.h>

struct scim_error {
	int status;            /* HTTP status: 400, 401, 404, 409, 413, 500, ... */
	const char *scim_type; /* "invalidFilter", "invalidPath", "noTarget", "invalidValue",
	                          "invalidSyntax", "mutability", "uniqueness", "tooMany", or NULL */
	char detail[512];      /* human readable: says what is wrong and where */
	const char *dropped;   /* not an error: a write-only attribute ("password") the request
	                          carried and that was discarded, for the log; NULL if none */
};

/* Fills ERR and returns -1, so callers can write `return scim_error_set(err, ...);`. */
int scim_error_set(struct scim_error *err, int status, const char *scim_type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
