/* Calls libnss_scim.so.2's entry points directly (dlopen) with caller buffers of every size from
 * 1 byte up: each size below the one needed must give NSS_STATUS_TRYAGAIN + ERANGE, the first size
 * that fits must give the entry, every pointer must lie inside the buffer, and larger buffers must
 * give the same entry. Each buffer is malloc'd at its exact size so ASan catches any overrun.
 *
 *   nss_buffers MODULE passwd NAME | passwd-uid UID | group NAME | group-gid GID | shadow NAME
 *   nss_buffers MODULE pwent | grent | spent      enumerate, each entry first tried with 1 byte
 *   nss_buffers MODULE pwent-sizes | grent-sizes  enumerate, each entry tried with every size from
 *                                                 0 up until it fits (each one must give ERANGE and
 *                                                 leave the cursor), printed with "size=N"
 *   nss_buffers MODULE initgroups USER PRIMARY LIMIT [GID...]   start the list with GIDs
 * Prints the entries as /etc/passwd-style lines ("size=N" gives the smallest size that worked). */
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <shadow.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BUF (256 * 1024)

static void *module;

static void *sym(const char *name)
{
	void *f = dlsym(module, name);
	if (!f) {
		fprintf(stderr, "missing symbol %s\n", name);
		exit(3);
	}
	return f;
}

union entry {
	struct passwd pw;
	struct group gr;
	struct spwd sp;
};

enum kind { K_PASSWD, K_GROUP, K_SHADOW };

struct query {
	enum kind kind;
	const char *func;
	const char *key; /* name, or NULL when by id */
	unsigned long id;
};

static int in_buf(const char *p, const char *buf, size_t len)
{
	return p && p >= buf && p < buf + len && p + strlen(p) < buf + len;
}

/* Checks that every pointer of E points into BUF; prints a line to OUT. Returns 0 when sane. */
static int entry_format(enum kind kind, const union entry *e, const char *buf, size_t len, char *out, size_t outlen)
{
	int n;
	switch (kind) {
	case K_PASSWD:
		if (!in_buf(e->pw.pw_name, buf, len) || !in_buf(e->pw.pw_passwd, buf, len) ||
		    !in_buf(e->pw.pw_gecos, buf, len) || !in_buf(e->pw.pw_dir, buf, len) ||
		    !in_buf(e->pw.pw_shell, buf, len))
			return -1;
		snprintf(out, outlen, "%s:%s:%u:%u:%s:%s:%s", e->pw.pw_name, e->pw.pw_passwd, e->pw.pw_uid,
		         e->pw.pw_gid, e->pw.pw_gecos, e->pw.pw_dir, e->pw.pw_shell);
		return 0;
	case K_GROUP:
		if (!in_buf(e->gr.gr_name, buf, len) || !in_buf(e->gr.gr_passwd, buf, len) ||
		    (const char *)e->gr.gr_mem < buf || (const char *)e->gr.gr_mem >= buf + len ||
		    (uintptr_t)e->gr.gr_mem % alignof(char *))
			return -1;
		n = snprintf(out, outlen, "%s:%s:%u:", e->gr.gr_name, e->gr.gr_passwd, e->gr.gr_gid);
		for (char **m = e->gr.gr_mem;; m++) {
			if ((const char *)(m + 1) > buf + len)
				return -1;
			if (!*m)
				break;
			if (!in_buf(*m, buf, len))
				return -1;
			n += snprintf(out + n, outlen - (size_t)n, "%s%s", m == e->gr.gr_mem ? "" : ",", *m);
		}
		return 0;
	case K_SHADOW:
		if (!in_buf(e->sp.sp_namp, buf, len) || !in_buf(e->sp.sp_pwdp, buf, len))
			return -1;
		snprintf(out, outlen, "%s:%s:%ld:%ld:%ld:%ld:%ld:%ld:%lu", e->sp.sp_namp, e->sp.sp_pwdp,
		         e->sp.sp_lstchg, e->sp.sp_min, e->sp.sp_max, e->sp.sp_warn, e->sp.sp_inact, e->sp.sp_expire,
		         e->sp.sp_flag);
		return 0;
	}
	return -1;
}

static enum nss_status call(const struct query *q, union entry *e, char *buf, size_t len, int *err)
{
	void *f = sym(q->func);
	if (q->key) {
		enum nss_status (*by_name)(const char *, void *, char *, size_t, int *) = (__typeof__(by_name))f;
		return by_name(q->key, e, buf, len, err);
	}
	enum nss_status (*by_id)(unsigned, void *, char *, size_t, int *) = (__typeof__(by_id))f;
	return by_id((unsigned)q->id, e, buf, len, err);
}

/* Tries sizes 1.. until the entry fits; verifies ERANGE below and stability above. */
static int lookup(const struct query *q)
{
	char first[8192] = "", line[8192];
	size_t fitted = 0;
	for (size_t len = 1; len <= MAX_BUF; len++) {
		char *buf = malloc(len);
		union entry e;
		int err = 0;
		memset(&e, 0, sizeof(e));
		enum nss_status st = call(q, &e, buf, len, &err);
		if (st == NSS_STATUS_TRYAGAIN && err == ERANGE && !fitted) {
			free(buf);
			continue;
		}
		if (st != NSS_STATUS_SUCCESS) {
			printf("%s status=%d errno=%d size=%zu%s\n", fitted ? "UNSTABLE" : "FAIL", st, err, len,
			       st == NSS_STATUS_NOTFOUND ? " notfound" : "");
			free(buf);
			return fitted ? 1 : (st == NSS_STATUS_NOTFOUND ? 2 : 1);
		}
		if (entry_format(q->kind, &e, buf, len, line, sizeof(line))) {
			printf("OUT-OF-BUFFER size=%zu\n", len);
			free(buf);
			return 1;
		}
		free(buf);
		if (!fitted) {
			fitted = len;
			snprintf(first, sizeof(first), "%s", line);
		} else if (strcmp(first, line)) {
			printf("UNSTABLE size=%zu %s\n", len, line);
			return 1;
		}
		if (len >= fitted + 64)
			break;
	}
	if (!fitted) {
		printf("NEVER-FITS\n");
		return 1;
	}
	printf("%s\nsize=%zu\n", first, fitted);
	return 0;
}

/* The module's set/get/end*ent entry points of database DB (pw, gr, sp). */
struct enumerator {
	enum nss_status (*set)(int);
	enum nss_status (*get)(void *, char *, size_t, int *);
	enum nss_status (*end)(void);
};

static struct enumerator enumerator_of(const char *db)
{
	char name[64];
	struct enumerator en;
	snprintf(name, sizeof(name), "_nss_scim_set%sent", db);
	en.set = (__typeof__(en.set))sym(name);
	snprintf(name, sizeof(name), "_nss_scim_get%sent_r", db);
	en.get = (__typeof__(en.get))sym(name);
	snprintf(name, sizeof(name), "_nss_scim_end%sent", db);
	en.end = (__typeof__(en.end))sym(name);
	return en;
}

/* Enumerates with set/get/end*ent; each entry is first asked for with a 1-byte buffer, which must
 * give ERANGE and leave the cursor where it was. */
static int enumerate(enum kind kind, const char *db)
{
	char line[8192];
	struct enumerator en = enumerator_of(db);
	enum nss_status (*set)(int) = en.set, (*end)(void) = en.end;
	enum nss_status (*get)(void *, char *, size_t, int *) = en.get;
	static char big[MAX_BUF];
	char tiny[1];
	union entry e;
	int err = 0;
	set(0);
	for (int count = 0; count < 1000000; count++) {
		enum nss_status st = get(&e, tiny, sizeof(tiny), &err);
		if (st == NSS_STATUS_NOTFOUND)
			break;
		if (st != NSS_STATUS_TRYAGAIN || err != ERANGE) {
			printf("FAIL tiny status=%d errno=%d\n", st, err);
			return 1;
		}
		st = get(&e, big, sizeof(big), &err);
		if (st != NSS_STATUS_SUCCESS || entry_format(kind, &e, big, sizeof(big), line, sizeof(line))) {
			printf("FAIL status=%d errno=%d\n", st, err);
			return 1;
		}
		printf("%s\n", line);
	}
	end();
	return 0;
}

/* Enumerates with each entry asked for with buffers of 0, 1, 2, ... bytes (malloc'd at exact
 * size, so ASan sees any overrun) until it fits: every smaller one must give ERANGE. */
static int enumerate_sizes(enum kind kind, const char *db)
{
	char line[8192];
	struct enumerator en = enumerator_of(db);
	enum nss_status (*set)(int) = en.set, (*end)(void) = en.end;
	enum nss_status (*get)(void *, char *, size_t, int *) = en.get;
	union entry e;
	int err = 0;
	set(0);
	for (int count = 0; count < 100000; count++) {
		size_t len = 0;
		enum nss_status st;
		char *buf;
		for (;; len++) {
			buf = malloc(len ? len : 1);
			st = get(&e, buf, len, &err);
			if (st != NSS_STATUS_TRYAGAIN || err != ERANGE || len == MAX_BUF)
				break;
			free(buf);
		}
		if (st == NSS_STATUS_NOTFOUND && len == 0) {
			free(buf);
			break;
		}
		if (st != NSS_STATUS_SUCCESS || entry_format(kind, &e, buf, len, line, sizeof(line))) {
			printf("FAIL status=%d errno=%d size=%zu\n", st, err, len);
			free(buf);
			return 1;
		}
		printf("%s size=%zu\n", line, len);
		free(buf);
	}
	end();
	return 0;
}

static int do_initgroups(int argc, char **argv)
{
	enum nss_status (*f)(const char *, gid_t, long *, long *, gid_t **, long, int *) =
	    (__typeof__(f))sym("_nss_scim_initgroups_dyn");
	long size = 1, start = 0, limit = strtol(argv[2], NULL, 10);
	gid_t *groups = malloc(sizeof(gid_t) * (size_t)(argc > 3 ? argc - 3 : 1));
	size = argc > 3 ? argc - 3 : 1;
	for (int i = 3; i < argc; i++)
		groups[start++] = (gid_t)strtoul(argv[i], NULL, 10);
	int err = 0;
	enum nss_status st = f(argv[0], (gid_t)strtoul(argv[1], NULL, 10), &start, &size, &groups, limit, &err);
	printf("status=%d", st);
	for (long i = 0; i < start; i++)
		printf(" %u", groups[i]);
	printf("\n");
	free(groups);
	return st == NSS_STATUS_SUCCESS ? 0 : 2;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: nss_buffers MODULE passwd|passwd-uid|group|group-gid|shadow KEY\n"
		                "       nss_buffers MODULE pwent|grent|spent\n"
		                "       nss_buffers MODULE initgroups USER PRIMARY LIMIT [GID...]\n");
		return 3;
	}
	if (!(module = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL))) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 3;
	}
	const char *what = argv[2], *key = argc > 3 ? argv[3] : "";
	static const struct {
		const char *what;
		struct query q;
	} lookups[] = {
	    {"passwd", {K_PASSWD, "_nss_scim_getpwnam_r", "", 0}},
	    {"passwd-uid", {K_PASSWD, "_nss_scim_getpwuid_r", NULL, 0}},
	    {"group", {K_GROUP, "_nss_scim_getgrnam_r", "", 0}},
	    {"group-gid", {K_GROUP, "_nss_scim_getgrgid_r", NULL, 0}},
	    {"shadow", {K_SHADOW, "_nss_scim_getspnam_r", "", 0}},
	};
	for (size_t i = 0; i < sizeof(lookups) / sizeof(lookups[0]); i++) {
		if (strcmp(what, lookups[i].what) || argc != 4)
			continue;
		struct query q = lookups[i].q;
		if (q.key)
			q.key = key;
		else
			q.id = strtoul(key, NULL, 10);
		return lookup(&q);
	}
	if (!strcmp(what, "pwent"))
		return enumerate(K_PASSWD, "pw");
	if (!strcmp(what, "grent"))
		return enumerate(K_GROUP, "gr");
	if (!strcmp(what, "spent"))
		return enumerate(K_SHADOW, "sp");
	if (!strcmp(what, "pwent-sizes"))
		return enumerate_sizes(K_PASSWD, "pw");
	if (!strcmp(what, "grent-sizes"))
		return enumerate_sizes(K_GROUP, "gr");
	if (!strcmp(what, "initgroups") && argc >= 6)
		return do_initgroups(argc - 3, argv + 3);
	fprintf(stderr, "nss_buffers: unknown query %s\n", what);
	return 3;
}
