/* A fake of the few libgpiod v1 calls hw_gpiod.c makes, linked instead of
 * libgpiod by test_hw_gpiod: test machines have no GPIO chips. Lines are
 * declared by the test; inputs are set by the test (a requested input with
 * events gets an edge event on a pipe the poll loop watches); an output may be
 * linked to an input that then follows it (a contactor and its auxiliary
 * contact). Values are physical levels: active-low requests invert them. */
#ifndef FAKE_GPIOD_H
#define FAKE_GPIOD_H

#include <stdbool.h>

void fake_gpiod_reset(void);
void fake_gpiod_add(const char *name);
/* The chip that gpiod_chip_open_lookup() knows ("gpiochip0" after a reset). */
void fake_gpiod_chip(const char *name);
/* Physical level of a line. */
int fake_gpiod_level(const char *name);
/* Sets an input's physical level (an edge event when it changes). */
void fake_gpiod_set(const char *name, int level);
/* in follows out from now on (NULL in: stop following). */
void fake_gpiod_link(const char *out, const char *in);
bool fake_gpiod_requested(const char *name);
bool fake_gpiod_is_output(const char *name);
int fake_gpiod_open_chips(void);

#endif
