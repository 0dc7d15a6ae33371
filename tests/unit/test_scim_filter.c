/* Unit tests for sync/scim/scim_filter.c: RFC 7644 3.4.2.2 grammar, evaluation, caseExact rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sync/scim/scim_filter.h"

static const char *const alice =
    "{"
    "\"schemas\": [\"urn:ietf:params:scim:schemas:core:2.0:User\","
    "              \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"],"
    "\"id\": \"ABC-123\", \"externalId\": \"Alice\", \"userName\": \"Alice@Contoso.com\","
    "\"displayName\": \"Alice Smith\", \"active\": true, \"age\": 42, \"score\": 1.5,"
    "\"name\": {\"givenName\": \"Alice\", \"familyName\": \"Smith\"},"
    "\"emails\": [{\"type\": \"work\", \"value\": \"alice@contoso.com\", \"primary\": true},"
    "             {\"type\": \"home\", \"value\": \"alice@example.org\", \"primary\": false}],"
    "\"meta\": {\"resourceType\": \"User\", \"lastModified\": \"2024-05-01T10:00:00Z\"},"
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\": {"
    "   \"employeeNumber\": \"E42\", \"manager\": {\"value\": \"boss-1\"}}"
    "}";

static const char *const team = "{\"id\": \"g1\", \"displayName\": \"Web Team\","
                                "\"members\": [{\"value\": \"u1\"}, {\"value\": \"U2\"}]}";

static int match_json(const char *filter, enum scim_resource_type type, const char *json)
{
	struct scim_error err = {0};
	struct scim_filter *f = scim_filter_parse(filter, &err);
	json_t *res = json_loads(json, 0, NULL);
	int r;

	if (!f)
		fail_msg("parse of '%s' failed: %s", filter, err.detail);
	assert_non_null(res);
	r = scim_filter_match(f, type, res, &err);
	if (r < 0) {
		assert_int_equal(err.status, 400);
		assert_string_equal(err.scim_type, "invalidFilter");
	}
	scim_filter_free(f);
	json_decref(res);
	return r;
}

static int user(const char *filter)
{
	return match_json(filter, SCIM_USER, alice);
}

static void assert_parse_fails(const char *filter)
{
	struct scim_error err = {0};
	struct scim_filter *f = scim_filter_parse(filter, &err);
	if (f) {
		scim_filter_free(f);
		fail_msg("'%s' should not parse", filter);
	}
	assert_int_equal(err.status, 400);
	assert_string_equal(err.scim_type, "invalidFilter");
	assert_true(strlen(err.detail) > 0);
}

static void test_eq_basic(void **state)
{
	assert_int_equal(user("userName eq \"Alice@Contoso.com\""), 1);
	assert_int_equal(user("userName eq \"bob@contoso.com\""), 0);
	assert_int_equal(user("displayName eq \"Alice Smith\""), 1);
	assert_int_equal(user("age eq 42"), 1);
	assert_int_equal(user("age eq 42.0"), 1);
	assert_int_equal(user("score eq 1.5"), 1);
	assert_int_equal(user("active eq true"), 1);
	assert_int_equal(user("active eq false"), 0);
	assert_int_equal(user("nosuch eq \"x\""), 0);
}

static void test_case_insensitive_names_and_ops(void **state)
{
	assert_int_equal(user("USERNAME EQ \"alice@contoso.com\""), 1);
	assert_int_equal(user("username Eq \"ALICE@CONTOSO.COM\""), 1);
	assert_int_equal(user("Active eq True"), 1);
	assert_int_equal(user("userName eq \"a\" OR displayName pr"), 1);
	assert_int_equal(user("userName pr AnD NOT (displayName eq \"x\")"), 1);
}

static void test_case_exact_attributes(void **state)
{
	assert_int_equal(user("id eq \"ABC-123\""), 1);
	assert_int_equal(user("id eq \"abc-123\""), 0);
	assert_int_equal(user("externalId eq \"Alice\""), 1);
	assert_int_equal(user("externalId eq \"alice\""), 0);
	assert_int_equal(user("meta.resourceType eq \"user\""), 0);
	assert_int_equal(user("emails.value eq \"ALICE@contoso.com\""), 1);
	assert_int_equal(match_json("members.value eq \"u2\"", SCIM_GROUP, team), 0);
	assert_int_equal(match_json("members.value eq \"U2\"", SCIM_GROUP, team), 1);
	assert_int_equal(match_json("members[value eq \"u2\"]", SCIM_GROUP, team), 0);
	assert_int_equal(match_json("displayName eq \"web team\"", SCIM_GROUP, team), 1);

	assert_true(scim_attr_case_exact(SCIM_USER, "id"));
	assert_true(scim_attr_case_exact(SCIM_USER, "externalId"));
	assert_true(scim_attr_case_exact(SCIM_USER, "meta.lastModified"));
	assert_true(scim_attr_case_exact(SCIM_USER, "groups.value"));
	assert_true(scim_attr_case_exact(SCIM_GROUP, "members.value"));
	assert_true(scim_attr_case_exact(SCIM_GROUP, "members.$ref"));
	assert_true(scim_attr_case_exact(SCIM_USER, "urn:ietf:params:scim:schemas:core:2.0:User:id"));
	assert_false(scim_attr_case_exact(SCIM_USER, "userName"));
	assert_false(scim_attr_case_exact(SCIM_USER, "emails.value"));
	assert_false(scim_attr_case_exact(SCIM_USER, "name.givenName"));
	assert_false(scim_attr_case_exact(SCIM_USER, "displayName"));
	assert_false(scim_attr_case_exact(SCIM_USER, "somethingUnknown"));
	assert_false(scim_attr_case_exact(SCIM_USER, "members.value"));
}

static void test_string_operators(void **state)
{
	assert_int_equal(user("userName co \"CONTOSO\""), 1);
	assert_int_equal(user("userName co \"fabrikam\""), 0);
	assert_int_equal(user("userName sw \"alice@\""), 1);
	assert_int_equal(user("userName sw \"contoso\""), 0);
	assert_int_equal(user("userName ew \".COM\""), 1);
	assert_int_equal(user("userName ew \"alice\""), 0);
	assert_int_equal(user("userName ne \"bob\""), 1);
	assert_int_equal(user("userName ne \"alice@contoso.com\""), 0);
	assert_int_equal(user("nosuch ne \"x\""), 1);
	assert_int_equal(user("id co \"abc\""), 0);
	assert_int_equal(user("id co \"ABC\""), 1);
}

static void test_ordering(void **state)
{
	assert_int_equal(user("userName gt \"alice\""), 1);
	assert_int_equal(user("userName lt \"B\""), 1);
	assert_int_equal(user("userName ge \"ALICE@CONTOSO.COM\""), 1);
	assert_int_equal(user("userName le \"alice@contoso.com\""), 1);
	assert_int_equal(user("age gt 41"), 1);
	assert_int_equal(user("age gt 42"), 0);
	assert_int_equal(user("age ge 42"), 1);
	assert_int_equal(user("age lt 100"), 1);
	assert_int_equal(user("age le 41.9"), 0);
	assert_int_equal(user("score lt 2"), 1);
	assert_int_equal(user("meta.lastModified gt \"2024-01-01T00:00:00Z\""), 1);
	assert_int_equal(user("meta.lastModified lt \"2024-01-01T00:00:00Z\""), 0);
	assert_int_equal(user("age gt \"x\""), 0);
}

static void test_cannot_evaluate(void **state)
{
	assert_int_equal(user("active gt true"), -1);
	assert_int_equal(user("active gt \"a\""), -1);
	assert_int_equal(user("emails.primary ge false"), -1);
	assert_int_equal(user("age lt null"), -1);
	assert_int_equal(user("userName co 5"), -1);
	assert_int_equal(user("userName sw true"), -1);
}

static void test_presence_and_null(void **state)
{
	assert_int_equal(user("userName pr"), 1);
	assert_int_equal(user("title pr"), 0);
	assert_int_equal(user("name pr"), 1);
	assert_int_equal(user("name.givenName pr"), 1);
	assert_int_equal(user("name.middleName pr"), 0);
	assert_int_equal(user("emails pr"), 1);
	assert_int_equal(match_json("emails pr", SCIM_USER, "{\"emails\": []}"), 0);
	assert_int_equal(match_json("title pr", SCIM_USER, "{\"title\": \"\"}"), 0);
	assert_int_equal(user("title eq null"), 1);
	assert_int_equal(user("userName eq null"), 0);
	assert_int_equal(user("userName ne null"), 1);
}

static void test_logic_and_precedence(void **state)
{
	/* and binds tighter than or: true or (false and false) */
	assert_int_equal(user("userName pr or title pr and nosuch pr"), 1);
	assert_int_equal(user("(userName pr or title pr) and nosuch pr"), 0);
	assert_int_equal(user("title pr and nosuch pr or userName pr"), 1);
	assert_int_equal(user("not (userName pr)"), 0);
	assert_int_equal(user("not(title pr)"), 1);
	assert_int_equal(user("not (title pr) and not (nosuch pr)"), 1);
	assert_int_equal(user("((((userName pr))))"), 1);
	assert_int_equal(user("userName pr and (title pr or (age gt 1 and active eq true))"), 1);
	assert_int_equal(user("userName pr and age gt 1 and active eq true and title pr"), 0);
}

static void test_sub_attributes_and_multi_valued(void **state)
{
	assert_int_equal(user("name.givenName eq \"alice\""), 1);
	assert_int_equal(user("NAME.GIVENNAME eq \"ALICE\""), 1);
	assert_int_equal(user("name.familyName eq \"Jones\""), 0);
	assert_int_equal(user("emails.value eq \"alice@example.org\""), 1);
	assert_int_equal(user("emails.value eq \"nobody@example.org\""), 0);
	assert_int_equal(user("emails.type eq \"home\""), 1);
	assert_int_equal(user("emails co \"example.org\""), 1);
}

static void test_value_paths(void **state)
{
	assert_int_equal(user("emails[type eq \"work\" and primary eq true]"), 1);
	assert_int_equal(user("emails[type eq \"home\" and primary eq true]"), 0);
	assert_int_equal(user("emails[type eq \"work\" and value co \"contoso\"]"), 1);
	assert_int_equal(user("emails[type eq \"home\" and value co \"contoso\"]"), 0);
	assert_int_equal(user("EMAILS[TYPE eq \"WORK\"]"), 1);
	assert_int_equal(user("emails[not (type eq \"work\")]"), 1);
	assert_int_equal(user("userName pr and emails[type eq \"home\"] and not (title pr)"), 1);
	assert_int_equal(user("phoneNumbers[type eq \"work\"]"), 0);
	assert_int_equal(match_json("members[value eq \"u1\"]", SCIM_GROUP, team), 1);
}

/* Entra matches users by work email as `emails[type eq "work"].value eq "x"`: the comparison after
 * ']' applies to the element the bracket selected, not to any email. */
static void test_value_path_with_sub_comparison(void **state)
{
	assert_int_equal(user("emails[type eq \"work\"].value eq \"alice@contoso.com\""), 1);
	assert_int_equal(user("emails[type eq \"work\"].value eq \"ALICE@CONTOSO.COM\""), 1);
	assert_int_equal(user("emails[type eq \"work\"].value eq \"alice@example.org\""), 0);
	assert_int_equal(user("emails[type eq \"home\"].value eq \"alice@example.org\""), 1);
	assert_int_equal(user("emails[type eq \"home\"].value sw \"alice@contoso\""), 0);
	assert_int_equal(user("emails[type eq \"work\"].value pr and userName eq \"alice@contoso.com\""), 1);
	assert_int_equal(user("not (emails[type eq \"work\"].value ew \".org\")"), 1);
	assert_parse_fails("emails[type eq \"work\"].");
	assert_parse_fails("emails[type eq \"work\"].value");
	assert_parse_fails("emails[type eq \"work\"].value eq");
	assert_parse_fails("emails[type eq \"work\"].value[type eq \"x\"] eq \"y\"");
}

static void test_urn_qualified(void **state)
{
	assert_int_equal(user("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"E42\""),
	                 1);
	assert_int_equal(user("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"e43\""),
	                 0);
	assert_int_equal(user("URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:EMPLOYEENUMBER eq \"e42\""),
	                 1);
	assert_int_equal(user("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"boss-1\""),
	                 1);
	assert_int_equal(user("urn:ietf:params:scim:schemas:core:2.0:User:userName eq \"alice@contoso.com\""), 1);
	assert_int_equal(user("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName sw \"Al\""), 1);
}

static void test_literals(void **state)
{
	const char *json = "{\"title\": \"say \\\"hi\\\"\\\\ caf\\u00e9 \\ud83d\\ude00\\n\", \"n\": -3, \"e\": 1200}";
	assert_int_equal(match_json("title eq \"say \\\"hi\\\"\\\\ caf\\u00E9 \\ud83d\\ude00\\n\"", SCIM_USER, json),
	                 1);
	assert_int_equal(match_json("title eq \"say \\\"hi\\\"\\\\ café 😀\\n\"", SCIM_USER, json), 1);
	assert_int_equal(match_json("title co \"\\/\"", SCIM_USER, "{\"title\": \"a/b\"}"), 1);
	assert_int_equal(match_json("n eq -3", SCIM_USER, json), 1);
	assert_int_equal(match_json("e eq 1.2e3", SCIM_USER, json), 1);
	assert_int_equal(match_json("e eq 1.2E+3", SCIM_USER, json), 1);
	assert_int_equal(match_json("n lt -2.5", SCIM_USER, json), 1);
	assert_int_equal(match_json("title eq NULL", SCIM_USER, "{}"), 1);
	assert_int_equal(match_json("flag eq FALSE", SCIM_USER, "{\"flag\": false}"), 1);
	/* Entra stores some booleans as strings */
	assert_int_equal(match_json("active eq false", SCIM_USER, "{\"active\": \"False\"}"), 1);
}

static void test_whitespace(void **state)
{
	assert_int_equal(user("  userName   eq   \"alice@contoso.com\"  "), 1);
	assert_int_equal(user("(userName pr)and(displayName pr)"), 1);
	assert_int_equal(user("emails[ type eq \"work\" ]"), 1);
}

static void test_bad_input(void **state)
{
	assert_parse_fails("");
	assert_parse_fails("   ");
	assert_parse_fails("userName");
	assert_parse_fails("userName eq");
	assert_parse_fails("userName xx \"a\"");
	assert_parse_fails("userName equals \"a\"");
	assert_parse_fails("userName eq \"unterminated");
	assert_parse_fails("userName eq \"bad \\q escape\"");
	assert_parse_fails("userName eq \"bad \\u12\"");
	assert_parse_fails("userName eq \"lone \\ud800 surrogate\"");
	assert_parse_fails("userName eq \"nul \\u0000\"");
	assert_parse_fails("userName eq \"a\" garbage");
	assert_parse_fails("userName eq \"a\" and");
	assert_parse_fails("userName eq \"a\" or or userName pr");
	assert_parse_fails("userName eq bareword");
	assert_parse_fails("userName eq 01");
	assert_parse_fails("userName eq 1.");
	assert_parse_fails("userName eq -");
	assert_parse_fails("userName eq truex");
	assert_parse_fails("(userName pr");
	assert_parse_fails("userName pr)");
	assert_parse_fails("((userName pr)");
	assert_parse_fails("()");
	assert_parse_fails("not userName pr");
	assert_parse_fails("emails[type eq \"work\"");
	assert_parse_fails("emails[type eq \"work\"]]");
	assert_parse_fails("emails[]");
	assert_parse_fails("emails[type[value eq \"x\"]]");
	assert_parse_fails("name.givenName[value eq \"x\"]");
	assert_parse_fails("1abc eq \"x\"");
	assert_parse_fails("user name eq \"x\"");
	assert_parse_fails("userName eq \"a\" userName eq \"b\"");
	assert_parse_fails("\"userName\" eq \"a\"");
	assert_parse_fails("userName eq \"ctl \x01 char\"");
	assert_parse_fails("userName eq \"\xff\xfe\"");
}

static void test_error_names_position(void **state)
{
	struct scim_error err = {0};
	assert_null(scim_filter_parse("userName zz \"a\"", &err));
	assert_non_null(strstr(err.detail, "offset 9"));
	assert_null(scim_filter_parse(NULL, &err));
	assert_int_equal(err.status, 400);
}

static void test_limits(void **state)
{
	char buf[8192];
	size_t n = 0;
	int depth;

	/* 32 levels of parentheses parse, 40 do not */
	for (depth = 0; depth < 31; depth++)
		buf[n++] = '(';
	n += (size_t)sprintf(buf + n, "userName pr");
	for (depth = 0; depth < 31; depth++)
		buf[n++] = ')';
	buf[n] = '\0';
	assert_int_equal(user(buf), 1);

	n = 0;
	for (depth = 0; depth < 40; depth++)
		n += (size_t)sprintf(buf + n, "not (");
	n += (size_t)sprintf(buf + n, "userName pr");
	for (depth = 0; depth < 40; depth++)
		buf[n++] = ')';
	buf[n] = '\0';
	assert_parse_fails(buf);

	/* a very deep but short attack */
	memset(buf, '(', 4000);
	buf[4000] = '\0';
	assert_parse_fails(buf);

	/* over the length bound */
	memset(buf, ' ', sizeof(buf) - 1);
	memcpy(buf, "userName pr", 11);
	buf[sizeof(buf) - 1] = '\0';
	assert_parse_fails(buf);

	/* a long flat chain is fine (no recursion per term) */
	n = 0;
	while (n < 4000)
		n += (size_t)sprintf(buf + n, "%sx pr", n ? " or " : "");
	assert_int_equal(user(buf), 0);
}

static void test_simple_eq(void **state)
{
	struct scim_error err = {0};
	const char *attr, *value;
	struct scim_filter *f = scim_filter_parse("UserName eq \"ab7c2f@contoso.com\"", &err);

	assert_non_null(f);
	assert_true(scim_filter_simple_eq(f, &attr, &value));
	assert_string_equal(attr, "username");
	assert_string_equal(value, "ab7c2f@contoso.com");
	scim_filter_free(f);

	f = scim_filter_parse("externalId eq \"x\"", &err);
	assert_true(scim_filter_simple_eq(f, &attr, &value));
	assert_string_equal(attr, "externalid");
	scim_filter_free(f);

	f = scim_filter_parse("urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq \"Web\"", &err);
	assert_true(scim_filter_simple_eq(f, &attr, &value));
	assert_string_equal(attr, "displayname");
	assert_string_equal(value, "Web");
	scim_filter_free(f);

	const char *const not_simple[] = {
	    "userName ne \"x\"",
	    "userName eq 5",
	    "name.givenName eq \"x\"",
	    "userName eq \"a\" and id pr",
	    "emails[value eq \"x\"]",
	    "(userName eq \"a\") or (userName eq \"b\")",
	    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"1\"",
	    "userName pr",
	};
	for (size_t i = 0; i < sizeof(not_simple) / sizeof(not_simple[0]); i++) {
		f = scim_filter_parse(not_simple[i], &err);
		assert_non_null(f);
		assert_false(scim_filter_simple_eq(f, &attr, &value));
		scim_filter_free(f);
	}
	assert_false(scim_filter_simple_eq(NULL, &attr, &value));
}

static void test_entra_test_connection(void **state)
{
	/* Entra's "test connection" look-up against an empty-ish resource */
	assert_int_equal(match_json("userName eq \"ab55c19e-5b75-4e8b-a17f-12b6e0b0e2a2\"", SCIM_USER, alice), 0);
	assert_int_equal(match_json("displayName eq \"Web Team\"", SCIM_GROUP, team), 1);
	assert_int_equal(match_json("externalId eq \"g1\"", SCIM_GROUP, team), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_eq_basic),
	    cmocka_unit_test(test_case_insensitive_names_and_ops),
	    cmocka_unit_test(test_case_exact_attributes),
	    cmocka_unit_test(test_string_operators),
	    cmocka_unit_test(test_ordering),
	    cmocka_unit_test(test_cannot_evaluate),
	    cmocka_unit_test(test_presence_and_null),
	    cmocka_unit_test(test_logic_and_precedence),
	    cmocka_unit_test(test_sub_attributes_and_multi_valued),
	    cmocka_unit_test(test_value_paths),
	    cmocka_unit_test(test_value_path_with_sub_comparison),
	    cmocka_unit_test(test_urn_qualified),
	    cmocka_unit_test(test_literals),
	    cmocka_unit_test(test_whitespace),
	    cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_error_names_position),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_simple_eq),
	    cmocka_unit_test(test_entra_test_connection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
