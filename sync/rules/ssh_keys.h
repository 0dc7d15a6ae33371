/* The SSH public keys an account serves on this host (cache.db table ssh_keys): only accounts
 * that may sign in here (role allows login, not disabled) get keys, and only lines
 * common/ssh_key.c accepts; every other line is refused and logged with the user's name. */
#ifndef SYNC_RULES_SSH_KEYS_H
#define SYNC_RULES_SSH_KEYS_H

#include <stdint.h>

#include "sync/rules/accounts.h"

/* Adds the keys of every published account that may sign in to A->snap.ssh_keys, in the order
 * Entra sent them, and counts the refused lines in A->users. 0 or -1 (no memory). */
int ssh_keys_build(const struct directory *dir, struct accounts *a);
/* Folds the refused lines into the findings hash H (so they are logged when they change). */
uint64_t ssh_keys_findings(uint64_t h, const struct accounts *a, const struct directory *dir);
/* Logs a line per user with refused keys: who, how many, the first reason, what to do. */
void ssh_keys_report(const struct accounts *a, const struct directory *dir);

#endif
