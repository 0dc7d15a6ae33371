/* Root-only file cache of public documents (OIDC discovery, JWKS) in [pam] cache_dir: the
 * directory is 0700, files 0600, both owned by the caller's euid, written atomically. */
#ifndef AUTHD_FILE_CACHE_H
#define AUTHD_FILE_CACHE_H

#include <stddef.h>

/* Creates DIR (0700) when missing; 0 when it is a directory owned by us and writable by
 * nobody else, -1 with ERR otherwise (then the cache is not used). */
int authd_cache_dir_ready(const char *dir, char *err, size_t errlen);

/* Age in seconds of DIR/NAME, or -1 when it is missing or not trustworthy. */
long authd_cache_age(const char *dir, const char *name);

/* Contents of DIR/NAME (NUL-terminated, new buffer) when younger than MAX_AGE seconds,
 * owned by us, a regular file and at most MAX_LEN bytes; NULL otherwise. */
char *authd_cache_read(const char *dir, const char *name, long max_age, size_t max_len);

/* Replaces DIR/NAME with DATA through a temp file and rename. 0 or -1 with ERR. */
int authd_cache_write(const char *dir, const char *name, const char *data, size_t len, char *err, size_t errlen);

#endif
