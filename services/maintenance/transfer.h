/* File transfers with libcurl's multi-socket API on the poll loop: curl tells
 * us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to time out
 * (CURLMOPT_TIMERFUNCTION); the loop tells curl what happened with
 * curl_multi_socket_action(). Nothing here blocks (name resolution runs in
 * libcurl's own resolver thread when libcurl is built with it, as Debian's is).
 *
 * Only http, https, ftp and ftps are allowed, for the first request and for
 * redirects (never file://, scp://, ...). */
#ifndef MAINTENANCE_TRANSFER_H
#define MAINTENANCE_TRANSFER_H

#include <stdint.h>

#include "sitegate/loop.h"

struct tr;
struct tr_job;

enum tr_kind {
	TR_DOWNLOAD,    /* GET / RETR into path (via "<path>.part", renamed when complete) */
	TR_UPLOAD,      /* path with HTTP PUT / FTP STOR */
	TR_UPLOAD_POST, /* path as multipart/form-data field "file" with HTTP POST */
};

/* percent: 0..100 of the bytes to move, when known. */
typedef void tr_progress_fn(struct tr_job *job, int percent, void *ud);
/* result: 0, or a negative errno with why (curl's words); the job is freed
 * after this returns. Runs from the loop, never from inside libcurl. */
typedef void tr_done_fn(struct tr_job *job, int result, const char *why, void *ud);

struct tr_opts {
	enum tr_kind kind;
	const char *url;
	const char *path;
	const char *remote_name; /* TR_UPLOAD_POST: the file name of the form part */
	int64_t max_bytes;       /* TR_DOWNLOAD: larger fails with -EFBIG; 0: no limit */
	long timeout_s;          /* the whole attempt; 0: none */
	tr_progress_fn *on_progress;
	tr_done_fn *on_done;
	void *ud;
};

struct tr *tr_new(struct sg_loop *loop);
/* Cancels every transfer (no callbacks). Accepts NULL. */
void tr_free(struct tr *t);
/* Returns 0 with *out set, or a negative errno: -EPROTONOSUPPORT (a scheme
 * this libcurl or this module does not allow), -ENOENT (no file to upload),
 * -EIO. */
int tr_start(struct tr *t, const struct tr_opts *o, struct tr_job **out);
/* Stops the transfer without a callback; a partial download is removed.
 * Accepts NULL. */
void tr_cancel(struct tr_job *job);

/* The MT_PROTO_* bits (maintenance.h) this libcurl supports. */
unsigned tr_protocols(void);
/* "libcurl/7.88.1 OpenSSL/3.0.11, async DNS", for the start-up log. */
const char *tr_version(void);

#endif
