/* The device authorization response (RFC 8628 §3.2): parsed by entra-authd from the IdP's
 * answer and by pam_entra from the broker's "code" message. */
#include "common/device_code.h"

#include "common/text_safe.h"

#include <stdio.h>
#include <string.h>

static long long clamp(long long v, long long lo, long long hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

const char *entra_json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* FIELD of DOC when it is a non-empty string of at most MAX bytes, else NULL with WHY saying
 * what is wrong with it ("user_code (it is a number, not a string)"). */
static const char *bounded_string(const json_t *doc, const char *field, size_t max, char *why, size_t whylen)
{
	const json_t *v = json_object_get(doc, field);
	const char *text = json_string_value(v);
	if (!v)
		snprintf(why, whylen, "%s", field);
	else if (!text)
		snprintf(why, whylen, "%s (it is %s, not a string)", field, entra_json_kind(v));
	else if (!*text)
		snprintf(why, whylen, "%s (it is empty)", field);
	else if (strlen(text) > max)
		snprintf(why, whylen, "%s (longer than %zu bytes)", field, max);
	else
		return text;
	return NULL;
}

/* DOC parsed from BODY when it is a JSON object, else NULL with WHY saying why not. */
static json_t *json_object_load(const char *body, size_t len, char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (json_is_object(doc))
		return doc;
	char detail[sizeof(jerr.text)];
	if (doc)
		snprintf(detail, sizeof(detail), "it is %s", entra_json_kind(doc));
	else /* jansson quotes the offending input: keep it printable */
		entra_text_printable(detail, sizeof(detail), jerr.text);
	snprintf(why, whylen, "a JSON object body (%s)", detail);
	json_decref(doc);
	return NULL;
}

int entra_device_code_from_json(json_t *doc, bool need_device_code, struct entra_device_code *dc, char *why,
                                size_t whylen)
{
	char ignored[128];
	memset(dc, 0, sizeof(*dc));
	dc->doc = doc;
	dc->device_code = bounded_string(doc, "device_code", ENTRA_DEVICE_CODE_MAX, why, whylen);
	if ((!dc->device_code && need_device_code) ||
	    !(dc->user_code = bounded_string(doc, "user_code", ENTRA_USER_CODE_MAX, why, whylen)) ||
	    !(dc->verification_uri = bounded_string(doc, "verification_uri", ENTRA_URI_MAX, why, whylen))) {
		entra_device_code_free(dc);
		return -1;
	}
	dc->verification_uri_complete =
	    bounded_string(doc, "verification_uri_complete", ENTRA_URI_MAX, ignored, sizeof(ignored));
	json_t *expires = json_object_get(doc, "expires_in"), *interval = json_object_get(doc, "interval");
	dc->expires_in = json_is_integer(expires) ? clamp(json_integer_value(expires), 1, 3600) : 900;
	dc->interval = json_is_integer(interval) ? clamp(json_integer_value(interval), 1, 60) : 5;
	return 0;
}

int entra_device_code_parse(const char *body, size_t len, struct entra_device_code *dc, char *why, size_t whylen)
{
	memset(dc, 0, sizeof(*dc));
	json_t *doc = json_object_load(body, len, why, whylen);
	return doc ? entra_device_code_from_json(doc, true, dc, why, whylen) : -1;
}

void entra_device_code_free(struct entra_device_code *dc)
{
	json_decref(dc->doc);
	memset(dc, 0, sizeof(*dc));
}
