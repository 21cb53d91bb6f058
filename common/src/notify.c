/* systemd readiness and watchdog; no-ops without libsystemd or outside systemd. */
#include "sitegate/notify.h"

#ifdef SITEGATE_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

void
sg_notify_ready(void)
{
	sd_notify(0, "READY=1");
}

void
sg_notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

void
sg_notify_watchdog(void)
{
	sd_notify(0, "WATCHDOG=1");
}

int64_t
sg_notify_watchdog_period_ms(void)
{
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return (int64_t)(usec / 2000); /* half the interval, in ms */
}

#else

void
sg_notify_ready(void)
{
}

void
sg_notify_stopping(void)
{
}

void
sg_notify_watchdog(void)
{
}

int64_t
sg_notify_watchdog_period_ms(void)
{
	return 0;
}

#endif
