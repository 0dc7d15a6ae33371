/* One SSH public key line from Entra, checked field by field (common/ssh_key.h). */
#include "common/ssh_key.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/base64.h"

/* Largest decoded key blob: a 16384-bit RSA key is about 2.1 KB. */
#define BLOB_MAX 4096
#define APP_MAX  256

enum key_shape { SHAPE_ED25519, SHAPE_SK_ED25519, SHAPE_ECDSA, SHAPE_SK_ECDSA, SHAPE_RSA };

struct key_type {
	const char *name;
	enum key_shape shape;
	const char *curve; /* ECDSA: the curve name the blob must carry */
	size_t point;      /* ECDSA: uncompressed point length (0x04 || X || Y) */
};

/* The usual key types. rsa-sha2-256/512 are signature algorithms, not key types: an RSA key
 * is always "ssh-rsa" in authorized_keys. */
static const struct key_type key_types[] = {
    {"ssh-ed25519", SHAPE_ED25519, NULL, 0},
    {"sk-ssh-ed25519@openssh.com", SHAPE_SK_ED25519, NULL, 0},
    {"ecdsa-sha2-nistp256", SHAPE_ECDSA, "nistp256", 65},
    {"ecdsa-sha2-nistp384", SHAPE_ECDSA, "nistp384", 97},
    {"ecdsa-sha2-nistp521", SHAPE_ECDSA, "nistp521", 133},
    {"sk-ecdsa-sha2-nistp256@openssh.com", SHAPE_SK_ECDSA, "nistp256", 65},
    {"ssh-rsa", SHAPE_RSA, NULL, 0},
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static const struct key_type *type_named(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++)
		if (strlen(key_types[i].name) == n && !memcmp(key_types[i].name, s, n))
			return &key_types[i];
	return NULL;
}

/* A reader of the SSH wire format's length-prefixed strings (RFC 4251 5). */
struct blob {
	const unsigned char *p;
	size_t left;
};

static bool blob_string(struct blob *b, const unsigned char **s, size_t *n)
{
	if (b->left < 4)
		return false;
	uint32_t len = (uint32_t)b->p[0] << 24 | (uint32_t)b->p[1] << 16 | (uint32_t)b->p[2] << 8 | b->p[3];
	if (len > b->left - 4)
		return false;
	*s = b->p + 4, *n = len;
	b->p += 4 + len, b->left -= 4 + len;
	return true;
}

static bool blob_equals(struct blob *b, const char *want)
{
	const unsigned char *s;
	size_t n;
	return blob_string(b, &s, &n) && n == strlen(want) && !memcmp(s, want, n);
}

static bool blob_sized(struct blob *b, size_t min, size_t max)
{
	const unsigned char *s;
	size_t n;
	return blob_string(b, &s, &n) && n >= min && n <= max;
}

static bool blob_point(struct blob *b, size_t len)
{
	const unsigned char *s;
	size_t n;
	return blob_string(b, &s, &n) && n == len && s[0] == 0x04;
}

/* The fields after the type name, exactly: nothing missing, nothing after. An RSA modulus of
 * at least 1024 bits (OpenSSH's own minimum) and at most 16384. */
static bool blob_shape_ok(struct blob *b, const struct key_type *t)
{
	bool ok = false;
	switch (t->shape) {
	case SHAPE_ED25519:
		ok = blob_sized(b, 32, 32);
		break;
	case SHAPE_SK_ED25519:
		ok = blob_sized(b, 32, 32) && blob_sized(b, 1, APP_MAX);
		break;
	case SHAPE_ECDSA:
		ok = blob_equals(b, t->curve) && blob_point(b, t->point);
		break;
	case SHAPE_SK_ECDSA:
		ok = blob_equals(b, t->curve) && blob_point(b, t->point) && blob_sized(b, 1, APP_MAX);
		break;
	case SHAPE_RSA:
		ok = blob_sized(b, 1, 16) && blob_sized(b, 128, 2049);
		break;
	}
	return ok && b->left == 0;
}

static bool printable_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

/* Why a line that does not start with a key type is refused: options (its first FIRST bytes look
 * like options, or a key type follows them), or no key at all. */
static const char *no_type_reason(const char *s, size_t n, size_t first)
{
	for (size_t i = 0; i < first; i++)
		if (s[i] == '=' || s[i] == ',' || s[i] == '"')
			return "authorized_keys options (command=, from=, restrict, ...) are not accepted from Entra";
	for (size_t i = first; i < n; i++)
		if (!is_blank(s[i]) && (i == 0 || is_blank(s[i - 1]))) {
			size_t end = i;
			while (end < n && !is_blank(s[end]))
				end++;
			if (type_named(s + i, end - i))
				return "authorized_keys options (command=, from=, restrict, ...) are not accepted from "
				       "Entra";
		}
	return "not a supported key type (ssh-ed25519, ecdsa-sha2-nistp256/384/521, sk-ssh-ed25519@openssh.com, "
	       "sk-ecdsa-sha2-nistp256@openssh.com, ssh-rsa)";
}

static const char *blob_reason(const char *b64, size_t n, const struct key_type *t)
{
	unsigned char raw[BLOB_MAX];
	long len = entra_base64_decode(ENTRA_BASE64_PADDED, b64, n, raw, sizeof(raw));
	if (len < 0)
		return "the key is not valid base64 (or longer than any supported key)";
	struct blob b = {raw, (size_t)len};
	if (!blob_equals(&b, t->name))
		return "the key's embedded type is not the type the line names";
	if (!blob_shape_ok(&b, t))
		return "the key's data is not a well-formed key of its type";
	return NULL;
}

enum entra_ssh_key_verdict entra_ssh_key_check(const char *line, size_t len, char *out, size_t outlen, const char **why)
{
	while (len && (is_blank(line[len - 1]) || line[len - 1] == '\r'))
		len--;
	while (len && is_blank(*line))
		line++, len--;
	*why = NULL;
	if (len == 0 || line[0] == '#')
		return ENTRA_SSH_KEY_BLANK;
	size_t tlen = 0, b0, b1, c0;
	while (tlen < len && !is_blank(line[tlen]))
		tlen++;
	const struct key_type *t = type_named(line, tlen);
	if (!t)
		*why = no_type_reason(line, len, tlen);
	for (b0 = tlen; !*why && b0 < len && is_blank(line[b0]); b0++)
		;
	for (b1 = b0; !*why && b1 < len && !is_blank(line[b1]); b1++)
		;
	for (c0 = b1; !*why && c0 < len && is_blank(line[c0]); c0++)
		;
	if (!*why && len >= ENTRA_SSH_KEY_LINE_MAX)
		*why = "the line is longer than 8 KiB";
	if (!*why)
		*why = blob_reason(line + b0, b1 - b0, t);
	if (!*why && outlen <= len)
		*why = "no room for the key";
	if (*why)
		return ENTRA_SSH_KEY_REFUSED;
	bool comment = c0 < len && printable_ascii(line + c0, len - c0);
	snprintf(out, outlen, "%.*s %.*s%s%.*s", (int)tlen, line, (int)(b1 - b0), line + b0, comment ? " " : "",
	         comment ? (int)(len - c0) : 0, line + c0);
	return ENTRA_SSH_KEY_OK;
}

const char *entra_ssh_key_next_line(const char **p, const char *end, size_t *len)
{
	if (*p >= end)
		return NULL;
	const char *start = *p, *nl = memchr(start, '\n', (size_t)(end - start));
	*len = (size_t)((nl ? nl : end) - start);
	*p = nl ? nl + 1 : end;
	return start;
}
