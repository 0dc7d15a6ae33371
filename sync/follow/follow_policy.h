/* A follower's configuration: its own file (hub, host, paths) with the hub's policy in place of
 * [accounts] name_format, uid_min, uid_max, home, shell and the [role], [ou] and [rule] sections. */
#ifndef SYNC_FOLLOW_POLICY_H
#define SYNC_FOLLOW_POLICY_H

#include <jansson.h>
#include <stddef.h>

#include "common/config.h"

/* Sets POLICY (the feed's JSON) into CFG, which has none of its own, and validates the result.
 * 0, or -1 with the reason in ERR (CFG then keeps what was set so far: free it). */
int follow_policy_apply(const json_t *policy, struct entra_config *cfg, char *err, size_t errlen);
/* Loads PATH and applies POLICY (NULL: none yet, no accounts). A new config or NULL (ERR). */
struct entra_config *follow_config_build(const char *path, const json_t *policy, char *err, size_t errlen);
void follow_config_free(struct entra_config *cfg);

#endif
