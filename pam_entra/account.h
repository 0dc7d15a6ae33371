/* The account a login is for, as cache.db (common/cache_schema.h) describes it. */
#ifndef PE_ACCOUNT_H
#define PE_ACCOUNT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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

/* Looks NAME up in the read-only snapshot CACHE_DB, opened as untrusted input
 * (common/cache_reader.h). A missing cache.db counts as "not found" (not configured yet: local
 * stacks must keep working); an unreadable, untrusted or hostile one is an error. */
enum pe_lookup pe_account_lookup(const char *cache_db, const char *name, struct pe_account *out, char *err,
                                 size_t errlen);

enum pe_account_state { PE_ACCOUNT_OK, PE_ACCOUNT_EXPIRED, PE_ACCOUNT_NO_LOGIN, PE_ACCOUNT_SUPERUSER };

enum pe_account_state pe_account_state(const struct pe_account *account, time_t now);

/* Identity binding: the token's oid must be the account's object id. An account without one
 * (Entra's default mapping sends mailNickname as externalId) signs in only when ALLOW_UPN (the
 * admin's [pam] allow_upn_binding), and then by preferred_username = UPN, which Entra documents
 * as mutable: case-insensitive compares. 0 or -1 with REASON. */
int pe_account_binding_check(const struct pe_account *account, bool allow_upn, const json_t *claims, char *reason,
                             size_t reasonlen);
/* The refusal for an account without an object id when UPN binding is off, in REASON. */
void pe_account_no_object_id(const struct pe_account *account, char *reason, size_t reasonlen);

/* The account NSS resolves for ACCOUNT's name must be this cache row: the same uid, inside
 * [UID_MIN, UID_MAX]. A local account of the same name (added after the last publish, or served
 * by another NSS source) would otherwise receive the Entra user's session. 0, or -1 with REASON. */
int pe_account_identity_check(const struct pe_account *account, uint32_t uid_min, uint32_t uid_max, char *reason,
                              size_t reasonlen);
/* True when NSS resolves NAME to an account outside [UID_MIN, UID_MAX]: a local user, never
 * pam_entra's, whatever state cache.db is in. */
bool pe_account_is_local(const char *name, uint32_t uid_min, uint32_t uid_max);

#endif
