/* libFuzzer target: SCIM PATCH paths and the PATCH applier.
 *
 * Input: a type byte ('G' Group, anything else User), then either a bare PATCH path (parsed by
 * scim_path_parse) or "RESOURCE-JSON" FUZZ_SEPARATOR "PATCHOP-JSON". The applier promises
 * atomicity (a failed PATCH leaves the resource unchanged) and that id and meta never change:
 * both are checked on every input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "sync/scim/scim_patch.h"
#include "sync/scim/scim_resource.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(const struct scim_error *err)
{
	if (err->status < 400 || err->status > 599 || !memchr(err->detail, '\0', sizeof(err->detail)) ||
	    !err->detail[0])
		abort();
}

static void fuzz_path(const char *text)
{
	struct scim_path p;
	struct scim_error err = {0};
	memset(&p, 0, sizeof(p));
	if (scim_path_parse(text, &p, &err) == 0) {
		if (!p.attr)
			abort(); /* a parsed path always names its attribute */
		scim_path_free(&p);
	} else {
		check_error(&err);
	}
}

static void same_or_abort(const json_t *before, const json_t *after, const char *key)
{
	const json_t *a = json_object_get(before, key), *b = json_object_get(after, key);
	if (!a != !b || (a && !json_equal(a, b)))
		abort();
}

static void fuzz_apply(enum scim_resource_type type, const char *res_text, size_t res_len, const char *body_text,
                       size_t body_len)
{
	json_t *res = json_loadb(res_text, res_len, 0, NULL);
	json_t *body = json_loadb(body_text, body_len, 0, NULL);
	struct scim_error nerr = {0};
	/* PATCH only ever sees what the service stored: a normalised body plus its id and meta. */
	if (res && json_is_object(res) && scim_resource_normalize(res, type, &nerr) == 0) {
		json_object_set_new(res, "id", json_string("u1"));
		json_object_set_new(res, "meta",
		                    json_pack("{s:s}", "resourceType", type == SCIM_GROUP ? "Group" : "User"));
	} else {
		json_decref(res);
		res = NULL;
	}
	if (res && body) {
		json_t *before = json_deep_copy(res);
		struct scim_error err = {0};
		if (!before)
			abort();
		if (scim_patch_apply(res, type, body, &err) == 0) {
			same_or_abort(before, res, "id");
			same_or_abort(before, res, "meta");
			/* `schemas` is not checked: re-normalisation after a PATCH rightly lists an
			 * extension URN once an extension attribute exists (RFC 7643 3). */
		} else {
			check_error(&err);
			if (!json_equal(before, res))
				abort(); /* atomicity: a refused PATCH must not change anything */
		}
		json_decref(before);
	}
	json_decref(res);
	json_decref(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum scim_resource_type type = data[0] == 'G' ? SCIM_GROUP : SCIM_USER;
	char *head, *tail;
	size_t head_len, tail_len;
	if (fuzz_split(data + 1, size - 1, &head, &head_len, &tail, &tail_len))
		return 0;
	if (tail)
		fuzz_apply(type, head, head_len, tail, tail_len);
	else
		fuzz_path(head);
	free(head);
	free(tail);
	return 0;
}
