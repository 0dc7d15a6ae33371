/* AUP rule evaluation (DESIGN.md decision 3). */
#include "sync/rules/aup.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/casefold.h"
#include "common/log.h"

static const struct entra_logger logger = {"entra-syncd", LOG_DAEMON, true, false};

static bool id_matches(const char *ref, const struct dir_group *g)
{
	return (g->external_id && !strcasecmp(ref, g->external_id)) || (g->scim_id && !strcmp(ref, g->scim_id));
}

static int ref_push(struct aup_ref *r, size_t g, size_t cap)
{
	if (!r->groups && !(r->groups = calloc(cap, sizeof(*r->groups))))
		return -1;
	r->groups[r->n_groups++] = g;
	return 0;
}

/* An object id or SCIM id names exactly what it says; a display name only when unique. */
static int ref_resolve(const struct directory *dir, const char *rule, bool quiet, struct aup_ref *r)
{
	for (size_t g = 0; g < dir->n_groups; g++)
		if (id_matches(r->text, &dir->groups[g]) && ref_push(r, g, dir->n_groups))
			return -1;
	if (r->n_groups)
		return 0;
	size_t first = 0;
	for (size_t g = 0; g < dir->n_groups; g++) {
		const char *dn = dir->groups[g].display_name;
		/* case-insensitive beyond ASCII: "MÜNCHEN" names "München" */
		if (dn && casefold_eq(r->text, dn) && r->n_same_name++ == 0)
			first = g;
	}
	if (r->n_same_name == 1)
		return ref_push(r, first, 1);
	if (r->n_same_name > 1 && !quiet)
		entra_log(&logger, LOG_WARNING,
		          "rule '%s': display name '%s' is shared by %zu provisioned groups, so it matches none of "
		          "them; name the group by its object id in the rule or rename one group in Entra",
		          rule, r->text, r->n_same_name);
	return 0;
}

int aup_prepare(const struct entra_config *cfg, const struct directory *dir, bool quiet, struct aup_plan *out)
{
	memset(out, 0, sizeof(*out));
	out->cfg = cfg, out->dir = dir;
	if (cfg->n_rules && !(out->rules = calloc(cfg->n_rules, sizeof(*out->rules))))
		goto oom;
	if (!(out->member_mark = calloc(dir->n_groups + 1, 1)))
		goto oom;
	for (size_t i = 0; i < cfg->n_rules; i++) {
		struct aup_rule_plan *rp = &out->rules[i];
		const struct entra_rule *r = &cfg->rules[i];
		out->n_rules++;
		rp->rule = r, rp->role = entra_config_role(cfg, r->role);
		if (!(rp->refs = calloc(r->groups.n ? r->groups.n : 1, sizeof(*rp->refs))))
			goto oom;
		for (size_t j = 0; j < r->groups.n; j++) {
			rp->refs[j].text = r->groups.items[j];
			rp->n_refs++;
			if (ref_resolve(dir, r->name, quiet, &rp->refs[j]))
				goto oom;
		}
	}
	return 0;
oom:
	entra_log(&logger, LOG_ERR, "out of memory while resolving the AUP rules");
	aup_plan_free(out);
	return -1;
}

void aup_plan_free(struct aup_plan *plan)
{
	for (size_t i = 0; i < plan->n_rules; i++) {
		for (size_t j = 0; j < plan->rules[i].n_refs; j++)
			free(plan->rules[i].refs[j].groups);
		free(plan->rules[i].refs);
	}
	free(plan->rules);
	free(plan->member_mark);
	memset(plan, 0, sizeof(*plan));
}

size_t aup_max_ous(const struct aup_plan *plan)
{
	size_t n = 0;
	for (size_t i = 0; i < plan->n_rules; i++)
		n += plan->rules[i].rule->ous.n;
	return n ? n : 1;
}

static bool ref_satisfied(const struct aup_plan *plan, const struct aup_ref *r)
{
	for (size_t k = 0; k < r->n_groups; k++)
		if (plan->member_mark[r->groups[k]])
			return true;
	return false;
}

static bool rule_matches(const struct aup_plan *plan, const struct aup_rule_plan *rp)
{
	bool all = rp->rule->match == ENTRA_MATCH_ALL;
	for (size_t j = 0; j < rp->n_refs; j++) {
		bool ok = ref_satisfied(plan, &rp->refs[j]);
		if (ok && !all)
			return true;
		if (!ok && all)
			return false;
	}
	return all && rp->n_refs > 0;
}

static void ous_add(struct aup_user *out, const struct entra_list *ous)
{
	for (size_t k = 0; k < ous->n; k++) {
		bool seen = false;
		for (size_t m = 0; m < out->n_ous && !seen; m++)
			seen = !strcmp(out->ous[m], ous->items[k]);
		if (!seen)
			out->ous[out->n_ous++] = ous->items[k];
	}
}

bool aup_ou_covers(const struct entra_config *cfg, const char *ou, const char *host)
{
	if (!strcmp(ou, "global"))
		return true;
	const struct entra_ou *o = entra_config_ou(cfg, ou);
	for (size_t i = 0; o && host && i < o->hosts.n; i++)
		if (fnmatch(o->hosts.items[i], host, FNM_CASEFOLD) == 0)
			return true;
	return false;
}

void aup_evaluate(struct aup_plan *plan, size_t u, struct aup_user *out)
{
	const struct dir_user *user = &plan->dir->users[u];
	out->role = NULL, out->n_ous = 0, out->covering_ou = NULL;
	for (size_t k = 0; k < user->n_groups; k++)
		if (user->groups[k] < plan->dir->n_groups)
			plan->member_mark[user->groups[k]] = 1;
	for (size_t i = 0; i < plan->n_rules; i++) {
		const struct aup_rule_plan *rp = &plan->rules[i];
		out->matched[i] = rule_matches(plan, rp);
		if (!out->matched[i])
			continue;
		/* The lowest permission wins; on a tie the role defined first. */
		if (rp->role && (!out->role || rp->role->rank < out->role->rank ||
		                 (rp->role->rank == out->role->rank && rp->role < out->role)))
			out->role = rp->role;
		ous_add(out, &rp->rule->ous);
	}
	for (size_t k = 0; k < user->n_groups; k++)
		if (user->groups[k] < plan->dir->n_groups)
			plan->member_mark[user->groups[k]] = 0;
	for (size_t m = 0; m < out->n_ous && !out->covering_ou; m++)
		if (aup_ou_covers(plan->cfg, out->ous[m], plan->cfg->host))
			out->covering_ou = out->ous[m];
}
