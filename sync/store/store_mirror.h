/* A follower's state.db: the hub's directory, uid/gid allocations and policy mirrored from the
 * feed (sync/follow), in the same tables the SCIM service fills on a hub, so the publisher works
 * unchanged. Each snapshot or batch of changes is one write transaction with the cursor it
 * brings the follower to: a reader sees the old directory or the new one, never a mix, and a
 * restart resumes from the stored cursor. */
#ifndef SYNC_STORE_MIRROR_H
#define SYNC_STORE_MIRROR_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "sync/store/store.h"

#define MIRROR_HUB_MAX    64
#define MIRROR_POLICY_MAX 33 /* a policy hash */

/* Where the follower stands (kv table). */
struct mirror_state {
	char hub[MIRROR_HUB_MAX]; /* "" before the first snapshot */
	long long cursor;         /* the hub's change log position mirrored */
	long long last_contact;   /* unix seconds of the last answer from a hub, 0 never */
	long long synced;         /* unix seconds of the last answer that left nothing pending */
	char hub_url[256];        /* the hub that answered last */
	char policy_hash[MIRROR_POLICY_MAX];
	long long policy_cursor; /* the cursor of the snapshot that brought the policy */
};

/* Replaces everything with SNAP (the feed's snapshot: hub, cursor, users, groups, members, ids,
 * policy, policy_hash) in one write transaction. 0 or -1 (logged; nothing changed). */
int store_mirror_snapshot(struct store *st, const json_t *snap);
/* Applies CHANGES (the feed's array) and moves the cursor to CURSOR in one write transaction.
 * *IDS_CHANGED says whether allocations arrived. 0 or -1 (logged; nothing changed). */
int store_mirror_changes(struct store *st, const json_t *changes, long long cursor, bool *ids_changed);
/* Records an answer from URL now; CAUGHT_UP when it left nothing pending at the hub. 0 or -1. */
int store_mirror_contact(struct store *st, const char *url, long long now, bool caught_up);
/* Reads the state; fields stay empty/0 when unknown. 0 or -1. */
int store_mirror_state(struct store *st, struct mirror_state *out);
/* The same through a plain (read-only) connection, for entra-sync; POLICY (may be NULL)
 * receives the stored policy or NULL. 0 (all empty when DB is no follower's) or -1. */
int store_mirror_peek(sqlite3 *db, struct mirror_state *out, json_t **policy);
/* The stored policy (JSON), a new reference, or NULL when none was mirrored yet. */
json_t *store_mirror_policy(struct store *st);
/* A counter bumped whenever a snapshot replaced the allocations (the publisher reloads them
 * then; those a batch of changes adds reach it through the change log). 0 or -1. */
int store_mirror_ids_generation(sqlite3 *db, long long *gen);

#endif
