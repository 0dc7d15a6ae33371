/* The system's own word on who owns a uid, asked before the watcher touches it: cache.db is
 * written by an unprivileged daemon, and the uid range may overlap another directory's. */
#include <pwd.h>
#include <string.h>

#include "sync/sessions/sessions.h"

bool sessions_owner_ok(uint32_t uid, const char *name, enum sessions_reason reason)
{
	char buf[16384];
	struct passwd pw, *res = NULL;
	if (getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res))
		return false; /* cannot tell: never act */
	if (!res)
		return reason == SESSIONS_REMOVED; /* gone from cache.db, so gone from libnss_scim too */
	return !strcmp(res->pw_name, name);
}
