/* Unit tests for sync/scim/scim_resource.c: validation and normalisation of POST/PUT bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sync/scim/scim_resource.h"

#define ENT        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#define CORE_USER  "'schemas': ['urn:ietf:params:scim:schemas:core:2.0:User']"
#define CORE_GROUP "'schemas': ['urn:ietf:params:scim:schemas:core:2.0:Group']"

/* Test JSON is written with ' for ". */
static json_t *load(const char *text)
{
	char *s = strdup(text);
	json_error_t e;
	json_t *j;

	for (char *c = s; *c; c++)
		if (*c == '\'')
			*c = '"';
	j = json_loads(s, JSON_ALLOW_NUL, &e);
	if (!j)
		fail_msg("bad test JSON (%s): %s", e.text, s);
	free(s);
	return j;
}

static void normalize_ok(enum scim_resource_type type, const char *in, const char *want)
{
	struct scim_error err = {0};
	json_t *r = load(in), *w = load(want);

	if (scim_resource_normalize(r, type, &err) != 0)
		fail_msg("normalize failed: %s", err.detail);
	if (!json_equal(r, w)) {
		char *g = json_dumps(r, JSON_SORT_KEYS), *x = json_dumps(w, JSON_SORT_KEYS);
		print_error("got:  %s\nwant: %s\n", g, x);
		free(g);
		free(x);
		fail();
	}
	json_decref(r);
	json_decref(w);
}

static void normalize_fails(enum scim_resource_type type, const char *in, const char *scim_type,
                            const char *detail_part)
{
	struct scim_error err = {0};
	json_t *r = load(in);

	assert_int_equal(scim_resource_normalize(r, type, &err), -1);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.scim_type, scim_type);
	if (detail_part && !strstr(err.detail, detail_part))
		fail_msg("detail '%s' lacks '%s'", err.detail, detail_part);
	json_decref(r);
}

static void test_entra_user(void **state)
{
	normalize_ok(
	    SCIM_USER,
	    "{'schemas': ['urn:ietf:params:scim:schemas:core:2.0:User', '" ENT "'],"
	    " 'externalId': 'alice', 'userName': 'alice@contoso.com', 'active': 'True', 'displayName': 'Alice',"
	    " 'emails': [{'primary': 'true', 'type': 'work', 'value': 'alice@contoso.com'}],"
	    " 'meta': {'resourceType': 'User'}, 'id': 'client-chosen',"
	    " 'name': {'formatted': 'Alice S', 'familyName': 'S', 'givenName': 'Alice'},"
	    " 'title': null, 'roles': [],"
	    " '" ENT "': {'employeeNumber': '42', 'department': 'R&D', 'manager': 'boss-1'}}",
	    "{'schemas': ['urn:ietf:params:scim:schemas:core:2.0:User', '" ENT "'],"
	    " 'externalId': 'alice', 'userName': 'alice@contoso.com', 'active': true, 'displayName': 'Alice',"
	    " 'emails': [{'primary': true, 'type': 'work', 'value': 'alice@contoso.com'}],"
	    " 'name': {'formatted': 'Alice S', 'familyName': 'S', 'givenName': 'Alice'}, 'roles': [],"
	    " '" ENT "': {'employeeNumber': '42', 'department': 'R&D', 'manager': {'value': 'boss-1'}}}");
}

static void test_booleans(void **state)
{
	normalize_ok(SCIM_USER, "{'userName': 'a', 'active': 'FALSE'}",
	             "{" CORE_USER ", 'userName': 'a', 'active': false}");
	normalize_ok(SCIM_USER, "{'userName': 'a', 'active': 'true'}",
	             "{" CORE_USER ", 'userName': 'a', 'active': true}");
	normalize_ok(SCIM_USER, "{'userName': 'a', 'active': false}",
	             "{" CORE_USER ", 'userName': 'a', 'active': false}");
	normalize_ok(SCIM_USER, "{'userName': 'a', 'phoneNumbers': [{'value': '1', 'primary': 'False'}]}",
	             "{" CORE_USER ", 'userName': 'a', 'phoneNumbers': [{'value': '1', 'primary': false}]}");
	normalize_fails(SCIM_USER, "{'userName': 'a', 'active': 'yes'}", "invalidValue", "active");
	normalize_fails(SCIM_USER, "{'userName': 'a', 'active': 1}", "invalidValue", "active");
	normalize_fails(SCIM_USER, "{'userName': 'a', 'emails': [{'primary': 'x'}]}", "invalidValue",
	                "emails[0].primary");
}

static void test_user_name_required(void **state)
{
	normalize_fails(SCIM_USER, "{'displayName': 'x'}", "invalidValue", "userName is required");
	normalize_fails(SCIM_USER, "{'userName': ''}", "invalidValue", "userName is required");
	normalize_fails(SCIM_USER, "{'userName': null}", "invalidValue", "userName is required");
	normalize_fails(SCIM_USER, "{'userName': 5}", "invalidValue", "userName");
	normalize_fails(SCIM_USER, "{'userName': ['a']}", "invalidValue", "userName");
}

static void test_types(void **state)
{
	normalize_fails(SCIM_USER, "{'userName': 'a', 'emails': {'value': 'x'}}", "invalidValue", "emails");
	normalize_fails(SCIM_USER, "{'userName': 'a', 'emails': ['x']}", "invalidValue", "emails[0]");
	normalize_fails(SCIM_USER, "{'userName': 'a', 'emails': [{'value': 5}]}", "invalidValue", "emails[0].value");
	normalize_fails(SCIM_USER, "{'userName': 'a', 'addresses': 'x'}", "invalidValue", "addresses");
	normalize_fails(SCIM_USER, "{'userName': 'a', 'addresses': [{'streetAddress': true}]}", "invalidValue",
	                "addresses[0].streetAddress");
	normalize_fails(SCIM_USER, "{'userName': 'a', 'phoneNumbers': 1}", "invalidValue", "phoneNumbers");
	normalize_fails(SCIM_USER, "{'userName': 'a', 'name': 'Alice'}", "invalidValue", "name");
	normalize_fails(SCIM_USER, "{'userName': 'a', 'name': {'givenName': 1}}", "invalidValue", "name.givenName");
	normalize_fails(SCIM_USER, "{'userName': 'a', 'displayName': {}}", "invalidValue", "displayName");
	normalize_fails(SCIM_USER, "{'userName': 'a', 'externalId': 5}", "invalidValue", "externalId");
	normalize_fails(SCIM_USER, "{'userName': 'a', '" ENT "': 'x'}", "invalidValue", ENT);
	normalize_fails(SCIM_USER, "{'userName': 'a', '" ENT "': {'department': 1}}", "invalidValue", "department");
	normalize_fails(SCIM_USER, "{'userName': 'a', 'schemas': 'x'}", "invalidValue", "schemas");
	normalize_fails(SCIM_USER, "{'userName': 'a', 'schemas': [1]}", "invalidValue", "schemas");

	struct scim_error err = {0};
	json_t *arr = json_array();
	assert_int_equal(scim_resource_normalize(arr, SCIM_USER, &err), -1);
	assert_string_equal(err.scim_type, "invalidSyntax");
	json_decref(arr);
}

static void test_nul_bytes(void **state)
{
	normalize_fails(SCIM_USER, "{'userName': 'a\\u0000b'}", "invalidValue", "userName");
	normalize_fails(SCIM_USER, "{'userName': 'a', 'displayName': 'x\\u0000'}", "invalidValue", "displayName");
	normalize_fails(SCIM_USER, "{'userName': 'a', 'custom': {'deep': ['ok', 'b\\u0000d']}}", "invalidValue",
	                "custom");
	normalize_fails(SCIM_USER, "{'userName': 'a', 'emails': [{'value': '\\u0000'}]}", "invalidValue", "emails");
	normalize_fails(SCIM_GROUP, "{'displayName': 'G', 'members': [{'value': 'x\\u0000'}]}", "invalidValue",
	                "members");
	normalize_fails(SCIM_USER, "{'userName': 'a', '" ENT "': {'manager': 'x\\u0000'}}", "invalidValue", "manager");
}

static void test_manager_forms(void **state)
{
	const char *want = "{'schemas': ['urn:ietf:params:scim:schemas:core:2.0:User', '" ENT "'], 'userName': 'a',"
	                   " '" ENT "': {'manager': {'value': 'm1'}}}";
	normalize_ok(SCIM_USER, "{'userName': 'a', '" ENT "': {'manager': 'm1'}}", want);
	normalize_ok(SCIM_USER, "{'userName': 'a', '" ENT "': {'manager': {'value': 'm1'}}}", want);
	normalize_ok(SCIM_USER, "{'userName': 'a', '" ENT "': {'manager': [{'value': 'm1'}]}}", want);
	normalize_ok(SCIM_USER, "{'userName': 'a', '" ENT "': {'manager': {'value': 'm1', 'displayName': 'Boss'}}}",
	             "{'schemas': ['urn:ietf:params:scim:schemas:core:2.0:User', '" ENT "'], 'userName': 'a',"
	             " '" ENT "': {'manager': {'value': 'm1', 'displayName': 'Boss'}}}");
	/* empty forms clear it; an empty extension object goes away */
	normalize_ok(SCIM_USER, "{'userName': 'a', '" ENT "': {'manager': ''}}", "{" CORE_USER ", 'userName': 'a'}");
	normalize_ok(SCIM_USER, "{'userName': 'a', '" ENT "': {'manager': []}}", "{" CORE_USER ", 'userName': 'a'}");
	normalize_ok(SCIM_USER, "{'userName': 'a', '" ENT "': {'manager': null}}", "{" CORE_USER ", 'userName': 'a'}");
	normalize_ok(SCIM_USER, "{'userName': 'a', '" ENT "': {'manager': {'value': ''}}}",
	             "{" CORE_USER ", 'userName': 'a'}");
	normalize_fails(SCIM_USER, "{'userName': 'a', '" ENT "': {'manager': 7}}", "invalidValue", "manager");
	normalize_fails(SCIM_USER, "{'userName': 'a', '" ENT "': {'manager': [{'value': 'a'}, {'value': 'b'}]}}",
	                "invalidValue", "manager");
	normalize_fails(SCIM_USER, "{'userName': 'a', '" ENT "': {'manager': {'value': 5}}}", "invalidValue",
	                "manager");
}

static void test_schemas_and_server_attrs(void **state)
{
	/* schemas added, enterprise URN added when the extension is present, id/meta dropped, unknown kept */
	normalize_ok(SCIM_USER,
	             "{'userName': 'a', 'id': 'x', 'meta': {'created': 'now'}, 'custom': [1, null, {'a': null}],"
	             " '" ENT "': {'department': 'D'}}",
	             "{'schemas': ['urn:ietf:params:scim:schemas:core:2.0:User', '" ENT "'], 'userName': 'a',"
	             " 'custom': [1, null, {'a': null}], '" ENT "': {'department': 'D'}}");
	normalize_ok(SCIM_USER, "{'schemas': ['" ENT "'], 'userName': 'a'}",
	             "{'schemas': ['urn:ietf:params:scim:schemas:core:2.0:User', '" ENT "'], 'userName': 'a'}");
	normalize_ok(SCIM_USER, "{'schemas': ['URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER'], 'userName': 'a'}",
	             "{'schemas': ['URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER'], 'userName': 'a'}");
}

static void test_canonical_names(void **state)
{
	normalize_ok(SCIM_USER,
	             "{'USERNAME': 'a', 'displayname': 'A', 'Emails': [{'VALUE': 'x', 'Primary': 'True'}],"
	             " 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:user': {'EmployeeNumber': '1'}}",
	             "{'schemas': ['urn:ietf:params:scim:schemas:core:2.0:User', '" ENT
	             "'], 'userName': 'a', 'displayName': 'A',"
	             " 'emails': [{'value': 'x', 'primary': true}], '" ENT "': {'employeeNumber': '1'}}");
	normalize_fails(SCIM_USER, "{'userName': 'a', 'USERNAME': 'b'}", "invalidValue", "more than once");
}

static void test_nulls_dropped(void **state)
{
	normalize_ok(SCIM_USER,
	             "{'userName': 'a', 'title': null, 'name': {'givenName': null, 'familyName': 'S'},"
	             " 'emails': [null, {'value': 'x', 'type': null}]}",
	             "{" CORE_USER ", 'userName': 'a', 'name': {'familyName': 'S'}, 'emails': [{'value': 'x'}]}");
}

/* RFC 7643: password is writeOnly and returned never; entra-syncd never keeps one. */
static void test_password_never_kept(void **state)
{
	static const char *const bodies[] = {
	    "{'userName': 'a', 'password': 'S3cret!'}",
	    "{'userName': 'a', 'PassWord': 'S3cret!'}",
	    "{'userName': 'a', 'password': 5}",
	    "{'userName': 'a', 'password': {'value': 'S3cret!'}}",
	    "{'userName': 'a', 'urn:ietf:params:scim:schemas:core:2.0:User:password': 'S3cret!'}",
	    "{'userName': 'a', 'urn:ietf:params:scim:schemas:core:2.0:User': {'password': 'S3cret!'}}",
	    "{'urn:ietf:params:scim:schemas:core:2.0:User': {'userName': 'a', 'Password': 'S3cret!'}}",
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct scim_error err = {0};
		json_t *r = load(bodies[i]);
		assert_int_equal(scim_resource_normalize(r, SCIM_USER, &err), 0);
		char *text = json_dumps(r, JSON_SORT_KEYS);
		assert_null(strstr(text, "S3cret"));
		assert_string_equal(
		    text, "{\"schemas\": [\"urn:ietf:params:scim:schemas:core:2.0:User\"], \"userName\": \"a\"}");
		assert_string_equal(err.dropped, "password"); /* the name, for the log */
		free(text);
		json_decref(r);
	}
	struct scim_error err = {0};
	json_t *r = load("{'userName': 'a', 'password': null, 'displayName': 'password'}");
	assert_int_equal(scim_resource_normalize(r, SCIM_USER, &err), 0);
	assert_null(err.dropped); /* nothing was sent */
	json_decref(r);
	assert_string_equal(scim_attr_write_only(SCIM_USER, "PASSWORD"), "password");
	assert_null(scim_attr_write_only(SCIM_USER, "displayName"));
	assert_null(scim_attr_write_only(SCIM_GROUP, "password"));
	/* Nor inside an extension, where the schema does not list it. */
	err = (struct scim_error){0};
	r = load("{'userName': 'a', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': "
	         "{'department': 'd', 'password': 'S3cret!'}}");
	assert_int_equal(scim_resource_normalize(r, SCIM_USER, &err), 0);
	char *text = json_dumps(r, JSON_SORT_KEYS);
	assert_null(strstr(text, "S3cret"));
	assert_non_null(strstr(text, "\"department\": \"d\""));
	assert_string_equal(err.dropped, "password");
	free(text);
	json_decref(r);
}

static void test_groups(void **state)
{
	normalize_ok(SCIM_GROUP,
	             "{'displayName': 'Web Team', 'externalId': 'oid-1', 'members': [{'value': 'u1'}, {'value': 'u2', "
	             "'display': 'U'}]}",
	             "{" CORE_GROUP ", 'displayName': 'Web Team', 'externalId': 'oid-1',"
	             " 'members': [{'value': 'u1'}, {'value': 'u2', 'display': 'U'}]}");
	normalize_ok(SCIM_GROUP, "{" CORE_GROUP ", 'displayName': 'G', 'members': []}",
	             "{" CORE_GROUP ", 'displayName': 'G', 'members': []}");
	normalize_fails(SCIM_GROUP, "{'members': []}", "invalidValue", "displayName is required");
	normalize_fails(SCIM_GROUP, "{'displayName': ''}", "invalidValue", "displayName is required");
	normalize_fails(SCIM_GROUP, "{'displayName': 'G', 'members': {'value': 'u1'}}", "invalidValue", "members");
	normalize_fails(SCIM_GROUP, "{'displayName': 'G', 'members': ['u1']}", "invalidValue", "members[0]");
	normalize_fails(SCIM_GROUP, "{'displayName': 'G', 'members': [{'display': 'no id'}]}", "invalidValue",
	                "members[0]");
	normalize_fails(SCIM_GROUP, "{'displayName': 'G', 'members': [{'value': 5}]}", "invalidValue",
	                "members[0].value");
	/* a userName on a group is just an unknown attribute */
	normalize_ok(SCIM_GROUP, "{'displayName': 'G', 'userName': 'x'}",
	             "{" CORE_GROUP ", 'displayName': 'G', 'userName': 'x'}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_entra_user),
	    cmocka_unit_test(test_booleans),
	    cmocka_unit_test(test_user_name_required),
	    cmocka_unit_test(test_types),
	    cmocka_unit_test(test_nul_bytes),
	    cmocka_unit_test(test_manager_forms),
	    cmocka_unit_test(test_schemas_and_server_attrs),
	    cmocka_unit_test(test_canonical_names),
	    cmocka_unit_test(test_nulls_dropped),
	    cmocka_unit_test(test_password_never_kept),
	    cmocka_unit_test(test_groups),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
