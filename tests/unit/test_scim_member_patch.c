/* Member-only group PATCHes (sync/scim/scim_member_patch.c): which requests take the path that
 * touches only the named members, and that the result through the SCIM service is exactly the
 * general path's (real state.db in a temp dir). */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sqlite_files.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sync/scim/scim_api.h"
#include "sync/scim/scim_member_patch.h"

#define BASE "https://host.example/scim/v2"

/* --- classification --- */

static int plan_of(const char *ops, struct member_plan *pl)
{
	char body[2048];
	json_error_t jerr;
	snprintf(body, sizeof(body),
	         "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":%s}", ops);
	json_t *j = json_loads(body, 0, &jerr);
	assert_non_null(j);
	int rc = member_plan_build(j, pl);
	json_decref(j);
	return rc;
}

static void expect_plan(const char *ops, size_t n_ids, const char *first)
{
	struct member_plan pl;
	assert_int_equal(plan_of(ops, &pl), 1);
	assert_int_equal(pl.n, n_ids);
	if (first)
		assert_string_equal(pl.ids[0], first);
	member_plan_free(&pl);
}

static void expect_general(const char *ops)
{
	struct member_plan pl;
	assert_int_equal(plan_of(ops, &pl), 0);
}

static void entra_member_forms_are_planned(void **state)
{
	(void)state;
	expect_plan(
	    "[{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"value\":\"a\"},{\"value\":\"b\"},{\"value\":\"a\"}]}]",
	    2, "a");
	expect_plan("[{\"op\":\"add\",\"path\":\"members\",\"value\":{\"value\":\"a\",\"$ref\":null}}]", 1, "a");
	expect_plan("[{\"op\":\"Remove\",\"path\":\"members\",\"value\":[{\"value\":\"c\"}]}]", 1, "c");
	expect_plan("[{\"op\":\"remove\",\"path\":\"members[value eq \\\"d\\\"]\"}]", 1, "d");
	/* a non-member attribute alongside: planned, the attribute goes through the general code */
	expect_plan("[{\"op\":\"Replace\",\"path\":\"displayName\",\"value\":\"X\"},"
	            "{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"value\":\"e\"}]}]",
	            1, "e");
}

static void whole_set_operations_are_not_planned(void **state)
{
	(void)state;
	expect_general("[{\"op\":\"Replace\",\"path\":\"members\",\"value\":[{\"value\":\"a\"}]}]");
	expect_general("[{\"op\":\"Remove\",\"path\":\"members\"}]");
	expect_general("[{\"op\":\"Add\",\"value\":{\"members\":[{\"value\":\"a\"}]}}]");
	expect_general("[{\"op\":\"Add\",\"path\":\"urn:ietf:params:scim:schemas:core:2.0:Group:members\","
	               "\"value\":[{\"value\":\"a\"}]}]");
	expect_general("[{\"op\":\"Remove\",\"path\":\"members[display eq \\\"x\\\"]\"}]");
	expect_general("[{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"value\":5}]}]");
	expect_general("[{\"op\":\"Add\",\"path\":\"members\",\"value\":[\"a\"]}]");
	expect_general("[{\"op\":\"Add\",\"path\":\"members.value\",\"value\":\"a\"}]");
	expect_general("[{\"op\":\"Add\",\"path\":\"members[\",\"value\":[{\"value\":\"a\"}]}]");
	expect_general("[]");
}

/* --- through the service --- */

struct fx {
	char dir[64];
	struct entra_config cfg;
	struct scim_service *svc;
};

static void on_change(void *arg)
{
	(void)arg;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char path[128];
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-member-patch-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(path, sizeof(path), "%s/state.db", f->dir);
	f->cfg.state_db = strdup(path);
	f->cfg.max_body = 1024 * 1024;
	f->svc = scim_service_open(&f->cfg, on_change, f);
	assert_non_null(f->svc);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	scim_service_close(f->svc);
	sqlite_files_remove(f->cfg.state_db);
	rmdir(f->dir);
	free(f->cfg.state_db);
	free(f);
	return 0;
}

static json_t *call(struct fx *f, const char *method, const char *path, const char *body, int want_status)
{
	struct scim_request req = {
	    .method = method, .path = path, .body = body, .body_len = body ? strlen(body) : 0, .base_url = BASE};
	struct scim_response resp;
	scim_service_handle(f->svc, &req, &resp);
	if (resp.status != want_status) {
		char *dump = resp.body ? json_dumps(resp.body, 0) : NULL;
		print_error("%s %s: status %d, wanted %d: %s\n", method, path, resp.status, want_status,
		            dump ? dump : "(no body)");
		free(dump);
	}
	assert_int_equal(resp.status, want_status);
	json_t *out = json_incref(resp.body);
	scim_response_clear(&resp);
	return out;
}

static char *create_user(struct fx *f, const char *upn)
{
	char body[512];
	snprintf(body, sizeof(body),
	         "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"%s\",\"active\":true}",
	         upn);
	json_t *r = call(f, "POST", "/Users", body, 201);
	char *id = strdup(json_string_value(json_object_get(r, "id")));
	json_decref(r);
	return id;
}

static json_t *patch(struct fx *f, const char *gid, const char *ops, int want)
{
	char path[128], body[4096];
	snprintf(path, sizeof(path), "/Groups/%s", gid);
	snprintf(body, sizeof(body),
	         "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":%s}", ops);
	return call(f, "PATCH", path, body, want);
}

/* The group as GET returns it; *MEMBERS gets "id,id,..." in the service's order. */
static json_t *group_get(struct fx *f, const char *gid, char *members, size_t len)
{
	char path[128];
	snprintf(path, sizeof(path), "/Groups/%s", gid);
	json_t *g = call(f, "GET", path, NULL, 200), *e;
	size_t i, off = 0;
	members[0] = '\0';
	json_array_foreach(json_object_get(g, "members"), i, e) {
		off += (size_t)snprintf(members + off, len - off, "%s%s", off ? "," : "",
		                        json_string_value(json_object_get(e, "value")));
		assert_true(off < len);
	}
	return g;
}

static int id_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void mixed_request_matches_the_general_semantics(void **state)
{
	struct fx *f = *state;
	char *u[4], ops[2048], want[512], got[512], body[1024];
	for (int i = 0; i < 4; i++) {
		char upn[64];
		snprintf(upn, sizeof(upn), "u%d@contoso.com", i);
		u[i] = create_user(f, upn);
	}
	snprintf(body, sizeof(body),
	         "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"Team\","
	         "\"members\":[{\"value\":\"%s\"},{\"value\":\"%s\"}]}",
	         u[0], u[1]);
	json_t *g = call(f, "POST", "/Groups", body, 201);
	char *gid = strdup(json_string_value(json_object_get(g, "id")));
	json_decref(g);
	/* remove u0, add u2 and an unknown id (skipped, as the general path does), remove then re-add
	 * u1, remove u3 who is no member (no-op), rename the group */
	snprintf(ops, sizeof(ops),
	         "[{\"op\":\"Remove\",\"path\":\"members[value eq \\\"%s\\\"]\"},"
	         "{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"value\":\"%s\"},"
	         "{\"value\":\"00000000-0000-4000-8000-00000000dead\"}]},"
	         "{\"op\":\"Remove\",\"path\":\"members\",\"value\":[{\"value\":\"%s\"},{\"value\":\"%s\"}]},"
	         "{\"op\":\"Add\",\"path\":\"members\",\"value\":{\"value\":\"%s\"}},"
	         "{\"op\":\"Replace\",\"path\":\"displayName\",\"value\":\"Team Renamed\"}]",
	         u[0], u[2], u[1], u[3], u[1]);
	assert_null(patch(f, gid, ops, 204));
	char *expect[2] = {u[1], u[2]};
	qsort(expect, 2, sizeof(*expect), id_cmp);
	snprintf(want, sizeof(want), "%s,%s", expect[0], expect[1]);
	g = group_get(f, gid, got, sizeof(got));
	assert_string_equal(got, want);
	assert_string_equal(json_string_value(json_object_get(g, "displayName")), "Team Renamed");
	assert_string_equal(json_string_value(json_object_get(json_object_get(g, "meta"), "version")), "W/\"2\"");
	json_decref(g);
	for (int i = 0; i < 4; i++)
		free(u[i]);
	free(gid);
}

static void invalid_member_request_changes_nothing(void **state)
{
	struct fx *f = *state;
	char *u0 = create_user(f, "a@contoso.com"), *u1 = create_user(f, "b@contoso.com");
	char body[512], ops[1024], got[256];
	snprintf(body, sizeof(body),
	         "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"T\","
	         "\"members\":[{\"value\":\"%s\"}]}",
	         u0);
	json_t *g = call(f, "POST", "/Groups", body, 201);
	char *gid = strdup(json_string_value(json_object_get(g, "id")));
	json_decref(g);
	/* planned operations, then one the PATCH code refuses: the whole request is rolled back */
	snprintf(ops, sizeof(ops),
	         "[{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"value\":\"%s\"}]},"
	         "{\"op\":\"Remove\",\"path\":\"members[value eq \\\"%s\\\"]\"},"
	         "{\"op\":\"Replace\",\"path\":\"displayName\",\"value\":7}]",
	         u1, u0);
	json_t *err = patch(f, gid, ops, 400);
	assert_non_null(err);
	json_decref(err);
	g = group_get(f, gid, got, sizeof(got));
	assert_string_equal(got, u0);
	assert_string_equal(json_string_value(json_object_get(g, "displayName")), "T");
	json_decref(g);
	free(u0);
	free(u1);
	free(gid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(entra_member_forms_are_planned),
	    cmocka_unit_test(whole_set_operations_are_not_planned),
	    cmocka_unit_test_setup_teardown(mixed_request_matches_the_general_semantics, setup, teardown),
	    cmocka_unit_test_setup_teardown(invalid_member_request_changes_nothing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
