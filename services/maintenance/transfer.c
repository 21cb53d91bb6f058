/* File transfers with libcurl's multi-socket API on the poll loop: see
 * transfer.h. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sitegate/log.h"

#include "maintenance.h"
#include "transfer.h"

#define PROTOCOLS        "http,https,ftp,ftps"
#define CONNECT_TIMEOUT  30L
#define LOW_SPEED_TIME_S 60L
#define MAX_REDIRS       5L

struct tr {
	struct sg_loop *loop;
	CURLM *multi;
	uint64_t timer;
	struct tr_job *jobs;
	int *fds; /* the sockets curl asked us to watch */
	size_t n_fds, cap_fds;
};

struct tr_job {
	struct tr_job *next;
	struct tr *t;
	CURL *easy;
	enum tr_kind kind;
	FILE *file;
	char *path, *part;
	int64_t max_bytes, written;
	bool too_big, is_http;
	curl_mime *mime;
	struct curl_slist *headers;
	int percent, reported;
	tr_progress_fn *on_progress;
	tr_done_fn *on_done;
	void *ud;
	char err[CURL_ERROR_SIZE];
};

static int curl_users;

/* ---- the loop side ------------------------------------------------------------ */

static void check_done(struct tr *t);

static void
forget_fd(struct tr *t, int fd)
{
	for (size_t i = 0; i < t->n_fds; i++) {
		if (t->fds[i] == fd) {
			t->fds[i] = t->fds[--t->n_fds];
			return;
		}
	}
}

static void
remember_fd(struct tr *t, int fd)
{
	for (size_t i = 0; i < t->n_fds; i++)
		if (t->fds[i] == fd)
			return;
	if (t->n_fds == t->cap_fds) {
		size_t cap = t->cap_fds ? t->cap_fds * 2 : 8;
		int *n = realloc(t->fds, cap * sizeof(*n));
		if (n == NULL)
			return; /* still watched; only tr_free() would miss it */
		t->fds = n;
		t->cap_fds = cap;
	}
	t->fds[t->n_fds++] = fd;
}

static void
on_fd(struct sg_loop *loop, int fd, unsigned events, void *ud)
{
	struct tr *t = ud;
	int flags = 0, running;

	if (events & SG_READ)
		flags |= CURL_CSELECT_IN;
	if (events & SG_WRITE)
		flags |= CURL_CSELECT_OUT;
	if (events & SG_ERROR)
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(t->multi, fd, flags, &running);
	check_done(t);
}

static int
on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct tr *t = userp;
	unsigned events = 0;

	if (what == CURL_POLL_REMOVE) {
		sg_loop_unwatch(t->loop, s);
		forget_fd(t, s);
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= SG_READ;
	if (what & CURL_POLL_OUT)
		events |= SG_WRITE;
	if (sg_loop_watch(t->loop, s, events, on_fd, t) < 0)
		return -1;
	remember_fd(t, s);
	return 0;
}

static int64_t
on_timeout(struct sg_loop *loop, void *ud)
{
	struct tr *t = ud;
	int running;

	t->timer = 0; /* this one ends; curl may ask for a new one below */
	curl_multi_socket_action(t->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(t);
	return -1;
}

static int
on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct tr *t = userp;

	sg_loop_timer_del(t->loop, t->timer);
	t->timer = 0;
	if (timeout_ms >= 0) {
		t->timer = sg_loop_timer_add(t->loop, timeout_ms, on_timeout, t);
		if (t->timer == 0)
			return -1;
	}
	return 0;
}

/* ---- jobs --------------------------------------------------------------------- */

static void
unlink_job(struct tr_job *job)
{
	for (struct tr_job **p = &job->t->jobs; *p; p = &(*p)->next) {
		if (*p == job) {
			*p = job->next;
			return;
		}
	}
}

/* Detaches and frees the job; keep: the download succeeded. */
static void
free_job(struct tr_job *job, bool keep)
{
	unlink_job(job);
	if (job->easy) {
		curl_multi_remove_handle(job->t->multi, job->easy);
		curl_easy_cleanup(job->easy);
	}
	if (job->file)
		fclose(job->file);
	if (job->part && !keep)
		unlink(job->part);
	curl_mime_free(job->mime);
	curl_slist_free_all(job->headers);
	free(job->path);
	free(job->part);
	free(job);
}

static size_t
on_write(char *data, size_t size, size_t n, void *ud)
{
	struct tr_job *job = ud;
	size_t bytes = size * n;

	job->written += (int64_t)bytes;
	if (job->max_bytes > 0 && job->written > job->max_bytes) {
		job->too_big = true;
		return 0; /* CURLE_WRITE_ERROR */
	}
	return fwrite(data, 1, bytes, job->file);
}

static int
on_xferinfo(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct tr_job *job = ud;
	curl_off_t total = job->kind == TR_DOWNLOAD ? dltotal : ultotal;
	curl_off_t now = job->kind == TR_DOWNLOAD ? dlnow : ulnow;

	/* Reported from the loop after curl returns (check_done). */
	if (total > 0)
		job->percent = (int)(now >= total ? 100 : now * 100 / total);
	return 0;
}

/* One place where curl's results become errno values. */
static int
errno_from_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		return 0;
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EPROTONOSUPPORT;
	case CURLE_URL_MALFORMAT:
		return -EINVAL;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_REMOTE_FILE_NOT_FOUND:
		return -ENOENT;
	case CURLE_LOGIN_DENIED:
	case CURLE_REMOTE_ACCESS_DENIED:
		return -EACCES;
	case CURLE_FILESIZE_EXCEEDED:
		return -EFBIG;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

static void
finish(struct tr_job *job, CURLcode code)
{
	int result = errno_from_curl(code);
	char why[CURL_ERROR_SIZE + 64];
	long http = 0;

	snprintf(why, sizeof(why), "%s", job->err[0] ? job->err : curl_easy_strerror(code));
	if (job->too_big) {
		result = -EFBIG;
		snprintf(why, sizeof(why), "larger than %lld bytes", (long long)job->max_bytes);
	}
	if (result == 0 && job->is_http) {
		curl_easy_getinfo(job->easy, CURLINFO_RESPONSE_CODE, &http);
		if (http < 200 || http > 299) {
			result = -EIO;
			snprintf(why, sizeof(why), "HTTP status %ld", http);
		}
	}
	if (result == 0 && job->file) {
		int rc = fclose(job->file);

		job->file = NULL;
		if (rc != 0) {
			result = -errno;
			snprintf(why, sizeof(why), "cannot write \"%s\": %s", job->part,
			         strerror(errno));
		}
	}
	if (result == 0 && job->kind == TR_DOWNLOAD && rename(job->part, job->path) < 0) {
		result = -errno;
		snprintf(why, sizeof(why), "cannot rename \"%s\": %s", job->part, strerror(errno));
	}
	if (job->on_done)
		job->on_done(job, result, result == 0 ? NULL : why, job->ud);
	free_job(job, result == 0);
}

static void
check_done(struct tr *t)
{
	CURLMsg *msg;
	int left;

	/* Progress first, so that 100 % comes before the outcome. A callback may
	 * not cancel jobs, so the list stays as it is. */
	for (struct tr_job *job = t->jobs; job; job = job->next) {
		if (job->percent != job->reported) {
			job->reported = job->percent;
			if (job->on_progress)
				job->on_progress(job, job->percent, job->ud);
		}
	}
	while ((msg = curl_multi_info_read(t->multi, &left)) != NULL) {
		struct tr_job *job = NULL;
		CURLcode code;

		if (msg->msg != CURLMSG_DONE)
			continue;
		code = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&job);
		if (job != NULL)
			finish(job, code);
	}
}

/* ---- API ------------------------------------------------------------------------- */

struct tr *
tr_new(struct sg_loop *loop)
{
	struct tr *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	if (curl_users++ == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		curl_users--;
		free(t);
		return NULL;
	}
	t->loop = loop;
	t->multi = curl_multi_init();
	if (t->multi == NULL) {
		tr_free(t);
		return NULL;
	}
	curl_multi_setopt(t->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(t->multi, CURLMOPT_SOCKETDATA, t);
	curl_multi_setopt(t->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(t->multi, CURLMOPT_TIMERDATA, t);
	return t;
}

void
tr_free(struct tr *t)
{
	if (t == NULL)
		return;
	while (t->jobs)
		free_job(t->jobs, false);
	if (t->multi)
		curl_multi_cleanup(t->multi);
	for (size_t i = 0; i < t->n_fds; i++)
		sg_loop_unwatch(t->loop, t->fds[i]);
	free(t->fds);
	sg_loop_timer_del(t->loop, t->timer);
	if (--curl_users == 0)
		curl_global_cleanup();
	free(t);
}

static int
open_download(struct tr_job *job, const char *path)
{
	size_t len = strlen(path) + sizeof(".part");
	int fd;

	job->path = strdup(path);
	job->part = malloc(len);
	if (job->path == NULL || job->part == NULL)
		return -ENOMEM;
	snprintf(job->part, len, "%s.part", path);
	fd = open(job->part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	job->file = fdopen(fd, "wb");
	if (job->file == NULL) {
		int e = errno;

		close(fd);
		return -e;
	}
	curl_easy_setopt(job->easy, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(job->easy, CURLOPT_WRITEDATA, job);
	if (job->max_bytes > 0)
		curl_easy_setopt(job->easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)job->max_bytes);
	return 0;
}

static int
open_upload(struct tr_job *job, const struct tr_opts *o)
{
	struct stat st;
	int fd = open(o->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || (job->file = fdopen(fd, "rb")) == NULL) {
		int e = errno;

		close(fd);
		return -e;
	}
	/* No "Expect: 100-continue" round trip. */
	job->headers = curl_slist_append(NULL, "Expect:");
	curl_easy_setopt(job->easy, CURLOPT_HTTPHEADER, job->headers);
	if (o->kind == TR_UPLOAD_POST) {
		curl_mimepart *part;

		job->mime = curl_mime_init(job->easy);
		part = job->mime ? curl_mime_addpart(job->mime) : NULL;
		if (part == NULL || curl_mime_name(part, "file") != CURLE_OK ||
		    curl_mime_filedata(part, o->path) != CURLE_OK ||
		    curl_mime_filename(part, o->remote_name) != CURLE_OK ||
		    curl_mime_type(part, "application/gzip") != CURLE_OK)
			return -ENOMEM;
		curl_easy_setopt(job->easy, CURLOPT_MIMEPOST, job->mime);
		return 0;
	}
	curl_easy_setopt(job->easy, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(job->easy, CURLOPT_READDATA, job->file);
	curl_easy_setopt(job->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)st.st_size);
	return 0;
}

int
tr_start(struct tr *t, const struct tr_opts *o, struct tr_job **out)
{
	unsigned proto = mt_url_proto(o->url);
	struct tr_job *job;
	CURLMcode mc;
	int rc;

	*out = NULL;
	if (!(proto & tr_protocols()))
		return -EPROTONOSUPPORT;
	job = calloc(1, sizeof(*job));
	if (job == NULL)
		return -ENOMEM;
	job->t = t;
	job->kind = o->kind;
	job->max_bytes = o->max_bytes;
	job->is_http = proto & (MT_PROTO_HTTP | MT_PROTO_HTTPS);
	job->on_progress = o->on_progress;
	job->on_done = o->on_done;
	job->ud = o->ud;
	job->percent = job->reported = 0;
	job->next = t->jobs;
	t->jobs = job;
	job->easy = curl_easy_init();
	if (job->easy == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	curl_easy_setopt(job->easy, CURLOPT_URL, o->url);
	curl_easy_setopt(job->easy, CURLOPT_PRIVATE, job);
	curl_easy_setopt(job->easy, CURLOPT_ERRORBUFFER, job->err);
	curl_easy_setopt(job->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(job->easy, CURLOPT_PROTOCOLS_STR, PROTOCOLS);
	curl_easy_setopt(job->easy, CURLOPT_REDIR_PROTOCOLS_STR, PROTOCOLS);
	curl_easy_setopt(job->easy, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(job->easy, CURLOPT_MAXREDIRS, MAX_REDIRS);
	curl_easy_setopt(job->easy, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
	curl_easy_setopt(job->easy, CURLOPT_TIMEOUT, o->timeout_s);
	curl_easy_setopt(job->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(job->easy, CURLOPT_LOW_SPEED_TIME, LOW_SPEED_TIME_S);
	curl_easy_setopt(job->easy, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(job->easy, CURLOPT_USERAGENT, "sitegate-maintenance/" SITEGATE_VERSION);
	curl_easy_setopt(job->easy, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(job->easy, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
	curl_easy_setopt(job->easy, CURLOPT_XFERINFODATA, job);
	rc = o->kind == TR_DOWNLOAD ? open_download(job, o->path) : open_upload(job, o);
	if (rc < 0)
		goto fail;
	mc = curl_multi_add_handle(t->multi, job->easy);
	if (mc != CURLM_OK) {
		sg_err("transfer: cannot add a transfer: %s", curl_multi_strerror(mc));
		rc = -EIO;
		goto fail;
	}
	*out = job;
	return 0;
fail:
	free_job(job, false);
	return rc;
}

void
tr_cancel(struct tr_job *job)
{
	if (job != NULL)
		free_job(job, false);
}

unsigned
tr_protocols(void)
{
	const curl_version_info_data *d = curl_version_info(CURLVERSION_NOW);
	static const struct {
		const char *name;
		unsigned bit;
	} known[] = {
	    {"ftp", MT_PROTO_FTP},
	    {"ftps", MT_PROTO_FTPS},
	    {"http", MT_PROTO_HTTP},
	    {"https", MT_PROTO_HTTPS},
	};
	unsigned mask = 0;

	for (const char *const *p = d->protocols; p && *p; p++)
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(*p, known[i].name) == 0)
				mask |= known[i].bit;
	return mask;
}

const char *
tr_version(void)
{
	static char buf[160];
	const curl_version_info_data *d = curl_version_info(CURLVERSION_NOW);

	snprintf(buf, sizeof(buf), "libcurl/%s %s%s", d->version,
	         d->ssl_version ? d->ssl_version : "(no TLS)",
	         (d->features & CURL_VERSION_ASYNCHDNS) ? ", async DNS" : ", blocking DNS");
	return buf;
}
