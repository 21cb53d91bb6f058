/* One line per event on stderr: "<N>ident: text". journald (SyslogLevelPrefix)
 * and runit's svlogd both read the <N> priority prefix. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sitegate/log.h"

static const char *log_ident = "sitegate";
static enum sg_log_level log_max = SG_LOG_INFO;

static const char *const level_names[] = {
    [SG_LOG_ERR] = "error", [SG_LOG_WARNING] = "warning", [SG_LOG_NOTICE] = "notice",
    [SG_LOG_INFO] = "info", [SG_LOG_DEBUG] = "debug",
};

void
sg_log_init(const char *ident, enum sg_log_level max_level)
{
	log_ident = ident;
	log_max = max_level;
}

void
sg_log_set_level(enum sg_log_level max_level)
{
	log_max = max_level;
}

enum sg_log_level
sg_log_level(void)
{
	return log_max;
}

int
sg_log_level_parse(const char *name, enum sg_log_level *out)
{
	for (int l = SG_LOG_ERR; l <= SG_LOG_DEBUG; l++) {
		if (strcmp(name, level_names[l]) == 0) {
			*out = (enum sg_log_level)l;
			return 0;
		}
	}
	return -EINVAL;
}

void
sg_logv(enum sg_log_level level, const char *fmt, va_list ap)
{
	if (level > log_max)
		return;
	/* Build the whole line first so that it reaches stderr in one write(). */
	char line[2048];
	int n = snprintf(line, sizeof(line), "<%d>%s: ", (int)level, log_ident);
	if (n < 0)
		return;
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (m < 0)
		return;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2; /* truncated */
	/* One event, one line: fold embedded newlines. */
	for (size_t i = (size_t)n; i < len; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w; /* nothing sensible to do when stderr is gone */
}

void
sg_log(enum sg_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sg_logv(level, fmt, ap);
	va_end(ap);
}
