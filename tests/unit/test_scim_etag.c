/* Unit tests for ETag preconditions (sync/scim/scim_etag.c, RFC 7644 3.14): If-Match on PUT, PATCH
 * and DELETE (412 when stale), If-None-Match on GET (304 without a body). */
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
#include "sync/scim/scim_etag.h"

static void tag_lists(void **state)
{
	assert_true(scim_etag_list_matches("W/\"3\"", 3));
	assert_true(scim_etag_list_matches("\"3\"", 3)); /* weak comparison: W/ or not, the opaque value counts */
	assert_true(scim_etag_list_matches(" *", 42));
	assert_true(scim_etag_list_matches("W/\"1\", W/\"2\" ,\"3\"", 2));
	assert_true(scim_etag_list_matches(", ,W/\"12\",", 12)); /* empty list elements are allowed */
	assert_false(scim_etag_list_matches("W/\"3\"", 4));
	assert_false(scim_etag_list_matches("W/\"31\"", 3));
	assert_false(scim_etag_list_matches("W/\"3", 3)); /* malformed lists name nothing */
	assert_false(scim_etag_list_matches("3", 3));
	assert_false(scim_etag_list_matches("w/\"3\"", 3));
	assert_false(scim_etag_list_matches("W/\"3\" W/\"4\"", 3));
	assert_false(scim_etag_list_matches("*, W/\"3\"", 3));
	assert_false(scim_etag_list_matches("", 3));
	assert_false(scim_etag_list_matches(",", 3));
	assert_false(scim_etag_list_matches("W/\"3\", \"a\"b\"", 3));
}

static void evaluation_order(void **state)
{
	assert_int_equal(scim_etag_evaluate(NULL, NULL, true, 1), SCIM_PRECONDITION_OK);
	assert_int_equal(scim_etag_evaluate("W/\"1\"", NULL, false, 1), SCIM_PRECONDITION_OK);
	assert_int_equal(scim_etag_evaluate("W/\"1\"", NULL, false, 2), SCIM_PRECONDITION_FAIL);
	assert_int_equal(scim_etag_evaluate(NULL, "W/\"2\"", true, 2), SCIM_NOT_MODIFIED);
	assert_int_equal(scim_etag_evaluate(NULL, "W/\"2\"", false, 2), SCIM_PRECONDITION_FAIL);
	assert_int_equal(scim_etag_evaluate(NULL, "*", false, 2), SCIM_PRECONDITION_FAIL);
	assert_int_equal(scim_etag_evaluate(NULL, "W/\"1\"", true, 2), SCIM_PRECONDITION_OK);
	/* If-Match first (RFC 7232 6) */
	assert_int_equal(scim_etag_evaluate("W/\"1\"", "W/\"2\"", true, 2), SCIM_PRECONDITION_FAIL);
}

struct fx {
	char dir[64], path[128];
	struct entra_config cfg;
	struct scim_service *svc;
	char etag[64];
	bool had_body;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-etag-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/state.db", f->dir);
	f->cfg.state_db = f->path;
	f->cfg.max_body = 65536;
	f->svc = scim_service_open(&f->cfg, NULL, NULL);
	assert_non_null(f->svc);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	scim_service_close(f->svc);
	sqlite_files_remove(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* One request with the two headers (NULL: absent); returns the status, keeps etag and body. */
static int call(struct fx *f, const char *method, const char *path, const char *body, const char *if_match,
                const char *if_none_match, char *id_out)
{
	struct scim_request req = {.method = method,
	                           .path = path,
	                           .if_match = if_match,
	                           .if_none_match = if_none_match,
	                           .body = body,
	                           .body_len = body ? strlen(body) : 0,
	                           .base_url = "https://h/scim/v2"};
	struct scim_response resp;
	scim_service_handle(f->svc, &req, &resp);
	snprintf(f->etag, sizeof(f->etag), "%s", resp.etag);
	f->had_body = resp.body != NULL;
	if (resp.status == 412) {
		assert_string_equal(json_string_value(json_object_get(resp.body, "status")), "412");
		assert_string_equal(json_string_value(json_array_get(json_object_get(resp.body, "schemas"), 0)),
		                    "urn:ietf:params:scim:api:messages:2.0:Error");
	}
	if (id_out)
		snprintf(id_out, 64, "%s", json_string_value(json_object_get(resp.body, "id")));
	int status = resp.status;
	scim_response_clear(&resp);
	return status;
}

#define USER      "{\"userName\": \"e@contoso.com\", \"displayName\": \"%s\"}"
#define PATCH_OPS "{\"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"], \"Operations\": %s}"

static void writes_need_the_current_version(void **state)
{
	struct fx *f = *state;
	char id[64], path[128], body[256];
	assert_int_equal(call(f, "POST", "/Users", "{\"userName\": \"e@contoso.com\"}", NULL, NULL, id), 201);
	snprintf(path, sizeof(path), "/Users/%s", id);
	snprintf(body, sizeof(body), USER, "two");
	assert_int_equal(call(f, "PUT", path, body, "W/\"1\"", NULL, NULL), 200);
	assert_string_equal(f->etag, "W/\"2\"");
	snprintf(body, sizeof(body), USER, "stale");
	assert_int_equal(call(f, "PUT", path, body, "W/\"1\"", NULL, NULL), 412);
	snprintf(body, sizeof(body), PATCH_OPS, "[{\"op\": \"replace\", \"path\": \"displayName\", \"value\": \"x\"}]");
	assert_int_equal(call(f, "PATCH", path, body, "W/\"1\"", NULL, NULL), 412);
	assert_int_equal(call(f, "PATCH", path, body, "W/\"7\", \"2\"", NULL, NULL), 200);
	assert_string_equal(f->etag, "W/\"3\"");
	assert_int_equal(call(f, "PATCH", path, body, "*", NULL, NULL), 200);
	assert_int_equal(call(f, "PATCH", path, body, NULL, "*", NULL), 412); /* exists */
	assert_int_equal(call(f, "DELETE", path, NULL, "W/\"3\"", NULL, NULL), 412);
	/* nothing of the refused writes was kept */
	assert_int_equal(call(f, "GET", path, NULL, NULL, NULL, NULL), 200);
	assert_string_equal(f->etag, "W/\"4\"");
	assert_int_equal(call(f, "DELETE", path, NULL, "W/\"4\"", NULL, NULL), 204);
	assert_int_equal(call(f, "DELETE", path, NULL, "*", NULL, NULL), 404); /* gone: 404, not 412 */
}

static void get_answers_304_without_a_body(void **state)
{
	struct fx *f = *state;
	char id[64], path[128];
	assert_int_equal(call(f, "POST", "/Groups", "{\"displayName\": \"G\"}", NULL, NULL, id), 201);
	snprintf(path, sizeof(path), "/Groups/%s", id);
	assert_int_equal(call(f, "GET", path, NULL, NULL, "W/\"1\"", NULL), 304);
	assert_false(f->had_body);
	assert_string_equal(f->etag, "W/\"1\"");
	assert_int_equal(call(f, "GET", path, NULL, NULL, "\"1\"", NULL), 304);
	assert_int_equal(call(f, "GET", path, NULL, NULL, "*", NULL), 304);
	assert_int_equal(call(f, "GET", path, NULL, NULL, "W/\"0\"", NULL), 200);
	assert_true(f->had_body);
	assert_int_equal(call(f, "GET", path, NULL, "W/\"0\"", NULL, NULL), 412);
	assert_int_equal(call(f, "GET", "/Groups/nope", NULL, NULL, "*", NULL), 404);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(tag_lists),
	    cmocka_unit_test(evaluation_order),
	    cmocka_unit_test_setup_teardown(writes_need_the_current_version, setup, teardown),
	    cmocka_unit_test_setup_teardown(get_answers_304_without_a_body, setup, teardown),
	};
	return cmocka_run_group_tests_name("scim_etag", tests, NULL, NULL);
}
