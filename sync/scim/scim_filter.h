/* RFC 7644 3.4.2.2 filters: parse once, evaluate against SCIM resources (jansson objects). */
#ifndef SCIM_FILTER_H
#define SCIM_FILTER_H

#include <jansson.h>
#include <stdbool.h>

#include "sync/scim/scim_error.h"
#include "sync/store/resource_type.h"

struct scim_filter;

/* Parses TEXT (already URL-decoded). NULL on error with ERR = 400 invalidFilter and a detail
 * naming the position. Nesting depth and length are bounded. */
struct scim_filter *scim_filter_parse(const char *text, struct scim_error *err);
void scim_filter_free(struct scim_filter *f);

/* 1 match, 0 no match, -1 cannot be evaluated (ERR = 400 invalidFilter), e.g. gt on a boolean.
 * Attribute names are case-insensitive; string values compare case-insensitively (Unicode simple
 * case folding, casefold.h) unless the attribute is caseExact in RFC 7643 (id, externalId,
 * meta.*, members.value, $ref ...: the table in scim_schema.c); booleans equal "True"/"False" in any case; dateTimes
 * compare as instants. */
int scim_filter_match(const struct scim_filter *f, enum scim_resource_type type, const json_t *resource,
                      struct scim_error *err);

/* When F is exactly `ATTR eq "VALUE"` for a top-level string attribute, returns true and sets
 * *ATTR (lowercased canonical name: "username", "externalid", "id", "displayname") and *VALUE,
 * both owned by F. Lets the store answer Entra's look-ups from an index. */
bool scim_filter_simple_eq(const struct scim_filter *f, const char **attr, const char **value);

/* True when ATTR_PATH (e.g. "userName", "emails.value", "urn:...:User:employeeNumber") compares
 * case-exactly under RFC 7643 for TYPE. */
bool scim_attr_case_exact(enum scim_resource_type type, const char *attr_path);

/* True when ATTR_PATH is of type dateTime (meta.created, meta.lastModified): filters compare it
 * chronologically (offsets, fractions) and refuse a literal that is no dateTime (400). */
bool scim_attr_date_time(enum scim_resource_type type, const char *attr_path);

#endif
