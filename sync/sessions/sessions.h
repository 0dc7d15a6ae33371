/* Ending the sessions of accounts Entra disabled or removed ([accounts] end_sessions).
 *
 * The pieces, one per file: snapshot.c reads the accounts of cache.db (through the hardened
 * reader), local.c the local accounts of /etc/passwd, decide.c turns two snapshots into the
 * uids whose sessions end (pure: unit tested), procs.c finds and signals a uid's processes in
 * /proc, logind.c ends sessions through systemd-logind, end.c runs both for a list of targets,
 * watch.c is the watcher's loop (inotify on cache.db's directory plus a periodic check). */
#ifndef SYNC_SESSIONS_H
#define SYNC_SESSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Accounts one snapshot may hold (cache.db, or /etc/passwd): bounds memory and work. */
#define SESSIONS_ACCOUNTS_MAX (1u << 22)

struct sessions_account {
	uint32_t uid;
	bool disabled; /* shadow expiry reached: Entra disabled it (active: false) */
	char *name;
};

/* Accounts sorted by uid, each uid once. */
struct sessions_snapshot {
	struct sessions_account *v;
	size_t n, cap;
};

enum sessions_reason { SESSIONS_DISABLED, SESSIONS_REMOVED };

struct sessions_target {
	uint32_t uid;
	enum sessions_reason reason;
	const char *name; /* points into the snapshot it came from */
};

/* Targets sorted by uid. */
struct sessions_targets {
	struct sessions_target *v;
	size_t n, cap;
};

/* Names and uids of /etc/passwd, sorted: accounts this host owns, never touched. */
struct sessions_local {
	uint32_t *uids;
	char **names;
	size_t n;
};

/* What may be touched at all: [uid_min, uid_max] of entra.conf, never uid 0, never local. */
struct sessions_policy {
	uint32_t uid_min, uid_max;
	const struct sessions_local *local;
};

/* ---- snapshot.c ---- */
/* Reads the accounts of cache.db with a uid in [UID_MIN, UID_MAX]. TODAY is days since the
 * epoch (an account whose expiry day has come is disabled, as shadow(5) and pam_entra say).
 * 0 on success; -1 with WHY (a missing file included: a missing cache ends nothing). */
int sessions_snapshot_read(const char *cache_db, uint32_t uid_min, uint32_t uid_max, long long today,
                           struct sessions_snapshot *out, char *why, size_t whylen);
/* Appends (UID, DISABLED, NAME copied); uids must come in ascending order. 0 or -1 (memory or
 * the bound). */
int sessions_snapshot_add(struct sessions_snapshot *s, uint32_t uid, bool disabled, const char *name);
const struct sessions_account *sessions_snapshot_find(const struct sessions_snapshot *s, uint32_t uid);
void sessions_snapshot_free(struct sessions_snapshot *s);

/* ---- local.c ---- */
/* Reads PATH (/etc/passwd) directly, not through NSS (which would list Entra accounts too). */
int sessions_local_read(const char *path, struct sessions_local *out, char *why, size_t whylen);
bool sessions_local_has(const struct sessions_local *l, uint32_t uid, const char *name);
void sessions_local_free(struct sessions_local *l);

/* ---- decide.c ---- */
/* Whether the policy lets the watcher touch UID (named NAME). */
bool sessions_policy_allows(const struct sessions_policy *p, uint32_t uid, const char *name);
/* The accounts whose sessions end: each account of CUR that is disabled, and each account of
 * PREV that CUR no longer has (deleted in Entra or no longer granted to this host); only what
 * the policy allows. OUT (emptied first) points into CUR and PREV. 0 or -1 (memory). */
int sessions_decide(const struct sessions_snapshot *prev, const struct sessions_snapshot *cur,
                    const struct sessions_policy *policy, struct sessions_targets *out);
/* What the next round compares against: CUR plus each removed target of T as an enabled
 * account, so a removed account's processes keep being ended while the watcher runs (and
 * stop being so the moment it comes back). NEXT is replaced. 0 or -1 (memory). */
int sessions_remember(const struct sessions_snapshot *cur, const struct sessions_targets *t,
                      struct sessions_snapshot *next);
const struct sessions_target *sessions_targets_find(const struct sessions_targets *t, uint32_t uid);
const char *sessions_reason_text(enum sessions_reason r);
void sessions_targets_free(struct sessions_targets *t);

#endif
