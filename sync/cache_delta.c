/* cache_write_delta (sync/cache_writer.h): the next cache.db as a copy of the current one plus
 * the rows that changed. Both snapshots are sorted by key and merged; every changed row is
 * deleted first and inserted afterwards, so a name passing from one row to another never
 * trips a UNIQUE constraint half way. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache_schema.h"
#include "cache_writer.h"
#include "cache_writer_internal.h"
#include "log.h"

static const struct entra_logger logger = {"entra-syncd", LOG_DAEMON, true, false};

/* --- copying the current file --- */

static int copy_fallback(int in, int out)
{
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno != EINTR)
				return -1;
			off += w > 0 ? w : 0;
		}
	return n < 0 ? -1 : 0;
}

/* copy_file_range stays in the kernel (and shares extents where the file system can). */
static int copy_file(int in, int out)
{
	struct stat sb;
	if (fstat(in, &sb))
		return -1;
	off_t left = sb.st_size;
	while (left > 0) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP) &&
			               left == sb.st_size
			           ? copy_fallback(in, out)
			           : -1;
		left -= n;
	}
	return 0;
}

/* --- row comparison --- */

static int str_cmp(const char *a, const char *b)
{
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

static bool account_same(const struct cache_account *a, const struct cache_account *b)
{
	return !str_cmp(a->name, b->name) && !str_cmp(a->gecos, b->gecos) && !str_cmp(a->dir, b->dir) &&
	       !str_cmp(a->shell, b->shell) && !str_cmp(a->upn, b->upn) && !str_cmp(a->object_id, b->object_id) &&
	       !str_cmp(a->scim_id, b->scim_id) && !str_cmp(a->role, b->role) && a->login == b->login &&
	       a->expire == b->expire;
}

static bool group_same(const struct cache_group *a, const struct cache_group *b)
{
	return !str_cmp(a->name, b->name) && !str_cmp(a->object_id, b->object_id) && !str_cmp(a->scim_id, b->scim_id);
}

/* local_members keeps the first of equal (uid, gid) keys, like the full writer's INSERT OR IGNORE. */
struct local_ref {
	const struct cache_local_member *m;
	size_t order;
};

static int local_ref_cmp(const void *x, const void *y)
{
	const struct local_ref *a = x, *b = y;
	if (a->m->uid != b->m->uid)
		return (a->m->uid > b->m->uid) - (a->m->uid < b->m->uid);
	if (a->m->gid != b->m->gid)
		return (a->m->gid > b->m->gid) - (a->m->gid < b->m->gid);
	return (a->order > b->order) - (a->order < b->order);
}

/* --- sorted views of one snapshot --- */

struct sorted {
	const struct cache_account **accounts;
	const struct cache_group **groups;
	struct cache_member *members;
	struct local_ref *locals;
	size_t n_accounts, n_groups, n_members, n_locals;
};

static void sorted_free(struct sorted *s)
{
	free(s->accounts);
	free(s->groups);
	free(s->members);
	free(s->locals);
}

static size_t unique_members(struct cache_member *m, size_t n)
{
	size_t out = 0;
	for (size_t i = 0; i < n; i++)
		if (!out || cache_member_cmp(&m[out - 1], &m[i]))
			m[out++] = m[i];
	return out;
}

static size_t unique_locals(struct local_ref *l, size_t n)
{
	size_t out = 0;
	for (size_t i = 0; i < n; i++)
		if (!out || l[out - 1].m->uid != l[i].m->uid || l[out - 1].m->gid != l[i].m->gid)
			l[out++] = l[i];
	return out;
}

static int sorted_build(const struct cache_snapshot *s, struct sorted *o)
{
	memset(o, 0, sizeof(*o));
	o->accounts = malloc((s->n_accounts + 1) * sizeof(*o->accounts));
	o->groups = malloc((s->n_groups + 1) * sizeof(*o->groups));
	o->members = malloc((s->n_members + 1) * sizeof(*o->members));
	o->locals = malloc((s->n_local_members + 1) * sizeof(*o->locals));
	if (!o->accounts || !o->groups || !o->members || !o->locals)
		return sorted_free(o), -1;
	for (size_t i = 0; i < s->n_accounts; i++)
		o->accounts[i] = &s->accounts[i];
	for (size_t i = 0; i < s->n_groups; i++)
		o->groups[i] = &s->groups[i];
	for (size_t i = 0; i < s->n_local_members; i++)
		o->locals[i] = (struct local_ref){&s->local_members[i], i};
	if (s->n_members)
		memcpy(o->members, s->members, s->n_members * sizeof(*o->members));
	qsort(o->accounts, s->n_accounts, sizeof(*o->accounts), cache_account_uid_cmp);
	qsort(o->groups, s->n_groups, sizeof(*o->groups), cache_group_gid_cmp);
	qsort(o->members, s->n_members, sizeof(*o->members), cache_member_cmp);
	qsort(o->locals, s->n_local_members, sizeof(*o->locals), local_ref_cmp);
	o->n_accounts = s->n_accounts, o->n_groups = s->n_groups;
	o->n_members = unique_members(o->members, s->n_members);
	o->n_locals = unique_locals(o->locals, s->n_local_members);
	return 0;
}

/* --- applying the difference --- */

enum {
	STMT_DEL_PASSWD,
	STMT_DEL_GROUP,
	STMT_DEL_MEMBER,
	STMT_DEL_LOCAL,
	STMT_ADD_PASSWD,
	STMT_ADD_GROUP,
	STMT_ADD_MEMBER,
	STMT_ADD_LOCAL,
	N_STMTS
};

static const char *const stmt_sql[N_STMTS] = {
    "DELETE FROM passwd WHERE uid = ?1",
    "DELETE FROM groups WHERE gid = ?1",
    "DELETE FROM members WHERE gid = ?1 AND uid = ?2",
    "DELETE FROM local_members WHERE uid = ?1 AND gid = ?2",
    "INSERT INTO passwd(name, uid, gid, gecos, dir, shell, upn, object_id, scim_id, role, login, expire)"
    " VALUES(?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    "INSERT INTO groups(name, gid, object_id, scim_id) VALUES(?1, ?2, ?3, ?4)",
    "INSERT INTO members(gid, uid) VALUES(?1, ?2)",
    "INSERT INTO local_members(uid, gid, name) VALUES(?1, ?2, ?3)",
};

struct delta {
	struct writer *w;
	sqlite3_stmt *st[N_STMTS];
	bool inserting; /* second pass: inserts; first pass: deletes */
	size_t rows;
};

static int run(struct delta *d, int which, const char *what)
{
	d->rows++;
	return cache_step_reset(d->w, d->st[which], what);
}

static int account_row(struct delta *d, const struct cache_account *a)
{
	sqlite3_stmt *st = d->st[d->inserting ? STMT_ADD_PASSWD : STMT_DEL_PASSWD];
	if (!d->inserting) {
		sqlite3_bind_int64(st, 1, a->uid);
		return run(d, STMT_DEL_PASSWD, "passwd");
	}
	sqlite3_bind_text(st, 1, a->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, a->uid);
	sqlite3_bind_text(st, 3, a->gecos, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a->dir, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, a->shell, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, a->upn, -1, SQLITE_STATIC);
	cache_bind_text_or_null(st, 7, a->object_id);
	sqlite3_bind_text(st, 8, a->scim_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, a->role, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 10, a->login);
	sqlite3_bind_int64(st, 11, a->expire);
	return run(d, STMT_ADD_PASSWD, "passwd");
}

static int group_row(struct delta *d, const struct cache_group *g)
{
	sqlite3_stmt *st = d->st[d->inserting ? STMT_ADD_GROUP : STMT_DEL_GROUP];
	sqlite3_bind_int64(st, d->inserting ? 2 : 1, g->gid);
	if (d->inserting) {
		sqlite3_bind_text(st, 1, g->name, -1, SQLITE_STATIC);
		cache_bind_text_or_null(st, 3, g->object_id);
		sqlite3_bind_text(st, 4, g->scim_id, -1, SQLITE_STATIC);
	}
	return run(d, d->inserting ? STMT_ADD_GROUP : STMT_DEL_GROUP, "groups");
}

static int member_row(struct delta *d, const struct cache_member *m)
{
	int which = d->inserting ? STMT_ADD_MEMBER : STMT_DEL_MEMBER;
	sqlite3_bind_int64(d->st[which], 1, m->gid);
	sqlite3_bind_int64(d->st[which], 2, m->uid);
	return run(d, which, "members");
}

static int local_row(struct delta *d, const struct cache_local_member *m)
{
	int which = d->inserting ? STMT_ADD_LOCAL : STMT_DEL_LOCAL;
	sqlite3_bind_int64(d->st[which], 1, m->uid);
	sqlite3_bind_int64(d->st[which], 2, m->gid);
	if (d->inserting)
		sqlite3_bind_text(d->st[which], 3, m->name, -1, SQLITE_STATIC);
	return run(d, which, "local_members");
}

/* One merge step: the row only in OLD is deleted, only in NEW inserted, changed both. */
#define MERGE(d, a, na, b, nb, cmp, same, row)                                                                         \
	do {                                                                                                           \
		size_t i_ = 0, j_ = 0;                                                                                 \
		while (i_ < (na) || j_ < (nb)) {                                                                       \
			int c_ = i_ == (na) ? 1 : j_ == (nb) ? -1 : cmp(&(a)[i_], &(b)[j_]);                           \
			bool del_ = c_ < 0 || (c_ == 0 && !same((a)[i_], (b)[j_]));                                    \
			bool add_ = c_ > 0 || (c_ == 0 && del_);                                                       \
			if (!(d)->inserting && del_ && row(d, (a)[i_]))                                                \
				return -1;                                                                             \
			if ((d)->inserting && add_ && row(d, (b)[j_]))                                                 \
				return -1;                                                                             \
			i_ += c_ <= 0, j_ += c_ >= 0;                                                                  \
		}                                                                                                      \
	} while (0)

static bool member_same(struct cache_member a, struct cache_member b)
{
	(void)a, (void)b;
	return true; /* the key is the whole row */
}

static int member_ptr_row(struct delta *d, struct cache_member m)
{
	return member_row(d, &m);
}

static int local_key_cmp(const void *x, const void *y)
{
	const struct local_ref *a = x, *b = y;
	struct local_ref ka = {a->m, 0}, kb = {b->m, 0};
	return local_ref_cmp(&ka, &kb);
}

static bool local_same(struct local_ref a, struct local_ref b)
{
	return !str_cmp(a.m->name, b.m->name);
}

static int local_ptr_row(struct delta *d, struct local_ref r)
{
	return local_row(d, r.m);
}

static int diff_pass(struct delta *d, const struct sorted *o, const struct sorted *n)
{
	MERGE(d, o->accounts, o->n_accounts, n->accounts, n->n_accounts, cache_account_uid_cmp, account_same,
	      account_row);
	MERGE(d, o->groups, o->n_groups, n->groups, n->n_groups, cache_group_gid_cmp, group_same, group_row);
	MERGE(d, o->members, o->n_members, n->members, n->n_members, cache_member_cmp, member_same, member_ptr_row);
	MERGE(d, o->locals, o->n_locals, n->locals, n->n_locals, local_key_cmp, local_same, local_ptr_row);
	return 0;
}

static int apply_diff(struct writer *w, const struct cache_snapshot *prev, const struct cache_snapshot *next,
                      size_t *rows)
{
	struct sorted o, n;
	struct delta d = {.w = w};
	int rc = -1;
	if (sorted_build(prev, &o))
		return -1;
	if (sorted_build(next, &n)) {
		sorted_free(&o);
		return -1;
	}
	for (int i = 0; i < N_STMTS; i++)
		if (cache_prepare(w, stmt_sql[i], &d.st[i]))
			goto out;
	if (diff_pass(&d, &o, &n) == 0) {
		d.inserting = true;
		rc = diff_pass(&d, &o, &n);
	}
	*rows = d.rows;
out:
	for (int i = 0; i < N_STMTS; i++)
		sqlite3_finalize(d.st[i]);
	sorted_free(&o);
	sorted_free(&n);
	return rc;
}

/* --- the precondition: the copy is what PREV was published as --- */

static const char *meta_value(struct writer *w, sqlite3_stmt *st, const char *key, char *buf, size_t len)
{
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	const char *v = NULL;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
		snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
		v = buf;
	}
	sqlite3_reset(st);
	(void)w;
	return v;
}

static bool copy_is_prev(struct writer *w, const struct cache_snapshot *next, long long prev_generation)
{
	sqlite3_stmt *st = NULL;
	char gen[32], ver[32], host[256], want_gen[32], want_ver[32];
	bool ok = false;
	if (sqlite3_prepare_v2(w->db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL) != SQLITE_OK)
		return false;
	snprintf(want_gen, sizeof(want_gen), "%lld", prev_generation);
	snprintf(want_ver, sizeof(want_ver), "%d", ENTRA_CACHE_SCHEMA_VERSION);
	const char *g = meta_value(w, st, "generation", gen, sizeof(gen));
	const char *v = meta_value(w, st, "schema_version", ver, sizeof(ver));
	const char *h = meta_value(w, st, "host", host, sizeof(host));
	ok = g && v && h && !strcmp(g, want_gen) && !strcmp(v, want_ver) && !strcmp(h, next->host ? next->host : "");
	sqlite3_finalize(st);
	return ok;
}

/* --- publication --- */

struct delta_args {
	const char *path;
	const struct cache_snapshot *prev, *next;
	long long prev_generation, generation;
	size_t rows;
};

static int fill_delta(struct writer *w, int fd, void *arg)
{
	struct delta_args *a = arg;
	int in = open(a->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return 1;
	int copied = copy_file(in, fd);
	close(in);
	if (copied) {
		entra_log(&logger, LOG_ERR,
		          "cannot copy %s to %s: %s; check free space; readers keep the previous cache.db", a->path,
		          w->tmp, strerror(errno));
		return -1;
	}
	if (cache_open_tmp(w) ||
	    sqlite3_exec(w->db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-16384; BEGIN",
	                 NULL, NULL, NULL) != SQLITE_OK)
		return cache_sql_fail(w, "open the copy");
	if (!copy_is_prev(w, a->next, a->prev_generation))
		return 1; /* rolled back with the temp file */
	if (apply_diff(w, a->prev, a->next, &a->rows) || cache_write_meta(w, a->next, a->generation))
		return -1;
	if (sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return cache_sql_fail(w, "commit");
	return 0;
}

int cache_write_delta(const char *path, const struct cache_snapshot *prev, long long prev_generation,
                      const struct cache_snapshot *next, long long generation, size_t *rows)
{
	struct delta_args a = {path, prev, next, prev_generation, generation, 0};
	int rc = cache_publish_with(path, fill_delta, &a);
	if (rows)
		*rows = a.rows;
	return rc;
}
