/* Diagnostics collection: a tar.gz with the effective configuration (secrets
 * redacted), the bus state this service saw, its own jobs, a manifest, and the
 * log files below log_dir chosen by mt_diag_select() (time window, size cap).
 *
 * The small files are written here; copying the logs and compressing run in a
 * child (/bin/sh with tail and tar), so the loop never waits for the disk:
 *
 *   <work_dir>/<name>/            the staging directory (removed by the child)
 *       manifest.txt config.txt bus-state.json maintenance.json logs/...
 *   <work_dir>/<name>.tar.gz      the archive (file_name)
 */
#ifndef MAINTENANCE_ARCHIVE_H
#define MAINTENANCE_ARCHIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "sitegate/config.h"
#include "sitegate/loop.h"

#define ARCHIVE_MAX_FILES 2000 /* log files looked at */

struct archive;

/* result: 0 or a negative errno with why. The archive is freed after this. */
typedef void archive_done_fn(struct archive *a, int result, const char *why, void *ud);

struct archive_opts {
	const char *work_dir;  /* created; emptied first */
	const char *file_name; /* "<...>.tar.gz" */
	const char *cp;        /* for the manifest */
	const char *log_dir;   /* "" or NULL: no log files */
	int64_t cap_bytes;     /* of everything collected, before compression */
	bool has_start, has_stop;
	int64_t start, stop; /* Unix ms */
	const struct sg_config *conf;
	const char *bus_state; /* JSON text */
	const char *jobs;      /* JSON text */
	archive_done_fn *on_done;
	void *ud;
};

/* Returns 0 with *out set, or a negative errno (logged). */
int archive_start(struct sg_loop *loop, const struct archive_opts *o, struct archive **out);
/* Kills the child and removes the work directory. Accepts NULL. */
void archive_cancel(struct archive *a);
/* Removes the work directory and everything in it. */
void archive_remove(const char *work_dir);

/* mkdir -p with mode 0750. Returns 0 or a negative errno. */
int archive_mkdirs(const char *path);

#endif
