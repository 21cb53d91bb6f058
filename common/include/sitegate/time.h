/* Clocks and RFC 3339 timestamps. Wall time is Unix milliseconds (UTC). */
#ifndef SITEGATE_TIME_H
#define SITEGATE_TIME_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds: for timers and durations. */
int64_t sg_time_mono_ms(void);
/* CLOCK_REALTIME in Unix milliseconds. */
int64_t sg_time_wall_ms(void);

/* Longest output of sg_time_format(), NUL included: "YYYY-MM-DDTHH:MM:SS.mmmZ". */
#define SG_TIME_RFC3339_LEN 25

/* Formats unix_ms as UTC with milliseconds, e.g. "2026-11-22T01:42:57.123Z".
 * Returns the length written, or -EINVAL (out of range year 0..9999) / -ENOSPC. */
int sg_time_format(int64_t unix_ms, char *buf, size_t len);

/* Parses what Central Systems send: "2026-11-22T01:42:57Z", with any number of
 * fraction digits (truncated to ms), lower-case 't'/'z', and numeric offsets
 * "+01:00" / "-0530" / "+01". Rejects anything else, including out-of-range
 * fields and trailing garbage. Returns 0 or -EINVAL. */
int sg_time_parse(const char *s, int64_t *unix_ms);

#endif
