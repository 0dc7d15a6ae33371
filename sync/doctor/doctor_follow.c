/* doctor: a follower's contact with its hub (state.db's mirror state, sync/store/store_mirror.h). */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sync/doctor/doctor.h"
#include "sync/store/store_mirror.h"

/* The same for the hub's group range: nss_scim here serves gids of gid_min..gid_max only when
 * this host's file has that range too. */
static void group_range_check(struct doctor *d, const json_t *policy, const struct entra_config *file)
{
	char fix[256];
	json_int_t lo = json_integer_value(json_object_get(policy, "gid_min"));
	json_int_t hi = json_integer_value(json_object_get(policy, "gid_max"));
	if (!lo || !hi || (file->gid_min && lo >= file->gid_min && hi <= file->gid_max))
		return;
	if (!file->gid_min && lo >= file->uid_min && hi <= file->uid_max)
		return; /* this file's uid range holds the hub's group range: the groups show */
	bool overlaps = lo <= file->uid_max && hi >= file->uid_min;
	snprintf(fix, sizeof(fix), "set [accounts] gid_min = %lld and gid_max = %lld in %s%s", (long long)lo,
	         (long long)hi, d->config_path,
	         overlaps ? " with uid_min and uid_max set to the hub's (the two ranges may not overlap)" : "");
	doctor_report(d, "follow", DOCTOR_FAIL, fix,
	              "the hub allocates group gids in %lld..%lld but nss_scim here shows groups only in %u..%u "
	              "([accounts] of this host's file): groups outside are invisible",
	              (long long)lo, (long long)hi, file->gid_min ? file->gid_min : file->uid_min,
	              file->gid_min ? file->gid_max : file->uid_max);
}

/* nss_scim bounds ids by this host's own file: the hub's range must lie inside it. */
static void range_check(struct doctor *d, const json_t *policy)
{
	struct entra_config file;
	char err[512], fix[256];
	json_int_t lo = json_integer_value(json_object_get(policy, "uid_min"));
	json_int_t hi = json_integer_value(json_object_get(policy, "uid_max"));
	if (!policy || entra_config_load(d->config_path, &file, err, sizeof(err)) != 0)
		return;
	if (lo < file.uid_min || hi > file.uid_max) {
		snprintf(fix, sizeof(fix), "set [accounts] uid_min = %lld and uid_max = %lld in %s", (long long)lo,
		         (long long)hi, d->config_path);
		doctor_report(d, "follow", DOCTOR_FAIL, fix,
		              "the hub allocates uids in %lld..%lld but nss_scim here shows only %u..%u ([accounts] of "
		              "this host's file): accounts outside are invisible",
		              (long long)lo, (long long)hi, file.uid_min, file.uid_max);
	}
	group_range_check(d, policy, &file);
	entra_config_free(&file);
}

void doctor_check_follow(struct doctor *d)
{
	const struct entra_config *cfg = d->cfg;
	char fix[700];
	if (!entra_config_follower(cfg)) {
		doctor_report(d, "follow", DOCTOR_SKIP, NULL, "not a follower (no [follow] section)");
		return;
	}
	sqlite3 *db = NULL;
	struct mirror_state st;
	json_t *policy = NULL;
	if (sqlite3_open_v2(cfg->state_db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    store_mirror_peek(db, &st, &policy) != 0) {
		doctor_report(d, "follow", DOCTOR_WARN, "run entra-sync doctor as root; is entra-syncd running?",
		              "%s cannot be read: %s", cfg->state_db, db ? sqlite3_errmsg(db) : strerror(errno));
		sqlite3_close(db);
		return;
	}
	sqlite3_close(db);
	range_check(d, policy);
	json_decref(policy);
	snprintf(fix, sizeof(fix),
	         "journalctl -u entra-syncd (why the hub does not answer); from this host: curl -sS -o /dev/null "
	         "-w '%%{http_code}\\n' -H \"Authorization: Bearer $(cat %s)\" %s/feed/v1/auth (204 expected)",
	         cfg->follow_token_file, cfg->follow_hubs.items[0]);
	long long silence = (long long)time(NULL) - st.last_contact;
	if (!st.hub[0])
		doctor_report(d, "follow", DOCTOR_WARN, fix, "no snapshot from %s yet: this host has no accounts",
		              cfg->follow_hubs.items[0]);
	else if (silence > cfg->follow_max_silence)
		doctor_report(d, "follow", DOCTOR_WARN, fix,
		              "no contact with the hub for %lld s ([follow] max_silence = %d): accounts are as of then "
		              "(cursor %lld of hub %s)",
		              silence, cfg->follow_max_silence, st.cursor, st.hub);
	else
		doctor_report(d, "follow", DOCTOR_OK, NULL,
		              "following hub %s via %s: cursor %lld, last contact %lld s ago", st.hub, st.hub_url,
		              st.cursor, silence);
}
