#include "common/reserved_names.h"

#include <stdlib.h>
#include <string.h>

/* Base system and common package accounts and groups (Debian base-passwd, systemd, OpenSSH).
 * Sorted (strcmp order): looked up with bsearch for every user on every publish and for every
 * name the NSS module serves. */
static const char *const reserved_names[] = {
    "_apt",       "adm",    "admin", "audio",   "avahi",     "backup",  "bin",      "cdrom",   "crontab", "daemon",
    "dialout",    "dip",    "disk",  "dnsmasq", "docker",    "fax",     "floppy",   "ftp",     "games",   "gnats",
    "input",      "irc",    "kmem",  "kvm",     "landscape", "list",    "lp",       "lxd",     "mail",    "man",
    "messagebus", "netdev", "news",  "nobody",  "nogroup",   "ntp",     "operator", "plugdev", "polkitd", "postfix",
    "proxy",      "render", "root",  "sasl",    "sgx",       "shadow",  "src",      "ssh",     "sshd",    "staff",
    "sudo",       "sync",   "sys",   "syslog",  "tape",      "tcpdump", "tss",      "tty",     "users",   "utmp",
    "uucp",       "uuidd",  "video", "voice",   "wheel",     "www-data"};

static int reserved_cmp(const void *key, const void *entry)
{
	return strcmp(*(const char *const *)key, *(const char *const *)entry);
}

bool entra_name_reserved(const char *name)
{
	if (!strncmp(name, "systemd-", 8))
		return true;
	return bsearch(&name, reserved_names, sizeof(reserved_names) / sizeof(reserved_names[0]),
	               sizeof(reserved_names[0]), reserved_cmp) != NULL;
}
