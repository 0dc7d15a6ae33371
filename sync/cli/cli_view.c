#include "sync/cli/cli_view.h"

#include <limits.h>
#include <string.h>
#include <strings.h>

void cli_view_free(struct cli_view *v)
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
	v->db = NULL;
	v->loaded = 0;
}

int cli_view_load(const struct entra_config *cfg, struct cli_view *v)
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
	if (idalloc_load_config(v->db, cfg, &v->ids))
		return -1;
	v->loaded = 3;
	if (accounts_build(cfg, &v->dir, &v->local, &v->ids, NULL, true, &v->acc))
		return -1;
	v->loaded = 4;
	return 0;
}

void cli_view_group_describe(const struct dir_group *g, FILE *out)
{
	fprintf(out, "'%s' (SCIM id %s, object id %s)", g->display_name ? g->display_name : "", g->scim_id,
	        g->external_id ? g->external_id : "-");
}

/* A user refused for a reason beyond the rules themselves (name or id problems). */
static bool user_refused(const struct cli_view *v, size_t i)
{
	return v->acc.users[i].verdict > ACCOUNT_NOT_THIS_HOST;
}

size_t cli_view_print_findings(const struct cli_view *v, FILE *out, size_t limit)
{
	size_t found = 0, users = 0;
	for (size_t i = 0; i < v->dir.n_users; i++)
		if (user_refused(v, i) && users++ < limit)
			fprintf(out, "note:    %s: no account: %s\n", v->dir.users[i].user_name,
			        account_verdict_text(v->acc.users[i].verdict));
	if (users > limit)
		fprintf(out, "note:    ... and %zu more refused users\n", users - limit);
	found += users;
	for (size_t g = 0; g < v->dir.n_groups; g++)
		if (v->acc.groups[g].name_state != NAME_OK) {
			fprintf(out, "note:    group ");
			cli_view_group_describe(&v->dir.groups[g], out);
			fprintf(out, ": Unix name %s %s, not published\n",
			        v->acc.groups[g].name ? v->acc.groups[g].name : "-",
			        name_state_text(v->acc.groups[g].name_state));
			found++;
		}
	for (size_t r = 0; r < v->acc.plan.n_rules; r++)
		for (size_t j = 0; j < v->acc.plan.rules[r].n_refs; j++) {
			const struct aup_ref *ref = &v->acc.plan.rules[r].refs[j];
			if (ref->n_same_name > 1) {
				fprintf(
				    out,
				    "note:    [rule %s] group '%s' is shared by %zu provisioned groups: matches none\n",
				    v->acc.plan.rules[r].rule->name, ref->text, ref->n_same_name);
				found++;
			}
		}
	return found;
}

json_t *cli_view_findings_json(const struct cli_view *v)
{
	json_t *users = json_array(), *groups = json_array(), *ambiguous = json_array();
	for (size_t i = 0; i < v->dir.n_users; i++)
		if (user_refused(v, i))
			json_array_append_new(users,
			                      json_pack("{s:s, s:s, s:s?}", "userName", v->dir.users[i].user_name,
			                                "reason", account_verdict_text(v->acc.users[i].verdict), "name",
			                                v->acc.users[i].name));
	for (size_t g = 0; g < v->dir.n_groups; g++)
		if (v->acc.groups[g].name_state != NAME_OK)
			json_array_append_new(groups, json_pack("{s:s?, s:s, s:s?}", "displayName",
			                                        v->dir.groups[g].display_name, "reason",
			                                        name_state_text(v->acc.groups[g].name_state), "name",
			                                        v->acc.groups[g].name));
	for (size_t r = 0; r < v->acc.plan.n_rules; r++)
		for (size_t j = 0; j < v->acc.plan.rules[r].n_refs; j++) {
			const struct aup_ref *ref = &v->acc.plan.rules[r].refs[j];
			if (ref->n_same_name > 1)
				json_array_append_new(ambiguous,
				                      json_pack("{s:s, s:s, s:I}", "rule",
				                                v->acc.plan.rules[r].rule->name, "group", ref->text,
				                                "shared_by", (json_int_t)ref->n_same_name));
		}
	return json_pack("{s:o, s:o, s:o}", "refused_users", users, "refused_groups", groups, "ambiguous_groups",
	                 ambiguous);
}
