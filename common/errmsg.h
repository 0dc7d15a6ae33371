/* Error messages for the caller's buffer, the pattern every parser and loader here uses. */
#ifndef ENTRA_ERRMSG_H
#define ENTRA_ERRMSG_H

#include <stddef.h>

/* Formats the message into ERR and returns -1, so callers can `return entra_errf(...);`. */
int entra_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
