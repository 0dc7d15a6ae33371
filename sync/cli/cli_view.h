/* A read-only view of the provisioned directory as this host's AUP sees it, for the CLI verbs
 * that explain accounts (`rules`, `status`). Never allocates ids or writes state.db. */
#ifndef SYNC_CLI_VIEW_H
#define SYNC_CLI_VIEW_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>

#include "common/config.h"
#include "sync/rules/accounts.h"
#include "sync/rules/idalloc.h"
#include "sync/rules/names.h"
#include "sync/store/directory.h"

struct cli_view {
	sqlite3 *db;
	struct directory dir;
	struct names_local local;
	struct idalloc ids;
	struct accounts acc;
	int loaded; /* how many of the above are initialised */
};

/* 0, or -1 with the reason and the fix on stderr. */
int cli_view_load(const struct entra_config *cfg, struct cli_view *v);
void cli_view_free(struct cli_view *v);

/* Users and groups refused here (name or id problems) and rule groups whose display name is
 * ambiguous. Text: one "note:" line each to OUT (at most LIMIT users); returns their number. */
size_t cli_view_print_findings(const struct cli_view *v, FILE *out, size_t limit);
/* The same findings as a JSON object {"refused_users": [...], "refused_groups": [...],
 * "ambiguous_groups": [...]}. */
json_t *cli_view_findings_json(const struct cli_view *v);
void cli_view_group_describe(const struct dir_group *g, FILE *out);

#endif
