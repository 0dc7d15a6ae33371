/* Incremental publication proof: random SCIM operations go through the real SCIM service into
 * a real state.db; after each batch one engine publishes incrementally (kept across the whole
 * run) and a fresh engine rebuilds in full; both cache.db files must hold the same rows, table
 * by table (meta generation and published_at aside).
 * PUBLISH_ENGINE_SEEDS (default 4) and PUBLISH_ENGINE_OPS (default 200) scale the run. */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sqlite_files.h"
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "sync/publish/publish_engine.h"
#include "sync/rules/idalloc.h"
#include "sync/rules/names.h"
#include "sync/scim/scim_api.h"
#include "sync/store/store_changes.h"

#define MAX_IDS 128

struct fx {
	char dir[64], path[6][192]; /* state.db, cache A, cache B, passwd, group, scratch */
	struct entra_config cfg_a, cfg_b;
	struct scim_service *svc;
	sqlite3 *db;
	struct publish_engine *inc;
	struct names_local local;
	char users[MAX_IDS][64], groups[MAX_IDS][64];
	size_t n_users, n_groups;
	unsigned seed, first_seed;
	size_t publishes, incremental, deferred, rows, max_accounts, max_ssh_keys;
	bool may_defer; /* the engine's "more changes came" question answers at random */
};

enum { P_STATE, P_CACHE_A, P_CACHE_B, P_PASSWD, P_GROUP, P_SCRATCH };

static const char *const policy =
    "[accounts]\nhost = web-01\n"
    "[role admin]\nrank = 30\ngroups = sudo, adm\n[role user]\nrank = 10\n[role guest]\nrank = 5\n"
    "[ou web]\nhosts = web-*\n[ou db]\nhosts = db-*\n"
    "[rule everyone]\ngroups = Linux Users\nrole = user\nous = global\n"
    "[rule admins]\nmatch = any\ngroups = Linux Admins, SRE\nrole = admin\nous = web\n"
    "[rule dbas]\nmatch = all\ngroups = DBA, 00000000-0000-4000-8000-0000000000d1\nrole = admin\nous = db, web\n"
    "[rule guests]\ngroups = Guests\nrole = guest\nous = db\n";

/* Local parts clash across domains, with reserved and local names, and with group names. */
static const char *const upn_locals[] = {"alice", "bob",   "carol", "dave", "erin",     "frank",   "gina",
                                         "hank",  "ivy",   "judy",  "kim",  "leo",      "mona",    "ned",
                                         "root",  "Grace", "x:y",   "sre",  "localbob", "web-team"};
static const char *const upn_domains[] = {"contoso.com", "fabrikam.com"};
static const char *const group_names[] = {"Linux Users", "Linux Admins", "SRE",         "DBA",  "Guests", "Web Team",
                                          "web-team",    "alice",        "Linux-Users", "sudo", "Team 7", "Ops"};
static const char *const guids[] = {"00000000-0000-4000-8000-0000000000d1", "00000000-0000-4000-8000-0000000000d2",
                                    "not-a-guid", NULL};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void config_for(struct fx *f, struct entra_config *cfg, const char *cache)
{
	char text[4096], err[256];
	snprintf(text, sizeof(text), "%s[sync]\nstate_db = %s\n[accounts]\ncache_db = %s\n", policy, f->path[P_STATE],
	         cache);
	if (entra_config_parse("test.conf", text, cfg, err, sizeof(err)))
		fail_msg("config: %s", err);
}

/* As if changes had come while the rules ran, one publish in three (when allowed). */
static bool more_changes(void *arg)
{
	struct fx *f = arg;
	f->seed = f->seed * 1103515245u + 12345u;
	return f->may_defer && (f->seed >> 16) % 3 == 0;
}

static struct fx *fx_new(unsigned seed)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *names[] = {"state.db", "cache-a.db", "cache-b.db", "passwd", "group", "scratch"};
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-publish-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	for (int i = 0; i < 6; i++)
		snprintf(f->path[i], sizeof(f->path[i]), "%s/%s", f->dir, names[i]);
	write_file(f->path[P_PASSWD], "root:x:0:0:root:/root:/bin/bash\nlocalbob:x:1000:1000::/home/b:/bin/sh\n");
	write_file(f->path[P_GROUP], "root:x:0:\nadm:x:4:\nsudo:x:27:\nlocalbob:x:1000:\n");
	assert_int_equal(names_local_load(f->path[P_PASSWD], f->path[P_GROUP], &f->local), 0);
	config_for(f, &f->cfg_a, f->path[P_CACHE_A]);
	config_for(f, &f->cfg_b, f->path[P_CACHE_B]);
	f->svc = scim_service_open(&f->cfg_a, NULL, NULL);
	assert_non_null(f->svc);
	assert_int_equal(sqlite3_open(f->path[P_STATE], &f->db), SQLITE_OK);
	sqlite3_busy_timeout(f->db, 5000);
	assert_int_equal(idalloc_init_schema(f->db), 0);
	f->inc = publish_engine_new();
	assert_non_null(f->inc);
	publish_engine_on_more(f->inc, more_changes, f);
	f->seed = f->first_seed = seed;
	return f;
}

static void fx_free(struct fx *f)
{
	publish_engine_free(f->inc);
	sqlite3_close(f->db);
	scim_service_close(f->svc);
	names_local_free(&f->local);
	entra_config_free(&f->cfg_a);
	entra_config_free(&f->cfg_b);
	for (int i = 0; i < 6; i++)
		sqlite_files_remove(f->path[i]);
	rmdir(f->dir);
	free(f);
}

static unsigned rnd(struct fx *f, unsigned n)
{
	f->seed = f->seed * 1103515245u + 12345u;
	return (f->seed >> 8) % n;
}

/* --- SCIM requests --- */

static int call(struct fx *f, const char *method, const char *path, json_t *body, char *id_out)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct scim_request req = {.method = method,
	                           .path = path,
	                           .body = text,
	                           .body_len = text ? strlen(text) : 0,
	                           .base_url = "https://h/scim/v2"};
	struct scim_response resp = {0};
	scim_service_handle(f->svc, &req, &resp);
	int status = resp.status;
	if (status >= 500 || status == 400)
		fail_msg("%s %s -> %d: %s", method, path, status, text ? text : "");
	const char *id = json_string_value(json_object_get(resp.body, "id"));
	if (id_out && status == 201 && id)
		snprintf(id_out, 64, "%s", id);
	scim_response_clear(&resp);
	free(text);
	json_decref(body);
	return status;
}

static json_t *patch_op(const char *op, const char *path, json_t *value)
{
	json_t *o = json_pack("{s:s}", "op", op);
	if (path)
		json_object_set_new(o, "path", json_string(path));
	if (value)
		json_object_set_new(o, "value", value);
	return json_pack("{s:[s],s:[o]}", "schemas", "urn:ietf:params:scim:api:messages:2.0:PatchOp", "Operations", o);
}

/* Mostly distinct names; one in four from the clashing set above. */
static void random_upn(struct fx *f, char *out, size_t len)
{
	if (rnd(f, 4) == 0)
		snprintf(out, len, "%s@%s", upn_locals[rnd(f, sizeof(upn_locals) / sizeof(*upn_locals))],
		         upn_domains[rnd(f, 2)]);
	else
		snprintf(out, len, "user%u@%s", rnd(f, 300), upn_domains[rnd(f, 2)]);
}

/* SSH keys as Entra sends them (entra-login extension): a string of lines or an array; one line
 * with options, which the publisher refuses. */
#define LOGIN_URN "urn:ietf:params:scim:schemas:extension:entra-login:2.0:User"
static const char *const ssh_key_lines[] = {
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE4cghccFrWp2YaqANY+RuEvCb7/jm7a8Wmvm13rjayN laptop",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE4cghccFrWp2YaqANY+RuEvCb7/jm7a8Wmvm13rjayN desktop",
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBIufCF69NEg9LHM8QP3tCmOrmGmeCdRRi7/"
    "c54z7ZnGidQlw3AdQ1Y8KzFUbLefyeYIs/7L6C/GvJkYwI5mkAtc=",
    "command=\"/bin/true\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE4cghccFrWp2YaqANY+RuEvCb7/jm7a8Wmvm13rjayN",
};

static json_t *random_ssh_keys(struct fx *f)
{
	size_t n = 1 + rnd(f, 3);
	if (rnd(f, 2)) {
		json_t *a = json_array();
		for (size_t k = 0; k < n; k++)
			json_array_append_new(a, json_string(ssh_key_lines[rnd(f, 4)]));
		return a;
	}
	char text[1024] = "";
	for (size_t k = 0; k < n; k++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s%s", k ? "\n" : "",
		         ssh_key_lines[rnd(f, 4)]);
	return json_string(text);
}

static void op_create_user(struct fx *f)
{
	char upn[128], path[16] = "/Users";
	if (f->n_users == MAX_IDS)
		return;
	random_upn(f, upn, sizeof(upn));
	json_t *b =
	    json_pack("{s:[s],s:s,s:b,s:s}", "schemas", "urn:ietf:params:scim:schemas:core:2.0:User", "userName", upn,
	              "active", rnd(f, 4) != 0, "displayName", rnd(f, 2) ? "Some Person" : "Other: Person");
	char guid[40];
	snprintf(guid, sizeof(guid), "%08x-0000-4000-8000-%012x", rnd(f, 1u << 30), rnd(f, 1u << 30));
	if (rnd(f, 3))
		json_object_set_new(b, "externalId", json_string(rnd(f, 4) ? guid : "mailnick"));
	if (rnd(f, 2))
		json_object_set_new(b, LOGIN_URN, json_pack("{s:o}", "sshPublicKey", random_ssh_keys(f)));
	if (call(f, "POST", path, b, f->users[f->n_users]) == 201)
		f->n_users++;
}

/* Whether a group is named NAME (case-insensitively), as Entra asks before it creates one. */
static bool group_name_taken(struct fx *f, const char *name)
{
	char filter[128];
	snprintf(filter, sizeof(filter), "displayName eq \"%s\"", name);
	struct scim_request req = {.method = "GET", .path = "/Groups", .filter = filter, .base_url = "https://h"};
	struct scim_response resp = {0};
	scim_service_handle(f->svc, &req, &resp);
	assert_int_equal(resp.status, 200);
	bool taken = json_integer_value(json_object_get(resp.body, "totalResults")) > 0;
	scim_response_clear(&resp);
	return taken;
}

static void op_create_group(struct fx *f)
{
	if (f->n_groups == MAX_IDS)
		return;
	const char *name = group_names[rnd(f, sizeof(group_names) / sizeof(*group_names))];
	/* Entra matches groups on displayName: it links a second one to the group it finds (renames
	 * below still make a name shared now and then, as in a tenant) */
	if (group_name_taken(f, name))
		return;
	json_t *b =
	    json_pack("{s:[s],s:s}", "schemas", "urn:ietf:params:scim:schemas:core:2.0:Group", "displayName", name);
	const char *ext = guids[rnd(f, 4)];
	if (ext)
		json_object_set_new(b, "externalId", json_string(ext));
	if (call(f, "POST", "/Groups", b, f->groups[f->n_groups]) == 201)
		f->n_groups++;
}

static void forget(char ids[][64], size_t *n, size_t i)
{
	memmove(ids[i], ids[*n - 1], 64);
	(*n)--;
}

static void op_user(struct fx *f)
{
	char path[128], upn[128];
	if (!f->n_users)
		return op_create_user(f);
	size_t i = rnd(f, (unsigned)f->n_users);
	snprintf(path, sizeof(path), "/Users/%s", f->users[i]);
	switch (rnd(f, 15)) {
	case 0:
	case 5:
		random_upn(f, upn, sizeof(upn));
		call(f, "PATCH", path, patch_op("Replace", "userName", json_string(upn)), NULL);
		break;
	case 1:
	case 6:
	case 7:
		call(f, "PATCH", path, patch_op("Replace", "active", json_string(rnd(f, 2) ? "False" : "True")), NULL);
		break;
	case 2:
	case 8:
		call(f, "PATCH", path, patch_op("Replace", "displayName", json_string(rnd(f, 2) ? "A B" : "C D")),
		     NULL);
		break;
	case 3: /* sometimes a duplicate object id */
		call(f, "PATCH", path,
		     patch_op("Replace", "externalId",
		              json_string(rnd(f, 3) ? "mailnick2" : "00000000-0000-4000-8000-0000000000e1")),
		     NULL);
		break;
	case 4:
		if (call(f, "DELETE", path, NULL, NULL) == 204)
			forget(f->users, &f->n_users, i);
		break;
	case 12:
		call(f, "PATCH", path, patch_op("Replace", LOGIN_URN ":sshPublicKey", random_ssh_keys(f)), NULL);
		break;
	case 13:
		call(f, "PATCH", path, patch_op("Remove", LOGIN_URN ":sshPublicKey", NULL), NULL);
		break;
	case 14:
		call(f, "PATCH", path,
		     patch_op("Add", NULL, json_pack("{s:{s:o}}", LOGIN_URN, "sshPublicKey", random_ssh_keys(f))),
		     NULL);
		break;
	default:
		break;
	}
}

static json_t *member_list(struct fx *f, size_t n)
{
	json_t *a = json_array();
	for (size_t k = 0; k < n && f->n_users; k++)
		json_array_append_new(a, json_pack("{s:s}", "value", f->users[rnd(f, (unsigned)f->n_users)]));
	return a;
}

static void op_group(struct fx *f)
{
	char path[128], filter[160];
	if (!f->n_groups)
		return op_create_group(f);
	size_t i = rnd(f, 3) ? rnd(f, (unsigned)f->n_groups) : 0; /* the first group is "Linux Users" */
	snprintf(path, sizeof(path), "/Groups/%s", f->groups[i]);
	switch (rnd(f, 10)) {
	case 0:
	case 1:
	case 6:
	case 7:
	case 8:
		call(f, "PATCH", path, patch_op("Add", "members", member_list(f, 1 + rnd(f, 3))), NULL);
		break;
	case 2:
		if (f->n_users) {
			snprintf(filter, sizeof(filter), "members[value eq \"%s\"]",
			         f->users[rnd(f, (unsigned)f->n_users)]);
			call(f, "PATCH", path, patch_op("Remove", filter, NULL), NULL);
		}
		break;
	case 3:
		call(f, "PATCH", path,
		     patch_op("Replace", "displayName",
		              json_string(group_names[rnd(f, sizeof(group_names) / sizeof(*group_names))])),
		     NULL);
		break;
	case 4:
		call(f, "PUT", path,
		     json_pack("{s:[s],s:s,s:o}", "schemas", "urn:ietf:params:scim:schemas:core:2.0:Group",
		               "displayName", group_names[rnd(f, sizeof(group_names) / sizeof(*group_names))],
		               "members", member_list(f, rnd(f, 4))),
		     NULL);
		break;
	case 5:
		if (call(f, "DELETE", path, NULL, NULL) == 204)
			forget(f->groups, &f->n_groups, i);
		break;
	default: /* a user in several groups */
		call(f, "PATCH", path, patch_op("Add", "members", member_list(f, 4 + rnd(f, 8))), NULL);
	}
}

static void random_op(struct fx *f)
{
	switch (rnd(f, 6)) {
	case 0:
		return op_create_user(f);
	case 1:
		return op_create_group(f);
	case 2:
	case 3:
		return op_group(f);
	default:
		return op_user(f);
	}
}

/* --- comparing two cache.db files --- */

static char *table_dump(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int c = 0; c < sqlite3_column_count(st); c++) {
			const unsigned char *t = sqlite3_column_text(st, c);
			fprintf(m, "%s%s", c ? "|" : "", t ? (const char *)t : "<null>");
		}
		fputc('\n', m);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	fclose(m);
	return out;
}

static const char *const dumps[] = {
    "SELECT key, value FROM meta WHERE key NOT IN ('generation', 'published_at') ORDER BY key",
    "SELECT * FROM passwd ORDER BY uid",
    "SELECT * FROM groups ORDER BY gid",
    /* the packed member names hold NUL bytes: compared in hex (schema version 2) */
    "SELECT gid, member_uid_min, member_uid_max, hex(member_names) FROM groups ORDER BY gid",
    "SELECT * FROM members ORDER BY gid, uid",
    "SELECT * FROM local_members ORDER BY uid, gid",
    "SELECT * FROM ssh_keys ORDER BY uid, n",
    /* every account's getpwent fields, packed (schema version 3): the same blocks, cut alike */
    "SELECT last_uid, hex(entries) FROM passwd_blocks ORDER BY last_uid",
    /* what getpwnam serves, read from passwd_by_name alone (schema version 4), and every index
     * entry matching its row in both files */
    "SELECT name, gid, gecos, dir, shell, role, expire, uid FROM passwd INDEXED BY passwd_by_name ORDER BY name",
    "PRAGMA integrity_check",
    "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name",
};

static void caches_equal(struct fx *f, size_t op)
{
	for (size_t i = 0; i < sizeof(dumps) / sizeof(*dumps); i++) {
		char *a = table_dump(f->path[P_CACHE_A], dumps[i]), *b = table_dump(f->path[P_CACHE_B], dumps[i]);
		if (strcmp(a, b))
			fail_msg("seed %u op %zu: %s differs\nincremental:\n%s\nfull:\n%s", f->first_seed, op, dumps[i],
			         a, b);
		free(a);
		free(b);
	}
}

static long long generation_of(const char *path)
{
	char *g = table_dump(path, "SELECT value FROM meta WHERE key = 'generation'");
	long long v = atoll(g);
	free(g);
	return v;
}

/* Publishes with the long-lived engine (incremental when it can) and a fresh one (full). */
static struct publish_result publish_both(struct fx *f, size_t op)
{
	struct publish_result ra, rb;
	struct stat sb;
	long long before =
	    f->publishes && access(f->path[P_CACHE_A], F_OK) == 0 ? generation_of(f->path[P_CACHE_A]) : 0;
	assert_int_equal(publish_engine_run(f->inc, &f->cfg_a, f->db, &f->local, false, &ra), 0);
	struct publish_engine *full = publish_engine_new();
	assert_int_equal(publish_engine_run(full, &f->cfg_b, f->db, &f->local, false, &rb), 0);
	publish_engine_free(full);
	assert_false(rb.incremental);
	f->publishes++;
	if (ra.deferred) { /* nothing written: cache A is the last publish's; the next one catches up */
		assert_false(ra.incremental);
		assert_int_equal(generation_of(f->path[P_CACHE_A]), before);
		f->deferred++;
		return ra;
	}
	f->incremental += ra.incremental;
	f->rows += ra.rows;
	f->max_accounts = ra.accounts > f->max_accounts ? ra.accounts : f->max_accounts;
	char *keys = table_dump(f->path[P_CACHE_A], "SELECT count(*) FROM ssh_keys");
	size_t n_keys = strtoul(keys, NULL, 10);
	free(keys);
	f->max_ssh_keys = n_keys > f->max_ssh_keys ? n_keys : f->max_ssh_keys;
	if (ra.incremental)
		assert_int_equal(generation_of(f->path[P_CACHE_A]), before + 1);
	else
		assert_true(generation_of(f->path[P_CACHE_A]) > before);
	assert_int_equal(stat(f->path[P_CACHE_A], &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0644);
	caches_equal(f, op);
	return ra;
}

/* Returns whether the run reached a meaningful state (several accounts, rows changing). */
static bool run_seed(unsigned seed, size_t ops)
{
	struct fx *f = fx_new(seed);
	publish_both(f, 0);
	call(f, "POST", "/Groups",
	     json_pack("{s:[s],s:s}", "schemas", "urn:ietf:params:scim:schemas:core:2.0:Group", "displayName",
	               "Linux Users"),
	     f->groups[f->n_groups++]);
	for (size_t op = 1; op <= ops; op++) {
		random_op(f);
		f->may_defer = op < ops; /* the last publish is written and compared */
		if (rnd(f, 3) == 0 || op == ops)
			publish_both(f, op);
	}
	/* Every publish after the first must have taken the incremental path, or been deferred (never
	 * twice in a row: the engine writes the next one whatever the answer). */
	assert_int_equal(f->incremental + f->deferred, f->publishes - 1);
	assert_true(f->deferred > 0);
	fprintf(stderr,
	        "seed %u: %zu publishes (%zu incremental, %zu deferred), %zu rows changed, up to %zu accounts, %zu SSH "
	        "keys\n",
	        seed, f->publishes, f->incremental, f->deferred, f->rows, f->max_accounts, f->max_ssh_keys);
	bool busy = f->max_accounts >= 5 && f->rows >= f->publishes / 2 && f->max_ssh_keys > 0;
	fx_free(f);
	return busy;
}

static size_t env_count(const char *name, size_t dflt)
{
	const char *v = getenv(name);
	return v && atol(v) > 0 ? (size_t)atol(v) : dflt;
}

static void test_random_sequences_match_full_rebuild(void **state)
{
	(void)state;
	size_t seeds = env_count("PUBLISH_ENGINE_SEEDS", 4), ops = env_count("PUBLISH_ENGINE_OPS", 200);
	unsigned base = (unsigned)env_count("PUBLISH_ENGINE_SEED_BASE", 1);
	size_t busy = 0;
	for (size_t s = 0; s < seeds; s++)
		busy += run_seed(base + (unsigned)s, ops);
	/* Most runs must have exercised something: a test that compares empty files proves nothing. */
	assert_true(busy * 2 >= seeds);
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	size_t n;
	assert_non_null(in);
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	fclose(out);
}

static void disable(struct fx *f, size_t user, const char *value)
{
	char path[128];
	snprintf(path, sizeof(path), "/Users/%s", f->users[user]);
	assert_int_equal(call(f, "PATCH", path, patch_op("Replace", "active", json_string(value)), NULL) / 100, 2);
}

/* A cache.db replaced or removed behind the engine's back, or a change log that lost its
 * triggers, makes the next publish a full one, with the right rows; then incremental again. */
static void test_doubt_means_full_rebuild(void **state)
{
	(void)state;
	struct fx *f = fx_new(7);
	call(f, "POST", "/Groups",
	     json_pack("{s:[s],s:s}", "schemas", "urn:ietf:params:scim:schemas:core:2.0:Group", "displayName",
	               "Linux Users"),
	     f->groups[f->n_groups++]);
	for (int i = 0; i < 3; i++)
		op_create_user(f);
	char path[128];
	snprintf(path, sizeof(path), "/Groups/%s", f->groups[0]);
	json_t *members = json_array();
	for (size_t i = 0; i < f->n_users; i++)
		json_array_append_new(members, json_pack("{s:s}", "value", f->users[i]));
	call(f, "PATCH", path, patch_op("Add", "members", members), NULL);
	assert_false(publish_both(f, 1).incremental);
	disable(f, 0, "False");
	assert_true(publish_both(f, 2).incremental);

	copy_file(f->path[P_CACHE_B], f->path[P_CACHE_A]); /* someone else's file, another generation */
	sqlite3 *other;
	assert_int_equal(sqlite3_open(f->path[P_CACHE_A], &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "UPDATE meta SET value = '99' WHERE key = 'generation'", NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(other);
	disable(f, 0, "True");
	assert_false(publish_both(f, 3).incremental);
	disable(f, 1, "False");
	assert_true(publish_both(f, 4).incremental);

	assert_int_equal(unlink(f->path[P_CACHE_A]), 0);
	disable(f, 1, "True");
	assert_false(publish_both(f, 5).incremental);

	assert_int_equal(sqlite3_exec(f->db, "DROP TRIGGER publish_changes_user_upd", NULL, NULL, NULL), SQLITE_OK);
	disable(f, 2, "False"); /* not logged: only a full rebuild sees it */
	assert_false(publish_both(f, 6).incremental);
	disable(f, 2, "True");
	assert_true(publish_both(f, 7).incremental);
	fx_free(f);
}

static long long log_rows(sqlite3 *db)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM publish_changes", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	long long n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void *commit_later(void *writer)
{
	struct timespec pause = {.tv_nsec = 200 * 1000 * 1000};
	nanosleep(&pause, NULL);
	assert_int_equal(sqlite3_exec(writer, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	return NULL;
}

/* A prune after an incremental publish must not wait for a SCIM writer holding the lock: it is
 * left for later (1, nothing logged). A waiting prune still waits, so the busy timeout the
 * non-waiting one lowered was restored. */
static void test_prune_never_waits_for_a_writer(void **state)
{
	struct fx *f = fx_new(7);
	struct publish_result res;
	sqlite3 *writer;
	pthread_t t;
	assert_int_equal(publish_engine_run(f->inc, &f->cfg_a, f->db, &f->local, false, &res),
	                 0); /* installs the log */
	op_create_user(f);
	op_create_user(f);
	long long before = log_rows(f->db);
	assert_true(before > 0);
	assert_int_equal(sqlite3_open(f->path[P_STATE], &writer), SQLITE_OK);
	assert_int_equal(sqlite3_exec(writer, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(store_changes_prune(f->db, 1LL << 60, 0, false, 5000), 1);
	assert_int_equal(log_rows(f->db), before);
	assert_int_equal(pthread_create(&t, NULL, commit_later, writer), 0);
	assert_int_equal(store_changes_prune(f->db, 1LL << 60, 0, true, 5000), 0);
	pthread_join(t, NULL);
	assert_int_equal(log_rows(f->db), 0);
	sqlite3_close(writer);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_sequences_match_full_rebuild),
	    cmocka_unit_test(test_prune_never_waits_for_a_writer),
	    cmocka_unit_test(test_doubt_means_full_rebuild),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
