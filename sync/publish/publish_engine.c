/* One publish of cache.db (sync/publish/publish_engine.h). The engine keeps, between publishes, the
 * directory it evaluated (patched from the state.db change log), the accounts it published and
 * that file's generation; an incremental publish diffs the new accounts against them. */
#include "sync/publish/publish_engine.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "sync/publish/cache_writer.h"
#include "sync/publish/dir_patch.h"
#include "sync/rules/accounts.h"
#include "sync/rules/idalloc.h"
#include "sync/store/directory.h"
#include "sync/store/store_changes.h"
#include "sync/store/store_mirror.h"

static const struct entra_logger logger = {"entra-syncd", LOG_DAEMON, true, false};

#define PRUNE_EVERY       4096 /* change log entries between two prunes */
#define PRUNE_FORCE_AFTER (16 * PRUNE_EVERY)

struct publish_engine {
	bool valid; /* dir, idx and acc describe the cache.db of GENERATION, at log position SEQ */
	const struct entra_config *cfg;
	struct directory dir;
	struct dir_index idx;
	struct accounts acc;
	struct cache_packs packs;   /* acc's groups' packed member names, as written */
	struct dir_garbage garbage; /* strings acc may still point at */
	long long seq, pruned, generation;
	struct idalloc ids;
	bool ids_loaded;
	long long ids_generation; /* a follower's mirrored allocations (store_mirror.h) */
	publish_more_fn more;     /* see publish_engine_on_more */
	void *more_arg;
	bool deferred;                           /* the last incremental publish was not written */
	uint64_t findings;                       /* hash of the last findings logged */
	const struct entra_config *findings_cfg; /* ... and the config they were logged for */
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct publish_engine *publish_engine_new(void)
{
	return calloc(1, sizeof(struct publish_engine));
}

static void state_drop(struct publish_engine *e)
{
	cache_packs_free(&e->packs);
	accounts_free(&e->acc);
	dir_index_free(&e->idx);
	directory_free(&e->dir);
	dir_garbage_free(&e->garbage);
	e->valid = false;
}

void publish_engine_free(struct publish_engine *e)
{
	if (!e)
		return;
	state_drop(e);
	idalloc_free(&e->ids);
	free(e);
}

void publish_engine_on_more(struct publish_engine *e, publish_more_fn more, void *arg)
{
	e->more = more, e->more_arg = arg;
}

/* Loads the uid allocations once per range: on a hub they change through this engine, on a
 * follower they arrive through the change log (ids_apply), and all of them are reloaded only
 * when the mirror replaced them with a snapshot (its generation counter moved). */
static int ids_ready(struct publish_engine *e, const struct entra_config *cfg, sqlite3 *db)
{
	long long gen = 0;
	if (entra_config_follower(cfg) && store_mirror_ids_generation(db, &gen) != 0)
		return -1;
	if (e->ids_loaded && idalloc_ranges_are(&e->ids, cfg) && e->ids_generation == gen)
		return 0;
	idalloc_free(&e->ids);
	e->ids_loaded = idalloc_load_config(db, cfg, &e->ids) == 0;
	e->ids_generation = gen;
	return e->ids_loaded ? 0 : -1;
}

/* Allocations the change log brought (a follower's from its hub; a hub's own, already known). */
static int ids_apply(struct publish_engine *e, const struct store_changes *ch)
{
	for (size_t i = 0; e->ids_loaded && i < ch->n_ids; i++)
		if (idalloc_add(&e->ids, ch->ids[i].key, ch->ids[i].id))
			return -1;
	return 0;
}

/* The connection allocations are written with: none on a follower (its hub allocates). */
static sqlite3 *allocator(const struct entra_config *cfg, sqlite3 *db)
{
	return entra_config_follower(cfg) ? NULL : db;
}

/* Logs refused users, ambiguous rule names and missing role groups when they change. */
static void findings_log(struct publish_engine *e, const struct entra_config *cfg, const struct accounts *acc,
                         const struct names_local *local)
{
	uint64_t findings = accounts_findings_hash(acc, cfg, &e->dir, local);
	if (findings != e->findings || cfg != e->findings_cfg) {
		accounts_report(acc, cfg, &e->dir, local);
		e->findings = findings, e->findings_cfg = cfg;
	}
}

static void result_fill(struct publish_result *res, const struct accounts *acc, long long gen)
{
	res->accounts = acc->snap.n_accounts, res->groups = acc->snap.n_groups, res->refused = acc->n_refused;
	res->generation = gen;
}

/* After an incremental publish the prune never waits for the SCIM writer's lock (that wait
 * used to add seconds to a publish under a stream of writes): a busy lock leaves it to the next
 * publish, until the log holds PRUNE_FORCE_AFTER entries. After a full rebuild (NOW) it waits. */
static void prune(struct publish_engine *e, sqlite3 *db, bool now)
{
	long long backlog = e->seq - e->pruned;
	if (!e->valid || (!now && backlog < PRUNE_EVERY))
		return;
	bool wait = now || backlog >= PRUNE_FORCE_AFTER;
	if (store_changes_prune(db, e->seq, STORE_CHANGES_KEEP, wait, PUBLISH_BUSY_TIMEOUT_MS) == 0)
		e->pruned = e->seq;
}

static int run_full(struct publish_engine *e, const struct entra_config *cfg, sqlite3 *db,
                    const struct names_local *local, struct publish_result *res)
{
	struct accounts acc;
	double t0 = now_ms();
	int log = store_changes_install(db);
	state_drop(e);
	if (store_directory_snapshot(db, log == 1, &e->dir, &e->seq) || ids_ready(e, cfg, db)) {
		state_drop(e);
		return -1;
	}
	double t1 = now_ms();
	if (accounts_build(cfg, &e->dir, local, &e->ids, allocator(cfg, db), true, &acc)) {
		state_drop(e);
		return -1;
	}
	findings_log(e, cfg, &acc, local);
	double t2 = now_ms();
	long long prev = cache_generation(cfg->cache_db);
	long long gen = (prev > e->generation ? prev : e->generation) + 1;
	if (cache_write_packed(cfg->cache_db, &acc.snap, gen, &e->packs)) {
		accounts_free(&acc);
		state_drop(e);
		return -1;
	}
	e->acc = acc, e->generation = gen, e->cfg = cfg, e->deferred = false;
	result_fill(res, &acc, gen);
	res->ms_changes = t1 - t0, res->ms_evaluate = t2 - t1, res->ms_write = now_ms() - t2;
	/* Without the change log (or an index) the next publish is a full one again. */
	e->valid = log == 1 && dir_index_build(&e->dir, &e->idx) == 0;
	prune(e, db, true);
	return 0;
}

static size_t change_limit(const struct publish_engine *e)
{
	/* A change costs ~10 us to read and patch, a full reload ~12 us per user (and rewrites every
	 * cache.db row): incremental stays cheaper until a backlog is about the directory's size. */
	return 4096 + e->dir.n_users + e->dir.n_groups;
}

/* 0 published, 1 the caller must rebuild in full, -1 failed (state dropped). */
static int run_incremental(struct publish_engine *e, const struct entra_config *cfg, sqlite3 *db,
                           const struct names_local *local, struct publish_result *res)
{
	struct store_changes ch;
	struct accounts acc;
	double t0 = now_ms();
	int rc = store_changes_read(db, e->seq, change_limit(e), &ch);
	if (rc)
		return 1;
	res->changes = ch.n_users + ch.n_groups + ch.n_members;
	rc = dir_patch_apply(&e->dir, &e->idx, &ch, &e->garbage) || ids_apply(e, &ch);
	long long seq = ch.seq;
	store_changes_free(&ch);
	double t1 = now_ms();
	if (rc || ids_ready(e, cfg, db) ||
	    accounts_build(cfg, &e->dir, local, &e->ids, allocator(cfg, db), true, &acc)) {
		state_drop(e);
		return 1;
	}
	e->seq = seq;
	if (!e->deferred && e->more && e->more(e->more_arg)) {
		/* DIR and SEQ move on; ACC stays what cache.db holds (with the strings it points at). */
		accounts_free(&acc);
		e->deferred = res->deferred = true;
		res->ms_changes = t1 - t0, res->ms_evaluate = now_ms() - t1;
		return 0;
	}
	e->deferred = false;
	findings_log(e, cfg, &acc, local);
	double t2 = now_ms();
	long long gen = e->generation + 1;
	struct cache_packs packs = {0};
	rc = cache_write_delta(cfg->cache_db, &e->acc.snap, &e->packs, e->generation, &acc.snap, gen, &res->rows,
	                       &packs);
	res->incremental = rc == 0;
	if (rc == 1) {
		entra_log(&logger, LOG_NOTICE, "%s is not the generation %lld entra-syncd wrote; writing it in full",
		          cfg->cache_db, e->generation);
		long long prev = cache_generation(cfg->cache_db);
		gen = (prev > e->generation ? prev : e->generation) + 1;
		rc = cache_write_packed(cfg->cache_db, &acc.snap, gen, &packs);
	}
	cache_packs_free(&e->packs);
	accounts_free(&e->acc);
	dir_garbage_free(&e->garbage);
	e->acc = acc, e->packs = packs;
	if (rc) {
		state_drop(e);
		return -1;
	}
	e->generation = gen;
	result_fill(res, &acc, gen);
	res->ms_changes = t1 - t0, res->ms_evaluate = t2 - t1, res->ms_write = now_ms() - t2;
	prune(e, db, false);
	return 0;
}

int publish_engine_run(struct publish_engine *e, const struct entra_config *cfg, sqlite3 *db,
                       const struct names_local *local, bool full, struct publish_result *res)
{
	memset(res, 0, sizeof(*res));
	if (!full && e->valid && e->cfg == cfg) {
		int rc = run_incremental(e, cfg, db, local, res);
		if (rc <= 0)
			return rc;
		memset(res, 0, sizeof(*res));
	}
	return run_full(e, cfg, db, local, res);
}
