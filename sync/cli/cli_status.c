/* entra-sync status: what state.db holds and what cache.db last published, read-only. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/sql_scalar.h"
#include "sync/cli/cli.h"
#include "sync/cli/cli_db.h"
#include "sync/cli/cli_view.h"
#include "sync/store/store.h"
#include "sync/store/store_readonly.h"

struct status {
	long long users, active, groups, last_request;
	bool have_cache;
	long long generation, published_at, accounts;
};

static void read_cache(const struct entra_config *cfg, struct status *s)
{
	sqlite3 *db = cli_cache_open(cfg);
	if (!db)
		return;
	const char *meta = "SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?";
	s->have_cache = entra_sql_int64(db, meta, "generation", &s->generation) == 0 &&
	                entra_sql_int64(db, meta, "published_at", &s->published_at) == 0 &&
	                entra_sql_int64(db, "SELECT count(*) FROM passwd", NULL, &s->accounts) == 0;
	if (!s->have_cache)
		fprintf(stderr, "entra-sync: warning: cache_db %s is not a readable cache: %s\n", cfg->cache_db,
		        sqlite3_errmsg(db));
	sqlite3_close(db);
}

static int print_json(const struct entra_config *cfg, const struct status *s, const struct cli_view *view)
{
	char last[32], published[32];
	cli_format_time(s->last_request, last, sizeof(last));
	cli_format_time(s->published_at, published, sizeof(published));
	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:o, s:I, s:s, s:s}", "users", (json_int_t)s->users, "active_users",
	                      (json_int_t)s->active, "disabled_users", (json_int_t)(s->users - s->active), "groups",
	                      (json_int_t)s->groups, "last_request",
	                      s->last_request > 0 ? json_string(last) : json_null(), "last_request_unix",
	                      (json_int_t)s->last_request, "state_db", cfg->state_db, "cache_db", cfg->cache_db);
	if (o)
		json_object_set_new(o, "cache",
		                    s->have_cache
		                        ? json_pack("{s:I, s:s, s:I, s:I}", "generation", (json_int_t)s->generation,
		                                    "published_at", published, "published_at_unix",
		                                    (json_int_t)s->published_at, "accounts", (json_int_t)s->accounts)
		                        : json_null());
	if (o)
		json_object_set_new(o, "findings", view ? cli_view_findings_json(view) : json_null());
	if (o)
		json_object_set_new(o, "follow",
		                    entra_config_follower(cfg) ? cli_follow_status_json(cfg) : json_null());
	return cli_print_json(o);
}

static void print_text(const struct entra_config *cfg, const struct status *s, const struct cli_view *view)
{
	char last[32], published[32];
	cli_format_time(s->last_request, last, sizeof(last));
	cli_format_time(s->published_at, published, sizeof(published));
	printf("users:         %lld (%lld active, %lld disabled)\n", s->users, s->active, s->users - s->active);
	printf("groups:        %lld\n", s->groups);
	if (s->last_request > 0)
		printf("last request:  %s (%lld s ago)\n", last, (long long)time(NULL) - s->last_request);
	else
		printf("last request:  never\n");
	printf("state_db:      %s\n", cfg->state_db);
	if (entra_config_follower(cfg))
		cli_follow_status_text(cfg);
	if (s->have_cache)
		printf("cache_db:      %s (generation %lld, published %s, %lld accounts)\n", cfg->cache_db,
		       s->generation, published, s->accounts);
	else
		printf("cache_db:      %s (not published yet)\n", cfg->cache_db);
	if (!view)
		return;
	printf("this host:     %s: %zu accounts, %zu groups, %zu refused\n", cfg->host, view->acc.snap.n_accounts,
	       view->acc.snap.n_groups, view->acc.n_refused);
	if (cli_view_print_findings(view, stdout, 20))
		printf("               `entra-sync rules explain USER` tells why for one user\n");
}

int cli_status(struct cli_ctx *ctx, int argc, char **argv)
{
	struct status s;
	if (argc != 1) {
		fprintf(stderr, "usage: entra-sync [--json] status\n");
		return 2;
	}
	memset(&s, 0, sizeof(s));
	sqlite3 *db = cli_state_open(ctx->cfg);
	if (!db)
		return 1;
	struct store_summary sum = {0};
	int rc = store_readonly_summary(db, &sum) == STORE_OK ? 0 : -1;
	s.users = sum.users;
	s.active = sum.active_users;
	s.groups = sum.groups;
	s.last_request = sum.last_request;
	if (rc != 0)
		fprintf(stderr, "entra-sync: cannot read state_db %s: %s\n", ctx->cfg->state_db, sqlite3_errmsg(db));
	sqlite3_close(db);
	if (rc != 0)
		return 1;
	read_cache(ctx->cfg, &s);
	/* Refused names and ambiguous groups: what AUP decides for this host right now. */
	struct cli_view view;
	bool have_view = cli_view_load(ctx->cfg, &view) == 0;
	if (ctx->json)
		rc = print_json(ctx->cfg, &s, have_view ? &view : NULL);
	else
		print_text(ctx->cfg, &s, have_view ? &view : NULL);
	cli_view_free(&view);
	return rc;
}
