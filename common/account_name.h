/* The shape of an account or group name entra-syncd publishes, for every reader of cache.db
 * (libnss_scim, entra-sync authorized-keys, the session watcher): a tampered cache must never
 * make one of them act for a name the others would refuse. */
#ifndef ENTRA_ACCOUNT_NAME_H
#define ENTRA_ACCOUNT_NAME_H

#include <stdbool.h>
#include <stddef.h>

/* Longest name served (bytes). */
#define ENTRA_ACCOUNT_NAME_MAX 256

/* strlen(NAME) when NAME holds only what entra-syncd writes ([a-z0-9_.@-]), is at most
 * ENTRA_ACCOUNT_NAME_MAX bytes, does not start with '-', is not "." or "..", is not all digits
 * (chown would take it for a uid) and is not reserved (common/reserved_names.h); else 0. */
size_t entra_account_name_len(const char *name);
bool entra_account_name_ok(const char *name);

#endif
