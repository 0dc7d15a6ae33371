/* Defence in depth: cache.db is written by the unprivileged entra-syncd, and a tampered or buggy
 * file must never make this module hand out uid/gid 0, ids outside the configured range, a
 * reserved name (root, daemon, sudo, ...), or lines that would break /etc/passwd-style parsers.
 * Offending rows are skipped and logged once. */
#include "nss_scim/nss_scim.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "common/account_name.h"
#include "common/reserved_names.h"
#include "common/text_safe.h"

void nss_syslog(int priority, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* No openlog(): the host process owns its syslog identity. */
	syslog(LOG_AUTHPRIV | priority, "libnss_scim: %s", msg);
}

/* Bytes that may stand in a name. NAME_OURS: only what entra-syncd writes (lowercase ASCII
 * letters, digits, '_', '.', '-' and, with name_format = upn, '@'), so no control, no byte of a
 * multi-byte character and no capital ("Root") reaches ls, ps or who. NAME_LOCAL: a local group
 * a role grants, as /etc/group has it: any printable ASCII but the separators. NAME_DIGIT marks
 * digits. A table, because this runs for every byte of every group member served
 * (tests/unit/test_nss_sane.c checks it against the rule in words). */
enum { NAME_OURS = 1, NAME_LOCAL = 2, NAME_DIGIT = 4 };
/* Bytes 0x80-0xff are 0: never in a name. */
static const unsigned char name_byte[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 3, 3, 2, /* 0x20 */
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 0, 2, 2, 2, 2, 2, /* 0x30 */
    3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x40 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, /* 0x50 */
    2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0x60 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 0, /* 0x70 */
};

/* The length of NAME up to its NUL, and in *ALL the classes every byte has (NAME_DIGIT only
 * when all are digits). One table look-up and one AND per byte, no other branch. */
static size_t name_scan(const char *name, unsigned *all)
{
	const unsigned char *s = (const unsigned char *)name;
	unsigned every = NAME_OURS | NAME_LOCAL | NAME_DIGIT;
	size_t n = 0;
	for (; s[n]; n++)
		every &= name_byte[s[n]];
	*all = every;
	return n;
}

/* Whether a name of N bytes whose bytes all have classes ALL is of class KIND and safe in a
 * passwd or group line and on a command line. */
static bool name_shape_ok(const char *name, size_t n, unsigned all, unsigned kind)
{
	/* An all-digit name would be taken for a uid by chown and friends. */
	return n > 0 && n <= NSS_NAME_MAX && (all & kind) && !(all & NAME_DIGIT) && name[0] != '-' &&
	       !(name[0] == '.' && (n == 1 || (n == 2 && name[1] == '.')));
}

/* strlen(NAME) when NAME is safe in a passwd or group line and on a command line, else 0. */
static size_t name_len(const char *name, unsigned kind)
{
	unsigned all;
	size_t n = name ? name_scan(name, &all) : 0;
	return n && name_shape_ok(name, n, all, kind) ? n : 0;
}

_Static_assert(NSS_NAME_MAX == ENTRA_ACCOUNT_NAME_MAX, "one longest name for every reader of cache.db");

size_t nss_name_len(const char *name)
{
	/* One rule for every reader of cache.db; it refuses the system's own names (root, sudo). */
	return entra_account_name_len(name);
}

/* Whether every byte of BYTES[0..LEN) is a NUL or may stand in one of our names: 16 bytes at a
 * time with GCC's vector extensions (plain SSE2 on x86-64), the tail one by one. */
static bool bytes_all_ours(const char *bytes, size_t len)
{
	typedef unsigned char u8x16 __attribute__((vector_size(16)));
	typedef signed char s8x16 __attribute__((vector_size(16)));
	s8x16 bad = {0};
	size_t i = 0;
	for (; i + 16 <= len; i += 16) {
		u8x16 b;
		memcpy(&b, bytes + i, sizeof(b));
		/* Ranges as one unsigned compare after a shift: 'a'..'z', and '-'..'9' but '/'. */
		s8x16 letter = (u8x16)(b - 'a') < 26, dash_digit = (u8x16)(b - '-') < 13;
		bad |= ~(letter | (dash_digit & (b != '/')) | (b == '_') | (b == '@') | (b == 0));
	}
	uint64_t lanes[2];
	memcpy(lanes, &bad, sizeof(lanes));
	bool ok = !(lanes[0] | lanes[1]);
	for (; ok && i < len; i++)
		ok = !bytes[i] || (name_byte[(unsigned char)bytes[i]] & NAME_OURS);
	return ok;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* nss_name_ok for a name of K bytes known to hold only bytes of our names. */
static bool name_ours_ok(const char *name, size_t k)
{
	return k > 0 && k <= NSS_NAME_MAX && name[0] != '-' &&
	       !(name[0] == '.' && (k == 1 || (k == 2 && name[1] == '.'))) &&
	       !(is_digit(name[0]) && is_digit(name[k - 1]) && strspn(name, "0123456789") == k) &&
	       !entra_name_reserved_len(name, k);
}

/* Bit I set when P[I] is a NUL, for the 64 bytes from P: four 16-byte compares. */
static uint64_t nul_mask64(const char *p)
{
	typedef char c8x16 __attribute__((vector_size(16)));
	uint64_t mask = 0;
	for (int q = 0; q < 4; q++) {
		c8x16 b;
		memcpy(&b, p + 16 * q, sizeof(b));
		c8x16 z = b == 0;
#ifdef __SSE2__
		mask |= (uint64_t)(unsigned)_mm_movemask_epi8((__m128i)z) << (16 * q);
#else
		for (int i = 0; i < 16; i++)
			mask |= (uint64_t)(z[i] != 0) << (16 * q + i);
#endif
	}
	return mask;
}

/* The same for the N < 64 bytes from P (the bytes past them count as not NUL). */
static uint64_t nul_mask_tail(const char *p, size_t n)
{
	char chunk[64];
	memset(chunk, 'x', sizeof(chunk));
	memcpy(chunk, p, n);
	return nul_mask64(chunk);
}

/* The names of a blob whose bytes are all ours (bytes_all_ours): their NULs found 64 bytes at
 * a time, so a name costs its shape checks and no search (a group's members are short names). */
static size_t names_filter_clean(char *names, size_t len, char **mem, size_t max, size_t *dropped)
{
	char *out = names;
	size_t n = 0, start = 0;
	for (size_t base = 0; base < len; base += 64) {
		uint64_t nul = len - base >= 64 ? nul_mask64(names + base) : nul_mask_tail(names + base, len - base);
		for (; nul; nul &= nul - 1) {
			size_t end = base + (size_t)__builtin_ctzll(nul), k = end - start;
			char *name = names + start;
			start = end + 1;
			if (!name_ours_ok(name, k)) {
				++*dropped;
				continue;
			}
			if (n == max)
				return SIZE_MAX;
			if (out != name) /* behind NAME: the bytes still to be read are not touched */
				memmove(out, name, k + 1);
			mem[n++] = out;
			out += k + 1;
		}
	}
	return n;
}

size_t nss_names_filter(char *names, size_t len, char **mem, size_t max, size_t *dropped)
{
	*dropped = 0;
	/* The usual case, every byte one of ours, checked at vector speed first: then each name
	 * only needs its length and its shape. */
	if (bytes_all_ours(names, len))
		return names_filter_clean(names, len, mem, max, dropped);
	char *out = names, *end = names + len;
	size_t n = 0;
	for (char *name = names; name < end;) {
		unsigned all;
		size_t k = name_scan(name, &all);
		if (!name_shape_ok(name, k, all, NAME_OURS) || entra_name_reserved_len(name, k)) {
			++*dropped;
		} else {
			if (n == max)
				return SIZE_MAX;
			if (out != name)
				memmove(out, name, k + 1);
			mem[n++] = out;
			out += k + 1;
		}
		name += k + 1;
	}
	return n;
}

bool nss_name_ok_n(const char *name, size_t len)
{
	return bytes_all_ours(name, len) && name_ours_ok(name, len);
}

bool nss_name_ok(const char *name)
{
	return nss_name_len(name) != 0;
}

bool nss_local_group_name_ok(const char *name)
{
	return name_len(name, NAME_LOCAL) != 0;
}

/* Whether TEXT[0..LEN) is printable ASCII but ':': 16 bytes at a time (as bytes_all_ours). */
static bool plain_ascii(const char *text, size_t len)
{
	typedef unsigned char u8x16 __attribute__((vector_size(16)));
	typedef signed char s8x16 __attribute__((vector_size(16)));
	s8x16 bad = {0};
	size_t i = 0;
	for (; i + 16 <= len; i += 16) {
		u8x16 b;
		memcpy(&b, text + i, sizeof(b));
		bad |= (b < 0x20) | (b > 0x7e) | (b == ':');
	}
	uint64_t lanes[2];
	memcpy(lanes, &bad, sizeof(lanes));
	bool ok = !(lanes[0] | lanes[1]);
	for (unsigned char c; ok && i < len; i++)
		ok = (c = (unsigned char)text[i]) >= 0x20 && c <= 0x7e && c != ':';
	return ok;
}

/* gecos, home and shell: what entra-syncd publishes (common/text_safe) and nothing else, so a
 * tampered cache cannot put controls, bidi overrides or invalid UTF-8 on a terminal. */
bool nss_field_ok(const char *text)
{
	return text && nss_field_ok_n(text, strlen(text));
}

bool nss_field_ok_n(const char *text, size_t len)
{
	/* Printable ASCII but ':' is safe as it stands: the UTF-8 walk (and its per-character
	 * table of hidden code points) only for text that holds anything else. */
	if (plain_ascii(text, len)) /* no NUL either: text ends at LEN */
		return len <= NSS_FIELD_MAX;
	return text[len] == '\0' && strlen(text) == len && entra_text_is_safe(text, NSS_FIELD_MAX, ENTRA_TEXT_NO_COLON);
}

bool nss_path_ok_n(const char *path, size_t len)
{
	return len > 0 && path[0] == '/' && nss_field_ok_n(path, len);
}

bool nss_path_ok(const char *path)
{
	return path && nss_path_ok_n(path, strlen(path));
}

bool nss_id_ok(const struct nss_view *v, int64_t id)
{
	return id > 0 && id >= v->id_min && id <= v->id_max;
}

bool nss_gid_apart(const struct nss_view *v, int64_t gid)
{
	/* The config refuses overlapping ranges; checked again here, where it matters. */
	return v->gid_min > 0 && gid >= v->gid_min && gid <= v->gid_max && !nss_id_ok(v, gid);
}

bool nss_gid_ok(const struct nss_view *v, int64_t gid)
{
	return nss_id_ok(v, gid) || nss_gid_apart(v, gid);
}

static const char *const skip_text[] = {
    [SKIP_PASSWD_ROW] = "a passwd row with uid or gid 0, outside [accounts] uid_min..uid_max, or with an "
                        "unsafe name/gecos/home/shell",
    [SKIP_GROUP_ROW] = "a group row with gid 0, outside [accounts] uid_min..uid_max and gid_min..gid_max, or "
                       "with an unsafe name",
    [SKIP_MEMBER_ROW] = "a group member that is not a valid account",
    [SKIP_LOCAL_GROUP] = "a local group (local_members) with gid 0, an unsafe name, or a name the user's "
                         "[role] groups list in entra.conf does not grant",
    [SKIP_LOCAL_GROUP_MISMATCH] = "a local group (local_members) whose name and gid do not match /etc/group",
    [SKIP_TOO_MANY_LOCAL] = "more local groups (local_members) for one user than " NSS_SCIM_STR(NSS_LOCAL_GROUPS),
    [SKIP_NOT_THIS_ACCOUNT] = "initgroups for a name whose account, as resolved, has another primary group (a "
                              "local or LDAP account of the same name): none of the Entra account's groups "
                              "granted",
};

void nss_log_skip(struct nss_view *v, enum nss_skip reason, long long key)
{
	unsigned bit = 1u << reason;
	if (v->db->logged_once & bit)
		return;
	v->db->logged_once |= bit;
	nss_syslog(LOG_WARNING, "%s: ignoring %s (id %lld; further ones are not logged); check entra-syncd",
	           v->db->path, skip_text[reason], key);
}
