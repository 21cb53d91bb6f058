/* Bus topic templates. A template is relative to the configured prefix and has
 * placeholder segments: {svc} service name, {cp} charge point id, {conn}
 * connector id (decimal), {name} a free name (e.g. an OCPP action). */
#ifndef SITEGATE_TOPIC_H
#define SITEGATE_TOPIC_H

#include <stddef.h>

#define SG_TOPIC_MAX 256

struct sg_topic_args {
	char svc[32];
	char cp[64];
	int conn;
	char name[64];
};

/* Fills in the template. Returns the length, -EINVAL for a value that is empty or
 * holds '/', '+', '#', or -ENOSPC. */
int sg_topic_format(const char *prefix, const char *tmpl, const struct sg_topic_args *args,
                    char *buf, size_t len);
/* Subscription pattern for the template: every placeholder becomes '+'. */
int sg_topic_pattern(const char *prefix, const char *tmpl, char *buf, size_t len);
/* Matches topic against prefix/template and extracts the placeholders.
 * Returns 0, -ENOENT when it does not match (or a value does not fit), or
 * -EINVAL for an invalid template. */
int sg_topic_parse(const char *prefix, const char *tmpl, const char *topic,
                   struct sg_topic_args *out);

#endif
