/* RFC 7643 2.3.5 dateTime values (xsd:dateTime, RFC 3339), for chronological filter comparison. */
#ifndef SYNC_SCIM_DATETIME_H
#define SYNC_SCIM_DATETIME_H

#include <stddef.h>
#include <stdint.h>

/* An instant: seconds since 1970-01-01T00:00:00Z and a fraction in units of 1e-18 s. */
struct scim_time {
	int64_t sec;
	int64_t frac;
};

/* Parses YYYY-MM-DDThh:mm:ss[.fraction][Z|±hh:mm] (T and Z in either case; no zone = UTC;
 * fraction digits past 18 are ignored). 0, or -1 when S (N bytes) is not such a dateTime. */
int scim_time_parse(const char *s, size_t n, struct scim_time *out);

/* <0, 0, >0 as A is before, at or after B. */
int scim_time_cmp(const struct scim_time *a, const struct scim_time *b);

#endif
