/* Validation and normalisation of SCIM User and Group resources as Entra sends them. */
#ifndef SCIM_RESOURCE_H
#define SCIM_RESOURCE_H

#include <jansson.h>

#include "sync/scim/scim_error.h"
#include "sync/scim/scim_filter.h"
#include "sync/scim/scim_schema.h"

#define SCIM_SCHEMA_ERROR "urn:ietf:params:scim:api:messages:2.0:Error"
#define SCIM_SCHEMA_LIST  "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#define SCIM_SCHEMA_PATCH "urn:ietf:params:scim:api:messages:2.0:PatchOp"

/* Checks a POST/PUT body (an object, `userName` a non-empty string for users, `displayName` for
 * groups, known attributes of the right type, strings free of NUL) and normalises it in place:
 * "True"/"False" strings on boolean attributes become booleans, enterprise `manager` becomes
 * {"value": ...}, null attributes are dropped, client-sent `id`/`meta` are removed, write-only
 * attributes (password) are discarded. Unknown attributes are kept as sent. 0, or -1 with ERR
 * (400 invalidValue / invalidSyntax). */
int scim_resource_normalize(json_t *resource, enum scim_resource_type type, struct scim_error *err);

/* The canonical name when KEY (a top-level member, maybe fully qualified with the core schema
 * URN) is a write-only attribute (RFC 7643 mutability writeOnly, returned never: "password"),
 * else NULL. Normalisation discards such attributes (ERR->dropped names them) and responses
 * never carry one, so a password Entra sends is neither stored nor echoed. */
const char *scim_attr_write_only(enum scim_resource_type type, const char *key);

#endif
