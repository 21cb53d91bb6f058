/* libFuzzer target: the OCPP payload decoders of sitegate-auth on any JSON. */
#include <stddef.h>
#include <stdint.h>

#include "auth_ocpp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	struct auth_list_update u;
	struct auth_info info;
	struct auth_resv r;
	int64_t id;
	char why[128];

	if (j == NULL)
		return 0;
	auth_ocpp_idtaginfo(j, &info, why, sizeof(why));
	auth_ocpp_idtaginfo(json_object_get(j, "idTagInfo"), &info, why, sizeof(why));
	if (auth_ocpp_send_local_list(j, 64, &u, why, sizeof(why)) == 0)
		auth_ocpp_update_free(&u);
	auth_ocpp_reserve_now(j, &r, why, sizeof(why));
	auth_ocpp_cancel_reservation(j, &id, why, sizeof(why));
	json_decref(j);
	return 0;
}
