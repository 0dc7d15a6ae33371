/* Unit tests for the SCIM service: scim_service_handle on a real temp state.db. */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sqlite_files.h"
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sync/scim/scim_api.h"

#define BASE "https://host.example/scim/v2"

struct fx {
	char dir[64];
	struct entra_config cfg;
	struct scim_service *svc;
	int changes;
	char location[512];
	char etag[64];
};

struct query {
	const char *filter, *start_index, *count, *attributes, *excluded;
};

static void on_change(void *arg)
{
	((struct fx *)arg)->changes++;
}

static struct fx *fx_new(size_t max_body)
{
	struct fx *f = calloc(1, sizeof(*f));
	char path[128];
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-scim-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(path, sizeof(path), "%s/state.db", f->dir);
	f->cfg.state_db = strdup(path);
	f->cfg.max_body = max_body;
	f->svc = scim_service_open(&f->cfg, on_change, f);
	assert_non_null(f->svc);
	return f;
}

static int setup(void **state)
{
	*state = fx_new(1024 * 1024);
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

/* Runs one request, asserts its status, returns the body (caller owns it). */
static json_t *call(struct fx *f, const char *method, const char *path, const char *body, const struct query *q,
                    int want_status)
{
	struct query none = {0};
	struct scim_request req = {
	    .method = method, .path = path, .body = body, .body_len = body ? strlen(body) : 0, .base_url = BASE};
	struct scim_response resp;
	if (!q)
		q = &none;
	req.filter = q->filter;
	req.start_index = q->start_index;
	req.count = q->count;
	req.attributes = q->attributes;
	req.excluded_attributes = q->excluded;
	scim_service_handle(f->svc, &req, &resp);
	if (resp.status != want_status) {
		char *dump = resp.body ? json_dumps(resp.body, 0) : NULL;
		print_error("%s %s: status %d, wanted %d: %s\n", method, path, resp.status, want_status,
		            dump ? dump : "(no body)");
		free(dump);
	}
	assert_int_equal(resp.status, want_status);
	snprintf(f->location, sizeof(f->location), "%s", resp.location);
	snprintf(f->etag, sizeof(f->etag), "%s", resp.etag);
	json_t *out = json_incref(resp.body);
	scim_response_clear(&resp);
	return out;
}

static const char *str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static void assert_error(json_t *body, const char *status, const char *scim_type)
{
	assert_non_null(body);
	assert_string_equal(json_string_value(json_array_get(json_object_get(body, "schemas"), 0)),
	                    "urn:ietf:params:scim:api:messages:2.0:Error");
	assert_string_equal(str(body, "status"), status);
	if (scim_type)
		assert_string_equal(str(body, "scimType"), scim_type);
	assert_true(strlen(str(body, "detail")) > 0);
	json_decref(body);
}

static char *user_body(const char *upn, const char *ext, const char *email)
{
	json_t *u = json_pack(
	    "{s:[s,s], s:s, s:s, s:b, s:s, s:[{s:b, s:s, s:s}], s:{s:s, s:s}, s:{s:s}, s:s}", "schemas",
	    "urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
	    "userName", upn, "externalId", ext, "active", 1, "displayName", "Test User", "emails", "primary", 1, "type",
	    "work", "value", email, "name", "givenName", "Test", "familyName", "User",
	    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "department", "Eng", "customAttr", "kept");
	char *s = json_dumps(u, 0);
	json_decref(u);
	return s;
}

/* POSTs a user and returns its id (caller frees). */
static char *create_user(struct fx *f, const char *upn, const char *ext)
{
	char *body = user_body(upn, ext, upn);
	json_t *r = call(f, "POST", "/Users", body, NULL, 201);
	char *id = strdup(str(r, "id"));
	free(body);
	json_decref(r);
	return id;
}

static char *create_group(struct fx *f, const char *name, const char *ext, const char *members_json)
{
	char body[4096];
	snprintf(body, sizeof(body),
	         "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"%s\","
	         "\"externalId\":\"%s\",\"members\":%s}",
	         name, ext, members_json);
	json_t *r = call(f, "POST", "/Groups", body, NULL, 201);
	char *id = strdup(str(r, "id"));
	json_decref(r);
	return id;
}

static long long total_of(json_t *list)
{
	long long n = json_integer_value(json_object_get(list, "totalResults"));
	return n;
}

static void test_connection_filters_return_empty_list(void **state)
{
	struct fx *f = *state;
	struct query q = {.filter = "userName eq \"7d3c3a8e-6a4b-4f0e-9a51-1b2f0c4e5d6f\""};
	json_t *r = call(f, "GET", "/Users", NULL, &q, 200);
	assert_string_equal(json_string_value(json_array_get(json_object_get(r, "schemas"), 0)),
	                    "urn:ietf:params:scim:api:messages:2.0:ListResponse");
	assert_int_equal(total_of(r), 0);
	assert_int_equal(json_array_size(json_object_get(r, "Resources")), 0);
	assert_int_equal(json_integer_value(json_object_get(r, "startIndex")), 1);
	json_decref(r);
	q.filter = "displayName eq \"7d3c3a8e-6a4b-4f0e-9a51-1b2f0c4e5d6f\"";
	r = call(f, "GET", "/Groups", NULL, &q, 200);
	assert_int_equal(total_of(r), 0);
	json_decref(r);
	assert_int_equal(f->changes, 0);
}

static void create_get_and_match(void **state)
{
	struct fx *f = *state;
	char *body = user_body("Alice@Contoso.com", "alice", "alice.work@contoso.com");
	json_t *r = call(f, "POST", "/Users", body, NULL, 201);
	free(body);
	const char *id = str(r, "id");
	char loc[600];
	snprintf(loc, sizeof(loc), BASE "/Users/%s", id);
	assert_string_equal(f->location, loc);
	assert_string_equal(f->etag, "W/\"1\"");
	json_t *meta = json_object_get(r, "meta");
	assert_string_equal(str(meta, "resourceType"), "User");
	assert_string_equal(str(meta, "location"), loc);
	assert_string_equal(str(meta, "version"), "W/\"1\"");
	assert_non_null(str(meta, "created"));
	assert_string_equal(str(r, "customAttr"), "kept");
	assert_int_equal(f->changes, 1);

	char path[128];
	snprintf(path, sizeof(path), "/Users/%s", id);
	json_t *g = call(f, "GET", path, NULL, NULL, 200);
	assert_string_equal(str(g, "userName"), "Alice@Contoso.com");
	json_decref(g);

	const char *filters[] = {"userName eq \"alice@contoso.com\"", "externalId eq \"alice\"",
	                         "emails[type eq \"work\" and value eq \"ALICE.WORK@contoso.com\"]",
	                         "id eq \"PLACEHOLDER\""};
	char idf[128];
	snprintf(idf, sizeof(idf), "id eq \"%s\"", id);
	filters[3] = idf;
	for (size_t i = 0; i < 4; i++) {
		struct query q = {.filter = filters[i]};
		json_t *l = call(f, "GET", "/Users", NULL, &q, 200);
		assert_int_equal(total_of(l), 1);
		assert_string_equal(str(json_array_get(json_object_get(l, "Resources"), 0), "id"), id);
		json_decref(l);
	}
	struct query miss = {.filter = "externalId eq \"ALICE\""}; /* externalId is caseExact */
	json_t *l = call(f, "GET", "/Users", NULL, &miss, 200);
	assert_int_equal(total_of(l), 0);
	json_decref(l);
	json_decref(r);
}

static void errors_carry_scim_bodies(void **state)
{
	struct fx *f = *state;
	free(create_user(f, "bob@contoso.com", "bob"));
	char *dup = user_body("BOB@contoso.com", "bob2", "b@x");
	assert_error(call(f, "POST", "/Users", dup, NULL, 409), "409", "uniqueness");
	free(dup);
	json_t *e = call(f, "POST", "/Users", "{\"userName\": \"x\",,}", NULL, 400);
	assert_non_null(strstr(str(e, "detail"), "line 1"));
	assert_error(e, "400", "invalidSyntax");
	assert_error(call(f, "POST", "/Users", "[1,2]", NULL, 400), "400", "invalidSyntax");
	assert_error(call(f, "POST", "/Users", "{\"displayName\": \"no user name\"}", NULL, 400), "400",
	             "invalidValue");
	assert_error(call(f, "POST", "/Users", "{\"userName\": 42}", NULL, 400), "400", "invalidValue");
	struct query bad = {.filter = "userName eq"};
	assert_error(call(f, "GET", "/Users", NULL, &bad, 400), "400", "invalidFilter");
	assert_error(call(f, "GET", "/Users/00000000-0000-4000-8000-000000000000", NULL, NULL, 404), "404", NULL);
	assert_error(call(f, "DELETE", "/Groups/nope", NULL, NULL, 404), "404", NULL);
	assert_error(call(f, "GET", "/Nope", NULL, NULL, 404), "404", NULL);
	assert_error(call(f, "GET", "/Users/a/b", NULL, NULL, 404), "404", NULL);
	assert_error(call(f, "DELETE", "/Users", NULL, NULL, 405), "405", NULL);
	assert_error(call(f, "POST", "/ServiceProviderConfig", "{}", NULL, 405), "405", NULL);
	struct query badcount = {.count = "ten"};
	assert_error(call(f, "GET", "/Users", NULL, &badcount, 400), "400", "invalidValue");
	assert_int_equal(f->changes, 1);
}

static void body_over_max_body_is_413(void **state)
{
	struct fx *f = fx_new(4096);
	char *big = malloc(8192);
	memset(big, ' ', 8191);
	big[8191] = '\0';
	big[0] = '{';
	big[8190] = '}';
	assert_error(call(f, "POST", "/Users", big, NULL, 413), "413", NULL);
	free(big);
	*state = f;
}

static char *patch_body(const char *ops)
{
	char *s = malloc(strlen(ops) + 128);
	sprintf(s, "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":%s}", ops);
	return s;
}

static json_t *patch(struct fx *f, const char *path, const char *ops, int want)
{
	char *b = patch_body(ops);
	json_t *r = call(f, "PATCH", path, b, NULL, want);
	free(b);
	return r;
}

static void patch_user_forms(void **state)
{
	struct fx *f = *state;
	char *id = create_user(f, "carol@contoso.com", "carol");
	char path[128];
	snprintf(path, sizeof(path), "/Users/%s", id);
	json_t *r = patch(f, path, "[{\"op\":\"Replace\",\"path\":\"active\",\"value\":\"False\"}]", 200);
	assert_true(json_is_false(json_object_get(r, "active")));
	assert_string_equal(str(json_object_get(r, "meta"), "version"), "W/\"2\"");
	json_decref(r);
	r = patch(f, path, "[{\"op\":\"replace\",\"value\":{\"active\":\"True\",\"name.givenName\":\"Caro\"}}]", 200);
	assert_true(json_is_true(json_object_get(r, "active")));
	assert_string_equal(str(json_object_get(r, "name"), "givenName"), "Caro");
	json_decref(r);
	r = patch(f, path,
	          "[{\"op\":\"Add\",\"path\":\"emails[type eq \\\"work\\\"].value\",\"value\":\"c2@contoso.com\"},"
	          "{\"op\":\"replace\",\"path\":\"userName\",\"value\":\"carol2@contoso.com\"}]",
	          200);
	assert_string_equal(str(r, "userName"), "carol2@contoso.com");
	assert_string_equal(str(json_array_get(json_object_get(r, "emails"), 0), "value"), "c2@contoso.com");
	json_decref(r);
	free(create_user(f, "dave@contoso.com", "dave"));
	/* A rename onto a taken userName is refused and changes nothing (atomic). */
	assert_error(patch(f, path,
	                   "[{\"op\":\"replace\",\"path\":\"displayName\",\"value\":\"New\"},"
	                   "{\"op\":\"replace\",\"path\":\"userName\",\"value\":\"DAVE@contoso.com\"}]",
	                   409),
	             "409", "uniqueness");
	r = call(f, "GET", path, NULL, NULL, 200);
	assert_string_equal(str(r, "displayName"), "Test User");
	assert_string_equal(str(r, "userName"), "carol2@contoso.com");
	json_decref(r);
	assert_error(patch(f, path, "[{\"op\":\"explode\",\"path\":\"active\"}]", 400), "400", NULL);
	free(id);
}

static size_t members_of(struct fx *f, const char *gid)
{
	char path[128];
	snprintf(path, sizeof(path), "/Groups/%s", gid);
	json_t *g = call(f, "GET", path, NULL, NULL, 200);
	size_t n = json_array_size(json_object_get(g, "members"));
	json_decref(g);
	return n;
}

static void groups_members_wire_forms(void **state)
{
	struct fx *f = *state;
	char *a = create_user(f, "a@contoso.com", "a"), *b = create_user(f, "b@contoso.com", "b"),
	     *c = create_user(f, "c@contoso.com", "c");
	char members[512], path[128], ops[1024];
	snprintf(members, sizeof(members), "[{\"value\":\"%s\"},{\"value\":\"no-such-user\"}]", a);
	char *g = create_group(f, "Linux Users", "11111111-aaaa-4bbb-8ccc-000000000001", members);
	snprintf(path, sizeof(path), "/Groups/%s", g);
	assert_int_equal(members_of(f, g), 1);

	json_t *full = call(f, "GET", path, NULL, NULL, 200);
	json_t *m0 = json_array_get(json_object_get(full, "members"), 0);
	assert_string_equal(str(m0, "value"), a);
	assert_string_equal(str(m0, "display"), "a@contoso.com");
	assert_non_null(strstr(str(m0, "$ref"), "/Users/"));
	json_decref(full);

	snprintf(ops, sizeof(ops),
	         "[{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"value\":\"%s\"},{\"value\":\"%s\"}]}]", b, c);
	json_t *r = patch(f, path, ops, 204);
	assert_null(r);
	assert_string_equal(f->etag, "W/\"2\"");
	assert_int_equal(members_of(f, g), 3);
	snprintf(ops, sizeof(ops), "[{\"op\":\"Remove\",\"path\":\"members\",\"value\":[{\"value\":\"%s\"}]}]", b);
	patch(f, path, ops, 204);
	assert_int_equal(members_of(f, g), 2);
	snprintf(ops, sizeof(ops), "[{\"op\":\"remove\",\"path\":\"members[value eq \\\"%s\\\"]\"}]", c);
	patch(f, path, ops, 204);
	assert_int_equal(members_of(f, g), 1);

	struct query noq = {.excluded = "members"};
	r = call(f, "GET", path, NULL, &noq, 200);
	assert_null(json_object_get(r, "members"));
	assert_string_equal(str(r, "displayName"), "Linux Users");
	json_decref(r);
	struct query byname = {.filter = "displayName eq \"linux users\"", .excluded = "members"};
	r = call(f, "GET", "/Groups", NULL, &byname, 200);
	assert_int_equal(total_of(r), 1);
	assert_null(json_object_get(json_array_get(json_object_get(r, "Resources"), 0), "members"));
	json_decref(r);
	char mf[160];
	snprintf(mf, sizeof(mf), "members[value eq \"%s\"]", a);
	struct query bymember = {.filter = mf};
	r = call(f, "GET", "/Groups", NULL, &bymember, 200);
	assert_int_equal(total_of(r), 1);
	json_decref(r);

	/* rename, then a second group may take the name too (Entra allows duplicate group names) */
	r = patch(f, path, "[{\"op\":\"Replace\",\"path\":\"displayName\",\"value\":\"Linux Admins\"}]", 204);
	char *g2 = create_group(f, "Other", "x", "[]");
	char p2[128];
	snprintf(p2, sizeof(p2), "/Groups/%s", g2);
	assert_null(patch(f, p2, "[{\"op\":\"Replace\",\"path\":\"displayName\",\"value\":\"linux admins\"}]", 204));
	struct query both = {.filter = "displayName eq \"LINUX ADMINS\""};
	r = call(f, "GET", "/Groups", NULL, &both, 200);
	assert_int_equal(total_of(r), 2);
	json_decref(r);

	/* deleting the user removes it from every group */
	snprintf(path, sizeof(path), "/Users/%s", a);
	assert_null(call(f, "DELETE", path, NULL, NULL, 204));
	assert_int_equal(members_of(f, g), 0);
	/* remove-all when neither value nor filter is given */
	snprintf(ops, sizeof(ops), "[{\"op\":\"add\",\"path\":\"members\",\"value\":[{\"value\":\"%s\"}]}]", b);
	snprintf(path, sizeof(path), "/Groups/%s", g);
	patch(f, path, ops, 204);
	assert_int_equal(members_of(f, g), 1);
	patch(f, path, "[{\"op\":\"remove\",\"path\":\"members\"}]", 204);
	assert_int_equal(members_of(f, g), 0);
	assert_null(call(f, "DELETE", path, NULL, NULL, 204));
	assert_error(call(f, "GET", path, NULL, NULL, 404), "404", NULL);
	free(a), free(b), free(c), free(g), free(g2);
}

static void put_replaces_and_keeps_created(void **state)
{
	struct fx *f = *state;
	char path[128];
	char *id = create_user(f, "erin@contoso.com", "erin");
	snprintf(path, sizeof(path), "/Users/%s", id);
	json_t *before = call(f, "GET", path, NULL, NULL, 200);
	json_t *r =
	    call(f, "PUT", path, "{\"userName\":\"erin@contoso.com\",\"active\":false,\"title\":\"Boss\"}", NULL, 200);
	assert_string_equal(str(r, "id"), id);
	assert_string_equal(str(r, "title"), "Boss");
	assert_null(json_object_get(r, "emails"));
	assert_string_equal(str(json_object_get(r, "meta"), "created"),
	                    str(json_object_get(before, "meta"), "created"));
	json_decref(r);
	json_decref(before);
	assert_error(call(f, "PUT", "/Users/unknown", "{\"userName\":\"z@x\"}", NULL, 404), "404", NULL);
	free(id);
}

static void pagination_and_projection(void **state)
{
	struct fx *f = *state;
	char upn[64];
	for (int i = 0; i < 25; i++) {
		snprintf(upn, sizeof(upn), "user%02d@contoso.com", i);
		free(create_user(f, upn, upn));
	}
	struct query q = {.start_index = "21", .count = "10"};
	json_t *r = call(f, "GET", "/Users", NULL, &q, 200);
	assert_int_equal(total_of(r), 25);
	assert_int_equal(json_integer_value(json_object_get(r, "itemsPerPage")), 5);
	assert_string_equal(str(json_array_get(json_object_get(r, "Resources"), 0), "userName"), "user20@contoso.com");
	json_decref(r);
	struct query zero = {.count = "0", .start_index = "-3"};
	r = call(f, "GET", "/Users", NULL, &zero, 200);
	assert_int_equal(total_of(r), 25);
	assert_int_equal(json_array_size(json_object_get(r, "Resources")), 0);
	assert_int_equal(json_integer_value(json_object_get(r, "startIndex")), 1);
	json_decref(r);
	struct query filtered = {.filter = "userName sw \"user1\"", .start_index = "3", .count = "5"};
	r = call(f, "GET", "/Users", NULL, &filtered, 200);
	assert_int_equal(total_of(r), 10);
	assert_int_equal(json_array_size(json_object_get(r, "Resources")), 5);
	assert_string_equal(str(json_array_get(json_object_get(r, "Resources"), 0), "userName"), "user12@contoso.com");
	json_decref(r);
	struct query attrs = {.attributes = "userName,name.givenName", .count = "1"};
	r = call(f, "GET", "/Users", NULL, &attrs, 200);
	json_t *u = json_array_get(json_object_get(r, "Resources"), 0);
	assert_non_null(str(u, "id"));
	assert_non_null(json_object_get(u, "schemas"));
	assert_non_null(str(u, "userName"));
	assert_string_equal(str(json_object_get(u, "name"), "givenName"), "Test");
	assert_null(json_object_get(json_object_get(u, "name"), "familyName"));
	assert_null(json_object_get(u, "emails"));
	assert_null(json_object_get(u, "meta"));
	json_decref(r);
	struct query excl = {.excluded =
	                         "emails,id,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
	                     .count = "1"};
	r = call(f, "GET", "/Users", NULL, &excl, 200);
	u = json_array_get(json_object_get(r, "Resources"), 0);
	assert_null(json_object_get(u, "emails"));
	assert_non_null(str(u, "id"));
	assert_null(json_object_get(json_object_get(u, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
	                            "department"));
	assert_non_null(json_object_get(u, "meta"));
	json_decref(r);
	struct query big = {.count = "5000"};
	r = call(f, "GET", "/Users", NULL, &big, 200);
	assert_int_equal(json_array_size(json_object_get(r, "Resources")), 25);
	json_decref(r);
}

static void discovery_documents(void **state)
{
	struct fx *f = *state;
	json_t *r = call(f, "GET", "/ServiceProviderConfig", NULL, NULL, 200);
	assert_true(json_is_true(json_object_get(json_object_get(r, "patch"), "supported")));
	assert_true(json_is_false(json_object_get(json_object_get(r, "bulk"), "supported")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "filter"), "maxResults")), 1000);
	assert_true(json_is_true(json_object_get(json_object_get(r, "etag"), "supported")));
	assert_string_equal(str(json_array_get(json_object_get(r, "authenticationSchemes"), 0), "type"),
	                    "oauthbearertoken");
	json_decref(r);
	r = call(f, "GET", "/Schemas", NULL, NULL, 200);
	assert_int_equal(total_of(r), 4); /* User, Group, EnterpriseUser, EntraLoginUser (SSH keys) */
	json_t *user = json_array_get(json_object_get(r, "Resources"), 0);
	json_t *un = json_array_get(json_object_get(user, "attributes"), 0);
	assert_string_equal(str(un, "name"), "userName");
	assert_string_equal(str(un, "uniqueness"), "server");
	assert_true(json_is_false(json_object_get(un, "caseExact")));
	json_decref(r);
	r = call(f, "GET", "/Schemas/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", NULL, NULL, 200);
	assert_string_equal(str(r, "name"), "EnterpriseUser");
	json_decref(r);
	r = call(f, "GET", "/ResourceTypes", NULL, NULL, 200);
	assert_int_equal(total_of(r), 2);
	json_t *ut = json_array_get(json_object_get(r, "Resources"), 0);
	assert_string_equal(str(ut, "endpoint"), "/Users");
	assert_string_equal(str(json_array_get(json_object_get(ut, "schemaExtensions"), 0), "schema"),
	                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User");
	assert_string_equal(str(json_array_get(json_object_get(ut, "schemaExtensions"), 1), "schema"),
	                    "urn:ietf:params:scim:schemas:extension:entra-login:2.0:User");
	json_decref(r);
	r = call(f, "GET", "/ResourceTypes/Group", NULL, NULL, 200);
	assert_string_equal(str(r, "endpoint"), "/Groups");
	json_decref(r);
	assert_error(call(f, "GET", "/Schemas/urn:nope", NULL, NULL, 404), "404", NULL);
}

static void stats_and_change_callback(void **state)
{
	struct fx *f = *state;
	struct scim_stats st;
	assert_int_equal(scim_service_stats(f->svc, &st), 0);
	assert_int_equal(st.users, 0);
	free(create_user(f, "x@contoso.com", "x"));
	char *id = create_user(f, "y@contoso.com", "y");
	char path[128];
	snprintf(path, sizeof(path), "/Users/%s", id);
	json_decref(patch(f, path, "[{\"op\":\"replace\",\"path\":\"active\",\"value\":false}]", 200));
	free(create_group(f, "G", "g", "[]"));
	assert_int_equal(f->changes, 4);
	assert_int_equal(scim_service_stats(f->svc, &st), 0);
	assert_int_equal(st.users, 2);
	assert_int_equal(st.active_users, 1);
	assert_int_equal(st.groups, 1);
	assert_true(st.last_request >= (long long)time(NULL) - 5);
	free(id);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 10k members added in one PATCH, then one removed: set differences, not O(n^2). */
static void patch_ten_thousand_members(void **state)
{
	struct fx *f = *state;
	sqlite3 *db;
	assert_int_equal(sqlite3_open(f->cfg.state_db, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db,
	                 "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9999)"
	                 " INSERT INTO users(id, user_name, json, created, last_modified)"
	                 " SELECT 'u' || i, 'u' || i || '@x', '{\"userName\":\"u' || i || '@x\"}', 't', 't'"
	                 " FROM n",
	                 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	char *g = create_group(f, "Big", "big", "[]");
	size_t cap = 10000 * 24 + 256;
	char *ops = malloc(cap);
	size_t len = (size_t)sprintf(ops, "[{\"op\":\"Add\",\"path\":\"members\",\"value\":[");
	for (int i = 0; i < 10000; i++)
		len += (size_t)sprintf(ops + len, "%s{\"value\":\"u%d\"}", i ? "," : "", i);
	sprintf(ops + len, "]}]");
	char path[128];
	snprintf(path, sizeof(path), "/Groups/%s", g);
	double t0 = now_s();
	patch(f, path, ops, 204);
	double add = now_s() - t0;
	t0 = now_s();
	patch(f, path, "[{\"op\":\"remove\",\"path\":\"members[value eq \\\"u5\\\"]\"}]", 204);
	double remove = now_s() - t0;
	print_message("PATCH 10000 members: add %.3f s, remove one of 10000 %.3f s\n", add, remove);
	assert_int_equal(members_of(f, g), 9999);
	assert_true(add < 5.0 && remove < 5.0);
	free(ops);
	free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_connection_filters_return_empty_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(create_get_and_match, setup, teardown),
	    cmocka_unit_test_setup_teardown(errors_carry_scim_bodies, setup, teardown),
	    cmocka_unit_test_teardown(body_over_max_body_is_413, teardown),
	    cmocka_unit_test_setup_teardown(patch_user_forms, setup, teardown),
	    cmocka_unit_test_setup_teardown(groups_members_wire_forms, setup, teardown),
	    cmocka_unit_test_setup_teardown(put_replaces_and_keeps_created, setup, teardown),
	    cmocka_unit_test_setup_teardown(pagination_and_projection, setup, teardown),
	    cmocka_unit_test_setup_teardown(discovery_documents, setup, teardown),
	    cmocka_unit_test_setup_teardown(stats_and_change_callback, setup, teardown),
	    cmocka_unit_test_setup_teardown(patch_ten_thousand_members, setup, teardown),
	};
	return cmocka_run_group_tests_name("scim_service", tests, NULL, NULL);
}
