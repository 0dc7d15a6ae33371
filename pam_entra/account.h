/* The account a login is for, as cache.db (common/cache_schema.h) describes it. */
#ifndef PE_ACCOUNT_H
#define PE_ACCOUNT_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

struct pe_account {
	char name[256];
	long long uid;
	char upn[320];
	char object_id[64]; /* empty when Entra sent none */
	int login;
	long long expire; /* shadow sp_expire in days since the epoch; -1 = never */
};

enum pe_lookup { PE_ACCOUNT_FOUND, PE_ACCOUNT_NOT_FOUND, PE_ACCOUNT_ERROR };

/* Looks NAME up in the read-only snapshot CACHE_DB. A missing cache.db counts as "not found"
 * (not configured yet: local stacks must keep working); an unreadable one is an error. */
enum pe_lookup pe_account_lookup(const char *cache_db, const char *name, struct pe_account *out, char *err,
                                 size_t errlen);

enum pe_account_state { PE_ACCOUNT_OK, PE_ACCOUNT_EXPIRED, PE_ACCOUNT_NO_LOGIN, PE_ACCOUNT_SUPERUSER };

enum pe_account_state pe_account_state(const struct pe_account *account, time_t now);

/* Identity binding: the token's oid must be the account's object id; without one, its
 * preferred_username must be the account's UPN (both case-insensitive). 0 or -1 with REASON. */
int pe_account_binding_check(const struct pe_account *account, const json_t *claims, char *reason, size_t reasonlen);

#endif
