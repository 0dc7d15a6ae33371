/* nss_bench: measures user and group look-ups through glibc (getpwnam, getpwuid, getgrnam,
 * getgrgid, getgrouplist, getpwent and getgrent enumeration) for whatever nsswitch.conf the
 * process sees. tests/bench/run.py runs it in a private mount namespace once per NSS source
 * (scim, files, cache) over the same directory, and compares the JSON it prints on stdout.
 *
 *   nss_bench --keys FILE --mode NAME [--iterations N] [--seconds S] [--seed X]
 *
 * The keys file (written by run.py) holds the expected directory, one entry a line:
 *   U name uid          a user (private group: same name, gid = uid)
 *   G name gid members  a group with that many members
 *   I name gid ngroups  the user whose getgrouplist() must return ngroups groups
 * Every look-up result is checked against it; a wrong answer makes the exit status 2, so a
 * misconfigured source can never produce a flattering figure. */
#include <grp.h>
#include <inttypes.h>
#include <jansson.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NAME_MAX_LEN   64
#define MAX_ENTRIES    2000000 /* bound on keys read from the file */
#define INITGROUPS_MAX 65536

struct user_key {
	char name[NAME_MAX_LEN];
	uid_t uid;
};

struct group_key {
	char name[NAME_MAX_LEN];
	gid_t gid;
	size_t members;
};

struct keys {
	struct user_key *users;
	size_t n_users, cap_users;
	struct group_key *groups;
	size_t n_groups, cap_groups;
	char initgroups_user[NAME_MAX_LEN];
	gid_t initgroups_gid;
	int initgroups_count;
};

struct options {
	const char *keys_path;
	const char *mode;
	size_t iterations;
	double seconds;
	uint64_t seed;
};

struct bench {
	struct keys keys;
	struct options opt;
	uint64_t rng;
	unsigned long errors;
	uint64_t *samples; /* nanoseconds, one per call of the current op */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: reproducible key order for a given --seed. */
static uint64_t next_random(struct bench *b)
{
	b->rng ^= b->rng >> 12;
	b->rng ^= b->rng << 25;
	b->rng ^= b->rng >> 27;
	return b->rng * 2685821657736338717ull;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, resident = 0;
	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Anonymous memory (heap, copied-on-write library data): what the process owns, unlike the
 * shared library code RSS also counts. -1 when /proc/self/smaps_rollup cannot be read. */
static long anon_kib(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];
	long kib = -1;
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Anonymous:", 10))
			kib = strtol(line + 10, NULL, 10);
	if (f)
		fclose(f);
	return kib;
}

static void fail(struct bench *b, const char *op, const char *key, const char *why)
{
	if (b->errors < 20)
		fprintf(stderr, "nss_bench: %s(%s): %s\n", op, key, why);
	b->errors++;
}

static void *grow(void *array, size_t *cap, size_t elem)
{
	size_t next = *cap ? *cap * 2 : 1024;
	void *p = realloc(array, next * elem);
	if (!p) {
		fprintf(stderr, "nss_bench: out of memory reading the keys file\n");
		exit(1);
	}
	*cap = next;
	return p;
}

static int add_user(struct keys *k, const char *name, unsigned long id)
{
	if (k->n_users == k->cap_users)
		k->users = grow(k->users, &k->cap_users, sizeof(*k->users));
	snprintf(k->users[k->n_users].name, NAME_MAX_LEN, "%s", name);
	k->users[k->n_users++].uid = (uid_t)id;
	return 0;
}

static int add_group(struct keys *k, const char *name, unsigned long id, unsigned long members)
{
	if (k->n_groups == k->cap_groups)
		k->groups = grow(k->groups, &k->cap_groups, sizeof(*k->groups));
	snprintf(k->groups[k->n_groups].name, NAME_MAX_LEN, "%s", name);
	k->groups[k->n_groups].gid = (gid_t)id;
	k->groups[k->n_groups++].members = members;
	return 0;
}

static int parse_key_line(struct keys *k, const char *line)
{
	char kind, name[NAME_MAX_LEN];
	unsigned long id, extra = 0;
	int n = sscanf(line, "%c %63s %lu %lu", &kind, name, &id, &extra);
	if (n < 3)
		return -1;
	if (k->n_users + k->n_groups >= MAX_ENTRIES)
		return -1;
	if (kind == 'U')
		return add_user(k, name, id);
	if (kind == 'G' && n == 4)
		return add_group(k, name, id, extra);
	if (kind == 'I' && n == 4) {
		snprintf(k->initgroups_user, NAME_MAX_LEN, "%s", name);
		k->initgroups_gid = (gid_t)id;
		k->initgroups_count = (int)extra;
		return 0;
	}
	return -1;
}

static int load_keys(struct keys *k, const char *path)
{
	char line[256];
	unsigned long lineno = 0;
	FILE *f = fopen(path, "r");
	if (!f) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (parse_key_line(k, line) != 0) {
			fprintf(stderr, "nss_bench: %s:%lu: bad key line; regenerate it with run.py\n", path, lineno);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	if (k->n_users == 0 || k->n_groups == 0 || !k->initgroups_user[0]) {
		fprintf(stderr, "nss_bench: %s needs U, G and I lines\n", path);
		return -1;
	}
	return 0;
}

/* One look-up op: performs call number I with a key it picks, returns false on a wrong result. */
typedef bool (*lookup_fn)(struct bench *b, size_t i);

static bool do_getpwnam(struct bench *b, size_t i)
{
	const struct user_key *u = &b->keys.users[next_random(b) % b->keys.n_users];
	uint64_t t0 = now_ns();
	struct passwd *pw = getpwnam(u->name);
	b->samples[i] = now_ns() - t0;
	if (!pw || pw->pw_uid != u->uid || pw->pw_gid != u->uid || strcmp(pw->pw_name, u->name) != 0)
		fail(b, "getpwnam", u->name, pw ? "wrong entry" : "not found");
	return true;
}

static bool do_getpwuid(struct bench *b, size_t i)
{
	const struct user_key *u = &b->keys.users[next_random(b) % b->keys.n_users];
	uint64_t t0 = now_ns();
	struct passwd *pw = getpwuid(u->uid);
	b->samples[i] = now_ns() - t0;
	if (!pw || pw->pw_uid != u->uid || strcmp(pw->pw_name, u->name) != 0)
		fail(b, "getpwuid", u->name, pw ? "wrong entry" : "not found");
	return true;
}

static size_t count_members(char **mem)
{
	size_t n = 0;
	while (mem && mem[n])
		n++;
	return n;
}

static void check_group(struct bench *b, const char *op, const struct group_key *g, const struct group *gr)
{
	if (!gr)
		fail(b, op, g->name, "not found");
	else if (gr->gr_gid != g->gid || strcmp(gr->gr_name, g->name) != 0)
		fail(b, op, g->name, "wrong entry");
	else if (count_members(gr->gr_mem) != g->members)
		fail(b, op, g->name, "wrong member count");
}

static bool do_getgrnam(struct bench *b, size_t i)
{
	const struct group_key *g = &b->keys.groups[next_random(b) % b->keys.n_groups];
	uint64_t t0 = now_ns();
	struct group *gr = getgrnam(g->name);
	b->samples[i] = now_ns() - t0;
	check_group(b, "getgrnam", g, gr);
	return true;
}

static bool do_getgrgid(struct bench *b, size_t i)
{
	const struct group_key *g = &b->keys.groups[next_random(b) % b->keys.n_groups];
	uint64_t t0 = now_ns();
	struct group *gr = getgrgid(g->gid);
	b->samples[i] = now_ns() - t0;
	check_group(b, "getgrgid", g, gr);
	return true;
}

/* Private groups are not in the G lines: a user's own name must resolve to gid = uid, empty. */
static bool do_getgrnam_private(struct bench *b, size_t i)
{
	const struct user_key *u = &b->keys.users[next_random(b) % b->keys.n_users];
	uint64_t t0 = now_ns();
	struct group *gr = getgrnam(u->name);
	b->samples[i] = now_ns() - t0;
	if (!gr || gr->gr_gid != u->uid || strcmp(gr->gr_name, u->name) != 0)
		fail(b, "getgrnam(private)", u->name, gr ? "wrong entry" : "not found");
	return true;
}

static bool do_getpwnam_miss(struct bench *b, size_t i)
{
	char name[NAME_MAX_LEN];
	snprintf(name, sizeof(name), "nosuch%06" PRIu64, next_random(b) % 1000000);
	uint64_t t0 = now_ns();
	struct passwd *pw = getpwnam(name);
	b->samples[i] = now_ns() - t0;
	if (pw)
		fail(b, "getpwnam(miss)", name, "an unknown name was found");
	return true;
}

/* Unknown ids inside the same range as the real ones (below the lowest uid). */
static bool do_getpwuid_miss(struct bench *b, size_t i)
{
	uid_t uid = b->keys.users[0].uid - 1 - (uid_t)(next_random(b) % 1000);
	uint64_t t0 = now_ns();
	struct passwd *pw = getpwuid(uid);
	b->samples[i] = now_ns() - t0;
	if (pw)
		fail(b, "getpwuid(miss)", "unallocated uid", "an unknown uid was found");
	return true;
}

static bool do_getgrnam_miss(struct bench *b, size_t i)
{
	char name[NAME_MAX_LEN];
	snprintf(name, sizeof(name), "nogroup%06" PRIu64, next_random(b) % 1000000);
	uint64_t t0 = now_ns();
	struct group *gr = getgrnam(name);
	b->samples[i] = now_ns() - t0;
	if (gr)
		fail(b, "getgrnam(miss)", name, "an unknown group was found");
	return true;
}

static bool do_initgroups(struct bench *b, size_t i)
{
	static gid_t groups[INITGROUPS_MAX]; /* single-threaded driver */
	int n = INITGROUPS_MAX;
	uint64_t t0 = now_ns();
	int rc = getgrouplist(b->keys.initgroups_user, b->keys.initgroups_gid, groups, &n);
	b->samples[i] = now_ns() - t0;
	if (rc < 0 || n != b->keys.initgroups_count)
		fail(b, "getgrouplist", b->keys.initgroups_user, "wrong number of groups");
	return true;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static json_t *summarise(uint64_t *samples, size_t n)
{
	double total = 0;
	for (size_t i = 0; i < n; i++)
		total += (double)samples[i];
	qsort(samples, n, sizeof(*samples), compare_u64);
	size_t p99 = n ? (n * 99 + 99) / 100 - 1 : 0;
	return json_pack("{s:I, s:f, s:f, s:f, s:f}", "n", (json_int_t)n, "median_us",
	                 n ? (double)samples[n / 2] / 1000.0 : 0.0, "p99_us", n ? (double)samples[p99] / 1000.0 : 0.0,
	                 "mean_us", n ? total / (double)n / 1000.0 : 0.0, "max_us",
	                 n ? (double)samples[n - 1] / 1000.0 : 0.0);
}

/* Runs OP until --iterations calls or --seconds elapse (at least a few calls either way). */
static json_t *run_op(struct bench *b, lookup_fn op)
{
	uint64_t deadline = now_ns() + (uint64_t)(b->opt.seconds * 1e9);
	size_t n = 0;
	for (size_t warm = 0; warm < 3; warm++)
		op(b, 0);
	while (n < b->opt.iterations && (n < 5 || now_ns() < deadline)) {
		op(b, n);
		n++;
	}
	return summarise(b->samples, n);
}

static size_t enumerate_passwd(void)
{
	size_t n = 0;
	setpwent();
	while (getpwent())
		n++;
	endpwent();
	return n;
}

/* Members seen by the last group enumeration: every gr_mem is walked, as `getent group` does. */
static volatile size_t enumerated_members;

static size_t enumerate_group(void)
{
	size_t n = 0, members = 0;
	struct group *gr;
	setgrent();
	while ((gr = getgrent())) {
		n++;
		members += count_members(gr->gr_mem);
	}
	endgrent();
	enumerated_members = members;
	return n;
}

static json_t *run_enumeration(struct bench *b, size_t (*enumerate_once)(void), const char *op)
{
	uint64_t deadline = now_ns() + (uint64_t)(b->opt.seconds * 1e9);
	size_t n = 0, count = enumerate_once();
	while (n < 50 && (n < 3 || now_ns() < deadline)) {
		uint64_t t0 = now_ns();
		size_t c = enumerate_once();
		b->samples[n++] = now_ns() - t0;
		if (c != count)
			fail(b, op, "enumeration", "count changed between runs");
	}
	json_t *j = summarise(b->samples, n);
	json_object_set_new(j, "entries", json_integer((json_int_t)count));
	return j;
}

struct op_entry {
	const char *name;
	lookup_fn fn;
};

static const struct op_entry ops[] = {
    {"getpwnam", do_getpwnam},
    {"getpwuid", do_getpwuid},
    {"getgrnam", do_getgrnam},
    {"getgrgid", do_getgrgid},
    {"getgrnam_private", do_getgrnam_private},
    {"getpwnam_miss", do_getpwnam_miss},
    {"getpwuid_miss", do_getpwuid_miss},
    {"getgrnam_miss", do_getgrnam_miss},
    {"initgroups", do_initgroups},
};

static int parse_options(struct options *o, int argc, char **argv)
{
	*o = (struct options){.mode = "unknown", .iterations = 20000, .seconds = 2.0, .seed = 42};
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--keys") == 0)
			o->keys_path = argv[i + 1];
		else if (strcmp(argv[i], "--mode") == 0)
			o->mode = argv[i + 1];
		else if (strcmp(argv[i], "--iterations") == 0)
			o->iterations = strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--seconds") == 0)
			o->seconds = strtod(argv[i + 1], NULL);
		else if (strcmp(argv[i], "--seed") == 0)
			o->seed = strtoull(argv[i + 1], NULL, 10);
		else
			return -1;
	}
	if (!o->keys_path || o->iterations == 0 || o->iterations > 10000000 || o->seed == 0)
		return -1;
	return 0;
}

static json_t *run_all(struct bench *b)
{
	json_t *out = json_object(), *results = json_object();
	long before = rss_kib(), anon_before = anon_kib();
	struct passwd *first = getpwnam(b->keys.users[0].name); /* loads the module */
	long after_first = rss_kib(), anon_after = anon_kib();
	if (!first)
		fail(b, "getpwnam", b->keys.users[0].name, "not found on the first call");
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		json_object_set_new(results, ops[i].name, run_op(b, ops[i].fn));
	json_object_set_new(results, "enumerate", run_enumeration(b, enumerate_passwd, "getpwent"));
	json_object_set_new(results, "enumerate_group", run_enumeration(b, enumerate_group, "getgrent"));
	long after_all = rss_kib();
	json_object_set_new(out, "mode", json_string(b->opt.mode));
	json_object_set_new(out, "users", json_integer((json_int_t)b->keys.n_users));
	json_object_set_new(out, "ops", results);
	json_object_set_new(out, "rss_kib",
	                    json_pack("{s:I, s:I, s:I}", "before", (json_int_t)before, "after_first",
	                              (json_int_t)after_first, "after_all", (json_int_t)after_all));
	json_object_set_new(
	    out, "anon_kib",
	    json_pack("{s:I, s:I}", "before", (json_int_t)anon_before, "after_first", (json_int_t)anon_after));
	json_object_set_new(out, "errors", json_integer((json_int_t)b->errors));
	return out;
}

int main(int argc, char **argv)
{
	struct bench b = {0};
	if (parse_options(&b.opt, argc, argv) != 0) {
		fprintf(stderr, "usage: nss_bench --keys FILE [--mode NAME] [--iterations N] [--seconds S] "
		                "[--seed X>0]\n");
		return 1;
	}
	b.rng = b.opt.seed;
	if (load_keys(&b.keys, b.opt.keys_path) != 0)
		return 1;
	size_t n_samples = b.opt.iterations < 64 ? 64 : b.opt.iterations;
	b.samples = malloc(n_samples * sizeof(*b.samples));
	if (!b.samples)
		return 1;
	memset(b.samples, 0, n_samples * sizeof(*b.samples)); /* resident before the RSS baseline */
	json_t *out = run_all(&b);
	json_dumpf(out, stdout, JSON_INDENT(1));
	putchar('\n');
	json_decref(out);
	free(b.samples);
	free(b.keys.users);
	free(b.keys.groups);
	return b.errors ? 2 : 0;
}
