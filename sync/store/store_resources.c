/* state.db: SCIM users and groups as rows, and group memberships as a set. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/casefold.h"
#include "common/ssh_key.h"
#include "sync/store/store_internal.h"

/* Indexed columns taken from a resource, plus its JSON text. */
struct columns {
	const char *user_name;
	const char *external_id;
	const char *display_name;
	int active;
	char *json;
	char *user_key, *display_key; /* folded names (casefold.h): uniqueness and look-ups */
	char *ssh_keys;               /* users: sshPublicKey of the entra-login extension, one per line */
};

static const json_t *get_ci(const json_t *obj, const char *key)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v) {
		if (strcasecmp(k, key) == 0)
			return v;
	}
	return NULL;
}

static const char *string_ci(const json_t *obj, const char *key)
{
	const json_t *v = get_ci(obj, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Entra sometimes sends booleans as strings; anything but false/"false" counts as active. */
static int active_of(const json_t *res)
{
	const json_t *v = get_ci(res, "active");
	if (json_is_false(v))
		return 0;
	if (json_is_string(v) && strcasecmp(json_string_value(v), "false") == 0)
		return 0;
	return 1;
}

/* Groups keep their members in the members table, never in the JSON. */
static char *dump_stored(enum scim_resource_type type, const json_t *res)
{
	json_t *copy = json_copy((json_t *)res);
	const char *k;
	json_t *v;
	void *tmp;
	char *text;
	if (!copy)
		return NULL;
	json_object_foreach_safe(copy, tmp, k, v) {
		if (strcasecmp(k, "id") == 0 || strcasecmp(k, "meta") == 0 ||
		    (type == SCIM_GROUP && strcasecmp(k, "members") == 0))
			json_object_del(copy, k);
	}
	text = json_dumps(copy, JSON_COMPACT);
	json_decref(copy);
	return text;
}

/* The user's SSH public keys as one text, a line each: the string as sent, or the strings of an
 * array joined with newlines (SCIM validated both, sync/scim/scim_ssh_keys.c). NULL for none. */
static char *ssh_keys_of(const json_t *res, bool *oom)
{
	const json_t *v = get_ci(get_ci(res, ENTRA_SCIM_SCHEMA_LOGIN), ENTRA_SSH_KEY_ATTR), *e;
	size_t i, len = 0;
	if (json_is_string(v)) {
		char *s = strdup(json_string_value(v));
		*oom = !s;
		return s;
	}
	json_array_foreach(v, i, e) {
		len += json_is_string(e) ? json_string_length(e) + 1 : 0;
	}
	char *text = len ? malloc(len) : NULL, *p = text;
	*oom = len && !text;
	json_array_foreach(v, i, e) {
		if (text && json_is_string(e))
			p += sprintf(p, "%s%s", p > text ? "\n" : "", json_string_value(e));
	}
	return text;
}

static void columns_free(struct columns *c)
{
	free(c->ssh_keys);
	free(c->json);
	free(c->user_key);
	free(c->display_key);
	memset(c, 0, sizeof(*c));
}

static int columns_from(enum scim_resource_type type, const json_t *res, struct columns *c)
{
	memset(c, 0, sizeof(*c));
	if (!json_is_object(res))
		return STORE_INVALID;
	c->user_name = string_ci(res, "userName");
	c->external_id = string_ci(res, "externalId");
	c->display_name = string_ci(res, "displayName");
	c->active = active_of(res);
	if ((type == SCIM_USER && !c->user_name) || (type == SCIM_GROUP && !c->display_name))
		return STORE_INVALID;
	c->json = dump_stored(type, res);
	c->user_key = casefold_dup(c->user_name);
	c->display_key = casefold_dup(c->display_name);
	bool oom = false;
	c->ssh_keys = type == SCIM_USER ? ssh_keys_of(res, &oom) : NULL;
	if (oom || !c->json || (c->user_name && !c->user_key) || (c->display_name && !c->display_key)) {
		columns_free(c);
		return STORE_ERROR;
	}
	return STORE_OK;
}

static void bind_columns(sqlite3_stmt *s, enum scim_resource_type type, const char *id, const struct columns *c,
                         const char *now)
{
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, c->user_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, c->external_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, c->display_name, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 5, c->active);
	sqlite3_bind_text(s, 6, c->json, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, c->user_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 9, c->display_key, -1, SQLITE_STATIC);
	if (type == SCIM_USER)
		sqlite3_bind_text(s, 10, c->ssh_keys, -1, SQLITE_STATIC);
}

/* Runs an insert or update of RES; a UNIQUE violation on the name is a conflict. */
static int write_row(struct store *st, enum store_stmt id_stmt, enum scim_resource_type type, const char *id,
                     const json_t *res, const char *now)
{
	struct columns c;
	int ret = columns_from(type, res, &c);
	if (ret != STORE_OK)
		return ret;
	sqlite3_stmt *s = store_stmt(st, id_stmt);
	bind_columns(s, type, id, &c, now);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		ret = sqlite3_changes(st->db) > 0 ? STORE_OK : STORE_NOT_FOUND;
	else if (sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_UNIQUE)
		ret = STORE_CONFLICT;
	else
		ret = store_fail(st, "write resource");
	store_release(s);
	columns_free(&c);
	return ret;
}

int store_insert(struct store *st, enum scim_resource_type type, const char *id, const json_t *res, const char *now)
{
	return write_row(st, type == SCIM_USER ? S_U_INSERT : S_G_INSERT, type, id, res, now);
}

int store_update(struct store *st, enum scim_resource_type type, const char *id, const json_t *res, const char *now)
{
	return write_row(st, type == SCIM_USER ? S_U_UPDATE : S_G_UPDATE, type, id, res, now);
}

static int step_changes(struct store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);
	int ret = rc != SQLITE_DONE ? store_fail(st, what) : sqlite3_changes(st->db) > 0 ? STORE_OK : STORE_NOT_FOUND;
	store_release(s);
	return ret;
}

int store_touch(struct store *st, enum scim_resource_type type, const char *id, const char *now)
{
	sqlite3_stmt *s = store_stmt(st, type == SCIM_USER ? S_U_TOUCH : S_G_TOUCH);
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, now, -1, SQLITE_STATIC);
	return step_changes(st, s, "update lastModified");
}

int store_delete(struct store *st, enum scim_resource_type type, const char *id)
{
	sqlite3_stmt *s = store_stmt(st, type == SCIM_USER ? S_U_DELETE : S_G_DELETE);
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	return step_changes(st, s, "delete resource");
}

int store_count(struct store *st, enum scim_resource_type type, long long *n)
{
	sqlite3_stmt *s = store_stmt(st, type == SCIM_USER ? S_U_COUNT : S_G_COUNT);
	int ret = STORE_OK;
	if (sqlite3_step(s) == SQLITE_ROW)
		*n = sqlite3_column_int64(s, 0);
	else
		ret = store_fail(st, "count resources");
	store_release(s);
	return ret;
}

void store_record_clear(struct store_record *rec)
{
	json_decref(rec->resource);
	memset(rec, 0, sizeof(*rec));
}

static int record_from_row(struct store *st, sqlite3_stmt *s, struct store_record *rec)
{
	json_error_t jerr;
	const char *json = (const char *)sqlite3_column_text(s, 1);
	memset(rec, 0, sizeof(*rec));
	snprintf(rec->id, sizeof(rec->id), "%s", (const char *)sqlite3_column_text(s, 0));
	snprintf(rec->created, sizeof(rec->created), "%s", (const char *)sqlite3_column_text(s, 2));
	snprintf(rec->last_modified, sizeof(rec->last_modified), "%s", (const char *)sqlite3_column_text(s, 3));
	rec->version = sqlite3_column_int64(s, 4);
	rec->resource = json ? json_loads(json, 0, &jerr) : NULL;
	if (!json_is_object(rec->resource)) {
		entra_log(&store_logger, LOG_ERR, "state.db %s: resource %s has unreadable JSON (%s); restore a backup",
		          st->path, rec->id, json ? jerr.text : "NULL");
		store_record_clear(rec);
		return STORE_ERROR;
	}
	return STORE_OK;
}

static const int scan_stmts[2][5] = {
    [SCIM_USER] = {S_U_ALL, S_U_BY_ID, S_U_BY_USER_NAME, S_U_BY_EXTERNAL_ID, S_U_BY_DISPLAY_NAME},
    [SCIM_GROUP] = {S_G_ALL, S_G_BY_ID, -1, S_G_BY_EXTERNAL_ID, S_G_BY_DISPLAY_NAME},
};

bool store_has_lookup(enum scim_resource_type type, enum store_lookup by)
{
	return scan_stmts[type][by] >= 0;
}

int store_scan(struct store *st, enum scim_resource_type type, enum store_lookup by, const char *value, long long limit,
               long long offset, store_record_fn fn, void *arg)
{
	struct store_record rec;
	int rc, ret = STORE_OK;
	if (!store_has_lookup(type, by))
		return STORE_ERROR;
	/* names are looked up by their folded key column */
	char *key = by == STORE_BY_USER_NAME || by == STORE_BY_DISPLAY_NAME ? casefold_dup(value) : NULL;
	if (value && (by == STORE_BY_USER_NAME || by == STORE_BY_DISPLAY_NAME) && !key)
		return STORE_ERROR;
	sqlite3_stmt *s = store_stmt(st, (enum store_stmt)scan_stmts[type][by]);
	if (by != STORE_ALL)
		sqlite3_bind_text(s, 1, key ? key : value, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, limit);
	sqlite3_bind_int64(s, 3, offset < 0 ? 0 : offset);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((ret = record_from_row(st, s, &rec)) != STORE_OK)
			break;
		int more = fn(&rec, arg);
		store_record_clear(&rec);
		if (more != 0) {
			ret = more < 0 ? -1 : STORE_OK;
			break;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = store_fail(st, "read resources");
	store_release(s);
	free(key);
	return ret;
}

static int keep_first(struct store_record *rec, void *arg)
{
	struct store_record *out = arg;
	*out = *rec;
	rec->resource = NULL; /* stolen */
	return 1;
}

int store_get(struct store *st, enum scim_resource_type type, const char *id, struct store_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	int ret = store_scan(st, type, STORE_BY_ID, id, 1, 0, keep_first, rec);
	if (ret != STORE_OK)
		return ret;
	return rec->resource ? STORE_OK : STORE_NOT_FOUND;
}

int store_members_each(struct store *st, const char *group_id, store_member_fn fn, void *arg)
{
	sqlite3_stmt *s = store_stmt(st, S_M_EACH);
	int rc, ret = STORE_OK;
	sqlite3_bind_text(s, 1, group_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (fn((const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1), arg) < 0) {
			ret = -1;
			break;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = store_fail(st, "read members");
	store_release(s);
	return ret;
}

static int step_simple(struct store *st, enum store_stmt id, const char *group_id, const char *what, int *changes)
{
	sqlite3_stmt *s = store_stmt(st, id);
	if (group_id)
		sqlite3_bind_text(s, 1, group_id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	store_release(s);
	if (rc != SQLITE_DONE)
		return store_fail(st, what);
	if (changes)
		*changes += sqlite3_changes(st->db);
	return STORE_OK;
}

/* Loads the wanted ids into temp.member_set, then deletes what is gone and inserts what is new:
 * O(n log n) however many members, and unchanged rows are never touched. */
int store_members_replace(struct store *st, const char *group_id, const char *const *user_ids, size_t n, bool *changed)
{
	int changes = 0;
	if (step_simple(st, S_M_SET_CLEAR, NULL, "clear member set", NULL) != STORE_OK)
		return STORE_ERROR;
	sqlite3_stmt *add = store_stmt(st, S_M_SET_ADD);
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_text(add, 1, user_ids[i], -1, SQLITE_STATIC);
		int rc = sqlite3_step(add);
		sqlite3_reset(add);
		if (rc != SQLITE_DONE) {
			store_release(add);
			return store_fail(st, "build member set");
		}
	}
	store_release(add);
	if (step_simple(st, S_M_DELETE_GONE, group_id, "remove members", &changes) != STORE_OK ||
	    step_simple(st, S_M_INSERT_NEW, group_id, "add members", &changes) != STORE_OK ||
	    step_simple(st, S_M_SET_CLEAR, NULL, "clear member set", NULL) != STORE_OK)
		return STORE_ERROR;
	if (changed)
		*changed = changes > 0;
	return STORE_OK;
}

static void bind_pair(sqlite3_stmt *s, const char *group_id, const char *user_id)
{
	sqlite3_bind_text(s, 1, group_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, user_id, -1, SQLITE_STATIC);
}

int store_member_has(struct store *st, const char *group_id, const char *user_id, bool *has)
{
	sqlite3_stmt *s = store_stmt(st, S_M_HAS);
	bind_pair(s, group_id, user_id);
	int rc = sqlite3_step(s);
	store_release(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(st, "read a membership");
	*has = rc == SQLITE_ROW;
	return STORE_OK;
}

int store_member_set(struct store *st, const char *group_id, const char *user_id, bool present)
{
	sqlite3_stmt *s = store_stmt(st, present ? S_M_ADD_ONE : S_M_DELETE_ONE);
	bind_pair(s, group_id, user_id);
	int rc = sqlite3_step(s);
	store_release(s);
	return rc == SQLITE_DONE ? STORE_OK : store_fail(st, present ? "add a member" : "remove a member");
}
