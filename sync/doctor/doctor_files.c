/* doctor: the configuration, cache.db, state.db and token file. */
#include "sync/doctor/doctor.h"

#include <errno.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/cache_schema.h"
#include "common/errmsg.h"
#include "sync/store/store.h"
#include "sync/store/store_readonly.h"

static bool placeholder_id(const char *id)
{
	return !id || strspn(id, "0-") == strlen(id);
}

void doctor_check_config(struct doctor *d)
{
	const struct entra_config *c = d->cfg;
	struct stat st;
	doctor_report(d, "config", DOCTOR_OK, NULL, "%s parses: %zu rule(s), %zu role(s), %zu OU(s), host %s",
	              d->config_path, c->n_rules, c->n_roles, c->n_ous, c->host);
	char fix[600];
	snprintf(fix, sizeof(fix), "chown root:root %s && chmod 0644 %s", d->config_path, d->config_path);
	if (stat(d->config_path, &st) == 0 && (st.st_mode & 022))
		doctor_report(d, "config", DOCTOR_FAIL, fix,
		              "%s has mode %04o: anyone in its group or everyone may change who can log in",
		              d->config_path, (unsigned)(st.st_mode & 07777));
	if (placeholder_id(c->tenant_id) || placeholder_id(c->client_id))
		doctor_report(
		    d, "config", DOCTOR_FAIL,
		    "set [entra] tenant_id and client_id to the Directory (tenant) ID and Application (client) "
		    "ID shown on the app registration's Overview page",
		    "[entra] tenant_id or client_id is missing or still the example value: nobody can sign in");
	if (c->n_rules == 0)
		doctor_report(d, "config", DOCTOR_WARN, "add a [rule NAME] section (see entra.conf(5))",
		              "no [rule] section: no provisioned user gets an account on any host");
}

/* Opens an SQLite file read-only without creating anything; NULL with a message in ERR. */
static sqlite3 *open_readonly(const char *path, bool immutable, char *err, size_t errlen)
{
	char uri[4200];
	sqlite3 *db = NULL;
	snprintf(uri, sizeof(uri), "file:%s?%s", path, immutable ? "immutable=1" : "mode=ro");
	/* '?' or '#' in a path would break the URI: open those by plain path. */
	const char *name = strpbrk(path, "?#%") ? path : uri;
	int flags = SQLITE_OPEN_READONLY | (name == uri ? SQLITE_OPEN_URI : 0);
	if (sqlite3_open_v2(name, &db, flags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 2000);
	return db;
}

/* Runs SQL (one bound text parameter, may be NULL) and copies the first column of the first
 * row into OUT. 0 found, 1 no row, -1 error (message in OUT). */
static int query_text(sqlite3 *db, const char *sql, const char *param, char *out, size_t outlen)
{
	sqlite3_stmt *stmt = NULL;
	int ret = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		return entra_errf(out, outlen, "%s", sqlite3_errmsg(db));
	}
	if (param)
		sqlite3_bind_text(stmt, 1, param, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const unsigned char *v = sqlite3_column_text(stmt, 0);
		snprintf(out, outlen, "%s", v ? (const char *)v : "");
		ret = 0;
	} else if (rc == SQLITE_DONE) {
		ret = 1;
	} else {
		snprintf(out, outlen, "%s", sqlite3_errmsg(db));
	}
	sqlite3_finalize(stmt);
	return ret;
}

static void cache_meta(struct doctor *d, sqlite3 *db)
{
	const char *path = d->cfg->cache_db;
	char version[64], generation[64] = "?", published[64], users[64] = "?", host[256];
	int rc = query_text(db, "SELECT value FROM meta WHERE key = ?1", "schema_version", version, sizeof(version));
	if (rc != 0) {
		doctor_report(d, "cache", DOCTOR_FAIL, "restart entra-syncd so it publishes a new cache.db",
		              "%s is not a cache.db (%s)", path, rc < 0 ? version : "no schema_version");
		return;
	}
	if (atoi(version) != ENTRA_CACHE_SCHEMA_VERSION) {
		doctor_report(
		    d, "cache", DOCTOR_FAIL,
		    "install the same version of entra-syncd, libnss-scim and libpam-entra and restart entra-syncd",
		    "%s has schema version %s, this build reads version %d", path, version, ENTRA_CACHE_SCHEMA_VERSION);
		return;
	}
	query_text(db, "SELECT value FROM meta WHERE key = ?1", "generation", generation, sizeof(generation));
	query_text(db, "SELECT count(*) FROM passwd", NULL, users, sizeof(users));
	if (query_text(db, "SELECT value FROM meta WHERE key = ?1", "published_at", published, sizeof(published)) !=
	    0) {
		doctor_report(d, "cache", DOCTOR_FAIL, "restart entra-syncd so it publishes a new cache.db",
		              "%s has no published_at", path);
		return;
	}
	long long age = (long long)time(NULL) - strtoll(published, NULL, 10);
	if (age < -DOCTOR_CLOCK_SKEW_S)
		doctor_report(d, "cache", DOCTOR_WARN, "check the clock (see the clock check)",
		              "%s was published %lld s in the future (generation %s)", path, -age, generation);
	else if (age > d->opts.max_age)
		doctor_report(d, "cache", DOCTOR_WARN,
		              "normal when nothing changed in Entra; else check `systemctl status entra-syncd` and "
		              "`entra-sync status`",
		              "%s: generation %s, %s account(s), last published %lld s ago (more than %ld s)", path,
		              generation, users, age, d->opts.max_age);
	else
		doctor_report(d, "cache", DOCTOR_OK, NULL,
		              "%s: schema %s, generation %s, %s account(s), published %lld s ago", path, version,
		              generation, users, age < 0 ? 0 : age);
	if (query_text(db, "SELECT value FROM meta WHERE key = ?1", "host", host, sizeof(host)) == 0 &&
	    strcmp(host, d->cfg->host) != 0)
		doctor_report(d, "cache", DOCTOR_WARN, "send entra-syncd SIGHUP (systemctl reload entra-syncd)",
		              "cache.db was published for host '%s', the configuration says '%s'", host, d->cfg->host);
}

void doctor_check_cache(struct doctor *d)
{
	const char *path = d->cfg->cache_db;
	struct stat st;
	char err[256], fix[600];
	snprintf(fix, sizeof(fix), "chmod 0644 %s", path);
	if (stat(path, &st) != 0) {
		doctor_report(d, "cache", DOCTOR_FAIL,
		              "start entra-syncd (systemctl enable --now entra-syncd) and start provisioning in Entra",
		              "%s: %s: entra-syncd has not published any account yet", path, strerror(errno));
		return;
	}
	if ((st.st_mode & 0444) != 0444 || (st.st_mode & 022)) {
		doctor_report(d, "cache", DOCTOR_FAIL, fix,
		              "%s has mode %04o: every process resolving users must read it, nobody but the daemon "
		              "may write it (0644)",
		              path, (unsigned)(st.st_mode & 07777));
	}
	sqlite3 *db = open_readonly(path, true, err, sizeof(err));
	if (!db) {
		doctor_report(d, "cache", DOCTOR_FAIL, "restart entra-syncd so it publishes a new cache.db",
		              "%s cannot be opened: %s", path, err);
		return;
	}
	cache_meta(d, db);
	sqlite3_close(db);
}

#define IDENTITY_NAMED 5 /* accounts named in the warning */

/* Names read from cache.db go to the admin's terminal: cache.db is written by an unprivileged
 * daemon, so anything but printable ASCII is shown as '?'. */
static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

/* pam_entra binds a sign-in to the account's Entra object id; an account without one (its
 * externalId was Entra's default, mailNickname) signs in only where binding by UPN is allowed. */
void doctor_check_identity(struct doctor *d)
{
	const char *path = d->cfg->cache_db;
	char err[256], missing[32], total[32] = "?", names[400] = "";
	sqlite3 *db = open_readonly(path, true, err, sizeof(err));
	int rc = db ? query_text(db, "SELECT count(*) FROM passwd WHERE coalesce(object_id, '') = ''", NULL, missing,
	                         sizeof(missing))
	            : -1;
	if (rc == 0) {
		query_text(db, "SELECT count(*) FROM passwd", NULL, total, sizeof(total));
		query_text(db,
		           "SELECT group_concat(name, ', ') FROM (SELECT name FROM passwd "
		           "WHERE coalesce(object_id, '') = '' ORDER BY name LIMIT 5)",
		           NULL, names, sizeof(names));
	}
	sqlite3_close(db);
	if (rc != 0) {
		doctor_report(d, "identity", DOCTOR_SKIP, NULL, "%s cannot be read (see the cache check)", path);
		return;
	}
	long long n = strtoll(missing, NULL, 10);
	if (n == 0) {
		doctor_report(d, "identity", DOCTOR_OK, NULL, "all %s account(s) in %s carry an Entra object id", total,
		              path);
		return;
	}
	printable(names);
	doctor_report(d, "identity", DOCTOR_WARN,
	              "in the Entra enterprise app: Provisioning > Mappings > Provision Microsoft Entra ID Users, map "
	              "objectId to externalId, then restart provisioning (these accounts then get uids derived from "
	              "the object id: chown their files)",
	              "%lld of %s account(s) have no Entra object id (%s%s): pam_entra refuses their sign-in unless "
	              "[pam] allow_upn_binding = yes, which binds it by UPN alone",
	              n, total, names, n > IDENTITY_NAMED ? ", ..." : "");
}

void doctor_check_provisioning(struct doctor *d)
{
	const char *path = d->cfg->state_db;
	struct stat st;
	char err[256], value[64], fix[600];
	snprintf(fix, sizeof(fix), "chmod 0600 %s", path);
	if (stat(path, &st) != 0) {
		doctor_report(d, "provisioning", DOCTOR_SKIP, NULL, "%s: %s (entra-syncd has not run here)", path,
		              strerror(errno));
		return;
	}
	if (st.st_mode & 077)
		doctor_report(d, "provisioning", DOCTOR_FAIL, fix,
		              "%s has mode %04o: the provisioning store is private to entra-syncd (0600)", path,
		              (unsigned)(st.st_mode & 07777));
	sqlite3 *db = open_readonly(path, false, err, sizeof(err));
	int rc = db ? store_readonly_kv(db, "last_request", value, sizeof(value)) : STORE_ERROR;
	sqlite3_close(db);
	if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
		doctor_report(d, "provisioning", DOCTOR_WARN, "run entra-sync doctor as root", "%s cannot be read: %s",
		              path, db ? value : err);
		return;
	}
	if (rc == STORE_NOT_FOUND) {
		doctor_report(
		    d, "provisioning", DOCTOR_WARN,
		    "in the Entra enterprise app: Provisioning > Tenant URL https://HOST/scim/v2, Secret Token "
		    "from `entra-sync token new`, Test Connection, then Start provisioning",
		    "Entra has never called this SCIM endpoint");
		return;
	}
	long long age = (long long)time(NULL) - strtoll(value, NULL, 10);
	if (age > d->opts.max_age)
		doctor_report(d, "provisioning", DOCTOR_WARN,
		              "check the provisioning logs of the Entra enterprise app (quarantine, 401 = wrong token)",
		              "last SCIM request %lld s ago (Entra syncs every 40 min)", age);
	else
		doctor_report(d, "provisioning", DOCTOR_OK, NULL, "last SCIM request %lld s ago", age < 0 ? 0 : age);
}

void doctor_check_tokens(struct doctor *d)
{
	const char *path = d->cfg->token_file;
	struct stat st;
	char fix[700];
	if (stat(path, &st) != 0) {
		doctor_report(d, "tokens", DOCTOR_WARN,
		              "entra-sync token new  (paste it into the Entra app's Secret Token)",
		              "%s: %s: every SCIM request gets 401", path, strerror(errno));
		return;
	}
	if (st.st_mode & 077) {
		snprintf(fix, sizeof(fix), "chmod 600 %s", path);
		doctor_report(d, "tokens", DOCTOR_FAIL, fix,
		              "%s has mode %04o: entra-syncd refuses to start unless it is 0600", path,
		              (unsigned)(st.st_mode & 07777));
		return;
	}
	char buf[4096];
	struct passwd pw, *found = NULL;
	if (getpwnam_r(d->opts.daemon_user, &pw, buf, sizeof(buf), &found) != 0 || !found) {
		doctor_report(d, "tokens", DOCTOR_WARN,
		              "create the service user (systemd-sysusers; the package does) or name the daemon's user "
		              "with --daemon-user",
		              "%s is 0600 (owner uid %u); daemon user '%s' does not exist", path, (unsigned)st.st_uid,
		              d->opts.daemon_user);
		return;
	}
	snprintf(fix, sizeof(fix), "chown %s %s", found->pw_name, path);
	if (st.st_uid != found->pw_uid)
		doctor_report(d, "tokens", DOCTOR_FAIL, fix,
		              "%s belongs to uid %u, entra-syncd runs as %s (uid %u) and cannot read it", path,
		              (unsigned)st.st_uid, found->pw_name, (unsigned)found->pw_uid);
	else
		doctor_report(d, "tokens", DOCTOR_OK, NULL, "%s is 0600 and belongs to %s", path, found->pw_name);
}
