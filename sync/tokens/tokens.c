/* Token file: parsing, formatting, constant-time verification and atomic updates. */
#include "sync/tokens/tokens.h"
#include "common/errmsg.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool label_valid(const char *label, size_t len)
{
	if (len > TOKEN_LABEL_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (iscntrl((unsigned char)label[i]))
			return false;
	return true;
}

void token_set_free(struct token_set *set)
{
	if (!set)
		return;
	free(set->items);
	set->items = NULL;
	set->n = 0;
}

const struct token_entry *token_set_find(const struct token_set *set, const char *id)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->items[i].id, id) == 0)
			return &set->items[i];
	return NULL;
}

static int set_append(struct token_set *set, const struct token_entry *e)
{
	struct token_entry *grown = realloc(set->items, (set->n + 1) * sizeof(*grown));
	if (!grown)
		return -1;
	set->items = grown;
	set->items[set->n++] = *e;
	return 0;
}

static const char *skip_blank(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

static const char *field_end(const char *s, const char *end)
{
	while (s < end && *s != ' ' && *s != '\t')
		s++;
	return s;
}

/* Parses one non-comment line [S, END) into E; returns NULL or a message. */
static const char *parse_line(const char *s, const char *end, struct token_entry *e)
{
	memset(e, 0, sizeof(*e));
	const char *f = field_end(s, end);
	if (f - s != TOKEN_ID_LEN)
		return "the ID must be 8 hex digits";
	for (int i = 0; i < TOKEN_ID_LEN; i++) {
		if (hex_value((unsigned char)s[i]) < 0)
			return "the ID must be 8 hex digits";
		e->id[i] = (char)tolower((unsigned char)s[i]);
	}
	s = skip_blank(f, end);
	f = field_end(s, end);
	if (f - s != 2 * TOKEN_HASH_LEN)
		return "the hash must be 64 hex digits (SHA-256)";
	for (int i = 0; i < TOKEN_HASH_LEN; i++) {
		int hi = hex_value((unsigned char)s[2 * i]), lo = hex_value((unsigned char)s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return "the hash must be 64 hex digits (SHA-256)";
		e->hash[i] = (unsigned char)(hi << 4 | lo);
	}
	s = skip_blank(f, end);
	f = field_end(s, end);
	if (f == s || f - s > 18)
		return "the creation time must be a unix timestamp";
	long long created = 0;
	for (const char *c = s; c < f; c++) {
		if (!isdigit((unsigned char)*c))
			return "the creation time must be a unix timestamp";
		created = created * 10 + (*c - '0');
	}
	e->created = created;
	s = skip_blank(f, end);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (!label_valid(s, (size_t)(end - s)))
		return "the label must be at most 128 bytes without control characters";
	memcpy(e->label, s, (size_t)(end - s));
	return NULL;
}

int token_set_parse(const char *name, const char *text, size_t len, struct token_set *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	const char *cur = text, *stop = text + len;
	unsigned line = 0;
	if (memchr(text, '\0', len))
		return entra_errf(err, errlen, "%s: contains a NUL byte: it is not a token file", name);
	while (cur < stop) {
		const char *nl = memchr(cur, '\n', (size_t)(stop - cur));
		const char *end = nl ? nl : stop;
		line++;
		if (end > cur && end[-1] == '\r')
			end--;
		const char *s = skip_blank(cur, end);
		cur = nl ? nl + 1 : stop;
		if (s == end || *s == '#')
			continue;
		struct token_entry e;
		const char *why = parse_line(s, end, &e);
		if (!why && token_set_find(out, e.id))
			why = "duplicate token ID";
		if (!why && out->n >= TOKEN_MAX_ENTRIES)
			why = "too many tokens (at most 4096)";
		if (!why && set_append(out, &e) != 0)
			why = "out of memory";
		if (why) {
			token_set_free(out);
			return entra_errf(err, errlen, "%s:%u: %s; expected `ID SHA256HEX CREATED_UNIX [LABEL]`", name,
			                  line, why);
		}
	}
	return 0;
}

char *token_set_format(const struct token_set *set)
{
	size_t cap = 1 + set->n * (TOKEN_ID_LEN + 2 * TOKEN_HASH_LEN + TOKEN_LABEL_MAX + 32);
	char *buf = malloc(cap), *p = buf;
	if (!buf)
		return NULL;
	*p = '\0';
	for (size_t i = 0; i < set->n; i++) {
		const struct token_entry *e = &set->items[i];
		char hex[2 * TOKEN_HASH_LEN + 1];
		for (int j = 0; j < TOKEN_HASH_LEN; j++)
			snprintf(hex + 2 * j, 3, "%02x", e->hash[j]);
		p += snprintf(p, cap - (size_t)(p - buf), "%s %s %lld%s%s\n", e->id, hex, e->created,
		              e->label[0] ? " " : "", e->label);
	}
	return buf;
}

bool token_set_verify(const struct token_set *set, const char *token, size_t len)
{
	unsigned char digest[TOKEN_HASH_LEN];
	int match = 0;
	if (!set || !token || len == 0)
		return false;
	SHA256((const unsigned char *)token, len, digest);
	/* No early exit: the time taken never depends on which hash (if any) matched. */
	for (size_t i = 0; i < set->n; i++)
		match |= CRYPTO_memcmp(digest, set->items[i].hash, TOKEN_HASH_LEN) == 0;
	OPENSSL_cleanse(digest, sizeof(digest));
	return match != 0;
}

/* Opens PATH for reading: 0 ok, 1 missing, -1 error. CHECK_MODE refuses group/other access. */
static int open_token_file(const char *path, bool check_mode, int *fd_out, struct stat *st, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		return entra_errf(err, errlen,
		                  "cannot open token file %s: %s (it must be readable by the user entra-syncd runs as)",
		                  path, strerror(errno));
	}
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return entra_errf(err, errlen, "token file %s is not a regular file", path);
	}
	if (check_mode && (st->st_mode & 066)) {
		close(fd);
		return entra_errf(
		    err, errlen,
		    "token file %s has mode %04o: it must not be readable or writable by group or others; "
		    "run `chmod 600 %s`",
		    path, (unsigned)(st->st_mode & 07777), path);
	}
	if (st->st_size > TOKEN_FILE_MAX_BYTES) {
		close(fd);
		return entra_errf(err, errlen, "token file %s is larger than %d bytes: it is not a token file", path,
		                  TOKEN_FILE_MAX_BYTES);
	}
	*fd_out = fd;
	return 0;
}

int token_file_check(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd = -1;
	int rc = open_token_file(path, true, &fd, &st, err, errlen);
	if (rc == 0)
		close(fd);
	return rc;
}

static int read_file(const char *path, bool check_mode, struct token_set *out, struct stat *st, char *err,
                     size_t errlen)
{
	int fd = -1;
	memset(out, 0, sizeof(*out));
	int rc = open_token_file(path, check_mode, &fd, st, err, errlen);
	if (rc != 0)
		return rc;
	char *buf = malloc(TOKEN_FILE_MAX_BYTES + 1);
	size_t len = 0;
	ssize_t got = 0;
	if (!buf) {
		close(fd);
		return entra_errf(err, errlen, "out of memory reading %s", path);
	}
	/* Read one byte past the limit to notice a file that grew since fstat. */
	while (len <= TOKEN_FILE_MAX_BYTES && (got = read(fd, buf + len, TOKEN_FILE_MAX_BYTES + 1 - len)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			break;
		len += (size_t)got;
	}
	int saved = errno;
	close(fd);
	if (got < 0)
		rc = entra_errf(err, errlen, "cannot read token file %s: %s", path, strerror(saved));
	else if (len > TOKEN_FILE_MAX_BYTES)
		rc = entra_errf(err, errlen, "token file %s is larger than %d bytes", path, TOKEN_FILE_MAX_BYTES);
	else
		rc = token_set_parse(path, buf, len, out, err, errlen);
	free(buf);
	return rc;
}

int token_file_read(const char *path, struct token_set *out, char *err, size_t errlen)
{
	struct stat st;
	return read_file(path, true, out, &st, err, errlen);
}

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static void base64url_encode(const unsigned char *in, size_t n, char *out)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = alphabet[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = alphabet[v & 63];
	}
	out[o] = '\0';
}

static int random_bytes(unsigned char *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = getrandom(buf + got, n - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* Directory of PATH, locked exclusively so two `entra-sync token` runs cannot lose a line. */
static int lock_directory(const char *path, char *err, size_t errlen)
{
	char copy[PATH_MAX];
	if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy))
		return entra_errf(err, errlen, "token file path %s is too long", path);
	const char *dir = dirname(copy);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return entra_errf(err, errlen,
		                  "cannot open directory %s of token file %s: %s; create it first (mkdir -m 0755 %s)",
		                  dir, path, strerror(errno), dir);
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			close(fd);
			return entra_errf(err, errlen, "cannot lock directory %s: %s", dir, strerror(errno));
		}
	}
	return fd;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Writes SET to PATH via a temp file in the same directory: fsync, rename, fsync directory.
 * OLD (when the file existed) gives the owner to keep, so the daemon's user can still read it. */
static int write_atomically(const char *path, int dirfd, const struct token_set *set, const struct stat *old, char *err,
                            size_t errlen)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return entra_errf(err, errlen, "token file path %s is too long", path);
	char *text = token_set_format(set);
	if (!text)
		return entra_errf(err, errlen, "out of memory");
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		free(text);
		return entra_errf(err, errlen, "cannot create a temporary file next to %s: %s", path, strerror(errno));
	}
	const char *what = NULL;
	if (fchmod(fd, 0600) != 0)
		what = "set mode 0600 on";
	else if (old && (old->st_uid != geteuid() || old->st_gid != getegid()) &&
	         fchown(fd, old->st_uid, old->st_gid) != 0)
		what = "keep the owner of (run as root or as the file's owner)";
	else if (write_all(fd, text, strlen(text)) != 0)
		what = "write";
	else if (fsync(fd) != 0)
		what = "fsync";
	int saved = errno;
	free(text);
	if (close(fd) != 0 && !what) {
		what = "close";
		saved = errno;
	}
	if (!what && rename(tmp, path) != 0) {
		what = "rename into place";
		saved = errno;
	}
	if (what) {
		unlink(tmp);
		return entra_errf(err, errlen, "cannot %s token file %s: %s", what, path, strerror(saved));
	}
	if (fsync(dirfd) != 0)
		return entra_errf(err, errlen, "cannot fsync the directory of %s: %s", path, strerror(errno));
	return 0;
}

/* Reads PATH for an update (mode not enforced: the rewrite makes it 0600). */
static int read_for_update(const char *path, struct token_set *set, struct stat *st, bool *existed, char *err,
                           size_t errlen)
{
	char why[768];
	int rc = read_file(path, false, set, st, why, sizeof(why));
	*existed = rc == 0;
	if (rc < 0)
		return entra_errf(err, errlen, "%s; fix it first, nothing was changed", why);
	return 0;
}

static int new_entry(const struct token_set *set, const char *label, struct token_entry *e,
                     char token_out[TOKEN_TEXT_LEN + 1])
{
	unsigned char secret[TOKEN_SECRET_BYTES], id[TOKEN_ID_LEN / 2];
	memset(e, 0, sizeof(*e));
	do {
		if (random_bytes(id, sizeof(id)) != 0)
			return -1;
		hex_encode(id, sizeof(id), e->id);
	} while (token_set_find(set, e->id));
	if (random_bytes(secret, sizeof(secret)) != 0)
		return -1;
	base64url_encode(secret, sizeof(secret), token_out);
	OPENSSL_cleanse(secret, sizeof(secret));
	SHA256((const unsigned char *)token_out, TOKEN_TEXT_LEN, e->hash);
	e->created = (long long)time(NULL);
	snprintf(e->label, sizeof(e->label), "%s", label ? label : "");
	return 0;
}

int token_file_create(const char *path, const char *label, char token_out[TOKEN_TEXT_LEN + 1],
                      struct token_entry *entry_out, char *err, size_t errlen)
{
	if (label && !label_valid(label, strlen(label)))
		return entra_errf(err, errlen, "the label must be at most %d bytes without control characters",
		                  TOKEN_LABEL_MAX);
	if (label &&
	    (isspace((unsigned char)label[0]) || (label[0] && isspace((unsigned char)label[strlen(label) - 1]))))
		return entra_errf(err, errlen, "the label must not start or end with white space");
	int dirfd = lock_directory(path, err, errlen);
	if (dirfd < 0)
		return -1;
	struct token_set set;
	struct stat st;
	bool existed;
	struct token_entry e;
	int rc = read_for_update(path, &set, &st, &existed, err, errlen);
	if (rc == 0 && set.n >= TOKEN_MAX_ENTRIES)
		rc = entra_errf(err, errlen, "%s already holds %d tokens: revoke some first", path, TOKEN_MAX_ENTRIES);
	if (rc == 0 && new_entry(&set, label, &e, token_out) != 0)
		rc = entra_errf(err, errlen, "cannot get random bytes: %s", strerror(errno));
	if (rc == 0 && set_append(&set, &e) != 0)
		rc = entra_errf(err, errlen, "out of memory");
	if (rc == 0)
		rc = write_atomically(path, dirfd, &set, existed ? &st : NULL, err, errlen);
	if (rc != 0)
		OPENSSL_cleanse(token_out, TOKEN_TEXT_LEN + 1);
	else if (entry_out)
		*entry_out = e;
	token_set_free(&set);
	close(dirfd);
	return rc;
}

int token_file_revoke(const char *path, const char *id, char *err, size_t errlen)
{
	int dirfd = lock_directory(path, err, errlen);
	if (dirfd < 0)
		return -1;
	struct token_set set;
	struct stat st;
	bool existed;
	int rc = read_for_update(path, &set, &st, &existed, err, errlen);
	const struct token_entry *e = rc == 0 ? token_set_find(&set, id) : NULL;
	if (rc == 0 && !e) {
		rc = 1;
		entra_errf(err, errlen, "no token with ID %s in %s; `entra-sync token list` shows the IDs", id, path);
	}
	if (rc == 0) {
		size_t i = (size_t)(e - set.items);
		memmove(&set.items[i], &set.items[i + 1], (set.n - i - 1) * sizeof(set.items[0]));
		set.n--;
		rc = write_atomically(path, dirfd, &set, &st, err, errlen);
	}
	token_set_free(&set);
	close(dirfd);
	return rc;
}
