/* Readiness and watchdog for systemd (Type=notify, WatchdogSec=). No-ops when
 * not run by systemd or built without libsystemd. */
#ifndef SITEGATE_NOTIFY_H
#define SITEGATE_NOTIFY_H

#include <stdint.h>

void sg_notify_ready(void);
void sg_notify_stopping(void);
void sg_notify_watchdog(void);
/* Half the watchdog interval in ms, or 0 when no watchdog is requested. */
int64_t sg_notify_watchdog_period_ms(void);

#endif
