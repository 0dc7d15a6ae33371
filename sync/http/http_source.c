/* Connection sources (IPv4 address, IPv6 /64) and a fixed-size count per source. */
#include "sync/http/http_source.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void http_source_of(const struct sockaddr *sa, struct http_source *out)
{
	memset(out, 0, sizeof(*out));
	if (sa && sa->sa_family == AF_INET) {
		out->len = 4;
		memcpy(out->bytes, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa && sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		out->len = IN6_IS_ADDR_V4MAPPED(a) ? 4 : 8;
		memcpy(out->bytes, out->len == 4 ? &a->s6_addr[12] : &a->s6_addr[0], out->len);
	}
}

bool http_source_equal(const struct http_source *a, const struct http_source *b)
{
	return a->len == b->len && memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

/* Open addressing with linear probing, at most half full; count 0 marks a free slot. */
struct slot {
	struct http_source key;
	unsigned count;
};

struct http_source_counts {
	struct slot *slots;
	size_t mask; /* slots - 1, a power of two minus one */
	unsigned total, max_total;
	unsigned *with; /* with[k]: how many sources have count k (1..max_total) */
	unsigned max;   /* the largest k with with[k] > 0 */
};

struct http_source_counts *http_source_counts_new(unsigned max_total)
{
	struct http_source_counts *t = calloc(1, sizeof(*t));
	size_t n = 4;
	while (n < 2 * (size_t)max_total + 2)
		n *= 2;
	if (!t || !(t->slots = calloc(n, sizeof(*t->slots))) ||
	    !(t->with = calloc((size_t)max_total + 1, sizeof(*t->with)))) {
		http_source_counts_free(t);
		return NULL;
	}
	t->mask = n - 1;
	t->max_total = max_total;
	return t;
}

void http_source_counts_free(struct http_source_counts *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t->with);
	free(t);
}

/* FNV-1a. Peers choose their addresses, but probing stays within the half-empty table, so a
 * chosen collision costs at most one pass over it. */
static size_t home(const struct http_source_counts *t, const struct http_source *k)
{
	uint64_t h = 1469598103934665603ULL ^ k->len;
	for (size_t i = 0; i < sizeof(k->bytes); i++)
		h = (h ^ k->bytes[i]) * 1099511628211ULL;
	return (size_t)h & t->mask;
}

/* The slot holding K, or the free slot where it would go. */
static size_t find(const struct http_source_counts *t, const struct http_source *k)
{
	size_t i = home(t, k);
	while (t->slots[i].count && !http_source_equal(&t->slots[i].key, k))
		i = (i + 1) & t->mask;
	return i;
}

unsigned http_source_counts_add(struct http_source_counts *t, const struct http_source *src)
{
	if (t->total >= t->max_total)
		return 0;
	size_t i = find(t, src);
	unsigned k = t->slots[i].count;
	if (k == 0)
		t->slots[i].key = *src;
	else
		t->with[k]--;
	t->slots[i].count = ++k;
	t->with[k]++;
	t->total++;
	if (k > t->max)
		t->max = k;
	return k;
}

/* Backward-shift deletion: moves later entries of the probe run into the hole at I, so that
 * every entry stays reachable from its home slot without tombstones. */
static void vacate(struct http_source_counts *t, size_t i)
{
	size_t j = i;
	for (;;) {
		j = (j + 1) & t->mask;
		if (!t->slots[j].count)
			break;
		size_t h = home(t, &t->slots[j].key);
		/* Entry j may fill the hole only if its home is not cyclically in (i, j]. */
		bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
		if (!stays) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	memset(&t->slots[i], 0, sizeof(t->slots[i]));
}

void http_source_counts_remove(struct http_source_counts *t, const struct http_source *src)
{
	size_t i = find(t, src);
	unsigned k = t->slots[i].count;
	if (k == 0)
		return;
	t->with[k]--;
	if (k > 1)
		t->with[k - 1]++;
	/* The source that was at the maximum is now one below it. */
	if (k == t->max && t->with[k] == 0)
		t->max = k - 1;
	t->total--;
	t->slots[i].count = k - 1;
	if (k == 1)
		vacate(t, i);
}

unsigned http_source_counts_get(const struct http_source_counts *t, const struct http_source *src)
{
	return t->slots[find(t, src)].count;
}

unsigned http_source_counts_max(const struct http_source_counts *t)
{
	return t->max;
}
