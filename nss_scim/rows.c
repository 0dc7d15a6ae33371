/* passwd and groups rows of cache.db: found by rowid (uid, gid) or by name (groups through the
 * UNIQUE name index, accounts from passwd_by_name, which holds the row), decoded and checked
 * (nss_scim/sane.c) before anything is served. Column order is the one of
 * common/cache_schema.h; a rowid table stores NULL for its INTEGER PRIMARY KEY. */
#include "nss_scim/nss_scim.h"

#include <string.h>

enum {
	PW_NAME,
	PW_UID,
	PW_GID,
	PW_GECOS,
	PW_DIR,
	PW_SHELL,
	PW_UPN,
	PW_OBJECT_ID,
	PW_SCIM_ID,
	PW_ROLE,
	PW_LOGIN,
	PW_EXPIRE,
	PW_COLUMNS
};
#define PW_COPY (1u << PW_NAME | 1u << PW_GECOS | 1u << PW_DIR | 1u << PW_SHELL | 1u << PW_ROLE)
/* passwd_by_name's entries: its columns, then the row's rowid (the uid). */
enum { PN_NAME, PN_GID, PN_GECOS, PN_DIR, PN_SHELL, PN_ROLE, PN_EXPIRE, PN_UID, PN_COLUMNS };
#define PN_COPY (1u << PN_NAME | 1u << PN_GECOS | 1u << PN_DIR | 1u << PN_SHELL | 1u << PN_ROLE)
enum { GR_NAME, GR_GID, GR_OBJECT_ID, GR_SCIM_ID, GR_MEMBER_UID_MIN, GR_MEMBER_UID_MAX, GR_MEMBER_NAMES, GR_COLUMNS };

static const char *text_of(const struct bt_value *v)
{
	return v->type == BT_TEXT ? v->p : NULL;
}

/* Where the served columns are in a passwd row and in a passwd_by_name entry. */
struct pw_columns {
	unsigned char name, gid, gecos, dir, shell, role, expire;
};
static const struct pw_columns in_row = {PW_NAME, PW_GID, PW_GECOS, PW_DIR, PW_SHELL, PW_ROLE, PW_EXPIRE};
static const struct pw_columns in_by_name = {PN_NAME, PN_GID, PN_GECOS, PN_DIR, PN_SHELL, PN_ROLE, PN_EXPIRE};

/* Takes R (its uid already set) from the decoded columns COL laid out as AT, and serves it only
 * when every field passes, UID_TYPE_OK included: 1, else 0 (skipped and logged). */
static int pw_decoded(struct nss_view *v, const struct bt_value *col, const struct pw_columns *at, bool uid_type_ok,
                      struct nss_pw_row *r)
{
	r->gid = col[at->gid].i;
	r->expire = col[at->expire].i;
	r->name = text_of(&col[at->name]);
	r->gecos = text_of(&col[at->gecos]);
	r->dir = text_of(&col[at->dir]);
	r->shell = text_of(&col[at->shell]);
	r->role = text_of(&col[at->role]);
	/* The primary group is the account's own private group (common/cache_schema.h): any other
	 * gid could be another account's private group, handed over without a members row. */
	if (uid_type_ok && col[at->gid].type == BT_INT && col[at->expire].type == BT_INT && nss_id_ok(v, r->uid) &&
	    r->gid == r->uid && nss_name_ok(r->name) && nss_field_ok(r->gecos) && nss_path_ok(r->dir) &&
	    nss_path_ok(r->shell) && r->role)
		return 1;
	nss_log_skip(v, SKIP_PASSWD_ROW, (long long)r->uid);
	return 0;
}

int nss_pw_row_at(struct nss_view *v, const struct bt_cursor *c, struct nss_pw_row *r, int *errnop)
{
	struct bt_value col[PW_COLUMNS];
	if (bt_record(v->bt, c, col, PW_COLUMNS, PW_COPY, BT_ARENA_ROW, &r->uid) < 0)
		return nss_failed(v, errnop);
	return pw_decoded(v, col, &in_row, col[PW_UID].type == BT_NULL, r);
}

/* Positions C on the row of TREE whose rowid is KEY: 1, 0 when there is none, -1 error. */
static int rowid_find(struct nss_view *v, enum cf_tree tree, int64_t key, struct bt_cursor *c, int *errnop)
{
	int64_t rowid;
	int rc = bt_seek_rowid(v->bt, c, v->db->file.root[tree], key);
	if (rc > 0 && bt_rowid(v->bt, c, &rowid) < 0)
		rc = -1;
	if (rc < 0)
		return nss_failed(v, errnop);
	return rc > 0 && rowid == key;
}

/* The entry of INDEX whose first column is NAME, its first N columns decoded into COL (COPY and
 * ARENA as bt_record has them): 1, 0 none, -1 error. */
static int name_entry(struct nss_view *v, enum cf_tree index, const char *name, struct bt_value *col, size_t n,
                      unsigned copy, int arena, int *errnop)
{
	struct bt_cursor c;
	struct bt_value key = {.type = BT_TEXT, .p = name, .n = strlen(name)};
	int rc = bt_seek_key(v->bt, &c, v->db->file.root[index], &key, 1);
	if (rc > 0 && bt_record(v->bt, &c, col, n, copy, arena, NULL) < 0)
		rc = -1;
	if (rc < 0)
		return nss_failed(v, errnop);
	return rc > 0 && bt_value_cmp(&col[0], &key) == 0;
}

/* The rowid the UNIQUE name index INDEX gives NAME: 1 (*ROWID), 0 none, -1 error. */
static int name_find(struct nss_view *v, enum cf_tree index, const char *name, int64_t *rowid, int *errnop)
{
	struct bt_value entry[2];
	int rc = name_entry(v, index, name, entry, 2, 0, BT_ARENA_AUX, errnop);
	if (rc <= 0)
		return rc;
	if (entry[1].type != BT_INT) /* an index entry ends with its row's rowid */
		return nss_corrupt(v, errnop);
	*rowid = entry[1].i;
	return 1;
}

int nss_pw_find_uid(struct nss_view *v, int64_t uid, struct nss_pw_row *r, int *errnop)
{
	struct bt_cursor c;
	int rc = rowid_find(v, CF_PASSWD, uid, &c, errnop);
	return rc > 0 ? nss_pw_row_at(v, &c, r, errnop) : rc;
}

/* One b-tree for the whole account: passwd_by_name's first entry at NAME holds the row's
 * served columns and its uid (at 100k accounts, one leaf page read instead of two). The entry
 * is not checked against passwd: SQLite keeps the two alike, and a file written to make them
 * differ (a name on another row's uid) gains nothing its writer cannot have by writing passwd
 * so (any uid of the range under any name); what the module guards, a uid and a name of its
 * range and form, a primary group that is the account's own, is checked here as for a row. */
int nss_pw_find_name(struct nss_view *v, const char *name, struct nss_pw_row *r, int *errnop)
{
	struct bt_value col[PN_COLUMNS];
	int rc = name_entry(v, CF_PASSWD_BY_NAME, name, col, PN_COLUMNS, PN_COPY, BT_ARENA_ROW, errnop);
	if (rc <= 0)
		return rc;
	r->uid = col[PN_UID].i;
	return pw_decoded(v, col, &in_by_name, col[PN_UID].type == BT_INT, r);
}

int nss_pw_name_of(struct nss_view *v, int64_t uid, const char **name, size_t *len, int *errnop)
{
	struct bt_cursor c;
	struct bt_value col[1];
	int rc = rowid_find(v, CF_PASSWD, uid, &c, errnop);
	if (rc <= 0)
		return rc;
	if (bt_record(v->bt, &c, col, 1, 1u << PW_NAME, BT_ARENA_AUX, NULL) < 0)
		return nss_failed(v, errnop);
	*name = text_of(&col[0]);
	*len = *name ? col[0].n : 0;
	return 1;
}

int nss_gr_row_at(struct nss_view *v, const struct bt_cursor *c, struct nss_gr_row *g, int *errnop)
{
	struct bt_value col[GR_COLUMNS];
	if (bt_record(v->bt, c, col, GR_COLUMNS, 1u << GR_NAME, BT_ARENA_ROW, &g->gid) < 0)
		return nss_failed(v, errnop);
	g->name = text_of(&col[GR_NAME]);
	g->member_min = col[GR_MEMBER_UID_MIN].i;
	g->member_max = col[GR_MEMBER_UID_MAX].i;
	g->names = col[GR_MEMBER_NAMES].p;
	g->names_len = col[GR_MEMBER_NAMES].n;
	if (col[GR_GID].type == BT_NULL && col[GR_MEMBER_UID_MIN].type == BT_INT &&
	    col[GR_MEMBER_UID_MAX].type == BT_INT && col[GR_MEMBER_NAMES].type == BT_BLOB && nss_name_ok(g->name) &&
	    nss_gid_ok(v, g->gid))
		return 1;
	nss_log_skip(v, SKIP_GROUP_ROW, (long long)g->gid);
	return 0;
}

int nss_gr_find_gid(struct nss_view *v, int64_t gid, struct nss_gr_row *g, int *errnop)
{
	struct bt_cursor c;
	int rc = rowid_find(v, CF_GROUPS, gid, &c, errnop);
	return rc > 0 ? nss_gr_row_at(v, &c, g, errnop) : rc;
}

int nss_gr_find_name(struct nss_view *v, const char *name, struct nss_gr_row *g, int *errnop)
{
	int64_t gid = 0; /* set when name_find gives 1 */
	int rc = name_find(v, CF_GROUPS_BY_NAME, name, &gid, errnop);
	if (rc > 0 && (rc = nss_gr_find_gid(v, gid, g, errnop)) > 0 && strcmp(g->name, name) != 0)
		return nss_corrupt(v, errnop);
	return rc;
}

int nss_gid_is_private(struct nss_view *v, int64_t gid, int *errnop)
{
	struct bt_cursor c;
	return rowid_find(v, CF_PASSWD, gid, &c, errnop);
}
