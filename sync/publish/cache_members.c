/* groups.member_names: a merge of the members sorted by (gid, uid) with the groups sorted by
 * gid, each member's name found through a uid -> account map. */
#include "sync/publish/cache_members.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sync/publish/cache_writer_internal.h"

struct pack_input {
	const struct cache_snapshot *s;
	struct keymap accounts;       /* uid -> index into s->accounts */
	size_t *groups, n_groups;     /* the groups to pack: indexes into s->groups, by gid */
	struct cache_member *members; /* their memberships, by (gid, uid) */
	size_t n_members;
};

static void input_free(struct pack_input *in)
{
	keymap_free(&in->accounts);
	free(in->groups);
	free(in->members);
}

static const struct cache_account *account_by_uid(const struct pack_input *in, uint32_t uid)
{
	size_t row;
	return keymap_get(&in->accounts, uid, &row) ? &in->s->accounts[row] : NULL;
}

/* Walks the members group by group: sizes each group's names and uid bounds (FILL false) or
 * copies the names to each group's NAMES (FILL true, placed by the caller). */
static void pack_walk(const struct pack_input *in, struct cache_packed_group *out, bool fill)
{
	const struct cache_snapshot *s = in->s;
	size_t m = 0;
	for (size_t k = 0; k < in->n_groups; k++) {
		struct cache_packed_group *g = &out[in->groups[k]];
		uint32_t gid = s->groups[in->groups[k]].gid;
		size_t len = 0;
		while (m < in->n_members && in->members[m].gid < gid)
			m++; /* memberships of a group not in the snapshot */
		for (; m < in->n_members && in->members[m].gid == gid; m++) {
			const struct cache_account *a = account_by_uid(in, in->members[m].uid);
			if (!a || (m > 0 && in->members[m - 1].gid == gid && in->members[m - 1].uid == a->uid))
				continue; /* no account here, or the same membership twice */
			size_t n = strlen(a->name) + 1;
			if (fill)
				memcpy((unsigned char *)g->names + len, a->name, n);
			if (len == 0)
				g->uid_min = a->uid;
			g->uid_max = a->uid;
			len += n;
		}
		g->len = len;
	}
}

static int group_index_cmp(const void *x, const void *y, void *arg)
{
	const struct cache_group *g = arg;
	uint32_t a = g[*(const size_t *)x].gid, b = g[*(const size_t *)y].gid;
	return (a > b) - (a < b);
}

/* Sorts IN's groups by gid and its members by (gid, uid), and maps S's accounts by uid. */
static int input_ready(struct pack_input *in)
{
	const struct cache_snapshot *s = in->s;
	if (!in->n_groups)
		return 0;
	if (keymap_init(&in->accounts, s->n_accounts))
		return -1;
	for (size_t i = 0; i < s->n_accounts; i++)
		keymap_add(&in->accounts, s->accounts[i].uid, i);
	qsort_r(in->groups, in->n_groups, sizeof(*in->groups), group_index_cmp, (void *)s->groups);
	qsort(in->members, in->n_members, sizeof(*in->members), cache_member_cmp);
	return 0;
}

/* Sizes IN's groups, gives every group of S its place in one buffer (a group IN does not pack
 * must have its LEN set already), then fills IN's groups. */
static int pack_place(struct pack_input *in, struct cache_packs *p)
{
	const struct cache_snapshot *s = in->s;
	size_t total = 0;
	pack_walk(in, p->groups, false);
	for (size_t i = 0; i < s->n_groups; i++)
		total += p->groups[i].len;
	if (!(p->buf = malloc(total + 1)))
		return -1;
	total = 0;
	for (size_t i = 0; i < s->n_groups; i++) {
		p->groups[i].names = p->buf + total;
		total += p->groups[i].len;
	}
	pack_walk(in, p->groups, true);
	return 0;
}

int cache_packs_build(const struct cache_snapshot *s, struct cache_packs *p)
{
	struct pack_input in = {.s = s, .n_groups = s->n_groups, .n_members = s->n_members};
	int rc = -1;
	memset(p, 0, sizeof(*p));
	in.groups = malloc((s->n_groups + 1) * sizeof(*in.groups));
	in.members = malloc((s->n_members + 1) * sizeof(*in.members));
	p->groups = calloc(s->n_groups + 1, sizeof(*p->groups));
	if (!in.groups || !in.members || !p->groups)
		goto out;
	for (size_t i = 0; i < s->n_groups; i++)
		in.groups[i] = i;
	if (s->n_members)
		memcpy(in.members, s->members, s->n_members * sizeof(*in.members));
	rc = input_ready(&in) || pack_place(&in, p) ? -1 : 0;
out:
	input_free(&in);
	if (rc)
		cache_packs_free(p);
	return rc;
}

/* Which of NEXT's groups must be packed again (into IN->groups) and their memberships (into
 * IN->members); every other group gets its length and bounds from PREV's pack, and in FROM the
 * index of that pack (SIZE_MAX for a group packed again). */
static int update_select(const struct cache_snapshot *prev, const struct cache_packs *prev_packs,
                         const struct keymap *dirty, struct pack_input *in, struct cache_packs *p, size_t *from)
{
	const struct cache_snapshot *next = in->s;
	struct keymap old = {0}, redo = {0};
	size_t row;
	int rc = -1;
	if (keymap_init(&old, prev->n_groups) || keymap_init(&redo, next->n_groups) ||
	    !(in->groups = malloc((next->n_groups + 1) * sizeof(*in->groups))))
		goto out;
	for (size_t i = 0; i < prev->n_groups; i++)
		keymap_add(&old, prev->groups[i].gid, i);
	for (size_t i = 0; i < next->n_groups; i++) {
		uint32_t gid = next->groups[i].gid;
		from[i] = SIZE_MAX;
		if (keymap_get(dirty, gid, &row) || !keymap_get(&old, gid, &from[i])) {
			from[i] = SIZE_MAX;
			in->groups[in->n_groups++] = i;
			keymap_add(&redo, gid, i);
		} else {
			p->groups[i] = prev_packs->groups[from[i]];
		}
	}
	size_t n = 0;
	for (size_t m = 0; in->n_groups && m < next->n_members; m++)
		n += keymap_get(&redo, next->members[m].gid, &row);
	if (!(in->members = malloc((n + 1) * sizeof(*in->members))))
		goto out;
	for (size_t m = 0; in->n_groups && m < next->n_members; m++)
		if (keymap_get(&redo, next->members[m].gid, &row))
			in->members[in->n_members++] = next->members[m];
	rc = 0;
out:
	keymap_free(&old);
	keymap_free(&redo);
	return rc;
}

int cache_packs_update(const struct cache_snapshot *prev, const struct cache_packs *prev_packs,
                       const struct cache_snapshot *next, const struct keymap *dirty, struct cache_packs *p)
{
	struct pack_input in = {.s = next};
	size_t *from = malloc((next->n_groups + 1) * sizeof(*from));
	memset(p, 0, sizeof(*p));
	int rc = !from || !(p->groups = calloc(next->n_groups + 1, sizeof(*p->groups))) ||
	                 update_select(prev, prev_packs, dirty, &in, p, from) || input_ready(&in) || pack_place(&in, p)
	             ? -1
	             : 0;
	for (size_t i = 0; rc == 0 && i < next->n_groups; i++)
		if (from[i] != SIZE_MAX && p->groups[i].len)
			memcpy((unsigned char *)p->groups[i].names, prev_packs->groups[from[i]].names,
			       p->groups[i].len);
	free(from);
	input_free(&in);
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
