/* RFC 7644 3.5.2 PATCH paths: [URN:]attr[.sub] and [URN:]attr[valFilter][.sub]. */
#include "sync/scim/scim_internal.h"
#include "sync/scim/scim_patch.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define SCIM_PATH_MAX_LEN SCIM_FILTER_MAX_LEN

static int path_fail(const char *text, size_t len, struct scim_error *err, const char *why)
{
	return scim_error_set(err, 400, "invalidPath", "path '%.*s' is not valid: %s", (int)(len > 120 ? 120 : len),
	                      text, why);
}

static bool valid_urn(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(":._-", s[i]))
			return false;
	return n > 4;
}

/* Splits "[urn:]attr[.sub]" (N bytes at S) into OUT. */
static const char *split_attr(const char *s, size_t n, struct scim_path *out)
{
	const char *name = s, *dot;
	size_t name_len = n;

	if (n > 4 && scim_ieq(s, 4, "urn:", 4)) {
		const char *colon = s + n;
		while (colon[-1] != ':')
			colon--;
		if (!valid_urn(s, (size_t)(colon - 1 - s)))
			return "bad schema URN";
		out->urn = strndup(s, (size_t)(colon - 1 - s));
		name = colon;
		name_len = n - (size_t)(colon - s);
	}
	dot = memchr(name, '.', name_len);
	if (dot) {
		if (!scim_valid_attr_name(dot + 1, name_len - (size_t)(dot + 1 - name)))
			return "expected a sub-attribute name after '.'";
		out->sub = strndup(dot + 1, name_len - (size_t)(dot + 1 - name));
		name_len = (size_t)(dot - name);
	}
	if (!scim_valid_attr_name(name, name_len))
		return "expected an attribute name";
	out->attr = strndup(name, name_len);
	if (!out->attr || (dot && !out->sub))
		return "out of memory";
	return NULL;
}

/* Offset of the ']' closing the filter that starts at S[0], skipping string literals; or N if none. */
static size_t find_close_bracket(const char *s, size_t n)
{
	bool in_string = false;

	for (size_t i = 0; i < n; i++) {
		if (in_string) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_string = false;
		} else if (s[i] == '"') {
			in_string = true;
		} else if (s[i] == ']') {
			return i;
		}
	}
	return n;
}

/* Parses "[filter][.sub]" at S (S[0] == '['). */
static int parse_filter_part(const char *text, size_t len, const char *s, size_t n, struct scim_path *out,
                             struct scim_error *err)
{
	char parent[SCIM_PATH_MAX_LEN + 2];
	size_t close = find_close_bracket(s + 1, n - 1) + 1;
	const char *rest = s + close + 1;
	size_t rest_len = n - close - (close < n ? 1 : 0);

	if (close >= n)
		return path_fail(text, len, err, "missing ']'");
	if (out->sub)
		return path_fail(text, len, err, "a value filter must follow a multi-valued attribute");
	snprintf(parent, sizeof(parent), "%s%s%s", out->urn ? out->urn : "", out->urn ? ":" : "", out->attr);
	out->filter = scim_filter_parse_value_filter(s + 1, close - 1, parent, err);
	if (!out->filter) {
		char why[sizeof(err->detail)];
		memcpy(why, err->detail, sizeof(why));
		return path_fail(text, len, err, why);
	}
	if (rest_len == 0)
		return 0;
	if (rest[0] != '.' || !scim_valid_attr_name(rest + 1, rest_len - 1))
		return path_fail(text, len, err, "expected '.subAttribute' or the end after ']'");
	out->sub = strndup(rest + 1, rest_len - 1);
	return out->sub ? 0 : scim_error_set(err, 500, NULL, "out of memory");
}

static int parse_path(const char *text, size_t len, struct scim_path *out, struct scim_error *err)
{
	const char *s = text, *bracket, *why;
	size_t n = len;

	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (n == 0)
		return path_fail(text, len, err, "empty path");
	bracket = memchr(s, '[', n);
	why = split_attr(s, bracket ? (size_t)(bracket - s) : n, out);
	if (why)
		return path_fail(text, len, err, why);
	if (bracket)
		return parse_filter_part(text, len, bracket, n - (size_t)(bracket - s), out, err);
	return 0;
}

int scim_path_parse(const char *text, struct scim_path *out, struct scim_error *err)
{
	size_t len;

	memset(out, 0, sizeof(*out));
	if (!text)
		return scim_error_set(err, 400, "invalidPath", "no path");
	len = strnlen(text, SCIM_PATH_MAX_LEN + 1);
	if (len > SCIM_PATH_MAX_LEN)
		return scim_error_set(err, 400, "invalidPath", "path is longer than %d bytes", SCIM_PATH_MAX_LEN);
	if (parse_path(text, len, out, err) < 0) {
		scim_path_free(out);
		return -1;
	}
	return 0;
}

void scim_path_free(struct scim_path *p)
{
	if (!p)
		return;
	free(p->urn);
	free(p->attr);
	free(p->sub);
	scim_filter_free(p->filter);
	memset(p, 0, sizeof(*p));
}
