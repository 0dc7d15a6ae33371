/* The accounts of cache.db as the watcher needs them: uid, name, disabled or not. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cache_reader.h"
#include "sync/sessions/sessions.h"

/* The rowid range of passwd (uid is its INTEGER PRIMARY KEY) in uid order. */
#define ACCOUNTS_SQL "SELECT uid, name, expire FROM passwd WHERE uid BETWEEN ?1 AND ?2 ORDER BY uid"

int sessions_snapshot_add(struct sessions_snapshot *s, uint32_t uid, bool disabled, const char *name)
{
	if (s->n && s->v[s->n - 1].uid >= uid)
		return -1;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		if (cap > SESSIONS_ACCOUNTS_MAX)
			cap = SESSIONS_ACCOUNTS_MAX;
		struct sessions_account *v = s->n < cap ? realloc(s->v, cap * sizeof(*v)) : NULL;
		if (!v)
			return -1;
		s->v = v, s->cap = cap;
	}
	char *copy = strdup(name);
	if (!copy)
		return -1;
	s->v[s->n++] = (struct sessions_account){.uid = uid, .disabled = disabled, .name = copy};
	return 0;
}

static int account_cmp(const void *key, const void *elem)
{
	uint32_t uid = *(const uint32_t *)key, other = ((const struct sessions_account *)elem)->uid;
	return uid < other ? -1 : uid > other;
}

const struct sessions_account *sessions_snapshot_find(const struct sessions_snapshot *s, uint32_t uid)
{
	return s->n ? bsearch(&uid, s->v, s->n, sizeof(s->v[0]), account_cmp) : NULL;
}

void sessions_snapshot_free(struct sessions_snapshot *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].name);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* One row; the cache is untrusted input, so a row of the wrong shape fails the whole read. */
static int row_add(sqlite3_stmt *q, long long today, struct sessions_snapshot *out)
{
	const char *name = (const char *)sqlite3_column_text(q, 1);
	if (sqlite3_column_type(q, 0) != SQLITE_INTEGER || sqlite3_column_type(q, 2) != SQLITE_INTEGER || !name)
		return -1;
	long long expire = sqlite3_column_int64(q, 2);
	bool disabled = expire != -1 && expire <= today;
	return sessions_snapshot_add(out, (uint32_t)sqlite3_column_int64(q, 0), disabled, name);
}

static int rows_read(struct entra_cache *c, uint32_t uid_min, uint32_t uid_max, long long today,
                     struct sessions_snapshot *out, char *why, size_t whylen)
{
	sqlite3_stmt *q = NULL;
	int rc = SQLITE_ERROR, bad_row = 0;
	if (sqlite3_prepare_v2(c->db, ACCOUNTS_SQL, -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(q, 1, uid_min) != SQLITE_OK || sqlite3_bind_int64(q, 2, uid_max) != SQLITE_OK) {
		snprintf(why, whylen, "cannot query passwd: %s", sqlite3_errmsg(c->db));
		sqlite3_finalize(q);
		return -1;
	}
	/* The work budget bounds each row, as it bounds each look-up of the NSS module. */
	while (!bad_row && (c->budget = ENTRA_CACHE_LOOKUP_BUDGET, rc = sqlite3_step(q)) == SQLITE_ROW)
		bad_row = row_add(q, today, out);
	if (bad_row)
		snprintf(why, whylen, "a passwd row of an unexpected shape, or more than %u accounts",
		         SESSIONS_ACCOUNTS_MAX);
	else if (rc != SQLITE_DONE)
		snprintf(why, whylen, "cannot read passwd: %s",
		         entra_cache_budget_spent(c) ? "a row exceeded its work bound" : sqlite3_errmsg(c->db));
	sqlite3_finalize(q);
	return !bad_row && rc == SQLITE_DONE ? 0 : -1;
}

int sessions_snapshot_read(const char *cache_db, uint32_t uid_min, uint32_t uid_max, long long today,
                           struct sessions_snapshot *out, char *why, size_t whylen)
{
	struct entra_cache cache;
	int err;
	char reason[384];
	memset(out, 0, sizeof(*out));
	if (entra_cache_open(cache_db, &cache, &err, reason, sizeof(reason))) {
		snprintf(why, whylen, "%s", err == ENOENT ? "does not exist (yet)" : reason);
		return -1;
	}
	int rc = rows_read(&cache, uid_min, uid_max, today, out, why, whylen);
	entra_cache_close(&cache);
	if (rc)
		sessions_snapshot_free(out);
	return rc;
}
