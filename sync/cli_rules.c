/* entra-sync rules check | rules explain USER: the AUP rules against state.db, read-only. */
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "accounts.h"
#include "cli.h"
#include "directory.h"
#include "idalloc.h"
#include "names.h"

/* Everything one `rules` verb needs, loaded read-only. */
struct rules_view {
	sqlite3 *db;
	struct directory dir;
	struct names_local local;
	struct idalloc ids;
	struct accounts acc;
	int loaded; /* how many of the above are initialised */
};

static void view_free(struct rules_view *v)
{
	if (v->loaded >= 4)
		accounts_free(&v->acc);
	if (v->loaded >= 3)
		idalloc_free(&v->ids);
	if (v->loaded >= 2)
		names_local_free(&v->local);
	if (v->loaded >= 1)
		directory_free(&v->dir);
	sqlite3_close(v->db);
}

static int view_load(const struct entra_config *cfg, struct rules_view *v)
{
	char uri[PATH_MAX + 16];
	memset(v, 0, sizeof(*v));
	snprintf(uri, sizeof(uri), "file:%s?mode=ro", cfg->state_db);
	if (sqlite3_open_v2(uri, &v->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK) {
		fprintf(stderr,
		        "entra-sync: cannot open %s: %s; start entra-syncd once (it creates the file) or fix "
		        "[sync] state_db\n",
		        cfg->state_db, v->db ? sqlite3_errmsg(v->db) : "out of memory");
		return -1;
	}
	sqlite3_busy_timeout(v->db, 5000);
	if (store_directory_load(v->db, &v->dir)) {
		fprintf(stderr, "entra-sync: cannot read the provisioned users and groups from %s\n", cfg->state_db);
		return -1;
	}
	v->loaded = 1;
	if (names_local_load("/etc/passwd", "/etc/group", &v->local))
		return -1;
	v->loaded = 2;
	if (idalloc_load(v->db, cfg->uid_min, cfg->uid_max, &v->ids))
		return -1;
	v->loaded = 3;
	if (accounts_build(cfg, &v->dir, &v->local, &v->ids, NULL, true, &v->acc))
		return -1;
	v->loaded = 4;
	return 0;
}

/* --- rules check --- */

static void group_describe(const struct dir_group *g, FILE *out)
{
	fprintf(out, "'%s' (SCIM id %s, object id %s)", g->display_name ? g->display_name : "", g->scim_id,
	        g->external_id ? g->external_id : "-");
}

static int ref_check(const struct rules_view *v, const struct aup_rule_plan *rp, const struct aup_ref *ref)
{
	if (ref->n_same_name > 1) {
		printf("problem: [rule %s] group '%s': display name shared by %zu provisioned groups, so it matches "
		       "none:\n",
		       rp->rule->name, ref->text, ref->n_same_name);
		for (size_t g = 0; g < v->dir.n_groups; g++)
			if (v->dir.groups[g].display_name && !strcasecmp(v->dir.groups[g].display_name, ref->text)) {
				printf("         ");
				group_describe(&v->dir.groups[g], stdout);
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
		group_describe(&v->dir.groups[ref->groups[k]], stdout);
		printf("\n");
	}
	return 0;
}

static int rules_check(const struct entra_config *cfg, const struct rules_view *v)
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
	size_t refused = 0;
	for (size_t i = 0; i < v->dir.n_users; i++)
		if (v->acc.users[i].verdict > ACCOUNT_NOT_THIS_HOST && refused++ < 50)
			printf("note:    %s: no account: %s\n", v->dir.users[i].user_name,
			       account_verdict_text(v->acc.users[i].verdict));
	for (size_t g = 0; g < v->dir.n_groups; g++)
		if (v->acc.groups[g].name_state != NAME_OK) {
			printf("note:    group ");
			group_describe(&v->dir.groups[g], stdout);
			printf(": Unix name %s %s, not published\n",
			       v->acc.groups[g].name ? v->acc.groups[g].name : "-",
			       name_state_text(v->acc.groups[g].name_state));
		}
	printf("%zu rules, %zu users, %zu groups provisioned; on host %s: %zu accounts, %zu groups, %zu refused\n",
	       cfg->n_rules, v->dir.n_users, v->dir.n_groups, cfg->host, v->acc.snap.n_accounts, v->acc.snap.n_groups,
	       v->acc.n_refused);
	printf("%s\n", problems ? "rules check: problems found" : "rules check: ok");
	return problems ? 1 : 0;
}

/* --- rules explain USER --- */

static long user_find(const struct rules_view *v, const char *who)
{
	for (size_t i = 0; i < v->dir.n_users; i++) {
		const struct dir_user *u = &v->dir.users[i];
		if ((v->acc.users[i].name && !strcmp(v->acc.users[i].name, who)) ||
		    (u->user_name && !strcasecmp(u->user_name, who)) || !strcmp(u->scim_id, who))
			return (long)i;
	}
	return -1;
}

static void explain_rules(const struct rules_view *v, const struct account_user *au)
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

static int rules_explain(const struct entra_config *cfg, const struct rules_view *v, const char *who)
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
	struct rules_view v;
	bool check = argc == 2 && !strcmp(argv[1], "check");
	bool explain = argc == 3 && !strcmp(argv[1], "explain");
	if (!check && !explain)
		return usage();
	if (view_load(ctx->cfg, &v)) {
		view_free(&v);
		return 1;
	}
	int rc = check ? rules_check(ctx->cfg, &v) : rules_explain(ctx->cfg, &v, argv[2]);
	view_free(&v);
	return rc;
}
