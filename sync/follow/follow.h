/* Follower mode of entra-syncd (DESIGN.md decision 7): no SCIM; a thread takes the hub's
 * snapshot, then long-polls its change feed (sync/feed/feed.h) over HTTPS (httpc, libcurl),
 * mirrors everything into its own state.db (sync/store/store_mirror.h) and has the publisher
 * evaluate the hub's policy for this host and publish cache.db. Hubs are tried in the order of
 * [follow] hub; failures back off with full jitter (capped), so a fleet does not stampede a
 * restarted hub; cache.db stays as it is meanwhile. A 410 from the hub (another hub, a cursor it
 * no longer has) leads to a new snapshot, swapped in with one transaction. */
#ifndef SYNC_FOLLOW_H
#define SYNC_FOLLOW_H

#include <stddef.h>

#define FOLLOW_BACKOFF_BASE_MS 500
#define FOLLOW_BACKOFF_CAP_MS  60000
#define FOLLOW_SNAPSHOT_MAX    (1024UL * 1024 * 1024) /* bytes of one snapshot */
#define FOLLOW_CHANGES_MAX     (256UL * 1024 * 1024)  /* bytes of one changes answer */

struct follower;

/* Reads the follower's file PATH, opens state.db, publishes cache.db from what it mirrored
 * before (if anything) and starts following. NULL with the reason in ERR. */
struct follower *follower_start(const char *path, char *err, size_t errlen);
/* SIGHUP: re-reads PATH (host, paths, the token file); keeps the running one when it is bad. */
void follower_reload(struct follower *f);
/* Ends the long-poll in progress (within about a second), stops the thread and the publisher. */
void follower_stop(struct follower *f);

/* The full-jitter delay before attempt number FAILURES (1, 2, ...): uniform in
 * [0, min(cap, base * 2^(failures-1))] milliseconds, from RANDOM (uniform 32 bits). */
long follow_backoff_ms(unsigned failures, unsigned random);

#endif
