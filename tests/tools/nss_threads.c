/* 8 threads resolving accounts and a group through glibc (nsswitch -> libnss_scim) in a loop while
 * the test republishes cache.db. Every account userN exists in every published generation with
 * uid 200001+N, gecos "User N,uid=UID,gen=G" and home /home/userN, and group "team" (gid 300001)
 * lists user0..userK in order, so a torn or mixed entry is detected.
 *
 * With "fork", the main thread meanwhile forks again and again and each child resolves user0 at
 * once, so a lock inherited in the locked state (no pthread_atfork handling) shows up as a child
 * killed by alarm(). (Not under ASan: GCC 12's libasan allocator itself deadlocks in such a child.)
 *
 * With "enum", the main thread meanwhile enumerates passwd (getpwent_r) and group (getgrent_r)
 * over and over: every pass must list each userN exactly once, in uid order, untorn, whichever
 * generations it spans, while the workers' look-ups reopen the cache under it.
 *
 *   nss_threads SECONDS NUSERS [fork|enum]
 *     -> "lookups=L failures=F generations=G forks=K passes=P" */
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define THREADS  8
#define BASE_UID 200001
#define TEAM_GID 300001
#define MAX_GEN  4096

static double deadline;
static int nusers;
static atomic_ulong lookups, failures;
static atomic_bool gen_seen[MAX_GEN];

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void failed(const char *what, int n, const char *detail)
{
	if (atomic_fetch_add(&failures, 1) < 20)
		fprintf(stderr, "nss_threads: %s user%d: %s\n", what, n, detail);
}

static void check_passwd(const char *what, int n, const struct passwd *pw, const struct passwd *res, int rc)
{
	char expect_dir[64], name[32];
	unsigned uid = 0;
	unsigned long gen = 0;
	int user = -1;
	if (!res) {
		char msg[32];
		snprintf(msg, sizeof(msg), "not found (rc %d)", rc);
		failed(what, n, msg);
		return;
	}
	snprintf(expect_dir, sizeof(expect_dir), "/home/user%d", n);
	snprintf(name, sizeof(name), "user%d", n);
	if (sscanf(pw->pw_gecos, "User %d,uid=%u,gen=%lu", &user, &uid, &gen) != 3 || user != n || uid != pw->pw_uid ||
	    pw->pw_uid != (unsigned)(BASE_UID + n) || pw->pw_gid != pw->pw_uid || strcmp(pw->pw_dir, expect_dir) ||
	    strcmp(pw->pw_name, name)) {
		failed(what, n, pw->pw_gecos);
		return;
	}
	if (gen < MAX_GEN)
		atomic_store(&gen_seen[gen], true);
}

static void check_team(const char *what, const struct group *gr, const struct group *res, int rc)
{
	char expect[32];
	int i = 0;
	if (!res || gr->gr_gid != TEAM_GID || strcmp(gr->gr_name, "team")) {
		failed(what, -1, res ? gr->gr_name : "not found");
		return;
	}
	for (char **m = gr->gr_mem; *m; m++, i++) {
		snprintf(expect, sizeof(expect), "user%d", i);
		if (strcmp(*m, expect)) {
			failed(what, i, *m);
			return;
		}
	}
	if (i == 0)
		failed(what, -1, "no members");
}

static void check_groups(int n)
{
	char name[32];
	gid_t groups[64];
	int count = 64;
	snprintf(name, sizeof(name), "user%d", n);
	if (getgrouplist(name, BASE_UID + n, groups, &count) < 0) {
		failed("getgrouplist", n, "too many groups");
		return;
	}
	for (int i = 0; i < count; i++)
		if (groups[i] == TEAM_GID || n != 0)
			return;
	failed("getgrouplist", n, "team missing");
}

static void *worker(void *arg)
{
	unsigned seed = (unsigned)(size_t)arg * 7919u + 1;
	char buf[16384], name[32];
	struct passwd pw, *pwr;
	struct group gr, *grr;
	for (unsigned long i = 0; now() < deadline; i++) {
		int n = (int)(rand_r(&seed) % (unsigned)nusers);
		snprintf(name, sizeof(name), "user%d", n);
		pwr = NULL;
		int rc = getpwnam_r(name, &pw, buf, sizeof(buf), &pwr);
		check_passwd("getpwnam_r", n, &pw, pwr, rc);
		pwr = NULL;
		rc = getpwuid_r((uid_t)(BASE_UID + n), &pw, buf, sizeof(buf), &pwr);
		check_passwd("getpwuid_r", n, &pw, pwr, rc);
		grr = NULL;
		rc = (i & 1) ? getgrnam_r("team", &gr, buf, sizeof(buf), &grr)
		             : getgrgid_r(TEAM_GID, &gr, buf, sizeof(buf), &grr);
		check_team((i & 1) ? "getgrnam_r" : "getgrgid_r", &gr, grr, rc);
		if (i % 16 == 0)
			check_groups(0);
		atomic_fetch_add(&lookups, 3);
	}
	return NULL;
}

/* Forks while the workers hold and release the module's lock; returns the number of forks. */
static unsigned long fork_loop(void)
{
	unsigned long forks = 0;
	while (now() < deadline) {
		pid_t pid = fork();
		if (pid == 0) {
			char buf[4096];
			struct passwd pw, *res = NULL;
			alarm(10); /* a deadlocked child dies instead of hanging the test */
			getpwnam_r("user0", &pw, buf, sizeof(buf), &res);
			_exit(res && pw.pw_uid == BASE_UID ? 0 : 1);
		}
		int status = 0;
		if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
			failed("fork+getpwnam_r", 0, pid < 0 ? "fork failed" : "child failed, hung or crashed");
		forks++;
		usleep(20000);
	}
	return forks;
}

/* One getpwent pass: our users (uid >= BASE_UID) each once, rising, each entry whole. */
static void passwd_pass(void)
{
	char buf[4096];
	struct passwd pw, *res;
	int next = 0;
	setpwent();
	while (getpwent_r(&pw, buf, sizeof(buf), &res) == 0 && res) {
		if (pw.pw_uid < BASE_UID)
			continue; /* /etc/passwd comes first */
		int n = (int)(pw.pw_uid - BASE_UID);
		if (n != next)
			failed("getpwent_r order", n, pw.pw_name);
		check_passwd("getpwent_r", n, &pw, res, 0);
		next = n + 1;
	}
	endpwent();
	if (next != nusers)
		failed("getpwent_r pass ended early at", next, "");
}

/* One getgrent pass: the private groups user0.. in order, then team with valid members. */
static void group_pass(void)
{
	char buf[16384];
	struct group gr, *res;
	int next = 0, teams = 0;
	setgrent();
	while (getgrent_r(&gr, buf, sizeof(buf), &res) == 0 && res) {
		if (gr.gr_gid == TEAM_GID) {
			check_team("getgrent_r", &gr, res, 0);
			teams++;
		} else if (gr.gr_gid >= BASE_UID) {
			char name[32];
			int n = (int)(gr.gr_gid - BASE_UID);
			snprintf(name, sizeof(name), "user%d", n);
			if (n != next || strcmp(gr.gr_name, name) || gr.gr_mem[0])
				failed("getgrent_r private group", n, gr.gr_name);
			next = n + 1;
		}
	}
	endgrent();
	if (next != nusers || teams != 1)
		failed("getgrent_r pass incomplete at", next, teams ? "" : "no team");
}

static unsigned long enum_loop(void)
{
	unsigned long passes = 0;
	while (now() < deadline) {
		passwd_pass();
		group_pass();
		passes++;
	}
	return passes;
}

int main(int argc, char **argv)
{
	bool fork_mode = argc == 4 && !strcmp(argv[3], "fork"), enum_mode = argc == 4 && !strcmp(argv[3], "enum");
	if (argc < 3 || argc > 4 || (nusers = atoi(argv[2])) <= 0 || (argc == 4 && !fork_mode && !enum_mode)) {
		fprintf(stderr, "usage: nss_threads SECONDS NUSERS [fork|enum]\n");
		return 2;
	}
	deadline = now() + atof(argv[1]);
	pthread_t t[THREADS];
	for (size_t i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i)) {
			fprintf(stderr, "nss_threads: cannot start threads\n");
			return 2;
		}
	unsigned long forks = fork_mode ? fork_loop() : 0, passes = enum_mode ? enum_loop() : 0;
	for (size_t i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	unsigned long gens = 0;
	for (size_t g = 0; g < MAX_GEN; g++)
		gens += atomic_load(&gen_seen[g]);
	printf("lookups=%lu failures=%lu generations=%lu forks=%lu passes=%lu\n", atomic_load(&lookups),
	       atomic_load(&failures), gens, forks, passes);
	return atomic_load(&failures) ? 1 : 0;
}
