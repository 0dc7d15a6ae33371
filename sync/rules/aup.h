/* AUP rule evaluation: group membership -> role and OUs -> account on this host. Pure: no I/O
 * besides logging; the caller supplies the config and the provisioned directory. */
#ifndef SYNC_AUP_H
#define SYNC_AUP_H

#include <stdbool.h>
#include <stddef.h>

#include "common/config.h"
#include "sync/store/directory.h"

/* One group reference of a rule ("Linux Admins", an object id or a SCIM id), resolved. */
struct aup_ref {
	const char *text; /* as written in the rule */
	size_t *groups;   /* indexes into directory.groups it matches */
	size_t n_groups;
	size_t n_same_name; /* > 1: display name shared by that many groups, so it matches none */
};

struct aup_rule_plan {
	const struct entra_rule *rule;
	const struct entra_role *role;
	struct aup_ref *refs; /* one per rule->groups item */
	size_t n_refs;
};

/* The rules resolved against one directory. */
struct aup_plan {
	const struct entra_config *cfg;
	const struct directory *dir;
	struct aup_rule_plan *rules;
	size_t n_rules;
	unsigned char *member_mark; /* scratch, one byte per group */
};

/* The verdict of the rules for one user. */
struct aup_user {
	const struct entra_role *role; /* lowest rank of the matched rules; NULL: no rule matched */
	bool *matched;                 /* per rule: matched (caller-owned array of plan.n_rules) */
	const char **ous;              /* union of the matched rules' OUs (caller-owned, up to
	                                  aup_max_ous entries), config-owned strings */
	size_t n_ous;
	const char *covering_ou; /* first OU of the union that covers cfg->host, or NULL */
};

/* Resolves every rule's group references. Ambiguous display names are logged unless QUIET.
 * 0 or -1 (no memory). */
int aup_prepare(const struct entra_config *cfg, const struct directory *dir, bool quiet, struct aup_plan *out);
void aup_plan_free(struct aup_plan *plan);
/* Size OUT->ous must have for aup_evaluate. */
size_t aup_max_ous(const struct aup_plan *plan);
/* Evaluates user U (index into dir->users). OUT->matched and OUT->ous must be allocated. Not
 * thread-safe per plan (uses the plan's scratch marks). */
void aup_evaluate(struct aup_plan *plan, size_t u, struct aup_user *out);
/* True when OU (a name from the config, "global" included) covers HOST (case-insensitive globs). */
bool aup_ou_covers(const struct entra_config *cfg, const char *ou, const char *host);

#endif
