#include "pam_entra/account.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/cache_reader.h"

static int copy_text(char *dst, size_t dstlen, const unsigned char *src)
{
	const char *s = src ? (const char *)src : "";
	if (strlen(s) >= dstlen)
		return -1;
	strcpy(dst, s);
	return 0;
}

static enum pe_lookup row_read(sqlite3_stmt *st, const char *name, struct pe_account *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (sqlite3_column_type(st, 0) != SQLITE_INTEGER)
		return snprintf(err, errlen, "cache.db row for '%s' has no numeric uid; republish it with entra-syncd",
		                name),
		       PE_ACCOUNT_ERROR;
	out->uid = sqlite3_column_int64(st, 0);
	out->login = sqlite3_column_int(st, 3);
	out->expire = sqlite3_column_int64(st, 4);
	if (copy_text(out->name, sizeof(out->name), (const unsigned char *)name) ||
	    copy_text(out->upn, sizeof(out->upn), sqlite3_column_text(st, 1)) ||
	    copy_text(out->object_id, sizeof(out->object_id), sqlite3_column_text(st, 2))) {
		snprintf(err, errlen, "cache.db row for '%s' has an over-long field; republish it with entra-syncd",
		         name);
		return PE_ACCOUNT_ERROR;
	}
	return PE_ACCOUNT_FOUND;
}

static enum pe_lookup query(sqlite3 *db, const char *name, struct pe_account *out, char *err, size_t errlen)
{
	static const char sql[] = "SELECT uid, upn, object_id, login, expire FROM passwd WHERE name = ?1";
	sqlite3_stmt *st = NULL;
	enum pe_lookup rc = PE_ACCOUNT_ERROR;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) != SQLITE_OK) {
		snprintf(err, errlen, "cannot query cache.db: %s", sqlite3_errmsg(db));
		goto out;
	}
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		rc = row_read(st, name, out, err, errlen);
	else if (step == SQLITE_DONE)
		rc = PE_ACCOUNT_NOT_FOUND;
	else
		snprintf(err, errlen, "cannot read cache.db: %s", sqlite3_errmsg(db));
out:
	sqlite3_finalize(st);
	return rc;
}

enum pe_lookup pe_account_lookup(const char *cache_db, const char *name, struct pe_account *out, char *err,
                                 size_t errlen)
{
	struct entra_cache cache;
	char why[384];
	int errnum;
	if (errlen)
		err[0] = '\0'; /* callers read ERR after NOT_FOUND too: a found-nothing query sets no text */
	if (entra_cache_open(cache_db, &cache, &errnum, why, sizeof(why))) {
		snprintf(err, errlen, "%s: %s", cache_db, errnum == ENOENT ? "does not exist" : why);
		return errnum == ENOENT ? PE_ACCOUNT_NOT_FOUND : PE_ACCOUNT_ERROR;
	}
	enum pe_lookup rc = query(cache.db, name, out, err, errlen);
	if (rc == PE_ACCOUNT_ERROR && entra_cache_budget_spent(&cache))
		snprintf(err, errlen, "%s: the look-up exceeded its work bound (damaged or hostile file)", cache_db);
	entra_cache_close(&cache);
	return rc;
}

enum pe_account_state pe_account_state(const struct pe_account *a, time_t now)
{
	if (a->uid == 0 || !strcmp(a->name, "root"))
		return PE_ACCOUNT_SUPERUSER;
	/* shadow(5): the account is unusable from day sp_expire on. */
	if (a->expire != -1 && a->expire <= (long long)(now / 86400))
		return PE_ACCOUNT_EXPIRED;
	if (a->login != 1)
		return PE_ACCOUNT_NO_LOGIN;
	return PE_ACCOUNT_OK;
}

int pe_account_binding_check(const struct pe_account *a, bool allow_upn, const json_t *claims, char *reason,
                             size_t reasonlen)
{
	const char *oid = json_string_value(json_object_get(claims, "oid"));
	const char *upn = json_string_value(json_object_get(claims, "preferred_username"));
	if (a->object_id[0]) {
		if (!oid || strcasecmp(oid, a->object_id))
			return snprintf(reason, reasonlen,
			                "token oid %.64s is not the Entra object id %s of account %s",
			                oid ? oid : "(none)", a->object_id, a->name),
			       -1;
		return 0;
	}
	if (!allow_upn)
		return pe_account_no_object_id(a, reason, reasonlen), -1;
	if (!upn || strcasecmp(upn, a->upn))
		return snprintf(reason, reasonlen, "token preferred_username '%.128s' is not the UPN %s of account %s",
		                upn ? upn : "(none)", a->upn, a->name),
		       -1;
	return 0;
}

void pe_account_no_object_id(const struct pe_account *a, char *reason, size_t reasonlen)
{
	snprintf(reason, reasonlen,
	         "account %s has no Entra object id, and a UPN is no proof of identity; map objectId to externalId "
	         "in the Entra provisioning app (or set [pam] allow_upn_binding = yes, see pam_entra(8))",
	         a->name);
}
