/* entra-sync users / groups: the SCIM resources in state.db next to the local account or
 * group cache.db publishes for them (none when AUP gives them no access to this host). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "sync/cli/cli.h"
#include "sync/cli/cli_db.h"
#include "sync/store/store.h"
#include "sync/store/store_readonly.h"

struct listing {
	const char *verb;
	enum scim_resource_type type; /* what state.db lists (store_readonly_list) */
	const char *int_key;          /* JSON key of that integer */
	const char *cache_sql;        /* ? = scim id; columns: local name, number */
	const char *local_key;        /* JSON key of the local name */
	const char *number_key;       /* JSON key of the number */
	const char *const *heads;     /* 6 column titles, in JSON key order */
};

static const char *const user_heads[] = {"ID", "USERNAME", "EXTERNALID", "ACTIVE", "LOCAL", "UID"};
static const char *const group_heads[] = {"ID", "DISPLAYNAME", "EXTERNALID", "MEMBERS", "LOCAL", "GID"};

static const struct listing users = {
    "users", SCIM_USER, "active", "SELECT name, uid FROM passwd WHERE scim_id = ?", "localName", "uid", user_heads,
};

static const struct listing groups = {
    "groups", SCIM_GROUP, "members", "SELECT name, gid FROM groups WHERE scim_id = ?", "localName", "gid", group_heads,
};

static json_t *text_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* Adds the local name and number from cache.db (nulls when there is none). */
static void add_local(const struct listing *l, sqlite3_stmt *cache, json_t *row, const char *id)
{
	json_t *name = json_null(), *number = json_null();
	if (cache) {
		sqlite3_reset(cache);
		if (sqlite3_bind_text(cache, 1, id, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
		    sqlite3_step(cache) == SQLITE_ROW) {
			json_decref(name);
			json_decref(number);
			name = text_or_null(cli_column_text(cache, 0));
			number = json_integer(sqlite3_column_int64(cache, 1));
		}
	}
	json_object_set_new(row, l->local_key, name);
	json_object_set_new(row, l->number_key, number);
}

/* What collect hands each state.db row: the listing, cache.db's statement, the rows so far. */
struct collecting {
	const struct listing *l;
	sqlite3_stmt *cache;
	json_t *rows;
};

static int add_row(const struct store_listing_row *r, void *arg)
{
	struct collecting *c = arg;
	const struct listing *l = c->l;
	json_t *row =
	    json_pack("{s:o, s:o, s:o}", "id", text_or_null(r->id), l->type == SCIM_USER ? "userName" : "displayName",
	              text_or_null(r->name), "externalId", text_or_null(r->external_id));
	if (!row)
		return 1;
	json_object_set_new(row, l->int_key,
	                    l->type == SCIM_USER ? json_boolean(r->number != 0) : json_integer(r->number));
	add_local(l, c->cache, row, r->id ? r->id : "");
	return json_array_append_new(c->rows, row) == 0 ? 0 : 1;
}

/* Reads every row into a JSON array; NULL on error (reported). */
static json_t *collect(const struct listing *l, sqlite3 *state, sqlite3 *cache_db)
{
	struct collecting c = {l, NULL, json_array()};
	char why[256] = "out of memory";
	if (cache_db && sqlite3_prepare_v2(cache_db, l->cache_sql, -1, &c.cache, NULL) != SQLITE_OK) {
		fprintf(stderr, "entra-sync: warning: cache_db is not readable (%s); local names left out\n",
		        sqlite3_errmsg(cache_db));
		c.cache = NULL;
	}
	if (!c.rows || store_readonly_list(state, l->type, add_row, &c, why, sizeof(why)) != STORE_OK) {
		fprintf(stderr, "entra-sync: cannot read %s from state_db: %s\n", l->verb, why);
		json_decref(c.rows);
		c.rows = NULL;
	}
	sqlite3_finalize(c.cache);
	return c.rows;
}

static void cell_text(json_t *v, char *out, size_t len)
{
	if (json_is_string(v))
		snprintf(out, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(out, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		snprintf(out, len, "%s", json_is_true(v) ? "yes" : "no");
	else
		snprintf(out, len, "-");
}

static int display_width(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static void print_table(const struct listing *l, json_t *rows)
{
	int width[6];
	char cell[512];
	size_t i;
	json_t *row;
	for (int c = 0; c < 6; c++)
		width[c] = display_width(l->heads[c]);
	json_array_foreach(rows, i, row) {
		int c = 0;
		const char *key;
		json_t *v;
		json_object_foreach(row, key, v) {
			cell_text(v, cell, sizeof(cell));
			if (c < 6 && display_width(cell) > width[c])
				width[c] = display_width(cell);
			c++;
		}
	}
	for (int c = 0; c < 6; c++)
		cli_print_cell(l->heads[c], c < 5 ? width[c] + 2 : 0);
	putchar('\n');
	json_array_foreach(rows, i, row) {
		int c = 0;
		const char *key;
		json_t *v;
		json_object_foreach(row, key, v) {
			cell_text(v, cell, sizeof(cell));
			cli_print_cell(cell, c < 5 ? width[c] + 2 : 0);
			c++;
		}
		putchar('\n');
	}
}

static int run(const struct listing *l, struct cli_ctx *ctx, int argc)
{
	if (argc != 1) {
		fprintf(stderr, "usage: entra-sync [--json] %s\n", l->verb);
		return 2;
	}
	sqlite3 *state = cli_state_open(ctx->cfg);
	if (!state)
		return 1;
	sqlite3 *cache = cli_cache_open(ctx->cfg);
	json_t *rows = collect(l, state, cache);
	sqlite3_close(cache);
	sqlite3_close(state);
	if (!rows)
		return 1;
	if (ctx->json)
		return cli_print_json(rows);
	print_table(l, rows);
	json_decref(rows);
	return 0;
}

int cli_users(struct cli_ctx *ctx, int argc, char **argv)
{
	return run(&users, ctx, argc);
}

int cli_groups(struct cli_ctx *ctx, int argc, char **argv)
{
	return run(&groups, ctx, argc);
}
