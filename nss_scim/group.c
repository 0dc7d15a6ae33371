/* group database: every account's private group (name = user, gid = uid, no members) and the
 * SCIM groups with their members. getgrnam_r, getgrgid_r, setgrent/getgrent_r/endgrent. */
#include "nss_scim/nss_scim.h"

#include <errno.h>
#include <grp.h>
#include <string.h>

/* Enumeration: the private groups (passwd scan) until that scan is done, then the SCIM groups. */
enum { GR_PRIVATE, GR_SCIM };
static struct nss_cursor gr_cursors[2] = {NSS_CURSOR_INIT(ST_SCAN_PRIVATE_GROUPS), NSS_CURSOR_INIT(ST_SCAN_GROUPS)};

static enum nss_status erange(int *errnop)
{
	*errnop = ERANGE;
	return NSS_STATUS_TRYAGAIN;
}

static enum nss_status private_fill(const struct nss_pw_row *r, struct group *gr, char *buf, size_t len, int *errnop)
{
	struct nss_pack p = {buf, len};
	char **mem;
	if (!(gr->gr_name = nss_pack_str(&p, r->name)) || !(gr->gr_passwd = nss_pack_str(&p, "*")) ||
	    !(mem = nss_pack_ptrs(&p, 1)))
		return erange(errnop);
	mem[0] = NULL;
	gr->gr_mem = mem;
	gr->gr_gid = (gid_t)r->uid;
	return NSS_STATUS_SUCCESS;
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

/* The slow path, for a group with members outside the configured uid range: the member names
 * of GID from the members table joined with passwd, one after another, then the pointers (the
 * count is only known once the names are packed, so no allocation is needed). */
static enum nss_status members_join(struct nss_view *v, int64_t gid, struct nss_pack *p, char ***mem_out, int *errnop)
{
	sqlite3_stmt *q = nss_stmt(v, ST_GR_MEMBERS, errnop);
	if (!q)
		return NSS_STATUS_UNAVAIL;
	char *first = p->cur;
	size_t n = 0;
	int rc;
	sqlite3_bind_int64(q, 1, gid);
	sqlite3_bind_int64(q, 2, v->id_min); /* members outside the uid range are not accounts */
	sqlite3_bind_int64(q, 3, v->id_max);
	while ((rc = nss_step(v, q, errnop)) > 0) {
		const char *name = (const char *)sqlite3_column_text(q, 0);
		size_t size = nss_name_len(name) + 1;
		/* A length that differs from the column's means an embedded NUL (or a non-text value). */
		if (size == 1 || sqlite3_column_type(q, 0) != SQLITE_TEXT ||
		    size != (size_t)sqlite3_column_bytes(q, 0) + 1) {
			nss_log_skip(v, SKIP_MEMBER_ROW, (long long)gid);
			continue;
		}
		if (size > p->left)
			return erange(errnop);
		memcpy(p->cur, name, size);
		p->cur += size;
		p->left -= size;
		n++;
	}
	if (rc < 0)
		return NSS_STATUS_UNAVAIL;
	return members_point(p, first, n, mem_out, errnop);
}

/* The fast path: the row's packed member names (common/cache_schema.h) copied in one go, then
 * checked in place (a name that must not be served is dropped by moving the rest over it), the
 * pointer array after them, filled in the same pass. */
static enum nss_status members_copy(struct nss_view *v, sqlite3_stmt *q, struct nss_pack *p, char ***mem_out,
                                    int *errnop)
{
	const char *blob = sqlite3_column_blob(q, GR_MEMBER_NAMES);
	size_t len = (size_t)sqlite3_column_bytes(q, GR_MEMBER_NAMES), dropped = 0;
	if (len > p->left)
		return erange(errnop);
	char *first = p->cur;
	if (len)
		memcpy(first, blob, len);
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
	if (dropped + filtered)
		nss_log_skip(v, SKIP_MEMBER_ROW, (long long)sqlite3_column_int64(q, GR_GID));
	mem[n] = NULL;
	*mem_out = mem;
	/* The caller packs nothing after the members: the rest of the buffer is the array's. */
	p->cur = (char *)(mem + n + 1);
	p->left = 0;
	return NSS_STATUS_SUCCESS;
}

/* Members of the group row Q: packed in the row when they all lie in the configured range. */
static enum nss_status members_fill(struct nss_view *v, sqlite3_stmt *q, struct nss_pack *p, char ***mem_out,
                                    int *errnop)
{
	int64_t lo = sqlite3_column_int64(q, GR_MEMBER_UID_MIN), hi = sqlite3_column_int64(q, GR_MEMBER_UID_MAX);
	if (sqlite3_column_bytes(q, GR_MEMBER_NAMES) == 0 || (lo >= v->id_min && hi <= v->id_max))
		return members_copy(v, q, p, mem_out, errnop);
	return members_join(v, sqlite3_column_int64(q, GR_GID), p, mem_out, errnop);
}

/* Reads the current row of an ST_GR_* statement: false (logged) when it must not be served. */
static bool group_row_ok(struct nss_view *v, sqlite3_stmt *q)
{
	if (sqlite3_column_type(q, GR_NAME) == SQLITE_TEXT && sqlite3_column_type(q, GR_GID) == SQLITE_INTEGER &&
	    sqlite3_column_type(q, GR_MEMBER_UID_MIN) == SQLITE_INTEGER &&
	    sqlite3_column_type(q, GR_MEMBER_UID_MAX) == SQLITE_INTEGER &&
	    sqlite3_column_type(q, GR_MEMBER_NAMES) == SQLITE_BLOB &&
	    nss_name_ok((const char *)sqlite3_column_text(q, GR_NAME)) && nss_id_ok(v, sqlite3_column_int64(q, GR_GID)))
		return true;
	nss_log_skip(v, SKIP_GROUP_ROW, (long long)sqlite3_column_int64(q, GR_GID));
	return false;
}

static enum nss_status nss_group_fill(struct nss_view *v, sqlite3_stmt *q, struct group *gr, char *buf, size_t len,
                                      int *errnop)
{
	struct nss_pack p = {buf, len};
	int64_t gid = sqlite3_column_int64(q, GR_GID);
	if (!(gr->gr_name = nss_pack_str(&p, (const char *)sqlite3_column_text(q, GR_NAME))) ||
	    !(gr->gr_passwd = nss_pack_str(&p, "*")))
		return erange(errnop);
	gr->gr_gid = (gid_t)gid;
	return members_fill(v, q, &p, &gr->gr_mem, errnop);
}

/* Private group first (via PW, bound to the same key), then the SCIM group (via GR). */
static enum nss_status group_lookup(struct nss_view *v, sqlite3_stmt *pw, sqlite3_stmt *grq, struct group *gr,
                                    char *buf, size_t len, int *errnop)
{
	struct nss_pw_row r;
	int rc = nss_pw_find(v, pw, &r, errnop);
	if (rc > 0)
		return private_fill(&r, gr, buf, len, errnop);
	if (rc == 0)
		rc = nss_step(v, grq, errnop);
	if (rc < 0)
		return NSS_STATUS_UNAVAIL;
	if (rc > 0 && group_row_ok(v, grq))
		return nss_group_fill(v, grq, gr, buf, len, errnop);
	*errnop = ENOENT;
	return NSS_STATUS_NOTFOUND;
}

enum nss_status _nss_scim_getgrnam_r(const char *name, struct group *gr, char *buf, size_t len, int *errnop)
{
	struct nss_view v;
	if (!nss_name_ok(name)) {
		*errnop = ENOENT;
		return NSS_STATUS_NOTFOUND;
	}
	enum nss_status st = nss_begin(&v, errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	sqlite3_stmt *pw = nss_stmt(&v, ST_PW_BY_NAME, errnop), *grq = pw ? nss_stmt(&v, ST_GR_BY_NAME, errnop) : NULL;
	if (grq) {
		sqlite3_bind_text(pw, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(grq, 1, name, -1, SQLITE_STATIC);
		st = group_lookup(&v, pw, grq, gr, buf, len, errnop);
	} else {
		st = NSS_STATUS_UNAVAIL;
	}
	nss_end(&v);
	return st;
}

enum nss_status _nss_scim_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t len, int *errnop)
{
	struct nss_view v;
	enum nss_status st = nss_begin(&v, errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	sqlite3_stmt *pw = nss_stmt(&v, ST_PW_BY_UID, errnop), *grq = pw ? nss_stmt(&v, ST_GR_BY_GID, errnop) : NULL;
	if (!grq) {
		st = NSS_STATUS_UNAVAIL;
	} else if (nss_id_ok(&v, gid)) {
		sqlite3_bind_int64(pw, 1, gid);
		sqlite3_bind_int64(grq, 1, gid);
		st = group_lookup(&v, pw, grq, gr, buf, len, errnop);
	} else {
		*errnop = ENOENT;
		st = NSS_STATUS_NOTFOUND;
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
	sqlite3_stmt *q;
	struct nss_pw_row r;
	int rc;
	if (c->scan == ST_SCAN_PRIVATE_GROUPS) {
		if ((rc = nss_pw_scan(v, c, &r, errnop)) > 0 &&
		    (*st = private_fill(&r, gr, buf, len, errnop)) == NSS_STATUS_SUCCESS)
			nss_scan_served(c, r.uid);
	} else {
		while ((rc = nss_scan_row(v, c, &q, errnop)) > 0 && !group_row_ok(v, q))
			nss_scan_skipped(c);
		int64_t gid = rc > 0 ? sqlite3_column_int64(q, GR_GID) : 0;
		if (rc > 0 && (*st = nss_group_fill(v, q, gr, buf, len, errnop)) == NSS_STATUS_SUCCESS)
			nss_scan_served(c, gid);
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
