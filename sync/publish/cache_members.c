/* groups.member_names: a merge of the members sorted by (gid, uid) with the groups sorted by
 * gid, each member's name found by binary search among the accounts sorted by uid. */
#include "sync/publish/cache_members.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sync/publish/cache_writer_internal.h"

struct pack_input {
	const struct cache_snapshot *s;
	const struct cache_account **accounts; /* by uid */
	size_t *groups;                        /* indexes into s->groups, by gid */
	struct cache_member *members;          /* by (gid, uid) */
};

static const struct cache_account *account_by_uid(const struct pack_input *in, uint32_t uid)
{
	size_t lo = 0, hi = in->s->n_accounts;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t at = in->accounts[mid]->uid;
		if (at == uid)
			return in->accounts[mid];
		if (at < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Walks the members group by group: sizes each group's names (FILL false) or copies them into
 * OUT (FILL true, sizes already known). Returns the total size. */
static size_t pack_walk(const struct pack_input *in, struct cache_packed_group *out, unsigned char *buf, bool fill)
{
	const struct cache_snapshot *s = in->s;
	size_t m = 0, total = 0;
	for (size_t k = 0; k < s->n_groups; k++) {
		struct cache_packed_group *g = &out[in->groups[k]];
		uint32_t gid = s->groups[in->groups[k]].gid;
		size_t len = 0;
		while (m < s->n_members && in->members[m].gid < gid)
			m++; /* memberships of a group not in the snapshot */
		if (fill)
			g->names = buf + total;
		for (; m < s->n_members && in->members[m].gid == gid; m++) {
			const struct cache_account *a = account_by_uid(in, in->members[m].uid);
			if (!a || (m > 0 && in->members[m - 1].gid == gid && in->members[m - 1].uid == a->uid))
				continue; /* no account here, or the same membership twice */
			size_t n = strlen(a->name) + 1;
			if (fill)
				memcpy(buf + total + len, a->name, n);
			if (len == 0)
				g->uid_min = a->uid;
			g->uid_max = a->uid;
			len += n;
		}
		g->len = len;
		total += len;
	}
	return total;
}

static int group_index_cmp(const void *x, const void *y, void *arg)
{
	const struct cache_group *g = arg;
	uint32_t a = g[*(const size_t *)x].gid, b = g[*(const size_t *)y].gid;
	return (a > b) - (a < b);
}

int cache_packs_build(const struct cache_snapshot *s, struct cache_packs *p)
{
	struct pack_input in = {.s = s};
	int rc = -1;
	memset(p, 0, sizeof(*p));
	in.accounts = malloc((s->n_accounts + 1) * sizeof(*in.accounts));
	in.groups = malloc((s->n_groups + 1) * sizeof(*in.groups));
	in.members = malloc((s->n_members + 1) * sizeof(*in.members));
	p->groups = calloc(s->n_groups + 1, sizeof(*p->groups));
	if (!in.accounts || !in.groups || !in.members || !p->groups)
		goto out;
	for (size_t i = 0; i < s->n_accounts; i++)
		in.accounts[i] = &s->accounts[i];
	qsort(in.accounts, s->n_accounts, sizeof(*in.accounts), cache_account_uid_cmp);
	for (size_t i = 0; i < s->n_groups; i++)
		in.groups[i] = i;
	qsort_r(in.groups, s->n_groups, sizeof(*in.groups), group_index_cmp, s->groups);
	if (s->n_members)
		memcpy(in.members, s->members, s->n_members * sizeof(*in.members));
	qsort(in.members, s->n_members, sizeof(*in.members), cache_member_cmp);
	size_t total = pack_walk(&in, p->groups, NULL, false);
	memset(p->groups, 0, (s->n_groups + 1) * sizeof(*p->groups));
	if (!(p->buf = malloc(total + 1)))
		goto out;
	pack_walk(&in, p->groups, p->buf, true);
	rc = 0;
out:
	free(in.accounts);
	free(in.groups);
	free(in.members);
	if (rc)
		cache_packs_free(p);
	return rc;
}

void cache_packs_free(struct cache_packs *p)
{
	free(p->groups);
	free(p->buf);
	memset(p, 0, sizeof(*p));
}
