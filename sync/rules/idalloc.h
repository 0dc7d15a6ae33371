/* Stable uids/gids (DESIGN.md decision 4): derived from the Entra object id, stored in state.db
 * on first allocation, kept across renames, never reused. Users and groups share one set of used
 * ids, so a group's gid never equals any user's uid (the user's private group). New groups get
 * their gids from [accounts] gid_min..gid_max when it is set (apart from the uid range, so the
 * NSS module can tell a group's gid from a private group's without a look-up); groups allocated
 * in the uid range before it was set keep their gids. */
#ifndef SYNC_IDALLOC_H
#define SYNC_IDALLOC_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "sync/rules/names.h"
#include "sync/store/directory.h"

#define IDALLOC_KEY_MAX    300
#define IDALLOC_MAX_PROBES 4096

struct idalloc_entry {
	char *key;     /* "u:<object id>" or "g:<object id>", lowercase */
	uint64_t hash; /* of key */
	uint32_t id;
};

struct idalloc {
	uint32_t min, max;             /* users' uids (and groups' when gmin..gmax is the same range) */
	uint32_t gmin, gmax;           /* where new groups' gids come from */
	struct idalloc_entry *entries; /* in-range allocations, one per key */
	size_t n_entries, cap_entries;
	size_t *by_key; /* open-addressing index into entries (position + 1, 0 = empty slot) */
	size_t by_key_cap;
	uint32_t *used; /* open-addressing set of every allocated id (0 = empty slot) */
	size_t used_cap, used_count;
};

/* One object that needs an id: KEY in, ID out (0 when none could be allocated). */
struct idalloc_request {
	const char *key;
	uint32_t id;
};

/* Creates the allocation tables in state.db if missing. 0 or -1 (logged). */
int idalloc_init_schema(sqlite3 *db);
/* Loads every allocation (none when the tables do not exist yet), users and groups in one range
 * MIN..MAX. 0 or -1 (logged). */
int idalloc_load(sqlite3 *db, uint32_t min, uint32_t max, struct idalloc *out);
/* The same with the ranges of CFG: [accounts] uid_min..uid_max, and gid_min..gid_max for groups
 * when set. */
int idalloc_load_config(sqlite3 *db, const struct entra_config *cfg, struct idalloc *out);
/* Whether A was loaded for CFG's ranges. */
bool idalloc_ranges_are(const struct idalloc *a, const struct entra_config *cfg);
void idalloc_free(struct idalloc *a);
/* Adds one stored allocation, as idalloc_load would have (a key keeps its first id). 0, or -1
 * when out of memory. */
int idalloc_add(struct idalloc *a, const char *key, uint32_t id);
/* Writes the key of a user (KIND 'u') or group ('g') into OUT: the object id when EXTERNAL_ID is
 * a GUID, else the SCIM id. -1 when there is neither or it is too long. */
int idalloc_key(char kind, const char *external_id, const char *scim_id, char *out, size_t outlen);
/* True when S is a GUID (8-4-4-4-12 hex digits). */
bool idalloc_is_guid(const char *s);
/* The stored id of KEY, or 0. */
uint32_t idalloc_find(const struct idalloc *a, const char *key);
/* The candidate for KEY at probe number PROBE: SHA-256 of the key (and probe), mod the range of
 * KEY's kind. */
uint32_t idalloc_candidate(const struct idalloc *a, const char *key, unsigned probe);
/* Fills REQ[i].id from stored allocations and allocates the missing ones in one write
 * transaction on DB, in key order so the result is deterministic, skipping ids in use (also
 * local uids/gids of LOCAL, may be NULL). With DB NULL nothing is allocated (read-only callers).
 * 0, or -1 when the transaction failed (nothing new allocated; logged). */
int idalloc_assign(struct idalloc *a, sqlite3 *db, struct idalloc_request *req, size_t n,
                   const struct names_local *local);

#endif
