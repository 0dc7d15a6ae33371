/* Unit tests for sync/sessions: which uids' sessions end (the decision), what is never touched,
 * reading cache.db as entra-syncd publishes it, /etc/passwd, /proc/PID/status, and signalling
 * a real child process by pidfd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sync/publish/cache_writer.h"
#include "sync/sessions/procs.h"
#include "sync/sessions/sessions.h"

#define MIN 200000u
#define MAX 300000u

/* Builds a snapshot from "name:uid[:d]" items ("d" = disabled), in uid order. */
static void snap(struct sessions_snapshot *s, const char *const *items, size_t n)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < n; i++) {
		char name[64];
		unsigned uid;
		char flag = 0;
		assert_true(sscanf(items[i], "%63[^:]:%u:%c", name, &uid, &flag) >= 2);
		assert_int_equal(sessions_snapshot_add(s, uid, flag == 'd', name), 0);
	}
}

#define SNAP(s, ...)                                                                                                   \
	do {                                                                                                           \
		static const char *const items_[] = {__VA_ARGS__};                                                     \
		snap(s, items_, sizeof(items_) / sizeof(items_[0]));                                                   \
	} while (0)

static const struct sessions_policy open_policy = {.uid_min = MIN, .uid_max = MAX};

static void expect_targets(const struct sessions_targets *t, const char *want)
{
	char got[512] = "";
	for (size_t i = 0; i < t->n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s:%u:%c", i ? " " : "", t->v[i].name,
		         (unsigned)t->v[i].uid, t->v[i].reason == SESSIONS_DISABLED ? 'd' : 'r');
	if (strcmp(got, want))
		fail_msg("targets '%s', expected '%s'", got, want);
}

static void disabled_and_removed_accounts_are_ended(void **state)
{
	struct sessions_snapshot prev, cur;
	struct sessions_targets t = {0};
	SNAP(&prev, "alice:200001", "bob:200002", "carol:200003", "dave:200004");
	SNAP(&cur, "alice:200001:d", "bob:200002", "dave:200004");
	assert_int_equal(sessions_decide(&prev, &cur, &open_policy, &t), 0);
	expect_targets(&t, "alice:200001:d carol:200003:r");
	sessions_targets_free(&t);
	sessions_snapshot_free(&prev);
	sessions_snapshot_free(&cur);
}

static void nothing_changed_nothing_ended(void **state)
{
	struct sessions_snapshot prev, cur;
	struct sessions_targets t = {0};
	SNAP(&prev, "alice:200001", "bob:200002");
	SNAP(&cur, "alice:200001", "bob:200002", "erin:200005");
	assert_int_equal(sessions_decide(&prev, &cur, &open_policy, &t), 0);
	assert_int_equal(t.n, 0);
	sessions_snapshot_free(&prev);
	sessions_snapshot_free(&cur);
	sessions_targets_free(&t);
}

/* A watcher that starts (or restarts) after the disable still ends the disabled account's
 * sessions: cache.db says so itself. */
static void disabled_at_start_is_ended(void **state)
{
	struct sessions_snapshot none = {0}, cur;
	struct sessions_targets t = {0};
	SNAP(&cur, "alice:200001:d", "bob:200002");
	assert_int_equal(sessions_decide(&none, &cur, &open_policy, &t), 0);
	expect_targets(&t, "alice:200001:d");
	sessions_snapshot_free(&cur);
	sessions_targets_free(&t);
}

static void never_uid_0_out_of_range_or_local(void **state)
{
	struct sessions_snapshot prev, cur;
	struct sessions_targets t = {0};
	char path[] = "/tmp/test_sessions_passwd.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	static const char passwd[] = "root:x:0:0:root:/root:/bin/bash\n"
	                             "ops:x:1000:1000::/home/ops:/bin/bash\n"
	                             "svc:x:200007:200007::/nonexistent:/usr/sbin/nologin\n"
	                             "mallory:x:1001:1001::/home/mallory:/bin/bash\n";
	assert_int_equal(write(fd, passwd, sizeof(passwd) - 1), (ssize_t)(sizeof(passwd) - 1));
	close(fd);
	struct sessions_local local;
	char why[256];
	assert_int_equal(sessions_local_read(path, &local, why, sizeof(why)), 0);
	unlink(path);
	assert_int_equal(local.n, 4);
	struct sessions_policy policy = {.uid_min = MIN, .uid_max = MAX, .local = &local};
	/* below and above the range, a local uid in the range, a local name with an Entra uid, the
	 * name root, and one ordinary account that is ended */
	SNAP(&prev, "low:199999", "mallory:200006", "svc:200007", "root:200008", "zed:200009", "high:300001");
	SNAP(&cur, "low:199999:d", "mallory:200006:d", "svc:200007:d", "root:200008:d", "high:300001:d");
	assert_int_equal(sessions_decide(&prev, &cur, &policy, &t), 0);
	expect_targets(&t, "zed:200009:r");
	assert_false(sessions_policy_allows(&policy, 0, "alice"));
	assert_false(sessions_policy_allows(&(struct sessions_policy){.uid_min = 0, .uid_max = MAX}, 0, NULL));
	assert_true(sessions_policy_allows(&policy, MIN, "alice"));
	assert_true(sessions_policy_allows(&policy, MAX, "alice"));
	sessions_local_free(&local);
	sessions_snapshot_free(&prev);
	sessions_snapshot_free(&cur);
	sessions_targets_free(&t);
}

/* A removed account stays a target round after round (processes that survive, or appear),
 * and stops being one the moment it is back. */
static void removed_accounts_are_remembered_until_back(void **state)
{
	struct sessions_snapshot known, cur, back;
	struct sessions_targets t = {0};
	SNAP(&known, "alice:200001", "bob:200002");
	SNAP(&cur, "bob:200002");
	assert_int_equal(sessions_decide(&known, &cur, &open_policy, &t), 0);
	expect_targets(&t, "alice:200001:r");
	assert_int_equal(sessions_remember(&cur, &t, &known), 0);
	assert_int_equal(known.n, 2);
	assert_int_equal(sessions_decide(&known, &cur, &open_policy, &t), 0);
	expect_targets(&t, "alice:200001:r");
	assert_int_equal(sessions_remember(&cur, &t, &known), 0);
	SNAP(&back, "alice:200001", "bob:200002");
	assert_int_equal(sessions_decide(&known, &back, &open_policy, &t), 0);
	assert_int_equal(t.n, 0);
	assert_int_equal(sessions_remember(&back, &t, &known), 0);
	assert_int_equal(known.n, 2);
	assert_false(known.v[0].disabled);
	sessions_snapshot_free(&known);
	sessions_snapshot_free(&cur);
	sessions_snapshot_free(&back);
	sessions_targets_free(&t);
}

static void snapshot_rejects_uids_out_of_order(void **state)
{
	struct sessions_snapshot s = {0};
	assert_int_equal(sessions_snapshot_add(&s, 200002, false, "b"), 0);
	assert_int_equal(sessions_snapshot_add(&s, 200002, false, "b2"), -1);
	assert_int_equal(sessions_snapshot_add(&s, 200001, false, "a"), -1);
	assert_non_null(sessions_snapshot_find(&s, 200002));
	assert_null(sessions_snapshot_find(&s, 200001));
	sessions_snapshot_free(&s);
}

/* cache.db as entra-syncd's writer publishes it, read through the hardened reader. */
static void reads_cache_db_as_published(void **state)
{
	char dir[] = "/tmp/test_sessions.XXXXXX", path[64], home[] = "/home/x";
	assert_non_null(mkdtemp(dir));
	chmod(dir, 0755);
	snprintf(path, sizeof(path), "%s/cache.db", dir);
	struct cache_account a[3] = {
	    {.name = "alice", .uid = 200001, .expire = 1},
	    {.name = "bob", .uid = 200002, .expire = -1},
	    {.name = "carol", .uid = 200003, .expire = 20000}, /* an expiry day in 2024: passed */
	};
	for (int i = 0; i < 3; i++) {
		a[i].gecos = a[i].name, a[i].dir = home, a[i].shell = "/bin/sh", a[i].upn = "u@contoso.com";
		a[i].scim_id = "s", a[i].role = "user", a[i].login = 1;
	}
	struct cache_snapshot cs = {.accounts = a, .n_accounts = 3, .host = "web-01", .uid_min = MIN, .uid_max = MAX};
	assert_int_equal(cache_write(path, &cs, 1), 0);
	struct sessions_snapshot s;
	char why[256] = "";
	assert_int_equal(sessions_snapshot_read(path, MIN, MAX, 20500, &s, why, sizeof(why)), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.v[0].name, "alice");
	assert_true(s.v[0].disabled);
	assert_false(s.v[1].disabled);
	assert_true(s.v[2].disabled);
	sessions_snapshot_free(&s);
	/* only the configured range */
	assert_int_equal(sessions_snapshot_read(path, 200002, 200002, 20500, &s, why, sizeof(why)), 0);
	assert_int_equal(s.n, 1);
	sessions_snapshot_free(&s);
	unlink(path);
	/* a missing cache is an error, never an empty snapshot (which would mean "everyone left") */
	assert_int_equal(sessions_snapshot_read(path, MIN, MAX, 20500, &s, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "does not exist"));
	rmdir(dir);
}

static void parses_proc_status(void **state)
{
	struct sessions_proc p;
	const char *text = "Name:\tsshd\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t42\n"
	                   "Uid:\t200001\t200001\t200001\t200001\nGid:\t200001\t200001\t200001\t200001\n";
	assert_int_equal(sessions_status_parse(text, &p), 0);
	assert_string_equal(p.comm, "sshd");
	assert_int_equal(p.ruid, 200001);
	assert_int_equal(p.fsuid, 200001);
	assert_int_equal(sessions_status_parse("Name:\tx\n", &p), -1);
	assert_int_equal(sessions_status_parse("Name:\tx\nUid:\t1\t2\n", &p), -1);
	assert_int_equal(sessions_status_parse("Name:\tx\nUid:\t1\t2\t3\t99999999999\n", &p), -1);
	assert_false(p.dead);
	assert_int_equal(sessions_status_parse("Name:\tsh\nState:\tZ (zombie)\nUid:\t1\t1\t1\t1\n", &p), 0);
	assert_true(p.dead);
	/* a name with a terminal escape is logged as printable text */
	assert_int_equal(sessions_status_parse("Name:\t\033[2Jevil\nUid:\t1\t1\t1\t1\n", &p), 0);
	assert_null(strchr(p.comm, '\033'));
}

/* A process with uid 0 in any of its uids (a setuid program, su, sudo) is never a target. */
static void root_processes_are_never_targets(void **state)
{
	struct sessions_target one = {.uid = 200001, .name = "alice"};
	struct sessions_targets t = {.v = &one, .n = 1};
	struct sessions_proc p = {.pid = 42, .ruid = 200001, .euid = 200001, .suid = 200001, .fsuid = 200001};
	assert_ptr_equal(sessions_proc_target(&p, &t), &one);
	p.euid = 0;
	assert_null(sessions_proc_target(&p, &t));
	p.euid = 200001, p.suid = 0;
	assert_null(sessions_proc_target(&p, &t));
	p = (struct sessions_proc){.ruid = 200002, .euid = 200001, .suid = 200001, .fsuid = 200001};
	assert_ptr_equal(sessions_proc_target(&p, &t), &one);
	p.euid = 200002;
	assert_null(sessions_proc_target(&p, &t));
	/* a zombie has nothing left to end (and signalling it would log a kill that did nothing) */
	p = (struct sessions_proc){.ruid = 200001, .euid = 200001, .suid = 200001, .fsuid = 200001, .dead = true};
	assert_null(sessions_proc_target(&p, &t));
}

/* The uids of PID as /proc says, after the child has switched (0 when it cannot be read). */
static uint32_t ruid_of(pid_t pid)
{
	char path[64], text[4096];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
	if (f)
		fclose(f);
	text[n] = '\0';
	struct sessions_proc p;
	return n && !sessions_status_parse(text, &p) ? p.ruid : 0;
}

/* A real child running as an account's uid (root switches it to one; anyone else uses its own):
 * signalled as that account's, never as another's, never after it is gone. */
static void signals_only_a_process_of_the_target(void **state)
{
	uid_t uid = getuid() == 0 ? 200077 : getuid();
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		if (getuid() == 0 && setresuid(uid, uid, uid))
			_exit(1);
		pause();
		_exit(0);
	}
	for (int i = 0; i < 500 && ruid_of(child) != uid; i++)
		usleep(10000);
	assert_int_equal(ruid_of(child), uid);
	struct sessions_target mine = {.uid = uid, .name = "me"}, other = {.uid = uid + 1, .name = "x"};
	struct sessions_proc p = {.pid = child};
	static const int term[] = {SIGTERM};
	assert_int_equal(sessions_proc_signal(&p, &other, term, 1), -1);
	assert_int_equal(sessions_proc_signal(&p, &mine, term, 1), 0);
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM);
	assert_int_equal(sessions_proc_signal(&p, &mine, term, 1), -1);
}

/* Root's own processes (this test, when run as root) are never a target's. */
static void a_root_child_is_never_signalled(void **state)
{
	if (getuid() != 0)
		skip();
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	struct sessions_target root = {.uid = 0, .name = "root"};
	struct sessions_proc p = {.pid = child};
	static const int term[] = {SIGTERM};
	assert_int_equal(sessions_proc_signal(&p, &root, term, 1), -1);
	kill(child, SIGKILL);
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_int_equal(WTERMSIG(status), SIGKILL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(disabled_and_removed_accounts_are_ended),
	    cmocka_unit_test(nothing_changed_nothing_ended),
	    cmocka_unit_test(disabled_at_start_is_ended),
	    cmocka_unit_test(never_uid_0_out_of_range_or_local),
	    cmocka_unit_test(removed_accounts_are_remembered_until_back),
	    cmocka_unit_test(snapshot_rejects_uids_out_of_order),
	    cmocka_unit_test(reads_cache_db_as_published),
	    cmocka_unit_test(parses_proc_status),
	    cmocka_unit_test(root_processes_are_never_targets),
	    cmocka_unit_test(signals_only_a_process_of_the_target),
	    cmocka_unit_test(a_root_child_is_never_signalled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
