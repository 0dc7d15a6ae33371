/* Times one publish of N provisioned users (AUP evaluation, names, ids, cache.db write) without
 * the SCIM store: the directory is built in memory the way store_directory_load returns it.
 * Usage: aup_bench N DIR  -> prints "first_ms=... steady_ms=... accounts=..." (first = ids
 * allocated in state.db, steady = a later publish with every id known). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../unit/dir_fixture.h"
#include "common/config.h"
#include "sync/publish/cache_writer.h"
#include "sync/rules/accounts.h"

static const char *const policy = "[accounts]\nhost = web-01\n"
                                  "[role admin]\nrank = 30\ngroups = sudo\n[role user]\nrank = 10\n"
                                  "[ou web]\nhosts = web-*\n"
                                  "[rule everyone]\ngroups = Linux Users\nrole = user\nous = global\n"
                                  "[rule admins]\ngroups = Linux Admins, SRE\nrole = admin\nous = web\n";

/* CPU time by default (a loaded CI box makes wall time noisy); AUP_BENCH_WALL=1 for wall time. */
static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(getenv("AUP_BENCH_WALL") ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void directory_fill(struct directory *d, size_t n)
{
	char a[64], b[64];
	fx_group(d, "g-users", "00000000-0000-4000-8000-000000000001", "Linux Users");
	fx_group(d, "g-admins", "00000000-0000-4000-8000-000000000002", "Linux Admins");
	fx_group(d, "g-sre", NULL, "SRE");
	for (size_t g = 3; g < 1000; g++) {
		snprintf(a, sizeof(a), "g-%zu", g);
		snprintf(b, sizeof(b), "Team %zu", g);
		fx_group(d, a, NULL, b);
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(a, sizeof(a), "%08zx-0000-4000-8000-000000000000", i);
		snprintf(b, sizeof(b), "user%zu@contoso.com", i);
		size_t u = fx_user(d, a, a, b, i % 50 != 0);
		fx_member(d, u, 0);
		fx_member(d, u, 3 + i % 997);
		if (i % 100 == 0)
			fx_member(d, u, 1);
	}
}

static double publish(const struct entra_config *cfg, const struct directory *dir, sqlite3 *db, const char *cache,
                      long long gen, size_t *accounts)
{
	struct names_local local;
	struct idalloc ids;
	struct accounts acc;
	double t0 = now_ms();
	if (names_local_load("/etc/passwd", "/etc/group", &local) || idalloc_load(db, cfg->uid_min, cfg->uid_max, &ids))
		exit(1);
	double t1 = now_ms();
	if (accounts_build(cfg, dir, &local, &ids, db, true, &acc))
		exit(1);
	double t2 = now_ms();
	if (cache_write(cache, &acc.snap, gen))
		exit(1);
	double t = now_ms() - t0;
	fprintf(stderr, "load %.0f ms, evaluate %.0f ms, write %.0f ms\n", t1 - t0, t2 - t1, now_ms() - t2);
	*accounts = acc.snap.n_accounts;
	accounts_free(&acc);
	idalloc_free(&ids);
	names_local_free(&local);
	return t;
}

int main(int argc, char **argv)
{
	char err[256], state[512], cache[512];
	struct entra_config cfg;
	struct directory dir = {0};
	sqlite3 *db;
	size_t accounts = 0;
	if (argc != 3)
		return fprintf(stderr, "usage: aup_bench N DIR\n"), 2;
	snprintf(state, sizeof(state), "%s/state.db", argv[2]);
	snprintf(cache, sizeof(cache), "%s/cache.db", argv[2]);
	if (entra_config_parse("bench.conf", policy, &cfg, err, sizeof(err)))
		return fprintf(stderr, "%s\n", err), 1;
	directory_fill(&dir, strtoul(argv[1], NULL, 10));
	if (sqlite3_open(state, &db) || sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) ||
	    idalloc_init_schema(db))
		return 1;
	double first = publish(&cfg, &dir, db, cache, 1, &accounts);
	double steady = publish(&cfg, &dir, db, cache, 2, &accounts);
	printf("first_ms=%.0f steady_ms=%.0f accounts=%zu\n", first, steady, accounts);
	sqlite3_close(db);
	directory_free(&dir);
	entra_config_free(&cfg);
	return 0;
}
