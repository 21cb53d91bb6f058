/* libFuzzer target for the msgpack decoders: the input is decoded as every bus
 * message and as generic JSON. Whatever decodes must also encode, and decode
 * again to the same bytes; nothing may crash, leak or read out of bounds.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Icommon/include \
 *     common/tests/fuzz_msg.c common/src/msg.c common/src/msg_json.c \
 *     common/src/topic.c common/src/log.c common/src/time.c \
 *     $(pkg-config --cflags --libs msgpack jansson) -o fuzz_msg */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* See msg.c: msg.h's first comment trips -Wcomment. */
#include "sitegate/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct any_msg {
	_Alignas(max_align_t) unsigned char bytes[4096];
};

static void
check_message(enum sg_msg_id id, const uint8_t *data, size_t size)
{
	struct any_msg m, again;
	msgpack_sbuffer a, b;
	char why[128];
	json_t *j;

	if (sg_msg_decode(id, data, size, &m, why, sizeof(why)) != 0)
		return;
	msgpack_sbuffer_init(&a);
	msgpack_sbuffer_init(&b);
	/* Decoded strings are valid UTF-8 and JSON fields within the depth limit,
	 * so encoding can only fail for lack of memory. */
	if (sg_msg_encode(id, &m, &a) != 0)
		abort();
	if (sg_msg_decode(id, a.data, a.size, &again, why, sizeof(why)) != 0)
		abort();
	if (sg_msg_encode(id, &again, &b) != 0 || a.size != b.size ||
	    memcmp(a.data, b.data, a.size) != 0)
		abort();
	j = sg_msg_to_json(id, &m);
	if (!j)
		abort();
	json_decref(j);
	sg_msg_clear(id, &again);
	sg_msg_clear(id, &m);
	msgpack_sbuffer_destroy(&a);
	msgpack_sbuffer_destroy(&b);
}

static void
check_json(const uint8_t *data, size_t size)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	char why[128];
	json_t *j = sg_json_from_mp(data, size, why, sizeof(why)), *back;

	if (!j)
		return;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (sg_json_to_mp(j, &pk) != 0)
		abort();
	back = sg_json_from_mp(sb.data, sb.size, why, sizeof(why));
	if (!back || !json_equal(j, back))
		abort();
	json_decref(back);
	json_decref(j);
	msgpack_sbuffer_destroy(&sb);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int id = 0; id < SG_MSG__COUNT; id++)
		check_message((enum sg_msg_id)id, data, size);
	check_json(data, size);
	return 0;
}
