/* groups.member_names: packed in full as a merge of the members sorted by (gid, uid) with the
 * groups sorted by gid, each name found through a uid -> account map; or, after a change,
 * spliced from the previous packs. */
#include "sync/publish/cache_members.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sync/publish/cache_writer_internal.h"

/* --- appending one member to a group, sizing it (FILL false) or writing it (FILL true) --- */

static void emit(struct cache_packed_group *g, bool fill, uint32_t uid, const void *name, size_t n)
{
	if (fill) {
		memcpy((unsigned char *)g->names + g->len, name, n);
		((uint32_t *)g->uids)[g->n] = uid;
	}
	if (g->n == 0)
		g->uid_min = uid;
	g->uid_max = uid;
	g->len += n;
	g->n++;
}

static void emit_account(const struct cache_snapshot *s, const struct keymap *accounts, uint32_t uid,
                         struct cache_packed_group *g, bool fill)
{
	size_t row;
	if (keymap_get(accounts, uid, &row)) /* else no account here: not a member to show */
		emit(g, fill, uid, s->accounts[row].name, strlen(s->accounts[row].name) + 1);
}

static void group_restart(struct cache_packed_group *g)
{
	g->len = 0, g->n = 0, g->uid_min = 0, g->uid_max = 0;
}

/* --- packing from the memberships --- */

struct pack_input {
	const struct cache_snapshot *s;
	const struct keymap *accounts; /* uid -> index into s->accounts */
	size_t *groups, n_groups;      /* the groups to pack: indexes into s->groups, by gid */
	struct cache_member *members;  /* their memberships, by (gid, uid) */
	size_t n_members;
};

static void input_free(struct pack_input *in)
{
	free(in->groups);
	free(in->members);
}

/* Walks IN's members group by group (each group's names placed by the caller when FILL). */
static void pack_walk(const struct pack_input *in, struct cache_packed_group *out, bool fill)
{
	size_t m = 0;
	for (size_t k = 0; k < in->n_groups; k++) {
		struct cache_packed_group *g = &out[in->groups[k]];
		uint32_t gid = in->s->groups[in->groups[k]].gid;
		group_restart(g);
		while (m < in->n_members && in->members[m].gid < gid)
			m++; /* memberships of a group not in the snapshot */
		for (; m < in->n_members && in->members[m].gid == gid; m++)
			if (!(m > 0 && in->members[m - 1].gid == gid && in->members[m - 1].uid == in->members[m].uid))
				emit_account(in->s, in->accounts, in->members[m].uid, g,
				             fill); /* a membership twice: once */
	}
}

static int group_index_cmp(const void *x, const void *y, void *arg)
{
	const struct cache_group *g = arg;
	uint32_t a = g[*(const size_t *)x].gid, b = g[*(const size_t *)y].gid;
	return (a > b) - (a < b);
}

static void groups_sort(struct pack_input *in)
{
	qsort_r(in->groups, in->n_groups, sizeof(*in->groups), group_index_cmp, (void *)in->s->groups);
}

/* Gives every group of S (sized already) its place in P's two buffers. */
static int pack_place(const struct cache_snapshot *s, struct cache_packs *p)
{
	size_t len = 0, n = 0;
	for (size_t i = 0; i < s->n_groups; i++)
		len += p->groups[i].len, n += p->groups[i].n;
	if (!(p->buf = malloc(len + 1)) || !(p->uids = malloc((n + 1) * sizeof(*p->uids))))
		return -1;
	len = 0, n = 0;
	for (size_t i = 0; i < s->n_groups; i++) {
		p->groups[i].names = p->buf + len, p->groups[i].uids = p->uids + n;
		len += p->groups[i].len, n += p->groups[i].n;
	}
	return 0;
}

int cache_packs_build(const struct cache_snapshot *s, struct cache_packs *p)
{
	struct keymap accounts = {0};
	struct pack_input in = {.s = s, .accounts = &accounts, .n_groups = s->n_groups, .n_members = s->n_members};
	int rc = -1;
	memset(p, 0, sizeof(*p));
	in.groups = malloc((s->n_groups + 1) * sizeof(*in.groups));
	in.members = cache_sorted_copy(s->members, s->n_members, sizeof(*in.members), cache_member_cmp);
	p->groups = calloc(s->n_groups + 1, sizeof(*p->groups));
	if (!in.groups || !in.members || !p->groups || keymap_init(&accounts, s->n_accounts))
		goto out;
	for (size_t i = 0; i < s->n_accounts; i++)
		keymap_add(&accounts, s->accounts[i].uid, i);
	for (size_t i = 0; i < s->n_groups; i++)
		in.groups[i] = i;
	groups_sort(&in);
	pack_walk(&in, p->groups, false);
	if (pack_place(s, p))
		goto out;
	pack_walk(&in, p->groups, true);
	rc = cache_blocks_build(s, &p->blocks);
out:
	keymap_free(&accounts);
	input_free(&in);
	if (rc)
		cache_packs_free(p);
	return rc;
}

/* --- splicing a previous pack --- */

/* PREV's pack O with the changes C (this group's, by uid) applied: kept members' names copied
 * (a renamed one's new name looked up), removed ones skipped, added ones looked up. */
static void splice_walk(const struct cache_snapshot *next, const struct cache_pack_delta *d,
                        const struct cache_packed_group *o, const struct cache_member_change *c, size_t nc,
                        struct cache_packed_group *g, bool fill)
{
	size_t i = 0, j = 0, off = 0;
	size_t row;
	group_restart(g);
	while (i < o->n || j < nc) {
		bool change_first = j < nc && (i == o->n || c[j].uid <= o->uids[i]);
		if (change_first && (i == o->n || c[j].uid != o->uids[i])) {
			if (c[j].added)
				emit_account(next, d->accounts, c[j].uid, g, fill);
			j++; /* removing a member the pack lacks cannot happen; nothing to do if it did */
			continue;
		}
		bool removed = change_first && !c[j].added;
		j += change_first;
		size_t n = strlen((const char *)o->names + off) + 1;
		if (!removed && keymap_get(d->renamed, o->uids[i], &row))
			emit_account(next, d->accounts, o->uids[i], g, fill);
		else if (!removed)
			emit(g, fill, o->uids[i], o->names + off, n);
		off += n;
		i++;
	}
}

/* The range of D's changes for GID: *FIRST and the count. */
static size_t changes_of(const struct cache_pack_delta *d, uint32_t gid, size_t *first)
{
	size_t lo = 0, hi = d->n_changes;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (d->changes[mid].gid < gid)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	while (hi < d->n_changes && d->changes[hi].gid == gid)
		hi++;
	return hi - lo;
}

/* --- updating every group --- */

enum pack_way { PACK_COPY, PACK_SPLICE, PACK_FRESH };

struct update {
	const struct cache_snapshot *prev, *next;
	const struct cache_packs *prev_packs;
	const struct cache_pack_delta *d;
	size_t *from;         /* per NEXT group: its PREV group, SIZE_MAX for none */
	enum pack_way *way;   /* per NEXT group */
	struct pack_input in; /* the fresh groups */
};

/* How each of NEXT's groups is made, and the memberships of the fresh ones. */
static int update_plan(struct update *u)
{
	const struct cache_snapshot *next = u->next;
	struct keymap old = {0}, fresh = {0};
	size_t row, first;
	int rc = -1;
	if (keymap_init(&old, u->prev->n_groups) || keymap_init(&fresh, next->n_groups) ||
	    !(u->in.groups = malloc((next->n_groups + 1) * sizeof(*u->in.groups))))
		goto out;
	for (size_t i = 0; i < u->prev->n_groups; i++)
		keymap_add(&old, u->prev->groups[i].gid, i);
	for (size_t i = 0; i < next->n_groups; i++) {
		uint32_t gid = next->groups[i].gid;
		if (!keymap_get(&old, gid, &u->from[i])) {
			u->from[i] = SIZE_MAX, u->way[i] = PACK_FRESH;
			u->in.groups[u->in.n_groups++] = i;
			keymap_add(&fresh, gid, i);
		} else {
			bool touched = changes_of(u->d, gid, &first) || keymap_get(u->d->touched, gid, &row);
			u->way[i] = touched ? PACK_SPLICE : PACK_COPY;
		}
	}
	size_t n = 0;
	for (size_t m = 0; u->in.n_groups && m < next->n_members; m++)
		n += keymap_get(&fresh, next->members[m].gid, &row);
	if (!(u->in.members = malloc((n + 1) * sizeof(*u->in.members))))
		goto out;
	for (size_t m = 0; u->in.n_groups && m < next->n_members; m++)
		if (keymap_get(&fresh, next->members[m].gid, &row))
			u->in.members[u->in.n_members++] = next->members[m];
	groups_sort(&u->in);
	qsort(u->in.members, u->in.n_members, sizeof(*u->in.members), cache_member_cmp);
	rc = 0;
out:
	keymap_free(&old);
	keymap_free(&fresh);
	return rc;
}

/* Sizes (FILL false) or writes (FILL true) every group made from PREV's packs. */
static void update_walk(const struct update *u, struct cache_packs *p, bool fill)
{
	for (size_t i = 0; i < u->next->n_groups; i++) {
		struct cache_packed_group *g = &p->groups[i];
		const struct cache_packed_group *o =
		    u->way[i] == PACK_FRESH ? NULL : &u->prev_packs->groups[u->from[i]];
		size_t first, nc;
		if (u->way[i] == PACK_SPLICE) {
			nc = changes_of(u->d, u->next->groups[i].gid, &first);
			splice_walk(u->next, u->d, o, u->d->changes + first, nc, g, fill);
		} else if (u->way[i] == PACK_COPY && !fill) {
			g->len = o->len, g->n = o->n, g->uid_min = o->uid_min, g->uid_max = o->uid_max;
		} else if (u->way[i] == PACK_COPY) {
			memcpy((unsigned char *)g->names, o->names, o->len);
			memcpy((uint32_t *)g->uids, o->uids, o->n * sizeof(*o->uids));
		}
	}
	pack_walk(&u->in, p->groups, fill);
}

int cache_packs_update(const struct cache_snapshot *prev, const struct cache_packs *prev_packs,
                       const struct cache_snapshot *next, const struct cache_pack_delta *d, struct cache_packs *p)
{
	struct update u = {.prev = prev, .next = next, .prev_packs = prev_packs, .d = d};
	u.in = (struct pack_input){.s = next, .accounts = d->accounts};
	memset(p, 0, sizeof(*p));
	u.from = malloc((next->n_groups + 1) * sizeof(*u.from));
	u.way = malloc((next->n_groups + 1) * sizeof(*u.way));
	int rc = -1;
	if (u.from && u.way && (p->groups = calloc(next->n_groups + 1, sizeof(*p->groups))) && !update_plan(&u)) {
		update_walk(&u, p, false);
		if (!pack_place(next, p)) {
			update_walk(&u, p, true);
			rc = cache_blocks_update(&prev_packs->blocks, next, d->accounts, d->changed_uids,
			                         d->n_changed_uids, &p->blocks);
		}
	}
	free(u.from);
	free(u.way);
	input_free(&u.in);
	if (rc)
		cache_packs_free(p);
	return rc;
}

void cache_packs_free(struct cache_packs *p)
{
	free(p->groups);
	free(p->buf);
	free(p->uids);
	cache_blocks_free(&p->blocks);
	memset(p, 0, sizeof(*p));
}
