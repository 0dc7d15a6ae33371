/* Local names for Entra users and groups, and the local account files. */
#include "sync/rules/names.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"

static const struct entra_logger logger = {"entra-syncd", LOG_DAEMON, true, false};

static bool name_char_ok(char c, bool allow_at)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-' ||
	       (allow_at && c == '@');
}

/* [a-z_][a-z0-9_.-]* (plus '@' when ALLOW_AT), at most MAX bytes. */
static bool user_name_valid(const char *s, size_t max, bool allow_at)
{
	size_t len = strlen(s);
	if (len == 0 || len > max || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!name_char_ok(s[i], allow_at))
			return false;
	return true;
}

int names_user(const char *upn, enum entra_name_format fmt, char *out, size_t outlen)
{
	const char *at = upn ? strchr(upn, '@') : NULL;
	if (!at || at == upn || !at[1] || strchr(at + 1, '@'))
		return -1;
	size_t len = fmt == ENTRA_NAME_SHORT ? (size_t)(at - upn) : strlen(upn);
	size_t max = fmt == ENTRA_NAME_SHORT ? NAMES_SHORT_MAX : NAMES_LONG_MAX;
	if (len > max || len >= outlen)
		return -1;
	for (size_t i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)upn[i]);
	out[len] = '\0';
	return user_name_valid(out, max, fmt == ENTRA_NAME_UPN) ? 0 : -1;
}

int names_group(const char *display_name, char *out, size_t outlen)
{
	size_t n = 0;
	bool pending_dash = false, all_digits = true;
	if (!display_name || outlen == 0)
		return -1;
	for (const char *p = display_name; *p; p++) {
		char c = (char)tolower((unsigned char)*p);
		if (!name_char_ok(c, false) || c == '-') {
			pending_dash = n > 0; /* runs collapse; leading dashes vanish */
			continue;
		}
		if (pending_dash) {
			if (n + 1 >= outlen || n + 1 >= NAMES_LONG_MAX)
				return -1;
			out[n++] = '-';
			pending_dash = false;
		}
		if (n + 1 >= outlen || n + 1 >= NAMES_LONG_MAX)
			return -1;
		all_digits = all_digits && isdigit((unsigned char)c);
		out[n++] = c;
	}
	out[n] = '\0';
	/* A numeric name would read as a gid to chown/chgrp; a leading dot hides it in listings. */
	return n == 0 || all_digits || out[0] == '.' ? -1 : 0;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct local_entry *)a)->name, ((const struct local_entry *)b)->name);
}

static int entry_add(struct local_entry **arr, size_t *n, size_t *cap, const char *name, uint32_t id)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct local_entry *grown = realloc(*arr, ncap * sizeof(*grown));
		if (!grown)
			return -1;
		*arr = grown, *cap = ncap;
	}
	if (!((*arr)[*n].name = strdup(name)))
		return -1;
	(*arr)[(*n)++].id = id;
	return 0;
}

/* Reads PATH with fgetpwent (IS_GROUP false) or fgetgrent into a sorted array. */
static int file_load(const char *path, bool is_group, struct local_entry **arr, size_t *n)
{
	size_t cap = 0;
	FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT) {
			entra_log(&logger, LOG_WARNING, "%s does not exist; no local names to protect from it", path);
			return 0;
		}
		entra_log(&logger, LOG_ERR, "cannot read %s: %s; fix its permissions", path, strerror(errno));
		return -1;
	}
	int rc = 0;
	for (;;) {
		errno = 0;
		const char *name;
		uint32_t id;
		if (is_group) {
			struct group *g = fgetgrent(f);
			if (!g)
				break;
			name = g->gr_name, id = g->gr_gid;
		} else {
			struct passwd *pw = fgetpwent(f);
			if (!pw)
				break;
			name = pw->pw_name, id = pw->pw_uid;
		}
		if (entry_add(arr, n, &cap, name, id)) {
			rc = -1;
			break;
		}
	}
	fclose(f);
	if (*n)
		qsort(*arr, *n, sizeof(**arr), entry_cmp);
	return rc;
}

static int id_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Every local uid and gid, sorted: names_local_id_used runs once per provisioned object. */
static int ids_collect(struct names_local *l)
{
	l->n_ids = l->n_users + l->n_groups;
	if (!(l->ids = malloc((l->n_ids + 1) * sizeof(*l->ids))))
		return -1;
	for (size_t i = 0; i < l->n_users; i++)
		l->ids[i] = l->users[i].id;
	for (size_t i = 0; i < l->n_groups; i++)
		l->ids[l->n_users + i] = l->groups[i].id;
	qsort(l->ids, l->n_ids, sizeof(*l->ids), id_cmp);
	return 0;
}

int names_local_load(const char *passwd_path, const char *group_path, struct names_local *out)
{
	memset(out, 0, sizeof(*out));
	if (file_load(passwd_path, false, &out->users, &out->n_users) ||
	    file_load(group_path, true, &out->groups, &out->n_groups) || ids_collect(out)) {
		names_local_free(out);
		return -1;
	}
	return 0;
}

void names_local_free(struct names_local *l)
{
	for (size_t i = 0; i < l->n_users; i++)
		free(l->users[i].name);
	for (size_t i = 0; i < l->n_groups; i++)
		free(l->groups[i].name);
	free(l->users);
	free(l->groups);
	free(l->ids);
	memset(l, 0, sizeof(*l));
}

static const struct local_entry *entry_find(const struct local_entry *arr, size_t n, const char *name)
{
	struct local_entry key = {.name = (char *)name};
	return n ? bsearch(&key, arr, n, sizeof(*arr), entry_cmp) : NULL;
}

bool names_local_has(const struct names_local *l, const char *name)
{
	return entry_find(l->users, l->n_users, name) || entry_find(l->groups, l->n_groups, name);
}

int64_t names_local_gid(const struct names_local *l, const char *name)
{
	const struct local_entry *e = entry_find(l->groups, l->n_groups, name);
	return e ? (int64_t)e->id : -1;
}

bool names_local_id_used(const struct names_local *l, uint32_t id)
{
	return l->n_ids && bsearch(&id, l->ids, l->n_ids, sizeof(*l->ids), id_cmp);
}

static void file_stamp(const char *path, struct names_file_stamp *out)
{
	struct stat st;
	memset(out, 0, sizeof(*out));
	if (stat(path, &st) != 0) {
		out->err = errno;
		return;
	}
	out->dev = st.st_dev, out->ino = st.st_ino, out->size = st.st_size;
	out->mtime = st.st_mtim, out->ctime = st.st_ctim;
}

void names_local_stamp(const char *passwd_path, const char *group_path, struct names_local_stamp *out)
{
	out->passwd_path = passwd_path, out->group_path = group_path;
	file_stamp(passwd_path, &out->passwd);
	file_stamp(group_path, &out->group);
}

static bool file_stamp_same(const struct names_file_stamp *a, const struct names_file_stamp *b)
{
	return a->err == b->err && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

const char *names_local_changed(const struct names_local_stamp *was, const struct names_local_stamp *now)
{
	if (!file_stamp_same(&was->passwd, &now->passwd))
		return now->passwd_path;
	if (!file_stamp_same(&was->group, &now->group))
		return now->group_path;
	return NULL;
}
