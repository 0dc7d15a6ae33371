/* RFC 7232 preconditions as SCIM uses them (RFC 7644 3.14): If-Match and If-None-Match against
 * a resource's version, whose ETag is the weak W/"<version>". */
#ifndef SYNC_SCIM_ETAG_H
#define SYNC_SCIM_ETAG_H

#include <stdbool.h>

/* True when LIST, an If-Match or If-None-Match value ("*" or a comma-separated list of entity
 * tags, W/ or not), names VERSION. Tags compare by their opaque value (weak comparison: SCIM's
 * ETags are weak, so a strong comparison would never match). A malformed list names nothing. */
bool scim_etag_list_matches(const char *list, long long version);

enum scim_precondition {
	SCIM_PRECONDITION_OK,  /* go on */
	SCIM_NOT_MODIFIED,     /* 304: a GET whose If-None-Match names the version */
	SCIM_PRECONDITION_FAIL /* 412: If-Match names another version, or a write's If-None-Match this one */
};

/* The outcome of both headers (each NULL when absent) for a resource at VERSION; IS_GET for GET,
 * where a matching If-None-Match means 304 instead of 412. If-Match is evaluated first. */
enum scim_precondition scim_etag_evaluate(const char *if_match, const char *if_none_match, bool is_get,
                                          long long version);

#endif
