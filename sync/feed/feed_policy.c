/* The hub's policy as JSON for followers (sync/feed/feed_policy.h). */
#include "sync/feed/feed_policy.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *list_json(const struct entra_list *l)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < l->n; i++)
		if (json_array_append_new(arr, json_string(l->items[i])) != 0)
			return json_decref(arr), NULL;
	return arr;
}

static json_t *roles_json(const struct entra_config *cfg)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < cfg->n_roles; i++) {
		const struct entra_role *r = &cfg->roles[i];
		if (json_array_append_new(arr, json_pack("{s:s, s:i, s:o, s:b}", "name", r->name, "rank", r->rank,
		                                         "groups", list_json(&r->groups), "login", r->login)))
			return json_decref(arr), NULL;
	}
	return arr;
}

static json_t *ous_json(const struct entra_config *cfg)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < cfg->n_ous; i++)
		if (json_array_append_new(
		        arr, json_pack("{s:s, s:o}", "name", cfg->ous[i].name, "hosts", list_json(&cfg->ous[i].hosts))))
			return json_decref(arr), NULL;
	return arr;
}

static json_t *rules_json(const struct entra_config *cfg)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < cfg->n_rules; i++) {
		const struct entra_rule *r = &cfg->rules[i];
		if (json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:s, s:o}", "name", r->name, "match",
		                                         r->match == ENTRA_MATCH_ALL ? "all" : "any", "groups",
		                                         list_json(&r->groups), "role", r->role ? r->role : "", "ous",
		                                         list_json(&r->ous))))
			return json_decref(arr), NULL;
	}
	return arr;
}

json_t *feed_policy_json(const struct entra_config *cfg)
{
	json_t *p = json_pack("{s:s, s:I, s:I, s:s, s:s, s:o, s:o, s:o}", "name_format",
	                      cfg->name_format == ENTRA_NAME_UPN ? "upn" : "short", "uid_min", (json_int_t)cfg->uid_min,
	                      "uid_max", (json_int_t)cfg->uid_max, "home", cfg->home, "shell", cfg->shell, "roles",
	                      roles_json(cfg), "ous", ous_json(cfg), "rules", rules_json(cfg));
	/* Only when set: a hub without a group range keeps the policy (and its hash) it had. */
	if (p && cfg->gid_min && cfg->gid_max &&
	    (json_object_set_new(p, "gid_min", json_integer((json_int_t)cfg->gid_min)) ||
	     json_object_set_new(p, "gid_max", json_integer((json_int_t)cfg->gid_max))))
		return json_decref(p), NULL;
	return p;
}

int feed_policy_hash(const json_t *policy, char out[FEED_POLICY_HASH_LEN + 1])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char *text = json_dumps(policy, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return -1;
	SHA256((const unsigned char *)text, strlen(text), md);
	free(text);
	for (int i = 0; i < FEED_POLICY_HASH_LEN / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}
