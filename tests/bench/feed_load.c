/* feed_load: N simulated followers, each holding a long-poll on a hub's change feed (libcurl
 * multi, one connection each), for the fleet benchmark.
 *
 *   feed_load --url https://HUB:PORT --count N [--wait S] [--seconds T] [--ca FILE]
 *
 * The follower token comes from the environment (ENTRA_BENCH_FOLLOW_TOKEN), never the command
 * line. Followers join 25 per 100 ms. Each follower takes the hub id and cursor from one snapshot request, then
 * long-polls /feed/v1/changes after its cursor with wait=S, and polls again after every answer (200 moves its cursor;
 * 410 takes the snapshot's cursor again). After T seconds it prints one JSON object: followers, held (requests in
 * flight at the end), answers, empty answers, bytes received per non-empty answer, and for every cursor step the spread
 * of arrival times over the followers (p50/p99 ms after the first follower got it). Exits 2 on an unexpected status. */
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BODY_MAX         (64 * 1024 * 1024)
#define STEPS_MAX        4096
#define RAMP             25 /* followers joining per interval */
#define RAMP_INTERVAL_MS 100

struct follower {
	CURL *h;
	char *body;
	size_t len, cap;
	long long cursor;
	char url[512];
};

struct run {
	const char *base, *ca, *token;
	char hub[64];
	long long start_cursor;
	int count, wait, seconds;
	struct curl_slist *headers;
	long answers, empty, errors;
	double bytes_nonempty;
	long nonempty;
	double bytes_changes; /* every answer that carried changes: headers and body */
	long changes;
	/* first arrival and every arrival per cursor step */
	long long step_cursor[STEPS_MAX];
	double step_first[STEPS_MAX];
	double *step_delays[STEPS_MAX];
	int step_n[STEPS_MAX];
	int n_steps;
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static size_t collect(char *ptr, size_t size, size_t n, void *userp)
{
	struct follower *f = userp;
	size_t add = size * n;
	if (f->len + add + 1 > BODY_MAX)
		return 0;
	if (f->len + add + 1 > f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8192;
		while (cap < f->len + add + 1)
			cap *= 2;
		char *grown = realloc(f->body, cap);
		if (!grown)
			return 0;
		f->body = grown, f->cap = cap;
	}
	memcpy(f->body + f->len, ptr, add);
	f->len += add;
	f->body[f->len] = '\0';
	return add;
}

static void request(struct run *r, struct follower *f, CURLM *m)
{
	snprintf(f->url, sizeof(f->url), "%s/feed/v1/changes?hub=%s&after=%lld&wait=%d", r->base, r->hub, f->cursor,
	         r->wait);
	f->len = 0;
	curl_easy_setopt(f->h, CURLOPT_URL, f->url);
	curl_multi_add_handle(m, f->h);
}

static CURL *handle(struct run *r, struct follower *f)
{
	CURL *h = curl_easy_init();
	if (!h)
		return NULL;
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)r->wait + 30);
	curl_easy_setopt(h, CURLOPT_SSL_SESSIONID_CACHE, 0L); /* each follower is a host of its own */
	if (r->ca)
		curl_easy_setopt(h, CURLOPT_CAINFO, r->ca);
	return h;
}

static int snapshot(struct run *r)
{
	struct follower f = {0};
	char url[512];
	long status = 0;
	snprintf(url, sizeof(url), "%s/feed/v1/snapshot", r->base);
	f.h = handle(r, &f);
	curl_easy_setopt(f.h, CURLOPT_URL, url);
	CURLcode rc = curl_easy_perform(f.h);
	curl_easy_getinfo(f.h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(f.h);
	json_t *doc = rc == CURLE_OK && status == 200 ? json_loadb(f.body, f.len, 0, NULL) : NULL;
	free(f.body);
	if (!doc) {
		fprintf(stderr, "feed_load: snapshot: %s, HTTP %ld\n", curl_easy_strerror(rc), status);
		return -1;
	}
	snprintf(r->hub, sizeof(r->hub), "%s", json_string_value(json_object_get(doc, "hub")));
	r->start_cursor = json_integer_value(json_object_get(doc, "cursor"));
	json_decref(doc);
	return 0;
}

static void step_record(struct run *r, long long cursor, double t)
{
	int i = 0;
	while (i < r->n_steps && r->step_cursor[i] != cursor)
		i++;
	if (i == r->n_steps) {
		if (r->n_steps == STEPS_MAX)
			return;
		r->n_steps++;
		r->step_cursor[i] = cursor, r->step_first[i] = t, r->step_n[i] = 0;
		r->step_delays[i] = calloc((size_t)r->count, sizeof(double));
	}
	if (r->step_delays[i] && r->step_n[i] < r->count)
		r->step_delays[i][r->step_n[i]++] = t - r->step_first[i];
}

/* One answer: moves the follower's cursor. -1 on an unexpected status. */
static int answered(struct run *r, struct follower *f, CURLcode rc)
{
	long status = 0;
	curl_easy_getinfo(f->h, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK || (status != 200 && status != 410)) {
		fprintf(stderr, "feed_load: %s: %s, HTTP %ld\n", f->url, curl_easy_strerror(rc), status);
		r->errors++;
		return -1;
	}
	r->answers++;
	if (status == 410) {
		f->cursor = r->start_cursor;
		return 0;
	}
	json_t *doc = json_loadb(f->body, f->len, 0, NULL);
	long long cursor = json_integer_value(json_object_get(doc, "cursor"));
	if (json_array_size(json_object_get(doc, "changes")) == 0) {
		r->empty++;
	} else {
		long header = 0;
		curl_easy_getinfo(f->h, CURLINFO_HEADER_SIZE, &header);
		r->nonempty++;
		r->bytes_nonempty += (double)f->len;
		r->bytes_changes += (double)(f->len + (size_t)header);
		r->changes += (long)json_array_size(json_object_get(doc, "changes"));
		step_record(r, cursor, now_ms());
	}
	f->cursor = cursor > f->cursor ? cursor : f->cursor;
	json_decref(doc);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(struct run *r, int held)
{
	json_t *steps = json_array();
	for (int i = 0; i < r->n_steps; i++) {
		int n = r->step_n[i];
		if (!n)
			continue;
		qsort(r->step_delays[i], (size_t)n, sizeof(double), cmp_double);
		json_array_append_new(steps, json_pack("{s:I, s:i, s:f, s:f}", "cursor", (json_int_t)r->step_cursor[i],
		                                       "followers", n, "p50_ms", r->step_delays[i][n / 2], "p99_ms",
		                                       r->step_delays[i][(n * 99) / 100 < n ? (n * 99) / 100 : n - 1]));
		free(r->step_delays[i]);
	}
	json_t *o = json_pack("{s:i, s:i, s:i, s:i, s:i, s:f, s:f, s:I, s:o}", "followers", r->count, "held", held,
	                      "answers", (int)r->answers, "empty", (int)r->empty, "errors", (int)r->errors,
	                      "bytes_per_nonempty_answer", r->nonempty ? r->bytes_nonempty / r->nonempty : 0.0,
	                      "bytes_per_change", r->changes ? r->bytes_changes / r->changes : 0.0, "changes",
	                      (json_int_t)r->changes, "steps", steps);
	json_dumpf(o, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(o);
}

/* SIGTERM ends the run early: the figures are still printed (the bench stops the load when its
 * samples are done). */
static volatile sig_atomic_t stop_requested;

static void on_term(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: feed_load --url https://HUB:PORT --count N [--wait S] [--seconds T] [--ca FILE]\n"
	                "       (the follower token in ENTRA_BENCH_FOLLOW_TOKEN)\n");
	return 2;
}

static int parse(struct run *r, int argc, char **argv)
{
	r->wait = 25, r->seconds = 30;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--url"))
			r->base = argv[i + 1];
		else if (!strcmp(argv[i], "--count"))
			r->count = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--wait"))
			r->wait = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--seconds"))
			r->seconds = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--ca"))
			r->ca = argv[i + 1];
		else
			return -1;
	}
	r->token = getenv("ENTRA_BENCH_FOLLOW_TOKEN");
	return r->base && r->token && r->count > 0 && r->count <= 100000 && r->wait > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	static struct run r;
	char auth[256];
	if ((argc - 1) % 2 || parse(&r, argc, argv))
		return usage();
	signal(SIGTERM, on_term);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", r.token);
	r.headers = curl_slist_append(curl_slist_append(NULL, auth), "Accept: application/json");
	if (snapshot(&r))
		return 1;
	struct follower *fs = calloc((size_t)r.count, sizeof(*fs));
	CURLM *m = curl_multi_init();
	curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)r.count);
	for (int i = 0; i < r.count; i++) {
		fs[i].cursor = r.start_cursor;
		if (!(fs[i].h = handle(&r, &fs[i])))
			return 1;
		curl_easy_setopt(fs[i].h, CURLOPT_PRIVATE, &fs[i]);
	}
	double end = now_ms() + r.seconds * 1e3, next_join = 0;
	int running = 0, joined = 0;
	while (!stop_requested && now_ms() < end) {
		/* followers join RAMP at a time: a fleet's TLS handshakes do not all land at once */
		if (joined < r.count && now_ms() >= next_join) {
			for (int k = 0; k < RAMP && joined < r.count; k++, joined++)
				request(&r, &fs[joined], m);
			next_join = now_ms() + RAMP_INTERVAL_MS;
		}
		curl_multi_perform(m, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(m, &left))) {
			struct follower *f = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&f);
			curl_multi_remove_handle(m, msg->easy_handle);
			if (answered(&r, f, msg->data.result) == 0)
				request(&r, f, m); /* a failed follower stays down: no busy loop on a dead hub */
		}
		curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	curl_multi_perform(m, &running);
	report(&r, running);
	for (int i = 0; i < r.count; i++) {
		if (i < joined)
			curl_multi_remove_handle(m, fs[i].h);
		curl_easy_cleanup(fs[i].h);
		free(fs[i].body);
	}
	curl_multi_cleanup(m);
	curl_slist_free_all(r.headers);
	free(fs);
	curl_global_cleanup();
	return r.errors ? 2 : 0;
}
