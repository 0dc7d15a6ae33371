/* shadow database: getspnam_r, setspent/getspent_r/endspent.
 *
 * Entries carry no secret (cache.db is world-readable), so they are served to every caller:
 *   sp_pwdp   "*"      no password: sign-in goes through Entra (pam_entra)
 *   sp_lstchg -1       empty field: password ageing off (0 would mean "change at next login")
 *   sp_min 0, sp_max 99999, sp_warn 7, sp_inact -1 (the usual useradd defaults)
 *   sp_expire          the cache's expire column: -1 never, 1 disabled by Entra (1970-01-02);
 *                      any other negative value is treated as disabled (fail closed) */
#include "nss_scim/nss_scim.h"

#include <errno.h>
#include <limits.h>
#include <shadow.h>

#include "common/cache_schema.h"

static struct nss_cursor sp_cursor = NSS_CURSOR_INIT(CF_PASSWD);

static enum nss_status sp_fill(const struct nss_pw_row *r, struct spwd *sp, char *buf, size_t len, int *errnop)
{
	struct nss_pack p = {buf, len};
	if (!(sp->sp_namp = nss_pack_str(&p, r->name)) || !(sp->sp_pwdp = nss_pack_str(&p, "*"))) {
		*errnop = ERANGE;
		return NSS_STATUS_TRYAGAIN;
	}
	sp->sp_lstchg = -1;
	sp->sp_min = 0;
	sp->sp_max = 99999;
	sp->sp_warn = 7;
	sp->sp_inact = -1;
	sp->sp_expire =
	    r->expire < ENTRA_EXPIRE_NEVER || r->expire > LONG_MAX ? ENTRA_EXPIRE_DISABLED : (long)r->expire;
	sp->sp_flag = ~0ul;
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_scim_getspnam_r(const char *name, struct spwd *sp, char *buf, size_t len, int *errnop)
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
		st = sp_fill(&r, sp, buf, len, errnop);
	nss_end(&v);
	return st;
}

enum nss_status _nss_scim_setspent(int stayopen)
{
	nss_cursor_rewind(&sp_cursor);
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_scim_endspent(void)
{
	nss_cursor_rewind(&sp_cursor);
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_scim_getspent_r(struct spwd *sp, char *buf, size_t len, int *errnop)
{
	struct nss_view v;
	struct nss_pw_row r;
	enum nss_status st = nss_begin_scan(&v, &sp_cursor, 1, errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	if ((st = nss_pw_next(&v, &sp_cursor, &r, errnop)) == NSS_STATUS_SUCCESS &&
	    (st = sp_fill(&r, sp, buf, len, errnop)) == NSS_STATUS_SUCCESS)
		nss_scan_served(&sp_cursor, r.uid);
	nss_end(&v);
	return st;
}
