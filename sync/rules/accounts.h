/* From the provisioned directory to this host's accounts: AUP verdicts, Unix names and clashes,
 * stable ids, and the cache.db snapshot. Shared by the publisher and `entra-sync rules`. */
#ifndef SYNC_ACCOUNTS_H
#define SYNC_ACCOUNTS_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "sync/rules/aup.h"
#include "sync/rules/host_snapshot.h"
#include "sync/rules/idalloc.h"
#include "sync/rules/names.h"
#include "sync/store/directory.h"

/* Why a user has no account here; the first that applies. */
enum account_verdict {
	ACCOUNT_OK,            /* an account on this host (expired when disabled) */
	ACCOUNT_NO_RULE,       /* no rule matched */
	ACCOUNT_NOT_THIS_HOST, /* no OU of the matched rules covers cfg->host */
	ACCOUNT_NAME_INVALID,  /* the UPN gives no valid Linux name */
	ACCOUNT_NAME_RESERVED, /* root, daemon, sudo, systemd-*, ... */
	ACCOUNT_NAME_LOCAL,    /* a name in /etc/passwd or /etc/group */
	ACCOUNT_NAME_SHARED,   /* another user with an account here would get this name */
	ACCOUNT_NO_ID,         /* no uid allocated (range full, state.db error, or not yet) */
	ACCOUNT_ID_LOCAL,      /* its uid is now used by a local account or group */
	ACCOUNT_ID_SHARED,     /* another provisioned user has the same Entra object id */
};

/* NAME_SHARED: two users (or two groups) that would both be published here; NAME_CLASH (groups
 * only): a published user has this name, and users' names win over groups'. */
enum name_state { NAME_OK, NAME_INVALID, NAME_RESERVED, NAME_LOCAL, NAME_SHARED, NAME_CLASH };

struct account_user {
	char *name; /* local name, NULL when invalid */
	enum name_state name_state;
	struct aup_user aup;
	uint32_t uid;   /* 0 = none */
	bool id_shared; /* uid withheld: another user has the same id key (object id) */
	enum account_verdict verdict;
	long snapshot;             /* index into snap.accounts, -1 when not published */
	unsigned ssh_keys_refused; /* key lines refused (sync/rules/ssh_keys.c) */
	const char *ssh_key_why;   /* the first one's reason */
};

struct account_group {
	char *name; /* Unix name, NULL when invalid */
	enum name_state name_state;
	uint32_t gid;
	long snapshot; /* index into snap.groups, -1 when not published */
};

struct accounts {
	struct aup_plan plan;
	struct account_user *users;   /* parallel to dir->users */
	struct account_group *groups; /* parallel to dir->groups */
	size_t n_users, n_groups;
	bool quiet;
	struct cache_snapshot snap;
	size_t n_refused; /* users matched by a rule covering this host but refused */
	/* internal storage */
	bool *matched_pool;
	const char **ous_pool;
	char **strings; /* chunks */
	size_t n_strings, cap_strings, chunk_used, chunk_size;
};

/* Builds everything. DB non-NULL: allocate missing ids there (one write transaction); NULL:
 * look up only (a read-only CLI). Findings are not logged here (see accounts_report); QUIET
 * also silences the rule resolver. 0 or -1 (no memory; logged). */
int accounts_build(const struct entra_config *cfg, const struct directory *dir, const struct names_local *local,
                   struct idalloc *ids, sqlite3 *db, bool quiet, struct accounts *out);
void accounts_free(struct accounts *a);
/* LEN bytes, or a copy of S, in A's string pool, freed with A; NULL when out of memory. */
char *accounts_alloc(struct accounts *a, size_t len);
char *accounts_strdup(struct accounts *a, const char *s);
/* A hash of the findings accounts_report logs (refused users and groups, ambiguous names,
 * missing role groups, accounts without an object id), so the publisher logs them only when
 * they change. */
uint64_t accounts_findings_hash(const struct accounts *a, const struct entra_config *cfg, const struct directory *dir,
                                const struct names_local *local);
/* Logs those findings with what to do (at most a few lines per kind). */
void accounts_report(const struct accounts *a, const struct entra_config *cfg, const struct directory *dir,
                     const struct names_local *local);
const char *account_verdict_text(enum account_verdict v);
const char *name_state_text(enum name_state s);

#endif
