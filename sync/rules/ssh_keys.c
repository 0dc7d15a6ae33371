/* From a user's sshPublicKey text to cache.db rows (sync/rules/ssh_keys.h). */
#include "sync/rules/ssh_keys.h"

#include <stdlib.h>
#include <string.h>

#include "common/cache_schema.h"
#include "common/log.h"
#include "common/ssh_key.h"

static const struct entra_logger logger = {"entra-syncd", LOG_DAEMON, true, false};

#define SSH_KEY_LOG_MAX 20 /* users logged per publish */

static bool may_sign_in(const struct cache_account *c)
{
	return c->login && c->expire == ENTRA_EXPIRE_NEVER;
}

static int key_append(struct accounts *a, size_t *cap, uint32_t uid, uint32_t n, const char *key)
{
	struct cache_snapshot *s = &a->snap;
	if (s->n_ssh_keys == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct cache_ssh_key *p = realloc(s->ssh_keys, ncap * sizeof(*p));
		if (!p)
			return -1;
		s->ssh_keys = p, *cap = ncap;
	}
	char *copy = accounts_strdup(a, key);
	if (!copy)
		return -1;
	s->ssh_keys[s->n_ssh_keys++] = (struct cache_ssh_key){uid, n, copy};
	return 0;
}

/* One user's lines, bounded like the SCIM ingest (state.db rows from before it are not). */
static int user_keys(struct accounts *a, size_t *cap, struct account_user *u, const char *text, uint32_t uid)
{
	char canonical[ENTRA_SSH_KEY_LINE_MAX];
	const char *p = text, *end = text + strnlen(text, ENTRA_SSH_KEYS_TEXT_MAX), *line, *why;
	size_t len;
	uint32_t n = 0;
	while ((line = entra_ssh_key_next_line(&p, end, &len))) {
		enum entra_ssh_key_verdict v = entra_ssh_key_check(line, len, canonical, sizeof(canonical), &why);
		if (v == ENTRA_SSH_KEY_OK && n >= ENTRA_SSH_KEYS_MAX)
			v = ENTRA_SSH_KEY_REFUSED, why = "more keys than the 32 a user may have";
		if (v == ENTRA_SSH_KEY_REFUSED && !u->ssh_keys_refused++)
			u->ssh_key_why = why;
		if (v == ENTRA_SSH_KEY_OK && key_append(a, cap, uid, n++, canonical))
			return -1;
	}
	return 0;
}

int ssh_keys_build(const struct directory *dir, struct accounts *a)
{
	size_t cap = 0;
	for (size_t i = 0; i < dir->n_users; i++) {
		struct account_user *u = &a->users[i];
		u->ssh_keys_refused = 0, u->ssh_key_why = NULL;
		if (u->snapshot < 0 || !dir->users[i].ssh_keys)
			continue;
		const struct cache_account *c = &a->snap.accounts[u->snapshot];
		if (may_sign_in(c) && user_keys(a, &cap, u, dir->users[i].ssh_keys, c->uid))
			return -1;
	}
	return 0;
}

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

uint64_t ssh_keys_findings(uint64_t h, const struct accounts *a, const struct directory *dir)
{
	for (size_t i = 0; i < dir->n_users; i++)
		if (a->users[i].ssh_keys_refused) {
			h = fnv(h, dir->users[i].scim_id, strlen(dir->users[i].scim_id) + 1);
			h = fnv(h, &a->users[i].ssh_keys_refused, sizeof(a->users[i].ssh_keys_refused));
		}
	return h;
}

void ssh_keys_report(const struct accounts *a, const struct directory *dir)
{
	size_t logged = 0;
	for (size_t i = 0; i < dir->n_users; i++) {
		const struct account_user *u = &a->users[i];
		if (!u->ssh_keys_refused || logged++ >= SSH_KEY_LOG_MAX)
			continue;
		entra_log(&logger, LOG_WARNING,
		          "refused %u SSH key line(s) of %s (local name %s): %s; sshd is not given them. Fix the "
		          "user's sshPublicKey in Entra: one key a line, \"TYPE BASE64 [COMMENT]\", no options",
		          u->ssh_keys_refused, dir->users[i].user_name, u->name ? u->name : "-", u->ssh_key_why);
	}
	if (logged > SSH_KEY_LOG_MAX)
		entra_log(&logger, LOG_WARNING, "... and %zu more users with refused SSH keys",
		          logged - SSH_KEY_LOG_MAX);
}
