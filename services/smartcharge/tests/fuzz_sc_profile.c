/* libFuzzer target: a ChargingProfile as JSON (the first byte picks the connector) through
 * the decoder, the installation rules, the set and a composite schedule of a day, in A and
 * in W. Nothing may crash, leak or overflow, whatever the timestamps and periods say. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "profiles.h"
#include "schedule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sc_slot slots[256];
	const int64_t now = 1772445600000LL; /* 2026-03-02T10:00:00Z */
	struct sc_rules rules = {.max_stack_level = 30,
	                         .max_periods = 48,
	                         .max_profiles = 30,
	                         .allow_a = true,
	                         .allow_w = true,
	                         .n_connectors = 2};
	struct sc_conn_ctx conns[2] = {
	    {.rated_a = 32, .phases = 3, .tx = true, .tx_start = now - 60000, .transaction_id = 7},
	    {.rated_a = 16, .phases = 1},
	};
	struct sc_profile_set set = {0};
	struct sc_cp_ctx cp = {
	    .voltage = 230, .phases = 3, .profiles = &set, .conns = conns, .n_conns = 2};
	struct sc_tx_view tx = {.active = true, .transaction_id = 7};
	struct sc_profile p;
	char why[160];
	int64_t end;

	if (size < 1)
		return 0;
	int conn = data[0] % 3;
	json_t *j = json_loadb((const char *)data + 1, size - 1, 0, NULL);
	if (!j)
		return 0;
	if (sc_profile_parse(j, conn, &p, why, sizeof(why)) == 0) {
		sc_profile_check(&p, &rules, conn == 1 ? &tx : NULL, now, why, sizeof(why));
		if (sc_set_install(&set, &p, 30, NULL) < 0)
			sc_profile_clear(&p);
		for (int c = 0; c <= 2; c++) {
			int n = sc_composite(&cp, c, now, now + SC_DAY_MS, slots, 256, &end);
			for (int u = 0; n > 0 && u < 2; u++)
				json_decref(sc_schedule_json(slots, (size_t)n, now, end,
				                             (enum sc_unit)u, 230));
		}
		sc_set_drop_tx(&set, 1);
	}
	sc_set_free(&set);
	json_decref(j);
	return 0;
}
