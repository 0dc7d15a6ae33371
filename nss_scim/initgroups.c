/* initgroups_dyn: a user's SCIM groups plus the local groups (e.g. sudo) their role grants. */
#include "nss_scim/nss_scim.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ETC_GROUP "/etc/group"

struct local_group {
	gid_t gid;
	bool seen, confirmed;
	char name[NSS_NAME_MAX + 1];
};

/* The most SCIM groups one user gets (the kernel's NGROUPS_MAX): what a hostile cache lists
 * beyond that is never read. */
#define NSS_SCIM_GROUPS_MAX 65536

struct gid_list {
	gid_t skip; /* the primary group glibc already has */
	long *start, *size, limit;
	long before; /* entries other sources put in the list before this module */
	gid_t **groups;
	bool skip_granted; /* SKIP is among the SCIM groups granted (runuser -g GROUP) */
};

/* Whether GID is among the list's first N entries. */
static bool gid_listed(const struct gid_list *l, long n, gid_t gid)
{
	for (long i = 0; i < n; i++)
		if ((*l->groups)[i] == gid)
			return true;
	return false;
}

/* Appends GID unless present (among the first SCAN entries: the SCIM groups come in rising
 * order, so they need comparing only with what other sources listed); grows the caller's array
 * (glibc frees it) but never past limit. 0, 1 when the list is full, -1 out of memory. */
static int gid_add(struct gid_list *l, gid_t gid, long scan)
{
	if (gid == l->skip || gid_listed(l, scan, gid))
		return 0;
	if (*l->start >= *l->size) {
		if (l->limit > 0 && *l->size >= l->limit)
			return 1; /* full: glibc's contract is to stop quietly */
		if (*l->size > LONG_MAX / 2 / (long)sizeof(gid_t))
			return -1;
		long grow = *l->size > 0 ? *l->size * 2 : 16;
		if (l->limit > 0 && grow > l->limit)
			grow = l->limit;
		gid_t *g = realloc(*l->groups, (size_t)grow * sizeof(gid_t));
		if (!g)
			return -1;
		*l->groups = g;
		*l->size = grow;
	}
	(*l->groups)[(*l->start)++] = gid;
	return 0;
}

/* Marks each candidate whose name's first line in /etc/group carries the same gid. Read
 * directly, not through getgrnam(): the module never calls back into NSS. */
static void local_groups_confirm(struct local_group *cand, size_t n)
{
	FILE *f = fopen(ETC_GROUP, "re");
	char *line = NULL;
	size_t cap = 0;
	while (f && getline(&line, &cap, f) > 0) {
		char *pass = strchr(line, ':'), *gid = pass ? strchr(pass + 1, ':') : NULL, *end;
		if (!gid)
			continue;
		*pass = '\0';
		errno = 0;
		unsigned long value = strtoul(gid + 1, &end, 10);
		bool valid = !errno && end != gid + 1 && *end == ':' && value <= (gid_t)-2;
		for (size_t i = 0; i < n; i++) {
			if (cand[i].seen || strcmp(cand[i].name, line))
				continue;
			cand[i].seen = true;
			cand[i].confirmed = valid && value == cand[i].gid;
		}
	}
	free(line);
	if (f)
		fclose(f);
}

/* Positions C on the first entry of the b-tree TREE whose first column is UID: 1, 0, -1. */
static int uid_seek(struct nss_view *v, enum cf_tree tree, int64_t uid, struct bt_cursor *c)
{
	struct bt_value key = {.type = BT_INT, .i = uid};
	return bt_seek_key(v->bt, c, v->db->file.root[tree], &key, 1);
}

/* The entry at C of a b-tree keyed (uid, gid, ...) when it is UID's: 1 (COL filled), 0 past
 * UID's entries, -1 error. Names are copied to the auxiliary arena: the passwd row stays. */
static int uid_entry(struct nss_view *v, const struct bt_cursor *c, int64_t uid, struct bt_value *col, size_t n,
                     int *errnop)
{
	if (bt_record(v->bt, c, col, n, n > 2 ? 1u << 2 : 0, BT_ARENA_AUX, NULL) < 0)
		return nss_failed(v, errnop);
	return col[0].type == BT_INT && col[0].i == uid;
}

/* Collects the role's local groups of UID that pass the checks the cache alone can satisfy. */
static int local_groups_collect(struct nss_view *v, const struct nss_pw_row *r, struct local_group *cand, size_t *n,
                                int *errnop)
{
	struct bt_cursor c;
	struct bt_value col[3]; /* local_members(uid, gid, name), WITHOUT ROWID */
	int rc = uid_seek(v, CF_LOCAL_MEMBERS, r->uid, &c);
	for (; rc > 0 && (rc = uid_entry(v, &c, r->uid, col, 3, errnop)) > 0; rc = bt_next(v->bt, &c)) {
		int64_t gid = col[1].i;
		const char *name = col[2].type == BT_TEXT ? col[2].p : NULL;
		if (col[1].type != BT_INT || gid <= 0 || gid > (gid_t)-2 || !nss_local_group_name_ok(name) ||
		    !nss_settings_role_grants(v->settings, r->role, name)) {
			nss_log_skip(v, SKIP_LOCAL_GROUP, (long long)gid);
			continue;
		}
		if (*n == NSS_LOCAL_GROUPS) {
			nss_log_skip(v, SKIP_TOO_MANY_LOCAL, (long long)r->uid);
			break;
		}
		cand[*n] = (struct local_group){.gid = (gid_t)gid};
		strcpy(cand[(*n)++].name, name); /* fits: nss_local_group_name_ok bounds it */
	}
	return rc < 0 ? nss_failed(v, errnop) : 0;
}

/* Whether a members_by_uid entry's gid (INTEGER: IS_INT) must not be granted: out of both ranges,
 * or another account's private group, 1; 0 to grant; -1 error. A gid of gid_min..gid_max is no
 * account's (that range is apart from uid_min..uid_max), so only the uid range costs a passwd
 * look-up: with 200 groups at 100k accounts those were 200 leaf pages read. */
static int group_private(struct nss_view *v, bool is_int, int64_t gid, int *errnop)
{
	if (!is_int)
		return 1;
	if (nss_gid_apart(v, gid))
		return 0;
	return nss_id_ok(v, gid) ? nss_gid_is_private(v, gid, errnop) : 1;
}

/* The SCIM groups of UID from the members_by_uid index (uid, gid), in rising gid order (a
 * b-tree out of order is damaged or hostile), of its first NSS_SCIM_GROUPS_MAX entries. */
static enum nss_status scim_groups_add(struct nss_view *v, int64_t uid, struct gid_list *l, int *errnop)
{
	struct bt_cursor c;
	struct bt_value col[2];
	int64_t prev = 0;
	bool have_prev = false; /* an integer gid was read: PREV holds it */
	long entries = 0;
	int rc = uid_seek(v, CF_MEMBERS_BY_UID, uid, &c), added = 0;
	for (; rc > 0 && (rc = uid_entry(v, &c, uid, col, 2, errnop)) > 0; rc = bt_next(v->bt, &c)) {
		if (++entries > NSS_SCIM_GROUPS_MAX)
			break;
		if (col[1].type == BT_INT && have_prev && col[1].i <= prev)
			return nss_corrupt(v, errnop), NSS_STATUS_UNAVAIL;
		if (col[1].type == BT_INT)
			prev = col[1].i, have_prev = true;
		int64_t gid = col[1].i;
		int private = group_private(v, col[1].type == BT_INT, gid, errnop);
		if (private < 0)
			return NSS_STATUS_UNAVAIL;
		if (private) { /* out of range, or another account's private group: never granted */
			nss_log_skip(v, SKIP_GROUP_ROW, (long long)gid);
			continue;
		}
		l->skip_granted |= (gid_t)gid == l->skip;
		if ((added = gid_add(l, (gid_t)gid, l->before)) != 0)
			break;
	}
	if (added < 0) {
		*errnop = ENOMEM;
		return NSS_STATUS_TRYAGAIN;
	}
	return rc < 0 ? (nss_failed(v, errnop), NSS_STATUS_UNAVAIL) : NSS_STATUS_SUCCESS;
}

static enum nss_status groups_add(struct nss_view *v, const struct nss_pw_row *r, struct gid_list *l, int *errnop)
{
	struct local_group cand[NSS_LOCAL_GROUPS];
	size_t n = 0;
	enum nss_status st = scim_groups_add(v, r->uid, l, errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	/* glibc passes the primary gid of the account it resolved USER to. Neither this account's
	 * own nor one of its groups: USER is another source's account of the same name (a local or
	 * LDAP user), who must get none of this one's groups, least of all its role's sudo. */
	if ((gid_t)r->gid != l->skip && !l->skip_granted) {
		*l->start = l->before;
		nss_log_skip(v, SKIP_NOT_THIS_ACCOUNT, (long long)r->uid);
		*errnop = ENOENT;
		return NSS_STATUS_NOTFOUND;
	}
	if (local_groups_collect(v, r, cand, &n, errnop))
		return NSS_STATUS_UNAVAIL;
	if (n)
		local_groups_confirm(cand, n);
	for (size_t i = 0; i < n; i++) {
		if (!cand[i].confirmed) {
			nss_log_skip(v, SKIP_LOCAL_GROUP_MISMATCH, (long long)cand[i].gid);
		} else if (gid_add(l, cand[i].gid, *l->start) < 0) {
			*errnop = ENOMEM;
			return NSS_STATUS_TRYAGAIN;
		}
	}
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_scim_initgroups_dyn(const char *user, gid_t group, long int *start, long int *size,
                                         gid_t **groupsp, long int limit, int *errnop)
{
	struct nss_view v;
	struct nss_pw_row r;
	struct gid_list l = {
	    .skip = group, .start = start, .size = size, .limit = limit, .before = *start, .groups = groupsp};
	if (!nss_name_ok(user)) {
		*errnop = ENOENT;
		return NSS_STATUS_NOTFOUND;
	}
	enum nss_status st = nss_begin(&v, errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	if ((st = nss_pw_by_name(&v, user, &r, errnop)) == NSS_STATUS_SUCCESS)
		st = groups_add(&v, &r, &l, errnop);
	nss_end(&v);
	return st;
}
