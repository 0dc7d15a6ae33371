/* If-Match / If-None-Match evaluation (sync/scim/scim_etag.h). */
#include "sync/scim/scim_etag.h"

#include <stdio.h>
#include <string.h>

static const char *skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* One entity-tag at P: [W/] DQUOTE *etagc DQUOTE (RFC 7232 2.3). Its opaque value (between the
 * quotes) in *OPAQUE and *LEN; returns the position after it, or NULL when malformed. */
static const char *entity_tag(const char *p, const char **opaque, size_t *len)
{
	if (p[0] == 'W' && p[1] == '/')
		p += 2;
	if (*p != '"')
		return NULL;
	const char *start = ++p;
	while ((unsigned char)*p >= 0x21 && *p != '"' && *p != 0x7f)
		p++;
	if (*p != '"')
		return NULL;
	*opaque = start, *len = (size_t)(p - start);
	return p + 1;
}

bool scim_etag_list_matches(const char *list, long long version)
{
	char want[32];
	bool found = false, any = false;
	int wn = snprintf(want, sizeof(want), "%lld", version);
	const char *p = skip_ows(list);
	if (*p == '*')
		return *skip_ows(p + 1) == '\0';
	while (*p) {
		const char *opaque;
		size_t len;
		if (*p == ',') { /* empty list elements are allowed (RFC 7230 7) */
			p = skip_ows(p + 1);
			continue;
		}
		if (!(p = entity_tag(p, &opaque, &len)))
			return false;
		any = true;
		found = found || (len == (size_t)wn && memcmp(opaque, want, len) == 0);
		p = skip_ows(p);
		if (*p && *p != ',')
			return false;
	}
	return any && found;
}

enum scim_precondition scim_etag_evaluate(const char *if_match, const char *if_none_match, bool is_get,
                                          long long version)
{
	if (if_match && !scim_etag_list_matches(if_match, version))
		return SCIM_PRECONDITION_FAIL;
	if (if_none_match && scim_etag_list_matches(if_none_match, version))
		return is_get ? SCIM_NOT_MODIFIED : SCIM_PRECONDITION_FAIL;
	return SCIM_PRECONDITION_OK;
}
