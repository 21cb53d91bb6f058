/* libFuzzer target: any configuration file either loads (and dumps) or yields
 * an error message; nothing crashes. Run with -detect_leaks=0: libconfig 1.5
 * itself leaks on some syntax errors. */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "sitegate/config.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	if (!path[0])
		snprintf(path, sizeof(path), "fuzz-config-%d.conf", (int)getpid());
	FILE *f = fopen(path, "w");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);

	struct sg_config conf;
	struct sg_conf_error err;
	char text[768];
	if (sg_config_load(path, &conf, &err) == 0) {
		FILE *out = fopen("/dev/null", "w");
		if (out) {
			sg_config_dump(&conf, out);
			fclose(out);
		}
		sg_config_free(&conf);
	} else {
		sg_conf_error_format(&err, text, sizeof(text));
	}
	return 0;
}
