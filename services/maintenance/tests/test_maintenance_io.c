/* The maintenance service's I/O modules on a real poll loop: child processes
 * (child.c), libcurl's multi-socket API against a small HTTP server run by the
 * test on the same loop (transfer.c), and the diagnostics archive (archive.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sitegate/loop.h"
#include "sitegate/time.h"

#include "archive.h"
#include "child.h"
#include "maintenance.h"
#include "transfer.h"

static struct sg_loop *L;
static char TMP[256];

static int
setup(void **state)
{
	L = sg_loop_new();
	snprintf(TMP, sizeof(TMP), "/tmp/sg-maint-test-XXXXXX");
	assert_non_null(mkdtemp(TMP));
	return L ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[300];

	child_cleanup();
	sg_loop_free(L);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", TMP);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* Runs the loop until *flag or 10 s. */
static void
run_until(const bool *flag)
{
	int64_t end = sg_time_mono_ms() + 10000;

	while (!*flag && sg_time_mono_ms() < end)
		sg_loop_run_once(L, 100);
	assert_true(*flag);
}

/* ---- child processes ------------------------------------------------------------- */

struct seen {
	char lines[16][128];
	int n_lines;
	int status;
	bool timed_out, done;
};

static void
on_line(struct child *ch, const char *line, void *ud)
{
	struct seen *s = ud;

	if (s->n_lines < 16)
		snprintf(s->lines[s->n_lines++], sizeof(s->lines[0]), "%s", line);
}

static void
on_exit_cb(struct child *ch, int status, bool timed_out, void *ud)
{
	struct seen *s = ud;

	s->status = status;
	s->timed_out = timed_out;
	s->done = true;
}

static void
test_child_output_and_status(void **state)
{
	struct seen s = {0};
	char *argv[] = {"/bin/sh", "-c",
	                "echo progress 5; echo \"to stderr $SG_TEST\" >&2; printf 'no newline'; "
	                "exit 3",
	                NULL};
	char *env[] = {"SG_TEST=visible", NULL};
	struct child_opts o = {
	    .argv = argv, .env = env, .on_line = on_line, .on_exit = on_exit_cb, .ud = &s};
	struct child *ch;

	assert_int_equal(child_spawn(L, &o, &ch), 0);
	assert_true(child_pid(ch) > 0);
	run_until(&s.done);
	assert_true(WIFEXITED(s.status));
	assert_int_equal(WEXITSTATUS(s.status), 3);
	assert_false(s.timed_out);
	assert_int_equal(s.n_lines, 3);
	assert_string_equal(s.lines[0], "progress 5");
	assert_string_equal(s.lines[1], "to stderr visible");
	assert_string_equal(s.lines[2], "no newline");
}

static void
test_child_timeout_and_signals(void **state)
{
	struct seen s = {0};
	/* The service blocks SIGTERM (signalfd); the child must not inherit that,
	 * nor SIGPIPE ignored. */
	char *argv[] = {"/bin/sh", "-c",
	                "grep -E '^Sig(Blk|Ign)' /proc/self/status; echo started; sleep 30", NULL};
	struct child_opts o = {
	    .argv = argv, .timeout_ms = 300, .on_line = on_line, .on_exit = on_exit_cb, .ud = &s};
	struct child *ch;
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, NULL);
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(child_spawn(L, &o, &ch), 0);
	run_until(&s.done);
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	signal(SIGPIPE, SIG_DFL);
	assert_true(s.timed_out);
	assert_true(WIFSIGNALED(s.status));
	assert_int_equal(WTERMSIG(s.status), SIGTERM);
	unsigned long long blk = strtoull(s.lines[0] + 8, NULL, 16);
	unsigned long long ign = strtoull(s.lines[1] + 8, NULL, 16);
	assert_int_equal(blk, 0);
	assert_int_equal(ign & (1ULL << (SIGPIPE - 1)), 0);
	assert_int_equal(ign & (1ULL << (SIGTERM - 1)), 0);
	assert_string_equal(s.lines[2], "started");
}

static void
test_child_kill_and_attach(void **state)
{
	struct seen s = {0};
	char *argv[] = {"/bin/sleep", "30", NULL};
	struct child_opts o = {.argv = argv, .on_exit = on_exit_cb, .ud = &s};
	struct child *ch;
	pid_t pid;

	/* Killed: no callback. */
	assert_int_equal(child_spawn(L, &o, &ch), 0);
	pid = child_pid(ch);
	child_kill(ch);
	for (int i = 0; i < 20; i++)
		sg_loop_run_once(L, 20);
	assert_false(s.done);
	assert_int_equal(kill(pid, 0), -1); /* reaped */

	/* A process that is not our child (here: not spawned through child.c). */
	char *sleeper[] = {"/bin/sleep", "0.2", NULL};
	pid = fork();
	if (pid == 0) {
		execv(sleeper[0], sleeper);
		_exit(127);
	}
	assert_int_equal(child_attach(L, pid, on_exit_cb, &s, &ch), 0);
	run_until(&s.done);
	assert_int_equal(s.status, -ECHILD);
	waitpid(pid, NULL, 0);
	assert_int_equal(child_attach(L, pid, on_exit_cb, &s, &ch), -ESRCH);

	/* A program that does not exist. */
	char *missing[] = {"/nonexistent/hook", NULL};
	o.argv = missing;
	assert_int_equal(child_spawn(L, &o, &ch), -ENOENT);
}

/* ---- transfers against a tiny HTTP server on the same loop ------------------------ */

struct server {
	int lfd, port;
	char req[65536];
	size_t len;
	int conn;
	int status; /* to answer */
	char body[256];
	char method[8], path[256];
	size_t received;
};

static struct server S;

static void
on_conn(struct sg_loop *loop, int fd, unsigned events, void *ud)
{
	ssize_t n = read(fd, S.req + S.len, sizeof(S.req) - S.len - 1);
	char *end, *cl;
	size_t head, want = 0;

	if (n <= 0) {
		sg_loop_unwatch(loop, fd);
		close(fd);
		return;
	}
	S.len += (size_t)n;
	S.req[S.len] = '\0';
	end = strstr(S.req, "\r\n\r\n");
	if (end == NULL)
		return;
	head = (size_t)(end - S.req) + 4;
	cl = strcasestr(S.req, "Content-Length:");
	if (cl && cl < end)
		want = strtoul(cl + 15, NULL, 10);
	if (S.len < head + want)
		return;
	sscanf(S.req, "%7s %255s", S.method, S.path);
	S.received = S.len - head;
	char out[512];
	int m = snprintf(out, sizeof(out),
	                 "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
	                 S.status, strlen(S.body), S.body);
	assert_int_equal(write(fd, out, (size_t)m), m);
	sg_loop_unwatch(loop, fd);
	close(fd);
}

static void
on_accept(struct sg_loop *loop, int fd, unsigned events, void *ud)
{
	int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (c >= 0) {
		S.len = 0;
		sg_loop_watch(loop, c, SG_READ, on_conn, NULL);
	}
}

static void
server_start(int status, const char *body)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);

	memset(&S, 0, sizeof(S));
	S.status = status;
	snprintf(S.body, sizeof(S.body), "%s", body);
	S.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(S.lfd >= 0);
	assert_int_equal(bind(S.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(S.lfd, 4), 0);
	getsockname(S.lfd, (struct sockaddr *)&a, &al);
	S.port = ntohs(a.sin_port);
	sg_loop_watch(L, S.lfd, SG_READ, on_accept, NULL);
}

static void
server_stop(void)
{
	sg_loop_unwatch(L, S.lfd);
	close(S.lfd);
}

struct outcome {
	bool done;
	int result;
	char why[256];
	int last_percent;
};

static void
on_progress(struct tr_job *job, int percent, void *ud)
{
	((struct outcome *)ud)->last_percent = percent;
}

static void
on_done(struct tr_job *job, int result, const char *why, void *ud)
{
	struct outcome *o = ud;

	o->done = true;
	o->result = result;
	snprintf(o->why, sizeof(o->why), "%s", why ? why : "");
}

static void
test_transfer_download(void **state)
{
	struct tr *t = tr_new(L);
	struct outcome out = {0};
	struct tr_job *job;
	char url[128], path[300], text[64] = "";
	FILE *f;

	assert_non_null(t);
	server_start(200, "firmware image v2");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/images/fw.bin", S.port);
	snprintf(path, sizeof(path), "%s/fw.bin", TMP);
	struct tr_opts o = {.kind = TR_DOWNLOAD,
	                    .url = url,
	                    .path = path,
	                    .max_bytes = 1000,
	                    .timeout_s = 10,
	                    .on_progress = on_progress,
	                    .on_done = on_done,
	                    .ud = &out};
	assert_int_equal(tr_start(t, &o, &job), 0);
	run_until(&out.done);
	assert_int_equal(out.result, 0);
	assert_int_equal(out.last_percent, 100);
	assert_string_equal(S.method, "GET");
	assert_string_equal(S.path, "/images/fw.bin");
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(text, sizeof(text), f));
	fclose(f);
	assert_string_equal(text, "firmware image v2");

	/* Too large: -EFBIG, and no file left behind. */
	out = (struct outcome){0};
	o.max_bytes = 5;
	unlink(path);
	assert_int_equal(tr_start(t, &o, &job), 0);
	run_until(&out.done);
	assert_int_equal(out.result, -EFBIG);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(access(strcat(path, ".part"), F_OK), -1);

	/* 404 */
	server_stop();
	server_start(404, "no");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/missing.bin", S.port);
	snprintf(path, sizeof(path), "%s/missing.bin", TMP);
	out = (struct outcome){0};
	o.max_bytes = 0;
	assert_int_equal(tr_start(t, &o, &job), 0);
	run_until(&out.done);
	assert_int_equal(out.result, -EIO);
	assert_non_null(strstr(out.why, "404"));
	server_stop();

	/* Nobody listening. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", S.port);
	out = (struct outcome){0};
	assert_int_equal(tr_start(t, &o, &job), 0);
	run_until(&out.done);
	assert_int_equal(out.result, -ECONNREFUSED);

	/* Never file:// (or anything but http(s) and ftp(s)). */
	o.url = "file:///etc/passwd";
	assert_int_equal(tr_start(t, &o, &job), -EPROTONOSUPPORT);
	o.url = "scp://host/x";
	assert_int_equal(tr_start(t, &o, &job), -EPROTONOSUPPORT);

	/* Cancelled: no callback, no partial file. */
	server_start(200, "x");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/slow", S.port);
	o.url = url;
	out = (struct outcome){0};
	assert_int_equal(tr_start(t, &o, &job), 0);
	tr_cancel(job);
	for (int i = 0; i < 10; i++)
		sg_loop_run_once(L, 10);
	assert_false(out.done);
	snprintf(path, sizeof(path), "%s/missing.bin.part", TMP);
	assert_int_equal(access(path, F_OK), -1);
	server_stop();
	tr_free(t);
}

static void
test_transfer_upload(void **state)
{
	struct tr *t = tr_new(L);
	struct outcome out = {0};
	struct tr_job *job;
	char url[128], path[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/diag.tar.gz", TMP);
	f = fopen(path, "w");
	for (int i = 0; i < 1000; i++)
		fputs("0123456789", f);
	fclose(f);
	server_start(201, "");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/in/diag.tar.gz", S.port);
	struct tr_opts o = {.kind = TR_UPLOAD,
	                    .url = url,
	                    .path = path,
	                    .timeout_s = 10,
	                    .on_progress = on_progress,
	                    .on_done = on_done,
	                    .ud = &out};
	assert_int_equal(tr_start(t, &o, &job), 0);
	run_until(&out.done);
	assert_int_equal(out.result, 0);
	assert_string_equal(S.method, "PUT");
	assert_string_equal(S.path, "/in/diag.tar.gz");
	assert_int_equal(S.received, 10000);
	assert_null(strcasestr(S.req, "Expect:"));

	/* POST: multipart/form-data, field "file". */
	out = (struct outcome){0};
	o.kind = TR_UPLOAD_POST;
	o.remote_name = "diag.tar.gz";
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/upload", S.port);
	assert_int_equal(tr_start(t, &o, &job), 0);
	run_until(&out.done);
	assert_int_equal(out.result, 0);
	assert_string_equal(S.method, "POST");
	assert_non_null(strstr(S.req, "multipart/form-data"));
	assert_non_null(strstr(S.req, "name=\"file\"; filename=\"diag.tar.gz\""));

	/* Nothing to upload. */
	o.path = "/nonexistent/file";
	assert_int_equal(tr_start(t, &o, &job), -ENOENT);
	server_stop();
	tr_free(t);
	assert_true(tr_protocols() & MT_PROTO_HTTP);
}

/* ---- the diagnostics archive -------------------------------------------------------- */

static void
on_archive(struct archive *a, int result, const char *why, void *ud)
{
	struct outcome *o = ud;

	o->done = true;
	o->result = result;
	snprintf(o->why, sizeof(o->why), "%s", why ? why : "");
}

static void
make_log(const char *dir, const char *name, int64_t mtime_s, size_t size)
{
	char path[400];
	struct timespec ts[2] = {{.tv_sec = mtime_s}, {.tv_sec = mtime_s}};
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	for (size_t i = 0; i < size; i++)
		fputc(i % 64 == 63 ? '\n' : 'a' + (int)(i % 26), f);
	fclose(f);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void
test_archive(void **state)
{
	char logs[300], sub[320], work[300], cmd[800], list[4096] = "";
	struct outcome out = {0};
	struct sg_config conf;
	struct archive *a;
	FILE *p;
	size_t n;

	memset(&conf, 0, sizeof(conf));
	snprintf(logs, sizeof(logs), "%s/log", TMP);
	snprintf(sub, sizeof(sub), "%s/meter", logs);
	snprintf(work, sizeof(work), "%s/work/CP1", TMP);
	mkdir(logs, 0750);
	mkdir(sub, 0750);
	make_log(sub, "@old.s", 1000, 3000);      /* (-inf, 1000] */
	make_log(sub, "current", 2000, 3000);     /* (1000, 2000] */
	make_log(logs, "gateway.log", 500, 3000); /* its own group: (-inf, 500] */
	struct archive_opts o = {
	    .work_dir = work,
	    .file_name = "CP1-diagnostics-T.tar.gz",
	    .cp = "CP1",
	    .log_dir = logs,
	    .cap_bytes = 1 << 20,
	    .has_start = true,
	    .start = 1500 * 1000LL, /* only meter/current spans it */
	    .conf = &conf,
	    .bus_state = "{\"t/CP1/1/state\": {\"status\": \"Available\"}}",
	    .jobs = "{}",
	    .on_done = on_archive,
	    .ud = &out,
	};
	assert_int_equal(archive_start(L, &o, &a), 0);
	run_until(&out.done);
	assert_int_equal(out.result, 0);
	snprintf(cmd, sizeof(cmd), "tar -tzf '%s/CP1-diagnostics-T.tar.gz' | sort", work);
	p = popen(cmd, "r");
	n = fread(list, 1, sizeof(list) - 1, p);
	list[n] = '\0';
	pclose(p);
	assert_string_equal(list, "CP1-diagnostics-T/\n"
	                          "CP1-diagnostics-T/bus-state.json\n"
	                          "CP1-diagnostics-T/config.txt\n"
	                          "CP1-diagnostics-T/logs/\n"
	                          "CP1-diagnostics-T/logs/meter/\n"
	                          "CP1-diagnostics-T/logs/meter/current\n"
	                          "CP1-diagnostics-T/maintenance.json\n"
	                          "CP1-diagnostics-T/manifest.txt\n");
	/* The staging directory is gone; the archive stays for the upload. */
	snprintf(cmd, sizeof(cmd), "%s/CP1-diagnostics-T", work);
	assert_int_equal(access(cmd, F_OK), -1);
	/* The manifest says what was left out and why. */
	snprintf(cmd, sizeof(cmd),
	         "tar -xzOf '%s/CP1-diagnostics-T.tar.gz' CP1-diagnostics-T/manifest.txt", work);
	p = popen(cmd, "r");
	n = fread(list, 1, sizeof(list) - 1, p);
	list[n] = '\0';
	pclose(p);
	assert_non_null(strstr(list, "included  meter/current (3000 bytes"));
	assert_non_null(strstr(list, "left out  meter/@old.s"));
	assert_non_null(strstr(list, "left out  gateway.log"));

	/* Cancelled: nothing stays. */
	out = (struct outcome){0};
	assert_int_equal(archive_start(L, &o, &a), 0);
	archive_cancel(a);
	for (int i = 0; i < 10; i++)
		sg_loop_run_once(L, 10);
	assert_false(out.done);
	archive_remove(work);
	assert_int_equal(access(work, F_OK), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_child_output_and_status, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_child_timeout_and_signals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_child_kill_and_attach, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transfer_download, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transfer_upload, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_archive, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
