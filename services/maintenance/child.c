/* Child processes on the poll loop: see child.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sitegate/log.h"

#include "child.h"

#define KILL_GRACE_MS 5000

extern char **environ;

struct child {
	struct child *next;
	struct sg_loop *loop;
	pid_t pid;
	int pidfd;
	int out; /* read end of the output pipe, -1 once closed */
	bool ours, killed, timed_out, term_sent;
	uint64_t timer;
	child_line_fn *on_line;
	child_exit_fn *on_exit;
	void *ud;
	size_t len;
	char buf[CHILD_LINE_MAX + 1];
};

static struct child *children; /* every child not yet freed */

static void
unlink_child(struct child *ch)
{
	for (struct child **p = &children; *p; p = &(*p)->next) {
		if (*p == ch) {
			*p = ch->next;
			return;
		}
	}
}

static void
close_out(struct child *ch)
{
	if (ch->out < 0)
		return;
	sg_loop_unwatch(ch->loop, ch->out);
	close(ch->out);
	ch->out = -1;
}

static void
free_child(struct child *ch)
{
	unlink_child(ch);
	close_out(ch);
	if (ch->pidfd >= 0) {
		sg_loop_unwatch(ch->loop, ch->pidfd);
		close(ch->pidfd);
	}
	sg_loop_timer_del(ch->loop, ch->timer);
	free(ch);
}

static void
emit(struct child *ch)
{
	ch->buf[ch->len] = '\0';
	if (ch->len > 0 && ch->buf[ch->len - 1] == '\r')
		ch->buf[ch->len - 1] = '\0';
	if (ch->on_line && !ch->killed)
		ch->on_line(ch, ch->buf, ch->ud);
	ch->len = 0;
}

/* Reads what the pipe holds now; closes it at EOF. */
static void
drain(struct child *ch)
{
	char tmp[4096];

	while (ch->out >= 0) {
		ssize_t n = read(ch->out, tmp, sizeof(tmp));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			if (ch->len > 0)
				emit(ch);
			close_out(ch);
			return;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (tmp[i] == '\n') {
				emit(ch);
			} else {
				ch->buf[ch->len++] = tmp[i];
				if (ch->len == CHILD_LINE_MAX)
					emit(ch);
			}
		}
	}
}

static void
on_out(struct sg_loop *loop, int fd, unsigned events, void *ud)
{
	drain(ud);
}

static void
on_pidfd(struct sg_loop *loop, int fd, unsigned events, void *ud)
{
	struct child *ch = ud;
	int status = -ECHILD;

	if (ch->ours) {
		pid_t r = waitpid(ch->pid, &status, WNOHANG);

		if (r == 0)
			return; /* not yet */
		if (r < 0)
			status = -errno;
	}
	/* What it wrote before it ended (a grandchild may hold the pipe open:
	 * only what is there now). */
	drain(ch);
	if (ch->len > 0)
		emit(ch);
	close_out(ch);
	if (!ch->killed && ch->on_exit)
		ch->on_exit(ch, status, ch->timed_out, ch->ud);
	free_child(ch);
}

static int64_t
on_timeout(struct sg_loop *loop, void *ud)
{
	struct child *ch = ud;

	if (!ch->term_sent) {
		ch->term_sent = true;
		ch->timed_out = true;
		kill(-ch->pid, SIGTERM);
		return KILL_GRACE_MS;
	}
	kill(-ch->pid, SIGKILL);
	ch->timer = 0;
	return -1;
}

static struct child *
new_child(struct sg_loop *loop, pid_t pid, bool ours)
{
	struct child *ch = calloc(1, sizeof(*ch));

	if (ch == NULL)
		return NULL;
	ch->loop = loop;
	ch->pid = pid;
	ch->ours = ours;
	ch->out = -1;
	ch->pidfd = -1;
	ch->next = children;
	children = ch;
	return ch;
}

/* environ with extra's names replaced or added. */
static char **
make_env(char *const *extra)
{
	size_t n_env = 0, n_extra = 0, k = 0;
	char **env;

	while (environ && environ[n_env])
		n_env++;
	while (extra && extra[n_extra])
		n_extra++;
	env = calloc(n_env + n_extra + 1, sizeof(*env));
	if (env == NULL)
		return NULL;
	for (size_t i = 0; i < n_env; i++) {
		size_t name = strcspn(environ[i], "=");
		bool replaced = false;

		for (size_t j = 0; j < n_extra && !replaced; j++)
			replaced =
			    strncmp(environ[i], extra[j], name) == 0 && extra[j][name] == '=';
		if (!replaced)
			env[k++] = environ[i];
	}
	for (size_t j = 0; j < n_extra; j++)
		env[k++] = extra[j];
	return env;
}

int
child_spawn(struct sg_loop *loop, const struct child_opts *o, struct child **out)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dflt;
	int pipefd[2] = {-1, -1};
	char **env = NULL;
	struct child *ch = NULL;
	pid_t pid = -1;
	int rc;

	*out = NULL;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	if (fcntl(pipefd[0], F_SETFL, O_NONBLOCK) < 0 || (env = make_env(o->env)) == NULL) {
		rc = errno ? -errno : -ENOMEM;
		close(pipefd[0]);
		close(pipefd[1]);
		free(env);
		return rc;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&attr);
	/* Our blocked signals (the signalfd's) and SIGPIPE ignored must not
	 * reach the program; its own session keeps terminal and group signals
	 * of ours away from it. */
	sigemptyset(&none);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGTERM);
	sigaddset(&dflt, SIGINT);
	sigaddset(&dflt, SIGHUP);
	sigaddset(&dflt, SIGCHLD);
	if (!o->ignore_sigpipe)
		sigaddset(&dflt, SIGPIPE);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dflt);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
	                                    POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&pid, o->argv[0], &fa, &attr, o->argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free(env);
	close(pipefd[1]);
	if (rc != 0) {
		close(pipefd[0]);
		return -rc;
	}
	ch = new_child(loop, pid, true);
	if (ch == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	ch->out = pipefd[0];
	pipefd[0] = -1;
	ch->on_line = o->on_line;
	ch->on_exit = o->on_exit;
	ch->ud = o->ud;
	ch->pidfd = pidfd_open(pid, 0);
	if (ch->pidfd < 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = sg_loop_watch(loop, ch->out, SG_READ, on_out, ch)) < 0 ||
	    (rc = sg_loop_watch(loop, ch->pidfd, SG_READ, on_pidfd, ch)) < 0)
		goto fail;
	if (o->timeout_ms > 0 &&
	    (ch->timer = sg_loop_timer_add(loop, o->timeout_ms, on_timeout, ch)) == 0) {
		rc = -ENOMEM;
		goto fail;
	}
	*out = ch;
	return 0;
fail:
	/* Started but not watchable: it must not run unattended. */
	kill(-pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (ch)
		free_child(ch);
	return rc;
}

int
child_attach(struct sg_loop *loop, pid_t pid, child_exit_fn *on_exit, void *ud, struct child **out)
{
	struct child *ch;
	int rc;

	*out = NULL;
	ch = new_child(loop, pid, false);
	if (ch == NULL)
		return -ENOMEM;
	ch->on_exit = on_exit;
	ch->ud = ud;
	ch->pidfd = pidfd_open(pid, 0);
	if (ch->pidfd < 0) {
		rc = -errno;
		free_child(ch);
		return rc;
	}
	rc = sg_loop_watch(loop, ch->pidfd, SG_READ, on_pidfd, ch);
	if (rc < 0) {
		free_child(ch);
		return rc;
	}
	*out = ch;
	return 0;
}

pid_t
child_pid(const struct child *ch)
{
	return ch->pid;
}

void
child_kill(struct child *ch)
{
	if (ch == NULL)
		return;
	if (ch->ours)
		kill(-ch->pid, SIGKILL);
	ch->killed = true;
	ch->on_line = NULL;
	ch->on_exit = NULL;
	close_out(ch);
	sg_loop_timer_del(ch->loop, ch->timer);
	ch->timer = 0;
	if (!ch->ours)
		free_child(ch);
}

void
child_detach(struct child *ch)
{
	if (ch != NULL)
		free_child(ch);
}

void
child_cleanup(void)
{
	while (children) {
		struct child *ch = children;

		if (ch->ours && ch->killed)
			waitpid(ch->pid, NULL, WNOHANG);
		free_child(ch);
	}
}
