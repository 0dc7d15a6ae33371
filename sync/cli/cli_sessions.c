/* entra-sync sessions [--watch]: which sessions [accounts] end_sessions ends. Without --watch
 * it lists them (a dry run: nothing is signalled); with --watch it is the watcher. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sync/cli/cli.h"
#include "sync/sessions/end.h"
#include "sync/sessions/logind.h"
#include "sync/sessions/procs.h"
#include "sync/sessions/sessions.h"
#include "sync/sessions/watch.h"

static int usage(void)
{
	fprintf(stderr, "usage: entra-sync [-c FILE] sessions [--watch [--interval SECONDS] [--grace SECONDS]]\n"
	                "  without --watch: list the processes of disabled accounts it would end (nothing is "
	                "signalled)\n");
	return 2;
}

static int seconds(const char *text, int max, int *out)
{
	char *end;
	long v = strtol(text, &end, 10);
	if (*end || end == text || v < 1 || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

static void list_one(const struct sessions_proc *p, const struct sessions_target *t, void *arg)
{
	printf("%s\tuid %u\t%s\tpid %d (%s)\n", t->name, (unsigned)t->uid, sessions_reason_text(t->reason), (int)p->pid,
	       p->comm);
	++*(long *)arg;
}

/* The dry run: cache.db has no memory of deleted accounts, so only disabled ones are listed. */
static int dry_run(const struct entra_config *cfg)
{
	struct sessions_snapshot none = {0}, cur;
	struct sessions_local local;
	struct sessions_targets targets = {0};
	char why[512];
	if (sessions_snapshot_read(cfg->cache_db, cfg->uid_min, cfg->uid_max, (long long)(time(NULL) / 86400), &cur,
	                           why, sizeof(why))) {
		fprintf(stderr, "entra-sync: %s: %s\n", cfg->cache_db, why);
		return 1;
	}
	if (sessions_local_read(SESSIONS_PASSWD, &local, why, sizeof(why))) {
		fprintf(stderr, "entra-sync: %s\n", why);
		sessions_snapshot_free(&cur);
		return 1;
	}
	struct sessions_policy policy = {.uid_min = cfg->uid_min, .uid_max = cfg->uid_max, .local = &local};
	long found = 0;
	int rc = sessions_decide(&none, &cur, &policy, &targets) ? 1 : 0;
	if (!rc && sessions_procs_each(&targets, list_one, &found) < 0)
		fprintf(stderr, "entra-sync: cannot read /proc\n"), rc = 1;
	if (!rc && !found)
		printf("no process of a disabled account runs (%zu disabled account(s) in %s)\n", targets.n,
		       cfg->cache_db);
	struct sessions_logind *l = sessions_logind_connect(why, sizeof(why));
	fprintf(stderr, "entra-sync: %s; end_sessions = %s\n", l ? "systemd-logind runs" : why,
	        cfg->end_sessions ? "yes" : "no");
	sessions_logind_close(l);
	sessions_targets_free(&targets);
	sessions_local_free(&local);
	sessions_snapshot_free(&cur);
	return rc;
}

int cli_sessions(struct cli_ctx *ctx, int argc, char **argv)
{
	struct sessions_watch_opts o = {
	    .cfg = ctx->cfg, .interval_s = SESSIONS_INTERVAL_S_DEFAULT, .grace_ms = SESSIONS_GRACE_MS_DEFAULT};
	int watch = 0, grace_s = SESSIONS_GRACE_MS_DEFAULT / 1000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--watch"))
			watch = 1;
		else if (!strcmp(argv[i], "--interval") && i + 1 < argc && !seconds(argv[i + 1], 3600, &o.interval_s))
			i++;
		else if (!strcmp(argv[i], "--grace") && i + 1 < argc && !seconds(argv[i + 1], 600, &grace_s))
			i++;
		else
			return usage();
	}
	o.grace_ms = grace_s * 1000;
	if (!watch)
		return dry_run(ctx->cfg);
	if (!ctx->cfg->end_sessions) {
		fprintf(stderr,
		        "entra-sync: [accounts] end_sessions is not yes in %s: set it to yes to end the "
		        "sessions of disabled accounts, or stop entra-sessions.service\n",
		        ctx->config_path);
		return 1;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "entra-sync: sessions --watch signals other users' processes: run it as root "
		                "(systemctl enable --now entra-sessions.service)\n");
		return 1;
	}
	return sessions_watch(&o);
}
