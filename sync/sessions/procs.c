/* Finding and signalling a uid's processes through /proc. */
#include "sync/sessions/procs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "common/text_safe.h"

#define STATUS_MAX 8192

static const char *field(const char *text, const char *key)
{
	size_t len = strlen(key);
	for (const char *line = text; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
		if (!strncmp(line, key, len))
			return line + len;
	return NULL;
}

int sessions_status_parse(const char *text, struct sessions_proc *p)
{
	const char *name = field(text, "Name:\t"), *uids = field(text, "Uid:\t"), *state = field(text, "State:\t");
	unsigned long v[4];
	char *end;
	if (!name || !uids)
		return -1;
	for (int i = 0; i < 4; i++) {
		while (*uids == '\t' || *uids == ' ')
			uids++;
		if (!isdigit((unsigned char)*uids))
			return -1;
		errno = 0;
		v[i] = strtoul(uids, &end, 10);
		if (errno || v[i] > UINT32_MAX)
			return -1;
		uids = end;
	}
	p->ruid = (uint32_t)v[0], p->euid = (uint32_t)v[1], p->suid = (uint32_t)v[2], p->fsuid = (uint32_t)v[3];
	p->dead = state && (*state == 'Z' || *state == 'X');
	char comm[sizeof(p->comm)];
	size_t len = strcspn(name, "\n");
	snprintf(comm, sizeof(comm), "%.*s", (int)(len < sizeof(comm) ? len : sizeof(comm) - 1), name);
	entra_text_printable(p->comm, sizeof(p->comm), comm);
	return 0;
}

const struct sessions_target *sessions_proc_target(const struct sessions_proc *p, const struct sessions_targets *t)
{
	if (p->dead || !p->ruid || !p->euid || !p->suid || !p->fsuid)
		return NULL;
	const struct sessions_target *hit = sessions_targets_find(t, p->ruid);
	return hit ? hit : sessions_targets_find(t, p->euid);
}

/* Reads /proc/PID/status (relative to the /proc descriptor PROC) into P. */
static int status_read(int proc, pid_t pid, struct sessions_proc *p)
{
	char path[32], text[STATUS_MAX];
	snprintf(path, sizeof(path), "%d/status", (int)pid);
	int fd = openat(proc, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	p->pid = pid;
	return sessions_status_parse(text, p);
}

static pid_t pid_of(const char *name)
{
	char *end;
	if (!isdigit((unsigned char)name[0]))
		return 0;
	long v = strtol(name, &end, 10);
	return *end || v <= 1 || v > SESSIONS_PROCS_MAX ? 0 : (pid_t)v;
}

long sessions_procs_each(const struct sessions_targets *t,
                         void (*fn)(const struct sessions_proc *p, const struct sessions_target *target, void *arg),
                         void *arg)
{
	DIR *dir = opendir("/proc");
	if (!dir)
		return -1;
	pid_t self = getpid();
	long calls = 0, seen = 0;
	struct dirent *de;
	while ((de = readdir(dir)) && seen++ < SESSIONS_PROCS_MAX) {
		pid_t pid = pid_of(de->d_name);
		struct sessions_proc p;
		const struct sessions_target *target;
		if (pid <= 1 || pid == self || status_read(dirfd(dir), pid, &p) ||
		    !(target = sessions_proc_target(&p, t)))
			continue;
		fn(&p, target, arg);
		calls++;
	}
	closedir(dir);
	return calls;
}

int sessions_proc_signal(const struct sessions_proc *p, const struct sessions_target *target, const int *sigs,
                         int nsigs)
{
	int pidfd = pidfd_open(p->pid, 0);
	if (pidfd < 0 && errno != ENOSYS)
		return -1;
	/* After the pidfd: if the pid was reused before it, this reads the new process, which must
	 * pass the same test; if the process ends after it, the pidfd signals nobody. */
	struct sessions_proc again;
	struct sessions_targets one = {.v = (struct sessions_target *)target, .n = 1};
	int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int same = proc >= 0 && !status_read(proc, p->pid, &again) && sessions_proc_target(&again, &one);
	if (proc >= 0)
		close(proc);
	int rc = same ? 0 : -1;
	for (int i = 0; same && i < nsigs && !rc; i++)
		rc = pidfd >= 0 ? pidfd_send_signal(pidfd, sigs[i], NULL, 0) : kill(p->pid, sigs[i]);
	if (pidfd >= 0)
		close(pidfd);
	return rc;
}
