/* Unit tests of the connector journal (journal.h) against real SQLite files in
 * a temporary directory, including a kill -9 right after a transaction opened. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sitegate/log.h"

#include "journal.h"

#define T0 INT64_C(1750000000000)

static char dir[64], path[128];

static int
setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/sg-test-conn-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/connector/connector.db", dir);
	return 0;
}

static int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static int
teardown(void **state)
{
	return nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static struct conn_tx
sample_tx(int64_t ref)
{
	struct conn_tx tx = {.tx_ref = ref,
	                     .id_tag = "TAG1",
	                     .parent_id_tag = "PARENT",
	                     .reservation_id = 4,
	                     .start_wall = T0,
	                     .meter_start = 100.5,
	                     .energy_wh = 100.5,
	                     .energy_wall = T0};
	return tx;
}

struct seen {
	int n;
	char cp[4][64];
	int conn[4];
	struct conn_tx tx[4];
};

static void
collect(const char *cp, int conn, const struct conn_tx *tx, void *ud)
{
	struct seen *s = ud;
	assert_true(s->n < 4);
	snprintf(s->cp[s->n], sizeof(s->cp[0]), "%s", cp);
	s->conn[s->n] = conn;
	s->tx[s->n] = *tx;
	s->n++;
}

static void
test_tx_refs(void **state)
{
	struct journal *j;

	assert_int_equal(journal_open(path, T0, &j), 0);
	assert_int_equal(journal_next_tx_ref(j), T0);
	assert_int_equal(journal_next_tx_ref(j), T0 + 1);
	journal_close(j);
	/* the counter survives, the seed of a reopening does not matter */
	assert_int_equal(journal_open(path, 5, &j), 0);
	assert_int_equal(journal_next_tx_ref(j), T0 + 2);
	journal_close(j);
	journal_close(NULL);
}

static void
test_transactions(void **state)
{
	struct journal *j;
	struct journal_msg m;
	struct seen seen = {0};
	struct conn_tx tx = sample_tx(7);

	assert_int_equal(journal_open(path, T0, &j), 0);
	assert_int_equal(journal_outbox_count(j), 0);
	assert_int_equal(journal_outbox_next(j, 0, &m), 0);
	assert_int_equal(journal_tx_open(j, "CP1", 1, &tx, "{\"connectorId\":1}", T0), 0);
	tx.energy_wh = 2000;
	tx.energy_wall = T0 + 60000;
	tx.transaction_id = 55;
	assert_int_equal(journal_tx_save(j, "CP1", 1, &tx), 0);
	struct conn_tx tx2 = sample_tx(8);
	assert_int_equal(journal_tx_open(j, "CP2", 1, &tx2, "{\"connectorId\":1}", T0), 0);
	assert_int_equal(journal_tx_each(j, collect, &seen), 2);
	assert_string_equal(seen.cp[0], "CP1");
	assert_int_equal(seen.conn[0], 1);
	assert_int_equal(seen.tx[0].tx_ref, 7);
	assert_int_equal(seen.tx[0].transaction_id, 55);
	assert_true(seen.tx[0].energy_wh == 2000);
	assert_int_equal(seen.tx[0].energy_wall, T0 + 60000);
	assert_string_equal(seen.tx[0].id_tag, "TAG1");
	assert_string_equal(seen.tx[0].parent_id_tag, "PARENT");
	assert_int_equal(seen.tx[0].reservation_id, 4);
	assert_true(seen.tx[0].meter_start == 100.5);
	assert_int_equal(seen.tx[1].tx_ref, 8);

	assert_int_equal(journal_tx_close(j, "CP1", 1, 7, "{\"meterStop\":2000}", T0), 0);
	seen.n = 0;
	assert_int_equal(journal_tx_each(j, collect, &seen), 1);
	assert_string_equal(seen.cp[0], "CP2");

	/* the outbox in order: start 7, start 8, stop 7 */
	assert_int_equal(journal_outbox_count(j), 3);
	assert_int_equal(journal_outbox_next(j, 0, &m), 1);
	assert_string_equal(m.action, "StartTransaction");
	assert_string_equal(m.cp, "CP1");
	assert_int_equal(m.tx_ref, 7);
	assert_string_equal(m.payload, "{\"connectorId\":1}");
	int64_t first = m.id;
	free(m.payload);
	assert_int_equal(journal_outbox_next(j, first, &m), 1);
	assert_int_equal(m.tx_ref, 8);
	free(m.payload);
	assert_int_equal(journal_outbox_delete(j, first), 0);
	assert_int_equal(journal_outbox_next(j, 0, &m), 1);
	assert_int_equal(m.tx_ref, 8);
	free(m.payload);
	journal_close(j);

	/* all of it after a reopen */
	assert_int_equal(journal_open(path, T0, &j), 0);
	assert_int_equal(journal_outbox_count(j), 2);
	seen.n = 0;
	assert_int_equal(journal_tx_each(j, collect, &seen), 1);
	journal_close(j);
}

static void
test_connectors(void **state)
{
	struct journal *j;
	bool operative, cable;
	int pending;
	char status[17], ev;

	assert_int_equal(journal_open(path, T0, &j), 0);
	assert_int_equal(
	    journal_conn_load(j, "CP1", 1, &operative, &pending, status, sizeof(status)), 0);
	assert_int_equal(journal_conn_save(j, "CP1", 1, true, 0, "Charging"), 0);
	assert_int_equal(journal_conn_save(j, "CP1", 1, true, 0, NULL), 0); /* keeps the status */
	assert_int_equal(
	    journal_conn_load(j, "CP1", 1, &operative, &pending, status, sizeof(status)), 1);
	assert_true(operative);
	assert_int_equal(pending, 0);
	assert_string_equal(status, "Charging");
	assert_int_equal(journal_conn_save(j, "CP1", 1, false, -1, "Unavailable"), 0);
	assert_int_equal(
	    journal_conn_load(j, "CP1", 1, &operative, &pending, status, sizeof(status)), 1);
	assert_false(operative);
	assert_int_equal(pending, -1);
	assert_string_equal(status, "Unavailable");

	assert_int_equal(journal_sim_load(j, "CP1", 2, &cable, &ev), 0);
	assert_int_equal(journal_sim_save(j, "CP1", 2, true, 'C'), 0);
	assert_int_equal(journal_sim_load(j, "CP1", 2, &cable, &ev), 1);
	assert_true(cable);
	assert_int_equal(ev, 'C');
	/* the keys' table is there for sg_keys_new() */
	assert_int_equal(
	    sqlite3_exec(journal_db(j), "SELECT count(*) FROM ocpp_keys", NULL, NULL, NULL),
	    SQLITE_OK);
	journal_close(j);
}

/* A transaction opened is in the file even when the process dies right after. */
static void
test_kill9(void **state)
{
	struct journal *j;
	struct seen seen = {0};
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		struct conn_tx tx = sample_tx(9);
		if (journal_open(path, T0, &j) != 0 ||
		    journal_tx_open(j, "CP1", 2, &tx, "{}", T0) != 0)
			_exit(1);
		tx.energy_wh = 4242;
		if (journal_tx_save(j, "CP1", 2, &tx) != 0)
			_exit(1);
		raise(SIGKILL); /* no return */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(journal_open(path, T0, &j), 0);
	assert_int_equal(journal_tx_each(j, collect, &seen), 1);
	assert_int_equal(seen.tx[0].tx_ref, 9);
	assert_true(seen.tx[0].energy_wh == 4242);
	assert_int_equal(journal_outbox_count(j), 1);
	journal_close(j);
}

static void
test_open_fails(void **state)
{
	struct journal *j = (struct journal *)1;
	char bad[160];

	/* a directory where the file should be */
	snprintf(bad, sizeof(bad), "%s/d.db", dir);
	assert_int_equal(mkdir(bad, 0700), 0);
	assert_true(journal_open(bad, T0, &j) < 0);
	assert_null(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_tx_refs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_connectors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kill9, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_fails, setup, teardown),
	};

	sg_log_init("test_journal", SG_LOG_ERR - 1); /* the failure test logs on purpose */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
