/* Unit tests for sync/scim/scim_schema.c: the one RFC 7643 table that validation, /Schemas and
 * the filter's caseExact and dateTime rules read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sync/scim/scim_filter.h"
#include "sync/scim/scim_resource.h"
#include "sync/scim/scim_schema.h"

#define ENTERPRISE_PREFIX "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"

static void test_paths_resolve_through_urns_and_common_attributes(void **state)
{
	const struct scim_attr *parent;
	const struct scim_attr *a = scim_attr_at_path(SCIM_USER, ENTERPRISE_PREFIX "manager.value", &parent);
	assert_non_null(a);
	assert_string_equal(parent->name, "manager");
	assert_true(a->case_exact);
	assert_string_equal(
	    scim_attr_at_path(SCIM_USER, "urn:ietf:params:scim:schemas:core:2.0:User:USERNAME", NULL)->name,
	    "userName");
	assert_string_equal(scim_attr_at_path(SCIM_GROUP, "meta.LASTMODIFIED", NULL)->name, "lastModified");
	assert_null(scim_attr_at_path(SCIM_GROUP, "userName", NULL));
	assert_null(scim_attr_at_path(SCIM_GROUP, ENTERPRISE_PREFIX "manager", NULL)); /* users only */
	assert_null(scim_attr_at_path(SCIM_USER, "name.nickname", &parent));
	assert_string_equal(parent->name, "name");
}

/* The filter's rules come from the table: ids and references exact, dateTimes chronological. */
static void test_filter_rules_read_the_table(void **state)
{
	assert_true(scim_attr_case_exact(SCIM_USER, "x509Certificates.value"));
	assert_true(scim_attr_case_exact(SCIM_USER, ENTERPRISE_PREFIX "manager.value"));
	assert_true(scim_attr_case_exact(SCIM_USER, "meta.somethingNew")); /* like its parent */
	assert_true(scim_attr_case_exact(SCIM_USER, "name.$ref"));
	assert_false(scim_attr_case_exact(SCIM_USER, ENTERPRISE_PREFIX "department"));
	assert_true(scim_attr_date_time(SCIM_USER, "meta.created"));
	assert_true(scim_attr_date_time(SCIM_GROUP, "urn:ietf:params:scim:schemas:core:2.0:Group:meta.lastModified"));
	assert_false(scim_attr_date_time(SCIM_USER, "meta.version"));
	assert_false(scim_attr_date_time(SCIM_USER, "userName"));
}

/* Validation writes what the table allows: externalId (common, readWrite) yes, id (readOnly) no. */
static void test_writable_attributes(void **state)
{
	assert_string_equal(scim_attr_writable(SCIM_USER, NULL, "EXTERNALID")->name, "externalId");
	assert_null(scim_attr_writable(SCIM_USER, NULL, "id"));
	assert_null(scim_attr_writable(SCIM_USER, NULL, "meta"));
	assert_null(scim_attr_writable(SCIM_USER, "urn:example:other", "externalId"));
	assert_string_equal(scim_attr_write_only(SCIM_USER, "urn:ietf:params:scim:schemas:core:2.0:User:PASSWORD"),
	                    "password");
	assert_null(scim_attr_write_only(SCIM_GROUP, "password"));
}

/* Every attribute of every schema has RFC 7643 spellings for /Schemas. */
static void test_every_schema_attribute_has_rfc_names(void **state)
{
	size_t n = 0;
	for (size_t i = 0; i < scim_schema_count; i++)
		for (const struct scim_attr *a = scim_schemas[i].attrs; a->name; a++, n++) {
			assert_non_null(scim_attr_type_name(a->type));
			assert_non_null(scim_mutability_name(a->mutability));
			assert_non_null(scim_returned_name(a->returned));
			assert_non_null(scim_uniqueness_name(a->uniqueness));
			assert_true(a->subs == NULL || a->type == SCIM_TYPE_COMPLEX);
		}
	assert_int_equal(scim_schema_count, 4);
	assert_true(n > 20);
	assert_string_equal(scim_mutability_name(SCIM_WRITE_ONLY), "writeOnly");
	assert_string_equal(scim_attr_type_name(SCIM_TYPE_DATETIME), "dateTime");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paths_resolve_through_urns_and_common_attributes),
	    cmocka_unit_test(test_filter_rules_read_the_table),
	    cmocka_unit_test(test_writable_attributes),
	    cmocka_unit_test(test_every_schema_attribute_has_rfc_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
