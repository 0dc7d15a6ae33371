/* libFuzzer target: RFC 7644 filters. Any text must parse or fail with a 400 invalidFilter, and
 * a parsed filter must evaluate against real User and Group resources without crashing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "sync/scim/scim_filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char user_json[] =
    "{\"schemas\": [\"urn:ietf:params:scim:schemas:core:2.0:User\","
    " \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"],"
    "\"id\": \"ABC-123\", \"externalId\": \"alice\", \"userName\": \"Alice@Contoso.com\","
    "\"displayName\": \"Alice Smith\", \"active\": true, \"age\": 42, \"score\": 1.5, \"nothing\": null,"
    "\"name\": {\"givenName\": \"Alice\", \"familyName\": \"Smith\"},"
    "\"emails\": [{\"type\": \"work\", \"value\": \"alice@contoso.com\", \"primary\": true},"
    " {\"type\": \"home\", \"value\": \"alice@example.org\", \"primary\": false}, 7, null],"
    "\"meta\": {\"resourceType\": \"User\", \"lastModified\": \"2024-05-01T10:00:00Z\"},"
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\": {"
    " \"employeeNumber\": \"E42\", \"manager\": {\"value\": \"boss-1\"}}}";

static const char group_json[] = "{\"id\": \"g1\", \"displayName\": \"Web Team\", \"externalId\": \"G-1\","
                                 "\"members\": [{\"value\": \"u1\"}, {\"value\": \"U2\", \"display\": \"b\"}, \"x\"]}";

static void check_error(const struct scim_error *err)
{
	/* The service renders these as the HTTP answer: they must be a 400 with a detail. */
	if (err->status != 400 || !err->scim_type || strcmp(err->scim_type, "invalidFilter") ||
	    !memchr(err->detail, '\0', sizeof(err->detail)) || !err->detail[0])
		abort();
}

static void evaluate(const struct scim_filter *f, enum scim_resource_type type, const char *json)
{
	json_t *res = json_loads(json, 0, NULL);
	if (!res)
		abort();
	struct scim_error err = {0};
	int r = scim_filter_match(f, type, res, &err);
	if (r < -1 || r > 1)
		abort();
	if (r == -1)
		check_error(&err);
	json_decref(res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	if (!text)
		return 0;
	struct scim_error err = {0};
	struct scim_filter *f = scim_filter_parse(text, &err);
	if (!f) {
		check_error(&err);
	} else {
		evaluate(f, SCIM_USER, user_json);
		evaluate(f, SCIM_GROUP, group_json);
		const char *attr = NULL, *value = NULL;
		if (scim_filter_simple_eq(f, &attr, &value) && (!attr || !value))
			abort();
		scim_filter_free(f);
	}
	(void)scim_attr_case_exact(SCIM_USER, text);
	(void)scim_attr_case_exact(SCIM_GROUP, text);
	free(text);
	return 0;
}
