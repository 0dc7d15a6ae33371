/* The local accounts of /etc/passwd, read from the file itself: NSS would list the Entra
 * accounts too. An account named here is never touched, whatever uid cache.db gives it. */
#include <errno.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/sessions/sessions.h"

static int uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int local_add(struct sessions_local *l, size_t *cap, const struct passwd *pw)
{
	if (l->n == *cap) {
		size_t n = *cap ? *cap * 2 : 64;
		if (n > SESSIONS_ACCOUNTS_MAX)
			return -1;
		uint32_t *uids = realloc(l->uids, n * sizeof(*uids));
		if (uids)
			l->uids = uids;
		char **names = uids ? realloc(l->names, n * sizeof(*names)) : NULL;
		if (!names)
			return -1;
		l->names = names, *cap = n;
	}
	if (!(l->names[l->n] = strdup(pw->pw_name)))
		return -1;
	l->uids[l->n++] = (uint32_t)pw->pw_uid;
	return 0;
}

int sessions_local_read(const char *path, struct sessions_local *out, char *why, size_t whylen)
{
	memset(out, 0, sizeof(*out));
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct passwd pw, *res;
	char buf[4096];
	size_t cap = 0;
	int rc = 0, e;
	while ((e = fgetpwent_r(f, &pw, buf, sizeof(buf), &res)) == 0 && (rc = local_add(out, &cap, res)) == 0)
		;
	fclose(f);
	/* ERANGE: a line longer than BUF (glibc would re-read it forever): refuse the whole file. */
	if (rc || e != ENOENT) {
		snprintf(why, whylen, "%s: %s", path,
		         rc            ? "out of memory or too many lines"
		         : e == ERANGE ? "a line too long"
		                       : strerror(e));
		sessions_local_free(out);
		return -1;
	}
	qsort(out->uids, out->n, sizeof(*out->uids), uid_cmp);
	qsort(out->names, out->n, sizeof(*out->names), name_cmp);
	return 0;
}

bool sessions_local_has(const struct sessions_local *l, uint32_t uid, const char *name)
{
	if (!l->n)
		return false;
	if (bsearch(&uid, l->uids, l->n, sizeof(*l->uids), uid_cmp))
		return true;
	return name && bsearch(&name, l->names, l->n, sizeof(*l->names), name_cmp);
}

static int subid_add(struct sessions_local *l, size_t *cap, uint32_t first, uint32_t count)
{
	if (l->nsubids == *cap) {
		size_t n = *cap ? *cap * 2 : 16;
		struct sessions_range *v = n <= SESSIONS_SUBIDS_MAX ? realloc(l->subids, n * sizeof(*v)) : NULL;
		if (!v)
			return -1;
		l->subids = v, *cap = n;
	}
	uint64_t last = (uint64_t)first + count - 1;
	l->subids[l->nsubids++] = (struct sessions_range){first, last > UINT32_MAX ? UINT32_MAX : (uint32_t)last};
	return 0;
}

/* NAME:FIRST:COUNT; 1 for a range, 0 for a line that is none (comments, blanks), -1 malformed. */
static int subid_parse(const char *line, uint32_t *first, uint32_t *count)
{
	unsigned long long a, b;
	int end = 0;
	if (line[0] == '#' || line[strspn(line, " \t\n")] == '\0')
		return 0;
	if (sscanf(line, "%*[^:]:%llu:%llu%n", &a, &b, &end) != 2 || a > UINT32_MAX || b == 0 || b > UINT32_MAX)
		return -1;
	*first = (uint32_t)a, *count = (uint32_t)b;
	return line[end + strspn(line + end, " \t\n")] == '\0' ? 1 : -1;
}

int sessions_subids_read(const char *path, struct sessions_local *l, char *why, size_t whylen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char line[1024];
	size_t cap = l->nsubids, lineno = 0;
	int rc = 0;
	while (!rc && fgets(line, sizeof(line), f)) {
		uint32_t first, count;
		int parsed = subid_parse(line, &first, &count);
		lineno++;
		if (parsed < 0 || (!strchr(line, '\n') && !feof(f)))
			rc = -1, snprintf(why, whylen, "%s:%zu: not NAME:FIRST:COUNT (or too long)", path, lineno);
		else if (parsed && subid_add(l, &cap, first, count))
			rc = -1,
			snprintf(why, whylen, "%s: more than %u ranges, or out of memory", path, SESSIONS_SUBIDS_MAX);
	}
	fclose(f);
	return rc;
}

bool sessions_local_subid(const struct sessions_local *l, uint32_t uid)
{
	for (size_t i = 0; i < l->nsubids; i++)
		if (uid >= l->subids[i].first && uid <= l->subids[i].last)
			return true;
	return false;
}

void sessions_local_free(struct sessions_local *l)
{
	free(l->subids);
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	free(l->uids);
	memset(l, 0, sizeof(*l));
}
