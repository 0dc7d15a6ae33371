/* libnss_scim's own reader of cache.db (nss_scim/btree.c, cachefile.c) against SQLite itself:
 * files written by entra-syncd's writer (full and incremental) from random directories, small
 * and large (100k users: b-trees of three levels and more), with long rows and member lists
 * spilling onto overflow pages. Every entry of every b-tree, and seeks to random keys, must
 * give exactly what SQLite's queries give. The module's schema table (cf_objects) is checked
 * against the rows SQLite writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/cache_file.h"
#include "nss_scim/cachefile.h"
#include "sync/publish/cache_writer.h"

#include "cache_fixture.h"

/* xorshift64*: the same directories on every run. */
static uint64_t rng_state;

static uint64_t rnd(uint64_t below)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (rng_state * 0x2545F4914F6CDD1DULL) % below;
}

/* A random string of LEN bytes from ALPHABET, malloc'd. */
static char *rnd_text(size_t len, const char *alphabet)
{
	size_t n = strlen(alphabet);
	char *s = malloc(len + 1);
	assert_non_null(s);
	for (size_t i = 0; i < len; i++)
		s[i] = alphabet[rnd(n)];
	s[len] = '\0';
	return s;
}

static const char name_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789._-";

/* A name no other has (the index is UNIQUE): a random stem, then its number. */
static char *rnd_name(size_t i, bool at_limit)
{
	char tail[16];
	int tl = snprintf(tail, sizeof(tail), "-%zu", i);
	size_t stem = at_limit ? 256 - (size_t)tl : 1 + rnd(24);
	char *s = rnd_text(stem + (size_t)tl, name_chars);
	s[0] = 'a' + (char)rnd(26);
	memcpy(s + stem, tail, (size_t)tl + 1);
	return s;
}

/* Distinct ids in [200000, 2000000000): uids and gids come from the same draw. */
static uint32_t *rnd_ids(size_t n)
{
	uint32_t *ids = malloc(n * sizeof(*ids));
	assert_non_null(ids);
	for (size_t i = 0; i < n; i++) {
		bool again;
		do {
			ids[i] = 200000 + (uint32_t)rnd(1999800000);
			again = false;
			for (size_t j = 0; j < i && !again; j++)
				again = ids[j] == ids[i];
		} while (again);
	}
	return ids;
}

/* Consecutive ids (quick for big directories), shuffled. */
static uint32_t *seq_ids(size_t n)
{
	uint32_t *ids = malloc(n * sizeof(*ids));
	assert_non_null(ids);
	for (size_t i = 0; i < n; i++)
		ids[i] = 200000 + (uint32_t)i * 3;
	for (size_t i = n; i > 1; i--) {
		size_t j = rnd(i);
		uint32_t t = ids[i - 1];
		ids[i - 1] = ids[j];
		ids[j] = t;
	}
	return ids;
}

struct directory {
	struct cache_snapshot s;
	uint32_t *ids;
};

static void account_fill(struct cache_account *a, size_t i, uint32_t uid)
{
	bool long_row = rnd(50) == 0; /* a row bigger than a page: table overflow pages */
	a->name = rnd_name(i, rnd(40) == 0);
	a->uid = uid;
	a->gecos = rnd_text(long_row ? 3000 + rnd(6000) : rnd(40), name_chars);
	a->dir = rnd_text(1 + rnd(60), name_chars);
	a->dir[0] = '/';
	a->shell = "/bin/bash";
	a->upn = rnd_text(5 + rnd(long_row ? 900 : 60), name_chars);
	a->object_id = rnd(3) ? rnd_text(36, "0123456789abcdef-") : NULL;
	a->scim_id = rnd_text(36, "0123456789abcdef");
	a->role = rnd(2) ? "user" : "admin";
	a->login = (int)rnd(2);
	a->expire = rnd(5) ? -1 : (long)rnd(30000);
}

/* USERS accounts, GROUPS groups (every BIG-th one with thousands of members), memberships,
 * local groups and SSH keys, all random but for SEED. */
static void directory_make(struct directory *d, uint64_t seed, size_t users, size_t groups, size_t big)
{
	rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
	memset(d, 0, sizeof(*d));
	d->ids = users + groups > 5000 ? seq_ids(users + groups) : rnd_ids(users + groups);
	struct cache_snapshot *s = &d->s;
	s->host = "host", s->uid_min = 200000, s->uid_max = 2000000000;
	s->accounts = calloc(users + 1, sizeof(*s->accounts));
	s->groups = calloc(groups + 1, sizeof(*s->groups));
	s->n_accounts = users, s->n_groups = groups;
	for (size_t i = 0; i < users; i++)
		account_fill(&s->accounts[i], i, d->ids[i]);
	size_t cap = 1024;
	size_t *perm = malloc((users + 1) * sizeof(*perm));
	for (size_t i = 0; i < users; i++)
		perm[i] = i;
	s->members = malloc(cap * sizeof(*s->members));
	for (size_t g = 0; g < groups; g++) {
		s->groups[g] = (struct cache_group){.name = rnd_name(users + g, rnd(20) == 0),
		                                    .gid = d->ids[users + g],
		                                    .scim_id = rnd_text(36, "0123456789abcdef")};
		size_t n = users == 0 ? 0 : big && g % big == 0 ? 2000 + rnd(4000) : rnd(20);
		n = n > users ? users : n;
		for (size_t k = 0; k < n; k++) { /* a partial shuffle: distinct members */
			size_t j = k + rnd(users - k), t = perm[k];
			perm[k] = perm[j], perm[j] = t;
			if (s->n_members == cap)
				s->members = realloc(s->members, (cap *= 2) * sizeof(*s->members));
			s->members[s->n_members++] =
			    (struct cache_member){.gid = s->groups[g].gid, .uid = d->ids[perm[k]]};
		}
	}
	free(perm);
	size_t locals = users ? rnd(users / 4 + 1) : 0;
	s->local_members = calloc(locals + 1, sizeof(*s->local_members));
	for (size_t i = 0; i < locals; i++)
		s->local_members[s->n_local_members++] =
		    (struct cache_local_member){.uid = d->ids[i], .gid = 27 + (uint32_t)i % 3, .name = "sudo"};
}

static void directory_free(struct directory *d)
{
	struct cache_snapshot *s = &d->s;
	for (size_t i = 0; i < s->n_accounts; i++) {
		struct cache_account *a = &s->accounts[i];
		free((char *)a->name), free((char *)a->gecos), free(a->dir), free((char *)a->upn);
		free((char *)a->object_id), free((char *)a->scim_id);
	}
	for (size_t g = 0; g < s->n_groups; g++)
		free((char *)s->groups[g].name), free((char *)s->groups[g].scim_id);
	free(s->accounts), free(s->groups), free(s->members), free(s->local_members), free(d->ids);
}

static void reader_open(const char *path, struct cachefile *cf)
{
	struct stat st;
	int err = 0;
	char why[256] = "";
	int fd = entra_cache_file_open(path, &st, &err, why, sizeof(why));
	if (fd < 0)
		fail_msg("entra_cache_file_open: %s", why);
	if (cf_open(cf, fd, &st, why, sizeof(why)) != 0)
		fail_msg("cf_open: %s", why);
}

/* Column I of Q equals V (NUL-terminated when COPIED). */
static void value_check(sqlite3_stmt *q, int i, const struct bt_value *v, bool copied)
{
	switch (sqlite3_column_type(q, i)) {
	case SQLITE_NULL:
		assert_int_equal(v->type, BT_NULL);
		break;
	case SQLITE_INTEGER:
		assert_int_equal(v->type, BT_INT);
		assert_true(v->i == sqlite3_column_int64(q, i));
		break;
	case SQLITE_TEXT:
	case SQLITE_BLOB: {
		const void *p = sqlite3_column_blob(q, i);
		size_t n = (size_t)sqlite3_column_bytes(q, i);
		assert_int_equal(v->type, sqlite3_column_type(q, i) == SQLITE_TEXT ? BT_TEXT : BT_BLOB);
		assert_int_equal(v->n, n);
		assert_true(n == 0 || memcmp(v->p, p, n) == 0);
		if (v->type == BT_TEXT && copied)
			assert_int_equal(v->p[n], '\0');
		break;
	}
	default:
		fail_msg("unexpected column type");
	}
}

#define COLS_MAX       12
#define PASSWD_COLUMNS 12

/* The entry C is on equals the current row of Q: for a table, Q's column 0 is the rowid and
 * the rest the record (NULL where the INTEGER PRIMARY KEY stands); for an index, the record. */
static void entry_check(struct cachefile *cf, const struct bt_cursor *c, sqlite3_stmt *q)
{
	struct bt_value v[COLS_MAX];
	int64_t rowid = 0;
	bool table = c->kind == BT_TABLE;
	int ncols = sqlite3_column_count(q) - table;
	assert_int_equal(bt_record(&cf->bt, c, v, (size_t)ncols, 0xAAAAu, BT_ARENA_ROW, table ? &rowid : NULL), 0);
	if (table) {
		int64_t only = 0;
		assert_true(rowid == sqlite3_column_int64(q, 0));
		assert_int_equal(bt_rowid(&cf->bt, c, &only), 0);
		assert_true(only == rowid);
	}
	for (int i = 0; i < ncols; i++)
		value_check(q, i + table, &v[i], i & 1); /* odd columns copied (0xAAAA) */
}

/* Every entry of TREE, in order, is the next row of SQL. */
static void scan_check(sqlite3 *db, struct cachefile *cf, enum cf_tree tree, const char *sql)
{
	sqlite3_stmt *q;
	struct bt_cursor c;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	bt_budget_reset(&cf->bt);
	int rc = cf_objects[tree].kind == BT_TABLE ? bt_seek_rowid(&cf->bt, &c, cf->root[tree], INT64_MIN)
	                                           : bt_seek_key(&cf->bt, &c, cf->root[tree], NULL, 0);
	size_t rows = 0;
	while (sqlite3_step(q) == SQLITE_ROW) {
		assert_int_equal(rc, 1);
		entry_check(cf, &c, q);
		rows++;
		rc = bt_next(&cf->bt, &c);
		if (rows % 1000 == 0)
			bt_budget_reset(&cf->bt); /* one look-up's budget is not meant for a whole table */
	}
	assert_int_equal(rc, 0);
	assert_int_equal(cf->bt.err, BT_OK);
	sqlite3_finalize(q);
}

/* bt_seek_* on random keys lands where SQLite's "first row >= key" query does. */
static void seek_check(sqlite3 *db, struct cachefile *cf, enum cf_tree tree, const char *sql, size_t nkey,
                       const uint32_t *ids, size_t nids, size_t tries)
{
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	for (size_t t = 0; t < tries; t++) {
		struct bt_cursor c;
		struct bt_value key[2];
		int rc;
		bt_budget_reset(&cf->bt);
		sqlite3_reset(q);
		for (size_t k = 0; k < nkey; k++) {
			/* An existing id, its neighbours, or anything. */
			int64_t id = rnd(4) ? (int64_t)ids[rnd(nids)] + (int64_t)rnd(3) - 1 : (int64_t)rnd(1ULL << 32);
			key[k] = (struct bt_value){.type = BT_INT, .i = id};
			sqlite3_bind_int64(q, (int)k + 1, id);
		}
		if (cf_objects[tree].kind == BT_TABLE)
			rc = bt_seek_rowid(&cf->bt, &c, cf->root[tree], key[0].i);
		else
			rc = bt_seek_key(&cf->bt, &c, cf->root[tree], key, nkey);
		if (sqlite3_step(q) == SQLITE_ROW) {
			assert_int_equal(rc, 1);
			entry_check(cf, &c, q);
		} else {
			assert_int_equal(rc, 0);
		}
	}
	sqlite3_finalize(q);
}

/* Name seeks: every name, and names just before and after it. */
static void name_seek_check(sqlite3 *db, struct cachefile *cf, enum cf_tree tree, const char *sql, size_t tries)
{
	sqlite3_stmt *all, *q;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	char pick[512];
	const char *t = cf_objects[tree].tbl_name; /* the longest names, then random ones */
	snprintf(pick, sizeof(pick),
	         "SELECT name FROM (SELECT name FROM %s ORDER BY length(name) DESC LIMIT 3) UNION ALL "
	         "SELECT name FROM (SELECT name FROM %s ORDER BY random() LIMIT %zu)",
	         t, t, tries);
	assert_int_equal(sqlite3_prepare_v2(db, pick, -1, &all, NULL), SQLITE_OK);
	while (sqlite3_step(all) == SQLITE_ROW) {
		char name[4096];
		snprintf(name, sizeof(name), "%s", (const char *)sqlite3_column_text(all, 0));
		for (int variant = 0; variant < 3; variant++) {
			size_t len = strlen(name);
			if (variant == 1)
				name[len - 1]--; /* just before */
			if (variant == 2)
				name[len - 1] += 2; /* just after */
			struct bt_cursor c;
			struct bt_value key = {.type = BT_TEXT, .p = name, .n = strlen(name)};
			bt_budget_reset(&cf->bt);
			int rc = bt_seek_key(&cf->bt, &c, cf->root[tree], &key, 1);
			sqlite3_reset(q);
			sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
			if (sqlite3_step(q) == SQLITE_ROW) {
				assert_int_equal(rc, 1);
				entry_check(cf, &c, q);
			} else {
				assert_int_equal(rc, 0);
			}
		}
	}
	sqlite3_finalize(all);
	sqlite3_finalize(q);
}

static const struct {
	enum cf_tree tree;
	const char *scan;
} scans[] = {
    {CF_META, "SELECT key, value FROM meta ORDER BY key"},
    {CF_PASSWD, "SELECT uid, name, NULL, gid, gecos, dir, shell, upn, object_id, scim_id, role, login, expire "
                "FROM passwd ORDER BY uid"},
    {CF_PASSWD_BY_NAME, "SELECT name, uid FROM passwd ORDER BY name"},
    {CF_GROUPS, "SELECT gid, name, NULL, object_id, scim_id, member_uid_min, member_uid_max, member_names "
                "FROM groups ORDER BY gid"},
    {CF_GROUPS_BY_NAME, "SELECT name, gid FROM groups ORDER BY name"},
    {CF_MEMBERS, "SELECT gid, uid FROM members ORDER BY gid, uid"},
    {CF_MEMBERS_BY_UID, "SELECT uid, gid FROM members ORDER BY uid, gid"},
    {CF_LOCAL_MEMBERS, "SELECT uid, gid, name FROM local_members ORDER BY uid, gid"},
    {CF_SSH_KEYS, "SELECT uid, n, key FROM ssh_keys ORDER BY uid, n"},
};

/* Everything the module reads from PATH, through both readers. */
static void file_check(const char *path, const uint32_t *ids, size_t nids, size_t tries)
{
	sqlite3 *db;
	struct cachefile cf;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	reader_open(path, &cf);
	for (size_t i = 0; i < sizeof(scans) / sizeof(scans[0]); i++)
		scan_check(db, &cf, scans[i].tree, scans[i].scan);
	if (nids) {
		seek_check(db, &cf, CF_PASSWD,
		           "SELECT uid, name, NULL, gid, gecos, dir, shell, upn, object_id, scim_id, role, login, "
		           "expire FROM passwd WHERE uid >= ?1 ORDER BY uid LIMIT 1",
		           1, ids, nids, tries);
		seek_check(db, &cf, CF_GROUPS,
		           "SELECT gid, name, NULL, object_id, scim_id, member_uid_min, member_uid_max, member_names "
		           "FROM groups WHERE gid >= ?1 ORDER BY gid LIMIT 1",
		           1, ids, nids, tries);
		seek_check(db, &cf, CF_MEMBERS,
		           "SELECT gid, uid FROM members WHERE (gid, uid) >= (?1, ?2) ORDER BY gid, uid LIMIT 1", 2,
		           ids, nids, tries);
		seek_check(db, &cf, CF_MEMBERS,
		           "SELECT gid, uid FROM members WHERE gid >= ?1 ORDER BY gid, uid LIMIT 1", 1, ids, nids,
		           tries);
		seek_check(db, &cf, CF_MEMBERS_BY_UID,
		           "SELECT uid, gid FROM members WHERE uid >= ?1 ORDER BY uid, gid LIMIT 1", 1, ids, nids,
		           tries);
		seek_check(db, &cf, CF_LOCAL_MEMBERS,
		           "SELECT uid, gid, name FROM local_members WHERE uid >= ?1 ORDER BY uid, gid LIMIT 1", 1, ids,
		           nids, tries);
		name_seek_check(db, &cf, CF_PASSWD_BY_NAME,
		                "SELECT name, uid FROM passwd WHERE name >= ?1 ORDER BY name LIMIT 1", tries);
		name_seek_check(db, &cf, CF_GROUPS_BY_NAME,
		                "SELECT name, gid FROM groups WHERE name >= ?1 ORDER BY name LIMIT 1", tries);
	}
	cf_close(&cf);
	sqlite3_close(db);
}

/* cf_objects is what SQLite writes in sqlite_schema for the project's schema, and the module
 * finds each object's root page. */
static void schema_table_is_what_sqlite_writes(void **state)
{
	struct fixture *f = *state;
	struct directory d;
	directory_make(&d, 1, 3, 1, 0);
	assert_int_equal(cache_write(f->path, &d.s, 1), 0);
	directory_free(&d);
	sqlite3 *db;
	sqlite3_stmt *q;
	struct cachefile cf;
	bool seen[CF_TREES] = {false};
	reader_open(f->path, &cf);
	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT type, name, tbl_name, rootpage, sql FROM sqlite_schema", -1, &q, NULL),
	    SQLITE_OK);
	int rows = 0;
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char *col[5];
		for (int i = 0; i < 5; i++)
			col[i] = (const char *)sqlite3_column_text(q, i);
		int t = 0;
		while (t < CF_TREES &&
		       !(strcmp(cf_objects[t].type, col[0]) == 0 && strcmp(cf_objects[t].name, col[1]) == 0 &&
		         strcmp(cf_objects[t].tbl_name, col[2]) == 0 &&
		         (col[4] && cf_objects[t].sql ? strcmp(cf_objects[t].sql, col[4]) == 0
		                                      : col[4] == cf_objects[t].sql)))
			t++;
		if (t == CF_TREES)
			fail_msg("sqlite_schema row not in cf_objects: %s %s %s", col[0], col[1],
			         col[4] ? col[4] : "NULL");
		assert_false(seen[t]);
		seen[t] = true;
		assert_int_equal(cf.root[t], sqlite3_column_int(q, 3));
		/* rowid tables are table b-trees, WITHOUT ROWID tables and indexes index b-trees */
		bool without_rowid = col[4] && strstr(col[4], "WITHOUT ROWID");
		assert_int_equal(cf_objects[t].kind,
		                 strcmp(col[0], "table") == 0 && !without_rowid ? BT_TABLE : BT_INDEX);
		rows++;
	}
	assert_int_equal(rows, CF_TREES);
	assert_int_equal(rows, ENTRA_CACHE_SCHEMA_ROWS);
	sqlite3_finalize(q);
	sqlite3_close(db);
	cf_close(&cf);
}

static void random_directories_read_as_sqlite_does(void **state)
{
	struct fixture *f = *state;
	for (uint64_t seed = 1; seed <= 12; seed++) {
		struct directory d;
		size_t users = seed == 1 ? 0 : rnd(seed % 3 ? 300 : 3000), groups = rnd(40);
		directory_make(&d, seed, users, groups, seed % 2 ? 7 : 0);
		if (seed % 4 == 0 && users > 1 && groups > 0) { /* index keys spilling onto overflow pages */
			free((char *)d.s.accounts[1].name), free((char *)d.s.groups[0].name);
			d.s.accounts[1].name = rnd_text(1100, "ab");
			d.s.groups[0].name = rnd_text(3000, "xyz");
		}
		assert_int_equal(cache_write(f->path, &d.s, (long long)seed), 0);
		file_check(f->path, d.ids, users + groups, 300);
		directory_free(&d);
	}
}

static void incremental_publication_reads_as_sqlite_does(void **state)
{
	struct fixture *f = *state;
	struct directory a, b;
	directory_make(&a, 41, 1500, 20, 5);
	directory_make(&b, 42, 1200, 25, 4);
	struct cache_packs packs;
	assert_int_equal(cache_write_packed(f->path, &a.s, 1, &packs), 0);
	assert_int_equal(cache_write_delta(f->path, &a.s, &packs, 1, &b.s, 2, NULL, NULL), 0);
	cache_packs_free(&packs);
	file_check(f->path, b.ids, 1225, 500);
	directory_free(&a);
	directory_free(&b);
}

/* Overflow chains whose pages are scattered over the file (values grown and shrunk in place,
 * freed pages reused), as the reader's read-ahead of page-after-page chains must also get right. */
static void scattered_overflow_chains_read_as_sqlite_does(void **state)
{
	struct fixture *f = *state;
	struct directory d;
	sqlite3 *db;
	directory_make(&d, 7, 2000, 30, 3);
	assert_int_equal(cache_write(f->path, &d.s, 1), 0);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db,
	                 "UPDATE groups SET member_names = zeroblob(9000) || member_names WHERE gid % 2 = 0;"
	                 "UPDATE groups SET member_names = substr(member_names, 1, 100) WHERE gid % 3 = 0;"
	                 "UPDATE groups SET member_names = member_names || zeroblob(20000) WHERE gid % 5 = 0;"
	                 "UPDATE groups SET member_names = zeroblob(13000) || member_names WHERE gid % 7 = 1;",
	                 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	file_check(f->path, d.ids, 2030, 300);
	directory_free(&d);
}

static void a_100k_directory_reads_as_sqlite_does(void **state)
{
	struct fixture *f = *state;
	struct directory d;
	directory_make(&d, 99, 100000, 300, 30);
	assert_int_equal(cache_write(f->path, &d.s, 1), 0);
	struct cachefile cf;
	reader_open(f->path, &cf);
	/* deep enough to take interior pages of interior pages */
	struct bt_cursor c;
	assert_int_equal(bt_seek_rowid(&cf.bt, &c, cf.root[CF_PASSWD], 0), 1);
	assert_true(c.depth >= 3);
	/* one look-up's budget covers a whole scan of 100k rows; a small one stops it */
	for (long budget = BT_BUDGET; budget > 0; budget = budget == BT_BUDGET ? 5000 : 0) {
		size_t rows = 0;
		int rc;
		bt_budget_reset(&cf.bt);
		cf.bt.budget = budget;
		for (rc = bt_seek_rowid(&cf.bt, &c, cf.root[CF_PASSWD], 0); rc > 0; rc = bt_next(&cf.bt, &c)) {
			struct bt_value v[PASSWD_COLUMNS];
			if (bt_record(&cf.bt, &c, v, PASSWD_COLUMNS, 0x21F, BT_ARENA_ROW, NULL) < 0)
				break;
			rows++;
		}
		if (budget == BT_BUDGET) {
			assert_int_equal(rc, 0);
			assert_int_equal(rows, 100000);
		} else {
			assert_int_equal(cf.bt.err, BT_ERR_BUDGET);
			assert_true(rows < 5000);
		}
	}
	cf_close(&cf);
	file_check(f->path, d.ids, 100300, 2000);
	directory_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(schema_table_is_what_sqlite_writes, setup, teardown),
	    cmocka_unit_test_setup_teardown(random_directories_read_as_sqlite_does, setup, teardown),
	    cmocka_unit_test_setup_teardown(incremental_publication_reads_as_sqlite_does, setup, teardown),
	    cmocka_unit_test_setup_teardown(scattered_overflow_chains_read_as_sqlite_does, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_100k_directory_reads_as_sqlite_does, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
