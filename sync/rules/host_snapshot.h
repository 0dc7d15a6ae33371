/* What the rules decide for one host: its accounts, groups and memberships, ready for the
 * cache writer (sync/publish/cache_writer.h) to put into cache.db. */
#ifndef SYNC_RULES_HOST_SNAPSHOT_H
#define SYNC_RULES_HOST_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

struct cache_account {
	const char *name;
	uint32_t uid; /* = gid of the private group */
	const char *gecos;
	char *dir; /* owned by the snapshot */
	const char *shell;
	const char *upn;
	const char *object_id; /* NULL when Entra sent none */
	const char *scim_id;
	const char *role;
	int login;
	long expire;
};

struct cache_group {
	const char *name;
	uint32_t gid;
	const char *object_id;
	const char *scim_id;
};

struct cache_member {
	uint32_t gid, uid;
};

struct cache_local_member {
	uint32_t uid, gid;
	const char *name;
};

/* One SSH public key line of an account that may sign in (common/ssh_key.h, canonical form);
 * N numbers a user's keys from 0 in the order Entra sent them. */
struct cache_ssh_key {
	uint32_t uid, n;
	const char *key;
};

struct cache_snapshot {
	struct cache_account *accounts;
	size_t n_accounts;
	struct cache_group *groups;
	size_t n_groups;
	struct cache_member *members;
	size_t n_members;
	struct cache_local_member *local_members;
	size_t n_local_members;
	struct cache_ssh_key *ssh_keys;
	size_t n_ssh_keys;
	const char *host;
	uint32_t uid_min, uid_max;
};

/* The generation of the cache.db at PATH, or 0 when it is missing or unreadable. */

#endif
