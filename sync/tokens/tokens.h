/* Bearer tokens for the SCIM API and the follower feed. The token file holds only SHA-256
 * hashes, one per line:
 *
 *   ID SHA256HEX CREATED_UNIX [scope=follow] [LABEL]
 *
 * ID is 8 random hex digits, LABEL the rest of the line. A token without a scope field is a SCIM
 * token (files written before follower tokens existed keep their meaning); `scope=follow` marks
 * a follower token, which reads the change feed (/feed/v1) and can never write SCIM. Blank lines and lines starting
 * with
 * '#' are ignored. The file is rewritten atomically (temp file, fsync, rename) with mode 0600.
 * A token is 32 random bytes, base64url without padding (43 characters). */
#ifndef SYNC_TOKENS_H
#define SYNC_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define TOKEN_ID_LEN         8   /* hex digits */
#define TOKEN_HASH_LEN       32  /* SHA-256 */
#define TOKEN_LABEL_MAX      128 /* bytes */
#define TOKEN_SECRET_BYTES   32
#define TOKEN_TEXT_LEN       43 /* base64url of 32 bytes, no padding */
#define TOKEN_MAX_ENTRIES    4096
#define TOKEN_FILE_MAX_BYTES (1024 * 1024)

enum token_scope {
	TOKEN_SCOPE_NONE = 0, /* no token matched */
	TOKEN_SCOPE_SCIM = 1,
	TOKEN_SCOPE_FOLLOW = 2,
};

struct token_entry {
	char id[TOKEN_ID_LEN + 1];
	enum token_scope scope; /* SCIM or FOLLOW */
	unsigned char hash[TOKEN_HASH_LEN];
	long long created;
	char label[TOKEN_LABEL_MAX + 1];
};

struct token_set {
	struct token_entry *items;
	size_t n;
};

/* Parses the token file text NAME (LEN bytes). On error returns -1 with "NAME:LINE: what is
 * wrong" in ERR and OUT empty. */
int token_set_parse(const char *name, const char *text, size_t len, struct token_set *out, char *err, size_t errlen);
/* Renders SET in the file format into a malloc'd string. NULL when out of memory. */
char *token_set_format(const struct token_set *set);
void token_set_free(struct token_set *set);

/* 1 when TOKEN matches a stored hash (of any scope). Hashes TOKEN once and compares the digest against every
 * stored hash with CRYPTO_memcmp, without an early exit. */
bool token_set_verify(const struct token_set *set, const char *token, size_t len);
/* The scope of the stored token TOKEN matches, TOKEN_SCOPE_NONE when none does. Like
 * token_set_verify: every hash is compared, without an early exit. */
enum token_scope token_set_scope(const struct token_set *set, const char *token, size_t len);
/* "scim" or "follow". */
const char *token_scope_name(enum token_scope scope);
const struct token_entry *token_set_find(const struct token_set *set, const char *id);

/* Checks that PATH is a regular file not readable or writable by group or others.
 * 0 ok, 1 missing (ENOENT), -1 other problem with a message that says what to do in ERR. */
int token_file_check(const char *path, char *err, size_t errlen);
/* Reads and parses PATH. 0 ok, 1 missing (OUT empty), -1 error (ERR). */
int token_file_read(const char *path, struct token_set *out, char *err, size_t errlen);

/* Creates a token: fills TOKEN_OUT (TOKEN_TEXT_LEN + 1 bytes) and appends its hash line to
 * PATH atomically under an exclusive lock on its directory. ENTRY_OUT (optional) receives the
 * stored entry. The directory must exist. 0 ok, -1 error (ERR). */
int token_file_create(const char *path, const char *label, enum token_scope scope, char token_out[TOKEN_TEXT_LEN + 1],
                      struct token_entry *entry_out, char *err, size_t errlen);
/* Removes the token ID from PATH atomically. 0 removed, 1 unknown ID, -1 error (ERR). */
int token_file_revoke(const char *path, const char *id, char *err, size_t errlen);

/* The daemon's view of the token file: re-read whenever its inode, size or mtime changes, so
 * `token new` and `token revoke` act at once. Thread-safe. A missing, unreadable, malformed or
 * group/other-accessible file rejects every token (fail closed) and logs why once. */
struct token_store;
struct token_store *token_store_open(const char *path);
/* Re-reads now, switching to PATH if it changed (SIGHUP). */
void token_store_reload(struct token_store *st, const char *path);
bool token_store_verify(struct token_store *st, const char *token, size_t len);
/* The scope of TOKEN, TOKEN_SCOPE_NONE when it is not valid (or the file is unusable). */
enum token_scope token_store_scope(struct token_store *st, const char *token, size_t len);
void token_store_close(struct token_store *st);

#endif
