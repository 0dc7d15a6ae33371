/* The account a PAM user name really is: what the host's NSS order resolves it to (files, LDAP,
 * SSSD, homed, ... and libnss_scim), held against the cache.db row pam_entra found by name. */
#include "pam_entra/account.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>

#define PWBUF_START 4096
#define PWBUF_MAX   (1024 * 1024) /* glibc's entries are far smaller; bounds a hostile source */

enum nss_result { NSS_FOUND, NSS_NOT_FOUND, NSS_ERROR };

static enum nss_result nss_uid(const char *name, uid_t *uid)
{
	for (size_t len = PWBUF_START; len <= PWBUF_MAX; len *= 2) {
		struct passwd pw, *found = NULL;
		char *buf = malloc(len);
		if (!buf)
			return NSS_ERROR;
		int rc = getpwnam_r(name, &pw, buf, len, &found);
		if (found)
			*uid = pw.pw_uid;
		free(buf);
		if (rc == ERANGE)
			continue;
		if (found)
			return NSS_FOUND;
		return rc == 0 || rc == ENOENT || rc == ESRCH ? NSS_NOT_FOUND : NSS_ERROR;
	}
	return NSS_ERROR;
}

static bool in_range(long long id, uint32_t uid_min, uint32_t uid_max)
{
	return id > 0 && id >= uid_min && id <= uid_max;
}

int pe_account_identity_check(const struct pe_account *a, uint32_t uid_min, uint32_t uid_max, char *reason,
                              size_t reasonlen)
{
	uid_t uid;
	if (!in_range(a->uid, uid_min, uid_max))
		return snprintf(reason, reasonlen, "cache.db gives %s uid %lld, outside [accounts] uid_min..uid_max",
		                a->name, a->uid),
		       -1;
	switch (nss_uid(a->name, &uid)) {
	case NSS_FOUND:
		if ((long long)uid == a->uid)
			return 0;
		return snprintf(reason, reasonlen,
		                "the name %s belongs to another account (uid %lu) that comes first in nsswitch.conf, "
		                "not to the Entra account (uid %lld); rename or remove one of them",
		                a->name, (unsigned long)uid, a->uid),
		       -1;
	case NSS_NOT_FOUND:
		return snprintf(reason, reasonlen,
		                "NSS does not resolve %s (is scim listed in the passwd line of /etc/nsswitch.conf?)",
		                a->name),
		       -1;
	default:
		return snprintf(reason, reasonlen, "NSS cannot resolve %s now; try again", a->name), -1;
	}
}

bool pe_account_is_local(const char *name, uint32_t uid_min, uint32_t uid_max)
{
	uid_t uid;
	return nss_uid(name, &uid) == NSS_FOUND && !in_range(uid, uid_min, uid_max);
}
