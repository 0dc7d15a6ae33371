/* libFuzzer target: libnss_scim's own reader of cache.db (nss_scim/cachefile.c, btree.c) on
 * mutated files. Needs no root: it calls the reader directly, not through NSS (fuzz_nss_cache
 * does that).
 *
 * Input: the bytes of a cache.db. When they start like an SQLite file the header's page count is
 * set to the input's size in pages (the input padded with zeros to whole pages), so mutations
 * inside the b-trees are not all refused by the size check; that check itself is kept busy by
 * the unpatched inputs of fuzz_nss_cache. Then every b-tree is scanned (every record decoded,
 * text copied) and sought at keys taken from the input, under a small work budget. The reader
 * must never crash, read out of bounds, or run past its budget; whatever it decodes must lie in
 * the buffers it says. Then the module's passwd_blocks enumeration (nss_scim/blocks.c) runs over
 * the file as getpwent does, repositioning now and then as after a reopen: every entry it serves
 * must pass the row checks, in rising uid order; and each name passwd_by_name holds is looked
 * up as getpwnam does. Seeds: corpus/nss_btree (make_seeds.py). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cache_file.h"
#include "nss_scim/blocks.h"
#include "nss_scim/cachefile.h"

#define MAX_PAGES     64
#define SCAN_ENTRIES  2000
#define FUZZ_BUDGET   20000
#define SEEKS_PER_RUN 16

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/fuzz_nss_btree.XXXXXX";
static char path[64];
static unsigned char file[MAX_PAGES * BT_PAGE];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (!mkdtemp(dir) || chmod(dir, 0755) != 0)
		abort();
	snprintf(path, sizeof(path), "%s/cache.db", dir);
	return 0;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* The input as a file of whole pages with a matching page count: its size. */
static size_t file_make(const uint8_t *data, size_t size)
{
	if (size > sizeof(file))
		size = sizeof(file);
	memcpy(file, data, size);
	if (size < 100 || memcmp(file, "SQLite format 3", 16) != 0)
		return size;
	size_t pages = (size + BT_PAGE - 1) / BT_PAGE;
	memset(file + size, 0, pages * BT_PAGE - size);
	put32(file + 28, (uint32_t)pages);
	memcpy(file + 92, file + 24, 4); /* version-valid-for = change counter: the count is valid */
	return pages * BT_PAGE;
}

static void file_write(size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, file, size) != (ssize_t)size || fchmod(fd, 0644) != 0)
		abort();
	close(fd);
}

/* Whatever was decoded lies where the reader says: read every byte (ASan checks). */
static void values_touch(const struct bt_value *v, size_t n)
{
	volatile unsigned char sink = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].type != BT_TEXT && v[i].type != BT_BLOB)
			continue;
		if (v[i].n > BT_PAYLOAD_MAX)
			abort();
		for (size_t k = 0; k < v[i].n; k++)
			sink ^= (unsigned char)v[i].p[k];
		if (v[i].type == BT_TEXT && v[i].p[v[i].n] != '\0')
			abort(); /* copied text is NUL-terminated */
	}
	(void)sink;
}

/* Reads the entry C is on; false once the reader failed. */
static bool entry_read(struct cachefile *cf, const struct bt_cursor *c)
{
	struct bt_value v[12];
	int64_t rowid;
	if (bt_record(&cf->bt, c, v, 12, ~0u, BT_ARENA_ROW, c->kind == BT_TABLE ? &rowid : NULL) < 0)
		return false;
	values_touch(v, 12);
	return c->kind != BT_TABLE || bt_rowid(&cf->bt, c, &rowid) == 0;
}

static void budget_small(struct cachefile *cf)
{
	bt_budget_reset(&cf->bt);
	cf->bt.budget = FUZZ_BUDGET;
}

static void tree_scan(struct cachefile *cf, enum cf_tree t)
{
	struct bt_cursor c;
	budget_small(cf);
	int rc = cf_objects[t].kind == BT_TABLE ? bt_seek_rowid(&cf->bt, &c, cf->root[t], INT64_MIN)
	                                        : bt_seek_key(&cf->bt, &c, cf->root[t], NULL, 0);
	for (int n = 0; rc > 0 && n < SCAN_ENTRIES && entry_read(cf, &c); n++)
		rc = bt_next(&cf->bt, &c);
	if (cf->bt.budget < -BT_WINDOW_PAGES * BT_READ_COST)
		abort(); /* the budget is a hard stop: nothing is read once it is spent (a window at most) */
}

/* Seeks keyed by bytes of the input: ids, names and id pairs. */
static void tree_seeks(struct cachefile *cf, const uint8_t *data, size_t size)
{
	for (int i = 0; i < SEEKS_PER_RUN && size >= 8; i++) {
		size_t at = (size_t)i * 7919 % (size - 7);
		int64_t id = (int64_t)((uint64_t)data[at] << 24 | (uint64_t)data[at + 1] << 16 | data[at + 2] << 8 |
		                       data[at + 3]);
		struct bt_value key[2] = {{.type = BT_INT, .i = id}, {.type = BT_INT, .i = id + data[at + 4]}};
		struct bt_value name = {.type = BT_TEXT, .p = (const char *)data + at, .n = data[at + 5] % 8};
		enum cf_tree t = (enum cf_tree)(data[at + 6] % CF_TREES);
		struct bt_cursor c;
		budget_small(cf);
		int rc;
		if (cf_objects[t].kind == BT_TABLE)
			rc = bt_seek_rowid(&cf->bt, &c, cf->root[t], id);
		else if (t == CF_PASSWD_BY_NAME || t == CF_PASSWD_NAME_UNIQUE || t == CF_GROUPS_BY_NAME || t == CF_META)
			rc = bt_seek_key(&cf->bt, &c, cf->root[t], &name, 1);
		else
			rc = bt_seek_key(&cf->bt, &c, cf->root[t], key, 1 + (data[at] & 1));
		for (int n = 0; rc > 0 && n < 4 && entry_read(cf, &c); n++)
			rc = bt_next(&cf->bt, &c);
	}
}

/* Whether an account the module served passes the checks every passwd entry must. */
static bool account_ok(const struct nss_view *v, int64_t uid, const char *name, const char *gecos, const char *home,
                       const char *shell)
{
	return nss_id_ok(v, uid) && nss_name_ok(name) && nss_field_ok(gecos) && nss_path_ok(home) && nss_path_ok(shell);
}

/* getpwent's walk over passwd_blocks, with the module's checks: what it serves is valid. */
static void blocks_scan(struct nss_db *db)
{
	struct nss_view v = {.db = db, .bt = &db->file.bt, .id_min = 200000, .id_max = 2000200000u};
	struct nss_cursor c = NSS_CURSOR_INIT(CF_PASSWD_BLOCKS);
	struct nss_blk_entry e;
	int err = 0;
	for (int n = 0; n < SCAN_ENTRIES; n++) {
		budget_small(&db->file);
		if (nss_blk_next(&v, &c, &e, &err) <= 0)
			break;
		const char *gecos = e.text + e.len[BLK_NAME] + 1, *home = gecos + e.len[BLK_GECOS] + 1,
		           *shell = home + e.len[BLK_DIR] + 1;
		if (e.uid <= c.last || !account_ok(&v, e.uid, e.text, gecos, home, shell) ||
		    shell + e.len[BLK_SHELL] + 1 != e.text + e.text_len)
			abort();
		nss_blk_served(&c, &e);
		if (n % 7 == 3)
			db->epoch++; /* a reopen: the scan seeks to the block after the last uid served */
	}
	free(c.blk.buf);
}

/* getpwnam's look-up (passwd_by_name alone) of each name the index holds, as the module makes
 * it: what it serves passes the row checks and is the account asked for. */
static void name_lookups(struct nss_db *db)
{
	struct nss_view v = {.db = db, .bt = &db->file.bt, .id_min = 200000, .id_max = 2000200000u};
	struct bt_cursor c;
	struct bt_value key;
	char name[NSS_NAME_MAX + 1];
	budget_small(&db->file);
	int rc = bt_seek_key(&db->file.bt, &c, db->file.root[CF_PASSWD_BY_NAME], NULL, 0);
	for (int n = 0; rc > 0 && n < SEEKS_PER_RUN; n++) {
		if (bt_record(&db->file.bt, &c, &key, 1, 1, BT_ARENA_AUX, NULL) < 0 || key.type != BT_TEXT)
			break;
		snprintf(name, sizeof(name), "%s", key.p);
		struct nss_pw_row r;
		int err = 0;
		if (nss_name_ok(name) && nss_pw_find_name(&v, name, &r, &err) > 0 &&
		    (strcmp(r.name, name) != 0 || !account_ok(&v, r.uid, r.name, r.gecos, r.dir, r.shell) ||
		     r.gid != r.uid || !r.role))
			abort();
		budget_small(&db->file);
		rc = bt_next(&db->file.bt, &c);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stat st;
	struct nss_db db = {.open = true, .epoch = 1, .path = path};
	struct cachefile *cf = &db.file;
	int err = 0;
	char why[256];
	file_write(file_make(data, size));
	int fd = entra_cache_file_open(path, &st, &err, why, sizeof(why));
	if (fd < 0 || cf_open(cf, fd, &st, why, sizeof(why)) != 0)
		return 0;
	for (int stream = 0; stream < 2; stream++) { /* page by page, then as enumerations read */
		bt_stream(&cf->bt, stream);
		for (int t = 0; t < CF_TREES; t++)
			tree_scan(cf, (enum cf_tree)t);
		if (stream)
			blocks_scan(&db);
		bt_stream(&cf->bt, false);
	}
	tree_seeks(cf, data, size);
	name_lookups(&db);
	bt_trim(&cf->bt);
	cf_close(cf);
	return 0;
}
