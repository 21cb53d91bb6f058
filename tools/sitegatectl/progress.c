/* Progress lines for `sitegatectl status`: see progress.h. */
#include <stdio.h>
#include <string.h>

#include "progress.h"

#define DEFAULT_WIDTH 20
#define MAX_WIDTH     200

int
mt_progress_bar(long long percent, int width, char *buf, size_t len)
{
	char bar[MAX_WIDTH + 1];
	int full;

	if (width <= 0)
		width = DEFAULT_WIDTH;
	if (width > MAX_WIDTH)
		width = MAX_WIDTH;
	if (percent < 0)
		percent = 0;
	if (percent > 100)
		percent = 100;
	full = (int)((percent * width + 50) / 100);
	memset(bar, '#', (size_t)full);
	memset(bar + full, '.', (size_t)(width - full));
	bar[width] = '\0';
	return snprintf(buf, len, "[%s]", bar);
}

/* kind, status, then the bar with percent and a note, or only a note. */
static int
line(const char *kind, const char *status, const char *phase, long long percent, const char *note,
     int width, char *buf, size_t len)
{
	char bar[MAX_WIDTH + 3];
	bool active = strcmp(phase, "downloading") == 0 || strcmp(phase, "uploading") == 0 ||
	              strcmp(phase, "installing") == 0;

	if (!active)
		return snprintf(buf, len, "%-12s %-18s %s", kind, status, note);
	mt_progress_bar(percent, width, bar, sizeof(bar));
	return snprintf(buf, len, "%-12s %-18s %s %3lld%%%s%s", kind, status, bar,
	                percent < 0     ? 0
	                : percent > 100 ? 100
	                                : percent,
	                *note ? "  " : "", note);
}

int
mt_fw_state_line(const struct sg_msg_fw_state *st, int width, char *buf, size_t len)
{
	char note[200] = "";

	if (strcmp(st->phase, "downloading") == 0 || strcmp(st->phase, "retrying") == 0)
		snprintf(note, sizeof(note), "attempt %lld/%lld%s%s", (long long)st->attempt,
		         (long long)st->attempts, st->error[0] ? ": " : "", st->error);
	else if (strcmp(st->phase, "scheduled") == 0)
		snprintf(note, sizeof(note), "download scheduled");
	else if (strcmp(st->phase, "downloaded") == 0)
		snprintf(note, sizeof(note), "waiting for transactions to end");
	else if (strcmp(st->phase, "reporting") == 0)
		snprintf(note, sizeof(note), "reporting to the Central System%s%s",
		         st->error[0] ? ": " : "", st->error);
	else if (strcmp(st->phase, "idle") == 0 && st->last[0])
		snprintf(note, sizeof(note), "last: %s", st->last);
	return line("firmware", st->status, st->phase, st->percent, note, width, buf, len);
}

int
mt_diag_state_line(const struct sg_msg_diag_state *st, int width, char *buf, size_t len)
{
	char note[300] = "";

	if (strcmp(st->phase, "uploading") == 0)
		snprintf(note, sizeof(note), "%s", st->file_name);
	else if (strcmp(st->phase, "collecting") == 0)
		snprintf(note, sizeof(note), "collecting %s", st->file_name);
	else if (strcmp(st->phase, "retrying") == 0)
		snprintf(note, sizeof(note), "attempt %lld/%lld%s%s", (long long)st->attempt,
		         (long long)st->attempts, st->error[0] ? ": " : "", st->error);
	else if (strcmp(st->phase, "reporting") == 0)
		snprintf(note, sizeof(note), "reporting to the Central System");
	else if (strcmp(st->phase, "idle") == 0 && st->last[0])
		snprintf(note, sizeof(note), "last: %s %s", st->last, st->file_name);
	return line("diagnostics", st->status, st->phase, st->percent, note, width, buf, len);
}
