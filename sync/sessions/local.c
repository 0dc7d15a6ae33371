/* The local accounts of /etc/passwd, read from the file itself: NSS would list the Entra
 * accounts too. An account named here is never touched, whatever uid cache.db gives it. */
#include <errno.h>
#include <pwd.h>
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

void sessions_local_free(struct sessions_local *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	free(l->uids);
	memset(l, 0, sizeof(*l));
}
