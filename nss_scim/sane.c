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
 * digits. A table: one look-up and no branch per byte of a name checked on its own (member
 * blobs take the vector form, bytes_ours16; tests/unit/test_nss_sane.c checks both against the
 * rule in words). */
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

typedef unsigned char u8x16 __attribute__((vector_size(16)));
typedef signed char s8x16 __attribute__((vector_size(16)));

/* Whether any lane of V is not zero. */
static inline bool any_lane(s8x16 v)
{
	uint64_t lanes[2];
	memcpy(lanes, &v, sizeof(lanes));
	return (lanes[0] | lanes[1]) != 0;
}

/* All ones in the lanes of B that hold a NUL or a byte of our names, with GCC's vector
 * extensions (plain SSE2 on x86-64). A range is one signed compare: B - LO + 128 lies below
 * -128 + (HI - LO + 1) exactly when LO <= B <= HI. */
static inline s8x16 bytes_ours16(u8x16 b)
{
	s8x16 letter = (s8x16)(b + (unsigned char)(128 - 'a')) < -128 + 26;
	s8x16 digit = (s8x16)(b + (unsigned char)(128 - '0')) < -128 + 10;
	s8x16 dash_dot = (s8x16)(b + (unsigned char)(128 - '-')) < -128 + 2;
	return letter | digit | dash_dot | (b == '_') | (b == '@') | (b == 0);
}

/* The 16 bytes at P. */
static inline u8x16 load16(const char *p)
{
	u8x16 v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* A vector whose lanes are all bytes of P[0..LEN), 1 <= LEN <= 16, some of them twice: a short
 * string checked as a whole, from overlapping loads that stay inside it (a gecos, a shell, a
 * name are mostly under 16 bytes, and a byte-by-byte tail cost more than the vector part). */
static u8x16 cover16(const char *p, size_t len)
{
	uint64_t w[2];
	if (len >= 8) {
		memcpy(&w[0], p, 8);
		memcpy(&w[1], p + len - 8, 8);
	} else if (len >= 4) {
		uint32_t a, b;
		memcpy(&a, p, 4);
		memcpy(&b, p + len - 4, 4);
		w[0] = w[1] = a | (uint64_t)b << 32;
	} else {
		uint64_t a = (unsigned char)p[0], b = (unsigned char)p[len / 2], c = (unsigned char)p[len - 1];
		w[0] = w[1] = a | b << 8 | c << 16 | a * 0x0101010101000000ull;
	}
	u8x16 v;
	memcpy(&v, w, sizeof(v));
	return v;
}

/* The bytes a 16-byte loop over P[0..LEN) (LEN > 0) leaves, as one vector: the last 16 (some
 * checked twice), or all of them when there are fewer. */
static inline u8x16 tail16(const char *p, size_t len)
{
	return len >= 16 ? load16(p + len - 16) : cover16(p, len);
}

/* Whether every byte of BYTES[0..LEN) is a NUL or may stand in one of our names, 16 at a time. */
static bool bytes_all_ours(const char *bytes, size_t len)
{
	s8x16 bad = {0};
	size_t i = 0;
	for (; i + 16 <= len; i += 16)
		bad |= ~bytes_ours16(load16(bytes + i));
	if (i < len)
		bad |= ~bytes_ours16(tail16(bytes, len));
	return !any_lane(bad);
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

/* Bit I set when lane I of V is all ones. */
static inline uint64_t lane_bits(s8x16 v)
{
#ifdef __SSE2__
	return (unsigned)_mm_movemask_epi8((__m128i)v);
#else
	uint64_t bits = 0;
	for (int i = 0; i < 16; i++)
		bits |= (uint64_t)(v[i] != 0) << i;
	return bits;
#endif
}

/* Bit I set when P[I] is a NUL, for the 64 bytes from P: four 16-byte compares. */
static uint64_t nul_mask64(const char *p)
{
	uint64_t mask = 0;
	for (int q = 0; q < 4; q++) {
		u8x16 b;
		memcpy(&b, p + 16 * q, sizeof(b));
		mask |= lane_bits((s8x16)(b == 0)) << (16 * q);
	}
	return mask;
}

/* The 64 bytes of NAMES[0..LEN) from BASE: in place, or the last few copied into PAD with 'x'
 * after them (a plain letter: neither a NUL nor a byte foreign to names). */
static const char *chunk_at(const char *names, size_t len, size_t base, char pad[64])
{
	if (len - base >= 64)
		return names + base;
	memset(pad, 'x', 64);
	memcpy(pad, names + base, len - base);
	return pad;
}

/* The names of a blob whose bytes are all ours (bytes_all_ours): their NULs found 64 bytes at
 * a time, so a name costs its shape checks and no search (a group's members are short names). */
static size_t names_filter_clean(char *names, size_t len, char **mem, size_t max, size_t *dropped)
{
	char *out = names;
	size_t n = 0, start = 0;
	for (size_t base = 0; base < len; base += 64) {
		char pad[64];
		uint64_t nul = nul_mask64(chunk_at(names, len, base, pad));
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

/* What one pass over 64 bytes of a member blob finds: its NULs (bit I for byte I), its bytes
 * below '@' (a NUL, '-', '.' or a digit: what may not begin a plain name), and whether any byte
 * is foreign to our names. */
struct chunk_masks {
	uint64_t nul, low;
	bool foreign;
};

static struct chunk_masks chunk_scan(const char *p)
{
	struct chunk_masks m = {0, 0, false};
	s8x16 bad = {0};
#pragma GCC unroll 4
	for (int q = 0; q < 4; q++) {
		u8x16 b;
		memcpy(&b, p + 16 * q, sizeof(b));
		bad |= ~bytes_ours16(b);
		m.nul |= lane_bits((s8x16)(b == 0)) << (16 * q);
		m.low |= lane_bits((s8x16)b < '@') << (16 * q);
	}
	m.foreign = any_lane(bad);
	return m;
}

#define NAMES_NOT_PLAIN (SIZE_MAX - 1)

/* The usual blob, every name plain: its pointers into MEM in one pass, with no branch per name
 * but for the rare name that has a reserved name's signature (names of every length and letter
 * come in a row). A name is plain when it begins with a letter, '_' or '@', is under 128 bytes
 * (a NUL in every 64), is not "systemd-..." and is no reserved name. NAMES_NOT_PLAIN when one is
 * not, or MEM runs short: the caller then checks name by name. NAMES is not changed. */
static size_t names_all_plain(const char *names, size_t len, char **mem, size_t max)
{
	static const char not_systemd[8];
	uint64_t systemd, odd = 0, begins = 1; /* byte 0 begins a name */
	memcpy(&systemd, "systemd-", 8);
	size_t n = 0, start = 0;
	if (len == 0 || names[0] == '\0' || entra_reserved_sig.unbounded)
		return NAMES_NOT_PLAIN;
	for (size_t base = 0; base < len; base += 64) {
		char pad[64];
		struct chunk_masks m = chunk_scan(chunk_at(names, len, base, pad));
		if (m.foreign || !m.nul || (max - n < 64 && (size_t)__builtin_popcountll(m.nul) > max - n))
			return NAMES_NOT_PLAIN;
		odd |= ((m.nul << 1) | begins) & m.low; /* a name that begins with a NUL is empty */
		begins = m.nul >> 63;
		for (uint64_t nul = m.nul; nul; nul &= nul - 1) {
			size_t end = base + (size_t)__builtin_ctzll(nul), k = end - start;
			uint64_t head; /* under 8 bytes its NUL stands in the head: never "systemd-" */
			memcpy(&head, start + 8 <= len ? names + start : not_systemd, 8);
			unsigned first = (unsigned char)names[start] & 63, last = (unsigned char)names[end - 1] & 63;
			size_t row = k < ENTRA_RESERVED_SIG_LENGTHS ? k : 0;
			bool maybe =
			    (entra_reserved_sig.first[row] >> first) & (entra_reserved_sig.last[row] >> last) & 1;
			if (__builtin_expect(maybe, 0)) /* "mark.jones" has the signature of "messagebus" */
				odd |= entra_name_reserved_lookup(names + start);
			odd |= head == systemd;
			mem[n++] = (char *)names + start;
			start = end + 1;
		}
	}
	return odd ? NAMES_NOT_PLAIN : n;
}

size_t nss_names_filter(char *names, size_t len, char **mem, size_t max, size_t *dropped)
{
	size_t plain = names_all_plain(names, len, mem, max);
	if (plain != NAMES_NOT_PLAIN) {
		*dropped = 0;
		return plain;
	}
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
	s8x16 bad = {0};
	size_t i = 0;
	for (; i + 16 <= len; i += 16) {
		u8x16 b = load16(text + i);
		bad |= (b < 0x20) | (b > 0x7e) | (b == ':');
	}
	if (i < len) {
		u8x16 b = tail16(text, len);
		bad |= (b < 0x20) | (b > 0x7e) | (b == ':');
	}
	return !any_lane(bad);
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
