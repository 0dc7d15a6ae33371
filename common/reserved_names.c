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
#define SIG_LENGTHS    ENTRA_RESERVED_SIG_LENGTHS

struct entra_reserved_signature entra_reserved_sig;
static unsigned char reserved_slot[SET_SLOTS]; /* index + 1 of each name, by FNV-1a hash */

static uint32_t name_hash(const char *name)
{
	uint32_t h = 2166136261u;
	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h;
}

/* At load, before any thread: look-ups then only read the set and the signature. */
__attribute__((constructor)) static void reserved_set_build(void)
{
	for (size_t i = 0; i < RESERVED_COUNT; i++) {
		const char *name = reserved_names[i];
		size_t len = strlen(name), slot = name_hash(name) & (SET_SLOTS - 1);
		while (reserved_slot[slot])
			slot = (slot + 1) & (SET_SLOTS - 1);
		reserved_slot[slot] = (unsigned char)(i + 1);
		if (len >= SIG_LENGTHS) {
			entra_reserved_sig.unbounded = true;
			continue;
		}
		entra_reserved_sig.first[len] |= 1ull << ((unsigned char)name[0] & 63);
		entra_reserved_sig.last[len] |= 1ull << ((unsigned char)name[len - 1] & 63);
	}
}

bool entra_name_reserved_lookup(const char *name)
{
	for (size_t slot = name_hash(name) & (SET_SLOTS - 1); reserved_slot[slot]; slot = (slot + 1) & (SET_SLOTS - 1))
		if (!strcmp(reserved_names[reserved_slot[slot] - 1], name))
			return true;
	return false;
}

bool entra_name_reserved(const char *name)
{
	return entra_name_reserved_len(name, strlen(name));
}
