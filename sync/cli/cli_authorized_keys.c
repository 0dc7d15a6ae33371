/* entra-sync authorized-keys USER: sshd's AuthorizedKeysCommand (run as AuthorizedKeysCommandUser,
 * e.g. nobody). One read of cache.db through the hardened reader (common/cache_reader.h), the
 * same one libnss_scim uses, since cache.db is written by an unprivileged daemon; it prints the
 * user's keys only while the account may sign in here (role allows login, not disabled or
 * expired), and only lines common/ssh_key.c accepts: a line with options that reached
 * cache.db anyway is refused and logged, never printed. Nothing at all for an unknown user.
 * A tampered cache.db must never serve keys for an account that is not Entra's: the name must
 * have the shape libnss_scim serves and not be reserved (root, daemon, ...), the uid must be in
 * [accounts] uid_min..uid_max, neither may be in /etc/passwd, and the account sshd resolves
 * (getpwnam) must have that same uid. */
#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/account_name.h"
#include "common/cache_reader.h"
#include "common/cache_schema.h"
#include "common/log.h"
#include "common/ssh_key.h"
#include "common/text_safe.h"
#include "sync/cli/cli.h"
#include "sync/sessions/sessions.h"
#include "sync/sessions/watch.h"

static const struct entra_logger logger = {"entra-sync", LOG_AUTHPRIV, true, true};

/* More rows than a user may have keys: the publisher never writes them, so they are not read. */
#define KEYS_READ_MAX ENTRA_SSH_KEYS_MAX

#define KEYS_SQL                                                                                                       \
	"SELECT p.login, p.expire, k.key, p.uid FROM passwd p JOIN ssh_keys k ON k.uid = p.uid WHERE p.name = ?1"      \
	" ORDER BY k.n LIMIT ?2"

static bool may_sign_in(sqlite3_stmt *q)
{
	long long login = sqlite3_column_int64(q, 0), expire = sqlite3_column_int64(q, 1);
	return login == 1 && (expire == ENTRA_EXPIRE_NEVER || expire > (long long)(time(NULL) / 86400));
}

/* Prints the key in row Q when it is one, else logs why not. 0, or -1 when stdout fails. */
static int serve_key(sqlite3_stmt *q, const char *who)
{
	char line[ENTRA_SSH_KEY_LINE_MAX];
	const char *key = (const char *)sqlite3_column_text(q, 2), *why = "not text";
	int len = sqlite3_column_bytes(q, 2);
	enum entra_ssh_key_verdict v =
	    key ? entra_ssh_key_check(key, (size_t)len, line, sizeof(line), &why) : ENTRA_SSH_KEY_REFUSED;
	if (v == ENTRA_SSH_KEY_OK)
		return printf("%s\n", line) < 0 ? -1 : 0;
	if (v == ENTRA_SSH_KEY_REFUSED)
		entra_log(&logger, LOG_WARNING, "authorized-keys: refused a key of %s from cache.db: %s", who, why);
	return 0;
}

/* Whether UID (cache.db's uid for USER) is an Entra account sshd may be given keys for. */
static bool account_is_entras(const struct entra_config *cfg, const char *user, long long uid, const char *who)
{
	const char *why = NULL;
	char buf[4096], local_why[256];
	struct passwd pw, *res = NULL;
	struct sessions_local local;
	if (uid <= 0 || uid < cfg->uid_min || uid > cfg->uid_max)
		why = "its uid is 0 or outside [accounts] uid_min..uid_max";
	else if (sessions_local_read(SESSIONS_PASSWD, &local, local_why, sizeof(local_why)))
		why = local_why; /* the local accounts cannot be read: never guess */
	else {
		if (sessions_local_has(&local, (uint32_t)uid, user))
			why = "its name or uid is a local account of " SESSIONS_PASSWD;
		sessions_local_free(&local);
	}
	if (!why && (getpwnam_r(user, &pw, buf, sizeof(buf), &res) || !res || (long long)res->pw_uid != uid))
		why = "the account the system resolves by that name has another uid (or none)";
	if (why)
		entra_log(&logger, LOG_WARNING,
		          "authorized-keys: no keys for %s: cache.db gives it uid %lld but %s; check entra-syncd and "
		          "cache.db (a tampered file?)",
		          who, uid, why);
	return !why;
}

#define ROW_REFUSED 2

/* Prints the key of row Q when its account is the one verified at the first row (*UID): 0,
 * ROW_REFUSED when the account is not Entra's, -1 when stdout fails. */
static int row_keys(const struct cli_ctx *ctx, sqlite3_stmt *q, const char *user, const char *who, long long *uid)
{
	long long row_uid = sqlite3_column_int64(q, 3);
	if (*uid < 0) {
		if (!account_is_entras(ctx->cfg, user, row_uid, who))
			return ROW_REFUSED;
		*uid = row_uid;
	}
	if (row_uid != *uid)
		return ROW_REFUSED;
	return may_sign_in(q) ? serve_key(q, who) : 0;
}

static int print_keys(const struct cli_ctx *ctx, struct entra_cache *c, const char *user, const char *who)
{
	sqlite3_stmt *q = NULL;
	long long uid = -1;
	int rc, out = 0;
	if (sqlite3_prepare_v2(c->db, KEYS_SQL, -1, &q, NULL) != SQLITE_OK) {
		entra_log(&logger, LOG_ERR, "authorized-keys: cannot query cache.db: %s", sqlite3_errmsg(c->db));
		return 1;
	}
	sqlite3_bind_text(q, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, KEYS_READ_MAX);
	while (out == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW)
		out = row_keys(ctx, q, user, who, &uid);
	if (out == 0 && rc != SQLITE_DONE) {
		entra_log(&logger, LOG_ERR, "authorized-keys: cannot read the keys of %s from cache.db: %s", who,
		          entra_cache_budget_spent(c) ? "work budget spent (a hostile cache.db?)"
		                                      : sqlite3_errmsg(c->db));
		out = 1;
	}
	sqlite3_finalize(q);
	/* A refused account is "no keys", not a failure: sshd then goes on to authorized_keys. */
	return out == 0 || out == ROW_REFUSED ? 0 : 1;
}

int cli_authorized_keys(struct cli_ctx *ctx, int argc, char **argv)
{
	if (argc != 2 || !argv[1][0]) {
		fprintf(stderr, "usage: entra-sync authorized-keys USER   (sshd: AuthorizedKeysCommand "
		                "/usr/bin/entra-sync authorized-keys %%u)\n");
		return 2;
	}
	char who[128], why[256];
	entra_text_printable(who, sizeof(who), argv[1]);
	if (!entra_account_name_ok(argv[1])) {
		entra_log(&logger, LOG_NOTICE, "authorized-keys: no keys for %s: not a name of an Entra account", who);
		return 0;
	}
	struct entra_cache c;
	int err = 0;
	if (entra_cache_open(ctx->cfg->cache_db, &c, &err, why, sizeof(why)) != 0) {
		entra_log(&logger, err == ENOENT ? LOG_NOTICE : LOG_ERR,
		          "authorized-keys: no keys for %s: cache.db %s: %s%s", who, ctx->cfg->cache_db, why,
		          err == ENOENT ? " (entra-syncd has not published yet)" : "; run `entra-sync doctor`");
		return 1;
	}
	int rc = print_keys(ctx, &c, argv[1], who);
	entra_cache_close(&c);
	return rc;
}
