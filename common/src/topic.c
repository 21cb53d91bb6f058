/* Bus topic templates (see topic.h).
 *
 * A template is a '/'-separated list of segments; a segment is either literal
 * text or exactly one placeholder: {svc}, {cp}, {conn} or {name}. A brace
 * anywhere else, or an unknown placeholder, makes the template invalid
 * (-EINVAL): placeholders fill whole topic levels, so that the subscription
 * pattern can use '+' and parsing is unambiguous. A placeholder may appear
 * more than once; when parsing, every occurrence must then carry the same value.
 *
 * The full topic is "<prefix>/<filled template>"; a NULL or empty prefix means
 * none. The prefix is used verbatim (several levels are fine) but must not
 * hold the wildcards '+' or '#'.
 *
 * {conn} is written in decimal without leading zeros and must be 0..9999;
 * parsing accepts exactly that form. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "sitegate/topic.h"

#define CONN_MAX 9999

enum placeholder {
	PH_LITERAL = -1,
	PH_SVC,
	PH_CP,
	PH_CONN,
	PH_NAME,
};

static const char *const ph_names[] = {
    [PH_SVC] = "{svc}",
    [PH_CP] = "{cp}",
    [PH_CONN] = "{conn}",
    [PH_NAME] = "{name}",
};

/* Classifies the template segment seg[0..n): a placeholder, a literal, or -EINVAL. */
static int
segment_kind(const char *seg, size_t n)
{
	for (int i = 0; i < (int)(sizeof(ph_names) / sizeof(ph_names[0])); i++)
		if (strlen(ph_names[i]) == n && memcmp(seg, ph_names[i], n) == 0)
			return i;
	for (size_t i = 0; i < n; i++)
		if (seg[i] == '{' || seg[i] == '}' || seg[i] == '+' || seg[i] == '#')
			return -EINVAL;
	return PH_LITERAL;
}

static bool
prefix_ok(const char *prefix)
{
	return !prefix || !strpbrk(prefix, "+#");
}

/* A value read from a fixed-size field: non-empty, terminated inside the field,
 * without '/', '+' or '#'. */
static bool
value_ok(const char *v, size_t size)
{
	size_t n = strnlen(v, size);

	return n > 0 && n < size && !strpbrk(v, "/+#");
}

/* The end of the level that starts at s: the next '/' or the NUL. */
static const char *
level_end(const char *s)
{
	return s + strcspn(s, "/");
}

struct out {
	char *buf;
	size_t len;
	size_t pos; /* what the full result needs, excluding the NUL */
};

static void
out_put(struct out *o, const char *s, size_t n)
{
	if (o->pos < o->len) {
		size_t room = o->len - o->pos;

		memcpy(o->buf + o->pos, s, n < room ? n : room);
	}
	o->pos += n;
}

/* Writes prefix/template with the placeholders from args, or '+' when args is NULL. */
static int
build(const char *prefix, const char *tmpl, const struct sg_topic_args *args, char *buf, size_t len)
{
	struct out o = {.buf = buf, .len = len};
	const char *t = tmpl;

	if (!tmpl || !*tmpl || !prefix_ok(prefix))
		return -EINVAL;
	if (prefix && *prefix) {
		out_put(&o, prefix, strlen(prefix));
		out_put(&o, "/", 1);
	}
	for (;;) {
		const char *end = level_end(t);
		int kind = segment_kind(t, (size_t)(end - t));
		const char *v;
		char num[16];
		size_t size;

		switch (kind) {
		case PH_LITERAL:
			out_put(&o, t, (size_t)(end - t));
			break;
		case PH_SVC:
		case PH_CP:
		case PH_NAME:
			if (!args) {
				out_put(&o, "+", 1);
				break;
			}
			if (kind == PH_SVC) {
				v = args->svc;
				size = sizeof(args->svc);
			} else if (kind == PH_CP) {
				v = args->cp;
				size = sizeof(args->cp);
			} else {
				v = args->name;
				size = sizeof(args->name);
			}
			if (!value_ok(v, size))
				return -EINVAL;
			out_put(&o, v, strlen(v));
			break;
		case PH_CONN:
			if (!args) {
				out_put(&o, "+", 1);
				break;
			}
			if (args->conn < 0 || args->conn > CONN_MAX)
				return -EINVAL;
			out_put(&o, num, (size_t)snprintf(num, sizeof(num), "%d", args->conn));
			break;
		default:
			return kind;
		}
		if (!*end)
			break;
		out_put(&o, "/", 1);
		t = end + 1;
	}
	if (o.pos >= len || o.pos > INT_MAX) {
		if (len > 0)
			buf[len - 1] = '\0';
		return -ENOSPC;
	}
	buf[o.pos] = '\0';
	return (int)o.pos;
}

int
sg_topic_format(const char *prefix, const char *tmpl, const struct sg_topic_args *args, char *buf,
                size_t len)
{
	if (!args)
		return -EINVAL;
	return build(prefix, tmpl, args, buf, len);
}

int
sg_topic_pattern(const char *prefix, const char *tmpl, char *buf, size_t len)
{
	return build(prefix, tmpl, NULL, buf, len);
}

/* Strict decimal 0..CONN_MAX: digits only, no sign, no leading zero. */
static bool
conn_parse(const char *s, size_t n, int *out)
{
	int v = 0;

	if (n == 0 || n > 4 || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* Stores the topic segment s[0..n) in the field dst of size bytes; a repeated
 * placeholder must repeat its value. */
static bool
value_store(char *dst, size_t size, const char *s, size_t n, bool seen)
{
	if (n >= size)
		return false;
	if (seen)
		return strlen(dst) == n && memcmp(dst, s, n) == 0;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return true;
}

int
sg_topic_parse(const char *prefix, const char *tmpl, const char *topic, struct sg_topic_args *out)
{
	const char *t = tmpl, *p = topic;
	unsigned seen = 0;

	if (!tmpl || !*tmpl || !topic || !out || !prefix_ok(prefix))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (prefix && *prefix) {
		size_t n = strlen(prefix);

		if (strncmp(topic, prefix, n) != 0 || topic[n] != '/')
			return -ENOENT;
		p = topic + n + 1;
	}
	for (;;) {
		const char *tend = level_end(t), *pend = level_end(p);
		size_t tn = (size_t)(tend - t), pn = (size_t)(pend - p);
		int kind = segment_kind(t, tn), conn;
		bool ok;

		if (kind < PH_LITERAL)
			return kind;
		if (kind == PH_LITERAL) {
			ok = tn == pn && memcmp(t, p, tn) == 0;
		} else if (pn == 0 || memchr(p, '+', pn) || memchr(p, '#', pn)) {
			ok = false;
		} else if (kind == PH_CONN) {
			ok = conn_parse(p, pn, &conn) &&
			     (!(seen & (1u << PH_CONN)) || out->conn == conn);
			if (ok)
				out->conn = conn;
		} else if (kind == PH_SVC) {
			ok = value_store(out->svc, sizeof(out->svc), p, pn, seen & (1u << kind));
		} else if (kind == PH_CP) {
			ok = value_store(out->cp, sizeof(out->cp), p, pn, seen & (1u << kind));
		} else {
			ok = value_store(out->name, sizeof(out->name), p, pn, seen & (1u << kind));
		}
		if (!ok)
			return -ENOENT;
		if (kind != PH_LITERAL)
			seen |= 1u << kind;
		if (!*tend || !*pend)
			return !*tend && !*pend ? 0 : -ENOENT;
		t = tend + 1;
		p = pend + 1;
	}
}
