/* libFuzzer target of the OCPP payload validator: the input is parsed as JSON (any value, as a
 * CALL payload can be) and validated against the .req and .conf of every action; the input is
 * also tried as an action name and as a date-time and URI string.
 *
 *   clang -fsanitize=fuzzer,address -I services/ocpp-bridge \
 *         services/ocpp-bridge/tests/fuzz_ocpp_validate.c \
 *         services/ocpp-bridge/ocpp_schema.c services/ocpp-bridge/ocpp_validate.c -ljansson -lm
 *   ./fuzz_ocpp_validate -max_total_time=60 corpus/
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ocpp_schema.h"

/* not assert(): the build types define NDEBUG */
#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static void
check_violation(const struct ocpp_violation *v, int r)
{
	json_t *s;

	if (r == 0) {
		CHECK(v->code == OCPP_ERROR_NONE);
		return;
	}
	CHECK(r == -EBADMSG);
	CHECK(ocpp_error_code_name(v->code));
	CHECK(v->keyword);
	CHECK(memchr(v->path, '\0', sizeof(v->path)));
	CHECK(memchr(v->text, '\0', sizeof(v->text)));
	/* both must be usable in a CALLERROR as they are: valid UTF-8 */
	s = json_string(v->path);
	CHECK(s);
	json_decref(s);
	s = json_string(v->text);
	CHECK(s);
	json_decref(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct ocpp_action *actions;
	struct ocpp_violation v;
	json_t *payload;
	size_t n;
	char *name;

	(void)ocpp_date_time_valid((const char *)data, size);
	(void)ocpp_uri_valid((const char *)data, size);

	name = malloc(size + 1);
	if (!name)
		return 0;
	memcpy(name, data, size);
	name[size] = '\0';
	(void)ocpp_action_find(name);
	free(name);

	payload = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!payload)
		return 0;
	actions = ocpp_action_list(&n);
	for (size_t i = 0; i < n; i++) {
		check_violation(&v, ocpp_validate(actions[i].req, payload, &v));
		check_violation(&v, ocpp_validate(actions[i].conf, payload, &v));
	}
	json_decref(payload);
	return 0;
}
