/* The publish pipeline's pure part: directory + rules + names + ids -> cache snapshot. */
#include "sync/rules/accounts.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cache_schema.h"
#include "common/log.h"
#include "common/text_safe.h"
#include "sync/rules/ssh_keys.h"

static const struct entra_logger logger = {"entra-syncd", LOG_DAEMON, true, false};

#define REFUSAL_LOG_MAX    20 /* per publish, so a bad directory cannot flood the journal */
#define NO_OBJECT_ID_NAMED 5  /* accounts named in the one line about missing object ids */

const char *account_verdict_text(enum account_verdict v)
{
	switch (v) {
	case ACCOUNT_OK:
		return "has an account on this host";
	case ACCOUNT_NO_RULE:
		return "no rule matches the user's groups";
	case ACCOUNT_NOT_THIS_HOST:
		return "no OU of the matched rules covers this host";
	case ACCOUNT_NAME_INVALID:
		return "the UPN gives no valid Linux user name";
	case ACCOUNT_NAME_RESERVED:
		return "the local name is reserved for the system";
	case ACCOUNT_NAME_LOCAL:
		return "the local name exists in /etc/passwd or /etc/group";
	case ACCOUNT_NAME_SHARED:
		return "another user with an account on this host would get the same local name";
	case ACCOUNT_NO_ID:
		return "no uid allocated yet (entra-syncd allocates on its next publish; check its log)";
	case ACCOUNT_ID_LOCAL:
		return "its uid is used by a local account or group";
	case ACCOUNT_ID_SHARED:
		return "another provisioned user has the same Entra object id (externalId); fix the duplicate in Entra";
	}
	return "unknown";
}

const char *name_state_text(enum name_state s)
{
	static const char *const text[] = {"ok", "invalid", "reserved", "exists locally", "shared", "taken by a user"};
	return s <= NAME_CLASH ? text[s] : "unknown";
}

/* --- names --- */

static enum name_state local_state(const char *name, const struct names_local *local)
{
	if (entra_name_reserved(name))
		return NAME_RESERVED;
	return local && names_local_has(local, name) ? NAME_LOCAL : NAME_OK;
}

static int names_compute(const struct entra_config *cfg, const struct directory *dir, const struct names_local *local,
                         struct accounts *a)
{
	char buf[NAMES_LONG_MAX + 1];
	for (size_t i = 0; i < dir->n_users; i++) {
		struct account_user *u = &a->users[i];
		if (names_user(dir->users[i].user_name, cfg->name_format, buf, sizeof(buf))) {
			u->name_state = NAME_INVALID;
			continue;
		}
		if (!(u->name = accounts_strdup(a, buf)))
			return -1;
		u->name_state = local_state(buf, local);
	}
	for (size_t i = 0; i < dir->n_groups; i++) {
		struct account_group *g = &a->groups[i];
		if (names_group(dir->groups[i].display_name, buf, sizeof(buf))) {
			g->name_state = NAME_INVALID;
			continue;
		}
		if (!(g->name = accounts_strdup(a, buf)))
			return -1;
		g->name_state = local_state(buf, local);
	}
	return 0;
}

/* Users and groups share one namespace (private groups), and only what would be published takes
 * part: two users with an account here lose the name they share; a user's name always wins over
 * a group's (any tenant user may create a group: it must never take an account away); two groups
 * that would both be published lose the name they share. Hash counts, O(n) without sorting. */
struct name_count {
	const char *name;
	unsigned users, disabled, groups; /* users_share_mark counts disabled accounts apart */
};

struct name_table {
	struct name_count *slots;
	size_t mask;
};

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h ^ (h >> 29); /* FNV's multiply moves bits only upward; the table masks the low ones */
}

/* Room for N names at most half full. */
static int name_table_init(struct name_table *t, size_t n)
{
	size_t cap = 16;
	while (cap < n * 2)
		cap *= 2;
	t->slots = calloc(cap, sizeof(*t->slots));
	t->mask = cap - 1;
	return t->slots ? 0 : -1;
}

/* The slot of NAME: its counts, or an empty slot (counts 0) when it was never added. */
static struct name_count *name_find(const struct name_table *t, const char *name)
{
	size_t i = name_hash(name) & t->mask;
	while (t->slots[i].name && strcmp(t->slots[i].name, name) != 0)
		i = (i + 1) & t->mask;
	return &t->slots[i];
}

static struct name_count *name_add(struct name_table *t, const char *name)
{
	struct name_count *c = name_find(t, name);
	c->name = name;
	return c;
}

/* After the verdicts: users who would both get an account here refuse each other's name; a
 * disabled account (nobody signs in through it) never takes a name from an active one. */
static int users_share_mark(const struct directory *dir, struct accounts *a)
{
	struct name_table t;
	if (name_table_init(&t, dir->n_users))
		return -1;
	for (size_t i = 0; i < dir->n_users; i++)
		if (a->users[i].verdict == ACCOUNT_OK) {
			struct name_count *c = name_add(&t, a->users[i].name);
			dir->users[i].active ? c->users++ : c->disabled++;
		}
	for (size_t i = 0; i < dir->n_users; i++) {
		struct account_user *u = &a->users[i];
		if (u->verdict != ACCOUNT_OK)
			continue;
		const struct name_count *c = name_find(&t, u->name);
		if (dir->users[i].active ? c->users < 2 : c->users + c->disabled < 2)
			continue;
		u->name_state = NAME_SHARED, u->verdict = ACCOUNT_NAME_SHARED;
		a->n_refused++;
	}
	free(t.slots);
	return 0;
}

/* --- ids --- */

/* How many objects hold each id: open addressing, 0 marks an empty slot (ids are >= 1). */
struct id_counts {
	uint32_t *ids;
	unsigned char *count; /* saturates at 2: shared */
	size_t mask;
};

static size_t id_count_slot(const struct id_counts *t, uint32_t id)
{
	size_t i = (size_t)(id * 2654435761u) & t->mask;
	while (t->ids[i] && t->ids[i] != id)
		i = (i + 1) & t->mask;
	return i;
}

static uint32_t owner_id(const struct directory *dir, const struct accounts *a, size_t i)
{
	return i < dir->n_users ? a->users[i].uid : a->groups[i - dir->n_users].gid;
}

/* Two objects with the same key (a duplicated externalId) would get one uid: every contender
 * loses it, like a shared name, so one bad record cannot make the whole publish fail. */
static int shared_ids_withhold(const struct directory *dir, struct accounts *a)
{
	size_t total = dir->n_users + dir->n_groups, cap = 16;
	while (cap < total * 2)
		cap *= 2;
	struct id_counts t = {calloc(cap, sizeof(*t.ids)), calloc(cap, 1), cap - 1};
	if (!t.ids || !t.count) {
		free(t.ids), free(t.count);
		return -1;
	}
	for (size_t i = 0; i < total; i++) {
		uint32_t id = owner_id(dir, a, i);
		size_t k = id ? id_count_slot(&t, id) : 0;
		if (id && t.count[k] < 2)
			t.ids[k] = id, t.count[k]++;
	}
	for (size_t i = 0; i < total; i++) {
		uint32_t id = owner_id(dir, a, i);
		if (!id || t.count[id_count_slot(&t, id)] < 2)
			continue;
		if (i < dir->n_users)
			a->users[i].uid = 0, a->users[i].id_shared = true;
		else
			a->groups[i - dir->n_users].gid = 0;
	}
	free(t.ids), free(t.count);
	return 0;
}

static int ids_assign(const struct directory *dir, const struct names_local *local, struct idalloc *ids, sqlite3 *db,
                      struct accounts *a)
{
	char key[IDALLOC_KEY_MAX];
	size_t n = 0, total = dir->n_users + dir->n_groups;
	struct idalloc_request *req = calloc(total + 1, sizeof(*req));
	long *owner = calloc(total + 1, sizeof(*owner));
	int rc = -1;
	if (!req || !owner)
		goto out;
	for (size_t i = 0; i < total; i++) {
		bool is_user = i < dir->n_users;
		const struct dir_user *u = is_user ? &dir->users[i] : NULL;
		const struct dir_group *g = is_user ? NULL : &dir->groups[i - dir->n_users];
		if (idalloc_key(is_user ? 'u' : 'g', is_user ? u->external_id : g->external_id,
		                is_user ? u->scim_id : g->scim_id, key, sizeof(key)))
			continue;
		if (!(req[n].key = accounts_strdup(a, key)))
			goto out;
		owner[n++] = (long)i;
	}
	if (idalloc_assign(ids, db, req, n, local))
		entra_log(&logger, LOG_WARNING, "new uids could not be stored; those users wait for the next publish");
	for (size_t k = 0; k < n; k++) {
		size_t i = (size_t)owner[k];
		if (i < dir->n_users)
			a->users[i].uid = req[k].id;
		else
			a->groups[i - dir->n_users].gid = req[k].id;
	}
	rc = shared_ids_withhold(dir, a);
out:
	free(req);
	free(owner);
	return rc;
}

/* --- verdicts --- */

static enum account_verdict name_verdict(enum name_state s)
{
	switch (s) {
	case NAME_OK:
		return ACCOUNT_OK;
	case NAME_RESERVED:
		return ACCOUNT_NAME_RESERVED;
	case NAME_LOCAL:
		return ACCOUNT_NAME_LOCAL;
	case NAME_SHARED:
		return ACCOUNT_NAME_SHARED;
	case NAME_INVALID:
	case NAME_CLASH: /* groups only */
		break;
	}
	return ACCOUNT_NAME_INVALID;
}

/* The verdict before users_share_mark (a shared name is decided among the users it leaves OK). */
static enum account_verdict verdict_of(const struct account_user *u, const struct names_local *local)
{
	if (!u->aup.role)
		return ACCOUNT_NO_RULE;
	if (!u->aup.covering_ou)
		return ACCOUNT_NOT_THIS_HOST;
	if (u->name_state != NAME_OK)
		return name_verdict(u->name_state);
	if (!u->uid)
		return u->id_shared ? ACCOUNT_ID_SHARED : ACCOUNT_NO_ID;
	if (local && names_local_id_used(local, u->uid))
		return ACCOUNT_ID_LOCAL;
	return ACCOUNT_OK;
}

static int evaluate_all(const struct directory *dir, const struct names_local *local, struct accounts *a)
{
	size_t max_ous = aup_max_ous(&a->plan), n_rules = a->plan.n_rules ? a->plan.n_rules : 1;
	if (!(a->matched_pool = calloc(dir->n_users * n_rules + 1, sizeof(bool))) ||
	    !(a->ous_pool = calloc(dir->n_users * max_ous + 1, sizeof(char *))))
		return -1;
	for (size_t i = 0; i < dir->n_users; i++) {
		struct account_user *u = &a->users[i];
		u->aup.matched = a->matched_pool + i * n_rules;
		u->aup.ous = a->ous_pool + i * max_ous;
		aup_evaluate(&a->plan, i, &u->aup);
		u->verdict = verdict_of(u, local);
		u->snapshot = -1;
		if (u->verdict > ACCOUNT_NOT_THIS_HOST)
			a->n_refused++;
	}
	return 0;
}

/* --- the snapshot --- */

static char *lower_dup(struct accounts *a, const char *s)
{
	char *d = accounts_strdup(a, s);
	for (char *p = d; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

/* gecos: a field of ':'-separated passwd lines that finger, w and chfn print on terminals:
 * entra_text_safe's rule without ':', at most 256 bytes of whole characters. A name that is
 * already so is used as the directory holds it (no copy, and the next publish's comparison of
 * the two snapshots is a pointer compare). */
#define GECOS_MAX 256
static const char *gecos_of(struct accounts *a, const char *s, bool *oom)
{
	char out[GECOS_MAX + 1];
	if (entra_text_is_safe(s, GECOS_MAX, ENTRA_TEXT_NO_COLON))
		return s;
	entra_text_safe(out, sizeof(out), s, ENTRA_TEXT_NO_COLON);
	const char *kept = accounts_strdup(a, out);
	*oom = *oom || !kept;
	return kept;
}

/* home with %u (local name), %U (lowercased UPN made path-safe), %% (a percent sign). */
static char *home_expand(struct accounts *a, const char *tmpl, const char *name, const char *upn)
{
	char out[1024];
	size_t n = 0;
	for (const char *p = tmpl; *p && n + 1 < sizeof(out); p++) {
		const char *sub = NULL;
		if (p[0] == '%' && (p[1] == 'u' || p[1] == 'U' || p[1] == '%')) {
			sub = p[1] == 'u' ? name : p[1] == 'U' ? upn : "%";
			bool safe = p[1] != 'U';
			for (const char *s = sub; *s && n + 1 < sizeof(out); s++) {
				char c = (char)tolower((unsigned char)*s);
				out[n++] = safe || isalnum((unsigned char)c) || strchr("_.@-", c) ? c : '_';
			}
			p++;
			continue;
		}
		out[n++] = *p == ':' || (unsigned char)*p < 0x20 ? '_' : *p;
	}
	out[n] = '\0';
	return accounts_strdup(a, out);
}

static bool has_upper(const char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			return true;
	return false;
}

/* The object id in lower case; the directory's own string when it already is (as Entra sends it). */
static const char *object_id_of(struct accounts *a, const char *external_id, bool *oom)
{
	if (!idalloc_is_guid(external_id))
		return NULL;
	if (!has_upper(external_id))
		return external_id;
	const char *s = lower_dup(a, external_id);
	*oom = *oom || !s;
	return s;
}

static int account_add(const struct entra_config *cfg, const struct directory *dir, size_t i, struct accounts *a)
{
	const struct dir_user *du = &dir->users[i];
	struct account_user *u = &a->users[i];
	struct cache_account *c = &a->snap.accounts[a->snap.n_accounts];
	bool oom = false;
	const char *dn = du->display_name && *du->display_name ? du->display_name : du->user_name;
	c->name = u->name;
	c->uid = u->uid;
	c->gecos = gecos_of(a, dn, &oom);
	c->dir = home_expand(a, cfg->home, u->name, du->user_name);
	c->shell = cfg->shell;
	c->upn = du->user_name;
	c->object_id = object_id_of(a, du->external_id, &oom);
	c->scim_id = du->scim_id;
	c->role = u->aup.role->name;
	c->login = u->aup.role->login;
	c->expire = du->active ? ENTRA_EXPIRE_NEVER : ENTRA_EXPIRE_DISABLED;
	if (oom || !c->gecos || !c->dir)
		return -1;
	u->snapshot = (long)a->snap.n_accounts++;
	return 0;
}

static int group_add(const struct directory *dir, size_t g, struct accounts *a)
{
	struct account_group *ag = &a->groups[g];
	struct cache_group *c = &a->snap.groups[a->snap.n_groups];
	bool oom = false;
	c->name = ag->name;
	c->gid = ag->gid;
	c->object_id = object_id_of(a, dir->groups[g].external_id, &oom);
	c->scim_id = dir->groups[g].scim_id;
	if (oom)
		return -1;
	ag->snapshot = (long)a->snap.n_groups++;
	return 0;
}

static bool group_has_account(const struct directory *dir, const struct accounts *a, size_t g)
{
	for (size_t k = 0; k < dir->groups[g].n_members; k++) {
		size_t u = dir->groups[g].members[k];
		if (u < dir->n_users && a->users[u].snapshot >= 0)
			return true;
	}
	return false;
}

/* A SCIM group is published when its name and gid are usable and a member has an account. */
static bool group_publishable(const struct directory *dir, const struct names_local *local, const struct accounts *a,
                              size_t g)
{
	if (a->groups[g].name_state != NAME_OK || !a->groups[g].gid ||
	    (local && names_local_id_used(local, a->groups[g].gid)))
		return false;
	return group_has_account(dir, a, g);
}

/* After the accounts: a group never gets a published user's name (nor a Unix entry then; rules
 * still match it by object id), and two groups that would both be published lose theirs. */
static int groups_name_mark(const struct directory *dir, const struct names_local *local, struct accounts *a)
{
	struct name_table t;
	if (name_table_init(&t, dir->n_users + dir->n_groups))
		return -1;
	for (size_t i = 0; i < dir->n_users; i++)
		if (a->users[i].snapshot >= 0)
			name_add(&t, a->users[i].name)->users++;
	for (size_t g = 0; g < dir->n_groups; g++) {
		struct account_group *ag = &a->groups[g];
		if (ag->name_state != NAME_OK)
			continue;
		if (name_find(&t, ag->name)->users)
			ag->name_state = NAME_CLASH;
		else if (group_publishable(dir, local, a, g))
			name_add(&t, ag->name)->groups++;
	}
	for (size_t g = 0; g < dir->n_groups; g++) {
		struct account_group *ag = &a->groups[g];
		if (ag->name_state == NAME_OK && name_find(&t, ag->name)->groups > 1 &&
		    group_publishable(dir, local, a, g))
			ag->name_state = NAME_SHARED;
	}
	free(t.slots);
	return 0;
}

static size_t members_count(const struct directory *dir)
{
	size_t n = 0;
	for (size_t g = 0; g < dir->n_groups; g++)
		n += dir->groups[g].n_members;
	return n;
}

static void members_add(const struct directory *dir, struct accounts *a)
{
	for (size_t g = 0; g < dir->n_groups; g++) {
		if (a->groups[g].snapshot < 0)
			continue;
		for (size_t k = 0; k < dir->groups[g].n_members; k++) {
			size_t u = dir->groups[g].members[k];
			if (u < dir->n_users && a->users[u].snapshot >= 0)
				a->snap.members[a->snap.n_members++] =
				    (struct cache_member){a->groups[g].gid, a->users[u].uid};
		}
	}
}

/* Role groups (e.g. sudo) resolved from /etc/group; disabled accounts get none. */
static int local_members_add(const struct entra_config *cfg, const struct directory *dir,
                             const struct names_local *local, struct accounts *a)
{
	size_t cap = 0;
	for (size_t r = 0; r < cfg->n_roles; r++)
		cap += cfg->roles[r].groups.n;
	if (!cap)
		return 0;
	if (!(a->snap.local_members = calloc(a->snap.n_accounts * cap + 1, sizeof(*a->snap.local_members))))
		return -1;
	for (size_t i = 0; i < dir->n_users; i++) {
		const struct account_user *u = &a->users[i];
		if (u->snapshot < 0 || !dir->users[i].active)
			continue;
		for (size_t k = 0; local && k < u->aup.role->groups.n; k++) {
			int64_t gid = names_local_gid(local, u->aup.role->groups.items[k]);
			if (gid >= 0)
				a->snap.local_members[a->snap.n_local_members++] =
				    (struct cache_local_member){u->uid, (uint32_t)gid, u->aup.role->groups.items[k]};
		}
	}
	return 0;
}

static int snapshot_build(const struct entra_config *cfg, const struct directory *dir, const struct names_local *local,
                          struct accounts *a)
{
	a->snap.host = cfg->host, a->snap.uid_min = cfg->uid_min, a->snap.uid_max = cfg->uid_max;
	if (!(a->snap.accounts = calloc(dir->n_users + 1, sizeof(*a->snap.accounts))) ||
	    !(a->snap.groups = calloc(dir->n_groups + 1, sizeof(*a->snap.groups))) ||
	    !(a->snap.members = calloc(members_count(dir) + 1, sizeof(*a->snap.members))))
		return -1;
	for (size_t i = 0; i < dir->n_users; i++)
		if (a->users[i].verdict == ACCOUNT_OK && account_add(cfg, dir, i, a))
			return -1;
	if (groups_name_mark(dir, local, a))
		return -1;
	for (size_t g = 0; g < dir->n_groups; g++) {
		a->groups[g].snapshot = -1;
		if (group_publishable(dir, local, a, g) && group_add(dir, g, a))
			return -1;
	}
	members_add(dir, a);
	return local_members_add(cfg, dir, local, a) || ssh_keys_build(dir, a) ? -1 : 0;
}

int accounts_build(const struct entra_config *cfg, const struct directory *dir, const struct names_local *local,
                   struct idalloc *ids, sqlite3 *db, bool quiet, struct accounts *out)
{
	memset(out, 0, sizeof(*out));
	out->n_users = dir->n_users, out->n_groups = dir->n_groups, out->quiet = quiet;
	if (!(out->users = calloc(dir->n_users + 1, sizeof(*out->users))) ||
	    !(out->groups = calloc(dir->n_groups + 1, sizeof(*out->groups))) ||
	    aup_prepare(cfg, dir, quiet, &out->plan) || names_compute(cfg, dir, local, out) ||
	    ids_assign(dir, local, ids, db, out) || evaluate_all(dir, local, out) || users_share_mark(dir, out) ||
	    snapshot_build(cfg, dir, local, out)) {
		entra_log(&logger, LOG_ERR, "out of memory building the accounts of %zu users", dir->n_users);
		accounts_free(out);
		return -1;
	}
	return 0;
}

void accounts_free(struct accounts *a)
{
	for (size_t i = 0; i < a->n_strings; i++)
		free(a->strings[i]);
	aup_plan_free(&a->plan);
	free(a->strings);
	free(a->users);
	free(a->groups);
	free(a->matched_pool);
	free(a->ous_pool);
	free(a->snap.accounts);
	free(a->snap.groups);
	free(a->snap.members);
	free(a->snap.local_members);
	free(a->snap.ssh_keys);
	memset(a, 0, sizeof(*a));
}

/* --- findings: what an admin must hear about, logged only when it changes --- */

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

/* Refused groups worth a line: every group a user's name beat (a tenant user may have made it
 * to take that name), and the others that would have been published but for their name. */
static bool group_refusal_logged(const struct directory *dir, const struct accounts *a, size_t g)
{
	enum name_state s = a->groups[g].name_state;
	return s == NAME_CLASH || (s != NAME_OK && group_has_account(dir, a, g));
}

static const char *group_refusal_text(enum name_state s)
{
	switch (s) {
	case NAME_INVALID:
		return "its display name gives no valid Unix name";
	case NAME_RESERVED:
		return "the name is reserved for the system";
	case NAME_LOCAL:
		return "the name exists in /etc/passwd or /etc/group";
	case NAME_SHARED:
		return "another group with members here would get the same name; rename one in Entra";
	case NAME_CLASH:
		return "a user here has that name and users' names win (AUP rules still match the group)";
	case NAME_OK:
		break;
	}
	return "ok";
}

uint64_t accounts_findings_hash(const struct accounts *a, const struct entra_config *cfg, const struct directory *dir,
                                const struct names_local *local)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < dir->n_users; i++)
		if (a->users[i].verdict > ACCOUNT_NOT_THIS_HOST) {
			h = fnv(h, dir->users[i].scim_id, strlen(dir->users[i].scim_id) + 1);
			h = fnv(h, &a->users[i].verdict, sizeof(a->users[i].verdict));
		}
	for (size_t g = 0; g < dir->n_groups; g++)
		if (group_refusal_logged(dir, a, g)) {
			h = fnv(h, dir->groups[g].scim_id, strlen(dir->groups[g].scim_id) + 1);
			h = fnv(h, &a->groups[g].name_state, sizeof(a->groups[g].name_state));
		}
	for (size_t i = 0; i < a->snap.n_accounts; i++)
		if (!a->snap.accounts[i].object_id)
			h = fnv(h, a->snap.accounts[i].scim_id, strlen(a->snap.accounts[i].scim_id) + 1);
	for (size_t r = 0; r < a->plan.n_rules; r++)
		for (size_t j = 0; j < a->plan.rules[r].n_refs; j++)
			h = fnv(h, &a->plan.rules[r].refs[j].n_same_name, sizeof(size_t));
	for (size_t r = 0; r < cfg->n_roles; r++)
		for (size_t k = 0; k < cfg->roles[r].groups.n; k++) {
			int64_t gid = local ? names_local_gid(local, cfg->roles[r].groups.items[k]) : -1;
			h = fnv(h, &gid, sizeof(gid));
		}
	return ssh_keys_findings(h, a, dir);
}

/* A display name for a log line: any tenant user may name a group, so no control characters
 * (a newline would forge a line) and at most OUTLEN - 1 bytes. */
static const char *log_text(const char *s, char *out, size_t outlen)
{
	size_t n = 0;
	for (; s && s[n] && n + 1 < outlen; n++)
		out[n] = (unsigned char)s[n] < 0x20 || s[n] == 0x7f ? '?' : s[n];
	out[n] = '\0';
	return out;
}

static void users_report(const struct accounts *a, const struct directory *dir, bool follower)
{
	size_t logged = 0;
	for (size_t i = 0; i < dir->n_users; i++) {
		const struct account_user *u = &a->users[i];
		if (u->verdict <= ACCOUNT_NOT_THIS_HOST || logged++ >= REFUSAL_LOG_MAX)
			continue;
		/* On a follower a new user's uid comes from the hub a moment after the user: no fault. */
		bool waiting = follower && u->verdict == ACCOUNT_NO_ID && !u->id_shared;
		entra_log(&logger, waiting ? LOG_INFO : LOG_WARNING, "no account for %s (local name %s): %s",
		          dir->users[i].user_name, u->name ? u->name : "-",
		          waiting ? "its uid has not come from the hub yet (it comes with the hub's next publish; "
		                    "`entra-sync status` shows the follower's lag)"
		                  : account_verdict_text(u->verdict));
	}
	if (logged > REFUSAL_LOG_MAX)
		entra_log(&logger, LOG_WARNING, "... and %zu more refused; see `entra-sync rules explain USER`",
		          logged - REFUSAL_LOG_MAX);
}

static void groups_report(const struct accounts *a, const struct directory *dir)
{
	size_t logged = 0;
	char display[128];
	for (size_t g = 0; g < dir->n_groups; g++) {
		if (!group_refusal_logged(dir, a, g) || logged++ >= REFUSAL_LOG_MAX)
			continue;
		entra_log(&logger, LOG_WARNING, "group '%s' (SCIM id %s) gets no Unix group %s: %s",
		          log_text(dir->groups[g].display_name, display, sizeof(display)), dir->groups[g].scim_id,
		          a->groups[g].name ? a->groups[g].name : "-", group_refusal_text(a->groups[g].name_state));
	}
	if (logged > REFUSAL_LOG_MAX)
		entra_log(&logger, LOG_WARNING,
		          "... and %zu more groups without a Unix group; see `entra-sync rules check`",
		          logged - REFUSAL_LOG_MAX);
}

/* One line however many: pam_entra binds a sign-in to the account's object id, so these
 * accounts can sign in only where an admin allowed binding by UPN. */
static void no_object_id_report(const struct accounts *a)
{
	char named[320] = "";
	size_t n = 0, len = 0;
	for (size_t i = 0; i < a->snap.n_accounts; i++) {
		if (a->snap.accounts[i].object_id || n++ >= NO_OBJECT_ID_NAMED || len >= sizeof(named))
			continue;
		int w = snprintf(named + len, sizeof(named) - len, "%s%s", len ? ", " : "", a->snap.accounts[i].name);
		len += w > 0 ? (size_t)w : 0;
	}
	if (n)
		entra_log(
		    &logger, LOG_WARNING,
		    "%zu of %zu accounts have no Entra object id (their externalId is not a GUID; Entra's default "
		    "mapping sends mailNickname): %s%s; pam_entra refuses their sign-in unless [pam] "
		    "allow_upn_binding = yes. Fix: in the Entra enterprise app, Provisioning > Mappings > users, "
		    "map objectId to externalId (their uids then change once: chown their files)",
		    n, a->snap.n_accounts, named, n > NO_OBJECT_ID_NAMED ? ", ..." : "");
}

void accounts_report(const struct accounts *a, const struct entra_config *cfg, const struct directory *dir,
                     const struct names_local *local)
{
	for (size_t r = 0; r < a->plan.n_rules; r++)
		for (size_t j = 0; j < a->plan.rules[r].n_refs; j++)
			if (a->plan.rules[r].refs[j].n_same_name > 1)
				entra_log(
				    &logger, LOG_WARNING,
				    "rule '%s': display name '%s' is shared by %zu provisioned groups, so it matches "
				    "none of them; name the group by its object id in the rule or rename one group",
				    a->plan.rules[r].rule->name, a->plan.rules[r].refs[j].text,
				    a->plan.rules[r].refs[j].n_same_name);
	for (size_t r = 0; r < cfg->n_roles; r++)
		for (size_t k = 0; k < cfg->roles[r].groups.n; k++)
			if (!local || names_local_gid(local, cfg->roles[r].groups.items[k]) < 0)
				entra_log(&logger, LOG_WARNING,
				          "[role %s] group '%s' is not in /etc/group; skipped "
				          "(create it with groupadd or remove it from the role)",
				          cfg->roles[r].name, cfg->roles[r].groups.items[k]);
	users_report(a, dir, entra_config_follower(cfg));
	groups_report(a, dir);
	no_object_id_report(a);
	ssh_keys_report(a, dir);
}
