/* The fake libgpiod of test_hw_gpiod (see fake_gpiod.h). */
#include <errno.h>
#include <fcntl.h>
#include <gpiod.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_gpiod.h"

#define MAX_LINES 32

struct gpiod_chip {
	int open;
};

struct gpiod_line {
	char name[32];
	int level; /* physical */
	bool requested, output, events, active_low;
	int pipe[2];
	struct gpiod_line *follower;
};

static struct gpiod_chip chip;
static char chip_name[32] = "gpiochip0";
static struct gpiod_line lines[MAX_LINES];
static int n_lines;
static int open_chips;

static struct gpiod_line *
find(const char *name)
{
	for (int i = 0; i < n_lines; i++)
		if (strcmp(lines[i].name, name) == 0)
			return &lines[i];
	return NULL;
}

static void
close_pipe(struct gpiod_line *l)
{
	if (l->pipe[0] >= 0)
		close(l->pipe[0]);
	if (l->pipe[1] >= 0)
		close(l->pipe[1]);
	l->pipe[0] = l->pipe[1] = -1;
}

void
fake_gpiod_reset(void)
{
	for (int i = 0; i < n_lines; i++)
		close_pipe(&lines[i]);
	memset(lines, 0, sizeof(lines));
	n_lines = 0;
	open_chips = 0;
	strcpy(chip_name, "gpiochip0");
}

void
fake_gpiod_add(const char *name)
{
	struct gpiod_line *l = &lines[n_lines++];
	memset(l, 0, sizeof(*l));
	strncpy(l->name, name, sizeof(l->name) - 1);
	l->pipe[0] = l->pipe[1] = -1;
}

void
fake_gpiod_chip(const char *name)
{
	strncpy(chip_name, name, sizeof(chip_name) - 1);
}

int
fake_gpiod_level(const char *name)
{
	struct gpiod_line *l = find(name);
	return l ? l->level : -1;
}

static void
set_level(struct gpiod_line *l, int level)
{
	if (l->level == level)
		return;
	l->level = level;
	if (l->events && l->pipe[1] >= 0) {
		char e =
		    (char)(level ? GPIOD_LINE_EVENT_RISING_EDGE : GPIOD_LINE_EVENT_FALLING_EDGE);
		if (write(l->pipe[1], &e, 1) != 1)
			abort();
	}
}

void
fake_gpiod_set(const char *name, int level)
{
	set_level(find(name), level != 0);
}

void
fake_gpiod_link(const char *out, const char *in)
{
	struct gpiod_line *o = find(out);
	o->follower = in ? find(in) : NULL;
	if (o->follower)
		set_level(o->follower, o->level);
}

bool
fake_gpiod_requested(const char *name)
{
	return find(name)->requested;
}

bool
fake_gpiod_is_output(const char *name)
{
	return find(name)->output;
}

int
fake_gpiod_open_chips(void)
{
	return open_chips;
}

/* ---- the libgpiod v1 calls ---------------------------------------------------- */

struct gpiod_chip *
gpiod_chip_open_lookup(const char *descr)
{
	if (strcmp(descr, chip_name) != 0) {
		errno = ENOENT;
		return NULL;
	}
	open_chips++;
	chip.open = 1;
	return &chip;
}

void
gpiod_chip_close(struct gpiod_chip *c)
{
	open_chips--;
	c->open = 0;
}

struct gpiod_line *
gpiod_chip_find_line(struct gpiod_chip *c, const char *name)
{
	struct gpiod_line *l = find(name);
	if (!l)
		errno = ENOENT;
	return l;
}

int
gpiod_line_request_output_flags(struct gpiod_line *l, const char *consumer, int flags,
                                int default_val)
{
	if (l->requested) {
		errno = EBUSY;
		return -1;
	}
	l->requested = l->output = true;
	l->active_low = flags & GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW;
	l->level = l->active_low ? !default_val : default_val != 0;
	return 0;
}

int
gpiod_line_request_both_edges_events_flags(struct gpiod_line *l, const char *consumer, int flags)
{
	if (l->requested) {
		errno = EBUSY;
		return -1;
	}
	if (pipe2(l->pipe, O_NONBLOCK | O_CLOEXEC) != 0)
		return -1;
	l->requested = l->events = true;
	l->output = false;
	l->active_low = flags & GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW;
	return 0;
}

void
gpiod_line_release(struct gpiod_line *l)
{
	l->requested = l->events = false;
	close_pipe(l);
}

int
gpiod_line_get_value(struct gpiod_line *l)
{
	if (!l->requested) {
		errno = EPERM;
		return -1;
	}
	return l->active_low ? !l->level : l->level;
}

int
gpiod_line_set_value(struct gpiod_line *l, int value)
{
	if (!l->requested || !l->output) {
		errno = EPERM;
		return -1;
	}
	l->level = l->active_low ? !value : value != 0;
	if (l->follower)
		set_level(l->follower, l->level);
	return 0;
}

int
gpiod_line_event_get_fd(struct gpiod_line *l)
{
	return l->events ? l->pipe[0] : -1;
}

int
gpiod_line_event_read(struct gpiod_line *l, struct gpiod_line_event *ev)
{
	char e;
	if (read(l->pipe[0], &e, 1) != 1)
		return -1;
	memset(ev, 0, sizeof(*ev));
	ev->event_type = e;
	return 0;
}
