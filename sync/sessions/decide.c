/* Which uids' sessions end: the decision alone, on two snapshots, with no side effect. */
#include <stdlib.h>
#include <string.h>

#include "sync/sessions/sessions.h"

bool sessions_policy_allows(const struct sessions_policy *p, uint32_t uid, const char *name)
{
	if (uid == 0 || uid < p->uid_min || uid > p->uid_max)
		return false;
	if (name && !strcmp(name, "root"))
		return false;
	return !p->local || !sessions_local_has(p->local, uid, name);
}

static int target_add(struct sessions_targets *t, const struct sessions_account *a, enum sessions_reason reason)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct sessions_target *v = cap <= SESSIONS_ACCOUNTS_MAX ? realloc(t->v, cap * sizeof(*v)) : NULL;
		if (!v)
			return -1;
		t->v = v, t->cap = cap;
	}
	t->v[t->n++] = (struct sessions_target){.uid = a->uid, .reason = reason, .name = a->name};
	return 0;
}

static int target_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct sessions_target *)a)->uid, y = ((const struct sessions_target *)b)->uid;
	return x < y ? -1 : x > y;
}

int sessions_decide(const struct sessions_snapshot *prev, const struct sessions_snapshot *cur,
                    const struct sessions_policy *policy, struct sessions_targets *out)
{
	out->n = 0;
	for (size_t i = 0; i < cur->n; i++) {
		const struct sessions_account *a = &cur->v[i];
		if (a->disabled && sessions_policy_allows(policy, a->uid, a->name) &&
		    target_add(out, a, SESSIONS_DISABLED))
			return -1;
	}
	for (size_t i = 0; i < prev->n; i++) {
		const struct sessions_account *a = &prev->v[i];
		if (!sessions_snapshot_find(cur, a->uid) && sessions_policy_allows(policy, a->uid, a->name) &&
		    target_add(out, a, SESSIONS_REMOVED))
			return -1;
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(out->v[0]), target_cmp);
	return 0;
}

/* Merges CUR (all of it) with the removed targets of T, both in uid order. */
int sessions_remember(const struct sessions_snapshot *cur, const struct sessions_targets *t,
                      struct sessions_snapshot *next)
{
	struct sessions_snapshot merged = {0};
	size_t i = 0, j = 0;
	while (i < cur->n || j < t->n) {
		if (j < t->n && t->v[j].reason != SESSIONS_REMOVED) {
			j++;
			continue;
		}
		bool take_cur = j == t->n || (i < cur->n && cur->v[i].uid < t->v[j].uid);
		int rc = take_cur ? sessions_snapshot_add(&merged, cur->v[i].uid, cur->v[i].disabled, cur->v[i].name)
		                  : sessions_snapshot_add(&merged, t->v[j].uid, false, t->v[j].name);
		if (rc) {
			sessions_snapshot_free(&merged);
			return -1;
		}
		take_cur ? i++ : j++;
	}
	sessions_snapshot_free(next);
	*next = merged;
	return 0;
}

const struct sessions_target *sessions_targets_find(const struct sessions_targets *t, uint32_t uid)
{
	struct sessions_target key = {.uid = uid};
	return t->n ? bsearch(&key, t->v, t->n, sizeof(t->v[0]), target_cmp) : NULL;
}

const char *sessions_reason_text(enum sessions_reason r)
{
	return r == SESSIONS_DISABLED ? "disabled in Entra" : "removed from this host";
}

void sessions_targets_free(struct sessions_targets *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}
