/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file notify.h
 * Readiness for systemd (Type=notify, deploy/systemd/): libsystemd's
 * sd_notify(3), which does nothing outside systemd (no $NOTIFY_SOCKET). Built
 * without libsystemd (meson -Dsystemd=disabled, or libsystemd-dev missing),
 * these do nothing and the units are configured Type=simple instead
 * (deploy/meson.build), so no unit ever waits for a message that cannot come.
 */
#ifndef ISTHMUS_NOTIFY_H
#define ISTHMUS_NOTIFY_H

#if ISTHMUS_HAVE_SD_NOTIFY
#include <systemd/sd-daemon.h>
#endif

/**
 * Tell systemd the service is ready (READY=1) with a one-line @p status
 * (`systemctl status` shows it). Called once what other units need exists:
 * isthmus-dp: its exception TAP (the uplink address) and dp.sock;
 * isthmusd: isthmusd.sock, and charon started.
 */
static inline void notify_ready(const char *status)
{
#if ISTHMUS_HAVE_SD_NOTIFY
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
#else
	(void)status;
#endif
}

/** Tell systemd the service is stopping (STOPPING=1), or reloading (RELOADING=1, then READY=1). */
static inline void notify_state(const char *state)
{
#if ISTHMUS_HAVE_SD_NOTIFY
	sd_notify(0, state);
#else
	(void)state;
#endif
}

#endif
