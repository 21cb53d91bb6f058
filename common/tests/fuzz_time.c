/* libFuzzer target: the RFC 3339 parser never crashes, and whatever it accepts
 * formats back to a string that parses to the same instant. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sitegate/time.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	int64_t t, again;
	char buf[SG_TIME_RFC3339_LEN];
	if (sg_time_parse(s, &t) == 0 && sg_time_format(t, buf, sizeof(buf)) > 0 &&
	    (sg_time_parse(buf, &again) != 0 || again != t))
		abort();
	free(s);
	return 0;
}
