/* cache_write_delta (sync/publish/cache_writer.h): the next cache.db as a copy of the current one plus
 * the rows that changed, found by hashing each table's keys (no sorting of 100k rows). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cache_schema.h"
#include "common/log.h"
#include "sync/publish/cache_keymap.h"
#include "sync/publish/cache_writer.h"
#include "sync/publish/cache_writer_internal.h"

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
	if (a == b) /* shared strings (UPN, SCIM id, shell, role) of unchanged rows */
		return 0;
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

static bool members_same(const struct cache_packed_group *a, const struct cache_packed_group *b)
{
	return a->len == b->len && a->uid_min == b->uid_min && a->uid_max == b->uid_max &&
	       !memcmp(a->names, b->names, a->len);
}

static bool group_same(const struct cache_group *a, const struct cache_group *b, const struct cache_packed_group *am,
                       const struct cache_packed_group *bm)
{
	return !str_cmp(a->name, b->name) && !str_cmp(a->object_id, b->object_id) && !str_cmp(a->scim_id, b->scim_id) &&
	       members_same(am, bm);
}

static bool member_same(const struct cache_member *a, const struct cache_member *b)
{
	(void)a, (void)b;
	return true; /* the key is the whole row */
}

static bool local_same(const struct cache_local_member *a, const struct cache_local_member *b)
{
	return !str_cmp(a->name, b->name);
}

static bool ssh_key_same(const struct cache_ssh_key *a, const struct cache_ssh_key *b)
{
	return !str_cmp(a->key, b->key);
}

/* A snapshot and its groups' packed member names. */
struct side {
	const struct cache_snapshot *s;
	struct cache_packs packs;
};

/* --- one table's difference: rows to delete (old indexes) and to insert (new indexes) --- */

enum table { T_PASSWD, T_GROUPS, T_MEMBERS, T_LOCAL, T_SSH_KEYS, T_BLOCKS, N_TABLES };

static size_t table_rows(const struct side *side, enum table t)
{
	const struct cache_snapshot *s = side->s;
	return t == T_PASSWD     ? s->n_accounts
	       : t == T_GROUPS   ? s->n_groups
	       : t == T_MEMBERS  ? s->n_members
	       : t == T_LOCAL    ? s->n_local_members
	       : t == T_SSH_KEYS ? s->n_ssh_keys
	                         : side->packs.blocks.n;
}

static uint64_t row_key(const struct side *side, enum table t, size_t i)
{
	const struct cache_snapshot *s = side->s;
	switch (t) {
	case T_PASSWD:
		return s->accounts[i].uid;
	case T_GROUPS:
		return s->groups[i].gid;
	case T_MEMBERS:
		return (uint64_t)s->members[i].gid << 32 | s->members[i].uid;
	case T_SSH_KEYS:
		return (uint64_t)s->ssh_keys[i].uid << 32 | s->ssh_keys[i].n;
	case T_BLOCKS:
		return side->packs.blocks.blocks[i].last_uid;
	default:
		return (uint64_t)s->local_members[i].uid << 32 | s->local_members[i].gid;
	}
}

static bool block_same(const struct cache_block *a, const struct cache_block *b)
{
	return a->len == b->len && !memcmp(a->bytes, b->bytes, a->len);
}

static bool row_same(const struct side *sa, size_t i, const struct side *sb, size_t j, enum table t)
{
	const struct cache_snapshot *a = sa->s, *b = sb->s;
	switch (t) {
	case T_PASSWD:
		return account_same(&a->accounts[i], &b->accounts[j]);
	case T_GROUPS:
		return group_same(&a->groups[i], &b->groups[j], &sa->packs.groups[i], &sb->packs.groups[j]);
	case T_MEMBERS:
		return member_same(&a->members[i], &b->members[j]);
	case T_SSH_KEYS:
		return ssh_key_same(&a->ssh_keys[i], &b->ssh_keys[j]);
	case T_BLOCKS:
		return block_same(&sa->packs.blocks.blocks[i], &sb->packs.blocks.blocks[j]);
	default:
		return local_same(&a->local_members[i], &b->local_members[j]);
	}
}

struct ops {
	size_t *del, *add; /* row indexes into the old and the new snapshot */
	size_t n_del, n_add;
};

static void ops_free(struct ops *o)
{
	free(o->del);
	free(o->add);
}

static int keymap_fill(struct keymap *m, const struct side *s, enum table t)
{
	size_t n = table_rows(s, t);
	if (keymap_init(m, n))
		return -1;
	for (size_t i = 0; i < n; i++)
		keymap_add(m, row_key(s, t, i), i);
	return 0;
}

/* Every key of NEXT is looked up in PREV: missing -> insert, different -> delete and insert;
 * then every key of PREV nobody matched -> delete. O(rows), no sorting. */
static int table_diff(const struct side *sprev, const struct side *snext, enum table t, struct ops *o,
                      struct keymap *next_keys)
{
	struct keymap old = {0}, cur = {0};
	int rc = -1;
	memset(o, 0, sizeof(*o));
	if (keymap_fill(&old, sprev, t) || keymap_fill(&cur, snext, t) ||
	    !(o->del = malloc((table_rows(sprev, t) + 1) * sizeof(size_t))) ||
	    !(o->add = malloc((table_rows(snext, t) + 1) * sizeof(size_t))))
		goto out;
	for (size_t k = 0; k <= cur.mask; k++) {
		if (!cur.state[k])
			continue;
		size_t j = cur.rows[k], i = keymap_slot(&old, cur.keys[k]);
		if (!old.state[i]) {
			o->add[o->n_add++] = j;
			continue;
		}
		old.state[i] = 2;
		if (!row_same(sprev, old.rows[i], snext, j, t))
			o->del[o->n_del++] = old.rows[i], o->add[o->n_add++] = j;
	}
	for (size_t k = 0; k <= old.mask; k++)
		if (old.state[k] == 1)
			o->del[o->n_del++] = old.rows[k];
	rc = 0;
out:
	keymap_free(&old);
	if (rc == 0 && next_keys)
		*next_keys = cur; /* the caller's now */
	else
		keymap_free(&cur);
	return rc;
}

/* --- applying the difference --- */

static const char *const del_sql[N_TABLES] = {
    "DELETE FROM passwd WHERE uid = ?1",
    "DELETE FROM groups WHERE gid = ?1",
    "DELETE FROM members WHERE gid = ?1 AND uid = ?2",
    "DELETE FROM local_members WHERE uid = ?1 AND gid = ?2",
    "DELETE FROM ssh_keys WHERE uid = ?1 AND n = ?2",
    "DELETE FROM passwd_blocks WHERE last_uid = ?1",
};

static const char *const add_sql[N_TABLES] = {
    CACHE_INSERT_ACCOUNT_SQL,
    CACHE_INSERT_GROUP_SQL,
    "INSERT INTO members(gid, uid) VALUES(?1, ?2)",
    "INSERT INTO local_members(uid, gid, name) VALUES(?1, ?2, ?3)",
    CACHE_INSERT_SSH_KEY_SQL,
    CACHE_INSERT_BLOCK_SQL,
};

static const char *const table_name[N_TABLES] = {"passwd",        "groups",   "members",
                                                 "local_members", "ssh_keys", "passwd_blocks"};

static void bind_insert(sqlite3_stmt *st, const struct side *side, enum table t, size_t i)
{
	const struct cache_snapshot *s = side->s;
	switch (t) {
	case T_PASSWD:
		cache_bind_account(st, &s->accounts[i]);
		break;
	case T_GROUPS:
		cache_bind_group(st, &s->groups[i], &side->packs.groups[i]);
		break;
	case T_MEMBERS:
		sqlite3_bind_int64(st, 1, s->members[i].gid);
		sqlite3_bind_int64(st, 2, s->members[i].uid);
		break;
	case T_SSH_KEYS:
		cache_bind_ssh_key(st, &s->ssh_keys[i]);
		break;
	case T_BLOCKS:
		cache_bind_block(st, &side->packs.blocks.blocks[i]);
		break;
	default:
		sqlite3_bind_int64(st, 1, s->local_members[i].uid);
		sqlite3_bind_int64(st, 2, s->local_members[i].gid);
		sqlite3_bind_text(st, 3, s->local_members[i].name, -1, SQLITE_STATIC);
	}
}

/* A delete binds the row's key: (uid) / (gid) / (gid, uid) / (uid, gid) / (uid, n) / (last_uid). */
static void bind_delete(sqlite3_stmt *st, const struct side *side, enum table t, size_t i)
{
	uint64_t key = row_key(side, t, i);
	if (t == T_PASSWD || t == T_GROUPS || t == T_BLOCKS) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)key);
		return;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)(key >> 32));
	sqlite3_bind_int64(st, 2, (sqlite3_int64)(key & 0xffffffffu));
}

static int run_ops(struct writer *w, const struct side *s, enum table t, const size_t *rows, size_t n, bool insert)
{
	sqlite3_stmt *st = NULL;
	int rc = cache_prepare(w, insert ? add_sql[t] : del_sql[t], &st);
	for (size_t k = 0; rc == 0 && k < n; k++) {
		(insert ? bind_insert : bind_delete)(st, s, t, rows[k]);
		rc = cache_step_reset(w, st, table_name[t]);
	}
	sqlite3_finalize(st);
	return rc;
}

/* The changed memberships of one table difference, sorted by (gid, uid). */
static struct cache_member_change *member_changes(const struct cache_snapshot *prev, const struct cache_snapshot *next,
                                                  const struct ops *mem)
{
	struct cache_member_change *c = malloc((mem->n_del + mem->n_add + 1) * sizeof(*c));
	size_t n = 0;
	for (size_t k = 0; c && k < mem->n_del; k++)
		c[n++] =
		    (struct cache_member_change){prev->members[mem->del[k]].gid, prev->members[mem->del[k]].uid, false};
	for (size_t k = 0; c && k < mem->n_add; k++)
		c[n++] =
		    (struct cache_member_change){next->members[mem->add[k]].gid, next->members[mem->add[k]].uid, true};
	if (c)
		qsort(c, n, sizeof(*c), cache_member_change_cmp);
	return c;
}

/* Uids whose passwd row changed its name (RENAMED), and the gids they are members of (TOUCHED). */
static int renames(const struct cache_snapshot *prev, const struct cache_snapshot *next, const struct ops *pw,
                   struct keymap *renamed, struct keymap *touched)
{
	struct keymap gone = {0};
	size_t row, n_renamed = 0;
	if (keymap_init(&gone, pw->n_del) || keymap_init(renamed, pw->n_add) || keymap_init(touched, next->n_groups)) {
		keymap_free(&gone);
		return -1;
	}
	for (size_t k = 0; k < pw->n_del; k++)
		keymap_add(&gone, prev->accounts[pw->del[k]].uid, pw->del[k]);
	for (size_t k = 0; k < pw->n_add; k++) {
		const struct cache_account *a = &next->accounts[pw->add[k]];
		if (keymap_get(&gone, a->uid, &row) && strcmp(prev->accounts[row].name, a->name) != 0)
			keymap_add(renamed, a->uid, 0), n_renamed++;
	}
	/* A member's row names a group of NEXT: at most every group once, the map's room. */
	for (size_t m = 0; n_renamed && m < next->n_members; m++)
		if (keymap_get(renamed, next->members[m].uid, &row))
			keymap_add(touched, next->members[m].gid, 0);
	keymap_free(&gone);
	return 0;
}

static int uid_cmp(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	return (a > b) - (a < b);
}

/* The uids of the passwd rows PW deletes or inserts, sorted, each once, into *N. */
static uint32_t *changed_uids(const struct cache_snapshot *prev, const struct cache_snapshot *next,
                              const struct ops *pw, size_t *n)
{
	uint32_t *u = malloc((pw->n_del + pw->n_add + 1) * sizeof(*u));
	size_t k = 0;
	*n = 0;
	for (size_t i = 0; u && i < pw->n_del; i++)
		u[k++] = prev->accounts[pw->del[i]].uid;
	for (size_t i = 0; u && i < pw->n_add; i++)
		u[k++] = next->accounts[pw->add[i]].uid;
	if (u)
		qsort(u, k, sizeof(*u), uid_cmp);
	for (size_t i = 0; u && i < k; i++)
		if (*n == 0 || u[*n - 1] != u[i])
			u[(*n)++] = u[i];
	return u;
}

/* NEXT's packed member names, from PREV's: only groups whose members changed are spliced. */
static int packs_next(struct writer *w, const struct side *sprev, struct side *snext, const struct ops o[N_TABLES],
                      const struct keymap *accounts)
{
	struct keymap renamed = {0}, touched = {0};
	struct cache_pack_delta d = {.n_changes = o[T_MEMBERS].n_del + o[T_MEMBERS].n_add,
	                             .renamed = &renamed,
	                             .touched = &touched,
	                             .accounts = accounts};
	struct cache_member_change *changes = member_changes(sprev->s, snext->s, &o[T_MEMBERS]);
	uint32_t *uids = changed_uids(sprev->s, snext->s, &o[T_PASSWD], &d.n_changed_uids);
	d.changes = changes;
	d.changed_uids = uids;
	int rc = !changes || !uids || renames(sprev->s, snext->s, &o[T_PASSWD], &renamed, &touched) ||
	                 cache_packs_update(sprev->s, &sprev->packs, snext->s, &d, &snext->packs)
	             ? cache_sql_fail(w, "out of memory packing group members")
	             : 0;
	free(changes);
	free(uids);
	keymap_free(&renamed);
	keymap_free(&touched);
	return rc;
}

/* Every delete before any insert, so a name moving between rows never trips UNIQUE. The groups
 * and the passwd blocks are compared last, once NEXT's packs are made. */
static int apply_diff(struct writer *w, const struct side *sprev, struct side *snext, size_t *rows)
{
	static const enum table order[N_TABLES] = {T_PASSWD, T_MEMBERS, T_LOCAL, T_SSH_KEYS, T_GROUPS, T_BLOCKS};
	struct ops o[N_TABLES] = {0};
	struct keymap accounts = {0}; /* NEXT's, by uid */
	int rc = 0;
	*rows = 0;
	for (int k = 0; rc == 0 && k < N_TABLES; k++) {
		if (order[k] == T_GROUPS)
			rc = packs_next(w, sprev, snext, o, &accounts);
		if (rc == 0)
			rc = table_diff(sprev, snext, order[k], &o[order[k]], order[k] == T_PASSWD ? &accounts : NULL);
	}
	keymap_free(&accounts);
	for (int t = 0; rc == 0 && t < N_TABLES; t++)
		rc = run_ops(w, sprev, (enum table)t, o[t].del, o[t].n_del, false);
	for (int t = 0; rc == 0 && t < N_TABLES; t++)
		rc = run_ops(w, snext, (enum table)t, o[t].add, o[t].n_add, true);
	for (int t = 0; t < N_TABLES; t++) {
		*rows += o[t].n_del + o[t].n_add;
		ops_free(&o[t]);
	}
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
	struct side prev, next; /* PREV's packs are the caller's; NEXT's are built here */
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
	if (!copy_is_prev(w, a->next.s, a->prev_generation))
		return 1; /* rolled back with the temp file */
	if (apply_diff(w, &a->prev, &a->next, &a->rows) || cache_write_meta(w, a->next.s, a->generation))
		return -1;
	if (sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return cache_sql_fail(w, "commit");
	return 0;
}

int cache_write_delta(const char *path, const struct cache_snapshot *prev, const struct cache_packs *prev_packs,
                      long long prev_generation, const struct cache_snapshot *next, long long generation, size_t *rows,
                      struct cache_packs *next_packs)
{
	struct delta_args a = {path, {prev, *prev_packs}, {next, {0}}, prev_generation, generation, 0};
	int rc = cache_publish_with(path, fill_delta, &a);
	if (rows)
		*rows = a.rows;
	if (rc == 0 && next_packs)
		*next_packs = a.next.packs;
	else
		cache_packs_free(&a.next.packs);
	return rc;
}
