/* The feed's requests (sync/feed/feed.h): snapshot, changes with long-poll, auth. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/feed/feed_internal.h"
#include "sync/store/store_feed.h"

#define IMMUTABLE_MAX_AGE 86400

/* Queues TEXT (taken, may be NULL for no body) with STATUS and the caching headers. */
static enum MHD_Result respond(struct MHD_Connection *con, int status, char *text, const char *cache, const char *etag,
                               int *status_out)
{
	struct MHD_Response *m = text ? MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE)
	                              : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!m) {
		free(text);
		return MHD_NO;
	}
	if (text)
		MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(m, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
	if (etag)
		MHD_add_response_header(m, MHD_HTTP_HEADER_ETAG, etag);
	if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
		MHD_add_response_header(m, MHD_HTTP_HEADER_RETRY_AFTER, "5");
	enum MHD_Result ok = MHD_queue_response(con, (unsigned)status, m);
	MHD_destroy_response(m);
	if (ok == MHD_YES)
		*status_out = status;
	return ok;
}

static enum MHD_Result respond_json(struct MHD_Connection *con, int status, json_t *body, const char *cache,
                                    const char *etag, int *status_out)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!text)
		return respond(con, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "no-store", NULL, status_out);
	return respond(con, status, text, cache, etag, status_out);
}

static enum MHD_Result error(struct MHD_Connection *con, int status, const char *code, const char *detail,
                             const char *hub, int *status_out)
{
	json_t *body = json_pack("{s:s, s:s, s:s}", "error", code, "detail", detail, "hub", hub);
	return respond_json(con, status, body, "no-store", NULL, status_out);
}

/* A new snapshot answer with its caching headers, or NULL (*CURSOR: the snapshot's). */
static struct MHD_Response *snapshot_build(struct feed *f, const char *hash, json_t *policy, long long *cursor)
{
	char etag[96], cache[64];
	json_t *snap = NULL;
	if (store_feed_snapshot(store_db(f->db), &snap) != 0) {
		json_decref(policy);
		return NULL;
	}
	*cursor = json_integer_value(json_object_get(snap, "cursor"));
	json_object_set_new(snap, "hub", json_string(f->hub_id));
	json_object_set_new(snap, "policy", policy);
	json_object_set_new(snap, "policy_hash", json_string(hash));
	char *text = json_dumps(snap, JSON_COMPACT);
	json_decref(snap);
	struct MHD_Response *m =
	    text ? MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE) : NULL;
	if (!m) {
		free(text);
		return NULL;
	}
	snprintf(etag, sizeof(etag), "\"%s-%lld-%s\"", f->hub_id, *cursor, hash);
	snprintf(cache, sizeof(cache), "public, max-age=%d", FEED_SNAPSHOT_MAX_AGE);
	MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(m, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
	MHD_add_response_header(m, MHD_HTTP_HEADER_ETAG, etag);
	return m;
}

static enum MHD_Result snapshot(struct feed *f, struct MHD_Connection *con, int *status)
{
	char hash[FEED_POLICY_HASH_LEN + 1];
	long long position = -1;
	json_t *policy = feed_policy_get(f, hash);
	pthread_mutex_lock(&f->db_lock);
	bool fresh = f->snap && store_feed_position(store_db(f->db), &position) == 0 && position == f->snap_cursor &&
	             !strcmp(hash, f->snap_hash);
	if (fresh) {
		json_decref(policy);
	} else {
		long long cursor = 0;
		struct MHD_Response *m = snapshot_build(f, hash, policy, &cursor);
		if (m) {
			if (f->snap)
				MHD_destroy_response(f->snap); /* connections still sending it keep their reference */
			f->snap = m, f->snap_cursor = cursor;
			memcpy(f->snap_hash, hash, sizeof(hash));
		}
		fresh = m != NULL;
	}
	enum MHD_Result ok = fresh ? MHD_queue_response(con, 200, f->snap) : MHD_NO;
	pthread_mutex_unlock(&f->db_lock);
	if (!fresh)
		return error(con, 503, "unavailable", "the hub cannot read state.db now; retry later", f->hub_id,
		             status);
	if (ok == MHD_YES)
		*status = 200;
	return ok;
}

/* A decimal argument in [0, MAX]; DEF when absent. false when malformed. */
static bool number_arg(struct MHD_Connection *con, const char *name, long long def, long long max, long long *out)
{
	const char *v = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, name);
	char *end = NULL;
	*out = def;
	if (!v)
		return true;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (!*v || *end || errno || n < 0)
		return false;
	*out = n > max ? max : n;
	return true;
}

static enum MHD_Result changes_answer(struct feed *f, struct MHD_Connection *con, json_t *changes, long long after,
                                      long long cursor, bool more, int *status)
{
	char hash[FEED_POLICY_HASH_LEN + 1], etag[96], cache[64];
	json_decref(feed_policy_get(f, hash));
	bool empty = json_array_size(changes) == 0;
	json_t *body = json_pack("{s:s, s:I, s:b, s:s, s:o}", "hub", f->hub_id, "cursor", (json_int_t)cursor, "more",
	                         more, "policy_hash", hash, "changes", changes);
	if (empty)
		return respond_json(con, 200, body, "no-store", NULL, status);
	snprintf(etag, sizeof(etag), "\"%s-%lld-%lld\"", f->hub_id, after, cursor);
	snprintf(cache, sizeof(cache), "public, max-age=%d, immutable", IMMUTABLE_MAX_AGE);
	return respond_json(con, 200, body, cache, etag, status);
}

static void deadline_in(struct timespec *t, long long seconds)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += (time_t)seconds;
}

static enum MHD_Result changes(struct feed *f, struct MHD_Connection *con, struct feed_request *r, int *status)
{
	const char *hub = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "hub");
	long long after = 0, wait = 0;
	if (!number_arg(con, "after", -1, (1LL << 62), &after) || after < 0 ||
	    !number_arg(con, "wait", 0, FEED_WAIT_MAX_S, &wait))
		return error(con, 400, "bad_request", "after (a cursor) is required; after and wait are whole numbers",
		             f->hub_id, status);
	if (!hub || strcmp(hub, f->hub_id) != 0)
		return error(con, 410, "resnapshot", "another hub (or a re-created one): take a new snapshot",
		             f->hub_id, status);
	json_t *list = NULL;
	long long cursor = after;
	bool more = false;
	pthread_mutex_lock(&f->db_lock);
	int rc = store_feed_changes(store_db(f->db), after, FEED_CHANGES_LIMIT, &list, &cursor, &more);
	pthread_mutex_unlock(&f->db_lock);
	if (rc < 0)
		return error(con, 503, "unavailable", "the hub cannot read state.db now; retry later", f->hub_id,
		             status);
	if (rc > 0)
		return error(con, 410, "resnapshot",
		             "the cursor is no longer in the hub's change log: take a new snapshot", f->hub_id, status);
	if (json_array_size(list) > 0 || wait == 0 || r->waited)
		return changes_answer(f, con, list, after, cursor, more, status);
	json_decref(list);
	r->waiter.con = con;
	r->waiter.after = after;
	deadline_in(&r->waiter.deadline, wait);
	if (!feed_wait_add(f, &r->waiter))
		return error(con, 503, "busy", "the hub holds as many waiting followers as it may; retry later",
		             f->hub_id, status);
	r->waited = true;
	return MHD_YES; /* suspended: called again once resumed */
}

enum MHD_Result feed_http_handle(void *arg, struct MHD_Connection *con, const char *url, void **state, int *status)
{
	struct feed *f = arg;
	struct feed_request *r = *state;
	if (!r && !(r = *state = calloc(1, sizeof(*r))))
		return MHD_NO;
	const char *what = url + strlen(FEED_PREFIX);
	if (!strcmp(what, "auth"))
		return respond(con, 204, NULL, "no-store", NULL, status);
	if (!strcmp(what, "snapshot"))
		return snapshot(f, con, status);
	if (!strcmp(what, "changes"))
		return changes(f, con, r, status);
	return error(con, 404, "not_found", "the feed serves " FEED_PREFIX "snapshot, changes and auth", f->hub_id,
	             status);
}

void feed_http_done(void *arg, void *state)
{
	struct feed_request *r = state;
	if (!r)
		return;
	feed_wait_forget(arg, &r->waiter);
	free(r);
}
