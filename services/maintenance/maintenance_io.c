/* sitegate-maintenance, the world: see maintenance_io.h. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sitegate/keys.h"
#include "sitegate/log.h"
#include "sitegate/store.h"
#include "sitegate/time.h"

#include "archive.h"
#include "child.h"
#include "maintenance.h"
#include "maintenance_io.h"
#include "transfer.h"

#define DB_FILE         "maintenance.db"
#define SEND_TIMEOUT_MS 45000 /* the bridge gives the Central System 30 s */
#define MAX_TIMER_MS    60000 /* re-evaluate at least this often (wall clock steps) */
#define BUS_STATE_MAX   4096  /* retained messages kept for diagnostics */
#define KEY_PERCENT     "GetFirmwareUpgradePercentages"
#define KEY_PROTOCOLS   "SupportedFileTransferProtocols"

static const char *const status_action[MT__KINDS] = {"FirmwareStatusNotification",
                                                     "DiagnosticsStatusNotification"};
static const char *const kind_name[MT__KINDS] = {"firmware", "diagnostics"};

/* Callback context of one charge point's job: lives as long as the io. */
struct ref {
	struct mt_io *io;
	size_t cp;
	enum mt_kind kind;
};

struct cp_io {
	struct ref refs[MT__KINDS];
	struct tr_job *transfer[MT__KINDS];
	struct archive *archive;
	struct child *hook;
	int key_percent;
	char safe[64]; /* the id as a file name */
};

struct mt_io {
	struct sg_service *svc;
	const struct sg_maintenance_conf *conf;
	struct sg_keys *keys;
	sqlite3 *db;
	sqlite3_stmt *save;
	struct tr *tr;
	struct mt_core core;
	struct mt_cp *cps;
	struct cp_io *cio;
	uint64_t timer;
	bool stopping;
	char download_dir[PATH_MAX];
	char state_dir[PATH_MAX]; /* <state_dir>/maintenance */
	char boot_id[40];
	json_t *bus_state; /* topic -> the last retained message seen, for diagnostics */
};

/* The status notification in flight: its own allocation, because the bus may
 * answer (-ECANCELED) after the io is gone. */
struct send_ctx {
	struct mt_io *io;
	size_t cp;
	enum mt_kind kind;
	char status[MT_STATUS_MAX + 1];
};

static const struct sg_store_migration migrations[] = {
    {1, "CREATE TABLE jobs (\n"
        "  cp TEXT NOT NULL,\n"
        "  kind TEXT NOT NULL,          -- firmware | diagnostics\n"
        "  phase TEXT NOT NULL,         -- see phase_names\n"
        "  location TEXT NOT NULL,\n"
        "  retrieve_at INTEGER NOT NULL,\n"
        "  has_start INTEGER NOT NULL, start_at INTEGER NOT NULL,\n"
        "  has_stop INTEGER NOT NULL, stop_at INTEGER NOT NULL,\n"
        "  attempt INTEGER NOT NULL, attempts INTEGER NOT NULL,\n"
        "  retry_ms INTEGER NOT NULL, next_at INTEGER NOT NULL,\n"
        "  file TEXT NOT NULL, final TEXT NOT NULL, last TEXT NOT NULL, error TEXT NOT NULL,\n"
        "  since INTEGER NOT NULL,\n"
        "  hook_pid INTEGER NOT NULL, boot_id TEXT NOT NULL,\n"
        "  PRIMARY KEY (cp, kind)\n"
        ") WITHOUT ROWID;"},
};

/* Stored names of the phases: part of the schema, never renumbered. */
static const char *const phase_names[] = {
    [MT_IDLE] = "idle",
    [MT_SCHEDULED] = "scheduled",
    [MT_COLLECTING] = "collecting",
    [MT_TRANSFER] = "transfer",
    [MT_RETRY_WAIT] = "retry",
    [MT_DOWNLOADED] = "downloaded",
    [MT_INSTALLING] = "installing",
    [MT_REPORTING] = "reporting",
};

static void kick(struct mt_io *io);

static struct mt_cp *
ref_cp(const struct ref *r)
{
	return &r->io->cps[r->cp];
}

static size_t
cp_index(const struct mt_io *io, const struct mt_cp *cp)
{
	return (size_t)(cp - io->cps);
}

/* ---- paths ---------------------------------------------------------------------- */

/* The paths below are bounded by the configuration (state_dir, download_dir:
 * 255 bytes; names: 127), far below PATH_MAX; a cut one would only fail to open. */
__attribute__((format(printf, 3, 4))) static int
pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static void
image_path(const struct mt_io *io, size_t cp, const char *file, char *buf, size_t len)
{
	pathf(buf, len, "%s/%s/%s", io->download_dir, io->cio[cp].safe, file);
}

static void
work_dir(const struct mt_io *io, size_t cp, char *buf, size_t len)
{
	pathf(buf, len, "%s/diagnostics/%s", io->state_dir, io->cio[cp].safe);
}

static void
archive_path(const struct mt_io *io, size_t cp, const char *file, char *buf, size_t len)
{
	pathf(buf, len, "%s/diagnostics/%s/%s", io->state_dir, io->cio[cp].safe, file);
}

static void
result_path(const struct mt_io *io, size_t cp, char *buf, size_t len)
{
	pathf(buf, len, "%s/%s.install-result", io->state_dir, io->cio[cp].safe);
}

static bool
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void
read_boot_id(char *buf, size_t len)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	buf[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(buf, (int)len, f) != NULL)
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* "Installed" / "InstallationFailed" as the hook left it; "" when none. */
static void
read_result(const struct mt_io *io, size_t cp, char *buf, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	buf[0] = '\0';
	result_path(io, cp, path, sizeof(path));
	f = fopen(path, "re");
	if (f == NULL)
		return;
	if (fgets(buf, (int)len, f) == NULL)
		buf[0] = '\0';
	buf[strcspn(buf, " \t\r\n")] = '\0';
	fclose(f);
}

/* ---- state: persisted, published ------------------------------------------------- */

static void
persist(struct mt_io *io, const struct mt_cp *cp, const struct mt_job *job)
{
	sqlite3_stmt *s = io->save;
	int i = 1;

	sqlite3_reset(s);
	sqlite3_bind_text(s, i++, cp->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, i++, kind_name[job->kind], -1, SQLITE_STATIC);
	sqlite3_bind_text(s, i++, phase_names[job->phase], -1, SQLITE_STATIC);
	sqlite3_bind_text(s, i++, job->location, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, i++, job->retrieve_at);
	sqlite3_bind_int(s, i++, job->has_start);
	sqlite3_bind_int64(s, i++, job->start_at);
	sqlite3_bind_int(s, i++, job->has_stop);
	sqlite3_bind_int64(s, i++, job->stop_at);
	sqlite3_bind_int(s, i++, job->attempt);
	sqlite3_bind_int(s, i++, job->attempts);
	sqlite3_bind_int64(s, i++, job->retry_ms);
	sqlite3_bind_int64(s, i++, job->next_at);
	sqlite3_bind_text(s, i++, job->file, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, i++, job->final, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, i++, job->last, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, i++, job->error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, i++, job->since);
	sqlite3_bind_int64(s, i++, job->hook_pid);
	sqlite3_bind_text(s, i++, job->boot_id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE)
		sg_err("%s: cannot store the %s job (%s); a restart would not know it", cp->id,
		       kind_name[job->kind], sqlite3_errmsg(io->db));
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

static void
fill_fw_state(const struct mt_job *job, struct sg_msg_fw_state *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->status, sizeof(m->status), "%s", mt_status_now(job));
	snprintf(m->phase, sizeof(m->phase), "%s", mt_phase_name(job));
	m->percent = job->percent;
	snprintf(m->last, sizeof(m->last), "%s", job->last);
	mt_url_redact(job->location, m->location, sizeof(m->location));
	m->retrieve_date = job->retrieve_at;
	m->attempt = job->attempt;
	m->attempts = job->attempts;
	snprintf(m->error, sizeof(m->error), "%s", job->error);
	m->since = job->since;
}

static void
fill_diag_state(const struct mt_job *job, struct sg_msg_diag_state *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->status, sizeof(m->status), "%s", mt_status_now(job));
	snprintf(m->phase, sizeof(m->phase), "%s", mt_phase_name(job));
	m->percent = job->percent;
	snprintf(m->last, sizeof(m->last), "%s", job->last);
	snprintf(m->file_name, sizeof(m->file_name), "%s", job->file);
	mt_url_redact(job->location, m->location, sizeof(m->location));
	m->attempt = job->attempt;
	m->attempts = job->attempts;
	snprintf(m->error, sizeof(m->error), "%s", job->error);
	m->since = job->since;
}

static struct sg_topic_args
cp_args(const struct mt_cp *cp, const char *name)
{
	struct sg_topic_args a = {0};

	snprintf(a.cp, sizeof(a.cp), "%s", cp->id);
	if (name)
		snprintf(a.name, sizeof(a.name), "%s", name);
	return a;
}

static void
publish_state(struct mt_io *io, const struct mt_cp *cp, const struct mt_job *job)
{
	struct sg_topic_args a = cp_args(cp, NULL);

	if (job->kind == MT_FIRMWARE) {
		struct sg_msg_fw_state m;

		fill_fw_state(job, &m);
		sg_bus_publish(io->svc->bus, SG_MSG_fw_state, &m, &a);
	} else {
		struct sg_msg_diag_state m;

		fill_diag_state(job, &m);
		sg_bus_publish(io->svc->bus, SG_MSG_diag_state, &m, &a);
	}
}

static void
update_key(struct mt_io *io, size_t cp, int percent)
{
	char v[8];

	if (io->cio[cp].key_percent == percent)
		return;
	io->cio[cp].key_percent = percent;
	snprintf(v, sizeof(v), "%d", percent);
	sg_keys_set(io->keys, io->cps[cp].id, KEY_PERCENT, v);
}

/* ---- the core's ops ------------------------------------------------------------- */

static void
on_transfer_progress(struct tr_job *t, int percent, void *ud)
{
	struct ref *r = ud;

	mt_transfer_progress(&r->io->core, ref_cp(r), r->kind, percent);
}

static void
on_transfer_done(struct tr_job *t, int result, const char *why, void *ud)
{
	struct ref *r = ud;
	struct mt_io *io = r->io;
	struct mt_cp *cp = ref_cp(r);
	const struct mt_job *job = &cp->jobs[r->kind];
	const char *what =
	    r->kind == MT_FIRMWARE ? "download of the firmware" : "diagnostics upload";

	io->cio[r->cp].transfer[r->kind] = NULL;
	mt_transfer_done(&io->core, cp, r->kind, result, why, sg_time_wall_ms());
	if (result == 0)
		sg_notice("%s: %s done (attempt %d of %d)", cp->id, what, job->attempt,
		          job->attempts);
	else if (job->phase == MT_RETRY_WAIT)
		sg_warn("%s: %s failed (attempt %d of %d): %s; trying again in %" PRId64 " s",
		        cp->id, what, job->attempt, job->attempts, why, job->retry_ms / 1000);
	else
		sg_err("%s: %s failed (attempt %d of %d): %s; giving up, reporting %s", cp->id,
		       what, job->attempt, job->attempts, why, job->final);
	kick(io);
}

static int
op_transfer_start(void *ud, struct mt_cp *cp, struct mt_job *job)
{
	struct mt_io *io = ud;
	size_t i = cp_index(io, cp);
	struct cp_io *c = &io->cio[i];
	char path[PATH_MAX], url[MT_URL_MAX + MT_NAME_MAX + 2], shown[MT_URL_MAX + 1],
	    dir[PATH_MAX];
	struct tr_opts o = {
	    .timeout_s = io->conf->transfer_timeout_s,
	    .on_progress = on_transfer_progress,
	    .on_done = on_transfer_done,
	    .ud = &c->refs[job->kind],
	};
	bool post = false;
	int rc;

	if (job->kind == MT_FIRMWARE) {
		pathf(dir, sizeof(dir), "%s/%s", io->download_dir, c->safe);
		if ((rc = archive_mkdirs(dir)) < 0) {
			sg_err("%s: cannot create the download directory \"%s\": %s", cp->id, dir,
			       strerror(-rc));
			return rc;
		}
		image_path(io, i, job->file, path, sizeof(path));
		o.kind = TR_DOWNLOAD;
		o.url = job->location;
		o.max_bytes = (int64_t)io->conf->firmware_max_mb << 20;
	} else {
		rc = mt_upload_target(job->location, job->file, url, sizeof(url), &post);
		if (rc < 0)
			return -EINVAL;
		archive_path(io, i, job->file, path, sizeof(path));
		o.kind = post ? TR_UPLOAD_POST : TR_UPLOAD;
		o.url = url;
		o.remote_name = job->file;
	}
	o.path = path;
	mt_url_redact(o.url, shown, sizeof(shown));
	rc = tr_start(io->tr, &o, &c->transfer[job->kind]);
	if (rc < 0)
		sg_warn("%s: cannot start the %s of \"%s\": %s", cp->id,
		        job->kind == MT_FIRMWARE ? "download" : "upload", shown, strerror(-rc));
	else
		sg_info("%s: %s \"%s\"%s (attempt %d of %d)", cp->id,
		        job->kind == MT_FIRMWARE ? "downloading firmware from"
		                                 : "uploading diagnostics to",
		        shown, post ? " with POST" : "", job->attempt, job->attempts);
	return rc;
}

static void
op_transfer_cancel(void *ud, struct mt_cp *cp, struct mt_job *job)
{
	struct mt_io *io = ud;
	struct cp_io *c = &io->cio[cp_index(io, cp)];

	if (c->transfer[job->kind]) {
		sg_info("%s: %s transfer cancelled", cp->id, kind_name[job->kind]);
		tr_cancel(c->transfer[job->kind]);
		c->transfer[job->kind] = NULL;
	}
}

static void
on_collected(struct archive *a, int result, const char *why, void *ud)
{
	struct ref *r = ud;
	struct mt_io *io = r->io;
	struct mt_cp *cp = ref_cp(r);

	io->cio[r->cp].archive = NULL;
	if (result < 0)
		sg_err("%s: diagnostics not collected: %s; reporting UploadFailed", cp->id, why);
	else
		sg_info("%s: diagnostics collected in \"%s\"", cp->id,
		        cp->jobs[MT_DIAGNOSTICS].file);
	mt_collect_done(&io->core, cp, result, why, sg_time_wall_ms());
	kick(io);
}

static json_t *
jobs_json(struct mt_io *io)
{
	json_t *all = json_object();

	for (size_t i = 0; all && i < io->core.n_cps; i++) {
		struct sg_msg_fw_state f;
		struct sg_msg_diag_state d;

		fill_fw_state(&io->cps[i].jobs[MT_FIRMWARE], &f);
		fill_diag_state(&io->cps[i].jobs[MT_DIAGNOSTICS], &d);
		json_object_set_new(all, io->cps[i].id,
		                    json_pack("{s:o*,s:o*}", "firmware",
		                              sg_msg_to_json(SG_MSG_fw_state, &f), "diagnostics",
		                              sg_msg_to_json(SG_MSG_diag_state, &d)));
	}
	return all;
}

static int
op_collect_start(void *ud, struct mt_cp *cp, struct mt_job *job)
{
	struct mt_io *io = ud;
	size_t i = cp_index(io, cp);
	struct cp_io *c = &io->cio[i];
	char dir[PATH_MAX];
	json_t *jobs = jobs_json(io);
	char *bus = json_dumps(io->bus_state, JSON_INDENT(1) | JSON_SORT_KEYS);
	char *jobs_text = jobs ? json_dumps(jobs, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
	int rc = -ENOMEM;

	work_dir(io, i, dir, sizeof(dir));
	if (bus && jobs_text) {
		struct archive_opts o = {
		    .work_dir = dir,
		    .file_name = job->file,
		    .cp = cp->id,
		    .log_dir = io->conf->log_dir,
		    .cap_bytes = (int64_t)io->conf->diagnostics_max_kb << 10,
		    .has_start = job->has_start,
		    .start = job->start_at,
		    .has_stop = job->has_stop,
		    .stop = job->stop_at,
		    .conf = &io->svc->conf,
		    .bus_state = bus,
		    .jobs = jobs_text,
		    .on_done = on_collected,
		    .ud = &c->refs[MT_DIAGNOSTICS],
		};
		rc = archive_start(io->svc->loop, &o, &c->archive);
	}
	if (rc == 0)
		sg_info("%s: collecting diagnostics into \"%s\"", cp->id, job->file);
	free(bus);
	free(jobs_text);
	json_decref(jobs);
	return rc;
}

static void
op_collect_cancel(void *ud, struct mt_cp *cp, struct mt_job *job)
{
	struct mt_io *io = ud;
	struct cp_io *c = &io->cio[cp_index(io, cp)];

	if (c->archive) {
		sg_info("%s: diagnostics collection cancelled", cp->id);
		archive_cancel(c->archive);
		c->archive = NULL;
	}
}

static void
hook_finished(struct mt_io *io, size_t i, int result, const char *why)
{
	char path[PATH_MAX];
	struct mt_cp *cp = &io->cps[i];

	result_path(io, i, path, sizeof(path));
	unlink(path);
	if (result == 0)
		sg_notice("%s: firmware installed", cp->id);
	else
		sg_err("%s: firmware installation failed: %s", cp->id, why);
	mt_install_done(&io->core, cp, result, why, sg_time_wall_ms());
	kick(io);
}

static void
on_hook_line(struct child *ch, const char *line, void *ud)
{
	struct ref *r = ud;
	int percent;

	if (mt_hook_progress(line, &percent))
		mt_install_progress(&r->io->core, ref_cp(r), percent);
	else
		sg_info("%s: install hook: %s", ref_cp(r)->id, line);
}

static void
on_hook_exit(struct child *ch, int status, bool timed_out, void *ud)
{
	struct ref *r = ud;
	struct mt_io *io = r->io;
	char why[MT_ERROR_MAX + 1], result[32];
	int rc = 0;

	io->cio[r->cp].hook = NULL;
	if (status == -ECHILD) {
		/* A hook from before a restart: only its result file tells. */
		read_result(io, r->cp, result, sizeof(result));
		if (strcmp(result, "Installed") != 0) {
			rc = -EIO;
			snprintf(why, sizeof(why), "the install hook ended %s",
			         result[0] ? "with InstallationFailed"
			                   : "without leaving a result");
		}
	} else if (timed_out) {
		rc = -ETIMEDOUT;
		snprintf(why, sizeof(why), "the install hook took longer than %d s",
		         io->conf->install_timeout_s);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		rc = -EIO;
		snprintf(why, sizeof(why), "the install hook exited with status %d",
		         WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		rc = -EIO;
		snprintf(why, sizeof(why), "the install hook was killed by signal %d",
		         WTERMSIG(status));
	}
	hook_finished(io, r->cp, rc, rc ? why : NULL);
}

static int
op_install_start(void *ud, struct mt_cp *cp, struct mt_job *job)
{
	struct mt_io *io = ud;
	size_t i = cp_index(io, cp);
	struct cp_io *c = &io->cio[i];
	const char *hook = io->conf->install_hook;
	char image[PATH_MAX], result[PATH_MAX], shown[MT_URL_MAX + 1];
	char e_cp[128], e_fw[PATH_MAX + 32], e_loc[MT_URL_MAX + 40], e_res[PATH_MAX + 32];
	int rc;

	if (hook[0] == '\0' || access(hook, X_OK) < 0) {
		rc = hook[0] ? -errno : -ENOENT;
		sg_err("%s: the install hook \"%s\" cannot run: %s", cp->id, hook, strerror(-rc));
		return rc;
	}
	image_path(io, i, job->file, image, sizeof(image));
	result_path(io, i, result, sizeof(result));
	unlink(result);
	mt_url_redact(job->location, shown, sizeof(shown));
	snprintf(e_cp, sizeof(e_cp), "SITEGATE_CP=%s", cp->id);
	snprintf(e_fw, sizeof(e_fw), "SITEGATE_FIRMWARE=%s", image);
	snprintf(e_loc, sizeof(e_loc), "SITEGATE_FIRMWARE_LOCATION=%s", shown);
	snprintf(e_res, sizeof(e_res), "SITEGATE_RESULT_FILE=%s", result);
	char *const env[] = {e_cp, e_fw, e_loc, e_res, NULL};
	char *const argv[] = {(char *)hook, image, cp->id, NULL};
	struct child_opts o = {
	    .argv = argv,
	    .env = env,
	    .timeout_ms = (int64_t)io->conf->install_timeout_s * 1000,
	    .ignore_sigpipe = true, /* it may outlive us and our end of its pipe */
	    .on_line = on_hook_line,
	    .on_exit = on_hook_exit,
	    .ud = &c->refs[MT_FIRMWARE],
	};
	rc = child_spawn(io->svc->loop, &o, &c->hook);
	if (rc < 0) {
		sg_err("%s: cannot start the install hook \"%s\": %s", cp->id, hook, strerror(-rc));
		return rc;
	}
	job->hook_pid = child_pid(c->hook);
	snprintf(job->boot_id, sizeof(job->boot_id), "%s", io->boot_id);
	persist(io, cp, job);
	sg_notice("%s: installing \"%s\" with \"%s\" (pid %d)", cp->id, job->file, hook,
	          (int)job->hook_pid);
	return 0;
}

static void
on_send_reply(struct sg_bus *bus, int status, const void *reply, void *ud)
{
	struct send_ctx *ctx = ud;
	struct mt_io *io = ctx->io;
	const struct sg_msg_ocpp_result *r = reply;
	bool ok;

	if (status == -ECANCELED) {
		free(ctx);
		return;
	}
	ok = status == 0 && r->error[0] == '\0';
	if (!ok)
		sg_info("%s: %s %s not confirmed: %s%s%s", io->cps[ctx->cp].id,
		        status_action[ctx->kind], ctx->status,
		        status < 0 ? strerror(-status) : r->error,
		        status == 0 && r->description[0] ? ": " : "",
		        status == 0 ? r->description : "");
	if (!io->stopping)
		mt_send_done(&io->core, &io->cps[ctx->cp], ctx->kind, ok, sg_time_wall_ms());
	free(ctx);
	kick(io);
}

static int
op_send_status(void *ud, struct mt_cp *cp, enum mt_kind kind, const char *status)
{
	struct mt_io *io = ud;
	struct send_ctx *ctx = calloc(1, sizeof(*ctx));
	struct sg_topic_args a = cp_args(cp, status_action[kind]);
	struct sg_msg_ocpp_send m = {0};
	int rc;

	if (ctx == NULL)
		return -ENOMEM;
	ctx->io = io;
	ctx->cp = cp_index(io, cp);
	ctx->kind = kind;
	snprintf(ctx->status, sizeof(ctx->status), "%s", status);
	m.payload = json_pack("{s:s}", "status", status);
	rc = m.payload ? sg_bus_request(io->svc->bus, SG_MSG_ocpp_send, &m, &a, SEND_TIMEOUT_MS,
	                                on_send_reply, ctx)
	               : -ENOMEM;
	json_decref(m.payload);
	if (rc < 0) {
		sg_warn("%s: cannot send %s %s: %s", cp->id, status_action[kind], status,
		        strerror(-rc));
		free(ctx);
		return rc;
	}
	sg_debug("%s: %s %s", cp->id, status_action[kind], status);
	return 0;
}

static void
op_availability(void *ud, struct mt_cp *cp, bool installing)
{
	struct mt_io *io = ud;
	struct sg_topic_args a = cp_args(cp, NULL);
	struct sg_msg_fw_install m = {.installing = installing, .since = sg_time_wall_ms()};

	sg_bus_publish(io->svc->bus, SG_MSG_fw_install, &m, &a);
	if (installing)
		sg_notice("%s: a firmware installation is due: its connectors go Unavailable once "
		          "no transaction runs",
		          cp->id);
}

static void
op_changed(void *ud, struct mt_cp *cp, struct mt_job *job, unsigned what)
{
	struct mt_io *io = ud;

	if (what & MT_CHANGED_PHASE)
		persist(io, cp, job);
	publish_state(io, cp, job);
	if (job->kind == MT_FIRMWARE)
		update_key(io, cp_index(io, cp), job->percent);
}

static void
op_discard(void *ud, struct mt_cp *cp, struct mt_job *job)
{
	struct mt_io *io = ud;
	size_t i = cp_index(io, cp);
	char path[PATH_MAX + 8];

	if (job->kind == MT_DIAGNOSTICS) {
		work_dir(io, i, path, sizeof(path));
		archive_remove(path);
	} else if (job->file[0]) {
		image_path(io, i, job->file, path, PATH_MAX);
		unlink(path);
		strcat(path, ".part");
		unlink(path);
	}
}

static const struct mt_ops ops = {
    .transfer_start = op_transfer_start,
    .transfer_cancel = op_transfer_cancel,
    .collect_start = op_collect_start,
    .collect_cancel = op_collect_cancel,
    .install_start = op_install_start,
    .send_status = op_send_status,
    .availability = op_availability,
    .changed = op_changed,
    .discard = op_discard,
};

/* ---- the timer ---------------------------------------------------------------------- */

static int64_t
on_timer(struct sg_loop *loop, void *ud)
{
	struct mt_io *io = ud;

	io->timer = 0;
	kick(io);
	return -1;
}

/* Runs what is due and sets the timer for the next. After every event. */
static void
kick(struct mt_io *io)
{
	int64_t now, next, delay;

	if (io->stopping)
		return;
	now = sg_time_wall_ms();
	next = mt_tick(&io->core, now);
	sg_loop_timer_del(io->svc->loop, io->timer);
	io->timer = 0;
	if (next == MT_NEVER)
		return;
	delay = next - now;
	if (delay < 0)
		delay = 0;
	if (delay > MAX_TIMER_MS)
		delay = MAX_TIMER_MS;
	io->timer = sg_loop_timer_add(io->svc->loop, delay, on_timer, io);
}

/* ---- bus handlers -------------------------------------------------------------------- */

static void
reply_error(struct sg_bus *bus, const struct sg_bus_in *in, const char *code, const char *text)
{
	struct sg_msg_ocpp_result r = {0};

	snprintf(r.error, sizeof(r.error), "%s", code);
	snprintf(r.description, sizeof(r.description), "%s", text ? text : "");
	sg_bus_reply(bus, in, &r);
}

static void
reply_payload(struct sg_bus *bus, const struct sg_bus_in *in, json_t *payload)
{
	struct sg_msg_ocpp_result r = {.payload = payload};

	sg_bus_reply(bus, in, &r);
	json_decref(payload);
}

/* An optional integer field; -1 when absent or negative. */
static int
opt_int(const json_t *payload, const char *name, int max)
{
	const json_t *v = json_object_get(payload, name);
	double d;

	if (!json_is_number(v))
		return -1;
	d = json_number_value(v);
	if (d < 0)
		return -1;
	return d > max ? max : (int)d;
}

static bool
opt_time(const json_t *payload, const char *name, int64_t *out, bool *bad)
{
	const char *s = json_string_value(json_object_get(payload, name));

	if (s == NULL)
		return false;
	if (sg_time_parse(s, out) < 0) {
		*bad = true;
		return false;
	}
	return true;
}

static void
update_firmware(struct mt_io *io, struct mt_cp *cp, const struct sg_bus_in *in,
                const json_t *payload)
{
	const char *location = json_string_value(json_object_get(payload, "location"));
	int64_t now = sg_time_wall_ms(), at = 0;
	bool bad = false, has_at = opt_time(payload, "retrieveDate", &at, &bad);
	char shown[MT_URL_MAX + 1], when[SG_TIME_RFC3339_LEN];
	struct mt_fw_request rq;
	int rc;

	if (location == NULL || !has_at) {
		reply_error(io->svc->bus, in, "FormationViolation",
		            "location and retrieveDate (a date-time) are required");
		return;
	}
	rq = (struct mt_fw_request){
	    .location = location,
	    .retrieve_at = at,
	    .retries = opt_int(payload, "retries", MT_MAX_ATTEMPTS - 1),
	    .retry_interval_s = opt_int(payload, "retryInterval", 86400),
	};
	/* UpdateFirmware.conf first, then the first status notification. */
	reply_payload(io->svc->bus, in, json_object());
	mt_url_redact(location, shown, sizeof(shown));
	rc = mt_fw_request(&io->core, cp, &rq, now);
	if (rc == -EBUSY) {
		sg_warn("%s: UpdateFirmware of \"%s\" ignored: an installation is running", cp->id,
		        shown);
	} else {
		const struct mt_job *job = &cp->jobs[MT_FIRMWARE];

		if (sg_time_format(at, when, sizeof(when)) < 0)
			snprintf(when, sizeof(when), "?");
		sg_notice("%s: UpdateFirmware from \"%s\" after %s: %d attempt(s), %" PRId64
		          " s apart",
		          cp->id, shown, when, job->attempts, job->retry_ms / 1000);
	}
	kick(io);
}

static void
get_diagnostics(struct mt_io *io, struct mt_cp *cp, const struct sg_bus_in *in,
                const json_t *payload)
{
	const char *location = json_string_value(json_object_get(payload, "location"));
	char name[256], shown[MT_URL_MAX + 1];
	bool bad = false;
	struct mt_diag_request rq = {
	    .location = location,
	    .retries = opt_int(payload, "retries", MT_MAX_ATTEMPTS - 1),
	    .retry_interval_s = opt_int(payload, "retryInterval", 86400),
	};
	int rc;

	rq.has_start = opt_time(payload, "startTime", &rq.start_at, &bad);
	rq.has_stop = opt_time(payload, "stopTime", &rq.stop_at, &bad);
	if (location == NULL || bad) {
		reply_error(io->svc->bus, in, "FormationViolation",
		            "location is required; startTime and stopTime are date-times");
		return;
	}
	mt_url_redact(location, shown, sizeof(shown));
	rc = mt_diag_request(&io->core, cp, &rq, sg_time_wall_ms(), name, sizeof(name));
	if (rc < 0) {
		sg_warn("%s: GetDiagnostics to \"%s\" refused: %s; answered without a file name",
		        cp->id, shown, name);
		reply_payload(io->svc->bus, in, json_object());
	} else {
		sg_notice("%s: GetDiagnostics to \"%s\": file \"%s\"", cp->id, shown, name);
		reply_payload(io->svc->bus, in, json_pack("{s:s}", "fileName", name));
	}
	kick(io);
}

static void
on_call(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct mt_io *io = ud;
	const struct sg_msg_ocpp_call *call = in->msg;
	struct mt_cp *cp = mt_cp_find(&io->core, in->args->cp);

	if (cp == NULL) {
		reply_error(bus, in, "GenericError", "not a charge point of this gateway");
		return;
	}
	if (strcmp(in->args->name, "UpdateFirmware") == 0)
		update_firmware(io, cp, in, call->payload);
	else if (strcmp(in->args->name, "GetDiagnostics") == 0)
		get_diagnostics(io, cp, in, call->payload);
	else
		reply_error(bus, in, "NotSupported", NULL);
}

static void
on_trigger(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct mt_io *io = ud;
	struct mt_cp *cp = mt_cp_find(&io->core, in->args->cp);

	if (cp == NULL)
		return;
	for (int k = 0; k < MT__KINDS; k++) {
		if (strcmp(in->args->name, status_action[k]) == 0) {
			sg_info("%s: TriggerMessage %s", cp->id, status_action[k]);
			mt_trigger(&io->core, cp, (enum mt_kind)k, sg_time_wall_ms());
			kick(io);
		}
	}
}

static void
remember(struct mt_io *io, const struct sg_bus_in *in)
{
	json_t *j;

	if (json_object_size(io->bus_state) >= BUS_STATE_MAX &&
	    !json_object_get(io->bus_state, in->topic))
		return;
	j = sg_msg_to_json(in->id, in->msg);
	if (j)
		json_object_set_new(io->bus_state, in->topic, j);
}

static void
on_conn_state(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct mt_io *io = ud;
	const struct sg_msg_conn_state *st = in->msg;
	struct mt_cp *cp = mt_cp_find(&io->core, in->args->cp);

	remember(io, in);
	if (cp == NULL)
		return;
	mt_conn_state(&io->core, cp, in->args->conn, st->status, st->transaction_id);
	kick(io);
}

static void
on_tx(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	struct mt_io *io = ud;
	const struct sg_msg_tx_event *ev = in->msg;
	struct mt_cp *cp = mt_cp_find(&io->core, in->args->cp);

	if (cp == NULL)
		return;
	mt_tx_event(&io->core, cp, in->args->conn, strcmp(ev->event, "started") == 0);
	kick(io);
}

static void
on_state(struct sg_bus *bus, const struct sg_bus_in *in, void *ud)
{
	remember(ud, in);
}

/* ---- life ------------------------------------------------------------------------------- */

static int
load_job(struct mt_io *io, sqlite3_stmt *s, struct mt_job *job, const char **cp)
{
	const char *kind = (const char *)sqlite3_column_text(s, 1);
	const char *phase = (const char *)sqlite3_column_text(s, 2);
	int i = 3;

	memset(job, 0, sizeof(*job));
	*cp = (const char *)sqlite3_column_text(s, 0);
	if (!*cp || !kind || !phase)
		return -EINVAL;
	if (strcmp(kind, kind_name[MT_FIRMWARE]) == 0)
		job->kind = MT_FIRMWARE;
	else if (strcmp(kind, kind_name[MT_DIAGNOSTICS]) == 0)
		job->kind = MT_DIAGNOSTICS;
	else
		return -EINVAL;
	job->phase = (enum mt_phase) - 1;
	for (size_t p = 0; p < sizeof(phase_names) / sizeof(phase_names[0]); p++)
		if (strcmp(phase, phase_names[p]) == 0)
			job->phase = (enum mt_phase)p;
	if ((int)job->phase < 0)
		return -EINVAL;
	snprintf(job->location, sizeof(job->location), "%s", sqlite3_column_text(s, i++));
	job->retrieve_at = sqlite3_column_int64(s, i++);
	job->has_start = sqlite3_column_int(s, i++);
	job->start_at = sqlite3_column_int64(s, i++);
	job->has_stop = sqlite3_column_int(s, i++);
	job->stop_at = sqlite3_column_int64(s, i++);
	job->attempt = sqlite3_column_int(s, i++);
	job->attempts = sqlite3_column_int(s, i++);
	job->retry_ms = sqlite3_column_int64(s, i++);
	job->next_at = sqlite3_column_int64(s, i++);
	snprintf(job->file, sizeof(job->file), "%s", sqlite3_column_text(s, i++));
	snprintf(job->final, sizeof(job->final), "%s", sqlite3_column_text(s, i++));
	snprintf(job->last, sizeof(job->last), "%s", sqlite3_column_text(s, i++));
	snprintf(job->error, sizeof(job->error), "%s", sqlite3_column_text(s, i++));
	job->since = sqlite3_column_int64(s, i++);
	job->hook_pid = sqlite3_column_int64(s, i++);
	snprintf(job->boot_id, sizeof(job->boot_id), "%s", sqlite3_column_text(s, i++));
	if (job->attempts < 1)
		job->attempts = 1;
	if (job->retry_ms < 1000)
		job->retry_ms = 1000;
	return 0;
}

/* Our install hook from before the restart, if it still runs in this boot. */
static bool
hook_alive(const struct mt_io *io, const struct mt_job *job)
{
	char path[64], cmd[4096];
	FILE *f;
	size_t n;
	bool found = false;

	if (job->hook_pid <= 0 || strcmp(job->boot_id, io->boot_id) != 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%" PRId64 "/cmdline", job->hook_pid);
	f = fopen(path, "re");
	if (f == NULL)
		return false;
	n = fread(cmd, 1, sizeof(cmd) - 1, f);
	fclose(f);
	cmd[n] = '\0';
	/* cmdline is NUL-separated: the hook's path is one of its words (the
	 * program, or a script's interpreter's argument). */
	for (size_t off = 0; off < n && !found; off += strlen(cmd + off) + 1)
		found = strcmp(cmd + off, io->conf->install_hook) == 0;
	return found;
}

static void
resume_install(struct mt_io *io, size_t i)
{
	struct mt_cp *cp = &io->cps[i];
	struct mt_job *job = &cp->jobs[MT_FIRMWARE];
	struct cp_io *c = &io->cio[i];
	char result[32];

	read_result(io, i, result, sizeof(result));
	if (strcmp(result, "Installed") == 0) {
		hook_finished(io, i, 0, NULL);
	} else if (strcmp(result, "InstallationFailed") == 0) {
		hook_finished(io, i, -EIO, "the install hook reported InstallationFailed");
	} else if (hook_alive(io, job) &&
	           child_attach(io->svc->loop, (pid_t)job->hook_pid, on_hook_exit,
	                        &c->refs[MT_FIRMWARE], &c->hook) == 0) {
		sg_notice("%s: the install hook (pid %" PRId64 ") still runs; waiting for it",
		          cp->id, job->hook_pid);
	} else {
		hook_finished(io, i, -EIO,
		              "the installation was interrupted (the service restarted and the "
		              "install hook left no result)");
	}
}

static int
restore(struct mt_io *io)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(io->db,
	                            "SELECT cp, kind, phase, location, retrieve_at, has_start, "
	                            "start_at, has_stop, stop_at, attempt, attempts, retry_ms, "
	                            "next_at, file, final, last, error, since, hook_pid, boot_id "
	                            "FROM jobs",
	                            -1, &s, NULL);
	size_t n_cps = io->core.n_cps, n = 0;
	struct mt_job *jobs = calloc(n_cps * MT__KINDS, sizeof(*jobs));
	size_t *owner = calloc(n_cps * MT__KINDS, sizeof(*owner));
	bool *seen = calloc(n_cps * MT__KINDS, sizeof(*seen));
	int64_t now = sg_time_wall_ms();

	if (rc != SQLITE_OK || !jobs || !owner || !seen) {
		sg_err("store: cannot read the jobs: %s", sqlite3_errmsg(io->db));
		rc = -EIO;
		goto out;
	}
	/* All rows first: restoring writes them again, under a running SELECT. */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < n_cps * MT__KINDS) {
		const char *id;
		struct mt_cp *cp;

		if (load_job(io, s, &jobs[n], &id) < 0 || (cp = mt_cp_find(&io->core, id)) == NULL)
			continue; /* a charge point no longer configured */
		owner[n++] = cp_index(io, cp);
	}
	sqlite3_finalize(s);
	s = NULL;
	for (size_t k = 0; k < n; k++) {
		struct mt_job *job = &jobs[k];
		struct mt_cp *cp = &io->cps[owner[k]];
		char path[PATH_MAX];

		if (job->kind == MT_FIRMWARE)
			image_path(io, owner[k], job->file, path, sizeof(path));
		else
			archive_path(io, owner[k], job->file, path, sizeof(path));
		if (job->phase != MT_IDLE)
			sg_notice("%s: resuming the %s job (%s)", cp->id, kind_name[job->kind],
			          phase_names[job->phase]);
		mt_restore(&io->core, cp, job, exists(path), now);
		seen[owner[k] * MT__KINDS + job->kind] = true;
	}
	for (size_t i = 0; i < n_cps; i++)
		if (io->cps[i].jobs[MT_FIRMWARE].phase == MT_INSTALLING)
			resume_install(io, i);
	/* Everyone else starts idle, in public too. */
	for (size_t i = 0; i < n_cps; i++) {
		for (int k = 0; k < MT__KINDS; k++) {
			if (seen[i * MT__KINDS + (size_t)k])
				continue;
			publish_state(io, &io->cps[i], &io->cps[i].jobs[k]);
			if (k == MT_FIRMWARE)
				op_availability(io, &io->cps[i], false);
		}
	}
	rc = 0;
out:
	sqlite3_finalize(s);
	free(jobs);
	free(owner);
	free(seen);
	return rc;
}

static void
safe_name(const char *id, char *out, size_t len)
{
	size_t n = 0;

	for (; id[n] && n + 1 < len; n++) {
		char ch = id[n];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		          (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
		out[n] = ok && !(n == 0 && ch == '.') ? ch : '_';
	}
	out[n] = '\0';
}

static int
setup_keys(struct mt_io *io)
{
	char list[64];
	unsigned protos = tr_protocols();
	int rc;

	io->keys = sg_keys_new(io->svc, NULL);
	if (io->keys == NULL)
		return -EIO;
	mt_proto_list(protos, list, sizeof(list));
	sg_info("file transfers with %s: SupportedFileTransferProtocols \"%s\"", tr_version(),
	        list);
	if (protos == 0) {
		sg_err("this libcurl supports none of FTP, FTPS, HTTP, HTTPS: no firmware updates "
		       "or diagnostics uploads");
		return 0;
	}
	rc = sg_keys_override(io->keys, KEY_PROTOCOLS, (struct sg_key_limits){.def = list});
	return rc < 0 ? rc : 0;
}

static int
subscribe(struct mt_io *io)
{
	struct sg_bus *bus = io->svc->bus;
	static const char *const actions[] = {"UpdateFirmware", "GetDiagnostics"};
	int rc = 0;

	for (size_t i = 0; i < 2; i++) {
		struct sg_topic_args a = {0};
		struct sg_msg_ocpp_owner owner = {0};

		snprintf(a.name, sizeof(a.name), "%s", actions[i]);
		snprintf(owner.svc, sizeof(owner.svc), "%s", io->svc->name);
		rc |= sg_bus_subscribe_args(bus, SG_MSG_ocpp_call, &a, on_call, io);
		rc |= sg_bus_publish(bus, SG_MSG_ocpp_owner, &owner, &a);
	}
	for (int k = 0; k < MT__KINDS; k++) {
		struct sg_topic_args a = {0};

		snprintf(a.name, sizeof(a.name), "%s", status_action[k]);
		rc |= sg_bus_subscribe_args(bus, SG_MSG_ocpp_trigger, &a, on_trigger, io);
	}
	/* Transactions gate the installation; the rest only goes into diagnostics.
	 * (The broker's ACL must let this service read them: see docs/bus.md.) */
	rc |= sg_bus_subscribe(bus, SG_MSG_conn_state, on_conn_state, io);
	rc |= sg_bus_subscribe(bus, SG_MSG_tx_event, on_tx, io);
	rc |= sg_bus_subscribe(bus, SG_MSG_svc_status, on_state, io);
	rc |= sg_bus_subscribe(bus, SG_MSG_cp_state, on_state, io);
	return rc < 0 ? -ENOMEM : 0;
}

struct mt_io *
mt_io_new(struct sg_service *svc)
{
	const struct sg_config *conf = &svc->conf;
	struct mt_io *io = calloc(1, sizeof(*io));
	char db_path[PATH_MAX];
	int rc;

	if (io == NULL)
		return NULL;
	io->svc = svc;
	io->conf = &conf->maintenance;
	io->bus_state = json_object();
	io->cps = calloc((size_t)conf->n_cps, sizeof(*io->cps));
	io->cio = calloc((size_t)conf->n_cps, sizeof(*io->cio));
	if (!io->bus_state || !io->cps || !io->cio)
		goto fail;
	pathf(io->state_dir, sizeof(io->state_dir), "%s/%s", conf->state_dir, svc->name);
	if (io->conf->download_dir[0])
		pathf(io->download_dir, sizeof(io->download_dir), "%s", io->conf->download_dir);
	else
		pathf(io->download_dir, sizeof(io->download_dir), "%s/download", io->state_dir);
	read_boot_id(io->boot_id, sizeof(io->boot_id));
	for (int i = 0; i < conf->n_cps; i++) {
		struct cp_io *c = &io->cio[i];

		snprintf(io->cps[i].id, sizeof(io->cps[i].id), "%s", conf->cps[i].id);
		io->cps[i].n_connectors = conf->cps[i].n_connectors;
		safe_name(conf->cps[i].id, c->safe, sizeof(c->safe));
		c->key_percent = -1;
		for (int k = 0; k < MT__KINDS; k++)
			c->refs[k] =
			    (struct ref){.io = io, .cp = (size_t)i, .kind = (enum mt_kind)k};
	}

	if (sg_service_state_path(svc, DB_FILE, db_path, sizeof(db_path)) < 0 ||
	    sg_store_open(db_path, SG_STORE_DURABLE, migrations,
	                  sizeof(migrations) / sizeof(migrations[0]), &io->db) < 0)
		goto fail;
	rc = sqlite3_prepare_v2(io->db,
	                        "INSERT OR REPLACE INTO jobs (cp, kind, phase, location, "
	                        "retrieve_at, has_start, start_at, has_stop, stop_at, attempt, "
	                        "attempts, retry_ms, next_at, file, final, last, error, since, "
	                        "hook_pid, boot_id) VALUES "
	                        "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	                        -1, &io->save, NULL);
	if (rc != SQLITE_OK) {
		sg_err("store \"%s\": %s", db_path, sqlite3_errmsg(io->db));
		goto fail;
	}
	if (setup_keys(io) < 0)
		goto fail;
	io->tr = tr_new(svc->loop);
	if (io->tr == NULL) {
		sg_err("cannot set up libcurl");
		goto fail;
	}
	mt_core_init(&io->core,
	             &(struct mt_settings){
	                 .protocols = tr_protocols(),
	                 .retries = io->conf->retries,
	                 .retry_ms = (int64_t)io->conf->retry_interval_s * 1000,
	             },
	             &ops, io, io->cps, (size_t)conf->n_cps);
	if (subscribe(io) < 0 || restore(io) < 0)
		goto fail;
	for (size_t i = 0; i < io->core.n_cps; i++)
		update_key(io, i, io->cps[i].jobs[MT_FIRMWARE].percent);
	kick(io);
	return io;
fail:
	mt_io_free(io);
	return NULL;
}

void
mt_io_stop(struct mt_io *io)
{
	if (io == NULL || io->stopping)
		return;
	mt_shutdown(&io->core);
	io->stopping = true;
	for (size_t i = 0; i < io->core.n_cps; i++) {
		struct cp_io *c = &io->cio[i];

		if (c->hook) {
			sg_notice("%s: the install hook (pid %d) keeps running; its outcome is "
			          "reported after the restart",
			          io->cps[i].id, (int)child_pid(c->hook));
			child_detach(c->hook);
			c->hook = NULL;
		}
		for (int k = 0; k < MT__KINDS; k++)
			persist(io, &io->cps[i], &io->cps[i].jobs[k]);
	}
	sg_loop_timer_del(io->svc->loop, io->timer);
	io->timer = 0;
}

void
mt_io_free(struct mt_io *io)
{
	if (io == NULL)
		return;
	io->stopping = true;
	for (size_t i = 0; io->cio && i < io->core.n_cps; i++) {
		archive_cancel(io->cio[i].archive);
		child_detach(io->cio[i].hook);
	}
	tr_free(io->tr);
	child_cleanup();
	if (io->svc->loop)
		sg_loop_timer_del(io->svc->loop, io->timer);
	sg_keys_free(io->keys);
	sqlite3_finalize(io->save);
	sg_store_close(io->db);
	json_decref(io->bus_state);
	free(io->cps);
	free(io->cio);
	free(io);
}
