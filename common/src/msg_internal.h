/* Helpers shared by msg.c and msg_json.c; not part of the public API. */
#ifndef SITEGATE_MSG_INTERNAL_H
#define SITEGATE_MSG_INTERNAL_H

#include <jansson.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

/* Checks raw msgpack before msgpack-c sees it (sizes against the bytes left,
 * nesting depth): returns 0 with the length of the first value in *used. */
int msg__mp_check(const void *data, size_t len, size_t *used, char *why, size_t why_len);
bool msg__utf8_valid(const char *s, size_t n);
int msg__json_pack(const json_t *json, msgpack_packer *pk, int depth);

#endif
