/* entra-sync on a follower: the hub's mirrored policy in the config every verb uses, and the
 * follower's lines of `status`. */
#include <jansson.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "sync/cli/cli.h"
#include "sync/cli/cli_db.h"
#include "sync/follow/follow_policy.h"
#include "sync/store/store_mirror.h"

/* The mirror state, or -1 when state.db cannot be read (said on stderr by cli_state_open). */
static int state_read(const struct entra_config *cfg, struct mirror_state *st, json_t **policy)
{
	sqlite3 *db = cli_state_open(cfg);
	int rc = db ? store_mirror_peek(db, st, policy) : -1;
	sqlite3_close(db);
	return rc;
}

void cli_follow_policy(struct entra_config *cfg)
{
	struct mirror_state st;
	json_t *policy = NULL;
	char err[512];
	if (access(cfg->state_db, F_OK) != 0 || state_read(cfg, &st, &policy) != 0 || !policy) {
		json_decref(policy);
		return;
	}
	if (follow_policy_apply(policy, cfg, err, sizeof(err)) != 0)
		fprintf(stderr, "entra-sync: %s\n", err);
	json_decref(policy);
}

json_t *cli_follow_status_json(const struct entra_config *cfg)
{
	struct mirror_state st;
	if (state_read(cfg, &st, NULL) != 0)
		return json_null();
	long long now = (long long)time(NULL);
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "hub", st.hub, "hub_url", st.hub_url,
	                 "policy_hash", st.policy_hash, "cursor", (json_int_t)st.cursor, "last_contact_unix",
	                 (json_int_t)st.last_contact, "seconds_since_contact",
	                 (json_int_t)(st.last_contact ? now - st.last_contact : -1), "lag_seconds",
	                 (json_int_t)(st.synced ? st.last_contact - st.synced : -1), "max_silence",
	                 (json_int_t)cfg->follow_max_silence);
}

void cli_follow_status_text(const struct entra_config *cfg)
{
	struct mirror_state st;
	char when[32];
	if (state_read(cfg, &st, NULL) != 0)
		return;
	if (!st.hub[0]) {
		printf("follower of:   %s (no snapshot yet)\n", cfg->follow_hubs.items[0]);
		return;
	}
	long long now = (long long)time(NULL);
	cli_format_time(st.last_contact, when, sizeof(when));
	printf("follower of:   hub %s via %s\n", st.hub, st.hub_url);
	printf("cursor:        %lld\n", st.cursor);
	printf("last contact:  %s (%lld s ago%s)\n", when, now - st.last_contact,
	       now - st.last_contact > cfg->follow_max_silence ? ", longer than [follow] max_silence" : "");
	if (st.synced && st.synced == st.last_contact)
		printf("lag:           none (caught up at the last contact)\n");
	else
		printf("lag:           %lld s behind the hub at the last contact\n",
		       st.synced ? st.last_contact - st.synced : st.last_contact);
}
