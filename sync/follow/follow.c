/* The follower's thread: snapshot, long-poll, mirror, publish (sync/follow/follow.h). */
#include "sync/follow/follow.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/log.h"
#include "httpc/httpc.h"
#include "sync/follow/follow_policy.h"
#include "sync/publish/publisher.h"
#include "sync/rules/idalloc.h"
#include "sync/store/store_changes.h"
#include "sync/store/store_feed.h"
#include "sync/store/store_mirror.h"
#include "sync/tokens/tokens.h"

static const struct entra_logger logger = {"entra-syncd", LOG_DAEMON, true, true};

#define FEED_PATH          "/feed/v1/" /* the hub's feed (sync/feed/feed.h) */
#define TOKEN_MAX          256
#define SNAPSHOT_TIMEOUT_S 300
#define POLL_GRACE_S       15 /* beyond the wait the hub may hold a long-poll */

struct follower {
	char *path;
	pthread_mutex_t cfg_lock;  /* cfg, swapped by the thread (policy) and reload (SIGHUP) */
	struct entra_config *cfg;  /* the file's settings with the hub's policy: the publisher's */
	struct entra_config *boot; /* the file as read at start: hub URLs, wait (a restart changes them) */
	struct publisher *pub;
	struct store *db;
	struct httpc_client *http;
	char token[TOKEN_MAX];
	atomic_bool stop;
	pthread_mutex_t sleep_lock;
	pthread_cond_t sleep_wake;
	pthread_t thread;
	bool thread_started;
	bool need_snapshot;
	size_t hub_index;
	unsigned failures;
};

/* The first line of the token file, which must not be readable by group or others. */
static int token_load(const char *path, char out[TOKEN_MAX], char *err, size_t errlen)
{
	char why[512];
	int rc = token_file_check(path, why, sizeof(why));
	if (rc != 0)
		return snprintf(err, errlen, "[follow] token_file: %s",
		                rc > 0 ? "the file does not exist (put the follower token from `entra-sync token new "
		                         "--follow` on the hub in it, mode 0600)"
		                       : why),
		       -1;
	FILE *fp = fopen(path, "re");
	if (!fp)
		return snprintf(err, errlen, "cannot read [follow] token_file %s: %s", path, strerror(errno)), -1;
	char *line = fgets(out, TOKEN_MAX, fp);
	fclose(fp);
	size_t n = line ? strcspn(out, "\r\n \t") : 0;
	out[n] = '\0';
	if (n < 16 || n + 1 >= TOKEN_MAX)
		return snprintf(err, errlen, "[follow] token_file %s holds no follower token on its first line", path),
		       -1;
	return 0;
}

static int http_open(struct follower *f, const struct entra_config *cfg, char *err, size_t errlen)
{
	struct httpc_settings s = {.ca_file = cfg->follow_ca_file, .user_agent = "entra-syncd-follower"};
	f->http = httpc_client_new(&s, err, errlen);
	return f->http ? 0 : -1;
}

/* Swaps in CFG for the publisher; the old one is freed once the publisher let go of it. */
static void cfg_swap(struct follower *f, struct entra_config *cfg)
{
	pthread_mutex_lock(&f->cfg_lock);
	struct entra_config *old = f->cfg;
	f->cfg = cfg;
	publisher_reload(f->pub, cfg);
	pthread_mutex_unlock(&f->cfg_lock);
	follow_config_free(old);
}

static void policy_changed(struct follower *f)
{
	char err[512];
	json_t *policy = store_mirror_policy(f->db);
	struct entra_config *cfg = follow_config_build(f->path, policy, err, sizeof(err));
	json_decref(policy);
	if (!cfg) {
		entra_log(&logger, LOG_ERR, "follower: %s; publishing with the previous policy", err);
		return;
	}
	entra_log(&logger, LOG_INFO, "follower: the hub's policy changed; re-evaluating every account");
	cfg_swap(f, cfg);
}

static json_t *get_json(struct follower *f, const char *url, long timeout_s, size_t max, long *status, char *err,
                        size_t errlen)
{
	struct httpc_opts o = {.client = f->http,
	                       .timeout_ms = timeout_s * 1000,
	                       .bearer = f->token,
	                       .max_response = max,
	                       .cancel = &f->stop};
	struct httpc_response resp;
	json_error_t jerr;
	if (httpc_get(&o, url, &resp, err, errlen) != 0)
		return NULL;
	*status = resp.status;
	json_t *doc = json_loadb(resp.body, resp.len, JSON_REJECT_DUPLICATES, &jerr);
	httpc_response_free(&resp);
	if (!doc)
		snprintf(err, errlen, "%.200s: HTTP %ld, not JSON (%s)", url, *status, jerr.text);
	return doc;
}

static void contact(struct follower *f, const char *base, bool caught_up)
{
	store_mirror_contact(f->db, base, (long long)time(NULL), caught_up);
}

/* 0 mirrored, -1 failed (ERR). */
static int take_snapshot(struct follower *f, const char *base, char *err, size_t errlen)
{
	char url[512];
	long status = 0;
	struct mirror_state before;
	snprintf(url, sizeof(url), "%s" FEED_PATH "snapshot", base);
	json_t *snap = get_json(f, url, SNAPSHOT_TIMEOUT_S, FOLLOW_SNAPSHOT_MAX, &status, err, errlen);
	if (!snap)
		return -1;
	int rc = -1;
	if (status != 200)
		snprintf(err, errlen, "%s: HTTP %ld: %.200s", url, status,
		         json_string_value(json_object_get(snap, "detail")) ?: "(no detail)");
	else if (store_mirror_state(f->db, &before) == 0 && store_mirror_snapshot(f->db, snap) == 0)
		rc = 0;
	else
		snprintf(err, errlen, "cannot store the snapshot from %s in state.db (logged above)", base);
	if (rc == 0) {
		const char *hash = json_string_value(json_object_get(snap, "policy_hash"));
		entra_log(
		    &logger, LOG_INFO, "follower: snapshot of hub %s from %s at cursor %lld: %zu users, %zu groups",
		    json_string_value(json_object_get(snap, "hub")), base,
		    (long long)json_integer_value(json_object_get(snap, "cursor")),
		    json_array_size(json_object_get(snap, "users")), json_array_size(json_object_get(snap, "groups")));
		contact(f, base, true);
		if (!hash || strcmp(hash, before.policy_hash) != 0)
			policy_changed(f);
		else
			publisher_notify(f->pub);
	}
	json_decref(snap);
	return rc;
}

/* After a changes answer: does the hub's policy differ from ours? A non-empty answer may come
 * from a proxy's cache, older than our snapshot: only one past the snapshot's cursor counts. */
static bool policy_stale(const struct mirror_state *st, const json_t *doc, long long cursor, bool empty)
{
	const char *hash = json_string_value(json_object_get(doc, "policy_hash"));
	return hash && strcmp(hash, st->policy_hash) != 0 && (empty || cursor > st->policy_cursor);
}

static int apply_changes(struct follower *f, const struct mirror_state *st, const json_t *doc, char *err, size_t errlen)
{
	const json_t *changes = json_object_get(doc, "changes");
	const char *hub = json_string_value(json_object_get(doc, "hub"));
	long long cursor = json_integer_value(json_object_get(doc, "cursor"));
	bool ids = false;
	if (!json_is_array(changes) || !hub || strcmp(hub, st->hub) != 0 || cursor < st->cursor)
		return snprintf(err, errlen, "the hub's answer does not continue our cursor %lld", st->cursor), 1;
	if (json_array_size(changes) == 0)
		return policy_stale(st, doc, cursor, true) ? 1 : 0;
	if (store_mirror_changes(f->db, changes, cursor, &ids) != 0)
		return snprintf(err, errlen, "cannot store the changes in state.db (logged above)"), -1;
	publisher_notify(f->pub);
	return policy_stale(st, doc, cursor, false) ? 1 : 0;
}

/* 0 answered (maybe nothing), 1 a new snapshot is needed, -1 failed (ERR). */
static int poll_changes(struct follower *f, const char *base, int wait, char *err, size_t errlen)
{
	char url[768];
	long status = 0;
	struct mirror_state st;
	if (store_mirror_state(f->db, &st) != 0 || !st.hub[0])
		return 1;
	snprintf(url, sizeof(url), "%s" FEED_PATH "changes?hub=%s&after=%lld&wait=%d", base, st.hub, st.cursor, wait);
	json_t *doc = get_json(f, url, wait + POLL_GRACE_S, FOLLOW_CHANGES_MAX, &status, err, errlen);
	if (!doc)
		return -1;
	int rc;
	if (status == 410) {
		entra_log(&logger, LOG_NOTICE, "follower: %s: %s; taking a new snapshot", base,
		          json_string_value(json_object_get(doc, "detail")) ?: "resnapshot");
		rc = 1;
	} else if (status != 200) {
		rc = -1;
		snprintf(err, errlen, "%s: HTTP %ld: %.200s", url, status,
		         json_string_value(json_object_get(doc, "detail")) ?: "(no detail)");
	} else {
		rc = apply_changes(f, &st, doc, err, errlen);
	}
	if (rc >= 0)
		contact(f, base, !json_is_true(json_object_get(doc, "more")));
	json_decref(doc);
	return rc;
}

static void sleep_ms(struct follower *f, long ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&f->sleep_lock);
	while (!atomic_load(&f->stop))
		if (pthread_cond_timedwait(&f->sleep_wake, &f->sleep_lock, &until) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&f->sleep_lock);
}

static void failed(struct follower *f, size_t n_hubs, const char *err)
{
	unsigned r = 0;
	f->failures++;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (unsigned)time(NULL) * 2654435761u;
	long delay = follow_backoff_ms(f->failures, r);
	if (f->failures == 1 || f->failures % 10 == 0)
		entra_log(&logger, LOG_WARNING,
		          "follower: %s (failure %u); cache.db keeps serving the last mirror; next try in %ld ms%s",
		          err, f->failures, delay, n_hubs > 1 ? " at the next hub" : "");
	f->hub_index = (f->hub_index + 1) % n_hubs;
	sleep_ms(f, delay);
}

static void *follow_thread(void *arg)
{
	struct follower *f = arg;
	const struct entra_config *boot = f->boot;
	while (!atomic_load(&f->stop)) {
		char err[1024] = "";
		const char *base = boot->follow_hubs.items[f->hub_index];
		int rc = f->need_snapshot ? take_snapshot(f, base, err, sizeof(err))
		                          : poll_changes(f, base, boot->follow_wait, err, sizeof(err));
		if (atomic_load(&f->stop))
			break;
		if (rc < 0) {
			failed(f, boot->follow_hubs.n, err);
			continue;
		}
		if (f->failures)
			entra_log(&logger, LOG_NOTICE, "follower: %s answers again", base);
		f->failures = 0;
		f->need_snapshot = rc == 1;
	}
	return NULL;
}

static int store_ready(struct follower *f, const struct entra_config *cfg, char *err, size_t errlen)
{
	struct mirror_state st;
	if (!(f->db = store_open(cfg->state_db, err, errlen)))
		return -1;
	/* The hub's allocations are logged as they are mirrored, for the publisher to add them. */
	if (idalloc_init_schema(store_db(f->db)) != 0 || store_changes_install(store_db(f->db)) != 1 ||
	    store_feed_install(store_db(f->db)) != 0 || store_mirror_state(f->db, &st) != 0)
		return snprintf(err, errlen, "cannot read the follower's state in %s (logged above)", cfg->state_db),
		       -1;
	f->need_snapshot = !st.hub[0];
	if (st.hub[0])
		entra_log(&logger, LOG_INFO, "follower: resuming hub %s from cursor %lld", st.hub, st.cursor);
	return 0;
}

struct follower *follower_start(const char *path, char *err, size_t errlen)
{
	struct follower *f = calloc(1, sizeof(*f));
	if (!f || !(f->path = strdup(path))) {
		free(f);
		return snprintf(err, errlen, "out of memory"), NULL;
	}
	pthread_mutex_init(&f->cfg_lock, NULL);
	pthread_mutex_init(&f->sleep_lock, NULL);
	pthread_cond_init(&f->sleep_wake, NULL);
	struct entra_config *file = f->boot = follow_config_build(path, NULL, err, errlen);
	int rc = file ? 0 : -1;
	if (rc == 0)
		rc = token_load(file->follow_token_file, f->token, err, errlen);
	if (rc == 0)
		rc = http_open(f, file, err, errlen);
	if (rc == 0)
		rc = store_ready(f, file, err, errlen);
	json_t *policy = rc == 0 ? store_mirror_policy(f->db) : NULL;
	if (rc == 0 && !(f->cfg = follow_config_build(path, policy, err, errlen)))
		rc = -1;
	json_decref(policy);
	if (rc == 0 && !(f->pub = publisher_start(f->cfg)))
		rc = (snprintf(err, errlen, "cannot start the publisher (logged above)"), -1);
	if (rc == 0 && pthread_create(&f->thread, NULL, follow_thread, f) != 0)
		rc = (snprintf(err, errlen, "cannot start the follower thread: %s", strerror(errno)), -1);
	if (rc != 0) {
		follower_stop(f);
		return NULL;
	}
	f->thread_started = true;
	return f;
}

void follower_reload(struct follower *f)
{
	char err[1024];
	json_t *policy = store_mirror_policy(f->db);
	struct entra_config *cfg = follow_config_build(f->path, policy, err, sizeof(err));
	json_decref(policy);
	if (!cfg) {
		entra_log(&logger, LOG_ERR, "keeping the previous configuration: %s", err);
		return;
	}
	cfg_swap(f, cfg);
	entra_log(&logger, LOG_INFO, "configuration reloaded (hub URLs and the token need a restart)");
}

void follower_stop(struct follower *f)
{
	if (!f)
		return;
	atomic_store(&f->stop, true);
	pthread_mutex_lock(&f->sleep_lock);
	pthread_cond_broadcast(&f->sleep_wake);
	pthread_mutex_unlock(&f->sleep_lock);
	if (f->thread_started)
		pthread_join(f->thread, NULL);
	if (f->pub) {
		publisher_flush(f->pub);
		publisher_stop(f->pub);
	}
	store_close(f->db);
	httpc_client_free(f->http);
	explicit_bzero(f->token, sizeof(f->token));
	follow_config_free(f->cfg);
	follow_config_free(f->boot);
	pthread_cond_destroy(&f->sleep_wake);
	pthread_mutex_destroy(&f->sleep_lock);
	pthread_mutex_destroy(&f->cfg_lock);
	free(f->path);
	free(f);
}
