/* entra-sync authorized-keys USER: sshd's AuthorizedKeysCommand (run as AuthorizedKeysCommandUser,
 * e.g. nobody). One read of cache.db through the hardened reader (common/cache_reader.h), the
 * same one libnss_scim uses, since cache.db is written by an unprivileged daemon; it prints the
 * user's keys only while the account may sign in here (role allows login, not disabled or
 * expired), and only lines common/ssh_key.c accepts: a line with options that reached
 * cache.db anyway is refused and logged, never printed. Nothing at all for an unknown user. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/cache_reader.h"
#include "common/cache_schema.h"
#include "common/log.h"
#include "common/ssh_key.h"
#include "common/text_safe.h"
#include "sync/cli/cli.h"

static const struct entra_logger logger = {"entra-sync", LOG_AUTHPRIV, true, true};

/* More rows than a user may have keys: the publisher never writes them, so they are not read. */
#define KEYS_READ_MAX ENTRA_SSH_KEYS_MAX

#define KEYS_SQL                                                                                                       \
	"SELECT p.login, p.expire, k.key FROM passwd p JOIN ssh_keys k ON k.uid = p.uid WHERE p.name = ?1"             \
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

static int print_keys(struct entra_cache *c, const char *user, const char *who)
{
	sqlite3_stmt *q = NULL;
	int rc, out = 0;
	if (sqlite3_prepare_v2(c->db, KEYS_SQL, -1, &q, NULL) != SQLITE_OK) {
		entra_log(&logger, LOG_ERR, "authorized-keys: cannot query cache.db: %s", sqlite3_errmsg(c->db));
		return 1;
	}
	sqlite3_bind_text(q, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, KEYS_READ_MAX);
	while (out == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW)
		if (may_sign_in(q))
			out = serve_key(q, who);
	if (out == 0 && rc != SQLITE_DONE) {
		entra_log(&logger, LOG_ERR, "authorized-keys: cannot read the keys of %s from cache.db: %s", who,
		          entra_cache_budget_spent(c) ? "work budget spent (a hostile cache.db?)"
		                                      : sqlite3_errmsg(c->db));
		out = 1;
	}
	sqlite3_finalize(q);
	return out ? 1 : 0;
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
	struct entra_cache c;
	int err = 0;
	if (entra_cache_open(ctx->cfg->cache_db, &c, &err, why, sizeof(why)) != 0) {
		entra_log(&logger, err == ENOENT ? LOG_NOTICE : LOG_ERR,
		          "authorized-keys: no keys for %s: cache.db %s: %s%s", who, ctx->cfg->cache_db, why,
		          err == ENOENT ? " (entra-syncd has not published yet)" : "; run `entra-sync doctor`");
		return 1;
	}
	int rc = print_keys(&c, argv[1], who);
	entra_cache_close(&c);
	return rc;
}
