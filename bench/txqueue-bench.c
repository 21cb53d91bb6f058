/* txqueue-bench: pushes and drains the ocpp-bridge transaction-message queue and prints the
 * rates. Every push and every ack is a durable COMMIT, so the numbers are mostly the fsync rate
 * of the disk under the directory given with -d (default: a new directory under /var/tmp,
 * which is disk-backed where /tmp may be tmpfs, removed afterwards).
 *
 *   txqueue-bench [-c charge_points] [-n messages_per_cp] [-d dir] [-k]
 *
 * With -d, the files txqueue-bench.db{,-wal,-shm} in dir are replaced and, unless -k, removed;
 * -k keeps the database for inspection. */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "sitegate/log.h"
#include "txqueue.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static long long
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* A typical periodic MeterValues of one connector: energy, power, current and voltage. */
static json_t *
meter_values(int i)
{
	return json_pack(
	    "{s:i, s:i, s:[{s:s, s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s},"
	    " {s:s, s:s, s:s}]}]}",
	    "connectorId", 1, "transactionId", 0, "meterValue", "timestamp", "2024-05-01T10:15:00Z",
	    "sampledValue", "value", i % 2 ? "12345.6" : "12346.1", "measurand",
	    "Energy.Active.Import.Register", "unit", "Wh", "value", "11040", "measurand",
	    "Power.Active.Import", "unit", "W", "value", "16.0", "measurand", "Current.Import",
	    "unit", "A", "value", "230.1", "measurand", "Voltage", "unit", "V");
}

int
main(int argc, char **argv)
{
	char dir[256] = "", path[300], wal[310], shm[310], cp[32];
	int cps = 10, per_cp = 1000, opt, rc, status = 1;
	bool keep = false, made_dir = false;
	struct txq *q = NULL;
	struct txq_msg m;
	struct txq_stats s;
	json_t *start, *mv, *conf;
	double t0, t_push, t_drain;
	long total, done = 0;

	while ((opt = getopt(argc, argv, "c:n:d:k")) != -1) {
		switch (opt) {
		case 'c':
			cps = atoi(optarg);
			break;
		case 'n':
			per_cp = atoi(optarg);
			break;
		case 'd':
			snprintf(dir, sizeof(dir), "%s", optarg);
			break;
		case 'k':
			keep = true;
			break;
		default:
			fprintf(stderr,
			        "usage: %s [-c charge_points] [-n messages_per_cp] [-d dir] [-k]\n",
			        argv[0]);
			return 2;
		}
	}
	if (cps < 1 || per_cp < 2) {
		fprintf(stderr,
		        "%s: need at least 1 charge point and 2 messages per charge point\n",
		        argv[0]);
		return 2;
	}
	sg_log_init("txqueue-bench", SG_LOG_WARNING);
	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/var/tmp/txqueue-bench-XXXXXX");
		if (mkdtemp(dir) == NULL) {
			perror("mkdtemp");
			return 1;
		}
		made_dir = true;
	}
	snprintf(path, sizeof(path), "%s/txqueue-bench.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(shm, sizeof(shm), "%s-shm", path);
	unlink(path);
	unlink(wal);
	unlink(shm);
	rc = txq_open(path, 0, &q);
	if (rc < 0) {
		fprintf(stderr, "cannot open \"%s\": %s\n", path, strerror(-rc));
		goto out;
	}

	start = json_pack("{s:i, s:s, s:i, s:s}", "connectorId", 1, "idTag", "04A2B3C4D5E6F7",
	                  "meterStart", 12000, "timestamp", "2024-05-01T10:00:00Z");
	total = (long)cps * per_cp;
	t0 = now_s();
	/* Round-robin over the charge points, as their messages arrive in real life. */
	for (int i = 0; i < per_cp; i++) {
		for (int c = 0; c < cps; c++) {
			snprintf(cp, sizeof(cp), "CP-%04d", c);
			mv = i == 0 ? json_incref(start) : meter_values(i);
			rc = txq_push(q, cp, i == 0 ? "StartTransaction" : "MeterValues", mv, 1,
			              i > 0, (int64_t)i * 1000, NULL);
			json_decref(mv);
			if (rc < 0) {
				fprintf(stderr, "push failed: %s\n", strerror(-rc));
				goto out_start;
			}
		}
	}
	t_push = now_s() - t0;
	txq_stats(q, NULL, 0, &s);

	conf = json_pack("{s:i, s:{s:s}}", "transactionId", 1, "idTagInfo", "status", "Accepted");
	t0 = now_s();
	for (int c = 0; c < cps; c++) {
		snprintf(cp, sizeof(cp), "CP-%04d", c);
		while ((rc = txq_head(q, cp, INT64_MAX, &m)) == 1) {
			json_decref(m.payload);
			rc = txq_ack(q, m.seq, conf);
			if (rc < 0)
				break;
			done++;
		}
		if (rc < 0) {
			fprintf(stderr, "head/ack failed: %s\n", strerror(-rc));
			json_decref(conf);
			goto out_start;
		}
	}
	t_drain = now_s() - t0;
	json_decref(conf);

	printf("txqueue-bench: %d charge points x %d messages in \"%s\"\n", cps, per_cp, path);
	printf("  push:       %ld in %.2f s = %.0f pushes/s\n", total, t_push, total / t_push);
	printf("  head+ack:   %ld in %.2f s = %.0f head+ack/s\n", done, t_drain, done / t_drain);
	printf("  queued:     %" PRIu64 " payload bytes; file %lld bytes + WAL %lld bytes after "
	       "draining\n",
	       s.bytes, file_size(path), file_size(wal));
	status = done == total ? 0 : 1;
out_start:
	json_decref(start);
out:
	txq_close(q);
	if (!keep && made_dir) {
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	} else if (!keep) {
		unlink(path);
		unlink(wal);
		unlink(shm);
	}
	return status;
}
