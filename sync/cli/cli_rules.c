/* entra-sync rules check | rules explain USER: the AUP rules against state.db, read-only. */
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/casefold.h"
#include "sync/cli/cli.h"
#include "sync/cli/cli_view.h"
#include "sync/rules/accounts.h"
#include "sync/rules/idalloc.h"
#include "sync/rules/names.h"
#include "sync/store/directory.h"

/* --- rules check --- */

static int ref_check(const struct cli_view *v, const struct aup_rule_plan *rp, const struct aup_ref *ref)
{
	if (ref->n_same_name > 1) {
		printf("problem: [rule %s] group '%s': display name shared by %zu provisioned groups, so it matches "
		       "none:\n",
		       rp->rule->name, ref->text, ref->n_same_name);
		for (size_t g = 0; g < v->dir.n_groups; g++)
			if (v->dir.groups[g].display_name && casefold_eq(v->dir.groups[g].display_name, ref->text)) {
				printf("         ");
				cli_view_group_describe(&v->dir.groups[g], stdout);
				printf("\n");
			}
		printf("         name the group by its object id in the rule, or rename one group in Entra\n");
		return 1;
	}
	if (!ref->n_groups) {
		printf("problem: [rule %s] group '%s' matches no provisioned group (check the spelling, or assign the "
		       "group to the enterprise app in Entra)\n",
		       rp->rule->name, ref->text);
		return 1;
	}
	for (size_t k = 0; k < ref->n_groups; k++) {
		printf("ok:      [rule %s] group '%s' -> ", rp->rule->name, ref->text);
		cli_view_group_describe(&v->dir.groups[ref->groups[k]], stdout);
		printf("\n");
	}
	return 0;
}

static int rules_check(const struct entra_config *cfg, const struct cli_view *v)
{
	int problems = 0;
	if (!cfg->n_rules) {
		printf("problem: %s has no [rule] sections: no user gets an account on any host\n", cfg->path);
		problems++;
	}
	for (size_t i = 0; i < v->acc.plan.n_rules; i++) {
		const struct aup_rule_plan *rp = &v->acc.plan.rules[i];
		for (size_t j = 0; j < rp->n_refs; j++)
			problems += ref_check(v, rp, &rp->refs[j]);
	}
	cli_view_print_findings(v, stdout, 50);
	printf("%zu rules, %zu users, %zu groups provisioned; on host %s: %zu accounts, %zu groups, %zu refused\n",
	       cfg->n_rules, v->dir.n_users, v->dir.n_groups, cfg->host, v->acc.snap.n_accounts, v->acc.snap.n_groups,
	       v->acc.n_refused);
	printf("%s\n", problems ? "rules check: problems found" : "rules check: ok");
	return problems ? 1 : 0;
}

/* --- rules explain USER --- */

static long user_find(const struct cli_view *v, const char *who)
{
	for (size_t i = 0; i < v->dir.n_users; i++) {
		const struct dir_user *u = &v->dir.users[i];
		if ((v->acc.users[i].name && !strcmp(v->acc.users[i].name, who)) ||
		    (u->user_name && !strcasecmp(u->user_name, who)) || !strcmp(u->scim_id, who))
			return (long)i;
	}
	return -1;
}

static void explain_rules(const struct cli_view *v, const struct account_user *au)
{
	for (size_t r = 0; r < v->acc.plan.n_rules; r++) {
		const struct entra_rule *rule = v->acc.plan.rules[r].rule;
		printf("  rule %-16s %s (match %s, role %s, OUs", rule->name,
		       au->aup.matched[r] ? "matched" : "not matched", rule->match == ENTRA_MATCH_ALL ? "all" : "any",
		       rule->role);
		for (size_t k = 0; k < rule->ous.n; k++)
			printf("%s%s", k ? ", " : " ", rule->ous.items[k]);
		printf(")\n");
	}
}

static void explain_login(const struct entra_config *cfg, const struct dir_user *u, const struct account_user *au)
{
	if (au->verdict != ACCOUNT_OK)
		printf("login here:   no: %s\n", account_verdict_text(au->verdict));
	else if (!u->active)
		printf("login here:   no: disabled in Entra (account kept, expired)\n");
	else if (!au->aup.role->login)
		printf("login here:   no: role %s does not allow sign-in (login = no)\n", au->aup.role->name);
	else
		printf("login here:   yes (host %s)\n", cfg->host);
}

static int rules_explain(const struct entra_config *cfg, const struct cli_view *v, const char *who)
{
	long i = user_find(v, who);
	if (i < 0) {
		fprintf(stderr,
		        "entra-sync: no provisioned user '%s' (give a local name, a UPN or a SCIM id; "
		        "`entra-sync users` lists them)\n",
		        who);
		return 1;
	}
	const struct dir_user *u = &v->dir.users[i];
	const struct account_user *au = &v->acc.users[i];
	printf("user:         %s\nSCIM id:      %s\n", u->user_name, u->scim_id);
	printf("object id:    %s\n",
	       idalloc_is_guid(u->external_id) ? u->external_id : "- (uid derived from the SCIM id)");
	printf("active:       %s\n", u->active ? "yes" : "no (disabled in Entra)");
	printf("local name:   %s (%s)\n", au->name ? au->name : "-", name_state_text(au->name_state));
	printf("groups:      ");
	for (size_t k = 0; k < u->n_groups; k++)
		printf("%s%s", k ? ", " : " ", v->dir.groups[u->groups[k]].display_name);
	printf("%s\nrules:\n", u->n_groups ? "" : " (none)");
	explain_rules(v, au);
	if (au->aup.role)
		printf("role:         %s (rank %d, the lowest of the matched rules)\n", au->aup.role->name,
		       au->aup.role->rank);
	else
		printf("role:         none (no rule matched)\n");
	printf("OUs:         ");
	for (size_t k = 0; k < au->aup.n_ous; k++)
		printf("%s%s", k ? ", " : " ", au->aup.ous[k]);
	printf("%s\n", au->aup.n_ous ? "" : " (none)");
	if (au->aup.covering_ou)
		printf("host %s: covered by OU %s\n", cfg->host, au->aup.covering_ou);
	else
		printf("host %s: not covered by any of these OUs\n", cfg->host);
	if (au->uid)
		printf("uid:          %u\n", au->uid);
	else
		printf("uid:          not allocated yet\n");
	explain_login(cfg, u, au);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: entra-sync [-c FILE] rules check\n"
	                "       entra-sync [-c FILE] rules explain USER   (local name, UPN or SCIM id)\n");
	return 2;
}

int cli_rules(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_view v;
	bool check = argc == 2 && !strcmp(argv[1], "check");
	bool explain = argc == 3 && !strcmp(argv[1], "explain");
	if (!check && !explain)
		return usage();
	if (cli_view_load(ctx->cfg, &v)) {
		cli_view_free(&v);
		return 1;
	}
	int rc = check ? rules_check(ctx->cfg, &v) : rules_explain(ctx->cfg, &v, argv[2]);
	cli_view_free(&v);
	return rc;
}
