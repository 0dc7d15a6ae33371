/* The hub's policy as followers receive it: everything that decides who gets which account,
 * name and id ([accounts] name_format, uid_min, uid_max, home, shell; [role], [ou], [rule]). */
#ifndef SYNC_FEED_POLICY_H
#define SYNC_FEED_POLICY_H

#include <jansson.h>

#include "common/config.h"

#define FEED_POLICY_HASH_LEN 16 /* hex digits */

/* A new JSON object, or NULL when out of memory. */
json_t *feed_policy_json(const struct entra_config *cfg);
/* The first FEED_POLICY_HASH_LEN hex digits of SHA-256 over the canonical (sorted, compact)
 * POLICY. -1 when out of memory. */
int feed_policy_hash(const json_t *policy, char out[FEED_POLICY_HASH_LEN + 1]);

#endif
