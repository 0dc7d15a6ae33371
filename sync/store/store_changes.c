/* state.db change log (sync/store/store_changes.h): triggers, reading, pruning. */
#include "sync/store/store_changes.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"

static const struct entra_logger logger = {"entra-syncd", LOG_DAEMON, true, false};

enum { KIND_USER = 1, KIND_GROUP = 2, KIND_MEMBER = 3, KIND_ID = 4 };

/* Constant SQL (no values): the table and one trigger per row event. An UPDATE logs the old id
 * too in case a writer ever changes a primary key. */
static const char install_sql[] =
    "CREATE TABLE IF NOT EXISTS publish_changes(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " kind INTEGER NOT NULL, id TEXT NOT NULL, other TEXT);"
    "CREATE TRIGGER IF NOT EXISTS publish_changes_user_ins AFTER INSERT ON users BEGIN"
    " INSERT INTO publish_changes(kind, id) VALUES(1, NEW.id); END;"
    "CREATE TRIGGER IF NOT EXISTS publish_changes_user_upd AFTER UPDATE ON users BEGIN"
    " INSERT INTO publish_changes(kind, id) VALUES(1, NEW.id);"
    " INSERT INTO publish_changes(kind, id) SELECT 1, OLD.id WHERE OLD.id IS NOT NEW.id; END;"
    "CREATE TRIGGER IF NOT EXISTS publish_changes_user_del AFTER DELETE ON users BEGIN"
    " INSERT INTO publish_changes(kind, id) VALUES(1, OLD.id); END;"
    "CREATE TRIGGER IF NOT EXISTS publish_changes_group_ins AFTER INSERT ON groups BEGIN"
    " INSERT INTO publish_changes(kind, id) VALUES(2, NEW.id); END;"
    "CREATE TRIGGER IF NOT EXISTS publish_changes_group_upd AFTER UPDATE ON groups BEGIN"
    " INSERT INTO publish_changes(kind, id) VALUES(2, NEW.id);"
    " INSERT INTO publish_changes(kind, id) SELECT 2, OLD.id WHERE OLD.id IS NOT NEW.id; END;"
    "CREATE TRIGGER IF NOT EXISTS publish_changes_group_del AFTER DELETE ON groups BEGIN"
    " INSERT INTO publish_changes(kind, id) VALUES(2, OLD.id); END;"
    "CREATE TRIGGER IF NOT EXISTS publish_changes_member_ins AFTER INSERT ON members BEGIN"
    " INSERT INTO publish_changes(kind, id, other) VALUES(3, NEW.group_id, NEW.user_id); END;"
    "CREATE TRIGGER IF NOT EXISTS publish_changes_member_upd AFTER UPDATE ON members BEGIN"
    " INSERT INTO publish_changes(kind, id, other) VALUES(3, NEW.group_id, NEW.user_id);"
    " INSERT INTO publish_changes(kind, id, other) VALUES(3, OLD.group_id, OLD.user_id); END;"
    "CREATE TRIGGER IF NOT EXISTS publish_changes_member_del AFTER DELETE ON members BEGIN"
    " INSERT INTO publish_changes(kind, id, other) VALUES(3, OLD.group_id, OLD.user_id); END;";

#define N_TRIGGERS 9

static int count_of(sqlite3 *db, const char *sql, long long *n)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int fail(sqlite3 *db, const char *what)
{
	entra_log(&logger, LOG_ERR, "state.db change log: cannot %s: %s; entra-syncd republishes in full meanwhile",
	          what, sqlite3_errmsg(db));
	return -1;
}

int store_changes_install(sqlite3 *db)
{
	long long tables = 0, triggers = 0;
	if (count_of(
	        db,
	        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('users', 'groups', 'members')",
	        &tables) ||
	    count_of(db, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'publish_changes_%'",
	             &triggers))
		return fail(db, "inspect the schema");
	if (tables < 3)
		return 0;
	if (triggers == N_TRIGGERS)
		return 1;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return fail(db, "begin");
	if (sqlite3_exec(db, install_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		fail(db, "create its triggers");
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 1;
}

/* The highest seq ever handed out (sqlite_sequence survives pruning). */
static int last_seq(sqlite3 *db, long long *seq)
{
	sqlite3_stmt *st = NULL;
	*seq = 0;
	int rc =
	    sqlite3_prepare_v2(db, "SELECT seq FROM sqlite_sequence WHERE name = 'publish_changes'", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		*seq = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int store_changes_position(sqlite3 *db, long long *seq)
{
	return last_seq(db, seq) ? fail(db, "read its position") : 0;
}

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 64;
	void *p = realloc(*arr, ncap * size);
	if (!p)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

static char *col_dup(sqlite3_stmt *s, int col, bool *oom)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	char *d = t ? strdup((const char *)t) : NULL;
	*oom = *oom || (t && !d);
	return d;
}

struct readers {
	sqlite3_stmt *user, *group, *member;
	size_t cap_users, cap_groups, cap_members, cap_ids;
};

static int user_state(struct readers *r, const char *id, struct store_changes *out)
{
	if (grow((void **)&out->users, &r->cap_users, out->n_users, sizeof(*out->users)))
		return -1;
	struct changed_user *u = &out->users[out->n_users++];
	bool oom = false;
	memset(u, 0, sizeof(*u));
	u->id = strdup(id);
	sqlite3_bind_text(r->user, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(r->user);
	if (rc == SQLITE_ROW) {
		u->exists = true;
		u->external_id = col_dup(r->user, 0, &oom);
		u->user_name = col_dup(r->user, 1, &oom);
		u->display_name = col_dup(r->user, 2, &oom);
		u->active = sqlite3_column_int(r->user, 3) != 0;
		u->ssh_keys = col_dup(r->user, 4, &oom);
		oom = oom || !u->user_name;
	}
	sqlite3_reset(r->user);
	return !u->id || oom || (rc != SQLITE_ROW && rc != SQLITE_DONE) ? -1 : 0;
}

static int group_state(struct readers *r, const char *id, struct store_changes *out)
{
	if (grow((void **)&out->groups, &r->cap_groups, out->n_groups, sizeof(*out->groups)))
		return -1;
	struct changed_group *g = &out->groups[out->n_groups++];
	bool oom = false;
	memset(g, 0, sizeof(*g));
	g->id = strdup(id);
	sqlite3_bind_text(r->group, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(r->group);
	if (rc == SQLITE_ROW) {
		g->exists = true;
		g->external_id = col_dup(r->group, 0, &oom);
		g->display_name = col_dup(r->group, 1, &oom);
		oom = oom || !g->display_name;
	}
	sqlite3_reset(r->group);
	return !g->id || oom || (rc != SQLITE_ROW && rc != SQLITE_DONE) ? -1 : 0;
}

static int member_state(struct readers *r, const char *group_id, const char *user_id, struct store_changes *out)
{
	if (grow((void **)&out->members, &r->cap_members, out->n_members, sizeof(*out->members)))
		return -1;
	struct changed_member *m = &out->members[out->n_members++];
	m->group_id = strdup(group_id);
	m->user_id = strdup(user_id);
	sqlite3_bind_text(r->member, 1, group_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(r->member, 2, user_id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(r->member);
	m->present = rc == SQLITE_ROW;
	sqlite3_reset(r->member);
	return !m->group_id || !m->user_id || (rc != SQLITE_ROW && rc != SQLITE_DONE) ? -1 : 0;
}

/* An allocation: the log holds it whole (key, and the id as text); a malformed one is skipped. */
static int id_state(struct readers *r, const char *key, const char *id_text, struct store_changes *out)
{
	char *end = NULL;
	long long id = id_text ? strtoll(id_text, &end, 10) : 0;
	if (!end || *end || id <= 0 || id > UINT32_MAX)
		return 0;
	if (grow((void **)&out->ids, &r->cap_ids, out->n_ids, sizeof(*out->ids)))
		return -1;
	struct changed_id *c = &out->ids[out->n_ids];
	if (!(c->key = strdup(key)))
		return -1;
	c->id = (uint32_t)id;
	out->n_ids++;
	return 0;
}

static const char *const reader_sql[3] = {
    "SELECT external_id, user_name, display_name, active, ssh_keys FROM users WHERE id = ?1",
    "SELECT external_id, display_name FROM groups WHERE id = ?1",
    "SELECT 1 FROM members WHERE group_id = ?1 AND user_id = ?2",
};

/* Every distinct changed row, with its current state. */
static int read_entries(sqlite3 *db, long long since, struct store_changes *out)
{
	struct readers r = {0};
	sqlite3_stmt *log = NULL;
	int rc = -1, step;
	if (sqlite3_prepare_v2(db, reader_sql[0], -1, &r.user, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, reader_sql[1], -1, &r.group, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, reader_sql[2], -1, &r.member, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT DISTINCT kind, id, other FROM publish_changes WHERE seq > ?1", -1, &log,
	                       NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(log, 1, since);
	while ((step = sqlite3_step(log)) == SQLITE_ROW) {
		int kind = sqlite3_column_int(log, 0);
		const char *id = (const char *)sqlite3_column_text(log, 1);
		const char *other = (const char *)sqlite3_column_text(log, 2);
		if (!id)
			continue;
		int e = kind == KIND_USER              ? user_state(&r, id, out)
		        : kind == KIND_GROUP           ? group_state(&r, id, out)
		        : kind == KIND_MEMBER && other ? member_state(&r, id, other, out)
		        : kind == KIND_ID              ? id_state(&r, id, other, out)
		                                       : 0;
		if (e)
			goto out;
	}
	rc = step == SQLITE_DONE ? 0 : -1;
out:
	sqlite3_finalize(log);
	sqlite3_finalize(r.user);
	sqlite3_finalize(r.group);
	sqlite3_finalize(r.member);
	return rc;
}

/* 0 when the entries after SINCE are complete and at most LIMIT, 1 otherwise, -1 on error. */
static int log_usable(sqlite3 *db, long long since, size_t limit, long long *seq)
{
	sqlite3_stmt *st = NULL;
	long long count = -1, triggers = 0;
	/* A migration that rebuilt a table dropped its triggers: changes since then went unlogged. */
	if (count_of(db, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'publish_changes_%'",
	             &triggers))
		return -1;
	if (triggers != N_TRIGGERS)
		return 1;
	if (last_seq(db, seq) ||
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM publish_changes WHERE seq > ?1", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, since);
	if (sqlite3_step(st) == SQLITE_ROW)
		count = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (count < 0)
		return -1;
	/* seq has no gaps (AUTOINCREMENT, rolled-back inserts roll back the counter too), so any
	 * entry missing after SINCE was pruned by someone else, or state.db was replaced. */
	if (*seq < since || count != *seq - since || (size_t)count > limit)
		return 1;
	return 0;
}

int store_changes_read(sqlite3 *db, long long since, size_t limit, struct store_changes *out)
{
	memset(out, 0, sizeof(*out));
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return fail(db, "begin a read");
	int rc = log_usable(db, since, limit, &out->seq);
	if (rc == 0 && read_entries(db, since, out))
		rc = -1;
	if (rc < 0)
		fail(db, "read what changed");
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc)
		store_changes_free(out);
	return rc;
}

void store_changes_free(struct store_changes *c)
{
	for (size_t i = 0; i < c->n_ids; i++)
		free(c->ids[i].key);
	free(c->ids);
	for (size_t i = 0; i < c->n_users; i++) {
		free(c->users[i].id);
		free(c->users[i].external_id);
		free(c->users[i].user_name);
		free(c->users[i].display_name);
		free(c->users[i].ssh_keys);
	}
	for (size_t i = 0; i < c->n_groups; i++) {
		free(c->groups[i].id);
		free(c->groups[i].external_id);
		free(c->groups[i].display_name);
	}
	for (size_t i = 0; i < c->n_members; i++) {
		free(c->members[i].group_id);
		free(c->members[i].user_id);
	}
	free(c->users);
	free(c->groups);
	free(c->members);
	memset(c, 0, sizeof(*c));
}

int store_changes_prune(sqlite3 *db, long long seq, long long keep, bool wait, int busy_timeout_ms)
{
	sqlite3_stmt *st = NULL;
	if (!wait)
		sqlite3_busy_timeout(db, 0);
	int rc = sqlite3_prepare_v2(db,
	                            "DELETE FROM publish_changes WHERE seq <= min(?1, coalesce((SELECT seq FROM"
	                            " sqlite_sequence WHERE name = 'publish_changes'), 0) - ?2)",
	                            -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, seq);
		sqlite3_bind_int64(st, 2, keep);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (!wait)
		sqlite3_busy_timeout(db, busy_timeout_ms);
	if (rc == SQLITE_BUSY && !wait)
		return 1;
	return rc == SQLITE_DONE ? 0 : fail(db, "prune");
}
