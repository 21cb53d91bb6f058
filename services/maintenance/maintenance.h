/* sitegate-maintenance, the decisions: the state machines of a firmware update
 * (UpdateFirmware) and of a diagnostics upload (GetDiagnostics) per charge
 * point, the status notifications they owe the Central System, and the small
 * pure helpers around them (URLs, file names, which log files a diagnostics
 * archive holds). No I/O: everything that touches the world goes through
 * struct mt_ops (maintenance_io.c in the service, fakes in the unit tests).
 *
 * Time is wall-clock Unix ms, passed in by the caller (retrieveDate and a
 * persisted job need wall time). Events only change state and queue
 * notifications; after every event the caller runs mt_tick(), which starts
 * what is due, sends what is queued and says when to run it next. (So the
 * caller answers UpdateFirmware / GetDiagnostics before the first status
 * notification goes out.)
 *
 * Firmware:  idle -> scheduled (until retrieveDate) -> downloading <-> retrying
 *            -> downloaded (until no transaction runs and no other charge point
 *            installs) -> installing (the hook starts once the Central System
 *            answered Installing, or the notification failed: a hook may reboot
 *            at once) -> reporting (the outcome, until the Central System
 *            confirmed it) -> idle.
 * Statuses:  Downloading (first attempt), Downloaded, Installing, then
 *            Installed / DownloadFailed / InstallationFailed; the current one
 *            again at least every repeat_ms while busy.
 * Diagnostics: idle -> collecting (the archive is built) -> uploading <->
 *            retrying -> reporting -> idle; Uploading (first attempt), then
 *            Uploaded / UploadFailed.
 * A failed notification of the outcome is sent again every report_retry_ms
 * until the Central System confirms it (also after a restart: the outcome is
 * persisted); a failed intermediate one is dropped (the next supersedes it). */
#ifndef MAINTENANCE_H
#define MAINTENANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sitegate/config.h"

#define MT_URL_MAX      1023
#define MT_NAME_MAX     127
#define MT_STATUS_MAX   20
#define MT_ERROR_MAX    127
#define MT_CONN_STATUS  16
#define MT_QUEUE        8
#define MT_MAX_ATTEMPTS 101
#define MT_REPEAT_MS    10000 /* FirmwareStatusNotification at least this often while busy */
#define MT_REPORT_RETRY 10000 /* an unconfirmed outcome is sent again after this */
#define MT_NEVER        INT64_MAX

enum mt_kind { MT_FIRMWARE, MT_DIAGNOSTICS, MT__KINDS };

enum mt_phase {
	MT_IDLE,
	MT_SCHEDULED,  /* firmware: waiting for retrieveDate */
	MT_COLLECTING, /* diagnostics: the archive is being built */
	MT_TRANSFER,   /* a download or an upload runs */
	MT_RETRY_WAIT, /* an attempt failed; the next one starts at next_at */
	MT_DOWNLOADED, /* firmware: waiting until it may install */
	MT_INSTALLING, /* firmware: the install hook runs */
	MT_REPORTING,  /* the outcome is being reported */
};

/* The file transfer protocols of SupportedFileTransferProtocols. */
enum {
	MT_PROTO_FTP = 1u << 0,
	MT_PROTO_FTPS = 1u << 1,
	MT_PROTO_HTTP = 1u << 2,
	MT_PROTO_HTTPS = 1u << 3,
};

/* The status notifications of one job: sent one at a time, in order. */
struct mt_notify {
	char queue[MT_QUEUE][MT_STATUS_MAX + 1];
	int n;
	bool in_flight;
	char sending[MT_STATUS_MAX + 1];
	int64_t last_sent; /* when the last one went out; 0: never */
	int64_t retry_at;  /* MT_REPORTING: send the outcome again then; 0: not due */
};

struct mt_job {
	enum mt_kind kind;
	enum mt_phase phase;
	char location[MT_URL_MAX + 1];
	int64_t retrieve_at;      /* firmware: retrieveDate */
	bool has_start, has_stop; /* diagnostics: the requested time window */
	int64_t start_at, stop_at;
	int attempt, attempts; /* made, allowed (1 + retries) */
	int64_t retry_ms;
	int64_t next_at;               /* MT_SCHEDULED, MT_RETRY_WAIT */
	char file[MT_NAME_MAX + 1];    /* the image's local name / the archive's name */
	char final[MT_STATUS_MAX + 1]; /* MT_REPORTING: the outcome */
	char last[MT_STATUS_MAX + 1];  /* the previous outcome, confirmed */
	char error[MT_ERROR_MAX + 1];  /* why the last attempt or the job failed */
	int percent;                   /* of the current step */
	int64_t since;                 /* when phase changed */
	int64_t hook_pid;              /* MT_INSTALLING: the hook's process (io's business) */
	char boot_id[40];              /* ... in this boot */
	/* not persisted */
	struct mt_notify notify;
	bool unavailable;     /* fw_install says installing */
	bool install_pending; /* MT_INSTALLING: the hook starts once Installing is out */
};

/* What the connector service says about one connector. */
struct mt_conn {
	char status[MT_CONN_STATUS + 1];
	int64_t transaction_id;
	bool tx_open; /* tx_event started, not yet stopped */
};

struct mt_cp {
	char id[64];
	int n_connectors;
	struct mt_conn conns[SG_MAX_CONNECTORS + 1];
	struct mt_job jobs[MT__KINDS];
};

enum {
	MT_CHANGED_PHASE = 1u << 0,    /* persist and publish */
	MT_CHANGED_PROGRESS = 1u << 1, /* publish (percent) */
};

/* The world, as the core sees it. The core never calls these re-entrantly from
 * within themselves, and they must not call back into the core. */
struct mt_ops {
	/* The job's transfer: the firmware download of job->location (to the local
	 * file job->file), or the upload of the archive job->file. Returns 0 (the
	 * outcome comes through mt_transfer_done), or a negative errno: -EINVAL and
	 * -EPROTONOSUPPORT fail the job, anything else this attempt. */
	int (*transfer_start)(void *ud, struct mt_cp *cp, struct mt_job *job);
	void (*transfer_cancel)(void *ud, struct mt_cp *cp, struct mt_job *job);
	/* Builds the diagnostics archive job->file (outcome: mt_collect_done). */
	int (*collect_start)(void *ud, struct mt_cp *cp, struct mt_job *job);
	void (*collect_cancel)(void *ud, struct mt_cp *cp, struct mt_job *job);
	/* Runs the install hook on job->file (outcome: mt_install_done). */
	int (*install_start)(void *ud, struct mt_cp *cp, struct mt_job *job);
	/* Sends a FirmwareStatusNotification / DiagnosticsStatusNotification
	 * (outcome: mt_send_done). A negative return means it was not sent. */
	int (*send_status)(void *ud, struct mt_cp *cp, enum mt_kind kind, const char *status);
	/* fw_install changed: the charge point must go (or may leave) Unavailable. */
	void (*availability)(void *ud, struct mt_cp *cp, bool installing);
	/* The job changed: MT_CHANGED_* bits. */
	void (*changed)(void *ud, struct mt_cp *cp, struct mt_job *job, unsigned what);
	/* The job's local files (image, archive) are not needed any more. */
	void (*discard)(void *ud, struct mt_cp *cp, struct mt_job *job);
};

struct mt_settings {
	unsigned protocols;      /* MT_PROTO_* that work here */
	int retries;             /* when a request names none */
	int64_t retry_ms;        /* when a request names no retryInterval */
	int64_t repeat_ms;       /* 0: MT_REPEAT_MS */
	int64_t report_retry_ms; /* 0: MT_REPORT_RETRY */
};

struct mt_core {
	struct mt_settings set;
	const struct mt_ops *ops;
	void *ud;
	struct mt_cp *cps;
	size_t n_cps;
	struct mt_cp *installing; /* one installation at a time, gateway-wide */
};

/* A Central System request, already validated against the OCPP schema.
 * retries / retry_interval_s < 0: not given. */
struct mt_fw_request {
	const char *location;
	int64_t retrieve_at;
	int retries;
	int retry_interval_s;
};

struct mt_diag_request {
	const char *location;
	int retries;
	int retry_interval_s;
	bool has_start, has_stop;
	int64_t start_at, stop_at;
};

/* cps: the charge points (id and n_connectors filled in, the rest zeroed),
 * borrowed for the core's life. */
void mt_core_init(struct mt_core *c, const struct mt_settings *set, const struct mt_ops *ops,
                  void *ud, struct mt_cp *cps, size_t n_cps);
struct mt_cp *mt_cp_find(struct mt_core *c, const char *id);

/* UpdateFirmware: replaces any earlier update of the charge point, except a
 * running installation (-EBUSY, nothing changes). UpdateFirmware.conf is
 * empty either way. */
int mt_fw_request(struct mt_core *c, struct mt_cp *cp, const struct mt_fw_request *rq, int64_t now);
/* GetDiagnostics: replaces any earlier upload of the charge point and writes
 * the file name for GetDiagnostics.conf. -EPROTONOSUPPORT / -EINVAL (with the
 * reason in file_name): no upload, a conf without fileName. */
int mt_diag_request(struct mt_core *c, struct mt_cp *cp, const struct mt_diag_request *rq,
                    int64_t now, char *file_name, size_t len);

/* Outcomes of the ops. result: 0 or a negative errno; why: text for the state
 * (may be NULL). */
void mt_transfer_progress(struct mt_core *c, struct mt_cp *cp, enum mt_kind kind, int percent);
void mt_transfer_done(struct mt_core *c, struct mt_cp *cp, enum mt_kind kind, int result,
                      const char *why, int64_t now);
void mt_collect_done(struct mt_core *c, struct mt_cp *cp, int result, const char *why, int64_t now);
void mt_install_progress(struct mt_core *c, struct mt_cp *cp, int percent);
void mt_install_done(struct mt_core *c, struct mt_cp *cp, int result, const char *why, int64_t now);
void mt_send_done(struct mt_core *c, struct mt_cp *cp, enum mt_kind kind, bool ok, int64_t now);

/* What the connector service publishes. conn 0 is the charge point. */
void mt_conn_state(struct mt_core *c, struct mt_cp *cp, int conn, const char *status,
                   int64_t transaction_id);
void mt_tx_event(struct mt_core *c, struct mt_cp *cp, int conn, bool started);
/* A transaction runs (or is about to end) on one of the charge point's connectors. */
bool mt_cp_busy(const struct mt_cp *cp);

/* TriggerMessage of the job's status notification: queues the current status
 * (Idle when not busy) for mt_tick() to send. */
void mt_trigger(struct mt_core *c, struct mt_cp *cp, enum mt_kind kind, int64_t now);

/* Puts a persisted job back after a restart. have_file: its local file (image
 * or archive) still exists. A transfer that ran starts again; a job that was
 * installing stays so when its hook had started (hook_pid; the caller then
 * reports the hook's outcome with mt_install_done, at once or when the hook it
 * reattached to ends), else it is downloaded again; an outcome not yet
 * confirmed is sent again. */
void mt_restore(struct mt_core *c, struct mt_cp *cp, const struct mt_job *saved, bool have_file,
                int64_t now);

/* Does what is due (attempts, installation, notifications) and returns when it
 * must be called next (MT_NEVER: only after an event). */
int64_t mt_tick(struct mt_core *c, int64_t now);

/* SIGTERM: cancels transfers and the collection (their jobs start again after
 * a restart); a running installation is left to finish. */
void mt_shutdown(struct mt_core *c);

/* The status a notification would carry now: "Idle", "Downloading", ... */
const char *mt_status_now(const struct mt_job *job);
/* "idle", "scheduled", "collecting", "downloading"/"uploading", "retrying",
 * "downloaded", "installing", "reporting". */
const char *mt_phase_name(const struct mt_job *job);
/* A job whose charge point must be Unavailable (downloaded, installing). */
bool mt_job_unavailable(const struct mt_job *job);

/* ---- helpers ---------------------------------------------------------------- */

/* MT_PROTO_* of the URL's scheme (case-insensitive), 0 when none of them. */
unsigned mt_url_proto(const char *url);
/* The URL for logs and state: scheme, host and path, without user
 * information, query and fragment. */
void mt_url_redact(const char *url, char *out, size_t len);
/* "FTP,FTPS,HTTP,HTTPS" for the bits of mask, in that order. */
void mt_proto_list(unsigned mask, char *out, size_t len);
/* The local name of a downloaded image: the URL path's last segment with
 * anything but [A-Za-z0-9._-] replaced by '_', no leading '.', at most 100
 * characters; "firmware.bin" when that leaves nothing. */
void mt_fw_file_name(const char *url, char *out, size_t len);
/* "<cp>-diagnostics-YYYYMMDDTHHMMSSZ.tar.gz" (the cp id made file-safe). */
void mt_diag_file_name(const char *cp, int64_t now, char *out, size_t len);

/* Where a diagnostics archive goes. The location is a directory (OCPP 1.6):
 * the file name is appended to its path (before a query), with a '/' unless
 * the path ends in one, and the file is sent with FTP STOR or HTTP PUT. A
 * http(s) location whose fragment is "post" (".../upload#post") is instead an
 * endpoint that takes an HTTP POST of multipart/form-data with the file as
 * field "file"; it is used as it is, without the fragment. Returns 0, -EINVAL
 * (no scheme, "#post" on ftp) or -ENAMETOOLONG. */
int mt_upload_target(const char *location, const char *file_name, char *url, size_t len,
                     bool *post);

/* Which log files a diagnostics archive holds. Each file covers the time from
 * the previous file's mtime in its directory (group) to its own mtime; it is
 * chosen when that span meets [start, stop] (either bound optional). Then the
 * newest files are kept first within cap bytes; the newest file that no longer
 * fits is cut to its last bytes (when at least 1 KiB of room is left) and the
 * older ones are left out. take[i] receives the bytes to include from the end
 * of file i (0: left out). Returns the total. */
struct mt_log_file {
	int group;
	int64_t mtime; /* Unix ms */
	int64_t size;
};
int64_t mt_diag_select(const struct mt_log_file *files, size_t n, bool has_start, int64_t start,
                       bool has_stop, int64_t stop, int64_t cap, int64_t *take);

/* A line of the install hook's output: "progress N" (N 0..100) sets percent
 * and returns true; anything else returns false. */
bool mt_hook_progress(const char *line, int *percent);

#endif
