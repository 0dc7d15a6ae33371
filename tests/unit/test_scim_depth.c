/* Unit tests for the nesting-depth bound (sync/scim/scim_depth.c) in resource normalisation and PATCH,
 * and for what a PATCH does to `schemas` (sync/scim/scim_patch.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sync/scim/scim_depth.h"
#include "sync/scim/scim_patch.h"
#include "sync/scim/scim_resource.h"

/* A value of exactly LEVELS levels: [[...[1]...]] (alternating arrays and objects when MIXED). */
static json_t *nested(int levels, bool mixed)
{
	json_t *v = json_integer(1);
	for (int i = 0; i < levels; i++)
		v = (mixed && i % 2) ? json_pack("{so}", "a", v) : json_pack("[o]", v);
	return v;
}

/* {"schemas": [...], "userName": "...", "x": VALUE}: one level more than VALUE. */
static json_t *user_with(json_t *value)
{
	return json_pack("{s[s]ssso}", "schemas", SCIM_SCHEMA_USER, "userName", "deep@contoso.com", "x", value);
}

static json_t *patch_body(const char *op, const char *path, json_t *value)
{
	json_t *o = json_pack("{ss}", "op", op);
	if (path)
		json_object_set_new(o, "path", json_string(path));
	if (value)
		json_object_set_new(o, "value", value);
	return json_pack("{s[s]s[o]}", "schemas", SCIM_SCHEMA_PATCH, "Operations", o);
}

static void depth_is_counted_in_levels(void **state)
{
	(void)state;
	json_t *scalar = json_string("x"), *empty = json_object(), *two = json_pack("{s[i]}", "a", 1);
	assert_false(scim_json_deeper_than(scalar, 0));
	assert_true(scim_json_deeper_than(empty, 0));
	assert_false(scim_json_deeper_than(empty, 1));
	assert_true(scim_json_deeper_than(two, 1));
	assert_false(scim_json_deeper_than(two, 2));
	for (int mixed = 0; mixed < 2; mixed++) {
		json_t *v = nested(40, mixed);
		assert_false(scim_json_deeper_than(v, 40));
		assert_true(scim_json_deeper_than(v, 39));
		json_decref(v);
	}
	json_decref(scalar);
	json_decref(empty);
	json_decref(two);
}

static void resource_at_the_limit_is_kept(void **state)
{
	(void)state;
	struct scim_error err;
	json_t *r = user_with(nested(SCIM_MAX_DEPTH - 1, true));
	json_t *want = json_deep_copy(json_object_get(r, "x"));
	assert_int_equal(scim_resource_normalize(r, SCIM_USER, &err), 0);
	assert_true(json_equal(json_object_get(r, "x"), want));
	json_decref(want);
	json_decref(r);
}

static void resource_one_level_deeper_is_refused(void **state)
{
	(void)state;
	struct scim_error err;
	json_t *r = user_with(nested(SCIM_MAX_DEPTH, true));
	assert_int_equal(scim_resource_normalize(r, SCIM_USER, &err), -1);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.scim_type, "invalidValue");
	assert_non_null(strstr(err.detail, "nested deeper than 32 levels"));
	assert_string_equal(json_string_value(json_object_get(r, "userName")), "deep@contoso.com");
	json_decref(r);
	/* Deep inside a known complex attribute and inside the enterprise extension, too. */
	r = json_pack("{sss{so}}", "userName", "a@b", SCIM_SCHEMA_ENTERPRISE, "custom", nested(SCIM_MAX_DEPTH, false));
	assert_int_equal(scim_resource_normalize(r, SCIM_USER, &err), -1);
	json_decref(r);
	r = json_pack("{sss[o]}", "displayName", "G", "members", nested(SCIM_MAX_DEPTH, true));
	assert_int_equal(scim_resource_normalize(r, SCIM_GROUP, &err), -1);
	json_decref(r);
}

static void patch_value_too_deep_is_refused_and_changes_nothing(void **state)
{
	(void)state;
	struct scim_error err;
	json_t *r = user_with(json_string("before"));
	assert_int_equal(scim_resource_normalize(r, SCIM_USER, &err), 0);
	json_t *before = json_deep_copy(r);
	const char *ops[] = {"add", "replace", "remove"};
	for (size_t i = 0; i < 3; i++) {
		json_t *body = patch_body(ops[i], "x", nested(SCIM_MAX_DEPTH + 1, true));
		assert_int_equal(scim_patch_apply(r, SCIM_USER, body, &err), -1);
		assert_int_equal(err.status, 400);
		assert_string_equal(err.scim_type, "invalidValue");
		assert_non_null(strstr(err.detail, "Operations[0]"));
		assert_non_null(strstr(err.detail, "nested deeper than 32 levels"));
		assert_true(json_equal(r, before));
		json_decref(body);
	}
	/* Without a path the value is the attribute set: one level of it is the resource itself. */
	json_t *body = patch_body("add", NULL, json_pack("{so}", "x", nested(SCIM_MAX_DEPTH, true)));
	assert_int_equal(scim_patch_apply(r, SCIM_USER, body, &err), -1);
	assert_true(json_equal(r, before));
	json_decref(body);
	json_decref(before);
	json_decref(r);
}

static void patch_value_fitting_in_the_value_but_not_the_resource_is_refused(void **state)
{
	(void)state;
	struct scim_error err;
	json_t *r = user_with(json_string("before"));
	/* 32 levels is a fine value, but under "x" the resource would have 33. */
	json_t *body = patch_body("replace", "x", nested(SCIM_MAX_DEPTH, true));
	json_t *before = json_deep_copy(r);
	assert_int_equal(scim_patch_apply(r, SCIM_USER, body, &err), -1);
	assert_non_null(strstr(err.detail, "nested deeper than 32 levels"));
	assert_true(json_equal(r, before));
	json_decref(body);
	/* 31 levels fit. */
	body = patch_body("replace", "x", nested(SCIM_MAX_DEPTH - 1, true));
	assert_int_equal(scim_patch_apply(r, SCIM_USER, body, &err), 0);
	assert_false(scim_json_deeper_than(r, SCIM_MAX_DEPTH));
	assert_true(scim_json_deeper_than(r, SCIM_MAX_DEPTH - 1));
	json_decref(body);
	json_decref(before);
	json_decref(r);
}

static bool schemas_has(const json_t *r, const char *urn)
{
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(r, "schemas"), i, s)
		if (strcmp(json_string_value(s), urn) == 0)
			return true;
	return false;
}

/* What scim_patch.h promises about `schemas`. */
static void patch_schemas_follow_the_extension(void **state)
{
	(void)state;
	struct scim_error err;
	json_t *r = json_pack("{s[s]ss}", "schemas", SCIM_SCHEMA_USER, "userName", "a@contoso.com");
	json_t *body = patch_body("replace", "schemas", json_pack("[s]", "urn:evil"));
	assert_int_equal(scim_patch_apply(r, SCIM_USER, body, &err), 0);
	assert_false(schemas_has(r, "urn:evil"));
	assert_false(schemas_has(r, SCIM_SCHEMA_ENTERPRISE));
	json_decref(body);
	body = patch_body("add", SCIM_SCHEMA_ENTERPRISE ":department", json_string("Ops"));
	assert_int_equal(scim_patch_apply(r, SCIM_USER, body, &err), 0);
	assert_true(schemas_has(r, SCIM_SCHEMA_ENTERPRISE));
	json_decref(body);
	body = patch_body("remove", SCIM_SCHEMA_ENTERPRISE ":department", NULL);
	assert_int_equal(scim_patch_apply(r, SCIM_USER, body, &err), 0);
	assert_null(json_object_get(r, SCIM_SCHEMA_ENTERPRISE));
	assert_true(schemas_has(r, SCIM_SCHEMA_ENTERPRISE));
	assert_true(schemas_has(r, SCIM_SCHEMA_USER));
	json_decref(body);
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(depth_is_counted_in_levels),
	    cmocka_unit_test(resource_at_the_limit_is_kept),
	    cmocka_unit_test(resource_one_level_deeper_is_refused),
	    cmocka_unit_test(patch_value_too_deep_is_refused_and_changes_nothing),
	    cmocka_unit_test(patch_value_fitting_in_the_value_but_not_the_resource_is_refused),
	    cmocka_unit_test(patch_schemas_follow_the_extension),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
