/* passwd database: getpwnam_r, getpwuid_r, setpwent/getpwent_r/endpwent. */
#include "nss_scim/nss_scim.h"

#include <errno.h>
#include <pwd.h>
#include <string.h>

#include "nss_scim/blocks.h"

/* getpwent reads passwd_blocks (nss_scim/blocks.h). */
static struct nss_cursor pw_cursor = NSS_CURSOR_INIT(CF_PASSWD_BLOCKS);

__attribute__((destructor)) static void pw_unload(void)
{
	nss_cursor_drop(&pw_cursor);
}

static enum nss_status pw_fill(const struct nss_pw_row *r, struct passwd *pw, char *buf, size_t len, int *errnop)
{
	struct nss_pack p = {buf, len};
	/* "x": the password lives in shadow, which holds "*" (sign-in goes through Entra). */
	if (!(pw->pw_name = nss_pack_str(&p, r->name)) || !(pw->pw_passwd = nss_pack_str(&p, "x")) ||
	    !(pw->pw_gecos = nss_pack_str(&p, r->gecos)) || !(pw->pw_dir = nss_pack_str(&p, r->dir)) ||
	    !(pw->pw_shell = nss_pack_str(&p, r->shell))) {
		*errnop = ERANGE;
		return NSS_STATUS_TRYAGAIN;
	}
	pw->pw_uid = (uid_t)r->uid;
	pw->pw_gid = (gid_t)r->gid;
	return NSS_STATUS_SUCCESS;
}

/* A look-up's or a scan's result RC (1 row, 0 none, -1 error) as an NSS status. */
static enum nss_status pw_status(int rc, int *errnop)
{
	if (rc < 0)
		return NSS_STATUS_UNAVAIL;
	if (rc == 0) {
		*errnop = ENOENT;
		return NSS_STATUS_NOTFOUND;
	}
	return NSS_STATUS_SUCCESS;
}

enum nss_status nss_pw_by_name(struct nss_view *v, const char *name, struct nss_pw_row *r, int *errnop)
{
	return pw_status(nss_pw_find_name(v, name, r, errnop), errnop);
}

enum nss_status nss_pw_next(struct nss_view *v, struct nss_cursor *c, struct nss_pw_row *r, int *errnop)
{
	return pw_status(nss_pw_scan(v, c, r, errnop), errnop);
}

enum nss_status _nss_scim_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len, int *errnop)
{
	struct nss_view v;
	struct nss_pw_row r;
	if (!nss_name_ok(name)) {
		*errnop = ENOENT;
		return NSS_STATUS_NOTFOUND;
	}
	enum nss_status st = nss_begin(&v, errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	if ((st = nss_pw_by_name(&v, name, &r, errnop)) == NSS_STATUS_SUCCESS)
		st = pw_fill(&r, pw, buf, len, errnop);
	nss_end(&v);
	return st;
}

enum nss_status _nss_scim_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len, int *errnop)
{
	struct nss_view v;
	enum nss_status st = nss_begin(&v, errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	if (nss_id_ok(&v, uid)) {
		struct nss_pw_row r;
		if ((st = pw_status(nss_pw_find_uid(&v, uid, &r, errnop), errnop)) == NSS_STATUS_SUCCESS)
			st = pw_fill(&r, pw, buf, len, errnop);
	} else {
		*errnop = ENOENT;
		st = NSS_STATUS_NOTFOUND;
	}
	nss_end(&v);
	return st;
}

enum nss_status _nss_scim_setpwent(int stayopen)
{
	nss_cursor_rewind(&pw_cursor);
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_scim_endpwent(void)
{
	nss_cursor_rewind(&pw_cursor);
	return NSS_STATUS_SUCCESS;
}

int nss_pw_scan(struct nss_view *v, struct nss_cursor *c, struct nss_pw_row *r, int *errnop)
{
	int rc;
	while ((rc = nss_scan_row(v, c, errnop)) > 0) {
		if ((rc = nss_pw_row_at(v, &c->bt, r, errnop)) != 0)
			return rc;
		nss_scan_skipped(c);
	}
	return rc;
}

/* A block entry (checked) into the caller's buffer: its four texts in one copy, then "x". */
static enum nss_status pw_fill_entry(const struct nss_blk_entry *e, struct passwd *pw, char *buf, size_t len,
                                     int *errnop)
{
	if (e->text_len + 2 > len) {
		*errnop = ERANGE;
		return NSS_STATUS_TRYAGAIN;
	}
	memcpy(buf, e->text, e->text_len);
	pw->pw_name = buf;
	pw->pw_gecos = pw->pw_name + e->len[BLK_NAME] + 1;
	pw->pw_dir = pw->pw_gecos + e->len[BLK_GECOS] + 1;
	pw->pw_shell = pw->pw_dir + e->len[BLK_DIR] + 1;
	pw->pw_passwd = memcpy(buf + e->text_len, "x", 2); /* the password lives in shadow */
	pw->pw_uid = (uid_t)e->uid;
	pw->pw_gid = (gid_t)e->uid;
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_scim_getpwent_r(struct passwd *pw, char *buf, size_t len, int *errnop)
{
	struct nss_view v;
	struct nss_blk_entry e;
	enum nss_status st = nss_begin_scan(&v, &pw_cursor, 1, errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	int rc = nss_blk_next(&v, &pw_cursor, &e, errnop);
	if (rc > 0 && (st = pw_fill_entry(&e, pw, buf, len, errnop)) == NSS_STATUS_SUCCESS)
		nss_blk_served(&pw_cursor, &e); /* only on success: an ERANGE retry gets the same entry */
	else if (rc <= 0)
		st = pw_status(rc, errnop);
	nss_end(&v);
	return st;
}
