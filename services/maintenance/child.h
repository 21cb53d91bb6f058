/* Child processes on the poll loop, never waited for: posix_spawn() into a
 * session (and process group) of its own, stdout and stderr through one
 * non-blocking pipe read line by line, the exit seen through a pidfd, and a
 * timeout that sends SIGTERM to the process group and SIGKILL 5 s later. */
#ifndef MAINTENANCE_CHILD_H
#define MAINTENANCE_CHILD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sitegate/loop.h"

#define CHILD_LINE_MAX 1023 /* longer lines are cut */

struct child;

typedef void child_line_fn(struct child *ch, const char *line, void *ud);
/* status: the wait status of a spawned child, or -ECHILD for an attached
 * process (not ours: its status is unknown). The child is freed after this
 * returns; do not kill or detach it from here. */
typedef void child_exit_fn(struct child *ch, int status, bool timed_out, void *ud);

struct child_opts {
	char *const *argv;      /* argv[0]: the program's path */
	char *const *env;       /* NAME=value entries added to the environment; NULL-terminated */
	int64_t timeout_ms;     /* 0: none */
	bool ignore_sigpipe;    /* start with SIGPIPE ignored (survives the pipe's reader) */
	child_line_fn *on_line; /* each output line (stdout and stderr); NULL: discarded */
	child_exit_fn *on_exit;
	void *ud;
};

/* Returns 0 with *out set, or a negative errno (nothing started; logged by
 * the caller). */
int child_spawn(struct sg_loop *loop, const struct child_opts *o, struct child **out);
/* Watches a process that is not our child (one that outlived an earlier run
 * of the service) until it exits: on_exit gets -ECHILD. -ESRCH: it is gone. */
int child_attach(struct sg_loop *loop, pid_t pid, child_exit_fn *on_exit, void *ud,
                 struct child **out);
pid_t child_pid(const struct child *ch);
/* SIGKILL to its process group; no callbacks any more. The process is reaped
 * when it is gone (child_cleanup() frees what is left at exit). */
void child_kill(struct child *ch);
/* Stops watching and frees; the process runs on. */
void child_detach(struct child *ch);
/* Frees every child still known (at exit, after the loop stopped). */
void child_cleanup(void);

#endif
