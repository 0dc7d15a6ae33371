/* SCIM conformance, second round (issue 15): what Entra and RFC 7643/7644 expect of filters and
 * PATCH. Booleans against "True"/"False", a single primary role replaced (never appended),
 * dateTimes compared as instants, caseExact=false compared with Unicode case folding. Only the
 * public filter and PATCH API, so the same file runs against older code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sync/scim/scim_filter.h"
#include "sync/scim/scim_patch.h"

static const char *const user_json =
    "{\"schemas\": [\"urn:ietf:params:scim:schemas:core:2.0:User\"],"
    "\"id\": \"u1\", \"externalId\": \"M\xc3\xbcller\", \"userName\": \"hans.m\xc3\xbcller@contoso.com\","
    "\"displayName\": \"\xce\x9f\xce\x94\xce\xa5\xce\xa3\xce\xa3\xce\x95\xce\xa5\xce\xa3\"," /* ΟΔΥΣΣΕΥΣ */
    "\"title\": \"\xd0\x98\xd0\xbd\xd0\xb6\xd0\xb5\xd0\xbd\xd0\xb5\xd1\x80\","               /* Инженер */
    "\"name\": {\"givenName\": \"Hans\", \"familyName\": \"M\xc3\xbcller\"},"
    "\"roles\": [{\"primary\": true, \"value\": \"Admin\"}, {\"primary\": false, \"value\": \"Viewer\"}],"
    "\"meta\": {\"resourceType\": \"User\", \"created\": \"2026-12-01T00:00:00Z\","
    "          \"lastModified\": \"2026-12-03T08:24:47.771Z\"}}";

static int match(const char *filter)
{
	struct scim_error err = {0};
	struct scim_filter *f = scim_filter_parse(filter, &err);
	json_t *res = json_loads(user_json, 0, NULL);
	if (!f)
		fail_msg("parse of '%s' failed: %s", filter, err.detail);
	assert_non_null(res);
	int r = scim_filter_match(f, SCIM_USER, res, &err);
	if (r < 0)
		fail_msg("'%s' could not be evaluated: %s", filter, err.detail);
	scim_filter_free(f);
	json_decref(res);
	return r;
}

static void assert_invalid_filter(const char *filter)
{
	struct scim_error err = {0};
	struct scim_filter *f = scim_filter_parse(filter, &err);
	int r = -1;
	if (f) {
		json_t *res = json_loads(user_json, 0, NULL);
		r = scim_filter_match(f, SCIM_USER, res, &err);
		json_decref(res);
		scim_filter_free(f);
	}
	if (r >= 0)
		fail_msg("'%s' should be 400 invalidFilter", filter);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.scim_type, "invalidFilter");
}

/* Entra's target for single app-role mappings is roles[primary eq "True"].value. */
static void booleans_equal_entras_strings(void **state)
{
	assert_int_equal(match("roles[primary eq \"True\"].value eq \"Admin\""), 1);
	assert_int_equal(match("roles[primary eq \"true\"].value eq \"Admin\""), 1);
	assert_int_equal(match("roles[primary eq \"TRUE\"].value eq \"Viewer\""), 0);
	assert_int_equal(match("roles[primary eq \"False\"].value eq \"Viewer\""), 1);
	assert_int_equal(match("roles[primary eq \"fAlSe\"]"), 1);
	assert_int_equal(match("roles[primary ne \"True\"].value eq \"Viewer\""), 1);
	assert_int_equal(match("roles[primary eq \"yes\"]"), 0); /* not a boolean spelling */
	assert_int_equal(match("roles[primary eq true].value eq \"Admin\""), 1);
}

static json_t *patched(const char *resource, const char *ops)
{
	struct scim_error err = {0};
	char body[2048];
	snprintf(body, sizeof(body),
	         "{\"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"], \"Operations\": %s}", ops);
	json_t *res = json_loads(resource, 0, NULL), *b = json_loads(body, 0, NULL);
	assert_non_null(res);
	assert_non_null(b);
	if (scim_patch_apply(res, SCIM_USER, b, &err) < 0)
		fail_msg("PATCH %s failed: %s", ops, err.detail);
	json_decref(b);
	return res;
}

/* Each Replace of the primary role replaces its value: a second one must not add a role. */
static void primary_role_replace_replaces(void **state)
{
	static const char *const op = "[{\"op\": \"Replace\", \"path\": \"roles[primary eq \\\"True\\\"].value\","
	                              " \"value\": \"%s\"}]";
	char ops[256];
	snprintf(ops, sizeof(ops), op, "Admin");
	json_t *u = patched("{\"userName\": \"a@contoso.com\"}", ops);
	char *once = json_dumps(u, JSON_COMPACT);
	snprintf(ops, sizeof(ops), op, "Developer");
	json_t *again = patched(once, ops);
	json_t *roles = json_object_get(again, "roles");
	assert_int_equal(json_array_size(roles), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(roles, 0), "value")), "Developer");
	assert_true(json_is_true(json_object_get(json_array_get(roles, 0), "primary")));
	char *twice = json_dumps(again, JSON_COMPACT);
	json_t *third = patched(twice, "[{\"op\": \"replace\", \"path\": \"roles[primary eq \\\"TRUE\\\"].display\","
	                               " \"value\": \"Dev\"}]");
	assert_int_equal(json_array_size(json_object_get(third, "roles")), 1);
	free(once);
	free(twice);
	json_decref(u);
	json_decref(again);
	json_decref(third);
}

/* RFC 7644 3.4.2.2: dateTime attributes compare chronologically. */
static void date_times_compare_as_instants(void **state)
{
	assert_int_equal(match("meta.lastModified ge \"2026-12-03T08:24:47Z\""), 1);
	assert_int_equal(match("meta.lastModified gt \"2026-12-03T08:24:47Z\""), 1);
	assert_int_equal(match("meta.lastModified gt \"2026-12-03T08:24:47.771Z\""), 0);
	assert_int_equal(match("meta.lastModified eq \"2026-12-03T08:24:47.7710Z\""), 1);
	assert_int_equal(match("meta.lastModified eq \"2026-12-03T07:24:47.771-01:00\""), 1);
	assert_int_equal(match("meta.lastModified ne \"2026-12-03T07:24:47.771-01:00\""), 0);
	assert_int_equal(match("meta.lastModified lt \"2026-12-03T09:00:00+01:00\""), 0); /* 08:00Z */
	assert_int_equal(match("meta.lastModified lt \"2026-12-03T08:00:00-01:00\""), 1); /* 09:00Z */
	assert_int_equal(match("meta.lastModified le \"2026-12-03t08:24:47.771z\""), 1);
	assert_int_equal(match("meta.lastModified gt \"2026-12-03T08:24:47.770999999999Z\""), 1);
	assert_int_equal(match("meta.created lt \"2026-12-01T00:00:00.001Z\""), 1);
	assert_int_equal(match("meta.created ge \"2026-11-30T23:30:00-00:30\""), 1);
	assert_int_equal(
	    match("urn:ietf:params:scim:schemas:core:2.0:User:meta.created eq \"2026-12-01T01:00:00+01:00\""), 1);
	assert_int_equal(match("meta.lastModified sw \"2026-12-03\""), 1); /* text operators stay text */
	assert_int_equal(match("meta.created pr and meta.created gt \"1999-12-31T23:59:60Z\""), 1);
}

static void bad_date_times_are_invalid_filters(void **state)
{
	const char *const bad[] = {
	    "meta.lastModified gt \"yesterday\"",
	    "meta.lastModified ge \"2026-12-03\"",
	    "meta.lastModified ge \"2026-12-03T08:24Z\"",
	    "meta.lastModified ge \"2026-13-03T08:24:47Z\"",
	    "meta.lastModified ge \"2026-02-29T08:24:47Z\"",
	    "meta.lastModified ge \"2026-12-03T24:00:00Z\"",
	    "meta.lastModified ge \"2026-12-03T08:24:47.Z\"",
	    "meta.lastModified ge \"2026-12-03T08:24:47+0100\"",
	    "meta.lastModified ge \"2026-12-03T08:24:47Z \"",
	    "meta.created eq 20261203",
	    "meta.created lt true",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_invalid_filter(bad[i]);
	assert_int_equal(match("meta.created eq \"2024-02-29T00:00:00Z\""), 0); /* a leap day parses */
}

/* caseExact=false: Unicode simple case folding, not ASCII only. */
static void case_folding_is_unicode(void **state)
{
	assert_int_equal(match("name.familyName eq \"M\xc3\x9cLLER\""), 1);           /* MÜLLER */
	assert_int_equal(match("userName eq \"HANS.M\xc3\x9cLLER@CONTOSO.COM\""), 1); /* HANS.MÜLLER@ */
	assert_int_equal(match("userName sw \"HANS.M\xc3\x9c\""), 1);
	assert_int_equal(match("name.familyName ew \"\xc3\x9cLLER\""), 1);
	assert_int_equal(match("name.familyName co \"\xc3\x9cLL\""), 1);
	assert_int_equal(match("displayName eq \"\xce\xbf\xce\xb4\xcf\x85\xcf\x83\xcf\x83\xce\xb5\xcf\x85\xcf\x82\""),
	                 1); /* οδυσσευς: final sigma folds like the others */
	assert_int_equal(match("title eq \"\xd0\xb8\xd0\xbd\xd0\xb6\xd0\xb5\xd0\xbd\xd0\xb5\xd1\x80\""),
	                 1);                                                 /* инженер */
	assert_int_equal(match("title gt \"\xd0\x98\xd0\x9d\xd0\x96\""), 1); /* ИНЖ */
	assert_int_equal(match("name.familyName eq \"MUELLER\""), 0);
	assert_int_equal(match("name.familyName eq \"M\xc3\xbc\x6c\x6c\x65\x72 \""), 0);
	/* caseExact attributes still compare exactly */
	assert_int_equal(match("externalId eq \"M\xc3\x9cLLER\""), 0);
	assert_int_equal(match("externalId eq \"M\xc3\xbcller\""), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(booleans_equal_entras_strings),  cmocka_unit_test(primary_role_replace_replaces),
	    cmocka_unit_test(date_times_compare_as_instants), cmocka_unit_test(bad_date_times_are_invalid_filters),
	    cmocka_unit_test(case_folding_is_unicode),
	};
	return cmocka_run_group_tests_name("scim_conformance", tests, NULL, NULL);
}
