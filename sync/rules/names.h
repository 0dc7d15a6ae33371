/* Unix names for provisioned users and groups, and the local names they must never take. */
#ifndef SYNC_NAMES_H
#define SYNC_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/config.h"
#include "common/reserved_names.h"

#define NAMES_SHORT_MAX 32  /* useradd's limit; utmp and ps show no more */
#define NAMES_LONG_MAX  256 /* upn format and group names */

/* Local name of the user with UPN: the lowercased local part (short) or the whole lowercased
 * UPN (upn). 0, or -1 when the UPN is malformed or the result is not a valid Linux name. */
int names_user(const char *upn, enum entra_name_format fmt, char *out, size_t outlen);
/* Unix name of a SCIM group: displayName lowercased, each run of characters outside
 * [a-z0-9_.-] replaced by '-', leading/trailing '-' trimmed ("Web Team" -> web-team).
 * 0, or -1 when nothing valid remains (empty, all digits, too long). */
int names_group(const char *display_name, char *out, size_t outlen);

/* Names and ids of /etc/passwd and /etc/group, read from the files (never through NSS, which
 * would find our own accounts). */
#define NAMES_PASSWD_FILE "/etc/passwd"
#define NAMES_GROUP_FILE  "/etc/group"
struct local_entry {
	char *name;
	uint32_t id;
};
struct names_local {
	struct local_entry *users; /* sorted by name */
	size_t n_users;
	struct local_entry *groups; /* sorted by name */
	size_t n_groups;
	uint32_t *ids; /* every uid and gid of both, sorted */
	size_t n_ids;
};
/* Loads both files; a missing file counts as empty (logged). -1 on a read error or no memory. */
int names_local_load(const char *passwd_path, const char *group_path, struct names_local *out);
void names_local_free(struct names_local *l);
/* True when NAME is a local user or group name. */
bool names_local_has(const struct names_local *l, const char *name);
/* Gid of the local group NAME, or -1 when there is none. */
int64_t names_local_gid(const struct names_local *l, const char *name);
/* True when ID is a local uid or gid. */
bool names_local_id_used(const struct names_local *l, uint32_t id);

/* One version of a local file as stat(2) sees it: an edit in place changes its size, mtime or
 * ctime; useradd, vipw and package scripts rename a new file into place (another inode). */
struct names_file_stamp {
	int err; /* 0, or the errno of stat (ENOENT: no such file) */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};
struct names_local_stamp {
	const char *passwd_path, *group_path; /* not owned */
	struct names_file_stamp passwd, group;
};
/* Stamps both files now; taken before names_local_load reads them, a change in between shows. */
void names_local_stamp(const char *passwd_path, const char *group_path, struct names_local_stamp *out);
/* The path of the first file that differs between WAS and NOW, or NULL when neither does. */
const char *names_local_changed(const struct names_local_stamp *was, const struct names_local_stamp *now);

#endif
