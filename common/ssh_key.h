/* SSH public keys from Entra (the SCIM attribute sshPublicKey of the entra-login extension):
 * one rule for what is a key line, shared by entra-syncd (at ingest and at publish) and by
 * `entra-sync authorized-keys` (what sshd's AuthorizedKeysCommand prints). A key line is
 * "TYPE BASE64 [COMMENT]" and nothing else: authorized_keys options (command=, from=,
 * restrict, ...) would let whoever writes the directory attribute decide what a login runs,
 * so a line with any option is refused, never trimmed. */
#ifndef ENTRA_SSH_KEY_H
#define ENTRA_SSH_KEY_H

#include <stddef.h>

/* The SCIM schema extension that carries the keys (README: Entra steps). */
#define ENTRA_SCIM_SCHEMA_LOGIN "urn:ietf:params:scim:schemas:extension:entra-login:2.0:User"
#define ENTRA_SSH_KEY_ATTR      "sshPublicKey"

/* Bounds at ingest (SCIM 400 beyond them) and at publish: an RSA key of 16384 bits is about
 * 2.8 KB of base64, so 8 KiB a line leaves room for a comment. */
#define ENTRA_SSH_KEY_LINE_MAX  8192
#define ENTRA_SSH_KEYS_MAX      32
#define ENTRA_SSH_KEYS_TEXT_MAX (64 * 1024)

enum entra_ssh_key_verdict {
	ENTRA_SSH_KEY_OK,      /* a public key; OUT holds it */
	ENTRA_SSH_KEY_BLANK,   /* an empty line or a '#' comment: skipped, not refused */
	ENTRA_SSH_KEY_REFUSED, /* *WHY says why, in words for a log line */
};

/* Checks the LEN bytes at LINE (one line, no newline; a trailing CR and surrounding blanks are
 * ignored): a key type ssh-ed25519, ecdsa-sha2-nistp256/384/521, sk-ssh-ed25519@openssh.com,
 * sk-ecdsa-sha2-nistp256@openssh.com or ssh-rsa, then canonical base64 of a key blob whose
 * embedded type is that type and whose fields are exactly that type's, then an optional
 * comment (kept only when it is printable ASCII). On OK, OUT (OUTLEN >= LEN + 1) gets
 * "TYPE BASE64[ COMMENT]" with single spaces. */
enum entra_ssh_key_verdict entra_ssh_key_check(const char *line, size_t len, char *out, size_t outlen,
                                               const char **why);

/* The next line of the text between *P and END (a newline ends it; *P moves past it): its
 * start, and its length in *LEN. NULL when no text is left. */
const char *entra_ssh_key_next_line(const char **p, const char *end, size_t *len);

#endif
