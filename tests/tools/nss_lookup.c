/* Looks names up through glibc (so through /etc/nsswitch.conf and libnss_scim), one command per
 * stdin line, one answer per stdout line, staying alive between commands so a test can change
 * cache.db underneath a running process, or fork it.
 *
 *   pw NAME | uid UID | gr NAME | gid GID | sp NAME | groups USER
 *   setpw | pwent SIZE | endpw     enumeration through getpwent_r with a SIZE-byte buffer
 *                                  ("END" after the last entry, "ERROR ERANGE" when SIZE is short)
 *   fork CMD...     the same command answered by a forked child (parent used the cache first)
 * Answers: "OK <passwd/group/shadow line or gid list>", "NOTFOUND", "ERROR <errno name>". */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <shadow.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char buf[64 * 1024];

static void answer_error(int rc)
{
	if (rc == 0 || rc == ENOENT)
		printf("NOTFOUND\n");
	else
		printf("ERROR %s\n", strerrorname_np(rc) ? strerrorname_np(rc) : "unknown");
}

static void print_group(const struct group *g)
{
	printf("OK %s:%s:%u:", g->gr_name, g->gr_passwd, g->gr_gid);
	for (char **m = g->gr_mem; *m; m++)
		printf("%s%s", m == g->gr_mem ? "" : ",", *m);
	printf("\n");
}

static void do_groups(const char *user)
{
	struct passwd pw, *res = NULL;
	int rc = getpwnam_r(user, &pw, buf, sizeof(buf), &res);
	if (!res) {
		answer_error(rc);
		return;
	}
	gid_t groups[256];
	int n = 256;
	if (getgrouplist(user, pw.pw_gid, groups, &n) < 0) {
		printf("ERROR too-many-groups\n");
		return;
	}
	printf("OK");
	for (int i = 0; i < n; i++)
		printf(" %u", groups[i]);
	printf("\n");
}

static void do_pwent(size_t size)
{
	struct passwd pw, *res = NULL;
	if (size == 0 || size > sizeof(buf)) {
		printf("ERROR bad-size\n");
		return;
	}
	int rc = getpwent_r(&pw, buf, size, &res);
	if (res)
		printf("OK %s:%s:%u:%u:%s:%s:%s\n", pw.pw_name, pw.pw_passwd, pw.pw_uid, pw.pw_gid, pw.pw_gecos,
		       pw.pw_dir, pw.pw_shell);
	else if (rc == ENOENT)
		printf("END\n");
	else
		answer_error(rc);
}

static void command(const char *verb, const char *arg)
{
	struct passwd pw, *pwr = NULL;
	struct group gr, *grr = NULL;
	struct spwd sp, *spr = NULL;
	int rc;
	if (!strcmp(verb, "pw") || !strcmp(verb, "uid")) {
		rc = !strcmp(verb, "pw") ? getpwnam_r(arg, &pw, buf, sizeof(buf), &pwr)
		                         : getpwuid_r((uid_t)strtoul(arg, NULL, 10), &pw, buf, sizeof(buf), &pwr);
		if (pwr)
			printf("OK %s:%s:%u:%u:%s:%s:%s\n", pw.pw_name, pw.pw_passwd, pw.pw_uid, pw.pw_gid, pw.pw_gecos,
			       pw.pw_dir, pw.pw_shell);
		else
			answer_error(rc);
	} else if (!strcmp(verb, "gr") || !strcmp(verb, "gid")) {
		rc = !strcmp(verb, "gr") ? getgrnam_r(arg, &gr, buf, sizeof(buf), &grr)
		                         : getgrgid_r((gid_t)strtoul(arg, NULL, 10), &gr, buf, sizeof(buf), &grr);
		if (grr)
			print_group(&gr);
		else
			answer_error(rc);
	} else if (!strcmp(verb, "sp")) {
		rc = getspnam_r(arg, &sp, buf, sizeof(buf), &spr);
		if (spr)
			printf("OK %s:%s:%ld\n", sp.sp_namp, sp.sp_pwdp, sp.sp_expire);
		else
			answer_error(rc);
	} else if (!strcmp(verb, "groups")) {
		do_groups(arg);
	} else if (!strcmp(verb, "setpw")) {
		setpwent();
		printf("OK\n");
	} else if (!strcmp(verb, "pwent")) {
		do_pwent(strtoul(arg, NULL, 10));
	} else if (!strcmp(verb, "endpw")) {
		endpwent();
		printf("OK\n");
	} else {
		printf("ERROR unknown-command\n");
	}
}

static void forked(const char *verb, const char *arg)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		command(verb, arg);
		fflush(stdout);
		_exit(0);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		printf("ERROR child\n");
}

int main(void)
{
	char line[1024];
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		char *save = NULL, *verb = strtok_r(line, " \n", &save), *arg = strtok_r(NULL, " \n", &save);
		if (!verb)
			continue;
		char *arg2 = strtok_r(NULL, " \n", &save);
		if (!strcmp(verb, "fork") && arg)
			forked(arg, arg2 ? arg2 : "");
		else
			command(verb, arg ? arg : "");
	}
	return 0;
}
