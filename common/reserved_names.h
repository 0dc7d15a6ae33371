/* Names the base system and common packages own: never given to, or served for, an Entra
 * account or group. Shared by the publisher (refuses them) and the modules (never serve them). */
#ifndef ENTRA_RESERVED_NAMES_H
#define ENTRA_RESERVED_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* True for names a distribution or the base system uses (root, daemon, sudo, systemd-*, ...). */
bool entra_name_reserved(const char *name);

/* The NSS module checks every group member it serves, so most names must be told apart without
 * a call or a string comparison: a signature of (length, first byte, last byte) of the reserved
 * names rules out nearly every other name inline. Built once at load, before any thread, and
 * only read after. */
#define ENTRA_RESERVED_SIG_LENGTHS 16 /* reserved names are shorter (checked when it is built) */
struct entra_reserved_signature {
	uint64_t first[ENTRA_RESERVED_SIG_LENGTHS], last[ENTRA_RESERVED_SIG_LENGTHS]; /* bit (byte & 63) */
	bool unbounded; /* a name of ENTRA_RESERVED_SIG_LENGTHS bytes or more */
};
extern struct entra_reserved_signature entra_reserved_sig;
/* The exact test for a name the signature did not rule out: a hash, usually one comparison. */
bool entra_name_reserved_lookup(const char *name);

/* entra_name_reserved for NAME of LEN bytes (strlen(NAME) == LEN), when the caller knows it.
 * Branch-free up to the exact look-up: names of every length come in a row, and a mispredicted
 * branch per name cost more than the tests (28% of the group member check). A length past the
 * signature's reads its row 0, where no name has a bit. */
static inline bool entra_name_reserved_len(const char *name, size_t len)
{
	uint64_t head = 0, systemd;
	memcpy(&systemd, "systemd-", 8);
	if (len >= 8)
		memcpy(&head, name, 8);
	size_t row = len < ENTRA_RESERVED_SIG_LENGTHS ? len : 0;
	unsigned first = (unsigned char)name[0] & 63, last = (unsigned char)name[len ? len - 1 : 0] & 63;
	bool maybe = ((entra_reserved_sig.first[row] >> first) & (entra_reserved_sig.last[row] >> last) & 1) |
	             (entra_reserved_sig.unbounded & (len >= ENTRA_RESERVED_SIG_LENGTHS));
	return head == systemd || (maybe && entra_name_reserved_lookup(name));
}

#endif
