/* scim_load: an Entra-shaped SCIM load generator (libcurl multi) for the benchmarks.
 *
 *   scim_load --url BASE --op OP --count N [--concurrency C] [--prefix P] [--users FILE]
 *             [--groups FILE] [--batch B] [--offset K] [--ids-out FILE]
 *
 * The bearer token comes from the environment (ENTRA_BENCH_TOKEN), never the command line.
 * OPs:
 *   create-users   POST /Users, userName P<i>@contoso.com (i = offset..offset+N-1); 201
 *   create-groups  POST /Groups, displayName "P Group <i>", no members; 201
 *   filter         GET /Users?filter=userName eq "..." for random users of --users; 200 with
 *                  exactly that user
 *   patch          PATCH /Groups/<g> Add members: request i adds users (offset+i*B+t) mod n,
 *                  t < B, to group i mod (number of --groups); 204 or 200
 *   visibility     sequential PATCH Add of user offset+i to the first group of --groups, then
 *                  polls getpwnam(local name) through NSS until it resolves: the time from the
 *                  SCIM response to the account being visible
 * --ids-out writes "name id" per created resource, in request order; --users/--groups read it.
 * Prints one JSON object; exits 2 when any request got an unexpected status or answer. */
#include <ctype.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONCURRENCY       256
#define MAX_REQUESTS          1000000
#define MAX_RESPONSE          (1 << 20) /* bytes kept of one response body */
#define MAX_ID                128
#define MAX_BATCH             10000
#define VISIBILITY_TIMEOUT_NS 10000000000ull

struct resource {
	char name[MAX_ID];
	char id[MAX_ID];
};

struct resource_list {
	struct resource *items;
	size_t n;
};

struct options {
	const char *url, *op, *prefix, *users_path, *groups_path, *ids_out;
	size_t count, concurrency, batch, offset;
};

struct buffer {
	char *data;
	size_t len;
	bool truncated;
};

struct slot {
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	char *url;
	struct buffer response;
	uint64_t started;
	size_t index;
};

struct load {
	struct options opt;
	char auth[512];
	struct resource_list users, groups;
	struct resource *created; /* --ids-out: one per request */
	uint64_t *latency;        /* ns per request, by completion order */
	size_t issued, completed, failed;
	uint64_t rng;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t next_random(struct load *l)
{
	l->rng ^= l->rng >> 12;
	l->rng ^= l->rng << 25;
	l->rng ^= l->rng >> 27;
	return l->rng * 2685821657736338717ull;
}

static void report_failure(struct load *l, size_t index, long status, const char *why, const struct buffer *resp)
{
	if (l->failed < 10)
		fprintf(stderr, "scim_load: %s #%zu: HTTP %ld: %s: %.300s\n", l->opt.op, index, status, why,
		        resp && resp->data ? resp->data : "");
	l->failed++;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct buffer *b = arg;
	size_t n = size * nmemb, keep = n;
	if (b->len + keep > MAX_RESPONSE) {
		keep = MAX_RESPONSE - b->len;
		b->truncated = true;
	}
	if (keep) {
		char *p = realloc(b->data, b->len + keep + 1);
		if (!p)
			return 0;
		memcpy(p + b->len, ptr, keep);
		b->data = p;
		b->len += keep;
		b->data[b->len] = '\0';
	}
	return n;
}

/* --- resource lists ------------------------------------------------------------------ */

static int load_resources(const char *path, struct resource_list *out)
{
	char line[2 * MAX_ID + 8];
	size_t cap = 0;
	FILE *f = fopen(path, "r");
	if (!f) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), f) && out->n < MAX_REQUESTS) {
		if (out->n == cap) {
			cap = cap ? cap * 2 : 1024;
			struct resource *p = realloc(out->items, cap * sizeof(*p));
			if (!p) {
				fclose(f);
				return -1;
			}
			out->items = p;
		}
		struct resource *r = &out->items[out->n];
		if (sscanf(line, "%127s %127s", r->name, r->id) == 2)
			out->n++;
	}
	fclose(f);
	if (out->n == 0) {
		fprintf(stderr, "scim_load: %s lists no resources (\"name id\" lines from --ids-out)\n", path);
		return -1;
	}
	return 0;
}

static int write_resources(const char *path, const struct resource *items, size_t n)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (items[i].id[0])
			fprintf(f, "%s %s\n", items[i].name, items[i].id);
	return fclose(f);
}

/* --- request bodies ------------------------------------------------------------------ */

static char *user_body(const struct load *l, size_t i, char *upn, size_t upn_len)
{
	char *body = NULL;
	snprintf(upn, upn_len, "%s%zu@contoso.com", l->opt.prefix, i);
	if (asprintf(&body,
	             "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\","
	             "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"],"
	             "\"externalId\":\"%s%zu\",\"userName\":\"%s\",\"active\":true,"
	             "\"displayName\":\"Bench User %zu\","
	             "\"emails\":[{\"primary\":true,\"type\":\"work\",\"value\":\"%s\"}],"
	             "\"meta\":{\"resourceType\":\"User\"},"
	             "\"name\":{\"formatted\":\"Bench User %zu\",\"familyName\":\"User\",\"givenName\":\"Bench\"},"
	             "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"department\":\"Engineering\"}}",
	             l->opt.prefix, i, upn, i, upn, i) < 0)
		return NULL;
	return body;
}

static char *group_body(const struct load *l, size_t i, char *name, size_t name_len)
{
	char *body = NULL;
	snprintf(name, name_len, "%s-group-%zu", l->opt.prefix, i);
	if (asprintf(&body,
	             "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],"
	             "\"externalId\":\"00000000-0000-4000-a000-%012zu\",\"displayName\":\"%s Group %zu\","
	             "\"members\":[],\"meta\":{\"resourceType\":\"Group\"}}",
	             i, l->opt.prefix, i) < 0)
		return NULL;
	return body;
}

/* Entra's membership PATCH: one Add op whose value lists the members. */
static char *patch_body(const struct load *l, size_t first, size_t batch)
{
	size_t cap = 160 + batch * (MAX_ID + 16), len = 0;
	char *body = malloc(cap);
	if (!body)
		return NULL;
	len += (size_t)snprintf(body + len, cap - len,
	                        "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
	                        "\"Operations\":[{\"op\":\"Add\",\"path\":\"members\",\"value\":[");
	for (size_t t = 0; t < batch; t++) {
		const struct resource *u = &l->users.items[(first + t) % l->users.n];
		len += (size_t)snprintf(body + len, cap - len, "%s{\"value\":\"%s\"}", t ? "," : "", u->id);
	}
	snprintf(body + len, cap - len, "]}]}");
	return body;
}

/* --- one request --------------------------------------------------------------------- */

static void slot_reset(struct slot *s)
{
	free(s->body);
	free(s->url);
	free(s->response.data);
	curl_slist_free_all(s->headers);
	s->body = s->url = NULL;
	s->headers = NULL;
	s->response = (struct buffer){0};
}

static char *filter_url(struct load *l, CURL *easy, const struct resource *u)
{
	char filter[2 * MAX_ID], *url = NULL;
	snprintf(filter, sizeof(filter), "userName eq \"%s\"", u->name);
	char *escaped = curl_easy_escape(easy, filter, 0);
	if (!escaped)
		return NULL;
	if (asprintf(&url, "%s/Users?filter=%s", l->opt.url, escaped) < 0)
		url = NULL;
	curl_free(escaped);
	return url;
}

/* Fills S for request I of the op; returns the HTTP method or NULL on error. */
static const char *prepare(struct load *l, struct slot *s, size_t i)
{
	char name[MAX_ID];
	const char *op = l->opt.op;
	size_t n = l->opt.offset + i;
	if (strcmp(op, "create-users") == 0 || strcmp(op, "create-groups") == 0) {
		bool users = op[7] == 'u';
		s->body = users ? user_body(l, n, name, sizeof(name)) : group_body(l, n, name, sizeof(name));
		snprintf(l->created[i].name, MAX_ID, "%s", name);
		return asprintf(&s->url, "%s/%s", l->opt.url, users ? "Users" : "Groups") < 0 ? NULL : "POST";
	}
	if (strcmp(op, "filter") == 0) {
		s->index = next_random(l) % l->users.n; /* remembered to check the answer */
		s->url = filter_url(l, s->easy, &l->users.items[s->index]);
		return s->url ? "GET" : NULL;
	}
	/* visibility always adds to the first group (the one an AUP rule matches) */
	const struct resource *g = &l->groups.items[strcmp(op, "visibility") == 0 ? 0 : i % l->groups.n];
	s->body = patch_body(l, n * l->opt.batch, l->opt.batch);
	return asprintf(&s->url, "%s/Groups/%s", l->opt.url, g->id) < 0 ? NULL : "PATCH";
}

static int start(struct load *l, CURLM *multi, struct slot *s)
{
	size_t i = l->issued++;
	slot_reset(s);
	curl_easy_reset(s->easy);
	const char *method = prepare(l, s, i);
	if (!method || !s->url)
		return -1;
	if (strcmp(l->opt.op, "filter") != 0)
		s->index = i;
	s->headers = curl_slist_append(NULL, l->auth);
	s->headers = curl_slist_append(s->headers, "Content-Type: application/scim+json");
	s->headers = curl_slist_append(s->headers, "Expect:");
	curl_easy_setopt(s->easy, CURLOPT_URL, s->url);
	curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers);
	curl_easy_setopt(s->easy, CURLOPT_CUSTOMREQUEST, method);
	if (s->body)
		curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body);
	curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, &s->response);
	curl_easy_setopt(s->easy, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
	s->started = now_ns();
	return curl_multi_add_handle(multi, s->easy) == CURLM_OK ? 0 : -1;
}

/* --- checking answers ---------------------------------------------------------------- */

static void check_created(struct load *l, struct slot *s, long status)
{
	json_t *j = status == 201 ? json_loads(s->response.data ? s->response.data : "", 0, NULL) : NULL;
	const char *id = json_string_value(json_object_get(j, "id"));
	if (!id || strlen(id) >= MAX_ID)
		report_failure(l, s->index, status, "expected 201 with an id", &s->response);
	else
		snprintf(l->created[s->index].id, MAX_ID, "%s", id);
	json_decref(j);
}

static void check_filter(struct load *l, struct slot *s, long status)
{
	json_t *j = status == 200 ? json_loads(s->response.data ? s->response.data : "", 0, NULL) : NULL;
	json_t *first = json_array_get(json_object_get(j, "Resources"), 0);
	const char *id = json_string_value(json_object_get(first, "id"));
	if (json_integer_value(json_object_get(j, "totalResults")) != 1 || !id ||
	    strcmp(id, l->users.items[s->index].id) != 0)
		report_failure(l, s->index, status, "filter did not return exactly that user", &s->response);
	json_decref(j);
}

static void finish(struct load *l, struct slot *s, CURLcode code)
{
	long status = 0;
	l->latency[l->completed++] = now_ns() - s->started;
	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	if (code != CURLE_OK) {
		report_failure(l, s->index, status, curl_easy_strerror(code), NULL);
		return;
	}
	if (strncmp(l->opt.op, "create-", 7) == 0)
		check_created(l, s, status);
	else if (strcmp(l->opt.op, "filter") == 0)
		check_filter(l, s, status);
	else if (status != 204 && status != 200)
		report_failure(l, s->index, status, "PATCH expected 204", &s->response);
}

/* --- the drivers ----------------------------------------------------------------------- */

static int run_multi(struct load *l)
{
	size_t c = l->opt.concurrency < l->opt.count ? l->opt.concurrency : l->opt.count;
	struct slot *slots = calloc(c, sizeof(*slots));
	CURLM *multi = curl_multi_init();
	int rc = 0, running = 0;
	if (!slots || !multi)
		return -1;
	curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)c);
	for (size_t i = 0; i < c && rc == 0; i++) {
		slots[i].easy = curl_easy_init();
		rc = slots[i].easy ? start(l, multi, &slots[i]) : -1;
	}
	while (rc == 0 && l->completed < l->issued) {
		curl_multi_perform(multi, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(multi, &left))) {
			char *priv = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
			struct slot *s = (struct slot *)priv;
			CURLcode code = msg->data.result;
			curl_multi_remove_handle(multi, s->easy);
			finish(l, s, code);
			if (l->issued < l->opt.count && start(l, multi, s) != 0)
				rc = -1;
		}
		if (l->completed < l->issued)
			curl_multi_poll(multi, NULL, 0, 100, NULL);
	}
	for (size_t i = 0; i < c; i++) {
		slot_reset(&slots[i]);
		curl_easy_cleanup(slots[i].easy);
	}
	curl_multi_cleanup(multi);
	free(slots);
	return rc;
}

/* The local name NSS serves for a UPN (name_format = short): the local part, lowercased. */
static void local_name(const char *upn, char *out, size_t len)
{
	size_t i = 0;
	for (; upn[i] && upn[i] != '@' && i + 1 < len; i++)
		out[i] = (char)tolower((unsigned char)upn[i]);
	out[i] = '\0';
}

static uint64_t wait_visible(const char *name)
{
	uint64_t t0 = now_ns();
	while (now_ns() - t0 < VISIBILITY_TIMEOUT_NS) {
		if (getpwnam(name))
			return now_ns() - t0;
		usleep(1000);
	}
	return 0;
}

/* Sequential: each user must not resolve before its PATCH and must resolve after it. */
static int run_visibility(struct load *l)
{
	struct slot s = {.easy = curl_easy_init()};
	CURLM *multi = curl_multi_init();
	for (size_t i = 0; i < l->opt.count && s.easy && multi; i++) {
		char name[MAX_ID];
		const struct resource *u = &l->users.items[(l->opt.offset + i) % l->users.n];
		local_name(u->name, name, sizeof(name));
		if (getpwnam(name))
			report_failure(l, i, 0, "user already visible before its PATCH", NULL);
		l->issued = i;
		if (start(l, multi, &s) != 0)
			return -1;
		int running = 1;
		while (running) {
			curl_multi_perform(multi, &running);
			if (running)
				curl_multi_poll(multi, NULL, 0, 100, NULL);
		}
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(multi, &left)))
			if (msg->msg == CURLMSG_DONE) {
				curl_multi_remove_handle(multi, s.easy);
				finish(l, &s, msg->data.result);
			}
		uint64_t seen = wait_visible(name);
		if (!seen)
			report_failure(l, i, 0, "account never became visible through NSS", NULL);
		l->latency[l->completed - 1] = seen; /* the figure is response -> visible */
	}
	l->issued = l->completed;
	slot_reset(&s);
	curl_easy_cleanup(s.easy);
	curl_multi_cleanup(multi);
	return 0;
}

/* --- output ------------------------------------------------------------------------------ */

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void print_result(struct load *l, double seconds)
{
	size_t n = l->completed;
	qsort(l->latency, n, sizeof(*l->latency), compare_u64);
	size_t p99 = n ? (n * 99 + 99) / 100 - 1 : 0;
	json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f}", "op", l->opt.op, "concurrency",
	                      (json_int_t)l->opt.concurrency, "requests", (json_int_t)n, "failed",
	                      (json_int_t)l->failed, "seconds", seconds, "req_per_s", seconds > 0 ? n / seconds : 0.0,
	                      "p50_ms", n ? l->latency[n / 2] / 1e6 : 0.0, "p99_ms", n ? l->latency[p99] / 1e6 : 0.0,
	                      "max_ms", n ? l->latency[n - 1] / 1e6 : 0.0);
	json_dumpf(j, stdout, 0);
	putchar('\n');
	json_decref(j);
}

static int parse_options(struct options *o, int argc, char **argv)
{
	*o = (struct options){.prefix = "bench", .concurrency = 1, .batch = 1};
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (!strcmp(k, "--url"))
			o->url = v;
		else if (!strcmp(k, "--op"))
			o->op = v;
		else if (!strcmp(k, "--prefix"))
			o->prefix = v;
		else if (!strcmp(k, "--users"))
			o->users_path = v;
		else if (!strcmp(k, "--groups"))
			o->groups_path = v;
		else if (!strcmp(k, "--ids-out"))
			o->ids_out = v;
		else if (!strcmp(k, "--count"))
			o->count = strtoul(v, NULL, 10);
		else if (!strcmp(k, "--concurrency"))
			o->concurrency = strtoul(v, NULL, 10);
		else if (!strcmp(k, "--batch"))
			o->batch = strtoul(v, NULL, 10);
		else if (!strcmp(k, "--offset"))
			o->offset = strtoul(v, NULL, 10);
		else
			return -1;
	}
	for (const char *p = o->prefix; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p))
			return -1; /* it lands in JSON bodies and user names unescaped */
	return o->url && o->op && o->count && o->count <= MAX_REQUESTS && o->concurrency &&
	               o->concurrency <= MAX_CONCURRENCY && o->batch && o->batch <= MAX_BATCH
	           ? 0
	           : -1;
}

static int load_inputs(struct load *l)
{
	const char *op = l->opt.op;
	bool needs_users = !strcmp(op, "filter") || !strcmp(op, "patch") || !strcmp(op, "visibility");
	bool needs_groups = !strcmp(op, "patch") || !strcmp(op, "visibility");
	if (!needs_users && strcmp(op, "create-users") != 0 && strcmp(op, "create-groups") != 0) {
		fprintf(stderr, "scim_load: unknown --op %s\n", op);
		return -1;
	}
	if ((needs_users && (!l->opt.users_path || load_resources(l->opt.users_path, &l->users) != 0)) ||
	    (needs_groups && (!l->opt.groups_path || load_resources(l->opt.groups_path, &l->groups) != 0))) {
		fprintf(stderr, "scim_load: --op %s needs --users%s FILE\n", op, needs_groups ? " and --groups" : "");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct load l = {.rng = 0x9e3779b97f4a7c15ull};
	const char *token = getenv("ENTRA_BENCH_TOKEN");
	if (parse_options(&l.opt, argc, argv) != 0 || !token || strlen(token) > 400) {
		fprintf(stderr, "usage: ENTRA_BENCH_TOKEN=... scim_load --url BASE --op "
		                "create-users|create-groups|filter|patch|visibility --count N [--concurrency C<=256]\n"
		                "       [--prefix [a-z0-9]+] [--users FILE] [--groups FILE] [--batch B] [--offset K] "
		                "[--ids-out FILE]\n");
		return 1;
	}
	snprintf(l.auth, sizeof(l.auth), "Authorization: Bearer %s", token);
	if (load_inputs(&l) != 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 1;
	l.latency = calloc(l.opt.count, sizeof(*l.latency));
	l.created = calloc(strncmp(l.opt.op, "create-", 7) == 0 ? l.opt.count : 1, sizeof(*l.created));
	if (!l.latency || !l.created)
		return 1;
	uint64_t t0 = now_ns();
	int rc = strcmp(l.opt.op, "visibility") == 0 ? run_visibility(&l) : run_multi(&l);
	double seconds = (double)(now_ns() - t0) / 1e9;
	if (rc == 0 && l.opt.ids_out && write_resources(l.opt.ids_out, l.created, l.completed) != 0)
		rc = -1;
	print_result(&l, seconds);
	free(l.latency);
	free(l.created);
	free(l.users.items);
	free(l.groups.items);
	curl_global_cleanup();
	return rc != 0 ? 1 : l.failed ? 2 : 0;
}
