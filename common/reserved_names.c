#include "common/reserved_names.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Base system and common package accounts and groups (Debian base-passwd, systemd, OpenSSH),
 * kept sorted for the reader. */
static const char *const reserved_names[] = {
    "_apt",       "adm",    "admin", "audio",   "avahi",     "backup",  "bin",      "cdrom",   "crontab", "daemon",
    "dialout",    "dip",    "disk",  "dnsmasq", "docker",    "fax",     "floppy",   "ftp",     "games",   "gnats",
    "input",      "irc",    "kmem",  "kvm",     "landscape", "list",    "lp",       "lxd",     "mail",    "man",
    "messagebus", "netdev", "news",  "nobody",  "nogroup",   "ntp",     "operator", "plugdev", "polkitd", "postfix",
    "proxy",      "render", "root",  "sasl",    "sgx",       "shadow",  "src",      "ssh",     "sshd",    "staff",
    "sudo",       "sync",   "sys",   "syslog",  "tape",      "tcpdump", "tss",      "tty",     "users",   "utmp",
    "uucp",       "uuidd",  "video", "voice",   "wheel",     "www-data"};

#define RESERVED_COUNT (sizeof(reserved_names) / sizeof(reserved_names[0]))
#define SET_SLOTS      256 /* a power of two, over 3x the names: probes stay short */
#define SIG_LENGTHS    16  /* reserved names are shorter (checked when the set is built) */

/* The NSS module checks every group member it serves, so most names must be told apart without
 * a string comparison: a signature of (length, first byte, last byte) rules out nearly every
 * name that is not reserved, and the rest costs one hash and usually one comparison. */
static struct {
	unsigned char slot[SET_SLOTS];                  /* index + 1 of each name, by FNV-1a hash */
	uint64_t first[SIG_LENGTHS], last[SIG_LENGTHS]; /* bit (byte & 63) by length */
	bool unbounded;                                 /* a name of SIG_LENGTHS bytes or more */
} reserved_set;

static uint32_t name_hash(const char *name)
{
	uint32_t h = 2166136261u;
	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h;
}

/* At load, before any thread: look-ups then only read the set. */
__attribute__((constructor)) static void reserved_set_build(void)
{
	for (size_t i = 0; i < RESERVED_COUNT; i++) {
		const char *name = reserved_names[i];
		size_t len = strlen(name), slot = name_hash(name) & (SET_SLOTS - 1);
		while (reserved_set.slot[slot])
			slot = (slot + 1) & (SET_SLOTS - 1);
		reserved_set.slot[slot] = (unsigned char)(i + 1);
		if (len >= SIG_LENGTHS) {
			reserved_set.unbounded = true;
			continue;
		}
		reserved_set.first[len] |= 1ull << ((unsigned char)name[0] & 63);
		reserved_set.last[len] |= 1ull << ((unsigned char)name[len - 1] & 63);
	}
}

static bool signature_may_match(const char *name, size_t len)
{
	if (len >= SIG_LENGTHS || len == 0)
		return reserved_set.unbounded;
	return (reserved_set.first[len] >> ((unsigned char)name[0] & 63) & 1) &&
	       (reserved_set.last[len] >> ((unsigned char)name[len - 1] & 63) & 1);
}

bool entra_name_reserved_len(const char *name, size_t len)
{
	/* memcmp of a constant 8 bytes is one compare, no call: this runs for every member served. */
	if (len >= 8 && !memcmp(name, "systemd-", 8))
		return true;
	if (!signature_may_match(name, len))
		return false;
	for (size_t slot = name_hash(name) & (SET_SLOTS - 1); reserved_set.slot[slot];
	     slot = (slot + 1) & (SET_SLOTS - 1))
		if (!strcmp(reserved_names[reserved_set.slot[slot] - 1], name))
			return true;
	return false;
}

bool entra_name_reserved(const char *name)
{
	return entra_name_reserved_len(name, strlen(name));
}
