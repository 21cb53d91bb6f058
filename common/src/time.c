/* Clocks and RFC 3339 timestamps. Calendar conversion is plain arithmetic on the
 * proleptic Gregorian calendar, so nothing here depends on TZ or the C library's
 * idea of local time. */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "sitegate/time.h"

#define MS_PER_DAY INT64_C(86400000)

/* Years sg_time_format() can print with four digits. */
#define YEAR_MIN 0
#define YEAR_MAX 9999

static int64_t
clock_ms(clockid_t id)
{
	struct timespec ts;

	/* Cannot fail for these clock ids on Linux. */
	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
sg_time_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

int64_t
sg_time_wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

/* Division rounding toward negative infinity (b > 0). */
static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b) != 0 && a < 0)
		q--;
	return q;
}

static bool
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int64_t y, int m)
{
	static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/* Days from 1970-01-01 to y-m-d. The year is counted from March so that the
 * leap day falls at its end: then the days before a month are a linear
 * function of the month number, and the days before a year count the leap
 * days of the years before it. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t yr = m > 2 ? y : y - 1;  /* year starting in March */
	int mar = m > 2 ? m - 3 : m + 9; /* 0 = March ... 11 = February */
	int64_t days;

	days = yr * 365 + floor_div(yr, 4) - floor_div(yr, 100) + floor_div(yr, 400);
	days += (153 * mar + 2) / 5 + (d - 1);
	/* The same sum for 1970-01-01 (1969-03-01 plus 306 days). */
	return days - 719468;
}

/* The inverse: estimate the year, correct it, then walk the months. */
static void
civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
	int64_t yr = 1970 + floor_div(days * 400, 146097);
	int64_t rem;
	int mon = 1;

	while (days_from_civil(yr, 1, 1) > days)
		yr--;
	while (days_from_civil(yr + 1, 1, 1) <= days)
		yr++;
	rem = days - days_from_civil(yr, 1, 1);
	while (rem >= days_in_month(yr, mon)) {
		rem -= days_in_month(yr, mon);
		mon++;
	}
	*y = yr;
	*m = mon;
	*d = (int)rem + 1;
}

int
sg_time_format(int64_t unix_ms, char *buf, size_t len)
{
	int64_t min = days_from_civil(YEAR_MIN, 1, 1) * MS_PER_DAY;
	int64_t max = days_from_civil(YEAR_MAX + 1, 1, 1) * MS_PER_DAY - 1;
	int64_t days, ms, y;
	int mon, d, n;

	assert(buf != NULL || len == 0);
	if (unix_ms < min || unix_ms > max)
		return -EINVAL;
	if (len < SG_TIME_RFC3339_LEN)
		return -ENOSPC;

	days = floor_div(unix_ms, MS_PER_DAY);
	ms = unix_ms - days * MS_PER_DAY;
	civil_from_days(days, &y, &mon, &d);
	n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)y, mon, d,
	             (int)(ms / 3600000), (int)(ms / 60000 % 60), (int)(ms / 1000 % 60),
	             (int)(ms % 1000));
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

/* Reads exactly ndigits decimal digits at *p and advances past them. */
static bool
read_digits(const char **p, int ndigits, int *out)
{
	const char *s = *p;
	int v = 0;

	for (int i = 0; i < ndigits; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*p = s + ndigits;
	*out = v;
	return true;
}

static bool
expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

/* Grammar accepted (RFC 3339 date-time, minus the space separator):
 *   YYYY-MM-DD ("T"/"t") hh:mm:ss ["." 1*DIGIT] ("Z"/"z" / ("+"/"-") hh [[":"] mm]) */
int
sg_time_parse(const char *s, int64_t *unix_ms)
{
	int year, mon, day, hour, min, sec, ms = 0, off_h = 0, off_m = 0, sign = 0;
	const char *p = s;
	int64_t t;

	if (s == NULL || unix_ms == NULL)
		return -EINVAL;
	if (!read_digits(&p, 4, &year) || !expect(&p, '-') || !read_digits(&p, 2, &mon) ||
	    !expect(&p, '-') || !read_digits(&p, 2, &day))
		return -EINVAL;
	if (*p != 'T' && *p != 't')
		return -EINVAL;
	p++;
	if (!read_digits(&p, 2, &hour) || !expect(&p, ':') || !read_digits(&p, 2, &min) ||
	    !expect(&p, ':') || !read_digits(&p, 2, &sec))
		return -EINVAL;

	if (*p == '.') {
		int ndigits = 0;

		p++;
		for (; *p >= '0' && *p <= '9'; p++, ndigits++) {
			if (ndigits < 3)
				ms = ms * 10 + (*p - '0');
		}
		if (ndigits == 0)
			return -EINVAL;
		for (; ndigits < 3; ndigits++)
			ms *= 10;
	}

	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		p++;
		if (!read_digits(&p, 2, &off_h))
			return -EINVAL;
		if (*p == ':') {
			p++;
			if (!read_digits(&p, 2, &off_m))
				return -EINVAL;
		} else if (*p != '\0' && !read_digits(&p, 2, &off_m)) {
			return -EINVAL;
		}
	} else {
		return -EINVAL;
	}
	if (*p != '\0')
		return -EINVAL;

	if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon) || hour > 23 ||
	    min > 59 || sec > 59 || off_h > 23 || off_m > 59)
		return -EINVAL;

	t = days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec;
	t -= (int64_t)sign * (off_h * 3600 + off_m * 60);
	*unix_ms = t * 1000 + ms;
	return 0;
}
