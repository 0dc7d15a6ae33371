/* Evaluates AUP rules over the directory and publishes cache.db, debounced. */
#ifndef SYNC_PUBLISHER_H
#define SYNC_PUBLISHER_H

#include "common/config.h"

struct publisher;

/* Starts the publisher thread for CFG (not owned; see publisher_reload). Opens its own
 * connection to cfg->state_db. Publishes once at start. NULL on error (logged). */
struct publisher *publisher_start(const struct entra_config *cfg);
/* Called after every committed SCIM write; never blocks on a publish. At most one publish
 * per cfg->publish_interval_ms under a burst. */
void publisher_notify(struct publisher *p);
/* Swaps in a re-read config (SIGHUP) and re-evaluates every account. The caller keeps the
 * old config alive until this returns. */
void publisher_reload(struct publisher *p, const struct entra_config *cfg);
/* Publishes now if anything is pending and waits for it (tests, shutdown). */
void publisher_flush(struct publisher *p);
void publisher_stop(struct publisher *p);

#endif
