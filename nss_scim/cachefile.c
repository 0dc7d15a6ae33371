/* cache.db's header (fileformat2.html 1.3) and schema (2.6), checked byte for byte against what
 * entra-syncd writes: nothing else in the file is read before both pass. */
#include "nss_scim/cachefile.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/byte_order.h"
#include "common/cache_file.h"
#include "common/cache_schema.h"

const struct cf_object cf_objects[CF_TREES] = {
    [CF_META] = {"table", "meta", "meta", ENTRA_CACHE_SQL_META, BT_INDEX},
    [CF_PASSWD] = {"table", "passwd", "passwd", ENTRA_CACHE_SQL_PASSWD, BT_TABLE},
    [CF_PASSWD_NAME_UNIQUE] = {"index", "sqlite_autoindex_passwd_1", "passwd", NULL, BT_INDEX},
    [CF_PASSWD_BY_NAME] = {"index", "passwd_by_name", "passwd", ENTRA_CACHE_SQL_PASSWD_BY_NAME, BT_INDEX},
    [CF_GROUPS] = {"table", "groups", "groups", ENTRA_CACHE_SQL_GROUPS, BT_TABLE},
    [CF_GROUPS_BY_NAME] = {"index", "sqlite_autoindex_groups_1", "groups", NULL, BT_INDEX},
    [CF_MEMBERS] = {"table", "members", "members", ENTRA_CACHE_SQL_MEMBERS, BT_INDEX},
    [CF_MEMBERS_BY_UID] = {"index", "members_by_uid", "members", ENTRA_CACHE_SQL_MEMBERS_BY_UID, BT_INDEX},
    [CF_LOCAL_MEMBERS] = {"table", "local_members", "local_members", ENTRA_CACHE_SQL_LOCAL_MEMBERS, BT_INDEX},
    [CF_SSH_KEYS] = {"table", "ssh_keys", "ssh_keys", ENTRA_CACHE_SQL_SSH_KEYS, BT_INDEX},
    [CF_PASSWD_BLOCKS] = {"table", "passwd_blocks", "passwd_blocks", ENTRA_CACHE_SQL_PASSWD_BLOCKS, BT_TABLE},
};

/* 1.3: the header the writer produces (rollback journal off, no auto-vacuum, UTF-8). */
static const char *header_problem(const unsigned char *h, const struct stat *st)
{
	static const unsigned char zero[20];
	if (memcmp(h, "SQLite format 3", 16) != 0)
		return "not an SQLite database";
	if (entra_be16(h + 16) != BT_PAGE)
		return "a page size other than " ENTRA_CACHE_STR(ENTRA_CACHE_PAGE_SIZE);
	if (h[18] != 1 || h[19] != 1 || h[20] != 0 || h[21] != 64 || h[22] != 32 || h[23] != 32)
		return "file format numbers or reserved bytes other than entra-syncd writes";
	uint32_t pages = entra_be32(h + 28);
	if (entra_be32(h + 92) != entra_be32(h + 24) || pages == 0 ||
	    (uint64_t)pages * BT_PAGE != (uint64_t)st->st_size)
		return "size does not match its page count (truncated?)";
	uint32_t format = entra_be32(h + 44);
	if (format < 1 || format > 4 || entra_be32(h + 52) != 0 || entra_be32(h + 56) != 1 || entra_be32(h + 64) != 0 ||
	    memcmp(h + 72, zero, sizeof(zero)) != 0)
		return "header fields other than entra-syncd writes (schema format, auto-vacuum, encoding)";
	return NULL;
}

static bool text_is(const struct bt_value *v, const char *s)
{
	if (!s)
		return v->type == BT_NULL;
	return v->type == BT_TEXT && v->n == strlen(s) && !memcmp(v->p, s, v->n);
}

/* The object of cf_objects row ROW is, or CF_TREES. */
static enum cf_tree object_of(const struct bt_value *row)
{
	for (int t = 0; t < CF_TREES; t++) {
		const struct cf_object *o = &cf_objects[t];
		if (text_is(&row[0], o->type) && text_is(&row[1], o->name) && text_is(&row[2], o->tbl_name) &&
		    text_is(&row[4], o->sql))
			return (enum cf_tree)t;
	}
	return CF_TREES;
}

/* 2.6: page 1 is one leaf of exactly the project's rows, each once, with distinct root pages. */
static const char *schema_read(struct cachefile *cf)
{
	struct bt_cursor c;
	struct bt_value row[5];
	bool seen[CF_TREES] = {false}, all = true;
	unsigned rows = 0;
	int rc = bt_seek_rowid(&cf->bt, &c, 1, INT64_MIN);
	for (; rc > 0; rc = bt_next(&cf->bt, &c)) {
		if (c.depth != 1 || ++rows > ENTRA_CACHE_SCHEMA_ROWS)
			return "a schema other than the one entra-syncd writes (not one page of its " ENTRA_CACHE_STR(
			    ENTRA_CACHE_SCHEMA_ROWS) " objects)";
		if (bt_record(&cf->bt, &c, row, 5, 0, BT_ARENA_ROW, NULL) < 0)
			break;
		enum cf_tree t = object_of(row);
		if (t == CF_TREES || seen[t] || row[3].type != BT_INT || row[3].i < 2 || row[3].i > cf->bt.npages) {
			all = false;
			continue;
		}
		seen[t] = true;
		cf->root[t] = (uint32_t)row[3].i;
	}
	if (rc < 0)
		return "its schema cannot be read (damaged or hostile)";
	for (int t = 0; t < CF_TREES; t++)
		for (int u = 0; u < t; u++)
			all = all && seen[t] && cf->root[t] != cf->root[u];
	return all && rows == CF_TREES && seen[0] ? NULL : "a schema other than the one entra-syncd writes";
}

static const char version_mismatch[] = "schema_version is not " ENTRA_CACHE_STR(
    ENTRA_CACHE_SCHEMA_VERSION) " (entra-syncd and the modules are from different releases: install matching versions)";

/* meta's schema_version must be this release's. */
static const char *version_check(struct cachefile *cf)
{
	struct bt_cursor c;
	struct bt_value key = {.type = BT_TEXT, .p = "schema_version", .n = 14}, row[2];
	int rc = bt_seek_key(&cf->bt, &c, cf->root[CF_META], &key, 1);
	if (rc > 0 && bt_record(&cf->bt, &c, row, 2, 0, BT_ARENA_ROW, NULL) < 0)
		rc = -1;
	if (rc < 0)
		return "its meta table cannot be read (damaged or hostile)";
	if (rc == 0 || bt_value_cmp(&row[0], &key) != 0)
		return "no schema_version in meta";
	return text_is(&row[1], ENTRA_CACHE_STR(ENTRA_CACHE_SCHEMA_VERSION)) ? NULL : version_mismatch;
}

static int refuse(struct cachefile *cf, const char *problem, char *why, size_t whylen)
{
	int rc = cf->bt.err == BT_ERR_NOMEM ? CF_NOMEM : -1;
	snprintf(why, whylen, "%s", rc == CF_NOMEM ? "out of memory" : problem);
	cf_close(cf);
	return rc;
}

int cf_open(struct cachefile *cf, int fd, const struct stat *st, char *why, size_t whylen)
{
	memset(cf, 0, sizeof(*cf));
	bt_open(&cf->bt, fd, (uint32_t)(st->st_size / BT_PAGE));
	const unsigned char *h = bt_page(&cf->bt, 1);
	const char *problem = h ? header_problem(h, st) : "its first page cannot be read";
	if (problem)
		return refuse(cf, problem, why, whylen);
	problem = schema_read(cf);
	/* Another release's file (e.g. version 1) has other tables but our meta table: say so
	 * rather than call it hostile (still refused: the version cannot match ours). */
	const char *version = cf->root[CF_META] ? version_check(cf) : NULL;
	if (problem && version == version_mismatch)
		problem = version;
	else if (!problem)
		problem = version;
	if (problem)
		return refuse(cf, problem, why, whylen);
	bt_budget_reset(&cf->bt);
	return 0;
}

void cf_disown(struct cachefile *cf)
{
	cf->bt.has_fd = false;
}

void cf_close(struct cachefile *cf)
{
	bt_close(&cf->bt);
	memset(cf, 0, sizeof(*cf));
}
