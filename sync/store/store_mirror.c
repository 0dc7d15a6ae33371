/* A follower's mirror of its hub in state.db (sync/store/store_mirror.h). */
#include "sync/store/store_mirror.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/casefold.h"
#include "common/log.h"
#include "sync/store/store_internal.h"

static const struct entra_logger logger = {"entra-syncd", LOG_DAEMON, true, false};

#define K_HUB         "follow_hub"
#define K_CURSOR      "follow_cursor"
#define K_CONTACT     "follow_contact"
#define K_URL         "follow_hub_url"
#define K_POLICY      "follow_policy"
#define K_POLICY_HASH "follow_policy_hash"
#define K_POLICY_AT   "follow_policy_cursor"
#define K_IDS_GEN     "follow_ids_generation"
#define K_SYNCED      "follow_synced"

enum mirror_stmt {
	M_USER_UNKEY,
	M_USER_UPSERT,
	M_GROUP_UPSERT,
	M_USER_DELETE,
	M_GROUP_DELETE,
	M_MEMBER_ADD,
	M_MEMBER_DELETE,
	M_ID_PUT,
	M_KV_SET,
	M_COUNT
};

static const char *const mirror_sql[M_COUNT] = {
    /* another row holding the folded name keeps NULL until its own new name arrives in the batch */
    [M_USER_UNKEY] = "UPDATE users SET user_key = NULL WHERE user_key = ?1 AND id <> ?2",
    [M_USER_UPSERT] =
        "INSERT INTO users(id, user_name, external_id, display_name, active, json, created,"
        " last_modified, version, user_key, display_key, ssh_keys) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7,"
        " ?8, ?9, ?10, ?11, ?12) ON CONFLICT(id) DO UPDATE SET user_name = excluded.user_name, external_id ="
        " excluded.external_id, display_name = excluded.display_name, active = excluded.active,"
        " json = excluded.json, created = excluded.created, last_modified = excluded.last_modified,"
        " version = excluded.version, user_key = excluded.user_key, display_key ="
        " excluded.display_key, ssh_keys = excluded.ssh_keys",
    [M_GROUP_UPSERT] = "INSERT INTO groups(id, display_name, external_id, json, created, last_modified, version,"
                       " display_key) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(id) DO UPDATE SET"
                       " display_name = excluded.display_name, external_id = excluded.external_id, json ="
                       " excluded.json, created = excluded.created, last_modified = excluded.last_modified,"
                       " version = excluded.version, display_key = excluded.display_key",
    [M_USER_DELETE] = "DELETE FROM users WHERE id = ?1",
    [M_GROUP_DELETE] = "DELETE FROM groups WHERE id = ?1",
    [M_MEMBER_ADD] = ("INSERT OR IGNORE INTO members(group_id, user_id) SELECT ?1, ?2 WHERE EXISTS(SELECT 1 FROM"
                      " groups WHERE id = ?1) AND EXISTS(SELECT 1 FROM users WHERE id = ?2)"),
    [M_MEMBER_DELETE] = "DELETE FROM members WHERE group_id = ?1 AND user_id = ?2",
    [M_ID_PUT] = "INSERT OR REPLACE INTO unix_ids(id, key, allocated_at) VALUES(?1, ?2, strftime('%s', 'now'))",
    [M_KV_SET] = "INSERT INTO kv(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
};

struct batch {
	sqlite3 *db;
	sqlite3_stmt *s[M_COUNT];
	bool ids;
};

static int batch_fail(sqlite3 *db, const char *what)
{
	entra_log(&logger, LOG_ERR,
	          "follower: cannot %s in state.db: %s; the previous mirror stays (check disk space; a persistent "
	          "error: stop entra-syncd, remove state.db, start it again for a fresh snapshot)",
	          what, sqlite3_errmsg(db));
	return -1;
}

static void batch_end(struct batch *b)
{
	for (int i = 0; i < M_COUNT; i++)
		sqlite3_finalize(b->s[i]);
}

/* BEGIN IMMEDIATE and every statement prepared. */
static int batch_begin(struct batch *b, sqlite3 *db)
{
	memset(b, 0, sizeof(*b));
	b->db = db;
	for (int i = 0; i < M_COUNT; i++)
		if (sqlite3_prepare_v2(db, mirror_sql[i], -1, &b->s[i], NULL) != SQLITE_OK) {
			batch_fail(db, "prepare the mirror's statements");
			batch_end(b);
			return -1;
		}
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		batch_end(b);
		return batch_fail(db, "begin a write");
	}
	return 0;
}

static int batch_finish(struct batch *b, int rc, const char *what)
{
	if (rc == 0 && sqlite3_exec(b->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = -1;
	if (rc != 0) {
		batch_fail(b->db, what);
		sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
	}
	batch_end(b);
	return rc;
}

static int run(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void bind_str(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

/* The Unicode simple case folding of V bound at I (NULL stays NULL). -1 out of memory. */
static int bind_folded(sqlite3_stmt *s, int i, const char *v)
{
	if (!v) {
		sqlite3_bind_null(s, i);
		return 0;
	}
	size_t n = strlen(v);
	char *out = malloc(CASEFOLD_MAX_LEN(n));
	if (!out)
		return -1;
	size_t len = casefold_utf8(v, n, out);
	sqlite3_bind_text(s, i, out, (int)len, SQLITE_TRANSIENT);
	free(out);
	return 0;
}

static int user_put(struct batch *b, const json_t *row)
{
	const char *id = str(row, "id"), *name = str(row, "userName"), *json = str(row, "json");
	if (!id || !name || !json)
		return -1;
	sqlite3_stmt *k = b->s[M_USER_UNKEY], *u = b->s[M_USER_UPSERT];
	if (bind_folded(k, 1, name) != 0)
		return -1;
	bind_str(k, 2, id);
	if (run(k) != 0)
		return -1;
	bind_str(u, 1, id);
	bind_str(u, 2, name);
	bind_str(u, 3, str(row, "externalId"));
	bind_str(u, 4, str(row, "displayName"));
	sqlite3_bind_int(u, 5, json_is_true(json_object_get(row, "active")));
	bind_str(u, 6, json);
	bind_str(u, 7, str(row, "created") ? str(row, "created") : "");
	bind_str(u, 8, str(row, "lastModified") ? str(row, "lastModified") : "");
	sqlite3_bind_int64(u, 9, json_integer_value(json_object_get(row, "version")));
	bind_str(u, 12, str(row, "sshKeys")); /* the hub's keys column: the user's JSON does not hold them */
	if (bind_folded(u, 10, name) != 0 || bind_folded(u, 11, str(row, "displayName")) != 0)
		return -1;
	return run(u);
}

static int group_put(struct batch *b, const json_t *row)
{
	const char *id = str(row, "id"), *name = str(row, "displayName"), *json = str(row, "json");
	sqlite3_stmt *g = b->s[M_GROUP_UPSERT];
	if (!id || !name || !json)
		return -1;
	bind_str(g, 1, id);
	bind_str(g, 2, name);
	bind_str(g, 3, str(row, "externalId"));
	bind_str(g, 4, json);
	bind_str(g, 5, str(row, "created") ? str(row, "created") : "");
	bind_str(g, 6, str(row, "lastModified") ? str(row, "lastModified") : "");
	sqlite3_bind_int64(g, 7, json_integer_value(json_object_get(row, "version")));
	if (bind_folded(g, 8, name) != 0)
		return -1;
	return run(g);
}

static int pair_run(sqlite3_stmt *s, const char *a, const char *c)
{
	if (!a || !c)
		return -1;
	bind_str(s, 1, a);
	bind_str(s, 2, c);
	return run(s);
}

static int row_delete(sqlite3_stmt *s, const char *id)
{
	if (!id)
		return -1;
	bind_str(s, 1, id);
	return run(s);
}

static int id_put(struct batch *b, const char *key, json_int_t id)
{
	if (!key || id <= 0 || id > 0xffffffffLL)
		return -1;
	sqlite3_bind_int64(b->s[M_ID_PUT], 1, id);
	bind_str(b->s[M_ID_PUT], 2, key);
	b->ids = true;
	return run(b->s[M_ID_PUT]);
}

static int kv_put(struct batch *b, const char *key, const char *value)
{
	return pair_run(b->s[M_KV_SET], key, value);
}

static int kv_put_int(struct batch *b, const char *key, long long value)
{
	char text[32];
	snprintf(text, sizeof(text), "%lld", value);
	return kv_put(b, key, text);
}

static int kv_int(struct store *st, const char *key, long long *out)
{
	char text[32];
	int rc = store_kv_get(st, key, text, sizeof(text));
	*out = rc == STORE_OK ? strtoll(text, NULL, 10) : 0;
	return rc == STORE_ERROR ? -1 : 0;
}

/* Bumps the allocations counter inside the batch. */
static int ids_generation_bump(struct batch *b, struct store *st)
{
	long long gen = 0;
	return kv_int(st, K_IDS_GEN, &gen) == 0 ? kv_put_int(b, K_IDS_GEN, gen + 1) : -1;
}

static int snapshot_rows(struct batch *b, const json_t *snap)
{
	size_t i;
	const json_t *v;
	const json_t *users = json_object_get(snap, "users"), *groups = json_object_get(snap, "groups");
	const json_t *members = json_object_get(snap, "members"), *ids = json_object_get(snap, "ids");
	for (i = 0; i < json_array_size(users); i++)
		if (user_put(b, json_array_get(users, i)))
			return -1;
	for (i = 0; i < json_array_size(groups); i++)
		if (group_put(b, json_array_get(groups, i)))
			return -1;
	for (i = 0; i < json_array_size(members); i++) {
		v = json_array_get(members, i);
		if (pair_run(b->s[M_MEMBER_ADD], json_string_value(json_array_get(v, 0)),
		             json_string_value(json_array_get(v, 1))))
			return -1;
	}
	for (i = 0; i < json_array_size(ids); i++) {
		v = json_array_get(ids, i);
		if (id_put(b, json_string_value(json_array_get(v, 0)), json_integer_value(json_array_get(v, 1))))
			return -1;
	}
	return 0;
}

static int snapshot_state(struct batch *b, struct store *st, const json_t *snap)
{
	char *policy = json_dumps(json_object_get(snap, "policy"), JSON_COMPACT);
	const char *hub = str(snap, "hub"), *hash = str(snap, "policy_hash");
	long long cursor = json_integer_value(json_object_get(snap, "cursor"));
	int rc = !policy || !hub || !hash || kv_put(b, K_HUB, hub) || kv_put_int(b, K_CURSOR, cursor) ||
	                 kv_put(b, K_POLICY, policy) || kv_put(b, K_POLICY_HASH, hash) ||
	                 kv_put_int(b, K_POLICY_AT, cursor) || ids_generation_bump(b, st)
	             ? -1
	             : 0;
	free(policy);
	return rc;
}

int store_mirror_snapshot(struct store *st, const json_t *snap)
{
	struct batch b;
	if (!json_is_object(json_object_get(snap, "policy")) || !json_is_array(json_object_get(snap, "users")))
		return entra_log(&logger, LOG_ERR, "follower: the hub's snapshot is incomplete; retrying"), -1;
	if (batch_begin(&b, store_db(st)) != 0)
		return -1;
	/* the whole old directory goes and the new one comes in the same transaction */
	int rc = sqlite3_exec(b.db, "DELETE FROM members; DELETE FROM users; DELETE FROM groups; DELETE FROM unix_ids;",
	                      NULL, NULL, NULL) == SQLITE_OK
	             ? 0
	             : -1;
	if (rc == 0)
		rc = snapshot_rows(&b, snap);
	if (rc == 0)
		rc = snapshot_state(&b, st, snap);
	return batch_finish(&b, rc, "store the hub's snapshot");
}

/* Upserts first, then memberships (both ends exist by then), then deletions, then ids. */
static int change_pass(struct batch *b, const json_t *c, int pass)
{
	const char *kind = str(c, "kind");
	const json_t *row = json_object_get(c, "row");
	bool entity = kind && (!strcmp(kind, "user") || !strcmp(kind, "group"));
	bool user = kind && !strcmp(kind, "user");
	if (pass == 0 && entity && json_is_object(row))
		return user ? user_put(b, row) : group_put(b, row);
	if (pass == 1 && kind && !strcmp(kind, "member"))
		return pair_run(json_is_true(json_object_get(c, "present")) ? b->s[M_MEMBER_ADD]
		                                                            : b->s[M_MEMBER_DELETE],
		                str(c, "group"), str(c, "user"));
	if (pass == 2 && entity && json_is_null(row))
		return row_delete(b->s[user ? M_USER_DELETE : M_GROUP_DELETE], str(c, "id"));
	if (pass == 3 && kind && !strcmp(kind, "id"))
		return id_put(b, str(c, "key"), json_integer_value(json_object_get(c, "id")));
	return 0;
}

int store_mirror_changes(struct store *st, const json_t *changes, long long cursor, bool *ids_changed)
{
	struct batch b;
	size_t i;
	*ids_changed = false;
	if (batch_begin(&b, store_db(st)) != 0)
		return -1;
	int rc = 0;
	for (int pass = 0; pass < 4 && rc == 0; pass++)
		for (i = 0; i < json_array_size(changes) && rc == 0; i++)
			rc = change_pass(&b, json_array_get(changes, i), pass);
	/* The publisher takes these allocations from the change log (store_feed_install's trigger). */
	if (rc == 0)
		rc = kv_put_int(&b, K_CURSOR, cursor);
	*ids_changed = rc == 0 && b.ids;
	return batch_finish(&b, rc, "apply the hub's changes");
}

int store_mirror_contact(struct store *st, const char *url, long long now, bool caught_up)
{
	char text[32];
	snprintf(text, sizeof(text), "%lld", now);
	if (store_kv_set(st, K_CONTACT, text) != STORE_OK || store_kv_set(st, K_URL, url) != STORE_OK)
		return -1;
	return !caught_up || store_kv_set(st, K_SYNCED, text) == STORE_OK ? 0 : -1;
}

int store_mirror_state(struct store *st, struct mirror_state *out)
{
	memset(out, 0, sizeof(*out));
	if (store_kv_get(st, K_HUB, out->hub, sizeof(out->hub)) == STORE_ERROR ||
	    store_kv_get(st, K_URL, out->hub_url, sizeof(out->hub_url)) == STORE_ERROR ||
	    store_kv_get(st, K_POLICY_HASH, out->policy_hash, sizeof(out->policy_hash)) == STORE_ERROR)
		return -1;
	return kv_int(st, K_CURSOR, &out->cursor) || kv_int(st, K_CONTACT, &out->last_contact) ||
	               kv_int(st, K_POLICY_AT, &out->policy_cursor) || kv_int(st, K_SYNCED, &out->synced)
	           ? -1
	           : 0;
}

json_t *store_mirror_policy(struct store *st)
{
	sqlite3_stmt *s = store_stmt(st, S_KV_GET);
	json_t *policy = NULL;
	sqlite3_bind_text(s, 1, K_POLICY, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		policy = json_loads((const char *)sqlite3_column_text(s, 0), 0, NULL);
	store_release(s);
	return policy;
}

static void peek_text(sqlite3_stmt *s, const char *key, char *out, size_t outlen)
{
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_reset(s);
}

static long long peek_int(sqlite3_stmt *s, const char *key)
{
	char text[32] = "";
	peek_text(s, key, text, sizeof(text));
	return strtoll(text, NULL, 10);
}

int store_mirror_peek(sqlite3 *db, struct mirror_state *out, json_t **policy)
{
	sqlite3_stmt *s = NULL;
	memset(out, 0, sizeof(*out));
	if (policy)
		*policy = NULL;
	if (sqlite3_prepare_v2(db, "SELECT value FROM kv WHERE key = ?1", -1, &s, NULL) != SQLITE_OK)
		return -1;
	peek_text(s, K_HUB, out->hub, sizeof(out->hub));
	peek_text(s, K_URL, out->hub_url, sizeof(out->hub_url));
	peek_text(s, K_POLICY_HASH, out->policy_hash, sizeof(out->policy_hash));
	out->cursor = peek_int(s, K_CURSOR);
	out->last_contact = peek_int(s, K_CONTACT);
	out->synced = peek_int(s, K_SYNCED);
	out->policy_cursor = peek_int(s, K_POLICY_AT);
	sqlite3_bind_text(s, 1, K_POLICY, -1, SQLITE_STATIC);
	if (policy && sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		*policy = json_loads((const char *)sqlite3_column_text(s, 0), 0, NULL);
	sqlite3_finalize(s);
	return 0;
}

int store_mirror_ids_generation(sqlite3 *db, long long *gen)
{
	sqlite3_stmt *s = NULL;
	*gen = 0;
	int rc = sqlite3_prepare_v2(db, "SELECT value FROM kv WHERE key = '" K_IDS_GEN "'", -1, &s, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
		*gen = strtoll((const char *)sqlite3_column_text(s, 0), NULL, 10);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}
