/* Diagnostics collection: see archive.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sitegate/log.h"
#include "sitegate/time.h"

#include "archive.h"
#include "child.h"
#include "maintenance.h"

#define WALK_DEPTH 4

/* Copies the chosen logs (each as its last N bytes) into the staging
 * directory, packs it and removes it. Arguments: OUT DIR NAME, then triples
 * SOURCE BYTES DEST (DEST relative to DIR/NAME/logs). */
static const char collect_script[] =
    "set -u\n"
    "out=$1 dir=$2 name=$3\n"
    "shift 3\n"
    "while [ $# -ge 3 ]; do\n"
    "  tail -c \"$2\" -- \"$1\" > \"$dir/$name/logs/$3\" 2>/dev/null ||\n"
    "    echo \"not readable: $1\" >> \"$dir/$name/manifest.txt\"\n"
    "  shift 3\n"
    "done\n"
    "tar -czf \"$out\" -C \"$dir\" -- \"$name\" || exit 1\n"
    "rm -rf -- \"$dir/$name\"\n";

struct archive {
	char work_dir[PATH_MAX];
	struct child *child;
	archive_done_fn *on_done;
	void *ud;
};

struct found {
	char *path, *rel;
};

struct walk {
	struct found *found;
	struct mt_log_file *files;
	size_t n, cap;
	int groups;
	bool truncated;
	const char *skip; /* the work directory, if it lies below the log directory */
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

void
archive_remove(const char *work_dir)
{
	if (work_dir && *work_dir)
		nftw(work_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
archive_mkdirs(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0750) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0750) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int
add_file(struct walk *w, const char *path, const char *rel, const struct stat *st, int group)
{
	if (w->n == ARCHIVE_MAX_FILES) {
		w->truncated = true;
		return 0;
	}
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct found *f = realloc(w->found, cap * sizeof(*f));
		if (f == NULL)
			return -ENOMEM;
		w->found = f;
		struct mt_log_file *l = realloc(w->files, cap * sizeof(*l));
		if (l == NULL)
			return -ENOMEM;
		w->files = l;
		w->cap = cap;
	}
	w->found[w->n].path = strdup(path);
	w->found[w->n].rel = strdup(rel);
	if (!w->found[w->n].path || !w->found[w->n].rel) {
		free(w->found[w->n].path);
		free(w->found[w->n].rel);
		return -ENOMEM;
	}
	w->files[w->n] = (struct mt_log_file){
	    .group = group,
	    .mtime = (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000,
	    .size = st->st_size,
	};
	w->n++;
	return 0;
}

/* Regular files below dir (symbolic links are not followed); one group per
 * directory. */
static int
walk_dir(struct walk *w, const char *dir, const char *rel, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int group = w->groups++, rc = 0;

	if (d == NULL)
		return depth == 0 ? -errno : 0;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char path[PATH_MAX], sub[PATH_MAX];
		struct stat st;

		if (e->d_name[0] == '.' &&
		    (e->d_name[1] == '\0' || (e->d_name[1] == '.' && e->d_name[2] == '\0')))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path) ||
		    snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", e->d_name) >=
		        (int)sizeof(sub))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (depth + 1 < WALK_DEPTH && (!w->skip || strcmp(path, w->skip) != 0))
				rc = walk_dir(w, path, sub, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			rc = add_file(w, path, sub, &st, group);
		}
	}
	closedir(d);
	return rc;
}

static void
walk_free(struct walk *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free(w->found[i].path);
		free(w->found[i].rel);
	}
	free(w->found);
	free(w->files);
}

static int
write_text(const char *dir, const char *name, const char *text, int64_t *size)
{
	char path[PATH_MAX];
	FILE *f;
	int rc = 0;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	f = fopen(path, "we");
	if (f == NULL)
		return -errno;
	if (fputs(text, f) < 0)
		rc = -EIO;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	*size += (int64_t)strlen(text);
	return rc;
}

static void
fmt_time(int64_t ms, char *buf, size_t len)
{
	if (sg_time_format(ms, buf, len) < 0)
		snprintf(buf, len, "%lld", (long long)ms);
}

static int
write_manifest(const char *stage, const struct archive_opts *o, const struct walk *w,
               const int64_t *take, int64_t log_cap, int64_t *size)
{
	char path[PATH_MAX], a[SG_TIME_RFC3339_LEN], b[SG_TIME_RFC3339_LEN];
	FILE *f;

	if (snprintf(path, sizeof(path), "%s/manifest.txt", stage) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	f = fopen(path, "we");
	if (f == NULL)
		return -errno;
	fmt_time(sg_time_wall_ms(), a, sizeof(a));
	fprintf(f, "Sitegate diagnostics of charge point \"%s\"\n", o->cp);
	fprintf(f, "created %s by sitegate-maintenance %s\n", a, SITEGATE_VERSION);
	fmt_time(o->start, a, sizeof(a));
	fmt_time(o->stop, b, sizeof(b));
	fprintf(f, "window: %s .. %s\n", o->has_start ? a : "(no startTime)",
	        o->has_stop ? b : "(no stopTime)");
	fprintf(f, "config.txt: the effective configuration, secrets shown as \"(set)\"\n");
	fprintf(f, "bus-state.json: the retained bus state this service saw\n");
	fprintf(f, "maintenance.json: the firmware and diagnostics jobs\n");
	if (o->log_dir == NULL || *o->log_dir == '\0') {
		fprintf(f, "logs: none (maintenance.log_dir is empty)\n");
	} else {
		fprintf(f, "logs/: from \"%s\", at most %lld bytes, newest first\n", o->log_dir,
		        (long long)log_cap);
		if (w->truncated)
			fprintf(f, "  (only the first %d files were looked at)\n",
			        ARCHIVE_MAX_FILES);
		for (size_t i = 0; i < w->n; i++) {
			const struct mt_log_file *l = &w->files[i];

			fmt_time(l->mtime, a, sizeof(a));
			if (take[i] == l->size)
				fprintf(f, "  %-9s %s (%lld bytes, %s)\n", "included",
				        w->found[i].rel, (long long)l->size, a);
			else if (take[i] > 0)
				fprintf(f, "  %-9s %s (its last %lld of %lld bytes, %s)\n", "cut",
				        w->found[i].rel, (long long)take[i], (long long)l->size, a);
			else
				fprintf(f, "  %-9s %s (%lld bytes, %s)\n", "left out",
				        w->found[i].rel, (long long)l->size, a);
		}
	}
	*size += ftell(f) > 0 ? ftell(f) : 0;
	return fclose(f) == 0 ? 0 : -errno;
}

static void
on_child_exit(struct child *ch, int status, bool timed_out, void *ud)
{
	struct archive *a = ud;
	char why[128];
	int result = 0;

	if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		result = -EIO;
		if (status >= 0 && WIFEXITED(status))
			snprintf(why, sizeof(why),
			         "packing the archive failed (tar exit status %d)",
			         WEXITSTATUS(status));
		else
			snprintf(why, sizeof(why), "packing the archive failed");
	}
	a->child = NULL;
	a->on_done(a, result, result ? why : NULL, a->ud);
	free(a);
}

static void
on_child_line(struct child *ch, const char *line, void *ud)
{
	sg_info("diagnostics: %s", line);
}

static char *
dup_int(int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	return strdup(buf);
}

int
archive_start(struct sg_loop *loop, const struct archive_opts *o, struct archive **out)
{
	struct walk w = {.skip = o->work_dir};
	char stage[PATH_MAX], name[PATH_MAX], archive[PATH_MAX], conf_path[PATH_MAX];
	int64_t *take = NULL, extras = 0, log_cap;
	char **argv = NULL, **owned = NULL;
	size_t argc = 0, n_owned = 0;
	struct archive *a = NULL;
	FILE *f;
	int rc;

	*out = NULL;
	snprintf(name, sizeof(name), "%s", o->file_name);
	if (strlen(name) > 7 && strcmp(name + strlen(name) - 7, ".tar.gz") == 0)
		name[strlen(name) - 7] = '\0';
	if (snprintf(stage, sizeof(stage), "%s/%s", o->work_dir, name) >= (int)sizeof(stage) ||
	    snprintf(archive, sizeof(archive), "%s/%s", o->work_dir, o->file_name) >=
	        (int)sizeof(archive))
		return -ENAMETOOLONG;
	archive_remove(o->work_dir);
	if ((rc = archive_mkdirs(stage)) < 0) {
		sg_err("diagnostics: cannot create \"%s\": %s", stage, strerror(-rc));
		return rc;
	}

	/* The small files, written here. */
	if (snprintf(conf_path, sizeof(conf_path), "%s/config.txt", stage) >=
	    (int)sizeof(conf_path)) {
		rc = -ENAMETOOLONG;
		goto fail;
	}
	f = fopen(conf_path, "we");
	if (f == NULL) {
		rc = -errno;
		goto fail;
	}
	sg_config_dump(o->conf, f);
	extras += ftell(f) > 0 ? ftell(f) : 0;
	fclose(f);
	if ((rc = write_text(stage, "bus-state.json", o->bus_state, &extras)) < 0 ||
	    (rc = write_text(stage, "maintenance.json", o->jobs, &extras)) < 0)
		goto fail;

	/* The logs: which ones, and how much of each. */
	if (o->log_dir && *o->log_dir) {
		rc = walk_dir(&w, o->log_dir, "", 0);
		if (rc < 0)
			sg_warn("diagnostics: cannot read the log directory \"%s\": %s; no log "
			        "files in the archive",
			        o->log_dir, strerror(-rc));
	}
	log_cap = o->cap_bytes - extras - 16384; /* the manifest's room */
	if (log_cap < 0)
		log_cap = 0;
	take = calloc(w.n ? w.n : 1, sizeof(*take));
	if (take == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	mt_diag_select(w.files, w.n, o->has_start, o->start, o->has_stop, o->stop, log_cap, take);
	if ((rc = write_manifest(stage, o, &w, take, log_cap, &extras)) < 0)
		goto fail;

	/* The copying and packing, in a child. */
	argv = calloc(8 + 3 * w.n, sizeof(*argv));
	owned = calloc(w.n + 1, sizeof(*owned));
	if (argv == NULL || owned == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	argv[argc++] = "/bin/sh";
	argv[argc++] = "-c";
	argv[argc++] = (char *)collect_script;
	argv[argc++] = "sg-collect";
	argv[argc++] = archive;
	argv[argc++] = (char *)o->work_dir;
	argv[argc++] = name;
	if (snprintf(conf_path, sizeof(conf_path), "%s/logs", stage) >= (int)sizeof(conf_path))
		rc = -ENAMETOOLONG;
	else
		rc = archive_mkdirs(conf_path);
	if (rc < 0)
		goto fail;
	for (size_t i = 0; i < w.n; i++) {
		char dir[PATH_MAX];
		char *slash;

		if (take[i] <= 0)
			continue;
		if (snprintf(dir, sizeof(dir), "%s/logs/%s", stage, w.found[i].rel) >=
		    (int)sizeof(dir))
			continue;
		slash = strrchr(dir, '/');
		*slash = '\0';
		if (archive_mkdirs(dir) < 0)
			continue;
		if ((owned[n_owned] = dup_int(take[i])) == NULL) {
			rc = -ENOMEM;
			goto fail;
		}
		argv[argc++] = w.found[i].path;
		argv[argc++] = owned[n_owned++];
		argv[argc++] = w.found[i].rel;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	snprintf(a->work_dir, sizeof(a->work_dir), "%s", o->work_dir);
	a->on_done = o->on_done;
	a->ud = o->ud;
	struct child_opts co = {
	    .argv = argv,
	    .on_line = on_child_line,
	    .on_exit = on_child_exit,
	    .ud = a,
	};
	rc = child_spawn(loop, &co, &a->child);
	if (rc < 0) {
		sg_err("diagnostics: cannot start /bin/sh: %s", strerror(-rc));
		goto fail;
	}
	*out = a;
	a = NULL;
	rc = 0;
fail:
	if (rc < 0 && rc != -ENOMEM)
		sg_err("diagnostics of \"%s\": cannot collect: %s", o->cp, strerror(-rc));
	if (rc < 0)
		archive_remove(o->work_dir);
	for (size_t i = 0; owned && i < n_owned; i++)
		free(owned[i]);
	free(owned);
	free(argv);
	free(take);
	free(a);
	walk_free(&w);
	return rc;
}

void
archive_cancel(struct archive *a)
{
	if (a == NULL)
		return;
	child_kill(a->child);
	archive_remove(a->work_dir);
	free(a);
}
