/* sitegate-maintenance, the decisions: see maintenance.h. Pure: no I/O. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "maintenance.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN_TAIL      1024 /* a log file is only cut when at least this much of it fits */

static const char *const outcome_ok[MT__KINDS] = {"Installed", "Uploaded"};
static const char *const outcome_transfer_failed[MT__KINDS] = {"DownloadFailed", "UploadFailed"};
static const char *const status_transfer[MT__KINDS] = {"Downloading", "Uploading"};

/* Bounded, terminated, and safe when src lies in dst (a job copied onto itself). */
static void
copy(char *dst, size_t len, const char *src)
{
	size_t n;

	if (len == 0)
		return;
	src = src ? src : "";
	n = strnlen(src, len - 1);
	memmove(dst, src, n);
	dst[n] = '\0';
}

static int64_t
repeat_ms(const struct mt_core *c)
{
	return c->set.repeat_ms > 0 ? c->set.repeat_ms : MT_REPEAT_MS;
}

static int64_t
report_retry_ms(const struct mt_core *c)
{
	return c->set.report_retry_ms > 0 ? c->set.report_retry_ms : MT_REPORT_RETRY;
}

/* ---- status notifications ----------------------------------------------------- */

static void
enqueue(struct mt_job *job, const char *status)
{
	struct mt_notify *n = &job->notify;

	if (n->n > 0 && strcmp(n->queue[n->n - 1], status) == 0)
		return; /* the same one is waiting already */
	if (n->n == MT_QUEUE) {
		/* Full (the Central System is slow): the oldest waiting one goes. */
		memmove(n->queue[0], n->queue[1], sizeof(n->queue[0]) * (MT_QUEUE - 1));
		n->n--;
	}
	copy(n->queue[n->n++], sizeof(n->queue[0]), status);
}

static bool
is_outcome(const struct mt_job *job, const char *status)
{
	return job->phase == MT_REPORTING && strcmp(job->final, status) == 0;
}

/* Sends what waits, one at a time. */
static void
pump(struct mt_core *c, struct mt_cp *cp, struct mt_job *job, int64_t now)
{
	struct mt_notify *n = &job->notify;

	while (!n->in_flight && n->n > 0) {
		copy(n->sending, sizeof(n->sending), n->queue[0]);
		memmove(n->queue[0], n->queue[1], sizeof(n->queue[0]) * (MT_QUEUE - 1));
		n->n--;
		n->in_flight = true;
		n->last_sent = now;
		if (c->ops->send_status(c->ud, cp, job->kind, n->sending) < 0) {
			n->in_flight = false;
			if (is_outcome(job, n->sending))
				n->retry_at = now + report_retry_ms(c);
		}
	}
}

/* ---- phases ------------------------------------------------------------------- */

bool
mt_job_unavailable(const struct mt_job *job)
{
	return job->kind == MT_FIRMWARE &&
	       (job->phase == MT_DOWNLOADED || job->phase == MT_INSTALLING);
}

static void
set_phase(struct mt_core *c, struct mt_cp *cp, struct mt_job *job, enum mt_phase phase, int64_t now)
{
	job->phase = phase;
	job->since = now;
	bool unavailable = mt_job_unavailable(job);
	if (unavailable != job->unavailable) {
		job->unavailable = unavailable;
		c->ops->availability(c->ud, cp, unavailable);
	}
	c->ops->changed(c->ud, cp, job, MT_CHANGED_PHASE);
}

/* The job ends with outcome: reported until confirmed. */
static void
finish(struct mt_core *c, struct mt_cp *cp, struct mt_job *job, const char *outcome, int64_t now)
{
	bool ok = strcmp(outcome, outcome_ok[job->kind]) == 0;

	c->ops->discard(c->ud, cp, job);
	copy(job->final, sizeof(job->final), outcome);
	if (ok)
		job->error[0] = '\0';
	job->percent = ok ? 100 : 0;
	job->notify.retry_at = 0;
	set_phase(c, cp, job, MT_REPORTING, now);
	enqueue(job, outcome);
}

static void
attempt_failed(struct mt_core *c, struct mt_cp *cp, struct mt_job *job, bool permanent,
               const char *why, int64_t now)
{
	copy(job->error, sizeof(job->error), why && *why ? why : "failed");
	job->percent = 0;
	if (!permanent && job->attempt < job->attempts) {
		job->next_at = now + job->retry_ms;
		set_phase(c, cp, job, MT_RETRY_WAIT, now);
	} else {
		finish(c, cp, job, outcome_transfer_failed[job->kind], now);
	}
}

static void
start_attempt(struct mt_core *c, struct mt_cp *cp, struct mt_job *job, int64_t now)
{
	unsigned proto = mt_url_proto(job->location);
	char why[MT_ERROR_MAX + 1];
	int rc = -EPROTONOSUPPORT;

	job->attempt++;
	job->percent = 0;
	if (job->attempt == 1)
		enqueue(job, status_transfer[job->kind]);
	if (proto != 0 && (proto & c->set.protocols)) {
		set_phase(c, cp, job, MT_TRANSFER, now);
		rc = c->ops->transfer_start(c->ud, cp, job);
	}
	if (rc == -EPROTONOSUPPORT) {
		copy(job->error, sizeof(job->error),
		     "unsupported location (SupportedFileTransferProtocols)");
		finish(c, cp, job, outcome_transfer_failed[job->kind], now);
	} else if (rc < 0) {
		snprintf(why, sizeof(why), "cannot start: %s", strerror(-rc));
		attempt_failed(c, cp, job, rc == -EINVAL, why, now);
	}
}

/* Everything the job had going stops; its files go. */
static void
abort_job(struct mt_core *c, struct mt_cp *cp, struct mt_job *job)
{
	switch (job->phase) {
	case MT_TRANSFER:
		c->ops->transfer_cancel(c->ud, cp, job);
		break;
	case MT_COLLECTING:
		c->ops->collect_cancel(c->ud, cp, job);
		break;
	default:
		break;
	}
	if (job->phase != MT_IDLE && job->phase != MT_REPORTING)
		c->ops->discard(c->ud, cp, job);
}

/* A new job in place of the old one; the last confirmed outcome stays. */
static void
reset_job(struct mt_job *job, const char *location, int retries, int retry_interval_s,
          const struct mt_settings *set)
{
	char last[sizeof(job->last)];
	struct mt_notify notify = job->notify;
	bool unavailable = job->unavailable;
	enum mt_kind kind = job->kind;

	copy(last, sizeof(last), job->last);
	memset(job, 0, sizeof(*job));
	job->kind = kind;
	copy(job->last, sizeof(job->last), last);
	/* What is in flight stays in flight; what waited is superseded. */
	notify.n = 0;
	notify.retry_at = 0;
	job->notify = notify;
	job->unavailable = unavailable;
	copy(job->location, sizeof(job->location), location);
	if (retries < 0)
		retries = set->retries;
	if (retries > MT_MAX_ATTEMPTS - 1)
		retries = MT_MAX_ATTEMPTS - 1;
	job->attempts = 1 + retries;
	job->retry_ms = retry_interval_s < 0 ? set->retry_ms : (int64_t)retry_interval_s * 1000;
	if (job->retry_ms < 1000)
		job->retry_ms = 1000;
}

/* ---- API ---------------------------------------------------------------------- */

void
mt_core_init(struct mt_core *c, const struct mt_settings *set, const struct mt_ops *ops, void *ud,
             struct mt_cp *cps, size_t n_cps)
{
	memset(c, 0, sizeof(*c));
	c->set = *set;
	c->ops = ops;
	c->ud = ud;
	c->cps = cps;
	c->n_cps = n_cps;
	for (size_t i = 0; i < n_cps; i++)
		for (int k = 0; k < MT__KINDS; k++)
			cps[i].jobs[k].kind = (enum mt_kind)k;
}

struct mt_cp *
mt_cp_find(struct mt_core *c, const char *id)
{
	for (size_t i = 0; id && i < c->n_cps; i++)
		if (strcmp(c->cps[i].id, id) == 0)
			return &c->cps[i];
	return NULL;
}

int
mt_fw_request(struct mt_core *c, struct mt_cp *cp, const struct mt_fw_request *rq, int64_t now)
{
	struct mt_job *job = &cp->jobs[MT_FIRMWARE];

	if (job->phase == MT_INSTALLING)
		return -EBUSY;
	abort_job(c, cp, job);
	reset_job(job, rq->location, rq->retries, rq->retry_interval_s, &c->set);
	job->retrieve_at = rq->retrieve_at;
	job->next_at = rq->retrieve_at;
	mt_fw_file_name(rq->location, job->file, sizeof(job->file));
	if (strlen(rq->location) > MT_URL_MAX) {
		copy(job->error, sizeof(job->error), "location too long");
		finish(c, cp, job, "DownloadFailed", now);
		return 0;
	}
	set_phase(c, cp, job, MT_SCHEDULED, now);
	return 0;
}

int
mt_diag_request(struct mt_core *c, struct mt_cp *cp, const struct mt_diag_request *rq, int64_t now,
                char *file_name, size_t len)
{
	struct mt_job *job = &cp->jobs[MT_DIAGNOSTICS];
	unsigned proto = mt_url_proto(rq->location);
	char url[MT_URL_MAX + 1];
	bool post;
	int rc;

	if (strlen(rq->location) > MT_URL_MAX) {
		copy(file_name, len, "location too long");
		return -EINVAL;
	}
	if (proto == 0 || !(proto & c->set.protocols)) {
		copy(file_name, len, "unsupported location (SupportedFileTransferProtocols)");
		return -EPROTONOSUPPORT;
	}
	if ((rc = mt_upload_target(rq->location, "x", url, sizeof(url), &post)) < 0) {
		copy(file_name, len, "malformed location");
		return -EINVAL;
	}
	abort_job(c, cp, job);
	reset_job(job, rq->location, rq->retries, rq->retry_interval_s, &c->set);
	job->has_start = rq->has_start;
	job->start_at = rq->start_at;
	job->has_stop = rq->has_stop;
	job->stop_at = rq->stop_at;
	mt_diag_file_name(cp->id, now, job->file, sizeof(job->file));
	copy(file_name, len, job->file);
	set_phase(c, cp, job, MT_COLLECTING, now);
	rc = c->ops->collect_start(c->ud, cp, job);
	if (rc < 0) {
		char why[MT_ERROR_MAX + 1];

		snprintf(why, sizeof(why), "cannot collect: %s", strerror(-rc));
		copy(job->error, sizeof(job->error), why);
		finish(c, cp, job, "UploadFailed", now);
	}
	return 0;
}

void
mt_transfer_progress(struct mt_core *c, struct mt_cp *cp, enum mt_kind kind, int percent)
{
	struct mt_job *job = &cp->jobs[kind];

	if (job->phase != MT_TRANSFER || percent < 0 || percent > 100 || percent == job->percent)
		return;
	job->percent = percent;
	c->ops->changed(c->ud, cp, job, MT_CHANGED_PROGRESS);
}

void
mt_transfer_done(struct mt_core *c, struct mt_cp *cp, enum mt_kind kind, int result,
                 const char *why, int64_t now)
{
	struct mt_job *job = &cp->jobs[kind];

	if (job->phase != MT_TRANSFER)
		return;
	if (result < 0) {
		attempt_failed(c, cp, job, result == -EINVAL || result == -EPROTONOSUPPORT, why,
		               now);
	} else if (kind == MT_FIRMWARE) {
		job->percent = 100;
		job->error[0] = '\0';
		set_phase(c, cp, job, MT_DOWNLOADED, now);
		enqueue(job, "Downloaded");
	} else {
		finish(c, cp, job, "Uploaded", now);
	}
}

void
mt_collect_done(struct mt_core *c, struct mt_cp *cp, int result, const char *why, int64_t now)
{
	struct mt_job *job = &cp->jobs[MT_DIAGNOSTICS];

	if (job->phase != MT_COLLECTING)
		return;
	if (result < 0) {
		copy(job->error, sizeof(job->error), why && *why ? why : "collection failed");
		finish(c, cp, job, "UploadFailed", now);
	} else {
		start_attempt(c, cp, job, now);
	}
}

void
mt_install_progress(struct mt_core *c, struct mt_cp *cp, int percent)
{
	struct mt_job *job = &cp->jobs[MT_FIRMWARE];

	if (job->phase != MT_INSTALLING || percent < 0 || percent > 100 || percent == job->percent)
		return;
	job->percent = percent;
	c->ops->changed(c->ud, cp, job, MT_CHANGED_PROGRESS);
}

void
mt_install_done(struct mt_core *c, struct mt_cp *cp, int result, const char *why, int64_t now)
{
	struct mt_job *job = &cp->jobs[MT_FIRMWARE];

	if (job->phase != MT_INSTALLING)
		return;
	if (c->installing == cp)
		c->installing = NULL;
	job->hook_pid = 0;
	if (result < 0)
		copy(job->error, sizeof(job->error), why && *why ? why : "installation failed");
	finish(c, cp, job, result < 0 ? "InstallationFailed" : "Installed", now);
}

void
mt_send_done(struct mt_core *c, struct mt_cp *cp, enum mt_kind kind, bool ok, int64_t now)
{
	struct mt_job *job = &cp->jobs[kind];
	struct mt_notify *n = &job->notify;

	if (!n->in_flight)
		return;
	n->in_flight = false;
	if (is_outcome(job, n->sending)) {
		if (ok) {
			copy(job->last, sizeof(job->last), job->final);
			job->final[0] = '\0';
			job->percent = 0;
			set_phase(c, cp, job, MT_IDLE, now);
		} else {
			n->retry_at = now + report_retry_ms(c);
		}
	}
}

/* ---- connectors ----------------------------------------------------------------- */

static bool
conn_busy(const struct mt_conn *s)
{
	static const char *const tx_states[] = {"Charging", "SuspendedEV", "SuspendedEVSE"};

	if (s->tx_open || s->transaction_id != 0)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(tx_states); i++)
		if (strcmp(s->status, tx_states[i]) == 0)
			return true;
	return false;
}

bool
mt_cp_busy(const struct mt_cp *cp)
{
	for (int i = 1; i <= cp->n_connectors && i <= SG_MAX_CONNECTORS; i++)
		if (conn_busy(&cp->conns[i]))
			return true;
	return false;
}

void
mt_conn_state(struct mt_core *c, struct mt_cp *cp, int conn, const char *status,
              int64_t transaction_id)
{
	if (conn < 0 || conn > SG_MAX_CONNECTORS)
		return;
	struct mt_conn *s = &cp->conns[conn];
	copy(s->status, sizeof(s->status), status);
	s->transaction_id = transaction_id;
	/* A connector that shows no transaction (and none about to start) has
	 * none, whatever tx_event said: a "stopped" may have been missed. */
	bool open = s->tx_open;
	s->tx_open = false;
	if (open && (conn_busy(s) || strcmp(status, "Preparing") == 0))
		s->tx_open = true;
}

void
mt_tx_event(struct mt_core *c, struct mt_cp *cp, int conn, bool started)
{
	if (conn < 1 || conn > SG_MAX_CONNECTORS)
		return;
	cp->conns[conn].tx_open = started;
}

/* ---- trigger, restore, tick ------------------------------------------------------ */

const char *
mt_status_now(const struct mt_job *job)
{
	switch (job->phase) {
	case MT_COLLECTING:
	case MT_TRANSFER:
	case MT_RETRY_WAIT:
		return status_transfer[job->kind];
	case MT_DOWNLOADED:
		return "Downloaded";
	case MT_INSTALLING:
		return "Installing";
	case MT_REPORTING:
		return job->final;
	case MT_IDLE:
	case MT_SCHEDULED:
	default:
		return "Idle";
	}
}

const char *
mt_phase_name(const struct mt_job *job)
{
	switch (job->phase) {
	case MT_SCHEDULED:
		return "scheduled";
	case MT_COLLECTING:
		return "collecting";
	case MT_TRANSFER:
		return job->kind == MT_FIRMWARE ? "downloading" : "uploading";
	case MT_RETRY_WAIT:
		return "retrying";
	case MT_DOWNLOADED:
		return "downloaded";
	case MT_INSTALLING:
		return "installing";
	case MT_REPORTING:
		return "reporting";
	case MT_IDLE:
	default:
		return "idle";
	}
}

void
mt_trigger(struct mt_core *c, struct mt_cp *cp, enum mt_kind kind, int64_t now)
{
	struct mt_job *job = &cp->jobs[kind];

	enqueue(job, mt_status_now(job));
}

void
mt_restore(struct mt_core *c, struct mt_cp *cp, const struct mt_job *saved, bool have_file,
           int64_t now)
{
	struct mt_job *job = &cp->jobs[saved->kind];
	bool diag = saved->kind == MT_DIAGNOSTICS;

	*job = *saved;
	memset(&job->notify, 0, sizeof(job->notify));
	job->unavailable = false;
	if (job->phase == MT_TRANSFER) {
		/* It starts again; the interrupted attempt is not counted twice. */
		job->attempt = job->attempt > 0 ? job->attempt - 1 : 0;
		job->phase = MT_RETRY_WAIT;
		job->next_at = now;
	}
	if ((job->phase == MT_RETRY_WAIT && diag && !have_file) || job->phase == MT_COLLECTING) {
		job->phase = MT_COLLECTING;
		if (c->ops->collect_start(c->ud, cp, job) < 0) {
			copy(job->error, sizeof(job->error), "cannot collect after a restart");
			finish(c, cp, job, "UploadFailed", now);
			return;
		}
	}
	if (job->phase == MT_INSTALLING && job->hook_pid == 0)
		job->phase = MT_DOWNLOADED; /* the hook had not started yet */
	if (job->phase == MT_DOWNLOADED && !have_file) {
		job->phase = MT_RETRY_WAIT;
		job->next_at = now;
	}
	if (job->phase == MT_INSTALLING)
		c->installing = cp;
	if (job->phase == MT_REPORTING)
		enqueue(job, job->final);
	job->unavailable = mt_job_unavailable(job);
	if (job->kind == MT_FIRMWARE)
		c->ops->availability(c->ud, cp, job->unavailable);
	c->ops->changed(c->ud, cp, job, MT_CHANGED_PHASE);
}

static bool
fw_busy(const struct mt_job *job)
{
	return job->kind == MT_FIRMWARE &&
	       (job->phase == MT_TRANSFER || job->phase == MT_RETRY_WAIT ||
	        job->phase == MT_DOWNLOADED || job->phase == MT_INSTALLING);
}

/* Takes the installation slot; the hook itself starts in run_hook(). */
static void
start_install(struct mt_core *c, struct mt_cp *cp, struct mt_job *job, int64_t now)
{
	c->installing = cp;
	job->percent = 0;
	job->install_pending = true;
	set_phase(c, cp, job, MT_INSTALLING, now);
	enqueue(job, "Installing");
}

static bool
notify_holds(const struct mt_job *job, const char *status)
{
	const struct mt_notify *n = &job->notify;

	if (n->in_flight && strcmp(n->sending, status) == 0)
		return true;
	for (int i = 0; i < n->n; i++)
		if (strcmp(n->queue[i], status) == 0)
			return true;
	return false;
}

static void
run_hook(struct mt_core *c, struct mt_cp *cp, struct mt_job *job, int64_t now)
{
	int rc;

	job->install_pending = false;
	rc = c->ops->install_start(c->ud, cp, job);
	if (rc < 0) {
		char why[MT_ERROR_MAX + 1];

		snprintf(why, sizeof(why), "cannot run the install hook: %s", strerror(-rc));
		c->installing = NULL;
		copy(job->error, sizeof(job->error), why);
		finish(c, cp, job, "InstallationFailed", now);
	}
}

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* Does what is due for one job; returns when it is due next. */
static int64_t
step(struct mt_core *c, struct mt_cp *cp, struct mt_job *job, int64_t now)
{
	struct mt_notify *n = &job->notify;
	int64_t next = MT_NEVER;

	if ((job->phase == MT_SCHEDULED || job->phase == MT_RETRY_WAIT) && now >= job->next_at)
		start_attempt(c, cp, job, now);
	if (job->phase == MT_DOWNLOADED && c->installing == NULL && !mt_cp_busy(cp))
		start_install(c, cp, job, now);
	pump(c, cp, job, now);
	/* A hook may reboot at once: Installing goes out (answered, or failed)
	 * before it starts. */
	if (job->phase == MT_INSTALLING && job->install_pending && !notify_holds(job, "Installing"))
		run_hook(c, cp, job, now);
	if (fw_busy(job) && !n->in_flight && n->n == 0 && now - n->last_sent >= repeat_ms(c))
		enqueue(job, mt_status_now(job));
	if (job->phase == MT_REPORTING && !n->in_flight && n->n == 0 && n->retry_at != 0 &&
	    now >= n->retry_at) {
		n->retry_at = 0;
		enqueue(job, job->final);
	}
	pump(c, cp, job, now);

	if (job->phase == MT_SCHEDULED || job->phase == MT_RETRY_WAIT)
		next = min64(next, job->next_at);
	if (fw_busy(job) && !n->in_flight)
		next = min64(next, n->last_sent + repeat_ms(c));
	if (job->phase == MT_REPORTING && !n->in_flight && n->retry_at != 0)
		next = min64(next, n->retry_at);
	return next;
}

int64_t
mt_tick(struct mt_core *c, int64_t now)
{
	int64_t next = MT_NEVER;

	for (size_t i = 0; i < c->n_cps; i++)
		for (int k = 0; k < MT__KINDS; k++)
			next = min64(next, step(c, &c->cps[i], &c->cps[i].jobs[k], now));
	return next;
}

void
mt_shutdown(struct mt_core *c)
{
	for (size_t i = 0; i < c->n_cps; i++) {
		for (int k = 0; k < MT__KINDS; k++) {
			struct mt_job *job = &c->cps[i].jobs[k];

			if (job->phase == MT_TRANSFER)
				c->ops->transfer_cancel(c->ud, &c->cps[i], job);
			else if (job->phase == MT_COLLECTING)
				c->ops->collect_cancel(c->ud, &c->cps[i], job);
		}
	}
}

/* ---- helpers ------------------------------------------------------------------- */

static const struct {
	const char *scheme;
	unsigned bit;
	const char *name;
} protos[] = {
    {"ftp", MT_PROTO_FTP, "FTP"},
    {"ftps", MT_PROTO_FTPS, "FTPS"},
    {"http", MT_PROTO_HTTP, "HTTP"},
    {"https", MT_PROTO_HTTPS, "HTTPS"},
};

unsigned
mt_url_proto(const char *url)
{
	const char *colon = url ? strstr(url, "://") : NULL;

	if (colon == NULL)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(protos); i++)
		if ((size_t)(colon - url) == strlen(protos[i].scheme) &&
		    strncasecmp(url, protos[i].scheme, strlen(protos[i].scheme)) == 0)
			return protos[i].bit;
	return 0;
}

void
mt_proto_list(unsigned mask, char *out, size_t len)
{
	size_t used = 0;

	if (len == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(protos); i++) {
		if (!(mask & protos[i].bit))
			continue;
		int n = snprintf(out + used, len - used, "%s%s", used ? "," : "", protos[i].name);
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}

void
mt_url_redact(const char *url, char *out, size_t len)
{
	const char *sep = strstr(url, "://");
	const char *auth = sep ? sep + 3 : url;
	const char *auth_end = auth + strcspn(auth, "/?#");
	const char *at = NULL;

	for (const char *p = auth; p < auth_end; p++)
		if (*p == '@')
			at = p;
	const char *host = at ? at + 1 : auth;
	const char *path_end = auth_end + strcspn(auth_end, "?#");
	snprintf(out, len, "%.*s%.*s%.*s", (int)(auth - url), url, (int)(auth_end - host), host,
	         (int)(path_end - auth_end), auth_end);
}

static bool
file_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '.' || ch == '_' || ch == '-';
}

void
mt_fw_file_name(const char *url, char *out, size_t len)
{
	const char *sep = strstr(url, "://");
	const char *p = sep ? sep + 3 : url;
	const char *end = p + strcspn(p, "?#");
	const char *seg = end;
	size_t n = 0;

	while (seg > p && seg[-1] != '/')
		seg--;
	if (seg == p) /* no path: only the host */
		seg = end;
	while (seg < end && *seg == '.')
		seg++;
	for (; seg < end && n + 1 < len && n < 100; seg++)
		out[n++] = file_char(*seg) ? *seg : '_';
	if (len > 0)
		out[n] = '\0';
	if (n == 0)
		copy(out, len, "firmware.bin");
}

void
mt_diag_file_name(const char *cp, int64_t now, char *out, size_t len)
{
	char safe[64];
	size_t n = 0;
	time_t t = (time_t)(now / 1000);
	struct tm tm;

	for (; cp[n] && n + 1 < sizeof(safe); n++)
		safe[n] = file_char(cp[n]) ? cp[n] : '_';
	safe[n] = '\0';
	gmtime_r(&t, &tm);
	snprintf(out, len, "%s-diagnostics-%04d%02d%02dT%02d%02d%02dZ.tar.gz", safe,
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int
mt_upload_target(const char *location, const char *file_name, char *url, size_t len, bool *post)
{
	unsigned proto = mt_url_proto(location);
	const char *hash = strchr(location, '#');
	size_t base = hash ? (size_t)(hash - location) : strlen(location);
	int n;

	*post = false;
	if (proto == 0)
		return -EINVAL;
	if (hash && strcasecmp(hash + 1, "post") == 0) {
		if (!(proto & (MT_PROTO_HTTP | MT_PROTO_HTTPS)))
			return -EINVAL;
		*post = true;
		n = snprintf(url, len, "%.*s", (int)base, location);
		return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
	}
	/* The path ends at the query. */
	const char *auth = strstr(location, "://") + 3;
	const char *q = auth + strcspn(auth, "?#");
	size_t path_end = (size_t)(q - location);
	const char *query = *q == '?' ? q : "";
	size_t query_len = *q == '?' ? base - path_end : 0;
	bool slash = path_end > 0 && location[path_end - 1] == '/';

	n = snprintf(url, len, "%.*s%s%s%.*s", (int)path_end, location, slash ? "" : "/", file_name,
	             (int)query_len, query);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int
by_group_mtime(const void *a, const void *b, void *files)
{
	const struct mt_log_file *f = files;
	const struct mt_log_file *x = &f[*(const size_t *)a], *y = &f[*(const size_t *)b];

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	return 0;
}

static int
by_mtime_desc(const void *a, const void *b, void *files)
{
	const struct mt_log_file *f = files;
	const struct mt_log_file *x = &f[*(const size_t *)a], *y = &f[*(const size_t *)b];

	if (x->mtime != y->mtime)
		return x->mtime > y->mtime ? -1 : 1;
	return 0;
}

int64_t
mt_diag_select(const struct mt_log_file *files, size_t n, bool has_start, int64_t start,
               bool has_stop, int64_t stop, int64_t cap, int64_t *take)
{
	size_t *order;
	size_t n_sel = 0;
	int64_t total = 0;

	for (size_t i = 0; i < n; i++)
		take[i] = 0;
	if (n == 0 || (order = calloc(n, sizeof(*order))) == NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), by_group_mtime, (void *)files);
	/* A file covers (previous mtime in its group, its mtime]. */
	for (size_t k = 0; k < n; k++) {
		const struct mt_log_file *f = &files[order[k]];
		bool first = k == 0 || files[order[k - 1]].group != f->group;
		int64_t from = first ? INT64_MIN : files[order[k - 1]].mtime;

		if ((has_start && f->mtime < start) || (has_stop && from >= stop))
			continue;
		take[order[k]] = -1; /* chosen */
	}
	for (size_t i = 0; i < n; i++)
		if (take[i] == -1)
			order[n_sel++] = i;
	qsort_r(order, n_sel, sizeof(*order), by_mtime_desc, (void *)files);
	for (size_t i = 0; i < n; i++)
		take[i] = 0;
	for (size_t k = 0; k < n_sel; k++) {
		const struct mt_log_file *f = &files[order[k]];
		int64_t room = cap - total;

		if (f->size <= room) {
			take[order[k]] = f->size;
			total += f->size;
			continue;
		}
		if (room >= MIN_TAIL) {
			take[order[k]] = room;
			total += room;
		}
		break;
	}
	free(order);
	return total;
}

bool
mt_hook_progress(const char *line, int *percent)
{
	char *end;
	long v;

	if (strncmp(line, "progress", 8) != 0 || (line[8] != ' ' && line[8] != '\t'))
		return false;
	v = strtol(line + 9, &end, 10);
	if (end == line + 9)
		return false;
	while (*end == ' ' || *end == '\t' || *end == '%' || *end == '\r')
		end++;
	if (*end != '\0' || v < 0 || v > 100)
		return false;
	*percent = (int)v;
	return true;
}
