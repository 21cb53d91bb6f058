/* The maintenance service's decisions (maintenance.c) with a fake world: the
 * firmware update and diagnostics upload state machines, their status
 * notifications, retries, retrieveDate, the installation gated on
 * transactions, restarts, and the pure helpers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "maintenance.h"

#define T0  1700000000000LL /* 2023-11-14T22:13:20Z */
#define SEC 1000

/* ---- the fake world --------------------------------------------------------------- */

struct sent {
	char cp[64];
	enum mt_kind kind;
	char status[MT_STATUS_MAX + 1];
};

struct fake {
	int transfer_starts[MT__KINDS], transfer_cancels[MT__KINDS];
	int transfer_rc;
	int collects, collect_cancels, collect_rc;
	int installs, install_rc;
	char installed_cp[64];
	struct sent sent[128];
	int n_sent;
	int send_rc;
	int avail_calls;
	bool avail[4];
	int persists, progress, discards;
};

static struct fake F;

static int
f_transfer_start(void *ud, struct mt_cp *cp, struct mt_job *job)
{
	F.transfer_starts[job->kind]++;
	return F.transfer_rc;
}

static void
f_transfer_cancel(void *ud, struct mt_cp *cp, struct mt_job *job)
{
	F.transfer_cancels[job->kind]++;
}

static int
f_collect_start(void *ud, struct mt_cp *cp, struct mt_job *job)
{
	F.collects++;
	return F.collect_rc;
}

static void
f_collect_cancel(void *ud, struct mt_cp *cp, struct mt_job *job)
{
	F.collect_cancels++;
}

static int
f_install_start(void *ud, struct mt_cp *cp, struct mt_job *job)
{
	F.installs++;
	snprintf(F.installed_cp, sizeof(F.installed_cp), "%s", cp->id);
	return F.install_rc;
}

static int
f_send_status(void *ud, struct mt_cp *cp, enum mt_kind kind, const char *status)
{
	struct sent *s = &F.sent[F.n_sent++ % 128];

	snprintf(s->cp, sizeof(s->cp), "%s", cp->id);
	s->kind = kind;
	snprintf(s->status, sizeof(s->status), "%s", status);
	return F.send_rc;
}

static void
f_availability(void *ud, struct mt_cp *cp, bool installing)
{
	F.avail_calls++;
	F.avail[cp->id[2] - '1'] = installing;
}

static void
f_changed(void *ud, struct mt_cp *cp, struct mt_job *job, unsigned what)
{
	if (what & MT_CHANGED_PHASE)
		F.persists++;
	if (what & MT_CHANGED_PROGRESS)
		F.progress++;
}

static void
f_discard(void *ud, struct mt_cp *cp, struct mt_job *job)
{
	F.discards++;
}

static const struct mt_ops fake_ops = {
    .transfer_start = f_transfer_start,
    .transfer_cancel = f_transfer_cancel,
    .collect_start = f_collect_start,
    .collect_cancel = f_collect_cancel,
    .install_start = f_install_start,
    .send_status = f_send_status,
    .availability = f_availability,
    .changed = f_changed,
    .discard = f_discard,
};

static struct mt_core C;
static struct mt_cp CPS[2];

static const unsigned ALL = MT_PROTO_FTP | MT_PROTO_FTPS | MT_PROTO_HTTP | MT_PROTO_HTTPS;

static int
setup(void **state)
{
	struct mt_settings set = {.protocols = ALL, .retries = 2, .retry_ms = 30 * SEC};

	memset(&F, 0, sizeof(F));
	memset(CPS, 0, sizeof(CPS));
	snprintf(CPS[0].id, sizeof(CPS[0].id), "CP1");
	CPS[0].n_connectors = 2;
	snprintf(CPS[1].id, sizeof(CPS[1].id), "CP2");
	CPS[1].n_connectors = 1;
	mt_core_init(&C, &set, &fake_ops, NULL, CPS, 2);
	return 0;
}

static struct mt_cp *cp1 = &CPS[0], *cp2 = &CPS[1];

static struct mt_job *
fw(struct mt_cp *cp)
{
	return &cp->jobs[MT_FIRMWARE];
}

static struct mt_job *
diag(struct mt_cp *cp)
{
	return &cp->jobs[MT_DIAGNOSTICS];
}

/* The statuses sent so far for cp/kind, comma separated. */
static const char *
sent(const char *cp, enum mt_kind kind)
{
	static char buf[2048];
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < F.n_sent && i < 128; i++)
		if (strcmp(F.sent[i].cp, cp) == 0 && F.sent[i].kind == kind)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? "," : "",
			                      F.sent[i].status);
	return buf;
}

/* The Central System confirms the notification in flight, then the core runs. */
static void
ack(struct mt_cp *cp, enum mt_kind kind, int64_t now)
{
	mt_send_done(&C, cp, kind, true, now);
	mt_tick(&C, now);
}

static void
ack_all(struct mt_cp *cp, enum mt_kind kind, int64_t now)
{
	for (int i = 0; i < MT_QUEUE + 2 && cp->jobs[kind].notify.in_flight; i++)
		ack(cp, kind, now);
}

static void
update(struct mt_cp *cp, const char *location, int64_t retrieve, int retries, int interval_s,
       int64_t now)
{
	struct mt_fw_request rq = {.location = location,
	                           .retrieve_at = retrieve,
	                           .retries = retries,
	                           .retry_interval_s = interval_s};

	assert_int_equal(mt_fw_request(&C, cp, &rq, now), 0);
	mt_tick(&C, now);
}

/* ---- firmware ------------------------------------------------------------------------- */

static void
test_fw_success(void **state)
{
	update(cp1, "http://fw.example/images/cp-2.0.bin", T0 - SEC, -1, -1, T0);
	assert_int_equal(fw(cp1)->phase, MT_TRANSFER);
	assert_int_equal(F.transfer_starts[MT_FIRMWARE], 1);
	assert_string_equal(fw(cp1)->file, "cp-2.0.bin");
	assert_int_equal(fw(cp1)->attempts, 3); /* 1 + the configured 2 retries */
	assert_string_equal(sent("CP1", MT_FIRMWARE), "Downloading");

	mt_transfer_progress(&C, cp1, MT_FIRMWARE, 40);
	assert_int_equal(fw(cp1)->percent, 40);
	assert_int_equal(F.progress, 1);
	mt_transfer_progress(&C, cp1, MT_FIRMWARE, 40); /* no change, no publish */
	assert_int_equal(F.progress, 1);

	/* Done before the Central System confirmed Downloading: the next waits. */
	mt_transfer_done(&C, cp1, MT_FIRMWARE, 0, NULL, T0 + SEC);
	mt_tick(&C, T0 + SEC);
	/* No transaction: the installation is next, at once ... */
	assert_int_equal(fw(cp1)->phase, MT_INSTALLING);
	assert_true(F.avail[0]);
	assert_string_equal(sent("CP1", MT_FIRMWARE), "Downloading");
	ack(cp1, MT_FIRMWARE, T0 + SEC);
	assert_string_equal(sent("CP1", MT_FIRMWARE), "Downloading,Downloaded");
	ack(cp1, MT_FIRMWARE, T0 + SEC);
	assert_string_equal(sent("CP1", MT_FIRMWARE), "Downloading,Downloaded,Installing");
	/* ... but the hook (which may reboot) only once Installing is out. */
	assert_int_equal(F.installs, 0);
	ack(cp1, MT_FIRMWARE, T0 + SEC);
	assert_int_equal(F.installs, 1);
	assert_int_equal(fw(cp1)->phase, MT_INSTALLING);
	assert_ptr_equal(C.installing, cp1);
	assert_string_equal(mt_status_now(fw(cp1)), "Installing");

	mt_install_progress(&C, cp1, 70);
	assert_int_equal(fw(cp1)->percent, 70);
	mt_install_done(&C, cp1, 0, NULL, T0 + 2 * SEC);
	mt_tick(&C, T0 + 2 * SEC);
	assert_int_equal(fw(cp1)->phase, MT_REPORTING);
	assert_int_equal(fw(cp1)->percent, 100);
	assert_false(F.avail[0]); /* the connectors may be available again */
	assert_null(C.installing);
	assert_string_equal(mt_status_now(fw(cp1)), "Installed");
	ack(cp1, MT_FIRMWARE, T0 + 2 * SEC);
	assert_string_equal(sent("CP1", MT_FIRMWARE),
	                    "Downloading,Downloaded,Installing,Installed");
	assert_int_equal(fw(cp1)->phase, MT_IDLE);
	assert_string_equal(fw(cp1)->last, "Installed");
	assert_string_equal(mt_status_now(fw(cp1)), "Idle");
	assert_true(F.discards >= 1); /* the image is gone */
	/* Nothing more to do. */
	assert_true(mt_tick(&C, T0 + 100 * SEC) == MT_NEVER);
}

static void
test_fw_retrieve_date_in_future(void **state)
{
	update(cp1, "https://fw.example/a.bin", T0 + 3600 * SEC, 0, 10, T0);
	assert_int_equal(fw(cp1)->phase, MT_SCHEDULED);
	assert_int_equal(F.transfer_starts[MT_FIRMWARE], 0);
	assert_int_equal(F.n_sent, 0);
	assert_string_equal(mt_status_now(fw(cp1)), "Idle"); /* not busy yet */
	assert_true(mt_tick(&C, T0) == T0 + 3600 * SEC);
	assert_true(mt_tick(&C, T0 + 3600 * SEC - 1) == T0 + 3600 * SEC);
	assert_int_equal(F.transfer_starts[MT_FIRMWARE], 0);
	mt_tick(&C, T0 + 3600 * SEC);
	assert_int_equal(F.transfer_starts[MT_FIRMWARE], 1);
	assert_string_equal(sent("CP1", MT_FIRMWARE), "Downloading");
}

static void
test_fw_retries_then_download_failed(void **state)
{
	int64_t t = T0;

	update(cp1, "http://fw.example/missing.bin", T0, 2, 5, t);
	assert_int_equal(fw(cp1)->attempts, 3);
	ack(cp1, MT_FIRMWARE, t);
	for (int attempt = 1; attempt <= 3; attempt++) {
		assert_int_equal(F.transfer_starts[MT_FIRMWARE], attempt);
		assert_int_equal(fw(cp1)->attempt, attempt);
		t += SEC;
		mt_transfer_done(&C, cp1, MT_FIRMWARE, -EIO, "HTTP status 404", t);
		int64_t next = mt_tick(&C, t);
		if (attempt < 3) {
			assert_int_equal(fw(cp1)->phase, MT_RETRY_WAIT);
			assert_string_equal(fw(cp1)->error, "HTTP status 404");
			assert_string_equal(mt_status_now(fw(cp1)), "Downloading");
			/* The retry, unless the periodic Downloading is due first. */
			assert_true(fw(cp1)->next_at == t + 5 * SEC);
			assert_true(next == (t + 5 * SEC < fw(cp1)->notify.last_sent + MT_REPEAT_MS
			                         ? t + 5 * SEC
			                         : fw(cp1)->notify.last_sent + MT_REPEAT_MS));
			mt_tick(&C, t + 5 * SEC - 1);
			assert_int_equal(F.transfer_starts[MT_FIRMWARE], attempt);
			t += 5 * SEC;
			mt_tick(&C, t);
			ack_all(cp1, MT_FIRMWARE, t); /* a periodic Downloading, maybe */
		}
	}
	assert_int_equal(fw(cp1)->phase, MT_REPORTING);
	assert_string_equal(fw(cp1)->final, "DownloadFailed");
	ack_all(cp1, MT_FIRMWARE, t);
	assert_int_equal(fw(cp1)->phase, MT_IDLE);
	assert_string_equal(fw(cp1)->last, "DownloadFailed");
	/* The first and the last are the only transitions; between them at most
	 * the periodic repeat of Downloading. */
	const char *seq = sent("CP1", MT_FIRMWARE);
	assert_true(strncmp(seq, "Downloading", 11) == 0);
	assert_non_null(strstr(seq, ",DownloadFailed"));
	assert_null(strstr(seq, "Downloaded"));
	assert_int_equal(F.installs, 0);
	assert_false(F.avail[0]);
}

static void
test_fw_permanent_failures(void **state)
{
	/* A scheme this libcurl lacks: no attempt at all. */
	C.set.protocols = MT_PROTO_HTTP | MT_PROTO_HTTPS;
	update(cp1, "ftp://fw.example/a.bin", T0, 5, 1, T0);
	assert_int_equal(F.transfer_starts[MT_FIRMWARE], 0);
	assert_string_equal(fw(cp1)->final, "DownloadFailed");
	assert_non_null(strstr(fw(cp1)->error, "SupportedFileTransferProtocols"));
	assert_string_equal(sent("CP1", MT_FIRMWARE), "Downloading");
	ack(cp1, MT_FIRMWARE, T0);
	assert_string_equal(sent("CP1", MT_FIRMWARE), "Downloading,DownloadFailed");

	/* The transfer layer refuses the URL as malformed: no retries either. */
	F.transfer_rc = -EINVAL;
	update(cp2, "http://[broken/a.bin", T0, 5, 1, T0);
	assert_int_equal(F.transfer_starts[MT_FIRMWARE], 1);
	assert_string_equal(fw(cp2)->final, "DownloadFailed");

	/* A transient start failure counts as an attempt. */
	F.transfer_rc = -EIO;
	update(cp2, "http://fw.example/b.bin", T0, 1, 1, T0 + SEC);
	assert_int_equal(fw(cp2)->phase, MT_RETRY_WAIT);
}

static void
test_fw_install_waits_for_transactions(void **state)
{
	int64_t t = T0;

	mt_conn_state(&C, cp1, 1, "Charging", 42);
	mt_conn_state(&C, cp1, 2, "Available", 0);
	assert_true(mt_cp_busy(cp1));
	assert_false(mt_cp_busy(cp2));
	update(cp1, "http://fw.example/a.bin", T0, 0, 1, t);
	ack(cp1, MT_FIRMWARE, t);
	mt_transfer_done(&C, cp1, MT_FIRMWARE, 0, NULL, t);
	mt_tick(&C, t);
	ack(cp1, MT_FIRMWARE, t);
	assert_int_equal(fw(cp1)->phase, MT_DOWNLOADED);
	assert_true(F.avail[0]); /* no new transactions, Unavailable once free */
	assert_int_equal(F.installs, 0);

	/* It waits, repeating Downloaded every 10 s. */
	for (int i = 1; i <= 3; i++) {
		t += 10 * SEC;
		mt_tick(&C, t);
		ack(cp1, MT_FIRMWARE, t);
	}
	assert_string_equal(sent("CP1", MT_FIRMWARE),
	                    "Downloading,Downloaded,Downloaded,Downloaded,Downloaded");
	assert_int_equal(F.installs, 0);

	/* The transaction ends: connector 1 is Finishing, without a transaction. */
	t += SEC;
	mt_conn_state(&C, cp1, 1, "Finishing", 0);
	mt_tick(&C, t);
	ack_all(cp1, MT_FIRMWARE, t);
	assert_int_equal(F.installs, 1);
	assert_int_equal(fw(cp1)->phase, MT_INSTALLING);

	/* tx_event alone holds it too, until the stop. */
	setup(NULL);
	mt_tx_event(&C, cp1, 2, true);
	assert_true(mt_cp_busy(cp1));
	update(cp1, "http://fw.example/a.bin", T0, 0, 1, T0);
	mt_transfer_done(&C, cp1, MT_FIRMWARE, 0, NULL, T0);
	mt_tick(&C, T0);
	assert_int_equal(F.installs, 0);
	mt_conn_state(&C, cp1, 2, "Preparing", 0); /* not over yet */
	mt_tick(&C, T0);
	ack_all(cp1, MT_FIRMWARE, T0);
	assert_int_equal(fw(cp1)->phase, MT_DOWNLOADED);
	mt_tx_event(&C, cp1, 2, false);
	mt_tick(&C, T0);
	ack_all(cp1, MT_FIRMWARE, T0);
	assert_int_equal(F.installs, 1);

	/* A connector that shows Available has no transaction, whatever a lost
	 * "stopped" would have said. */
	setup(NULL);
	mt_tx_event(&C, cp1, 1, true);
	mt_conn_state(&C, cp1, 1, "Available", 0);
	assert_false(mt_cp_busy(cp1));
	/* Other charge points' transactions do not count. */
	mt_conn_state(&C, cp2, 1, "SuspendedEV", 7);
	assert_false(mt_cp_busy(cp1));
	assert_true(mt_cp_busy(cp2));
}

static void
test_fw_periodic_status(void **state)
{
	int64_t t = T0, next;

	update(cp1, "http://fw.example/a.bin", T0, 0, 1, t);
	ack(cp1, MT_FIRMWARE, t);
	/* Downloading again every 10 s while the download runs. */
	next = mt_tick(&C, t + SEC);
	assert_true(next == t + 10 * SEC);
	for (int i = 0; i < 3; i++) {
		t += 10 * SEC;
		mt_tick(&C, t);
		ack(cp1, MT_FIRMWARE, t);
	}
	assert_string_equal(sent("CP1", MT_FIRMWARE),
	                    "Downloading,Downloading,Downloading,Downloading");
	/* Not while one is unanswered: one in flight at a time. */
	t += 10 * SEC;
	mt_tick(&C, t);
	mt_tick(&C, t + 25 * SEC);
	assert_int_equal(F.n_sent, 5);
	ack(cp1, MT_FIRMWARE, t + 25 * SEC);
	/* Installing, repeated while the hook runs. */
	t += 26 * SEC;
	mt_transfer_done(&C, cp1, MT_FIRMWARE, 0, NULL, t);
	mt_tick(&C, t);
	ack_all(cp1, MT_FIRMWARE, t);
	assert_int_equal(fw(cp1)->phase, MT_INSTALLING);
	int before = F.n_sent;
	for (int i = 0; i < 6; i++) {
		t += 5 * SEC;
		mt_tick(&C, t);
		ack(cp1, MT_FIRMWARE, t);
	}
	assert_int_equal(F.n_sent - before, 3); /* 30 s: every 10 s */
	assert_string_equal(F.sent[F.n_sent - 1].status, "Installing");
	/* Not while idle or scheduled, and never for diagnostics. */
	mt_install_done(&C, cp1, 0, NULL, t);
	mt_tick(&C, t);
	ack_all(cp1, MT_FIRMWARE, t);
	before = F.n_sent;
	assert_true(mt_tick(&C, t + 60 * SEC) == MT_NEVER);
	assert_int_equal(F.n_sent, before);
}

static void
test_fw_hook_starts_after_installing_is_out(void **state)
{
	update(cp1, "http://fw.example/a.bin", T0, 0, 1, T0);
	ack(cp1, MT_FIRMWARE, T0);
	mt_transfer_done(&C, cp1, MT_FIRMWARE, 0, NULL, T0);
	mt_tick(&C, T0);
	ack(cp1, MT_FIRMWARE, T0); /* Downloaded */
	assert_string_equal(F.sent[F.n_sent - 1].status, "Installing");
	/* The Central System is away: Installing fails, the hook runs anyway. */
	mt_tick(&C, T0 + 5 * SEC);
	assert_int_equal(F.installs, 0);
	mt_send_done(&C, cp1, MT_FIRMWARE, false, T0 + 45 * SEC);
	mt_tick(&C, T0 + 45 * SEC);
	assert_int_equal(F.installs, 1);
	/* A trigger or a repeat of Installing does not start it twice. */
	mt_trigger(&C, cp1, MT_FIRMWARE, T0 + 46 * SEC);
	mt_tick(&C, T0 + 46 * SEC);
	ack_all(cp1, MT_FIRMWARE, T0 + 46 * SEC);
	assert_int_equal(F.installs, 1);
}

static void
test_fw_installation_failed(void **state)
{
	update(cp1, "http://fw.example/a.bin", T0, 0, 1, T0);
	mt_transfer_done(&C, cp1, MT_FIRMWARE, 0, NULL, T0);
	mt_tick(&C, T0);
	ack_all(cp1, MT_FIRMWARE, T0);
	mt_install_done(&C, cp1, -EIO, "the install hook exited with status 1", T0 + SEC);
	mt_tick(&C, T0 + SEC);
	ack_all(cp1, MT_FIRMWARE, T0 + SEC);
	assert_string_equal(sent("CP1", MT_FIRMWARE),
	                    "Downloading,Downloaded,Installing,InstallationFailed");
	assert_string_equal(fw(cp1)->last, "InstallationFailed");
	assert_string_equal(fw(cp1)->error, "the install hook exited with status 1");
	assert_false(F.avail[0]);

	/* A hook that cannot start fails the same way. */
	F.install_rc = -ENOENT;
	update(cp2, "http://fw.example/a.bin", T0, 0, 1, T0);
	mt_transfer_done(&C, cp2, MT_FIRMWARE, 0, NULL, T0);
	mt_tick(&C, T0);
	ack_all(cp2, MT_FIRMWARE, T0);
	assert_string_equal(sent("CP2", MT_FIRMWARE),
	                    "Downloading,Downloaded,Installing,InstallationFailed");
	assert_null(C.installing);
}

static void
test_fw_one_installation_at_a_time(void **state)
{
	update(cp1, "http://fw.example/a.bin", T0, 0, 1, T0);
	update(cp2, "http://fw.example/a.bin", T0, 0, 1, T0);
	mt_transfer_done(&C, cp1, MT_FIRMWARE, 0, NULL, T0);
	mt_transfer_done(&C, cp2, MT_FIRMWARE, 0, NULL, T0);
	mt_tick(&C, T0);
	ack_all(cp1, MT_FIRMWARE, T0);
	ack_all(cp2, MT_FIRMWARE, T0);
	assert_int_equal(F.installs, 1);
	assert_string_equal(F.installed_cp, "CP1");
	assert_int_equal(fw(cp2)->phase, MT_DOWNLOADED);
	mt_install_done(&C, cp1, 0, NULL, T0 + SEC);
	mt_tick(&C, T0 + SEC);
	ack_all(cp2, MT_FIRMWARE, T0 + SEC);
	assert_int_equal(F.installs, 2);
	assert_string_equal(F.installed_cp, "CP2");
}

static void
test_fw_outcome_reported_until_confirmed(void **state)
{
	int64_t t = T0;

	update(cp1, "http://fw.example/a.bin", T0, 0, 1, t);
	mt_transfer_done(&C, cp1, MT_FIRMWARE, 0, NULL, t);
	mt_tick(&C, t);
	ack_all(cp1, MT_FIRMWARE, t);
	mt_install_done(&C, cp1, 0, NULL, t);
	mt_tick(&C, t);
	/* The Central System is away: Offline, twice. */
	mt_send_done(&C, cp1, MT_FIRMWARE, false, t);
	assert_true(mt_tick(&C, t) == t + MT_REPORT_RETRY);
	assert_int_equal(fw(cp1)->phase, MT_REPORTING);
	t += MT_REPORT_RETRY;
	mt_tick(&C, t);
	mt_send_done(&C, cp1, MT_FIRMWARE, false, t);
	t += MT_REPORT_RETRY;
	mt_tick(&C, t);
	ack(cp1, MT_FIRMWARE, t);
	assert_int_equal(fw(cp1)->phase, MT_IDLE);
	assert_string_equal(sent("CP1", MT_FIRMWARE),
	                    "Downloading,Downloaded,Installing,Installed,Installed,Installed");

	/* A notification that cannot even be sent is retried the same way;
	 * an intermediate one that fails is simply superseded. */
	setup(NULL);
	F.send_rc = -ENOMEM;
	update(cp1, "http://fw.example/a.bin", T0, 0, 1, T0);
	mt_transfer_done(&C, cp1, MT_FIRMWARE, -EIO, "no", T0);
	mt_tick(&C, T0);
	assert_int_equal(fw(cp1)->phase, MT_REPORTING);
	F.send_rc = 0;
	mt_tick(&C, T0 + MT_REPORT_RETRY);
	ack(cp1, MT_FIRMWARE, T0 + MT_REPORT_RETRY);
	assert_int_equal(fw(cp1)->phase, MT_IDLE);
	assert_string_equal(fw(cp1)->last, "DownloadFailed");
}

static void
test_fw_new_request_replaces(void **state)
{
	update(cp1, "http://fw.example/a.bin", T0, 0, 1, T0);
	assert_int_equal(fw(cp1)->phase, MT_TRANSFER);
	update(cp1, "http://fw.example/b.bin", T0 + 60 * SEC, 0, 1, T0 + SEC);
	assert_int_equal(F.transfer_cancels[MT_FIRMWARE], 1);
	assert_int_equal(F.discards, 1);
	assert_int_equal(fw(cp1)->phase, MT_SCHEDULED);
	assert_string_equal(fw(cp1)->file, "b.bin");
	/* Not while installing. */
	mt_tick(&C, T0 + 60 * SEC);
	mt_transfer_done(&C, cp1, MT_FIRMWARE, 0, NULL, T0 + 61 * SEC);
	mt_tick(&C, T0 + 61 * SEC);
	assert_int_equal(fw(cp1)->phase, MT_INSTALLING);
	struct mt_fw_request rq = {
	    .location = "http://x/c.bin", .retrieve_at = T0, .retries = -1, .retry_interval_s = -1};
	assert_int_equal(mt_fw_request(&C, cp1, &rq, T0 + 62 * SEC), -EBUSY);
	assert_int_equal(fw(cp1)->phase, MT_INSTALLING);
	assert_string_equal(fw(cp1)->file, "b.bin");
}

static void
test_restore(void **state)
{
	struct mt_job j = {.kind = MT_FIRMWARE,
	                   .phase = MT_TRANSFER,
	                   .location = "http://fw.example/a.bin",
	                   .attempt = 2,
	                   .attempts = 3,
	                   .retry_ms = 5 * SEC,
	                   .file = "a.bin"};

	/* A download that ran starts again, as the same attempt. */
	mt_restore(&C, cp1, &j, false, T0);
	assert_int_equal(fw(cp1)->phase, MT_RETRY_WAIT);
	mt_tick(&C, T0);
	assert_int_equal(F.transfer_starts[MT_FIRMWARE], 1);
	assert_int_equal(fw(cp1)->attempt, 2);
	assert_string_equal(sent("CP1", MT_FIRMWARE), "Downloading");

	/* Installing: the slot is taken and the charge point stays Unavailable;
	 * the outcome comes from the caller. */
	j.phase = MT_INSTALLING;
	j.hook_pid = 4242;
	mt_restore(&C, cp2, &j, true, T0);
	assert_ptr_equal(C.installing, cp2);
	assert_true(F.avail[1]);
	mt_tick(&C, T0);
	assert_string_equal(sent("CP2", MT_FIRMWARE), "Installing");
	mt_install_done(&C, cp2, 0, NULL, T0 + SEC);
	mt_tick(&C, T0 + SEC);
	ack_all(cp2, MT_FIRMWARE, T0 + SEC);
	assert_string_equal(sent("CP2", MT_FIRMWARE), "Installing,Installed");
	assert_string_equal(fw(cp2)->last, "Installed");

	/* An unconfirmed outcome is sent again. */
	setup(NULL);
	j.phase = MT_REPORTING;
	snprintf(j.final, sizeof(j.final), "Installed");
	mt_restore(&C, cp1, &j, false, T0);
	mt_tick(&C, T0);
	assert_string_equal(sent("CP1", MT_FIRMWARE), "Installed");
	ack(cp1, MT_FIRMWARE, T0);
	assert_int_equal(fw(cp1)->phase, MT_IDLE);

	/* A downloaded image that is gone is downloaded again. */
	setup(NULL);
	j.phase = MT_DOWNLOADED;
	mt_restore(&C, cp1, &j, false, T0);
	mt_tick(&C, T0);
	assert_int_equal(F.transfer_starts[MT_FIRMWARE], 1);
	setup(NULL);
	mt_restore(&C, cp1, &j, true, T0);
	assert_true(F.avail[0]);
	mt_tick(&C, T0);
	ack_all(cp1, MT_FIRMWARE, T0);
	assert_int_equal(F.installs, 1);

	/* Installing, but the hook had not started: it installs again. */
	setup(NULL);
	j.phase = MT_INSTALLING;
	j.hook_pid = 0;
	mt_restore(&C, cp1, &j, true, T0);
	assert_int_equal(fw(cp1)->phase, MT_DOWNLOADED);
	assert_null(C.installing);
	mt_tick(&C, T0);
	ack_all(cp1, MT_FIRMWARE, T0);
	assert_int_equal(F.installs, 1);

	/* Diagnostics without their archive are collected again. */
	setup(NULL);
	struct mt_job d = {.kind = MT_DIAGNOSTICS,
	                   .phase = MT_RETRY_WAIT,
	                   .location = "ftp://diag.example/in/",
	                   .attempt = 1,
	                   .attempts = 2,
	                   .retry_ms = SEC,
	                   .file = "CP1-diagnostics-x.tar.gz"};
	mt_restore(&C, cp1, &d, false, T0);
	assert_int_equal(diag(cp1)->phase, MT_COLLECTING);
	assert_int_equal(F.collects, 1);
	mt_restore(&C, cp2, &d, true, T0);
	assert_int_equal(diag(cp2)->phase, MT_RETRY_WAIT);
}

/* ---- diagnostics ------------------------------------------------------------------- */

static int
diag_request(struct mt_cp *cp, const char *location, int retries, char *name, size_t len,
             int64_t now)
{
	struct mt_diag_request rq = {
	    .location = location, .retries = retries, .retry_interval_s = 2};
	int rc = mt_diag_request(&C, cp, &rq, now, name, len);

	mt_tick(&C, now);
	return rc;
}

static void
test_diag_success(void **state)
{
	char name[256];

	assert_int_equal(
	    diag_request(cp1, "ftp://user:pw@diag.example/in", 1, name, sizeof(name), T0), 0);
	assert_string_equal(name, "CP1-diagnostics-20231114T221320Z.tar.gz");
	assert_string_equal(diag(cp1)->file, name);
	assert_int_equal(diag(cp1)->phase, MT_COLLECTING);
	assert_int_equal(F.collects, 1);
	assert_int_equal(F.n_sent, 0); /* Uploading when the upload starts */
	assert_string_equal(mt_status_now(diag(cp1)), "Uploading");
	mt_collect_done(&C, cp1, 0, NULL, T0 + SEC);
	mt_tick(&C, T0 + SEC);
	assert_int_equal(F.transfer_starts[MT_DIAGNOSTICS], 1);
	assert_int_equal(diag(cp1)->phase, MT_TRANSFER);
	assert_string_equal(sent("CP1", MT_DIAGNOSTICS), "Uploading");
	ack(cp1, MT_DIAGNOSTICS, T0 + SEC);
	/* No repeats for diagnostics. */
	mt_tick(&C, T0 + 30 * SEC);
	assert_int_equal(F.n_sent, 1);
	mt_transfer_done(&C, cp1, MT_DIAGNOSTICS, 0, NULL, T0 + 31 * SEC);
	mt_tick(&C, T0 + 31 * SEC);
	ack_all(cp1, MT_DIAGNOSTICS, T0 + 31 * SEC);
	assert_string_equal(sent("CP1", MT_DIAGNOSTICS), "Uploading,Uploaded");
	assert_string_equal(diag(cp1)->last, "Uploaded");
	assert_int_equal(diag(cp1)->phase, MT_IDLE);
	assert_int_equal(F.avail_calls, 0); /* diagnostics never touch availability */
}

static void
test_diag_failures(void **state)
{
	char name[256];
	int64_t t = T0;

	/* The server is down: UploadFailed after 1 + 2 attempts. */
	assert_int_equal(diag_request(cp1, "http://diag.example/in/", 2, name, sizeof(name), t), 0);
	mt_collect_done(&C, cp1, 0, NULL, t);
	mt_tick(&C, t);
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(F.transfer_starts[MT_DIAGNOSTICS], i);
		mt_transfer_done(&C, cp1, MT_DIAGNOSTICS, -ECONNREFUSED, "Connection refused", t);
		t += 2 * SEC;
		mt_tick(&C, t);
		ack_all(cp1, MT_DIAGNOSTICS, t);
	}
	assert_string_equal(sent("CP1", MT_DIAGNOSTICS), "Uploading,UploadFailed");
	assert_string_equal(diag(cp1)->last, "UploadFailed");

	/* The archive cannot be built. */
	assert_int_equal(diag_request(cp2, "http://diag.example/in/", 2, name, sizeof(name), t), 0);
	mt_collect_done(&C, cp2, -EIO, "tar exit status 2", t);
	mt_tick(&C, t);
	ack_all(cp2, MT_DIAGNOSTICS, t);
	assert_string_equal(sent("CP2", MT_DIAGNOSTICS), "UploadFailed");
	assert_string_equal(diag(cp2)->error, "tar exit status 2");

	/* A location we cannot serve: no file name, nothing starts. */
	C.set.protocols = MT_PROTO_HTTP;
	F.collects = 0;
	assert_int_equal(diag_request(cp2, "ftps://diag.example/in", 2, name, sizeof(name), t),
	                 -EPROTONOSUPPORT);
	assert_int_equal(diag_request(cp2, "mailto:x@y", 2, name, sizeof(name), t),
	                 -EPROTONOSUPPORT);
	assert_int_equal(F.collects, 0);

	/* A new request replaces one that runs. */
	C.set.protocols = ALL;
	assert_int_equal(diag_request(cp2, "http://diag.example/a/", 2, name, sizeof(name), t), 0);
	assert_int_equal(diag_request(cp2, "http://diag.example/b/", 2, name, sizeof(name), t), 0);
	assert_int_equal(F.collect_cancels, 1);
	assert_string_equal(diag(cp2)->location, "http://diag.example/b/");
}

static void
test_trigger(void **state)
{
	mt_trigger(&C, cp1, MT_FIRMWARE, T0);
	mt_trigger(&C, cp1, MT_DIAGNOSTICS, T0);
	mt_tick(&C, T0);
	assert_string_equal(sent("CP1", MT_FIRMWARE), "Idle");
	assert_string_equal(sent("CP1", MT_DIAGNOSTICS), "Idle");
	ack(cp1, MT_FIRMWARE, T0);
	assert_int_equal(fw(cp1)->phase, MT_IDLE); /* Idle is no outcome */
	update(cp1, "http://fw.example/a.bin", T0, 0, 1, T0);
	ack(cp1, MT_FIRMWARE, T0);
	mt_trigger(&C, cp1, MT_FIRMWARE, T0 + SEC);
	mt_tick(&C, T0 + SEC);
	assert_string_equal(sent("CP1", MT_FIRMWARE), "Idle,Downloading,Downloading");
}

/* ---- helpers --------------------------------------------------------------------------- */

static void
test_url_helpers(void **state)
{
	char buf[256];
	bool post;

	assert_int_equal(mt_url_proto("HTTPS://a/b"), MT_PROTO_HTTPS);
	assert_int_equal(mt_url_proto("ftps://a"), MT_PROTO_FTPS);
	assert_int_equal(mt_url_proto("ftp://a"), MT_PROTO_FTP);
	assert_int_equal(mt_url_proto("http://a"), MT_PROTO_HTTP);
	assert_int_equal(mt_url_proto("file:///etc/passwd"), 0);
	assert_int_equal(mt_url_proto("httpx://a"), 0);
	assert_int_equal(mt_url_proto("no scheme"), 0);

	mt_proto_list(ALL, buf, sizeof(buf));
	assert_string_equal(buf, "FTP,FTPS,HTTP,HTTPS");
	mt_proto_list(MT_PROTO_HTTP | MT_PROTO_FTPS, buf, sizeof(buf));
	assert_string_equal(buf, "FTPS,HTTP");
	mt_proto_list(0, buf, sizeof(buf));
	assert_string_equal(buf, "");

	mt_url_redact("ftp://user:secret@host:21/dir/f.bin?token=abc#x", buf, sizeof(buf));
	assert_string_equal(buf, "ftp://host:21/dir/f.bin");
	mt_url_redact("https://h/a@b/c", buf, sizeof(buf));
	assert_string_equal(buf, "https://h/a@b/c"); /* an '@' in the path is no user */
	mt_url_redact("http://h", buf, sizeof(buf));
	assert_string_equal(buf, "http://h");

	mt_fw_file_name("http://h/images/v2.0/cp fw(1).bin?sig=1", buf, sizeof(buf));
	assert_string_equal(buf, "cp_fw_1_.bin");
	mt_fw_file_name("http://h/", buf, sizeof(buf));
	assert_string_equal(buf, "firmware.bin");
	mt_fw_file_name("http://h", buf, sizeof(buf));
	assert_string_equal(buf, "firmware.bin");
	mt_fw_file_name("ftp://h/../..hidden", buf, sizeof(buf));
	assert_string_equal(buf, "hidden");

	mt_diag_file_name("CP/1 x", T0, buf, sizeof(buf));
	assert_string_equal(buf, "CP_1_x-diagnostics-20231114T221320Z.tar.gz");

	/* The location is a directory ... */
	assert_int_equal(mt_upload_target("ftp://u:p@h/in", "f.tgz", buf, sizeof(buf), &post), 0);
	assert_string_equal(buf, "ftp://u:p@h/in/f.tgz");
	assert_false(post);
	assert_int_equal(mt_upload_target("http://h/in/", "f.tgz", buf, sizeof(buf), &post), 0);
	assert_string_equal(buf, "http://h/in/f.tgz");
	assert_int_equal(mt_upload_target("http://h", "f.tgz", buf, sizeof(buf), &post), 0);
	assert_string_equal(buf, "http://h/f.tgz");
	assert_int_equal(mt_upload_target("https://h/up?token=1", "f.tgz", buf, sizeof(buf), &post),
	                 0);
	assert_string_equal(buf, "https://h/up/f.tgz?token=1");
	/* ... unless it says #post: an endpoint, as it is. */
	assert_int_equal(
	    mt_upload_target("https://h/upload?k=2#post", "f.tgz", buf, sizeof(buf), &post), 0);
	assert_string_equal(buf, "https://h/upload?k=2");
	assert_true(post);
	assert_int_equal(mt_upload_target("ftp://h/in#post", "f", buf, sizeof(buf), &post),
	                 -EINVAL);
	assert_int_equal(mt_upload_target("nothing", "f", buf, sizeof(buf), &post), -EINVAL);
	assert_int_equal(mt_upload_target("http://h/in", "f.tgz", buf, 10, &post), -ENAMETOOLONG);
}

static void
test_hook_progress(void **state)
{
	int p = -1;

	assert_true(mt_hook_progress("progress 42", &p));
	assert_int_equal(p, 42);
	assert_true(mt_hook_progress("progress\t100%", &p));
	assert_int_equal(p, 100);
	assert_true(mt_hook_progress("progress 0\r", &p));
	assert_int_equal(p, 0);
	assert_false(mt_hook_progress("progress 101", &p));
	assert_false(mt_hook_progress("progress -1", &p));
	assert_false(mt_hook_progress("progress", &p));
	assert_false(mt_hook_progress("progressive 5", &p));
	assert_false(mt_hook_progress("progress 5 of 9", &p));
	assert_false(mt_hook_progress("flashing bank B", &p));
}

/* The diagnostics time window and size cap. Two log directories (groups):
 *   group 0: a.1 (mtime 100), a.2 (200), a.current (300)
 *   group 1: b.1 (150), b.current (290) */
static const struct mt_log_file LOGS[] = {
    {0, 200 * SEC, 4000}, /* a.2: covers (100, 200] */
    {0, 100 * SEC, 4000}, /* a.1: covers (-inf, 100] */
    {0, 300 * SEC, 4000}, /* a.current: (200, 300] */
    {1, 150 * SEC, 4000}, /* b.1: (-inf, 150] */
    {1, 290 * SEC, 4000}, /* b.current: (150, 290] */
};
#define N_LOGS (sizeof(LOGS) / sizeof(LOGS[0]))

static void
test_diag_time_bounds(void **state)
{
	int64_t take[N_LOGS];
	const int64_t big = 1 << 20;

	/* No window: everything. */
	assert_int_equal(mt_diag_select(LOGS, N_LOGS, false, 0, false, 0, big, take), 20000);
	for (size_t i = 0; i < N_LOGS; i++)
		assert_int_equal(take[i], 4000);

	/* startTime 210: only what was written after it. */
	assert_int_equal(mt_diag_select(LOGS, N_LOGS, true, 210 * SEC, false, 0, big, take), 8000);
	assert_int_equal(take[2], 4000);
	assert_int_equal(take[4], 4000);
	assert_int_equal(take[0] + take[1] + take[3], 0);

	/* stopTime 120: what holds entries from before it. */
	assert_int_equal(mt_diag_select(LOGS, N_LOGS, false, 0, true, 120 * SEC, big, take), 12000);
	assert_int_equal(take[1], 4000); /* a.1 */
	assert_int_equal(take[0], 4000); /* a.2 starts after 100 */
	assert_int_equal(take[3], 4000); /* b.1 */
	assert_int_equal(take[2] + take[4], 0);

	/* A window inside one file's span: that file. */
	assert_int_equal(mt_diag_select(LOGS, N_LOGS, true, 230 * SEC, true, 240 * SEC, big, take),
	                 8000);
	assert_int_equal(take[2], 4000);
	assert_int_equal(take[4], 4000);

	/* A window after everything: nothing. */
	assert_int_equal(mt_diag_select(LOGS, N_LOGS, true, 400 * SEC, false, 0, big, take), 0);

	/* The cap keeps the newest; the next one is cut to its end ... */
	assert_int_equal(mt_diag_select(LOGS, N_LOGS, false, 0, false, 0, 10000, take), 10000);
	assert_int_equal(take[2], 4000); /* a.current, 300 */
	assert_int_equal(take[4], 4000); /* b.current, 290 */
	assert_int_equal(take[0], 2000); /* a.2, 200: its last 2000 bytes */
	assert_int_equal(take[3] + take[1], 0);
	/* ... unless less than 1 KiB of it would fit. */
	assert_int_equal(mt_diag_select(LOGS, N_LOGS, false, 0, false, 0, 8500, take), 8000);
	assert_int_equal(take[0], 0);
	/* Nothing at all. */
	assert_int_equal(mt_diag_select(LOGS, 0, false, 0, false, 0, big, take), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_fw_success, setup),
	    cmocka_unit_test_setup(test_fw_retrieve_date_in_future, setup),
	    cmocka_unit_test_setup(test_fw_retries_then_download_failed, setup),
	    cmocka_unit_test_setup(test_fw_permanent_failures, setup),
	    cmocka_unit_test_setup(test_fw_install_waits_for_transactions, setup),
	    cmocka_unit_test_setup(test_fw_periodic_status, setup),
	    cmocka_unit_test_setup(test_fw_hook_starts_after_installing_is_out, setup),
	    cmocka_unit_test_setup(test_fw_installation_failed, setup),
	    cmocka_unit_test_setup(test_fw_one_installation_at_a_time, setup),
	    cmocka_unit_test_setup(test_fw_outcome_reported_until_confirmed, setup),
	    cmocka_unit_test_setup(test_fw_new_request_replaces, setup),
	    cmocka_unit_test_setup(test_restore, setup),
	    cmocka_unit_test_setup(test_diag_success, setup),
	    cmocka_unit_test_setup(test_diag_failures, setup),
	    cmocka_unit_test_setup(test_trigger, setup),
	    cmocka_unit_test(test_url_helpers),
	    cmocka_unit_test(test_hook_progress),
	    cmocka_unit_test(test_diag_time_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
