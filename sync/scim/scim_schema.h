/* The RFC 7643 schema of the resources entra-syncd serves: one table that validation
 * (scim_resource.c), GET /Schemas (scim_discovery.c) and the filter's caseExact and dateTime
 * rules (scim_filter.c) all read, so the three can never disagree. */
#ifndef SCIM_SCHEMA_H
#define SCIM_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "common/ssh_key.h"
#include "sync/store/resource_type.h"

#define SCIM_SCHEMA_USER       "urn:ietf:params:scim:schemas:core:2.0:User"
#define SCIM_SCHEMA_GROUP      "urn:ietf:params:scim:schemas:core:2.0:Group"
#define SCIM_SCHEMA_ENTERPRISE "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#define SCIM_SCHEMA_LOGIN      ENTRA_SCIM_SCHEMA_LOGIN /* sshPublicKey (common/ssh_key.h) */

/* RFC 7643 2.3 data types we use. */
enum scim_attr_type {
	SCIM_TYPE_STRING,
	SCIM_TYPE_BOOLEAN,
	SCIM_TYPE_DATETIME,
	SCIM_TYPE_REFERENCE,
	SCIM_TYPE_BINARY,
	SCIM_TYPE_COMPLEX,
};

/* RFC 7643 7 characteristics; the zero value of each is the RFC's default. */
enum scim_mutability { SCIM_READ_WRITE, SCIM_READ_ONLY, SCIM_IMMUTABLE, SCIM_WRITE_ONLY };
enum scim_returned { SCIM_RETURNED_DEFAULT, SCIM_RETURNED_ALWAYS, SCIM_RETURNED_NEVER, SCIM_RETURNED_REQUEST };
enum scim_uniqueness { SCIM_UNIQUE_NONE, SCIM_UNIQUE_SERVER, SCIM_UNIQUE_GLOBAL };

/* Checks validation makes beyond the type (scim_resource.c). */
enum scim_attr_check {
	SCIM_CHECK_TYPE,             /* the type's own */
	SCIM_CHECK_SINGLE_REFERENCE, /* Entra sends enterprise `manager` as "id", {"value"} or [{"value"}] */
	SCIM_CHECK_SSH_KEYS,         /* key lines only (common/ssh_key.h, scim_ssh_keys.c) */
};

struct scim_attr {
	const char *name; /* canonical spelling; NULL ends a table */
	enum scim_attr_type type;
	bool multi_valued;
	bool case_exact;
	bool required;
	enum scim_mutability mutability;
	enum scim_returned returned;
	enum scim_uniqueness uniqueness;
	const struct scim_attr *subs; /* sub-attributes of a complex attribute, or NULL */
	enum scim_attr_check check;
};

struct scim_schema {
	const char *id, *name, *description;
	const struct scim_attr *attrs;
};

/* The schemas GET /Schemas lists: User, Group, EnterpriseUser, EntraLoginUser. */
extern const struct scim_schema scim_schemas[];
extern const size_t scim_schema_count;

/* RFC 7643 3.1 common attributes (id, externalId, meta): in every resource, in no schema. */
extern const struct scim_attr scim_common_attrs[];

/* True when URN is the core schema of TYPE (case-insensitive). */
bool scim_urn_is_core(enum scim_resource_type type, const char *urn);

/* The attributes of URN for TYPE (URN NULL or the core URN: the core schema; an extension URN
 * for users: that extension), or NULL for a schema we do not know. */
const struct scim_attr *scim_schema_attrs(enum scim_resource_type type, const char *urn);

/* The canonical spelling of URN when it names a schema extension of TYPE we know (enterprise
 * User, entra-login User), else NULL. */
const char *scim_extension_urn(enum scim_resource_type type, const char *urn);

/* NAME (case-insensitive) in TABLE (NULL-name terminated; TABLE may be NULL), or NULL. */
const struct scim_attr *scim_attr_find(const struct scim_attr *table, const char *name);

/* An attribute a client may write at URN:NAME: one of the schema's, or a common attribute that
 * is not read-only (externalId). NULL when unknown (kept as sent). */
const struct scim_attr *scim_attr_writable(enum scim_resource_type type, const char *urn, const char *name);

/* The attribute an attribute path names ("[urn:]attr[.sub]", core URN optional, common
 * attributes included), or NULL. *PARENT (if given) receives the top-level attribute when the
 * path has a sub-attribute, even when that sub-attribute is unknown. */
const struct scim_attr *scim_attr_at_path(enum scim_resource_type type, const char *path,
                                          const struct scim_attr **parent);

/* RFC 7643 7 spellings, for /Schemas. */
const char *scim_attr_type_name(enum scim_attr_type type);
const char *scim_mutability_name(enum scim_mutability m);
const char *scim_returned_name(enum scim_returned r);
const char *scim_uniqueness_name(enum scim_uniqueness u);

#endif
