/* Who a connection counts against (internal to http_*.c): an IPv4 address, or an IPv6 /64.
 * A host is usually given a whole /64, so counting IPv6 addresses one by one would let a single
 * machine appear as any number of sources. IPv4-mapped IPv6 addresses count as IPv4. */
#ifndef SYNC_HTTP_SOURCE_H
#define SYNC_HTTP_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct http_source {
	unsigned char len;      /* 4 (IPv4), 8 (IPv6 /64), 0 (anything else: one shared source) */
	unsigned char bytes[8]; /* the address or prefix, network order; zero past len */
};

/* The source of a peer address SA (NULL: the shared source). */
void http_source_of(const struct sockaddr *sa, struct http_source *out);
bool http_source_equal(const struct http_source *a, const struct http_source *b);

/* A count per source, at most MAX_TOTAL counted at once over all sources. Not thread-safe: the
 * caller serialises every call. Allocated once; input never makes it grow. */
struct http_source_counts;

struct http_source_counts *http_source_counts_new(unsigned max_total);
void http_source_counts_free(struct http_source_counts *t);
/* One more for SRC: the new count, or 0 when MAX_TOTAL are counted already. */
unsigned http_source_counts_add(struct http_source_counts *t, const struct http_source *src);
/* One less for SRC (a source at 0 is forgotten; one not counted is left alone). */
void http_source_counts_remove(struct http_source_counts *t, const struct http_source *src);
unsigned http_source_counts_get(const struct http_source_counts *t, const struct http_source *src);
/* The largest count of any source (0 when none is counted), in constant time. */
unsigned http_source_counts_max(const struct http_source_counts *t);

#endif
