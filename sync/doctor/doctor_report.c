/* Collects doctor findings as JSON and prints them as text or JSON. */
#include "sync/doctor/doctor.h"

#include <stdarg.h>
#include <stdio.h>

static const char *status_name(enum doctor_status s)
{
	static const char *const names[] = {"ok", "warn", "fail", "skip"};
	return names[s];
}

void doctor_report(struct doctor *d, const char *check, enum doctor_status status, const char *fix, const char *fmt,
                   ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (status == DOCTOR_FAIL)
		d->failures++;
	else if (status == DOCTOR_WARN)
		d->warnings++;
	json_t *row = json_pack("{s:s, s:s, s:s}", "check", check, "status", status_name(status), "message", msg);
	if (row && fix && status != DOCTOR_OK && status != DOCTOR_SKIP)
		json_object_set_new(row, "fix", json_string(fix));
	if (row)
		json_array_append_new(d->results, row);
}

void doctor_print_text(const struct doctor *d, FILE *out)
{
	static const char *const tags[] = {"[ ok ]", "[WARN]", "[FAIL]", "[skip]"};
	size_t i;
	json_t *row;
	json_array_foreach(d->results, i, row) {
		const char *st = json_string_value(json_object_get(row, "status"));
		int idx = st[0] == 'o' ? 0 : st[0] == 'w' ? 1 : st[0] == 'f' ? 2 : 3;
		fprintf(out, "%s %-12s %s\n", tags[idx], json_string_value(json_object_get(row, "check")),
		        json_string_value(json_object_get(row, "message")));
		const char *fix = json_string_value(json_object_get(row, "fix"));
		if (fix)
			fprintf(out, "       fix: %s\n", fix);
	}
	if (d->failures)
		fprintf(out,
		        "%d problem(s), %d warning(s): fix the lines marked FAIL and run entra-sync doctor again\n",
		        d->failures, d->warnings);
	else
		fprintf(out, "no problem found (%d warning(s))\n", d->warnings);
}

void doctor_print_json(const struct doctor *d, FILE *out)
{
	json_t *doc = json_pack("{s:b, s:i, s:i, s:O}", "ok", d->failures == 0, "failures", d->failures, "warnings",
	                        d->warnings, "checks", d->results);
	if (!doc)
		return;
	json_dumpf(doc, out, JSON_INDENT(2));
	fputc('\n', out);
	json_decref(doc);
}
