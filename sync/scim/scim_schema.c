/* The RFC 7643 attribute table (sections 3.1, 4.1, 4.2, 4.3, 8.7.1) and its look-ups. */
#include "sync/scim/scim_schema.h"

#include <string.h>

#include "sync/scim/scim_internal.h"

/* Shorthands: S string, B boolean, X caseExact string, REF caseExact reference (RFC 7643 2.3.7),
 * RO a read-only caseExact string. Designated initialisers leave every other field at the
 * RFC's default (readWrite, returned default, uniqueness none). */
#define S(n)                                                                                                           \
	{                                                                                                              \
		.name = n, .type = SCIM_TYPE_STRING                                                                    \
	}
#define B(n)                                                                                                           \
	{                                                                                                              \
		.name = n, .type = SCIM_TYPE_BOOLEAN                                                                   \
	}
#define X(n)                                                                                                           \
	{                                                                                                              \
		.name = n, .type = SCIM_TYPE_STRING, .case_exact = true                                                \
	}
#define REF(n)                                                                                                         \
	{                                                                                                              \
		.name = n, .type = SCIM_TYPE_REFERENCE, .case_exact = true                                             \
	}
#define RO(n)                                                                                                          \
	{                                                                                                              \
		.name = n, .type = SCIM_TYPE_STRING, .case_exact = true, .mutability = SCIM_READ_ONLY                  \
	}
#define MULTI(n, s)                                                                                                    \
	{                                                                                                              \
		.name = n, .type = SCIM_TYPE_COMPLEX, .multi_valued = true, .subs = s                                  \
	}
#define END                                                                                                            \
	{                                                                                                              \
		.name = NULL                                                                                           \
	}

static const struct scim_attr name_subs[] = {
    S("formatted"), S("familyName"), S("givenName"), S("middleName"), S("honorificPrefix"), S("honorificSuffix"), END};
/* RFC 7643 2.4: the default sub-attributes of a multi-valued attribute. */
static const struct scim_attr multi_subs[] = {S("value"), S("display"), S("type"), B("primary"), REF("$ref"), END};
static const struct scim_attr x509_subs[] = {{.name = "value", .type = SCIM_TYPE_BINARY, .case_exact = true},
                                             S("display"),
                                             S("type"),
                                             B("primary"),
                                             REF("$ref"),
                                             END};
static const struct scim_attr address_subs[] = {S("formatted"), S("streetAddress"), S("locality"),
                                                S("region"),    S("postalCode"),    S("country"),
                                                S("type"),      B("primary"),       END};
/* A user's groups are the server's (readOnly); `value` is a group's id, which is caseExact. */
static const struct scim_attr group_ref_subs[] = {
    RO("value"),
    {.name = "$ref", .type = SCIM_TYPE_REFERENCE, .case_exact = true, .mutability = SCIM_READ_ONLY},
    {.name = "display", .type = SCIM_TYPE_STRING, .mutability = SCIM_READ_ONLY},
    {.name = "type", .type = SCIM_TYPE_STRING, .mutability = SCIM_READ_ONLY},
    END};
/* `value` is the member's id: required, so a member without one is refused (400). */
static const struct scim_attr member_subs[] = {
    {.name = "value", .type = SCIM_TYPE_STRING, .case_exact = true, .required = true, .mutability = SCIM_IMMUTABLE},
    REF("$ref"),
    {.name = "display", .type = SCIM_TYPE_STRING, .mutability = SCIM_READ_ONLY},
    S("type"),
    END};
static const struct scim_attr manager_subs[] = {
    X("value"), REF("$ref"), {.name = "displayName", .type = SCIM_TYPE_STRING, .mutability = SCIM_READ_ONLY}, END};

static const struct scim_attr user_attrs[] = {
    {.name = "userName", .type = SCIM_TYPE_STRING, .required = true, .uniqueness = SCIM_UNIQUE_SERVER},
    {.name = "name", .type = SCIM_TYPE_COMPLEX, .subs = name_subs},
    S("displayName"),
    S("nickName"),
    REF("profileUrl"),
    S("title"),
    S("userType"),
    S("preferredLanguage"),
    S("locale"),
    S("timezone"),
    B("active"),
    /* accepted and discarded at once: never stored in state.db, never returned */
    {.name = "password", .type = SCIM_TYPE_STRING, .mutability = SCIM_WRITE_ONLY, .returned = SCIM_RETURNED_NEVER},
    MULTI("emails", multi_subs),
    MULTI("phoneNumbers", multi_subs),
    MULTI("ims", multi_subs),
    MULTI("photos", multi_subs),
    MULTI("addresses", address_subs),
    {.name = "groups",
     .type = SCIM_TYPE_COMPLEX,
     .multi_valued = true,
     .mutability = SCIM_READ_ONLY,
     .subs = group_ref_subs},
    MULTI("entitlements", multi_subs),
    MULTI("roles", multi_subs),
    MULTI("x509Certificates", x509_subs),
    END,
};

static const struct scim_attr group_attrs[] = {
    /* uniqueness none (RFC 7643 4.2): Entra allows two groups of one name */
    {.name = "displayName", .type = SCIM_TYPE_STRING, .required = true},
    MULTI("members", member_subs),
    END,
};

static const struct scim_attr enterprise_attrs[] = {
    S("employeeNumber"),
    S("costCenter"),
    S("organization"),
    S("division"),
    S("department"),
    {.name = "manager", .type = SCIM_TYPE_COMPLEX, .subs = manager_subs, .check = SCIM_CHECK_SINGLE_REFERENCE},
    END,
};

/* The entra-login extension: SSH public keys for sign-in on the hosts, one string of keys a
 * line or an array of such strings (README: SSH keys). */
static const struct scim_attr login_attrs[] = {
    {.name = ENTRA_SSH_KEY_ATTR, .type = SCIM_TYPE_STRING, .multi_valued = true, .check = SCIM_CHECK_SSH_KEYS},
    END,
};

static const struct scim_attr meta_subs[] = {
    RO("resourceType"),
    /* caseExact for co/sw/ew, which compare the text; the other operators compare instants */
    {.name = "created", .type = SCIM_TYPE_DATETIME, .case_exact = true, .mutability = SCIM_READ_ONLY},
    {.name = "lastModified", .type = SCIM_TYPE_DATETIME, .case_exact = true, .mutability = SCIM_READ_ONLY},
    {.name = "location", .type = SCIM_TYPE_REFERENCE, .case_exact = true, .mutability = SCIM_READ_ONLY},
    RO("version"),
    END};

const struct scim_attr scim_common_attrs[] = {
    {.name = "id",
     .type = SCIM_TYPE_STRING,
     .case_exact = true,
     .mutability = SCIM_READ_ONLY,
     .returned = SCIM_RETURNED_ALWAYS,
     .uniqueness = SCIM_UNIQUE_SERVER},
    X("externalId"),
    /* caseExact on the complex attribute itself: a sub-attribute we do not list compares exactly */
    {.name = "meta", .type = SCIM_TYPE_COMPLEX, .case_exact = true, .mutability = SCIM_READ_ONLY, .subs = meta_subs},
    END,
};

const struct scim_schema scim_schemas[] = {
    {SCIM_SCHEMA_USER, "User", "User Account", user_attrs},
    {SCIM_SCHEMA_GROUP, "Group", "Group", group_attrs},
    {SCIM_SCHEMA_ENTERPRISE, "EnterpriseUser", "Enterprise User", enterprise_attrs},
    {SCIM_SCHEMA_LOGIN, "EntraLoginUser", "SSH public keys for sign-in on Linux hosts", login_attrs},
};
const size_t scim_schema_count = sizeof(scim_schemas) / sizeof(scim_schemas[0]);

bool scim_urn_is_core(enum scim_resource_type type, const char *urn)
{
	return urn && scim_ieq_str(urn, type == SCIM_GROUP ? SCIM_SCHEMA_GROUP : SCIM_SCHEMA_USER);
}

const struct scim_attr *scim_schema_attrs(enum scim_resource_type type, const char *urn)
{
	if (!urn || scim_urn_is_core(type, urn))
		return type == SCIM_GROUP ? group_attrs : user_attrs;
	if (type == SCIM_USER && scim_ieq_str(urn, SCIM_SCHEMA_ENTERPRISE))
		return enterprise_attrs;
	if (type == SCIM_USER && scim_ieq_str(urn, SCIM_SCHEMA_LOGIN))
		return login_attrs;
	return NULL;
}

const char *scim_extension_urn(enum scim_resource_type type, const char *urn)
{
	static const char *const known[] = {SCIM_SCHEMA_ENTERPRISE, SCIM_SCHEMA_LOGIN};
	for (size_t i = 0; type == SCIM_USER && urn && i < sizeof(known) / sizeof(known[0]); i++)
		if (scim_ieq_str(urn, known[i]))
			return known[i];
	return NULL;
}

const struct scim_attr *scim_attr_find(const struct scim_attr *table, const char *name)
{
	for (; table && table->name; table++)
		if (scim_ieq_str(table->name, name))
			return table;
	return NULL;
}

const struct scim_attr *scim_attr_writable(enum scim_resource_type type, const char *urn, const char *name)
{
	const struct scim_attr *a = scim_attr_find(scim_schema_attrs(type, urn), name);
	if (a || (urn && !scim_urn_is_core(type, urn)))
		return a;
	a = scim_attr_find(scim_common_attrs, name);
	return a && a->mutability != SCIM_READ_ONLY ? a : NULL;
}

/* Length of the schema URN PATH starts with ("urn:...:User:attr"), 0 when none we know. */
static size_t known_urn_prefix(enum scim_resource_type type, const char *path, const char **urn)
{
	const char *candidates[] = {type == SCIM_GROUP ? SCIM_SCHEMA_GROUP : SCIM_SCHEMA_USER,
	                            type == SCIM_USER ? SCIM_SCHEMA_ENTERPRISE : NULL,
	                            type == SCIM_USER ? SCIM_SCHEMA_LOGIN : NULL};
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		size_t n = candidates[i] ? strlen(candidates[i]) : 0;
		if (n && strlen(path) > n && path[n] == ':' && scim_ieq(path, n, candidates[i], n)) {
			*urn = candidates[i];
			return n + 1;
		}
	}
	*urn = NULL;
	return 0;
}

const struct scim_attr *scim_attr_at_path(enum scim_resource_type type, const char *path,
                                          const struct scim_attr **parent)
{
	const char *urn, *dot;
	char attr[128];
	const struct scim_attr *top;

	if (parent)
		*parent = NULL;
	if (!path)
		return NULL;
	path += known_urn_prefix(type, path, &urn);
	dot = strchr(path, '.');
	size_t n = dot ? (size_t)(dot - path) : strlen(path);
	if (n >= sizeof(attr))
		return NULL;
	memcpy(attr, path, n);
	attr[n] = '\0';
	top = scim_attr_find(scim_schema_attrs(type, urn), attr);
	if (!top && (!urn || scim_urn_is_core(type, urn)))
		top = scim_attr_find(scim_common_attrs, attr);
	if (!dot)
		return top;
	if (parent)
		*parent = top;
	return top ? scim_attr_find(top->subs, dot + 1) : NULL;
}

const char *scim_attr_type_name(enum scim_attr_type type)
{
	static const char *const names[] = {"string", "boolean", "dateTime", "reference", "binary", "complex"};
	return names[type];
}

const char *scim_mutability_name(enum scim_mutability m)
{
	static const char *const names[] = {"readWrite", "readOnly", "immutable", "writeOnly"};
	return names[m];
}

const char *scim_returned_name(enum scim_returned r)
{
	static const char *const names[] = {"default", "always", "never", "request"};
	return names[r];
}

const char *scim_uniqueness_name(enum scim_uniqueness u)
{
	static const char *const names[] = {"none", "server", "global"};
	return names[u];
}
