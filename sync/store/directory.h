/* The provisioned directory as the AUP engine sees it: a read-only snapshot of state.db
 * loaded in one read transaction (store_directory_load in store.c). */
#ifndef SYNC_DIRECTORY_H
#define SYNC_DIRECTORY_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

struct dir_user {
	char *scim_id;      /* SCIM resource id (our id) */
	char *external_id;  /* Entra externalId (often the object id GUID), may be NULL */
	char *user_name;    /* userName = UPN */
	char *display_name; /* for gecos, may be NULL */
	bool active;
	char *ssh_keys; /* SSH public keys from Entra, one per line, unchecked; may be NULL */
	size_t *groups; /* indexes into directory.groups of the user's direct groups */
	size_t n_groups;
};

struct dir_group {
	char *scim_id;
	char *external_id; /* Entra object id for groups */
	char *display_name;
	size_t *members; /* indexes into directory.users */
	size_t n_members;
};

struct directory {
	struct dir_user *users;
	size_t n_users;
	struct dir_group *groups;
	size_t n_groups;
};

/* Reads every user, group and membership from an open state.db connection in one read
 * transaction. 0 or -1 (sqlite error logged). */
int store_directory_load(sqlite3 *db, struct directory *out);
/* store_directory_load and, when WITH_POSITION, the change log position it corresponds to
 * (store_changes_position), in one read transaction; before the SCIM store created its schema
 * (a fresh install) the directory is empty. 0 or -1 (logged). */
int store_directory_snapshot(sqlite3 *db, bool with_position, struct directory *out, long long *seq);
/* The publisher's read-write connection to the existing file PATH: WAL, a large page cache,
 * mmap. NULL when it cannot be opened (logged with what to check). */
sqlite3 *store_directory_open(const char *path, int busy_timeout_ms);
void directory_free(struct directory *dir);

#endif
