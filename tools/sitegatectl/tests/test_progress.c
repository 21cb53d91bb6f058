/* The progress lines of `sitegatectl status` (progress.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "progress.h"

static void
test_bar(void **state)
{
	char buf[64];

	assert_int_equal(mt_progress_bar(0, 10, buf, sizeof(buf)), 12);
	assert_string_equal(buf, "[..........]");
	mt_progress_bar(45, 10, buf, sizeof(buf));
	assert_string_equal(buf, "[#####.....]"); /* rounded */
	mt_progress_bar(100, 10, buf, sizeof(buf));
	assert_string_equal(buf, "[##########]");
	mt_progress_bar(250, 4, buf, sizeof(buf));
	assert_string_equal(buf, "[####]");
	mt_progress_bar(-3, 4, buf, sizeof(buf));
	assert_string_equal(buf, "[....]");
	mt_progress_bar(50, 0, buf, sizeof(buf)); /* default width 20 */
	assert_string_equal(buf, "[##########..........]");
	mt_progress_bar(50, 10, buf, 5); /* truncated, terminated */
	assert_string_equal(buf, "[###");
}

static void
test_fw_lines(void **state)
{
	struct sg_msg_fw_state st = {.status = "Downloading",
	                             .phase = "downloading",
	                             .percent = 45,
	                             .attempt = 1,
	                             .attempts = 3};
	char buf[256];

	mt_fw_state_line(&st, 10, buf, sizeof(buf));
	assert_string_equal(buf, "firmware     Downloading        [#####.....]  45%  attempt 1/3");

	st =
	    (struct sg_msg_fw_state){.status = "Installing", .phase = "installing", .percent = 100};
	mt_fw_state_line(&st, 4, buf, sizeof(buf));
	assert_string_equal(buf, "firmware     Installing         [####] 100%");

	st = (struct sg_msg_fw_state){.status = "Downloading",
	                              .phase = "retrying",
	                              .attempt = 2,
	                              .attempts = 3,
	                              .error = "HTTP status 404"};
	mt_fw_state_line(&st, 4, buf, sizeof(buf));
	assert_string_equal(buf, "firmware     Downloading        attempt 2/3: HTTP status 404");

	st =
	    (struct sg_msg_fw_state){.status = "Downloaded", .phase = "downloaded", .percent = 100};
	mt_fw_state_line(&st, 4, buf, sizeof(buf));
	assert_string_equal(buf, "firmware     Downloaded         waiting for transactions to end");

	st = (struct sg_msg_fw_state){.status = "Idle", .phase = "idle", .last = "Installed"};
	mt_fw_state_line(&st, 4, buf, sizeof(buf));
	assert_string_equal(buf, "firmware     Idle               last: Installed");

	st = (struct sg_msg_fw_state){.status = "Idle", .phase = "idle"};
	mt_fw_state_line(&st, 4, buf, sizeof(buf));
	assert_string_equal(buf, "firmware     Idle               ");
}

static void
test_diag_lines(void **state)
{
	struct sg_msg_diag_state st = {.status = "Uploading",
	                               .phase = "uploading",
	                               .percent = 7,
	                               .file_name = "CP1-diagnostics-x.tar.gz"};
	char buf[256];

	mt_diag_state_line(&st, 10, buf, sizeof(buf));
	assert_string_equal(buf, "diagnostics  Uploading          [#.........]   7%  "
	                         "CP1-diagnostics-x.tar.gz");
	st = (struct sg_msg_diag_state){
	    .status = "Idle", .phase = "idle", .last = "UploadFailed", .file_name = "f.tar.gz"};
	mt_diag_state_line(&st, 10, buf, sizeof(buf));
	assert_string_equal(buf, "diagnostics  Idle               last: UploadFailed f.tar.gz");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bar),
	    cmocka_unit_test(test_fw_lines),
	    cmocka_unit_test(test_diag_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
