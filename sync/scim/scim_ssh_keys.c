/* sshPublicKey at ingest: shape and bounds (sync/scim/scim_ssh_keys.h). */
#include "sync/scim/scim_ssh_keys.h"

#include <string.h>

#include "common/ssh_key.h"

static int invalid(struct scim_error *err, const char *where, const char *what)
{
	return scim_error_set(err, 400, "invalidValue", "%s %s", where, what);
}

/* Counts the non-blank lines of S (N bytes) into *KEYS; the first bound S breaks, or NULL. */
static const char *text_problem(const char *s, size_t n, size_t *keys)
{
	const char *p = s, *end = s + n, *line;
	size_t len;
	if (memchr(s, '\0', n))
		return "must not contain NUL characters";
	while ((line = entra_ssh_key_next_line(&p, end, &len))) {
		if (len >= ENTRA_SSH_KEY_LINE_MAX)
			return "has a line longer than 8 KiB (one public key a line)";
		while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
			len--;
		if (len && ++*keys > ENTRA_SSH_KEYS_MAX)
			return "has more than 32 keys";
	}
	return NULL;
}

#define SHAPE "must be a string (one public key a line) or an array of strings"

/* One string of the value; BYTES and KEYS add up over the array. */
static const char *string_problem(const json_t *e, size_t *bytes, size_t *keys)
{
	if (!json_is_string(e))
		return SHAPE;
	*bytes += json_string_length(e) + 1;
	if (*bytes > ENTRA_SSH_KEYS_TEXT_MAX)
		return "is longer than 64 KiB";
	return text_problem(json_string_value(e), json_string_length(e), keys);
}

int scim_ssh_keys_normalize(json_t **v, const char *where, struct scim_error *err)
{
	size_t keys = 0, bytes = 0, i;
	const char *why = NULL;
	json_t *e;
	if (json_is_array(*v)) {
		json_array_foreach(*v, i, e) {
			if (!why)
				why = string_problem(e, &bytes, &keys);
		}
	} else {
		why = string_problem(*v, &bytes, &keys);
	}
	if (why)
		return invalid(err, where, why);
	if (keys == 0) { /* "", [] or only blank lines: no keys, as if removed */
		json_decref(*v);
		*v = NULL;
	}
	return 0;
}
