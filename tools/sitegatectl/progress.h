/* One line of `sitegatectl status` per charge point for the retained fw_state
 * and diag_state messages, with a progress bar. Pure: depends only on the
 * message structs (sitegate/msg.h), so sitegatectl can link it as it is.
 *
 *   firmware     Downloading  [#########...........]  45%  attempt 1/3
 *   firmware     Downloaded   waiting for transactions to end
 *   firmware     Idle         last: Installed
 *   diagnostics  Uploading    [####################] 100%  CP1-diagnostics-...tar.gz
 */
#ifndef MAINTENANCE_PROGRESS_H
#define MAINTENANCE_PROGRESS_H

#include <stddef.h>

#include "sitegate/msg.h"

/* "[####......]": width characters between the brackets; percent clamped to
 * 0..100. Returns the length written (snprintf-like). */
int mt_progress_bar(long long percent, int width, char *buf, size_t len);
/* The lines above, without a newline; bar_width 0: 20. */
int mt_fw_state_line(const struct sg_msg_fw_state *st, int bar_width, char *buf, size_t len);
int mt_diag_state_line(const struct sg_msg_diag_state *st, int bar_width, char *buf, size_t len);

#endif
