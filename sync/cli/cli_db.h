/* Read-only database access and output helpers for the entra-sync verbs. The CLI never writes
 * state.db or cache.db: it opens them read-only, so it is safe while entra-syncd runs. */
#ifndef SYNC_CLI_DB_H
#define SYNC_CLI_DB_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>

#include "common/config.h"

/* state.db read-only, schema version checked. NULL with the reason (and what to do) on stderr. */
sqlite3 *cli_state_open(const struct entra_config *cfg);
/* cache.db read-only; NULL when it does not exist yet (quietly) or cannot be read (warning). */
sqlite3 *cli_cache_open(const struct entra_config *cfg);
/* "2026-01-31T12:00:00Z", or "never" for 0. */
void cli_format_time(long long unix_time, char *out, size_t len);
/* Prints V (stolen) as indented JSON on stdout; 0 ok, 1 on failure. */
int cli_print_json(json_t *v);
/* Column text or NULL. */
const char *cli_column_text(sqlite3_stmt *stmt, int col);
/* Pads S with spaces to WIDTH display columns (UTF-8 aware) on stdout. */
void cli_print_cell(const char *s, int width);

#endif
