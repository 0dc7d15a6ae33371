/* Nesting depth of JSON values. SCIM resources are shallow (custom Entra extension attributes
 * are a few levels at most), so anything deeper is refused before it is stored or echoed. */
#ifndef SYNC_SCIM_DEPTH_H
#define SYNC_SCIM_DEPTH_H

#include <jansson.h>
#include <stdbool.h>

#define SCIM_MAX_DEPTH 32 /* levels of objects/arrays in a resource or a PATCH value */

/* True when V holds more than LIMIT levels of objects and arrays ("x" is 0 levels, {} and [1]
 * are 1, {"a": [1]} is 2). Never recurses more than LIMIT + 1 deep. */
bool scim_json_deeper_than(const json_t *v, int limit);

#endif
