/* The hub's change feed for followers (DESIGN.md decision 7), on the SCIM listener beside
 * /scim/v2, for follower tokens only:
 *
 *   GET /feed/v1/snapshot   200 {"hub","cursor","policy","policy_hash","users","groups",
 *                           "members","ids"}: the directory, the uid/gid allocations and the
 *                           policy, read in one transaction. Short-lived cache, ETag.
 *   GET /feed/v1/changes?hub=H&after=C&wait=S
 *                           200 {"hub","cursor","more","policy_hash","changes":[...]}: the log
 *                           after C in order, each changed row with its current state. Nothing
 *                           after C: the request is held (suspended, no thread) until a change
 *                           or S seconds (at most 60), then "changes":[] and the cursor
 *                           unchanged. A non-empty answer is immutable (cacheable by a proxy),
 *                           an empty one no-store. 410 {"error":"resnapshot"} when H is not
 *                           this hub, or C is older than the log still holds or beyond it.
 *   GET /feed/v1/auth       204 (for nginx auth_request).
 *
 * A waiting follower costs one small record here besides its connection; followers asking for
 * a snapshot while nothing changed share one answer in memory. */
#ifndef SYNC_FEED_H
#define SYNC_FEED_H

#include "common/config.h"
#include "sync/http/http_route.h"

#define FEED_PREFIX           "/feed/v1/"
#define FEED_WAIT_MAX_S       60
#define FEED_CHANGES_LIMIT    5000 /* log entries per answer */
#define FEED_SNAPSHOT_MAX_AGE 5    /* seconds a proxy may serve one snapshot */

struct feed;

/* Opens its own connection to cfg->state_db (after the SCIM store migrated it), makes sure the
 * hub id exists and allocations are logged, and starts the thread that wakes waiting followers.
 * MAX_WAITING bounds the requests held at once (more get 503 with Retry-After). NULL (logged). */
struct feed *feed_open(const struct entra_config *cfg, unsigned max_waiting);
/* The route to give http_server_start; valid until feed_close. */
const struct http_route *feed_route(struct feed *f);
/* A committed write: wake the waiting followers now (never blocks on I/O). */
void feed_notify(struct feed *f);
/* SIGHUP: the policy followers get is CFG's from now on (CFG must outlive the feed or the next
 * reload); waiting followers are answered so they see the new policy hash. */
void feed_reload(struct feed *f, const struct entra_config *cfg);
/* Answers every waiting request and holds no more: call before http_server_stop. */
void feed_shutdown(struct feed *f);
/* After http_server_stop. */
void feed_close(struct feed *f);

#endif
