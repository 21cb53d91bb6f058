/* One line per event on stderr, prefixed with the syslog priority "<N>" that
 * journald and runit's svlogd understand. Never pass secrets to these. */
#ifndef SITEGATE_LOG_H
#define SITEGATE_LOG_H

#include <stdarg.h>

enum sg_log_level {
	SG_LOG_ERR = 3,
	SG_LOG_WARNING = 4,
	SG_LOG_NOTICE = 5,
	SG_LOG_INFO = 6,
	SG_LOG_DEBUG = 7,
};

/* ident prefixes every line ("connector: ..."). The string is borrowed. */
void sg_log_init(const char *ident, enum sg_log_level max_level);
void sg_log_set_level(enum sg_log_level max_level);
enum sg_log_level sg_log_level(void);
/* Parses "error", "warning", "notice", "info", "debug"; returns -EINVAL otherwise. */
int sg_log_level_parse(const char *name, enum sg_log_level *out);

void sg_log(enum sg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sg_logv(enum sg_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#define sg_err(...)    sg_log(SG_LOG_ERR, __VA_ARGS__)
#define sg_warn(...)   sg_log(SG_LOG_WARNING, __VA_ARGS__)
#define sg_notice(...) sg_log(SG_LOG_NOTICE, __VA_ARGS__)
#define sg_info(...)   sg_log(SG_LOG_INFO, __VA_ARGS__)
#define sg_debug(...)                                                                              \
	do {                                                                                       \
		if (sg_log_level() >= SG_LOG_DEBUG)                                                \
			sg_log(SG_LOG_DEBUG, __VA_ARGS__);                                         \
	} while (0)

/* Routes libmosquitto's and libwebsockets' own log output into sg_log. */
void sg_log_route_lws(void);

#endif
