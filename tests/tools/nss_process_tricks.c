/* What programs do to their own descriptors and threads while the NSS module is loaded, for
 * test_nss_hostile.py:
 *
 *   nss_process_tricks fd-reuse CACHE OTHER FIRST SECOND
 *     resolves uid FIRST (the module opens CACHE), then puts OTHER (a file of the program's
 *     own) on the very descriptor number the module holds CACHE on, as a daemon that closes its
 *     descriptors and opens new ones may, and resolves uid SECOND (on pages not read yet).
 *     -> "first NAME:GECOS", "second NAME:GECOS" (or "second none"), "fd OTHER-or-what-it-is"
 *
 *   nss_process_tricks cancel GROUP NAME
 *     a thread resolves GROUP in a loop and is cancelled; then NAME is resolved and a child
 *     forked, under a 10 s alarm (a lock left held would hang both).
 *     -> "cancelled", "forked", "after NAME" (or "after none") */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *label, uid_t uid)
{
	static char buf[16384];
	struct passwd pw, *res = NULL;
	getpwuid_r(uid, &pw, buf, sizeof(buf), &res);
	if (res)
		printf("%s %s:%s\n", label, pw.pw_name, pw.pw_gecos);
	else
		printf("%s none\n", label);
}

/* The descriptor this process holds PATH on, or -1. */
static int fd_of(const char *path)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int found = -1;
	while (d && (e = readdir(d))) {
		char link[320], target[PATH_MAX];
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n > 0 && (target[n] = '\0', !strcmp(target, path)) && atoi(e->d_name) != dirfd(d))
			found = atoi(e->d_name);
	}
	if (d)
		closedir(d);
	return found;
}

static int fd_reuse(const char *cache, const char *other, uid_t first, uid_t uid)
{
	show("first", first);
	int fd = fd_of(cache);
	int mine = open(other, O_RDONLY);
	if (fd < 0 || mine < 0 || dup2(mine, fd) < 0)
		return printf("setup failed: cache fd %d, own fd %d\n", fd, mine), 1;
	close(mine);
	show("second", uid);
	char link[64], target[PATH_MAX] = "";
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	printf("fd %s\n", n > 0 ? (target[n] = '\0', target) : strerror(errno));
	return 0;
}

static const char *group_name;

static void *resolve_forever(void *arg)
{
	static char buf[1 << 20];
	for (;;) {
		struct group g, *r;
		getgrnam_r(group_name, &g, buf, sizeof(buf), &r);
		pthread_testcancel();
	}
	return arg;
}

static int cancel(const char *group, const char *name)
{
	pthread_t t;
	group_name = group;
	alarm(10);
	if (pthread_create(&t, NULL, resolve_forever, NULL))
		return 1;
	usleep(300000);
	pthread_cancel(t);
	pthread_join(t, NULL);
	printf("cancelled\n");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(getpwnam(name) ? 0 : 1);
	int status = 0;
	waitpid(pid, &status, 0);
	printf("forked\n");
	struct passwd *p = getpwnam(name);
	printf("after %s\n", p ? p->pw_name : "none");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "fd-reuse"))
		return fd_reuse(argv[2], argv[3], (uid_t)strtoul(argv[4], NULL, 10), (uid_t)strtoul(argv[5], NULL, 10));
	if (argc == 4 && !strcmp(argv[1], "cancel"))
		return cancel(argv[2], argv[3]);
	fprintf(stderr, "usage: nss_process_tricks fd-reuse CACHE OTHER FIRST SECOND | cancel GROUP NAME\n");
	return 2;
}
