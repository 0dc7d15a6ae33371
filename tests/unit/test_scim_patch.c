/* Unit tests for sync/scim/scim_path.c and sync/scim/scim_patch.c: every PATCH form Entra sends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "sync/scim/scim_patch.h"
#include "sync/scim/scim_resource.h"

#define ENT "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

/* Test JSON is written with ' for " and ` for \" to stay readable. */
static json_t *load(const char *text)
{
	char *s = strdup(text), *out = malloc(strlen(text) * 2 + 1), *o = out;
	json_error_t e;
	json_t *j;

	for (const char *c = s; *c; c++) {
		if (*c == '\'')
			*o++ = '"';
		else if (*c == '`') {
			*o++ = '\\';
			*o++ = '"';
		} else
			*o++ = *c;
	}
	*o = '\0';
	j = json_loads(out, 0, &e);
	if (!j)
		fail_msg("bad test JSON (%s): %s", e.text, out);
	free(s);
	free(out);
	return j;
}

static void assert_json(const json_t *got, const char *expected)
{
	json_t *want = load(expected);
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_SORT_KEYS), *w = json_dumps(want, JSON_SORT_KEYS);
		print_error("got:  %s\nwant: %s\n", g, w);
		free(g);
		free(w);
		json_decref(want);
		fail();
	}
	json_decref(want);
}

static json_t *body_of(const char *ops)
{
	char *text;
	json_t *b;
	assert_true(asprintf(&text, "{'schemas': ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], 'Operations': %s}",
	                     ops) > 0);
	b = load(text);
	free(text);
	return b;
}

/* Applies OPS to RES (both test JSON) and checks the result equals WANT. */
static void patch_ok(enum scim_resource_type type, const char *res, const char *ops, const char *want)
{
	struct scim_error err = {0};
	json_t *r = load(res), *b = body_of(ops);

	if (scim_patch_apply(r, type, b, &err) != 0)
		fail_msg("patch failed: %d %s %s", err.status, err.scim_type ? err.scim_type : "-", err.detail);
	assert_json(r, want);
	json_decref(r);
	json_decref(b);
}

/* Applies OPS expecting failure with SCIM_TYPE; the resource must be unchanged. Returns the detail. */
static void patch_fails(enum scim_resource_type type, const char *res, const char *ops, int status,
                        const char *scim_type, const char *detail_part)
{
	struct scim_error err = {0};
	json_t *r = load(res), *b = body_of(ops), *before = json_deep_copy(r);

	assert_int_equal(scim_patch_apply(r, type, b, &err), -1);
	assert_int_equal(err.status, status);
	if (scim_type)
		assert_string_equal(err.scim_type, scim_type);
	if (detail_part && !strstr(err.detail, detail_part))
		fail_msg("detail '%s' lacks '%s'", err.detail, detail_part);
	assert_true(json_equal(r, before));
	json_decref(r);
	json_decref(b);
	json_decref(before);
}

#define USER0                                                                                                          \
	"{'schemas': ['urn:ietf:params:scim:schemas:core:2.0:User'], 'id': 'u-1', 'userName': 'alice@contoso.com',"    \
	" 'meta': {'resourceType': 'User'}"
#define USER(extra)  USER0 extra "}"
#define GROUP0       "{'schemas': ['urn:ietf:params:scim:schemas:core:2.0:Group'], 'id': 'g-1', 'displayName': 'Web'"
#define GROUP(extra) GROUP0 extra "}"

/* ---------- path parser ---------- */

static void check_path(const char *text, const char *urn, const char *attr, bool filter, const char *sub)
{
	struct scim_error err = {0};
	struct scim_path p;

	if (scim_path_parse(text, &p, &err) != 0)
		fail_msg("'%s' should parse: %s", text, err.detail);
	if (urn)
		assert_string_equal(p.urn, urn);
	else
		assert_null(p.urn);
	assert_string_equal(p.attr, attr);
	assert_int_equal(p.filter != NULL, filter);
	if (sub)
		assert_string_equal(p.sub, sub);
	else
		assert_null(p.sub);
	scim_path_free(&p);
}

static void test_path_forms(void **state)
{
	check_path("userName", NULL, "userName", false, NULL);
	check_path("name.givenName", NULL, "name", false, "givenName");
	check_path(ENT ":manager", ENT, "manager", false, NULL);
	check_path(ENT ":employeeNumber", ENT, "employeeNumber", false, NULL);
	check_path(ENT ":manager.value", ENT, "manager", false, "value");
	check_path("urn:ietf:params:scim:schemas:core:2.0:User:name.familyName",
	           "urn:ietf:params:scim:schemas:core:2.0:User", "name", false, "familyName");
	check_path("emails[type eq \"work\"]", NULL, "emails", true, NULL);
	check_path("emails[type eq \"work\"].value", NULL, "emails", true, "value");
	check_path("members[value eq \"abc\"]", NULL, "members", true, NULL);
	check_path("addresses[type eq \"work\"].streetAddress", NULL, "addresses", true, "streetAddress");
	check_path("emails[type eq \"a]b\" and primary eq true].display", NULL, "emails", true, "display");
	check_path("  displayName ", NULL, "displayName", false, NULL);
	check_path("members.$ref", NULL, "members", false, "$ref");
}

static void check_bad_path(const char *text)
{
	struct scim_error err = {0};
	struct scim_path p;

	if (scim_path_parse(text, &p, &err) == 0) {
		scim_path_free(&p);
		fail_msg("'%s' should not parse", text);
	}
	assert_int_equal(err.status, 400);
	assert_string_equal(err.scim_type, "invalidPath");
	assert_null(p.attr);
}

static void test_path_errors(void **state)
{
	check_bad_path("");
	check_bad_path("   ");
	check_bad_path("emails[type eq");
	check_bad_path("emails[type eq \"work\"");
	check_bad_path("emails[type eq \"work\"]x");
	check_bad_path("emails[type eq \"work\"].");
	check_bad_path("emails[type eq \"work\"].1x");
	check_bad_path("emails[]");
	check_bad_path("emails[type zz \"work\"]");
	check_bad_path("1abc");
	check_bad_path("name.given.name");
	check_bad_path("name.givenName[type eq \"x\"]");
	check_bad_path("urn:foo:");
	check_bad_path("user name");
	check_bad_path("emails[type eq \"work\"][value eq \"x\"]");
	check_bad_path(NULL);

	struct scim_error err = {0};
	struct scim_path p;
	assert_int_equal(scim_path_parse("emails[type eq", &p, &err), -1);
	assert_non_null(strstr(err.detail, "emails[type eq"));
}

/* ---------- request envelope ---------- */

static void test_envelope(void **state)
{
	struct scim_error err = {0};
	json_t *r = load(USER(""));
	json_t *b = load("{'schemas': ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],"
	                 " 'operations': [{'OP': 'Replace', 'PATH': 'displayName', 'VALUE': 'A'}]}");

	assert_int_equal(scim_patch_apply(r, SCIM_USER, b, &err), 0);
	assert_string_equal(json_string_value(json_object_get(r, "displayName")), "A");
	json_decref(b);

	b = load("{'Operations': [{'op': 'add', 'path': 'title', 'value': 'x'}]}");
	assert_int_equal(scim_patch_apply(r, SCIM_USER, b, &err), -1);
	assert_string_equal(err.scim_type, "invalidSyntax");
	json_decref(b);

	b = load("{'schemas': ['urn:ietf:params:scim:api:messages:2.0:PatchOp']}");
	assert_int_equal(scim_patch_apply(r, SCIM_USER, b, &err), -1);
	json_decref(b);

	b = load("[]");
	assert_int_equal(scim_patch_apply(r, SCIM_USER, b, &err), -1);
	json_decref(b);
	json_decref(r);

	patch_fails(SCIM_USER, USER(""), "[]", 400, "invalidSyntax", NULL);
	patch_fails(SCIM_USER, USER(""), "[{'op': 'move', 'path': 'title', 'value': 'x'}]", 400, "invalidSyntax",
	            "Operations[0]");
	patch_fails(SCIM_USER, USER(""), "[{'path': 'title', 'value': 'x'}]", 400, "invalidSyntax", NULL);
	patch_fails(SCIM_USER, USER(""), "['add']", 400, "invalidSyntax", NULL);
	patch_fails(SCIM_USER, USER(""), "[{'op': 'add', 'path': 5, 'value': 'x'}]", 400, "invalidPath", NULL);
	patch_fails(SCIM_USER, USER(""), "[{'op': 'add', 'path': 'title'}]", 400, "invalidValue", NULL);
}

static void test_op_names_any_case(void **state)
{
	patch_ok(
	    SCIM_USER, USER(""),
	    "[{'op': 'Add', 'path': 'title', 'value': 'Eng'}, {'op': 'REPLACE', 'path': 'nickName', 'value': 'Al'},"
	    " {'op': 'replace', 'path': 'displayName', 'value': 'Alice'}, {'op': 'Remove', 'path': 'nickName'}]",
	    USER(", 'title': 'Eng', 'displayName': 'Alice'"));
}

static void test_boolean_strings(void **state)
{
	patch_ok(SCIM_USER, USER(", 'active': true"), "[{'op': 'Replace', 'path': 'active', 'value': 'False'}]",
	         USER(", 'active': false"));
	patch_ok(SCIM_USER, USER(", 'active': false"), "[{'op': 'Replace', 'path': 'active', 'value': 'True'}]",
	         USER(", 'active': true"));
	patch_ok(SCIM_USER, USER(""), "[{'op': 'Replace', 'value': {'active': 'false'}}]", USER(", 'active': false"));
	patch_ok(SCIM_USER, USER(""), "[{'op': 'add', 'path': 'emails[type eq `work`].primary', 'value': 'True'}]",
	         USER(", 'emails': [{'type': 'work', 'primary': true}]"));
	patch_ok(SCIM_USER, USER(""),
	         "[{'op': 'add', 'path': 'emails', 'value': [{'value': 'a@b.c', 'primary': 'TRUE'}]}]",
	         USER(", 'emails': [{'value': 'a@b.c', 'primary': true}]"));
	patch_fails(SCIM_USER, USER(""), "[{'op': 'Replace', 'path': 'active', 'value': 'maybe'}]", 400, "invalidValue",
	            "Operations[0]");
}

static void test_pathless(void **state)
{
	patch_ok(SCIM_USER, USER(", 'name': {'familyName': 'Smith'}"),
	         "[{'op': 'Replace', 'value': {'displayName': 'Alice S', 'name.givenName': 'Alice',"
	         "  '" ENT ":department': 'R&D', 'EXTERNALID': 'alice'}}]",
	         USER(", 'displayName': 'Alice S', 'externalId': 'alice', 'name': {'familyName': 'Smith', 'givenName': "
	              "'Alice'},"
	              " '" ENT
	              "': {'department': 'R&D'}, 'schemas': ['urn:ietf:params:scim:schemas:core:2.0:User', '" ENT
	              "']"));
	/* a key that is the extension URN merges into the extension object */
	patch_ok(SCIM_USER, USER(", '" ENT "': {'division': 'X'}"),
	         "[{'op': 'Add', 'value': {'" ENT "': {'employeeNumber': '42', 'manager': 'boss'}}}]",
	         USER(", '" ENT "': {'division': 'X', 'employeeNumber': '42', 'manager': {'value': 'boss'}},"
	              " 'schemas': ['urn:ietf:params:scim:schemas:core:2.0:User', '" ENT "']"));
	/* the core URN as a key */
	patch_ok(SCIM_USER, USER(""),
	         "[{'op': 'replace', 'value': {'urn:ietf:params:scim:schemas:core:2.0:User': {'title': 'CEO'}}}]",
	         USER(", 'title': 'CEO'"));
	/* value-path keys, as Entra sends them without a path */
	patch_ok(SCIM_USER, USER(""),
	         "[{'op': 'Add', 'value': {'emails[type eq `work`].value': 'a@b.c', 'phoneNumbers[type eq "
	         "`mobile`].value': '+1'}}]",
	         USER(", 'emails': [{'type': 'work', 'value': 'a@b.c'}], 'phoneNumbers': [{'type': 'mobile', 'value': "
	              "'+1'}]"));
	/* meta and schemas are ignored, id may only be itself */
	patch_ok(SCIM_USER, USER(""), "[{'op': 'replace', 'value': {'meta': {'x': 1}, 'schemas': [], 'id': 'u-1'}}]",
	         USER(""));
	patch_fails(SCIM_USER, USER(""), "[{'op': 'replace', 'value': 'x'}]", 400, "invalidValue", NULL);
	patch_fails(SCIM_USER, USER(""), "[{'op': 'replace', 'value': {'id': 'other'}}]", 400, "mutability", NULL);
	patch_fails(SCIM_USER, USER(""), "[{'op': 'replace', 'value': {'bad key!': 'x'}}]", 400, "invalidPath", NULL);
}

/* Every PATCH form that can carry a password leaves none in the resource, and says it dropped one. */
static void test_password_never_kept(void **state)
{
	static const char *const ops[] = {
	    "[{'op': 'add', 'path': 'password', 'value': 'S3cret!'}]",
	    "[{'op': 'Replace', 'path': 'password', 'value': 'S3cret!'}]",
	    "[{'op': 'replace', 'path': 'PASSWORD', 'value': 'S3cret!'}]",
	    "[{'op': 'replace', 'path': 'urn:ietf:params:scim:schemas:core:2.0:User:password', 'value': 'S3cret!'}]",
	    "[{'op': 'Add', 'value': {'password': 'S3cret!'}}]",
	    "[{'op': 'Replace', 'value': {'password': 'S3cret!', 'displayName': 'A'}}]",
	    "[{'op': 'replace', 'value': {'urn:ietf:params:scim:schemas:core:2.0:User': {'password': 'S3cret!'}}}]",
	    "[{'op': 'add', 'path': 'password.value', 'value': 'S3cret!'}]",
	    "[{'op': 'add', 'path': 'password[type eq `x`].value', 'value': 'S3cret!'}]",
	};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		struct scim_error err = {0};
		json_t *r = load(USER("")), *b = body_of(ops[i]);
		if (scim_patch_apply(r, SCIM_USER, b, &err) != 0)
			fail_msg("%s: %s", ops[i], err.detail);
		char *text = json_dumps(r, JSON_SORT_KEYS);
		if (strstr(text, "S3cret") || strstr(text, "password"))
			fail_msg("%s kept it: %s", ops[i], text);
		assert_string_equal(err.dropped, "password");
		free(text);
		json_decref(r);
		json_decref(b);
	}
	/* one stored by an older entra-syncd goes with the next PATCH */
	patch_ok(SCIM_USER, USER(", 'password': 'old'"), "[{'op': 'replace', 'path': 'title', 'value': 'CTO'}]",
	         USER(", 'title': 'CTO'"));
}

static void test_value_path_creates(void **state)
{
	patch_ok(SCIM_USER, USER(""), "[{'op': 'replace', 'path': 'emails[type eq `work`].value', 'value': 'a@b.c'}]",
	         USER(", 'emails': [{'type': 'work', 'value': 'a@b.c'}]"));
	patch_ok(SCIM_USER, USER(""),
	         "[{'op': 'replace', 'path': 'addresses[type eq `work`].formatted', 'value': '1 Main St'},"
	         " {'op': 'replace', 'path': 'addresses[type eq `work`].streetAddress', 'value': 'Main St'}]",
	         USER(", 'addresses': [{'type': 'work', 'formatted': '1 Main St', 'streetAddress': 'Main St'}]"));
	patch_ok(SCIM_USER, USER(""),
	         "[{'op': 'add', 'path': 'phoneNumbers[type eq `mobile`].value', 'value': '+1 555'}]",
	         USER(", 'phoneNumbers': [{'type': 'mobile', 'value': '+1 555'}]"));
	patch_ok(SCIM_USER, USER(""),
	         "[{'op': 'add', 'path': 'emails[type eq `work` and primary eq true].value', 'value': 'a@b.c'}]",
	         USER(", 'emails': [{'type': 'work', 'primary': true, 'value': 'a@b.c'}]"));
	/* an existing match is updated, others left alone */
	patch_ok(SCIM_USER, USER(", 'emails': [{'type': 'home', 'value': 'h@x'}, {'type': 'Work', 'value': 'old@x'}]"),
	         "[{'op': 'Replace', 'path': 'emails[type eq `work`].value', 'value': 'new@x'}]",
	         USER(", 'emails': [{'type': 'home', 'value': 'h@x'}, {'type': 'Work', 'value': 'new@x'}]"));
	/* no sub-attribute: the value object is merged into the match */
	patch_ok(SCIM_USER, USER(", 'emails': [{'type': 'work', 'value': 'old@x'}]"),
	         "[{'op': 'replace', 'path': 'emails[type eq `work`]', 'value': {'value': 'n@x', 'primary': 'true'}}]",
	         USER(", 'emails': [{'type': 'work', 'value': 'n@x', 'primary': true}]"));
	/* cannot describe a new element */
	patch_fails(SCIM_USER, USER(""), "[{'op': 'replace', 'path': 'emails[type ne `work`].value', 'value': 'x'}]",
	            400, "noTarget", NULL);
	patch_fails(SCIM_USER, USER(", 'title': 'x'"), "[{'op': 'replace', 'path': 'title[type eq `a`]', 'value': {}}]",
	            400, "invalidPath", NULL);
	patch_fails(SCIM_USER, USER(""), "[{'op': 'replace', 'path': 'emails[type eq', 'value': 'x'}]", 400,
	            "invalidPath", "Operations[0]: path 'emails[type eq' is not valid");
}

static void test_value_path_remove(void **state)
{
	const char *two = USER(", 'emails': [{'type': 'work', 'value': 'w@x'}, {'type': 'home', 'value': 'h@x'}]");

	patch_ok(SCIM_USER, two, "[{'op': 'remove', 'path': 'emails[type eq `work`]'}]",
	         USER(", 'emails': [{'type': 'home', 'value': 'h@x'}]"));
	patch_ok(SCIM_USER, two, "[{'op': 'remove', 'path': 'emails[type eq `work`].value'}]",
	         USER(", 'emails': [{'type': 'work'}, {'type': 'home', 'value': 'h@x'}]"));
	/* no match: idempotent */
	patch_ok(SCIM_USER, two, "[{'op': 'remove', 'path': 'emails[type eq `other`]'}]", two);
	patch_ok(SCIM_USER, USER(""), "[{'op': 'remove', 'path': 'emails[type eq `work`]'}]", USER(""));
	/* last one gone: attribute gone */
	patch_ok(SCIM_USER, two, "[{'op': 'remove', 'path': 'emails[value co `@x`]'}]", USER(""));
	patch_ok(SCIM_USER, two, "[{'op': 'remove', 'path': 'emails'}]", USER(""));
}

static void test_sub_attributes(void **state)
{
	patch_ok(SCIM_USER, USER(""), "[{'op': 'replace', 'path': 'name.givenName', 'value': 'Alice'}]",
	         USER(", 'name': {'givenName': 'Alice'}"));
	patch_ok(SCIM_USER, USER(", 'name': {'givenName': 'A', 'familyName': 'S'}"),
	         "[{'op': 'replace', 'path': 'NAME.GIVENNAME', 'value': 'Alice'}, {'op': 'remove', 'path': "
	         "'name.familyName'}]",
	         USER(", 'name': {'givenName': 'Alice'}"));
	patch_ok(SCIM_USER, USER(", 'name': {'givenName': 'A'}"), "[{'op': 'remove', 'path': 'name.givenName'}]",
	         USER(""));
	patch_ok(SCIM_USER, USER(", 'name': {'givenName': 'A', 'familyName': 'S'}"),
	         "[{'op': 'replace', 'path': 'name', 'value': {'familyName': 'Smith'}}]",
	         USER(", 'name': {'givenName': 'A', 'familyName': 'Smith'}"));
	patch_fails(SCIM_USER, USER(""), "[{'op': 'replace', 'path': 'userName.x', 'value': 'a'}]", 400, "invalidPath",
	            NULL);
	patch_fails(SCIM_USER, USER(""), "[{'op': 'replace', 'path': 'name.givenName', 'value': 5}]", 400,
	            "invalidValue", "name.givenName");
}

static void test_enterprise(void **state)
{
	const char *want = USER(", '" ENT "': {'manager': {'value': 'boss-1'}},"
	                        " 'schemas': ['urn:ietf:params:scim:schemas:core:2.0:User', '" ENT "']");
	const char *with_mgr = USER(", '" ENT "': {'manager': {'value': 'old'}, 'department': 'D'},"
	                            " 'schemas': ['urn:ietf:params:scim:schemas:core:2.0:User', '" ENT "']");

	patch_ok(SCIM_USER, USER(""), "[{'op': 'Add', 'path': '" ENT ":manager', 'value': 'boss-1'}]", want);
	patch_ok(SCIM_USER, USER(""), "[{'op': 'Replace', 'path': '" ENT ":manager', 'value': {'value': 'boss-1'}}]",
	         want);
	patch_ok(SCIM_USER, USER(""), "[{'op': 'Replace', 'path': '" ENT ":manager', 'value': [{'value': 'boss-1'}]}]",
	         want);
	patch_ok(SCIM_USER, USER(""), "[{'op': 'Replace', 'path': '" ENT ":manager.value', 'value': 'boss-1'}]", want);
	patch_ok(SCIM_USER, USER(""), "[{'op': 'Replace', 'value': {'" ENT ":manager': 'boss-1'}}]", want);

	const char *cleared = USER(", '" ENT "': {'department': 'D'},"
	                           " 'schemas': ['urn:ietf:params:scim:schemas:core:2.0:User', '" ENT "']");
	patch_ok(SCIM_USER, with_mgr, "[{'op': 'Remove', 'path': '" ENT ":manager'}]", cleared);
	patch_ok(SCIM_USER, with_mgr, "[{'op': 'Replace', 'path': '" ENT ":manager', 'value': null}]", cleared);
	patch_ok(SCIM_USER, with_mgr, "[{'op': 'Replace', 'path': '" ENT ":manager', 'value': []}]", cleared);
	patch_ok(SCIM_USER, with_mgr, "[{'op': 'Replace', 'path': '" ENT ":manager', 'value': ''}]", cleared);
	patch_ok(
	    SCIM_USER, with_mgr,
	    "[{'op': 'Replace', 'path': 'URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:employeeNumber',"
	    " 'value': '7'}]",
	    USER(", '" ENT "': {'manager': {'value': 'old'}, 'department': 'D', 'employeeNumber': '7'},"
	         " 'schemas': ['urn:ietf:params:scim:schemas:core:2.0:User', '" ENT "']"));
	/* the extension URN as the path */
	patch_ok(SCIM_USER, with_mgr, "[{'op': 'replace', 'path': '" ENT "', 'value': {'department': 'E'}}]",
	         USER(", '" ENT "': {'manager': {'value': 'old'}, 'department': 'E'},"
	              " 'schemas': ['urn:ietf:params:scim:schemas:core:2.0:User', '" ENT "']"));
	patch_fails(SCIM_USER, USER(""),
	            "[{'op': 'Replace', 'path': '" ENT ":manager', 'value': [{'value': 'a'}, {'value': 'b'}]}]", 400,
	            "invalidValue", NULL);
	patch_fails(SCIM_USER, USER(""), "[{'op': 'Replace', 'path': '" ENT ":manager', 'value': 5}]", 400,
	            "invalidValue", NULL);
}

static void test_multi_valued_add_replace(void **state)
{
	const char *one = USER(", 'emails': [{'type': 'work', 'value': 'w@x'}]");

	patch_ok(SCIM_USER, one,
	         "[{'op': 'add', 'path': 'emails', 'value': [{'type': 'home', 'value': 'h@x'}, {'type': 'work', "
	         "'value': 'w@x'}]}]",
	         USER(", 'emails': [{'type': 'work', 'value': 'w@x'}, {'type': 'home', 'value': 'h@x'}]"));
	patch_ok(SCIM_USER, one, "[{'op': 'add', 'path': 'emails', 'value': {'type': 'home', 'value': 'h@x'}}]",
	         USER(", 'emails': [{'type': 'work', 'value': 'w@x'}, {'type': 'home', 'value': 'h@x'}]"));
	patch_ok(SCIM_USER, one, "[{'op': 'replace', 'path': 'emails', 'value': [{'type': 'home', 'value': 'h@x'}]}]",
	         USER(", 'emails': [{'type': 'home', 'value': 'h@x'}]"));
	patch_ok(SCIM_USER, one, "[{'op': 'replace', 'path': 'emails', 'value': []}]", USER(""));
	patch_ok(SCIM_USER, one, "[{'op': 'add', 'value': {'emails': [{'value': 'w2@x'}]}}]",
	         USER(", 'emails': [{'type': 'work', 'value': 'w@x'}, {'value': 'w2@x'}]"));
	patch_ok(SCIM_USER, one, "[{'op': 'replace', 'path': 'emails.type', 'value': 'other'}]",
	         USER(", 'emails': [{'type': 'other', 'value': 'w@x'}]"));
	patch_ok(SCIM_USER, USER(""),
	         "[{'op': 'add', 'path': 'title', 'value': 'a'}, {'op': 'add', 'path': 'title', 'value': 'b'}]",
	         USER(", 'title': 'b'"));
	patch_ok(SCIM_USER, one, "[{'op': 'remove', 'path': 'emails', 'value': [{'value': 'w@x'}]}]", USER(""));
	patch_fails(SCIM_USER, USER(""), "[{'op': 'add', 'path': 'emails', 'value': ['x']}]", 400, "invalidValue",
	            NULL);
	patch_fails(SCIM_USER, USER(""), "[{'op': 'add', 'path': 'userName', 'value': 7}]", 400, "invalidValue", NULL);
}

static void test_protected_attributes(void **state)
{
	patch_fails(SCIM_USER, USER(""), "[{'op': 'replace', 'path': 'id', 'value': 'x'}]", 400, "mutability", NULL);
	patch_fails(SCIM_USER, USER(""), "[{'op': 'remove', 'path': 'id'}]", 400, "mutability", NULL);
	patch_ok(SCIM_USER, USER(""), "[{'op': 'replace', 'path': 'id', 'value': 'u-1'}]", USER(""));
	patch_ok(SCIM_USER, USER(""),
	         "[{'op': 'replace', 'path': 'meta.resourceType', 'value': 'Group'},"
	         " {'op': 'remove', 'path': 'meta'}, {'op': 'replace', 'path': 'schemas', 'value': []}]",
	         USER(""));
	patch_fails(SCIM_USER, USER(""), "[{'op': 'remove'}]", 400, "noTarget", NULL);
	patch_fails(SCIM_USER, USER(""), "[{'op': 'remove', 'path': ''}]", 400, "noTarget", NULL);
	/* removing a required attribute fails */
	patch_fails(SCIM_USER, USER(""), "[{'op': 'remove', 'path': 'userName'}]", 400, "invalidValue", "userName");
	patch_fails(SCIM_GROUP, GROUP(""), "[{'op': 'replace', 'path': 'displayName', 'value': ''}]", 400,
	            "invalidValue", NULL);
}

static void test_atomicity(void **state)
{
	const char *res = USER(", 'displayName': 'A', 'emails': [{'type': 'work', 'value': 'w@x'}]");
	patch_fails(SCIM_USER, res,
	            "[{'op': 'replace', 'path': 'displayName', 'value': 'B'},"
	            " {'op': 'remove', 'path': 'emails[type eq `work`]'},"
	            " {'op': 'replace', 'path': 'active', 'value': 'nope'},"
	            " {'op': 'add', 'path': 'title', 'value': 'T'}]",
	            400, "invalidValue", "Operations[2]");
	patch_fails(SCIM_GROUP, GROUP(", 'members': [{'value': 'a'}]"),
	            "[{'op': 'add', 'path': 'members', 'value': [{'value': 'b'}]},"
	            " {'op': 'remove', 'path': 'members', 'value': [{'value': 'a'}]},"
	            " {'op': 'replace', 'path': 'displayName', 'value': 5}]",
	            400, "invalidValue", "Operations[2]");
}

static void test_group_members(void **state)
{
	const char *g = GROUP(", 'members': [{'value': 'a'}, {'value': 'b'}, {'value': 'c'}]");

	patch_ok(SCIM_GROUP, GROUP(""), "[{'op': 'Add', 'path': 'members', 'value': [{'value': 'a'}, {'value': 'b'}]}]",
	         GROUP(", 'members': [{'value': 'a'}, {'value': 'b'}]"));
	patch_ok(SCIM_GROUP, g,
	         "[{'op': 'Add', 'path': 'members', 'value': [{'value': 'b'}, {'value': 'd'}, {'value': 'd'}]}]",
	         GROUP(", 'members': [{'value': 'a'}, {'value': 'b'}, {'value': 'c'}, {'value': 'd'}]"));
	patch_ok(SCIM_GROUP, g,
	         "[{'op': 'Remove', 'path': 'members', 'value': [{'value': 'a'}, {'value': 'c'}, {'value': 'zz'}]}]",
	         GROUP(", 'members': [{'value': 'b'}]"));
	patch_ok(SCIM_GROUP, g, "[{'op': 'Remove', 'path': 'members[value eq `b`]'}]",
	         GROUP(", 'members': [{'value': 'a'}, {'value': 'c'}]"));
	patch_ok(SCIM_GROUP, g, "[{'op': 'Remove', 'path': 'members[value eq `B`]'}]",
	         g); /* member ids are caseExact */
	patch_ok(SCIM_GROUP, g, "[{'op': 'Remove', 'path': 'members[value eq `nobody`]'}]", g);
	patch_ok(SCIM_GROUP, g, "[{'op': 'Remove', 'path': 'members'}]", GROUP(""));
	patch_ok(SCIM_GROUP, g, "[{'op': 'Replace', 'path': 'members', 'value': [{'value': 'x'}, {'value': 'y'}]}]",
	         GROUP(", 'members': [{'value': 'x'}, {'value': 'y'}]"));
	patch_ok(SCIM_GROUP, g, "[{'op': 'Replace', 'value': {'displayName': 'Ops', 'externalId': 'e1'}}]",
	         "{'schemas': ['urn:ietf:params:scim:schemas:core:2.0:Group'], 'id': 'g-1', 'displayName': 'Ops',"
	         " 'externalId': 'e1', 'members': [{'value': 'a'}, {'value': 'b'}, {'value': 'c'}]}");
	patch_ok(SCIM_GROUP, g, "[{'op': 'Replace', 'path': 'displayName', 'value': 'Ops'}]",
	         "{'schemas': ['urn:ietf:params:scim:schemas:core:2.0:Group'], 'id': 'g-1', 'displayName': 'Ops',"
	         " 'members': [{'value': 'a'}, {'value': 'b'}, {'value': 'c'}]}");
	/* remove then re-add in one request; add then remove */
	patch_ok(SCIM_GROUP, g,
	         "[{'op': 'remove', 'path': 'members[value eq `a`]'}, {'op': 'add', 'path': 'members', 'value': "
	         "[{'value': 'a'}]},"
	         " {'op': 'add', 'path': 'members', 'value': [{'value': 'e'}]}, {'op': 'remove', 'path': 'members', "
	         "'value': [{'value': 'e'}]},"
	         " {'op': 'remove', 'path': 'members', 'value': [{'value': 'c'}]}]",
	         GROUP(", 'members': [{'value': 'a'}, {'value': 'b'}]"));
	/* a generic op on members after fast ones sees their effect */
	patch_ok(SCIM_GROUP, g,
	         "[{'op': 'remove', 'path': 'members', 'value': [{'value': 'a'}]},"
	         " {'op': 'replace', 'path': 'members[value eq `b`].display', 'value': 'Bee'}]",
	         GROUP(", 'members': [{'value': 'b', 'display': 'Bee'}, {'value': 'c'}]"));
	patch_ok(SCIM_GROUP, g, "[{'op': 'add', 'value': {'members': [{'value': 'z'}]}}]",
	         GROUP(", 'members': [{'value': 'a'}, {'value': 'b'}, {'value': 'c'}, {'value': 'z'}]"));
	patch_fails(SCIM_GROUP, g, "[{'op': 'add', 'path': 'members', 'value': [{'display': 'no id'}]}]", 400,
	            "invalidValue", NULL);
	patch_fails(SCIM_GROUP, g, "[{'op': 'remove', 'path': 'members', 'value': [{'value': 5}]}]", 400,
	            "invalidValue", NULL);
}

static void test_body_untouched_and_filter_errors(void **state)
{
	struct scim_error err = {0};
	json_t *g = load(GROUP(""));
	json_t *b = body_of("[{'op': 'add', 'path': 'members', 'value': [{'value': 'b'}]},"
	                    " {'op': 'replace', 'path': 'members[value eq `b`].display', 'value': 'Bee'},"
	                    " {'op': 'add', 'value': {'emails': [{'value': 'x', 'primary': 'True'}]}}]");
	json_t *copy = json_deep_copy(b);

	assert_int_equal(scim_patch_apply(g, SCIM_GROUP, b, &err), 0);
	assert_true(json_equal(b, copy));
	assert_json(
	    g, GROUP(", 'members': [{'value': 'b', 'display': 'Bee'}], 'emails': [{'value': 'x', 'primary': 'True'}]"));
	json_decref(b);
	json_decref(copy);
	json_decref(g);

	patch_fails(
	    SCIM_USER, USER(", 'emails': [{'value': 'x', 'primary': true}]"),
	    "[{'op': 'add', 'path': 'title', 'value': 'T'}, {'op': 'remove', 'path': 'emails[primary gt true]'}]", 400,
	    "invalidFilter", "Operations[1]");
	/* a boolean given as a string matches a later filter on it */
	patch_ok(SCIM_USER, USER(""),
	         "[{'op': 'add', 'path': 'emails', 'value': [{'value': 'x', 'primary': 'True'}, {'value': 'y'}]},"
	         " {'op': 'remove', 'path': 'emails[primary eq true]'}]",
	         USER(", 'emails': [{'value': 'y'}]"));
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *member_ops(const char *op, size_t from, size_t n, bool one_op_each)
{
	json_t *ops = json_array(), *values = json_array();
	char id[64];

	for (size_t i = from; i < from + n; i++) {
		snprintf(id, sizeof(id), "member-%08zu-0000-0000-000000000000", i);
		if (one_op_each) {
			char path[128];
			snprintf(path, sizeof(path), "members[value eq \"%s\"]", id);
			if (strcmp(op, "Remove") == 0)
				json_array_append_new(ops, json_pack("{ssss}", "op", op, "path", path));
			else
				json_array_append_new(
				    ops, json_pack("{sssss[{ss}]}", "op", op, "path", "members", "value", "value", id));
		} else {
			json_array_append_new(values, json_pack("{ss}", "value", id));
		}
	}
	if (!one_op_each)
		json_array_append_new(ops, json_pack("{ssssso}", "op", op, "path", "members", "value", values));
	else
		json_decref(values);
	return json_pack("{s[s]so}", "schemas", "urn:ietf:params:scim:api:messages:2.0:PatchOp", "Operations", ops);
}

static void apply_body(json_t *group, json_t *body)
{
	struct scim_error err = {0};
	if (scim_patch_apply(group, SCIM_GROUP, body, &err) != 0)
		fail_msg("patch failed: %s", err.detail);
	json_decref(body);
}

static void test_10k_members(void **state)
{
	json_t *g = load(GROUP(""));
	double t0 = now();

	apply_body(g, member_ops("Add", 0, 10000, false));
	assert_int_equal(json_array_size(json_object_get(g, "members")), 10000);
	apply_body(g, member_ops("add", 5000, 10000, false)); /* half already present */
	assert_int_equal(json_array_size(json_object_get(g, "members")), 15000);
	apply_body(g, member_ops("Remove", 0, 10000, false));
	assert_int_equal(json_array_size(json_object_get(g, "members")), 5000);
	/* 10k operations of one member each */
	apply_body(g, member_ops("Add", 20000, 10000, true));
	assert_int_equal(json_array_size(json_object_get(g, "members")), 15000);
	apply_body(g, member_ops("Remove", 20000, 10000, true));
	assert_int_equal(json_array_size(json_object_get(g, "members")), 5000);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(json_object_get(g, "members"), 0), "value")),
	    "member-00010000-0000-0000-000000000000");
	/* generous even under sanitizers; quadratic behaviour takes minutes */
	if (now() - t0 > 20.0)
		fail_msg("10k member PATCHes took %.1f s", now() - t0);
	json_decref(g);
}

static void test_too_many(void **state)
{
	json_t *g = load(GROUP(""));
	json_t *body = member_ops("Add", 0, 100001, false);
	struct scim_error err = {0};

	assert_int_equal(scim_patch_apply(g, SCIM_GROUP, body, &err), -1);
	assert_int_equal(err.status, 413);
	assert_null(json_object_get(g, "members"));
	json_decref(body);
	json_decref(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path_forms),
	    cmocka_unit_test(test_path_errors),
	    cmocka_unit_test(test_envelope),
	    cmocka_unit_test(test_op_names_any_case),
	    cmocka_unit_test(test_boolean_strings),
	    cmocka_unit_test(test_pathless),
	    cmocka_unit_test(test_password_never_kept),
	    cmocka_unit_test(test_value_path_creates),
	    cmocka_unit_test(test_value_path_remove),
	    cmocka_unit_test(test_sub_attributes),
	    cmocka_unit_test(test_enterprise),
	    cmocka_unit_test(test_multi_valued_add_replace),
	    cmocka_unit_test(test_protected_attributes),
	    cmocka_unit_test(test_atomicity),
	    cmocka_unit_test(test_group_members),
	    cmocka_unit_test(test_body_untouched_and_filter_errors),
	    cmocka_unit_test(test_10k_members),
	    cmocka_unit_test(test_too_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
