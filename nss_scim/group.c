/* group database: every account's private group (name = user, gid = uid, no members) and the
 * SCIM groups with their members. getgrnam_r, getgrgid_r, setgrent/getgrent_r/endgrent. */
#include "nss_scim/nss_scim.h"

#include <errno.h>
#include <grp.h>
#include <string.h>

#include "nss_scim/blocks.h"

/* Enumeration: the private groups (the accounts of passwd_blocks) until that scan is done, then
 * the SCIM groups. */
enum { GR_PRIVATE, GR_SCIM };
static struct nss_cursor gr_cursors[2] = {NSS_CURSOR_INIT(CF_PASSWD_BLOCKS), NSS_CURSOR_INIT(CF_GROUPS)};

__attribute__((destructor)) static void gr_unload(void)
{
	nss_cursor_drop(&gr_cursors[GR_PRIVATE]);
}

static enum nss_status erange(int *errnop)
{
	*errnop = ERANGE;
	return NSS_STATUS_TRYAGAIN;
}

/* An account's private group: its NAME (LEN bytes), "*", gid UID, no members. */
static enum nss_status private_pack(const char *name, size_t name_len, int64_t uid, struct group *gr, char *buf,
                                    size_t len, int *errnop)
{
	struct nss_pack p = {buf, len};
	char **mem;
	if (!(gr->gr_name = nss_pack_text(&p, name, name_len)) || !(gr->gr_passwd = nss_pack_text(&p, "*", 1)) ||
	    !(mem = nss_pack_ptrs(&p, 1)))
		return erange(errnop);
	mem[0] = NULL;
	gr->gr_mem = mem;
	gr->gr_gid = (gid_t)uid;
	return NSS_STATUS_SUCCESS;
}

static enum nss_status private_fill(const struct nss_pw_row *r, struct group *gr, char *buf, size_t len, int *errnop)
{
	return private_pack(r->name, strlen(r->name), r->uid, gr, buf, len, errnop);
}

/* The private group of block entry E (checked). */
static enum nss_status private_fill_entry(const struct nss_blk_entry *e, struct group *gr, char *buf, size_t len,
                                          int *errnop)
{
	return private_pack(e->text, e->len[BLK_NAME], e->uid, gr, buf, len, errnop);
}

/* The pointer array for the N names packed from FIRST on, NULL-terminated, into *MEM_OUT. */
static enum nss_status members_point(struct nss_pack *p, char *first, size_t n, char ***mem_out, int *errnop)
{
	char **mem = nss_pack_ptrs(p, n + 1);
	if (!mem)
		return erange(errnop);
	for (size_t i = 0; i < n; i++, first += strlen(first) + 1)
		mem[i] = first;
	mem[n] = NULL;
	*mem_out = mem;
	return NSS_STATUS_SUCCESS;
}

/* The member at C, when it is GID's: 1 with *UID, 0 past GID's members, -1 error. */
static int member_at(struct nss_view *v, struct bt_cursor *c, int64_t gid, int64_t *uid, int *errnop)
{
	struct bt_value col[2]; /* members(gid, uid), WITHOUT ROWID */
	if (bt_record(v->bt, c, col, 2, 0, BT_ARENA_AUX, NULL) < 0)
		return nss_failed(v, errnop);
	if (col[0].type != BT_INT || col[0].i != gid || col[1].type != BT_INT || col[1].i > v->id_max)
		return 0; /* in key order, anything else sorts after GID's members in range */
	*uid = col[1].i;
	return 1;
}

/* The slow path, for a group with members outside the configured uid range: the member names
 * of GID from the members b-tree (keyed (gid, uid): one range read) joined with passwd (one
 * rowid descent per member), then the pointers (the count is only known once the names are
 * packed, so no allocation is needed). */
static enum nss_status members_join_rows(struct nss_view *v, int64_t gid, struct nss_pack *p, char ***mem_out,
                                         int *errnop)
{
	struct bt_cursor c;
	struct bt_value key[2] = {{.type = BT_INT, .i = gid}, {.type = BT_INT, .i = v->id_min}};
	char *first = p->cur;
	size_t n = 0;
	int64_t uid = 0, prev = (int64_t)v->id_min - 1;
	int rc = bt_seek_key(v->bt, &c, v->db->file.root[CF_MEMBERS], key, 2);
	for (; rc > 0 && (rc = member_at(v, &c, gid, &uid, errnop)) > 0; rc = bt_next(v->bt, &c)) {
		const char *name;
		size_t len;
		if (uid <= prev) { /* below the range, or out of key order: a damaged or hostile b-tree */
			nss_corrupt(v, errnop);
			return NSS_STATUS_UNAVAIL;
		}
		prev = uid;
		int found = nss_pw_name_of(v, uid, &name, &len, errnop);
		if (found < 0)
			return NSS_STATUS_UNAVAIL;
		if (found && (!name || nss_name_len(name) != len || !len)) {
			nss_log_skip(v, SKIP_MEMBER_ROW, (long long)gid);
			continue;
		}
		if (found && !nss_pack_text(p, name, len))
			return erange(errnop);
		n += (size_t)found;
	}
	if (rc < 0) {
		nss_failed(v, errnop); /* idempotent: the log line is written once */
		return NSS_STATUS_UNAVAIL;
	}
	return members_point(p, first, n, mem_out, errnop);
}

/* The fast path: the row's packed member names (common/cache_schema.h) copied in one go, then
 * checked in place (a name that must not be served is dropped by moving the rest over it), the
 * pointer array after them, filled in the same pass. */
static enum nss_status members_copy(struct nss_view *v, const struct nss_gr_row *g, struct nss_pack *p, char ***mem_out,
                                    int *errnop)
{
	size_t len = g->names_len, dropped = 0;
	if (len > NSS_MEMBER_NAMES_MAX) /* far beyond any group the writer makes: hostile */
		return nss_corrupt(v, errnop), NSS_STATUS_UNAVAIL;
	if (len > p->left)
		return erange(errnop);
	char *first = p->cur;
	if (len)
		memcpy(first, g->names, len);
	if (len && first[len - 1] != '\0') { /* the last name must end inside the value */
		char *nul = memrchr(first, '\0', len);
		len = nul ? (size_t)(nul - first) + 1 : 0;
		dropped = 1;
	}
	/* Room for the pointers: all that is left after the names, aligned (nss_pack_ptrs). */
	struct nss_pack rest = {first + len, p->left - len};
	char **mem = nss_pack_ptrs(&rest, 1); /* aligned: the slots that follow are whole */
	if (!mem)
		return erange(errnop);
	size_t slots = 1 + rest.left / sizeof(char *);
	size_t filtered = 0, n = nss_names_filter(first, len, mem, slots - 1, &filtered);
	if (n == SIZE_MAX)
		return erange(errnop);
	if (n > NSS_GROUP_MEMBERS_MAX)
		return nss_corrupt(v, errnop), NSS_STATUS_UNAVAIL;
	if (dropped + filtered)
		nss_log_skip(v, SKIP_MEMBER_ROW, (long long)g->gid);
	mem[n] = NULL;
	*mem_out = mem;
	/* The caller packs nothing after the members: the rest of the buffer is the array's. */
	p->cur = (char *)(mem + n + 1);
	p->left = 0;
	return NSS_STATUS_SUCCESS;
}

/* members_join_rows, whose passwd descents land on pages far apart: read one by one even in an
 * enumeration, whose window would read 32 pages for each. */
static enum nss_status members_join(struct nss_view *v, int64_t gid, struct nss_pack *p, char ***mem_out, int *errnop)
{
	bool streaming = v->bt->stream;
	bt_stream(v->bt, false);
	enum nss_status st = members_join_rows(v, gid, p, mem_out, errnop);
	bt_stream(v->bt, streaming);
	return st;
}

/* Members of group G: packed in the row when they all lie in the configured range. */
static enum nss_status members_fill(struct nss_view *v, const struct nss_gr_row *g, struct nss_pack *p, char ***mem_out,
                                    int *errnop)
{
	if (g->names_len == 0 || (g->member_min >= v->id_min && g->member_max <= v->id_max))
		return members_copy(v, g, p, mem_out, errnop);
	return members_join(v, g->gid, p, mem_out, errnop);
}

static enum nss_status nss_group_fill(struct nss_view *v, const struct nss_gr_row *g, struct group *gr, char *buf,
                                      size_t len, int *errnop)
{
	struct nss_pack p = {buf, len};
	if (!(gr->gr_name = nss_pack_str(&p, g->name)) || !(gr->gr_passwd = nss_pack_str(&p, "*")))
		return erange(errnop);
	gr->gr_gid = (gid_t)g->gid;
	return members_fill(v, g, &p, &gr->gr_mem, errnop);
}

/* A look-up's result: the private group (RC_PW from passwd, row R) first, else the SCIM group
 * (RC_GR, row G), each 1 found, 0 not, -1 error. */
static enum nss_status group_result(struct nss_view *v, int rc_pw, const struct nss_pw_row *r, int rc_gr,
                                    const struct nss_gr_row *g, struct group *gr, char *buf, size_t len, int *errnop)
{
	if (rc_pw > 0)
		return private_fill(r, gr, buf, len, errnop);
	if (rc_pw < 0 || rc_gr < 0)
		return NSS_STATUS_UNAVAIL;
	if (rc_gr > 0)
		return nss_group_fill(v, g, gr, buf, len, errnop);
	*errnop = ENOENT;
	return NSS_STATUS_NOTFOUND;
}

enum nss_status _nss_scim_getgrnam_r(const char *name, struct group *gr, char *buf, size_t len, int *errnop)
{
	struct nss_view v;
	struct nss_pw_row r;
	struct nss_gr_row g;
	if (!nss_name_ok(name)) {
		*errnop = ENOENT;
		return NSS_STATUS_NOTFOUND;
	}
	enum nss_status st = nss_begin(&v, errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	int rc_pw = nss_pw_find_name(&v, name, &r, errnop);
	int rc_gr = rc_pw == 0 ? nss_gr_find_name(&v, name, &g, errnop) : 0;
	st = group_result(&v, rc_pw, &r, rc_gr, &g, gr, buf, len, errnop);
	nss_end(&v);
	return st;
}

enum nss_status _nss_scim_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t len, int *errnop)
{
	struct nss_view v;
	struct nss_pw_row r;
	struct nss_gr_row g;
	enum nss_status st = nss_begin(&v, errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	if (!nss_gid_ok(&v, gid)) {
		*errnop = ENOENT;
		st = NSS_STATUS_NOTFOUND;
	} else {
		/* gid_min..gid_max holds no account: no private group to look for there. */
		int rc_pw = nss_gid_apart(&v, gid) ? 0 : nss_pw_find_uid(&v, gid, &r, errnop);
		int rc_gr = rc_pw == 0 ? nss_gr_find_gid(&v, gid, &g, errnop) : 0;
		st = group_result(&v, rc_pw, &r, rc_gr, &g, gr, buf, len, errnop);
	}
	nss_end(&v);
	return st;
}

static void gr_enum_rewind(void)
{
	nss_cursor_rewind(&gr_cursors[GR_PRIVATE]);
	nss_cursor_rewind(&gr_cursors[GR_SCIM]);
}

enum nss_status _nss_scim_setgrent(int stayopen)
{
	gr_enum_rewind();
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_scim_endgrent(void)
{
	gr_enum_rewind();
	return NSS_STATUS_SUCCESS;
}

/* The next valid row of cursor C whose rows are private groups (passwd rows) or SCIM groups:
 * 1 with the entry filled or an ERANGE/error status in *st, 0 when the scan is done. */
static int next_group(struct nss_view *v, struct nss_cursor *c, struct group *gr, char *buf, size_t len, int *errnop,
                      enum nss_status *st)
{
	struct nss_blk_entry e;
	struct nss_gr_row g;
	int rc;
	if (c->tree == CF_PASSWD_BLOCKS) {
		if ((rc = nss_blk_next(v, c, &e, errnop)) > 0 &&
		    (*st = private_fill_entry(&e, gr, buf, len, errnop)) == NSS_STATUS_SUCCESS)
			nss_blk_served(c, &e);
	} else {
		while ((rc = nss_scan_row(v, c, errnop)) > 0 && (rc = nss_gr_row_at(v, &c->bt, &g, errnop)) == 0)
			nss_scan_skipped(c);
		if (rc > 0 && (*st = nss_group_fill(v, &g, gr, buf, len, errnop)) == NSS_STATUS_SUCCESS)
			nss_scan_served(c, g.gid);
	}
	if (rc < 0)
		*st = NSS_STATUS_UNAVAIL;
	return rc != 0;
}

enum nss_status _nss_scim_getgrent_r(struct group *gr, char *buf, size_t len, int *errnop)
{
	struct nss_view v;
	enum nss_status st = nss_begin_scan(&v, gr_cursors, 2, errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	/* Under the lock from here: a done private-group scan moves on to the SCIM groups. */
	if (!next_group(&v, &gr_cursors[GR_PRIVATE], gr, buf, len, errnop, &st) &&
	    !next_group(&v, &gr_cursors[GR_SCIM], gr, buf, len, errnop, &st)) {
		*errnop = ENOENT;
		st = NSS_STATUS_NOTFOUND;
	}
	nss_end(&v);
	return st;
}
