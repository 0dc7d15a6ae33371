/* group database: every account's private group (name = user, gid = uid, no members) and the
 * SCIM groups with their members. getgrnam_r, getgrgid_r, setgrent/getgrent_r/endgrent. */
#include "nss_scim.h"

#include <errno.h>
#include <grp.h>
#include <string.h>

static struct scim_cursor gr_cursor = {0, -1};

static enum nss_status erange(int *errnop)
{
	*errnop = ERANGE;
	return NSS_STATUS_TRYAGAIN;
}

static enum nss_status private_fill(const struct scim_pw_row *r, struct group *gr, char *buf, size_t len, int *errnop)
{
	struct scim_pack p = {buf, len};
	char **mem;
	if (!(gr->gr_name = scim_pack_str(&p, r->name)) || !(gr->gr_passwd = scim_pack_str(&p, "*")) ||
	    !(mem = scim_pack_ptrs(&p, 1)))
		return erange(errnop);
	mem[0] = NULL;
	gr->gr_mem = mem;
	gr->gr_gid = (gid_t)r->uid;
	return NSS_STATUS_SUCCESS;
}

/* Packs the member names of GID one after another, then the NULL-terminated pointer array
 * (the count is only known once the names are packed, so no allocation is needed). */
static enum nss_status members_fill(struct scim_view *v, int64_t gid, struct scim_pack *p, char ***mem_out, int *errnop)
{
	sqlite3_stmt *q = v->db->st[ST_GR_MEMBERS];
	char *first = p->cur;
	size_t n = 0;
	int rc;
	sqlite3_bind_int64(q, 1, gid);
	while ((rc = scim_step(v, q, errnop)) > 0) {
		const char *name = (const char *)sqlite3_column_text(q, 0);
		if (sqlite3_column_type(q, 0) != SQLITE_TEXT || !scim_name_ok(name) ||
		    !scim_id_ok(v, sqlite3_column_int64(q, 1))) {
			scim_log_skip(v, SKIP_MEMBER_ROW, (long long)gid);
			continue;
		}
		if (!scim_pack_str(p, name))
			return erange(errnop);
		n++;
	}
	if (rc < 0)
		return NSS_STATUS_UNAVAIL;
	char **mem = scim_pack_ptrs(p, n + 1);
	if (!mem)
		return erange(errnop);
	for (size_t i = 0; i < n; i++, first += strlen(first) + 1)
		mem[i] = first;
	mem[n] = NULL;
	*mem_out = mem;
	return NSS_STATUS_SUCCESS;
}

/* Reads the current row of an ST_GR_* statement: false (logged) when it must not be served. */
static bool group_row_ok(struct scim_view *v, sqlite3_stmt *q)
{
	if (sqlite3_column_type(q, GR_NAME) == SQLITE_TEXT && sqlite3_column_type(q, GR_GID) == SQLITE_INTEGER &&
	    scim_name_ok((const char *)sqlite3_column_text(q, GR_NAME)) &&
	    scim_id_ok(v, sqlite3_column_int64(q, GR_GID)))
		return true;
	scim_log_skip(v, SKIP_GROUP_ROW, (long long)sqlite3_column_int64(q, GR_GID));
	return false;
}

static enum nss_status scim_group_fill(struct scim_view *v, sqlite3_stmt *q, struct group *gr, char *buf, size_t len,
                                       int *errnop)
{
	struct scim_pack p = {buf, len};
	int64_t gid = sqlite3_column_int64(q, GR_GID);
	if (!(gr->gr_name = scim_pack_str(&p, (const char *)sqlite3_column_text(q, GR_NAME))) ||
	    !(gr->gr_passwd = scim_pack_str(&p, "*")))
		return erange(errnop);
	gr->gr_gid = (gid_t)gid;
	return members_fill(v, gid, &p, &gr->gr_mem, errnop);
}

/* Private group first (via PW, bound to the same key), then the SCIM group (via GR). */
static enum nss_status group_lookup(struct scim_view *v, sqlite3_stmt *pw, sqlite3_stmt *grq, struct group *gr,
                                    char *buf, size_t len, int *errnop)
{
	struct scim_pw_row r;
	int rc = scim_pw_find(v, pw, &r, errnop);
	if (rc > 0)
		return private_fill(&r, gr, buf, len, errnop);
	if (rc == 0)
		rc = scim_step(v, grq, errnop);
	if (rc < 0)
		return NSS_STATUS_UNAVAIL;
	if (rc > 0 && group_row_ok(v, grq))
		return scim_group_fill(v, grq, gr, buf, len, errnop);
	*errnop = ENOENT;
	return NSS_STATUS_NOTFOUND;
}

enum nss_status _nss_scim_getgrnam_r(const char *name, struct group *gr, char *buf, size_t len, int *errnop)
{
	struct scim_view v;
	if (!scim_name_ok(name)) {
		*errnop = ENOENT;
		return NSS_STATUS_NOTFOUND;
	}
	enum nss_status st = scim_begin(&v, errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	sqlite3_bind_text(v.db->st[ST_PW_BY_NAME], 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(v.db->st[ST_GR_BY_NAME], 1, name, -1, SQLITE_STATIC);
	st = group_lookup(&v, v.db->st[ST_PW_BY_NAME], v.db->st[ST_GR_BY_NAME], gr, buf, len, errnop);
	scim_end(&v);
	return st;
}

enum nss_status _nss_scim_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t len, int *errnop)
{
	struct scim_view v;
	enum nss_status st = scim_begin(&v, errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	if (scim_id_ok(&v, gid)) {
		sqlite3_bind_int64(v.db->st[ST_PW_BY_UID], 1, gid);
		sqlite3_bind_int64(v.db->st[ST_GR_BY_GID], 1, gid);
		st = group_lookup(&v, v.db->st[ST_PW_BY_UID], v.db->st[ST_GR_BY_GID], gr, buf, len, errnop);
	} else {
		*errnop = ENOENT;
		st = NSS_STATUS_NOTFOUND;
	}
	scim_end(&v);
	return st;
}

enum nss_status _nss_scim_setgrent(int stayopen)
{
	scim_cursor_reset_locked(&gr_cursor);
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_scim_endgrent(void)
{
	scim_cursor_reset_locked(&gr_cursor);
	return NSS_STATUS_SUCCESS;
}

/* Phase 0: private groups in uid order. Returns 1 with the entry filled or an ERANGE/error
 * status in *st, 0 when the phase is exhausted. */
static int next_private(struct scim_view *v, struct group *gr, char *buf, size_t len, int *errnop, enum nss_status *st)
{
	struct scim_pw_row r;
	int rc = scim_pw_next(v, gr_cursor.last, &r, errnop);
	if (rc == 0)
		return 0;
	if (rc < 0)
		*st = NSS_STATUS_UNAVAIL;
	else if ((*st = private_fill(&r, gr, buf, len, errnop)) == NSS_STATUS_SUCCESS)
		gr_cursor.last = r.uid;
	return 1;
}

/* Phase 1: SCIM groups in gid order, same contract as next_private. */
static int next_scim(struct scim_view *v, struct group *gr, char *buf, size_t len, int *errnop, enum nss_status *st)
{
	sqlite3_stmt *q = v->db->st[ST_GR_AFTER_GID];
	int64_t after = gr_cursor.last;
	for (;;) {
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, after);
		int rc = scim_step(v, q, errnop);
		if (rc == 0)
			return 0;
		if (rc < 0) {
			*st = NSS_STATUS_UNAVAIL;
			return 1;
		}
		int64_t key = sqlite3_column_int64(q, GR_GID);
		if (key <= after) { /* a damaged b-tree can answer with a row before the seek key */
			scim_corrupt(v, errnop);
			*st = NSS_STATUS_UNAVAIL;
			return 1;
		}
		after = key;
		if (!group_row_ok(v, q))
			continue;
		if ((*st = scim_group_fill(v, q, gr, buf, len, errnop)) == NSS_STATUS_SUCCESS)
			gr_cursor.last = after;
		return 1;
	}
}

enum nss_status _nss_scim_getgrent_r(struct group *gr, char *buf, size_t len, int *errnop)
{
	struct scim_view v;
	enum nss_status st = scim_begin(&v, errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	if (gr_cursor.phase == 0 && !next_private(&v, gr, buf, len, errnop, &st)) {
		gr_cursor.phase = 1;
		gr_cursor.last = -1;
	}
	if (gr_cursor.phase == 1 && !next_scim(&v, gr, buf, len, errnop, &st)) {
		gr_cursor.phase = 2;
		*errnop = ENOENT;
		st = NSS_STATUS_NOTFOUND;
	} else if (gr_cursor.phase == 2) {
		*errnop = ENOENT;
		st = NSS_STATUS_NOTFOUND;
	}
	scim_end(&v);
	return st;
}
