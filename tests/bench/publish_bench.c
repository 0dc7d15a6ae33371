/* Times publications of N provisioned users through the real store and publish engine: one full
 * rebuild, then ROUNDS incremental ones, each after one new user joins the rule's group (what the
 * visibility benchmark does over SCIM).
 * Usage: publish_bench N ROUNDS DIR -> one line per publish on stderr, a summary on stdout:
 * "full_ms=... incr_p50_ms=... incr_max_ms=... changes_ms=... evaluate_ms=... write_ms=..." */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/config.h"
#include "sync/publish/publish_engine.h"
#include "sync/rules/idalloc.h"
#include "sync/rules/names.h"
#include "sync/store/store.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what)
{
	fprintf(stderr, "publish_bench: %s\n", what);
	exit(1);
}

static void add_user(struct store *st, size_t i, char id[STORE_ID_LEN + 1])
{
	char upn[64], ext[64], now[STORE_TIME_LEN];
	snprintf(upn, sizeof(upn), "user%zu@contoso.com", i);
	snprintf(ext, sizeof(ext), "%08zx-0000-4000-8000-000000000000", i);
	json_t *u = json_pack("{s:s,s:s,s:b,s:s}", "userName", upn, "externalId", ext, "active", 1, "displayName", upn);
	store_now(now);
	if (store_new_id(id) || store_insert(st, SCIM_USER, id, u, now) != STORE_OK)
		die("insert user");
	json_decref(u);
}

static void add_group(struct store *st, const char *name, char id[STORE_ID_LEN + 1])
{
	char now[STORE_TIME_LEN];
	json_t *g = json_pack("{s:s}", "displayName", name);
	store_now(now);
	if (store_new_id(id) || store_insert(st, SCIM_GROUP, id, g, now) != STORE_OK)
		die("insert group");
	json_decref(g);
}

static void fill(struct store *st, size_t n, char (*groups)[STORE_ID_LEN + 1])
{
	char uid[STORE_ID_LEN + 1], name[32];
	if (store_begin(st, true))
		die("begin");
	add_group(st, "Linux Users", groups[0]);
	for (size_t g = 1; g < 1000; g++) {
		snprintf(name, sizeof(name), "Team %zu", g);
		add_group(st, name, groups[g]);
	}
	for (size_t i = 0; i < n; i++) {
		add_user(st, i, uid);
		if (store_member_set(st, groups[0], uid, true) || store_member_set(st, groups[1 + i % 999], uid, true))
			die("member");
	}
	if (store_commit(st))
		die("commit");
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	char err[256], path[512], text[1024];
	char(*groups)[STORE_ID_LEN + 1] = calloc(1000, STORE_ID_LEN + 1);
	struct entra_config cfg;
	struct names_local local;
	struct publish_result res;
	sqlite3 *db;
	if (argc != 4)
		return fprintf(stderr, "usage: publish_bench N ROUNDS DIR\n"), 2;
	size_t n = strtoul(argv[1], NULL, 10), rounds = strtoul(argv[2], NULL, 10);
	snprintf(text, sizeof(text),
	         "[accounts]\nhost = web-01\ncache_db = %s/cache.db\n[sync]\nstate_db = %s/state.db\n"
	         "[role user]\nrank = 10\n[rule everyone]\ngroups = Linux Users\nrole = user\nous = global\n",
	         argv[3], argv[3]);
	if (entra_config_parse("bench.conf", text, &cfg, err, sizeof(err)))
		return fprintf(stderr, "%s\n", err), 1;
	struct store *st = store_open(cfg.state_db, err, sizeof(err));
	if (!st || names_local_load("/etc/passwd", "/etc/group", &local))
		die(err);
	fill(st, n, groups);
	snprintf(path, sizeof(path), "%s", cfg.state_db);
	if (sqlite3_open(path, &db) || idalloc_init_schema(db) ||
	    sqlite3_exec(db, "PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456", NULL, NULL, NULL))
		die("open state.db");
	struct publish_engine *e = publish_engine_new();
	double t0 = now_ms();
	if (publish_engine_run(e, &cfg, db, &local, false, &res) || publish_engine_run(e, &cfg, db, &local, true, &res))
		die("full publish");
	double full = (now_ms() - t0) / 2, *incr = calloc(rounds + 1, sizeof(double));
	double phases[3] = {0, 0, 0};
	for (size_t r = 0; r < rounds; r++) {
		char uid[STORE_ID_LEN + 1];
		if (store_begin(st, true))
			die("begin");
		add_user(st, n + r, uid);
		if (store_member_set(st, groups[0], uid, true) || store_commit(st))
			die("member");
		t0 = now_ms();
		if (publish_engine_run(e, &cfg, db, &local, false, &res) || !res.incremental)
			die("incremental publish");
		incr[r] = now_ms() - t0;
		phases[0] += res.ms_changes, phases[1] += res.ms_evaluate, phases[2] += res.ms_write;
		fprintf(stderr, "round %zu: %.1f ms (%zu changes, %zu rows, %zu accounts)\n", r, incr[r], res.changes,
		        res.rows, res.accounts);
	}
	qsort(incr, rounds, sizeof(double), dbl_cmp);
	printf("full_ms=%.0f incr_p50_ms=%.1f incr_max_ms=%.1f changes_ms=%.1f evaluate_ms=%.1f write_ms=%.1f\n", full,
	       rounds ? incr[rounds / 2] : 0, rounds ? incr[rounds - 1] : 0, phases[0] / (rounds ? rounds : 1),
	       phases[1] / (rounds ? rounds : 1), phases[2] / (rounds ? rounds : 1));
	publish_engine_free(e);
	sqlite3_close(db);
	store_close(st);
	names_local_free(&local);
	entra_config_free(&cfg);
	free(incr);
	free(groups);
	return 0;
}
