/* The hub's policy applied to a follower's configuration (sync/follow/follow_policy.h). */
#include "sync/follow/follow_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POLICY_LIST_MAX 1024 /* as the config parser's lists */

static int text_take(const json_t *o, const char *key, char **out)
{
	const char *v = json_string_value(json_object_get(o, key));
	if (!v || !*v)
		return -1;
	char *copy = strdup(v);
	if (!copy)
		return -1;
	free(*out);
	*out = copy;
	return 0;
}

static int list_take(const json_t *arr, struct entra_list *out)
{
	size_t n = json_array_size(arr);
	if (!json_is_array(arr) || n > POLICY_LIST_MAX || !(out->items = calloc(n + 1, sizeof(char *))))
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *v = json_string_value(json_array_get(arr, i));
		if (!v || !(out->items[out->n] = strdup(v)))
			return -1;
		out->n++;
	}
	return 0;
}

static int roles_take(const json_t *arr, struct entra_config *cfg)
{
	size_t n = json_array_size(arr);
	if (!json_is_array(arr) || n > POLICY_LIST_MAX || !(cfg->roles = calloc(n + 1, sizeof(*cfg->roles))))
		return -1;
	for (size_t i = 0; i < n; i++) {
		const json_t *r = json_array_get(arr, i);
		struct entra_role *role = &cfg->roles[cfg->n_roles++];
		role->login = json_is_true(json_object_get(r, "login"));
		role->rank = (int)json_integer_value(json_object_get(r, "rank"));
		if (text_take(r, "name", &role->name) || list_take(json_object_get(r, "groups"), &role->groups))
			return -1;
	}
	return 0;
}

static int ous_take(const json_t *arr, struct entra_config *cfg)
{
	size_t n = json_array_size(arr);
	if (!json_is_array(arr) || n > POLICY_LIST_MAX || !(cfg->ous = calloc(n + 1, sizeof(*cfg->ous))))
		return -1;
	for (size_t i = 0; i < n; i++) {
		const json_t *o = json_array_get(arr, i);
		struct entra_ou *ou = &cfg->ous[cfg->n_ous++];
		if (text_take(o, "name", &ou->name) || list_take(json_object_get(o, "hosts"), &ou->hosts))
			return -1;
	}
	return 0;
}

static int rules_take(const json_t *arr, struct entra_config *cfg)
{
	size_t n = json_array_size(arr);
	if (!json_is_array(arr) || n > POLICY_LIST_MAX || !(cfg->rules = calloc(n + 1, sizeof(*cfg->rules))))
		return -1;
	for (size_t i = 0; i < n; i++) {
		const json_t *r = json_array_get(arr, i);
		struct entra_rule *rule = &cfg->rules[cfg->n_rules++];
		const char *match = json_string_value(json_object_get(r, "match"));
		rule->match = match && !strcmp(match, "all") ? ENTRA_MATCH_ALL : ENTRA_MATCH_ANY;
		if (text_take(r, "name", &rule->name) || text_take(r, "role", &rule->role) ||
		    list_take(json_object_get(r, "groups"), &rule->groups) ||
		    list_take(json_object_get(r, "ous"), &rule->ous))
			return -1;
	}
	return 0;
}

static int range_take(const json_t *policy, struct entra_config *cfg)
{
	json_int_t lo = json_integer_value(json_object_get(policy, "uid_min"));
	json_int_t hi = json_integer_value(json_object_get(policy, "uid_max"));
	if (lo < 1000 || hi > 4294967294LL || lo >= hi)
		return -1;
	cfg->uid_min = (uint32_t)lo, cfg->uid_max = (uint32_t)hi;
	/* Absent (a hub without a group range, or an older one): groups share the uid range. */
	json_int_t glo = json_integer_value(json_object_get(policy, "gid_min"));
	json_int_t ghi = json_integer_value(json_object_get(policy, "gid_max"));
	if (glo < 0 || ghi < 0 || glo > 4294967294LL || ghi > 4294967294LL)
		return -1;
	cfg->gid_min = (uint32_t)glo, cfg->gid_max = (uint32_t)ghi;
	return 0;
}

int follow_policy_apply(const json_t *policy, struct entra_config *cfg, char *err, size_t errlen)
{
	const char *format = json_string_value(json_object_get(policy, "name_format"));
	if (!json_is_object(policy) || !format || (strcmp(format, "short") && strcmp(format, "upn")) ||
	    range_take(policy, cfg) || text_take(policy, "home", &cfg->home) ||
	    text_take(policy, "shell", &cfg->shell) || roles_take(json_object_get(policy, "roles"), cfg) ||
	    ous_take(json_object_get(policy, "ous"), cfg) || rules_take(json_object_get(policy, "rules"), cfg))
		return snprintf(err, errlen,
		                "the hub's policy is malformed or out of memory; keeping the previous one"),
		       -1;
	cfg->name_format = strcmp(format, "upn") ? ENTRA_NAME_SHORT : ENTRA_NAME_UPN;
	char why[512];
	if (entra_config_validate_policy(cfg, why, sizeof(why)) != 0)
		return snprintf(err, errlen, "the hub's policy is not valid here: %s", why), -1;
	return 0;
}

struct entra_config *follow_config_build(const char *path, const json_t *policy, char *err, size_t errlen)
{
	struct entra_config *cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (entra_config_load(path, cfg, err, errlen) != 0) {
		free(cfg);
		return NULL;
	}
	if (policy && follow_policy_apply(policy, cfg, err, errlen) != 0) {
		follow_config_free(cfg);
		return NULL;
	}
	return cfg;
}

void follow_config_free(struct entra_config *cfg)
{
	if (!cfg)
		return;
	entra_config_free(cfg);
	free(cfg);
}
