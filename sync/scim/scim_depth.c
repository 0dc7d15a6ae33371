/* Bounded nesting-depth check for JSON values (see scim_depth.h). */
#include "sync/scim/scim_depth.h"

bool scim_json_deeper_than(const json_t *v, int limit)
{
	const char *key;
	json_t *child;
	size_t i;

	if (!json_is_object(v) && !json_is_array(v))
		return false;
	if (limit <= 0)
		return true;
	json_array_foreach(v, i, child)
		if (scim_json_deeper_than(child, limit - 1))
			return true;
	json_object_foreach((json_t *)v, key, child)
		if (scim_json_deeper_than(child, limit - 1))
			return true;
	return false;
}
