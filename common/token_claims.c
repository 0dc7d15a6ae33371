#include "common/token_claims.h"

#include <string.h>

bool entra_audience_matches(const json_t *aud, const char *client_id)
{
	size_t i;
	const json_t *item;
	if (json_is_string(aud))
		return !strcmp(json_string_value(aud), client_id);
	json_array_foreach(aud, i, item)
		if (json_is_string(item) && !strcmp(json_string_value(item), client_id))
			return true;
	return false;
}
