/* libFuzzer target: validation and normalisation of POST/PUT bodies (scim_resource_normalize).
 *
 * Input: a type byte ('G' Group, anything else User) then the JSON body. Promises checked: a
 * refusal is a 4xx with a detail; an accepted body has no client-sent id or meta, and
 * normalising it again is accepted and changes nothing (the stored form is a fixed point). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sync/scim/scim_resource.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum scim_resource_type type = data[0] == 'G' ? SCIM_GROUP : SCIM_USER;
	/* JSON_ALLOW_NUL: the service must see (and refuse) NUL bytes inside strings. */
	json_t *res = json_loadb((const char *)data + 1, size - 1, JSON_ALLOW_NUL, NULL);
	if (!res)
		return 0;
	struct scim_error err = {0};
	if (scim_resource_normalize(res, type, &err) == 0) {
		if (!json_is_object(res) || json_object_get(res, "id") || json_object_get(res, "meta"))
			abort();
		json_t *again = json_deep_copy(res);
		struct scim_error err2 = {0};
		if (!again || scim_resource_normalize(again, type, &err2) != 0 || !json_equal(again, res))
			abort();
		json_decref(again);
	} else if (err.status < 400 || err.status > 599 || !err.detail[0]) {
		abort();
	}
	json_decref(res);
	return 0;
}
