/* dateTime parsing and comparison (sync/scim/scim_datetime.h). */
#include "sync/scim/scim_datetime.h"

#include <stdbool.h>

#define FRAC_DIGITS 18

struct cursor {
	const char *s;
	size_t n, pos;
};

/* Reads exactly DIGITS decimal digits into *OUT. */
static bool digits(struct cursor *c, int count, int *out)
{
	int v = 0;
	for (int i = 0; i < count; i++, c->pos++) {
		if (c->pos >= c->n || c->s[c->pos] < '0' || c->s[c->pos] > '9')
			return false;
		v = v * 10 + (c->s[c->pos] - '0');
	}
	*out = v;
	return true;
}

static bool expect(struct cursor *c, char a, char b)
{
	if (c->pos >= c->n || (c->s[c->pos] != a && c->s[c->pos] != b))
		return false;
	c->pos++;
	return true;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* ".digits" after the seconds, as 1e-18 units. */
static bool fraction(struct cursor *c, int64_t *frac)
{
	int n = 0;
	*frac = 0;
	if (c->pos >= c->n || c->s[c->pos] != '.')
		return true;
	c->pos++;
	for (; c->pos < c->n && c->s[c->pos] >= '0' && c->s[c->pos] <= '9'; c->pos++, n++)
		if (n < FRAC_DIGITS)
			*frac = *frac * 10 + (c->s[c->pos] - '0');
	for (int k = n; k < FRAC_DIGITS; k++)
		*frac *= 10;
	return n > 0;
}

/* Z, ±hh:mm or nothing (UTC), as seconds east of UTC. */
static bool zone(struct cursor *c, int *offset)
{
	int h, m;
	*offset = 0;
	if (c->pos == c->n || expect(c, 'Z', 'z'))
		return true;
	char sign = c->s[c->pos++];
	if ((sign != '+' && sign != '-') || !digits(c, 2, &h) || !expect(c, ':', ':') || !digits(c, 2, &m) || h > 23 ||
	    m > 59)
		return false;
	*offset = (sign == '-' ? -1 : 1) * (h * 3600 + m * 60);
	return true;
}

int scim_time_parse(const char *s, size_t n, struct scim_time *out)
{
	struct cursor c = {s, n, 0};
	int y, mo, d, h, mi, sec, offset;
	int64_t frac;
	if (!digits(&c, 4, &y) || !expect(&c, '-', '-') || !digits(&c, 2, &mo) || !expect(&c, '-', '-') ||
	    !digits(&c, 2, &d) || !expect(&c, 'T', 't') || !digits(&c, 2, &h) || !expect(&c, ':', ':') ||
	    !digits(&c, 2, &mi) || !expect(&c, ':', ':') || !digits(&c, 2, &sec) || !fraction(&c, &frac) ||
	    !zone(&c, &offset) || c.pos != n)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 || mi > 59 || sec > 60)
		return -1; /* sec 60: a leap second (RFC 3339) */
	out->sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
	out->frac = frac;
	return 0;
}

int scim_time_cmp(const struct scim_time *a, const struct scim_time *b)
{
	if (a->sec != b->sec)
		return a->sec < b->sec ? -1 : 1;
	return a->frac < b->frac ? -1 : a->frac > b->frac;
}
